//! The help overlay, generated from the key table.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use crate::keys::{self, Scope};
use crate::styles;

/// Width of the key column.
const KEY_COL: usize = 11;

/// One section per scope: its title, then one line per binding (the replay keys only while
/// replaying).
fn sections(replaying: bool) -> Vec<Vec<Line<'static>>> {
    Scope::ALL
        .iter()
        .filter(|&&scope| replaying || scope != Scope::Replay)
        .map(|&scope| {
            let mut lines = vec![Line::styled(scope.title(), styles::pane_title())];
            for b in keys::bindings(scope) {
                let label = b
                    .keys
                    .iter()
                    .map(keys::Key::label)
                    .collect::<Vec<_>>()
                    .join(" / ");
                lines.push(Line::from(vec![
                    Span::raw("  "),
                    Span::styled(format!("{label:<KEY_COL$}"), styles::key()),
                    Span::raw(" "),
                    Span::raw(b.help),
                ]));
            }
            lines
        })
        .collect()
}

/// Sections joined by blank lines.
fn join(sections: &[Vec<Line<'static>>]) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for s in sections {
        if !out.is_empty() {
            out.push(Line::raw(""));
        }
        out.extend(s.iter().cloned());
    }
    out
}

pub(super) fn render(frame: &mut Frame, area: Rect, replaying: bool) {
    let sections = sections(replaying);
    let one = join(&sections);
    // Two columns (split at the section nearest the middle) when they fit the width; else one
    // column when it fits the height; else two anyway, clipped.
    let total: usize = one.len();
    let mut acc = 0;
    let mut split = sections.len();
    for (i, s) in sections.iter().enumerate() {
        if acc + s.len() > total / 2 {
            split = i.max(1);
            break;
        }
        acc += s.len() + 1;
    }
    let two = vec![join(&sections[..split]), join(&sections[split..])];
    let width_of = |cols: &[Vec<Line>]| -> u16 {
        cols.iter()
            .map(|c| c.iter().map(Line::width).max().unwrap_or(0) as u16 + 2)
            .sum::<u16>()
            + 2
    };
    let columns: Vec<Vec<Line>> =
        if width_of(&two) <= area.width || one.len() as u16 + 2 > area.height {
            two
        } else {
            vec![one]
        };
    let col_w: Vec<u16> = columns
        .iter()
        .map(|c| c.iter().map(Line::width).max().unwrap_or(0) as u16 + 2)
        .collect();
    let width = col_w.iter().sum::<u16>() + 2;
    let height = columns.iter().map(Vec::len).max().unwrap_or(0) as u16 + 2;
    let popup = area.centered(
        Constraint::Length(width.min(area.width)),
        Constraint::Length(height.min(area.height)),
    );
    frame.render_widget(Clear, popup);
    let block = Block::bordered()
        .border_style(styles::border_focused())
        .title(Span::styled(" Keys ", styles::pane_title()))
        .title_bottom(Line::styled(" ? or Esc closes ", styles::dim()).right_aligned());
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    let areas = Layout::horizontal(col_w.iter().map(|w| Constraint::Length(*w))).split(inner);
    for (lines, area) in columns.into_iter().zip(areas.iter()) {
        let area = Rect {
            x: area.x + 1,
            width: area.width.saturating_sub(1),
            ..*area
        };
        frame.render_widget(Paragraph::new(lines), area);
    }
}
