//! The Kubernetes inventory merged into an [`Observation`]: entities and `owns` / `runs_on`
//! edges, termination and waiting reasons, and change events (rollouts, scaling, restarts,
//! Warning events). Pure: the watchers' stores are read into an [`Inventory`] first, so this
//! is testable without a client.

use collector::conventions;
use collector::model::{ChangeEvent, ChangeKind, Edge, EdgeKind, EntityId, EntityKind};
use collector::observe::{Observation, change_is_recent};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Event, Node, Pod, PodTemplateSpec, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference, Time};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// The annotation the Deployment controller numbers ReplicaSets with.
pub const REVISION_ANNOTATION: &str = "deployment.kubernetes.io/revision";

/// What the watchers hold at one moment.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    pub nodes: Vec<Arc<Node>>,
    pub pods: Vec<Arc<Pod>>,
    pub services: Vec<Arc<Service>>,
    pub deployments: Vec<Arc<Deployment>>,
    pub replicasets: Vec<Arc<ReplicaSet>>,
    pub events: Vec<Arc<Event>>,
}

impl Inventory {
    /// Objects over all kinds.
    pub fn len(&self) -> usize {
        self.nodes.len()
            + self.pods.len()
            + self.services.len()
            + self.deployments.len()
            + self.replicasets.len()
            + self.events.len()
    }

    /// True when no object is known.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What the merge remembers between cycles: changes that only show as a difference between
/// two moments (scaling, a rollback reusing an old ReplicaSet).
#[derive(Debug, Clone, Default)]
pub struct Memory {
    /// (namespace, deployment) -> spec.replicas last seen.
    replicas: BTreeMap<(String, String), i32>,
    /// Scale events seen, within the lookback.
    scales: Vec<ChangeEvent>,
    /// (namespace, replicaset) -> (revision, when first seen with it, seen changing live).
    revisions: BTreeMap<(String, String), (i64, i64, bool)>,
}

fn ms(t: &Time) -> i64 {
    t.0.as_millisecond()
}

fn name_ns(meta: &ObjectMeta) -> (&str, &str) {
    (
        meta.namespace.as_deref().unwrap_or(""),
        meta.name.as_deref().unwrap_or(""),
    )
}

fn controller(meta: &ObjectMeta) -> Option<&OwnerReference> {
    let owners = meta.owner_references.as_deref()?;
    owners
        .iter()
        .find(|o| o.controller == Some(true))
        .or_else(|| owners.first())
}

fn images(t: Option<&PodTemplateSpec>) -> Option<String> {
    let set: BTreeSet<&str> = t?
        .spec
        .as_ref()?
        .containers
        .iter()
        .filter_map(|c| c.image.as_deref())
        .filter(|i| !i.is_empty())
        .collect();
    (!set.is_empty()).then(|| set.into_iter().collect::<Vec<_>>().join(", "))
}

/// Resolves owners to workloads: ReplicaSet -> Deployment from the ReplicaSets' owner
/// references, else the kube-state-metrics convention (`workload_of`).
struct Owners {
    rs_deploy: BTreeMap<(String, String), String>,
    /// (namespace, pod) -> workload
    pods: BTreeMap<(String, String), EntityId>,
}

impl Owners {
    fn new(inv: &Inventory) -> Owners {
        let mut rs_deploy = BTreeMap::new();
        for rs in &inv.replicasets {
            let (ns, name) = name_ns(&rs.metadata);
            if let Some(o) = controller(&rs.metadata)
                && o.kind == "Deployment"
            {
                rs_deploy.insert((ns.to_owned(), name.to_owned()), o.name.clone());
            }
        }
        let mut owners = Owners {
            rs_deploy,
            pods: BTreeMap::new(),
        };
        for pod in &inv.pods {
            let (ns, name) = name_ns(&pod.metadata);
            let w = owners.workload_of_pod(&pod.metadata);
            owners.pods.insert((ns.to_owned(), name.to_owned()), w);
        }
        owners
    }

    fn workload_of_rs(&self, ns: &str, rs: &str) -> EntityId {
        match self.rs_deploy.get(&(ns.to_owned(), rs.to_owned())) {
            Some(d) => EntityId::workload(ns, d),
            None => EntityId::workload(ns, conventions::workload_of("ReplicaSet", rs, "")),
        }
    }

    fn workload_of_pod(&self, meta: &ObjectMeta) -> EntityId {
        let (ns, name) = name_ns(meta);
        match controller(meta) {
            Some(o) if o.kind == "ReplicaSet" => self.workload_of_rs(ns, &o.name),
            Some(o) => EntityId::workload(ns, conventions::workload_of(&o.kind, &o.name, name)),
            None => EntityId::workload(ns, conventions::workload_of("", "", name)),
        }
    }

    fn pod(&self, ns: &str, name: &str) -> EntityId {
        self.pods
            .get(&(ns.to_owned(), name.to_owned()))
            .cloned()
            .unwrap_or_else(|| EntityId::workload(ns, conventions::workload_from_pod_name(name)))
    }
}

fn pod_running(pod: &Pod) -> bool {
    !matches!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded" | "Failed")
    )
}

/// Merges `inv` into `obs` at `now_ms`. Keeps the topology's invariants (entities sorted and
/// unique, edges sorted by (kind, from, to) and unique) and leaves `obs.changes` sorted and
/// free of duplicates; a rollout that the metrics already reported (same time, workload and
/// new ReplicaSet) is reported once, with what the API says of it.
pub fn merge(inv: &Inventory, mem: &mut Memory, obs: &mut Observation, now_ms: i64) {
    let owners = Owners::new(inv);
    merge_topology(inv, &owners, obs);
    merge_reasons(inv, &owners, obs);
    let mut changes = rollouts(inv, &owners, mem, now_ms);
    changes.extend(scales(inv, mem, now_ms));
    changes.extend(restarts(inv, &owners, now_ms));
    changes.extend(warnings(inv, &owners, now_ms));
    let rollout_key = |c: &ChangeEvent| match &c.kind {
        ChangeKind::Rollout { to_revision, .. } => {
            Some((c.ts_ms, c.entity.clone(), to_revision.clone()))
        }
        _ => None,
    };
    let ours: BTreeSet<_> = changes.iter().filter_map(rollout_key).collect();
    obs.changes
        .retain(|c| rollout_key(c).is_none_or(|k| !ours.contains(&k)));
    obs.add_changes(changes);
}

fn merge_topology(inv: &Inventory, owners: &Owners, obs: &mut Observation) {
    let mut entities: BTreeSet<EntityId> = std::mem::take(&mut obs.topology.entities)
        .into_iter()
        .collect();
    let mut edges: BTreeMap<(EdgeKind, EntityId, EntityId), Edge> =
        std::mem::take(&mut obs.topology.edges)
            .into_iter()
            .map(|e| ((e.kind, e.from.clone(), e.to.clone()), e))
            .collect();
    let mut edge = |kind: EdgeKind, from: EntityId, to: EntityId| {
        edges
            .entry((kind, from.clone(), to.clone()))
            .or_insert(Edge::new(kind, from, to));
    };
    for n in &inv.nodes {
        if let Some(name) = n.metadata.name.as_deref() {
            entities.insert(EntityId::new(EntityKind::Node, "", name));
        }
    }
    for d in &inv.deployments {
        let (ns, name) = name_ns(&d.metadata);
        if !name.is_empty() {
            entities.insert(EntityId::workload(ns, name));
        }
    }
    for pod in inv.pods.iter().filter(|p| pod_running(p)) {
        let (ns, name) = name_ns(&pod.metadata);
        if name.is_empty() {
            continue;
        }
        let workload = owners.pod(ns, name);
        let pod_id = EntityId::new(EntityKind::Pod, ns, name);
        entities.insert(workload.clone());
        entities.insert(pod_id.clone());
        edge(EdgeKind::Owns, workload, pod_id.clone());
        if let Some(node) = pod.spec.as_ref().and_then(|s| s.node_name.as_deref())
            && !node.is_empty()
        {
            let node_id = EntityId::new(EntityKind::Node, "", node);
            entities.insert(node_id.clone());
            edge(EdgeKind::RunsOn, pod_id, node_id);
        }
    }
    obs.topology.entities = entities.into_iter().collect();
    obs.topology.edges = edges.into_values().collect();
}

/// Last termination reason (newest over the workload's pods) and trouble waiting reasons.
fn merge_reasons(inv: &Inventory, owners: &Owners, obs: &mut Observation) {
    let mut newest: BTreeMap<EntityId, (i64, String)> = BTreeMap::new();
    for pod in inv.pods.iter().filter(|p| pod_running(p)) {
        let (ns, name) = name_ns(&pod.metadata);
        let workload = owners.pod(ns, name);
        let statuses = pod
            .status
            .as_ref()
            .and_then(|s| s.container_statuses.as_deref())
            .unwrap_or_default();
        for cs in statuses {
            if let Some(t) = cs.last_state.as_ref().and_then(|s| s.terminated.as_ref())
                && let Some(reason) = t.reason.as_deref().filter(|r| !r.is_empty())
            {
                let at = t.finished_at.as_ref().map_or(i64::MIN, ms);
                let e = newest
                    .entry(workload.clone())
                    .or_insert((i64::MIN, String::new()));
                if at >= e.0 {
                    *e = (at, reason.to_owned());
                }
            }
            if let Some(reason) = cs
                .state
                .as_ref()
                .and_then(|s| s.waiting.as_ref())
                .and_then(|w| w.reason.as_deref())
                && conventions::TROUBLE_WAITING_REASONS.contains(&reason)
            {
                obs.waiting.insert(workload.clone(), reason.to_owned());
            }
        }
    }
    for (w, (_, reason)) in newest {
        obs.terminations.insert(w, reason);
    }
}

/// One ReplicaSet of a Deployment: (revision, created ms, name, images).
type RsRow = (i64, i64, String, Option<String>);

/// Rollouts from each Deployment's ReplicaSets in revision order: each revision after the
/// first is a rollout from the one before, at the new ReplicaSet's creation; a rollback
/// (an older ReplicaSet given the newest revision) is dated when the revision was seen to
/// change, and left out when it happened before the watch started.
fn rollouts(inv: &Inventory, owners: &Owners, mem: &mut Memory, now: i64) -> Vec<ChangeEvent> {
    // (namespace, deployment) -> [(revision, created ms, name, images)]
    let mut per: BTreeMap<(String, String), Vec<RsRow>> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for rs in &inv.replicasets {
        let (ns, name) = name_ns(&rs.metadata);
        let Some(created) = rs.metadata.creation_timestamp.as_ref().map(ms) else {
            continue;
        };
        if name.is_empty() {
            continue;
        }
        let revision = rs
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(REVISION_ANNOTATION))
            .and_then(|r| r.parse::<i64>().ok())
            .unwrap_or(0);
        let key = (ns.to_owned(), name.to_owned());
        seen.insert(key.clone());
        match mem.revisions.get_mut(&key) {
            Some(entry) if entry.0 != revision => *entry = (revision, now, true),
            Some(_) => {}
            None => {
                mem.revisions.insert(key, (revision, now, false));
            }
        }
        let workload = owners.workload_of_rs(ns, name);
        per.entry((ns.to_owned(), workload.name))
            .or_default()
            .push((
                revision,
                created,
                name.to_owned(),
                images(rs.spec.template.as_ref()),
            ));
    }
    mem.revisions.retain(|k, _| seen.contains(k));
    let mut out = Vec::new();
    for ((ns, deploy), mut sets) in per {
        sets.sort();
        for pair in sets.windows(2) {
            let (prev, cur) = (&pair[0], &pair[1]);
            let ts = if cur.1 >= prev.1 {
                cur.1
            } else {
                match mem.revisions.get(&(ns.clone(), cur.2.clone())) {
                    Some(&(_, since, true)) => since,
                    _ => continue,
                }
            };
            if !change_is_recent(ts, now) {
                continue;
            }
            out.push(ChangeEvent {
                ts_ms: ts,
                entity: EntityId::workload(&ns, &deploy),
                kind: ChangeKind::Rollout {
                    from_revision: Some(prev.2.clone()),
                    to_revision: cur.2.clone(),
                    image: cur.3.clone(),
                },
            });
        }
    }
    out
}

/// A Deployment whose desired replicas changed since the last cycle.
fn scales(inv: &Inventory, mem: &mut Memory, now: i64) -> Vec<ChangeEvent> {
    let mut current = BTreeMap::new();
    for d in &inv.deployments {
        let (ns, name) = name_ns(&d.metadata);
        let replicas = d.spec.replicas.unwrap_or(1);
        let key = (ns.to_owned(), name.to_owned());
        if let Some(&before) = mem.replicas.get(&key)
            && before != replicas
        {
            mem.scales.push(ChangeEvent {
                ts_ms: now,
                entity: EntityId::workload(ns, name),
                kind: ChangeKind::Scale {
                    from: i64::from(before),
                    to: i64::from(replicas),
                },
            });
        }
        current.insert(key, replicas);
    }
    mem.replicas = current;
    mem.scales.retain(|c| change_is_recent(c.ts_ms, now));
    mem.scales.clone()
}

/// The last termination of each container, from the pods' status.
fn restarts(inv: &Inventory, owners: &Owners, now: i64) -> Vec<ChangeEvent> {
    let mut out = Vec::new();
    for pod in inv.pods.iter().filter(|p| pod_running(p)) {
        let (ns, name) = name_ns(&pod.metadata);
        let statuses = pod
            .status
            .as_ref()
            .and_then(|s| s.container_statuses.as_deref())
            .unwrap_or_default();
        for cs in statuses {
            let Some(t) = cs.last_state.as_ref().and_then(|s| s.terminated.as_ref()) else {
                continue;
            };
            let Some(at) = t.finished_at.as_ref().map(ms) else {
                continue;
            };
            if cs.restart_count == 0 || !change_is_recent(at, now) {
                continue;
            }
            out.push(ChangeEvent {
                ts_ms: at,
                entity: owners.pod(ns, name),
                kind: ChangeKind::Restart {
                    pod: name.to_owned(),
                    container: cs.name.clone(),
                    reason: t
                        .reason
                        .clone()
                        .unwrap_or_else(|| format!("exit code {}", t.exit_code)),
                },
            });
        }
    }
    out
}

/// Warning events, on the entity they are about (a pod's or ReplicaSet's workload, a
/// workload, a node), at their last occurrence.
fn warnings(inv: &Inventory, owners: &Owners, now: i64) -> Vec<ChangeEvent> {
    let mut out = Vec::new();
    for e in &inv.events {
        if e.type_.as_deref() != Some("Warning") {
            continue;
        }
        let Some(ts) = e
            .last_timestamp
            .as_ref()
            .map(ms)
            .or_else(|| e.event_time.as_ref().map(|t| t.0.as_millisecond()))
            .or_else(|| e.first_timestamp.as_ref().map(ms))
            .or_else(|| e.metadata.creation_timestamp.as_ref().map(ms))
        else {
            continue;
        };
        if !change_is_recent(ts, now) {
            continue;
        }
        let o = &e.involved_object;
        let (Some(kind), Some(name)) = (o.kind.as_deref(), o.name.as_deref()) else {
            continue;
        };
        let ns = o
            .namespace
            .as_deref()
            .or(e.metadata.namespace.as_deref())
            .unwrap_or("");
        let entity = match kind {
            "Pod" => owners.pod(ns, name),
            "ReplicaSet" => owners.workload_of_rs(ns, name),
            "Deployment" | "StatefulSet" | "DaemonSet" => EntityId::workload(ns, name),
            "Node" => EntityId::new(EntityKind::Node, "", name),
            _ => continue,
        };
        out.push(ChangeEvent {
            ts_ms: ts,
            entity,
            kind: ChangeKind::Warning {
                object: format!("{}/{name}", kind.to_ascii_lowercase()),
                reason: e.reason.clone().unwrap_or_default(),
                message: e.message.clone().unwrap_or_default(),
            },
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use collector::observe::CHANGE_LOOKBACK_MS;
    use serde_json::json;

    const NOW: i64 = 1_700_000_600_000; // 2023-11-14T22:23:20Z

    fn obj<K: serde::de::DeserializeOwned>(v: serde_json::Value) -> Arc<K> {
        match serde_json::from_value(v) {
            Ok(k) => Arc::new(k),
            Err(e) => panic!("test object does not deserialize: {e}"),
        }
    }

    fn rs(name: &str, revision: &str, created: &str, image: &str) -> Arc<ReplicaSet> {
        obj(json!({
            "metadata": {
                "name": name, "namespace": "shop", "creationTimestamp": created,
                "annotations": { REVISION_ANNOTATION: revision },
                "ownerReferences": [{ "apiVersion": "apps/v1", "kind": "Deployment",
                    "name": "cart", "uid": "d1", "controller": true }],
            },
            "spec": { "selector": {}, "template": { "spec": { "containers": [
                { "name": "cart", "image": image }
            ] } } },
        }))
    }

    fn deployment(replicas: i32) -> Arc<Deployment> {
        obj(json!({
            "metadata": { "name": "cart", "namespace": "shop" },
            "spec": { "replicas": replicas, "selector": {}, "template": {} },
        }))
    }

    fn pod(name: &str, rs: &str, node: &str, status: serde_json::Value) -> Arc<Pod> {
        obj(json!({
            "metadata": { "name": name, "namespace": "shop", "ownerReferences": [
                { "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs, "uid": "r1", "controller": true }
            ] },
            "spec": { "nodeName": node, "containers": [{ "name": "cart" }] },
            "status": status,
        }))
    }

    fn cart() -> EntityId {
        EntityId::workload("shop", "cart")
    }

    #[test]
    fn inventory_becomes_entities_and_edges_with_the_invariants_kept() {
        let inv = Inventory {
            nodes: vec![obj(json!({ "metadata": { "name": "node-a" } }))],
            deployments: vec![deployment(2)],
            // The ReplicaSet's name would not give "cart" by the naming convention: the owner
            // reference decides.
            replicasets: vec![rs(
                "cart-odd_name",
                "1",
                "2023-11-14T20:00:00Z",
                "shop/cart:1",
            )],
            pods: vec![
                pod(
                    "cart-odd_name-x1",
                    "cart-odd_name",
                    "node-a",
                    json!({ "phase": "Running" }),
                ),
                pod(
                    "cart-odd_name-x0",
                    "cart-odd_name",
                    "node-b",
                    json!({ "phase": "Running" }),
                ),
                pod(
                    "job-x",
                    "cart-odd_name",
                    "node-a",
                    json!({ "phase": "Succeeded" }),
                ),
            ],
            ..Default::default()
        };
        let mut obs = Observation::default();
        let calls = Edge {
            rate_per_s: Some(12.0),
            ..Edge::new(
                EdgeKind::Calls,
                EntityId::workload("shop", "frontend"),
                cart(),
            )
        };
        obs.topology.entities = vec![calls.from.clone(), cart()];
        obs.topology.edges = vec![calls.clone()];
        merge(&inv, &mut Memory::default(), &mut obs, NOW);
        let t = &obs.topology;
        assert!(t.entities.windows(2).all(|w| w[0] < w[1]));
        let key = |e: &Edge| (e.kind, e.from.clone(), e.to.clone());
        assert!(t.edges.windows(2).all(|w| key(&w[0]) < key(&w[1])));
        assert_eq!(
            t.edges.iter().filter(|e| e.kind == EdgeKind::Owns).count(),
            2
        );
        assert_eq!(
            t.edges
                .iter()
                .filter(|e| e.kind == EdgeKind::RunsOn)
                .count(),
            2
        );
        assert!(
            t.edges.contains(&calls),
            "existing edges keep their figures"
        );
        let pod_x0 = EntityId::new(EntityKind::Pod, "shop", "cart-odd_name-x0");
        assert!(
            t.edges
                .iter()
                .any(|e| e.kind == EdgeKind::Owns && e.from == cart() && e.to == pod_x0)
        );
        assert!(
            t.entities
                .contains(&EntityId::new(EntityKind::Node, "", "node-b"))
        );
        assert!(
            !t.entities.iter().any(|e| e.name == "job-x"),
            "finished pods are left out"
        );
        // Merging twice changes nothing.
        let again = obs.clone();
        merge(&inv, &mut Memory::default(), &mut obs, NOW);
        assert_eq!(obs.topology, again.topology);
    }

    #[test]
    fn rollouts_follow_revisions_and_do_not_duplicate_the_metrics_view() {
        let old = rs(
            "cart-aaaaaaaaaa",
            "1",
            "2023-11-10T00:00:00Z",
            "shop/cart:1",
        );
        let new = rs(
            "cart-bbbbbbbbbb",
            "2",
            "2023-11-14T22:20:00Z",
            "shop/cart:2",
        );
        let inv = Inventory {
            deployments: vec![deployment(2)],
            replicasets: vec![new.clone(), old.clone()],
            ..Default::default()
        };
        let rollout_at = 1_700_000_400_000; // 22:20:00
        let mut obs = Observation::default();
        // kube-state-metrics saw the same rollout without the image (its pods were gone).
        let from_metrics = ChangeEvent {
            ts_ms: rollout_at,
            entity: cart(),
            kind: ChangeKind::Rollout {
                from_revision: Some("cart-aaaaaaaaaa".into()),
                to_revision: "cart-bbbbbbbbbb".into(),
                image: None,
            },
        };
        obs.changes.push(from_metrics);
        let mut mem = Memory::default();
        merge(&inv, &mut mem, &mut obs, NOW);
        assert_eq!(obs.changes.len(), 1, "{:?}", obs.changes);
        assert_eq!(
            obs.changes[0],
            ChangeEvent {
                ts_ms: rollout_at,
                entity: cart(),
                kind: ChangeKind::Rollout {
                    from_revision: Some("cart-aaaaaaaaaa".into()),
                    to_revision: "cart-bbbbbbbbbb".into(),
                    image: Some("shop/cart:2".into()),
                },
            }
        );
        // A rollback gives the old ReplicaSet the newest revision: dated when it was seen.
        let back = rs(
            "cart-aaaaaaaaaa",
            "3",
            "2023-11-10T00:00:00Z",
            "shop/cart:1",
        );
        let inv2 = Inventory {
            deployments: vec![deployment(2)],
            replicasets: vec![new.clone(), back.clone()],
            ..Default::default()
        };
        let mut obs = Observation::default();
        merge(&inv2, &mut mem, &mut obs, NOW + 15_000);
        let rollback: Vec<_> = obs
            .changes
            .iter()
            .filter(|c| {
                matches!(&c.kind, ChangeKind::Rollout { to_revision, .. } if to_revision == "cart-aaaaaaaaaa")
            })
            .collect();
        assert_eq!(rollback.len(), 1, "{:?}", obs.changes);
        assert_eq!(rollback[0].ts_ms, NOW + 15_000);
        assert!(rollback[0].kind.is_deploy());
        // Seen only after the fact (a fresh start), a rollback cannot be dated: left out.
        let mut obs = Observation::default();
        merge(&inv2, &mut Memory::default(), &mut obs, NOW + 15_000);
        assert!(obs.changes.is_empty(), "{:?}", obs.changes);
        // Outside the lookback nothing is reported.
        let mut obs = Observation::default();
        merge(
            &inv,
            &mut Memory::default(),
            &mut obs,
            rollout_at + CHANGE_LOOKBACK_MS + 1,
        );
        assert!(obs.changes.is_empty());
    }

    #[test]
    fn scaling_is_a_change_from_one_cycle_to_the_next() {
        let mut mem = Memory::default();
        let inv = |n| Inventory {
            deployments: vec![deployment(n)],
            ..Default::default()
        };
        let mut obs = Observation::default();
        merge(&inv(2), &mut mem, &mut obs, NOW);
        assert!(obs.changes.is_empty(), "the first sight is no change");
        let mut obs = Observation::default();
        merge(&inv(5), &mut mem, &mut obs, NOW + 15_000);
        let scale = ChangeEvent {
            ts_ms: NOW + 15_000,
            entity: cart(),
            kind: ChangeKind::Scale { from: 2, to: 5 },
        };
        assert_eq!(obs.changes, vec![scale.clone()]);
        assert!(!scale.kind.is_deploy());
        // Still reported later, once.
        let mut obs = Observation::default();
        merge(&inv(5), &mut mem, &mut obs, NOW + 30_000);
        assert_eq!(obs.changes, vec![scale]);
    }

    #[test]
    fn restarts_waiting_reasons_and_warning_events() {
        let status = json!({
            "phase": "Running",
            "containerStatuses": [{
                "name": "cart", "image": "shop/cart:1", "imageID": "", "ready": false,
                "restartCount": 3,
                "state": { "waiting": { "reason": "CrashLoopBackOff" } },
                "lastState": { "terminated": {
                    "exitCode": 137, "reason": "OOMKilled",
                    "startedAt": "2023-11-14T22:18:00Z", "finishedAt": "2023-11-14T22:19:00Z"
                } },
            }],
        });
        let event = |kind: &str, name: &str, typ: &str, reason: &str, last: &str| {
            obj::<Event>(json!({
                "metadata": { "name": format!("{name}.1"), "namespace": "shop" },
                "involvedObject": { "kind": kind, "name": name, "namespace": "shop" },
                "type": typ, "reason": reason, "message": "it happened",
                "lastTimestamp": last,
            }))
        };
        let inv = Inventory {
            deployments: vec![deployment(2)],
            replicasets: vec![rs(
                "cart-aaaaaaaaaa",
                "1",
                "2023-11-10T00:00:00Z",
                "shop/cart:1",
            )],
            pods: vec![pod(
                "cart-aaaaaaaaaa-x1",
                "cart-aaaaaaaaaa",
                "node-a",
                status,
            )],
            events: vec![
                event(
                    "Pod",
                    "cart-aaaaaaaaaa-x1",
                    "Warning",
                    "BackOff",
                    "2023-11-14T22:19:01Z",
                ),
                event(
                    "Pod",
                    "cart-aaaaaaaaaa-x1",
                    "Normal",
                    "Started",
                    "2023-11-14T22:18:00Z",
                ),
                event(
                    "Node",
                    "node-a",
                    "Warning",
                    "OOMKilling",
                    "2023-11-14T22:19:00Z",
                ),
                // Too old to matter.
                event(
                    "Pod",
                    "cart-aaaaaaaaaa-x1",
                    "Warning",
                    "Unhealthy",
                    "2023-11-01T00:00:00Z",
                ),
            ],
            ..Default::default()
        };
        let mut obs = Observation::default();
        merge(&inv, &mut Memory::default(), &mut obs, NOW);
        assert_eq!(
            obs.terminations.get(&cart()).map(String::as_str),
            Some("OOMKilled")
        );
        assert_eq!(
            obs.waiting.get(&cart()).map(String::as_str),
            Some("CrashLoopBackOff")
        );
        let texts: Vec<String> = obs
            .changes
            .iter()
            .map(opscope_layout::Describe::describe)
            .collect();
        assert_eq!(
            texts,
            vec![
                "container cart of cart-aaaaaaaaaa-x1 restarted (OOMKilled)".to_owned(),
                "warning OOMKilling on node/node-a: it happened".to_owned(),
                "warning BackOff on pod/cart-aaaaaaaaaa-x1: it happened".to_owned(),
            ]
        );
        assert_eq!(obs.changes[0].entity, cart());
        assert_eq!(obs.changes[0].ts_ms, NOW - 260_000);
        assert_eq!(
            obs.changes[1].entity,
            EntityId::new(EntityKind::Node, "", "node-a")
        );
        assert_eq!(obs.changes[2].entity, cart());
        assert!(obs.changes.iter().all(|c| !c.kind.is_deploy()));
        assert!(obs.changes.windows(2).all(|w| w[0] < w[1]));
    }
}
