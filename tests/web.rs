//! The web console and its API end to end: the simulator, the engine and the web server on
//! loopback. Pages are read as a browser without JavaScript gets them; the API's refusals
//! carry a status and a message; the live stream delivers the incident after a fault and
//! resumes after a dropped connection.

use std::sync::Arc;
use std::time::Duration;

const STEP: Duration = Duration::from_secs(15);

struct Sse {
    resp: reqwest::Response,
    buf: String,
}

/// One server-sent event: its id and data.
#[derive(Debug)]
struct Ev {
    id: Option<u64>,
    event: Option<String>,
    data: String,
}

impl Sse {
    async fn open(url: &str, last_id: Option<u64>) -> Self {
        let mut req = reqwest::Client::new().get(url);
        if let Some(id) = last_id {
            req = req.header("last-event-id", id.to_string());
        }
        let resp = req.send().await.expect("stream");
        assert_eq!(resp.status().as_u16(), 200);
        assert_eq!(
            resp.headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("text/event-stream")
        );
        Self {
            resp,
            buf: String::new(),
        }
    }

    /// The next event, or None after `wait`.
    async fn next(&mut self, wait: Duration) -> Option<Ev> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let mut ev = Ev {
                    id: None,
                    event: None,
                    data: String::new(),
                };
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        ev.id = v.trim().parse().ok();
                    } else if let Some(v) = line.strip_prefix("event:") {
                        ev.event = Some(v.trim().to_owned());
                    } else if let Some(v) = line.strip_prefix("data:") {
                        ev.data.push_str(v.strip_prefix(' ').unwrap_or(v));
                    }
                }
                if ev.event.is_none() && ev.data.is_empty() {
                    continue; // a keep-alive comment
                }
                return Some(ev);
            }
            let chunk = tokio::time::timeout_at(deadline, self.resp.chunk())
                .await
                .ok()?
                .ok()??;
            self.buf.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}

async fn get(url: &str) -> (u16, String) {
    let r = reqwest::get(url).await.expect("get");
    let status = r.status().as_u16();
    (status, r.text().await.expect("body"))
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// The body must match the schema the OpenAPI document gives for this route and status.
fn conforms(doc: &serde_json::Value, route: &str, status: u16, body: &serde_json::Value) {
    let errors = violations(doc, route, status, body);
    assert!(errors.is_empty(), "GET {route} {status}: {errors:?}");
}

/// How the body breaks the documented schema.
fn violations(
    doc: &serde_json::Value,
    route: &str,
    status: u16,
    body: &serde_json::Value,
) -> Vec<String> {
    let schema = &doc["paths"][route]["get"]["responses"][status.to_string()]["content"]["application/json"]
        ["schema"];
    assert!(
        !schema.is_null(),
        "GET {route} answering {status} is not in the OpenAPI document"
    );
    let root = serde_json::json!({ "components": doc["components"], "allOf": [schema] });
    let v = jsonschema::validator_for(&root).expect("a valid schema");
    let errors: Vec<String> = v
        .iter_errors(body)
        .take(5)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    errors
}

/// GET an API route (`route` as documented, `path` as asked), checked against the document.
async fn api(
    doc: &serde_json::Value,
    base: &str,
    route: &str,
    path: &str,
) -> (u16, serde_json::Value) {
    let (status, body) = get(&format!("{base}{path}")).await;
    let v = json(&body);
    conforms(doc, route, status, &v);
    (status, v)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_and_api_show_the_fault_and_the_stream_delivers_it() {
    let mut rig = opscope::eval::Rig::new("latency", 9, 25, STEP)
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

    // Healthy first: ten cycles.
    for i in 0..10 {
        tx.send_replace(rig.cycle(i).await.expect("cycle"));
    }
    // Let the history follower take the last snapshot.
    tokio::time::sleep(Duration::from_millis(200)).await;

    // The overview, as a browser without JavaScript gets it.
    let (status, html) = get(&format!("{base}/")).await;
    assert_eq!(status, 200);
    for w in ["checkoutservice", "paymentservice", "frontend"] {
        assert!(html.contains(w), "overview lists {w}");
    }
    assert!(html.contains("Open incidents: 0"), "nothing open yet");
    assert!(html.contains(r#"<script id="opscope-data" type="application/json">"#));
    let css = html
        .split("/assets/")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a stylesheet link")
        .to_owned();

    // Assets: immutable, gzip on request, 404 for others.
    let r = reqwest::Client::new()
        .get(format!("{base}/assets/{css}"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .expect("css");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        r.headers()
            .get("content-encoding")
            .and_then(|v| v.to_str().ok()),
        Some("gzip")
    );
    assert!(
        r.headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("immutable"))
    );
    assert_eq!(get(&format!("{base}/assets/nope.js")).await.0, 404);

    // The topology: one node per graph entity; focusing keeps the neighbourhood.
    let (status, topo) = get(&format!("{base}/topology")).await;
    assert_eq!(status, 200);
    let all_nodes = topo.matches(r#"<a class="node"#).count();
    assert!(all_nodes >= 10, "{all_nodes} nodes");
    let (status, focused) = get(&format!("{base}/topology?focus=shop/paymentservice")).await;
    assert_eq!(status, 200);
    let focus_nodes = focused.matches(r#"<a class="node"#).count();
    assert!(
        focus_nodes >= 2 && focus_nodes < all_nodes,
        "focus keeps {focus_nodes} of {all_nodes}"
    );
    assert!(focused.contains("checkoutservice"), "its caller stays");
    assert!(!focused.contains(">● adservice<"), "unrelated workloads go");
    assert_eq!(get(&format!("{base}/topology?focus=nope")).await.0, 400);
    assert_eq!(
        get(&format!("{base}/topology?focus=shop/nosuchservice"))
            .await
            .0,
        404
    );

    // A live stream opened now; then the fault.
    let mut stream = Sse::open(&format!("{base}/api/v1/stream"), None).await;
    let first = stream
        .next(Duration::from_secs(5))
        .await
        .expect("the current snapshot at once");
    assert_eq!(first.event.as_deref(), Some("snapshot"));
    let first_id = first.id.expect("an id");
    assert_eq!(json(&first.data)["cycle"].as_u64(), Some(first_id));

    let mut incident_id = None;
    let mut last_id = first_id;
    let mut next = 10;
    for i in 10..40 {
        next = i + 1;
        tx.send_replace(rig.cycle(i).await.expect("cycle"));
        let ev = stream
            .next(Duration::from_secs(10))
            .await
            .expect("one event per cycle");
        let id = ev.id.expect("id");
        assert!(id > last_id, "ids grow: {id} after {last_id}");
        last_id = id;
        let doc = json(&ev.data);
        if let Some(inc) = doc["incidents"].as_array().and_then(|a| {
            a.iter()
                .find(|i| i["causes"][0]["entity"]["name"].as_str() == Some("paymentservice"))
        }) {
            incident_id = inc["id"].as_u64();
            break;
        }
    }
    let id = incident_id.expect("the stream delivered an incident with paymentservice first");

    // Dropped, then resumed with Last-Event-ID: nothing is repeated, the next cycle comes.
    drop(stream);
    let mut resumed = Sse::open(&format!("{base}/api/v1/stream"), Some(last_id)).await;
    assert!(
        resumed.next(Duration::from_millis(700)).await.is_none(),
        "nothing new since the last id"
    );
    tx.send_replace(rig.cycle(next).await.expect("cycle"));
    let ev = resumed
        .next(Duration::from_secs(10))
        .await
        .expect("the next cycle");
    assert!(ev.id.expect("id") > last_id);
    // A client that missed cycles gets the newest at once.
    let mut behind = Sse::open(&format!("{base}/api/v1/stream"), Some(1)).await;
    assert!(behind.next(Duration::from_secs(5)).await.is_some());
    drop((resumed, behind));
    tokio::time::sleep(Duration::from_millis(200)).await;

    // The incident page, without JavaScript: title, top cause, evidence, remediation.
    let (status, page) = get(&format!("{base}/incidents/INC-{id}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("Likely causes"));
    let causes = page.split("Likely causes").nth(1).unwrap_or_default();
    let first_cause = causes.split(r#"data-rank="2""#).next().unwrap_or_default();
    assert!(first_cause.contains("paymentservice"), "top cause named");
    assert!(
        first_cause.contains("<ul class=\"evidence\"><li>"),
        "with evidence"
    );
    assert!(
        first_cause.contains("<svg class=\"chart\""),
        "and its chart"
    );
    assert_eq!(get(&format!("{base}/incidents/INC-99999")).await.0, 404);
    assert_eq!(get(&format!("{base}/incidents/INC-x")).await.0, 400);
    let (_, overview) = get(&format!("{base}/")).await;
    assert!(
        overview.contains(&format!("INC-{id}")),
        "the overview lists it"
    );

    // The JSON API, every body checked against the OpenAPI document.
    let (status, doc) = get(&format!("{base}/api/v1/openapi.json")).await;
    assert_eq!(status, 200);
    let doc = json(&doc);
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1"))
    );
    let documented: Vec<&str> = doc["paths"]
        .as_object()
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default();
    for route in [
        "/api/v1/snapshot",
        "/api/v1/topology",
        "/api/v1/entities",
        "/api/v1/signals",
        "/api/v1/incidents",
        "/api/v1/incidents/{id}",
        "/api/v1/changes",
        "/api/v1/alerts",
        "/api/v1/sources",
        "/api/v1/stream",
        "/api/v1/annotations",
    ] {
        assert!(
            documented.contains(&route),
            "{route} is documented: {documented:?}"
        );
    }
    let inc_route = "/api/v1/incidents/{id}";
    let (status, inc) = api(
        &doc,
        &base,
        inc_route,
        &format!("/api/v1/incidents/INC-{id}"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(inc["causes"][0]["entity"]["name"], "paymentservice");
    assert!(
        inc["causes"][0]["evidence"]
            .as_array()
            .is_some_and(|e| !e.is_empty())
    );
    assert!(inc["timeline"].as_array().is_some_and(|e| !e.is_empty()));
    // The check bites: a broken incident does not pass.
    let mut broken = inc.clone();
    broken["causes"][0]["confidence"] = serde_json::json!("high");
    broken["status"] = serde_json::json!("dormant");
    assert_eq!(violations(&doc, inc_route, 200, &broken).len(), 2);
    let (status, body) = api(&doc, &base, inc_route, &format!("/api/v1/incidents/{id}")).await;
    assert_eq!((status, body["id"].as_u64()), (200, Some(id)));
    let (status, body) = api(&doc, &base, inc_route, "/api/v1/incidents/INC-99999").await;
    assert_eq!(status, 404);
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|m| m.contains("INC-99999"))
    );
    let (status, _) = api(&doc, &base, inc_route, "/api/v1/incidents/INC-x").await;
    assert_eq!(status, 400);
    let (status, body) = api(
        &doc,
        &base,
        "/api/v1/incidents",
        "/api/v1/incidents?status=open",
    )
    .await;
    assert_eq!(status, 200);
    assert!(body["incidents"].as_array().is_some_and(|a| !a.is_empty()));
    let (status, body) = api(
        &doc,
        &base,
        "/api/v1/incidents",
        "/api/v1/incidents?status=maybe",
    )
    .await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().is_some_and(|m| m.contains("maybe")));
    for (path, key) in [
        ("topology", "edges"),
        ("entities", "entities"),
        ("changes", "changes"),
        ("alerts", "slos"),
        ("sources", "sources"),
        ("snapshot", "incidents"),
    ] {
        let route = format!("/api/v1/{path}");
        let (status, body) = api(&doc, &base, &route, &route).await;
        assert_eq!(status, 200, "{path}");
        assert!(body.get(key).is_some(), "{path} has {key}");
    }

    // One signal over a range, with the anomaly window; refusals with reasons.
    let sig = |q: &str| format!("/api/v1/signals?{q}");
    let sr = "/api/v1/signals";
    let (status, doc_sig) = api(
        &doc,
        &base,
        sr,
        &sig("entity=shop/paymentservice&signal=latency_p99&range=1h"),
    )
    .await;
    assert_eq!(status, 200, "{doc_sig}");
    let points = doc_sig["points"].as_array().map_or(0, Vec::len);
    assert!(points >= 20, "{points} points");
    assert_eq!(doc_sig["unit"], "ms");
    // The detector's score comes with the values, high during the fault.
    let scores: Vec<f64> = doc_sig["scores"]
        .as_array()
        .map(|a| a.iter().filter_map(|p| p["value"].as_f64()).collect())
        .unwrap_or_default();
    assert!(scores.len() >= 20, "{} scores", scores.len());
    assert!(scores.iter().all(|s| (0.0..=1.0).contains(s)));
    assert!(
        scores.iter().any(|&s| s >= opscope_webui::SCORE_ALARM),
        "the fault scores above the alarm level: {scores:?}"
    );
    assert_eq!(
        opscope_webui::SCORE_ALARM,
        detectors::signal::squash(1.0),
        "the strip's alarm line is the detector's"
    );
    assert!(
        doc_sig["anomalies"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
    );
    let (_, body) = api(
        &doc,
        &base,
        sr,
        &sig("entity=shop/paymentservice&signal=latency_p99&range=2m"),
    )
    .await;
    let few = body["points"].as_array().map_or(0, Vec::len);
    assert!(few < points && few >= 8, "2 minutes: {few} points");
    for (q, status, words) in [
        ("signal=latency_p99", 400, "entity: required"),
        (
            "entity=shop/paymentservice&signal=latency",
            400,
            "not a signal kind",
        ),
        (
            "entity=shop/paymentservice&signal=latency_p99&range=1y",
            400,
            "range",
        ),
        (
            "entity=shop/paymentservice&signal=latency_p99&from=9&to=1",
            400,
            "after",
        ),
        (
            "entity=shop/nosuch&signal=latency_p99",
            404,
            "no latency_p99 series",
        ),
    ] {
        let (s, body) = api(&doc, &base, sr, &sig(q)).await;
        assert_eq!(s, status, "{q}: {body}");
        let msg = body["error"].as_str().unwrap_or_default().to_owned();
        assert!(msg.contains(words), "{q}: {msg}");
    }

    // The explorer: the range changes the chart.
    let explore = |range: &str| {
        format!("{base}/explore?entity=shop/paymentservice&signal=latency_p99&range={range}")
    };
    let (status, wide) = get(&explore("1h")).await;
    assert_eq!(status, 200);
    let (_, narrow) = get(&explore("2m")).await;
    let path_len = |html: &str| {
        html.split(r#"<path class="series" d=""#)
            .nth(1)
            .and_then(|s| s.split('"').next())
            .map_or(0, |d| d.matches('L').count())
    };
    assert!(
        path_len(&wide) > path_len(&narrow),
        "a shorter range draws fewer points"
    );
    assert!(path_len(&narrow) > 0);
    assert!(
        wide.contains(r#"<path class="score-line""#),
        "the score under the chart"
    );
    assert_eq!(get(&format!("{base}/explore?signal=bogus")).await.0, 400);

    // Its own metrics, by route and status.
    let (status, m) = get(&format!("{base}/metrics")).await;
    assert_eq!(status, 200);
    assert!(
        m.contains(r#"opscope_http_requests_total{route="/incidents/{id}",status="404"} 1"#),
        "{m}"
    );
    assert!(m.contains("opscope_incidents_open{severity="));
    assert!(m.contains("opscope_web_stream_events_total "));
    assert_eq!(get(&format!("{base}/no/such/page")).await.0, 404);

    drop(server);
    rig.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_plays_in_the_browser_with_pause_speed_and_seek() {
    use opscope_model::{ReplayCommand, ReplayStatus};
    let (_tx, rx) = tokio::sync::watch::channel(Arc::new(analytics::model::Snapshot::default()));
    let (cmd_tx, mut cmd_rx) = tokio::sync::mpsc::unbounded_channel();
    let (_status_tx, status) = tokio::sync::watch::channel(ReplayStatus {
        start_ms: 1_000_000,
        end_ms: 1_600_000,
        position_ms: 1_120_000,
        speed: 8.0,
        paused: false,
        finished: false,
    });
    let live = web::serve(
        std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        web::ApiState::new(rx.clone()),
    )
    .await
    .expect("web");
    let (status_code, body) = get(&format!("http://{}/api/v1/replay", live.addr)).await;
    assert_eq!(status_code, 404, "nothing plays: {body}");

    let server = web::serve(
        std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        web::ApiState {
            replay: Some(Arc::from("demo.parquet")),
            replay_control: Some(web::ReplayControl {
                commands: cmd_tx,
                status,
            }),
            ..web::ApiState::new(rx)
        },
    )
    .await
    .expect("web");
    let base = format!("http://{}", server.addr);
    let (_, page) = get(&format!("{base}/incidents")).await;
    assert!(
        page.contains("replaying demo.parquet"),
        "the header names the recording"
    );
    assert!(
        page.contains("2m 00s of 10m 00s · x8"),
        "and where it stands"
    );
    assert!(page.contains(r#"name="cmd" value="pause""#));

    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let form = |site: Option<&str>, cmd: &str| {
        let mut r = http
            .post(format!("{base}/replay"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("referer", format!("{base}/incidents"))
            .body(format!("cmd={cmd}"));
        if let Some(s) = site {
            r = r.header("sec-fetch-site", s);
        }
        r.send()
    };
    // Another site's page cannot drive the replay.
    let r = form(Some("cross-site"), "pause").await.expect("post");
    assert_eq!(r.status().as_u16(), 403);
    assert!(cmd_rx.try_recv().is_err());
    let r = form(Some("same-origin"), "rewind").await.expect("post");
    assert_eq!(r.status().as_u16(), 400);
    // The console's own buttons: back to the page, the command on its way.
    for (cmd, want) in [
        ("pause", ReplayCommand::TogglePause),
        ("faster", ReplayCommand::Speed(2.0)),
        ("back10", ReplayCommand::Seek(-600_000)),
    ] {
        let r = form(Some("same-origin"), cmd).await.expect("post");
        assert_eq!(r.status().as_u16(), 303, "{cmd}");
        assert_eq!(
            r.headers().get("location").and_then(|v| v.to_str().ok()),
            Some("/incidents")
        );
        assert_eq!(cmd_rx.recv().await, Some(want));
    }
    // The API, for scripts.
    let post = |body: &str| {
        http.post(format!("{base}/api/v1/replay"))
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
    };
    let r = post(r#"{"command":"seek","value":60000}"#)
        .await
        .expect("post");
    assert_eq!(r.status().as_u16(), 202);
    assert_eq!(cmd_rx.recv().await, Some(ReplayCommand::Seek(60_000)));
    for bad in [
        r#"{"command":"speed","value":0}"#,
        r#"{"command":"warp"}"#,
        "{",
    ] {
        let r = post(bad).await.expect("post");
        assert_eq!(r.status().as_u16(), 400, "{bad}");
    }
    assert!(cmd_rx.try_recv().is_err(), "refused commands are not sent");
    let (code, body) = get(&format!("{base}/api/v1/replay")).await;
    assert_eq!(code, 200);
    assert_eq!(json(&body)["position_ms"], 1_120_000);
}
