//! The model's facts in words: change events, alerts, anomalies, evidence and remediation.
//!
//! Every face words the same values the same way through these functions; a face with its
//! own markup (a chat tool's, HTML) wraps their plain text.

use opscope_model::{
    Action, Alert, Anomaly, BurnAlert, BurnSeverity, ChangeEvent, ChangeKind, Direction, EntityId,
    Evidence, Objective, Remediation, SignalKind,
};

use crate::format::{clock, value, window};

/// Words for a value of the model, in English.
pub trait Describe {
    /// One line for people.
    fn describe(&self) -> String;
}

/// `kind.format_value(v)`: [`value`] as a method.
pub trait FormatValue {
    /// A value of this signal for people ("412 ms", "3.2%", "1.4 GiB").
    fn format_value(self, v: f64) -> String;
}

impl FormatValue for SignalKind {
    fn format_value(self, v: f64) -> String {
        value(self, v)
    }
}

/// "rollout cartservice-7f9c -> cartservice-5b2d (image shop/cart:v1.5.0)".
impl Describe for ChangeEvent {
    fn describe(&self) -> String {
        match &self.kind {
            ChangeKind::Rollout {
                from_revision,
                to_revision,
                image,
            } => {
                let mut s = match from_revision {
                    Some(f) => format!("rollout {f} -> {to_revision}"),
                    None => format!("rollout of {to_revision}"),
                };
                if let Some(i) = image {
                    s.push_str(&format!(" (image {i})"));
                }
                s
            }
            ChangeKind::Scale { from, to } => format!("scaled {from} -> {to} replicas"),
            ChangeKind::Annotation { text } => format!("deploy marked: {text}"),
            ChangeKind::Restart {
                pod,
                container,
                reason,
            } => format!("container {container} of {pod} restarted ({reason})"),
            ChangeKind::Warning {
                object,
                reason,
                message,
            } => {
                if message.is_empty() {
                    format!("warning {reason} on {object}")
                } else {
                    format!("warning {reason} on {object}: {message}")
                }
            }
        }
    }
}

/// "checkout-errors: workload/shop/checkoutservice error ratio 7.2% > 5.0%".
impl Describe for Alert {
    fn describe(&self) -> String {
        format!(
            "{}: {} {} {} {} {}",
            self.rule,
            self.entity,
            self.signal.label(),
            value(self.signal, self.value),
            self.op.as_str(),
            value(self.signal, self.threshold),
        )
    }
}

/// "checkoutservice availability 99.9%: burning 10.0x over 6h and 12.0x over 30m (page)".
impl Describe for BurnAlert {
    fn describe(&self) -> String {
        let what = match self.objective {
            Objective::Availability => "availability".to_owned(),
            Objective::Latency { threshold_ms } => format!("latency <= {threshold_ms} ms"),
        };
        let x = |b: Option<f64>| b.map_or("-".to_owned(), |b| format!("{b:.1}x"));
        let sev = match self.severity {
            BurnSeverity::Page => "page",
            BurnSeverity::Ticket => "ticket",
        };
        format!(
            "{} {what} {}%: burning {} over {} and {} over {} ({sev})",
            self.service,
            self.target * 100.0,
            x(self.long_burn),
            window(self.long_window_ms),
            x(self.short_burn),
            window(self.short_window_ms),
        )
    }
}

/// A deviation of `signal` from `baseline` to `current` since `since_ms`:
/// "latency p99 x20.8 (24 ms -> 496 ms) since 12:03:10", "2 restart(s) since 12:03:10".
pub fn deviation(
    signal: SignalKind,
    direction: Direction,
    baseline: f64,
    current: f64,
    since_ms: i64,
) -> String {
    let (b, c) = (value(signal, baseline), value(signal, current));
    let since = clock(since_ms);
    match signal {
        SignalKind::Restarts => format!("{c} restart(s) since {since}"),
        SignalKind::ReplicasUnavailable => format!("{c} replica(s) unavailable since {since}"),
        _ => {
            let change = if baseline.abs() > 1e-9 && current / baseline >= 1.5 {
                format!("x{:.1}", current / baseline)
            } else if baseline.abs() > 1e-9 {
                let pct = (current - baseline) / baseline.abs() * 100.0;
                format!("{pct:+.0}%")
            } else {
                match direction {
                    Direction::Up => "up".to_owned(),
                    Direction::Down => "down".to_owned(),
                }
            };
            format!("{} {change} ({b} -> {c}) since {since}", signal.label())
        }
    }
}

/// An incident member: "alert firing: ..." for a rule or burn-rate alert, else its deviation.
impl Describe for Anomaly {
    fn describe(&self) -> String {
        match &self.rule {
            Some(r) => format!("alert firing: {r}"),
            None => deviation(
                self.signal.kind,
                self.direction,
                self.baseline,
                self.current,
                self.onset_ms,
            ),
        }
    }
}

/// Entity names, at most four and "and N more".
pub fn names(entities: &[EntityId]) -> String {
    let v: Vec<&str> = entities.iter().map(|e| e.name.as_str()).collect();
    if v.len() > 4 {
        format!("{} and {} more", v[..4].join(", "), v.len() - 4)
    } else {
        v.join(", ")
    }
}

/// "12 s before" / "3 s after" (whole seconds, rounded toward zero).
fn before_or_after(before_ms: i64, what: &str) -> String {
    let s = before_ms / 1000;
    if s >= 0 {
        format!("{s} s before {what}")
    } else {
        format!("{} s after {what}", -s)
    }
}

impl Describe for Evidence {
    fn describe(&self) -> String {
        let of = |entity: &Option<EntityId>, text: String| match entity {
            Some(e) => format!("{} {text}", e.name),
            None => text,
        };
        match self {
            Evidence::Deviation {
                entity,
                signal,
                direction,
                baseline,
                current,
                since_ms,
            } => of(
                entity,
                deviation(*signal, *direction, *baseline, *current, *since_ms),
            ),
            Evidence::AlertFiring { entity, alert } => of(entity, format!("alert firing: {alert}")),
            Evidence::Change {
                change,
                before_onset_ms,
            } => format!(
                "{} at {}, {}",
                change.describe(),
                clock(change.ts_ms),
                before_or_after(*before_onset_ms, "its first anomaly")
            ),
            Evidence::Terminated { reason } => format!("last container termination: {reason}"),
            Evidence::UnusualMix { distance_ratio } => format!(
                "its signals taken together are unlike the last hour's normal mix ({distance_ratio:.1}x the usual k-means distance)"
            ),
            Evidence::ContainersWaiting { reason } => format!("containers waiting: {reason}"),
            Evidence::ServesFastItself { latency_p99_ms } => format!(
                "it serves in {} itself: the delay is on the way to it (network)",
                value(SignalKind::LatencyP99, *latency_p99_ms)
            ),
            Evidence::DegradedWorkloadsOnNode { workloads } => {
                format!("degraded workloads run on it: {}", names(workloads))
            }
            Evidence::CallersDegraded { callers } => {
                format!("its callers are degraded too: {}", names(callers))
            }
            Evidence::BeganBeforeCallers { lead_ms } => format!(
                "began {} s before its first degraded caller",
                lead_ms / 1000
            ),
            Evidence::Consumes { from, rate_per_s } => format!(
                "consumes {rate_per_s:.1} msg/s from {} {}",
                from.kind.as_str(),
                from.name
            ),
            Evidence::CallsNothing => "it calls no other service: the problem starts here".into(),
            Evidence::DependenciesHealthy { dependencies } => {
                format!("its dependencies are healthy: {}", names(dependencies))
            }
            Evidence::DependsOnDegraded { dependencies } => {
                format!("depends on degraded: {}", names(dependencies))
            }
        }
    }
}

/// What a remediation does, in a few words ("Roll back cartservice").
pub fn remediation_title(r: &Remediation) -> String {
    match &r.action {
        Action::MoveWorkOffNode { node } => format!("Move work off node {}", node.name),
        Action::RollBack { workload, .. } => format!("Roll back {}", workload.name),
        Action::RevertDeploy { workload, .. } => format!("Revert the deploy of {}", workload.name),
        Action::ReadWhyWaiting { workload, .. } => {
            format!("Read why {} cannot start", workload.name)
        }
        Action::MoreMemory { workload, .. } => {
            format!("Give {} more memory, then find the leak", workload.name)
        }
        Action::ScaleOut { workload } => format!("Scale out {}", workload.name),
        Action::RestartConsumers { workload } => {
            format!("Restart or scale the {} consumers", workload.name)
        }
        Action::CheckNetwork { workload } => format!("Check the network path to {}", workload.name),
        Action::ReadLogs { workload } => {
            format!("Look at {}'s logs and recent errors", workload.name)
        }
    }
}

/// Why a remediation fits, from the evidence.
pub fn remediation_why(r: &Remediation) -> String {
    match &r.action {
        Action::MoveWorkOffNode { .. } => {
            "the node is saturated and the workloads on it slow down together".into()
        }
        Action::RollBack {
            change,
            before_onset_ms,
            ..
        } => format!(
            "{} {} s before the first anomaly",
            change.describe(),
            (before_onset_ms / 1000).max(0)
        ),
        Action::RevertDeploy {
            note,
            before_onset_ms,
            ..
        } => format!(
            "deploy marked ({note}) {} s before the first anomaly",
            (before_onset_ms / 1000).max(0)
        ),
        Action::ReadWhyWaiting { reason, .. } => format!("containers are waiting in {reason}"),
        Action::MoreMemory { terminated, .. } => match terminated {
            Some(r) => format!("containers were terminated ({r}) after memory grew"),
            None => "memory keeps growing".into(),
        },
        Action::ScaleOut { .. } => "CPU is at its limit and requests queue".into(),
        Action::RestartConsumers { .. } => "messages pile up faster than they are consumed".into(),
        Action::CheckNetwork { .. } => {
            "callers wait longer while the service itself answers as fast as before".into()
        }
        Action::ReadLogs { .. } => "it degrades while its dependencies are healthy".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opscope_model::EntityKind;

    fn w(name: &str) -> EntityId {
        EntityId::workload("shop", name)
    }

    #[test]
    fn a_deviation_is_a_ratio_two_quantities_and_a_time() {
        let ev = Evidence::Deviation {
            entity: None,
            signal: SignalKind::LatencyP99,
            direction: Direction::Up,
            baseline: 24.0,
            current: 496.0,
            since_ms: (12 * 3600 + 3 * 60 + 10) * 1000,
        };
        assert_eq!(
            ev.describe(),
            "latency p99 x20.7 (24 ms -> 496 ms) since 12:03:10"
        );
        let small = Evidence::Deviation {
            entity: Some(w("frontend")),
            signal: SignalKind::ErrorRatio,
            direction: Direction::Up,
            baseline: 0.010,
            current: 0.012,
            since_ms: 0,
        };
        assert_eq!(
            small.describe(),
            "frontend error ratio +20% (1.0% -> 1.2%) since 00:00:00"
        );
        let from_zero = Evidence::Deviation {
            entity: None,
            signal: SignalKind::Restarts,
            direction: Direction::Up,
            baseline: 0.0,
            current: 3.0,
            since_ms: 61_000,
        };
        assert_eq!(from_zero.describe(), "3 restart(s) since 00:01:01");
    }

    #[test]
    fn a_change_before_and_after_the_onset() {
        let change = ChangeEvent {
            ts_ms: 60_000,
            entity: w("cartservice"),
            kind: ChangeKind::Rollout {
                from_revision: Some("cart-1".into()),
                to_revision: "cart-2".into(),
                image: None,
            },
        };
        let before = Evidence::Change {
            change: change.clone(),
            before_onset_ms: 5_400,
        };
        assert_eq!(
            before.describe(),
            "rollout cart-1 -> cart-2 at 00:01:00, 5 s before its first anomaly"
        );
        let after = Evidence::Change {
            change,
            before_onset_ms: -12_000,
        };
        assert!(after.describe().ends_with("12 s after its first anomaly"));
    }

    #[test]
    fn lists_of_names_are_cut_after_four() {
        let five: Vec<EntityId> = ["a", "b", "c", "d", "e"].into_iter().map(w).collect();
        assert_eq!(names(&five), "a, b, c, d and 1 more");
        let topic = EntityId::new(EntityKind::Topic, "", "orders");
        let ev = Evidence::Consumes {
            from: topic,
            rate_per_s: 12.34,
        };
        assert_eq!(ev.describe(), "consumes 12.3 msg/s from topic orders");
    }

    #[test]
    fn remediation_in_words() {
        let r = Remediation {
            action: Action::MoreMemory {
                workload: w("cartservice"),
                terminated: Some("OOMKilled".into()),
            },
            command: None,
        };
        assert_eq!(
            remediation_title(&r),
            "Give cartservice more memory, then find the leak"
        );
        assert_eq!(
            remediation_why(&r),
            "containers were terminated (OOMKilled) after memory grew"
        );
    }
}
