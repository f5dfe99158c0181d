//! The Kubernetes source against the simulator's Kubernetes API over loopback HTTP, on a
//! virtual clock: lists, watches that pick up a rollout, watches that drop (resumed from the
//! last resourceVersion) and expire (410, listed again), and the bad-rollout scenario through
//! the whole engine with the rollout known only from the Kubernetes API.

use analytics::model::Snapshot;
use collector::model::{ChangeKind, EdgeKind, EntityId, EntityKind};
use collector::observe::Observation;
use collector::source::Enricher;
use fixtures::{Clock, Component, SimConfig, SimServer, Simulator};
use kubesource::{KubeOptions, KubeSource};
use opscope_engine::{Engine, EngineConfig};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

const START: i64 = fixtures::DEFAULT_START_MS;
const ROLLOUT_WORKLOAD: &str = "recommendationservice";

async fn sim(scenario: &str, fault_after_ms: i64) -> (SimServer, Arc<AtomicI64>) {
    let cfg = SimConfig {
        fault_after_ms,
        fault_duration_ms: 3_600_000,
        ..SimConfig::new(scenario, 7)
    };
    let sim = Simulator::new(cfg).expect("scenario exists");
    let (clock, handle) = Clock::new_virtual(START);
    let server = fixtures::serve(sim, clock, SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .await
        .expect("simulator serves");
    (server, handle)
}

async fn connect(server: &SimServer) -> KubeSource {
    let kube = KubeSource::connect(KubeOptions {
        url: Some(server.url()),
        ..Default::default()
    })
    .await
    .expect("client builds");
    assert!(
        kube.wait_ready(Duration::from_secs(20)).await,
        "watchers did not list: {:?}",
        kube.watch_stats()
    );
    kube
}

/// Polls `f` every 50 ms until it holds or `timeout` passes.
async fn until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    f()
}

fn sorted_names(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn kube_pod_names(kube: &KubeSource) -> Vec<String> {
    sorted_names(
        kube.inventory()
            .pods
            .iter()
            .filter_map(|p| p.metadata.name.clone())
            .collect(),
    )
}

fn sim_pod_names(server: &SimServer) -> Vec<String> {
    sorted_names(server.with_sim(|s| s.pods().into_iter().map(|p| p.name).collect()))
}

fn rs_names(kube: &KubeSource) -> Vec<String> {
    sorted_names(
        kube.inventory()
            .replicasets
            .iter()
            .filter_map(|r| r.metadata.name.clone())
            .collect(),
    )
}

fn enrich(kube: &mut KubeSource, now: i64) -> Observation {
    let mut obs = Observation {
        ts_ms: now,
        ..Default::default()
    };
    kube.enrich(&mut obs, now);
    obs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_the_cluster_and_watches_a_rollout() {
    let fault_after = 120_000;
    let (server, clock) = sim("bad-rollout", fault_after).await;
    let mut kube = connect(&server).await;
    let workloads = server.with_sim(|s| s.workloads().len());
    let inv = kube.inventory();
    assert_eq!(inv.nodes.len(), fixtures::NODES.len());
    assert_eq!(inv.deployments.len(), workloads);
    assert_eq!(inv.replicasets.len(), workloads);
    assert_eq!(inv.services.len(), workloads);
    assert_eq!(kube_pod_names(&kube), sim_pod_names(&server));

    // The inventory becomes entities and owns / runs_on edges, keeping the invariants.
    let obs = enrich(&mut kube, START);
    let topo = &obs.topology;
    assert!(
        topo.entities.windows(2).all(|w| w[0] < w[1]),
        "sorted, unique"
    );
    let key = |e: &collector::model::Edge| (e.kind, e.from.clone(), e.to.clone());
    assert!(topo.edges.windows(2).all(|w| key(&w[0]) < key(&w[1])));
    let pods = server.with_sim(|s| s.pods());
    for p in &pods {
        let pod = EntityId::new(EntityKind::Pod, &p.namespace, &p.name);
        let owner = EntityId::workload(&p.namespace, &p.workload);
        let node = EntityId::new(EntityKind::Node, "", &p.node);
        assert!(
            topo.edges
                .iter()
                .any(|e| e.kind == EdgeKind::Owns && e.from == owner && e.to == pod)
        );
        assert!(
            topo.edges
                .iter()
                .any(|e| e.kind == EdgeKind::RunsOn && e.from == pod && e.to == node)
        );
    }
    assert!(obs.changes.is_empty(), "{:?}", obs.changes);
    let status = kube.status();
    assert!(
        status.name.starts_with("kube http://127.0.0.1:"),
        "{}",
        status.name
    );
    assert!(!status.stale, "{status:?}");
    assert_eq!(status.last_success_ms, Some(START));

    // The rollout starts: the watches (no new list) bring its ReplicaSet and pods.
    let t = START + fault_after + 60_000;
    clock.store(t, Ordering::SeqCst);
    assert!(
        until(Duration::from_secs(20), || rs_names(&kube).len()
            == workloads + 1)
        .await,
        "the new ReplicaSet never arrived: {:?}",
        kube.watch_stats()
    );
    assert!(
        until(Duration::from_secs(20), || kube_pod_names(&kube)
            == sim_pod_names(&server))
        .await
    );
    let obs = enrich(&mut kube, t);
    let rollouts: Vec<_> = obs
        .changes
        .iter()
        .filter(|c| matches!(c.kind, ChangeKind::Rollout { .. }))
        .collect();
    assert_eq!(rollouts.len(), 1, "{:?}", obs.changes);
    let r = rollouts[0];
    assert_eq!(r.entity, EntityId::workload("shop", ROLLOUT_WORKLOAD));
    assert_eq!(r.ts_ms, START + fault_after);
    match &r.kind {
        ChangeKind::Rollout {
            from_revision,
            to_revision,
            image,
        } => {
            assert!(from_revision.is_some());
            assert!(to_revision.starts_with("recommendationservice-"));
            assert_ne!(from_revision.as_deref(), Some(to_revision.as_str()));
            assert_eq!(
                image.as_deref(),
                Some(format!("shop/recommendationservice:{}", fixtures::ROLLOUT_TAG).as_str())
            );
        }
        other => panic!("not a rollout: {other:?}"),
    }
    let stats = kube.watch_stats();
    assert!(stats.iter().all(|s| s.lists == 1 && s.ready), "{stats:?}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survives_dropped_and_expired_watches() {
    let fault_after = 300_000;
    let (server, clock) = sim("bad-rollout", fault_after).await;
    let mut kube = connect(&server).await;
    let workloads = server.with_sim(|s| s.workloads().len());

    // A dropped watch is resumed from the last resourceVersion: no new list, later changes
    // still arrive.
    server.drop_watches();
    tokio::time::sleep(Duration::from_millis(300)).await;
    clock.store(START + fault_after + 30_000, Ordering::SeqCst);
    assert!(
        until(Duration::from_secs(20), || rs_names(&kube).len()
            == workloads + 1)
        .await,
        "no change after the dropped watch: {:?}",
        kube.watch_stats()
    );
    assert!(
        until(Duration::from_secs(20), || kube_pod_names(&kube)
            == sim_pod_names(&server))
        .await
    );
    let stats = kube.watch_stats();
    assert!(stats.iter().all(|s| s.lists == 1), "relisted: {stats:?}");

    // The rollout goes on while the history is compacted: resuming gets 410 Expired, the
    // watchers list again and catch up.
    clock.store(START + fault_after + 90_000, Ordering::SeqCst);
    server.expire_watch_history();
    let pods_now = sim_pod_names(&server);
    assert!(
        until(Duration::from_secs(30), || {
            kube.watch_stats()[1].lists >= 2 && kube_pod_names(&kube) == pods_now
        })
        .await,
        "pods did not relist: {:?}",
        kube.watch_stats()
    );
    // And the watches go on after the relist.
    clock.store(START + fault_after + 240_000, Ordering::SeqCst);
    assert!(
        until(Duration::from_secs(20), || kube_pod_names(&kube)
            == sim_pod_names(&server))
        .await,
        "no change after the relist"
    );
    let obs = enrich(&mut kube, START + fault_after + 240_000);
    assert!(
        obs.changes
            .iter()
            .any(|c| matches!(c.kind, ChangeKind::Rollout { .. })),
        "{:?}",
        obs.changes
    );
    assert!(
        until(Duration::from_secs(10), || !kube.status().stale).await,
        "{:?}",
        kube.status()
    );
    assert!(kube.watch_stats()[1].errors >= 1, "the 410 was seen");
    server.shutdown().await;
}

/// The source reports a server that went away as stale, with the error in words.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_api_server_makes_the_source_stale() {
    let (server, _clock) = sim("none", 60_000).await;
    let mut kube = connect(&server).await;
    let _ = enrich(&mut kube, START);
    assert!(!kube.status().stale);
    server.shutdown().await;
    assert!(
        until(Duration::from_secs(30), || kube.status().stale).await,
        "{:?}",
        kube.status()
    );
    let _ = enrich(&mut kube, START + 15_000);
    let status = kube.status();
    assert!(status.last_error.is_some(), "{status:?}");
    assert_eq!(
        status.last_success_ms,
        Some(START),
        "no success after the loss"
    );
}

/// Every component but kube-state-metrics: what the engine scrapes when the Kubernetes
/// inventory comes from the API instead.
fn urls_without_ksm(server: &SimServer) -> Vec<String> {
    Component::ALL
        .into_iter()
        .filter(|c| *c != Component::KubeStateMetrics)
        .map(|c| format!("{}/metrics/{c}", server.url()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_rollout_ranks_first_from_the_kubernetes_api() {
    let warmup = 30 * 60_000;
    let (server, clock) = sim("bad-rollout", warmup).await;
    let interval = Duration::from_secs(15);
    // Engine A: no kube-state-metrics, the rollout is known only from the Kubernetes API.
    let mut api_only = Engine::new(&EngineConfig::for_interval(
        urls_without_ksm(&server),
        interval,
    ));
    api_only.add_enricher(Box::new(connect(&server).await));
    // Engine B: kube-state-metrics and the Kubernetes API both report the rollout.
    let mut both = Engine::new(&EngineConfig::for_interval(
        vec![format!("{}/metrics", server.url())],
        interval,
    ));
    both.add_enricher(Box::new(connect(&server).await));
    let fault_start = START + warmup;
    let end = fault_start + 6 * 60_000;
    let mut t = START;
    let (mut a, mut b) = (Arc::new(Snapshot::default()), Arc::new(Snapshot::default()));
    while t <= end {
        clock.store(t, Ordering::SeqCst);
        if t >= fault_start - 60_000 {
            // Let the watches deliver what changed before the engines read the stores.
            server.sync_kube();
            tokio::time::sleep(Duration::from_millis(40)).await;
        }
        a = api_only.cycle(t).await.expect("cycle");
        b = both.cycle(t).await.expect("cycle");
        t += interval.as_millis() as i64;
    }
    let target = EntityId::workload("shop", ROLLOUT_WORKLOAD);
    for (label, snap) in [("api only", &a), ("ksm and api", &b)] {
        let rollouts: Vec<_> = snap
            .changes
            .iter()
            .filter(|c| c.entity == target && matches!(c.kind, ChangeKind::Rollout { .. }))
            .collect();
        assert_eq!(rollouts.len(), 1, "{label}: {:?}", snap.changes);
        assert_eq!(rollouts[0].ts_ms, fault_start, "{label}");
        let kube_status = snap
            .sources
            .iter()
            .find(|s| s.name.starts_with("kube "))
            .expect("kube source status");
        assert!(!kube_status.stale, "{label}: {kube_status:?}");
        let inc = snap
            .incidents
            .iter()
            .find(|i| {
                i.anomalies
                    .iter()
                    .any(|a| a.onset_ms >= fault_start - 15_000)
            })
            .unwrap_or_else(|| panic!("{label}: no incident for the fault"));
        let top = inc.causes.first().expect("ranked causes");
        let ranking: Vec<&str> = inc.causes.iter().map(|c| c.entity.name.as_str()).collect();
        assert_eq!(top.entity, target, "{label}: ranking {ranking:?}");
        let first = top.evidence.first();
        assert!(
            matches!(
                first,
                Some(analytics::model::Evidence::Change {
                    change: opscope_model::ChangeEvent {
                        kind: ChangeKind::Rollout { .. },
                        ..
                    },
                    ..
                })
            ),
            "{label}: evidence {:?}",
            top.evidence
        );
        assert!(
            inc.remediation.iter().any(|r| r
                .command
                .as_deref()
                .is_some_and(|c| c.contains("rollout undo"))),
            "{label}: {:?}",
            inc.remediation
        );
    }
    server.shutdown().await;
}
