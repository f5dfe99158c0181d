//! URL parameters shared by the pages and the JSON API, with a message for every refusal.

use opscope_model::{EntityId, EntityKind, SignalKind};

/// Longest time range one request may ask for.
pub const MAX_RANGE_MS: i64 = 7 * 86_400_000;

fn kind(s: &str) -> Option<EntityKind> {
    Some(match s {
        "workload" => EntityKind::Workload,
        "pod" => EntityKind::Pod,
        "node" => EntityKind::Node,
        "topic" => EntityKind::Topic,
        "queue" => EntityKind::Queue,
        "broker" => EntityKind::Broker,
        "datastore" => EntityKind::Datastore,
        "consumer_group" => EntityKind::ConsumerGroup,
        _ => return None,
    })
}

/// `namespace/name` (a workload), `kind/namespace/name` or `kind/name` (no namespace).
pub fn entity(s: &str) -> Result<EntityId, String> {
    if s.len() > 600 || s.chars().any(char::is_control) {
        return Err("too long, or has control characters".to_owned());
    }
    let parts: Vec<&str> = s.split('/').collect();
    match parts.as_slice() {
        [ns, name] if kind(ns).is_some() && !name.is_empty() => Ok(EntityId::new(
            kind(ns).unwrap_or(EntityKind::Workload),
            "",
            *name,
        )),
        [ns, name] if !ns.is_empty() && !name.is_empty() => Ok(EntityId::workload(*ns, *name)),
        [k, ns, name] if !name.is_empty() => match kind(k) {
            Some(k) => Ok(EntityId::new(k, *ns, *name)),
            None => Err(format!(
                "{k:?} is not an entity kind (workload, pod, node, topic, queue, broker, datastore, consumer_group)"
            )),
        },
        _ => Err(format!(
            "{s:?}: expected namespace/name, kind/namespace/name or kind/name"
        )),
    }
}

/// A signal kind by its JSON name (`latency_p99`).
pub fn signal(s: &str) -> Result<SignalKind, String> {
    SignalKind::ALL
        .iter()
        .copied()
        .find(|k| opscope_webui::signal_param(*k) == s)
        .ok_or_else(|| {
            format!(
                "{s:?} is not a signal kind ({})",
                SignalKind::ALL
                    .iter()
                    .map(|k| opscope_webui::signal_param(*k))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
}

/// `INC-3` or `3`.
pub fn incident_id(s: &str) -> Option<u64> {
    let digits = s
        .strip_prefix("INC-")
        .or_else(|| s.strip_prefix("inc-"))
        .unwrap_or(s);
    digits.parse().ok()
}

/// A time range asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub from_ms: i64,
    pub to_ms: i64,
    /// Set when the range is relative to now (and follows live data).
    pub live_range_ms: Option<i64>,
}

fn ms(name: &str, v: &str) -> Result<i64, String> {
    v.trim()
        .parse::<i64>()
        .map_err(|_| format!("{name}: {v:?} is not a time in Unix milliseconds"))
}

/// `range` (15m, 1h, 6h, or any `30s`/`10m`/`2h`/`1d`) ending now, or `from`..`to` (Unix ms;
/// `to` defaults to now); one hour when nothing is given.
pub fn window(
    range: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
    now_ms: i64,
) -> Result<Window, String> {
    let from = from.filter(|s| !s.trim().is_empty());
    let to = to.filter(|s| !s.trim().is_empty());
    let range = range.filter(|s| !s.trim().is_empty());
    if let Some(f) = from {
        if range.is_some() {
            return Err("give either range, or from and to".to_owned());
        }
        let from_ms = ms("from", f)?;
        let to_ms = match to {
            Some(t) => ms("to", t)?,
            None => now_ms,
        };
        if to_ms <= from_ms {
            return Err("to must be after from".to_owned());
        }
        if to_ms - from_ms > MAX_RANGE_MS {
            return Err("the range is longer than 7 days".to_owned());
        }
        return Ok(Window {
            from_ms,
            to_ms,
            live_range_ms: None,
        });
    }
    if to.is_some() {
        return Err("to needs from".to_owned());
    }
    let span = match range {
        None => 3_600_000,
        Some(r) => duration_ms(r)
            .ok_or_else(|| format!("range: {r:?} is not a duration (15m, 1h, 6h, 30s, 2d)"))?,
    };
    if span <= 0 || span > MAX_RANGE_MS {
        return Err("range: between 1s and 7d".to_owned());
    }
    Ok(Window {
        from_ms: now_ms - span,
        to_ms: now_ms,
        live_range_ms: Some(span),
    })
}

fn duration_ms(s: &str) -> Option<i64> {
    let s = s.trim();
    let unit_at = s.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = s.split_at(unit_at);
    let n: i64 = n.parse().ok()?;
    let unit_ms = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return None,
    };
    n.checked_mul(unit_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities_parse_in_every_form_and_bad_ones_say_why() {
        assert_eq!(
            entity("shop/checkoutservice"),
            Ok(EntityId::workload("shop", "checkoutservice"))
        );
        assert_eq!(
            entity("topic/kafka/orders"),
            Ok(EntityId::new(EntityKind::Topic, "kafka", "orders"))
        );
        assert_eq!(
            entity("datastore/redis@127.0.0.1:6379"),
            Ok(EntityId::new(
                EntityKind::Datastore,
                "",
                "redis@127.0.0.1:6379"
            ))
        );
        assert!(entity("nope").unwrap_err().contains("expected"));
        assert!(
            entity("thing/a/b")
                .unwrap_err()
                .contains("not an entity kind")
        );
        assert!(entity("a/\u{7}").is_err());
    }

    #[test]
    fn windows() {
        let now = 10_000_000;
        assert_eq!(
            window(Some("15m"), None, None, now),
            Ok(Window {
                from_ms: now - 900_000,
                to_ms: now,
                live_range_ms: Some(900_000)
            })
        );
        assert_eq!(
            window(None, None, None, now).map(|w| w.from_ms),
            Ok(now - 3_600_000)
        );
        assert_eq!(
            window(None, Some("1000"), Some("2000"), now),
            Ok(Window {
                from_ms: 1000,
                to_ms: 2000,
                live_range_ms: None
            })
        );
        assert!(window(None, Some("2000"), Some("1000"), now).is_err());
        assert!(window(Some("1y"), None, None, now).is_err());
        assert!(window(Some("8d"), None, None, now).is_err());
        assert!(
            window(None, Some("x"), None, now)
                .unwrap_err()
                .contains("Unix milliseconds")
        );
        assert!(window(Some("1h"), Some("1"), None, now).is_err());
        assert_eq!(incident_id("INC-3"), Some(3));
        assert_eq!(incident_id("3"), Some(3));
        assert_eq!(incident_id("INC-x"), None);
        assert_eq!(signal("latency_p99"), Ok(SignalKind::LatencyP99));
        assert!(signal("latency").unwrap_err().contains("request_rate"));
    }
}
