//! Seasonal baseline: a time-of-period profile, used only once the data shows the season.

use crate::Detector;
use crate::guard::{Action, Guard, scale_floor};

/// Parameters of [`SeasonalBaseline`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeasonalConfig {
    /// Length of the season in ms (a day by default).
    pub period_ms: i64,
    /// Phase buckets per period.
    pub buckets: usize,
    /// EWMA weight of a new sample in its bucket's profile value.
    pub alpha: f64,
    /// EWMA weight of the residual statistics (per sample).
    pub stat_alpha: f64,
    /// Periods of history needed before the profile may be used.
    pub min_periods: f64,
    /// The season counts as present while (profile residual variance) / (variance around the
    /// recent level) is below this ratio: a causal stand-in for the autocorrelation at the
    /// period.
    pub max_var_ratio: f64,
    /// Scale floor relative to |profile value|.
    pub floor_rel: f64,
    /// Gap (in typical intervals) that resets the state.
    pub gap_reset_intervals: f64,
    /// Non-decreasing run (samples) after which a drop counts as a counter reset.
    pub counter_run: u32,
}

impl Default for SeasonalConfig {
    fn default() -> Self {
        SeasonalConfig {
            period_ms: 86_400_000,
            buckets: 288,
            alpha: 0.5,
            stat_alpha: 0.01,
            min_periods: 2.0,
            max_var_ratio: 0.5,
            floor_rel: 1e-3,
            gap_reset_intervals: 500.0,
            counter_run: 60,
        }
    }
}

/// Deviation from the profile value of the sample's phase bucket, in units of the EWMA of
/// absolute profile residuals; `None` while warming up or while the season is not evident.
#[derive(Debug, Clone)]
pub struct SeasonalBaseline {
    cfg: SeasonalConfig,
    guard: Guard,
    profile: Vec<f32>,
    visits: Vec<u8>,
    start_ms: Option<i64>,
    level: f64,
    var_level: f64,
    var_seasonal: f64,
    abs_resid: f64,
    n_stats: u64,
}

impl SeasonalBaseline {
    /// A detector with the given parameters.
    pub fn new(cfg: SeasonalConfig) -> SeasonalBaseline {
        let b = cfg.buckets.max(1);
        SeasonalBaseline {
            cfg,
            guard: Guard::new(cfg.gap_reset_intervals, cfg.counter_run),
            profile: vec![0.0; b],
            visits: vec![0; b],
            start_ms: None,
            level: 0.0,
            var_level: 0.0,
            var_seasonal: 0.0,
            abs_resid: 0.0,
            n_stats: 0,
        }
    }

    fn bucket(&self, ts_ms: i64) -> usize {
        let period = self.cfg.period_ms.max(1);
        let phase = ts_ms.rem_euclid(period) as i128;
        ((phase * self.profile.len() as i128) / period as i128) as usize
    }

    /// True while the data shows the season strongly enough to use the profile.
    pub fn active(&self) -> bool {
        self.start_ms.is_some()
            && self.n_stats > 0
            && self.var_seasonal < self.cfg.max_var_ratio * self.var_level
    }
}

impl Detector for SeasonalBaseline {
    fn update(&mut self, ts_ms: i64, value: f64) -> Option<f64> {
        match self.guard.check(ts_ms, value) {
            Action::Skip => return None,
            Action::Reset => self.reset(),
            Action::Proceed => {}
        }
        let start = *self.start_ms.get_or_insert(ts_ms);
        let b = self.bucket(ts_ms);
        let a = self.cfg.stat_alpha;
        let mut out = None;
        let mature = (ts_ms - start) as f64 >= self.cfg.min_periods * self.cfg.period_ms as f64;
        if self.visits[b] > 0 {
            let expected = self.profile[b] as f64;
            let resid = value - expected;
            if mature && self.n_stats > 0 {
                let floor = scale_floor(expected, self.cfg.floor_rel, 1e-9);
                let scale = (self.abs_resid * 1.2533).max(floor);
                if self.active() {
                    out = Some(resid / scale);
                }
            }
            // Residual statistics compare the profile with a plain recent level.
            let dl = value - self.level;
            if self.n_stats == 0 {
                self.var_level = dl * dl;
                self.var_seasonal = resid * resid;
                self.abs_resid = resid.abs();
            } else {
                self.var_level += a * (dl * dl - self.var_level);
                self.var_seasonal += a * (resid * resid - self.var_seasonal);
                self.abs_resid += a * (resid.abs() - self.abs_resid);
            }
            self.n_stats += 1;
            self.profile[b] = (expected + self.cfg.alpha * resid) as f32;
        } else {
            self.profile[b] = value as f32;
        }
        self.visits[b] = self.visits[b].saturating_add(1);
        if self.start_ms == Some(ts_ms) && self.n_stats == 0 && self.level == 0.0 {
            self.level = value;
        } else {
            // The plain level: a slow EWMA (same weight as the residual statistics).
            self.level += a * (value - self.level);
        }
        out
    }

    fn reset(&mut self) {
        self.profile.iter_mut().for_each(|p| *p = 0.0);
        self.visits.iter_mut().for_each(|v| *v = 0);
        self.start_ms = None;
        self.level = 0.0;
        self.var_level = 0.0;
        self.var_seasonal = 0.0;
        self.abs_resid = 0.0;
        self.n_stats = 0;
    }

    fn state_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.profile.capacity() * std::mem::size_of::<f32>()
            + self.visits.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STEP: i64 = 300_000;

    fn daily(i: i64) -> f64 {
        let phase = (i % 288) as f64 / 288.0 * std::f64::consts::TAU;
        50.0 + 20.0 * phase.sin() + ((i * 7919) % 11) as f64 / 11.0
    }

    #[test]
    fn learns_daily_profile_and_flags_off_phase_value() {
        let mut d = SeasonalBaseline::new(SeasonalConfig::default());
        let mut quiet_max: f64 = 0.0;
        for i in 0..288 * 5 {
            let z = d.update(i * STEP, daily(i));
            if i < 288 * 2 {
                assert_eq!(z, None, "warm-up at {i}");
            } else if let Some(z) = z {
                quiet_max = quiet_max.max(z.abs());
            }
        }
        assert!(d.active(), "{} {}", d.var_seasonal, d.var_level);
        assert!(quiet_max < 6.0, "{quiet_max}");
        // At the daily peak phase, a trough value is normal globally but off-season.
        let i = 288 * 5 + 72;
        let z = d.update(i * STEP, 30.0).unwrap_or(0.0);
        assert!(z < -20.0, "{z}");
    }

    #[test]
    fn no_season_means_no_verdict() {
        let mut d = SeasonalBaseline::new(SeasonalConfig::default());
        for i in 0..288 * 5 {
            let v = ((i * 7919) % 101) as f64;
            let z = d.update(i * STEP, v);
            if i > 288 * 3 {
                assert_eq!(z, None, "at {i}");
            }
        }
    }

    #[test]
    fn constant_nan_and_gap() {
        let mut d = SeasonalBaseline::new(SeasonalConfig::default());
        for i in 0..288 * 4 {
            let v = if i % 7 == 0 { f64::INFINITY } else { 3.0 };
            let z = d.update(i * STEP, v);
            assert!(z.is_none_or(|z| z == 0.0), "{z:?}");
        }
        let mut d = SeasonalBaseline::new(SeasonalConfig::default());
        for i in 0..288 * 4 {
            d.update(i * STEP, daily(i));
        }
        assert_eq!(d.update(288 * 4 * STEP + 600 * STEP, 0.0), None);
    }
}
