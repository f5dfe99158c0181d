//! Pure rendering of [`App`] to a [`Frame`]: one module per screen, plus the title bar, the
//! status bar and the help overlay drawn around them. Nothing here changes state or computes
//! analytics; it reads the snapshot and the selections.

mod columns;
mod help;
mod incident;
mod overview;
mod slos;
mod topology;

use opscope_model::Health;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::app::{App, View};
use crate::format;
use crate::keys::{self, Action, Scope};
use crate::styles;

/// Smallest terminal the views are laid out for; below it a note asks for more room.
pub const MIN_WIDTH: u16 = 60;
/// Smallest terminal height, rows.
pub const MIN_HEIGHT: u16 = 15;

/// Render the whole console.
pub fn render(app: &App, frame: &mut Frame) {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        too_small(frame, area);
        return;
    }
    let [title, body, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    title_bar(app, frame, title);
    match app.view() {
        View::Overview => overview::render(app, frame, body),
        View::Topology => topology::render(app, frame, body),
        View::Incident(id) => incident::render(app, id, frame, body),
    }
    status_bar(app, frame, status);
    if app.help {
        help::render(frame, body, app.replay.is_some());
    }
}

fn too_small(frame: &mut Frame, area: Rect) {
    let text = vec![
        Line::styled("terminal too small", styles::notice()),
        Line::from(format!(
            "{}x{}, need {MIN_WIDTH}x{MIN_HEIGHT}",
            area.width, area.height
        )),
        Line::styled("q quits", styles::dim()),
    ];
    frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), area);
}

/// Title, snapshot time, cycle, source freshness and open incidents; on a narrow terminal the
/// least important parts go first (help hint, cycle, sources).
fn title_bar(app: &App, frame: &mut Frame, area: Rect) {
    let s = &app.snapshot;
    let bar = styles::title_bar();
    // (rank: lower is kept longer, spans)
    let mut parts: Vec<(u8, Vec<Span>)> = Vec::new();
    if s.cycle == 0 {
        parts.push((
            1,
            vec![Span::styled("waiting for the first snapshot…", bar)],
        ));
    } else {
        parts.push((
            1,
            vec![Span::styled(format!("{} UTC", format::clock(s.ts_ms)), bar)],
        ));
        parts.push((4, vec![Span::styled(format!("cycle {}", s.cycle), bar)]));
    }
    let stale = s.sources.iter().filter(|x| x.stale).count();
    let fresh = s.sources.len() - stale;
    let mut src = vec![Span::styled(format!("sources {fresh} fresh"), bar)];
    if stale > 0 {
        src.push(Span::styled(", ", bar));
        src.push(Span::styled(
            format!("{stale} stale"),
            styles::title_alert(),
        ));
    }
    parts.push((3, src));
    let open: Vec<_> = s.open_incidents().collect();
    if open.is_empty() {
        let text = format!("{} no open incidents", styles::health_symbol(Health::Ok));
        parts.push((2, vec![Span::styled(text, bar)]));
    } else {
        let worst = open
            .iter()
            .map(|i| i.severity)
            .max()
            .map(styles::severity_health)
            .unwrap_or(Health::Warning);
        let text = format!(
            "{} {} open incident{}",
            styles::health_symbol(worst),
            open.len(),
            if open.len() == 1 { "" } else { "s" }
        );
        parts.push((2, vec![Span::styled(text, styles::title_alert())]));
    }
    let c = &s.collector;
    if c.dropped_samples_total > 0 || c.over_sample_limit_total > 0 {
        let text = if c.dropped_samples_total > 0 {
            format!("series limit {} reached", c.max_series)
        } else {
            "sample limit hit".to_owned()
        };
        parts.push((0, vec![Span::styled(text, styles::title_alert())]));
    }
    if let Some(r) = &app.replay {
        let state = if r.finished {
            "end"
        } else if r.paused {
            "paused"
        } else {
            "playing"
        };
        let text = format!(
            "REPLAY {} {} / {} ×{}",
            state,
            format::duration(r.position_ms - r.start_ms),
            format::duration(r.end_ms - r.start_ms),
            format::speed(r.speed)
        );
        parts.push((0, vec![Span::styled(text, styles::title_alert())]));
    }
    if app.engine_stopped {
        parts.push((
            0,
            vec![Span::styled("engine stopped", styles::title_alert())],
        ));
    }
    let help = format!(
        " {} help ",
        keys::key_for(Scope::Global, Action::ToggleHelp).unwrap_or_default()
    );

    const SEP: &str = " │ ";
    let width = usize::from(area.width);
    let title = format!(" {}", app.title);
    let parts_w = |parts: &[(u8, Vec<Span>)]| -> usize {
        parts
            .iter()
            .map(|(_, p)| p.iter().map(Span::width).sum::<usize>() + Span::raw(SEP).width())
            .sum()
    };
    let mut show_help = true;
    while Span::raw(&title).width() + parts_w(&parts) + if show_help { help.len() } else { 0 }
        > width
    {
        if show_help {
            show_help = false;
            continue;
        }
        let Some(worst) = parts
            .iter()
            .enumerate()
            .filter(|(_, p)| p.0 > 0)
            .max_by_key(|(i, p)| (p.0, *i))
            .map(|(i, _)| i)
        else {
            break;
        };
        parts.remove(worst);
    }
    let mut spans = vec![Span::styled(title, styles::title())];
    for (_, p) in parts {
        spans.push(Span::styled(SEP, bar));
        spans.extend(p);
    }
    if show_help {
        let used: usize = spans.iter().map(Span::width).sum();
        spans.push(Span::styled(
            " ".repeat(width.saturating_sub(used + help.len())),
            bar,
        ));
        spans.push(Span::styled(help, bar));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)).style(bar), area);
}

/// Key hints, the filter being typed, or a notice; the view path on the right.
fn status_bar(app: &App, frame: &mut Frame, area: Rect) {
    let path: Vec<String> = app
        .stack()
        .iter()
        .map(|v| match v {
            View::Overview => "overview".to_string(),
            View::Topology => "topology".to_string(),
            View::Incident(id) => format!("INC-{id}"),
        })
        .collect();
    let right = format!(" {} ", path.join(" › "));
    let right_w = (Span::raw(&right).width() as u16).min(area.width / 2);
    let [l, r] = Layout::horizontal([Constraint::Min(0), Constraint::Length(right_w)]).areas(area);
    let left: Line = if let Some(n) = &app.notice {
        Line::styled(format!(" {n}"), styles::notice())
    } else if app.filter_editing {
        Line::from(vec![
            Span::styled(" /", styles::key()),
            Span::raw(app.filter.clone()),
            Span::styled("█", styles::key()),
            Span::styled("   Enter keep · Esc clear", styles::dim()),
        ])
    } else if app.replay.is_some() {
        hints(Scope::Replay, usize::from(l.width))
    } else {
        hints(app.scope(), usize::from(l.width))
    };
    frame.render_widget(Paragraph::new(left), l);
    frame.render_widget(
        Paragraph::new(Span::styled(right, styles::dim())).right_aligned(),
        r,
    );
}

/// Short key hints for a scope, as many as fit in `width`, keys taken from the key table.
fn hints(scope: Scope, width: usize) -> Line<'static> {
    let wanted: &[(&[Action], &str)] = match scope {
        Scope::Overview => &[
            (&[Action::Up, Action::Down], "move"),
            (&[Action::Enter], "open"),
            (&[Action::SwitchFocus], "focus"),
            (&[Action::StartFilter], "filter"),
            (&[Action::ShowTopology], "topology"),
            (&[Action::NewestIncident], "incident"),
            (&[Action::ToggleHelp], "help"),
            (&[Action::Quit], "quit"),
        ],
        Scope::Topology => &[
            (
                &[Action::Left, Action::Down, Action::Up, Action::Right],
                "move",
            ),
            (&[Action::Enter], "incident"),
            (&[Action::Back], "back"),
            (&[Action::ShowOverview], "overview"),
            (&[Action::ToggleHelp], "help"),
            (&[Action::Quit], "quit"),
        ],
        Scope::Incident => &[
            (&[Action::Up, Action::Down], "cause"),
            (&[Action::Enter], "topology"),
            (&[Action::Back], "back"),
            (&[Action::ShowOverview], "overview"),
            (&[Action::ToggleHelp], "help"),
            (&[Action::Quit], "quit"),
        ],
        Scope::Replay => &[
            (&[Action::ReplayPause], "pause"),
            (&[Action::ReplayFaster, Action::ReplaySlower], "speed"),
            (&[Action::ReplayBack, Action::ReplayForward], "seek"),
            (&[Action::ShowTopology], "topology"),
            (&[Action::NewestIncident], "incident"),
            (&[Action::ToggleHelp], "help"),
            (&[Action::Quit], "quit"),
        ],
        Scope::Global | Scope::Filter => &[],
    };
    let mut spans = vec![Span::raw(" ")];
    let mut used = 1;
    for (actions, what) in wanted {
        let key: String = actions
            .iter()
            .filter_map(|a| keys::key_for(scope, *a))
            .collect();
        let text = format!(" {what}  ");
        let w = Span::raw(&key).width() + text.len();
        if used + w > width + 2 {
            break;
        }
        used += w;
        spans.push(Span::styled(key, styles::key()));
        spans.push(Span::styled(text, Style::new()));
    }
    Line::from(spans)
}
