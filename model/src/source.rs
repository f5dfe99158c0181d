//! The sources' freshness and the collector's own figures.

use serde::{Deserialize, Serialize};

/// Freshness of one configured source, as shown to the operator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SourceStatus {
    /// The URL or name of the source.
    pub name: String,
    /// Unix ms of the last successful collection, if any.
    pub last_success_ms: Option<i64>,
    /// True when the last attempt failed or timed out.
    pub stale: bool,
    /// The last error in plain words.
    pub last_error: Option<String>,
    /// Samples taken in the last successful collection.
    pub samples: usize,
    /// Duration of the last attempt, milliseconds.
    pub duration_ms: u64,
}

/// The collector's own figures (its self-metrics): memory bounds and what they refused.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CollectorStats {
    /// Series held in the frames now.
    pub series: usize,
    /// The series limit (`limits.max_series`).
    pub max_series: usize,
    /// Samples of new series dropped because the series limit was reached, since the start.
    pub dropped_samples_total: u64,
    /// The per-target sample limit (`limits.samples_per_target`).
    pub samples_per_target: usize,
    /// Collections refused whole because a target sent more samples than that, since the start.
    pub over_sample_limit_total: u64,
    /// Approximate bytes held by the frames.
    pub frame_bytes: usize,
}
