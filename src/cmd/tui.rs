//! `opscope tui`: the terminal console on the named sources, or on a recording with pause,
//! speed and seek.

use super::{console, init_logs, load_config, load_replay, play, runtime};
use crate::sources;
use anyhow::{Context, Result};
use clap::Args;
use std::path::Path;
use std::time::Duration;

#[derive(Args)]
pub struct TuiArgs {
    #[command(flatten)]
    sources: sources::SourceArgs,
}

/// Run `opscope tui`.
pub fn run(a: TuiArgs, config: Option<&Path>) -> Result<()> {
    let config = &load_config(config)?;
    if let Some(path) = &a.sources.replay {
        return tui_replay(path, a.sources.speed, config);
    }
    let plan = a.sources.plan(config)?;
    init_logs(true)?;
    let rt = runtime()?;
    let started = rt.block_on(sources::start(&plan, config))?;
    let title = format!("opscope — {}", started.describe);
    let r = console(&rt, started.engine, plan.interval, title);
    drop(started.sim);
    rt.shutdown_timeout(Duration::from_secs(1));
    r
}

/// A recording in the console, with pause, speed and seek.
fn tui_replay(path: &Path, speed: f64, config: &opscope_config::Config) -> Result<()> {
    let (replay, cfg) = load_replay(path, config)?;
    init_logs(true)?;
    let rt = runtime()?;
    let title = format!(
        "opscope replay — {} ({} cycles, {})",
        path.display(),
        replay.times().len(),
        replay.sources().join(", ")
    );
    let playing = {
        let _in_runtime = rt.enter();
        play(replay, cfg, speed)
    };
    let r = ::tui::run(
        playing.snapshots,
        ::tui::TuiOptions {
            title,
            tick: Duration::from_millis(250),
            replay: Some(::tui::replay::ReplayControls {
                commands: playing.commands,
                status: playing.status,
            }),
        },
    )
    .context("terminal UI");
    rt.shutdown_timeout(Duration::from_secs(1));
    r
}
