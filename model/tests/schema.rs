//! The snapshot document is the one public contract (`snapshot --json`, `GET /api/v1/snapshot`,
//! the web UI, chat payloads). This test pins its field names and shapes: a change to the
//! pinned document is a change to the contract, and needs a new `SCHEMA_VERSION` unless it only
//! adds an optional field.

use opscope_model::*;
use std::collections::BTreeMap;

const T: i64 = 1_700_000_000_000;

fn w(name: &str) -> EntityId {
    EntityId::workload("shop", name)
}

fn rollout() -> ChangeEvent {
    ChangeEvent {
        ts_ms: T - 60_000,
        entity: w("paymentservice"),
        kind: ChangeKind::Rollout {
            from_revision: Some("paymentservice-6".into()),
            to_revision: "paymentservice-7".into(),
            image: Some("shop/paymentservice:v0.10.2".into()),
        },
    }
}

/// Every kind of value the document can hold, once.
fn sample() -> Snapshot {
    let topic = EntityId::new(EntityKind::Topic, "", "orders");
    let node = EntityId::new(EntityKind::Node, "", "node-a");
    let payment = w("paymentservice");
    let anomaly = Anomaly {
        signal: SignalKey {
            entity: payment.clone(),
            kind: SignalKind::LatencyP99,
        },
        onset_ms: T - 45_000,
        detected_ms: T - 30_000,
        last_ms: T,
        score: 0.93,
        direction: Direction::Up,
        baseline: 24.0,
        current: 496.0,
        rule: None,
    };
    let evidence = vec![
        Evidence::Change {
            change: rollout(),
            before_onset_ms: 15_000,
        },
        Evidence::Deviation {
            entity: None,
            signal: SignalKind::LatencyP99,
            direction: Direction::Up,
            baseline: 24.0,
            current: 496.0,
            since_ms: T - 45_000,
        },
        Evidence::AlertFiring {
            entity: Some(w("frontend")),
            alert: "frontend-errors: error ratio 7.2% > 5.0%".into(),
        },
        Evidence::Terminated {
            reason: "OOMKilled".into(),
        },
        Evidence::UnusualMix {
            distance_ratio: 2.4,
        },
        Evidence::ContainersWaiting {
            reason: "CrashLoopBackOff".into(),
        },
        Evidence::ServesFastItself {
            latency_p99_ms: 9.0,
        },
        Evidence::DegradedWorkloadsOnNode {
            workloads: vec![payment.clone()],
        },
        Evidence::CallersDegraded {
            callers: vec![w("checkoutservice")],
        },
        Evidence::BeganBeforeCallers { lead_ms: 10_000 },
        Evidence::Consumes {
            from: topic.clone(),
            rate_per_s: 12.5,
        },
        Evidence::CallsNothing,
        Evidence::DependenciesHealthy {
            dependencies: vec![w("redis-cart")],
        },
        Evidence::DependsOnDegraded {
            dependencies: vec![payment.clone()],
        },
    ];
    let remediation = vec![
        Action::MoveWorkOffNode { node: node.clone() },
        Action::RollBack {
            workload: payment.clone(),
            change: rollout(),
            before_onset_ms: 15_000,
        },
        Action::RevertDeploy {
            workload: payment.clone(),
            note: "jenkins #77".into(),
            before_onset_ms: 20_000,
        },
        Action::ReadWhyWaiting {
            workload: payment.clone(),
            reason: "CrashLoopBackOff".into(),
        },
        Action::MoreMemory {
            workload: payment.clone(),
            terminated: Some("OOMKilled".into()),
        },
        Action::ScaleOut {
            workload: payment.clone(),
        },
        Action::RestartConsumers {
            workload: w("fulfillment"),
        },
        Action::CheckNetwork {
            workload: payment.clone(),
        },
        Action::ReadLogs {
            workload: payment.clone(),
        },
    ]
    .into_iter()
    .map(|action| Remediation {
        action,
        command: Some("kubectl rollout undo deployment/paymentservice -n shop".into()),
    })
    .collect();
    let mut edge = Edge::new(EdgeKind::Calls, w("checkoutservice"), payment.clone());
    edge.rate_per_s = Some(20.0);
    edge.error_ratio = Some(0.0);
    edge.p99_ms = Some(510.0);
    let mut consumes = Edge::new(EdgeKind::Consumes, w("fulfillment"), topic.clone());
    consumes.rate_per_s = Some(3.0);
    consumes.backlog = Some(120.0);
    consumes.backlog_growth_per_s = Some(5.0);
    Snapshot {
        version: SCHEMA_VERSION,
        cycle: 84,
        ts_ms: T,
        topology: Topology {
            entities: vec![node.clone(), payment.clone(), topic.clone()],
            edges: vec![edge, consumes],
        },
        entities: vec![EntityHealth {
            scores: Vec::new(),
            entity: payment.clone(),
            health: Health::Critical,
            signals: vec![
                (SignalKind::RequestRate, 20.0),
                (SignalKind::LatencyP99, 496.0),
                (SignalKind::ErrorRatio, f64::NAN),
            ],
        }],
        incidents: vec![Incident {
            id: 3,
            status: IncidentStatus::Open,
            severity: Severity::Critical,
            title: "latency p99 up on paymentservice".into(),
            first_seen_ms: T - 30_000,
            last_seen_ms: T,
            resolved_ms: None,
            anomalies: vec![anomaly],
            causes: vec![Cause {
                entity: payment.clone(),
                signal: SignalKind::LatencyP99,
                score: 2.41,
                confidence: 0.78,
                evidence,
                series: vec![Point {
                    ts_ms: T,
                    value: 496.0,
                }],
            }],
            timeline: vec![TimelineEntry {
                ts_ms: T - 30_000,
                text: "opened: latency p99 up on paymentservice".into(),
            }],
            remediation,
        }],
        sources: vec![SourceStatus {
            name: "http://127.0.0.1:9464/metrics".into(),
            last_success_ms: Some(T),
            stale: false,
            last_error: None,
            samples: 4_210,
            duration_ms: 12,
        }],
        changes: vec![rollout()],
        alerts: vec![Alert {
            rule: "payment-latency".into(),
            entity: payment.clone(),
            signal: SignalKind::LatencyP99,
            value: 496.0,
            op: Op::Gt,
            threshold: 300.0,
            severity: RuleSeverity::Critical,
            labels: BTreeMap::from([("team".to_owned(), "payments".to_owned())]),
            summary: Some("payments are slow".into()),
            active_since_ms: T - 120_000,
            fired_at_ms: Some(T - 60_000),
            resolved_at_ms: None,
            state: AlertState::Firing,
        }],
        slos: vec![SloStatus {
            service: "frontend".into(),
            namespace: Some("shop".into()),
            objective: Objective::Latency {
                threshold_ms: 300.0,
            },
            target: 0.99,
            windows: vec![WindowBurn {
                window_ms: 300_000,
                burn_rate: Some(14.2),
                total: 6_000.0,
                bad: 852.0,
            }],
            period_ms: 30 * 86_400_000,
            period_total: 1.0e6,
            period_bad: 2_000.0,
            budget_remaining: Some(0.8),
        }],
        burn_alerts: vec![BurnAlert {
            service: "frontend".into(),
            namespace: Some("shop".into()),
            objective: Objective::Availability,
            target: 0.999,
            severity: BurnSeverity::Page,
            factor: 14.4,
            long_window_ms: 3_600_000,
            short_window_ms: 300_000,
            long_burn: Some(15.0),
            short_burn: Some(20.0),
            since_ms: T - 60_000,
            state: BurnAlertState::Firing,
        }],
        collector: CollectorStats {
            series: 12_000,
            max_series: 200_000,
            dropped_samples_total: 0,
            samples_per_target: 500_000,
            over_sample_limit_total: 0,
            frame_bytes: 3_145_728,
        },
        edge_health: vec![EdgeHealth {
            from: w("fulfillment"),
            to: topic,
            kind: EdgeKind::Consumes,
            health: Health::Critical,
            reason: "backlog 120 msgs, +5.0 msg/s: growing while the consumer takes none".into(),
            backlog: 120.0,
            growth_per_s: Some(5.0),
        }],
        learning_until_ms: Some(T + 45_000),
    }
}

#[test]
fn the_snapshot_document_is_pinned() {
    let doc = serde_json::to_string_pretty(&sample()).expect("serializes");
    insta::assert_snapshot!("snapshot_v1", doc);
}

#[test]
fn the_document_reads_back_as_written() {
    let s = sample();
    let doc = serde_json::to_string(&s).expect("serializes");
    let back: Snapshot = serde_json::from_str(&doc).expect("reads back");
    // The NaN signal is left out of the document; everything else survives.
    let mut expected = s.clone();
    expected.entities[0].signals.retain(|(_, v)| v.is_finite());
    assert_eq!(back, expected);
}

#[test]
fn a_document_without_a_version_is_version_1_and_unknown_fields_are_ignored() {
    let back: Snapshot = serde_json::from_str(
        r#"{"cycle": 1, "ts_ms": 0, "topology": {"entities": [], "edges": []},
            "entities": [], "incidents": [], "sources": [], "a_later_field": true}"#,
    )
    .expect("reads");
    assert_eq!(back.version, 1);
    assert_eq!(Snapshot::default().version, SCHEMA_VERSION);
}
