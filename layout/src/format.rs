//! Formatting every face shares: signal values with units, times, durations, edge figures,
//! SLO figures. Plain text; each face adds its own styles and markup.

use opscope_model::{Edge, EdgeKind, EntityId, Health, Objective, SignalKind};

/// Symbol for a health state: Ok ●, Warning ▲, Critical ✖, Unknown ?. Every face pairs a
/// health colour with it, so the state reads without colour.
pub fn health_symbol(h: Health) -> &'static str {
    match h {
        Health::Ok => "●",
        Health::Warning => "▲",
        Health::Critical => "✖",
        Health::Unknown => "?",
    }
}

/// Word for a health state.
pub fn health_word(h: Health) -> &'static str {
    match h {
        Health::Ok => "ok",
        Health::Warning => "warning",
        Health::Critical => "critical",
        Health::Unknown => "unknown",
    }
}

/// Shown where a value is missing.
pub const MISSING: &str = "–";

/// A value of `kind` for people ("412 ms", "3.2%", "1.4 GiB").
pub fn value(kind: SignalKind, v: f64) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    match kind {
        SignalKind::ErrorRatio | SignalKind::NodeCpuBusy | SignalKind::CpuThrottled => {
            format!("{:.1}%", v * 100.0)
        }
        SignalKind::LatencyP99 | SignalKind::CallerLatencyP99 => {
            if v >= 1000.0 {
                format!("{:.2} s", v / 1000.0)
            } else {
                format!("{v:.0} ms")
            }
        }
        SignalKind::MemoryBytes | SignalKind::NodeMemAvailable => bytes(v),
        SignalKind::RequestRate => format!("{v:.1} req/s"),
        SignalKind::CpuCores => format!("{v:.2} cores"),
        SignalKind::Restarts | SignalKind::ReplicasUnavailable | SignalKind::ContainersWaiting => {
            format!("{v:.0}")
        }
        SignalKind::ConsumerLag | SignalKind::QueueDepth | SignalKind::MessagesUnacked => {
            format!("{v:.0} msgs")
        }
        SignalKind::Consumers | SignalKind::UnderReplicatedPartitions | SignalKind::Connections => {
            format!("{v:.0}")
        }
        SignalKind::PublishRate | SignalKind::DeliverRate => format!("{v:.1} msg/s"),
        SignalKind::OpsRate => format!("{v:.1} ops/s"),
        SignalKind::TransactionRate => format!("{v:.1} tx/s"),
        SignalKind::ReplicationLag => format!("{v:.1} s"),
        SignalKind::ServiceDown => String::from(if v > 0.5 { "down" } else { "up" }),
    }
}

/// Bytes in binary units, one decimal.
pub fn bytes(v: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut x = v.abs();
    let mut i = 0;
    while x >= 1024.0 && i < UNITS.len() - 1 {
        x /= 1024.0;
        i += 1;
    }
    let sign = if v < 0.0 { "-" } else { "" };
    format!("{sign}{x:.1} {}", UNITS[i])
}

/// A window length: "5m", "6h", "3d".
pub fn window(ms: i64) -> String {
    let s = ms / 1000;
    if s % 86_400 == 0 {
        format!("{}d", s / 86_400)
    } else if s % 3600 == 0 {
        format!("{}h", s / 3600)
    } else if s % 60 == 0 {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

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

/// A replay speed: `1`, `8`, `0.5`.
pub fn speed(x: f64) -> String {
    if x >= 1.0 && x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.2}").trim_end_matches('0').to_owned()
    }
}

/// An entity as named in lists: `name` for workloads, plus the kind for others.
pub fn entity_short(id: &EntityId) -> String {
    crate::graph::node_label(id)
}

/// The rate of an edge: requests for calls, messages otherwise.
pub fn edge_rate(e: &Edge) -> String {
    match (e.kind, e.rate_per_s) {
        (_, None) => MISSING.to_string(),
        (EdgeKind::Calls, Some(r)) => value(SignalKind::RequestRate, r),
        (_, Some(r)) => format!("{r:.1} msg/s"),
    }
}

/// The error ratio of an edge.
pub fn edge_errors(e: &Edge) -> String {
    e.error_ratio
        .map_or_else(|| MISSING.to_string(), |v| value(SignalKind::ErrorRatio, v))
}

/// The p99 latency of an edge.
pub fn edge_p99(e: &Edge) -> String {
    e.p99_ms
        .map_or_else(|| MISSING.to_string(), |v| value(SignalKind::LatencyP99, v))
}

/// Messages waiting and how fast that grows: "1.2k +5.0/s", "40 -2.1/s", "0".
pub fn backlog(backlog: f64, growth_per_s: Option<f64>) -> String {
    let n = if backlog >= 10_000.0 {
        format!("{:.0}k", backlog / 1000.0)
    } else if backlog >= 1000.0 {
        format!("{:.1}k", backlog / 1000.0)
    } else {
        format!("{backlog:.0}")
    };
    match growth_per_s {
        Some(g) if g.abs() >= 0.05 => format!("{n} {g:+.1}/s"),
        _ => n,
    }
}

/// The backlog on an edge without a health verdict (calls edges have none).
pub fn backlog_of(e: &Edge) -> String {
    e.backlog.map_or_else(
        || MISSING.to_string(),
        |b| backlog(b, e.backlog_growth_per_s),
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

/// A share of an error budget as a percentage: `100%`, `42%`, `4.5%`, `-40%` (overspent);
/// one decimal below 10% so a nearly spent budget does not read as `0%`. `–` without traffic.
pub fn budget_percent(remaining: Option<f64>) -> String {
    match remaining {
        Some(r) if r.is_finite() => {
            let pct = r * 100.0;
            if pct.abs() < 9.95 && pct.abs() >= 0.05 {
                format!("{pct:.1}%")
            } else {
                // Round first so a tiny overspend reads `0%`, not `-0%`.
                let whole = pct.round();
                format!("{:.0}%", if whole == 0.0 { 0.0 } else { whole })
            }
        }
        _ => MISSING.to_string(),
    }
}

/// Filled cells of a `width`-cell budget bar: the budget left, clamped to [0, 1]; any budget
/// left shows at least one cell so "almost gone" differs from "gone".
pub fn budget_cells(remaining: Option<f64>, width: u16) -> u16 {
    let Some(r) = remaining.filter(|r| r.is_finite()) else {
        return 0;
    };
    let r = r.clamp(0.0, 1.0);
    let cells = (r * f64::from(width)).round() as u16;
    if r > 0.0 && cells == 0 {
        1.min(width)
    } else {
        cells.min(width)
    }
}

/// A burn rate: `0.4x`, `12.0x`, `140x` (no decimal from 100 on, to keep the width); `–`
/// without traffic in the window.
pub fn burn_rate(burn: Option<f64>) -> String {
    match burn {
        Some(b) if b.is_finite() && b >= 99.95 => format!("{b:.0}x"),
        Some(b) if b.is_finite() => format!("{:.1}x", b.max(0.0)),
        _ => MISSING.to_string(),
    }
}

/// A burn rate with its window, padded to 9 cells so rates line up in a column: `5m  12.0x`,
/// `30m  0.4x`.
pub fn window_burn(window_ms: i64, burn: Option<f64>) -> String {
    format!("{:<3} {:>5}", window(window_ms), burn_rate(burn))
}

/// An SLO target as a percentage without trailing zeros: `99.9%`, `99%`, `99.95%`.
pub fn target(t: f64) -> String {
    let s = format!("{:.3}", t * 100.0);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}%")
}

/// What an objective promises, short: `avail 99.9%`, `p≤300ms 99%`.
pub fn objective(o: Objective, t: f64) -> String {
    match o {
        Objective::Availability => format!("avail {}", target(t)),
        Objective::Latency { threshold_ms } => format!("p≤{threshold_ms}ms {}", target(t)),
    }
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
    fn backlogs_are_short() {
        assert_eq!(backlog(0.0, None), "0");
        assert_eq!(backlog(120.0, Some(5.0)), "120 +5.0/s");
        assert_eq!(backlog(1234.0, Some(-2.06)), "1.2k -2.1/s");
        assert_eq!(backlog(45_000.0, Some(0.01)), "45k");
    }

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

    #[test]
    fn budget_percentages() {
        assert_eq!(budget_percent(Some(1.0)), "100%");
        assert_eq!(budget_percent(Some(0.423)), "42%");
        assert_eq!(budget_percent(Some(0.045)), "4.5%");
        assert_eq!(budget_percent(Some(0.0)), "0%");
        assert_eq!(budget_percent(Some(-0.0001)), "0%");
        assert_eq!(budget_percent(Some(-0.4)), "-40%");
        assert_eq!(budget_percent(Some(-2.5)), "-250%");
        assert_eq!(budget_percent(None), MISSING);
        assert_eq!(budget_percent(Some(f64::NAN)), MISSING);
    }

    #[test]
    fn budget_bar_cells() {
        assert_eq!(budget_cells(Some(1.0), 8), 8);
        assert_eq!(budget_cells(Some(0.5), 8), 4);
        assert_eq!(budget_cells(Some(0.01), 8), 1, "a little left shows");
        assert_eq!(budget_cells(Some(0.0), 8), 0);
        assert_eq!(budget_cells(Some(-3.0), 8), 0);
        assert_eq!(budget_cells(Some(7.0), 8), 8);
        assert_eq!(budget_cells(None, 8), 0);
        assert_eq!(budget_cells(Some(0.3), 0), 0);
    }

    proptest::proptest! {
        #[test]
        fn budget_bar_is_bounded_and_monotone(a in -3.0f64..3.0, b in -3.0f64..3.0, w in 0u16..40) {
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            let (cl, ch) = (budget_cells(Some(lo), w), budget_cells(Some(hi), w));
            proptest::prop_assert!(ch <= w);
            proptest::prop_assert!(cl <= ch, "more budget never shows a shorter bar");
            proptest::prop_assert_eq!(cl > 0, lo > 0.0 && w > 0, "empty exactly when spent");
        }
    }

    #[test]
    fn burn_rates() {
        assert_eq!(burn_rate(Some(12.0)), "12.0x");
        assert_eq!(burn_rate(Some(3.12)), "3.1x");
        assert_eq!(burn_rate(Some(0.0)), "0.0x");
        assert_eq!(burn_rate(Some(140.2)), "140x");
        assert_eq!(burn_rate(None), MISSING);
        assert_eq!(window_burn(300_000, Some(12.0)), "5m  12.0x");
        assert_eq!(window_burn(1_800_000, Some(0.42)), "30m  0.4x");
        assert_eq!(window_burn(3 * 86_400_000, Some(140.0)), "3d   140x");
        assert_eq!(window_burn(3_600_000, None), format!("1h      {}", MISSING));
    }

    #[test]
    fn objectives() {
        assert_eq!(target(0.999), "99.9%");
        assert_eq!(target(0.99), "99%");
        assert_eq!(target(0.9995), "99.95%");
        assert_eq!(objective(Objective::Availability, 0.999), "avail 99.9%");
        assert_eq!(
            objective(
                Objective::Latency {
                    threshold_ms: 300.0
                },
                0.99
            ),
            "p≤300ms 99%"
        );
        assert_eq!(
            objective(Objective::Latency { threshold_ms: 2.5 }, 0.9),
            "p≤2.5ms 90%"
        );
    }
}
