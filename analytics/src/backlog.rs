//! Health of the `produces` / `consumes` edges from the backlog behind them (queue depth,
//! consumer-group lag, JetStream pending): a backlog that grows while its consumer takes
//! nothing is critical; one that grows while the consumer still takes some is a warning.

use crate::model::{EdgeHealth, Health};
use collector::model::{Edge, EdgeKind, EntityId};
use std::collections::BTreeMap;

/// A backlog growing at least this fast (messages per second over the rate window) is
/// growing; slower is noise of a busy queue (six messages a minute).
pub const GROWING_PER_S: f64 = 0.1;
/// Backlogs smaller than this are never unhealthy: a few messages in flight are normal.
pub const MIN_BACKLOG: f64 = 10.0;
/// A consumer taking fewer messages per second than this takes none.
pub const STALLED_RATE: f64 = 0.01;

/// Health of every `produces` / `consumes` edge with a backlog, in topology order.
pub fn edge_health(edges: &[Edge]) -> Vec<EdgeHealth> {
    // Destination -> what its consumers take together (None: no consumer reports a rate).
    let mut consumed: BTreeMap<&EntityId, Option<f64>> = BTreeMap::new();
    for e in edges.iter().filter(|e| e.kind == EdgeKind::Consumes) {
        let slot = consumed.entry(&e.to).or_insert(None);
        if let Some(r) = e.rate_per_s.filter(|r| r.is_finite()) {
            *slot = Some(slot.unwrap_or(0.0) + r);
        }
    }
    edges
        .iter()
        .filter(|e| matches!(e.kind, EdgeKind::Produces | EdgeKind::Consumes))
        .filter_map(|e| {
            let backlog = e.backlog.filter(|b| b.is_finite())?;
            let growth = e.backlog_growth_per_s.filter(|g| g.is_finite());
            let (taken, who) = match e.kind {
                EdgeKind::Consumes => {
                    (Some(e.rate_per_s.unwrap_or(0.0)), ("the consumer", "takes"))
                }
                _ => (
                    consumed
                        .get(&e.to)
                        .copied()
                        .flatten()
                        .or_else(|| (!consumed.contains_key(&e.to)).then_some(0.0)),
                    ("its consumers", "take"),
                ),
            };
            let (health, reason) = judge(backlog, growth, taken, who);
            Some(EdgeHealth {
                from: e.from.clone(),
                to: e.to.clone(),
                kind: e.kind,
                health,
                reason,
                backlog,
                growth_per_s: growth,
            })
        })
        .collect()
}

/// `who` names the consumers and the verb that agrees with them.
fn judge(
    backlog: f64,
    growth: Option<f64>,
    taken: Option<f64>,
    (who, takes): (&str, &str),
) -> (Health, String) {
    let Some(g) = growth else {
        return (
            Health::Unknown,
            format!("backlog {backlog:.0} msgs; growth needs a second sample"),
        );
    };
    let head = format!("backlog {backlog:.0} msgs, {g:+.1} msg/s");
    if g < GROWING_PER_S || backlog < MIN_BACKLOG {
        return (Health::Ok, head);
    }
    match taken {
        Some(r) if r < STALLED_RATE => (
            Health::Critical,
            format!("{head}: growing while {who} {takes} none"),
        ),
        Some(r) => (
            Health::Warning,
            format!("{head}: growing, {who} {takes} {r:.1} msg/s"),
        ),
        None => (Health::Warning, format!("{head}: growing")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use collector::model::EntityKind;

    fn edge(kind: EdgeKind, from: &str, backlog: f64, growth: f64, rate: Option<f64>) -> Edge {
        let mut e = Edge::new(
            kind,
            EntityId::new(EntityKind::ConsumerGroup, "", from),
            EntityId::new(EntityKind::Queue, "", "orders"),
        );
        e.backlog = Some(backlog);
        e.backlog_growth_per_s = Some(growth);
        e.rate_per_s = rate;
        e
    }

    #[test]
    fn a_growing_backlog_with_a_stopped_consumer_is_critical() {
        let h = edge_health(&[
            edge(EdgeKind::Consumes, "worker", 120.0, 5.0, Some(0.0)),
            edge(EdgeKind::Produces, "shop", 120.0, 5.0, Some(5.0)),
        ]);
        assert_eq!(h[0].health, Health::Critical, "{h:?}");
        assert!(
            h[0].reason
                .ends_with("growing while the consumer takes none"),
            "{}",
            h[0].reason
        );
        assert!(
            h[1].reason
                .ends_with("growing while its consumers take none"),
            "{}",
            h[1].reason
        );
        // The producer's edge: nobody takes anything from the queue either.
        assert_eq!(h[1].health, Health::Critical, "{h:?}");
    }

    #[test]
    fn slow_consumers_warn_and_draining_or_small_backlogs_are_fine() {
        let h = edge_health(&[edge(EdgeKind::Consumes, "w", 500.0, 2.0, Some(3.0))]);
        assert_eq!(h[0].health, Health::Warning);
        let h = edge_health(&[edge(EdgeKind::Consumes, "w", 500.0, -4.0, Some(9.0))]);
        assert_eq!(h[0].health, Health::Ok);
        let h = edge_health(&[edge(EdgeKind::Consumes, "w", 3.0, 1.0, Some(0.0))]);
        assert_eq!(h[0].health, Health::Ok);
        let mut e = edge(EdgeKind::Consumes, "w", 30.0, 1.0, None);
        e.backlog_growth_per_s = None;
        assert_eq!(edge_health(&[e])[0].health, Health::Unknown);
        // Calls and edges without a backlog have no edge health.
        let mut c = edge(EdgeKind::Calls, "w", 1.0, 1.0, None);
        c.backlog = None;
        assert!(edge_health(&[c]).is_empty());
    }
}
