//! The source flags every watching command (`tui`, `snapshot`, `record`, ...) shares; the
//! engine's source registry ([`opscope_engine::sources`]) resolves them against the
//! configuration and builds the engine. The embedded simulator is started here.

use anyhow::{Context, Result};
use clap::Args;
use opscope_engine::sources::{LocalTarget, SourcePlan, SourceRequest};
use opscope_engine::{Engine, wall_ms};
use std::net::SocketAddr;
use std::time::Duration;

/// How long the embedded simulator has been running when a command starts, ms: its counters
/// already have traffic behind them at the first scrape.
const SIM_HISTORY_MS: i64 = 60_000;

/// The source flags.
#[derive(Args, Debug, Clone, Default)]
pub struct SourceArgs {
    /// A Prometheus/OpenMetrics endpoint to scrape (repeatable)
    #[arg(long = "scrape", value_name = "URL")]
    pub scrape: Vec<String>,
    /// A Prometheus-compatible HTTP API (Prometheus, Thanos, Mimir, VictoriaMetrics) to query
    /// with PromQL; rates and sums by workload are computed by the server
    #[arg(long, value_name = "URL")]
    pub prometheus: Option<String>,
    /// PromQL rate window for --prometheus (a few of the server's scrape intervals; default:
    /// 4 x --interval, at least 1m)
    #[arg(long, value_name = "D", value_parser = humantime::parse_duration)]
    pub prometheus_window: Option<Duration>,
    /// How much of --prometheus's history the first cycle reads, so that the detectors start
    /// warm (an opscope started during an outage does not learn it as normal); default 30m,
    /// 0 turns it off
    #[arg(long, value_name = "D", value_parser = humantime::parse_duration)]
    pub warm_start: Option<Duration>,
    /// A NATS server's monitoring port (`http://host:8222`): /varz, /connz and /jsz
    /// (JetStream streams and consumers) (repeatable)
    #[arg(long = "nats", value_name = "URL")]
    pub nats: Vec<String>,
    /// RabbitMQ's management API (`http://host:15672`): queues, consumers and their clients;
    /// user and password from $OPSCOPE_RABBITMQ_USER / $OPSCOPE_RABBITMQ_PASSWORD (default
    /// guest/guest) (repeatable)
    #[arg(long = "rabbitmq-api", value_name = "URL")]
    pub rabbitmq_api: Vec<String>,
    /// The Kubernetes API for inventory and change events, read-only: in-cluster service
    /// account, else the kubeconfig ($KUBECONFIG, ~/.kube/config) like kubectl; or the
    /// kubeconfig file given
    #[arg(long, value_name = "KUBECONFIG", num_args = 0..=1, default_missing_value = "")]
    pub kube: Option<String>,
    /// The kubeconfig context for --kube (default: its current context)
    #[arg(long, value_name = "NAME")]
    pub kube_context: Option<String>,
    /// A Kubernetes API server reached without credentials (`kubectl proxy`, or the
    /// simulator's `http://127.0.0.1:9464` from `opscope sim`)
    #[arg(long, value_name = "URL", conflicts_with = "kube")]
    pub kube_url: Option<String>,
    /// The embedded simulated shop cluster on loopback (the default when no source is named)
    #[arg(long)]
    pub sim: bool,
    /// Fault scenario of the simulator, active from its start (see `opscope sim
    /// --list-scenarios`)
    #[arg(long, value_name = "NAME")]
    pub scenario: Option<String>,
    /// Delay before the simulator's fault starts (default: active from the start)
    #[arg(long, value_name = "D", value_parser = humantime::parse_duration)]
    pub fault_after: Option<Duration>,
    /// Time between cycles (default: 5 s with the simulator alone, else the config's
    /// `sources.interval`, 15 s)
    #[arg(long, value_name = "D", value_parser = humantime::parse_duration)]
    pub interval: Option<Duration>,
    /// Replay a recording (`opscope record`) instead of watching live sources
    #[arg(long, value_name = "FILE.parquet", conflicts_with_all = ["scrape", "prometheus", "nats", "rabbitmq_api", "kube", "kube_url", "sim", "scenario", "fault_after", "interval", "warm_start"])]
    pub replay: Option<std::path::PathBuf>,
    /// Replay speed: recorded time per wall-clock time (1 = as recorded); `+`/`-` change it in
    /// the console
    #[arg(long, value_name = "X", default_value_t = 1.0, requires = "replay")]
    pub speed: f64,
}

impl SourceArgs {
    /// The flags as the engine's plain request.
    pub fn request(&self) -> SourceRequest {
        SourceRequest {
            scrape: self.scrape.clone(),
            prometheus: self.prometheus.clone(),
            prometheus_window: self.prometheus_window,
            warm_start: self.warm_start,
            nats: self.nats.clone(),
            rabbitmq_api: self.rabbitmq_api.clone(),
            kube: self.kube.clone(),
            kube_context: self.kube_context.clone(),
            kube_url: self.kube_url.clone(),
            sim: self.sim,
            scenario: self.scenario.clone(),
            fault_after: self.fault_after,
            interval: self.interval,
        }
    }

    /// Resolve against the configuration; every error is a bad argument.
    pub fn plan(&self, config: &opscope_config::Config) -> Result<SourcePlan> {
        let known: Vec<&str> = fixtures::scenarios().iter().map(|k| k.name).collect();
        Ok(self.request().plan(config, &known)?)
    }
}

/// An engine wired to the planned sources, and the simulator it started (stopped on drop).
pub struct Started {
    pub engine: Engine,
    pub sim: Option<fixtures::SimServer>,
    /// One line naming the sources, for titles.
    pub describe: String,
}

/// Start the simulator if planned and build the engine on every source.
pub async fn start(plan: &SourcePlan, config: &opscope_config::Config) -> Result<Started> {
    let (sim, local) = match &plan.sim {
        Some(s) => {
            let sim = fixtures::Simulator::new(fixtures::SimConfig {
                scenario: s.scenario.clone(),
                seed: s.seed,
                start_ms: wall_ms() - SIM_HISTORY_MS,
                fault_after_ms: s
                    .fault_after_ms
                    .map_or(0, |d| SIM_HISTORY_MS.saturating_add(d)),
                fault_duration_ms: 24 * 3_600_000,
            })
            .with_context(|| format!("starting the simulator (scenario {:?})", s.scenario))?;
            let server = fixtures::serve(
                sim,
                fixtures::Clock::Real,
                SocketAddr::from(([127, 0, 0, 1], 0)),
            )
            .await
            .context("starting the simulated cluster on loopback")?;
            let local = LocalTarget {
                url: format!("{}/metrics", server.url()),
                name: format!("simulator ({})", s.scenario),
            };
            (Some(server), Some(local))
        }
        None => (None, None),
    };
    let started = opscope_engine::sources::start(plan, config, local).await?;
    Ok(Started {
        engine: started.engine,
        sim,
        describe: started.describe,
    })
}
