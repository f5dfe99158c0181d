//! One module per command: each wires the crates for its command; `main.rs` only parses the
//! arguments and calls `cmd::<command>::run`. What several commands share (the runtime, logs,
//! the configuration, progress bars, the console, replay wiring) is here.

pub mod check;
pub mod config;
pub mod demo;
pub mod detect;
pub mod eval;
pub mod rca;
pub mod record;
pub mod run;
pub mod sim;
pub mod snapshot;
pub mod tui;

use anyhow::{Context, Result};
use opscope_engine::replay::Replay;
use opscope_engine::{Engine, EngineConfig};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Logs go to stderr, or to a file while the terminal UI owns the screen.
pub(crate) fn init_logs(to_file: bool) -> Result<Option<PathBuf>> {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("OPSCOPE_LOG").unwrap_or_else(|_| EnvFilter::new("warn"));
    if to_file {
        let path = std::env::temp_dir().join("opscope.log");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("opening log file {}", path.display()))?;
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(false)
            .with_writer(std::sync::Mutex::new(file))
            .init();
        Ok(Some(path))
    } else {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
        Ok(None)
    }
}

/// The configuration (`--config`, else the default places, else defaults); warnings are
/// printed, errors stop the program with every problem listed.
pub(crate) fn load_config(path: Option<&Path>) -> Result<opscope_config::Config> {
    let loaded = opscope_config::load(path).context("loading the configuration")?;
    let file = loaded
        .path
        .as_ref()
        .map_or_else(|| "(defaults)".to_owned(), |p| p.display().to_string());
    for w in &loaded.warnings {
        eprintln!("{}", w.render(&file));
    }
    Ok(loaded.config)
}

/// A progress bar on stderr (drawn only when stderr is a terminal): `what` before it, the
/// position and length in `unit` after it, then the message.
pub(crate) fn progress_bar(len: u64, what: &str, unit: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template(&format!(
            "{{spinner}} {what} {{elapsed_precise}} [{{bar:30}}] {{pos}}/{{len}}{unit} {{msg}}"
        ))
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar
}

/// Engine in the background, terminal UI in the foreground until the user quits.
pub(crate) fn console(
    rt: &tokio::runtime::Runtime,
    engine: Engine,
    interval: Duration,
    title: String,
) -> Result<()> {
    terminal(spawn_engine(rt, engine, interval), title)
}

/// Run the engine every `interval` on the runtime; its snapshots.
pub(crate) fn spawn_engine(
    rt: &tokio::runtime::Runtime,
    engine: Engine,
    interval: Duration,
) -> tokio::sync::watch::Receiver<Arc<analytics::model::Snapshot>> {
    let (tx, rx) = tokio::sync::watch::channel(Arc::new(analytics::model::Snapshot::default()));
    rt.spawn(opscope_engine::run(engine, interval, tx));
    rx
}

/// The terminal console on live snapshots, until the operator quits.
pub(crate) fn terminal(
    rx: tokio::sync::watch::Receiver<Arc<analytics::model::Snapshot>>,
    title: String,
) -> Result<()> {
    ::tui::run(
        rx,
        ::tui::TuiOptions {
            title,
            tick: Duration::from_millis(250),
            ..Default::default()
        },
    )
    .context("terminal UI")
}

/// A recording read from `path`, and the engine settings to replay it with: those of a live
/// engine at the recorded interval, with the config's limits, rules and SLOs.
pub(crate) fn load_replay(
    path: &Path,
    config: &opscope_config::Config,
) -> Result<(Replay, EngineConfig)> {
    let replay = Replay::load(path).with_context(|| format!("--replay {}", path.display()))?;
    let mut cfg = replay.engine_config();
    opscope_engine::sources::apply_limits(&mut cfg, config);
    Ok((replay, cfg))
}

/// A recording playing in the background: its snapshots, its position, and where to send
/// pause, speed and seek. The replay holds its last cycle while `commands` is open.
pub(crate) struct Playing {
    pub(crate) snapshots: tokio::sync::watch::Receiver<Arc<analytics::model::Snapshot>>,
    pub(crate) status: tokio::sync::watch::Receiver<::tui::replay::ReplayStatus>,
    pub(crate) commands: tokio::sync::mpsc::UnboundedSender<::tui::replay::ReplayCommand>,
}

/// Start playing `replay` at `speed` on the current runtime.
pub(crate) fn play(replay: Replay, cfg: EngineConfig, speed: f64) -> Playing {
    let (tx, snapshots) =
        tokio::sync::watch::channel(Arc::new(analytics::model::Snapshot::default()));
    let (status_tx, status) = tokio::sync::watch::channel(::tui::replay::ReplayStatus::default());
    let (commands, cmd_rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        if let Err(e) = replay.play(&cfg, speed, tx, status_tx, cmd_rx).await {
            tracing::error!(error = %e, "replay stopped");
        }
    });
    Playing {
        snapshots,
        status,
        commands,
    }
}
