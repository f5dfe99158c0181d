//! SLO burn rates: multiwindow, multi-burn-rate alerts on availability and latency objectives
//! (the SRE workbook's method), and the error budget left over the SLO period.
//!
//! - **Burn rate** over a window = (bad / total events in the window) / (1 - target). 1 means
//!   the budget would be spent exactly over the period.
//! - A **pair** (`factor`, long window, short window) fires when the burn rates over *both*
//!   windows exceed `factor`; the short window makes the alert stop soon after the burn does.
//! - **Availability**: total = requests, bad = 5xx (exact counter increases per cycle,
//!   `Observation::requests`). **Latency**: total = observations of the request-duration
//!   histogram, bad = those slower than the threshold, estimated by linear interpolation inside
//!   the bucket that holds the threshold (`HistogramDelta::slower_than`), so a threshold that is
//!   not a bucket bound is an estimate.
//! - Per-cycle increases are the observation's rate-window increases scaled by
//!   `min(time since the previous cycle, rate window) / rate window`, so overlapping rate
//!   windows are not counted twice.
//!
//! Memory: events are summed into **1-minute buckets** covering the longest burn window (3 days
//! = 4,320 buckets, ~100 KiB per objective, instead of 17,280 entries at a 15 s interval) and
//! into **1-hour buckets** covering the period (30 days = 720 buckets) for the error budget.
//! Windows are whole buckets ending with the current (partial) one: a 5 m window is the current
//! minute and the 4 before it; the period is counted in whole hours the same way.
//!
//! Missing cycles add nothing: rates are over the events that were seen. A window without
//! traffic has no burn rate (`None`, never NaN) and fires nothing. Like Prometheus' `rate`, a
//! window longer than the data collected so far is computed over the data there is.

use collector::model::EntityId;
use collector::observe::Observation;
use opscope_config::{BurnRate, Slo};
pub use opscope_layout::format::window as fmt_window;
pub use opscope_model::{BurnAlert, BurnAlertState, Objective, SloStatus, WindowBurn};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

/// Width of the buckets burn-rate windows are summed from.
pub const FINE_BUCKET_MS: i64 = 60_000;
/// Width of the buckets the period's error budget is summed from.
pub const COARSE_BUCKET_MS: i64 = 3_600_000;

/// One cycle's result.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SloReport {
    /// One entry per objective (an SLO with availability and latency has two).
    pub statuses: Vec<SloStatus>,
    /// Pairs firing now, and those that stopped in this cycle.
    pub alerts: Vec<BurnAlert>,
}

/// Events summed into fixed-width time buckets, the newest `cap` buckets kept.
#[derive(Debug, Clone)]
struct Buckets {
    width_ms: i64,
    cap: i64,
    /// (bucket index = ts / width, total, bad), ascending index.
    ring: VecDeque<(i64, f64, f64)>,
}

impl Buckets {
    fn new(width_ms: i64, span_ms: i64) -> Self {
        let cap = (span_ms + width_ms - 1) / width_ms + 1;
        Self {
            width_ms,
            cap,
            ring: VecDeque::new(),
        }
    }

    fn add(&mut self, ts_ms: i64, total: f64, bad: f64) {
        let idx = ts_ms.div_euclid(self.width_ms);
        match self.ring.back_mut() {
            Some(b) if b.0 == idx => {
                b.1 += total;
                b.2 += bad;
            }
            Some(b) if b.0 > idx => {
                // Out of order (should not happen): add to its bucket if still kept.
                if let Some(b) = self.ring.iter_mut().find(|b| b.0 == idx) {
                    b.1 += total;
                    b.2 += bad;
                }
            }
            _ => self.ring.push_back((idx, total, bad)),
        }
        let newest = self.ring.back().map_or(idx, |b| b.0);
        while self.ring.front().is_some_and(|b| b.0 <= newest - self.cap) {
            self.ring.pop_front();
        }
    }

    /// (total, bad) over the `ceil(window / width)` buckets ending with the one holding `now`
    /// (windows longer than the span the ring was made for see only what it keeps).
    fn sum(&self, now_ms: i64, window_ms: i64) -> (f64, f64) {
        let cur = now_ms.div_euclid(self.width_ms);
        let n = (window_ms + self.width_ms - 1) / self.width_ms;
        let lo = cur - n + 1;
        self.ring
            .iter()
            .rev()
            .skip_while(|b| b.0 > cur)
            .take_while(|b| b.0 >= lo)
            .fold((0.0, 0.0), |acc, b| (acc.0 + b.1, acc.1 + b.2))
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.ring.len()
    }
}

fn burn(total: f64, bad: f64, target: f64) -> Option<f64> {
    (total > 0.0 && total.is_finite() && bad.is_finite())
        .then(|| (bad / total).clamp(0.0, 1.0) / (1.0 - target))
}

#[derive(Debug, Clone)]
struct ObjectiveState {
    slo: usize,
    objective: Objective,
    target: f64,
    fine: Buckets,
    coarse: Buckets,
    /// Pair index -> firing since (ms).
    firing: BTreeMap<usize, i64>,
}

/// Evaluates the configured SLOs, one [`SloEngine::evaluate`] per engine cycle.
#[derive(Debug, Clone)]
pub struct SloEngine {
    slos: Vec<Slo>,
    objectives: Vec<ObjectiveState>,
    last_ts_ms: Option<i64>,
}

impl SloEngine {
    /// An engine for these SLOs (from `opscope_config::Config::slos`).
    pub fn new(slos: Vec<Slo>) -> Self {
        let mut objectives = Vec::new();
        for (i, s) in slos.iter().enumerate() {
            let longest = s
                .burn_rates
                .iter()
                .map(|b| b.long.as_millis_i64())
                .max()
                .unwrap_or(0);
            let period = s.period.as_millis_i64();
            let mut add = |objective, target: f64| {
                objectives.push(ObjectiveState {
                    slo: i,
                    objective,
                    target,
                    fine: Buckets::new(FINE_BUCKET_MS, longest.max(FINE_BUCKET_MS)),
                    coarse: Buckets::new(COARSE_BUCKET_MS, period.max(COARSE_BUCKET_MS)),
                    firing: BTreeMap::new(),
                })
            };
            if let Some(t) = s.availability {
                add(Objective::Availability, t.get());
            }
            if let Some(l) = s.latency {
                add(
                    Objective::Latency {
                        threshold_ms: l.threshold.0.as_secs_f64() * 1000.0,
                    },
                    l.target.get(),
                );
            }
        }
        Self {
            slos,
            objectives,
            last_ts_ms: None,
        }
    }

    /// The SLOs evaluated.
    pub fn slos(&self) -> &[Slo] {
        &self.slos
    }

    /// Add this cycle's events and report burn rates, budgets and alerts.
    pub fn evaluate(&mut self, obs: &Observation) -> SloReport {
        let now = obs.ts_ms;
        let elapsed = self.last_ts_ms.map_or(obs.interval_ms, |t| now - t).max(0);
        self.last_ts_ms = Some(now);
        // Share of the rate-window increase that is new since the previous cycle.
        let scale = if obs.rate_window_ms > 0 {
            (elapsed.min(obs.rate_window_ms) as f64) / obs.rate_window_ms as f64
        } else {
            1.0
        };
        let mut report = SloReport::default();
        for o in &mut self.objectives {
            let slo = &self.slos[o.slo];
            let (total, bad) = events(obs, slo, o.objective);
            if total > 0.0 {
                o.fine.add(now, total * scale, bad * scale);
                o.coarse.add(now, total * scale, bad * scale);
            }
            let mut lengths: Vec<i64> = slo
                .burn_rates
                .iter()
                .flat_map(|b| [b.long.as_millis_i64(), b.short.as_millis_i64()])
                .collect();
            lengths.sort_unstable();
            lengths.dedup();
            let windows: Vec<WindowBurn> = lengths
                .iter()
                .map(|&w| {
                    let (total, bad) = o.fine.sum(now, w);
                    WindowBurn {
                        window_ms: w,
                        burn_rate: burn(total, bad, o.target),
                        total,
                        bad,
                    }
                })
                .collect();
            let rate_of = |w: i64| {
                windows
                    .iter()
                    .find(|x| x.window_ms == w)
                    .and_then(|x| x.burn_rate)
            };
            for (p, b) in slo.burn_rates.iter().enumerate() {
                let BurnRate {
                    severity,
                    factor,
                    long,
                    short,
                } = *b;
                let (lb, sb) = (
                    rate_of(long.as_millis_i64()),
                    rate_of(short.as_millis_i64()),
                );
                let on = lb.is_some_and(|x| x > factor) && sb.is_some_and(|x| x > factor);
                let state = match (on, o.firing.get(&p).copied()) {
                    (true, since) => {
                        let since = since.unwrap_or(now);
                        o.firing.insert(p, since);
                        Some((BurnAlertState::Firing, since))
                    }
                    (false, Some(since)) => {
                        o.firing.remove(&p);
                        Some((BurnAlertState::Resolved, since))
                    }
                    (false, None) => None,
                };
                if let Some((state, since_ms)) = state {
                    report.alerts.push(BurnAlert {
                        service: slo.service.clone(),
                        namespace: slo.namespace.clone(),
                        objective: o.objective,
                        target: o.target,
                        severity,
                        factor,
                        long_window_ms: long.as_millis_i64(),
                        short_window_ms: short.as_millis_i64(),
                        long_burn: lb,
                        short_burn: sb,
                        since_ms,
                        state,
                    });
                }
            }
            let period_ms = slo.period.as_millis_i64();
            let (pt, pb) = o.coarse.sum(now, period_ms);
            report.statuses.push(SloStatus {
                service: slo.service.clone(),
                namespace: slo.namespace.clone(),
                objective: o.objective,
                target: o.target,
                windows,
                period_ms,
                period_total: pt,
                period_bad: pb,
                budget_remaining: burn(pt, pb, o.target).map(|b| 1.0 - b),
            });
        }
        report
    }
}

/// (total, bad) events of an objective in this observation's rate window, summed over the
/// workloads the SLO names (every namespace when it names none).
fn events(obs: &Observation, slo: &Slo, objective: Objective) -> (f64, f64) {
    let mine = |e: &EntityId| {
        e.kind == collector::model::EntityKind::Workload
            && e.name == slo.service
            && slo.namespace.as_ref().is_none_or(|n| *n == e.namespace)
    };
    let (mut total, mut bad) = (0.0, 0.0);
    match objective {
        Objective::Availability => {
            for (e, c) in &obs.requests {
                if mine(e) && c.total.is_finite() && c.errors.is_finite() && c.total > 0.0 {
                    total += c.total;
                    bad += c.errors.clamp(0.0, c.total);
                }
            }
        }
        Objective::Latency { threshold_ms } => {
            for (e, h) in &obs.latency_histograms {
                if mine(e)
                    && let Some(slow) = h.slower_than(threshold_ms)
                {
                    let t = h.total();
                    total += t;
                    bad += slow.min(t);
                }
            }
        }
    }
    (total, bad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use collector::model::{HistogramDelta, RequestCounts};
    use opscope_config::BurnSeverity;
    use opscope_config::{HumanDuration, LatencyObjective, Target, default_burn_rates};

    const MIN: i64 = 60_000;
    const HOUR: i64 = 60 * MIN;

    fn slo(target: f64) -> Slo {
        Slo {
            service: "checkout".into(),
            namespace: None,
            availability: Target::new(target),
            latency: None,
            period: HumanDuration::from_secs(30 * 86_400),
            burn_rates: default_burn_rates(),
        }
    }

    /// One cycle per minute with `total` requests of which `errors` failed.
    fn obs(ts_ms: i64, total: f64, errors: f64) -> Observation {
        Observation {
            ts_ms,
            interval_ms: MIN,
            rate_window_ms: MIN,
            requests: BTreeMap::from([(
                EntityId::workload("shop", "checkout"),
                RequestCounts { total, errors },
            )]),
            ..Observation::default()
        }
    }

    fn firing(r: &SloReport) -> Vec<(f64, i64)> {
        r.alerts
            .iter()
            .filter(|a| a.state == BurnAlertState::Firing)
            .map(|a| (a.factor, a.long_window_ms))
            .collect()
    }

    fn window(r: &SloReport, w: i64) -> Option<f64> {
        r.statuses[0]
            .windows
            .iter()
            .find(|x| x.window_ms == w)
            .and_then(|x| x.burn_rate)
    }

    #[test]
    fn one_percent_errors_on_a_999_target_burns_10x() {
        let mut e = SloEngine::new(vec![slo(0.999)]);
        let mut t = 0;
        let mut r = SloReport::default();
        for _ in 0..60 {
            t += MIN;
            r = e.evaluate(&obs(t, 6000.0, 60.0));
        }
        for w in [5 * MIN, HOUR, 6 * HOUR] {
            assert!((window(&r, w).unwrap() - 10.0).abs() < 1e-9);
        }
        // Over the data there is, 10x > 6 on both 6h and 30m: fires (no clean history).
        assert_eq!(
            firing(&r),
            [(6.0, 6 * HOUR), (3.0, 24 * HOUR), (1.0, 72 * HOUR)]
        );
        assert!((r.statuses[0].budget_remaining.unwrap() - (1.0 - 10.0)).abs() < 1e-9);
    }

    #[test]
    fn after_clean_history_each_pair_fires_when_its_long_window_exceeds() {
        let mut e = SloEngine::new(vec![slo(0.999)]);
        let mut t = 0;
        // Three clean days.
        for _ in 0..3 * 24 * 60 {
            t += MIN;
            assert!(e.evaluate(&obs(t, 1000.0, 0.0)).alerts.is_empty());
        }
        // Then 1% errors (burn 10x) from t0.
        let at = |minutes: i64, e: &mut SloEngine, t: &mut i64| {
            let mut r = SloReport::default();
            for _ in 0..minutes {
                *t += MIN;
                r = e.evaluate(&obs(*t, 1000.0, 10.0));
            }
            r
        };
        let r = at(60, &mut e, &mut t);
        // 1h: 10x < 14.4, 6h: 10 * 1/6 = 1.67 < 6.
        assert!((window(&r, HOUR).unwrap() - 10.0).abs() < 1e-9);
        assert!((window(&r, 6 * HOUR).unwrap() - 10.0 / 6.0).abs() < 1e-9);
        assert!(firing(&r).is_empty());
        // 3.5h: 6h burn 5.83 < 6; 3.7h: 6.17 > 6 and the 30m window is at 10: page.
        let r = at(150, &mut e, &mut t);
        assert!((window(&r, 6 * HOUR).unwrap() - 10.0 * 3.5 / 6.0).abs() < 1e-9);
        assert!(firing(&r).is_empty());
        let r = at(12, &mut e, &mut t);
        assert_eq!(firing(&r), [(6.0, 6 * HOUR)]);
        let since = r.alerts[0].since_ms;
        assert_eq!(r.alerts[0].severity, BurnSeverity::Page);
        // Tickets: 1d burn > 3 and 3d burn > 1 both need more than 7.2h of errors.
        let r = at(7 * 60 - 222, &mut e, &mut t);
        assert_eq!(firing(&r), [(6.0, 6 * HOUR)]);
        assert_eq!(r.alerts[0].since_ms, since);
        let r = at(24, &mut e, &mut t);
        assert_eq!(
            firing(&r),
            [(6.0, 6 * HOUR), (3.0, 24 * HOUR), (1.0, 72 * HOUR)]
        );
        // Errors stop: the short windows drop first and the alerts resolve.
        let mut r = SloReport::default();
        for _ in 0..6 {
            t += MIN;
            r = e.evaluate(&obs(t, 1000.0, 0.0));
        }
        assert_eq!(firing(&r).len(), 3, "the short windows still hold errors");
        let mut resolved = 0;
        for _ in 0..6 * 60 {
            t += MIN;
            let r = e.evaluate(&obs(t, 1000.0, 0.0));
            resolved += r
                .alerts
                .iter()
                .filter(|a| a.state == BurnAlertState::Resolved)
                .count();
        }
        assert_eq!(resolved, 3, "each pair resolves exactly once");
    }

    #[test]
    fn fast_burn_pages_within_minutes() {
        let mut e = SloEngine::new(vec![slo(0.999)]);
        let mut t = 0;
        for _ in 0..24 * 60 {
            t += MIN;
            e.evaluate(&obs(t, 1000.0, 0.0));
        }
        // 100% errors: 1000x. The 1h window exceeds 14.4 once 14.4/1000 of an hour has
        // errors, i.e. within the first minute; the 5m window at once.
        t += MIN;
        let r = e.evaluate(&obs(t, 1000.0, 1000.0));
        assert!(firing(&r).contains(&(14.4, HOUR)));
    }

    #[test]
    fn window_boundaries_are_whole_minutes() {
        let mut b = Buckets::new(MIN, 5 * MIN);
        b.add(0, 1.0, 1.0); // minute 0
        b.add(4 * MIN + 59_999, 1.0, 0.0); // minute 4
        b.add(5 * MIN, 1.0, 0.0); // minute 5
        // A 5m window at minute 5 is minutes 1..=5: minute 0 is out.
        assert_eq!(b.sum(5 * MIN + 30_000, 5 * MIN), (2.0, 0.0));
        // At minute 4 it is minutes 0..=4; minute 5 is in the future.
        assert_eq!(b.sum(4 * MIN, 5 * MIN), (2.0, 1.0));
        // Old buckets are evicted: the ring keeps cap = 6 buckets.
        for m in 6..100 {
            b.add(m * MIN, 1.0, 0.0);
        }
        assert_eq!(b.len(), 6);
        assert_eq!(b.sum(99 * MIN, 5 * MIN), (5.0, 0.0));
    }

    proptest::proptest! {
        /// Bucketed window sums equal the plain sums of the events in the same whole minutes,
        /// and burn rates are never NaN.
        #[test]
        fn buckets_match_naive_sums(
            steps in proptest::collection::vec((1i64..200_000, 0.0f64..1000.0, 0.0f64..1.0), 1..300),
            window_min in 1i64..=60,
        ) {
            let mut b = Buckets::new(MIN, 60 * MIN);
            let mut events = Vec::new();
            let mut t = 0;
            for (dt, total, bad_share) in steps {
                t += dt;
                b.add(t, total, total * bad_share);
                events.push((t, total, total * bad_share));
            }
            let cur = t.div_euclid(MIN);
            let lo = cur - window_min + 1;
            let (mut nt, mut nb) = (0.0, 0.0);
            for (ts, tot, bad) in events {
                if ts.div_euclid(MIN) >= lo {
                    nt += tot;
                    nb += bad;
                }
            }
            let (st, sb) = b.sum(t, window_min * MIN);
            proptest::prop_assert!((st - nt).abs() < 1e-6 * (1.0 + nt));
            proptest::prop_assert!((sb - nb).abs() < 1e-6 * (1.0 + nb));
            if let Some(r) = burn(st, sb, 0.999) {
                proptest::prop_assert!(r.is_finite() && r >= 0.0);
            }
        }
    }

    #[test]
    fn missing_cycles_add_nothing() {
        let mut e = SloEngine::new(vec![slo(0.99)]);
        let mut t = 0;
        for _ in 0..30 {
            t += MIN;
            e.evaluate(&obs(t, 100.0, 2.0));
        }
        // 30 minutes without data for the service, then one cycle.
        t += 30 * MIN;
        let mut gap = obs(t, 0.0, 0.0);
        gap.requests.clear();
        let r = e.evaluate(&gap);
        // The 1h window still holds the 30 earlier minutes: 2% / 1% = 2x; the 5m one is empty.
        assert!((window(&r, HOUR).unwrap() - 2.0).abs() < 1e-9);
        assert_eq!(window(&r, 5 * MIN), None);
        // The first cycle after a long gap counts one rate window, not the whole gap.
        t += 10 * MIN;
        let r = e.evaluate(&obs(t, 100.0, 0.0));
        let w = &r.statuses[0].windows[0];
        assert_eq!((w.window_ms, w.total), (5 * MIN, 100.0));
    }

    #[test]
    fn zero_traffic_no_alert_no_nan() {
        let mut e = SloEngine::new(vec![slo(0.999)]);
        let mut t = 0;
        for _ in 0..120 {
            t += MIN;
            let r = e.evaluate(&obs(t, 0.0, 0.0));
            assert!(r.alerts.is_empty());
            assert!(r.statuses[0].windows.iter().all(|w| w.burn_rate.is_none()));
            assert_eq!(r.statuses[0].budget_remaining, None);
        }
        // NaN counts are ignored too.
        let r = e.evaluate(&obs(t + MIN, f64::NAN, 1.0));
        assert!(r.alerts.is_empty() && r.statuses[0].budget_remaining.is_none());
    }

    #[test]
    fn budget_over_the_period() {
        let mut s = slo(0.99);
        s.period = HumanDuration::from_secs(3 * 86_400);
        let mut e = SloEngine::new(vec![s]);
        let mut t = 0;
        let mut r = SloReport::default();
        for _ in 0..24 * 60 {
            t += MIN;
            r = e.evaluate(&obs(t, 200.0, 1.0)); // 0.5% bad of a 1% budget
        }
        assert!((r.statuses[0].budget_remaining.unwrap() - 0.5).abs() < 1e-9);
        assert!((r.statuses[0].period_total - 200.0 * 1440.0).abs() < 1e-6);
    }

    #[test]
    fn latency_objective_from_histograms() {
        let mut s = slo(0.99);
        s.availability = None;
        s.latency = Some(LatencyObjective {
            threshold: HumanDuration(std::time::Duration::from_millis(150)),
            target: Target::new(0.9).unwrap(),
        });
        let mut e = SloEngine::new(vec![s]);
        let mut o = obs(MIN, 0.0, 0.0);
        o.latency_histograms.insert(
            EntityId::workload("shop", "checkout"),
            HistogramDelta {
                bounds_ms: vec![100.0, 200.0, f64::INFINITY],
                counts: vec![50.0, 90.0, 100.0],
            },
        );
        let r = e.evaluate(&o);
        // 150 ms is halfway into (100, 200]: 70 at most, 30 slower; 30% / 10% = 3x.
        let w = &r.statuses[0].windows[0];
        assert_eq!((w.total, w.bad), (100.0, 30.0));
        assert!((w.burn_rate.unwrap() - 3.0).abs() < 1e-9);
        assert!(matches!(
            r.statuses[0].objective,
            Objective::Latency { threshold_ms } if threshold_ms == 150.0
        ));
    }

    #[test]
    fn namespace_restricts_the_service() {
        let mut s = slo(0.99);
        s.namespace = Some("other".into());
        let mut e = SloEngine::new(vec![s]);
        let r = e.evaluate(&obs(MIN, 100.0, 50.0));
        assert!(r.statuses[0].windows.iter().all(|w| w.total == 0.0));
    }

    #[test]
    fn from_example_config() {
        let c = opscope_config::check(include_str!("../../config/example.toml"), &|k| {
            (k == "OPSCOPE_SLACK_WEBHOOK").then(|| "https://hooks.example/x".into())
        });
        assert!(!c.has_errors(), "{:?}", c.diagnostics);
        let e = SloEngine::new(c.config.slos);
        // frontend: availability; checkout: availability + latency; payment: availability.
        assert_eq!(e.objectives.len(), 4);
        assert_eq!(e.objectives[0].fine.cap, 3 * 24 * 60 + 1);
        assert_eq!(e.objectives[0].coarse.cap, 30 * 24 + 1);
    }
}
