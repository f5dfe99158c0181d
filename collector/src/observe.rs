//! From frames to what analytics works on: the topology and per-entity signal values at one
//! moment. This is where every signal is computed.

use crate::conventions::{
    self, MeshConvention, cadvisor, kafka, ksm, messaging, nats, node, postgres, rabbitmq, redis,
};
use crate::frames::{FrameError, FrameStore, Window};
use crate::model::{
    ChangeEvent, ChangeKind, Edge, EdgeKind, EntityId, EntityKind, SignalKey, SignalKind, Topology,
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
        mesh_signals(store, mesh, from, now_ms, opts.quantile, &mut b)?;
    }
    container_signals(store, &inv, from, now_ms, &mut b)?;
    let terminations = restart_signals(store, &inv, from, now_ms, &mut b)?;
    let waiting = waiting_signals(store, &inv, from, now_ms, &mut b)?;
    deployment_signals(store, from, now_ms, &mut b)?;
    let changes = rollouts(store, from, now_ms)?;
    messaging_signals(store, from, now_ms, &mut b)?;
    nats_signals(store, from, now_ms, &mut b)?;
    datastore_signals(store, from, now_ms, &mut b)?;
    node_signals(store, from, now_ms, &mut b)?;
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

/// Which side reported a mesh series and the (caller, server) workloads it names, from the
/// values of the `by` labels (`by[0]` is the side label).
fn mesh_key(mesh: &MeshConvention, by: &[&str], k: &[String]) -> (bool, EntityId, EntityId) {
    let server = k[0] == mesh.server.value;
    let side = if server { &mesh.server } else { &mesh.client };
    let get = |name: &str| {
        by.iter()
            .position(|l| !name.is_empty() && *l == name)
            .map_or("", |i| k[i].as_str())
    };
    let src = EntityId::workload(get(side.source_namespace), get(side.source_workload));
    let dst = EntityId::workload(
        get(side.destination_namespace),
        get(side.destination_workload),
    );
    (server, src, dst)
}

/// Request rate, error ratio and latency per workload and per calling edge.
fn mesh_signals(
    store: &FrameStore,
    mesh: &MeshConvention,
    from: i64,
    now: i64,
    q: f64,
    b: &mut Builder,
) -> Result<(), FrameError> {
    let mut by = mesh.labels();
    by.push(mesh.error_label);
    let w = store.window(mesh.requests, from, now, &by)?;
    // (reporter is server?, src, dst) -> (total, errors)
    let mut traffic: BTreeMap<(bool, EntityId, EntityId), (f64, f64)> = BTreeMap::new();
    for (k, rate) in w.rate_by(any, &by) {
        let e = traffic.entry(mesh_key(mesh, &by, &k)).or_default();
        e.0 += rate;
        if k.last().is_some_and(|v| mesh.error.is_error(v)) {
            e.1 += rate;
        }
    }
    let lat = latency_quantiles(store, mesh, from, now, q, b)?;

    // Per destination workload: server-side view, falling back to the callers' view.
    let mut per_dst: BTreeMap<EntityId, [(f64, f64); 2]> = BTreeMap::new();
    for ((server, _, dst), (tot, err)) in &traffic {
        let slot = &mut per_dst.entry(dst.clone()).or_default()[usize::from(*server)];
        slot.0 += tot;
        slot.1 += err;
    }
    for (dst, [client, server]) in per_dst {
        let (tot, err) = if server.0 > 0.0 { server } else { client };
        if dst.name.is_empty() || dst.name == "unknown" {
            continue;
        }
        b.signal(dst.clone(), SignalKind::RequestRate, tot);
        let window_s = (now - from) as f64 / 1000.0;
        b.requests.insert(
            dst.clone(),
            RequestCounts {
                total: tot * window_s,
                errors: err * window_s,
            },
        );
        if tot > 0.0 {
            b.signal(dst.clone(), SignalKind::ErrorRatio, err / tot);
        }
        let p = lat
            .get(&(true, None, dst.clone()))
            .or_else(|| lat.get(&(false, None, dst.clone())));
        if let Some(&p) = p {
            b.signal(dst.clone(), SignalKind::LatencyP99, p);
        }
        if let Some(&p) = lat.get(&(false, None, dst.clone())) {
            b.signal(dst, SignalKind::CallerLatencyP99, p);
        }
    }
    // Calling edges: the caller's view (it includes the network), else the server's.
    let mut edges: BTreeMap<(EntityId, EntityId), [(f64, f64); 2]> = BTreeMap::new();
    for ((server, src, dst), v) in traffic {
        edges.entry((src, dst)).or_default()[usize::from(server)] = v;
    }
    for ((src, dst), [client, server]) in edges {
        if src.name.is_empty() || src.name == "unknown" || dst.name.is_empty() {
            continue;
        }
        let use_client = client.0 > 0.0;
        let (tot, err) = if use_client { client } else { server };
        let p99 = lat
            .get(&(!use_client, Some(src.clone()), dst.clone()))
            .copied();
        let e = b.edge(EdgeKind::Calls, src, dst);
        e.rate_per_s = Some(tot);
        e.error_ratio = (tot > 0.0).then(|| err / tot);
        e.p99_ms = p99;
    }
    Ok(())
}

type LatencyKey = (bool, Option<EntityId>, EntityId);

/// Quantile latency in ms per (server view?, optional source, destination).
fn latency_quantiles(
    store: &FrameStore,
    mesh: &MeshConvention,
    from: i64,
    now: i64,
    q: f64,
    b: &mut Builder,
) -> Result<BTreeMap<LatencyKey, f64>, FrameError> {
    let bucket = format!("{}_bucket", mesh.duration);
    let mut by = mesh.labels();
    by.push("le");
    let w = store.window(mesh.duration, from, now, &by)?;
    let inc = w.increase_by(|w, r| w.sample[r] == bucket, &by);
    let mut buckets: BTreeMap<LatencyKey, BTreeMap<u64, (f64, f64)>> = BTreeMap::new();
    for (k, v) in inc {
        let Some(le) = k.last().and_then(|l| parse_le(l)) else {
            continue;
        };
        let (server, src, dst) = mesh_key(mesh, &by, &k);
        // Keys ordered by the bound's bits work because bounds are non-negative.
        let slot = le.to_bits();
        buckets
            .entry((server, Some(src), dst.clone()))
            .or_default()
            .entry(slot)
            .or_insert((le, 0.0))
            .1 += v;
        buckets
            .entry((server, None, dst))
            .or_default()
            .entry(slot)
            .or_insert((le, 0.0))
            .1 += v;
    }
    // Per destination: the server-side histogram, else the callers' (for latency SLOs).
    for ((server, src, dst), bs) in &buckets {
        let has_server = buckets.contains_key(&(true, None, dst.clone()));
        if src.is_some() || (!*server && has_server) || dst.name.is_empty() || dst.name == "unknown"
        {
            continue;
        }
        let (bounds_ms, counts) = bs
            .values()
            .map(|&(le, c)| (le * mesh.duration_to_ms, c))
            .unzip();
        b.latency_histograms
            .insert(dst.clone(), HistogramDelta { bounds_ms, counts });
    }
    let mut out = BTreeMap::new();
    for (k, bs) in buckets {
        let list: Vec<(f64, f64)> = bs.into_values().collect();
        if let Some(v) = histogram_quantile(q, &list) {
            out.insert(k, v * mesh.duration_to_ms);
        }
    }
    Ok(out)
}

fn parse_le(s: &str) -> Option<f64> {
    match s {
        "+Inf" | "Inf" | "inf" => Some(f64::INFINITY),
        _ => s.parse::<f64>().ok().filter(|v| *v >= 0.0),
    }
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

fn container_signals(
    store: &FrameStore,
    inv: &Inventory,
    from: i64,
    now: i64,
    b: &mut Builder,
) -> Result<(), FrameError> {
    let real_container = |w: &Window, r: usize| {
        let c = w.label(r, "container");
        !c.is_empty() && c != "POD"
    };
    let cpu = store.window(cadvisor::CPU, from, now, &["namespace", "pod", "container"])?;
    let per_pod = cpu.rate_by(real_container, &["namespace", "pod"]);
    b.per_workload(inv, per_pod, SignalKind::CpuCores, sum);
    let mem = store.window(
        cadvisor::MEMORY,
        from,
        now,
        &["namespace", "pod", "container"],
    )?;
    // The largest pod's working set: a leak in one replica is not diluted by the others.
    let per_pod = mem.latest_by(real_container, &["namespace", "pod"], sum);
    b.per_workload(inv, per_pod, SignalKind::MemoryBytes, max);
    let by = ["namespace", "pod", "container"];
    let throttled = store
        .window(cadvisor::THROTTLED_PERIODS, from, now, &by)?
        .rate_by(real_container, &["namespace", "pod"]);
    let periods = store
        .window(cadvisor::PERIODS, from, now, &by)?
        .rate_by(real_container, &["namespace", "pod"]);
    let per_pod: BTreeMap<Vec<String>, f64> = periods
        .into_iter()
        .filter(|(_, p)| *p > 0.0)
        .map(|(k, p)| {
            let t = throttled.get(&k).copied().unwrap_or(0.0);
            (k, (t / p).clamp(0.0, 1.0))
        })
        .collect();
    b.per_workload(inv, per_pod, SignalKind::CpuThrottled, max);
    Ok(())
}

/// Containers that cannot start (CrashLoopBackOff and friends, see
/// [`conventions::TROUBLE_WAITING_REASONS`]), per workload, and the reason.
fn waiting_signals(
    store: &FrameStore,
    inv: &Inventory,
    from: i64,
    now: i64,
    b: &mut Builder,
) -> Result<BTreeMap<EntityId, String>, FrameError> {
    let by = ["namespace", "pod", "container", "reason"];
    let w = store.window(ksm::WAITING, from.max(now - 60_000), now, &by)?;
    let mut per_pod: BTreeMap<Vec<String>, f64> = BTreeMap::new();
    let mut reasons = BTreeMap::new();
    for (k, v) in w.latest_by(any, &by, max) {
        if k[0].is_empty() || k[1].is_empty() {
            continue;
        }
        let trouble = conventions::TROUBLE_WAITING_REASONS.contains(&k[3].as_str());
        let v = if trouble { v.max(0.0) } else { 0.0 };
        *per_pod.entry(vec![k[0].clone(), k[1].clone()]).or_default() += v;
        if v > 0.0 && !k[3].is_empty() {
            reasons.insert(inv.workload(&k[0], &k[1]), k[3].clone());
        }
    }
    b.per_workload(inv, per_pod, SignalKind::ContainersWaiting, sum);
    Ok(reasons)
}

/// Rollouts: every ReplicaSet of a Deployment that is newer than another one of it, with the
/// image its pods run. The Deployment's first ReplicaSet is its creation, not a rollout.
fn rollouts(store: &FrameStore, from: i64, now: i64) -> Result<Vec<ChangeEvent>, FrameError> {
    let owner_by = ["namespace", "replicaset", "owner_kind", "owner_name"];
    let owners = store
        .window(ksm::RS_OWNER, from, now, &owner_by)?
        .latest_by(any, &owner_by, max);
    let created = store
        .window(ksm::RS_CREATED, from, now, &["namespace", "replicaset"])?
        .latest_by(any, &["namespace", "replicaset"], max);
    let pod_by = ["namespace", "pod", "owner_kind", "owner_name"];
    let pod_rs: BTreeMap<(String, String), String> = store
        .window(ksm::POD_OWNER, from, now, &pod_by)?
        .latest_by(any, &pod_by, max)
        .into_iter()
        .filter(|(k, _)| k[2] == "ReplicaSet")
        .map(|(k, _)| ((k[0].clone(), k[1].clone()), k[3].clone()))
        .collect();
    let info_by = ["namespace", "pod", "image"];
    let info = store.window(ksm::CONTAINER_INFO, from, now, &info_by)?;
    if owners.is_empty() {
        return Ok(Vec::new());
    }
    let mut rs_image: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for (k, _) in info.latest_by(any, &info_by, max) {
        if let Some(rs) = pod_rs.get(&(k[0].clone(), k[1].clone()))
            && !k[2].is_empty()
        {
            rs_image
                .entry((k[0].clone(), rs.clone()))
                .or_default()
                .insert(k[2].clone());
        }
    }
    // (namespace, deployment) -> [(created ms, replicaset)]
    let mut per_deploy: BTreeMap<(String, String), Vec<(i64, String)>> = BTreeMap::new();
    for (k, _) in owners {
        if k[2] != "Deployment" || k[0].is_empty() || k[1].is_empty() {
            continue;
        }
        let Some(&secs) = created.get(&vec![k[0].clone(), k[1].clone()]) else {
            continue;
        };
        if !secs.is_finite() {
            continue;
        }
        per_deploy
            .entry((k[0].clone(), k[3].clone()))
            .or_default()
            .push(((secs * 1000.0) as i64, k[1].clone()));
    }
    let mut out = Vec::new();
    for ((ns, deploy), mut sets) in per_deploy {
        sets.sort();
        for pair in sets.windows(2) {
            let (ts_ms, to) = &pair[1];
            if !change_is_recent(*ts_ms, now) {
                continue;
            }
            let image = rs_image
                .get(&(ns.clone(), to.clone()))
                .map(|s| s.iter().cloned().collect::<Vec<_>>().join(", "));
            out.push(ChangeEvent {
                ts_ms: *ts_ms,
                entity: EntityId::workload(&ns, &deploy),
                kind: ChangeKind::Rollout {
                    from_revision: Some(pair[0].1.clone()),
                    to_revision: to.clone(),
                    image,
                },
            });
        }
    }
    out.sort();
    Ok(out)
}

fn restart_signals(
    store: &FrameStore,
    inv: &Inventory,
    from: i64,
    now: i64,
    b: &mut Builder,
) -> Result<BTreeMap<EntityId, String>, FrameError> {
    let w = store.window(ksm::RESTARTS, from, now, &["namespace", "pod"])?;
    let per_pod = w.increase_by(any, &["namespace", "pod"]);
    b.per_workload(inv, per_pod, SignalKind::Restarts, sum);
    let w = store.window(
        ksm::LAST_TERMINATED,
        from,
        now,
        &["namespace", "pod", "reason"],
    )?;
    let mut reasons = BTreeMap::new();
    for (k, v) in w.latest_by(any, &["namespace", "pod", "reason"], max) {
        if v > 0.0 && !k[2].is_empty() {
            reasons.insert(inv.workload(&k[0], &k[1]), k[2].clone());
        }
    }
    Ok(reasons)
}

fn deployment_signals(
    store: &FrameStore,
    from: i64,
    now: i64,
    b: &mut Builder,
) -> Result<(), FrameError> {
    let spec = store
        .window(ksm::DEPLOY_SPEC, from, now, &["namespace", "deployment"])?
        .latest_by(any, &["namespace", "deployment"], sum);
    let avail = store
        .window(
            ksm::DEPLOY_AVAILABLE,
            from,
            now,
            &["namespace", "deployment"],
        )?
        .latest_by(any, &["namespace", "deployment"], sum);
    for (k, want) in spec {
        let have = avail.get(&k).copied().unwrap_or(0.0);
        b.signal(
            EntityId::workload(&k[0], &k[1]),
            SignalKind::ReplicasUnavailable,
            (want - have).max(0.0),
        );
    }
    Ok(())
}

/// Produces/consumes edges, consumer lag and queue depth.
fn messaging_signals(
    store: &FrameStore,
    from: i64,
    now: i64,
    b: &mut Builder,
) -> Result<(), FrameError> {
    let dest = |system: &str, name: &str| {
        let kind = if conventions::destination_is_topic(system) {
            EntityKind::Topic
        } else {
            EntityKind::Queue
        };
        EntityId::new(kind, "", name)
    };
    let by = [
        "namespace",
        messaging::WORKLOAD,
        messaging::SYSTEM,
        messaging::DESTINATION,
    ];
    let sent = store.window(messaging::SENT, from, now, &by)?;
    for (k, rate) in sent.rate_by(any, &by) {
        let e = b.edge(
            EdgeKind::Produces,
            EntityId::workload(&k[0], &k[1]),
            dest(&k[2], &k[3]),
        );
        e.rate_per_s = Some(rate);
    }
    // Consumers: keep every series, even one with a single sample (a new consumer).
    let by = [
        "namespace",
        messaging::WORKLOAD,
        messaging::SYSTEM,
        messaging::DESTINATION,
        messaging::GROUP,
    ];
    let consumed = store.window(messaging::CONSUMED, from, now, &by)?;
    let rates = consumed.rate_by(any, &by);
    let mut group_owner: BTreeMap<(String, String), EntityId> = BTreeMap::new();
    for (k, _) in consumed.latest_by(any, &by, max) {
        let wl = EntityId::workload(&k[0], &k[1]);
        let e = b.edge(EdgeKind::Consumes, wl.clone(), dest(&k[2], &k[3]));
        e.rate_per_s = rates.get(&k).copied().or(e.rate_per_s);
        group_owner.insert((k[3].clone(), k[4].clone()), wl);
    }
    kafka_signals(store, from, now, &group_owner, b)?;
    rabbitmq_signals(store, from, now, b)?;
    Ok(())
}

/// A consumer seen this long ago still has its `consumes` edge (with no consumption): a
/// consumer that crashed is the most common reason a queue grows.
pub const CONSUMER_MEMORY_MS: i64 = 10 * 60_000;

/// A gauge series whose newest sample is this much older than the window's newest is gone
/// (PromQL staleness, as [`Window::latest_by`]).
const STALE_MS: i64 = 60_000;

/// Newest value of each gauge series and its growth per second over the window (`None` with
/// a single sample), each summed by the `by` labels.
fn level_and_growth(w: &Window, by: &[&str]) -> BTreeMap<Vec<String>, (f64, Option<f64>)> {
    let newest = w.ts.iter().copied().max().unwrap_or(0);
    let mut out: BTreeMap<Vec<String>, (f64, Option<f64>)> = BTreeMap::new();
    for rows in w.series(any) {
        let (Some(&first), Some(&last)) = (rows.first(), rows.last()) else {
            continue;
        };
        if newest - w.ts[last] > STALE_MS || !w.value[last].is_finite() {
            continue;
        }
        let key = by.iter().map(|l| w.label(last, l).to_owned()).collect();
        let span_s = (w.ts[last] - w.ts[first]) as f64 / 1000.0;
        let growth = (span_s > 0.0 && w.value[first].is_finite())
            .then(|| (w.value[last] - w.value[first]) / span_s);
        let e = out.entry(key).or_insert((0.0, None));
        e.0 += w.value[last];
        if let Some(g) = growth {
            e.1 = Some(e.1.unwrap_or(0.0) + g);
        }
    }
    out
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

fn set_backlog(e: &mut Edge, (level, growth): (f64, Option<f64>)) {
    e.backlog = Some(level);
    e.backlog_growth_per_s = growth;
}

/// Consumer lag per group (on the group's workload, else on the topic), messages in and
/// under-replicated partitions per topic (kafka_exporter) and per broker (Strimzi).
fn kafka_signals(
    store: &FrameStore,
    from: i64,
    now: i64,
    group_owner: &BTreeMap<(String, String), EntityId>,
    b: &mut Builder,
) -> Result<(), FrameError> {
    let topic = |name: &str| EntityId::new(EntityKind::Topic, "", name);
    let by = [kafka::TOPIC, kafka::GROUP];
    let lag = store.window(kafka::LAG, from, now, &by)?;
    let consumed = store
        .window(kafka::GROUP_OFFSET, from, now, &by)?
        .rate_by(any, &by);
    for (k, level) in level_and_growth(&lag, &by) {
        match group_owner.get(&(k[0].clone(), k[1].clone())) {
            Some(wl) => {
                b.signal(wl.clone(), SignalKind::ConsumerLag, level.0);
                set_backlog(b.edge(EdgeKind::Consumes, wl.clone(), topic(&k[0])), level);
            }
            None => {
                b.signal(topic(&k[0]), SignalKind::ConsumerLag, level.0);
                if !k[1].is_empty() {
                    let group = EntityId::new(EntityKind::ConsumerGroup, "", &k[1]);
                    let e = b.edge(EdgeKind::Consumes, group, topic(&k[0]));
                    set_backlog(e, level);
                    e.rate_per_s = consumed.get(&k).copied().or(e.rate_per_s);
                }
            }
        }
    }
    let ins = store.window(kafka::TOPIC_OFFSET, from, now, &[kafka::TOPIC])?;
    let mut messages_in = ins.rate_by(any, &[kafka::TOPIC]);
    let strimzi_by = [&[kafka::TOPIC][..], kafka::BROKER_LABELS].concat();
    let strimzi = store.window(kafka::STRIMZI_MESSAGES_IN, from, now, &strimzi_by)?;
    for (k, v) in strimzi.rate_by(any, &strimzi_by) {
        if k[0].is_empty() {
            b.signal(broker_of(&k[1..]), SignalKind::PublishRate, v);
        } else if ins.is_empty() {
            // Per topic, unless kafka_exporter's offsets already give the topic's messages in.
            *messages_in.entry(vec![k[0].clone()]).or_insert(0.0) += v;
        }
    }
    for (k, v) in messages_in {
        b.signal(topic(&k[0]), SignalKind::PublishRate, v);
    }
    let ur = store.window(kafka::UNDER_REPLICATED, from, now, &[kafka::TOPIC])?;
    for (k, v) in ur.latest_by(any, &[kafka::TOPIC], sum) {
        b.signal(topic(&k[0]), SignalKind::UnderReplicatedPartitions, v);
    }
    let ur = store.window(
        kafka::STRIMZI_UNDER_REPLICATED,
        from,
        now,
        kafka::BROKER_LABELS,
    )?;
    for (k, v) in ur.latest_by(any, kafka::BROKER_LABELS, sum) {
        b.signal(broker_of(&k), SignalKind::UnderReplicatedPartitions, v);
    }
    Ok(())
}

/// A Kafka broker from the first non-empty of [`kafka::BROKER_LABELS`]' values.
fn broker_of(values: &[String]) -> EntityId {
    let name = values.iter().find(|v| !v.is_empty()).map_or("kafka", |v| v);
    EntityId::new(EntityKind::Broker, "", name)
}

/// Queue depth, unacked messages, consumers and message rates per queue (prometheus plugin or
/// management API); the management API's consumers become `consumes` edges with the queue's
/// backlog, kept for [`CONSUMER_MEMORY_MS`] after the consumer went away.
fn rabbitmq_signals(
    store: &FrameStore,
    from: i64,
    now: i64,
    b: &mut Builder,
) -> Result<(), FrameError> {
    let queue = |name: &str| EntityId::new(EntityKind::Queue, "", name);
    let by = [rabbitmq::QUEUE];
    let ready = first_window(
        store,
        &[rabbitmq::READY, rabbitmq::DETAILED_READY],
        from,
        now,
        &by,
    )?;
    let depth = level_and_growth(&ready, &by);
    for (k, (v, _)) in &depth {
        b.signal(queue(&k[0]), SignalKind::QueueDepth, *v);
    }
    let unacked = first_window(
        store,
        &[rabbitmq::UNACKED, rabbitmq::DETAILED_UNACKED],
        from,
        now,
        &by,
    )?;
    for (k, v) in unacked.latest_by(any, &by, sum) {
        b.signal(queue(&k[0]), SignalKind::MessagesUnacked, v);
    }
    let consumers = first_window(
        store,
        &[rabbitmq::CONSUMERS, rabbitmq::DETAILED_CONSUMERS],
        from,
        now,
        &by,
    )?;
    for (k, v) in consumers.latest_by(any, &by, sum) {
        b.signal(queue(&k[0]), SignalKind::Consumers, v);
    }
    let published = store.window(rabbitmq::PUBLISHED, from, now, &by)?;
    for (k, v) in published.rate_by(any, &by) {
        b.signal(queue(&k[0]), SignalKind::PublishRate, v);
    }
    let delivered = store
        .window(rabbitmq::DELIVERED, from, now, &by)?
        .rate_by(any, &by);
    for (k, v) in &delivered {
        b.signal(queue(&k[0]), SignalKind::DeliverRate, *v);
    }
    // Consumers named by the management API, remembered for a while after they went.
    let cby = [rabbitmq::QUEUE, rabbitmq::CONSUMER];
    let seen = store.window(rabbitmq::CONSUMER_INFO, now - CONSUMER_MEMORY_MS, now, &cby)?;
    let newest = ready
        .ts
        .iter()
        .chain(&seen.ts)
        .copied()
        .max()
        .unwrap_or(now);
    let mut last_seen: BTreeMap<(String, String), i64> = BTreeMap::new();
    for rows in seen.series(any) {
        let Some(&last) = rows.last() else { continue };
        let key = (
            seen.label(last, rabbitmq::QUEUE).to_owned(),
            seen.label(last, rabbitmq::CONSUMER).to_owned(),
        );
        let t = last_seen.entry(key).or_insert(i64::MIN);
        *t = (*t).max(seen.ts[last]);
    }
    let mut present: BTreeMap<&str, f64> = BTreeMap::new();
    for ((q, _), &ts) in &last_seen {
        if ts >= newest {
            *present.entry(q.as_str()).or_insert(0.0) += 1.0;
        }
    }
    for ((q, c), &ts) in &last_seen {
        if q.is_empty() || c.is_empty() {
            continue;
        }
        let key = vec![q.clone()];
        let rate = if ts >= newest {
            // The queue's deliveries, shared among its present consumers.
            delivered
                .get(&key)
                .map(|r| r / present.get(q.as_str()).copied().unwrap_or(1.0))
        } else {
            Some(0.0)
        };
        let e = b.edge(
            EdgeKind::Consumes,
            EntityId::new(EntityKind::ConsumerGroup, "", c),
            queue(q),
        );
        e.rate_per_s = rate;
        if let Some(&level) = depth.get(&key) {
            set_backlog(e, level);
        }
    }
    // Every edge into a queue (producers and consumers from the apps' messaging metrics
    // too) carries the queue's backlog.
    for ((kind, _, to), e) in b.edges.iter_mut() {
        if to.kind == EntityKind::Queue
            && matches!(kind, EdgeKind::Produces | EdgeKind::Consumes)
            && e.backlog.is_none()
            && let Some(&level) = depth.get(std::slice::from_ref(&to.name))
        {
            set_backlog(e, level);
        }
    }
    Ok(())
}

/// NATS servers (connections, messages in and out), JetStream streams (as topics: messages
/// in, consumers) and their consumers (pending = consumer lag, ack pending), with a
/// `consumes` edge per consumer carrying its pending count.
fn nats_signals(
    store: &FrameStore,
    from: i64,
    now: i64,
    b: &mut Builder,
) -> Result<(), FrameError> {
    let server = |name: &str| EntityId::new(EntityKind::Broker, "", name);
    let stream = |name: &str| EntityId::new(EntityKind::Topic, "", name);
    let by = [nats::SERVER];
    let conns = store.window(nats::CONNECTIONS, from, now, &by)?;
    for (k, v) in conns.latest_by(any, &by, sum) {
        b.signal(server(&k[0]), SignalKind::Connections, v);
    }
    for (family, kind) in [
        (nats::IN_MSGS, SignalKind::PublishRate),
        (nats::OUT_MSGS, SignalKind::DeliverRate),
    ] {
        let w = counter_window(store, family, from, now, &by)?;
        for (k, v) in w.rate_by(any, &by) {
            b.signal(server(&k[0]), kind, v);
        }
    }
    let by = [nats::STREAM];
    let last_seq = counter_window(store, nats::STREAM_LAST_SEQ, from, now, &by)?;
    for (k, v) in last_seq.rate_by(any, &by) {
        b.signal(stream(&k[0]), SignalKind::PublishRate, v);
    }
    let n = store.window(nats::STREAM_CONSUMERS, from, now, &by)?;
    for (k, v) in n.latest_by(any, &by, sum) {
        b.signal(stream(&k[0]), SignalKind::Consumers, v);
    }
    let by = [nats::STREAM, nats::CONSUMER];
    let consumer =
        |k: &[String]| EntityId::new(EntityKind::ConsumerGroup, "", format!("{}@{}", k[1], k[0]));
    let delivered =
        counter_window(store, nats::CONSUMER_DELIVERED, from, now, &by)?.rate_by(any, &by);
    let pending = store.window(nats::CONSUMER_PENDING, from, now, &by)?;
    for (k, level) in level_and_growth(&pending, &by) {
        if k[0].is_empty() || k[1].is_empty() {
            continue;
        }
        b.signal(consumer(&k), SignalKind::ConsumerLag, level.0);
        let e = b.edge(EdgeKind::Consumes, consumer(&k), stream(&k[0]));
        set_backlog(e, level);
        e.rate_per_s = delivered.get(&k).copied().or(e.rate_per_s);
    }
    let ack = store.window(nats::CONSUMER_ACK_PENDING, from, now, &by)?;
    for (k, v) in ack.latest_by(any, &by, sum) {
        if !k[0].is_empty() && !k[1].is_empty() {
            b.signal(consumer(&k), SignalKind::MessagesUnacked, v);
        }
    }
    Ok(())
}

/// Redis and PostgreSQL servers from their exporters: up, connections, operations or
/// transactions per second, memory, replication lag. A server is named
/// `<system>@<address>`: the `instance` label when a federating Prometheus added one, else
/// the exporter's own (Redis: `:<tcp_port>`, PostgreSQL: `server`).
fn datastore_signals(
    store: &FrameStore,
    from: i64,
    now: i64,
    b: &mut Builder,
) -> Result<(), FrameError> {
    let ds = |system: &str, addr: &str| {
        let name = if addr.is_empty() {
            system.to_owned()
        } else {
            format!("{system}@{addr}")
        };
        EntityId::new(EntityKind::Datastore, "", name)
    };
    // Redis.
    let inst = [conventions::INSTANCE];
    let info = store.window(
        redis::INFO,
        from,
        now,
        &[conventions::INSTANCE, redis::PORT],
    )?;
    let mut ports: BTreeMap<String, String> = BTreeMap::new();
    for (k, _) in info.latest_by(any, &[conventions::INSTANCE, redis::PORT], max) {
        ports.insert(k[0].clone(), k[1].clone());
    }
    let redis_of = |instance: &str| {
        if !instance.is_empty() {
            ds(redis::SYSTEM, instance)
        } else {
            match ports.get("") {
                Some(p) if !p.is_empty() => ds(redis::SYSTEM, &format!(":{p}")),
                _ => ds(redis::SYSTEM, ""),
            }
        }
    };
    for (family, kind, up) in [
        (redis::UP, SignalKind::ServiceDown, true),
        (redis::CLIENTS, SignalKind::Connections, false),
        (redis::MEMORY, SignalKind::MemoryBytes, false),
    ] {
        let w = store.window(family, from, now, &inst)?;
        for (k, v) in w.latest_by(any, &inst, sum) {
            b.signal(redis_of(&k[0]), kind, if up { down(v) } else { v });
        }
    }
    let w = store.window(redis::COMMANDS, from, now, &inst)?;
    for (k, v) in w.rate_by(any, &inst) {
        b.signal(redis_of(&k[0]), SignalKind::OpsRate, v);
    }
    let w = store.window(redis::REPLICA_LAG, from, now, &inst)?;
    for (k, v) in w.latest_by(any, &inst, max) {
        b.signal(redis_of(&k[0]), SignalKind::ReplicationLag, v);
    }
    // PostgreSQL: per server, summed over its databases.
    let by = [conventions::INSTANCE, postgres::SERVER];
    let addr = |k: &[String]| {
        if k[0].is_empty() {
            k[1].clone()
        } else {
            k[0].clone()
        }
    };
    let backends = store.window(postgres::BACKENDS, from, now, &by)?;
    let mut servers: BTreeSet<String> = BTreeSet::new();
    for (k, v) in backends.latest_by(any, &by, sum) {
        servers.insert(addr(&k));
        b.signal(ds(postgres::SYSTEM, &addr(&k)), SignalKind::Connections, v);
    }
    let mut tx: BTreeMap<String, f64> = BTreeMap::new();
    for family in [postgres::COMMITS, postgres::ROLLBACKS] {
        let w = counter_window(store, family, from, now, &by)?;
        for (k, v) in w.rate_by(any, &by) {
            *tx.entry(addr(&k)).or_insert(0.0) += v;
        }
    }
    for (a, v) in tx {
        b.signal(ds(postgres::SYSTEM, &a), SignalKind::TransactionRate, v);
    }
    let lag = first_window(store, postgres::REPLICATION_LAG, from, now, &by)?;
    for (k, v) in lag.latest_by(any, &by, max) {
        b.signal(
            ds(postgres::SYSTEM, &addr(&k)),
            SignalKind::ReplicationLag,
            v,
        );
    }
    // `pg_up` carries no server label: it speaks for the servers its exporter reports.
    let up = store.window(postgres::UP, from, now, &by)?;
    for (k, v) in up.latest_by(any, &by, sum) {
        let a = addr(&k);
        if a.is_empty() && !servers.is_empty() {
            for s in &servers {
                b.signal(ds(postgres::SYSTEM, s), SignalKind::ServiceDown, down(v));
            }
        } else {
            b.signal(ds(postgres::SYSTEM, &a), SignalKind::ServiceDown, down(v));
        }
    }
    Ok(())
}

/// An exporter's `up` (1 reachable) as [`SignalKind::ServiceDown`] (1 down).
fn down(up: f64) -> f64 {
    if up >= 0.5 { 0.0 } else { 1.0 }
}

fn node_signals(
    store: &FrameStore,
    from: i64,
    now: i64,
    b: &mut Builder,
) -> Result<(), FrameError> {
    let cpu = store.window(node::CPU, from, now, &["instance", "mode"])?;
    let mut busy: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for (k, v) in cpu.rate_by(any, &["instance", "mode"]) {
        let e = busy.entry(k[0].clone()).or_default();
        e.0 += v;
        if k[1] == "idle" {
            e.1 += v;
        }
    }
    for (inst, (total, idle)) in busy {
        if total > 0.0 {
            b.signal(
                EntityId::new(EntityKind::Node, "", node_name(&inst)),
                SignalKind::NodeCpuBusy,
                1.0 - idle / total,
            );
        }
    }
    let mem = store.window(node::MEM_AVAILABLE, from, now, &["instance"])?;
    for (k, v) in mem.latest_by(any, &["instance"], sum) {
        b.signal(
            EntityId::new(EntityKind::Node, "", node_name(&k[0])),
            SignalKind::NodeMemAvailable,
            v,
        );
    }
    Ok(())
}

/// node_exporter's `instance` is often `host:port`; the node is the host part.
fn node_name(instance: &str) -> &str {
    match instance.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => instance,
    }
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

    #[test]
    fn node_names() {
        assert_eq!(node_name("node-a:9100"), "node-a");
        assert_eq!(node_name("node-a"), "node-a");
    }
}

#[cfg(test)]
mod slo_input_tests {
    use super::*;
    use crate::exposition::{Format, parse};

    fn scrape(req_ok: u64, req_5xx: u64, le100: u64, le250: u64, all: u64) -> String {
        let l = r#"reporter="destination",source_workload="frontend",source_workload_namespace="shop",destination_workload="cart",destination_workload_namespace="shop""#;
        format!(
            "# TYPE istio_requests_total counter\n\
             istio_requests_total{{{l},response_code=\"200\"}} {req_ok}\n\
             istio_requests_total{{{l},response_code=\"503\"}} {req_5xx}\n\
             # TYPE istio_request_duration_milliseconds histogram\n\
             istio_request_duration_milliseconds_bucket{{{l},le=\"100\"}} {le100}\n\
             istio_request_duration_milliseconds_bucket{{{l},le=\"250\"}} {le250}\n\
             istio_request_duration_milliseconds_bucket{{{l},le=\"+Inf\"}} {all}\n\
             istio_request_duration_milliseconds_sum{{{l}}} 1\n\
             istio_request_duration_milliseconds_count{{{l}}} {all}\n"
        )
    }

    #[test]
    fn request_counts_and_histogram_increases_per_workload() {
        let mut store = FrameStore::new(3_600_000);
        let t0 = 1_700_000_000_000;
        let a = scrape(1000, 10, 500, 900, 1010);
        let b = scrape(1900, 110, 1100, 1700, 2010);
        store
            .append(&parse(&a, Format::Prometheus).unwrap(), t0, &[])
            .unwrap();
        store
            .append(&parse(&b, Format::Prometheus).unwrap(), t0 + 15_000, &[])
            .unwrap();
        let opts = ObserveOptions {
            rate_window_ms: 15_500,
            quantile: 0.99,
            interval_ms: 15_000,
        };
        let obs = observe(&store, t0 + 15_000, opts).unwrap();
        let cart = EntityId::workload("shop", "cart");
        let c = obs.requests[&cart];
        // 1000 new requests of which 100 were 5xx (rate x window, so within extrapolation).
        assert!((1000.0..=1034.0).contains(&c.total), "{c:?}");
        assert!((c.errors / c.total - 0.1).abs() < 1e-9, "{c:?}");
        let h = &obs.latency_histograms[&cart];
        assert_eq!(h.bounds_ms, [100.0, 250.0, f64::INFINITY]);
        let total = h.total();
        assert!(total > 0.0);
        // 600 of 1000 new requests took at most 100 ms: 40% slower.
        assert!(
            (h.slower_than(100.0).unwrap() / total - 0.4).abs() < 1e-9,
            "{h:?}"
        );
    }
}

#[cfg(test)]
mod linkerd_tests {
    use super::*;
    use crate::exposition::{Format, parse};

    /// One Linkerd scrape: frontend's outbound series to cart and, with `inbound`, cart's own
    /// inbound series (which do not name the caller). Outbound latency is 100 ms slower.
    fn scrape(ok: u64, failed: u64, fast: u64, inbound: bool) -> String {
        let all = ok + failed;
        let out = r#"direction="outbound",namespace="shop",deployment="frontend",pod="frontend-6b8f9d7c4d-x2k9p",dst_namespace="shop",dst_deployment="cart",authority="cart.shop.svc.cluster.local:7070",tls="true""#;
        let inb = r#"direction="inbound",namespace="shop",deployment="cart",pod="cart-5d4f8c9b7d-abcde",authority="cart.shop.svc.cluster.local:7070",tls="true",client_id="frontend.shop.serviceaccount.identity.linkerd.cluster.local""#;
        let mut s = String::from("# TYPE response_total counter\n");
        let sides: &[(&str, f64)] = if inbound {
            &[(out, 100.0), (inb, 0.0)]
        } else {
            &[(out, 100.0)]
        };
        for (l, _) in sides {
            s += &format!(
                "response_total{{{l},classification=\"success\",status_code=\"200\"}} {ok}\n\
                 response_total{{{l},classification=\"failure\",status_code=\"500\"}} {failed}\n"
            );
        }
        s += "# TYPE response_latency_ms histogram\n";
        for (l, shift) in sides {
            let (b1, b2) = (100.0 + shift, 250.0 + shift);
            s += &format!(
                "response_latency_ms_bucket{{{l},le=\"{b1}\"}} {fast}\n\
                 response_latency_ms_bucket{{{l},le=\"{b2}\"}} {all}\n\
                 response_latency_ms_bucket{{{l},le=\"+Inf\"}} {all}\n\
                 response_latency_ms_sum{{{l}}} 1\n\
                 response_latency_ms_count{{{l}}} {all}\n"
            );
        }
        s
    }

    fn observe_two(inbound: bool) -> Observation {
        let mut store = FrameStore::new(3_600_000);
        let t0 = 1_700_000_000_000;
        for (i, text) in [
            scrape(1000, 10, 500, inbound),
            scrape(1900, 110, 1100, inbound),
        ]
        .iter()
        .enumerate()
        {
            let exp = parse(text, Format::Prometheus).unwrap();
            store.append(&exp, t0 + 15_000 * i as i64, &[]).unwrap();
        }
        let opts = ObserveOptions {
            rate_window_ms: 15_500,
            quantile: 0.99,
            interval_ms: 15_000,
        };
        observe(&store, t0 + 15_000, opts).unwrap()
    }

    fn signal(o: &Observation, wl: &EntityId, kind: SignalKind) -> Option<f64> {
        o.signals
            .get(&SignalKey {
                entity: wl.clone(),
                kind,
            })
            .copied()
    }

    #[test]
    fn outbound_series_make_edges_and_inbound_the_server_view() {
        let o = observe_two(true);
        let (frontend, cart) = (
            EntityId::workload("shop", "frontend"),
            EntityId::workload("shop", "cart"),
        );
        // 1000 responses in 15 s, 100 failures.
        let rate = signal(&o, &cart, SignalKind::RequestRate).unwrap();
        assert!((rate - 1000.0 / 15.0).abs() < 1e-9, "{rate}");
        let err = signal(&o, &cart, SignalKind::ErrorRatio).unwrap();
        assert!((err - 0.1).abs() < 1e-9, "{err}");
        // Server view: 99th percentile of 600 in (100, 250] after 400 at most 100 ms.
        let p99 = signal(&o, &cart, SignalKind::LatencyP99).unwrap();
        assert!((p99 - (100.0 + 150.0 * (990.0 - 600.0) / 400.0)).abs() < 1e-9);
        let caller = signal(&o, &cart, SignalKind::CallerLatencyP99).unwrap();
        assert!((caller - (p99 + 100.0)).abs() < 1e-9, "{caller} vs {p99}");
        let calls: Vec<&Edge> = o
            .topology
            .edges
            .iter()
            .filter(|e| e.kind == EdgeKind::Calls)
            .collect();
        assert_eq!(calls.len(), 1, "{calls:?}");
        let e = calls[0];
        assert_eq!((&e.from, &e.to), (&frontend, &cart));
        assert!((e.error_ratio.unwrap() - 0.1).abs() < 1e-9);
        assert_eq!(e.p99_ms, Some(caller));
        assert!(!o.topology.entities.iter().any(|x| x.name.is_empty()));
        let c = o.requests[&cart];
        assert!((c.errors / c.total - 0.1).abs() < 1e-9, "{c:?}");
        // The SLO histogram is the server's (bounds unshifted).
        assert_eq!(
            o.latency_histograms[&cart].bounds_ms,
            [100.0, 250.0, f64::INFINITY]
        );
        assert!(!o.requests.contains_key(&frontend));
    }

    #[test]
    fn without_inbound_series_the_callers_view_is_used() {
        let o = observe_two(false);
        let cart = EntityId::workload("shop", "cart");
        let err = signal(&o, &cart, SignalKind::ErrorRatio).unwrap();
        assert!((err - 0.1).abs() < 1e-9, "{err}");
        let p99 = signal(&o, &cart, SignalKind::LatencyP99).unwrap();
        assert_eq!(Some(p99), signal(&o, &cart, SignalKind::CallerLatencyP99));
        assert_eq!(
            o.latency_histograms[&cart].bounds_ms,
            [200.0, 350.0, f64::INFINITY]
        );
    }
}

#[cfg(test)]
mod broker_tests {
    use super::*;
    use crate::exposition::{Format, parse};

    const T0: i64 = 1_700_000_000_000;

    fn observe_texts(texts: &[(i64, String)]) -> Observation {
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

    fn sig(o: &Observation, e: &EntityId, kind: SignalKind) -> Option<f64> {
        o.signals
            .get(&SignalKey {
                entity: e.clone(),
                kind,
            })
            .copied()
    }

    fn edge<'a>(o: &'a Observation, kind: EdgeKind, from: &EntityId, to: &EntityId) -> &'a Edge {
        o.topology
            .edges
            .iter()
            .find(|e| e.kind == kind && &e.from == from && &e.to == to)
            .unwrap_or_else(|| panic!("no {kind:?} {from} -> {to}: {:?}", o.topology.edges))
    }

    fn kafka(lag: [u64; 2], group_offset: u64, topic_offset: u64, messages_in: u64) -> String {
        format!(
            "# TYPE kafka_consumergroup_lag gauge\n\
             kafka_consumergroup_lag{{consumergroup=\"billing\",topic=\"orders\",partition=\"0\"}} {}\n\
             kafka_consumergroup_lag{{consumergroup=\"billing\",topic=\"orders\",partition=\"1\"}} {}\n\
             # TYPE kafka_consumergroup_current_offset gauge\n\
             kafka_consumergroup_current_offset{{consumergroup=\"billing\",topic=\"orders\",partition=\"0\"}} {group_offset}\n\
             # TYPE kafka_topic_partition_current_offset gauge\n\
             kafka_topic_partition_current_offset{{topic=\"orders\",partition=\"0\"}} {topic_offset}\n\
             # TYPE kafka_topic_partition_under_replicated_partition gauge\n\
             kafka_topic_partition_under_replicated_partition{{topic=\"orders\",partition=\"0\"}} 1\n\
             kafka_topic_partition_under_replicated_partition{{topic=\"orders\",partition=\"1\"}} 0\n\
             # TYPE kafka_server_replicamanager_underreplicatedpartitions gauge\n\
             kafka_server_replicamanager_underreplicatedpartitions{{pod=\"kafka-0\"}} 2\n\
             # TYPE kafka_server_brokertopicmetrics_messagesin_total counter\n\
             kafka_server_brokertopicmetrics_messagesin_total{{pod=\"kafka-0\"}} {messages_in}\n",
            lag[0], lag[1]
        )
    }

    #[test]
    fn kafka_lag_per_group_is_the_backlog_of_its_consumes_edge() {
        let o = observe_texts(&[
            (T0, kafka([100, 50], 1000, 1100, 5000)),
            (T0 + 15_000, kafka([130, 80], 1000, 1400, 5300)),
        ]);
        let topic = EntityId::new(EntityKind::Topic, "", "orders");
        let group = EntityId::new(EntityKind::ConsumerGroup, "", "billing");
        let e = edge(&o, EdgeKind::Consumes, &group, &topic);
        assert_eq!(e.backlog, Some(210.0));
        assert!(
            (e.backlog_growth_per_s.unwrap() - 4.0).abs() < 1e-9,
            "{e:?}"
        );
        assert_eq!(e.rate_per_s, Some(0.0));
        assert_eq!(sig(&o, &topic, SignalKind::ConsumerLag), Some(210.0));
        assert_eq!(sig(&o, &topic, SignalKind::PublishRate), Some(20.0));
        assert_eq!(
            sig(&o, &topic, SignalKind::UnderReplicatedPartitions),
            Some(1.0)
        );
        let broker = EntityId::new(EntityKind::Broker, "", "kafka-0");
        assert_eq!(
            sig(&o, &broker, SignalKind::UnderReplicatedPartitions),
            Some(2.0)
        );
        assert_eq!(sig(&o, &broker, SignalKind::PublishRate), Some(20.0));
    }

    fn rabbit(ready: u64, delivered: u64, consumer: bool) -> String {
        let l = r#"vhost="/",queue="orders""#;
        let mut s = format!(
            "# TYPE rabbitmq_queue_messages_ready gauge\nrabbitmq_queue_messages_ready{{{l}}} {ready}\n\
             # TYPE rabbitmq_queue_messages_unacked gauge\nrabbitmq_queue_messages_unacked{{{l}}} 2\n\
             # TYPE rabbitmq_queue_consumers gauge\nrabbitmq_queue_consumers{{{l}}} {}\n\
             # TYPE rabbitmq_queue_messages_delivered_total counter\nrabbitmq_queue_messages_delivered_total{{{l}}} {delivered}\n",
            u8::from(consumer)
        );
        if consumer {
            s += &format!(
                "# TYPE rabbitmq_queue_consumer_info gauge\nrabbitmq_queue_consumer_info{{{l},consumer=\"worker\"}} 1\n"
            );
        }
        s
    }

    #[test]
    fn a_rabbitmq_consumer_that_went_keeps_its_edge_with_no_consumption() {
        let queue = EntityId::new(EntityKind::Queue, "", "orders");
        let worker = EntityId::new(EntityKind::ConsumerGroup, "", "worker");
        let draining = observe_texts(&[
            (T0, rabbit(0, 100, true)),
            (T0 + 5_000, rabbit(0, 150, true)),
        ]);
        let e = edge(&draining, EdgeKind::Consumes, &worker, &queue);
        assert_eq!(e.rate_per_s, Some(10.0));
        assert_eq!(e.backlog, Some(0.0));
        let o = observe_texts(&[
            (T0, rabbit(0, 100, true)),
            (T0 + 5_000, rabbit(0, 150, true)),
            (T0 + 10_000, rabbit(40, 150, false)),
            (T0 + 15_000, rabbit(80, 150, false)),
        ]);
        let e = edge(&o, EdgeKind::Consumes, &worker, &queue);
        assert_eq!(e.rate_per_s, Some(0.0), "{e:?}");
        assert_eq!(e.backlog, Some(80.0));
        assert!((e.backlog_growth_per_s.unwrap() - 80.0 / 15.0).abs() < 1e-9);
        assert_eq!(sig(&o, &queue, SignalKind::QueueDepth), Some(80.0));
        assert_eq!(sig(&o, &queue, SignalKind::MessagesUnacked), Some(2.0));
        assert_eq!(sig(&o, &queue, SignalKind::Consumers), Some(0.0));
        // The queue's deliveries over the window still include the drained part.
        let delivered = sig(&o, &queue, SignalKind::DeliverRate).unwrap();
        assert!((delivered - 50.0 / 15.0).abs() < 1e-9, "{delivered}");
    }

    fn datastores(commands: u64, commits: u64, up: u8) -> String {
        format!(
            "# TYPE redis_up gauge\nredis_up {up}\n\
             # TYPE redis_instance_info gauge\nredis_instance_info{{role=\"master\",tcp_port=\"6379\"}} 1\n\
             # TYPE redis_connected_clients gauge\nredis_connected_clients 7\n\
             # TYPE redis_commands_processed_total counter\nredis_commands_processed_total {commands}\n\
             # TYPE redis_memory_used_bytes gauge\nredis_memory_used_bytes 1048576\n\
             # TYPE redis_connected_slave_lag_seconds gauge\nredis_connected_slave_lag_seconds{{slave_ip=\"10.0.0.2\",slave_port=\"6379\"}} 3\n\
             # TYPE pg_up gauge\npg_up 1\n\
             # TYPE pg_stat_database_numbackends gauge\n\
             pg_stat_database_numbackends{{datname=\"shop\",server=\"db:5432\"}} 5\n\
             pg_stat_database_numbackends{{datname=\"postgres\",server=\"db:5432\"}} 1\n\
             # TYPE pg_stat_database_xact_commit counter\n\
             pg_stat_database_xact_commit{{datname=\"shop\",server=\"db:5432\"}} {commits}\n\
             # TYPE pg_stat_database_xact_rollback counter\n\
             pg_stat_database_xact_rollback{{datname=\"shop\",server=\"db:5432\"}} 10\n\
             # TYPE pg_replication_lag gauge\npg_replication_lag{{server=\"db:5432\"}} 1.5\n"
        )
    }

    #[test]
    fn redis_and_postgres_exporters_make_datastores() {
        let o = observe_texts(&[
            (T0, datastores(1000, 500, 1)),
            (T0 + 10_000, datastores(1500, 800, 0)),
        ]);
        let redis = EntityId::new(EntityKind::Datastore, "", "redis@:6379");
        assert_eq!(sig(&o, &redis, SignalKind::Connections), Some(7.0));
        assert_eq!(sig(&o, &redis, SignalKind::OpsRate), Some(50.0));
        assert_eq!(sig(&o, &redis, SignalKind::MemoryBytes), Some(1_048_576.0));
        assert_eq!(sig(&o, &redis, SignalKind::ReplicationLag), Some(3.0));
        assert_eq!(sig(&o, &redis, SignalKind::ServiceDown), Some(1.0));
        let pg = EntityId::new(EntityKind::Datastore, "", "postgres@db:5432");
        assert_eq!(sig(&o, &pg, SignalKind::Connections), Some(6.0));
        assert_eq!(sig(&o, &pg, SignalKind::TransactionRate), Some(30.0));
        assert_eq!(sig(&o, &pg, SignalKind::ReplicationLag), Some(1.5));
        assert_eq!(sig(&o, &pg, SignalKind::ServiceDown), Some(0.0));
    }
}
