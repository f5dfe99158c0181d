//! web: opscope's web server: the console in the browser, the JSON API, the live stream and
//! its own metrics, all from the engine's snapshots.
//!
//! - The console: `/` (overview), `/topology?focus=ns/name`, `/incidents`, `/incidents/INC-3`,
//!   `/explore?entity=ns/name&signal=latency_p99&range=1h`; pages are rendered here by
//!   `opscope-webui` and hydrated in the browser from the embedded bundle (`/assets/...`).
//! - `GET /api/v1/snapshot`: the newest [`Snapshot`] as JSON; `topology`, `entities`,
//!   `signals`, `incidents`, `incidents/{id}`, `changes`, `alerts`, `sources` (see [`api`]).
//! - `GET /api/v1/stream`: server-sent events, one snapshot per cycle, with resume.
//! - `GET /metrics`: the server's own figures, Prometheus text.
//! - `POST /api/v1/annotations` (bearer token): a deploy tool (Jenkins, ArgoCD notifications,
//!   Helm hooks, a GitOps controller) marks a change on a workload; it becomes a change event
//!   on timelines and in root-cause ranking, like a rollout seen in Kubernetes.
//! - `GET /healthz`.
//!
//! The server binds 127.0.0.1 unless told otherwise; annotations always need the token.
//!
//! ```text
//! curl -X POST http://127.0.0.1:8080/api/v1/annotations \
//!   -H "Authorization: Bearer $OPSCOPE_API_TOKEN" -H 'Content-Type: application/json' \
//!   -d '{"workload":"checkoutservice","namespace":"shop","text":"deploy v1.4.2 (jenkins #812)"}'
//! ```

pub mod api;
pub mod console;
pub mod history;
pub mod params;

pub use history::History;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use collector::observe::CHANGE_LOOKBACK_MS;
pub use collector::sources::annotations::{AnnotationFeed, Annotations, MAX_ANNOTATIONS};
use opscope_layout::Describe;
use opscope_model::Snapshot;
use opscope_model::{ChangeEvent, ChangeKind, EntityId};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::{oneshot, watch};

/// Largest annotation request body accepted.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// Longest annotation text.
pub const MAX_TEXT_CHARS: usize = 500;

/// Errors of the web server.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("refusing to listen on {0} without a token: set one, or bind 127.0.0.1")]
    NoToken(SocketAddr),
}

/// A posted annotation.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnnotationRequest {
    /// The workload (Deployment, StatefulSet, ...) the change is about.
    pub workload: String,
    /// Its namespace (`default` when left out).
    #[serde(default)]
    pub namespace: Option<String>,
    /// What changed, in words ("deploy v1.4.2 (jenkins #812)").
    pub text: String,
    /// When, Unix ms (default: when it was received).
    #[serde(default)]
    pub ts_ms: Option<i64>,
}

/// A Kubernetes object name: lowercase alphanumerics, `-` and `.`, at most 253 characters.
fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && !s.starts_with(['-', '.'])
}

impl AnnotationRequest {
    /// The change event, or why the request is refused.
    pub fn into_event(self, now_ms: i64) -> Result<ChangeEvent, String> {
        let ns = self.namespace.unwrap_or_else(|| "default".to_owned());
        if !valid_name(&self.workload) {
            return Err(format!(
                "workload {:?}: not a Kubernetes name (lowercase letters, digits, '-', '.')",
                self.workload
            ));
        }
        if !valid_name(&ns) {
            return Err(format!("namespace {ns:?}: not a Kubernetes name"));
        }
        let text: String = self
            .text
            .chars()
            .filter(|c| !c.is_control())
            .collect::<String>()
            .trim()
            .to_owned();
        if text.is_empty() {
            return Err("text: empty".to_owned());
        }
        if text.chars().count() > MAX_TEXT_CHARS {
            return Err(format!("text: longer than {MAX_TEXT_CHARS} characters"));
        }
        let ts_ms = self.ts_ms.unwrap_or(now_ms);
        if ts_ms > now_ms + 60_000 || ts_ms < now_ms - CHANGE_LOOKBACK_MS {
            return Err("ts_ms: more than a minute ahead, or older than a day".to_owned());
        }
        Ok(ChangeEvent {
            ts_ms,
            entity: EntityId::workload(ns, self.workload),
            kind: ChangeKind::Annotation { text },
        })
    }
}

/// What the server serves.
#[derive(Clone)]
pub struct ApiState {
    pub snapshot: watch::Receiver<Arc<Snapshot>>,
    pub annotations: Annotations,
    /// Bearer token for writes (and for every request when bound beyond loopback).
    pub token: Option<Arc<str>>,
    /// Whether reads need the token too.
    pub protect_reads: bool,
    /// Signal history for the explorer and sparklines, fed from the snapshots by [`serve`].
    pub history: History,
    /// The server's own figures.
    pub metrics: Arc<api::ServerMetrics>,
    /// The recording being played, if any (shown in the console's header).
    pub replay: Option<Arc<str>>,
    /// Where pause, speed and seek go while a recording plays.
    pub replay_control: Option<ReplayControl>,
}

/// The controls of a recording being played: the same commands the terminal console sends.
#[derive(Clone)]
pub struct ReplayControl {
    pub commands: tokio::sync::mpsc::UnboundedSender<opscope_model::ReplayCommand>,
    pub status: watch::Receiver<opscope_model::ReplayStatus>,
}

impl ApiState {
    /// Serve `snapshot`; annotations off (no token), reads open, no recording.
    pub fn new(snapshot: watch::Receiver<Arc<Snapshot>>) -> Self {
        Self {
            snapshot,
            annotations: Annotations::default(),
            token: None,
            protect_reads: false,
            history: History::default(),
            metrics: Arc::default(),
            replay: None,
            replay_control: None,
        }
    }
}

/// Why a request was refused.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody<'a> {
    /// The reason, for people.
    pub error: &'a str,
}

pub(crate) fn error(status: StatusCode, msg: &str) -> Response {
    (status, axum::Json(ErrorBody { error: msg })).into_response()
}

/// The anomalies found on one signal, with the id of the incident holding each.
pub(crate) fn anomalies_on<'a>(
    s: &'a Snapshot,
    entity: &'a EntityId,
    kind: opscope_model::SignalKind,
) -> impl Iterator<Item = (u64, &'a opscope_model::Anomaly)> + 'a {
    s.incidents
        .iter()
        .flat_map(|i| i.anomalies.iter().map(move |a| (i.id, a)))
        .filter(move |(_, a)| &a.signal.entity == entity && a.signal.kind == kind)
}

/// Compare without an early exit on the first differing byte.
fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Why a request is refused: its status and a message.
pub(crate) type Refusal = (StatusCode, &'static str);

pub(crate) fn authorized(state: &ApiState, headers: &HeaderMap) -> Result<(), Refusal> {
    let Some(token) = &state.token else {
        return Err((
            StatusCode::FORBIDDEN,
            "no API token is configured: start opscope with --api-token-env or --api-token-file",
        ));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match given {
        Some(g) if same(g.trim().as_bytes(), token.as_bytes()) => Ok(()),
        _ => Err((StatusCode::UNAUTHORIZED, "missing or wrong bearer token")),
    }
}

/// The newest snapshot: the read model's versioned document.
#[utoipa::path(get, path = "/api/v1/snapshot", tag = "read",
    responses((status = 200, body = Snapshot), (status = 401, body = ErrorBody)))]
async fn snapshot(State(state): State<ApiState>, headers: HeaderMap) -> Response {
    if state.protect_reads
        && let Err((status, msg)) = authorized(&state, &headers)
    {
        return error(status, msg);
    }
    let snap = state.snapshot.borrow().clone();
    axum::Json(snap.as_ref()).into_response()
}

pub(crate) fn wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Mark a change on a workload (a deploy, a config change): it becomes a change event on
/// timelines and evidence in root-cause ranking. Needs the bearer token.
#[utoipa::path(post, path = "/api/v1/annotations", tag = "write", request_body = AnnotationRequest,
    security(("bearer" = [])),
    responses((status = 201, body = ChangeEvent), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn annotate(
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if let Err((status, msg)) = authorized(&state, &headers) {
        return error(status, msg);
    }
    let req: AnnotationRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, &format!("body: {e}")),
    };
    match req.into_event(wall_ms()) {
        Ok(ev) => {
            tracing::info!(entity = %ev.entity, text = %ev.describe(), "annotation received");
            state.annotations.push(ev.clone());
            (StatusCode::CREATED, axum::Json(ev)).into_response()
        }
        Err(e) => error(StatusCode::UNPROCESSABLE_ENTITY, &e),
    }
}

/// The OpenAPI document's frame; the paths come from the handlers (see [`api_routes`]).
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "opscope API",
        description = "The read model of opscope (topology, entities, signals, incidents with causes, evidence and remediation, changes, alerts, SLOs, sources), a live stream, and deploy annotations. Errors are `{\"error\": \"...\"}` with 400 for bad parameters and 404 for unknown ids."
    ),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The JSON API: each route registered together with its OpenAPI description, so the
/// document cannot drift from the routes.
pub fn api_routes() -> utoipa_axum::router::OpenApiRouter<ApiState> {
    use utoipa::OpenApi as _;
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(snapshot))
        .routes(routes!(api::topology))
        .routes(routes!(api::entities))
        .routes(routes!(api::signals))
        .routes(routes!(api::incidents))
        .routes(routes!(api::incident))
        .routes(routes!(api::changes))
        .routes(routes!(api::alerts))
        .routes(routes!(api::sources))
        .routes(routes!(api::stream))
        .routes(routes!(annotate))
        .routes(routes!(api::replay_status, api::replay_command))
}

/// The OpenAPI 3.1 document of [`api_routes`], as JSON.
pub fn openapi_json() -> String {
    api_routes()
        .into_openapi()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// Every route: the console's pages and assets, the API, the stream and `/metrics`.
pub fn router(state: ApiState) -> Router {
    let (api, doc) = api_routes().split_for_parts();
    let doc: Arc<str> = doc
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
        .into();
    Router::new()
        .merge(api)
        .route(
            "/api/v1/openapi.json",
            get(move || {
                let doc = doc.clone();
                async move {
                    (
                        [(header::CONTENT_TYPE, "application/json")],
                        doc.as_ref().to_owned(),
                    )
                }
            }),
        )
        .route("/", get(console::overview))
        .route("/topology", get(console::topology))
        .route("/incidents", get(console::incidents))
        .route("/incidents/{id}", get(console::incident))
        .route("/explore", get(console::explore))
        .route("/assets/{*name}", get(console::asset))
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(api::metrics))
        .route("/replay", axum::routing::post(console::replay_form))
        .fallback(console::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            api::count_requests,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// Record every snapshot the server sees into its history.
fn follow_history(mut rx: watch::Receiver<Arc<Snapshot>>, history: History) {
    tokio::spawn(async move {
        loop {
            let s = rx.borrow_and_update().clone();
            history.record(&s);
            if rx.changed().await.is_err() {
                break;
            }
        }
    });
}

/// A running API server; stops when dropped.
#[derive(Debug)]
pub struct ApiServer {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// Listen on `addr` (port 0 picks one) and serve on the current runtime. Beyond loopback, a
/// token is required and protects reads too.
pub async fn serve(addr: SocketAddr, mut state: ApiState) -> Result<ApiServer, WebError> {
    if !addr.ip().is_loopback() {
        if state.token.is_none() {
            return Err(WebError::NoToken(addr));
        }
        state.protect_reads = true;
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| WebError::Bind { addr, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| WebError::Bind { addr, source })?;
    let (tx, rx) = oneshot::channel::<()>();
    follow_history(state.snapshot.clone(), state.history.clone());
    let app = router(state);
    tokio::spawn(async move {
        let shutdown = async {
            let _ = rx.await;
        };
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(error = %e, "API server stopped");
        }
    });
    Ok(ApiServer {
        addr: bound,
        stop: Some(tx),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(workload: &str, text: &str) -> AnnotationRequest {
        AnnotationRequest {
            workload: workload.into(),
            namespace: Some("shop".into()),
            text: text.into(),
            ts_ms: None,
        }
    }

    #[test]
    fn requests_are_checked_and_hostile_text_is_cleaned() {
        let now = 1_700_000_000_000;
        let e = req("checkoutservice", "deploy v2\u{1b}[31m\n")
            .into_event(now)
            .unwrap();
        assert_eq!(e.entity, EntityId::workload("shop", "checkoutservice"));
        assert_eq!(
            e.kind,
            ChangeKind::Annotation {
                text: "deploy v2[31m".into()
            }
        );
        assert_eq!(e.ts_ms, now);
        assert!(req("Checkout", "x").into_event(now).is_err());
        assert!(req("a b", "x").into_event(now).is_err());
        assert!(req("ok", "   ").into_event(now).is_err());
        assert!(req("ok", &"x".repeat(501)).into_event(now).is_err());
        let mut future = req("ok", "x");
        future.ts_ms = Some(now + 3_600_000);
        assert!(future.into_event(now).is_err());
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(same(b"secret", b"secret"));
        assert!(!same(b"secret", b"secreT"));
        assert!(!same(b"secret", b"secret2"));
    }
}
