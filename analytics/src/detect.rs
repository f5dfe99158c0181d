//! Per-signal online detectors. Causal: the verdict at time t uses samples up to t only.
//!
//! The detector here is a robust baseline: the median and MAD of the last `window` normal
//! values. A value is deviant when it is further from the median than both `k` robust standard
//! deviations and a floor that depends on the signal kind (a relative and an absolute minimum
//! change, so a perfectly flat series does not alarm on a rounding error). An anomaly is
//! confirmed after `persist` deviant values in a row, or at once when the deviation is large.
//! Deviant values do not enter the baseline, so a lasting fault stays anomalous; after
//! `adapt_after` deviant values in a row the new level is accepted as normal.

use crate::model::{Anomaly, Direction};
use collector::model::{Point, SignalKey, SignalKind};
use std::collections::VecDeque;

/// Tuning shared by all robust-baseline detectors. Chosen on the simulator's fault-free and
/// fault scenarios (documented in ARCHITECTURE.md), the same for every signal and scenario.
#[derive(Debug, Clone, Copy)]
pub struct DetectorConfig {
    /// Normal values kept for the baseline.
    pub window: usize,
    /// Values needed before any verdict (warm-up).
    pub min_history: usize,
    /// Robust standard deviations a value must be away from the median.
    pub k: f64,
    /// Deviant values in a row that confirm an anomaly.
    pub persist: usize,
    /// Deviation, in thresholds, that confirms an anomaly on its own.
    pub instant: f64,
    /// Deviant values in a row after which the new level becomes the baseline.
    pub adapt_after: usize,
    /// A gap longer than this (ms) restarts the warm-up.
    pub max_gap_ms: i64,
    /// Points kept for charts.
    pub history: usize,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        Self {
            window: 40,
            min_history: 12,
            k: 5.0,
            persist: 2,
            instant: 3.0,
            adapt_after: 240,
            max_gap_ms: 15 * 60_000,
            history: 240,
        }
    }
}

/// Which moves of a signal matter, and the smallest change worth an alarm.
#[derive(Debug, Clone, Copy)]
struct KindRule {
    up: bool,
    down: bool,
    /// Minimum |change| as a fraction of the baseline median.
    rel: f64,
    /// Minimum |change| in the signal's unit.
    abs: f64,
    /// Event-like signals (restarts, unavailable replicas): any value above `abs` is anomalous,
    /// whatever the history.
    event: bool,
}

fn rule(kind: SignalKind) -> KindRule {
    let r = |up, down, rel, abs| KindRule {
        up,
        down,
        rel,
        abs,
        event: false,
    };
    match kind {
        SignalKind::RequestRate => r(true, true, 0.35, 1.0),
        SignalKind::ErrorRatio => r(true, false, 0.0, 0.02),
        SignalKind::LatencyP99 | SignalKind::CallerLatencyP99 => r(true, false, 0.3, 10.0),
        SignalKind::CpuThrottled => r(true, false, 0.0, 0.25),
        SignalKind::CpuCores => r(true, false, 0.3, 0.05),
        SignalKind::MemoryBytes => r(true, false, 0.15, 32.0 * 1024.0 * 1024.0),
        SignalKind::ConsumerLag => r(true, false, 0.5, 200.0),
        SignalKind::QueueDepth => r(true, false, 0.5, 100.0),
        SignalKind::NodeCpuBusy => r(true, false, 0.0, 0.15),
        SignalKind::NodeMemAvailable => r(false, true, 0.2, 256.0 * 1024.0 * 1024.0),
        SignalKind::Restarts => KindRule {
            up: true,
            down: false,
            rel: 0.0,
            abs: 0.5,
            event: true,
        },
        SignalKind::ReplicasUnavailable
        | SignalKind::ContainersWaiting
        | SignalKind::UnderReplicatedPartitions
        | SignalKind::ServiceDown => KindRule {
            up: true,
            down: false,
            rel: 0.0,
            abs: 0.5,
            event: true,
        },
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
    }
}

/// What is known about how a value was computed.
#[derive(Debug, Clone, Copy, Default)]
pub struct StepContext {
    /// Requests behind a ratio or quantile: the fewer, the noisier, so the smallest alarming
    /// change grows as the count shrinks (at least 5 excess errors for an error ratio;
    /// `10/sqrt(n)` more relative change for a latency quantile).
    pub requests: Option<f64>,
    /// A deviation must last this long (ms) before persistence confirms it: the width of the
    /// rate window, less one scrape interval, so one burst seen by overlapping windows is not
    /// taken for a lasting change.
    pub min_span_ms: i64,
    /// The entity's signals taken together look unusual (the multivariate model scores it at
    /// or above 1): then one deviant value confirms, without waiting for persistence.
    pub unusual: bool,
}

#[derive(Debug, Clone)]
struct Run {
    onset_ms: i64,
    count: usize,
    confirmed_ms: Option<i64>,
    direction: Direction,
    baseline: f64,
    peak: f64,
}

impl Run {
    fn new(onset_ms: i64, direction: Direction, baseline: f64, confirmed_ms: Option<i64>) -> Self {
        Self {
            onset_ms,
            count: 0,
            confirmed_ms,
            direction,
            baseline,
            peak: 0.0,
        }
    }

    /// The anomaly this run stands for once confirmed, as of `ts_ms`.
    fn anomaly(&self, key: &SignalKey, ts_ms: i64, current: f64, score: f64) -> Option<Anomaly> {
        self.confirmed_ms.map(|detected_ms| Anomaly {
            signal: key.clone(),
            onset_ms: self.onset_ms,
            detected_ms,
            last_ms: ts_ms,
            score,
            direction: self.direction,
            baseline: self.baseline,
            current,
            rule: None,
        })
    }
}

/// The smallest rise per second that counts as a ramp, for signals that fail by ramping (a
/// memory leak, a consumer that stopped). `None`: the signal has no ramp detector. Set once for
/// all scenarios: about half the slowest ramp worth an alarm within two intervals, and far
/// above the drift of healthy series.
fn ramp_floor(kind: SignalKind) -> Option<f64> {
    match kind {
        // 0.25 MiB/s is 900 MiB an hour: no healthy working set grows like that for long.
        SignalKind::MemoryBytes => Some(0.25 * 1024.0 * 1024.0),
        SignalKind::ConsumerLag | SignalKind::QueueDepth => Some(1.0),
        _ => None,
    }
}

/// Slow ramps move a level by little per interval but the same way every time. A second robust
/// baseline over the per-second slope catches them within two intervals, long before the level
/// crosses its floor. A fall resets it (an OOMKill drops memory, a consumer catches up).
#[derive(Debug, Clone, Default)]
struct Ramp {
    prev: Option<(i64, f64)>,
    normal: VecDeque<f64>,
    run: Option<Run>,
}

impl Ramp {
    /// Feed one value; returns the ramp run when one is under way.
    fn step(&mut self, ts_ms: i64, value: f64, floor: f64, cfg: &DetectorConfig) -> Option<&Run> {
        let (pts, pv) = self.prev.replace((ts_ms, value))?;
        let dt = (ts_ms - pts) as f64 / 1000.0;
        if dt <= 0.0 {
            return None;
        }
        let slope = (value - pv) / dt;
        if self.normal.len() < cfg.min_history {
            self.push(slope, cfg);
            return None;
        }
        let (med, mad) = median_mad(&self.normal);
        let threshold = (cfg.k * 1.4826 * mad).max(floor);
        let score = (slope - med) / threshold;
        if score < 1.0 {
            self.run = None;
            self.push(slope, cfg);
            return None;
        }
        let run = self
            .run
            .get_or_insert_with(|| Run::new(pts, Direction::Up, pv, None));
        run.count += 1;
        run.peak = run.peak.max(score);
        if run.confirmed_ms.is_none() && run.count >= cfg.persist {
            run.confirmed_ms = Some(ts_ms);
        }
        if run.count >= cfg.adapt_after {
            self.run = None;
            self.push(slope, cfg);
            return None;
        }
        self.run.as_ref()
    }

    fn push(&mut self, slope: f64, cfg: &DetectorConfig) {
        self.normal.push_back(slope);
        while self.normal.len() > cfg.window {
            self.normal.pop_front();
        }
    }
}

/// The state of one signal's detector.
#[derive(Debug, Clone)]
pub struct SignalDetector {
    kind: SignalKind,
    normal: VecDeque<f64>,
    history: VecDeque<Point>,
    run: Option<Run>,
    last_ts: Option<i64>,
    ramp: Option<Ramp>,
}

/// Median of a slice (copied and sorted; windows are small).
fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Median and median absolute deviation of a window.
fn median_mad(window: &VecDeque<f64>) -> (f64, f64) {
    let mut sorted: Vec<f64> = window.iter().copied().collect();
    let med = median(&mut sorted);
    let mut dev: Vec<f64> = sorted.iter().map(|x| (x - med).abs()).collect();
    (med, median(&mut dev))
}

/// Map a deviation measured in thresholds (1 = just anomalous) into [0, 1].
pub fn squash(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return 0.0;
    }
    let s = x * x;
    (s / (1.0 + s)).clamp(0.0, 1.0)
}

impl SignalDetector {
    pub fn new(kind: SignalKind) -> Self {
        Self {
            kind,
            normal: VecDeque::new(),
            history: VecDeque::new(),
            run: None,
            last_ts: None,
            ramp: ramp_floor(kind).map(|_| Ramp::default()),
        }
    }

    /// Upper bound of [`state_bytes`](Self::state_bytes) once every buffer is full.
    pub fn max_state_bytes(kind: SignalKind, cfg: &DetectorConfig) -> usize {
        let ramp = ramp_floor(kind).map_or(0, |_| cfg.window.next_power_of_two() * 8);
        std::mem::size_of::<Self>()
            + cfg.window.next_power_of_two() * std::mem::size_of::<f64>()
            + cfg.history.next_power_of_two() * std::mem::size_of::<Point>()
            + ramp
    }

    /// Bytes this detector holds (inline and on the heap), for the cost benchmark.
    pub fn state_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.normal.capacity() * std::mem::size_of::<f64>()
            + self.history.capacity() * std::mem::size_of::<Point>()
            + self
                .ramp
                .as_ref()
                .map_or(0, |r| r.normal.capacity() * std::mem::size_of::<f64>())
    }

    /// Recent values, oldest first.
    pub fn history(&self) -> impl Iterator<Item = &Point> {
        self.history.iter()
    }

    /// The typical value (median of the baseline), if warmed up.
    pub fn baseline(&self) -> Option<f64> {
        (!self.normal.is_empty())
            .then(|| median(&mut self.normal.iter().copied().collect::<Vec<_>>()))
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
        if !value.is_finite() {
            return self.current(key);
        }
        if let Some(last) = self.last_ts {
            if ts_ms <= last {
                return None; // out of order or duplicate: ignore
            }
            if ts_ms - last > cfg.max_gap_ms {
                self.normal.clear();
                self.run = None;
                if let Some(r) = &mut self.ramp {
                    *r = Ramp::default();
                }
            }
        }
        self.last_ts = Some(ts_ms);
        self.history.push_back(Point { ts_ms, value });
        while self.history.len() > cfg.history {
            self.history.pop_front();
        }
        let rule = rule(self.kind);
        if rule.event {
            return self.step_event(key, ts_ms, value, rule);
        }
        let ramp = match (&mut self.ramp, ramp_floor(self.kind)) {
            (Some(r), Some(floor)) => r.step(ts_ms, value, floor, cfg).cloned(),
            _ => None,
        };
        let level = self.step_level(key, ts_ms, value, rule, cfg, ctx);
        match (level, ramp) {
            (Some(mut a), Some(r)) => {
                a.onset_ms = a.onset_ms.min(r.onset_ms);
                a.detected_ms = a.detected_ms.min(r.confirmed_ms.unwrap_or(a.detected_ms));
                Some(a)
            }
            (None, Some(r)) => {
                let baseline = self.baseline().unwrap_or(r.baseline);
                r.confirmed_ms.map(|detected_ms| Anomaly {
                    signal: key.clone(),
                    onset_ms: r.onset_ms,
                    detected_ms,
                    last_ms: ts_ms,
                    score: squash(r.peak),
                    direction: Direction::Up,
                    baseline,
                    current: value,
                    rule: None,
                })
            }
            (level, None) => level,
        }
    }

    /// The level test: the value against the robust baseline of normal values.
    fn step_level(
        &mut self,
        key: &SignalKey,
        ts_ms: i64,
        value: f64,
        rule: KindRule,
        cfg: &DetectorConfig,
        ctx: &StepContext,
    ) -> Option<Anomaly> {
        let requests = ctx.requests;
        if self.normal.len() < cfg.min_history {
            self.push_normal(value, cfg);
            return None;
        }
        let (med, mad) = median_mad(&self.normal);
        let (mut rel, mut abs) = (rule.rel, rule.abs);
        if let Some(n) = requests.filter(|n| n.is_finite()) {
            let n = n.max(1.0);
            match self.kind {
                SignalKind::ErrorRatio => abs = abs.max(5.0 / n),
                SignalKind::LatencyP99 | SignalKind::CallerLatencyP99 => rel += 10.0 / n.sqrt(),
                _ => {}
            }
        }
        let threshold = (cfg.k * 1.4826 * mad).max(rel * med.abs()).max(abs);
        let diff = value - med;
        let direction = if diff >= 0.0 {
            Direction::Up
        } else {
            Direction::Down
        };
        let allowed = match direction {
            Direction::Up => rule.up,
            Direction::Down => rule.down,
        };
        let score = diff.abs() / threshold;
        if !(allowed && score >= 1.0) {
            self.run = None;
            self.push_normal(value, cfg);
            return None;
        }
        let run = self
            .run
            .get_or_insert_with(|| Run::new(ts_ms, direction, med, None));
        if run.direction != direction {
            *run = Run::new(ts_ms, direction, med, None);
        }
        run.count += 1;
        run.peak = run.peak.max(score);
        // Rates over overlapping windows repeat one burst in several values: a deviation must
        // also outlast the window to count as persistent.
        let lasted = ts_ms - run.onset_ms >= ctx.min_span_ms;
        if run.confirmed_ms.is_none()
            && ((run.count >= cfg.persist && lasted) || score >= cfg.instant || ctx.unusual)
        {
            run.confirmed_ms = Some(ts_ms);
        }
        if run.count >= cfg.adapt_after {
            // A lasting new level: accept it as normal.
            self.normal.clear();
            self.run = None;
            self.push_normal(value, cfg);
            return None;
        }
        run.anomaly(key, ts_ms, value, squash(score))
    }

    fn step_event(
        &mut self,
        key: &SignalKey,
        ts_ms: i64,
        value: f64,
        rule: KindRule,
    ) -> Option<Anomaly> {
        if value < rule.abs {
            self.run = None;
            return None;
        }
        let run = self
            .run
            .get_or_insert_with(|| Run::new(ts_ms, Direction::Up, 0.0, Some(ts_ms)));
        run.count += 1;
        run.peak = run.peak.max(value);
        run.anomaly(key, ts_ms, value, squash(1.0 + value))
    }

    /// The ongoing confirmed anomaly, if any, without new data.
    fn current(&self, key: &SignalKey) -> Option<Anomaly> {
        let run = self.run.as_ref()?;
        let last = self.history.back()?;
        run.anomaly(key, last.ts_ms, last.value, squash(run.peak))
    }

    fn push_normal(&mut self, value: f64, cfg: &DetectorConfig) {
        self.normal.push_back(value);
        while self.normal.len() > cfg.window {
            self.normal.pop_front();
        }
    }
}

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
