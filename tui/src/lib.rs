//! tui: opscope's terminal console (ratatui + crossterm).
//!
//! It renders the engine's published [`Snapshot`] and owns no
//! business logic: health, anomalies, incidents and causes arrive computed; the console only
//! lays them out, lets the operator move around, and formats values with the collector's
//! [`SignalKind::format_value`](opscope_model::SignalKind::format_value).
//!
//! The code has the Elm shape: [`App`] is the model, [`Msg`] the inputs (keys, resizes, new
//! snapshots), [`App::update`] the transitions (testable without a terminal), and [`render`] a
//! pure function of the model onto a [`Frame`](ratatui::Frame). Screens live in `view/` (one
//! file each), every colour and symbol in `styles.rs`, key bindings as data in [`keys`] (the
//! help screen is generated from it), and the layered graph layout comes from `opscope_layout::graph` in
//! abstract units, one per cell here.
//!
//! Screens: the overview (SLOs with error budget and burn rates, firing rule alerts and recent
//! changes when there are any; entities with key signals; incidents), the topology (call graph in
//! layers, colour by health, a details pane for the selected node) and the incident view
//! (timeline, ranked causes with evidence, a chart of the selected cause's signal).
//!
//! # Example
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! let (_tx, rx) = tokio::sync::watch::channel(Arc::new(opscope_model::Snapshot::default()));
//! let opts = tui::TuiOptions { title: "opscope demo — scenario latency".into(), tick: Duration::from_millis(250), replay: None };
//! tui::run(rx, opts)?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! Rendering without a terminal (as the snapshot tests do):
//!
//! ```
//! use std::sync::Arc;
//! use ratatui::{Terminal, backend::TestBackend};
//!
//! let app = tui::App::new("opscope", Arc::new(opscope_model::Snapshot::default()));
//! let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
//! terminal.draw(|f| tui::render(&app, f)).unwrap();
//! ```

#![warn(missing_docs)]

mod app;
pub mod keys;
pub mod replay;
mod styles;
mod view;

use opscope_layout::{format, graph};

#[cfg(test)]
#[path = "../tests/common/mod.rs"]
mod fixture;

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{self, Event, KeyEventKind};
use opscope_model::Snapshot;
use tokio::sync::watch;

pub use app::{App, Focus, Msg, View};
pub use view::{MIN_HEIGHT, MIN_WIDTH};

/// How the console presents itself and how often it polls.
#[derive(Debug, Clone)]
pub struct TuiOptions {
    /// Shown at the left of the title bar, e.g. "opscope demo — scenario latency".
    pub title: String,
    /// Longest wait for input before checking for a new snapshot; also the redraw period when
    /// idle. 100-250 ms feels live without burning CPU.
    pub tick: Duration,
    /// When replaying a recording: the controls of the replay driver.
    pub replay: Option<replay::ReplayControls>,
}

impl Default for TuiOptions {
    fn default() -> Self {
        TuiOptions {
            title: "opscope".into(),
            tick: Duration::from_millis(250),
            replay: None,
        }
    }
}

/// Pure render of the app for tests.
pub fn render(app: &App, frame: &mut ratatui::Frame) {
    view::render(app, frame);
}

/// Restores the terminal when dropped, so early returns and errors leave it usable.
struct TerminalGuard;

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        ratatui::restore();
    }
}

/// Runs the console on the current thread until the user quits. Restores the terminal on exit
/// and on panic.
///
/// New snapshots are taken from `rx` as they are published; when the sender is dropped the
/// last snapshot stays on screen with an "engine stopped" mark.
pub fn run(mut rx: watch::Receiver<Arc<Snapshot>>, opts: TuiOptions) -> io::Result<()> {
    // try_init installs a panic hook that restores the terminal before the panic message.
    let mut terminal = ratatui::try_init()?;
    let _guard = TerminalGuard;
    let mut app = App::new(opts.title, rx.borrow_and_update().clone());
    let mut replay = opts.replay;
    if let Some(r) = &mut replay {
        app.set_replay(*r.status.borrow_and_update());
    }
    let tick = opts.tick.max(Duration::from_millis(10));
    let mut connected = true;
    let mut dirty = true;
    let mut last_draw = Instant::now();
    loop {
        if dirty || last_draw.elapsed() >= tick {
            terminal.draw(|f| render(&app, f))?;
            last_draw = Instant::now();
            dirty = false;
        }
        if event::poll(tick)? {
            // Drain everything pending, then draw once.
            loop {
                if let Some(msg) = to_msg(event::read()?) {
                    app.update(msg);
                    dirty = true;
                }
                if app.should_quit() || !event::poll(Duration::ZERO)? {
                    break;
                }
            }
        }
        if app.should_quit() {
            return Ok(());
        }
        if let Some(r) = &mut replay {
            for c in app.take_replay_commands() {
                // A driver that has gone away just stops answering.
                let _ = r.commands.send(c);
            }
            if r.status.has_changed().unwrap_or(false) {
                app.set_replay(*r.status.borrow_and_update());
                dirty = true;
            }
        }
        if connected && let Some(msg) = take_snapshot(&mut rx) {
            connected = !matches!(msg, Msg::EngineStopped);
            app.update(msg);
            dirty = true;
        }
    }
}

/// The message for what happened on the snapshot channel since the last call, if anything.
fn take_snapshot(rx: &mut watch::Receiver<Arc<Snapshot>>) -> Option<Msg> {
    match rx.has_changed() {
        Ok(true) => Some(Msg::Snapshot(rx.borrow_and_update().clone())),
        Ok(false) => None,
        Err(_) => Some(Msg::EngineStopped),
    }
}

fn to_msg(ev: Event) -> Option<Msg> {
    match ev {
        Event::Key(k) if k.kind != KeyEventKind::Release => Some(Msg::Key(k)),
        Event::Resize(width, height) => Some(Msg::Resize { width, height }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opscope_model::EntityKind;

    #[test]
    fn snapshots_are_taken_once_and_a_closed_channel_is_reported() {
        let (tx, mut rx) = watch::channel(Arc::new(Snapshot::default()));
        rx.borrow_and_update();
        assert!(take_snapshot(&mut rx).is_none());
        tx.send(Arc::new(Snapshot {
            cycle: 7,
            ..Snapshot::default()
        }))
        .unwrap();
        match take_snapshot(&mut rx) {
            Some(Msg::Snapshot(s)) => assert_eq!(s.cycle, 7),
            other => panic!("{other:?}"),
        }
        assert!(take_snapshot(&mut rx).is_none());
        drop(tx);
        assert!(matches!(take_snapshot(&mut rx), Some(Msg::EngineStopped)));
    }

    #[test]
    fn releases_and_mouse_events_are_not_messages() {
        use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
        let press =
            KeyEvent::new_with_kind(KeyCode::Char('q'), KeyModifiers::NONE, KeyEventKind::Press);
        let release = KeyEvent::new_with_kind(
            KeyCode::Char('q'),
            KeyModifiers::NONE,
            KeyEventKind::Release,
        );
        assert!(matches!(to_msg(Event::Key(press)), Some(Msg::Key(_))));
        assert!(to_msg(Event::Key(release)).is_none());
        assert!(matches!(
            to_msg(Event::Resize(80, 24)),
            Some(Msg::Resize {
                width: 80,
                height: 24
            })
        ));
        assert!(to_msg(Event::FocusGained).is_none());
    }

    /// The shared layout on the console's own fixture: the shop fits 120 columns.
    #[test]
    fn the_shop_lays_out_cleanly_in_120_columns() {
        let topo = crate::fixture::topology();
        let l = graph::layout(&topo.entities, &topo.edges);
        let problems = l.problems();
        assert!(problems.is_empty(), "{problems:#?}");
        let workloads = l
            .nodes
            .iter()
            .filter(|n| n.entity.kind == EntityKind::Workload)
            .count();
        assert_eq!(workloads, 13);
        assert!(l.back_edges.is_empty());
        // 16 calls + 2 produces + 2 consumes, one drawn edge each.
        assert_eq!(l.edges.len(), 20);
        assert!(l.width <= 120, "width {}", l.width);
        let layer = |name: &str| {
            l.nodes
                .iter()
                .find(|n| n.entity.name == name)
                .and_then(|n| n.layer)
        };
        assert_eq!(layer("istio-ingressgateway"), Some(0));
        assert_eq!(layer("frontend"), Some(1));
        assert_eq!(layer("checkoutservice"), Some(2));
        assert_eq!(layer("orders"), Some(3));
        assert_eq!(
            layer("fulfillment"),
            Some(4),
            "consumers sit after their topic"
        );
        assert_eq!(layer("redis-cart"), Some(4));
        let infra: Vec<&str> = l
            .nodes
            .iter()
            .filter(|n| n.layer.is_none())
            .map(|n| n.entity.name.as_str())
            .collect();
        assert_eq!(infra, ["node-a", "node-b", "node-c"]);
    }
}
