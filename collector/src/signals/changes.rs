//! The changes family: rollouts, from kube-state-metrics' ReplicaSets.

use super::{any, change_is_recent, max};
use crate::conventions::ksm;
use crate::frames::{FrameError, FrameStore};
use crate::model::{ChangeEvent, ChangeKind, EntityId};
use std::collections::{BTreeMap, BTreeSet};

/// Rollouts: every ReplicaSet of a Deployment that is newer than another one of it, with the
/// image its pods run. The Deployment's first ReplicaSet is its creation, not a rollout.
pub(super) fn rollouts(
    store: &FrameStore,
    from: i64,
    now: i64,
) -> Result<Vec<ChangeEvent>, FrameError> {
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
