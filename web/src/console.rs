//! The web console's pages (rendered by `opscope-webui` on the server) and its embedded,
//! content-hashed static assets.

use crate::{ApiState, params};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use opscope_model::{EntityId, SignalHistory, SignalKind, Snapshot};
use opscope_webui::svg::{Band, ChartData};
use opscope_webui::{Assets, Page, PageData, SPARK_POINTS, Spark};
use serde::Deserialize;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/assets.rs"));
}

/// The asset names the pages link to.
pub fn assets() -> Assets {
    Assets {
        css: embedded::CSS.to_owned(),
        js: embedded::JS.map(str::to_owned),
        wasm: embedded::WASM.map(str::to_owned),
    }
}

/// Whether this build carries the browser bundle (else pages are server-rendered only).
pub fn has_bundle() -> bool {
    embedded::JS.is_some() && embedded::WASM.is_some()
}

/// Every embedded asset: name, bytes, gzip bytes (for the size report and tests).
pub fn asset_sizes() -> Vec<(&'static str, usize, usize)> {
    embedded::ASSETS
        .iter()
        .map(|(n, _, b, gz)| (*n, b.len(), gz.len()))
        .collect()
}

/// `GET /assets/{*name}`: immutable (the name carries the content's hash), gzip when accepted.
pub async fn asset(Path(name): Path<String>, headers: HeaderMap) -> Response {
    let Some((_, mime, raw, gz)) = embedded::ASSETS.iter().find(|(n, ..)| *n == name) else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    let gzip = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
    let mut resp = if gzip {
        let mut r = gz.to_vec().into_response();
        r.headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        r
    } else {
        raw.to_vec().into_response()
    };
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    resp
}

fn render(status: StatusCode, data: &PageData) -> Response {
    match opscope_webui::document(data, &assets()) {
        Ok(html) => {
            let mut r = (status, Html(html)).into_response();
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            r
        }
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("rendering the page: {e}"),
        )
            .into_response(),
    }
}

fn error_page(status: StatusCode, msg: &str) -> Response {
    let body = format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{code} · opscope</title><link rel="stylesheet" href="/assets/{css}"></head><body><main><h1>{code}</h1><p>{msg}</p><p><a href="/">Overview</a> · <a href="/incidents">Incidents</a></p></main></body></html>"#,
        code = status.as_u16(),
        css = embedded::CSS,
        msg = opscope_webui::svg::esc(msg)
    );
    (status, Html(body)).into_response()
}

fn page_data(state: &ApiState, page: Page, snapshot: Snapshot) -> PageData {
    PageData {
        page,
        snapshot,
        sparks: Vec::new(),
        chart: None,
        catalog: Vec::new(),
        replay: state.replay.as_deref().map(str::to_owned),
        replay_status: state.replay_control.as_ref().map(|c| *c.status.borrow()),
    }
}

#[derive(Deserialize)]
pub struct ReplayForm {
    cmd: String,
}

/// `POST /replay` from the console's buttons (a plain form, so it works without JavaScript):
/// same-origin only, then back to the page it came from.
pub async fn replay_form(
    State(state): State<ApiState>,
    headers: HeaderMap,
    axum::Form(f): axum::Form<ReplayForm>,
) -> Response {
    use opscope_model::ReplayCommand as C;
    let same_origin = match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        Some(site) => site == "same-origin",
        // Without Fetch Metadata, the Origin header must name this host.
        None => {
            let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
            let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
            matches!((host, origin), (Some(h), Some(o)) if o.ends_with(&format!("//{h}")))
        }
    };
    if !same_origin || state.protect_reads {
        return error_page(
            StatusCode::FORBIDDEN,
            "replay controls take requests from this console's own pages on loopback only; use POST /api/v1/replay with the token",
        );
    }
    let Some(c) = &state.replay_control else {
        return error_page(StatusCode::NOT_FOUND, "not playing a recording");
    };
    let cmd = match f.cmd.as_str() {
        "pause" => C::TogglePause,
        "faster" => C::Speed(2.0),
        "slower" => C::Speed(0.5),
        "back" => C::Seek(-60_000),
        "forward" => C::Seek(60_000),
        "back10" => C::Seek(-600_000),
        "forward10" => C::Seek(600_000),
        other => {
            return error_page(
                StatusCode::BAD_REQUEST,
                &format!("{other:?} is not a replay command"),
            );
        }
    };
    let _ = c.commands.send(cmd);
    let back = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.find("://").map(|i| &r[i + 3..]))
        .and_then(|r| r.find('/').map(|i| r[i..].to_owned()))
        .filter(|p| p.starts_with('/') && !p.starts_with("//"))
        .unwrap_or_else(|| "/".to_owned());
    axum::response::Redirect::to(&back).into_response()
}

/// `GET /`: the overview.
pub async fn overview(State(state): State<ApiState>) -> Response {
    let snap = state.snapshot.borrow().as_ref().clone();
    let sparks = snap
        .entities
        .iter()
        .filter(|e| e.entity.kind == opscope_model::EntityKind::Workload)
        .map(|e| Spark {
            entity: e.entity.clone(),
            kind: SignalKind::LatencyP99,
            values: state
                .history
                .recent(&e.entity, SignalKind::LatencyP99, SPARK_POINTS),
        })
        .collect();
    let mut data = page_data(&state, Page::Overview, snap);
    data.sparks = sparks;
    render(StatusCode::OK, &data)
}

#[derive(Deserialize)]
pub struct TopologyQuery {
    focus: Option<String>,
}

/// `GET /topology?focus=ns/name`.
pub async fn topology(State(state): State<ApiState>, Query(q): Query<TopologyQuery>) -> Response {
    let snap = state.snapshot.borrow().as_ref().clone();
    let focus = match q.focus.as_deref().filter(|f| !f.is_empty()) {
        None => None,
        Some(f) => match params::entity(f) {
            Ok(e) => Some(e),
            Err(msg) => return error_page(StatusCode::BAD_REQUEST, &format!("focus: {msg}")),
        },
    };
    if let Some(f) = &focus
        && !opscope_layout::graph::snapshot_entities(&snap).contains(f)
    {
        return error_page(
            StatusCode::NOT_FOUND,
            &format!("focus: {f} is not in the topology"),
        );
    }
    render(
        StatusCode::OK,
        &page_data(&state, Page::Topology { focus }, snap),
    )
}

/// `GET /incidents`.
pub async fn incidents(State(state): State<ApiState>) -> Response {
    let snap = state.snapshot.borrow().as_ref().clone();
    render(StatusCode::OK, &page_data(&state, Page::Incidents, snap))
}

/// `GET /incidents/{id}` (`INC-3` or `3`).
pub async fn incident(State(state): State<ApiState>, Path(id): Path<String>) -> Response {
    let Some(id) = params::incident_id(&id) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            &format!("{id:?} is not an incident id (INC-3, or 3)"),
        );
    };
    let snap = state.snapshot.borrow().as_ref().clone();
    let status = if snap.incidents.iter().any(|i| i.id == id) {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    };
    render(status, &page_data(&state, Page::Incident { id }, snap))
}

#[derive(Deserialize)]
pub struct ExploreQuery {
    entity: Option<String>,
    signal: Option<String>,
    range: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

/// `GET /explore?entity=..&signal=..&range=1h` or `&from=..&to=..` (Unix ms).
pub async fn explore(State(state): State<ApiState>, Query(q): Query<ExploreQuery>) -> Response {
    let snap = state.snapshot.borrow().as_ref().clone();
    let entity = match q.entity.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(e) => match params::entity(e) {
            Ok(e) => Some(e),
            Err(msg) => return error_page(StatusCode::BAD_REQUEST, &format!("entity: {msg}")),
        },
    };
    let signal = match q.signal.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => match params::signal(s) {
            Ok(k) => Some(k),
            Err(msg) => return error_page(StatusCode::BAD_REQUEST, &format!("signal: {msg}")),
        },
    };
    let window = match params::window(
        q.range.as_deref(),
        q.from.as_deref(),
        q.to.as_deref(),
        snap.ts_ms,
    ) {
        Ok(w) => w,
        Err(msg) => return error_page(StatusCode::BAD_REQUEST, &msg),
    };
    let mut status = StatusCode::OK;
    let chart = match (&entity, signal) {
        (Some(e), Some(k)) => match state.history.range(e, k, window.from_ms, window.to_ms) {
            Some(points) => {
                let mut d = chart_data(&snap, e, k, points, window);
                d.scores = state.history.scores(e, k, window.from_ms, window.to_ms);
                Some(d)
            }
            None => {
                status = StatusCode::NOT_FOUND;
                Some(ChartData {
                    kind: Some(k),
                    from_ms: window.from_ms,
                    to_ms: window.to_ms,
                    ..ChartData::default()
                })
            }
        },
        _ => None,
    };
    let mut data = page_data(
        &state,
        Page::Explore {
            entity,
            signal,
            live_range_ms: window.live_range_ms,
        },
        snap,
    );
    data.chart = chart;
    data.catalog = state.history.catalog();
    render(status, &data)
}

/// The explorer's chart: the points, the anomaly windows of that signal shaded, its entity's
/// change events marked.
pub fn chart_data(
    snap: &Snapshot,
    entity: &EntityId,
    kind: SignalKind,
    points: Vec<opscope_model::Point>,
    w: params::Window,
) -> ChartData {
    use opscope_layout::Describe;
    let bands = crate::anomalies_on(snap, entity, kind)
        .map(|(_, a)| Band {
            from_ms: a.onset_ms,
            to_ms: a.last_ms.max(a.onset_ms),
        })
        .collect();
    let marks = snap
        .changes
        .iter()
        .filter(|c| &c.entity == entity)
        .map(|c| opscope_webui::svg::Mark {
            ts_ms: c.ts_ms,
            label: c.describe(),
            class: "change".into(),
        })
        .collect();
    ChartData {
        kind: Some(kind),
        points,
        from_ms: w.from_ms,
        to_ms: w.to_ms,
        bands,
        marks,
        scores: Vec::new(),
    }
}

/// Any other path.
pub async fn not_found() -> Response {
    error_page(StatusCode::NOT_FOUND, "no such page")
}
