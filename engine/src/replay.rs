//! Record and replay: what the collector saw, written cycle by cycle to Parquet
//! ([`collector::record`]), and played back through a fresh engine at any speed, with pause
//! and seek. The engine replays the recorded samples at their recorded times, so detection,
//! incidents and ranking come out as they did live.

use crate::cycles::{Driver, Flow, drive};
use crate::engine::{Engine, EngineConfig, EngineError};
use analytics::model::Snapshot;
use collector::model::{ChangeEvent, SourceStatus};
use collector::observe::{Observation, change_is_recent};
use collector::record::{self, Cycle, RecordError};
use collector::source::{Enricher, PullFuture, PullSource};
use opscope_model::{ReplayCommand, ReplayStatus};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// Slowest and fastest replay speeds.
pub const SPEED_RANGE: (f64, f64) = (0.125, 1024.0);

/// Errors of a replay.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error("{0}: the recording holds no cycle")]
    Empty(String),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// A loaded recording.
#[derive(Debug, Clone)]
pub struct Replay {
    cycles: Arc<Vec<Cycle>>,
    sources: Vec<String>,
    interval: Duration,
}

impl Replay {
    /// Read `path` whole.
    pub fn load(path: &Path) -> Result<Self, ReplayError> {
        Self::from_cycles(record::read(path)?)
            .ok_or_else(|| ReplayError::Empty(path.display().to_string()))
    }

    /// A replay of cycles already in memory (`None` when there are none).
    pub fn from_cycles(cycles: Vec<Cycle>) -> Option<Self> {
        if cycles.is_empty() {
            return None;
        }
        let mut sources: Vec<String> = Vec::new();
        for c in &cycles {
            for s in &c.sources {
                if !sources.contains(&s.source) {
                    sources.push(s.source.clone());
                }
            }
        }
        let mut gaps: Vec<i64> = cycles
            .windows(2)
            .map(|w| w[1].ts_ms - w[0].ts_ms)
            .filter(|g| *g > 0)
            .collect();
        gaps.sort_unstable();
        let median = gaps.get(gaps.len() / 2).copied().unwrap_or(15_000);
        Some(Self {
            cycles: Arc::new(cycles),
            sources,
            interval: Duration::from_millis(u64::try_from(median.max(100)).unwrap_or(15_000)),
        })
    }

    /// Time between recorded cycles (the median gap).
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Times of the recorded cycles, oldest first.
    pub fn times(&self) -> Vec<i64> {
        self.cycles.iter().map(|c| c.ts_ms).collect()
    }

    /// Names of the recorded sources.
    pub fn sources(&self) -> &[String] {
        &self.sources
    }

    /// The engine settings a replay runs with: those of a live engine at the recorded interval.
    pub fn engine_config(&self) -> EngineConfig {
        EngineConfig::for_interval(Vec::new(), self.interval)
    }

    /// A fresh engine fed from the recording: one source per recorded source (samples, or the
    /// recorded failure), plus the recorded change events.
    pub fn engine(&self, cfg: &EngineConfig) -> Engine {
        let mut engine = Engine::new(cfg);
        for name in &self.sources {
            engine.add_source(Arc::new(Replayed {
                name: name.clone(),
                cycles: Arc::clone(&self.cycles),
            }));
        }
        let mut changes: Vec<(i64, ChangeEvent)> = Vec::new();
        for c in self.cycles.iter() {
            changes.extend(c.changes.iter().map(|e| (c.ts_ms, e.clone())));
        }
        if !changes.is_empty() {
            engine.add_enricher(Box::new(ReplayedChanges {
                changes,
                last_ms: None,
            }));
        }
        engine
    }

    /// Run every cycle as fast as possible; the last snapshot.
    pub async fn run_to_end(&self, cfg: &EngineConfig) -> Result<Arc<Snapshot>, ReplayError> {
        self.run_to_end_with(cfg, &|_, _| {}).await
    }

    /// [`Replay::run_to_end`], calling `progress(cycles done, cycles in all)` after each cycle
    /// (for a progress bar on long recordings).
    pub async fn run_to_end_with(
        &self,
        cfg: &EngineConfig,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<Arc<Snapshot>, ReplayError> {
        let mut engine = self.engine(cfg);
        let mut driver = ToEnd {
            times: self.times(),
            done: 0,
            last: Arc::new(Snapshot::default()),
            progress,
        };
        drive(&mut engine, &mut driver).await?;
        Ok(driver.last)
    }

    /// Play the recording: publish each cycle's snapshot on `tx`, `speed` times faster than
    /// recorded, obeying commands (pause, speed, seek), reporting the position on `status`.
    /// Returns when the receivers are gone or the command channel closes after the end.
    pub async fn play(
        &self,
        cfg: &EngineConfig,
        speed: f64,
        tx: watch::Sender<Arc<Snapshot>>,
        status: watch::Sender<ReplayStatus>,
        commands: mpsc::UnboundedReceiver<ReplayCommand>,
    ) -> Result<(), ReplayError> {
        let times = self.times();
        let (start_ms, end_ms) = (times[0], times[times.len() - 1]);
        let mut player = Player {
            replay: self,
            cfg,
            times,
            next: 0,
            run_now: true,
            st: ReplayStatus {
                start_ms,
                end_ms,
                position_ms: start_ms,
                speed: speed.clamp(SPEED_RANGE.0, SPEED_RANGE.1),
                paused: false,
                finished: false,
            },
            tx,
            status,
            commands,
        };
        let mut engine = self.engine(cfg);
        drive(&mut engine, &mut player).await
    }
}

/// Every recorded cycle, as fast as it computes.
struct ToEnd<'a> {
    times: Vec<i64>,
    done: usize,
    last: Arc<Snapshot>,
    progress: &'a (dyn Fn(usize, usize) + Sync),
}

impl Driver for ToEnd<'_> {
    type Error = ReplayError;

    async fn next(&mut self, _: &mut Engine) -> Result<Option<i64>, ReplayError> {
        Ok(self.times.get(self.done).copied())
    }

    fn cycled(&mut self, _: &Engine, _: i64, snap: Arc<Snapshot>) -> Result<Flow, ReplayError> {
        self.done += 1;
        self.last = snap;
        (self.progress)(self.done, self.times.len());
        Ok(Flow::Continue)
    }
}

/// The recorded cycles at their recorded pace times the speed, steered by commands.
struct Player<'a> {
    replay: &'a Replay,
    cfg: &'a EngineConfig,
    times: Vec<i64>,
    /// Index of the next cycle to run.
    next: usize,
    /// Run the next cycle without waiting (at the start, after a wait or a command).
    run_now: bool,
    st: ReplayStatus,
    tx: watch::Sender<Arc<Snapshot>>,
    status: watch::Sender<ReplayStatus>,
    commands: mpsc::UnboundedReceiver<ReplayCommand>,
}

impl Driver for Player<'_> {
    type Error = ReplayError;

    async fn next(&mut self, engine: &mut Engine) -> Result<Option<i64>, ReplayError> {
        loop {
            if self.run_now {
                if self.tx.is_closed() {
                    return Ok(None);
                }
                if self.next < self.times.len() && !self.st.paused {
                    self.run_now = false;
                    return Ok(Some(self.times[self.next]));
                }
            }
            self.run_now = true;
            let wait = match self.times.get(self.next) {
                Some(&t) if !self.st.paused => {
                    let ms = (t - self.st.position_ms).max(0) as f64 / self.st.speed;
                    Some(Duration::from_millis(ms as u64))
                }
                _ => None,
            };
            let cmd = match wait {
                Some(w) => tokio::select! {
                    _ = tokio::time::sleep(w) => continue,
                    c = self.commands.recv() => c,
                },
                None => self.commands.recv().await,
            };
            let Some(cmd) = cmd else {
                // Nobody can steer any more: finish playing, then stop.
                if self.next >= self.times.len() {
                    return Ok(None);
                }
                continue;
            };
            match cmd {
                ReplayCommand::TogglePause => self.st.paused = !self.st.paused,
                ReplayCommand::Speed(f) => {
                    self.st.speed = (self.st.speed * f).clamp(SPEED_RANGE.0, SPEED_RANGE.1);
                }
                ReplayCommand::Seek(delta) => {
                    let target =
                        (self.st.position_ms + delta).clamp(self.st.start_ms, self.st.end_ms);
                    // The last cycle at or before the target.
                    let idx = self
                        .times
                        .partition_point(|&t| t <= target)
                        .saturating_sub(1);
                    if idx + 1 < self.next {
                        // Back: detectors are stateful, so run again from the start.
                        engine.restart_with(self.replay.engine(self.cfg));
                        self.next = 0;
                    }
                    if self.next <= idx {
                        // Catch up unseen, then show the target cycle (and go on from there).
                        while self.next < idx {
                            engine.cycle(self.times[self.next]).await?;
                            self.next += 1;
                        }
                        self.run_now = true;
                        return Ok(Some(self.times[idx]));
                    }
                }
            }
            let _ = self.status.send(self.st);
        }
    }

    fn cycled(
        &mut self,
        _: &Engine,
        now_ms: i64,
        snap: Arc<Snapshot>,
    ) -> Result<Flow, ReplayError> {
        self.st.position_ms = now_ms;
        self.next += 1;
        self.st.finished = self.next == self.times.len();
        let _ = self.tx.send(snap);
        let _ = self.status.send(self.st);
        Ok(Flow::Continue)
    }
}

/// One recorded source, replayed.
#[derive(Debug)]
struct Replayed {
    name: String,
    cycles: Arc<Vec<Cycle>>,
}

impl PullSource for Replayed {
    fn name(&self) -> &str {
        &self.name
    }

    fn pull(&self, now_ms: i64) -> PullFuture<'_> {
        let found = self
            .cycles
            .binary_search_by_key(&now_ms, |c| c.ts_ms)
            .ok()
            .and_then(|i| {
                self.cycles[i]
                    .sources
                    .iter()
                    .find(|s| s.source == self.name)
            })
            .map(|s| s.result.clone())
            .unwrap_or_else(|| Err("not recorded in this cycle".to_owned()));
        Box::pin(async move { found })
    }
}

/// Recorded change events, reported like live ones: from the cycle they were first seen, for
/// as long as a live source would show them.
#[derive(Debug)]
struct ReplayedChanges {
    /// (cycle first seen, event).
    changes: Vec<(i64, ChangeEvent)>,
    last_ms: Option<i64>,
}

impl Enricher for ReplayedChanges {
    fn enrich(&mut self, obs: &mut Observation, now_ms: i64) {
        self.last_ms = Some(now_ms);
        let visible = self
            .changes
            .iter()
            .filter(|(seen, c)| *seen <= now_ms && change_is_recent(c.ts_ms, now_ms))
            .map(|(_, c)| c.clone());
        obs.add_changes(visible);
    }

    fn status(&self) -> SourceStatus {
        SourceStatus {
            name: "recorded changes".to_owned(),
            last_success_ms: self.last_ms,
            stale: false,
            last_error: None,
            samples: self.changes.len(),
            duration_ms: 0,
        }
    }
}
