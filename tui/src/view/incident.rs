//! One incident: header, timeline with anomaly onsets, ranked causes with evidence, and a chart
//! of the selected cause's signal with its onset marked.

use opscope_model::{Cause, Direction, Incident, IncidentStatus};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{
    Axis, Block, Chart, Dataset, GraphType, HighlightSpacing, LegendPosition, List, ListItem,
    ListState, Paragraph, Wrap,
};

use crate::app::App;
use crate::format;
use crate::styles;
use opscope_layout::{Describe, phrase};

pub(super) fn render(app: &App, id: u64, frame: &mut Frame, area: Rect) {
    let Some(inc) = app.incident(id) else {
        let msg = format!(
            "INC-{id} is no longer in the snapshot (incidents are kept for a while after they resolve)."
        );
        frame.render_widget(
            Paragraph::new(Span::styled(msg, styles::dim())).wrap(Wrap { trim: true }),
            area,
        );
        return;
    };
    // The suggested remediation needs room; on short terminals the causes keep it.
    let with_remediation = area.height >= 30;
    let head = header_lines(app, inc, area.width.saturating_sub(2), with_remediation);
    let head_h = (head.len() as u16 + 2).min((area.height / 3).max(3));
    let chart_h = (area.height.saturating_sub(head_h) / 2).clamp(3, 16);
    let [head_area, mid, chart] = Layout::vertical([
        Constraint::Length(head_h),
        Constraint::Min(3),
        Constraint::Length(chart_h),
    ])
    .areas(area);
    frame.render_widget(Paragraph::new(head).block(pane("Incident")), head_area);
    let [causes_area, timeline_area] =
        Layout::horizontal([Constraint::Percentage(58), Constraint::Percentage(42)]).areas(mid);
    causes(app, inc, frame, causes_area);
    timeline(inc, frame, timeline_area);
    cause_chart(inc, inc.causes.get(app.cause_selected), frame, chart);
}

fn pane(title: &str) -> Block<'_> {
    Block::bordered()
        .border_style(styles::border())
        .title(Span::styled(format!(" {title} "), styles::pane_title()))
}

/// The header: facts packed into as few lines as the width allows (each fact kept whole), then
/// the title, wrapped.
fn header_lines(
    app: &App,
    inc: &Incident,
    width: u16,
    with_remediation: bool,
) -> Vec<Line<'static>> {
    let end = match inc.status {
        IncidentStatus::Open => app.snapshot.ts_ms,
        IncidentStatus::Resolved => inc.resolved_ms.unwrap_or(inc.last_seen_ms),
    };
    let fact = |name: &str, value: String| {
        vec![
            Span::styled(format!("{name} "), styles::dim()),
            Span::raw(value),
        ]
    };
    let mut facts: Vec<Vec<Span<'static>>> = vec![
        vec![
            Span::styled(format!("INC-{} ", inc.id), styles::pane_title()),
            Span::styled(
                styles::severity_tag(inc.severity),
                styles::severity(inc.severity),
            ),
            Span::raw("  "),
            Span::styled(styles::status_word(inc.status), styles::status(inc.status)),
        ],
        fact(
            "first seen",
            format!("{} UTC", format::clock(inc.first_seen_ms)),
        ),
        fact(
            "last seen",
            format!("{} UTC", format::clock(inc.last_seen_ms)),
        ),
    ];
    if let Some(r) = inc.resolved_ms {
        facts.push(fact("resolved", format!("{} UTC", format::clock(r))));
    }
    facts.push(fact("duration", format::duration(end - inc.first_seen_ms)));
    facts.push(vec![Span::styled(
        format!("{} anomalies", inc.anomalies.len()),
        styles::dim(),
    )]);

    const GAP: &str = "   ";
    let width = usize::from(width).max(1);
    let mut lines: Vec<Line<'static>> = Vec::new();
    let mut cur: Vec<Span<'static>> = Vec::new();
    let mut used = 0;
    for f in facts {
        let w: usize = f.iter().map(Span::width).sum();
        if used > 0 && used + GAP.len() + w > width {
            lines.push(Line::from(std::mem::take(&mut cur)));
            used = 0;
        }
        if used > 0 {
            cur.push(Span::raw(GAP));
            used += GAP.len();
        }
        cur.extend(f);
        used += w;
    }
    lines.push(Line::from(cur));
    let bold = Style::new().add_modifier(Modifier::BOLD);
    lines.extend(
        format::wrap(&inc.title, width)
            .into_iter()
            .map(|t| Line::styled(t, bold)),
    );
    // Suggested remediation: shown for the operator to run, never run by opscope.
    let shown = if with_remediation { 2 } else { 0 };
    for r in inc.remediation.iter().take(shown) {
        let mut text = format!(
            "suggested: {} ({})",
            phrase::remediation_title(r),
            phrase::remediation_why(r)
        );
        if let Some(c) = &r.command {
            text.push_str(&format!(": {c}"));
        }
        lines.extend(
            format::wrap(&text, width)
                .into_iter()
                .map(|t| Line::styled(t, styles::dim())),
        );
    }
    lines
}

fn confidence_bar(confidence: f64, width: usize) -> String {
    let full = ((confidence.clamp(0.0, 1.0) * width as f64).round() as usize).min(width);
    let mut s: String = std::iter::repeat_n(styles::BAR_FULL, full).collect();
    s.extend(std::iter::repeat_n(styles::BAR_EMPTY, width - full));
    s
}

fn causes(app: &App, inc: &Incident, frame: &mut Frame, area: Rect) {
    let block = pane("Ranked causes");
    if inc.causes.is_empty() {
        let note = Span::styled("no causes ranked yet", styles::dim());
        frame.render_widget(Paragraph::new(note).block(block), area);
        return;
    }
    // Borders, the selection mark and the bullet indent.
    let line_w = usize::from(area.width).saturating_sub(2 + 2);
    let text_w = line_w.saturating_sub(EVIDENCE_INDENT.len());
    let items: Vec<ListItem> = inc
        .causes
        .iter()
        .enumerate()
        .map(|(rank, c)| {
            let health = app.snapshot.health_of(&c.entity);
            let ns = if c.entity.namespace.is_empty() {
                String::new()
            } else {
                format!(" ({})", c.entity.namespace)
            };
            let head = vec![
                Span::styled(format!("{}. ", rank + 1), styles::pane_title()),
                Span::styled(
                    format!("{} ", styles::health_symbol(health)),
                    styles::health(health),
                ),
                Span::styled(format::entity_short(&c.entity), styles::pane_title()),
            ];
            let ns = Span::styled(ns, styles::dim());
            let tail = vec![
                Span::raw(format!("  {}", c.signal.label())),
                Span::raw(format!("  {:>3.0}% ", c.confidence * 100.0)),
            ];
            let bar = Span::styled(confidence_bar(c.confidence, 10), styles::confidence_bar());
            // Drop the bar, then the namespace, rather than cut the confidence off.
            let w = |spans: &[Span]| spans.iter().map(Span::width).sum::<usize>();
            let mut first = head;
            let fits_ns = w(&first) + ns.width() + w(&tail) <= line_w;
            let fits_bar = fits_ns && w(&first) + ns.width() + w(&tail) + bar.width() <= line_w;
            if fits_ns {
                first.push(ns);
            }
            first.extend(tail);
            if fits_bar {
                first.push(bar);
            }
            let mut lines = vec![Line::from(first)];
            for e in &c.evidence {
                for (i, part) in format::wrap(&e.describe(), text_w).into_iter().enumerate() {
                    let lead = if i == 0 {
                        format!(
                            "{:>width$} ",
                            styles::BULLET,
                            width = EVIDENCE_INDENT.len() - 1
                        )
                    } else {
                        EVIDENCE_INDENT.to_string()
                    };
                    lines.push(Line::from(vec![
                        Span::styled(lead, styles::dim()),
                        Span::raw(part),
                    ]));
                }
            }
            ListItem::new(Text::from(lines))
        })
        .collect();
    let list = List::new(items)
        .block(block)
        .highlight_symbol(styles::SELECTED_MARK)
        .highlight_spacing(HighlightSpacing::Always)
        .highlight_style(styles::selected_unfocused());
    let selected = app.cause_selected.min(inc.causes.len() - 1);
    let mut state = ListState::default().with_selected(Some(selected));
    frame.render_stateful_widget(list, area, &mut state);
}

/// Indent of evidence lines under their cause.
const EVIDENCE_INDENT: &str = "     ";
/// Indent of wrapped timeline lines: clock, two spaces, marker, space.
const TIMELINE_INDENT: usize = 12;

fn timeline(inc: &Incident, frame: &mut Frame, area: Rect) {
    // (time, events before anomalies within the same ms, marker, marker style, text)
    let mut rows: Vec<(i64, u8, &str, Style, String)> = inc
        .timeline
        .iter()
        .map(|t| {
            (
                t.ts_ms,
                0,
                styles::BULLET,
                styles::timeline_event(),
                t.text.clone(),
            )
        })
        .collect();
    for a in &inc.anomalies {
        let arrow = match a.direction {
            Direction::Up => styles::RISE,
            Direction::Down => styles::FALL,
        };
        let k = a.signal.kind;
        let text = format!(
            "{} {} {}\u{a0}→\u{a0}{}",
            format::entity_short(&a.signal.entity),
            k.label(),
            format::glue(&format::value(k, a.baseline)),
            format::glue(&format::value(k, a.current))
        );
        rows.push((a.onset_ms, 1, arrow, styles::notice(), text));
    }
    rows.sort_by_key(|r| (r.0, r.1));
    let text_w = usize::from(area.width).saturating_sub(2 + TIMELINE_INDENT);
    let mut lines: Vec<Line> = Vec::new();
    for (ts, _, marker, marker_style, text) in rows {
        for (i, part) in format::wrap(&text, text_w).into_iter().enumerate() {
            let mut spans = if i == 0 {
                vec![
                    Span::styled(format::clock(ts), styles::dim()),
                    Span::raw("  "),
                    Span::styled(marker, marker_style),
                    Span::raw(" "),
                ]
            } else {
                vec![Span::raw(" ".repeat(TIMELINE_INDENT))]
            };
            let style = if marker == styles::BULLET {
                styles::timeline_event()
            } else {
                Style::new()
            };
            spans.push(Span::styled(part, style));
            lines.push(Line::from(spans));
        }
    }
    let title = Line::from(vec![
        Span::styled(" Timeline ", styles::pane_title()),
        Span::styled(styles::BULLET, styles::timeline_event()),
        Span::styled(" event  ", styles::dim()),
        Span::styled(
            format!("{}{}", styles::RISE, styles::FALL),
            styles::notice(),
        ),
        Span::styled(" anomaly onset ", styles::dim()),
    ]);
    let block = Block::bordered()
        .border_style(styles::border())
        .title(title);
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// The onset shown for a cause: its own anomaly if the incident has one, else the earliest
/// anomaly of the same entity.
fn onset_of(inc: &Incident, cause: &Cause) -> Option<i64> {
    let same = |a: &&opscope_model::Anomaly| a.signal.entity == cause.entity;
    inc.anomalies
        .iter()
        .filter(same)
        .find(|a| a.signal.kind == cause.signal)
        .or_else(|| inc.anomalies.iter().filter(same).min_by_key(|a| a.onset_ms))
        .map(|a| a.onset_ms)
}

fn cause_chart(inc: &Incident, cause: Option<&Cause>, frame: &mut Frame, area: Rect) {
    let Some(cause) = cause else {
        frame.render_widget(pane("Signal"), area);
        return;
    };
    let kind = cause.signal;
    let title = format!(
        "{} · {} (cause {} of {})",
        format::entity_short(&cause.entity),
        kind.label(),
        inc.causes
            .iter()
            .position(|c| std::ptr::eq(c, cause))
            .map_or(0, |i| i + 1),
        inc.causes.len()
    );
    let data: Vec<(f64, f64)> = cause
        .series
        .iter()
        .filter(|p| p.value.is_finite())
        .map(|p| (p.ts_ms as f64, p.value))
        .collect();
    if data.len() < 2 {
        frame.render_widget(
            Paragraph::new(Span::styled(
                "not enough points to chart yet",
                styles::dim(),
            ))
            .block(pane(&title)),
            area,
        );
        return;
    }
    let x0 = data.first().map_or(0.0, |p| p.0);
    let x1 = data.last().map_or(1.0, |p| p.0).max(x0 + 1.0);
    let lo = data
        .iter()
        .map(|p| p.1)
        .fold(f64::INFINITY, f64::min)
        .min(0.0);
    let hi = data.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
    let hi = if hi > lo { hi * 1.1 } else { lo + 1.0 };

    let onset = onset_of(inc, cause).filter(|t| (*t as f64) >= x0 && (*t as f64) <= x1);
    let marker: Vec<(f64, f64)> = onset
        .map(|t| vec![(t as f64, lo), (t as f64, hi)])
        .unwrap_or_default();
    let mut datasets = vec![
        Dataset::default()
            .name(kind.label())
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(styles::chart_series())
            .data(&data),
    ];
    if let Some(t) = onset {
        datasets.push(
            Dataset::default()
                .name(format!("onset {}", format::clock(t)))
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(styles::chart_onset())
                .data(&marker),
        );
    }
    let xmid = x0 + (x1 - x0) / 2.0;
    let x_axis = Axis::default()
        .style(styles::axis())
        .bounds([x0, x1])
        .labels([x0, xmid, x1].map(|x| Span::raw(format!("{} UTC", format::clock(x as i64)))));
    let y_axis = Axis::default()
        .style(styles::axis())
        .bounds([lo, hi])
        .labels([lo, (lo + hi) / 2.0, hi].map(|y| Span::raw(format::value(kind, y))));
    let title = match onset {
        Some(t) => format!("{title} — onset {} UTC", format::clock(t)),
        None => title,
    };
    let chart = Chart::new(datasets)
        .block(pane(&title))
        .legend_position(Some(LegendPosition::TopLeft))
        .hidden_legend_constraints((Constraint::Ratio(1, 2), Constraint::Ratio(1, 2)))
        .x_axis(x_axis)
        .y_axis(y_axis);
    frame.render_widget(chart, area);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;

    #[test]
    fn bars() {
        assert_eq!(confidence_bar(0.78, 10), "████████░░");
        assert_eq!(confidence_bar(1.5, 4), "████");
        assert_eq!(confidence_bar(0.0, 3), "░░░");
    }

    #[test]
    fn onset_prefers_the_cause_signal() {
        let inc = fixture::open_incident();
        assert_eq!(onset_of(&inc, &inc.causes[0]), Some(fixture::T0 - 280_000));
        assert_eq!(onset_of(&inc, &inc.causes[2]), Some(fixture::T0 - 275_000));
    }
}
