//! `opscope snapshot` as a script runs it: the built binary, its exit code and its JSON.

use analytics::model::Snapshot;
use collector::model::{EdgeKind, EntityKind, SignalKind};
use std::process::Command;

fn opscope(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_opscope"))
        .args(args)
        // No user configuration file may change the sources.
        .env_remove("OPSCOPE_CONFIG")
        .env("XDG_CONFIG_HOME", "/nonexistent")
        .env("HOME", "/nonexistent")
        .output()
        .expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json(out: &str) -> serde_json::Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

fn snapshot(out: &str) -> Snapshot {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("not a Snapshot ({e}): {out}"))
}

/// A loopback port nothing listens on.
fn dead_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
    let port = l.local_addr().expect("addr").port();
    drop(l);
    port
}

#[test]
fn sim_snapshot_has_the_shop_its_calls_and_fresh_sources() {
    let (code, out, err) = opscope(&["snapshot", "--sim", "--json"]);
    assert_eq!(code, 0, "{err}");
    // The document is the API's: a `Snapshot`.
    let snap = snapshot(&out);
    assert!(snap.ts_ms > 0, "{out}");
    assert_eq!(snap.cycle, 2);

    let names: Vec<&str> = snap
        .entities
        .iter()
        .filter(|e| e.entity.kind == EntityKind::Workload)
        .map(|e| e.entity.name.as_str())
        .collect();
    for w in [
        "frontend",
        "checkoutservice",
        "paymentservice",
        "cartservice",
    ] {
        assert!(names.contains(&w), "{w} missing from {names:?}");
    }
    let frontend = snap
        .entities
        .iter()
        .find(|e| e.entity.name == "frontend")
        .expect("frontend");
    let rate = frontend
        .signals
        .iter()
        .find(|(k, _)| *k == SignalKind::RequestRate)
        .map(|(_, v)| *v)
        .expect("rate");
    assert!(rate > 0.0, "{frontend:?}");

    let calls = snap
        .topology
        .edges
        .iter()
        .find(|e| {
            e.kind == EdgeKind::Calls && e.from.name == "frontend" && e.to.name == "checkoutservice"
        })
        .unwrap_or_else(|| {
            panic!(
                "no frontend -> checkoutservice call edge: {:?}",
                snap.topology.edges
            )
        });
    assert!(calls.rate_per_s.is_some_and(|r| r > 0.0), "{calls:?}");

    assert_eq!(snap.sources.len(), 1, "{:?}", snap.sources);
    for s in &snap.sources {
        assert!(!s.stale, "{s:?}");
        assert!(s.samples > 0, "{s:?}");
    }
    let with_rate = snap
        .entities
        .iter()
        .filter(|e| e.signals.iter().any(|(k, _)| *k == SignalKind::RequestRate))
        .count();
    assert!(with_rate >= 10, "{with_rate} entities with a request rate");
    assert_eq!(snap.incidents.len(), 0, "{:?}", snap.incidents);
    let v = json(&out);
    assert!(v["slos"].is_array() && v["alerts"].is_array());
}

#[test]
fn sim_snapshot_text_lists_entities_edges_and_sources() {
    let (code, out, err) = opscope(&["snapshot", "--interval", "1s"]);
    assert_eq!(code, 0, "{err}");
    for section in [
        "SOURCES",
        "ENTITIES",
        "EDGES",
        "SIGNALS",
        "INCIDENTS (0 open)",
    ] {
        assert!(out.contains(section), "{section}: {out}");
    }
    assert!(
        out.contains("calls    shop/frontend -> shop/checkoutservice"),
        "{out}"
    );
    assert!(out.contains("fresh  http://127.0.0.1:"), "{out}");
}

#[test]
fn dead_source_exits_2_with_the_reason() {
    let url = format!("http://127.0.0.1:{}/metrics", dead_port());
    let (code, out, err) = opscope(&["snapshot", "--scrape", &url, "--interval", "1s", "--json"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("every source failed"), "{err}");
    assert!(err.contains(&url), "{err}");
    let snap = snapshot(&out);
    let s = &snap.sources[0];
    assert!(s.stale, "{s:?}");
    assert!(
        s.last_error.as_deref().is_some_and(|e| !e.is_empty()),
        "{s:?}"
    );
}

#[test]
fn bad_arguments_exit_1() {
    for args in [
        &["snapshot", "--scrape", "localhost:9090/metrics"][..],
        &["snapshot", "--interval", "soon"],
        &["snapshot", "--wait", "-3s"],
        &["snapshot", "--scenario", "no-such-scenario"],
    ] {
        let (code, _, err) = opscope(args);
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(!err.is_empty(), "{args:?}");
    }
}
