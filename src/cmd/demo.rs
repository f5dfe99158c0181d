//! `opscope demo`: the simulated cluster on loopback, the engine and the terminal UI, with a
//! fault injected after a while.

use super::sim::{FaultArgs, simulator};
use super::{console, init_logs, load_config, runtime};
use anyhow::{Context, Result};
use clap::Args;
use opscope_engine::{Engine, EngineConfig};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

#[derive(Args)]
pub struct DemoArgs {
    #[command(flatten)]
    fault: FaultArgs,
    /// Time between engine cycles
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    interval: Duration,
}

/// Run `opscope demo`.
pub fn run(a: DemoArgs, config: Option<&Path>) -> Result<()> {
    let config = &load_config(config)?;
    let log = init_logs(true)?;
    let rt = runtime()?;
    let sim = simulator(&a.fault)?;
    let server = rt
        .block_on(fixtures::serve(
            sim,
            fixtures::Clock::Real,
            SocketAddr::from(([127, 0, 0, 1], 0)),
        ))
        .context("starting the simulated cluster on loopback")?;
    let url = format!("{}/metrics", server.url());
    tracing::info!(%url, "simulator listening");
    let title = format!(
        "opscope demo — simulated shop, scenario {} (fault in {}) — {}",
        a.fault.scenario,
        humantime::format_duration(a.fault.fault_after),
        url
    );
    let mut cfg = EngineConfig::for_interval(vec![url], a.interval);
    opscope_engine::sources::apply_limits(&mut cfg, config);
    let result = console(&rt, Engine::new(&cfg), a.interval, title);
    drop(server);
    rt.shutdown_timeout(Duration::from_secs(1));
    if let (Err(_), Some(p)) = (&result, log) {
        eprintln!("(logs in {})", p.display());
    }
    result
}
