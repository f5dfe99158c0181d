//! Per-signal online detection: which detector configuration each signal kind gets, and the
//! chart history the faces draw. The detector itself is [`detectors::SignalDetector`], the
//! same one `opscope detect` and `opscope eval nab` run (there with
//! [`detectors::SignalConfig::generic`]). Causal: the verdict at time t uses samples up to t.
//!
//! Per signal kind ([`signal_config`]): which directions matter, the smallest change worth an
//! alarm (a relative and an absolute floor, raised when a ratio or a quantile rests on few
//! requests), event-like kinds, the ramp floor of kinds that fail by ramping, and whether the
//! scale-free part runs. The level test's constants ([`DetectorConfig`]) are the same for
//! every kind: a value is deviant when it is further from the median of the last `window`
//! normal values than both `k` robust standard deviations and the kind's floors; `persist`
//! deviant values in a row confirm (or one, when large, when the entity's signals together
//! look unusual, or when the scale-free part scores it at its alarm level); after
//! `adapt_after` the new level is accepted.
//!
//! State per signal: the detector (at most 4 KiB: 3,520 B, 3,944 B for the kinds with a ramp
//! test, `cargo bench -p detectors --bench cost`; `Analyzer::detector_bytes`) plus the chart
//! history (up to `history` points, 240 x 16 B: not detector state, kept here for the faces
//! and reported apart by `Analyzer::detector_state` and the `cycle` bench).
//!
//! Measured with the scale-free part on (held-out seed first): `opscope eval scenarios
//! --seed 11`: AC@1 1.00, AC@3 1.00, mean detection delay 20 s, 0 false incidents in 24
//! simulated hours (1,728 s wall, cores shared); `--seed 7`: the same (678 s wall). The same figures
//! as the level test alone: the scale-free part needs 250-288 samples (about 70 minutes at
//! 15 s) before it can speak, and then only confirms a value the level test already finds
//! deviant. NAB, generic configuration of the same detector: held-out 73.31, in-sample 73.96
//! (`opscope eval nab`).

use crate::model::{Anomaly, Direction};
use collector::model::{Point, SignalKey, SignalKind};
use detectors::signal::{Context, LevelConfig, SignalConfig};
use detectors::{EnsembleConfig, ensemble};
use std::collections::VecDeque;
use std::sync::{Arc, OnceLock};

/// Tuning of the live detectors. The level test's constants ([`LevelConfig`]: window,
/// warm-up, k, persistence, instant confirmation, adapt-after, gap) were chosen on the
/// simulator's fault-free and fault scenarios (documented in ARCHITECTURE.md), the same for
/// every signal and scenario.
#[derive(Debug, Clone, Copy)]
pub struct DetectorConfig {
    /// The level test's constants, shared by every signal.
    pub level: LevelConfig,
    /// Points kept for charts.
    pub history: usize,
    /// Run the scale-free part (the NAB-tuned ensemble) on every non-event signal.
    pub scale_free: bool,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        Self {
            level: LevelConfig::default(),
            history: 240,
            scale_free: true,
        }
    }
}

impl DetectorConfig {
    fn level(&self) -> LevelConfig {
        self.level
    }
}

/// The scale-free part's constants, shared by every live signal.
fn live_ensemble() -> Arc<EnsembleConfig> {
    static CFG: OnceLock<Arc<EnsembleConfig>> = OnceLock::new();
    Arc::clone(CFG.get_or_init(|| Arc::new(EnsembleConfig::default())))
}

/// The detector configuration of a signal kind.
pub fn signal_config(kind: SignalKind, cfg: &DetectorConfig) -> SignalConfig {
    let r = |up, down, rel, abs| SignalConfig::level_only(up, down, rel, abs);
    let mut c = match kind {
        SignalKind::RequestRate => r(true, true, 0.35, 1.0),
        // At least 5 excess errors when few requests stand behind the ratio.
        SignalKind::ErrorRatio => SignalConfig {
            count_abs: 5.0,
            ..r(true, false, 0.0, 0.02)
        },
        // A quantile of n requests needs 10/sqrt(n) more relative change.
        SignalKind::LatencyP99 | SignalKind::CallerLatencyP99 => SignalConfig {
            count_rel: 10.0,
            ..r(true, false, 0.3, 10.0)
        },
        SignalKind::CpuThrottled => r(true, false, 0.0, 0.25),
        SignalKind::CpuCores => r(true, false, 0.3, 0.05),
        // 0.25 MiB/s is 900 MiB an hour: no healthy working set grows like that for long.
        SignalKind::MemoryBytes => SignalConfig {
            ramp_floor: Some(0.25 * 1024.0 * 1024.0),
            ..r(true, false, 0.15, 32.0 * 1024.0 * 1024.0)
        },
        SignalKind::ConsumerLag => SignalConfig {
            ramp_floor: Some(1.0),
            ..r(true, false, 0.5, 200.0)
        },
        SignalKind::QueueDepth => SignalConfig {
            ramp_floor: Some(1.0),
            ..r(true, false, 0.5, 100.0)
        },
        SignalKind::NodeCpuBusy => r(true, false, 0.0, 0.15),
        SignalKind::NodeMemAvailable => r(false, true, 0.2, 256.0 * 1024.0 * 1024.0),
        SignalKind::Restarts
        | SignalKind::ReplicasUnavailable
        | SignalKind::ContainersWaiting
        | SignalKind::UnderReplicatedPartitions
        | SignalKind::ServiceDown => SignalConfig::event(0.5),
        SignalKind::MessagesUnacked => r(true, false, 0.5, 100.0),
        // Replicas seconds behind: a few seconds is normal under load, tens are not.
        SignalKind::ReplicationLag => r(true, false, 0.5, 10.0),
        // Client connections, both ways: a pool that leaks, or clients that all went away.
        SignalKind::Connections => r(true, true, 0.5, 5.0),
        SignalKind::OpsRate | SignalKind::TransactionRate => r(true, true, 0.5, 5.0),
        // Message rates and consumer counts follow the load and the deploys: shown, not
        // alarmed on; a consumer that stops shows as backlog growing on its edge and as lag
        // or queue depth ramping.
        SignalKind::PublishRate | SignalKind::DeliverRate | SignalKind::Consumers => {
            r(false, false, 0.0, f64::INFINITY)
        }
    };
    c.level = cfg.level();
    if cfg.scale_free && !c.event && (c.up || c.down) {
        c.scale_free = Some(live_ensemble());
    }
    c
}

/// What is known about how a value was computed.
pub type StepContext = Context;

/// The state of one signal: its detector and its chart history.
#[derive(Debug, Clone)]
pub struct SignalDetector {
    kind: SignalKind,
    det: detectors::SignalDetector,
    history: VecDeque<Point>,
    /// The anomaly score of the last step.
    score: f32,
}

/// Map a deviation measured in thresholds (1 = just anomalous) into [0, 1].
pub use detectors::signal::squash;

impl SignalDetector {
    /// A detector for a signal of `kind` (with the default level constants).
    pub fn new(kind: SignalKind) -> Self {
        Self::with_config(kind, &DetectorConfig::default())
    }

    /// A detector for a signal of `kind`.
    pub fn with_config(kind: SignalKind, cfg: &DetectorConfig) -> Self {
        Self {
            kind,
            det: detectors::SignalDetector::new(&signal_config(kind, cfg)),
            history: VecDeque::new(),
            score: 0.0,
        }
    }

    /// Upper bound of the chart history's bytes once full.
    pub fn max_history_bytes(cfg: &DetectorConfig) -> usize {
        cfg.history.next_power_of_two() * std::mem::size_of::<Point>()
    }

    /// Bytes the detector holds (inline and on the heap; shared configuration not counted),
    /// without the chart history.
    pub fn detector_bytes(&self) -> usize {
        self.det.state_bytes()
    }

    /// Bytes of the chart history.
    pub fn history_bytes(&self) -> usize {
        self.history.capacity() * std::mem::size_of::<Point>()
    }

    /// Bytes held in all (detector, chart history and this wrapper).
    pub fn state_bytes(&self) -> usize {
        std::mem::size_of::<Self>() - std::mem::size_of::<detectors::SignalDetector>()
            + self.detector_bytes()
            + self.history_bytes()
    }

    /// Recent values, oldest first.
    pub fn history(&self) -> impl Iterator<Item = &Point> {
        self.history.iter()
    }

    /// The anomaly score in [0, 1] of the last value fed (0 before any).
    pub fn score(&self) -> f64 {
        f64::from(self.score)
    }

    /// The typical value (median of the baseline), if warmed up.
    pub fn baseline(&self) -> Option<f64> {
        self.det.baseline()
    }

    /// Feed one value. Returns the anomaly when this signal is anomalous at `ts_ms`.
    pub fn step(
        &mut self,
        key: &SignalKey,
        ts_ms: i64,
        value: f64,
        cfg: &DetectorConfig,
    ) -> Option<Anomaly> {
        self.step_with(key, ts_ms, value, cfg, &StepContext::default())
    }

    /// [`step`](Self::step) with what is known about how the value was computed.
    pub fn step_with(
        &mut self,
        key: &SignalKey,
        ts_ms: i64,
        value: f64,
        cfg: &DetectorConfig,
        ctx: &StepContext,
    ) -> Option<Anomaly> {
        let sc = signal_config(self.kind, cfg);
        let in_order = self.history.back().is_none_or(|p| ts_ms > p.ts_ms);
        if value.is_finite() && in_order {
            self.history.push_back(Point { ts_ms, value });
            while self.history.len() > cfg.history {
                self.history.pop_front();
            }
        }
        let out = self.det.update(&sc, ts_ms, value, ctx);
        if out.score.is_finite() {
            self.score = out.score.clamp(0.0, 1.0) as f32;
        }
        out.alarm.map(|a| Anomaly {
            signal: key.clone(),
            onset_ms: a.onset_ms,
            detected_ms: a.detected_ms,
            last_ms: a.last_ms,
            score: a.score,
            direction: match a.direction {
                detectors::Direction::Down => Direction::Down,
                _ => Direction::Up,
            },
            baseline: a.baseline,
            current: a.current,
            rule: None,
        })
    }
}

/// The scale-free part's alarm level (a score at or above it confirms a deviant value).
pub const SCALE_FREE_ALARM: f64 = ensemble::ALARM_LEVEL;

#[cfg(test)]
mod tests {
    use super::*;
    use collector::model::EntityId;
    use proptest::prelude::*;

    fn key(kind: SignalKind) -> SignalKey {
        SignalKey {
            entity: EntityId::workload("shop", "cart"),
            kind,
        }
    }

    fn run(kind: SignalKind, values: &[f64]) -> Vec<Option<Anomaly>> {
        let cfg = DetectorConfig::default();
        let mut d = SignalDetector::new(kind);
        let k = key(kind);
        values
            .iter()
            .enumerate()
            .map(|(i, v)| d.step(&k, i as i64 * 15_000, *v, &cfg))
            .collect()
    }

    #[test]
    fn silent_during_warm_up() {
        let v: Vec<f64> = (0..11).map(|i| if i == 5 { 1e6 } else { 10.0 }).collect();
        assert!(run(SignalKind::LatencyP99, &v).iter().all(Option::is_none));
    }

    #[test]
    fn constant_series_does_not_alarm_on_tiny_changes() {
        let mut v = vec![100.0; 50];
        v.extend([100.5, 101.0, 99.0, 100.0]);
        assert!(run(SignalKind::LatencyP99, &v).iter().all(Option::is_none));
    }

    #[test]
    fn step_up_is_detected_with_onset_and_direction() {
        let mut v: Vec<f64> = (0..40).map(|i| 50.0 + (i % 5) as f64).collect();
        v.extend([300.0, 320.0, 310.0]);
        let out = run(SignalKind::LatencyP99, &v);
        let a = out[40].as_ref().expect("a large jump is confirmed at once");
        assert_eq!(a.onset_ms, 40 * 15_000);
        assert_eq!(a.direction, Direction::Up);
        assert!(a.score > 0.9);
        assert!(out[42].is_some(), "a lasting fault stays anomalous");
    }

    #[test]
    fn moderate_change_needs_persistence() {
        let mut v: Vec<f64> = (0..40).map(|i| 100.0 + (i % 3) as f64).collect();
        v.extend([150.0, 150.0, 100.0]);
        let out = run(SignalKind::LatencyP99, &v);
        assert!(out[40].is_none());
        let a = out[41]
            .as_ref()
            .expect("two deviant values in a row confirm");
        assert_eq!(a.onset_ms, 40 * 15_000);
        assert!(out[42].is_none());
    }

    #[test]
    fn direction_rules() {
        let mut v = vec![0.001; 30];
        v.push(0.0);
        v.push(0.0);
        assert!(
            run(SignalKind::ErrorRatio, &v).iter().all(Option::is_none),
            "fewer errors is fine"
        );
        let mut v = vec![50.0; 30];
        v.extend([5.0, 5.0]);
        assert!(
            run(SignalKind::RequestRate, &v)[31].is_some(),
            "a traffic drop matters"
        );
    }

    #[test]
    fn nan_and_gaps_do_not_alarm() {
        let cfg = DetectorConfig::default();
        let k = key(SignalKind::CpuCores);
        let mut d = SignalDetector::new(SignalKind::CpuCores);
        for i in 0..30 {
            assert!(d.step(&k, i * 15_000, 0.5, &cfg).is_none());
        }
        assert!(d.step(&k, 31 * 15_000, f64::NAN, &cfg).is_none());
        assert!(d.step(&k, 32 * 15_000, f64::INFINITY, &cfg).is_none());
        // After a long gap the detector warms up again instead of comparing to stale history.
        assert!(d.step(&k, 10_000_000, 3.0, &cfg).is_none());
        assert!(d.step(&k, 10_015_000, 3.0, &cfg).is_none());
    }

    #[test]
    fn restarts_are_events() {
        let v = [0.0, 0.0, 1.0, 1.0, 0.0];
        let out = run(SignalKind::Restarts, &v);
        assert!(out[1].is_none());
        assert_eq!(out[2].as_ref().map(|a| a.onset_ms), Some(30_000));
        assert_eq!(out[3].as_ref().map(|a| a.onset_ms), Some(30_000));
        assert!(out[4].is_none());
    }

    const MIB: f64 = 1024.0 * 1024.0;

    #[test]
    fn a_slow_ramp_is_caught_within_two_intervals() {
        // 100 MiB with +-1 MiB noise, then a 0.5 MiB/s leak from sample 40 (7.5 MiB a step):
        // the level floor (15%) would need 3+ steps, the ramp needs two.
        let mut v: Vec<f64> = (0..40)
            .map(|i| 100.0 * MIB + ((i * 7) % 3) as f64 * MIB - MIB)
            .collect();
        let base = v[39];
        v.extend((1..=6).map(|i| base + 7.5 * MIB * i as f64));
        let out = run(SignalKind::MemoryBytes, &v);
        assert!(out[..41].iter().all(Option::is_none), "{:?}", out[40]);
        let a = out[41].as_ref().expect("two rising steps confirm a ramp");
        assert_eq!(a.onset_ms, 39 * 15_000, "the ramp began after sample 39");
        assert_eq!(a.direction, Direction::Up);
        assert!(out[45].is_some());
    }

    #[test]
    fn healthy_drift_and_falls_are_not_ramps() {
        // A working set creeping up 0.05 MiB/s with noise, then dropping (a restart).
        let mut v: Vec<f64> = (0..120)
            .map(|i| 200.0 * MIB + i as f64 * 0.75 * MIB + ((i * 5) % 4) as f64 * MIB)
            .collect();
        v.extend([120.0 * MIB, 121.0 * MIB, 122.0 * MIB]);
        assert!(run(SignalKind::MemoryBytes, &v).iter().all(Option::is_none));
        // Lag wobbling by +-30 messages around 100 is not a stalled consumer.
        let lag: Vec<f64> = (0..200)
            .map(|i| 100.0 + ((i * 13) % 7) as f64 * 10.0 - 30.0)
            .collect();
        assert!(
            run(SignalKind::ConsumerLag, &lag)
                .iter()
                .all(Option::is_none)
        );
    }

    proptest! {
        /// Causality: the verdict at i does not depend on values after i.
        #[test]
        fn causal(values in proptest::collection::vec(0.0f64..1000.0, 1..120), cut in 0usize..120) {
            let cut = cut.min(values.len());
            let full = run(SignalKind::LatencyP99, &values);
            let prefix = run(SignalKind::LatencyP99, &values[..cut]);
            prop_assert_eq!(&full[..cut], &prefix[..]);
        }

        /// Scores stay in [0, 1] and onsets never follow detection.
        #[test]
        fn scores_bounded(values in proptest::collection::vec(prop_oneof![Just(f64::NAN), 0.0f64..1e9], 1..200)) {
            for a in run(SignalKind::MemoryBytes, &values).into_iter().flatten() {
                prop_assert!((0.0..=1.0).contains(&a.score));
                prop_assert!(a.onset_ms <= a.detected_ms);
            }
        }
    }
}
