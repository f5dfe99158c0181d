//! The read side of the JSON API (`/api/v1/...`), the live stream and `/metrics`.

use crate::{ApiState, ErrorBody, Refusal, authorized, error, params};
use axum::extract::{MatchedPath, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use opscope_model::{
    Alert, BurnAlert, ChangeEvent, CollectorStats, Edge, EdgeHealth, EntityHealth, EntityId,
    Incident, IncidentStatus, Point, ReplayCommand, ReplayStatus, SignalHistory, SignalKind,
    SloStatus, Snapshot, SourceStatus,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use utoipa::{IntoParams, ToSchema};

/// Most live-stream clients served at once; more get 503.
pub const MAX_STREAM_CLIENTS: usize = 1_000;

/// The server's own figures for `/metrics`.
#[derive(Default)]
pub struct ServerMetrics {
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    stream_clients: AtomicUsize,
    stream_events: AtomicU64,
    /// The newest snapshot as JSON, serialised once per cycle for every stream client.
    cached: Mutex<Option<(u64, i64, Arc<str>)>>,
}

impl ServerMetrics {
    fn count(&self, route: &str, status: u16) {
        let mut g = self.requests.lock().unwrap_or_else(PoisonError::into_inner);
        *g.entry((route.to_owned(), status)).or_default() += 1;
    }

    fn snapshot_json(&self, s: &Snapshot) -> Arc<str> {
        let mut g = self.cached.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((c, t, j)) = g.as_ref()
            && *c == s.cycle
            && *t == s.ts_ms
        {
            return j.clone();
        }
        let j: Arc<str> = serde_json::to_string(s)
            .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
            .into();
        *g = Some((s.cycle, s.ts_ms, j.clone()));
        j
    }
}

/// Counts every request by its route pattern and status.
pub async fn count_requests(State(state): State<ApiState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let resp = next.run(req).await;
    state.metrics.count(&route, resp.status().as_u16());
    resp
}

fn check_read(state: &ApiState, headers: &HeaderMap) -> Result<Arc<Snapshot>, Refusal> {
    if state.protect_reads {
        authorized(state, headers)?;
    }
    Ok(state.snapshot.borrow().clone())
}

macro_rules! read {
    ($state:expr, $headers:expr) => {
        match check_read(&$state, &$headers) {
            Ok(s) => s,
            Err((status, msg)) => return error(status, msg),
        }
    };
}

fn json<T: Serialize>(v: &T) -> Response {
    axum::Json(v).into_response()
}

/// Entities, edges with their figures, and edge health.
#[derive(Serialize, ToSchema)]
pub struct TopologyBody<'a> {
    pub ts_ms: i64,
    #[schema(value_type = Vec<EntityId>)]
    pub entities: &'a [EntityId],
    #[schema(value_type = Vec<Edge>)]
    pub edges: &'a [Edge],
    #[schema(value_type = Vec<EdgeHealth>)]
    pub edge_health: &'a [EdgeHealth],
}

/// The topology: entities, call and messaging edges with their rate, error ratio, p99 and
/// backlog, and each edge's health.
#[utoipa::path(get, path = "/api/v1/topology", tag = "read",
    responses((status = 200, body = TopologyBody), (status = 401, body = ErrorBody)))]
pub async fn topology(State(state): State<ApiState>, headers: HeaderMap) -> Response {
    let s = read!(state, headers);
    json(&TopologyBody {
        ts_ms: s.ts_ms,
        entities: &s.topology.entities,
        edges: &s.topology.edges,
        edge_health: &s.edge_health,
    })
}

/// Every entity with its health and latest signal values.
#[derive(Serialize, ToSchema)]
pub struct EntitiesBody<'a> {
    pub ts_ms: i64,
    #[schema(value_type = Vec<EntityHealth>)]
    pub entities: &'a [EntityHealth],
}

/// Every entity with its health and latest signal values.
#[utoipa::path(get, path = "/api/v1/entities", tag = "read",
    responses((status = 200, body = EntitiesBody), (status = 401, body = ErrorBody)))]
pub async fn entities(State(state): State<ApiState>, headers: HeaderMap) -> Response {
    let s = read!(state, headers);
    json(&EntitiesBody {
        ts_ms: s.ts_ms,
        entities: &s.entities,
    })
}

/// Which signal, over which range.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SignalQuery {
    /// `namespace/name` (a workload), `kind/namespace/name` or `kind/name`.
    entity: Option<String>,
    /// A signal kind: `latency_p99`, `request_rate`, `error_ratio`, ...
    signal: Option<String>,
    /// A range ending now: `15m`, `1h`, `6h`, `30s`, `2d` (default 1h).
    range: Option<String>,
    /// Start, Unix ms (instead of `range`).
    from: Option<String>,
    /// End, Unix ms (default now).
    to: Option<String>,
}

/// One signal over a time range, with the anomaly windows found on it.
#[derive(Serialize, ToSchema)]
pub struct SignalBody {
    pub entity: EntityId,
    pub signal: SignalKind,
    pub unit: &'static str,
    pub from_ms: i64,
    pub to_ms: i64,
    pub points: Vec<Point>,
    /// The detector's anomaly score in [0, 1] at each cycle of the range.
    pub scores: Vec<Point>,
    pub anomalies: Vec<AnomalyWindow>,
}

/// When a signal was anomalous, and how strongly.
#[derive(Serialize, ToSchema)]
pub struct AnomalyWindow {
    pub incident: u64,
    pub onset_ms: i64,
    pub last_ms: i64,
    pub score: f64,
}

/// One entity's signal over a time range, with the anomaly windows found on it.
#[utoipa::path(get, path = "/api/v1/signals", tag = "read", params(SignalQuery),
    responses((status = 200, body = SignalBody), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn signals(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(q): Query<SignalQuery>,
) -> Response {
    let s = read!(state, headers);
    let bad = |m: String| error(StatusCode::BAD_REQUEST, &m);
    let Some(e) = q.entity.as_deref() else {
        return bad("entity: required (namespace/name or kind/namespace/name)".to_owned());
    };
    let entity = match params::entity(e) {
        Ok(e) => e,
        Err(m) => return bad(format!("entity: {m}")),
    };
    let Some(k) = q.signal.as_deref() else {
        return bad("signal: required (latency_p99, request_rate, ...)".to_owned());
    };
    let kind = match params::signal(k) {
        Ok(k) => k,
        Err(m) => return bad(format!("signal: {m}")),
    };
    let w = match params::window(
        q.range.as_deref(),
        q.from.as_deref(),
        q.to.as_deref(),
        s.ts_ms,
    ) {
        Ok(w) => w,
        Err(m) => return bad(m),
    };
    let Some(points) = state.history.range(&entity, kind, w.from_ms, w.to_ms) else {
        return error(
            StatusCode::NOT_FOUND,
            &format!(
                "no {} series for {entity}",
                opscope_webui::signal_param(kind)
            ),
        );
    };
    let anomalies = crate::anomalies_on(&s, &entity, kind)
        .map(|(id, a)| AnomalyWindow {
            incident: id,
            onset_ms: a.onset_ms,
            last_ms: a.last_ms,
            score: a.score,
        })
        .collect();
    let scores = state.history.scores(&entity, kind, w.from_ms, w.to_ms);
    json(&SignalBody {
        scores,
        unit: kind.unit(),
        entity,
        signal: kind,
        from_ms: w.from_ms,
        to_ms: w.to_ms,
        points,
        anomalies,
    })
}

/// Which incidents.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IncidentsQuery {
    /// `open`, `resolved` or `all` (default).
    status: Option<String>,
}

/// Incidents in the retention window.
#[derive(Serialize, ToSchema)]
pub struct IncidentsBody<'a> {
    pub ts_ms: i64,
    #[schema(value_type = Vec<Incident>)]
    pub incidents: Vec<&'a Incident>,
}

/// Incidents, open first, with their causes, evidence, remediation and timeline.
#[utoipa::path(get, path = "/api/v1/incidents", tag = "read", params(IncidentsQuery),
    responses((status = 200, body = IncidentsBody), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub async fn incidents(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(q): Query<IncidentsQuery>,
) -> Response {
    let s = read!(state, headers);
    let want = match q.status.as_deref() {
        None | Some("") | Some("all") => None,
        Some("open") => Some(IncidentStatus::Open),
        Some("resolved") => Some(IncidentStatus::Resolved),
        Some(other) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("status: {other:?} is not open, resolved or all"),
            );
        }
    };
    json(&IncidentsBody {
        ts_ms: s.ts_ms,
        incidents: s
            .incidents
            .iter()
            .filter(|i| want.is_none_or(|w| i.status == w))
            .collect(),
    })
}

/// One incident (`INC-3` or `3`): causes, evidence, remediation, timeline.
#[utoipa::path(get, path = "/api/v1/incidents/{id}", tag = "read",
    params(("id" = String, Path, description = "INC-3, or 3")),
    responses((status = 200, body = Incident), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn incident(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let s = read!(state, headers);
    let Some(n) = params::incident_id(&id) else {
        return error(
            StatusCode::BAD_REQUEST,
            &format!("{id:?} is not an incident id (INC-3, or 3)"),
        );
    };
    match s.incidents.iter().find(|i| i.id == n) {
        Some(i) => json(i),
        None => error(
            StatusCode::NOT_FOUND,
            &format!("no incident INC-{n} in the retention window"),
        ),
    }
}

/// Change events.
#[derive(Serialize, ToSchema)]
pub struct ChangesBody<'a> {
    pub ts_ms: i64,
    #[schema(value_type = Vec<ChangeEvent>)]
    pub changes: &'a [ChangeEvent],
}

/// Rollouts, config changes and deploy annotations seen.
#[utoipa::path(get, path = "/api/v1/changes", tag = "read",
    responses((status = 200, body = ChangesBody), (status = 401, body = ErrorBody)))]
pub async fn changes(State(state): State<ApiState>, headers: HeaderMap) -> Response {
    let s = read!(state, headers);
    json(&ChangesBody {
        ts_ms: s.ts_ms,
        changes: &s.changes,
    })
}

/// Alerts and SLOs.
#[derive(Serialize, ToSchema)]
pub struct AlertsBody<'a> {
    pub ts_ms: i64,
    #[schema(value_type = Vec<Alert>)]
    pub alerts: &'a [Alert],
    #[schema(value_type = Vec<BurnAlert>)]
    pub burn_alerts: &'a [BurnAlert],
    #[schema(value_type = Vec<SloStatus>)]
    pub slos: &'a [SloStatus],
}

/// Rule alerts, SLO burn-rate alerts and SLO budgets.
#[utoipa::path(get, path = "/api/v1/alerts", tag = "read",
    responses((status = 200, body = AlertsBody), (status = 401, body = ErrorBody)))]
pub async fn alerts(State(state): State<ApiState>, headers: HeaderMap) -> Response {
    let s = read!(state, headers);
    json(&AlertsBody {
        ts_ms: s.ts_ms,
        alerts: &s.alerts,
        burn_alerts: &s.burn_alerts,
        slos: &s.slos,
    })
}

/// Sources and the collector.
#[derive(Serialize, ToSchema)]
pub struct SourcesBody<'a> {
    pub ts_ms: i64,
    #[schema(value_type = Vec<SourceStatus>)]
    pub sources: &'a [SourceStatus],
    pub collector: CollectorStats,
}

/// Freshness of every source and the collector's own figures.
#[utoipa::path(get, path = "/api/v1/sources", tag = "read",
    responses((status = 200, body = SourcesBody), (status = 401, body = ErrorBody)))]
pub async fn sources(State(state): State<ApiState>, headers: HeaderMap) -> Response {
    let s = read!(state, headers);
    json(&SourcesBody {
        ts_ms: s.ts_ms,
        sources: &s.sources,
        collector: s.collector,
    })
}

/// Where a client resumes.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StreamQuery {
    /// The cycle the client already has (as `Last-Event-ID`).
    since: Option<u64>,
}

/// Decrements the client count when a stream ends.
struct ClientGuard(Arc<crate::api::ServerMetrics>);

impl Drop for ClientGuard {
    fn drop(&mut self) {
        self.0.stream_clients.fetch_sub(1, Ordering::Relaxed);
    }
}

/// `GET /api/v1/stream`: server-sent events, one `snapshot` event (the whole versioned
/// document, `id` = its cycle) per engine cycle. A client that comes back with
/// `Last-Event-ID` (or `?since=CYCLE`) gets the newest snapshot at once if it missed any,
/// else waits for the next.
#[utoipa::path(get, path = "/api/v1/stream", tag = "live", params(StreamQuery,
        ("Last-Event-ID" = Option<u64>, Header, description = "the last cycle received")),
    responses((status = 200, content_type = "text/event-stream",
        description = "`event: snapshot`, `id: <cycle>`, `data: <the snapshot document>`", body = String),
        (status = 401, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn stream(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(q): Query<StreamQuery>,
) -> Response {
    if let Err((status, msg)) = check_read(&state, &headers) {
        return error(status, msg);
    }
    let last: Option<u64> = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .or(q.since);
    let metrics = state.metrics.clone();
    if metrics.stream_clients.fetch_add(1, Ordering::Relaxed) >= MAX_STREAM_CLIENTS {
        metrics.stream_clients.fetch_sub(1, Ordering::Relaxed);
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "too many live-stream clients",
        );
    }
    let guard = ClientGuard(metrics.clone());
    let rx = state.snapshot.clone();
    let events = futures_util::stream::unfold(
        (rx, last, true, guard),
        move |(mut rx, last, first, guard)| {
            let metrics = metrics.clone();
            async move {
                if first {
                    let s = rx.borrow_and_update().clone();
                    if s.cycle > 0 && last != Some(s.cycle) {
                        let ev = event(&metrics, &s);
                        return Some((
                            Ok::<Event, Infallible>(ev),
                            (rx, Some(s.cycle), false, guard),
                        ));
                    }
                }
                loop {
                    rx.changed().await.ok()?;
                    let s = rx.borrow_and_update().clone();
                    if last == Some(s.cycle) {
                        continue;
                    }
                    let ev = event(&metrics, &s);
                    return Some((Ok(ev), (rx, Some(s.cycle), false, guard)));
                }
            }
        },
    );
    let mut resp = Sse::new(events)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}

fn event(metrics: &ServerMetrics, s: &Snapshot) -> Event {
    metrics.stream_events.fetch_add(1, Ordering::Relaxed);
    Event::default()
        .event("snapshot")
        .id(s.cycle.to_string())
        .retry(Duration::from_secs(3))
        .data(metrics.snapshot_json(s).as_ref())
}

fn family(o: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// Where a recording's playback stands.
#[utoipa::path(get, path = "/api/v1/replay", tag = "replay",
    responses((status = 200, body = ReplayStatus), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn replay_status(State(state): State<ApiState>, headers: HeaderMap) -> Response {
    let _ = read!(state, headers);
    match &state.replay_control {
        Some(c) => json(&*c.status.borrow()),
        None => error(StatusCode::NOT_FOUND, "not playing a recording"),
    }
}

/// Pause or resume (`{"command": "toggle_pause"}`), change speed by a factor
/// (`{"command": "speed", "value": 2}`) or seek by ms (`{"command": "seek", "value": -60000}`).
#[utoipa::path(post, path = "/api/v1/replay", tag = "replay", request_body = ReplayCommand,
    responses((status = 202, body = ReplayStatus), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn replay_command(
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let _ = read!(state, headers);
    let Some(c) = &state.replay_control else {
        return error(StatusCode::NOT_FOUND, "not playing a recording");
    };
    let cmd: ReplayCommand = match serde_json::from_slice(&body) {
        Ok(c) => c,
        Err(e) => return error(StatusCode::BAD_REQUEST, &format!("body: {e}")),
    };
    if let Err(m) = check_command(cmd) {
        return error(StatusCode::BAD_REQUEST, m);
    }
    if c.commands.send(cmd).is_err() {
        return error(StatusCode::NOT_FOUND, "the recording has stopped");
    }
    (StatusCode::ACCEPTED, axum::Json(*c.status.borrow())).into_response()
}

/// A command's value must be usable: a finite speed factor above zero, a seek within a week.
pub fn check_command(cmd: ReplayCommand) -> Result<(), &'static str> {
    match cmd {
        ReplayCommand::Speed(f) if !(f.is_finite() && f > 0.0 && f <= 64.0) => {
            Err("speed: a factor above 0 and at most 64")
        }
        ReplayCommand::Seek(ms) if ms.abs() > 7 * 86_400_000 => Err("seek: at most 7 days"),
        _ => Ok(()),
    }
}

/// A label value in the exposition format.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// `GET /metrics`: opscope's own figures in the Prometheus text format.
pub async fn metrics(State(state): State<ApiState>, headers: HeaderMap) -> Response {
    let s = read!(state, headers);
    let mut o = String::with_capacity(4096);
    let now_ms = crate::wall_ms();
    family(
        &mut o,
        "opscope_cycle",
        "counter",
        "Engine cycles published.",
    );
    let _ = writeln!(o, "opscope_cycle {}", s.cycle);
    family(
        &mut o,
        "opscope_snapshot_age_seconds",
        "gauge",
        "Age of the newest snapshot (wall clock).",
    );
    let age = if s.ts_ms > 0 {
        (now_ms - s.ts_ms) as f64 / 1000.0
    } else {
        f64::NAN
    };
    let _ = writeln!(o, "opscope_snapshot_age_seconds {age}");
    family(
        &mut o,
        "opscope_source_up",
        "gauge",
        "1 when the source answered its last scrape in time.",
    );
    for src in &s.sources {
        let _ = writeln!(
            o,
            "opscope_source_up{{source=\"{}\"}} {}",
            label(&src.name),
            u8::from(!src.stale)
        );
    }
    family(
        &mut o,
        "opscope_source_last_success_timestamp_seconds",
        "gauge",
        "When each source last answered.",
    );
    for src in &s.sources {
        if let Some(t) = src.last_success_ms {
            let _ = writeln!(
                o,
                "opscope_source_last_success_timestamp_seconds{{source=\"{}\"}} {}",
                label(&src.name),
                t as f64 / 1000.0
            );
        }
    }
    family(
        &mut o,
        "opscope_source_scrape_duration_seconds",
        "gauge",
        "How long each source's last scrape took.",
    );
    for src in &s.sources {
        let _ = writeln!(
            o,
            "opscope_source_scrape_duration_seconds{{source=\"{}\"}} {}",
            label(&src.name),
            src.duration_ms as f64 / 1000.0
        );
    }
    family(
        &mut o,
        "opscope_series",
        "gauge",
        "Series held by the collector.",
    );
    let _ = writeln!(o, "opscope_series {}", s.collector.series);
    family(
        &mut o,
        "opscope_frame_bytes",
        "gauge",
        "Bytes held in the collector's frames.",
    );
    let _ = writeln!(o, "opscope_frame_bytes {}", s.collector.frame_bytes);
    family(
        &mut o,
        "opscope_incidents_open",
        "gauge",
        "Open incidents by severity.",
    );
    for sev in [
        opscope_model::Severity::Warning,
        opscope_model::Severity::Critical,
    ] {
        let n = s.open_incidents().filter(|i| i.severity == sev).count();
        let name = match sev {
            opscope_model::Severity::Warning => "warning",
            opscope_model::Severity::Critical => "critical",
        };
        let _ = writeln!(o, "opscope_incidents_open{{severity=\"{name}\"}} {n}");
    }
    let (series, points) = state.history.size();
    family(
        &mut o,
        "opscope_web_history_series",
        "gauge",
        "Series in the web console's history.",
    );
    let _ = writeln!(o, "opscope_web_history_series {series}");
    family(
        &mut o,
        "opscope_web_history_points",
        "gauge",
        "Points in the web console's history.",
    );
    let _ = writeln!(o, "opscope_web_history_points {points}");
    family(
        &mut o,
        "opscope_web_stream_clients",
        "gauge",
        "Live-stream clients connected.",
    );
    let _ = writeln!(
        o,
        "opscope_web_stream_clients {}",
        state.metrics.stream_clients.load(Ordering::Relaxed)
    );
    family(
        &mut o,
        "opscope_web_stream_events_total",
        "counter",
        "Live-stream events sent.",
    );
    let _ = writeln!(
        o,
        "opscope_web_stream_events_total {}",
        state.metrics.stream_events.load(Ordering::Relaxed)
    );
    family(
        &mut o,
        "opscope_http_requests_total",
        "counter",
        "HTTP requests by route and status.",
    );
    {
        let g = state
            .metrics
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for ((route, status), n) in g.iter() {
            let _ = writeln!(
                o,
                "opscope_http_requests_total{{route=\"{}\",status=\"{status}\"}} {n}",
                label(route)
            );
        }
    }
    let mut r = o.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r
}
