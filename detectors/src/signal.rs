//! The per-signal detector: the one that runs live for every signal (configured per signal
//! kind by `analytics`) and the one `opscope detect` / `opscope eval nab` run on a univariate
//! file (with [`SignalConfig::generic`]).
//!
//! Two parts, one update:
//! - the **level test**: a robust baseline (median and MAD of the last `window` *normal*
//!   values: deviant values do not enter it, so a lasting fault stays anomalous) with a
//!   minimum alarming change (relative and absolute floors, raised when a ratio or quantile
//!   rests on few requests), allowed directions, persistence (`persist` deviant values in a
//!   row that outlast the rate window), instant confirmation of large deviations, acceptance
//!   of a new level after `adapt_after` deviant values, a slope test for ramps, and
//!   event-like signals (any value at or above the absolute floor is an anomaly);
//! - the **scale-free part** (optional): the [`Ensemble`] (records of robust, seasonal and
//!   likelihood deviations against the series' own history, range novelty, the shift record),
//!   whose score in [0, 1] means the same surprise on a noisy and on a quiet series.
//!
//! The continuous score is `max(ensemble score, level_weight * level score)`; an alarm (the
//! confirmed level run) is raised by the level test, and a deviant value whose scale-free
//! score reaches the ensemble's alarm level confirms at once (without waiting for
//! persistence). The detector does not store its configuration: the caller passes the same
//! [`SignalConfig`] on every update (the ensemble's own constants are shared behind an
//! [`Arc`]).

use crate::ensemble::{Ensemble, EnsembleConfig};
use crate::{Direction, Verdict};
use std::collections::VecDeque;
use std::sync::Arc;

/// Largest level window (values): the median is taken on the stack.
pub const MAX_LEVEL_WINDOW: usize = 64;

/// Consistency constant of the MAD as a standard deviation under normality.
const MAD_SIGMA: f64 = 1.4826;

/// The robust level test's constants (counts in samples).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LevelConfig {
    /// Normal values kept for the baseline (at most [`MAX_LEVEL_WINDOW`]).
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
}

impl Default for LevelConfig {
    /// The live constants (chosen on the simulator's scenarios, 15 s samples).
    fn default() -> Self {
        LevelConfig {
            window: 40,
            min_history: 12,
            k: 5.0,
            persist: 2,
            instant: 3.0,
            adapt_after: 240,
            max_gap_ms: 15 * 60_000,
        }
    }
}

/// Everything one signal's detector needs, filled per signal kind by the caller.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalConfig {
    /// A rise matters.
    pub up: bool,
    /// A fall matters.
    pub down: bool,
    /// Minimum |change| as a fraction of the baseline median.
    pub rel_floor: f64,
    /// Minimum |change| in the signal's unit.
    pub abs_floor: f64,
    /// Event-like signal: any value at or above `abs_floor` is anomalous, whatever the
    /// history (restarts, unavailable replicas).
    pub event: bool,
    /// With a request count `n` behind the value: the absolute floor is at least
    /// `count_abs / n` (5 for an error ratio: at least 5 excess errors).
    pub count_abs: f64,
    /// With a request count `n`: the relative floor grows by `count_rel / sqrt(n)`
    /// (10 for a latency quantile).
    pub count_rel: f64,
    /// Smallest rise per second that counts as a ramp (`None`: no ramp test).
    pub ramp_floor: Option<f64>,
    /// The level test's constants.
    pub level: LevelConfig,
    /// Weight of the level test in the continuous score (its alarms do not depend on it).
    pub level_weight: f64,
    /// The scale-free part (`None`: off).
    pub scale_free: Option<Arc<EnsembleConfig>>,
}

impl SignalConfig {
    /// A signal where both directions matter, with no floors, no ramp test and no
    /// scale-free part: the live level test alone.
    pub fn level_only(up: bool, down: bool, rel_floor: f64, abs_floor: f64) -> SignalConfig {
        SignalConfig {
            up,
            down,
            rel_floor,
            abs_floor,
            event: false,
            count_abs: 0.0,
            count_rel: 0.0,
            ramp_floor: None,
            level: LevelConfig::default(),
            level_weight: 1.0,
            scale_free: None,
        }
    }

    /// An event-like signal alarming at `abs_floor` and above.
    pub fn event(abs_floor: f64) -> SignalConfig {
        SignalConfig {
            event: true,
            ..SignalConfig::level_only(true, false, 0.0, abs_floor)
        }
    }

    /// The generic configuration for a series of unknown kind and unit (`opscope detect`,
    /// `opscope eval nab`): both directions, no floors beyond rounding, the scale-free part
    /// with its NAB-chosen constants, and the level test at [`GENERIC_LEVEL_WEIGHT`].
    pub fn generic() -> SignalConfig {
        SignalConfig {
            level: LevelConfig {
                max_gap_ms: i64::MAX,
                ..LevelConfig::default()
            },
            level_weight: GENERIC_LEVEL_WEIGHT,
            scale_free: Some(Arc::new(EnsembleConfig::default())),
            ..SignalConfig::level_only(true, true, 0.0, 0.0)
        }
    }
}

/// Weight of the level test in the generic configuration's continuous score.
pub const GENERIC_LEVEL_WEIGHT: f64 = 0.0;

/// What is known about how a value was computed.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Context {
    /// Requests behind a ratio or quantile (see [`SignalConfig::count_abs`] and
    /// [`SignalConfig::count_rel`]).
    pub requests: Option<f64>,
    /// A deviation must last this long (ms) before persistence confirms it (the width of a
    /// rate window less one interval: one burst seen by overlapping windows is not a lasting
    /// change).
    pub min_span_ms: i64,
    /// Something else (the entity's signals taken together) says this is unusual: one
    /// deviant value confirms.
    pub unusual: bool,
}

/// A confirmed deviation of one signal.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Alarm {
    /// When the deviation began (ms).
    pub onset_ms: i64,
    /// When it was confirmed (ms).
    pub detected_ms: i64,
    /// The latest sample's time (ms).
    pub last_ms: i64,
    /// Which way.
    pub direction: Direction,
    /// The typical value before the deviation.
    pub baseline: f64,
    /// The latest value.
    pub current: f64,
    /// Strength in [0, 1] (0.5 at the threshold).
    pub score: f64,
}

/// The answer for one sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Output {
    /// Continuous anomaly score in [0, 1] (what NAB thresholds).
    pub score: f64,
    /// The ongoing confirmed deviation, if any.
    pub alarm: Option<Alarm>,
    /// The scale-free part's verdict (quiet when off).
    pub verdict: Verdict,
}

impl Output {
    fn quiet(alarm: Option<Alarm>) -> Output {
        Output {
            score: 0.0,
            alarm,
            verdict: Verdict::quiet(),
        }
    }
}

/// A run of deviant values.
#[derive(Debug, Clone, Copy)]
struct Run {
    onset_ms: i64,
    count: u32,
    confirmed_ms: Option<i64>,
    up: bool,
    baseline: f64,
    peak: f64,
}

impl Run {
    fn new(onset_ms: i64, up: bool, baseline: f64, confirmed_ms: Option<i64>) -> Run {
        Run {
            onset_ms,
            count: 0,
            confirmed_ms,
            up,
            baseline,
            peak: 0.0,
        }
    }

    fn alarm(&self, ts_ms: i64, current: f64, score: f64) -> Option<Alarm> {
        self.confirmed_ms.map(|detected_ms| Alarm {
            onset_ms: self.onset_ms,
            detected_ms,
            last_ms: ts_ms,
            direction: if self.up {
                Direction::Up
            } else {
                Direction::Down
            },
            baseline: self.baseline,
            current,
            score,
        })
    }
}

/// Map a deviation measured in thresholds (1 = just anomalous) into [0, 1].
pub fn squash(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return 0.0;
    }
    let s = x * x;
    (s / (1.0 + s)).clamp(0.0, 1.0)
}

/// Median and MAD of the values in `q` (at most [`MAX_LEVEL_WINDOW`] of them).
fn median_mad(q: &VecDeque<f64>) -> (f64, f64) {
    let mut buf = [0.0f64; MAX_LEVEL_WINDOW];
    let n = q.len().min(MAX_LEVEL_WINDOW);
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    for (b, v) in buf.iter_mut().zip(q.iter()) {
        *b = *v;
    }
    let s = &mut buf[..n];
    let med = median(s);
    for v in s.iter_mut() {
        *v = (*v - med).abs();
    }
    (med, median(s))
}

fn median(s: &mut [f64]) -> f64 {
    s.sort_unstable_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        0.5 * (s[n / 2 - 1] + s[n / 2])
    }
}

fn push_capped(q: &mut VecDeque<f64>, v: f64, cap: usize) {
    let cap = cap.clamp(1, MAX_LEVEL_WINDOW);
    while q.len() >= cap {
        q.pop_front();
    }
    q.push_back(v);
}

/// Slow ramps move a level by little per interval but the same way every time: a second
/// robust baseline over the per-second slope catches them within two intervals, long before
/// the level crosses its floor. A fall resets it (an OOMKill drops memory, a consumer
/// catches up).
#[derive(Debug, Clone, Default)]
struct Ramp {
    prev: Option<(i64, f64)>,
    normal: VecDeque<f64>,
    run: Option<Run>,
}

impl Ramp {
    fn step(&mut self, ts_ms: i64, value: f64, floor: f64, cfg: &LevelConfig) -> Option<Run> {
        let (pts, pv) = self.prev.replace((ts_ms, value))?;
        let dt = (ts_ms - pts) as f64 / 1000.0;
        if dt <= 0.0 {
            return None;
        }
        let slope = (value - pv) / dt;
        if self.normal.len() < cfg.min_history {
            push_capped(&mut self.normal, slope, cfg.window);
            return None;
        }
        let (med, mad) = median_mad(&self.normal);
        let threshold = (cfg.k * MAD_SIGMA * mad).max(floor);
        let score = (slope - med) / threshold;
        if score < 1.0 {
            self.run = None;
            push_capped(&mut self.normal, slope, cfg.window);
            return None;
        }
        let run = self
            .run
            .get_or_insert_with(|| Run::new(pts, true, pv, None));
        run.count += 1;
        run.peak = run.peak.max(score);
        if run.confirmed_ms.is_none() && run.count as usize >= cfg.persist {
            run.confirmed_ms = Some(ts_ms);
        }
        if run.count as usize >= cfg.adapt_after {
            self.run = None;
            push_capped(&mut self.normal, slope, cfg.window);
            return None;
        }
        self.run
    }
}

/// The state of one signal's detector (bounded: see [`SignalDetector::state_bytes`]).
#[derive(Debug, Clone, Default)]
pub struct SignalDetector {
    normal: VecDeque<f64>,
    run: Option<Run>,
    last: Option<(i64, f64)>,
    ramp: Option<Box<Ramp>>,
    scale_free: Option<Box<Ensemble>>,
}

impl SignalDetector {
    /// A fresh detector for a signal configured by `cfg`.
    pub fn new(cfg: &SignalConfig) -> SignalDetector {
        SignalDetector {
            normal: VecDeque::with_capacity(cfg.level.window.clamp(1, MAX_LEVEL_WINDOW)),
            run: None,
            last: None,
            ramp: cfg.ramp_floor.map(|_| {
                Box::new(Ramp {
                    normal: VecDeque::with_capacity(cfg.level.window.clamp(1, MAX_LEVEL_WINDOW)),
                    ..Ramp::default()
                })
            }),
            scale_free: cfg
                .scale_free
                .as_ref()
                .map(|c| Box::new(Ensemble::shared(Arc::clone(c)))),
        }
    }

    /// Bytes this detector holds (inline and on the heap; the shared configuration is not
    /// counted).
    pub fn state_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.normal.capacity() * std::mem::size_of::<f64>()
            + self.ramp.as_ref().map_or(0, |r| {
                std::mem::size_of::<Ramp>() + r.normal.capacity() * std::mem::size_of::<f64>()
            })
            + self.scale_free.as_ref().map_or(0, |e| e.state_bytes())
    }

    /// The typical value (median of the level baseline), once there is one.
    pub fn baseline(&self) -> Option<f64> {
        (!self.normal.is_empty()).then(|| median_mad(&self.normal).0)
    }

    /// Feeds one sample (in time order) and returns the verdict for it. Non-finite values
    /// leave the state untouched and return the ongoing alarm; out-of-order samples are
    /// ignored.
    pub fn update(&mut self, cfg: &SignalConfig, ts_ms: i64, value: f64, ctx: &Context) -> Output {
        if !value.is_finite() {
            return Output::quiet(self.current());
        }
        if let Some((last, _)) = self.last {
            if ts_ms <= last {
                return Output::quiet(None);
            }
            if ts_ms - last > cfg.level.max_gap_ms {
                self.normal.clear();
                self.run = None;
                if let Some(r) = &mut self.ramp {
                    r.prev = None;
                    r.normal.clear();
                    r.run = None;
                }
            }
        }
        self.last = Some((ts_ms, value));
        if cfg.event {
            return self.step_event(cfg, ts_ms, value);
        }
        let verdict = match &mut self.scale_free {
            Some(e) => e.update(ts_ms, value),
            None => Verdict::quiet(),
        };
        let surprising = self
            .scale_free
            .as_ref()
            .is_some_and(|e| verdict.score >= e.config().alarm_level);
        let ramp = match (&mut self.ramp, cfg.ramp_floor) {
            (Some(r), Some(floor)) => r.step(ts_ms, value, floor, &cfg.level),
            _ => None,
        };
        let (level, level_score) = self.step_level(cfg, ts_ms, value, ctx, surprising);
        let alarm = match (level, ramp) {
            (Some(mut a), Some(r)) => {
                a.onset_ms = a.onset_ms.min(r.onset_ms);
                a.detected_ms = a.detected_ms.min(r.confirmed_ms.unwrap_or(a.detected_ms));
                Some(a)
            }
            (None, Some(r)) => {
                let baseline = self.baseline().unwrap_or(r.baseline);
                r.confirmed_ms.map(|detected_ms| Alarm {
                    onset_ms: r.onset_ms,
                    detected_ms,
                    last_ms: ts_ms,
                    direction: Direction::Up,
                    baseline,
                    current: value,
                    score: squash(r.peak),
                })
            }
            (level, None) => level,
        };
        let score = verdict.score.max(cfg.level_weight * level_score);
        Output {
            score: if score.is_finite() {
                score.clamp(0.0, 1.0)
            } else {
                0.0
            },
            alarm,
            verdict,
        }
    }

    /// The level test: the value against the robust baseline of normal values. Returns the
    /// alarm and the level score in [0, 1] (`squash` of the deviation in thresholds, 0 when
    /// not deviant or the direction does not matter).
    fn step_level(
        &mut self,
        cfg: &SignalConfig,
        ts_ms: i64,
        value: f64,
        ctx: &Context,
        surprising: bool,
    ) -> (Option<Alarm>, f64) {
        let lc = &cfg.level;
        if self.normal.len() < lc.min_history {
            push_capped(&mut self.normal, value, lc.window);
            return (None, 0.0);
        }
        let (med, mad) = median_mad(&self.normal);
        let (mut rel, mut abs) = (cfg.rel_floor, cfg.abs_floor);
        if let Some(n) = ctx.requests.filter(|n| n.is_finite()) {
            let n = n.max(1.0);
            if cfg.count_abs > 0.0 {
                abs = abs.max(cfg.count_abs / n);
            }
            if cfg.count_rel > 0.0 {
                rel += cfg.count_rel / n.sqrt();
            }
        }
        let threshold = (lc.k * MAD_SIGMA * mad).max(rel * med.abs()).max(abs);
        let diff = value - med;
        let up = diff >= 0.0;
        let allowed = if up { cfg.up } else { cfg.down };
        let score = if threshold > 0.0 {
            diff.abs() / threshold
        } else if diff != 0.0 {
            f64::INFINITY
        } else {
            0.0
        };
        if !(allowed && score >= 1.0) {
            self.run = None;
            push_capped(&mut self.normal, value, lc.window);
            return (None, 0.0);
        }
        let run = self
            .run
            .get_or_insert_with(|| Run::new(ts_ms, up, med, None));
        if run.up != up {
            *run = Run::new(ts_ms, up, med, None);
        }
        run.count += 1;
        run.peak = run.peak.max(score);
        // Rates over overlapping windows repeat one burst in several values: a deviation
        // must also outlast the window to count as persistent.
        let lasted = ts_ms - run.onset_ms >= ctx.min_span_ms;
        if run.confirmed_ms.is_none()
            && ((run.count as usize >= lc.persist && lasted)
                || score >= lc.instant
                || ctx.unusual
                || surprising)
        {
            run.confirmed_ms = Some(ts_ms);
        }
        if run.count as usize >= lc.adapt_after {
            // A lasting new level: accept it as normal.
            self.normal.clear();
            self.run = None;
            push_capped(&mut self.normal, value, lc.window);
            return (None, 0.0);
        }
        let s = squash(score);
        (run.alarm(ts_ms, value, s), s)
    }

    fn step_event(&mut self, cfg: &SignalConfig, ts_ms: i64, value: f64) -> Output {
        if value < cfg.abs_floor {
            self.run = None;
            return Output::quiet(None);
        }
        let run = self
            .run
            .get_or_insert_with(|| Run::new(ts_ms, true, 0.0, Some(ts_ms)));
        run.count += 1;
        run.peak = run.peak.max(value);
        let s = squash(1.0 + value);
        Output {
            score: s,
            alarm: run.alarm(ts_ms, value, s),
            verdict: Verdict::quiet(),
        }
    }

    /// The ongoing confirmed alarm, if any, as of the last sample.
    fn current(&self) -> Option<Alarm> {
        let run = self.run.as_ref()?;
        let (ts, v) = self.last?;
        run.alarm(ts, v, squash(run.peak))
    }
}

/// Scores a whole series with a fresh detector (row i's score uses rows 0..=i only).
pub fn score_series_with(cfg: &SignalConfig, rows: &[(i64, f64)]) -> Vec<f64> {
    let mut d = SignalDetector::new(cfg);
    let ctx = Context::default();
    rows.iter()
        .map(|&(t, v)| d.update(cfg, t, v, &ctx).score)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const STEP: i64 = 15_000;

    fn noise(i: i64) -> f64 {
        ((i * 7919 + 13) % 23) as f64 / 23.0 - 0.5
    }

    fn alarms(cfg: &SignalConfig, values: &[f64]) -> Vec<Option<Alarm>> {
        let mut d = SignalDetector::new(cfg);
        values
            .iter()
            .enumerate()
            .map(|(i, &v)| d.update(cfg, i as i64 * STEP, v, &Context::default()).alarm)
            .collect()
    }

    fn latency() -> SignalConfig {
        SignalConfig {
            count_rel: 10.0,
            ..SignalConfig::level_only(true, false, 0.3, 10.0)
        }
    }

    #[test]
    fn level_test_confirms_large_jumps_at_once_and_moderate_ones_after_persistence() {
        let mut v: Vec<f64> = (0..40).map(|i| 50.0 + (i % 5) as f64).collect();
        v.extend([300.0, 320.0, 310.0]);
        let out = alarms(&latency(), &v);
        let a = out[40].expect("a large jump is confirmed at once");
        assert_eq!((a.onset_ms, a.direction), (40 * STEP, Direction::Up));
        assert!(a.score > 0.9 && out[42].is_some());
        let mut v: Vec<f64> = (0..40).map(|i| 100.0 + (i % 3) as f64).collect();
        v.extend([150.0, 150.0, 100.0]);
        let out = alarms(&latency(), &v);
        assert!(out[40].is_none() && out[41].is_some() && out[42].is_none());
    }

    #[test]
    fn directions_floors_and_request_counts() {
        // A fall does not matter for latency; tiny changes on a flat series stay under the
        // floors.
        let mut v = vec![100.0; 50];
        v.extend([100.5, 101.0, 99.0, 10.0, 10.0]);
        assert!(alarms(&latency(), &v).iter().all(Option::is_none));
        // With 4 requests behind the quantile the relative floor grows by 10/2 = 5x.
        let cfg = latency();
        let mut d = SignalDetector::new(&cfg);
        let ctx = Context {
            requests: Some(4.0),
            ..Context::default()
        };
        for i in 0..40 {
            d.update(&cfg, i * STEP, 100.0, &ctx);
        }
        for i in 40..44 {
            assert!(d.update(&cfg, i * STEP, 400.0, &ctx).alarm.is_none());
        }
    }

    #[test]
    fn events_and_gaps() {
        let cfg = SignalConfig::event(0.5);
        let out = alarms(&cfg, &[0.0, 0.0, 1.0, 1.0, 0.0]);
        assert!(out[1].is_none() && out[4].is_none());
        assert_eq!(out[2].map(|a| a.onset_ms), Some(2 * STEP));
        assert_eq!(out[3].map(|a| a.onset_ms), Some(2 * STEP));
        // After a long gap the level test warms up again.
        let cfg = SignalConfig::level_only(true, false, 0.3, 0.05);
        let mut d = SignalDetector::new(&cfg);
        let ctx = Context::default();
        for i in 0..30 {
            assert!(d.update(&cfg, i * STEP, 0.5, &ctx).alarm.is_none());
        }
        assert!(d.update(&cfg, 31 * STEP, f64::NAN, &ctx).alarm.is_none());
        assert!(d.update(&cfg, 10_000_000, 3.0, &ctx).alarm.is_none());
    }

    #[test]
    fn a_slow_ramp_is_caught_within_two_intervals() {
        const MIB: f64 = 1024.0 * 1024.0;
        let cfg = SignalConfig {
            ramp_floor: Some(0.25 * MIB),
            ..SignalConfig::level_only(true, false, 0.15, 32.0 * MIB)
        };
        let mut v: Vec<f64> = (0..40)
            .map(|i| 100.0 * MIB + ((i * 7) % 3) as f64 * MIB - MIB)
            .collect();
        let base = v[39];
        v.extend((1..=6).map(|i| base + 7.5 * MIB * i as f64));
        let out = alarms(&cfg, &v);
        assert!(out[..41].iter().all(Option::is_none));
        let a = out[41].expect("two rising steps confirm a ramp");
        assert_eq!(a.onset_ms, 39 * STEP);
    }

    /// A series growing steadily with noise for a long time (a counter-like gauge, a
    /// working set): the generic configuration must not alarm at every new maximum.
    #[test]
    fn a_growing_series_does_not_re_alarm_at_every_new_maximum() {
        let cfg = SignalConfig::generic();
        let rows: Vec<(i64, f64)> = (0..6000)
            .map(|i| (i * 300_000, 1000.0 + 0.5 * i as f64 + 3.0 * noise(i)))
            .collect();
        let scores = score_series_with(&cfg, &rows);
        let level = cfg.scale_free.as_ref().map_or(1.0, |c| c.alarm_level);
        let alarms = scores[500..].iter().filter(|s| **s >= level).count();
        assert!(alarms <= 1, "{alarms} alarms on a steady growth");
    }

    #[test]
    fn state_is_bounded_by_4_kib() {
        for cfg in [SignalConfig::generic(), {
            SignalConfig {
                ramp_floor: Some(1.0),
                ..SignalConfig::generic()
            }
        }] {
            let mut d = SignalDetector::new(&cfg);
            let ctx = Context::default();
            for i in 0..5000 {
                d.update(&cfg, i * STEP, 10.0 + noise(i) + (i % 300) as f64, &ctx);
            }
            assert!(d.state_bytes() <= 4096, "{}", d.state_bytes());
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        /// Causality: the verdict at i does not depend on values after i.
        #[test]
        fn causal(values in proptest::collection::vec(prop_oneof![Just(f64::NAN), -1e3f64..1e3], 1..400), cut in 0usize..400) {
            let cfg = SignalConfig::generic();
            let rows: Vec<(i64, f64)> = values.iter().enumerate().map(|(i, v)| (i as i64 * STEP, *v)).collect();
            let cut = cut.min(rows.len());
            let full = score_series_with(&cfg, &rows);
            let prefix = score_series_with(&cfg, &rows[..cut]);
            prop_assert_eq!(&full[..cut], &prefix[..]);
            prop_assert!(full.iter().all(|s| (0.0..=1.0).contains(s)));
        }
    }
}
