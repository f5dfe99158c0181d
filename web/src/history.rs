//! The signals' recent history as the web server saw it in the snapshots: what the explorer
//! charts and the overview's sparklines draw. Bounded by time and by points per series.

use opscope_model::{EntityId, Point, SignalHistory, SignalKey, SignalKind, Snapshot};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

/// How long the history reaches back by default (the explorer's longest preset).
pub const DEFAULT_RETENTION_MS: i64 = 6 * 3_600_000;
/// Points kept per series at most (6 h at a 5 s interval).
pub const MAX_POINTS: usize = 4_320;

#[derive(Default)]
struct Inner {
    series: BTreeMap<SignalKey, VecDeque<Point>>,
    /// The detectors' anomaly scores, per signal.
    scores: BTreeMap<SignalKey, VecDeque<Point>>,
    newest_ms: i64,
}

fn push(map: &mut BTreeMap<SignalKey, VecDeque<Point>>, key: SignalKey, p: Point, oldest: i64) {
    let q = map.entry(key).or_default();
    q.push_back(p);
    while q.len() > MAX_POINTS || q.front().is_some_and(|p| p.ts_ms < oldest) {
        q.pop_front();
    }
}

/// Recent values of every entity's signals, shared by the server's handlers.
#[derive(Clone)]
pub struct History {
    inner: Arc<Mutex<Inner>>,
    retention_ms: i64,
}

impl Default for History {
    fn default() -> Self {
        Self::new(DEFAULT_RETENTION_MS)
    }
}

impl History {
    /// An empty history keeping `retention_ms` of data.
    pub fn new(retention_ms: i64) -> Self {
        Self {
            inner: Arc::default(),
            retention_ms,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Add a snapshot's values. A snapshot older than the newest seen (a recording sought
    /// backwards) starts the history over.
    pub fn record(&self, s: &Snapshot) {
        if s.ts_ms <= 0 {
            return;
        }
        let mut g = self.lock();
        if s.ts_ms < g.newest_ms {
            g.series.clear();
            g.scores.clear();
        }
        if s.ts_ms == g.newest_ms {
            return;
        }
        g.newest_ms = s.ts_ms;
        let oldest = s.ts_ms - self.retention_ms;
        let g = &mut *g;
        for e in &s.entities {
            for (map, values) in [(&mut g.series, &e.signals), (&mut g.scores, &e.scores)] {
                for &(kind, value) in values {
                    if value.is_finite() {
                        let key = SignalKey {
                            entity: e.entity.clone(),
                            kind,
                        };
                        push(
                            map,
                            key,
                            Point {
                                ts_ms: s.ts_ms,
                                value,
                            },
                            oldest,
                        );
                    }
                }
            }
        }
        // Series that stopped reporting go once their last point leaves the window.
        for map in [&mut g.series, &mut g.scores] {
            map.retain(|_, q| q.back().is_some_and(|p| p.ts_ms >= oldest));
        }
    }

    /// The last `n` values of a series (NaN-free), oldest first.
    pub fn recent(&self, entity: &EntityId, kind: SignalKind, n: usize) -> Vec<f64> {
        let g = self.lock();
        g.series
            .get(&SignalKey {
                entity: entity.clone(),
                kind,
            })
            .map(|q| q.iter().rev().take(n).rev().map(|p| p.value).collect())
            .unwrap_or_default()
    }

    /// Series kept and points in all.
    pub fn size(&self) -> (usize, usize) {
        let g = self.lock();
        (g.series.len(), g.series.values().map(VecDeque::len).sum())
    }
}

/// The points of `q` from `from_ms` to `to_ms`, inclusive.
fn slice(q: &VecDeque<Point>, from_ms: i64, to_ms: i64) -> Option<Vec<Point>> {
    Some(
        q.iter()
            .filter(|p| p.ts_ms >= from_ms && p.ts_ms <= to_ms)
            .copied()
            .collect(),
    )
}

impl SignalHistory for History {
    fn range(
        &self,
        entity: &EntityId,
        kind: SignalKind,
        from_ms: i64,
        to_ms: i64,
    ) -> Option<Vec<Point>> {
        let key = SignalKey {
            entity: entity.clone(),
            kind,
        };
        slice(self.lock().series.get(&key)?, from_ms, to_ms)
    }

    fn scores(&self, entity: &EntityId, kind: SignalKind, from_ms: i64, to_ms: i64) -> Vec<Point> {
        let key = SignalKey {
            entity: entity.clone(),
            kind,
        };
        self.lock()
            .scores
            .get(&key)
            .and_then(|q| slice(q, from_ms, to_ms))
            .unwrap_or_default()
    }

    fn catalog(&self) -> Vec<(EntityId, Vec<SignalKind>)> {
        let g = self.lock();
        let mut out: Vec<(EntityId, Vec<SignalKind>)> = Vec::new();
        for k in g.series.keys() {
            match out.last_mut() {
                Some((e, kinds)) if *e == k.entity => kinds.push(k.kind),
                _ => out.push((k.entity.clone(), vec![k.kind])),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opscope_model::{EntityHealth, Health};

    fn snap(ts_ms: i64, v: f64) -> Snapshot {
        Snapshot {
            ts_ms,
            entities: vec![EntityHealth {
                entity: EntityId::workload("shop", "a"),
                health: Health::Ok,
                signals: vec![
                    (SignalKind::LatencyP99, v),
                    (SignalKind::RequestRate, f64::NAN),
                ],
                scores: vec![(SignalKind::LatencyP99, v / 100.0)],
            }],
            ..Snapshot::default()
        }
    }

    #[test]
    fn keeps_the_window_and_starts_over_when_time_goes_back() {
        let h = History::new(60_000);
        for i in 0..30 {
            h.record(&snap(1_000_000 + i * 5_000, i as f64));
        }
        let a = EntityId::workload("shop", "a");
        let all = h
            .range(&a, SignalKind::LatencyP99, 0, i64::MAX)
            .expect("series");
        assert_eq!(all.len(), 13, "60 s at 5 s, both ends");
        assert_eq!(h.recent(&a, SignalKind::LatencyP99, 2), vec![28.0, 29.0]);
        let scores = h.scores(&a, SignalKind::LatencyP99, 0, i64::MAX);
        assert_eq!(scores.len(), 13);
        assert_eq!(scores.last().map(|p| p.value), Some(0.29));
        assert!(h.range(&a, SignalKind::RequestRate, 0, i64::MAX).is_none());
        assert_eq!(h.catalog(), vec![(a.clone(), vec![SignalKind::LatencyP99])]);
        h.record(&snap(1_000_000, 7.0));
        assert_eq!(h.recent(&a, SignalKind::LatencyP99, 10), vec![7.0]);
    }
}
