//! Robust baseline: median and MAD over a sliding window of recent samples.

use crate::Detector;
use crate::guard::{Action, Guard, scale_floor};
use crate::window::SortedWindow;

/// Parameters of [`RobustBaseline`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RobustConfig {
    /// Samples in the sliding window.
    pub window: usize,
    /// One sample in `stride` enters the window (1: every sample), so the window spans
    /// `window * stride` samples at the memory cost of `window`.
    pub stride: usize,
    /// Samples needed before the first verdict.
    pub min_history: usize,
    /// Scale floor relative to |median|.
    pub floor_rel: f64,
    /// Absolute scale floor.
    pub floor_abs: f64,
    /// Gap (in typical intervals) that resets the state.
    pub gap_reset_intervals: f64,
    /// Non-decreasing run (samples) after which a drop counts as a counter reset.
    pub counter_run: u32,
}

impl Default for RobustConfig {
    fn default() -> Self {
        RobustConfig {
            window: 288,
            stride: 1,
            min_history: 48,
            floor_rel: 1e-3,
            floor_abs: 1e-9,
            gap_reset_intervals: 500.0,
            counter_run: 60,
        }
    }
}

/// Deviation of each sample from the median of the previous `window` samples, in units of
/// a robust scale (1.4826 MAD, or the mean absolute deviation when the MAD is 0, with floors).
#[derive(Debug, Clone)]
pub struct RobustBaseline {
    cfg: RobustConfig,
    win: SortedWindow,
    guard: Guard,
    last: Option<(f64, f64)>,
    /// Samples seen since the last one entered the window.
    skipped: u32,
}

impl RobustBaseline {
    /// A detector with the given parameters.
    pub fn new(cfg: RobustConfig) -> RobustBaseline {
        RobustBaseline {
            cfg,
            win: SortedWindow::new(cfg.window),
            guard: Guard::new(cfg.gap_reset_intervals, cfg.counter_run),
            last: None,
            skipped: 0,
        }
    }

    /// The `(median, scale)` the last accepted sample was compared with (`None` while
    /// warming up).
    pub fn last_baseline(&self) -> Option<(f64, f64)> {
        self.last
    }

    /// Median and scale of the current window, once warm.
    pub fn baseline(&self) -> Option<(f64, f64)> {
        let stride = self.cfg.stride.max(1);
        if self.win.len() * stride < self.cfg.min_history.max(1) {
            return None;
        }
        let med = self.win.median()?;
        let mad = self.win.mad(med) * 1.4826;
        let scale = if mad > 0.0 {
            mad
        } else {
            self.win.mean_abs_dev(med) * 1.2533
        };
        let floor = scale_floor(med, self.cfg.floor_rel, self.cfg.floor_abs);
        Some((med, scale.max(floor)))
    }
}

impl Detector for RobustBaseline {
    fn update(&mut self, ts_ms: i64, value: f64) -> Option<f64> {
        match self.guard.check(ts_ms, value) {
            Action::Skip => return None,
            Action::Reset => self.reset(),
            Action::Proceed => {}
        }
        self.last = self.baseline();
        let z = self.last.map(|(med, scale)| (value - med) / scale);
        // Warm-up fills the window with every sample; then one in `stride`.
        let warming = self.win.len() * self.cfg.stride.max(1) < self.cfg.min_history.max(1);
        if warming || self.skipped as usize + 1 >= self.cfg.stride.max(1) {
            self.win.push(value);
            self.skipped = 0;
        } else {
            self.skipped += 1;
        }
        z
    }

    fn reset(&mut self) {
        self.win.clear();
        self.last = None;
        self.skipped = 0;
    }

    fn state_bytes(&self) -> usize {
        std::mem::size_of::<Self>() + self.win.heap_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det() -> RobustBaseline {
        RobustBaseline::new(RobustConfig {
            window: 50,
            min_history: 10,
            ..RobustConfig::default()
        })
    }

    #[test]
    fn warm_up_gives_no_verdict() {
        let mut d = det();
        for i in 0..10 {
            assert_eq!(d.update(i * 1000, 1.0 + (i % 2) as f64), None);
        }
        assert!(d.update(10_000, 1.0).is_some());
    }

    #[test]
    fn spike_scores_high_noise_low() {
        let mut d = det();
        let mut max_noise: f64 = 0.0;
        for i in 0..100 {
            let v = 10.0 + ((i * 7919) % 13) as f64 / 13.0;
            if let Some(z) = d.update(i * 1000, v) {
                max_noise = max_noise.max(z.abs());
            }
        }
        let z = d.update(100_000, 30.0).unwrap_or(0.0);
        assert!(max_noise < 4.0, "noise z {max_noise}");
        assert!(z > 20.0, "spike z {z}");
    }

    #[test]
    fn constant_series_is_quiet_then_change_is_loud() {
        let mut d = det();
        for i in 0..100 {
            let z = d.update(i * 1000, 5.0);
            assert!(z.is_none_or(|z| z == 0.0));
        }
        let z = d.update(100_000, 6.0).unwrap_or(0.0);
        assert!(z.is_finite() && z > 100.0);
    }

    #[test]
    fn nan_and_inf_do_not_poison() {
        let mut d = det();
        for i in 0..60 {
            d.update(i * 1000, 1.0 + (i % 3) as f64);
        }
        assert_eq!(d.update(60_000, f64::NAN), None);
        assert_eq!(d.update(61_000, f64::NEG_INFINITY), None);
        let z = d.update(62_000, 2.0);
        assert!(z.is_some_and(f64::is_finite));
    }

    #[test]
    fn long_gap_and_counter_reset_restart_warm_up() {
        let mut d = det();
        for i in 0..60 {
            d.update(i * 1000, (i % 3) as f64);
        }
        assert_eq!(d.update(60_000 + 10_000_000, 1.0), None);
        let mut d = RobustBaseline::new(RobustConfig {
            window: 50,
            min_history: 10,
            counter_run: 20,
            ..RobustConfig::default()
        });
        for i in 0..60 {
            d.update(i * 1000, (i * 100) as f64);
        }
        assert_eq!(
            d.update(60_000, 3.0),
            None,
            "counter reset is not an anomaly"
        );
    }
}
