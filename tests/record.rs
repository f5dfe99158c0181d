//! Record and replay: a run of the simulator recorded to Parquet (through the same
//! `Engine::recorded` the `record` command writes), read back with polars to check the
//! schema, and replayed through a fresh engine, which raises the same incident with the same
//! top cause at the same time. Also `opscope snapshot --replay FILE --json` on the file.

use opscope_engine::replay::Replay;
use opscope_engine::{Engine, EngineConfig};
use polars::prelude::*;
use polars_io::SerReader;
use std::sync::atomic::Ordering;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_run_replays_to_the_same_incident() {
    let cfg = fixtures::SimConfig::new("latency", 4);
    let fault_ms = cfg.fault_start_ms();
    // Start late enough that 20 cycles of warm-up come before the fault.
    let interval = Duration::from_secs(15);
    let start = fault_ms - 30 * 15_000;
    let sim_cfg = fixtures::SimConfig {
        start_ms: start - 60_000,
        fault_after_ms: fault_ms - (start - 60_000),
        ..cfg
    };
    let (server, clock) = opscope::eval::start_sim(sim_cfg).await.expect("sim");
    let mut engine = Engine::new(&EngineConfig::for_interval(
        vec![format!("{}/metrics", server.url())],
        interval,
    ));
    engine.start_recording();
    let dir = std::env::temp_dir().join(format!("opscope-record-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("run.parquet");
    let mut rec = collector::record::Recorder::create(&path).expect("recorder");
    let mut live = Vec::new();
    for i in 0..50 {
        let now = start + i * 15_000;
        clock.store(now, Ordering::SeqCst);
        let snap = engine.cycle(now).await.expect("cycle");
        rec.write(&engine.recorded(now)).expect("write");
        live.push(snap);
    }
    let (cycles, rows) = (rec.cycles(), rec.rows());
    let bytes = rec.finish().expect("finish");
    assert_eq!(cycles, 50);
    assert!(rows > 50 * 1000, "{rows} rows");
    assert!(bytes > 0);
    server.shutdown().await;

    // Any Parquet reader: polars reads the schema and the rows back.
    let df =
        polars_io::parquet::read::ParquetReader::new(std::fs::File::open(&path).expect("open"))
            .finish()
            .expect("polars reads it");
    let schema = df.schema();
    let want = [
        ("ts_ms", DataType::Int64),
        ("source", DataType::String),
        ("record", DataType::String),
        ("family", DataType::String),
        ("type", DataType::String),
        ("rated", DataType::Boolean),
        ("sample", DataType::String),
        ("labels", DataType::String),
        ("sample_ts_ms", DataType::Int64),
        ("value", DataType::Float64),
        ("payload", DataType::String),
    ];
    let got: Vec<(String, DataType)> = schema
        .iter()
        .map(|(n, t)| (n.to_string(), t.clone()))
        .collect();
    let want: Vec<(String, DataType)> = want
        .iter()
        .map(|(n, t)| ((*n).to_owned(), t.clone()))
        .collect();
    assert_eq!(got, want);
    assert_eq!(df.height() as u64, rows);
    let istio = df
        .clone()
        .lazy()
        .filter(col("family").eq(lit("istio_requests_total")))
        .collect()
        .expect("filter");
    assert!(istio.height() > 100, "{} istio rows", istio.height());

    // Replay through a fresh engine: the same incident, the same top cause, the same time.
    let replay = Replay::load(&path).expect("load");
    assert_eq!(replay.times().len(), 50);
    assert_eq!(replay.interval(), interval);
    let last = replay
        .run_to_end(&replay.engine_config())
        .await
        .expect("replays");
    let live_last = live.last().expect("live");
    let first_incident = |s: &analytics::model::Snapshot| {
        s.incidents.iter().min_by_key(|i| i.id).map(|i| {
            (
                i.first_seen_ms,
                i.causes.first().map(|c| c.entity.name.clone()),
            )
        })
    };
    let live_inc = first_incident(live_last).expect("the live run raised an incident");
    assert_eq!(live_inc.1.as_deref(), Some("paymentservice"));
    assert_eq!(first_incident(&last), Some(live_inc));
    assert_eq!(last.topology, live_last.topology);

    // The CLI on the same file.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_opscope"))
        .args(["snapshot", "--replay"])
        .arg(&path)
        .arg("--json")
        .env_remove("OPSCOPE_CONFIG")
        .env("XDG_CONFIG_HOME", "/nonexistent")
        .env("HOME", "/nonexistent")
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["cycle"], 50);
    let tops: Vec<&str> = v["incidents"]
        .as_array()
        .expect("incidents")
        .iter()
        .filter_map(|i| i["causes"][0]["entity"]["name"].as_str())
        .collect();
    assert!(tops.contains(&"paymentservice"), "{tops:?}");

    // `opscope run --replay`: the API serves the replayed state (here at 1000x, so the whole
    // recording plays in under a second) and refuses annotations.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
        l.local_addr().expect("addr").port()
    };
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_opscope"))
        .args(["run", "--speed", "1000", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("--replay")
        .arg(&path)
        .env_remove("OPSCOPE_CONFIG")
        .env_remove("OPSCOPE_API_TOKEN")
        .env("XDG_CONFIG_HOME", "/nonexistent")
        .env("HOME", "/nonexistent")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("run starts");
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/api/v1/snapshot");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut served = None;
    while std::time::Instant::now() < deadline {
        if let Ok(r) = client.get(&url).send().await
            && let Ok(v) = r.json::<serde_json::Value>().await
            && v["ts_ms"].as_i64() == replay.times().last().copied()
        {
            served = Some(v);
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let posted = client
        .post(format!("http://127.0.0.1:{port}/api/v1/annotations"))
        .bearer_auth("0123456789abcdef0123")
        .json(&serde_json::json!({"workload": "frontend", "text": "deploy"}))
        .send()
        .await
        .map(|r| r.status());
    let _ = child.kill();
    let _ = child.wait();
    let served = served.expect("run --replay served the recording's last cycle");
    // One JSON document: `snapshot --json` prints what `GET /api/v1/snapshot` serves, for the
    // same state the same structure.
    same_document(&v, &served);
    let top = served["incidents"]
        .as_array()
        .expect("incidents")
        .iter()
        .filter_map(|i| i["causes"][0]["entity"]["name"].as_str())
        .next();
    assert_eq!(top, Some("paymentservice"), "{}", served["incidents"]);
    let posted = posted.expect("the API answers");
    assert!(
        posted.is_client_error(),
        "annotations accepted while replaying: {posted}"
    );
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn a_missing_or_foreign_file_is_a_clear_error() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_opscope"))
        .args(["snapshot", "--replay", "/nonexistent/x.parquet"])
        .env("HOME", "/nonexistent")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/x.parquet"), "{err}");
}

/// The CLI's and the API's documents for the same state: both a `Snapshot`, with the same
/// top-level keys, and the same state where the replay is deterministic.
fn same_document(cli: &serde_json::Value, api: &serde_json::Value) {
    let keys = |v: &serde_json::Value| -> Vec<String> {
        v.as_object().expect("an object").keys().cloned().collect()
    };
    assert_eq!(keys(cli), keys(api));
    let cli: analytics::model::Snapshot =
        serde_json::from_value(cli.clone()).expect("the CLI's document is a Snapshot");
    let api: analytics::model::Snapshot =
        serde_json::from_value(api.clone()).expect("the API's document is a Snapshot");
    assert_eq!((cli.cycle, cli.ts_ms), (api.cycle, api.ts_ms));
    assert_eq!(cli.topology, api.topology);
    assert_eq!(cli.entities, api.entities);
    assert_eq!(cli.incidents, api.incidents);
}
