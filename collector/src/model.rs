//! The collector's vocabulary: entities, edges, topology and signals, from the read model
//! (`opscope-model`), plus what only the collector and analytics exchange (per-cycle request
//! counts and latency histograms for SLOs).
//!
//! Everything analytics and the UIs need to know about the observed platform is expressed in
//! these types, never in raw metric names.

pub use opscope_model::{
    ChangeEvent, ChangeKind, CollectorStats, Edge, EdgeKind, EntityId, EntityKind, Point,
    SignalKey, SignalKind, SourceStatus, Topology,
};
use serde::{Deserialize, Serialize};

/// Requests a workload received during one rate window (increase of the mesh request counter),
/// for SLOs: exact counts rather than rate x ratio.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct RequestCounts {
    /// All requests.
    pub total: f64,
    /// Requests answered 5xx.
    pub errors: f64,
}

/// Increase of a request-duration histogram during one rate window: `counts[i]` requests took
/// at most `bounds_ms[i]` (cumulative, bounds ascending, the last bound is `+Inf`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HistogramDelta {
    pub bounds_ms: Vec<f64>,
    pub counts: Vec<f64>,
}

impl HistogramDelta {
    /// All observations (the `+Inf` bucket); 0 without one.
    pub fn total(&self) -> f64 {
        match (self.bounds_ms.last(), self.counts.last()) {
            (Some(b), Some(&c)) if b.is_infinite() && c.is_finite() => c.max(0.0),
            _ => 0.0,
        }
    }

    /// Estimated observations slower than `threshold_ms`: linear interpolation inside the
    /// bucket that holds the threshold (as `histogram_quantile` does), everything above the
    /// highest finite bound counted as slower. `None` without an `+Inf` bucket.
    pub fn slower_than(&self, threshold_ms: f64) -> Option<f64> {
        if self.bounds_ms.len() != self.counts.len()
            || !self.bounds_ms.last().is_some_and(|b| b.is_infinite())
        {
            return None;
        }
        let total = self.total();
        let mut prev = (0.0_f64, 0.0_f64);
        for (&le, &count) in self.bounds_ms.iter().zip(&self.counts) {
            let count = if count.is_finite() {
                count.max(prev.1)
            } else {
                prev.1
            };
            if threshold_ms <= le {
                let at_most = if le.is_infinite() || le <= prev.0 {
                    prev.1
                } else {
                    prev.1 + (count - prev.1) * (threshold_ms - prev.0).max(0.0) / (le - prev.0)
                };
                return Some((total - at_most).max(0.0));
            }
            prev = (le, count);
        }
        Some((total - prev.1).max(0.0))
    }
}

#[cfg(test)]
mod histogram_delta_tests {
    use super::HistogramDelta;

    #[test]
    fn slower_than_interpolates_within_the_bucket() {
        // 100 requests: 50 <= 100 ms, 90 <= 200 ms, 100 <= 400 ms.
        let h = HistogramDelta {
            bounds_ms: vec![100.0, 200.0, 400.0, f64::INFINITY],
            counts: vec![50.0, 90.0, 100.0, 100.0],
        };
        assert_eq!(h.total(), 100.0);
        assert_eq!(h.slower_than(100.0), Some(50.0));
        // 150 ms is halfway through (100, 200]: 50 + 40 / 2 = 70 at most -> 30 slower.
        assert_eq!(h.slower_than(150.0), Some(30.0));
        assert_eq!(h.slower_than(400.0), Some(0.0));
        assert_eq!(h.slower_than(1000.0), Some(0.0));
        // Below the first bound: interpolated from 0.
        assert_eq!(h.slower_than(50.0), Some(75.0));
        let no_inf = HistogramDelta {
            bounds_ms: vec![100.0],
            counts: vec![5.0],
        };
        assert_eq!(no_inf.slower_than(10.0), None);
    }
}
