//! Streaming, causal anomaly detectors (one state per series) and the ensemble that turns
//! their scores into one anomaly score in [0, 1]; NAB-format data and NAB scoring.
//!
//! Every detector sees `(ts_ms, value)` samples in time order, keeps bounded state and
//! answers with a scale-free signed deviation (or `None` while warming up). Non-finite
//! values are skipped without touching the state; long gaps and counter resets restart the
//! warm-up. [`Ensemble`] combines them and adds repeat suppression.
//!
//! Live use: one [`Ensemble`] per series, `Ensemble::new(EnsembleConfig::default())`, then
//! [`Ensemble::update`] per sample in time order; [`Verdict::score`] is in [0, 1] and the
//! NAB-tuned alarm level is [`ensemble::ALARM_LEVEL`]. Parameters are counted in samples.
//!
//! NAB (development split, 41 files, 64 windows; `opscope eval nab`): standard 77.44,
//! reward_low_FP 72.94, reward_low_FN 80.79, each at the threshold NAB's rule picks per
//! profile (maximising the raw score over all distinct score values, on the same data it
//! scores). Every constant in [`ensemble`] was chosen on that same split, one configuration
//! for all files; `cargo run --release -p detectors --example nab_tune -- name=value ...`
//! re-runs the scoring with a changed parameter.

pub mod cusum;
pub mod ensemble;
pub mod guard;
pub mod likelihood;
pub mod nab;
pub mod novelty;
pub mod robust;
pub mod seasonal;
pub mod signal;
pub mod time;
pub mod window;

pub use cusum::{Cusum, CusumConfig};
pub use ensemble::{Components, Ensemble, EnsembleConfig, score_series};
pub use likelihood::{Likelihood, LikelihoodConfig};
pub use novelty::{Novelty, NoveltyConfig};
pub use robust::{RobustBaseline, RobustConfig};
pub use seasonal::{SeasonalBaseline, SeasonalConfig};
pub use signal::{
    Alarm, Context, LevelConfig, Output, SignalConfig, SignalDetector, score_series_with,
};

/// A streaming detector of one series.
pub trait Detector {
    /// Feeds one sample; returns the signed, scale-free deviation of this sample from the
    /// detector's expectation, or `None` (warming up, or the sample was skipped).
    fn update(&mut self, ts_ms: i64, value: f64) -> Option<f64>;
    /// Forgets everything learnt.
    fn reset(&mut self);
    /// Bytes of state, inline and heap.
    fn state_bytes(&self) -> usize;
}

/// Which way the series deviates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Direction {
    /// Above expectation.
    Up,
    /// Below expectation.
    Down,
    /// No deviation.
    None,
}

/// The ensemble's answer for one sample.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Verdict {
    /// Anomaly score in [0, 1] (0 during warm-up and for skipped samples).
    pub score: f64,
    /// Direction of the dominant deviation.
    pub direction: Direction,
    /// When the deviation began (ms), when there is one.
    pub onset_ms: Option<i64>,
    /// Per-detector scores in [0, 1].
    pub components: Components,
}

impl Verdict {
    /// Score 0, no direction, no onset.
    pub fn quiet() -> Verdict {
        Verdict {
            score: 0.0,
            direction: Direction::None,
            onset_ms: None,
            components: Components::default(),
        }
    }
}
