//! Two-sided CUSUM on standardised values, for sustained level shifts.

use crate::Detector;
use crate::guard::{Action, Guard, scale_floor};

/// Parameters of [`Cusum`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CusumConfig {
    /// EWMA weight of the reference mean and absolute deviation per sample.
    pub alpha: f64,
    /// Allowance k (in sigmas) subtracted per sample.
    pub drift: f64,
    /// Decision interval h (in sigmas): the output is S / h.
    pub h: f64,
    /// Standardised values are clipped to +-clip so one spike cannot fire it alone.
    pub clip: f64,
    /// Samples before the first verdict.
    pub min_history: usize,
    /// Scale floor relative to |mean|.
    pub floor_rel: f64,
    /// Gap (in typical intervals) that resets the state.
    pub gap_reset_intervals: f64,
    /// Non-decreasing run (samples) after which a drop counts as a counter reset.
    pub counter_run: u32,
}

impl Default for CusumConfig {
    fn default() -> Self {
        CusumConfig {
            alpha: 0.01,
            drift: 0.5,
            h: 8.0,
            clip: 4.0,
            min_history: 48,
            floor_rel: 1e-3,
            gap_reset_intervals: 500.0,
            counter_run: 60,
        }
    }
}

/// CUSUM of standardised deviations from a slow EWMA reference. The output is the signed
/// larger of the two sums divided by h (>= 1 means a shift); after it fires the sums restart
/// and the reference jumps to the new level.
#[derive(Debug, Clone)]
pub struct Cusum {
    cfg: CusumConfig,
    guard: Guard,
    n: usize,
    mean: f64,
    abs_dev: f64,
    pos: f64,
    neg: f64,
    pos_since: i64,
    neg_since: i64,
}

impl Cusum {
    /// A detector with the given parameters.
    pub fn new(cfg: CusumConfig) -> Cusum {
        Cusum {
            cfg,
            guard: Guard::new(cfg.gap_reset_intervals, cfg.counter_run),
            n: 0,
            mean: 0.0,
            abs_dev: 0.0,
            pos: 0.0,
            neg: 0.0,
            pos_since: 0,
            neg_since: 0,
        }
    }

    /// When the currently larger sum last left zero (the shift's estimated onset).
    pub fn onset_ms(&self) -> Option<i64> {
        if self.pos == 0.0 && self.neg == 0.0 {
            None
        } else if self.pos >= self.neg {
            Some(self.pos_since)
        } else {
            Some(self.neg_since)
        }
    }
}

impl Detector for Cusum {
    fn update(&mut self, ts_ms: i64, value: f64) -> Option<f64> {
        match self.guard.check(ts_ms, value) {
            Action::Skip => return None,
            Action::Reset => self.reset(),
            Action::Proceed => {}
        }
        self.n += 1;
        if self.n == 1 {
            self.mean = value;
            self.pos_since = ts_ms;
            self.neg_since = ts_ms;
            return None;
        }
        // Early on, learn faster (running average) so the reference is sensible.
        let a = self.cfg.alpha.max(1.0 / self.n as f64);
        let scale = (self.abs_dev * 1.2533).max(scale_floor(self.mean, self.cfg.floor_rel, 1e-9));
        let z = ((value - self.mean) / scale).clamp(-self.cfg.clip, self.cfg.clip);
        let out = if self.n > self.cfg.min_history {
            if self.pos == 0.0 {
                self.pos_since = ts_ms;
            }
            if self.neg == 0.0 {
                self.neg_since = ts_ms;
            }
            self.pos = (self.pos + z - self.cfg.drift).max(0.0);
            self.neg = (self.neg - z - self.cfg.drift).max(0.0);
            let s = if self.pos >= self.neg {
                self.pos / self.cfg.h
            } else {
                -self.neg / self.cfg.h
            };
            Some(s)
        } else {
            None
        };
        self.abs_dev += a * ((value - self.mean).abs() - self.abs_dev);
        self.mean += a * (value - self.mean);
        if out.is_some_and(|s| s.abs() >= 1.0) {
            self.pos = 0.0;
            self.neg = 0.0;
            self.mean = value;
        }
        out
    }

    fn reset(&mut self) {
        self.n = 0;
        self.mean = 0.0;
        self.abs_dev = 0.0;
        self.pos = 0.0;
        self.neg = 0.0;
    }

    fn state_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(i: i64) -> f64 {
        ((i * 7919) % 17) as f64 / 17.0 - 0.5
    }

    #[test]
    fn detects_level_shift_with_onset_after_warm_up() {
        let mut c = Cusum::new(CusumConfig::default());
        for i in 0..48 {
            assert_eq!(c.update(i * 1000, 10.0 + noise(i)), None);
        }
        let mut fired = None;
        for i in 48..400 {
            let v = 10.0 + noise(i) + if i >= 300 { 3.0 } else { 0.0 };
            let s = c.update(i * 1000, v).unwrap_or(0.0);
            if i < 300 {
                assert!(s.abs() < 1.0, "false alarm at {i}: {s}");
            }
            if s >= 0.5 && fired.is_none() {
                fired = Some((i, c.onset_ms()));
            }
        }
        let (at, onset) = fired.expect("shift detected");
        assert!((300..310).contains(&at));
        assert!(onset.is_some_and(|o| (299_000..=at * 1000).contains(&o)));
    }

    #[test]
    fn constant_and_nan_stay_quiet() {
        let mut c = Cusum::new(CusumConfig::default());
        for i in 0..200 {
            let v = if i % 10 == 0 { f64::NAN } else { 7.0 };
            let s = c.update(i * 1000, v);
            assert!(s.is_none_or(|s| s == 0.0), "{s:?}");
        }
    }

    #[test]
    fn gap_resets_to_warm_up() {
        let mut c = Cusum::new(CusumConfig::default());
        for i in 0..100 {
            c.update(i * 1000, noise(i));
        }
        assert_eq!(c.update(100_000_000, 50.0), None);
    }
}
