//! `opscope snapshot` as a script runs it: the built binary, its exit code and its JSON.

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
    let v = json(&out);
    assert!(v["ts_ms"].as_i64().is_some_and(|t| t > 0), "{v}");
    assert_eq!(v["cycles"], 2);

    let names: Vec<&str> = v["entities"]
        .as_array()
        .expect("entities")
        .iter()
        .filter(|e| e["kind"] == "workload")
        .filter_map(|e| e["name"].as_str())
        .collect();
    for w in [
        "frontend",
        "checkoutservice",
        "paymentservice",
        "cartservice",
    ] {
        assert!(names.contains(&w), "{w} missing from {names:?}");
    }
    let frontend = v["entities"]
        .as_array()
        .expect("entities")
        .iter()
        .find(|e| e["name"] == "frontend")
        .expect("frontend");
    let rate = frontend["signals"]["request_rate"].as_f64().expect("rate");
    assert!(rate > 0.0, "{frontend}");

    let calls = v["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .find(|e| {
            e["kind"] == "calls"
                && e["from"]["name"] == "frontend"
                && e["to"]["name"] == "checkoutservice"
        })
        .unwrap_or_else(|| panic!("no frontend -> checkoutservice call edge: {}", v["edges"]));
    assert!(
        calls["rate_per_s"].as_f64().is_some_and(|r| r > 0.0),
        "{calls}"
    );

    let sources = v["sources"].as_array().expect("sources");
    assert_eq!(sources.len(), 1, "{sources:?}");
    for s in sources {
        assert_eq!(s["fresh"], true, "{s}");
        assert!(s["samples"].as_u64().is_some_and(|n| n > 0), "{s}");
    }
    assert!(
        v["signals"]["request_rate"]
            .as_u64()
            .is_some_and(|n| n >= 10),
        "{}",
        v["signals"]
    );
    assert_eq!(
        v["incidents"].as_array().map(Vec::len),
        Some(0),
        "{}",
        v["incidents"]
    );
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
    let v = json(&out);
    let s = &v["sources"][0];
    assert_eq!(s["fresh"], false, "{s}");
    assert!(
        s["last_error"].as_str().is_some_and(|e| !e.is_empty()),
        "{s}"
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
