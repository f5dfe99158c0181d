//! What the families' tests share: observing a series of exposition texts.

use super::{Observation, ObserveOptions, observe};
use crate::exposition::{Format, parse};
use crate::frames::FrameStore;
use crate::model::{Edge, EdgeKind, EntityId, SignalKey, SignalKind};

pub(super) const T0: i64 = 1_700_000_000_000;

pub(super) fn observe_texts(texts: &[(i64, String)]) -> Observation {
    let mut store = FrameStore::new(3_600_000);
    for (ts, text) in texts {
        let exp = parse(text, Format::Prometheus).unwrap();
        store.append(&exp, *ts, &[]).unwrap();
    }
    let opts = ObserveOptions {
        rate_window_ms: 15_500,
        quantile: 0.99,
        interval_ms: 5_000,
    };
    let now = texts.last().map_or(T0, |(t, _)| *t);
    observe(&store, now, opts).unwrap()
}

pub(super) fn sig(o: &Observation, e: &EntityId, kind: SignalKind) -> Option<f64> {
    o.signals
        .get(&SignalKey {
            entity: e.clone(),
            kind,
        })
        .copied()
}

pub(super) fn edge<'a>(
    o: &'a Observation,
    kind: EdgeKind,
    from: &EntityId,
    to: &EntityId,
) -> &'a Edge {
    o.topology
        .edges
        .iter()
        .find(|e| e.kind == kind && &e.from == from && &e.to == to)
        .unwrap_or_else(|| panic!("no {kind:?} {from} -> {to}: {:?}", o.topology.edges))
}
