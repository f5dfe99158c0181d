//! Static-threshold rules (`[[rule]]` in the configuration), evaluated once per cycle with a
//! Prometheus-style state machine per (rule, entity):
//!
//! ```text
//! inactive --condition true--> pending --true for `for`--> firing --condition false--> resolved
//!                 ^                |                                                    |
//!                 +--false---------+                     (reported once, then inactive) +
//! ```
//!
//! A rule with `for = 0` fires in the cycle its condition first holds. Missing or NaN values
//! never make a condition true: a pending alert without data goes back to inactive; a firing
//! alert without data keeps firing for up to [`RuleEngine::stale_after_ms`] (default 5 min, like
//! Prometheus' lookback) so one lost scrape does not resolve and re-fire it, then resolves.
//!
//! Pure: no I/O, time comes from the observation.

use collector::model::{EntityId, EntityKind, SignalKey, SignalKind};
use collector::observe::Observation;
use opscope_config::{EntityKindName, EntitySelector, Rule, SignalName};
pub use opscope_model::{Alert, AlertState};
use std::collections::{BTreeMap, HashMap};

/// The collector signal a configuration signal name means.
pub fn signal_kind(s: SignalName) -> SignalKind {
    match s {
        SignalName::RequestRate => SignalKind::RequestRate,
        SignalName::ErrorRatio => SignalKind::ErrorRatio,
        SignalName::LatencyP99 => SignalKind::LatencyP99,
        SignalName::CallerLatencyP99 => SignalKind::CallerLatencyP99,
        SignalName::CpuCores => SignalKind::CpuCores,
        SignalName::CpuThrottled => SignalKind::CpuThrottled,
        SignalName::MemoryBytes => SignalKind::MemoryBytes,
        SignalName::Restarts => SignalKind::Restarts,
        SignalName::ReplicasUnavailable => SignalKind::ReplicasUnavailable,
        SignalName::ContainersWaiting => SignalKind::ContainersWaiting,
        SignalName::ConsumerLag => SignalKind::ConsumerLag,
        SignalName::QueueDepth => SignalKind::QueueDepth,
        SignalName::NodeCpuBusy => SignalKind::NodeCpuBusy,
        SignalName::NodeMemAvailable => SignalKind::NodeMemAvailable,
        SignalName::MessagesUnacked => SignalKind::MessagesUnacked,
        SignalName::Consumers => SignalKind::Consumers,
        SignalName::PublishRate => SignalKind::PublishRate,
        SignalName::DeliverRate => SignalKind::DeliverRate,
        SignalName::UnderReplicatedPartitions => SignalKind::UnderReplicatedPartitions,
        SignalName::Connections => SignalKind::Connections,
        SignalName::OpsRate => SignalKind::OpsRate,
        SignalName::TransactionRate => SignalKind::TransactionRate,
        SignalName::ReplicationLag => SignalKind::ReplicationLag,
        SignalName::ServiceDown => SignalKind::ServiceDown,
    }
}

fn kind_name(k: EntityKind) -> EntityKindName {
    match k {
        EntityKind::Workload => EntityKindName::Workload,
        EntityKind::Pod => EntityKindName::Pod,
        EntityKind::Node => EntityKindName::Node,
        EntityKind::Topic => EntityKindName::Topic,
        EntityKind::Queue => EntityKindName::Queue,
        EntityKind::Broker => EntityKindName::Broker,
        EntityKind::Datastore => EntityKindName::Datastore,
        EntityKind::ConsumerGroup => EntityKindName::ConsumerGroup,
    }
}

/// Whether a selector picks an entity.
pub fn selects(sel: &EntitySelector, e: &EntityId) -> bool {
    sel.matches(kind_name(e.kind), &e.namespace, &e.name)
}

#[derive(Debug, Clone)]
struct Track {
    active_since_ms: i64,
    fired_at_ms: Option<i64>,
    last_value: f64,
    last_seen_ms: i64,
}

/// Evaluates the configured rules, one [`RuleEngine::evaluate`] per engine cycle.
#[derive(Debug, Clone)]
pub struct RuleEngine {
    rules: Vec<(Rule, SignalKind)>,
    /// (rule index, entity) -> state of a pending or firing alert.
    tracks: HashMap<(usize, EntityId), Track>,
    /// How long a firing alert survives missing data before it resolves, ms.
    pub stale_after_ms: i64,
}

impl RuleEngine {
    /// An engine for these rules (from `opscope_config::Config::rules`).
    pub fn new(rules: Vec<Rule>) -> Self {
        Self {
            rules: rules
                .into_iter()
                .map(|r| {
                    let k = signal_kind(r.signal);
                    (r, k)
                })
                .collect(),
            tracks: HashMap::new(),
            stale_after_ms: 5 * 60_000,
        }
    }

    /// The rules evaluated.
    pub fn rules(&self) -> impl Iterator<Item = &Rule> {
        self.rules.iter().map(|(r, _)| r)
    }

    /// Advance every (rule, entity) to `obs.ts_ms` and return the pending and firing alerts,
    /// plus those that resolved in this cycle; sorted by rule order, then entity.
    pub fn evaluate(&mut self, obs: &Observation) -> Vec<Alert> {
        let now = obs.ts_ms;
        let mut out = Vec::new();
        for (i, (rule, kind)) in self.rules.iter().enumerate() {
            let threshold = rule.threshold.value;
            let for_ms = i64::try_from(rule.for_.0.as_millis()).unwrap_or(i64::MAX);
            // Entities with a value for this signal this cycle.
            let mut seen: BTreeMap<EntityId, f64> = BTreeMap::new();
            for (SignalKey { entity, kind: k }, &v) in &obs.signals {
                if k == kind && selects(&rule.entity, entity) {
                    seen.insert(entity.clone(), v);
                }
            }
            // Tracked entities without data this cycle.
            let mut gone: Vec<EntityId> = self
                .tracks
                .keys()
                .filter(|(r, e)| *r == i && !seen.contains_key(e))
                .map(|(_, e)| e.clone())
                .collect();
            gone.sort();

            let alert = |entity: &EntityId, t: &Track, state, value, resolved_at_ms| Alert {
                rule: rule.name.clone(),
                entity: entity.clone(),
                signal: *kind,
                value,
                op: rule.op,
                threshold,
                severity: rule.severity,
                labels: rule.labels.clone(),
                summary: rule.summary.clone(),
                active_since_ms: t.active_since_ms,
                fired_at_ms: t.fired_at_ms,
                resolved_at_ms,
                state,
            };

            let mut cycle: Vec<Alert> = Vec::new();
            for (entity, v) in seen {
                let key = (i, entity);
                let holds = v.is_finite() && rule.op.holds(v, threshold);
                if !holds {
                    // NaN counts as no data for a firing alert, as false otherwise.
                    let missing = !v.is_finite();
                    if let Some(t) = self.tracks.get(&key) {
                        if t.fired_at_ms.is_some() {
                            if missing && now - t.last_seen_ms < self.stale_after_ms {
                                cycle.push(alert(
                                    &key.1,
                                    t,
                                    AlertState::Firing,
                                    t.last_value,
                                    None,
                                ));
                                continue;
                            }
                            let value = if missing { t.last_value } else { v };
                            cycle.push(alert(&key.1, t, AlertState::Resolved, value, Some(now)));
                        }
                        self.tracks.remove(&key);
                    }
                    continue;
                }
                let t = self.tracks.entry(key.clone()).or_insert(Track {
                    active_since_ms: now,
                    fired_at_ms: None,
                    last_value: v,
                    last_seen_ms: now,
                });
                t.last_value = v;
                t.last_seen_ms = now;
                if t.fired_at_ms.is_none() && now - t.active_since_ms >= for_ms {
                    t.fired_at_ms = Some(now);
                }
                let state = if t.fired_at_ms.is_some() {
                    AlertState::Firing
                } else {
                    AlertState::Pending
                };
                cycle.push(alert(&key.1, t, state, v, None));
            }
            for entity in gone {
                let key = (i, entity);
                let Some(t) = self.tracks.get(&key) else {
                    continue;
                };
                if t.fired_at_ms.is_none() {
                    self.tracks.remove(&key);
                } else if now - t.last_seen_ms < self.stale_after_ms {
                    cycle.push(alert(&key.1, t, AlertState::Firing, t.last_value, None));
                } else {
                    cycle.push(alert(
                        &key.1,
                        t,
                        AlertState::Resolved,
                        t.last_value,
                        Some(now),
                    ));
                    self.tracks.remove(&key);
                }
            }
            cycle.sort_by(|a, b| a.entity.cmp(&b.entity));
            out.extend(cycle);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opscope_config::{Glob, HumanDuration, Threshold, UnitClass};
    use opscope_config::{Op, Severity};

    fn rule(name: &str, pattern: &str, op: Op, threshold: f64, for_s: u64) -> Rule {
        Rule {
            name: name.into(),
            signal: SignalName::ErrorRatio,
            entity: EntitySelector {
                name: Glob::new(pattern).unwrap(),
                namespace: None,
                kind: None,
            },
            op,
            threshold: Threshold {
                value: threshold,
                unit: UnitClass::Plain,
            },
            for_: HumanDuration::from_secs(for_s),
            severity: Severity::Critical,
            labels: BTreeMap::from([("team".to_owned(), "payments".to_owned())]),
            summary: None,
        }
    }

    fn obs(ts_s: i64, values: &[(&str, f64)]) -> Observation {
        Observation {
            ts_ms: ts_s * 1000,
            signals: values
                .iter()
                .map(|(n, v)| {
                    (
                        SignalKey {
                            entity: EntityId::workload("shop", *n),
                            kind: SignalKind::ErrorRatio,
                        },
                        *v,
                    )
                })
                .collect(),
            ..Observation::default()
        }
    }

    fn states(alerts: &[Alert]) -> Vec<(String, AlertState)> {
        alerts
            .iter()
            .map(|a| (a.entity.name.clone(), a.state))
            .collect()
    }

    #[test]
    fn pending_then_firing_after_for_then_resolved() {
        let mut e = RuleEngine::new(vec![rule("errors", "checkout*", Op::Gt, 0.05, 120)]);
        assert!(e.evaluate(&obs(0, &[("checkoutservice", 0.01)])).is_empty());
        let a = e.evaluate(&obs(15, &[("checkoutservice", 0.2), ("cart", 0.9)]));
        assert_eq!(
            states(&a),
            [("checkoutservice".into(), AlertState::Pending)]
        );
        assert_eq!(a[0].active_since_ms, 15_000);
        assert_eq!(a[0].labels["team"], "payments");
        // 134 s after the start: still pending; 135 s = 15 + 120: firing.
        let a = e.evaluate(&obs(134, &[("checkoutservice", 0.2)]));
        assert_eq!(a[0].state, AlertState::Pending);
        let a = e.evaluate(&obs(135, &[("checkoutservice", 0.3)]));
        assert_eq!(a[0].state, AlertState::Firing);
        assert_eq!((a[0].fired_at_ms, a[0].value), (Some(135_000), 0.3));
        assert_eq!(a[0].active_since_ms, 15_000);
        let a = e.evaluate(&obs(150, &[("checkoutservice", 0.01)]));
        assert_eq!(a[0].state, AlertState::Resolved);
        assert_eq!(a[0].resolved_at_ms, Some(150_000));
        // Reported once.
        assert!(
            e.evaluate(&obs(165, &[("checkoutservice", 0.01)]))
                .is_empty()
        );
    }

    #[test]
    fn false_condition_resets_pending() {
        let mut e = RuleEngine::new(vec![rule("errors", "*", Op::Ge, 0.05, 60)]);
        e.evaluate(&obs(0, &[("a", 0.05)]));
        e.evaluate(&obs(45, &[("a", 0.06)]));
        assert!(e.evaluate(&obs(50, &[("a", 0.04)])).is_empty());
        // Starts over: pending since 55, fires at 115, not at 60.
        let a = e.evaluate(&obs(55, &[("a", 0.07)]));
        assert_eq!(
            (a[0].state, a[0].active_since_ms),
            (AlertState::Pending, 55_000)
        );
        assert_eq!(
            e.evaluate(&obs(60, &[("a", 0.07)]))[0].state,
            AlertState::Pending
        );
        assert_eq!(
            e.evaluate(&obs(115, &[("a", 0.07)]))[0].state,
            AlertState::Firing
        );
    }

    #[test]
    fn zero_for_fires_at_once() {
        let mut e = RuleEngine::new(vec![rule("errors", "a", Op::Gt, 0.05, 0)]);
        assert_eq!(
            e.evaluate(&obs(0, &[("a", 0.5)]))[0].state,
            AlertState::Firing
        );
    }

    #[test]
    fn missing_and_nan_never_fire() {
        let mut e = RuleEngine::new(vec![rule("errors", "a", Op::Lt, 0.5, 30)]);
        // NaN < 0.5 is false, and so is "no data".
        assert!(e.evaluate(&obs(0, &[("a", f64::NAN)])).is_empty());
        e.evaluate(&obs(10, &[("a", 0.1)]));
        // Pending, then the data goes missing past `for`: back to inactive, no firing.
        assert!(e.evaluate(&obs(60, &[])).is_empty());
        assert!(e.evaluate(&obs(70, &[("a", f64::NAN)])).is_empty());
        assert_eq!(
            e.evaluate(&obs(80, &[("a", 0.1)]))[0].state,
            AlertState::Pending
        );
    }

    #[test]
    fn firing_survives_a_short_gap_then_resolves() {
        let mut e = RuleEngine::new(vec![rule("errors", "a", Op::Gt, 0.05, 0)]);
        e.evaluate(&obs(0, &[("a", 0.5)]));
        let a = e.evaluate(&obs(15, &[]));
        assert_eq!((a[0].state, a[0].value), (AlertState::Firing, 0.5));
        let a = e.evaluate(&obs(30, &[("a", f64::NAN)]));
        assert_eq!(a[0].state, AlertState::Firing);
        let a = e.evaluate(&obs(300, &[]));
        assert_eq!(a[0].state, AlertState::Resolved);
        assert!(e.evaluate(&obs(315, &[])).is_empty());
    }

    #[test]
    fn selector_kind_and_namespace() {
        let sel = EntitySelector {
            name: Glob::new("check*").unwrap(),
            namespace: Some(Glob::new("prod-*").unwrap()),
            kind: Some(EntityKindName::Workload),
        };
        assert!(selects(&sel, &EntityId::workload("prod-eu", "checkout")));
        assert!(!selects(&sel, &EntityId::workload("staging", "checkout")));
        assert!(!selects(
            &sel,
            &EntityId::new(EntityKind::Pod, "prod-eu", "checkout-1")
        ));
    }

    #[test]
    fn every_collector_signal_has_a_config_name() {
        for k in SignalKind::ALL {
            assert!(
                SignalName::ALL.iter().any(|&n| signal_kind(n) == k),
                "{k:?} has no name in opscope_config::SignalName"
            );
        }
    }

    #[test]
    fn from_example_config() {
        let c = opscope_config::check(include_str!("../../config/example.toml"), &|k| {
            (k == "OPSCOPE_SLACK_WEBHOOK").then(|| "https://hooks.example/x".into())
        });
        assert!(!c.has_errors());
        let mut e = RuleEngine::new(c.config.rules);
        let a = e.evaluate(&obs(0, &[("checkoutservice", 0.07)]));
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].rule, "checkout-errors");
        assert_eq!(a[0].severity, Severity::Critical);
        assert_eq!(a[0].state, AlertState::Pending);
    }
}
