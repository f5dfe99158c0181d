//! Cost of analysis per signal and of a whole analysis cycle, at 10k and 100k signals.
//!
//! `cargo bench -p analytics --bench cycle` (add `-- 10000` to run one size). Synthetic
//! platform: workloads in layers, each calling two in the next layer, eight signals each, noisy
//! steady values; after the detectors have warmed up, 1% of the workloads get a latency and
//! error fault so that incidents, grouping and ranking run too. Prints figures; asserts nothing.

use analytics::Analyzer;
use collector::model::{Edge, EdgeKind, EntityId, SignalKey, SignalKind, Topology};
use collector::observe::Observation;
use std::time::Instant;

const KINDS: [SignalKind; 8] = [
    SignalKind::RequestRate,
    SignalKind::ErrorRatio,
    SignalKind::LatencyP99,
    SignalKind::CallerLatencyP99,
    SignalKind::CpuCores,
    SignalKind::MemoryBytes,
    SignalKind::Restarts,
    SignalKind::ReplicasUnavailable,
];
const INTERVAL_MS: i64 = 15_000;
const WARM_CYCLES: usize = 30;
const TIMED_CYCLES: usize = 20;
const LAYER: usize = 50;

/// xorshift64*: a tiny deterministic noise source.
struct Noise(u64);
impl Noise {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn topology(workloads: usize) -> Topology {
    let ids: Vec<EntityId> = (0..workloads)
        .map(|i| EntityId::workload("bench", format!("svc-{i:06}")))
        .collect();
    let mut edges = Vec::new();
    for i in 0..workloads {
        for j in [i + LAYER, i + LAYER + 1] {
            if j < workloads && (j / LAYER) == (i / LAYER) + 1 {
                edges.push(Edge {
                    from: ids[i].clone(),
                    to: ids[j].clone(),
                    kind: EdgeKind::Calls,
                    rate_per_s: Some(10.0),
                    error_ratio: Some(0.0),
                    p99_ms: Some(50.0),
                    backlog: None,
                    backlog_growth_per_s: None,
                });
            }
        }
    }
    let mut entities = ids;
    entities.sort();
    edges.sort_by(|a, b| (a.kind, &a.from, &a.to).cmp(&(b.kind, &b.from, &b.to)));
    Topology { entities, edges }
}

fn value(kind: SignalKind, noise: &mut Noise, faulty: bool) -> f64 {
    let n = noise.next();
    match kind {
        SignalKind::RequestRate => 100.0 + 10.0 * n,
        SignalKind::ErrorRatio => {
            if faulty {
                0.3
            } else {
                0.001 * n
            }
        }
        SignalKind::LatencyP99 | SignalKind::CallerLatencyP99 => {
            if faulty {
                900.0
            } else {
                40.0 + 8.0 * n
            }
        }
        SignalKind::CpuCores => 0.4 + 0.05 * n,
        SignalKind::MemoryBytes => 256e6 + 4e6 * n,
        _ => 0.0,
    }
}

fn run(signals: usize) {
    let workloads = signals / KINDS.len();
    let topo = topology(workloads);
    let mut noise = Noise(0x9E37_79B9_7F4A_7C15);
    let mut analyzer = Analyzer::default();
    let keys: Vec<SignalKey> = topo
        .entities
        .iter()
        .flat_map(|e| {
            KINDS.iter().map(|&kind| SignalKey {
                entity: e.clone(),
                kind,
            })
        })
        .collect();
    let mut obs = Observation {
        ts_ms: 1_700_000_000_000,
        rate_window_ms: 30_000,
        interval_ms: INTERVAL_MS,
        topology: topo,
        ..Observation::default()
    };
    let mut timed = std::time::Duration::ZERO;
    let mut incidents = 0;
    for cycle in 0..WARM_CYCLES + TIMED_CYCLES {
        obs.ts_ms += INTERVAL_MS;
        let fault = cycle >= WARM_CYCLES;
        obs.signals = keys
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let faulty = fault && (i / KINDS.len()) % 100 == 7;
                (k.clone(), value(k.kind, &mut noise, faulty))
            })
            .collect();
        let t = Instant::now();
        let snap = analyzer.step(&obs, &[]);
        if cycle >= WARM_CYCLES {
            timed += t.elapsed();
        }
        incidents = snap.open_incidents().count();
    }
    let (n, bytes, history) = analyzer.detector_state();
    let det = analyzer.detector_bytes();
    let cfg = analytics::detect::DetectorConfig::default();
    let full_history = analytics::detect::SignalDetector::max_history_bytes(&cfg);
    let per_cycle = timed.as_secs_f64() / TIMED_CYCLES as f64;
    println!(
        "{signals:>7} signals ({workloads} workloads): analysis cycle {:>8.1} ms, {:>6.2} us per signal per cycle, detector state {:>5.0} B/signal (detectors alone {:.0} B/signal; with keys and models {:.1} MiB in all), chart history now {:>5.0} B/signal (at most {full_history} B/signal), {incidents} open incidents",
        per_cycle * 1e3,
        per_cycle * 1e6 / n as f64,
        bytes as f64 / n as f64,
        det as f64 / n as f64,
        bytes as f64 / 1048576.0,
        history as f64 / n as f64,
    );
}

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![10_000, 100_000]
    } else {
        sizes
    };
    println!(
        "analysis cost ({} warm-up cycles, {} timed cycles with 1% of workloads faulty)",
        WARM_CYCLES, TIMED_CYCLES
    );
    for s in sizes {
        run(s);
    }
}
