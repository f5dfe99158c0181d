//! From frames to what analytics works on: the topology and per-entity signal values at one
//! moment. Each family of signals is computed in its own module ([`mesh`], [`workloads`],
//! [`changes`], [`messaging`], [`datastores`], [`nodes`]); this one holds the observation,
//! the options, [`observe`] (which runs the families in a fixed order) and what they share.

pub mod changes;
pub mod datastores;
pub mod mesh;
pub mod messaging;
pub mod nodes;
#[cfg(test)]
mod testing;
pub mod workloads;

pub use messaging::CONSUMER_MEMORY_MS;

use crate::conventions::{self, ksm};
use crate::frames::{FrameError, FrameStore, Window};
use crate::model::{
    ChangeEvent, Edge, EdgeKind, EntityId, EntityKind, SignalKey, SignalKind, Topology,
};
use crate::model::{HistogramDelta, RequestCounts};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The platform as seen at `ts_ms`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observation {
    pub ts_ms: i64,
    /// Width of the window rates were taken over, ms.
    pub rate_window_ms: i64,
    /// Time between collections, ms.
    pub interval_ms: i64,
    pub topology: Topology,
    /// Newest value of every signal that could be computed.
    pub signals: BTreeMap<SignalKey, f64>,
    /// Workload -> the last container termination reason of one of its pods (e.g. OOMKilled).
    pub terminations: BTreeMap<EntityId, String>,
    /// Workload -> why one of its containers is waiting to start (e.g. CrashLoopBackOff).
    pub waiting: BTreeMap<EntityId, String>,
    /// Change events visible in the sources (rollouts of the last [`CHANGE_LOOKBACK_MS`]),
    /// oldest first. The same event is reported every cycle while visible.
    pub changes: Vec<ChangeEvent>,
    /// Workload -> requests received and failed (5xx, or the mesh's failure class) during the
    /// rate window (server view, else the callers'), for SLOs.
    pub requests: BTreeMap<EntityId, RequestCounts>,
    /// Workload -> request-duration histogram increase during the rate window (server view,
    /// else the callers'), for latency SLOs.
    pub latency_histograms: BTreeMap<EntityId, HistogramDelta>,
}

/// How far back rollouts are reported.
pub const CHANGE_LOOKBACK_MS: i64 = 24 * 3_600_000;

/// Whether a change event at `ts_ms` is shown at `now_ms`: not in the future and at most
/// [`CHANGE_LOOKBACK_MS`] old. Every source of change events (metrics, Kubernetes, the
/// annotations API, a replay) applies this same window.
pub fn change_is_recent(ts_ms: i64, now_ms: i64) -> bool {
    ts_ms >= now_ms - CHANGE_LOOKBACK_MS && ts_ms <= now_ms
}

impl Observation {
    /// Add change events, keeping [`Observation::changes`] sorted and free of duplicates.
    pub fn add_changes(&mut self, changes: impl IntoIterator<Item = ChangeEvent>) {
        self.changes.extend(changes);
        self.changes.sort();
        self.changes.dedup();
    }
}

/// How signals are computed.
#[derive(Debug, Clone, Copy)]
pub struct ObserveOptions {
    /// Width of the window rates and histogram quantiles are taken over (PromQL's `[range]`).
    pub rate_window_ms: i64,
    /// Quantile reported as `LatencyP99` (0.99).
    pub quantile: f64,
    /// Time between collections, ms.
    pub interval_ms: i64,
}

impl Default for ObserveOptions {
    fn default() -> Self {
        Self {
            rate_window_ms: 60_000,
            quantile: 0.99,
            interval_ms: 15_000,
        }
    }
}

#[derive(Default)]
struct Builder {
    entities: BTreeSet<EntityId>,
    edges: BTreeMap<(EdgeKind, EntityId, EntityId), Edge>,
    signals: BTreeMap<SignalKey, f64>,
    requests: BTreeMap<EntityId, RequestCounts>,
    latency_histograms: BTreeMap<EntityId, HistogramDelta>,
}

impl Builder {
    fn edge(&mut self, kind: EdgeKind, from: EntityId, to: EntityId) -> &mut Edge {
        self.entities.insert(from.clone());
        self.entities.insert(to.clone());
        self.edges
            .entry((kind, from.clone(), to.clone()))
            .or_insert_with(|| Edge::new(kind, from, to))
    }
    /// Fold per-pod values (keyed by `[namespace, pod]`) into their workloads with `combine`.
    fn per_workload(
        &mut self,
        inv: &Inventory,
        per_pod: BTreeMap<Vec<String>, f64>,
        kind: SignalKind,
        combine: fn(f64, f64) -> f64,
    ) {
        let mut per: BTreeMap<EntityId, f64> = BTreeMap::new();
        for (k, v) in per_pod {
            per.entry(inv.workload(&k[0], &k[1]))
                .and_modify(|acc| *acc = combine(*acc, v))
                .or_insert(v);
        }
        for (wl, v) in per {
            self.signal(wl, kind, v);
        }
    }

    fn signal(&mut self, entity: EntityId, kind: SignalKind, value: f64) {
        if value.is_finite() {
            self.entities.insert(entity.clone());
            self.signals.insert(SignalKey { entity, kind }, value);
        }
    }
}

/// Pod -> (workload, node) from kube-state-metrics.
#[derive(Default)]
struct Inventory {
    pods: HashMap<(String, String), (EntityId, String)>,
}

impl Inventory {
    fn workload(&self, ns: &str, pod: &str) -> EntityId {
        self.pods
            .get(&(ns.to_owned(), pod.to_owned()))
            .map(|(w, _)| w.clone())
            .unwrap_or_else(|| EntityId::workload(ns, conventions::workload_from_pod_name(pod)))
    }
}

/// Compute the observation at `now_ms` from the store.
pub fn observe(
    store: &FrameStore,
    now_ms: i64,
    opts: ObserveOptions,
) -> Result<Observation, FrameError> {
    let from = now_ms - opts.rate_window_ms;
    let mut b = Builder::default();
    let inv = inventory(store, now_ms, opts, &mut b)?;
    for mesh in conventions::MESHES {
        mesh::mesh_signals(store, mesh, from, now_ms, opts.quantile, &mut b)?;
    }
    workloads::container_signals(store, &inv, from, now_ms, &mut b)?;
    let terminations = workloads::restart_signals(store, &inv, from, now_ms, &mut b)?;
    let waiting = workloads::waiting_signals(store, &inv, from, now_ms, &mut b)?;
    workloads::deployment_signals(store, from, now_ms, &mut b)?;
    let changes = changes::rollouts(store, from, now_ms)?;
    messaging::messaging_signals(store, from, now_ms, &mut b)?;
    messaging::nats_signals(store, from, now_ms, &mut b)?;
    datastores::datastore_signals(store, from, now_ms, &mut b)?;
    nodes::node_signals(store, from, now_ms, &mut b)?;
    Ok(Observation {
        ts_ms: now_ms,
        rate_window_ms: opts.rate_window_ms,
        interval_ms: opts.interval_ms,
        topology: Topology {
            entities: b.entities.into_iter().collect(),
            edges: b.edges.into_values().collect(),
        },
        signals: b.signals,
        terminations,
        waiting,
        changes,
        requests: b.requests,
        latency_histograms: b.latency_histograms,
    })
}

/// Every metric family the signals read, with the labels they read of it: what a querying
/// source must fetch (see `promql`). Found by computing an observation on an empty store.
pub fn wanted(opts: ObserveOptions) -> Vec<(String, Vec<String>)> {
    let store = FrameStore::new(opts.rate_window_ms.max(60_000));
    // An empty store cannot fail: every window is empty.
    let _ = observe(&store, 0, opts);
    store.asked()
}

fn any(_: &Window, _: usize) -> bool {
    true
}

fn max(a: f64, b: f64) -> f64 {
    a.max(b)
}

fn sum(a: f64, b: f64) -> f64 {
    a + b
}

fn inventory(
    store: &FrameStore,
    now: i64,
    opts: ObserveOptions,
    b: &mut Builder,
) -> Result<Inventory, FrameError> {
    let keys = [
        "namespace",
        "pod",
        "node",
        "created_by_kind",
        "created_by_name",
    ];
    let w = store.window(
        ksm::POD_INFO,
        now - opts.rate_window_ms.max(60_000),
        now,
        &keys,
    )?;
    let mut inv = Inventory::default();
    for (k, _) in w.latest_by(any, &keys, max) {
        let [ns, pod, node, kind, owner] = [&k[0], &k[1], &k[2], &k[3], &k[4]];
        if ns.is_empty() || pod.is_empty() {
            continue;
        }
        let workload = EntityId::workload(ns, conventions::workload_of(kind, owner, pod));
        let pod_id = EntityId::new(EntityKind::Pod, ns, pod);
        b.edge(EdgeKind::Owns, workload.clone(), pod_id.clone());
        if !node.is_empty() {
            b.edge(
                EdgeKind::RunsOn,
                pod_id,
                EntityId::new(EntityKind::Node, "", node),
            );
        }
        inv.pods
            .insert((ns.clone(), pod.clone()), (workload, node.clone()));
    }
    Ok(inv)
}

/// PromQL's `histogram_quantile` on cumulative buckets `(upper bound, count)` sorted by bound:
/// linear interpolation inside the bucket that holds the rank; the highest finite bound when the
/// rank falls in the `+Inf` bucket; `None` without observations.
pub fn histogram_quantile(q: f64, buckets: &[(f64, f64)]) -> Option<f64> {
    let total = buckets.last().filter(|(le, _)| le.is_infinite())?.1;
    if total.is_nan() || total <= 0.0 || !(0.0..=1.0).contains(&q) {
        return None;
    }
    let rank = q * total;
    let mut prev = (0.0, 0.0);
    for &(le, count) in buckets {
        if count >= rank {
            if le.is_infinite() {
                return Some(prev.0);
            }
            let in_bucket = count - prev.1;
            if in_bucket <= 0.0 {
                return Some(le);
            }
            return Some(prev.0 + (le - prev.0) * (rank - prev.1) / in_bucket);
        }
        prev = (le, count.max(prev.1));
    }
    Some(prev.0)
}

/// The first family of `names` that has rows in the window.
fn first_window(
    store: &FrameStore,
    names: &[&str],
    from: i64,
    now: i64,
    labels: &[&str],
) -> Result<Window, FrameError> {
    for n in names {
        let w = store.window(n, from, now, labels)?;
        if !w.is_empty() {
            return Ok(w);
        }
    }
    Ok(Window::default())
}

/// A counter family by its exposition name: the frame store keeps a counter declared without
/// the `_total` suffix under `<name>_total`, and an untyped one under its own name.
fn counter_window(
    store: &FrameStore,
    name: &str,
    from: i64,
    now: i64,
    labels: &[&str],
) -> Result<Window, FrameError> {
    first_window(store, &[name, &format!("{name}_total")], from, now, labels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_interpolates_like_promql() {
        let b = [
            (10.0, 50.0),
            (20.0, 90.0),
            (40.0, 100.0),
            (f64::INFINITY, 100.0),
        ];
        assert_eq!(histogram_quantile(0.5, &b), Some(10.0));
        // rank 95 falls in (20, 40]: 20 + 20 * 5/10
        assert_eq!(histogram_quantile(0.95, &b), Some(30.0));
        assert_eq!(
            histogram_quantile(0.99, &[(5.0, 0.0), (f64::INFINITY, 0.0)]),
            None
        );
        // rank in +Inf bucket -> highest finite bound
        assert_eq!(
            histogram_quantile(0.99, &[(5.0, 1.0), (f64::INFINITY, 10.0)]),
            Some(5.0)
        );
    }
}
