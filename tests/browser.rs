//! The web console in a real browser: Debian's `chromium`, headless, driven over WebDriver
//! (`chromedriver`, started here on a free loopback port). The simulator, the engine and the
//! web server run in the test; the page stays open while the fault happens and must show the
//! incident without a reload. Screenshots go to `$CARGO_TARGET_TMPDIR/screenshots/`.
//!
//! `cargo xtask test` installs `chromium` and `chromium-driver`; without them this test fails
//! and says what to install.

use fantoccini::{Client, ClientBuilder, Locator};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

/// chromedriver, killed when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

async fn start_driver() -> Driver {
    let port = free_port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "chromedriver: {e}; install Debian's chromium and chromium-driver \
                 (`cargo xtask test` does)"
            )
        });
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    for _ in 0..100 {
        if reqwest::get(format!("{}/status", driver.url)).await.is_ok() {
            return driver;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not answer on {}", driver.url);
}

async fn browser(driver: &Driver, javascript: bool) -> Client {
    let mut caps = serde_json::Map::new();
    let mut opts = serde_json::json!({
        "binary": "/usr/bin/chromium",
        "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1400,1000", "--no-first-run", "--no-proxy-server"],
    });
    if !javascript {
        opts["prefs"] = serde_json::json!({
            "profile.managed_default_content_settings.javascript": 2
        });
    }
    caps.insert("goog:chromeOptions".into(), opts);
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a chromium session")
}

fn shots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

async fn screenshot(c: &Client, name: &str) {
    let png = c.screenshot().await.expect("screenshot");
    let path = shots().join(format!("{name}.png"));
    std::fs::write(&path, png).expect("write screenshot");
    eprintln!("screenshot: {}", path.display());
}

/// Wait until `script` (a JS expression) is truthy.
async fn until(c: &Client, what: &str, script: &str, wait: Duration) {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let v = c
            .execute(&format!("return !!({script});"), vec![])
            .await
            .expect("script");
        if v.as_bool() == Some(true) {
            return;
        }
        if tokio::time::Instant::now() >= deadline {
            let at = c
                .current_url()
                .await
                .map(|u| u.to_string())
                .unwrap_or_default();
            screenshot(c, "timed-out").await;
            panic!("timed out: {what} (at {at})");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn count(c: &Client, css: &str) -> usize {
    c.find_all(Locator::Css(css)).await.expect("find").len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_in_chromium_shows_the_incident_live_and_without_javascript() {
    assert!(
        web::console::has_bundle(),
        "this build has no browser bundle (see the warning of web/build.rs)"
    );
    // 20 minutes of healthy data first, so that the explorer's 15m and 1h ranges differ.
    let mut rig = opscope::eval::Rig::new("latency", 9, 80, Duration::from_secs(15))
        .await
        .expect("sim");
    let (tx, rx) = tokio::sync::watch::channel(Arc::new(analytics::model::Snapshot::default()));
    let server = web::serve(
        std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        web::ApiState::new(rx),
    )
    .await
    .expect("web");
    let base = format!("http://{}", server.addr);
    let mut step = 0_i64;
    macro_rules! cycles {
        ($n:expr) => {
            for _ in 0..$n {
                tx.send_replace(rig.cycle(step).await.expect("cycle"));
                step += 1;
            }
        };
    }
    cycles!(68);
    let driver = start_driver().await;
    let c = browser(&driver, true).await;

    // The overview lists the workloads, then goes live.
    c.goto(&format!("{base}/")).await.expect("goto");
    let names = c
        .find(Locator::Css("main"))
        .await
        .expect("main")
        .text()
        .await
        .expect("text");
    for w in ["checkoutservice", "paymentservice", "frontend"] {
        assert!(names.contains(w), "overview lists {w}");
    }
    until(
        &c,
        "hydrated and live",
        "document.querySelector('.conn.live')",
        Duration::from_secs(20),
    )
    .await;
    // A mark that a reload would wipe.
    c.execute("window.__stayed = true; return 1;", vec![])
        .await
        .expect("mark");
    screenshot(&c, "overview-healthy").await;

    // The fault, while the page stays open.
    let mut seen = false;
    for _ in 0..40 {
        cycles!(1);
        let v = c
            .execute(
                "return [...document.querySelectorAll('.incident-list .incident')].map(e => e.textContent).join('\\n');",
                vec![],
            )
            .await
            .expect("script");
        if v.as_str().is_some_and(|t| t.contains("paymentservice")) {
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    if !seen {
        until(
            &c,
            "the incident on the open page",
            "[...document.querySelectorAll('.incident-list .incident')].some(e => e.textContent.includes('paymentservice'))",
            Duration::from_secs(10),
        )
        .await;
    }
    let stayed = c
        .execute("return window.__stayed === true;", vec![])
        .await
        .expect("script");
    assert_eq!(
        stayed.as_bool(),
        Some(true),
        "the incident came without a reload"
    );
    screenshot(&c, "overview-incident").await;

    // Open it: the top cause and its evidence.
    c.find(Locator::Css(".incident-list .incident a"))
        .await
        .expect("incident link")
        .click()
        .await
        .expect("click");
    until(
        &c,
        "incident page",
        "location.pathname.startsWith('/incidents/INC-')",
        Duration::from_secs(10),
    )
    .await;
    let top = c
        .find(Locator::Css(".cause[data-rank='1'] h3"))
        .await
        .expect("top cause")
        .text()
        .await
        .expect("text");
    assert!(top.contains("paymentservice"), "top cause: {top}");
    let evidence = count(&c, ".cause[data-rank='1'] .evidence li").await;
    assert!(evidence >= 1, "evidence lines: {evidence}");
    assert!(count(&c, ".cause[data-rank='1'] svg.chart path.series").await == 1);
    let incident_url = c.current_url().await.expect("url").to_string();
    screenshot(&c, "incident").await;

    // The topology: one node per graph entity; focusing keeps the neighbourhood.
    c.goto(&format!("{base}/topology")).await.expect("goto");
    let all = count(&c, "svg.topo a.node").await;
    let snap_nodes = {
        let body = reqwest::get(format!("{base}/api/v1/snapshot"))
            .await
            .expect("snapshot")
            .text()
            .await
            .expect("text");
        let s: analytics::model::Snapshot = serde_json::from_str(&body).expect("snapshot json");
        opscope_webui::svg::topology_layout(&s, None).nodes.len()
    };
    assert_eq!(all, snap_nodes, "one node per workload, topic, queue");
    screenshot(&c, "topology").await;
    c.find(Locator::Css(
        "svg.topo a.node[data-entity='shop/paymentservice']",
    ))
    .await
    .expect("paymentservice node")
    .click()
    .await
    .expect("click");
    until(
        &c,
        "focused",
        "location.search.includes('focus=')",
        Duration::from_secs(10),
    )
    .await;
    let focused = count(&c, "svg.topo a.node").await;
    assert!(
        focused >= 2 && focused < all,
        "focus keeps {focused} of {all}"
    );
    screenshot(&c, "topology-focus").await;

    // The explorer: the range links change the chart.
    c.goto(&format!(
        "{base}/explore?entity=shop/paymentservice&signal=latency_p99&range=1h"
    ))
    .await
    .expect("goto");
    let path = "(document.querySelector('svg.chart path.series')?.getAttribute('d') || '').split('L').length";
    let wide = c
        .execute(&format!("return {path};"), vec![])
        .await
        .expect("d");
    screenshot(&c, "explore-1h").await;
    c.find(Locator::Css("a.range[href*='range=15m']"))
        .await
        .expect("15m link")
        .click()
        .await
        .expect("click");
    until(
        &c,
        "15m",
        "location.search.includes('range=15m')",
        Duration::from_secs(10),
    )
    .await;
    let narrow = c
        .execute(&format!("return {path};"), vec![])
        .await
        .expect("d");
    assert!(
        wide.as_u64() > narrow.as_u64() && narrow.as_u64() > Some(1),
        "1h draws {wide} points, 15m {narrow}"
    );
    screenshot(&c, "explore-15m").await;
    c.close().await.expect("close");

    // Without JavaScript the incident still reads.
    let nojs = browser(&driver, false).await;
    nojs.goto(&incident_url).await.expect("goto");
    let text = nojs
        .find(Locator::Css("main"))
        .await
        .expect("main")
        .text()
        .await
        .expect("text");
    assert!(
        text.contains("Likely causes") && text.contains("paymentservice"),
        "{text}"
    );
    let live = nojs
        .find_all(Locator::Css(".conn.live"))
        .await
        .expect("find")
        .len();
    assert_eq!(live, 0, "no script ran");
    screenshot(&nojs, "incident-no-js").await;
    nojs.close().await.expect("close");

    drop(driver);
    drop(server);
    rig.sim.shutdown().await;
}
