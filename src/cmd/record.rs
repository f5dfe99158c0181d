//! `opscope record`: what the collector sees (samples, failures, change events) written to a
//! Parquet file cycle by cycle, on the wall clock, until Ctrl-C or `--duration`.

use super::{init_logs, load_config, progress_bar, runtime};
use crate::sources;
use anyhow::{Context, Result};
use clap::Args;
use opscope_engine::Engine;
use opscope_engine::cycles::{Driver, Flow, WallClock, drive};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::MissedTickBehavior;

#[derive(Args)]
pub struct RecordArgs {
    /// The Parquet file to write (replaced if it exists)
    #[arg(long, value_name = "FILE.parquet")]
    out: PathBuf,
    /// Stop after this long (default: until Ctrl-C)
    #[arg(long, value_name = "D", value_parser = humantime::parse_duration)]
    duration: Option<Duration>,
    #[command(flatten)]
    sources: sources::SourceArgs,
}

/// `opscope record`: collect on the wall clock, write each cycle, show progress on stderr.
pub fn run(a: RecordArgs, config: Option<&Path>) -> Result<()> {
    init_logs(false)?;
    let config = &load_config(config)?;
    if a.sources.replay.is_some() {
        anyhow::bail!("record watches live sources; --replay cannot be recorded again");
    }
    let plan = a.sources.plan(config)?;
    let rt = runtime()?;
    rt.block_on(async {
        let started = sources::start(&plan, config).await?;
        let (mut engine, sim) = (started.engine, started.sim);
        engine.start_recording();
        let rec = collector::record::Recorder::create(&a.out)
            .with_context(|| format!("--out {}", a.out.display()))?;
        let bar = match a.duration {
            Some(d) => progress_bar(d.as_secs().max(1), "recording", "s"),
            None => indicatif::ProgressBar::new_spinner(),
        };
        eprintln!(
            "recording {} every {} into {} (Ctrl-C stops)",
            started.describe,
            humantime::format_duration(plan.interval),
            a.out.display()
        );
        let mut driver = Recording {
            clock: WallClock::new(plan.interval, MissedTickBehavior::Delay),
            ctrl_c: Box::pin(tokio::signal::ctrl_c()),
            rec,
            out: &a.out,
            bar,
            start: std::time::Instant::now(),
            duration: a.duration,
        };
        drive(&mut engine, &mut driver).await?;
        let Recording { rec, bar, .. } = driver;
        let (cycles, rows) = (rec.cycles(), rec.rows());
        let bytes = rec
            .finish()
            .with_context(|| format!("finishing {}", a.out.display()))?;
        bar.finish_and_clear();
        eprintln!(
            "wrote {}: {cycles} cycles, {rows} rows, {} (replay: opscope tui --replay {})",
            a.out.display(),
            opscope_layout::format::bytes(bytes as f64),
            a.out.display()
        );
        if let Some(s) = sim {
            s.shutdown().await;
        }
        Ok(())
    })
}

/// `opscope record`'s cycles: on the wall clock until Ctrl-C or the duration, each written to
/// the recording.
struct Recording<'a> {
    clock: WallClock,
    ctrl_c: std::pin::Pin<Box<dyn std::future::Future<Output = std::io::Result<()>> + Send>>,
    rec: collector::record::Recorder,
    out: &'a Path,
    bar: indicatif::ProgressBar,
    start: std::time::Instant,
    duration: Option<Duration>,
}

impl Driver for Recording<'_> {
    type Error = anyhow::Error;

    async fn next(&mut self, _: &mut Engine) -> Result<Option<i64>> {
        tokio::select! {
            now = self.clock.tick() => Ok(Some(now)),
            _ = &mut self.ctrl_c => Ok(None),
        }
    }

    fn cycled(
        &mut self,
        engine: &Engine,
        now: i64,
        snap: Arc<analytics::model::Snapshot>,
    ) -> Result<Flow> {
        self.rec
            .write(&engine.recorded(now))
            .with_context(|| format!("writing {}", self.out.display()))?;
        let stale = snap.sources.iter().filter(|s| s.stale).count();
        self.bar.set_position(self.start.elapsed().as_secs());
        self.bar.set_message(format!(
            "{} cycles, {} rows, {} open incident(s){}",
            self.rec.cycles(),
            self.rec.rows(),
            snap.open_incidents().count(),
            if stale > 0 {
                format!(", {stale} source(s) stale")
            } else {
                String::new()
            }
        ));
        Ok(
            if self.duration.is_some_and(|d| self.start.elapsed() >= d) {
                Flow::Stop
            } else {
                Flow::Continue
            },
        )
    }

    fn failed(&mut self, error: opscope_engine::EngineError) -> Result<Flow> {
        Err(anyhow::Error::new(error).context("engine cycle"))
    }
}
