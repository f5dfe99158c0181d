//! Input hygiene shared by every detector: non-finite values, time gaps and counter resets.

/// What a detector should do with an incoming sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Ignore the sample (non-finite value); the state is untouched.
    Skip,
    /// Clear the state first (long gap or counter reset), then learn from the sample.
    Reset,
    /// Normal update.
    Proceed,
}

/// Tracks the typical sampling interval, long gaps and counter-like series.
#[derive(Debug, Clone)]
pub struct Guard {
    /// A gap longer than this many typical intervals resets the detector.
    gap_reset_intervals: f64,
    /// Consecutive non-decreasing samples after which a series counts as a counter.
    counter_run: u32,
    last_ts: Option<i64>,
    last_value: f64,
    /// Running estimate of the median sampling interval (ms).
    dt_ms: f64,
    monotone: u32,
    increases: u32,
}

impl Guard {
    /// A guard resetting after gaps longer than `gap_reset_intervals` typical intervals and
    /// treating series non-decreasing for `counter_run` samples as counters.
    pub fn new(gap_reset_intervals: f64, counter_run: u32) -> Guard {
        Guard {
            gap_reset_intervals,
            counter_run,
            last_ts: None,
            last_value: f64::NAN,
            dt_ms: 0.0,
            monotone: 0,
            increases: 0,
        }
    }

    /// The typical sampling interval seen so far (0 before two samples).
    pub fn typical_dt_ms(&self) -> f64 {
        self.dt_ms
    }

    /// Classifies a sample and updates the guard's own bookkeeping.
    pub fn check(&mut self, ts_ms: i64, value: f64) -> Action {
        if !value.is_finite() {
            return Action::Skip;
        }
        let mut action = Action::Proceed;
        if let Some(last) = self.last_ts {
            let dt = (ts_ms - last) as f64;
            if dt > 0.0 {
                if self.dt_ms <= 0.0 {
                    self.dt_ms = dt;
                } else {
                    if dt > self.gap_reset_intervals * self.dt_ms {
                        action = Action::Reset;
                    }
                    // Stochastic approximation of the median interval.
                    self.dt_ms *= if dt > self.dt_ms { 1.02 } else { 0.98 };
                }
            }
            // A counter rises on most samples; a step or a square wave does not.
            let counter_like =
                self.monotone >= self.counter_run && 2 * self.increases >= self.monotone;
            if value < self.last_value {
                // A counter reset falls to (near) zero in one step, not gently.
                if counter_like && value.abs() < 0.5 * self.last_value.abs() {
                    action = Action::Reset;
                }
                self.monotone = 0;
                self.increases = 0;
            } else {
                self.monotone = self.monotone.saturating_add(1);
                if value > self.last_value {
                    self.increases = self.increases.saturating_add(1);
                }
            }
        }
        self.last_ts = Some(self.last_ts.map_or(ts_ms, |l| l.max(ts_ms)));
        self.last_value = value;
        action
    }
}

/// Robust scale floor: never divide by (near) zero, whatever the series' magnitude.
pub fn scale_floor(level: f64, rel: f64, abs: f64) -> f64 {
    (level.abs() * rel).max(abs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_non_finite() {
        let mut g = Guard::new(10.0, 5);
        assert_eq!(g.check(0, f64::NAN), Action::Skip);
        assert_eq!(g.check(0, f64::INFINITY), Action::Skip);
        assert_eq!(g.check(0, 1.0), Action::Proceed);
    }

    #[test]
    fn long_gap_resets_short_jitter_does_not() {
        let mut g = Guard::new(10.0, 1000);
        for i in 0..50 {
            assert_eq!(g.check(i * 1000, (i % 3) as f64), Action::Proceed);
        }
        assert_eq!(g.check(49_000 + 3_000, 1.0), Action::Proceed);
        assert_eq!(g.check(52_000 + 60_000, 1.0), Action::Reset);
    }

    #[test]
    fn counter_drop_resets_but_noisy_series_does_not() {
        let mut g = Guard::new(100.0, 20);
        for i in 0..30 {
            g.check(i, i as f64 * 10.0);
        }
        assert_eq!(g.check(30, 0.0), Action::Reset);
        let mut g = Guard::new(100.0, 20);
        for i in 0..30 {
            assert_eq!(g.check(i, (i % 4) as f64), Action::Proceed);
        }
    }
}
