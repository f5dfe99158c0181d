//! The Prometheus HTTP API source against Debian's real `prometheus` server: the server
//! scrapes the simulator, opscope reads it through PromQL (rates and sums pushed down), and
//! gets the same topology and the same top cause as scraping the simulator directly.
//!
//! Needs `/usr/bin/prometheus` (Debian package `prometheus`; `.ci/run` installs it).

use opscope_engine::{Engine, EngineConfig, wall_ms};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A Prometheus server on a free loopback port with its own config and data directory; killed
/// and cleaned up on drop.
struct Prometheus {
    child: Child,
    dir: PathBuf,
    url: String,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
    l.local_addr().expect("addr").port()
}

fn prometheus_binary() -> String {
    let bin = std::env::var("OPSCOPE_PROMETHEUS").unwrap_or_else(|_| "prometheus".into());
    let found = Command::new(&bin)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "{bin} not found: install Debian's `prometheus` package (.ci/run does), \
         or set OPSCOPE_PROMETHEUS to the binary"
    );
    bin
}

/// Start Prometheus scraping `target` (host:port) every second.
async fn start_prometheus(target: &str) -> Prometheus {
    let bin = prometheus_binary();
    let dir = std::env::temp_dir().join(format!(
        "opscope-prom-{}-{}",
        std::process::id(),
        free_port()
    ));
    std::fs::create_dir_all(dir.join("data")).expect("data dir");
    // The simulator serves every exporter from one endpoint, as a federating Prometheus
    // would: keep its `instance` labels (node_exporter's names the node).
    let config = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\n  evaluation_interval: 1s\n\
         scrape_configs:\n  - job_name: sim\n    honor_labels: true\n    metrics_path: /metrics\n\
         \x20   static_configs:\n      - targets: ['{target}']\n"
    );
    let cfg_path = dir.join("prometheus.yml");
    std::fs::write(&cfg_path, config).expect("config");
    let port = free_port();
    let log = std::fs::File::create(dir.join("prometheus.log")).expect("log");
    let child = Command::new(bin)
        .arg(format!("--config.file={}", cfg_path.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--log.level=warn")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("prometheus starts");
    let url = format!("http://127.0.0.1:{port}");
    let prom = Prometheus { child, dir, url };
    let ready = format!("{}/-/ready", prom.url);
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = client.get(&ready).send().await
            && r.status().is_success()
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "prometheus did not become ready: {}",
            std::fs::read_to_string(prom.dir.join("prometheus.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    prom
}

/// The simulator on the wall clock, on a free loopback port, started at `start_ms` with a
/// latency fault in paymentservice from `fault_after_ms` after that, for 15 minutes.
async fn latency_sim(start_ms: i64, fault_after_ms: i64) -> fixtures::SimServer {
    let sim = fixtures::Simulator::new(fixtures::SimConfig {
        scenario: "latency".into(),
        seed: 5,
        start_ms,
        fault_after_ms,
        fault_duration_ms: 900_000,
    })
    .expect("sim");
    fixtures::serve(
        sim,
        fixtures::Clock::Real,
        std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
    .expect("serve")
}

/// An engine reading Prometheus at `url` through PromQL every `interval`, with a rate window
/// of one interval (as the direct-scraping engine's) and the given warm start.
fn promql_engine(url: &str, interval: Duration, warm_start: Duration) -> Engine {
    let mut cfg = EngineConfig::for_interval(Vec::new(), interval);
    cfg.warm_start = warm_start;
    let window = Duration::from_millis(cfg.collector.observe.rate_window_ms as u64);
    let src = collector::promql::PromSource::new(
        url,
        window,
        Duration::from_secs(2),
        cfg.collector.observe,
    )
    .expect("prometheus source");
    let mut e = Engine::new(&cfg);
    e.add_source(std::sync::Arc::new(src));
    e
}

type EdgeKey = (String, String, String);

fn edges(s: &analytics::model::Snapshot) -> BTreeSet<EdgeKey> {
    s.topology
        .edges
        .iter()
        .map(|e| {
            (
                format!("{:?}", e.kind),
                e.from.to_string(),
                e.to.to_string(),
            )
        })
        .collect()
}

fn entities(s: &analytics::model::Snapshot) -> BTreeSet<String> {
    s.topology
        .entities
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn top_cause(s: &analytics::model::Snapshot) -> Option<String> {
    s.open_incidents()
        .filter_map(|i| i.causes.first())
        .map(|c| c.entity.name.clone())
        .next()
}

/// `opscope snapshot --json` (the API's `Snapshot` document) with these source flags, parsed;
/// panics on a non-zero exit.
async fn snapshot_json(sources: Vec<String>) -> serde_json::Value {
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_opscope"))
            .arg("snapshot")
            .args(&sources)
            // Several cycles, so that one slow scrape on a loaded machine still leaves two
            // good ones for the rates (seen once in CI: the direct side had no call edges).
            .args(["--interval", "2s", "--wait", "6s", "--json"])
            // No user configuration file may change the sources.
            .env_remove("OPSCOPE_CONFIG")
            .env("XDG_CONFIG_HOME", "/nonexistent")
            .env("HOME", "/nonexistent")
            .output()
            .expect("opscope runs")
    })
    .await
    .expect("joins");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "snapshot failed: {stderr}{stdout}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

fn json_entities(v: &serde_json::Value) -> BTreeSet<String> {
    v["entities"]
        .as_array()
        .expect("entities")
        .iter()
        .map(|e| &e["entity"])
        .map(|e| format!("{}/{}/{}", e["kind"], e["namespace"], e["name"]))
        .collect()
}

fn json_edges(v: &serde_json::Value) -> BTreeSet<String> {
    v["topology"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| format!("{} {} -> {}", e["kind"], e["from"], e["to"]))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promql_source_matches_direct_scraping_topology_and_top_cause() {
    let fault_after = Duration::from_secs(60);
    let server = latency_sim(wall_ms() - 60_000, 60_000 + fault_after.as_millis() as i64).await;
    let prom = start_prometheus(&server.addr.to_string()).await;
    // Let Prometheus hold a whole rate window (15.5 s) before the first query: a shorter
    // history makes PromQL's rate() extrapolate from part of the window.
    tokio::time::sleep(Duration::from_secs(18)).await;

    let interval = Duration::from_secs(2);
    let cfg = EngineConfig::for_interval(vec![format!("{}/metrics", server.url())], interval);
    let mut direct = Engine::new(&cfg);
    let mut via_prom = promql_engine(&prom.url, interval, opscope_engine::WARM_START);

    let started = Instant::now();
    let mut compared_topology = false;
    let (mut cause_direct, mut cause_prom) = (None, None);
    while started.elapsed() < Duration::from_secs(150) {
        tokio::time::sleep(interval).await;
        let now = wall_ms();
        let (a, b) = tokio::join!(direct.cycle(now), via_prom.cycle(now));
        let (a, b) = (a.expect("direct cycle"), b.expect("promql cycle"));
        assert!(
            b.sources.iter().all(|s| !s.stale),
            "promql source stale: {:?}",
            b.sources
        );
        if !compared_topology && a.cycle >= 3 {
            assert_eq!(entities(&a), entities(&b), "entities differ");
            assert_eq!(edges(&a), edges(&b), "edges differ");
            let calls = a
                .topology
                .edges
                .iter()
                .filter(|e| e.kind == collector::model::EdgeKind::Calls)
                .count();
            assert!(calls >= 10, "only {calls} call edges");
            // Rates agree: the same counters over the same window, one computed by PromQL.
            let rate = |s: &analytics::model::Snapshot| {
                s.entities
                    .iter()
                    .find(|e| e.entity.name == "frontend")
                    .and_then(|e| {
                        e.signals
                            .iter()
                            .find(|(k, _)| *k == collector::model::SignalKind::RequestRate)
                            .map(|(_, v)| *v)
                    })
            };
            let (ra, rb) = (rate(&a).expect("direct rate"), rate(&b).expect("prom rate"));
            assert!(
                (ra - rb).abs() <= 0.25 * ra.max(rb),
                "frontend request rate direct {ra} vs promql {rb}"
            );
            compared_topology = true;
        }
        // Latency comes through PromQL too (histogram bucket rates).
        if a.cycle == 8 {
            let has_p99 = |s: &analytics::model::Snapshot| {
                s.entities.iter().any(|e| {
                    e.entity.name == "paymentservice"
                        && e.signals
                            .iter()
                            .any(|(k, _)| *k == collector::model::SignalKind::LatencyP99)
                })
            };
            assert!(has_p99(&a) && has_p99(&b), "latency p99 missing");
        }
        cause_direct = cause_direct.or_else(|| top_cause(&a));
        cause_prom = cause_prom.or_else(|| top_cause(&b));
        if cause_direct.is_some() && cause_prom.is_some() {
            break;
        }
    }
    assert!(compared_topology, "never compared the topology");
    assert_eq!(cause_direct.as_deref(), Some("paymentservice"));
    assert_eq!(
        cause_prom, cause_direct,
        "top cause through PromQL differs from direct scraping"
    );

    // The same comparison as a user makes it: the built binary, `snapshot --json` once with
    // `--prometheus` and once with `--scrape`, against the same simulator.
    let (via_prom, direct) = tokio::join!(
        snapshot_json(vec!["--prometheus".into(), prom.url.clone()]),
        snapshot_json(vec!["--scrape".into(), format!("{}/metrics", server.url())]),
    );
    assert_eq!(
        json_entities(&via_prom),
        json_entities(&direct),
        "snapshot --prometheus and --scrape list different entities"
    );
    let (edges_prom, edges_direct) = (json_edges(&via_prom), json_edges(&direct));
    assert!(edges_direct.len() >= 20, "{edges_direct:?}");
    assert_eq!(
        edges_prom, edges_direct,
        "snapshot --prometheus and --scrape list different edges"
    );
    drop(prom);
    server.shutdown().await;
}

/// Warm start, end to end: Prometheus scrapes the simulator through a fault-free baseline and
/// then two minutes of a latency fault; only then does opscope start. With the warm start it
/// reads the server's history first and reports the incident, ranked on paymentservice, on its
/// first cycles, with the onset at the fault's start. The same engine without the warm start
/// learns the outage as normal and raises nothing about it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn started_two_minutes_into_an_outage_it_warms_up_from_the_servers_history() {
    // Prometheus first needs one rate window (15.5 s) of samples; then the detectors want a
    // fault-free baseline of at least their warm-up (a few dozen 2 s cycles).
    let baseline = Duration::from_secs(100);
    let into_fault = Duration::from_secs(120);
    let start_ms = wall_ms();
    let fault_at_ms = start_ms + baseline.as_millis() as i64;
    let server = latency_sim(start_ms, baseline.as_millis() as i64).await;
    let prom = start_prometheus(&server.addr.to_string()).await;
    let wait_ms = fault_at_ms + into_fault.as_millis() as i64 - wall_ms();
    tokio::time::sleep(Duration::from_millis(wait_ms.max(0) as u64)).await;

    let interval = Duration::from_secs(2);
    let mut warm = promql_engine(&prom.url, interval, Duration::from_secs(600));
    let mut cold = promql_engine(&prom.url, interval, Duration::ZERO);
    let about_payment = |s: &analytics::model::Snapshot| {
        s.open_incidents()
            .find(|i| {
                i.anomalies
                    .iter()
                    .any(|a| a.signal.entity.name == "paymentservice")
            })
            .cloned()
    };
    let mut found = None;
    for _ in 0..3 {
        let now = wall_ms();
        let (w, c) = tokio::join!(warm.cycle(now), cold.cycle(now));
        let (w, c) = (w.expect("warm cycle"), c.expect("cold cycle"));
        assert!(
            about_payment(&c).is_none(),
            "the cold engine raised an incident about paymentservice at once: {:?}",
            c.incidents
        );
        if found.is_none() {
            found = about_payment(&w);
        }
        tokio::time::sleep(interval).await;
    }
    assert!(
        warm.warm_cycles() > 60,
        "warm start ran only {} past cycles",
        warm.warm_cycles()
    );
    assert_eq!(cold.warm_cycles(), 0);
    let inc = found.expect("the warm-started engine reports the outage on its first cycles");
    assert_eq!(
        inc.causes.first().map(|c| c.entity.name.as_str()),
        Some("paymentservice"),
        "top cause: {:?}",
        inc.causes
    );
    let onset = inc
        .anomalies
        .iter()
        .map(|a| a.onset_ms)
        .min()
        .expect("anomalies");
    assert!(
        (onset - fault_at_ms).abs() <= 30_000,
        "onset {onset} is not at the fault's start {fault_at_ms}"
    );

    // As a user meets it: `opscope snapshot --prometheus URL` two minutes into the outage.
    let snap = snapshot_json(vec!["--prometheus".into(), prom.url.clone()]).await;
    let titles: Vec<String> = snap["incidents"]
        .as_array()
        .expect("incidents")
        .iter()
        .filter(|i| i["status"] != "resolved")
        .filter_map(|i| i["causes"][0]["entity"]["name"].as_str().map(str::to_owned))
        .collect();
    assert!(
        titles.iter().any(|t| t == "paymentservice"),
        "snapshot --prometheus has no incident led by paymentservice: {titles:?}"
    );
    drop(prom);
    server.shutdown().await;
}
