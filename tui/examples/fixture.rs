//! The console on the tests' fabricated snapshot, without an engine: `cargo run -p tui --example
//! fixture`. A new cycle is published every second so the title bar ticks; `q` quits.

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::Duration;

fn main() -> std::io::Result<()> {
    let (tx, rx) = tokio::sync::watch::channel(Arc::new(common::snapshot()));
    std::thread::spawn(move || {
        let mut snapshot = common::snapshot();
        loop {
            std::thread::sleep(Duration::from_secs(1));
            snapshot.cycle += 1;
            snapshot.ts_ms += 1000;
            if tx.send(Arc::new(snapshot.clone())).is_err() {
                return;
            }
        }
    });
    let opts = tui::TuiOptions {
        title: "opscope fixture".into(),
        tick: Duration::from_millis(100),
        ..Default::default()
    };
    tui::run(rx, opts)
}
