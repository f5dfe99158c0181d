//! Incident events for subscribers (ChatOps): what changed about the incidents from one
//! published snapshot to the next, as plain data.
//!
//! [`incident_events`] derives them by comparing two consecutive snapshots; the engine loop
//! ([`crate::cycles::drive`]) sends them on a `tokio::sync::broadcast` channel
//! ([`crate::Engine::subscribe_incidents`]).

use analytics::model::{Incident, IncidentStatus, Snapshot};
use collector::model::EntityId;

pub use opscope_model::IncidentEvent;

fn top_cause(i: &Incident) -> Option<&EntityId> {
    i.causes.first().map(|c| &c.entity)
}

fn resolved(incident: &Incident, now_ms: i64) -> IncidentEvent {
    let end = incident.resolved_ms.unwrap_or(now_ms);
    IncidentEvent::Resolved {
        id: incident.id,
        incident: incident.clone(),
        duration_ms: (end - incident.first_seen_ms).max(0),
    }
}

/// The events that lead from `prev` to `next`, in the order of `next`'s incidents (for one
/// incident: `Opened`, or `Updated` then `Escalated`, or `Resolved`), then the open incidents
/// of `prev` that `next` no longer lists (merged into another), as `Resolved`. An incident
/// first seen already resolved (a replay jumping forward) gives `Opened` then `Resolved`.
pub fn incident_events(prev: &Snapshot, next: &Snapshot) -> Vec<IncidentEvent> {
    let mut out = Vec::new();
    for inc in &next.incidents {
        let before = prev.incidents.iter().find(|p| p.id == inc.id);
        let was_open = before.is_some_and(|p| p.status == IncidentStatus::Open);
        match inc.status {
            IncidentStatus::Open => match before {
                Some(p) if was_open => {
                    if top_cause(p) != top_cause(inc) {
                        out.push(IncidentEvent::Updated {
                            id: inc.id,
                            incident: inc.clone(),
                            previous_cause: top_cause(p).cloned(),
                        });
                    }
                    if inc.severity > p.severity {
                        out.push(IncidentEvent::Escalated {
                            id: inc.id,
                            incident: inc.clone(),
                            from: p.severity,
                        });
                    }
                }
                _ => out.push(IncidentEvent::Opened {
                    id: inc.id,
                    incident: inc.clone(),
                }),
            },
            IncidentStatus::Resolved => {
                if before.is_none() {
                    out.push(IncidentEvent::Opened {
                        id: inc.id,
                        incident: inc.clone(),
                    });
                }
                if before.is_none() || was_open {
                    out.push(resolved(inc, next.ts_ms));
                }
            }
        }
    }
    for gone in prev.incidents.iter().filter(|p| {
        p.status == IncidentStatus::Open && !next.incidents.iter().any(|n| n.id == p.id)
    }) {
        out.push(resolved(gone, next.ts_ms));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use analytics::model::{Cause, Incident, Severity};
    use collector::model::SignalKind;

    fn cause(name: &str) -> Cause {
        Cause {
            entity: EntityId::workload("shop", name),
            signal: SignalKind::LatencyP99,
            score: 1.0,
            confidence: 0.8,
            evidence: vec![],
            series: vec![],
        }
    }

    fn incident(id: u64, severity: Severity, top: Option<&str>) -> Incident {
        Incident {
            id,
            status: IncidentStatus::Open,
            severity,
            title: format!("incident {id}"),
            first_seen_ms: 1_000,
            last_seen_ms: 1_000,
            resolved_ms: None,
            anomalies: vec![],
            causes: top.into_iter().map(cause).collect(),
            timeline: vec![],
            remediation: vec![],
        }
    }

    fn snap(ts_ms: i64, incidents: Vec<Incident>) -> Snapshot {
        Snapshot {
            ts_ms,
            incidents,
            ..Snapshot::default()
        }
    }

    #[test]
    fn nothing_changed_no_event() {
        let a = snap(1_000, vec![incident(1, Severity::Warning, Some("cart"))]);
        let mut b = a.clone();
        b.ts_ms = 6_000;
        b.incidents[0].last_seen_ms = 6_000;
        assert_eq!(incident_events(&a, &b), vec![]);
        assert_eq!(
            incident_events(&Snapshot::default(), &Snapshot::default()),
            vec![]
        );
    }

    #[test]
    fn a_new_incident_is_opened() {
        let a = snap(1_000, vec![]);
        let b = snap(6_000, vec![incident(4, Severity::Warning, None)]);
        let ev = incident_events(&a, &b);
        assert_eq!(ev.len(), 1, "{ev:?}");
        assert!(
            matches!(&ev[0], IncidentEvent::Opened { id: 4, .. }),
            "{ev:?}"
        );
        assert_eq!(ev[0].incident(), &b.incidents[0]);
    }

    #[test]
    fn one_resolved_with_its_duration() {
        let a = snap(50_000, vec![incident(2, Severity::Critical, Some("cart"))]);
        let mut b = a.clone();
        b.ts_ms = 61_000;
        b.incidents[0].status = IncidentStatus::Resolved;
        b.incidents[0].resolved_ms = Some(61_000);
        let ev = incident_events(&a, &b);
        assert_eq!(ev.len(), 1, "{ev:?}");
        match &ev[0] {
            IncidentEvent::Resolved {
                id,
                incident,
                duration_ms,
            } => {
                assert_eq!(*id, 2);
                assert_eq!(*duration_ms, 60_000);
                assert_eq!(incident.status, IncidentStatus::Resolved);
            }
            other => panic!("expected Resolved, got {other:?}"),
        }
        // Resolved once: the next snapshot, still resolved, says nothing.
        let mut c = b.clone();
        c.ts_ms = 66_000;
        assert_eq!(incident_events(&b, &c), vec![]);
    }

    #[test]
    fn a_new_top_cause_is_an_update() {
        let a = snap(
            1_000,
            vec![incident(3, Severity::Warning, Some("frontend"))],
        );
        let b = snap(6_000, vec![incident(3, Severity::Warning, Some("cart"))]);
        let ev = incident_events(&a, &b);
        assert_eq!(ev.len(), 1, "{ev:?}");
        match &ev[0] {
            IncidentEvent::Updated {
                id,
                incident,
                previous_cause,
            } => {
                assert_eq!(*id, 3);
                assert_eq!(incident.causes[0].entity.name, "cart");
                assert_eq!(
                    previous_cause.as_ref().map(|e| e.name.as_str()),
                    Some("frontend")
                );
            }
            other => panic!("expected Updated, got {other:?}"),
        }
        // The first ranking counts as a new top cause too.
        let a = snap(1_000, vec![incident(3, Severity::Warning, None)]);
        let ev = incident_events(&a, &b);
        assert!(
            matches!(
                &ev[..],
                [IncidentEvent::Updated {
                    previous_cause: None,
                    ..
                }]
            ),
            "{ev:?}"
        );
    }

    #[test]
    fn a_higher_severity_is_an_escalation() {
        let a = snap(1_000, vec![incident(5, Severity::Warning, Some("cart"))]);
        let b = snap(6_000, vec![incident(5, Severity::Critical, Some("cart"))]);
        let ev = incident_events(&a, &b);
        assert!(
            matches!(
                &ev[..],
                [IncidentEvent::Escalated {
                    id: 5,
                    from: Severity::Warning,
                    ..
                }]
            ),
            "{ev:?}"
        );
        // Down is no event; both at once come as Updated then Escalated.
        assert_eq!(incident_events(&b, &a), vec![]);
        let c = snap(6_000, vec![incident(5, Severity::Critical, Some("db"))]);
        let kinds: Vec<&str> = incident_events(&a, &c)
            .iter()
            .map(|e| match e {
                IncidentEvent::Opened { .. } => "opened",
                IncidentEvent::Updated { .. } => "updated",
                IncidentEvent::Escalated { .. } => "escalated",
                IncidentEvent::Resolved { .. } => "resolved",
            })
            .collect();
        assert_eq!(kinds, ["updated", "escalated"]);
    }

    #[test]
    fn a_merged_incident_is_resolved_and_events_serialize_tagged() {
        let a = snap(
            1_000,
            vec![
                incident(1, Severity::Warning, Some("cart")),
                incident(2, Severity::Warning, Some("db")),
            ],
        );
        let b = snap(11_000, vec![incident(1, Severity::Warning, Some("cart"))]);
        let ev = incident_events(&a, &b);
        assert!(
            matches!(
                &ev[..],
                [IncidentEvent::Resolved {
                    id: 2,
                    duration_ms: 10_000,
                    ..
                }]
            ),
            "{ev:?}"
        );
        let v = serde_json::to_value(&ev[0]).expect("encodes");
        assert_eq!(v["event"], "resolved");
        assert_eq!(v["id"], 2);
        assert_eq!(v["incident"]["title"], "incident 2");
        let back: IncidentEvent = serde_json::from_value(v).expect("decodes");
        assert_eq!(back, ev[0]);
    }
}
