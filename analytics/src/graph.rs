//! The service-level view of the topology that grouping and root-cause ranking walk on.
//!
//! Pods fold into their workloads; topics and queues stay as nodes between producers and
//! consumers; Kubernetes nodes connect to the workloads that run on them.

use collector::model::{EdgeKind, EntityId, EntityKind, Topology};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Adjacency at service level.
#[derive(Debug, Default, Clone)]
pub struct ServiceGraph {
    /// caller -> callees (calls edges).
    pub callees: BTreeMap<EntityId, BTreeSet<EntityId>>,
    /// callee -> callers.
    pub callers: BTreeMap<EntityId, BTreeSet<EntityId>>,
    /// topic/queue -> consumer workloads; workload -> topics/queues it consumes.
    pub consumers: BTreeMap<EntityId, BTreeSet<EntityId>>,
    pub producers: BTreeMap<EntityId, BTreeSet<EntityId>>,
    /// node -> workloads with a pod on it, and back.
    pub node_workloads: BTreeMap<EntityId, BTreeSet<EntityId>>,
    pub workload_nodes: BTreeMap<EntityId, BTreeSet<EntityId>>,
    /// pod -> owning workload.
    pub pod_owner: BTreeMap<EntityId, EntityId>,
}

impl ServiceGraph {
    pub fn new(topo: &Topology) -> Self {
        let mut g = ServiceGraph::default();
        let mut pod_node: BTreeMap<EntityId, EntityId> = BTreeMap::new();
        for e in &topo.edges {
            match e.kind {
                EdgeKind::Calls => {
                    g.callees
                        .entry(e.from.clone())
                        .or_default()
                        .insert(e.to.clone());
                    g.callers
                        .entry(e.to.clone())
                        .or_default()
                        .insert(e.from.clone());
                }
                EdgeKind::Consumes => {
                    g.consumers
                        .entry(e.to.clone())
                        .or_default()
                        .insert(e.from.clone());
                }
                EdgeKind::Produces => {
                    g.producers
                        .entry(e.to.clone())
                        .or_default()
                        .insert(e.from.clone());
                }
                EdgeKind::Owns => {
                    g.pod_owner.insert(e.to.clone(), e.from.clone());
                }
                EdgeKind::RunsOn => {
                    pod_node.insert(e.from.clone(), e.to.clone());
                }
            }
        }
        for (pod, node) in pod_node {
            if let Some(w) = g.pod_owner.get(&pod) {
                g.node_workloads
                    .entry(node.clone())
                    .or_default()
                    .insert(w.clone());
                g.workload_nodes.entry(w.clone()).or_default().insert(node);
            }
        }
        g
    }

    /// The entity a finding on `e` is attributed to for grouping and ranking: pods fold into
    /// their workload.
    pub fn service_of(&self, e: &EntityId) -> EntityId {
        if e.kind == EntityKind::Pod
            && let Some(w) = self.pod_owner.get(e)
        {
            return w.clone();
        }
        e.clone()
    }

    /// Neighbours used for grouping: calls both ways, a topic or queue and its consumers, and
    /// node <-> workload links only from or to a node (a node problem hits its workloads, but
    /// two workloads sharing a node are not related by that alone). Producers are not linked to
    /// their topics: a queue decouples failure domains (a backed-up consumer does not slow its
    /// producers, and a slow producer does not back up its consumers), so a problem on each side
    /// is its own incident.
    pub fn neighbours(&self, e: &EntityId) -> BTreeSet<EntityId> {
        let mut out = BTreeSet::new();
        let empty = BTreeSet::new();
        for m in [
            &self.callees,
            &self.callers,
            &self.consumers,
            &self.node_workloads,
        ] {
            out.extend(m.get(e).unwrap_or(&empty).iter().cloned());
        }
        for (dest, ws) in self.consumers.iter() {
            if ws.contains(e) {
                out.insert(dest.clone());
            }
        }
        out.extend(self.workload_nodes.get(e).unwrap_or(&empty).iter().cloned());
        out.remove(e);
        out
    }

    /// Hop distance between two entities over [`neighbours`](Self::neighbours), up to `max`.
    /// Workload-to-workload paths through a Kubernetes node are not counted.
    pub fn within(&self, a: &EntityId, b: &EntityId, max: usize) -> bool {
        if a == b {
            return true;
        }
        let mut seen = BTreeSet::from([a.clone()]);
        let mut q = VecDeque::from([(a.clone(), 0usize)]);
        while let Some((e, d)) = q.pop_front() {
            if d == max {
                continue;
            }
            for n in self.neighbours(&e) {
                // Do not route workload -> node -> workload.
                if n.kind == EntityKind::Node && e.kind != EntityKind::Node && *b != n && d > 0 {
                    continue;
                }
                if n == *b {
                    return true;
                }
                if n.kind != EntityKind::Node && seen.insert(n.clone()) {
                    q.push_back((n, d + 1));
                }
            }
        }
        false
    }
}
