//! Snapshot tests of the rendered screens (120x40) and a resize sweep over small sizes.

mod common;

use std::sync::Arc;

use crossterm::event::KeyCode;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use tui::{App, Msg, View};

/// The buffer as plain text, one line per row, trailing spaces trimmed.
fn text(buf: &Buffer) -> String {
    let mut out = String::new();
    for y in 0..buf.area.height {
        let mut line = String::new();
        let mut skip = 0;
        for x in 0..buf.area.width {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            let sym = buf[(x, y)].symbol();
            line.push_str(sym);
            skip = unicode_width(sym).saturating_sub(1);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn unicode_width(s: &str) -> usize {
    ratatui::text::Span::raw(s).width()
}

fn draw(app: &App, width: u16, height: u16) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| tui::render(app, f)).unwrap();
    terminal.backend().buffer().clone()
}

fn app() -> App {
    App::new(
        "opscope demo — scenario latency",
        Arc::new(common::snapshot()),
    )
}

fn press(app: &mut App, keys: &str) {
    for c in keys.chars() {
        app.update(Msg::char(c));
    }
}

#[test]
fn overview_120x40() {
    let mut a = app();
    press(&mut a, "jjj");
    insta::assert_snapshot!(text(&draw(&a, 120, 40)));
}

#[test]
fn overview_incidents_focused_filtering_120x40() {
    let mut a = app();
    a.update(Msg::key(KeyCode::Tab));
    press(&mut a, "/service");
    insta::assert_snapshot!(text(&draw(&a, 120, 40)));
}

#[test]
fn topology_120x40() {
    let mut a = app();
    press(&mut a, "/checkout");
    a.update(Msg::key(KeyCode::Enter));
    a.update(Msg::key(KeyCode::Enter));
    assert_eq!(a.view(), View::Topology);
    insta::assert_snapshot!(text(&draw(&a, 120, 40)));
}

#[test]
fn incident_120x40() {
    let mut a = app();
    press(&mut a, "i");
    assert_eq!(a.view(), View::Incident(3));
    insta::assert_snapshot!(text(&draw(&a, 120, 40)));
}

#[test]
fn incident_second_cause_120x40() {
    let mut a = app();
    press(&mut a, "ij");
    insta::assert_snapshot!(text(&draw(&a, 120, 40)));
}

#[test]
fn help_120x40() {
    let mut a = app();
    press(&mut a, "?");
    insta::assert_snapshot!(text(&draw(&a, 120, 40)));
}

#[test]
fn too_small_note() {
    let a = app();
    let t = text(&draw(&a, 40, 10));
    assert!(t.contains("terminal too small"), "{t}");
}

#[test]
fn health_is_coloured() {
    use ratatui::style::Color;
    let a = app();
    let buf = draw(&a, 120, 40);
    let find = |needle: &str| -> (u16, u16) {
        for y in 0..buf.area.height {
            let row: String = (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect();
            if let Some(col) = row.find(needle) {
                return (row[..col].chars().count() as u16, y);
            }
        }
        panic!("{needle} not found");
    };
    let (x, y) = find("✖ paymentservice");
    assert_eq!(buf[(x, y)].fg, Color::Red);
    let (x, y) = find("● adservice");
    assert_eq!(buf[(x, y)].fg, Color::Green);
    let (x, y) = find("? emails");
    assert_eq!(buf[(x, y)].fg, Color::DarkGray);
}

/// Every view, with and without help, at every size from 1x1 to 130x45 (coarse steps past
/// the minimum): nothing panics.
#[test]
fn every_view_renders_at_every_size() {
    let mut apps = Vec::new();
    let base = app();
    apps.push(base.clone());
    let mut t = base.clone();
    press(&mut t, "t");
    apps.push(t.clone());
    press(&mut t, "i");
    apps.push(t.clone());
    let mut h = t.clone();
    press(&mut h, "?");
    apps.push(h);
    let mut f = base.clone();
    press(&mut f, "/zzz");
    apps.push(f);
    let empty = App::new("empty", Arc::new(analytics::model::Snapshot::default()));
    let mut e2 = empty.clone();
    press(&mut e2, "t");
    apps.push(empty);
    apps.push(e2);
    for a in &apps {
        for w in (1..=130u16).filter(|w| *w <= 70 || w % 7 == 0) {
            for h in (1..=45u16).filter(|h| *h <= 20 || h % 5 == 0) {
                let _ = draw(a, w, h);
            }
        }
    }
}

#[test]
fn topology_scrolls_to_keep_the_selection_visible() {
    let mut a = app();
    press(&mut a, "t");
    for _ in 0..6 {
        press(&mut a, "l");
    }
    let sel = a.topology_selection().unwrap().name.clone();
    let t = text(&draw(&a, 70, 30));
    assert!(t.contains(&sel), "{sel} not visible:\n{t}");
}

#[test]
fn overview_80x24() {
    insta::assert_snapshot!(text(&draw(&app(), 80, 24)));
}

#[test]
fn topology_80x24() {
    let mut a = app();
    press(&mut a, "/payment");
    a.update(Msg::key(KeyCode::Enter));
    a.update(Msg::key(KeyCode::Enter));
    insta::assert_snapshot!(text(&draw(&a, 80, 24)));
}

#[test]
fn incident_80x24() {
    let mut a = app();
    press(&mut a, "i");
    insta::assert_snapshot!(text(&draw(&a, 80, 24)));
}

#[test]
fn help_80x24() {
    let mut a = app();
    press(&mut a, "t?");
    insta::assert_snapshot!(text(&draw(&a, 80, 24)));
}

#[test]
fn waiting_for_first_snapshot_80x24() {
    let a = App::new("opscope", Arc::new(analytics::model::Snapshot::default()));
    insta::assert_snapshot!(text(&draw(&a, 80, 24)));
}
