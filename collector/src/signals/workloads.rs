//! The workloads family: containers' CPU, memory and throttling, restarts and the last
//! termination reason, containers waiting to start, unavailable replicas of Deployments.

use super::{Builder, Inventory, any, max, sum};
use crate::conventions::{self, cadvisor, ksm};
use crate::frames::{FrameError, FrameStore, Window};
use crate::model::{EntityId, SignalKind};
use std::collections::BTreeMap;

pub(super) fn container_signals(
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
pub(super) fn waiting_signals(
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

pub(super) fn restart_signals(
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

pub(super) fn deployment_signals(
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
