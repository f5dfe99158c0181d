//! Text formatting of times, durations and edge figures. Values of signals are formatted by
//! [`SignalKind::format_value`], never here.

use collector::model::{Edge, EdgeKind, EntityId, SignalKind};

use crate::styles;

/// `HH:MM:SS` of a Unix-ms timestamp, UTC.
pub fn clock(ts_ms: i64) -> String {
    let secs = ts_ms.div_euclid(1000).rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

/// A duration for people: `45s`, `4m 10s`, `2h 05m`, `3d 04h`.
pub fn duration(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m {:02}s", s / 60, s % 60),
        s if s < 86_400 => format!("{}h {:02}m", s / 3600, s / 60 % 60),
        s => format!("{}d {:02}h", s / 86_400, s / 3600 % 24),
    }
}

/// An entity as named in lists: `name` for workloads, plus the kind for others.
pub fn entity_short(id: &EntityId) -> String {
    crate::graph::node_label(id)
}

/// The rate of an edge: requests for calls, messages otherwise.
pub fn edge_rate(e: &Edge) -> String {
    match (e.kind, e.rate_per_s) {
        (_, None) => styles::MISSING.to_string(),
        (EdgeKind::Calls, Some(r)) => SignalKind::RequestRate.format_value(r),
        (_, Some(r)) => format!("{r:.1} msg/s"),
    }
}

/// The error ratio of an edge.
pub fn edge_errors(e: &Edge) -> String {
    e.error_ratio.map_or_else(
        || styles::MISSING.to_string(),
        |v| SignalKind::ErrorRatio.format_value(v),
    )
}

/// The p99 latency of an edge.
pub fn edge_p99(e: &Edge) -> String {
    e.p99_ms.map_or_else(
        || styles::MISSING.to_string(),
        |v| SignalKind::LatencyP99.format_value(v),
    )
}

/// How an edge relates to the entity it is listed under (`outgoing` when that entity is `from`).
pub fn relation(kind: EdgeKind, outgoing: bool) -> &'static str {
    match (kind, outgoing) {
        (EdgeKind::Calls, true) => "calls",
        (EdgeKind::Calls, false) => "called by",
        (EdgeKind::Produces, true) => "produces to",
        (EdgeKind::Produces, false) => "produced by",
        (EdgeKind::Consumes, true) => "consumes from",
        (EdgeKind::Consumes, false) => "consumed by",
        (EdgeKind::RunsOn, true) => "runs on",
        (EdgeKind::RunsOn, false) => "hosts",
        (EdgeKind::Owns, true) => "owns",
        (EdgeKind::Owns, false) => "owned by",
    }
}

/// Word-wrap `text` into lines of at most `width` characters; words longer than a line are
/// cut. Words break at plain spaces only: a no-break space (U+00A0) glues its neighbours and
/// comes out as a plain space. Always at least one line.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let mut word: Vec<char> = word.chars().collect();
        loop {
            let used = cur.chars().count();
            let sep = usize::from(used > 0);
            if used + sep + word.len() <= width {
                if sep == 1 {
                    cur.push(' ');
                }
                cur.extend(word.iter());
                break;
            }
            if used > 0 {
                lines.push(std::mem::take(&mut cur));
                continue;
            }
            // A word longer than the line: cut it.
            let rest = word.split_off(width);
            lines.push(word.iter().collect());
            word = rest;
        }
    }
    if !cur.is_empty() || lines.is_empty() {
        lines.push(cur);
    }
    for l in &mut lines {
        *l = l.replace(NBSP, " ");
    }
    lines
}

/// No-break space for [`wrap`].
pub const NBSP: char = '\u{a0}';

/// `text` with its spaces made unbreakable by [`wrap`].
pub fn glue(text: &str) -> String {
    text.replace(' ', &NBSP.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_is_utc() {
        assert_eq!(clock(1_700_000_000_000), "22:13:20");
        assert_eq!(clock(0), "00:00:00");
        assert_eq!(clock(-1000), "23:59:59");
    }

    #[test]
    fn durations() {
        assert_eq!(duration(45_000), "45s");
        assert_eq!(duration(250_000), "4m 10s");
        assert_eq!(duration(7_500_000), "2h 05m");
        assert_eq!(duration(-5), "0s");
        assert_eq!(duration(90_000_000), "1d 01h");
    }

    #[test]
    fn wrapping() {
        assert_eq!(
            wrap("rollout to revision 7 at 22:08:25", 12),
            ["rollout to", "revision 7", "at 22:08:25"]
        );
        assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap("", 5), [""]);
        assert_eq!(wrap("a b", 0), ["a", "b"]);
        let glued = format!("p99 {}", glue("131 ms → 652 ms"));
        assert_eq!(wrap(&glued, 16), ["p99", "131 ms → 652 ms"]);
    }
}
