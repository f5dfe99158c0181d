//! The topology: the call graph laid out in layers (see [`crate::graph`]) with a details pane
//! for the selected node.

use opscope_model::{Edge, EdgeKind, EntityId, EntityKind};
use opscope_model::{EntityHealth, Health};
use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Row, Table};

use super::columns::{Column, Columns};
use crate::app::{App, involves};
use crate::format;
use crate::graph::{self, GraphLayout};
use crate::styles;

pub(super) fn render(app: &App, frame: &mut Frame, area: Rect) {
    let details_h = 12.min(area.height * 2 / 5);
    let [graph_area, details] =
        Layout::vertical([Constraint::Min(3), Constraint::Length(details_h)]).areas(area);
    let selected = app.topology_index();
    draw_graph(app, selected, frame, graph_area);
    draw_details(app, selected, frame, details);
}

fn draw_graph(app: &App, selected: Option<usize>, frame: &mut Frame, area: Rect) {
    let g = &app.graph;
    let count = |k: EntityKind| g.nodes.iter().filter(|n| n.entity.kind == k).count();
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let title = Line::from(vec![
        Span::styled(" Topology ", styles::pane_title()),
        Span::styled(
            format!(
                "{}, {}, {} ",
                plural(count(EntityKind::Workload), "workload"),
                plural(count(EntityKind::Topic), "topic"),
                plural(count(EntityKind::Queue), "queue")
            ),
            styles::dim(),
        ),
    ]);
    let legend = Line::from(vec![
        Span::styled(" ─▶", styles::edge()),
        Span::styled(" calls  ", styles::dim()),
        Span::styled("─▷", styles::edge_messaging()),
        Span::styled(" messages  ", styles::dim()),
        Span::styled("[topic] (queue) ", styles::dim()),
    ])
    .alignment(Alignment::Right);
    let block = Block::new()
        .borders(Borders::TOP)
        .border_style(styles::border())
        .title(title)
        .title(legend);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if g.nodes.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled("no workloads yet", styles::dim())),
            inner,
        );
        return;
    }
    let sel = selected.map(|i| &g.nodes[i]);
    let ox = offset(g.width, inner.width, sel.map(|n| (n.x, n.width)));
    let oy = offset(g.height, inner.height, sel.map(|n| (n.y, 1)));
    draw_layout(app, g, selected, frame.buffer_mut(), inner, ox, oy);
}

/// Scroll offset of one axis: centred when the graph fits, else the selection in view.
/// Negative means the graph starts right of/below the area's origin.
fn offset(content: u16, view: u16, sel: Option<(u16, u16)>) -> i32 {
    let (content, view) = (i32::from(content), i32::from(view));
    if content <= view {
        return -((view - content) / 2);
    }
    let (pos, len) = sel.map_or((0, 0), |(p, l)| (i32::from(p), i32::from(l)));
    (pos + len / 2 - view / 2).clamp(0, content - view)
}

fn draw_layout(
    app: &App,
    g: &GraphLayout,
    selected: Option<usize>,
    buf: &mut Buffer,
    area: Rect,
    ox: i32,
    oy: i32,
) {
    let place = |x: u16, y: u16| -> Option<(u16, u16)> {
        let sx = i32::from(x) - ox;
        let sy = i32::from(y) - oy;
        if sx < 0 || sy < 0 || sx >= i32::from(area.width) || sy >= i32::from(area.height) {
            return None;
        }
        Some((area.x + sx as u16, area.y + sy as u16))
    };
    for ((x, y), c) in g.compose(selected) {
        let Some(pos) = place(x, y) else { continue };
        let style = if c.highlighted {
            styles::edge_highlighted()
        } else if c.calls {
            styles::edge()
        } else {
            styles::edge_messaging()
        };
        if let Some(cell) = buf.cell_mut(pos) {
            cell.set_char(graph::glyph(&c)).set_style(style);
        }
    }
    // Messaging edges whose backlog is unhealthy (a queue growing while nobody consumes)
    // take the health colour along their whole path.
    for e in &g.edges {
        let Some(h) = edge_health(app, &g.nodes[e.from].entity, &g.nodes[e.to].entity) else {
            continue;
        };
        if !matches!(h.health, Health::Warning | Health::Critical) {
            continue;
        }
        let style = styles::health(h.health).add_modifier(Modifier::BOLD);
        let arrow = std::iter::once(e.arrow);
        for (x, y) in e.cells.iter().map(|c| (c.x, c.y)).chain(arrow) {
            if let Some(pos) = place(x, y)
                && let Some(cell) = buf.cell_mut(pos)
            {
                cell.set_style(style);
            }
        }
    }
    if let Some((x, y)) = g.infra_caption {
        put_str(buf, area, &place, x, y, graph::INFRA_CAPTION, styles::dim());
    }
    for (i, n) in g.nodes.iter().enumerate() {
        let health = app.snapshot.health_of(&n.entity);
        let mut style = styles::health(health);
        if Some(i) == selected {
            style = style.add_modifier(Modifier::REVERSED | Modifier::BOLD);
        }
        let text = format!(
            "{} {}",
            styles::health_symbol(health),
            graph::node_label(&n.entity)
        );
        put_str(buf, area, &place, n.x, n.y, &text, style);
    }
}

/// The backlog health of the messaging edge between `a` and `b`, either way round (a consumer
/// is drawn downstream of the topic it reads, its `consumes` edge points at the topic).
fn edge_health<'a>(
    app: &'a App,
    a: &EntityId,
    b: &EntityId,
) -> Option<&'a opscope_model::EdgeHealth> {
    app.snapshot
        .edge_health
        .iter()
        .find(|h| (&h.from == a && &h.to == b) || (&h.from == b && &h.to == a))
}

/// Write `text` at layout position (x, y), clipped to `area` cell by cell.
fn put_str(
    buf: &mut Buffer,
    area: Rect,
    place: &dyn Fn(u16, u16) -> Option<(u16, u16)>,
    x: u16,
    y: u16,
    text: &str,
    style: Style,
) {
    for (i, ch) in text.chars().enumerate() {
        let Some(pos) = place(x.saturating_add(i as u16), y) else {
            continue;
        };
        if pos.0 < area.right()
            && let Some(cell) = buf.cell_mut(pos)
        {
            cell.set_char(ch).set_style(style);
        }
    }
}

fn draw_details(app: &App, selected: Option<usize>, frame: &mut Frame, area: Rect) {
    if area.height == 0 {
        return;
    }
    let Some(node) = selected.map(|i| &app.graph.nodes[i]) else {
        return;
    };
    let id = &node.entity;
    let eh: Option<&EntityHealth> = app.snapshot.entities.iter().find(|e| &e.entity == id);
    let health = eh.map_or(Health::Unknown, |e| e.health);

    let [info_area, edges_area] = Layout::horizontal([
        Constraint::Length((area.width * 35 / 100).clamp(28, 42)),
        Constraint::Min(0),
    ])
    .areas(area);

    // Who and how it is.
    let mut lines = vec![Line::from(vec![
        Span::styled(
            format!("{} ", styles::health_symbol(health)),
            styles::health(health),
        ),
        Span::styled(id.name.clone(), styles::pane_title()),
        Span::styled(
            format!("  {}", styles::health_word(health)),
            styles::health(health),
        ),
    ])];
    let place = if id.namespace.is_empty() {
        id.kind.as_str().to_string()
    } else {
        format!("{} in {}", id.kind.as_str(), id.namespace)
    };
    lines.push(Line::styled(place, styles::dim()));
    let incidents: Vec<String> = app
        .snapshot
        .open_incidents()
        .filter(|i| involves(i, id))
        .map(|i| format!("INC-{}", i.id))
        .collect();
    if !incidents.is_empty() {
        lines.push(Line::from(vec![
            Span::styled("in ", styles::dim()),
            Span::styled(incidents.join(", "), styles::notice()),
        ]));
    }
    let block = Block::new()
        .borders(Borders::TOP | Borders::RIGHT)
        .border_style(styles::border())
        .title(Span::styled(" Selected ", styles::pane_title()));
    let inner = block.inner(info_area);
    frame.render_widget(block, info_area);
    let [head_area, signals_area] =
        Layout::vertical([Constraint::Length(lines.len() as u16), Constraint::Min(0)]).areas(inner);
    frame.render_widget(Paragraph::new(lines), head_area);
    // Signals as label/value pairs: the value stays whole, a long label is cut.
    let signals = eh.map(|e| e.signals.as_slice()).unwrap_or_default();
    let values: Vec<String> = signals.iter().map(|(k, v)| format::value(*k, *v)).collect();
    let value_w = values
        .iter()
        .map(|v| Span::raw(v).width())
        .max()
        .unwrap_or(0) as u16;
    let rows = signals
        .iter()
        .zip(values)
        .map(|((k, _), v)| Row::new([Line::styled(k.label(), styles::dim()), Line::from(v)]));
    let table = Table::new(rows, [Constraint::Fill(1), Constraint::Length(value_w)]);
    frame.render_widget(table, signals_area);

    // Its edges, outgoing first.
    let edges = &app.snapshot.topology.edges;
    let mut related: Vec<(bool, &Edge)> = edges
        .iter()
        .filter(|e| &e.from == id)
        .map(|e| (true, e))
        .collect();
    related.extend(edges.iter().filter(|e| &e.to == id).map(|e| (false, e)));
    // The backlog column only where some edge has one (a consumer's, a queue's, a topic's).
    let backlog = related
        .iter()
        .any(|(_, e)| e.backlog.is_some() || edge_health(app, &e.from, &e.to).is_some());
    let cols = edge_columns(app, edges_area.width, backlog);
    let rows: Vec<Row> = related.iter().map(|r| cols.row(r)).collect();
    let n = rows.len();
    let shown = usize::from(edges_area.height.saturating_sub(2));
    let title = if n > shown && shown > 0 {
        format!(" Edges ({n}, first {shown}) ")
    } else {
        format!(" Edges ({n}) ")
    };
    let block = Block::new()
        .borders(Borders::TOP)
        .border_style(styles::border())
        .title(Span::styled(title, styles::pane_title()));
    let table = Table::new(rows, cols.widths())
        .header(cols.header(styles::header()))
        .block(block);
    frame.render_widget(table, edges_area);
}

/// Columns of the edge list: (outgoing, edge) rows seen from the selected node; with
/// `backlog` edges among them, their backlog (kept before errors and latency).
fn edge_columns<'a>(app: &'a App, width: u16, backlog: bool) -> Columns<'a, (bool, &'a Edge)> {
    type R<'e> = (bool, &'e Edge);
    let mut cols = vec![
        Column::new("", Constraint::Length(1), 0, |(out, _): &R| {
            Line::styled(
                if *out {
                    styles::OUTGOING
                } else {
                    styles::INCOMING
                },
                styles::dim(),
            )
        }),
        Column::new("RELATION", Constraint::Length(13), 1, |(out, e): &R| {
            let style = if e.kind == EdgeKind::Calls {
                Style::new()
            } else {
                styles::edge_messaging()
            };
            Line::styled(format::relation(e.kind, *out), style)
        }),
        Column::new("PEER", Constraint::Min(16), 0, move |(out, e): &R| {
            let peer = if *out { &e.to } else { &e.from };
            let h = app.snapshot.health_of(peer);
            Line::from(vec![
                Span::styled(styles::health_symbol(h), styles::health(h)),
                Span::raw(" "),
                Span::raw(format::entity_short(peer)),
            ])
        }),
        Column::new("RATE", Constraint::Length(12), 2, |(_, e): &R| {
            Line::from(format::edge_rate(e))
        })
        .right(),
        Column::new("ERRORS", Constraint::Length(7), 3, |(_, e): &R| {
            Line::from(format::edge_errors(e))
        })
        .right(),
        Column::new("P99", Constraint::Length(8), 4, |(_, e): &R| {
            Line::from(format::edge_p99(e))
        })
        .right(),
    ];
    if backlog {
        cols.push(
            Column::new(
                "BACKLOG",
                Constraint::Length(14),
                2,
                move |(_, e): &R| match edge_health(app, &e.from, &e.to)
                    .filter(|h| h.kind == e.kind)
                {
                    Some(h) => Line::styled(
                        format::backlog(h.backlog, h.growth_per_s),
                        styles::health(h.health),
                    ),
                    None => Line::from(format::backlog_of(e)),
                },
            )
            .right(),
        );
    }
    Columns::fit(cols, width)
}

#[cfg(test)]
mod tests {
    use super::offset;

    #[test]
    fn offsets_centre_or_follow_the_selection() {
        assert_eq!(offset(10, 20, None), -5);
        assert_eq!(offset(100, 20, Some((0, 4))), 0);
        assert_eq!(offset(100, 20, Some((50, 4))), 42);
        assert_eq!(offset(100, 20, Some((99, 1))), 80);
    }
}
