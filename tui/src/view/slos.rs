//! The overview's "SLOs · Alerts · Changes" pane: one row per SLO objective (error budget left
//! as a bar and a percentage, the burn rates of the shortest and longest windows, and a PAGE or
//! TICKET marker while a burn-rate alert fires), one line per firing rule alert, and the newest
//! change events (rollouts, scaling).
//!
//! The pane is part of the overview screen; the overview decides its height (see
//! `overview::render`). When it gets fewer rows than it wants, rows go in this order: changes
//! first, then the table header, then healthy-looking SLO rows (the SLO rows are listed
//! paging first, then ticketing, then the rest, so the burning ones stay), and one line is kept
//! for rule alerts as long as any fire. The title always counts everything, and says how many
//! rows are not shown.

use opscope_layout::Describe;
use opscope_model::BurnSeverity;
use opscope_model::ChangeEvent;
use opscope_model::Health;
use opscope_model::{Alert, AlertState};
use opscope_model::{BurnAlert, BurnAlertState, SloStatus};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, HighlightSpacing, Row, Table};

use super::columns::{Column, Columns};
use crate::format;
use crate::styles;

/// Borders plus the (empty) selection-mark column, as in the other overview tables.
const TABLE_CHROME: u16 = 4;
/// Cells of the error-budget bar.
const BAR_WIDTH: u16 = 8;
/// Newest change events listed at most.
const MAX_CHANGES: usize = 3;

/// One SLO objective with the most urgent burn-rate alert firing on it.
struct SloRow<'a> {
    status: &'a SloStatus,
    alert: Option<&'a BurnAlert>,
}

impl SloRow<'_> {
    /// Health shown for the row: the burn alert's when one fires, else the budget's.
    fn health(&self) -> Health {
        self.alert.map_or_else(
            || styles::budget_health(self.status.budget_remaining),
            |a| styles::burn_health(a.severity),
        )
    }
}

/// What the pane shows, gathered from a snapshot.
pub(super) struct SloPane<'a> {
    slos: Vec<SloRow<'a>>,
    /// Firing rule alerts, most severe first, then oldest first.
    alerts: Vec<&'a Alert>,
    /// Pending rule alerts (counted in the title only).
    pending: usize,
    /// Newest first, at most [`MAX_CHANGES`].
    changes: Vec<&'a ChangeEvent>,
    now_ms: i64,
}

/// How many rows of each part fit in the pane's inner height.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fit {
    header: u16,
    slos: u16,
    alerts: u16,
    changes: u16,
}

impl<'a> SloPane<'a> {
    /// Gather the pane's rows from the snapshot's SLO statuses, burn-rate alerts, rule alerts
    /// and change events. A burn alert counts for the status with the same service, namespace,
    /// objective and target.
    pub(super) fn new(s: &'a opscope_model::Snapshot) -> Self {
        let mut slos: Vec<SloRow> = s
            .slos
            .iter()
            .map(|status| SloRow {
                status,
                alert: s
                    .burn_alerts
                    .iter()
                    .filter(|a| {
                        a.state == BurnAlertState::Firing
                            && a.service == status.service
                            && a.namespace == status.namespace
                            && a.objective == status.objective
                            && a.target == status.target
                    })
                    // Page sorts before Ticket: the most urgent pair wins.
                    .min_by_key(|a| (a.severity, a.since_ms)),
            })
            .collect();
        // Paging first, then ticketing, then the rest; stable (by name) within each group so
        // rows do not jump around from cycle to cycle.
        slos.sort_by(|a, b| {
            let urgency = |r: &SloRow| r.alert.map_or(2, |a| urgency(a.severity));
            urgency(a)
                .cmp(&urgency(b))
                .then_with(|| a.status.service.cmp(&b.status.service))
                .then_with(|| a.status.namespace.cmp(&b.status.namespace))
        });
        let mut alerts: Vec<&Alert> = s
            .alerts
            .iter()
            .filter(|a| a.state == AlertState::Firing)
            .collect();
        alerts.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then_with(|| a.fired_at_ms.cmp(&b.fired_at_ms))
                .then_with(|| a.rule.cmp(&b.rule))
        });
        let pending = s
            .alerts
            .iter()
            .filter(|a| a.state == AlertState::Pending)
            .count();
        let changes = s.changes.iter().rev().take(MAX_CHANGES).collect();
        SloPane {
            slos,
            alerts,
            pending,
            changes,
            now_ms: s.ts_ms,
        }
    }

    /// True when there is nothing to show (no SLOs, no firing rule alerts, no changes): the
    /// overview then leaves the pane out.
    pub(super) fn is_empty(&self) -> bool {
        self.slos.is_empty() && self.alerts.is_empty() && self.changes.is_empty()
    }

    /// Rows the pane needs to show everything, borders included.
    pub(super) fn wanted_height(&self) -> u16 {
        let header = u16::from(!self.slos.is_empty());
        rows(self.slos.len() + self.alerts.len() + self.changes.len()).saturating_add(2 + header)
    }

    /// Split `inner` rows among the parts.
    fn fit(&self, inner: u16) -> Fit {
        fit(
            rows(self.slos.len()),
            rows(self.alerts.len()),
            rows(self.changes.len()),
            inner,
        )
    }

    fn title(&self, fit: Fit) -> Line<'static> {
        let mut names = Vec::new();
        if !self.slos.is_empty() {
            names.push("SLOs");
        }
        if !self.alerts.is_empty() || self.pending > 0 {
            names.push("Alerts");
        }
        if !self.changes.is_empty() {
            names.push("Changes");
        }
        let mut spans = vec![Span::styled(
            format!(" {} ", names.join(" · ")),
            styles::pane_title(),
        )];
        if !self.slos.is_empty() {
            spans.push(Span::styled(
                format!(
                    "{} objective{} ",
                    self.slos.len(),
                    if self.slos.len() == 1 { "" } else { "s" }
                ),
                styles::dim(),
            ));
            for sev in [BurnSeverity::Page, BurnSeverity::Ticket] {
                let n = self
                    .slos
                    .iter()
                    .filter(|r| r.alert.is_some_and(|a| a.severity == sev))
                    .count();
                if n > 0 {
                    spans.push(Span::styled(
                        format!(
                            "{} {n} {} ",
                            styles::health_symbol(styles::burn_health(sev)),
                            styles::burn_tag(sev).to_lowercase()
                        ),
                        styles::health(styles::burn_health(sev)),
                    ));
                }
            }
        }
        if !self.alerts.is_empty() {
            spans.push(Span::styled(
                format!("· {} firing ", self.alerts.len()),
                styles::notice(),
            ));
        }
        if self.pending > 0 {
            spans.push(Span::styled(
                format!("· {} pending ", self.pending),
                styles::dim(),
            ));
        }
        let hidden = (self.slos.len() + self.alerts.len() + self.changes.len())
            .saturating_sub(usize::from(fit.slos + fit.alerts + fit.changes));
        if hidden > 0 {
            spans.push(Span::styled(
                format!("· {hidden} more not shown "),
                styles::dim(),
            ));
        }
        Line::from(spans)
    }

    /// Draw the pane into `area` (borders included).
    pub(super) fn render(&self, frame: &mut Frame, area: Rect) {
        let fit = self.fit(area.height.saturating_sub(2));
        let block = Block::bordered()
            .title(self.title(fit))
            .border_style(styles::border());
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let [slo_area, alert_area, change_area, _] = Layout::vertical([
            Constraint::Length(fit.header + fit.slos),
            Constraint::Length(fit.alerts),
            Constraint::Length(fit.changes),
            Constraint::Min(0),
        ])
        .areas(inner);
        let width = area.width.saturating_sub(TABLE_CHROME);

        if fit.slos > 0 {
            let cols = slo_columns(self.now_ms, width);
            let rows: Vec<Row> = self.slos.iter().map(|r| cols.row(&r)).collect();
            let mut t = plain_table(rows, cols.widths());
            if fit.header > 0 {
                t = t.header(cols.header(styles::header()));
            }
            frame.render_widget(t, slo_area);
        }
        if fit.alerts > 0 {
            let cols = alert_columns(&self.alerts, self.now_ms, width);
            let rows: Vec<Row> = self.alerts.iter().map(|a| cols.row(a)).collect();
            frame.render_widget(plain_table(rows, cols.widths()), alert_area);
        }
        if fit.changes > 0 {
            let cols = change_columns(&self.changes, self.now_ms, width);
            let rows: Vec<Row> = self.changes.iter().map(|c| cols.row(c)).collect();
            frame.render_widget(plain_table(rows, cols.widths()), change_area);
        }
    }
}

/// A count of rows as terminal rows, saturating.
fn rows(n: usize) -> u16 {
    u16::try_from(n).unwrap_or(u16::MAX)
}

/// Split `inner` rows among a header, `n_slo` SLO rows, `n_alert` alert lines and `n_change`
/// change lines (see the module docs for the order rows go in).
fn fit(n_slo: u16, n_alert: u16, n_change: u16, inner: u16) -> Fit {
    let mut left = inner;
    let keep_for_alerts = n_alert.min(1).min(left);
    let for_slos = left - keep_for_alerts;
    let header = u16::from(n_slo > 0 && for_slos >= 2);
    let slos = n_slo.min(for_slos - header);
    left -= header + slos;
    let alerts = n_alert.min(left);
    left -= alerts;
    let changes = n_change.min(left);
    Fit {
        header,
        slos,
        alerts,
        changes,
    }
}

/// Sort rank of a burn alert: pages first.
fn urgency(s: BurnSeverity) -> u8 {
    match s {
        BurnSeverity::Page => 0,
        BurnSeverity::Ticket => 1,
    }
}

/// A table without block or selection, its first column aligned with the other overview panes.
fn plain_table(rows: Vec<Row<'static>>, widths: Vec<Constraint>) -> Table<'static> {
    Table::new(rows, widths)
        .highlight_spacing(HighlightSpacing::Always)
        .highlight_symbol("  ")
}

/// The error-budget cell: a bar coloured by how much is left, then the percentage.
fn budget_cell(remaining: Option<f64>) -> Line<'static> {
    let style = styles::health(styles::budget_health(remaining));
    let full = format::budget_cells(remaining, BAR_WIDTH);
    let bar: String = std::iter::repeat_n(styles::BAR_FULL, usize::from(full)).collect();
    let rest: String =
        std::iter::repeat_n(styles::BAR_EMPTY, usize::from(BAR_WIDTH - full)).collect();
    Line::from(vec![
        Span::styled(bar, style),
        Span::styled(rest, styles::dim()),
        Span::styled(format!(" {:>5}", format::budget_percent(remaining)), style),
    ])
}

/// The burn-rate cell: the shortest and the longest window (`5m 12.0x  3d 0.4x`).
fn burn_cell(s: &SloStatus) -> Line<'static> {
    let mut spans = Vec::new();
    let picked = match (s.windows.first(), s.windows.last()) {
        (Some(a), Some(b)) if s.windows.len() > 1 => vec![a, b],
        (Some(a), _) => vec![a],
        _ => Vec::new(),
    };
    for (i, w) in picked.into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::raw("  "));
        }
        spans.push(Span::styled(
            format::window_burn(w.window_ms, w.burn_rate),
            styles::burn(w.burn_rate),
        ));
    }
    if spans.is_empty() {
        return Line::styled(styles::MISSING, styles::dim());
    }
    Line::from(spans)
}

fn slo_columns<'a>(now_ms: i64, width: u16) -> Columns<'a, &'a SloRow<'a>> {
    Columns::fit(
        vec![
            Column::new("SLO", Constraint::Min(16), 0, |r: &&SloRow| {
                let h = r.health();
                Line::from(vec![
                    Span::styled(styles::health_symbol(h), styles::health(h)),
                    Span::raw(" "),
                    Span::raw(r.status.service.clone()),
                ])
            }),
            Column::new(
                "NAMESPACE",
                Constraint::Length(12),
                6,
                |r: &&SloRow| match &r.status.namespace {
                    Some(ns) => Line::from(ns.clone()),
                    None => Line::styled(styles::MISSING, styles::dim()),
                },
            ),
            Column::new("OBJECTIVE", Constraint::Length(14), 0, |r: &&SloRow| {
                Line::from(format::objective(r.status.objective, r.status.target))
            }),
            Column::new(
                "BUDGET LEFT",
                Constraint::Length(BAR_WIDTH + 6),
                1,
                |r: &&SloRow| budget_cell(r.status.budget_remaining),
            ),
            Column::new(
                "BURN short/long",
                Constraint::Length(20),
                2,
                |r: &&SloRow| burn_cell(r.status),
            ),
            Column::new("ALERT", Constraint::Length(6), 1, |r: &&SloRow| {
                r.alert.map_or_else(Line::default, |a| {
                    Line::styled(styles::burn_tag(a.severity), styles::burn_alert(a.severity))
                })
            }),
            Column::new("FOR", Constraint::Length(7), 5, move |r: &&SloRow| {
                r.alert.map_or_else(Line::default, |a| {
                    Line::from(format::duration(now_ms - a.since_ms))
                })
            })
            .right(),
        ],
        width,
    )
}

/// The condition of a rule alert: `latency p99 524 ms > 500 ms` (label dim).
fn condition(a: &Alert) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("{} ", a.signal.label()), styles::dim()),
        Span::raw(format!(
            "{} {} {}",
            format::value(a.signal, a.value),
            a.op.as_str(),
            format::value(a.signal, a.threshold)
        )),
    ])
}

/// Widest cell of `f` over `items`, in cells, within `lo..=hi`.
fn widest<T>(items: &[T], lo: u16, hi: u16, f: impl Fn(&T) -> usize) -> u16 {
    let w = items.iter().map(f).max().unwrap_or(0);
    (u16::try_from(w).unwrap_or(hi)).clamp(lo, hi)
}

/// Alert lines have no header; their columns are as wide as their widest cell so a condition
/// is never cut, and the duration takes what is left (right-aligned at the pane's edge).
fn alert_columns<'a>(alerts: &[&Alert], now_ms: i64, width: u16) -> Columns<'a, &'a Alert> {
    let rule_w = widest(alerts, 8, 32, |a| Span::raw(&a.rule).width());
    let entity_w = widest(alerts, 6, 32, |a| {
        Span::raw(format::entity_short(&a.entity)).width()
    });
    let cond_w = widest(alerts, 10, 48, |a| condition(a).width());
    Columns::fit(
        vec![
            Column::new("SEVERITY", Constraint::Length(6), 0, |a: &&Alert| {
                Line::styled(
                    styles::rule_severity_tag(a.severity),
                    styles::rule_severity(a.severity),
                )
            }),
            Column::new("RULE", Constraint::Length(rule_w), 0, |a: &&Alert| {
                Line::styled(a.rule.clone(), styles::pane_title())
            }),
            Column::new("ENTITY", Constraint::Length(entity_w), 2, |a: &&Alert| {
                Line::from(format::entity_short(&a.entity))
            }),
            Column::new("CONDITION", Constraint::Length(cond_w), 1, |a: &&Alert| {
                condition(a)
            }),
            Column::new("FOR", Constraint::Min(10), 3, move |a: &&Alert| {
                let since = a.fired_at_ms.unwrap_or(a.active_since_ms);
                Line::styled(
                    format!("for {}", format::duration(now_ms - since)),
                    styles::dim(),
                )
            })
            .right(),
        ],
        width,
    )
}

/// Change lines: when, where, what; the description takes what is left and is cut at the edge.
fn change_columns<'a>(
    changes: &[&ChangeEvent],
    now_ms: i64,
    width: u16,
) -> Columns<'a, &'a ChangeEvent> {
    let entity_w = widest(changes, 6, 32, |c| {
        Span::raw(format::entity_short(&c.entity)).width()
    });
    Columns::fit(
        vec![
            Column::new(
                "WHEN",
                Constraint::Length(13),
                0,
                move |c: &&ChangeEvent| {
                    Line::styled(
                        format!(
                            "{} {} ago",
                            styles::CHANGE,
                            format::duration(now_ms - c.ts_ms)
                        ),
                        styles::change(),
                    )
                },
            ),
            Column::new(
                "ENTITY",
                Constraint::Length(entity_w),
                1,
                |c: &&ChangeEvent| Line::from(format::entity_short(&c.entity)),
            ),
            Column::new("WHAT", Constraint::Min(20), 0, |c: &&ChangeEvent| {
                Line::styled(c.describe(), styles::dim())
            }),
        ],
        width,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;

    fn pane_of(s: &opscope_model::Snapshot) -> SloPane<'_> {
        SloPane::new(s)
    }

    #[test]
    fn burning_slo_comes_first_with_its_page_alert() {
        let s = fixture::snapshot();
        let p = pane_of(&s);
        assert_eq!(p.slos.len(), 2);
        let first = &p.slos[0];
        assert_eq!(
            first.alert.map(|a| a.severity),
            Some(BurnSeverity::Page),
            "the paging objective is listed first"
        );
        assert_eq!(first.health(), Health::Critical);
        assert!(p.slos[1].alert.is_none());
        assert_eq!(p.alerts.len(), 1);
    }

    #[test]
    fn resolved_burn_alerts_and_pending_rule_alerts_are_not_rows() {
        let mut s = fixture::snapshot();
        for a in &mut s.burn_alerts {
            a.state = BurnAlertState::Resolved;
        }
        for a in &mut s.alerts {
            a.state = AlertState::Pending;
        }
        let p = pane_of(&s);
        assert!(p.slos.iter().all(|r| r.alert.is_none()));
        assert!(p.alerts.is_empty());
        assert_eq!(p.pending, s.alerts.len());
    }

    #[test]
    fn empty_snapshot_has_no_pane() {
        let s = opscope_model::Snapshot::default();
        assert!(pane_of(&s).is_empty());
    }

    #[test]
    fn rows_go_changes_first_then_header_then_slos_keeping_an_alert() {
        let s = fixture::snapshot();
        let p = pane_of(&s);
        let (n_slo, n_alert, n_change) = (
            p.slos.len() as u16,
            p.alerts.len() as u16,
            p.changes.len() as u16,
        );
        assert!(n_slo >= 2 && n_alert >= 1 && n_change >= 1);
        let full = p.wanted_height() - 2;
        let all = Fit {
            header: 1,
            slos: n_slo,
            alerts: n_alert,
            changes: n_change,
        };
        assert_eq!(p.fit(full), all);
        assert_eq!(p.fit(full + 5), all, "extra room is not invented");
        // One row short: a change goes.
        assert_eq!(p.fit(full - 1).changes, n_change - 1);
        // Room for the header, one SLO and one alert.
        assert_eq!(
            p.fit(3),
            Fit {
                header: 1,
                slos: 1,
                alerts: 1,
                changes: 0
            }
        );
        // Two rows: no header, the paging SLO and the alert.
        assert_eq!(
            p.fit(2),
            Fit {
                header: 0,
                slos: 1,
                alerts: 1,
                changes: 0
            }
        );
        // One row: the alert line wins over the SLO rows.
        assert_eq!(p.fit(1).alerts, 1);
        assert_eq!(
            p.fit(0),
            Fit {
                header: 0,
                slos: 0,
                alerts: 0,
                changes: 0
            }
        );
    }

    proptest::proptest! {
        #[test]
        fn fit_uses_at_most_the_rows_given_and_keeps_the_priorities(
            n_slo in 0u16..8, n_alert in 0u16..8, n_change in 0u16..4, inner in 0u16..30,
        ) {
            let f = fit(n_slo, n_alert, n_change, inner);
            let used = f.header + f.slos + f.alerts + f.changes;
            proptest::prop_assert!(used <= inner);
            proptest::prop_assert!(f.slos <= n_slo && f.alerts <= n_alert && f.changes <= n_change);
            // Everything shows when it fits; otherwise no row is left empty.
            let want = u16::from(n_slo > 0) + n_slo + n_alert + n_change;
            proptest::prop_assert_eq!(used, want.min(inner));
            proptest::prop_assert!(f.header == 0 || f.slos > 0, "no header without rows");
            if n_alert > 0 && inner > 0 {
                proptest::prop_assert!(f.alerts >= 1, "a firing alert keeps a line");
            }
            if f.changes > 0 {
                proptest::prop_assert!(f.slos == n_slo && f.alerts == n_alert, "changes go first");
            }
        }
    }
}
