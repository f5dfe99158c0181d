//! SVG drawn as text: charts, sparklines and the topology graph. Plain functions of the model
//! and the shared layout, so the server draws them before any script runs and the browser
//! redraws them with the same code after an update.

use opscope_layout::format::{
    self, MISSING, backlog_of, edge_errors, edge_p99, edge_rate, health_symbol, health_word,
};
use opscope_layout::graph::{self, GraphLayout};
use opscope_model::{EdgeKind, EntityId, Health, Point, SignalKind, Snapshot};
use std::fmt::Write;

/// Text made safe for an XML/HTML text node or a quoted attribute.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Percent-encoding for a URL query value.
pub fn url_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/' | b'@' | b':')
        {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The CSS class of a health state (colour); the symbol carries the same meaning without it.
pub fn health_class(h: Health) -> &'static str {
    match h {
        Health::Ok => "h-ok",
        Health::Warning => "h-warn",
        Health::Critical => "h-crit",
        Health::Unknown => "h-unknown",
    }
}

/// A band of time to shade on a chart (an anomaly's or an incident's window).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Band {
    pub from_ms: i64,
    pub to_ms: i64,
}

/// A labelled instant on a chart (an onset, a change event).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Mark {
    pub ts_ms: i64,
    pub label: String,
    /// `onset` or `change`: how it is drawn.
    pub class: String,
}

/// What a chart shows.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct ChartData {
    pub kind: Option<SignalKind>,
    pub points: Vec<Point>,
    pub from_ms: i64,
    pub to_ms: i64,
    pub bands: Vec<Band>,
    pub marks: Vec<Mark>,
    /// The detector's anomaly score in [0, 1] over the same range (drawn under the chart).
    #[serde(default)]
    pub scores: Vec<Point>,
}

const W: f64 = 720.0;
const H: f64 = 220.0;
const LEFT: f64 = 72.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 28.0;

/// A line chart with axes, units, shaded bands and marks; a title and a text summary for
/// screen readers.
pub fn chart(d: &ChartData, title: &str) -> String {
    let mut s = String::with_capacity(4096);
    let _ = write!(
        s,
        r#"<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="{}"><title>{}</title>"#,
        esc(title),
        esc(title)
    );
    let (t0, t1) = (d.from_ms, d.to_ms.max(d.from_ms + 1));
    let finite: Vec<&Point> = d
        .points
        .iter()
        .filter(|p| p.value.is_finite() && p.ts_ms >= t0 && p.ts_ms <= t1)
        .collect();
    let (mut lo, mut hi) = finite
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
            (a.min(p.value), b.max(p.value))
        });
    if !lo.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    if lo > 0.0 && lo < hi * 0.5 {
        lo = 0.0;
    }
    if (hi - lo).abs() < f64::EPSILON {
        hi = lo + if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
    }
    let x = |ts: i64| LEFT + (ts - t0) as f64 / (t1 - t0) as f64 * (W - LEFT - RIGHT);
    let y = |v: f64| TOP + (1.0 - (v - lo) / (hi - lo)) * (H - TOP - BOTTOM);
    for b in &d.bands {
        let (a, z) = (x(b.from_ms.max(t0)), x(b.to_ms.min(t1)));
        if z > a {
            let _ = write!(
                s,
                r#"<rect class="band" x="{a:.1}" y="{TOP}" width="{:.1}" height="{:.1}"/>"#,
                z - a,
                H - TOP - BOTTOM
            );
        }
    }
    // Axes: three value ticks, three time ticks.
    let _ = write!(
        s,
        r#"<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{:.1}"/><line class="axis" x1="{LEFT}" y1="{:.1}" x2="{:.1}" y2="{:.1}"/>"#,
        H - BOTTOM,
        H - BOTTOM,
        W - RIGHT,
        H - BOTTOM
    );
    for i in 0..3 {
        let v = lo + (hi - lo) * f64::from(i) / 2.0;
        let label = d
            .kind
            .map_or_else(|| format!("{v:.2}"), |k| format::value(k, v));
        let _ = write!(
            s,
            r#"<text class="tick" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            LEFT - 6.0,
            y(v) + 4.0,
            esc(&label)
        );
    }
    for i in 0..3 {
        let ts = t0 + (t1 - t0) * i / 2;
        let anchor = ["start", "middle", "end"][usize::try_from(i).unwrap_or(0)];
        let _ = write!(
            s,
            r#"<text class="tick" x="{:.1}" y="{:.1}" text-anchor="{anchor}">{}</text>"#,
            x(ts),
            H - 8.0,
            format::clock(ts)
        );
    }
    if finite.is_empty() {
        let _ = write!(
            s,
            r#"<text class="empty" x="{:.1}" y="{:.1}" text-anchor="middle">no data in this range</text>"#,
            (LEFT + W - RIGHT) / 2.0,
            H / 2.0
        );
    } else {
        let path = line_path(&finite, x, y);
        let _ = write!(s, r#"<path class="series" d="{path}"/>"#);
    }
    for m in &d.marks {
        if m.ts_ms < t0 || m.ts_ms > t1 {
            continue;
        }
        let _ = write!(
            s,
            r#"<g class="mark {}"><line x1="{:.1}" y1="{TOP}" x2="{:.1}" y2="{:.1}"/><title>{}</title></g>"#,
            esc(&m.class),
            x(m.ts_ms),
            x(m.ts_ms),
            H - BOTTOM,
            esc(&m.label)
        );
    }
    s.push_str("</svg>");
    s
}

/// The `d` of a line through the points; a gap longer than three times the typical step
/// breaks the line.
fn line_path(points: &[&Point], x: impl Fn(i64) -> f64, y: impl Fn(f64) -> f64) -> String {
    let step = typical_step(points);
    let mut d = String::new();
    let mut prev: Option<i64> = None;
    for p in points {
        let cmd = match prev {
            Some(t) if p.ts_ms - t <= step * 3 => 'L',
            _ => 'M',
        };
        let _ = write!(d, "{cmd}{:.1},{:.1}", x(p.ts_ms), y(p.value));
        prev = Some(p.ts_ms);
    }
    d
}

fn typical_step(points: &[&Point]) -> i64 {
    let mut steps: Vec<i64> = points.windows(2).map(|w| w[1].ts_ms - w[0].ts_ms).collect();
    if steps.is_empty() {
        return 1;
    }
    steps.sort_unstable();
    steps[steps.len() / 2].max(1)
}

/// The anomaly score under a chart: a strip with the same time axis as [`chart`], 0 to 1,
/// the alarm level marked, shaded where the score is high.
pub fn score_strip(d: &ChartData, alarm: f64) -> String {
    let h = 64.0;
    let (t0, t1) = (d.from_ms, d.to_ms.max(d.from_ms + 1));
    let x = |ts: i64| LEFT + (ts - t0) as f64 / (t1 - t0) as f64 * (W - LEFT - RIGHT);
    let y = |v: f64| 6.0 + (1.0 - v.clamp(0.0, 1.0)) * (h - 12.0);
    let mut s = format!(
        r#"<svg class="score" viewBox="0 0 {W} {h}" role="img" aria-label="anomaly score, 0 to 1"><title>anomaly score (0 to 1; alarm at {alarm:.2})</title>"#
    );
    let _ = write!(
        s,
        r#"<text class="tick" x="{:.1}" y="{:.1}" text-anchor="end">score 1</text><text class="tick" x="{:.1}" y="{:.1}" text-anchor="end">0</text><line class="alarm" x1="{LEFT}" x2="{:.1}" y1="{:.1}" y2="{:.1}"/>"#,
        LEFT - 6.0,
        y(1.0) + 4.0,
        LEFT - 6.0,
        y(0.0) + 4.0,
        W - RIGHT,
        y(alarm),
        y(alarm)
    );
    let pts: Vec<&Point> = d
        .scores
        .iter()
        .filter(|p| p.value.is_finite() && p.ts_ms >= t0 && p.ts_ms <= t1)
        .collect();
    if pts.is_empty() {
        let _ = write!(
            s,
            r#"<text class="empty" x="{:.1}" y="{:.1}" text-anchor="middle">no score in this range</text>"#,
            (LEFT + W - RIGHT) / 2.0,
            h / 2.0
        );
    } else {
        let d_attr = line_path(&pts, x, y);
        let _ = write!(s, r#"<path class="score-line" d="{d_attr}"/>"#);
    }
    s.push_str("</svg>");
    s
}

/// A small line of the last values, no axes.
pub fn sparkline(values: &[f64], label: &str) -> String {
    let (w, h) = (96.0, 20.0);
    let v: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let mut s = format!(
        r#"<svg class="spark" viewBox="0 0 {w} {h}" role="img" aria-label="{}">"#,
        esc(label)
    );
    if v.len() >= 2 {
        let (lo, hi) = v
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
                (a.min(x), b.max(x))
            });
        let span = if hi - lo > f64::EPSILON { hi - lo } else { 1.0 };
        let n = (v.len() - 1) as f64;
        let mut d = String::new();
        for (i, x) in v.iter().enumerate() {
            let _ = write!(
                d,
                "{}{:.1},{:.1}",
                if i == 0 { 'M' } else { 'L' },
                i as f64 / n * w,
                h - 2.0 - (x - lo) / span * (h - 4.0)
            );
        }
        let _ = write!(s, r#"<path d="{d}"/>"#);
    }
    s.push_str("</svg>");
    s
}

/// Pixels per layout unit.
const UX: f64 = 8.0;
const UY: f64 = 18.0;

/// The entities shown when `focus` is set: it, its callers and callees (and the topics or
/// queues between them).
pub fn neighbourhood(s: &Snapshot, focus: &EntityId) -> Vec<EntityId> {
    let mut v = vec![focus.clone()];
    for e in &s.topology.edges {
        if e.kind == EdgeKind::RunsOn || e.kind == EdgeKind::Owns {
            continue;
        }
        if &e.from == focus {
            v.push(e.to.clone());
        }
        if &e.to == focus {
            v.push(e.from.clone());
        }
    }
    v.sort();
    v.dedup();
    v
}

/// The laid-out graph of the snapshot, or of `focus`'s neighbourhood.
pub fn topology_layout(s: &Snapshot, focus: Option<&EntityId>) -> GraphLayout {
    match focus {
        Some(f) => {
            let keep = neighbourhood(s, f);
            let edges: Vec<_> = s
                .topology
                .edges
                .iter()
                .filter(|e| keep.contains(&e.from) && keep.contains(&e.to))
                .cloned()
                .collect();
            graph::layout(&keep, &edges)
        }
        None => graph::layout(&graph::snapshot_entities(s), &s.topology.edges),
    }
}

/// A URL for an entity in the topology view.
pub fn focus_href(id: &EntityId) -> String {
    format!("/topology?focus={}", url_value(&entity_param(id)))
}

/// An entity as a URL parameter: `namespace/name` for workloads, `kind/namespace/name` else.
pub fn entity_param(id: &EntityId) -> String {
    if id.kind == opscope_model::EntityKind::Workload {
        format!("{}/{}", id.namespace, id.name)
    } else {
        id.to_string()
    }
}

/// The topology as SVG: one focusable link per node (health symbol, name, a tooltip with its
/// figures), one path per drawn edge with its rate, error ratio and p99 (and backlog) in a
/// tooltip and a label shown on hover or focus.
pub fn topology(s: &Snapshot, lay: &GraphLayout, focus: Option<&EntityId>, zoom: f64) -> String {
    let (w, h) = (
        f64::from(lay.width.max(1)) * UX + 16.0,
        f64::from(lay.height.max(1)) * UY + 16.0,
    );
    let mut out = String::with_capacity(8192);
    let _ = write!(
        out,
        r#"<svg class="topo" id="topo-svg" viewBox="0 0 {w:.0} {h:.0}" width="{:.0}" height="{:.0}" role="img" aria-label="service topology"><g transform="translate(8,8)">"#,
        w * zoom,
        h * zoom
    );
    let px = |x: u16| f64::from(x) * UX;
    let py = |y: u16| f64::from(y) * UY + UY / 2.0;
    for ge in &lay.edges {
        let (Some(a), Some(b)) = (lay.nodes.get(ge.from), lay.nodes.get(ge.to)) else {
            continue;
        };
        let mut d = String::new();
        let mut first = true;
        for c in &ge.cells {
            let _ = write!(
                d,
                "{}{:.1},{:.1}",
                if first { 'M' } else { 'L' },
                px(c.x) + UX / 2.0,
                py(c.y)
            );
            first = false;
        }
        let _ = write!(
            d,
            "{}{:.1},{:.1}",
            if first { 'M' } else { 'L' },
            px(ge.arrow.0) + UX,
            py(ge.arrow.1)
        );
        let model_edge = s.topology.edges.iter().find(|e| {
            (e.from == a.entity && e.to == b.entity) || (e.to == a.entity && e.from == b.entity)
        });
        let tip = match model_edge {
            Some(e) if matches!(e.kind, EdgeKind::Calls) => format!(
                "{} → {}: {}, errors {}, p99 {}",
                a.entity.name,
                b.entity.name,
                edge_rate(e),
                edge_errors(e),
                edge_p99(e)
            ),
            Some(e) => format!(
                "{} → {}: {}, backlog {}",
                a.entity.name,
                b.entity.name,
                edge_rate(e),
                backlog_of(e)
            ),
            None => format!("{} → {}", a.entity.name, b.entity.name),
        };
        let health = s
            .edge_health
            .iter()
            .find(|e| {
                (e.from == a.entity && e.to == b.entity) || (e.to == a.entity && e.from == b.entity)
            })
            .map_or(Health::Unknown, |e| e.health);
        let _ = write!(
            out,
            r#"<g class="edge {} {}" tabindex="0"><title>{}</title><path d="{d}" marker-end="url(#arrow)"/><text class="edge-label" x="{:.1}" y="{:.1}">{}</text></g>"#,
            if ge.calls { "calls" } else { "messages" },
            health_class(health),
            esc(&tip),
            px(ge.arrow.0) - 4.0,
            py(ge.arrow.1) - 5.0,
            esc(&model_edge
                .map(|e| format!("{} · {}", edge_rate(e), edge_errors(e)))
                .unwrap_or_else(|| MISSING.to_owned()))
        );
    }
    for n in &lay.nodes {
        let h = s.health_of(&n.entity);
        let label = graph::node_label(&n.entity);
        let figures = s
            .entities
            .iter()
            .find(|e| e.entity == n.entity)
            .map(|e| {
                e.signals
                    .iter()
                    .filter(|(k, _)| {
                        matches!(
                            k,
                            SignalKind::RequestRate
                                | SignalKind::ErrorRatio
                                | SignalKind::LatencyP99
                                | SignalKind::ConsumerLag
                                | SignalKind::QueueDepth
                        )
                    })
                    .map(|(k, v)| format!("{} {}", k.label(), format::value(*k, *v)))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        let focused = focus == Some(&n.entity);
        let _ = write!(
            out,
            r#"<a class="node {}{}" href="{}" data-entity="{}"><title>{} — {}{}{}</title><rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" rx="4"/><text x="{:.1}" y="{:.1}">{} {}</text></a>"#,
            health_class(h),
            if focused { " focused" } else { "" },
            esc(&focus_href(&n.entity)),
            esc(&entity_param(&n.entity)),
            esc(&n.entity.to_string()),
            health_word(h),
            if figures.is_empty() { "" } else { ": " },
            esc(&figures),
            px(n.x) - 3.0,
            py(n.y) - UY / 2.0 + 1.0,
            f64::from(n.width) * UX + 6.0,
            UY - 2.0,
            px(n.x),
            py(n.y) + 4.0,
            health_symbol(h),
            esc(&label)
        );
    }
    if let Some((x, y)) = lay.infra_caption {
        let _ = write!(
            out,
            r#"<text class="caption" x="{:.1}" y="{:.1}">{}</text>"#,
            px(x),
            py(y) + 4.0,
            graph::INFRA_CAPTION
        );
    }
    out.push_str(r#"</g><defs><marker id="arrow" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0L8,4L0,8z"/></marker></defs></svg>"#);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_text_is_escaped_everywhere() {
        let d = ChartData {
            kind: Some(SignalKind::LatencyP99),
            points: vec![
                Point {
                    ts_ms: 0,
                    value: 1.0,
                },
                Point {
                    ts_ms: 1000,
                    value: 2.0,
                },
            ],
            from_ms: 0,
            to_ms: 1000,
            bands: vec![],
            marks: vec![Mark {
                ts_ms: 500,
                label: "</svg><script>alert(1)</script>".into(),
                class: "change\"onload=\"x".into(),
            }],
            scores: vec![],
        };
        let s = chart(&d, "<b>");
        assert!(!s.contains("<script>"));
        assert!(!s.contains("\"onload"));
        assert!(s.contains("&lt;/svg&gt;"));
        assert_eq!(url_value("shop/a b&c"), "shop/a%20b%26c");
    }

    #[test]
    fn charts_break_lines_at_gaps_and_say_when_empty() {
        let pts: Vec<Point> = [0, 5, 10, 60, 65]
            .iter()
            .map(|s| Point {
                ts_ms: s * 1000,
                value: 1.0,
            })
            .collect();
        let d = ChartData {
            kind: None,
            points: pts,
            from_ms: 0,
            to_ms: 70_000,
            ..ChartData::default()
        };
        let s = chart(&d, "x");
        assert_eq!(s.matches('M').count() - s.matches("<marker").count(), 2);
        let empty = chart(
            &ChartData {
                from_ms: 0,
                to_ms: 1,
                ..ChartData::default()
            },
            "x",
        );
        assert!(empty.contains("no data in this range"));
    }
}
