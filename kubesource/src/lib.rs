//! kubesource: the Kubernetes inventory and its change events, from the API server, for
//! opscope's collector.
//!
//! A [`KubeSource`] runs one kube-runtime `watcher` per kind (nodes, pods, services,
//! deployments, replicasets, core/v1 events) as a background tokio task, each feeding a
//! `reflector` store. A watch that drops is resumed from the last resourceVersion seen; one
//! answered `410 Gone` lists again; failures back off (`default_backoff`). Each engine cycle,
//! [`collector::source::Enricher::enrich`] reads the stores and merges them into the
//! observation (see [`merge`]): workloads, pods and nodes with `owns` and `runs_on` edges,
//! the last container termination reason and trouble waiting reasons per workload, and change
//! events: rollouts from the ReplicaSets' revisions, scaling, container restarts and Warning
//! events.
//!
//! # Configuration
//!
//! Like kubectl: `$KUBECONFIG` or `~/.kube/config` (its current context, or
//! [`KubeOptions::context`]), else the in-cluster service account
//! (`KUBERNETES_SERVICE_HOST`, `/var/run/secrets/kubernetes.io/serviceaccount`). An explicit
//! [`KubeOptions::url`] talks to that server without credentials (tests, `kubectl proxy`).
//!
//! # Permissions
//!
//! Read-only: get, list and watch on six kinds. With the default (all namespaces):
//!
//! ```yaml
//! apiVersion: rbac.authorization.k8s.io/v1
//! kind: ClusterRole
//! metadata:
//!   name: opscope-read
//! rules:
//!   - apiGroups: [""]
//!     resources: ["nodes", "pods", "services", "events"]
//!     verbs: ["get", "list", "watch"]
//!   - apiGroups: ["apps"]
//!     resources: ["deployments", "replicasets"]
//!     verbs: ["get", "list", "watch"]
//! ---
//! apiVersion: rbac.authorization.k8s.io/v1
//! kind: ClusterRoleBinding
//! metadata:
//!   name: opscope-read
//! roleRef:
//!   apiGroup: rbac.authorization.k8s.io
//!   kind: ClusterRole
//!   name: opscope-read
//! subjects:
//!   - kind: ServiceAccount
//!     name: opscope
//!     namespace: opscope
//! ```
//!
//! `README.md` beside this crate has the same snippet.

pub mod merge;

use collector::model::SourceStatus;
use collector::observe::Observation;
use collector::source::Enricher;
use futures_util::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Event, Node, Pod, Service};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client};
use merge::{Inventory, Memory};
use std::fmt::Debug;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

/// A watcher failure counts against freshness this long after it happened, unless the
/// watcher delivered something since (a resumed watch that sees no change says nothing).
const ERROR_MEMORY: Duration = Duration::from_secs(60);

/// Errors of [`KubeSource::connect`].
#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    #[error("invalid Kubernetes API URL {url:?}: {reason}")]
    Url { url: String, reason: String },
    #[error("no Kubernetes configuration found (kubeconfig or in-cluster): {0}")]
    Infer(String),
    #[error("reading the kubeconfig: {0}")]
    Kubeconfig(String),
    #[error("creating the Kubernetes client: {0}")]
    Client(String),
}

/// Where the Kubernetes API is and what to watch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KubeOptions {
    /// Talk to this API server directly, without credentials (tests, `kubectl proxy`).
    /// `None`: the kubeconfig, then the in-cluster service account, like kubectl.
    pub url: Option<String>,
    /// This kubeconfig file (`None`: `$KUBECONFIG`, else `~/.kube/config`).
    pub kubeconfig: Option<std::path::PathBuf>,
    /// The kubeconfig context (`None`: its current context).
    pub context: Option<String>,
    /// Watch namespaced kinds in this namespace only (`None`: all namespaces). Nodes are
    /// cluster-scoped and always watched.
    pub namespace: Option<String>,
}

/// The kinds watched, in the order of [`KubeSource::watch_stats`].
pub const KINDS: [&str; 6] = [
    "nodes",
    "pods",
    "services",
    "deployments",
    "replicasets",
    "events",
];

/// What one watcher has done so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WatchStats {
    /// The kind (plural, as in [`KINDS`]).
    pub kind: &'static str,
    /// The first full list arrived.
    pub ready: bool,
    /// Full lists started (1 after start-up; more after a `410 Gone` or an error before
    /// the first list).
    pub lists: u64,
    /// Objects received (listed or changed).
    pub objects: u64,
    /// Watcher errors so far.
    pub errors: u64,
    /// The last error, if it still counts against freshness.
    pub failing: Option<String>,
}

#[derive(Debug, Default)]
struct WatchHealth {
    stats: WatchStats,
    last_ok: Option<Instant>,
    last_error: Option<(Instant, String)>,
}

impl WatchHealth {
    fn failing(&self) -> Option<&str> {
        let (at, msg) = self.last_error.as_ref()?;
        let recovered = self.last_ok.is_some_and(|ok| ok > *at);
        (!recovered && at.elapsed() < ERROR_MEMORY).then_some(msg.as_str())
    }
}

type Health = Arc<Mutex<Vec<WatchHealth>>>;

fn lock(h: &Health) -> std::sync::MutexGuard<'_, Vec<WatchHealth>> {
    h.lock().unwrap_or_else(PoisonError::into_inner)
}

#[derive(Clone)]
struct Stores {
    nodes: Store<Node>,
    pods: Store<Pod>,
    services: Store<Service>,
    deployments: Store<Deployment>,
    replicasets: Store<ReplicaSet>,
    events: Store<Event>,
}

/// The Kubernetes source: background watchers and their stores. Dropping it stops the
/// watchers.
pub struct KubeSource {
    name: String,
    stores: Stores,
    health: Health,
    tasks: Vec<JoinHandle<()>>,
    memory: Memory,
    last_success_ms: Option<i64>,
    objects: usize,
}

impl Debug for KubeSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeSource")
            .field("name", &self.name)
            .field("objects", &self.objects)
            .finish_non_exhaustive()
    }
}

fn spawn_watch<K>(api: Api<K>, health: Health, idx: usize) -> (Store<K>, JoinHandle<()>)
where
    K: kube::Resource<DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + Debug
        + Send
        + Sync
        + 'static,
{
    let (reader, writer) = reflector::store();
    let stream = watcher(api, watcher::Config::default())
        .default_backoff()
        .reflect(writer);
    let task = tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        while let Some(item) = stream.next().await {
            let mut h = lock(&health);
            let Some(w) = h.get_mut(idx) else { continue };
            match item {
                Ok(ev) => {
                    w.last_ok = Some(Instant::now());
                    match ev {
                        watcher::Event::Init => w.stats.lists += 1,
                        watcher::Event::InitDone => w.stats.ready = true,
                        watcher::Event::InitApply(_)
                        | watcher::Event::Apply(_)
                        | watcher::Event::Delete(_) => w.stats.objects += 1,
                    }
                }
                Err(e) => {
                    let msg = format!("{}: {e}", KINDS[idx]);
                    tracing::debug!(error = %msg, "kubernetes watcher failed; retrying with back-off");
                    w.stats.errors += 1;
                    w.last_error = Some((Instant::now(), msg));
                }
            }
        }
    });
    (reader, task)
}

impl KubeSource {
    /// Builds the client from `opts` (explicit URL, else kubeconfig / in-cluster like kubectl)
    /// and starts the watchers. Does not wait for the first lists (see
    /// [`KubeSource::wait_ready`]). Must run inside a tokio runtime.
    pub async fn connect(opts: KubeOptions) -> Result<KubeSource, KubeError> {
        // kube's TLS uses rustls with ring; make it the process default once, in case another
        // crate brings a second provider.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let config = match (&opts.url, &opts.context) {
            (None, ctx) if opts.kubeconfig.is_some() => {
                let path = opts
                    .kubeconfig
                    .as_deref()
                    .unwrap_or(std::path::Path::new(""));
                let kc = kube::config::Kubeconfig::read_from(path)
                    .map_err(|e| KubeError::Kubeconfig(format!("{}: {e}", path.display())))?;
                kube::Config::from_custom_kubeconfig(
                    kc,
                    &kube::config::KubeConfigOptions {
                        context: ctx.clone(),
                        ..Default::default()
                    },
                )
                .await
                .map_err(|e| KubeError::Kubeconfig(e.to_string()))?
            }
            (Some(url), _) => {
                let uri = url.parse::<http::Uri>().map_err(|e| KubeError::Url {
                    url: url.clone(),
                    reason: e.to_string(),
                })?;
                kube::Config::new(uri)
            }
            (None, Some(ctx)) => kube::Config::from_kubeconfig(&kube::config::KubeConfigOptions {
                context: Some(ctx.clone()),
                ..Default::default()
            })
            .await
            .map_err(|e| KubeError::Kubeconfig(e.to_string()))?,
            (None, None) => kube::Config::infer()
                .await
                .map_err(|e| KubeError::Infer(e.to_string()))?,
        };
        let name = format!(
            "kube {}",
            config.cluster_url.to_string().trim_end_matches('/')
        );
        let client = Client::try_from(config).map_err(|e| KubeError::Client(e.to_string()))?;
        Ok(KubeSource::start(client, name, opts.namespace.as_deref()))
    }

    /// Starts the watchers on `client`; `name` is shown in source freshness.
    pub fn start(client: Client, name: String, namespace: Option<&str>) -> KubeSource {
        let health: Health = Arc::new(Mutex::new(
            KINDS
                .iter()
                .map(|k| WatchHealth {
                    stats: WatchStats {
                        kind: k,
                        ..Default::default()
                    },
                    ..Default::default()
                })
                .collect(),
        ));
        fn api<K>(client: &Client, ns: Option<&str>) -> Api<K>
        where
            K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
        {
            match ns {
                Some(ns) => Api::namespaced(client.clone(), ns),
                None => Api::all(client.clone()),
            }
        }
        let mut tasks = Vec::new();
        let (nodes, t) = spawn_watch(Api::<Node>::all(client.clone()), health.clone(), 0);
        tasks.push(t);
        let (pods, t) = spawn_watch(api::<Pod>(&client, namespace), health.clone(), 1);
        tasks.push(t);
        let (services, t) = spawn_watch(api::<Service>(&client, namespace), health.clone(), 2);
        tasks.push(t);
        let (deployments, t) =
            spawn_watch(api::<Deployment>(&client, namespace), health.clone(), 3);
        tasks.push(t);
        let (replicasets, t) =
            spawn_watch(api::<ReplicaSet>(&client, namespace), health.clone(), 4);
        tasks.push(t);
        let (events, t) = spawn_watch(api::<Event>(&client, namespace), health.clone(), 5);
        tasks.push(t);
        KubeSource {
            name,
            stores: Stores {
                nodes,
                pods,
                services,
                deployments,
                replicasets,
                events,
            },
            health,
            tasks,
            memory: Memory::default(),
            last_success_ms: None,
            objects: 0,
        }
    }

    /// Waits until every watcher has its first full list; false on timeout.
    pub async fn wait_ready(&self, timeout: Duration) -> bool {
        let s = self.stores.clone();
        let all = async move {
            s.nodes.wait_until_ready().await.is_ok()
                && s.pods.wait_until_ready().await.is_ok()
                && s.services.wait_until_ready().await.is_ok()
                && s.deployments.wait_until_ready().await.is_ok()
                && s.replicasets.wait_until_ready().await.is_ok()
                && s.events.wait_until_ready().await.is_ok()
        };
        tokio::time::timeout(timeout, all).await.unwrap_or(false)
    }

    /// What the stores hold now.
    pub fn inventory(&self) -> Inventory {
        Inventory {
            nodes: self.stores.nodes.state(),
            pods: self.stores.pods.state(),
            services: self.stores.services.state(),
            deployments: self.stores.deployments.state(),
            replicasets: self.stores.replicasets.state(),
            events: self.stores.events.state(),
        }
    }

    /// Per-watcher counters, in [`KINDS`] order.
    pub fn watch_stats(&self) -> Vec<WatchStats> {
        lock(&self.health)
            .iter()
            .map(|w| WatchStats {
                failing: w.failing().map(str::to_owned),
                ..w.stats.clone()
            })
            .collect()
    }

    /// Why the source is not fresh, in words (`None` when every watcher has listed and none
    /// is failing).
    fn trouble(&self) -> Option<String> {
        let h = lock(&self.health);
        if let Some(msg) = h.iter().find_map(WatchHealth::failing) {
            return Some(msg.to_owned());
        }
        h.iter()
            .find(|w| !w.stats.ready)
            .map(|w| format!("waiting for the first list of {}", w.stats.kind))
    }
}

impl Drop for KubeSource {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Enricher for KubeSource {
    fn enrich(&mut self, obs: &mut Observation, now_ms: i64) {
        let inv = self.inventory();
        self.objects = inv.len();
        merge::merge(&inv, &mut self.memory, obs, now_ms);
        if self.trouble().is_none() {
            self.last_success_ms = Some(now_ms);
        }
    }

    fn status(&self) -> SourceStatus {
        let trouble = self.trouble();
        SourceStatus {
            name: self.name.clone(),
            last_success_ms: self.last_success_ms,
            stale: trouble.is_some(),
            last_error: trouble,
            samples: self.objects,
            duration_ms: 0,
        }
    }
}
