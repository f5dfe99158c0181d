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

/// Column and row of the first cell of `needle` on screen.
fn find(buf: &Buffer, needle: &str) -> (u16, u16) {
    for y in 0..buf.area.height {
        let row: String = (0..buf.area.width)
            .map(|x| buf[(x, y)].symbol().to_string())
            .collect();
        if let Some(col) = row.find(needle) {
            return (row[..col].chars().count() as u16, y);
        }
    }
    panic!("{needle} not found");
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

/// The fixture without SLOs, rule alerts, burn alerts and changes: the overview as it was
/// before those existed (no SLO pane).
fn app_without_slos() -> App {
    let mut s = common::snapshot();
    s.slos.clear();
    s.burn_alerts.clear();
    s.alerts.clear();
    s.changes.clear();
    App::new("opscope demo — scenario latency", Arc::new(s))
}

#[test]
fn overview_120x40() {
    let mut a = app_without_slos();
    press(&mut a, "jjj");
    insta::assert_snapshot!(text(&draw(&a, 120, 40)));
}

#[test]
fn overview_slos_120x40() {
    let mut a = app();
    press(&mut a, "jjj");
    let t = text(&draw(&a, 120, 40));
    assert!(t.contains("PAGE"), "{t}");
    assert!(t.contains("payment-p99"), "{t}");
    assert!(t.contains("Incidents"), "{t}");
    insta::assert_snapshot!(t);
}

#[test]
fn overview_slos_80x24() {
    let t = text(&draw(&app(), 80, 24));
    // The incident list keeps both its rows and the burning objective is on screen.
    assert!(t.contains("INC-3") && t.contains("INC-2"), "{t}");
    assert!(t.contains("checkoutservice") && t.contains("PAGE"), "{t}");
    insta::assert_snapshot!(t);
}

/// The SLO pane shrinks, then goes, as the terminal gets shorter; the incident list never goes.
#[test]
fn slo_pane_gives_way_to_incidents() {
    let a = app();
    let mut seen_without = false;
    for h in 15..=40u16 {
        let t = text(&draw(&a, 80, h));
        assert!(t.contains("INC-3"), "incidents pushed out at 80x{h}:\n{t}");
        let has_pane = t.contains("SLOs");
        if h >= 24 {
            assert!(has_pane, "no SLO pane at 80x{h}:\n{t}");
        }
        seen_without |= !has_pane;
        if has_pane {
            // The page is on screen: as the row's marker, or counted in the title when only
            // the alert line fits.
            assert!(
                t.contains("PAGE") || t.contains("✖ 1 page"),
                "page hidden at 80x{h}:\n{t}"
            );
        }
    }
    assert!(seen_without, "the pane never gives way");
}

#[test]
fn budget_bar_is_coloured_by_budget_left() {
    use ratatui::style::Color;
    let a = app();
    let buf = draw(&a, 120, 40);
    let find = |needle: &str| find(&buf, needle);
    // 93% left: green; 38% left: yellow; the paging row's marker: red.
    let (_, y) = find("avail 99.9%");
    let bar_x = (0..buf.area.width)
        .find(|x| buf[(*x, y)].symbol() == "█")
        .expect("a bar");
    assert_eq!(buf[(bar_x, y)].fg, Color::Green);
    let (_, y) = find("p≤300ms 99%");
    let bar_x = (0..buf.area.width)
        .find(|x| buf[(*x, y)].symbol() == "█")
        .expect("a bar");
    assert_eq!(buf[(bar_x, y)].fg, Color::Yellow);
    let (x, y) = find("PAGE");
    assert_eq!(buf[(x, y)].bg, Color::Red);
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
    let find = |needle: &str| find(&buf, needle);
    let (x, y) = find("✖ paymentservice");
    assert_eq!(buf[(x, y)].fg, Color::Red);
    let (x, y) = find("● adservice");
    assert_eq!(buf[(x, y)].fg, Color::Green);
    let (x, y) = find("? emails");
    assert_eq!(buf[(x, y)].fg, Color::DarkGray);
}

/// A consumer that stopped: its `consumes` edge shows the growing backlog in red in the edge
/// list, and the edge is drawn red in the graph.
#[test]
fn stalled_consumer_edge_is_red_with_its_backlog() {
    use opscope_model::{EdgeKind, EntityId, EntityKind};
    use ratatui::style::Color;
    let mut s = common::snapshot();
    let consumer = EntityId::new(EntityKind::Workload, "shop", "fulfillment");
    let topic = EntityId::new(EntityKind::Topic, "", "orders");
    for e in &mut s.topology.edges {
        if e.kind == EdgeKind::Consumes && e.from == consumer {
            e.backlog = Some(1234.0);
            e.backlog_growth_per_s = Some(5.0);
        }
    }
    s.edge_health.push(opscope_model::EdgeHealth {
        from: consumer.clone(),
        to: topic,
        kind: EdgeKind::Consumes,
        health: opscope_model::Health::Critical,
        reason: "backlog 1234 msgs, +5.0 msg/s: growing while the consumer takes none".into(),
        backlog: 1234.0,
        growth_per_s: Some(5.0),
    });
    let mut a = App::new("stall", Arc::new(s));
    for _ in 0..40 {
        if a.selected_entity() == Some(&consumer) {
            break;
        }
        press(&mut a, "j");
    }
    assert_eq!(a.selected_entity(), Some(&consumer));
    press(&mut a, "t");
    assert_eq!(a.topology_selection(), Some(&consumer));
    let buf = draw(&a, 120, 40);
    let t = text(&buf);
    assert!(t.contains("BACKLOG"), "{t}");
    let (x, y) = find(&buf, "1.2k +5.0/s");
    assert_eq!(buf[(x, y)].fg, Color::Red, "{t}");
    // The arrow into the consumer, drawn in the critical colour.
    let (x, y) = find(&buf, "▷ ● fulfillment");
    assert_eq!(buf[(x, y)].fg, Color::Red, "{t}");
    // A producer's edge list has no backlog column (its edges carry none).
    let mut p = App::new("stall", a.snapshot().clone());
    press(&mut p, "t");
    assert_ne!(p.topology_selection(), Some(&consumer));
    assert!(!text(&draw(&p, 120, 40)).contains("BACKLOG"));
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
    let empty = App::new("empty", Arc::new(opscope_model::Snapshot::default()));
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
    insta::assert_snapshot!(text(&draw(&app_without_slos(), 80, 24)));
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
    let a = App::new("opscope", Arc::new(opscope_model::Snapshot::default()));
    insta::assert_snapshot!(text(&draw(&a, 80, 24)));
}
