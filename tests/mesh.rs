//! The simulator rendered as Istio and as Linkerd, observed by the collector, shows the same
//! workloads and call edges with close error ratios and latencies. Also Kafka as a Strimzi
//! cluster exposes it: broker entities from the JMX exporter's names beside kafka_exporter's.

use collector::exposition::{Format, parse};
use collector::frames::FrameStore;
use collector::model::{EdgeKind, EntityId, SignalKey, SignalKind};
use collector::observe::{Observation, ObserveOptions, observe};
use fixtures::{Mesh, SimConfig, Simulator};
use std::collections::{BTreeMap, BTreeSet};

const STEP_MS: i64 = 15_000;

/// Observation after `minutes` of `scenario` rendered as `mesh`.
fn run(scenario: &str, mesh: Mesh, minutes: i64) -> Observation {
    run_sim(scenario, minutes, |s| s.with_mesh(mesh))
}

/// Observation after `minutes` of `scenario` on the simulator as `setup` makes it.
fn run_sim(
    scenario: &str,
    minutes: i64,
    setup: impl FnOnce(Simulator) -> Simulator,
) -> Observation {
    let cfg = SimConfig::new(scenario, 11);
    let start = cfg.start_ms;
    let mut sim = setup(Simulator::new(cfg).expect("known scenario"));
    let mut store = FrameStore::new(3_600_000);
    let end = start + minutes * 60_000;
    let mut t = start;
    while t <= end {
        sim.advance_to(t);
        let text = sim.render(None);
        let exp = parse(&text, Format::Prometheus).expect("simulator exposition parses");
        store.append(&exp, t, &[]).expect("append");
        t += STEP_MS;
    }
    observe(&store, end, ObserveOptions::default()).expect("observe")
}

type Calls = BTreeMap<(EntityId, EntityId), (Option<f64>, Option<f64>, Option<f64>)>;

fn calls(o: &Observation) -> Calls {
    o.topology
        .edges
        .iter()
        .filter(|e| e.kind == EdgeKind::Calls)
        .map(|e| {
            (
                (e.from.clone(), e.to.clone()),
                (e.rate_per_s, e.error_ratio, e.p99_ms),
            )
        })
        .collect()
}

fn mesh_signals(o: &Observation, kind: SignalKind) -> BTreeMap<EntityId, f64> {
    o.signals
        .iter()
        .filter(|(k, _)| k.kind == kind)
        .map(|(k, v)| (k.entity.clone(), *v))
        .collect()
}

fn close(a: f64, b: f64, rel: f64, abs: f64) -> bool {
    (a - b).abs() <= abs + rel * a.abs().max(b.abs())
}

fn compare(scenario: &str, minutes: i64) {
    let istio = run(scenario, Mesh::Istio, minutes);
    let linkerd = run(scenario, Mesh::Linkerd, minutes);
    let entities =
        |o: &Observation| -> BTreeSet<EntityId> { o.topology.entities.iter().cloned().collect() };
    assert_eq!(entities(&istio), entities(&linkerd), "{scenario}: entities");
    let (ci, cl) = (calls(&istio), calls(&linkerd));
    assert!(ci.len() > 10, "{scenario}: few call edges: {}", ci.len());
    assert_eq!(
        ci.keys().collect::<Vec<_>>(),
        cl.keys().collect::<Vec<_>>(),
        "{scenario}: call edges"
    );
    for (k, (ri, ei, pi)) in &ci {
        let (rl, el, pl) = &cl[k];
        let (ri, rl) = (ri.unwrap(), rl.unwrap());
        assert!(close(ri, rl, 1e-9, 1e-9), "{k:?} rate {ri} vs {rl}");
        let (ei, el) = (ei.unwrap(), el.unwrap());
        assert!(close(ei, el, 0.0, 1e-9), "{k:?} error ratio {ei} vs {el}");
        match (pi, pl) {
            (Some(a), Some(b)) => assert!(close(*a, *b, 0.05, 1.0), "{k:?} p99 {a} vs {b}"),
            (a, b) => assert_eq!(a.is_some(), b.is_some(), "{k:?} p99 {a:?} vs {b:?}"),
        }
    }
    for kind in [
        SignalKind::RequestRate,
        SignalKind::ErrorRatio,
        SignalKind::LatencyP99,
        SignalKind::CallerLatencyP99,
    ] {
        let (si, sl) = (mesh_signals(&istio, kind), mesh_signals(&linkerd, kind));
        assert!(!si.is_empty(), "{scenario}: no {kind:?}");
        assert_eq!(
            si.keys().collect::<Vec<_>>(),
            sl.keys().collect::<Vec<_>>(),
            "{scenario}: {kind:?} workloads"
        );
        for (wl, a) in &si {
            let b = sl[wl];
            let ok = match kind {
                SignalKind::ErrorRatio => close(*a, b, 0.0, 1e-9),
                SignalKind::RequestRate => close(*a, b, 1e-9, 1e-9),
                _ => close(*a, b, 0.05, 1.0),
            };
            assert!(
                ok,
                "{scenario}: {kind:?} of {wl:?}: istio {a} vs linkerd {b}"
            );
        }
    }
    assert_eq!(
        istio.requests.keys().collect::<Vec<_>>(),
        linkerd.requests.keys().collect::<Vec<_>>()
    );
    assert_eq!(
        istio.latency_histograms.keys().collect::<Vec<_>>(),
        linkerd.latency_histograms.keys().collect::<Vec<_>>()
    );
}

#[test]
fn istio_and_linkerd_agree_without_faults() {
    compare("none", 10);
}

#[test]
fn istio_and_linkerd_agree_on_errors() {
    // The fault starts after one minute; errors are visible by minute five.
    let o = run("errors", Mesh::Linkerd, 5);
    let err = o.signals[&SignalKey {
        entity: EntityId::workload("shop", "currencyservice"),
        kind: SignalKind::ErrorRatio,
    }];
    assert!(
        err > 0.01,
        "currencyservice error ratio under Linkerd: {err}"
    );
    compare("errors", 5);
}

#[test]
fn linkerd_rendering_is_deterministic_and_istio_free() {
    let render = || {
        let mut sim = Simulator::new(SimConfig::new("errors", 3))
            .expect("known scenario")
            .with_mesh(Mesh::Linkerd);
        sim.advance_to(sim.now_ms() + 5 * 60_000);
        sim.render(None)
    };
    let text = render();
    assert_eq!(text, render());
    assert!(
        !text.contains("istio_request"),
        "Istio families in Linkerd output"
    );
    for family in [
        "request_total{",
        "response_total{",
        "response_latency_ms_bucket{",
    ] {
        assert!(text.contains(family), "missing {family}");
    }
    assert!(text.contains("classification=\"failure\""));
}

#[test]
fn linkerd_series_are_unique_and_responses_add_up_to_requests() {
    let mut sim = Simulator::new(SimConfig::new("errors", 4))
        .expect("known scenario")
        .with_mesh(Mesh::Linkerd);
    sim.advance_to(sim.now_ms() + 10 * 60_000);
    let text = sim.render(None);
    let exp = parse(&text, Format::Prometheus).expect("parses");
    let mut seen = BTreeSet::new();
    // labels without classification/status_code -> (requests, responses)
    let mut per: BTreeMap<Vec<(String, String)>, (f64, f64)> = BTreeMap::new();
    for fam in &exp.families {
        for s in &fam.samples {
            let mut labels: Vec<(String, String)> = s
                .labels
                .iter()
                .map(|l| (l.name.to_owned(), l.value.to_string()))
                .collect();
            labels.sort();
            assert!(
                seen.insert((s.name.to_owned(), labels.clone())),
                "duplicate series {} {labels:?}",
                s.name
            );
            labels.retain(|(k, _)| k != "classification" && k != "status_code");
            match s.name {
                "request_total" => per.entry(labels).or_default().0 += s.value,
                "response_total" => per.entry(labels).or_default().1 += s.value,
                _ => {}
            }
        }
    }
    assert!(per.len() > 10);
    for (labels, (req, resp)) in per {
        assert_eq!(req, resp, "{labels:?}");
    }
}

#[test]
fn strimzi_brokers_show_with_their_messages_in_and_replication() {
    let plain = run_sim("none", 5, |s| s);
    let strimzi = run_sim("none", 5, |s| s.with_strimzi(true));
    let brokers: BTreeSet<String> = strimzi
        .topology
        .entities
        .iter()
        .filter(|e| e.kind == collector::model::EntityKind::Broker)
        .map(|e| e.name.clone())
        .collect();
    let want: BTreeSet<String> = fixtures::KAFKA_BROKERS
        .iter()
        .map(|b| (*b).to_owned())
        .collect();
    assert_eq!(brokers, want);
    assert!(
        !plain
            .topology
            .entities
            .iter()
            .any(|e| e.kind == collector::model::EntityKind::Broker),
        "brokers without Strimzi metrics"
    );
    // The brokers' messages in add up to the topic's (kafka_exporter's log end offsets).
    let publish = mesh_signals(&strimzi, SignalKind::PublishRate);
    let topic = EntityId::new(
        collector::model::EntityKind::Topic,
        "",
        fixtures::KAFKA_TOPIC,
    );
    let topic_rate = *publish.get(&topic).expect("topic messages in");
    let broker_sum: f64 = publish
        .iter()
        .filter(|(e, _)| e.kind == collector::model::EntityKind::Broker)
        .map(|(_, v)| v)
        .sum();
    assert!(topic_rate > 0.1, "{topic_rate}");
    assert!(
        close(broker_sum, topic_rate, 0.02, 0.01),
        "brokers {broker_sum} msg/s vs topic {topic_rate} msg/s"
    );
    assert_eq!(
        mesh_signals(&plain, SignalKind::PublishRate).get(&topic),
        Some(&topic_rate),
        "Strimzi's per-topic counter must not double the topic's rate"
    );
    // Under-replicated partitions: kafka_exporter's per topic, Strimzi's per broker; 0 here.
    let ur = mesh_signals(&strimzi, SignalKind::UnderReplicatedPartitions);
    assert_eq!(ur.get(&topic), Some(&0.0), "{ur:?}");
    for b in fixtures::KAFKA_BROKERS {
        let id = EntityId::new(collector::model::EntityKind::Broker, "", b);
        assert_eq!(ur.get(&id), Some(&0.0), "{b}: {ur:?}");
    }
}
