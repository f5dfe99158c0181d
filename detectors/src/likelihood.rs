//! Prediction-error likelihood: is the recent average prediction error unusually large
//! compared with this series' own long-run error distribution? (Scale-free by design.)

use crate::Detector;
use crate::guard::{Action, Guard};
use std::collections::VecDeque;

/// Parameters of [`Likelihood`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LikelihoodConfig {
    /// Samples in the short-term average of errors.
    pub short: usize,
    /// EWMA weight of the prediction (1: the prediction is the previous value).
    pub pred_alpha: f64,
    /// Errors are raised to this power before averaging (1: absolute error).
    pub err_power: f64,
    /// EWMA weight of the long-run error mean and variance (per sample).
    pub alpha: f64,
    /// Samples before the first verdict.
    pub min_history: usize,
    /// Gap (in typical intervals) that resets the state.
    pub gap_reset_intervals: f64,
    /// Non-decreasing run (samples) after which a drop counts as a counter reset.
    pub counter_run: u32,
}

impl Default for LikelihoodConfig {
    fn default() -> Self {
        LikelihoodConfig {
            short: 10,
            pred_alpha: 1.0,
            err_power: 1.0,
            alpha: 1.0 / 1000.0,
            min_history: 250,
            gap_reset_intervals: 500.0,
            counter_run: 60,
        }
    }
}

/// The error of a sample is its absolute change from the previous sample (a random-walk
/// prediction). The output is `-log10` of the Gaussian upper-tail probability of the
/// short-term mean error under the long-run error mean and standard deviation: 5 means a
/// one-in-100,000 excess. Positive only (direction comes from the other detectors).
#[derive(Debug, Clone)]
pub struct Likelihood {
    cfg: LikelihoodConfig,
    guard: Guard,
    last: Option<f64>,
    recent: VecDeque<f64>,
    recent_sum: f64,
    mean: f64,
    var: f64,
    n: usize,
}

/// The `t`-polynomial of the Chebyshev fit of `erfc` (Numerical Recipes' `erfcc` form).
fn chebyshev(t: f64) -> f64 {
    t * (1.000_023_68
        + t * (0.374_091_96
            + t * (0.096_784_18
                + t * (-0.186_288_06
                    + t * (0.278_868_07
                        + t * (-1.135_203_98
                            + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))))
}

/// Complementary error function (Chebyshev fit, fractional error below 1.2e-7).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23 + chebyshev(t);
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

/// `-log10` of the standard normal upper tail at `z`, computed in log space so that large
/// `z` stay finite.
pub fn neg_log10_tail(z: f64) -> f64 {
    if !z.is_finite() {
        return if z > 0.0 { 300.0 } else { 0.0 };
    }
    let x = z / std::f64::consts::SQRT_2;
    if x < 5.0 {
        let q = 0.5 * erfc(x);
        return -(q.max(1e-300)).log10();
    }
    // ln(erfc(x)) = ln(t) - x^2 + poly for the same fit, without underflow.
    let t = 1.0 / (1.0 + 0.5 * x);
    let poly = -1.265_512_23 + chebyshev(t);
    let ln_q = (0.5f64).ln() + t.ln() - x * x + poly;
    -ln_q / std::f64::consts::LN_10
}

impl Likelihood {
    /// A detector with the given parameters.
    pub fn new(cfg: LikelihoodConfig) -> Likelihood {
        Likelihood {
            cfg,
            guard: Guard::new(cfg.gap_reset_intervals, cfg.counter_run),
            last: None,
            recent: VecDeque::with_capacity(cfg.short.max(1)),
            recent_sum: 0.0,
            mean: 0.0,
            var: 0.0,
            n: 0,
        }
    }
}

impl Detector for Likelihood {
    fn update(&mut self, ts_ms: i64, value: f64) -> Option<f64> {
        match self.guard.check(ts_ms, value) {
            Action::Skip => return None,
            Action::Reset => self.reset(),
            Action::Proceed => {}
        }
        let Some(pred) = self.last else {
            self.last = Some(value);
            return None;
        };
        self.last = Some(pred + self.cfg.pred_alpha.clamp(0.0, 1.0) * (value - pred));
        self.update_error((value - pred).abs().powf(self.cfg.err_power))
    }

    fn reset(&mut self) {
        self.last = None;
        self.recent.clear();
        self.recent_sum = 0.0;
        self.mean = 0.0;
        self.var = 0.0;
        self.n = 0;
    }

    fn state_bytes(&self) -> usize {
        std::mem::size_of::<Self>() + self.recent.capacity() * std::mem::size_of::<f64>()
    }
}

impl Likelihood {
    /// Feeds a prediction error computed elsewhere (non-negative; non-finite is skipped) and
    /// returns the likelihood output as [`Detector::update`] does.
    pub fn update_error(&mut self, err: f64) -> Option<f64> {
        if !err.is_finite() {
            return None;
        }
        let err = err.abs();
        if self.recent.len() == self.cfg.short.max(1)
            && let Some(old) = self.recent.pop_front()
        {
            self.recent_sum -= old;
        }
        self.recent.push_back(err);
        self.recent_sum += err;
        let short_mean = (self.recent_sum / self.recent.len() as f64).max(0.0);
        self.n += 1;
        let out = if self.n > self.cfg.min_history {
            let sd = self.var.sqrt();
            // Standard error of a k-sample mean; a floor keeps constant series quiet.
            let k = self.recent.len() as f64;
            let floor = 1e-9 + 1e-3 * self.mean.abs();
            let z = (short_mean - self.mean) / (sd / k.sqrt()).max(floor);
            Some(if z > 0.0 { neg_log10_tail(z) } else { 0.0 })
        } else {
            None
        };
        let a = self.cfg.alpha.max(1.0 / self.n as f64);
        let d = err - self.mean;
        self.mean += a * d;
        self.var = (1.0 - a) * (self.var + a * d * d);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(i: i64) -> f64 {
        ((i * 7919 + 5) % 31) as f64 / 31.0
    }

    #[test]
    fn tail_reference_values() {
        assert!((neg_log10_tail(0.0) - std::f64::consts::LOG10_2).abs() < 1e-4);
        // Q(3) = 1.3499e-3, Q(5) = 2.8665e-7.
        assert!((neg_log10_tail(3.0) - 2.8697).abs() < 1e-3);
        assert!((neg_log10_tail(5.0) - 6.5426).abs() < 1e-3);
        let big = neg_log10_tail(40.0);
        assert!(big.is_finite() && big > 300.0);
        // Continuous across the switch to the log-space formula.
        let a = neg_log10_tail(5.0 * std::f64::consts::SQRT_2 - 1e-9);
        let b = neg_log10_tail(5.0 * std::f64::consts::SQRT_2 + 1e-9);
        assert!((a - b).abs() < 1e-3, "{a} {b}");
    }

    #[test]
    fn burst_of_volatility_scores_high_steady_noise_low() {
        let mut d = Likelihood::new(LikelihoodConfig::default());
        let mut quiet: f64 = 0.0;
        for i in 0..2000 {
            if let Some(s) = d.update(i * 1000, noise(i)) {
                quiet = quiet.max(s);
            }
        }
        assert!(quiet < 4.0, "{quiet}");
        let mut peak: f64 = 0.0;
        for i in 2000..2010 {
            let v = if i % 2 == 0 { 5.0 } else { -5.0 };
            peak = peak.max(d.update(i * 1000, v).unwrap_or(0.0));
        }
        assert!(peak > 8.0, "{peak}");
    }

    #[test]
    fn warm_up_constant_nan_gap() {
        let mut d = Likelihood::new(LikelihoodConfig::default());
        for i in 0..251 {
            assert_eq!(d.update(i * 1000, noise(i)), None);
        }
        let mut d = Likelihood::new(LikelihoodConfig::default());
        for i in 0..1000 {
            let v = if i % 9 == 0 { f64::NAN } else { 4.0 };
            assert!(d.update(i * 1000, v).is_none_or(|s| s == 0.0));
        }
        assert_eq!(d.update(1_000_000_000, 4.0), None);
    }
}
