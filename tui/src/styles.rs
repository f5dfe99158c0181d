//! Every colour and symbol of the console, in one place.
//!
//! Health and severity always pair a colour with a symbol, so the console stays readable on a
//! monochrome terminal and for colour-blind operators.

use opscope_model::{BurnSeverity, RuleSeverity};
use opscope_model::{Health, IncidentStatus, Severity};
use ratatui::style::{Color, Modifier, Style};

pub use opscope_layout::format::{health_symbol, health_word};

/// Colour for a health state: green, yellow, red, grey.
pub fn health_color(h: Health) -> Color {
    match h {
        Health::Ok => Color::Green,
        Health::Warning => Color::Yellow,
        Health::Critical => Color::Red,
        Health::Unknown => Color::DarkGray,
    }
}

/// Foreground style of a health state.
pub fn health(h: Health) -> Style {
    Style::new().fg(health_color(h))
}

/// The health a severity is shown as.
pub fn severity_health(s: Severity) -> Health {
    match s {
        Severity::Warning => Health::Warning,
        Severity::Critical => Health::Critical,
    }
}

/// Short severity tag with its symbol, e.g. "✖ CRIT".
pub fn severity_tag(s: Severity) -> String {
    let word = match s {
        Severity::Warning => "WARN",
        Severity::Critical => "CRIT",
    };
    format!("{} {word}", health_symbol(severity_health(s)))
}

/// Style of a severity tag.
pub fn severity(s: Severity) -> Style {
    health(severity_health(s)).add_modifier(Modifier::BOLD)
}

/// Error budget left below which the budget shows as a warning (yellow ▲).
pub const BUDGET_WARNING_BELOW: f64 = 0.5;
/// Error budget left below which the budget shows as critical (red ✖); an overspent budget is
/// always critical.
pub const BUDGET_CRITICAL_BELOW: f64 = 0.2;

/// The health an error budget is shown as: ok from 50% left, warning from 20%, critical below
/// (and when overspent), unknown without traffic.
pub fn budget_health(remaining: Option<f64>) -> Health {
    match remaining {
        Some(r) if r.is_nan() => Health::Unknown,
        Some(r) if r < BUDGET_CRITICAL_BELOW => Health::Critical,
        Some(r) if r < BUDGET_WARNING_BELOW => Health::Warning,
        Some(_) => Health::Ok,
        None => Health::Unknown,
    }
}

/// The health a burn-rate alert is shown as: a page is critical, a ticket a warning.
pub fn burn_health(s: BurnSeverity) -> Health {
    match s {
        BurnSeverity::Page => Health::Critical,
        BurnSeverity::Ticket => Health::Warning,
    }
}

/// Marker of a firing burn-rate alert: "PAGE" or "TICKET".
pub fn burn_tag(s: BurnSeverity) -> &'static str {
    match s {
        BurnSeverity::Page => "PAGE",
        BurnSeverity::Ticket => "TICKET",
    }
}

/// Style of the burn-rate alert marker: a page stands out on a red background.
pub fn burn_alert(s: BurnSeverity) -> Style {
    match s {
        BurnSeverity::Page => title_alert(),
        BurnSeverity::Ticket => severity(Severity::Warning),
    }
}

/// A burn rate: yellow when the budget is spent faster than it accrues (> 1x), dim without
/// traffic.
pub fn burn(b: Option<f64>) -> Style {
    match b {
        Some(b) if b > 1.0 => Style::new().fg(Color::Yellow),
        Some(_) => Style::new(),
        None => dim(),
    }
}

/// Short tag of a rule alert's severity with its symbol: "✖ CRIT", "▲ WARN", "ℹ INFO".
pub fn rule_severity_tag(s: RuleSeverity) -> String {
    match s {
        RuleSeverity::Critical => severity_tag(Severity::Critical),
        RuleSeverity::Warning => severity_tag(Severity::Warning),
        RuleSeverity::Info => format!("{INFO} INFO"),
    }
}

/// Style of a rule alert's severity tag.
pub fn rule_severity(s: RuleSeverity) -> Style {
    match s {
        RuleSeverity::Critical => severity(Severity::Critical),
        RuleSeverity::Warning => severity(Severity::Warning),
        RuleSeverity::Info => Style::new().fg(Color::Blue).add_modifier(Modifier::BOLD),
    }
}

/// Change events (rollouts, scaling) in the overview.
pub fn change() -> Style {
    Style::new().fg(Color::Blue)
}

/// Word for an incident status.
pub fn status_word(s: IncidentStatus) -> &'static str {
    match s {
        IncidentStatus::Open => "open",
        IncidentStatus::Resolved => "resolved",
    }
}

/// Style of an incident status.
pub fn status(s: IncidentStatus) -> Style {
    match s {
        IncidentStatus::Open => Style::new().add_modifier(Modifier::BOLD),
        IncidentStatus::Resolved => dim(),
    }
}

/// The top title bar.
pub fn title_bar() -> Style {
    Style::new().fg(Color::Black).bg(Color::Cyan)
}

/// The application title inside the title bar.
pub fn title() -> Style {
    title_bar().add_modifier(Modifier::BOLD)
}

/// Warnings shown in the title bar (stale sources, engine stopped).
pub fn title_alert() -> Style {
    Style::new()
        .fg(Color::White)
        .bg(Color::Red)
        .add_modifier(Modifier::BOLD)
}

/// Secondary text.
pub fn dim() -> Style {
    Style::new().fg(Color::DarkGray)
}

/// Column headers of tables.
pub fn header() -> Style {
    Style::new()
        .fg(Color::Gray)
        .add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
}

/// The selected row of the focused list.
pub fn selected() -> Style {
    Style::new().add_modifier(Modifier::REVERSED)
}

/// The selected row of a list without focus.
pub fn selected_unfocused() -> Style {
    Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
}

/// Border of the focused pane.
pub fn border_focused() -> Style {
    Style::new().fg(Color::Cyan)
}

/// Border of other panes.
pub fn border() -> Style {
    Style::new().fg(Color::DarkGray)
}

/// Pane titles.
pub fn pane_title() -> Style {
    Style::new().add_modifier(Modifier::BOLD)
}

/// A key in the help screen and the key hints.
pub fn key() -> Style {
    Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD)
}

/// Transient notices in the status bar.
pub fn notice() -> Style {
    Style::new().fg(Color::Yellow)
}

/// Edges in the topology graph.
pub fn edge() -> Style {
    Style::new().fg(Color::DarkGray)
}

/// Edges touching the selected node.
pub fn edge_highlighted() -> Style {
    Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD)
}

/// Messaging (produces/consumes) edges.
pub fn edge_messaging() -> Style {
    Style::new().fg(Color::Magenta)
}

/// The series line of the cause chart.
pub fn chart_series() -> Style {
    Style::new().fg(Color::Cyan)
}

/// The onset marker of the cause chart.
pub fn chart_onset() -> Style {
    Style::new().fg(Color::Red)
}

/// Axis labels.
pub fn axis() -> Style {
    Style::new().fg(Color::Gray)
}

/// Filled part of a confidence bar.
pub fn confidence_bar() -> Style {
    Style::new().fg(Color::Magenta)
}

/// Timeline entries from the incident's own history.
pub fn timeline_event() -> Style {
    Style::new().fg(Color::Blue)
}

/// Arrow for an outgoing edge in the details pane.
pub const OUTGOING: &str = "→";
/// Arrow for an incoming edge in the details pane.
pub const INCOMING: &str = "←";
/// Marker of the selected row.
pub const SELECTED_MARK: &str = "▶ ";
/// Marker of the selected row of a list without focus.
pub const SELECTED_MARK_UNFOCUSED: &str = "▷ ";
/// Placeholder for a value that is not available.
pub use opscope_layout::format::MISSING;
/// Upwards change of a signal.
pub const RISE: &str = "↑";
/// Downwards change of a signal.
pub const FALL: &str = "↓";
/// Bullet of evidence lines.
pub const BULLET: &str = "•";
/// Full and empty cells of the confidence bar.
pub const BAR_FULL: char = '█';
/// Empty cell of the confidence bar.
pub const BAR_EMPTY: char = '░';
/// Symbol of an informational rule alert.
pub const INFO: &str = "ℹ";
/// Symbol of a change event (rollout, scaling, deploy marker).
pub const CHANGE: &str = "↻";
