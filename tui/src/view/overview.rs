//! The overview: SLOs with their error budgets and burn rates, firing alerts and recent changes
//! (when there are any), every entity with its health and key signals, the incident list, and
//! the freshness of each source.

use opscope_model::{EntityHealth, Health, Incident, IncidentStatus};
use opscope_model::{SignalKind, SourceStatus};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, HighlightSpacing, Row, Table, TableState};

use super::columns::{Column, Columns};
use super::slos::SloPane;
use crate::app::{App, Focus};
use crate::format;
use crate::styles;

/// Borders plus the selection mark.
const TABLE_CHROME: u16 = 4;

/// Rows the entity table keeps before the SLO pane may take any: borders, header and four
/// entities, so the table stays usable (it scrolls to the selection) at 80x24.
const ENTITIES_MIN: u16 = 7;

/// Layout, top to bottom: SLOs · Alerts · Changes, Entities, Incidents, Sources.
///
/// Priorities when rows are short: the incident list always keeps its rows (up to a third of
/// the body); the entity table keeps [`ENTITIES_MIN`]; the SLO pane then gets what it wants, up
/// to a third of the body (it drops its own rows in a fixed order, see `slos`), and disappears
/// when fewer than 3 rows are left; the entity table takes the rest; the sources pane shows only
/// when every entity row fits as well (staleness is also in the title bar). The SLO pane sits on
/// top because "are users hurt, and is someone being paged" is the first question.
pub(super) fn render(app: &App, frame: &mut Frame, area: Rect) {
    let incidents = app.listed_incidents();
    let sources = app.snapshot.sources.len() as u16;
    let slo_pane = SloPane::new(&app.snapshot);
    let body = area.height;
    let inc_h = (incidents.len() as u16 + 3).clamp(4, (body / 3).max(4));
    let slo_h = if slo_pane.is_empty() {
        0
    } else {
        let h = slo_pane
            .wanted_height()
            .min((body / 3).max(3))
            .min(body.saturating_sub(inc_h + ENTITIES_MIN));
        if h >= 3 { h } else { 0 }
    };
    let ent_want = app.overview_entities().len() as u16 + 3;
    let src_h = if sources > 0 && body >= slo_h + inc_h + ent_want + 4 {
        (sources + 3).min(body - slo_h - inc_h - ent_want)
    } else {
        0
    };
    let [slo_area, top, mid, bottom] = Layout::vertical([
        Constraint::Length(slo_h),
        Constraint::Min(3),
        Constraint::Length(inc_h),
        Constraint::Length(src_h),
    ])
    .areas(area);
    if slo_h > 0 {
        slo_pane.render(frame, slo_area);
    }
    entities(app, frame, top);
    incident_list(app, &incidents, frame, mid);
    if src_h > 0 {
        source_list(app, frame, bottom);
    }
}

fn pane<'a>(title: Line<'a>, focused: bool) -> Block<'a> {
    Block::bordered().title(title).border_style(if focused {
        styles::border_focused()
    } else {
        styles::border()
    })
}

/// A note where the first row of an empty table would be (below border and header).
fn empty_note(frame: &mut Frame, area: Rect, note: &str) {
    let at = Rect {
        x: area.x + 3,
        y: area.y + 2,
        width: area.width.saturating_sub(4),
        height: 1,
    }
    .intersection(area);
    frame.render_widget(Line::styled(note.to_string(), styles::dim()), at);
}

/// A table with the overview's selection marks.
fn table<'a>(
    rows: Vec<Row<'a>>,
    cols: &Columns<'_, impl Sized>,
    block: Block<'a>,
    focused: bool,
) -> Table<'a> {
    Table::new(rows, cols.widths())
        .header(cols.header(styles::header()))
        .block(block)
        .highlight_spacing(HighlightSpacing::Always)
        .highlight_symbol(if focused {
            styles::SELECTED_MARK
        } else {
            styles::SELECTED_MARK_UNFOCUSED
        })
        .row_highlight_style(if focused {
            styles::selected()
        } else {
            styles::selected_unfocused()
        })
}

/// The newest value of the first of `kinds` the entity has.
fn signal(e: &EntityHealth, kinds: &[SignalKind]) -> Option<(SignalKind, f64)> {
    kinds
        .iter()
        .find_map(|k| e.signals.iter().find(|(s, _)| s == k).copied())
}

/// A signal cell: the formatted value, or a dim dash.
fn signal_cell(e: &EntityHealth, kinds: &[SignalKind]) -> Line<'static> {
    match signal(e, kinds) {
        Some((k @ SignalKind::NodeCpuBusy, v)) => {
            Line::from(format!("{} busy", format::value(k, v)))
        }
        Some((k @ SignalKind::NodeMemAvailable, v)) => {
            Line::from(format!("{} free", format::value(k, v)))
        }
        Some((k, v)) => Line::from(format::value(k, v)),
        None => Line::styled(styles::MISSING, styles::dim()),
    }
}

fn entity_columns<'a>(width: u16) -> Columns<'a, &'a EntityHealth> {
    use SignalKind as K;
    let sig = |header, w, rank, kinds: &'static [SignalKind]| {
        Column::new(
            header,
            Constraint::Length(w),
            rank,
            move |e: &&EntityHealth| signal_cell(e, kinds),
        )
        .right()
    };
    Columns::fit(
        vec![
            Column::new("NAME", Constraint::Min(18), 0, |e: &&EntityHealth| {
                Line::from(vec![
                    Span::styled(styles::health_symbol(e.health), styles::health(e.health)),
                    Span::raw(" "),
                    Span::raw(e.entity.name.clone()),
                ])
            }),
            Column::new(
                "NAMESPACE",
                Constraint::Length(12),
                7,
                |e: &&EntityHealth| {
                    if e.entity.namespace.is_empty() {
                        Line::styled(styles::MISSING, styles::dim())
                    } else {
                        Line::from(e.entity.namespace.clone())
                    }
                },
            ),
            Column::new("KIND", Constraint::Length(8), 9, |e: &&EntityHealth| {
                Line::from(e.entity.kind.as_str())
            }),
            sig(
                "REQ/S",
                11,
                1,
                &[
                    K::RequestRate,
                    K::OpsRate,
                    K::TransactionRate,
                    K::PublishRate,
                ],
            ),
            sig("ERRORS", 6, 2, &[K::ErrorRatio]),
            sig("P99", 7, 3, &[K::LatencyP99]),
            sig("CPU", 10, 4, &[K::CpuCores, K::NodeCpuBusy]),
            sig("MEMORY", 12, 5, &[K::MemoryBytes, K::NodeMemAvailable]),
            sig("LAG/DEPTH", 9, 6, &[K::ConsumerLag, K::QueueDepth]),
            sig("RESTARTS", 8, 8, &[K::Restarts]),
        ],
        width,
    )
}

fn entities(app: &App, frame: &mut Frame, area: Rect) {
    let rows_data = app.overview_entities();
    let total = app.snapshot.entities.len();
    let focused = app.focus == Focus::Entities;

    let mut title = vec![Span::styled(" Entities ", styles::pane_title())];
    for h in [
        Health::Critical,
        Health::Warning,
        Health::Ok,
        Health::Unknown,
    ] {
        let n = app
            .snapshot
            .entities
            .iter()
            .filter(|e| e.health == h)
            .count();
        if n > 0 {
            title.push(Span::styled(
                format!("{} {n} ", styles::health_symbol(h)),
                styles::health(h),
            ));
        }
    }
    if !app.filter.is_empty() || app.filter_editing {
        title.push(Span::styled(
            format!("· filter \"{}\" {}/{total} ", app.filter, rows_data.len()),
            styles::notice(),
        ));
    }

    let cols = entity_columns(area.width.saturating_sub(TABLE_CHROME));
    let rows: Vec<Row> = rows_data.iter().map(|e| cols.row(e)).collect();
    let selected = app.entity_index(&rows_data);
    let mut state = TableState::default().with_selected(selected);
    frame.render_stateful_widget(
        table(rows, &cols, pane(Line::from(title), focused), focused),
        area,
        &mut state,
    );
    if rows_data.is_empty() {
        let note = if app.filter.is_empty() {
            "no entities yet"
        } else {
            "no entity matches the filter"
        };
        empty_note(frame, area, note);
    }
}

fn incident_columns<'a>(now_ms: i64, width: u16) -> Columns<'a, &'a Incident> {
    Columns::fit(
        vec![
            Column::new("ID", Constraint::Length(7), 0, |i: &&Incident| {
                Line::from(format!("INC-{}", i.id))
            }),
            Column::new("SEVERITY", Constraint::Length(8), 1, |i: &&Incident| {
                Line::styled(
                    styles::severity_tag(i.severity),
                    styles::severity(i.severity),
                )
            }),
            Column::new("STATUS", Constraint::Length(8), 4, |i: &&Incident| {
                Line::styled(styles::status_word(i.status), styles::status(i.status))
            }),
            Column::new("AGE", Constraint::Length(8), 2, move |i: &&Incident| {
                Line::from(format::duration(now_ms - i.first_seen_ms))
            })
            .right(),
            Column::new("TITLE", Constraint::Min(20), 0, |i: &&Incident| {
                Line::from(i.title.clone())
            }),
            Column::new(
                "TOP CAUSE",
                Constraint::Max(34),
                3,
                |i: &&Incident| match i.causes.first() {
                    None => Line::styled("ranking causes…", styles::dim()),
                    Some(c) => Line::from(vec![
                        Span::raw(format!("{:>3.0}% ", c.confidence * 100.0)),
                        Span::raw(format!("{} ", format::entity_short(&c.entity))),
                        Span::styled(c.signal.label(), styles::dim()),
                    ]),
                },
            )
            .min(26),
        ],
        width,
    )
}

fn incident_list(app: &App, list: &[&Incident], frame: &mut Frame, area: Rect) {
    let focused = app.focus == Focus::Incidents;
    let open = list
        .iter()
        .filter(|i| i.status == IncidentStatus::Open)
        .count();
    let title = Line::from(vec![
        Span::styled(" Incidents ", styles::pane_title()),
        Span::styled(
            format!("{open} open, {} resolved ", list.len() - open),
            styles::dim(),
        ),
    ]);
    let cols = incident_columns(app.snapshot.ts_ms, area.width.saturating_sub(TABLE_CHROME));
    let rows: Vec<Row> = list
        .iter()
        .map(|i| {
            let row = cols.row(i);
            if i.status == IncidentStatus::Open {
                row
            } else {
                row.style(styles::dim())
            }
        })
        .collect();
    let selected = app.incident_index(list);
    let mut state = TableState::default().with_selected(selected);
    let table = table(rows, &cols, pane(title, focused), focused).row_highlight_style(if focused {
        styles::selected()
    } else {
        Style::new()
    });
    frame.render_stateful_widget(table, area, &mut state);
    if list.is_empty() {
        let note = match app.snapshot.learning_until_ms {
            Some(until) => format!(
                "learning what is normal, {} left",
                opscope_layout::format::duration((until - app.snapshot.ts_ms).max(0))
            ),
            None => "all quiet".to_owned(),
        };
        empty_note(frame, area, &note);
    }
}

fn source_columns<'a>(now_ms: i64, width: u16) -> Columns<'a, &'a SourceStatus> {
    let health = |s: &SourceStatus| if s.stale { Health::Warning } else { Health::Ok };
    Columns::fit(
        vec![
            Column::new(
                "SOURCE",
                Constraint::Min(20),
                0,
                move |s: &&SourceStatus| {
                    Line::from(vec![
                        Span::styled(styles::health_symbol(health(s)), styles::health(health(s))),
                        Span::raw(" "),
                        Span::raw(s.name.clone()),
                    ])
                },
            ),
            Column::new(
                "STATE",
                Constraint::Length(5),
                1,
                move |s: &&SourceStatus| {
                    Line::styled(
                        if s.stale { "stale" } else { "fresh" },
                        styles::health(health(s)),
                    )
                },
            ),
            Column::new(
                "LAST OK",
                Constraint::Length(10),
                2,
                move |s: &&SourceStatus| {
                    Line::from(s.last_success_ms.map_or_else(
                        || "never".to_string(),
                        |t| format!("{} ago", format::duration(now_ms - t)),
                    ))
                },
            )
            .right(),
            Column::new("SAMPLES", Constraint::Length(7), 4, |s: &&SourceStatus| {
                Line::from(s.samples.to_string())
            })
            .right(),
            Column::new("TOOK", Constraint::Length(8), 5, |s: &&SourceStatus| {
                Line::from(format!("{} ms", s.duration_ms))
            })
            .right(),
            Column::new("LAST ERROR", Constraint::Min(16), 3, |s: &&SourceStatus| {
                Line::styled(s.last_error.clone().unwrap_or_default(), styles::notice())
            }),
        ],
        width,
    )
}

fn source_list(app: &App, frame: &mut Frame, area: Rect) {
    let cols = source_columns(app.snapshot.ts_ms, area.width.saturating_sub(TABLE_CHROME));
    // When not every source fits (the SLO pane took rows), stale ones are listed first and the
    // title says how many are cut.
    let mut list: Vec<&SourceStatus> = app.snapshot.sources.iter().collect();
    let fits = usize::from(area.height.saturating_sub(3));
    let mut title = vec![Span::styled(" Sources ", styles::pane_title())];
    if list.len() > fits {
        list.sort_by_key(|s| !s.stale);
        title.push(Span::styled(
            format!("{} more not shown ", list.len() - fits),
            styles::dim(),
        ));
    }
    let rows: Vec<Row> = list.iter().map(|s| cols.row(s)).collect();
    let title = Line::from(title);
    let table = Table::new(rows, cols.widths())
        .header(cols.header(styles::header()))
        .block(pane(title, false))
        .highlight_spacing(HighlightSpacing::Always)
        .highlight_symbol("  ");
    frame.render_widget(table, area);
}
