//! Range novelty: how far a value lies outside everything seen so far (slowly forgotten).

use crate::Detector;
use crate::guard::{Action, Guard, scale_floor};

/// Parameters of [`Novelty`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NoveltyConfig {
    /// Samples before the first verdict.
    pub min_history: usize,
    /// Per-sample shrink of the remembered range towards its middle (forgetting).
    pub decay: f64,
    /// Scale floor relative to the range's |middle|.
    pub floor_rel: f64,
    /// Gap (in typical intervals) that resets the state.
    pub gap_reset_intervals: f64,
    /// Non-decreasing run (samples) after which a drop counts as a counter reset.
    pub counter_run: u32,
}

impl Default for NoveltyConfig {
    fn default() -> Self {
        NoveltyConfig {
            min_history: 150,
            decay: 0.0,
            floor_rel: 1e-3,
            gap_reset_intervals: 500.0,
            counter_run: 60,
        }
    }
}

/// Signed distance beyond the remembered [min, max], as a fraction of its width (0 inside).
#[derive(Debug, Clone)]
pub struct Novelty {
    cfg: NoveltyConfig,
    guard: Guard,
    n: usize,
    lo: f64,
    hi: f64,
}

impl Novelty {
    /// The remembered range `(lo, hi)`, once anything was seen.
    pub fn range(&self) -> Option<(f64, f64)> {
        (self.n > 0).then_some((self.lo, self.hi))
    }

    /// A detector with the given parameters.
    pub fn new(cfg: NoveltyConfig) -> Novelty {
        Novelty {
            cfg,
            guard: Guard::new(cfg.gap_reset_intervals, cfg.counter_run),
            n: 0,
            lo: 0.0,
            hi: 0.0,
        }
    }
}

impl Detector for Novelty {
    fn update(&mut self, ts_ms: i64, value: f64) -> Option<f64> {
        match self.guard.check(ts_ms, value) {
            Action::Skip => return None,
            Action::Reset => self.reset(),
            Action::Proceed => {}
        }
        if self.n == 0 {
            self.lo = value;
            self.hi = value;
        }
        self.n += 1;
        let mid = 0.5 * (self.lo + self.hi);
        let width = (self.hi - self.lo).max(scale_floor(mid, self.cfg.floor_rel, 1e-9));
        let out = (self.n > self.cfg.min_history).then(|| {
            if value > self.hi {
                (value - self.hi) / width
            } else if value < self.lo {
                (value - self.lo) / width
            } else {
                0.0
            }
        });
        self.hi = self.hi.max(value);
        self.lo = self.lo.min(value);
        let shrink = self.cfg.decay * (self.hi - self.lo) * 0.5;
        self.hi -= shrink;
        self.lo += shrink;
        out
    }

    fn reset(&mut self) {
        self.n = 0;
    }

    fn state_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_extreme_scores_inside_range_does_not() {
        let mut d = Novelty::new(NoveltyConfig::default());
        for i in 0..150 {
            assert_eq!(d.update(i, (i % 10) as f64), None);
        }
        assert_eq!(d.update(150, 5.0), Some(0.0));
        let z = d.update(151, 18.0).unwrap_or(0.0);
        assert!(z > 0.9, "{z}");
        let z = d.update(152, -9.0).unwrap_or(0.0);
        assert!(z < -0.4, "{z}");
    }

    #[test]
    fn constant_nan_gap_reset() {
        let mut d = Novelty::new(NoveltyConfig::default());
        for i in 0..300 {
            let v = if i % 5 == 0 { f64::NAN } else { 2.0 };
            assert!(d.update(i * 1000, v).is_none_or(|z| z == 0.0));
        }
        assert_eq!(d.update(100_000_000, 100.0), None);
    }
}
