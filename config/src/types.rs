//! The schema of the configuration file. Every type deserializes on its own (the checker reads
//! the file field by field with these same implementations), so a value that is wrong in itself
//! (a bad duration, a target outside (0, 1), a bad glob) is refused where it is read.

use crate::glob::Glob;
use crate::secret::{Secret, SecretError, SecretSource};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

pub use opscope_model::{BurnSeverity, Op, RuleSeverity as Severity};

/// The whole configuration. `Default` is what opscope runs with when no file exists.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where metrics come from and how often.
    pub sources: Sources,
    /// Resource limits of the collector.
    pub limits: Limits,
    /// Service-level objectives (`[[slo]]`).
    #[serde(rename = "slo")]
    pub slos: Vec<Slo>,
    /// Static-threshold rules (`[[rule]]`).
    #[serde(rename = "rule")]
    pub rules: Vec<Rule>,
    /// Where alerts and incidents are sent (`[[notifier]]`).
    #[serde(rename = "notifier")]
    pub notifiers: Vec<Notifier>,
    /// The HTTP API of `opscope run` (`[api]`).
    pub api: Api,
}

/// `[sources]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Sources {
    /// Prometheus exposition endpoints scraped directly.
    pub scrape: Vec<String>,
    /// A Prometheus server queried over its HTTP API.
    pub prometheus: Option<String>,
    /// NATS monitoring endpoints (`http://host:8222`).
    pub nats: Vec<String>,
    /// RabbitMQ management APIs (`http://host:15672`).
    pub rabbitmq_api: Vec<String>,
    /// Kubernetes API access (discovery).
    pub kube: Kube,
    /// A Kubernetes API server reached without credentials (`kubectl proxy`, the simulator).
    pub kube_url: Option<String>,
    /// The built-in simulated cluster.
    pub sim: Option<Sim>,
    /// Time between collections.
    pub interval: HumanDuration,
    /// Per-target collection timeout (as Prometheus' `scrape_timeout`, 10 s by default); a
    /// collection is also cut at 80% of the interval.
    pub timeout: HumanDuration,
    /// How long collected samples are kept.
    pub retention: HumanDuration,
}

impl Default for Sources {
    fn default() -> Self {
        Self {
            scrape: Vec::new(),
            prometheus: None,
            nats: Vec::new(),
            rabbitmq_api: Vec::new(),
            kube: Kube::Disabled,
            kube_url: None,
            sim: None,
            interval: HumanDuration::from_secs(15),
            timeout: HumanDuration::from_secs(10),
            retention: HumanDuration::from_secs(2 * 3600),
        }
    }
}

/// The simulated cluster as a source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sim {
    /// Fault scenario name (see `opscope sim --list-scenarios`).
    pub scenario: String,
    /// Seed of the simulation.
    #[serde(default = "default_seed")]
    pub seed: u64,
}

fn default_seed() -> u64 {
    1
}

/// `kube = false | true | "/path/to/kubeconfig" | { kubeconfig = "...", context = "..." }`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Kube {
    /// No Kubernetes API access.
    #[default]
    Disabled,
    /// In-cluster service account, else the default kubeconfig and context.
    Default,
    /// An explicit kubeconfig and/or context.
    Explicit {
        kubeconfig: Option<PathBuf>,
        context: Option<String>,
    },
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KubeTable {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kubeconfig: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    context: Option<String>,
}

impl Serialize for Kube {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Kube::Disabled => s.serialize_bool(false),
            Kube::Default => s.serialize_bool(true),
            Kube::Explicit {
                kubeconfig,
                context,
            } => KubeTable {
                kubeconfig: kubeconfig.clone(),
                context: context.clone(),
            }
            .serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Kube {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Kube;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "true, false, a kubeconfig path or { kubeconfig = \"...\", context = \"...\" }",
                )
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Kube, E> {
                Ok(if v { Kube::Default } else { Kube::Disabled })
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Kube, E> {
                if v.trim().is_empty() {
                    return Err(E::custom("the kubeconfig path is empty"));
                }
                Ok(Kube::Explicit {
                    kubeconfig: Some(PathBuf::from(v)),
                    context: None,
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Kube, A::Error> {
                let t = KubeTable::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(Kube::Explicit {
                    kubeconfig: t.kubeconfig,
                    context: t.context,
                })
            }
        }
        d.deserialize_any(V)
    }
}

/// `[limits]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Samples accepted from one target per collection; more is an error for that target.
    pub samples_per_target: u64,
    /// Series kept in memory over all targets.
    pub max_series: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            samples_per_target: 500_000,
            max_series: 200_000,
        }
    }
}

/// `[api]`: where `opscope run` serves its HTTP API and the bearer token that protects
/// `POST /api/v1/annotations`. At most one of `token`, `token_env`, `token_file`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Api {
    /// Listen address; a non-loopback address needs a token.
    pub listen: std::net::SocketAddr,
    /// The token, literally in the file (a secret: never printed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<Secret>,
    /// Environment variable holding the token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_env: Option<String>,
    /// File holding the token (surrounding whitespace is trimmed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_file: Option<PathBuf>,
}

/// Shortest API token accepted.
pub const MIN_TOKEN_CHARS: usize = 16;

impl Default for Api {
    fn default() -> Self {
        Self {
            listen: std::net::SocketAddr::from(([127, 0, 0, 1], 8080)),
            token: None,
            token_env: None,
            token_file: None,
        }
    }
}

impl Api {
    /// Where the token comes from: `None` when none is configured, an error when more than
    /// one of the three keys is set.
    pub fn token_source(&self) -> Result<Option<SecretSource>, SecretError> {
        match (&self.token, &self.token_env, &self.token_file) {
            (None, None, None) => Ok(None),
            (Some(s), None, None) => Ok(Some(SecretSource::Literal(s.clone()))),
            (None, Some(v), None) => Ok(Some(SecretSource::Env(v.clone()))),
            (None, None, Some(p)) => Ok(Some(SecretSource::File(p.clone()))),
            _ => Err(SecretError::Ambiguous),
        }
    }
}

/// A duration written the human way ("15s", "2m", "30d").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct HumanDuration(pub Duration);

impl HumanDuration {
    /// `secs` seconds.
    pub const fn from_secs(secs: u64) -> Self {
        Self(Duration::from_secs(secs))
    }
    /// Milliseconds, saturating at `i64::MAX`.
    pub fn as_millis_i64(self) -> i64 {
        i64::try_from(self.0.as_millis()).unwrap_or(i64::MAX)
    }
}

/// Parse "15s", "2m", "1h30m", "30d"; negative durations are refused with a clear message.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    if t.starts_with('-') {
        return Err(format!(
            "invalid duration \"{s}\": durations cannot be negative"
        ));
    }
    humantime::parse_duration(t).map_err(|e| {
        format!(
            "invalid duration \"{s}\" ({e}); write e.g. \"500ms\", \"15s\", \"2m\", \"1h\", \"30d\""
        )
    })
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

impl Serialize for HumanDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = HumanDuration;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration string like \"15s\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<HumanDuration, E> {
                parse_duration(v).map(HumanDuration).map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

/// A target ratio strictly between 0 and 1 (0.999 = 99.9 %).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize)]
#[serde(transparent)]
pub struct Target(f64);

impl Target {
    /// A target; `None` unless `0 < v < 1`.
    pub fn new(v: f64) -> Option<Self> {
        (v > 0.0 && v < 1.0).then_some(Self(v))
    }
    /// The ratio.
    pub fn get(self) -> f64 {
        self.0
    }
}

impl<'de> Deserialize<'de> for Target {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = f64::deserialize(d)?;
        Target::new(v).ok_or_else(|| {
            de::Error::custom(format!(
                "target {v} is outside (0, 1); write e.g. 0.999 for 99.9%"
            ))
        })
    }
}

/// One service-level objective (`[[slo]]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slo {
    /// Workload name as the mesh reports it.
    pub service: String,
    /// Namespace; any namespace when absent.
    #[serde(default)]
    pub namespace: Option<String>,
    /// Target ratio of requests not answered 5xx.
    #[serde(default)]
    pub availability: Option<Target>,
    /// Target ratio of requests faster than a threshold.
    #[serde(default)]
    pub latency: Option<LatencyObjective>,
    /// The SLO period the error budget is computed over.
    #[serde(default = "default_period")]
    pub period: HumanDuration,
    /// Multiwindow burn-rate alert pairs.
    #[serde(default = "default_burn_rates")]
    pub burn_rates: Vec<BurnRate>,
}

fn default_period() -> HumanDuration {
    HumanDuration::from_secs(30 * 86_400)
}

/// The SRE workbook's multiwindow, multi-burn-rate pairs: page 14.4x (1h AND 5m), page 6x
/// (6h AND 30m), ticket 3x (1d AND 2h), ticket 1x (3d AND 6h).
pub fn default_burn_rates() -> Vec<BurnRate> {
    const H: u64 = 3600;
    let pair = |severity, factor, long, short| BurnRate {
        severity,
        factor,
        long: HumanDuration::from_secs(long),
        short: HumanDuration::from_secs(short),
    };
    vec![
        pair(BurnSeverity::Page, 14.4, H, 5 * 60),
        pair(BurnSeverity::Page, 6.0, 6 * H, 30 * 60),
        pair(BurnSeverity::Ticket, 3.0, 24 * H, 2 * H),
        pair(BurnSeverity::Ticket, 1.0, 72 * H, 6 * H),
    ]
}

/// `latency = { threshold = "300ms", target = 0.99 }`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencyObjective {
    /// A request slower than this is bad.
    pub threshold: HumanDuration,
    /// Target ratio of requests at or below the threshold.
    pub target: Target,
}

/// One burn-rate alert pair: fires when the burn rate over both windows exceeds `factor`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BurnRate {
    pub severity: BurnSeverity,
    /// Burn-rate factor (1 = spending the budget exactly over the period).
    pub factor: f64,
    /// Long window.
    pub long: HumanDuration,
    /// Short window (confirms the burn is still happening).
    pub short: HumanDuration,
}

/// Signals a rule can watch; the names of the collector's `SignalKind` (snake case), with the
/// short aliases `cpu`, `memory`, `node_cpu` and `node_memory`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalName {
    RequestRate,
    ErrorRatio,
    LatencyP99,
    CallerLatencyP99,
    #[serde(alias = "cpu")]
    CpuCores,
    CpuThrottled,
    #[serde(alias = "memory")]
    MemoryBytes,
    Restarts,
    ReplicasUnavailable,
    ContainersWaiting,
    ConsumerLag,
    QueueDepth,
    #[serde(alias = "node_cpu")]
    NodeCpuBusy,
    #[serde(alias = "node_memory")]
    NodeMemAvailable,
    MessagesUnacked,
    Consumers,
    PublishRate,
    DeliverRate,
    UnderReplicatedPartitions,
    Connections,
    OpsRate,
    TransactionRate,
    ReplicationLag,
    ServiceDown,
}

impl SignalName {
    /// Every signal name.
    pub const ALL: [SignalName; 24] = [
        SignalName::RequestRate,
        SignalName::ErrorRatio,
        SignalName::LatencyP99,
        SignalName::CallerLatencyP99,
        SignalName::CpuCores,
        SignalName::CpuThrottled,
        SignalName::MemoryBytes,
        SignalName::Restarts,
        SignalName::ReplicasUnavailable,
        SignalName::ContainersWaiting,
        SignalName::ConsumerLag,
        SignalName::QueueDepth,
        SignalName::NodeCpuBusy,
        SignalName::NodeMemAvailable,
        SignalName::MessagesUnacked,
        SignalName::Consumers,
        SignalName::PublishRate,
        SignalName::DeliverRate,
        SignalName::UnderReplicatedPartitions,
        SignalName::Connections,
        SignalName::OpsRate,
        SignalName::TransactionRate,
        SignalName::ReplicationLag,
        SignalName::ServiceDown,
    ];

    /// The unit a threshold with a unit suffix must be written in for this signal.
    pub fn unit_class(self) -> UnitClass {
        match self {
            SignalName::LatencyP99 | SignalName::CallerLatencyP99 => UnitClass::Time,
            SignalName::MemoryBytes | SignalName::NodeMemAvailable => UnitClass::Bytes,
            SignalName::ErrorRatio | SignalName::NodeCpuBusy | SignalName::CpuThrottled => {
                UnitClass::Percent
            }
            _ => UnitClass::Plain,
        }
    }
}

/// The kind of unit a threshold was written with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitClass {
    /// A bare number.
    Plain,
    /// "300ms", "1.5s" (stored as milliseconds).
    Time,
    /// "512MiB", "2GB" (stored as bytes).
    Bytes,
    /// "5%" (stored as a ratio, 0.05).
    Percent,
}

/// A rule threshold: a number, or a string with a unit ("300ms", "512MiB", "5%"), stored in
/// the signal's base unit (milliseconds, bytes, ratio).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Threshold {
    /// Value in the base unit.
    pub value: f64,
    /// The unit it was written with (`Plain` for a bare number).
    pub unit: UnitClass,
}

/// Parse a threshold string with a unit.
pub fn parse_threshold(s: &str) -> Result<Threshold, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E')))
        .unwrap_or(t.len());
    // "1e3" has an 'e' that belongs to the number; a unit never starts with 'e'.
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().map_err(|_| {
        format!(
            "invalid threshold \"{s}\": expected a number with an optional unit (ms, s, MiB, %)"
        )
    })?;
    if !n.is_finite() {
        return Err(format!("invalid threshold \"{s}\": not a finite number"));
    }
    let (mult, class) = match unit.trim() {
        "" => (1.0, UnitClass::Plain),
        "us" | "µs" => (0.001, UnitClass::Time),
        "ms" => (1.0, UnitClass::Time),
        "s" => (1000.0, UnitClass::Time),
        "m" | "min" => (60_000.0, UnitClass::Time),
        "B" => (1.0, UnitClass::Bytes),
        "KB" | "kB" => (1e3, UnitClass::Bytes),
        "MB" => (1e6, UnitClass::Bytes),
        "GB" => (1e9, UnitClass::Bytes),
        "TB" => (1e12, UnitClass::Bytes),
        "KiB" => (1024.0, UnitClass::Bytes),
        "MiB" => (1024.0 * 1024.0, UnitClass::Bytes),
        "GiB" => (1024.0 * 1024.0 * 1024.0, UnitClass::Bytes),
        "TiB" => (1024.0f64.powi(4), UnitClass::Bytes),
        "%" => (0.01, UnitClass::Percent),
        other => {
            return Err(format!(
                "invalid threshold \"{s}\": unknown unit \"{other}\" (known: us, ms, s, m, B, KB, MB, GB, TB, KiB, MiB, GiB, TiB, %)"
            ));
        }
    };
    Ok(Threshold {
        value: n * mult,
        unit: class,
    })
}

impl<'de> Deserialize<'de> for Threshold {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Threshold;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number or a string with a unit like \"300ms\", \"512MiB\", \"5%\"")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Threshold, E> {
                Ok(Threshold {
                    value: v as f64,
                    unit: UnitClass::Plain,
                })
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Threshold, E> {
                Ok(Threshold {
                    value: v as f64,
                    unit: UnitClass::Plain,
                })
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Threshold, E> {
                if !v.is_finite() {
                    return Err(E::custom("threshold must be a finite number"));
                }
                Ok(Threshold {
                    value: v,
                    unit: UnitClass::Plain,
                })
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Threshold, E> {
                parse_threshold(v).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// Entity kinds a selector can restrict to (the collector's `EntityKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKindName {
    Workload,
    Pod,
    Node,
    Topic,
    Queue,
    Broker,
    Datastore,
    ConsumerGroup,
}

/// Which entities a rule applies to: `entity = "checkout*"` or
/// `entity = { name = "checkout*", namespace = "shop", kind = "workload" }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntitySelector {
    /// Exact name or glob (`*`, `?`, `[a-z]`).
    pub name: Glob,
    /// Namespace (exact or glob); any when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<Glob>,
    /// Entity kind; any when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<EntityKindName>,
}

impl EntitySelector {
    /// Whether an entity with these parts is selected.
    pub fn matches(&self, kind: EntityKindName, namespace: &str, name: &str) -> bool {
        self.kind.is_none_or(|k| k == kind)
            && self.namespace.as_ref().is_none_or(|g| g.matches(namespace))
            && self.name.matches(name)
    }
}

/// Deserialize a selector from a bare glob string or a table.
fn entity_selector<'de, D: Deserializer<'de>>(d: D) -> Result<EntitySelector, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = EntitySelector;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str(
                "a name or glob, or { name = \"...\", namespace = \"...\", kind = \"...\" }",
            )
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<EntitySelector, E> {
            Ok(EntitySelector {
                name: Glob::new(v).map_err(E::custom)?,
                namespace: None,
                kind: None,
            })
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<EntitySelector, A::Error> {
            EntitySelector::deserialize(de::value::MapAccessDeserializer::new(map))
        }
    }
    d.deserialize_any(V)
}

/// Wrapper so the checker can read a selector field by field like any other value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SelectorField(pub EntitySelector);

impl<'de> Deserialize<'de> for SelectorField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        entity_selector(d).map(SelectorField)
    }
}

/// A static-threshold rule (`[[rule]]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Unique name.
    pub name: String,
    /// The signal watched.
    pub signal: SignalName,
    /// The entities watched.
    #[serde(deserialize_with = "entity_selector")]
    pub entity: EntitySelector,
    /// Comparison, `value <op> threshold`.
    pub op: Op,
    /// Threshold in the signal's base unit.
    pub threshold: Threshold,
    /// How long the condition must hold before the alert fires (0 = at once).
    #[serde(rename = "for", default)]
    pub for_: HumanDuration,
    /// Severity of the alert.
    #[serde(default)]
    pub severity: Severity,
    /// Extra labels attached to the alert.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// One-line description for people.
    #[serde(default)]
    pub summary: Option<String>,
}

/// Where notifications go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifierKind {
    Slack,
    Teams,
    Webhook,
    Pagerduty,
}

/// A notification channel (`[[notifier]]`). Exactly one of `url`, `url_env`, `url_file`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notifier {
    pub kind: NotifierKind,
    /// Optional name to refer to this notifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The URL, literally in the file (a secret: never printed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<Secret>,
    /// Environment variable holding the URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_env: Option<String>,
    /// File holding the URL (trailing whitespace is trimmed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_file: Option<PathBuf>,
}

impl Notifier {
    /// Where the URL comes from; `None` unless exactly one of the three is set.
    pub fn url_source(&self) -> Option<SecretSource> {
        match (&self.url, &self.url_env, &self.url_file) {
            (Some(s), None, None) => Some(SecretSource::Literal(s.clone())),
            (None, Some(v), None) => Some(SecretSource::Env(v.clone())),
            (None, None, Some(p)) => Some(SecretSource::File(p.clone())),
            _ => None,
        }
    }

    /// The URL, read from wherever it is configured (the process environment for `url_env`).
    pub fn resolve_url(&self) -> Result<Secret, SecretError> {
        self.url_source()
            .ok_or(SecretError::Ambiguous)?
            .resolve(&|k| std::env::var(k).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_with_units() {
        let t = parse_threshold("300ms").unwrap();
        assert_eq!((t.value, t.unit), (300.0, UnitClass::Time));
        assert_eq!(parse_threshold("1.5s").unwrap().value, 1500.0);
        assert_eq!(parse_threshold("512MiB").unwrap().value, 512.0 * 1048576.0);
        assert!((parse_threshold("5%").unwrap().value - 0.05).abs() < 1e-12);
        assert_eq!(parse_threshold("1e3").unwrap().value, 1000.0);
        assert!(parse_threshold("12 parsecs").is_err());
        assert!(parse_threshold("ms").is_err());
    }

    #[test]
    fn durations_refuse_negative() {
        assert!(parse_duration("-2m").unwrap_err().contains("negative"));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert!(parse_duration("2 fortnights").is_err());
    }

    #[test]
    fn op_is_false_on_nan() {
        for op in [Op::Gt, Op::Ge, Op::Lt, Op::Le] {
            assert!(!op.holds(f64::NAN, 1.0));
        }
        assert!(Op::Ge.holds(1.0, 1.0) && !Op::Gt.holds(1.0, 1.0));
    }

    #[test]
    fn targets_are_open_interval() {
        assert!(Target::new(0.0).is_none());
        assert!(Target::new(1.0).is_none());
        assert!(Target::new(0.999).is_some());
    }
}
