//! Root-cause ranking for one incident, with evidence in plain words.
//!
//! Candidates are the services (workloads, topics/queues folded into their consumers, nodes)
//! that show anomalies. Each gets a score from five parts:
//! - a personalized PageRank over the anomalous call subgraph, walking from callers to their
//!   anomalous callees (symptoms flow upstream, so the walk drifts toward the source);
//! - the "callers sick, callees healthy" pattern: no anomalous dependency below it;
//! - how strongly it deviates, relative to its own baseline;
//! - infrastructure and broker evidence (restarts, OOMKills, CPU, memory, consumer lag);
//! - onset order: the earliest onset in the incident ranks higher;
//! - change events: a rollout (or a marked deploy) of the candidate shortly before its first
//!   anomaly.

use crate::graph::ServiceGraph;
use crate::model::{Anomaly, Cause, Evidence, Incident};
use collector::model::{ChangeEvent, EdgeKind, EntityId, EntityKind, Point, SignalKind, Topology};
use std::collections::{BTreeMap, BTreeSet};

/// Weights of the score parts. Chosen once on the simulator's scenarios and kept for all.
const W_PAGERANK: f64 = 0.30;
const W_LEAF: f64 = 0.25;
const W_MAGNITUDE: f64 = 0.20;
const W_INFRA: f64 = 0.15;
const W_ONSET: f64 = 0.10;
/// Bonus for a change (rollout) of the candidate just before its first anomaly: a deploy that
/// precedes the trouble is the first thing an operator checks.
const W_CHANGE: f64 = 0.25;

/// What ranking needs beyond the incident itself.
pub struct RankInput<'a> {
    pub graph: &'a ServiceGraph,
    /// The topology with edge rates (for broker evidence).
    pub topology: &'a Topology,
    /// Workload -> last container termination reason.
    pub terminations: &'a BTreeMap<EntityId, String>,
    /// Recent values of a signal of an entity, for the cause's chart.
    pub history: &'a dyn Fn(&EntityId, SignalKind) -> Vec<Point>,
    /// Recent change events, oldest first.
    pub changes: &'a [ChangeEvent],
    /// Workload -> why a container waits to start (CrashLoopBackOff, ...).
    pub waiting: &'a BTreeMap<EntityId, String>,
    /// Workload -> multivariate (k-means) score of its signals taken together; 1 = the edge of
    /// normal.
    pub unusual: &'a BTreeMap<EntityId, f64>,
}

/// The entity a finding is blamed on: pods fold into workloads, and a topic or queue that
/// backs up points at its consumers.
fn candidates_of(g: &ServiceGraph, e: &EntityId) -> Vec<EntityId> {
    let s = g.service_of(e);
    match s.kind {
        EntityKind::Topic | EntityKind::Queue => match g.consumers.get(&s) {
            Some(c) if !c.is_empty() => c.iter().cloned().collect(),
            _ => vec![s],
        },
        _ => vec![s],
    }
}

fn is_infra(kind: SignalKind) -> bool {
    matches!(
        kind,
        SignalKind::Restarts
            | SignalKind::CpuCores
            | SignalKind::MemoryBytes
            | SignalKind::ReplicasUnavailable
            | SignalKind::ConsumerLag
            | SignalKind::QueueDepth
            | SignalKind::NodeCpuBusy
            | SignalKind::NodeMemAvailable
            | SignalKind::CpuThrottled
            | SignalKind::ContainersWaiting
            | SignalKind::MessagesUnacked
            | SignalKind::UnderReplicatedPartitions
            | SignalKind::ReplicationLag
            | SignalKind::ServiceDown
    )
}

/// Relative size of a change, in "times": 3.0 means the value moved by 3x its baseline.
fn relative_change(a: &Anomaly) -> f64 {
    let base = a.baseline.abs();
    let diff = (a.current - a.baseline).abs();
    if base < 1e-9 {
        if diff > 0.0 { 10.0 } else { 0.0 }
    } else {
        diff / base
    }
}

/// An anomaly of the incident as evidence for the cause `e` (its entity named when it is
/// another member).
pub fn evidence_of(a: &Anomaly, e: &EntityId) -> Evidence {
    let entity = (a.signal.entity != *e).then(|| a.signal.entity.clone());
    match &a.rule {
        Some(alert) => Evidence::AlertFiring {
            entity,
            alert: alert.clone(),
        },
        None => Evidence::Deviation {
            entity,
            signal: a.signal.kind,
            direction: a.direction,
            baseline: a.baseline,
            current: a.current,
            since_ms: a.onset_ms,
        },
    }
}

/// Onset order in [0, 1]: 1 for the earliest onset among the candidates (`min`), 0 for the
/// latest (`max`), linear between; 1 when all began together. Shared by the live ranking and
/// the table ranking ([`crate::tabular`]).
pub fn onset_order(onset: i64, min: i64, max: i64) -> f64 {
    if max > min {
        1.0 - (onset - min) as f64 / (max - min) as f64
    } else {
        1.0
    }
}

/// Evidence of a deploy (rollout or marked deploy) of `e` shortly before its first anomaly at
/// `onset_ms`, by the rule remediation uses too ([`crate::remediate::trigger`]). Shared by the
/// live ranking and the table ranking ([`crate::tabular`]).
pub fn change_evidence(changes: &[ChangeEvent], e: &EntityId, onset_ms: i64) -> Option<Evidence> {
    crate::remediate::trigger(changes, e, onset_ms).map(|c| Evidence::Change {
        change: c.clone(),
        before_onset_ms: onset_ms - c.ts_ms,
    })
}

/// Rank the likely root causes of `inc`, best first.
pub fn rank(inc: &Incident, input: &RankInput<'_>) -> Vec<Cause> {
    let g = input.graph;
    let mut by: BTreeMap<EntityId, Vec<&Anomaly>> = BTreeMap::new();
    for a in &inc.anomalies {
        for c in candidates_of(g, &a.signal.entity) {
            by.entry(c).or_default().push(a);
        }
    }
    if by.is_empty() {
        return Vec::new();
    }
    let cands: Vec<EntityId> = by.keys().cloned().collect();
    let anomalous: BTreeSet<EntityId> = cands.iter().cloned().collect();
    let empty = BTreeSet::new();
    let onset = |e: &EntityId| by[e].iter().map(|a| a.onset_ms).min().unwrap_or(i64::MAX);
    let magnitude = |e: &EntityId| by[e].iter().map(|a| a.score).fold(0.0, f64::max);
    let onsets: BTreeMap<EntityId, i64> = cands.iter().map(|e| (e.clone(), onset(e))).collect();
    let min_onset = cands.iter().map(onset).min().unwrap_or(0);
    let max_onset = cands.iter().map(onset).max().unwrap_or(0);

    // Anomalous dependencies "below" a candidate: callees, and for a node the workloads on it
    // are above it, not below.
    let deps = |e: &EntityId| -> BTreeSet<EntityId> {
        let mut d: BTreeSet<EntityId> = g
            .callees
            .get(e)
            .unwrap_or(&empty)
            .intersection(&anomalous)
            .cloned()
            .collect();
        for n in g.workload_nodes.get(e).unwrap_or(&empty) {
            if anomalous.contains(n) {
                d.insert(n.clone());
            }
        }
        d
    };
    let pr = pagerank(&cands, &|e| deps(e), &|e| magnitude(e).max(1e-3));
    let pr_max = pr.values().copied().fold(f64::MIN_POSITIVE, f64::max);

    let cx = Context {
        anomalous: &anomalous,
        onsets: &onsets,
        input,
    };
    let mut causes: Vec<Cause> = cands
        .iter()
        .map(|e| {
            let anoms = &by[e];
            let below = deps(e);
            let leaf = if below.is_empty() { 1.0 } else { 0.0 };
            let rel = anoms.iter().map(|a| relative_change(a)).fold(0.0, f64::max);
            let mag = 0.5 * magnitude(e) + 0.5 * (rel / (1.0 + rel));
            let infra = if anoms.iter().any(|a| is_infra(a.signal.kind)) {
                1.0
            } else {
                0.0
            };
            let onset_part = onset_order(onset(e), min_onset, max_onset);
            let change = change_evidence(input.changes, e, onset(e)).map_or(0.0, |_| 1.0);
            let score = W_PAGERANK * pr[e] / pr_max
                + W_LEAF * leaf
                + W_MAGNITUDE * mag
                + W_INFRA * infra
                + W_ONSET * onset_part
                + W_CHANGE * change;
            let main = anoms
                .iter()
                .max_by(|a, b| {
                    (is_infra(a.signal.kind) as u8, a.score)
                        .partial_cmp(&(is_infra(b.signal.kind) as u8, b.score))
                        .unwrap_or(std::cmp::Ordering::Equal)
                })
                .copied();
            let signal = main
                .map(|a| a.signal.kind)
                .unwrap_or(SignalKind::LatencyP99);
            let series_entity = main
                .map(|a| a.signal.entity.clone())
                .unwrap_or_else(|| e.clone());
            Cause {
                entity: e.clone(),
                signal,
                score,
                confidence: 0.0,
                evidence: evidence(e, anoms, &below, &cx),
                series: (input.history)(&series_entity, signal),
            }
        })
        .collect();
    causes.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.entity.cmp(&b.entity))
    });
    let total: f64 = causes.iter().map(|c| c.score.max(0.0)).sum();
    for c in &mut causes {
        c.confidence = if total > 0.0 {
            c.score.max(0.0) / total
        } else {
            0.0
        };
    }
    causes
}

/// The incident-wide facts evidence is phrased against.
struct Context<'a> {
    /// Every anomalous candidate.
    anomalous: &'a BTreeSet<EntityId>,
    /// Candidate -> earliest onset, Unix ms.
    onsets: &'a BTreeMap<EntityId, i64>,
    input: &'a RankInput<'a>,
}

fn evidence(
    e: &EntityId,
    anoms: &[&Anomaly],
    below: &BTreeSet<EntityId>,
    cx: &Context<'_>,
) -> Vec<Evidence> {
    let (anomalous, onsets, input, g) = (cx.anomalous, cx.onsets, cx.input, cx.input.graph);
    let onset = onsets.get(e).copied().unwrap_or(i64::MAX);
    let mut out: Vec<Evidence> = Vec::new();
    let mut sorted: Vec<&&Anomaly> = anoms.iter().collect();
    sorted.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut said = BTreeSet::new();
    for a in sorted {
        if said.insert((a.signal.entity.clone(), a.signal.kind)) {
            out.push(evidence_of(a, e));
        }
    }
    if let Some(ev) = change_evidence(input.changes, e, onset) {
        out.insert(0, ev);
    }
    if let Some(reason) = input.terminations.get(e)
        && anoms.iter().any(|a| a.signal.kind == SignalKind::Restarts)
    {
        out.push(Evidence::Terminated {
            reason: reason.clone(),
        });
    }
    if let Some(&u) = input.unusual.get(e)
        && u >= 1.0
    {
        out.push(Evidence::UnusualMix { distance_ratio: u });
    }
    if let Some(reason) = input.waiting.get(e) {
        out.push(Evidence::ContainersWaiting {
            reason: reason.clone(),
        });
    }
    // Callers wait longer while the server itself is as fast as before: the network between.
    if anoms
        .iter()
        .any(|a| a.signal.kind == SignalKind::CallerLatencyP99 && a.signal.entity == *e)
        && !anoms
            .iter()
            .any(|a| a.signal.kind == SignalKind::LatencyP99)
    {
        let server = (input.history)(e, SignalKind::LatencyP99);
        if let Some(p) = server.last() {
            out.push(Evidence::ServesFastItself {
                latency_p99_ms: p.value,
            });
        }
    }
    // A node: which workloads on it are degraded.
    if e.kind == EntityKind::Node {
        let hosted: BTreeSet<EntityId> = g
            .workload_nodes
            .iter()
            .filter(|(w, ns)| ns.contains(e) && anomalous.contains(*w))
            .map(|(w, _)| w.clone())
            .collect();
        if !hosted.is_empty() {
            out.push(Evidence::DegradedWorkloadsOnNode {
                workloads: hosted.into_iter().collect(),
            });
        }
    }
    let empty = BTreeSet::new();
    let callers: BTreeSet<EntityId> = g
        .callers
        .get(e)
        .unwrap_or(&empty)
        .intersection(anomalous)
        .cloned()
        .collect();
    if !callers.is_empty() {
        out.push(Evidence::CallersDegraded {
            callers: callers.iter().cloned().collect(),
        });
    }
    // Onset order against its degraded callers.
    let caller_onsets: Vec<i64> = callers
        .iter()
        .filter_map(|c| onsets.get(c).copied())
        .collect();
    if let Some(&first_caller) = caller_onsets.iter().min()
        && first_caller > onset
    {
        out.push(Evidence::BeganBeforeCallers {
            lead_ms: first_caller - onset,
        });
    }
    // A consumer that backs up: say how fast it still consumes.
    if anoms.iter().any(|a| {
        matches!(
            a.signal.kind,
            SignalKind::ConsumerLag | SignalKind::QueueDepth
        )
    }) {
        for edge in input
            .topology
            .edges
            .iter()
            .filter(|x| x.kind == EdgeKind::Consumes && x.from == *e)
        {
            if let Some(rate) = edge.rate_per_s {
                out.push(Evidence::Consumes {
                    from: edge.to.clone(),
                    rate_per_s: rate,
                });
            }
        }
    }
    let callees = g.callees.get(e).unwrap_or(&empty);
    if below.is_empty() {
        if callees.is_empty() {
            out.push(Evidence::CallsNothing);
        } else {
            out.push(Evidence::DependenciesHealthy {
                dependencies: callees.iter().cloned().collect(),
            });
        }
    } else {
        out.push(Evidence::DependsOnDegraded {
            dependencies: below.iter().cloned().collect(),
        });
    }
    out
}

/// Personalized PageRank where each node passes its weight to its anomalous dependencies
/// (weighted by their anomaly magnitude) and teleports back by the personalization vector.
pub(crate) fn pagerank(
    nodes: &[EntityId],
    deps: &dyn Fn(&EntityId) -> BTreeSet<EntityId>,
    weight: &dyn Fn(&EntityId) -> f64,
) -> BTreeMap<EntityId, f64> {
    const DAMPING: f64 = 0.85;
    let wsum: f64 = nodes.iter().map(weight).sum();
    let pers: BTreeMap<&EntityId, f64> = nodes.iter().map(|n| (n, weight(n) / wsum)).collect();
    let out: BTreeMap<&EntityId, Vec<(EntityId, f64)>> = nodes
        .iter()
        .map(|n| {
            let d = deps(n);
            let tot: f64 = d.iter().map(weight).sum();
            (
                n,
                d.into_iter()
                    .map(|m| {
                        let w = weight(&m) / tot;
                        (m, w)
                    })
                    .collect(),
            )
        })
        .collect();
    let mut rank: BTreeMap<EntityId, f64> = nodes
        .iter()
        .map(|n| (n.clone(), 1.0 / nodes.len() as f64))
        .collect();
    for _ in 0..50 {
        let mut next: BTreeMap<EntityId, f64> = nodes
            .iter()
            .map(|n| (n.clone(), (1.0 - DAMPING) * pers[n]))
            .collect();
        for n in nodes {
            let r = rank[n];
            let edges = &out[n];
            if edges.is_empty() {
                // A sink keeps its mass (it is where the walk ends up).
                *next.entry(n.clone()).or_default() += DAMPING * r;
            } else {
                for (m, w) in edges {
                    *next.entry(m.clone()).or_default() += DAMPING * r * w;
                }
            }
        }
        rank = next;
    }
    rank
}
