//! The one engine loop. Every command that steps an engine over time (`run`, `tui`, `record`,
//! `snapshot`, a replay) runs [`drive`]: ask the [`Driver`] for the next cycle's time, run the
//! cycle, publish the incident events, hand the snapshot to the driver. What differs between
//! commands — when cycles run (wall clock, recorded times), what happens after each (publish,
//! write a recording, count), when to stop — is the driver's.

use crate::engine::{Engine, EngineError, wall_ms};
use crate::incidents::incident_events;
use analytics::model::Snapshot;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;

/// Whether the loop goes on after a cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Stop,
}

/// The per-command part of the engine loop.
pub trait Driver: Send {
    /// What stops the loop; an engine cycle's error converts into it.
    type Error: From<EngineError> + Send;

    /// Wait until the next cycle is due and return its time (Unix ms), or `None` to stop. May
    /// step or replace the engine first (a replay seeking back starts a fresh one, see
    /// [`Engine::restart_with`]).
    fn next(
        &mut self,
        engine: &mut Engine,
    ) -> impl Future<Output = Result<Option<i64>, Self::Error>> + Send;

    /// The cycle at `now_ms` produced `snap` (the incident events are already sent).
    fn cycled(
        &mut self,
        engine: &Engine,
        now_ms: i64,
        snap: Arc<Snapshot>,
    ) -> Result<Flow, Self::Error>;

    /// The cycle failed. By default the loop stops with the error.
    fn failed(&mut self, error: EngineError) -> Result<Flow, Self::Error> {
        Err(error.into())
    }
}

/// Run `engine` as `driver` says until it stops. After each cycle the incident events against
/// the previous snapshot (at first an empty one) go to [`Engine::subscribe_incidents`]'s
/// subscribers.
pub async fn drive<D: Driver>(engine: &mut Engine, driver: &mut D) -> Result<(), D::Error> {
    let mut prev = Arc::new(Snapshot::default());
    while let Some(now_ms) = driver.next(engine).await? {
        let flow = match engine.cycle(now_ms).await {
            Ok(snap) => {
                for event in incident_events(&prev, &snap) {
                    // No subscriber is no error.
                    let _ = engine.incidents.send(event);
                }
                prev = Arc::clone(&snap);
                driver.cycled(engine, now_ms, snap)?
            }
            Err(e) => driver.failed(e)?,
        };
        if flow == Flow::Stop {
            break;
        }
    }
    Ok(())
}

/// Cycle times from the wall clock: one every interval, the first at once.
#[derive(Debug)]
pub struct WallClock {
    tick: tokio::time::Interval,
}

impl WallClock {
    /// Ticks every `interval`; a tick that comes late is handled as `missed` says. Call it
    /// inside the runtime.
    pub fn new(interval: Duration, missed: MissedTickBehavior) -> Self {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(missed);
        Self { tick }
    }

    /// Wait for the next tick; the time then, Unix ms.
    pub async fn tick(&mut self) -> i64 {
        self.tick.tick().await;
        wall_ms()
    }
}

/// The live driver: a cycle every interval on the wall clock, each snapshot published on a
/// watch channel, until every receiver is gone. A failed cycle is logged and the loop goes on.
#[derive(Debug)]
struct Publish {
    clock: WallClock,
    tx: watch::Sender<Arc<Snapshot>>,
}

impl Driver for Publish {
    type Error = EngineError;

    async fn next(&mut self, _: &mut Engine) -> Result<Option<i64>, EngineError> {
        let now = self.clock.tick().await;
        Ok((!self.tx.is_closed()).then_some(now))
    }

    fn cycled(&mut self, _: &Engine, _: i64, snap: Arc<Snapshot>) -> Result<Flow, EngineError> {
        Ok(if self.tx.send(snap).is_err() {
            Flow::Stop
        } else {
            Flow::Continue
        })
    }

    fn failed(&mut self, error: EngineError) -> Result<Flow, EngineError> {
        tracing::error!(%error, "engine cycle failed");
        Ok(Flow::Continue)
    }
}

/// Run the engine on the wall clock until every receiver of `tx` is gone. A cycle that fails
/// is logged and the loop goes on; a slow source only delays its own data (timeouts). Late
/// ticks are skipped.
pub async fn run(mut engine: Engine, interval: Duration, tx: watch::Sender<Arc<Snapshot>>) {
    let mut driver = Publish {
        clock: WallClock::new(interval, MissedTickBehavior::Skip),
        tx,
    };
    // `Publish` never fails: errors are logged.
    let _ = drive(&mut engine, &mut driver).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EngineConfig;

    /// Cycles at fixed times, keeping the snapshots.
    struct Times {
        times: Vec<i64>,
        seen: Vec<i64>,
    }

    impl Driver for Times {
        type Error = EngineError;
        async fn next(&mut self, _: &mut Engine) -> Result<Option<i64>, EngineError> {
            Ok(self.times.get(self.seen.len()).copied())
        }
        fn cycled(&mut self, _: &Engine, now: i64, s: Arc<Snapshot>) -> Result<Flow, EngineError> {
            assert_eq!(s.ts_ms, now);
            self.seen.push(now);
            Ok(if self.seen.len() == 2 {
                Flow::Stop
            } else {
                Flow::Continue
            })
        }
    }

    #[tokio::test]
    async fn the_driver_sets_the_times_and_stops_the_loop() {
        let mut engine = Engine::new(&EngineConfig::for_interval(
            Vec::new(),
            Duration::from_secs(5),
        ));
        let mut events = engine.subscribe_incidents();
        let mut d = Times {
            times: vec![10_000, 15_000, 20_000],
            seen: Vec::new(),
        };
        drive(&mut engine, &mut d).await.expect("drives");
        assert_eq!(d.seen, [10_000, 15_000], "stopped after the second");
        // No source, no incident, no event.
        assert!(matches!(
            events.try_recv(),
            Err(tokio::sync::broadcast::error::TryRecvError::Empty)
        ));
    }

    #[tokio::test]
    async fn run_stops_when_nobody_listens() {
        let engine = Engine::new(&EngineConfig::for_interval(
            Vec::new(),
            Duration::from_millis(10),
        ));
        let (tx, mut rx) = watch::channel(Arc::new(Snapshot::default()));
        let task = tokio::spawn(run(engine, Duration::from_millis(10), tx));
        rx.changed().await.expect("a snapshot");
        assert!(rx.borrow().cycle >= 1);
        drop(rx);
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("run returns once the receiver is gone")
            .expect("no panic");
    }
}
