//! `opscope demo`: the simulated cluster on loopback, the engine, the terminal UI and the web
//! console, with a fault injected after a while.

use super::sim::{FaultArgs, simulator};
use super::{init_logs, load_config, runtime, spawn_engine, terminal};
use anyhow::{Context, Result};
use clap::Args;
use opscope_engine::{Engine, EngineConfig};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Where the demo's web console listens unless told otherwise.
const DEFAULT_WEB: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8080);

#[derive(Args)]
pub struct DemoArgs {
    #[command(flatten)]
    fault: FaultArgs,
    /// Time between engine cycles
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    interval: Duration,
    /// Address of the web console [default: 127.0.0.1:8080, or a free port if that is taken]
    #[arg(long, value_name = "ADDR", conflicts_with = "no_web")]
    web: Option<SocketAddr>,
    /// No web console
    #[arg(long)]
    no_web: bool,
    /// No terminal UI: the web console only, until Ctrl-C
    #[arg(long, conflicts_with = "no_web")]
    no_tui: bool,
}

/// Start the web console on `asked` (an error if taken), or on 127.0.0.1:8080 falling back to a
/// free port.
async fn start_web(
    asked: Option<SocketAddr>,
    rx: tokio::sync::watch::Receiver<Arc<analytics::model::Snapshot>>,
) -> Result<web::ApiServer> {
    let state = web::ApiState::new(rx);
    match asked {
        Some(addr) => web::serve(addr, state)
            .await
            .with_context(|| format!("starting the web console on {addr} (--web)")),
        None => match web::serve(DEFAULT_WEB, state.clone()).await {
            Ok(s) => Ok(s),
            Err(e) => {
                tracing::warn!(error = %e, "{DEFAULT_WEB} is taken; the web console takes a free port");
                web::serve(SocketAddr::from(([127, 0, 0, 1], 0)), state)
                    .await
                    .context("starting the web console on a free loopback port")
            }
        },
    }
}

/// Run `opscope demo`.
pub fn run(a: DemoArgs, config: Option<&Path>) -> Result<()> {
    let config = &load_config(config)?;
    let log = init_logs(!a.no_tui)?;
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
    let mut cfg = EngineConfig::for_interval(vec![url.clone()], a.interval);
    opscope_engine::sources::apply_limits(&mut cfg, config);
    let rx = spawn_engine(&rt, Engine::new(&cfg), a.interval);
    let web = if a.no_web {
        None
    } else {
        Some(rt.block_on(start_web(a.web, rx.clone()))?)
    };
    let web_url = web.as_ref().map(|w| format!("http://{}/", w.addr));
    let result = if a.no_tui {
        eprintln!(
            "opscope demo — simulated shop on {url}, scenario {} (fault after {})\nweb console: {}\nCtrl-C stops.",
            a.fault.scenario,
            humantime::format_duration(a.fault.fault_after),
            web_url.as_deref().unwrap_or("-")
        );
        rt.block_on(tokio::signal::ctrl_c())
            .context("waiting for Ctrl-C")
    } else {
        let title = format!(
            "opscope demo — scenario {} (fault after {}){}",
            a.fault.scenario,
            humantime::format_duration(a.fault.fault_after),
            web_url
                .as_deref()
                .map(|u| format!(" — web {u}"))
                .unwrap_or_default()
        );
        terminal(rx, title)
    };
    drop(web);
    drop(server);
    rt.shutdown_timeout(Duration::from_secs(1));
    if let (Err(_), Some(p)) = (&result, log) {
        eprintln!("(logs in {})", p.display());
    }
    result
}
