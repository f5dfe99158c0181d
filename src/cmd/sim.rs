//! `opscope sim`: the simulated cluster's `/metrics` (and its Kubernetes API) on a loopback
//! port, or its scenarios exported as RCAEval cases.

use super::{init_logs, runtime};
use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use opscope::rcaeval;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// The simulated cluster's fault and randomness, shared by `demo` and `sim`.
#[derive(Args)]
pub struct FaultArgs {
    /// Fault scenario to inject (see `opscope sim --list-scenarios`)
    #[arg(long, default_value = "latency")]
    pub(crate) scenario: String,
    /// Delay before the fault starts, e.g. 60s, 2m
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    pub(crate) fault_after: Duration,
    /// How long the fault lasts
    #[arg(long, default_value = "10m", value_parser = humantime::parse_duration)]
    pub(crate) fault_duration: Duration,
    /// Seed of the simulation (same seed, same cluster and noise)
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,
}

#[derive(Args)]
pub struct SimArgs {
    /// Address to listen on
    #[arg(long, default_value = "127.0.0.1:9464")]
    listen: SocketAddr,
    #[command(flatten)]
    fault: FaultArgs,
    /// Which service mesh's proxy metrics to serve
    #[arg(long, value_enum, default_value = "istio")]
    mesh: MeshArg,
    /// Also serve the Kafka brokers' metrics as a Strimzi cluster names them
    /// (/metrics/kafka-broker)
    #[arg(long)]
    strimzi: bool,
    /// List the scenarios and exit
    #[arg(long)]
    list_scenarios: bool,
    /// Instead of serving: write every fault scenario as RCAEval-layout cases into DIR
    /// (virtual clock, 15 s rows, 30 min before the fault and 12 min after) and exit
    #[arg(long, value_name = "DIR")]
    export_rcaeval: Option<PathBuf>,
    /// Seeds per scenario for --export-rcaeval (seeds 1..=N)
    #[arg(long, default_value_t = 3, requires = "export_rcaeval")]
    seeds: u64,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum MeshArg {
    Istio,
    Linkerd,
}

/// A simulator starting now, with the scenario checked against the known ones.
pub(crate) fn simulator(f: &FaultArgs) -> Result<fixtures::Simulator> {
    let cfg = fixtures::SimConfig {
        scenario: f.scenario.clone(),
        seed: f.seed,
        start_ms: opscope_engine::wall_ms(),
        fault_after_ms: f.fault_after.as_millis() as i64,
        fault_duration_ms: f.fault_duration.as_millis() as i64,
    };
    fixtures::Simulator::new(cfg)
        .with_context(|| format!("scenario {:?} (known: {})", f.scenario, known_scenarios()))
}

fn known_scenarios() -> String {
    fixtures::scenarios()
        .iter()
        .map(|s| s.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Run `opscope sim`.
pub fn run(a: SimArgs) -> Result<()> {
    if a.list_scenarios {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        for s in fixtures::scenarios() {
            // A closed pipe (`| head`) ends the listing quietly.
            if writeln!(out, "{:<16} {}", s.name, s.description).is_err() {
                break;
            }
        }
        return Ok(());
    }
    init_logs(false)?;
    let rt = runtime()?;
    if let Some(dir) = &a.export_rcaeval {
        return export_rcaeval(&rt, dir, a.seeds);
    }
    let mesh = match a.mesh {
        MeshArg::Istio => fixtures::Mesh::Istio,
        MeshArg::Linkerd => fixtures::Mesh::Linkerd,
    };
    let sim = simulator(&a.fault)?.with_mesh(mesh).with_strimzi(a.strimzi);
    rt.block_on(async move {
        let server = fixtures::serve(sim, fixtures::Clock::Real, a.listen)
            .await
            .with_context(|| format!("listening on {}", a.listen))?;
        println!("simulated cluster: {}/metrics (scenario {}, fault after {})", server.url(), a.fault.scenario, humantime::format_duration(a.fault.fault_after));
        let components: Vec<&str> = fixtures::Component::ALL
            .iter()
            .filter(|c| a.strimzi || **c != fixtures::Component::KafkaBroker)
            .map(|c| c.as_str())
            .collect();
        println!(
            "components: /metrics/{{{}}}, ground truth: /ground-truth; the Kubernetes API at the same address (--kube-url). Ctrl-C stops.",
            components.join(",")
        );
        tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")?;
        server.shutdown().await;
        Ok(())
    })
}

fn export_rcaeval(rt: &tokio::runtime::Runtime, dir: &std::path::Path, seeds: u64) -> Result<()> {
    let opts = rcaeval::ExportOptions {
        seeds,
        ..rcaeval::ExportOptions::default()
    };
    let started = std::time::Instant::now();
    let cases = rt
        .block_on(rcaeval::export_all(dir, &opts))
        .with_context(|| format!("exporting cases into {}", dir.display()))?;
    for c in &cases {
        println!(
            "{}: {} rows x {} columns, root(s) {}",
            c.dir.display(),
            c.rows,
            c.columns,
            c.truth.roots.join(", ")
        );
    }
    println!(
        "{} case(s) in {:.1} s",
        cases.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
