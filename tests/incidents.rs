//! Incident events from the engine loop: a simulated latency fault, stepped on a virtual clock
//! through `opscope_engine::cycles::drive`, reaches a subscriber as `Opened` (before any other
//! event about that incident), for an incident the last snapshot shows.

use analytics::model::Snapshot;
use opscope_engine::cycles::{Driver, Flow, drive};
use opscope_engine::{Engine, EngineConfig, EngineError, IncidentEvent};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

/// Cycles every 15 s of virtual time, the simulator's clock moved along.
struct Virtual {
    clock: Arc<AtomicI64>,
    times: Vec<i64>,
    done: usize,
    last: Option<Arc<Snapshot>>,
}

impl Driver for Virtual {
    type Error = EngineError;

    async fn next(&mut self, _: &mut Engine) -> Result<Option<i64>, EngineError> {
        let t = self.times.get(self.done).copied();
        if let Some(t) = t {
            self.clock.store(t, Ordering::SeqCst);
        }
        Ok(t)
    }

    fn cycled(&mut self, _: &Engine, _: i64, snap: Arc<Snapshot>) -> Result<Flow, EngineError> {
        self.done += 1;
        self.last = Some(snap);
        Ok(Flow::Continue)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fault_reaches_subscribers_as_an_opened_incident() {
    let cfg = fixtures::SimConfig::new("latency", 4);
    let fault_ms = cfg.fault_start_ms();
    let start = fault_ms - 30 * 15_000;
    let sim_cfg = fixtures::SimConfig {
        start_ms: start - 60_000,
        fault_after_ms: fault_ms - (start - 60_000),
        ..cfg
    };
    let (server, clock) = opscope::eval::start_sim(sim_cfg).await.expect("sim");
    let mut engine = Engine::new(&EngineConfig::for_interval(
        vec![format!("{}/metrics", server.url())],
        Duration::from_secs(15),
    ));
    let mut events = engine.subscribe_incidents();
    let mut driver = Virtual {
        clock,
        times: (0..50).map(|i| start + i * 15_000).collect(),
        done: 0,
        last: None,
    };
    drive(&mut engine, &mut driver).await.expect("drives");
    server.shutdown().await;
    assert_eq!(driver.done, 50);
    let last = driver.last.expect("snapshots");

    let mut got: Vec<IncidentEvent> = Vec::new();
    while let Ok(e) = events.try_recv() {
        got.push(e);
    }
    let open: Vec<u64> = last.open_incidents().map(|i| i.id).collect();
    assert!(!open.is_empty(), "the fault opened an incident");
    for id in open {
        let first = got
            .iter()
            .find(|e| e.id() == id)
            .unwrap_or_else(|| panic!("no event for INC-{id}: {got:?}"));
        assert!(
            matches!(first, IncidentEvent::Opened { .. }),
            "the first event of INC-{id} is not Opened: {first:?}"
        );
    }
    // Opened once per incident.
    let mut opened: Vec<u64> = got
        .iter()
        .filter(|e| matches!(e, IncidentEvent::Opened { .. }))
        .map(IncidentEvent::id)
        .collect();
    let n = opened.len();
    opened.sort_unstable();
    opened.dedup();
    assert_eq!(opened.len(), n, "{got:?}");
}
