//! Suggested remediation for an incident's top cause: what an experienced operator would try
//! first, with the command where one fits. Suggestions are shown, never executed.

use crate::model::{Action, Anomaly, Incident, Remediation};
use collector::model::{ChangeEvent, ChangeKind, EntityId, EntityKind, SignalKind};
use std::collections::BTreeMap;

/// What the suggestions are drawn from, beyond the incident.
pub struct Facts<'a> {
    /// Change events near the incident, oldest first.
    pub changes: &'a [ChangeEvent],
    /// Workload -> last container termination reason.
    pub terminations: &'a BTreeMap<EntityId, String>,
    /// Workload -> why a container waits to start.
    pub waiting: &'a BTreeMap<EntityId, String>,
}

/// A change on `e` counts as the likely trigger when it happened at most this long before the
/// first anomaly (and not after it by more than [`CHANGE_AFTER_MS`]).
pub const CHANGE_BEFORE_MS: i64 = 15 * 60_000;
/// Slack after the first anomaly for a change to still count (scrape and rollout timing).
pub const CHANGE_AFTER_MS: i64 = 60_000;

/// The deploy (rollout or marked deploy, see [`ChangeKind::is_deploy`]) on `e` that most likely
/// triggered anomalies beginning at `onset_ms`. Restarts, Warning events and scaling are
/// symptoms or context, not triggers.
pub fn trigger<'a>(
    changes: &'a [ChangeEvent],
    e: &EntityId,
    onset_ms: i64,
) -> Option<&'a ChangeEvent> {
    changes
        .iter()
        .filter(|c| {
            c.kind.is_deploy()
                && &c.entity == e
                && c.ts_ms >= onset_ms - CHANGE_BEFORE_MS
                && c.ts_ms <= onset_ms + CHANGE_AFTER_MS
        })
        .max_by_key(|c| c.ts_ms)
}

fn deploy_ref(e: &EntityId) -> String {
    format!("deployment/{} -n {}", e.name, e.namespace)
}

/// Suggestions for the incident's top cause, best first (empty when nothing fits).
pub fn suggest(inc: &Incident, facts: &Facts<'_>) -> Vec<Remediation> {
    let Some(top) = inc.causes.first() else {
        return Vec::new();
    };
    let e = &top.entity;
    let anoms: Vec<&Anomaly> = inc
        .anomalies
        .iter()
        .filter(|a| &a.signal.entity == e)
        .collect();
    let has = |k: SignalKind| anoms.iter().any(|a| a.signal.kind == k);
    let onset = anoms
        .iter()
        .map(|a| a.onset_ms)
        .min()
        .unwrap_or(inc.first_seen_ms);
    let mut out = Vec::new();
    match e.kind {
        EntityKind::Node => {
            out.push(Remediation {
                action: Action::MoveWorkOffNode { node: e.clone() },
                command: Some(format!(
                    "kubectl cordon {0} && kubectl drain {0} --ignore-daemonsets --delete-emptydir-data",
                    e.name
                )),
            });
            return out;
        }
        EntityKind::Topic
        | EntityKind::Queue
        | EntityKind::Pod
        | EntityKind::Broker
        | EntityKind::Datastore
        | EntityKind::ConsumerGroup => return out,
        EntityKind::Workload => {}
    }
    if let Some(c) = trigger(facts.changes, e, onset) {
        match &c.kind {
            ChangeKind::Rollout { .. } => out.push(Remediation {
                action: Action::RollBack {
                    workload: e.clone(),
                    change: c.clone(),
                    before_onset_ms: onset - c.ts_ms,
                },
                command: Some(format!("kubectl rollout undo {}", deploy_ref(e))),
            }),
            ChangeKind::Annotation { text } => out.push(Remediation {
                action: Action::RevertDeploy {
                    workload: e.clone(),
                    note: text.clone(),
                    before_onset_ms: onset - c.ts_ms,
                },
                command: Some(format!("kubectl rollout undo {}", deploy_ref(e))),
            }),
            ChangeKind::Scale { .. } | ChangeKind::Restart { .. } | ChangeKind::Warning { .. } => {}
        }
    }
    let reason = facts.terminations.get(e).map(String::as_str);
    if let Some(w) = facts.waiting.get(e) {
        out.push(Remediation {
            action: Action::ReadWhyWaiting {
                workload: e.clone(),
                reason: w.clone(),
            },
            command: Some(format!(
                "kubectl logs -n {} deploy/{} --previous",
                e.namespace, e.name
            )),
        });
    }
    if reason == Some("OOMKilled") || has(SignalKind::MemoryBytes) {
        out.push(Remediation {
            action: Action::MoreMemory {
                workload: e.clone(),
                terminated: reason.map(str::to_owned),
            },
            command: Some(format!(
                "kubectl set resources {} --limits=memory=<higher>",
                deploy_ref(e)
            )),
        });
    }
    if has(SignalKind::CpuThrottled) || has(SignalKind::CpuCores) {
        out.push(Remediation {
            action: Action::ScaleOut {
                workload: e.clone(),
            },
            command: Some(format!("kubectl scale {} --replicas=<more>", deploy_ref(e))),
        });
    }
    if has(SignalKind::ConsumerLag) || has(SignalKind::QueueDepth) {
        out.push(Remediation {
            action: Action::RestartConsumers {
                workload: e.clone(),
            },
            command: Some(format!("kubectl rollout restart {}", deploy_ref(e))),
        });
    }
    let network = has(SignalKind::CallerLatencyP99) && !has(SignalKind::LatencyP99);
    if network {
        out.push(Remediation {
            action: Action::CheckNetwork {
                workload: e.clone(),
            },
            command: Some(format!(
                "kubectl get networkpolicy,destinationrule,virtualservice -n {}",
                e.namespace
            )),
        });
    }
    if out.is_empty() && (has(SignalKind::ErrorRatio) || has(SignalKind::LatencyP99)) {
        out.push(Remediation {
            action: Action::ReadLogs {
                workload: e.clone(),
            },
            command: Some(format!(
                "kubectl logs -n {} deploy/{} --since=15m",
                e.namespace, e.name
            )),
        });
    }
    out
}
