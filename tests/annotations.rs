//! Deploy annotations over HTTP: a CI/CD tool posts `POST /api/v1/annotations` with the
//! token, the engine shows the change and ranks it as evidence; without the token, or with a
//! bad body, the API refuses with a reason and nothing is kept.

use std::sync::Arc;
use std::time::Duration;

const TOKEN: &str = "test-token-0123456789";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_marked_deploy_is_a_change_and_evidence_for_the_cause() {
    let mut rig = opscope::eval::Rig::new("latency", 9, 25, Duration::from_secs(15))
        .await
        .expect("sim");
    let fault_ms = rig.start_ms + 25 * rig.step_ms;
    let annotations = web::Annotations::default();
    rig.engine.add_enricher(Box::new(annotations.feed()));
    let (_tx, rx) = tokio::sync::watch::channel(Arc::new(analytics::model::Snapshot::default()));
    let api = web::serve(
        std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        web::ApiState {
            annotations: annotations.clone(),
            token: Some(Arc::from(TOKEN)),
            ..web::ApiState::new(rx)
        },
    )
    .await
    .expect("api");
    let url = format!("http://{}/api/v1/annotations", api.addr);
    let http = reqwest::Client::new();
    let post = |token: Option<&str>, body: String| {
        let mut r = http
            .post(&url)
            .header("content-type", "application/json")
            .body(body);
        if let Some(t) = token {
            r = r.header("authorization", format!("Bearer {t}"));
        }
        r.send()
    };

    // Refusals first: no token, a wrong one, a broken body, a hostile workload name.
    let deploy_ms = fault_ms - 5_000;
    // The API checks times against the wall clock; the run is on a virtual one, so the
    // annotation is posted without a time and then moved to the virtual deploy moment.
    let no_time =
        r#"{"workload":"paymentservice","namespace":"shop","text":"deploy v2.3.1 (jenkins #77)"}"#;
    let r = post(None, no_time.into()).await.expect("send");
    assert_eq!(r.status().as_u16(), 401);
    let r = post(Some("wrong-token-0123456789"), no_time.into())
        .await
        .expect("send");
    assert_eq!(r.status().as_u16(), 401);
    let r = post(Some(TOKEN), "{not json".into()).await.expect("send");
    assert_eq!(r.status().as_u16(), 400);
    let r = post(Some(TOKEN), r#"{"workload":"../etc","text":"x"}"#.into())
        .await
        .expect("send");
    assert_eq!(r.status().as_u16(), 422);
    let msg = r.text().await.expect("text");
    assert!(msg.contains("not a Kubernetes name"), "{msg}");
    assert!(
        annotations.all().is_empty(),
        "refused requests kept nothing"
    );

    let r = post(Some(TOKEN), no_time.into()).await.expect("send");
    assert_eq!(r.status().as_u16(), 201);
    let mut held = annotations.all();
    assert_eq!(held.len(), 1);
    // Move the received annotation to the virtual deploy time (see above).
    let mut ev = held.remove(0);
    ev.ts_ms = deploy_ms;
    let fresh = web::Annotations::default();
    fresh.push(ev.clone());
    rig.engine.add_enricher(Box::new(fresh.feed()));

    let mut last = None;
    for i in 0..40 {
        last = Some(rig.cycle(i).await.expect("cycle"));
    }
    let snap = last.expect("ran");
    assert!(snap.changes.contains(&ev), "{:?}", snap.changes);
    let inc = snap
        .incidents
        .iter()
        .find(|i| {
            i.causes
                .first()
                .is_some_and(|c| c.entity.name == "paymentservice")
        })
        .expect("an incident with paymentservice first");
    let evidence: Vec<String> = inc.causes[0]
        .evidence
        .iter()
        .map(opscope_layout::Describe::describe)
        .collect();
    assert!(
        evidence.iter().any(|t| t.contains("jenkins #77")),
        "the marked deploy is evidence: {evidence:?}"
    );
    drop(api);
    rig.sim.shutdown().await;
}
