//! A realistic, fabricated snapshot of the simulated shop for the TUI's tests: 13 workloads, the
//! `orders` topic and `emails` queue, 3 nodes, one open latency incident rooted at
//! paymentservice (3 ranked causes with evidence and series) and one resolved incident, two SLO
//! objectives (frontend availability healthy, checkoutservice latency paging), one firing rule
//! alert and the paymentservice rollout. All times are fixed so rendered snapshots are stable.
#![allow(dead_code)]

use opscope_model::{
    Action, Anomaly, Cause, Direction, EntityHealth, Evidence, Health, Incident, IncidentStatus,
    Remediation, Severity, Snapshot, TimelineEntry,
};
use opscope_model::{Alert, AlertState};
use opscope_model::{BurnAlert, BurnAlertState, Objective, SloStatus, WindowBurn};
use opscope_model::{BurnSeverity, Op, RuleSeverity};
use opscope_model::{
    ChangeEvent, ChangeKind, Edge, EdgeKind, EntityId, EntityKind, Point, SignalKey, SignalKind,
    SourceStatus, Topology,
};

/// Snapshot time: 2023-11-14 22:13:20 UTC.
pub const T0: i64 = 1_700_000_000_000;
const S: i64 = 1000;
const MIB: f64 = 1024.0 * 1024.0;
const GIB: f64 = 1024.0 * MIB;

pub fn wl(name: &str) -> EntityId {
    let ns = if name == "istio-ingressgateway" {
        "istio-system"
    } else {
        "shop"
    };
    EntityId::workload(ns, name)
}

pub fn topic(name: &str) -> EntityId {
    EntityId::new(EntityKind::Topic, "", name)
}

pub fn queue(name: &str) -> EntityId {
    EntityId::new(EntityKind::Queue, "", name)
}

pub fn node(name: &str) -> EntityId {
    EntityId::new(EntityKind::Node, "", name)
}

fn edge(
    kind: EdgeKind,
    from: EntityId,
    to: EntityId,
    rate: f64,
    err: Option<f64>,
    p99: Option<f64>,
) -> Edge {
    Edge {
        rate_per_s: Some(rate),
        error_ratio: err,
        p99_ms: p99,
        ..Edge::new(kind, from, to)
    }
}

fn call(from: &str, to: &str, rate: f64, err: f64, p99: f64) -> Edge {
    edge(
        EdgeKind::Calls,
        wl(from),
        wl(to),
        rate,
        Some(err),
        Some(p99),
    )
}

/// (name, health, rps, error ratio, p99 ms, cpu cores, memory MiB, restarts)
type Row = (
    &'static str,
    Health,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    f64,
    f64,
    f64,
);

const WORKLOADS: [Row; 13] = [
    (
        "istio-ingressgateway",
        Health::Warning,
        Some(52.4),
        Some(0.0042),
        Some(652.0),
        0.31,
        96.0,
        0.0,
    ),
    (
        "frontend",
        Health::Warning,
        Some(52.4),
        Some(0.0031),
        Some(618.0),
        0.42,
        181.3,
        0.0,
    ),
    (
        "checkoutservice",
        Health::Warning,
        Some(3.1),
        Some(0.0021),
        Some(561.0),
        0.12,
        74.2,
        0.0,
    ),
    (
        "paymentservice",
        Health::Critical,
        Some(3.1),
        Some(0.0011),
        Some(524.0),
        0.05,
        58.9,
        0.0,
    ),
    (
        "cartservice",
        Health::Ok,
        Some(18.3),
        Some(0.0004),
        Some(12.0),
        0.21,
        142.7,
        0.0,
    ),
    (
        "productcatalogservice",
        Health::Ok,
        Some(140.2),
        Some(0.0),
        Some(9.0),
        0.38,
        65.0,
        0.0,
    ),
    (
        "currencyservice",
        Health::Ok,
        Some(118.6),
        Some(0.0005),
        Some(6.0),
        0.27,
        88.4,
        0.0,
    ),
    (
        "recommendationservice",
        Health::Ok,
        Some(21.0),
        Some(0.0),
        Some(28.0),
        0.19,
        210.5,
        0.0,
    ),
    (
        "adservice",
        Health::Ok,
        Some(20.9),
        Some(0.0005),
        Some(22.0),
        0.16,
        233.0,
        0.0,
    ),
    (
        "shippingservice",
        Health::Ok,
        Some(9.4),
        Some(0.0),
        Some(7.0),
        0.04,
        31.2,
        0.0,
    ),
    (
        "emailservice",
        Health::Ok,
        Some(3.1),
        Some(0.0),
        Some(55.0),
        0.06,
        97.8,
        1.0,
    ),
    (
        "redis-cart",
        Health::Ok,
        Some(36.6),
        Some(0.0),
        Some(3.0),
        0.08,
        27.1,
        0.0,
    ),
    ("fulfillment", Health::Ok, None, None, None, 0.03, 44.0, 0.0),
];

pub fn topology() -> Topology {
    let mut entities: Vec<EntityId> = WORKLOADS.iter().map(|w| wl(w.0)).collect();
    entities.extend([
        topic("orders"),
        queue("emails"),
        node("node-a"),
        node("node-b"),
        node("node-c"),
    ]);
    entities.sort();
    let mut edges = vec![
        call("istio-ingressgateway", "frontend", 52.4, 0.0042, 652.0),
        call("frontend", "cartservice", 18.3, 0.0004, 14.0),
        call("frontend", "productcatalogservice", 131.0, 0.0, 11.0),
        call("frontend", "currencyservice", 104.8, 0.0005, 8.0),
        call("frontend", "recommendationservice", 21.0, 0.0, 31.0),
        call("frontend", "adservice", 20.9, 0.0005, 25.0),
        call("frontend", "checkoutservice", 3.1, 0.0021, 575.0),
        call("frontend", "shippingservice", 6.3, 0.0, 9.0),
        call("cartservice", "redis-cart", 36.6, 0.0, 4.0),
        call(
            "recommendationservice",
            "productcatalogservice",
            6.1,
            0.0,
            10.0,
        ),
        call("checkoutservice", "cartservice", 3.1, 0.0, 13.0),
        call("checkoutservice", "productcatalogservice", 3.1, 0.0, 10.0),
        call("checkoutservice", "currencyservice", 13.8, 0.0, 7.0),
        call("checkoutservice", "shippingservice", 3.1, 0.0, 8.0),
        call("checkoutservice", "paymentservice", 3.1, 0.0011, 538.0),
        call("checkoutservice", "emailservice", 3.1, 0.0, 58.0),
        edge(
            EdgeKind::Produces,
            wl("checkoutservice"),
            topic("orders"),
            3.1,
            None,
            None,
        ),
        edge(
            EdgeKind::Produces,
            wl("checkoutservice"),
            queue("emails"),
            3.1,
            None,
            None,
        ),
        edge(
            EdgeKind::Consumes,
            wl("fulfillment"),
            topic("orders"),
            3.1,
            None,
            None,
        ),
        edge(
            EdgeKind::Consumes,
            wl("emailservice"),
            queue("emails"),
            3.1,
            None,
            None,
        ),
    ];
    edges.sort_by(|a, b| (a.kind, &a.from, &a.to).cmp(&(b.kind, &b.from, &b.to)));
    Topology { entities, edges }
}

fn entities() -> Vec<EntityHealth> {
    let mut out: Vec<EntityHealth> = WORKLOADS
        .iter()
        .map(|&(name, health, rps, err, p99, cpu, mem, restarts)| {
            let mut signals = Vec::new();
            if let Some(v) = rps {
                signals.push((SignalKind::RequestRate, v));
            }
            if let Some(v) = err {
                signals.push((SignalKind::ErrorRatio, v));
            }
            if let Some(v) = p99 {
                signals.push((SignalKind::LatencyP99, v));
            }
            signals.push((SignalKind::CpuCores, cpu));
            signals.push((SignalKind::MemoryBytes, mem * MIB));
            signals.push((SignalKind::Restarts, restarts));
            signals.push((SignalKind::ReplicasUnavailable, 0.0));
            EntityHealth {
                scores: Vec::new(),
                entity: wl(name),
                health,
                signals,
            }
        })
        .collect();
    out.push(EntityHealth {
        scores: Vec::new(),
        entity: topic("orders"),
        health: Health::Ok,
        signals: vec![(SignalKind::ConsumerLag, 6.0)],
    });
    // The RabbitMQ source is stale, so the queue's health is unknown.
    out.push(EntityHealth {
        scores: Vec::new(),
        entity: queue("emails"),
        health: Health::Unknown,
        signals: vec![(SignalKind::QueueDepth, 2.0)],
    });
    for (name, busy, avail) in [
        ("node-a", 0.41, 5.3),
        ("node-b", 0.71, 3.9),
        ("node-c", 0.33, 6.1),
    ] {
        let health = if busy > 0.7 {
            Health::Warning
        } else {
            Health::Ok
        };
        out.push(EntityHealth {
            scores: Vec::new(),
            entity: node(name),
            health,
            signals: vec![
                (SignalKind::NodeCpuBusy, busy),
                (SignalKind::NodeMemAvailable, avail * GIB),
            ],
        });
    }
    out.sort_by(|a, b| a.entity.cmp(&b.entity));
    out
}

/// Deterministic wobble in [-1, 1].
fn wobble(i: i64) -> f64 {
    ((i as f64) * 1.7).sin() * 0.6 + ((i as f64) * 0.37).cos() * 0.4
}

/// 60 points, one per 10 s, ending at T0; `base` before `onset_ms`, ramping to `peak` after.
pub fn series(base: f64, peak: f64, onset_ms: i64, noise: f64) -> Vec<Point> {
    (0..60)
        .map(|i| {
            let ts_ms = T0 - (59 - i) * 10 * S;
            let level = if ts_ms < onset_ms {
                base
            } else {
                base + (peak - base) * (((ts_ms - onset_ms) / (10 * S)) as f64 / 3.0).min(1.0)
            };
            Point {
                ts_ms,
                value: level * (1.0 + noise * wobble(i)),
            }
        })
        .collect()
}

fn anomaly(
    entity: EntityId,
    kind: SignalKind,
    onset_ms: i64,
    score: f64,
    baseline: f64,
    current: f64,
) -> Anomaly {
    Anomaly {
        signal: SignalKey { entity, kind },
        onset_ms,
        detected_ms: onset_ms + 20 * S,
        last_ms: T0,
        score,
        direction: if current >= baseline {
            Direction::Up
        } else {
            Direction::Down
        },
        baseline,
        current,
        rule: None,
    }
}

fn deviation(signal: SignalKind, baseline: f64, current: f64, since_ms: i64) -> Evidence {
    Evidence::Deviation {
        entity: None,
        signal,
        direction: if current >= baseline {
            Direction::Up
        } else {
            Direction::Down
        },
        baseline,
        current,
        since_ms,
    }
}

fn payment_rollout() -> ChangeEvent {
    changes().remove(0)
}

pub fn open_incident() -> Incident {
    let onset = T0 - 280 * S; // 22:08:40
    Incident {
        id: 3,
        status: IncidentStatus::Open,
        severity: Severity::Critical,
        title: "latency p99 up on paymentservice and 3 more".into(),
        first_seen_ms: T0 - 250 * S,
        last_seen_ms: T0,
        resolved_ms: None,
        anomalies: vec![
            anomaly(
                wl("paymentservice"),
                SignalKind::LatencyP99,
                onset,
                0.97,
                36.0,
                524.0,
            ),
            anomaly(
                wl("checkoutservice"),
                SignalKind::LatencyP99,
                onset + 10 * S,
                0.91,
                74.0,
                561.0,
            ),
            anomaly(
                wl("frontend"),
                SignalKind::LatencyP99,
                onset + 20 * S,
                0.84,
                120.0,
                618.0,
            ),
            anomaly(
                wl("istio-ingressgateway"),
                SignalKind::LatencyP99,
                onset + 25 * S,
                0.80,
                131.0,
                652.0,
            ),
            anomaly(
                node("node-b"),
                SignalKind::NodeCpuBusy,
                onset + 5 * S,
                0.55,
                0.38,
                0.71,
            ),
        ],
        causes: vec![
            Cause {
                entity: wl("paymentservice"),
                signal: SignalKind::LatencyP99,
                score: 2.41,
                confidence: 0.78,
                evidence: vec![
                    Evidence::Change {
                        change: payment_rollout(),
                        before_onset_ms: 15 * S,
                    },
                    deviation(SignalKind::LatencyP99, 36.0, 524.0, onset),
                    Evidence::BeganBeforeCallers { lead_ms: 10 * S },
                    Evidence::CallsNothing,
                ],
                series: series(36.0, 524.0, onset, 0.06),
            },
            Cause {
                entity: wl("checkoutservice"),
                signal: SignalKind::LatencyP99,
                score: 0.44,
                confidence: 0.14,
                evidence: vec![
                    deviation(SignalKind::LatencyP99, 74.0, 561.0, onset + 10 * S),
                    Evidence::DependsOnDegraded {
                        dependencies: vec![wl("paymentservice")],
                    },
                ],
                series: series(74.0, 561.0, onset + 10 * S, 0.05),
            },
            Cause {
                entity: node("node-b"),
                signal: SignalKind::NodeCpuBusy,
                score: 0.16,
                confidence: 0.05,
                evidence: vec![
                    deviation(SignalKind::NodeCpuBusy, 0.38, 0.71, onset + 5 * S),
                    Evidence::DegradedWorkloadsOnNode {
                        workloads: vec![wl("paymentservice")],
                    },
                ],
                series: series(0.38, 0.71, onset + 5 * S, 0.04),
            },
        ],
        timeline: vec![
            TimelineEntry {
                ts_ms: T0 - 295 * S,
                text: "rollout paymentservice to revision 7 (shop/paymentservice:v0.10.2)".into(),
            },
            TimelineEntry {
                ts_ms: T0 - 250 * S,
                text: "opened: latency p99 up on paymentservice".into(),
            },
            TimelineEntry {
                ts_ms: T0 - 230 * S,
                text: "escalated to critical: frontend p99 above 500 ms".into(),
            },
            TimelineEntry {
                ts_ms: T0 - 228 * S,
                text: "notified #shop-oncall (Slack)".into(),
            },
        ],
        remediation: vec![Remediation {
            action: Action::RollBack {
                workload: wl("paymentservice"),
                change: payment_rollout(),
                before_onset_ms: 15 * S,
            },
            command: Some("kubectl rollout undo deployment/paymentservice -n shop".into()),
        }],
    }
}

pub fn resolved_incident() -> Incident {
    Incident {
        id: 2,
        status: IncidentStatus::Resolved,
        severity: Severity::Warning,
        title: "error ratio up on currencyservice".into(),
        first_seen_ms: T0 - 3_900 * S,
        last_seen_ms: T0 - 3_300 * S,
        resolved_ms: Some(T0 - 3_240 * S),
        anomalies: vec![anomaly(
            wl("currencyservice"),
            SignalKind::ErrorRatio,
            T0 - 3_930 * S,
            0.9,
            0.0005,
            0.21,
        )],
        causes: vec![Cause {
            entity: wl("currencyservice"),
            signal: SignalKind::ErrorRatio,
            score: 1.2,
            confidence: 0.91,
            evidence: vec![deviation(
                SignalKind::ErrorRatio,
                0.0005,
                0.21,
                T0 - 3_930 * S,
            )],
            series: series(0.0005, 0.21, T0 - 3_930 * S, 0.1),
        }],
        timeline: vec![TimelineEntry {
            ts_ms: T0 - 3_240 * S,
            text: "resolved: error ratio back to baseline".into(),
        }],
        remediation: Vec::new(),
    }
}

pub fn sources() -> Vec<SourceStatus> {
    let ok = |name: &str, samples: usize| SourceStatus {
        name: name.to_string(),
        last_success_ms: Some(T0 - 400),
        stale: false,
        last_error: None,
        samples,
        duration_ms: 38,
    };
    vec![
        ok("sim:istio", 4_212),
        ok("sim:kube-state-metrics", 612),
        ok("sim:cadvisor", 1_404),
        ok("sim:node-exporter", 903),
        ok("sim:kafka-exporter", 48),
        SourceStatus {
            name: "sim:rabbitmq".into(),
            last_success_ms: Some(T0 - 95 * S),
            stale: true,
            last_error: Some("timed out after 5 s".into()),
            samples: 0,
            duration_ms: 5_000,
        },
    ]
}

/// The whole snapshot: cycle 84 at [`T0`].
pub fn snapshot() -> Snapshot {
    Snapshot {
        version: opscope_model::SCHEMA_VERSION,
        cycle: 84,
        ts_ms: T0,
        topology: topology(),
        entities: entities(),
        incidents: vec![open_incident(), resolved_incident()],
        sources: sources(),
        changes: changes(),
        alerts: vec![rule_alert()],
        slos: slos(),
        burn_alerts: vec![burn_alert()],
        collector: Default::default(),
        edge_health: vec![],
        learning_until_ms: None,
    }
}

/// The paymentservice rollout behind the open incident (22:08:25).
pub fn changes() -> Vec<ChangeEvent> {
    vec![ChangeEvent {
        ts_ms: T0 - 295 * S,
        entity: wl("paymentservice"),
        kind: ChangeKind::Rollout {
            from_revision: Some("paymentservice-6".into()),
            to_revision: "paymentservice-7".into(),
            image: Some("shop/paymentservice:v0.10.2".into()),
        },
    }]
}

const MIN: i64 = 60 * S;
const HOUR: i64 = 60 * MIN;

/// Burn rates over the default policy's windows (5m, 30m, 1h, 2h, 6h, 1d, 3d), shortest first.
fn windows(burns: [f64; 7], per_min: f64, target: f64) -> Vec<WindowBurn> {
    [
        5 * MIN,
        30 * MIN,
        HOUR,
        2 * HOUR,
        6 * HOUR,
        24 * HOUR,
        72 * HOUR,
    ]
    .into_iter()
    .zip(burns)
    .map(|(window_ms, burn)| {
        let total = per_min * (window_ms / MIN) as f64;
        WindowBurn {
            window_ms,
            burn_rate: Some(burn),
            total,
            bad: total * burn * (1.0 - target),
        }
    })
    .collect()
}

/// Two objectives: checkoutservice latency (p<=300ms for 99%) burning fast enough to page,
/// and frontend availability (99.9%) healthy.
pub fn slos() -> Vec<SloStatus> {
    let period_ms = 30 * 24 * HOUR;
    vec![
        SloStatus {
            service: "frontend".into(),
            namespace: Some("shop".into()),
            objective: Objective::Availability,
            target: 0.999,
            windows: windows([0.2, 0.3, 0.3, 0.4, 0.5, 0.4, 0.4], 3_144.0, 0.999),
            period_ms,
            period_total: 4_500_000.0,
            period_bad: 315.0,
            budget_remaining: Some(0.93),
        },
        SloStatus {
            service: "checkoutservice".into(),
            namespace: Some("shop".into()),
            objective: Objective::Latency {
                threshold_ms: 300.0,
            },
            target: 0.99,
            windows: windows([18.5, 15.1, 14.8, 8.0, 3.1, 1.2, 0.6], 186.0, 0.99),
            period_ms,
            period_total: 268_000.0,
            period_bad: 1_662.0,
            budget_remaining: Some(0.38),
        },
    ]
}

/// The fast-burn page on checkoutservice latency: 1h at 14.8x and 5m at 18.5x (factor 14.4).
pub fn burn_alert() -> BurnAlert {
    BurnAlert {
        service: "checkoutservice".into(),
        namespace: Some("shop".into()),
        objective: Objective::Latency {
            threshold_ms: 300.0,
        },
        target: 0.99,
        severity: BurnSeverity::Page,
        factor: 14.4,
        long_window_ms: HOUR,
        short_window_ms: 5 * MIN,
        long_burn: Some(14.8),
        short_burn: Some(18.5),
        since_ms: T0 - 200 * S,
        state: BurnAlertState::Firing,
    }
}

/// A critical static-threshold alert on paymentservice p99, firing for 3m 10s.
pub fn rule_alert() -> Alert {
    Alert {
        rule: "payment-p99".into(),
        entity: wl("paymentservice"),
        signal: SignalKind::LatencyP99,
        value: 524.0,
        op: Op::Gt,
        threshold: 500.0,
        severity: RuleSeverity::Critical,
        labels: Default::default(),
        summary: Some("paymentservice p99 above 500 ms".into()),
        active_since_ms: T0 - 250 * S,
        fired_at_ms: Some(T0 - 190 * S),
        resolved_at_ms: None,
        state: AlertState::Firing,
    }
}
