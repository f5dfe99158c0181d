//! RabbitMQ through its management API (`/api/queues`, `/api/consumers`, `/api/connections`,
//! HTTP basic auth): per queue the same gauges as the prometheus plugin's per-object metrics
//! (ready, unacked, consumers), message counters the plugin's aggregated endpoint lacks
//! (published, delivered) and one series per consumer naming its client, so that `observe`
//! can draw `consumes` edges ([`crate::conventions::rabbitmq`]).

use super::nats::{get_json, json_client};
use super::{OwnedSample, PullFuture, PullSource, Samples};
use crate::conventions::rabbitmq as names;
use crate::exposition::MetricType;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// Why a management source cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum RabbitError {
    #[error("management URL {0:?} is not an http:// or https:// URL")]
    BadUrl(String),
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

/// Polls one RabbitMQ management API each cycle.
pub struct RabbitMgmtSource {
    /// Base URL without a trailing slash, e.g. `http://127.0.0.1:15672`.
    base: String,
    user: String,
    password: String,
    client: reqwest::Client,
}

impl std::fmt::Debug for RabbitMgmtSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The password never prints.
        f.debug_struct("RabbitMgmtSource")
            .field("base", &self.base)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl RabbitMgmtSource {
    /// A source for the management API at `url` (`http://host:15672`) with basic auth; each
    /// request times out after 10 s (the collector's own timeout applies too).
    pub fn new(url: &str, user: &str, password: &str) -> Result<Self, RabbitError> {
        Self::with_timeout(url, user, password, Duration::from_secs(10))
    }

    pub fn with_timeout(
        url: &str,
        user: &str,
        password: &str,
        timeout: Duration,
    ) -> Result<Self, RabbitError> {
        let base = url.trim_end_matches('/');
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(RabbitError::BadUrl(url.to_owned()));
        }
        let client = json_client(timeout).map_err(|e| RabbitError::Client(e.to_string()))?;
        Ok(Self {
            base: base.to_owned(),
            user: user.to_owned(),
            password: password.to_owned(),
            client,
        })
    }

    async fn get(&self, path: &str) -> Result<Value, String> {
        let url = format!("{}{path}", self.base);
        get_json(&self.client, &url, Some((&self.user, &self.password))).await
    }

    async fn collect(&self) -> Result<Samples, String> {
        let queues = self.get("/api/queues").await?;
        // Consumers and connections only name the consuming clients: without them the queue
        // figures still count.
        let consumers = self.get("/api/consumers").await.ok();
        let connections = self.get("/api/connections").await.ok();
        Ok(samples(&queues, consumers.as_ref(), connections.as_ref()))
    }
}

impl PullSource for RabbitMgmtSource {
    fn name(&self) -> &str {
        &self.base
    }

    fn pull(&self, _now_ms: i64) -> PullFuture<'_> {
        Box::pin(self.collect())
    }
}

fn push(s: &mut Samples, name: &str, kind: MetricType, labels: &[(&str, &str)], v: Option<f64>) {
    let Some(value) = v.filter(|v| v.is_finite()) else {
        return;
    };
    s.family(name, kind).samples.push(OwnedSample {
        name: name.to_owned(),
        labels: labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        value,
        ts_ms: None,
    });
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter()
        .try_fold(v, |v, k| v.get(*k))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// The samples of one poll: the `/api/queues` array, and the `/api/consumers` and
/// `/api/connections` arrays when they answered.
pub fn samples(queues: &Value, consumers: Option<&Value>, connections: Option<&Value>) -> Samples {
    let mut s = Samples::default();
    for q in queues.as_array().into_iter().flatten() {
        let Some(name) = str_at(q, &["name"]) else {
            continue;
        };
        let vhost = str_at(q, &["vhost"]).unwrap_or("/");
        let l = [(names::VHOST, vhost), (names::QUEUE, name)];
        let n = |k: &str| q.get(k).and_then(Value::as_f64);
        push(
            &mut s,
            names::READY,
            MetricType::Gauge,
            &l,
            n("messages_ready"),
        );
        push(
            &mut s,
            names::UNACKED,
            MetricType::Gauge,
            &l,
            n("messages_unacknowledged"),
        );
        push(
            &mut s,
            names::CONSUMERS,
            MetricType::Gauge,
            &l,
            n("consumers"),
        );
        let stats = q.get("message_stats").unwrap_or(&Value::Null);
        let stat = |k: &str| stats.get(k).and_then(Value::as_f64).or(Some(0.0));
        push(
            &mut s,
            names::PUBLISHED,
            MetricType::Counter,
            &l,
            stat("publish"),
        );
        push(
            &mut s,
            names::DELIVERED,
            MetricType::Counter,
            &l,
            stat("deliver_get"),
        );
    }
    // Connection name -> the client's own name for itself.
    let mut client_names: BTreeMap<&str, &str> = BTreeMap::new();
    for c in connections.and_then(Value::as_array).into_iter().flatten() {
        let given = str_at(c, &["user_provided_name"])
            .or_else(|| str_at(c, &["client_properties", "connection_name"]));
        if let (Some(n), Some(g)) = (str_at(c, &["name"]), given) {
            client_names.insert(n, g);
        }
    }
    for c in consumers.and_then(Value::as_array).into_iter().flatten() {
        let Some(queue) = str_at(c, &["queue", "name"]) else {
            continue;
        };
        let vhost = str_at(c, &["queue", "vhost"]).unwrap_or("/");
        let conn = str_at(c, &["channel_details", "connection_name"]);
        let client = conn
            .and_then(|n| client_names.get(n).copied())
            .or_else(|| str_at(c, &["channel_details", "peer_host"]))
            .or(conn)
            .unwrap_or("unknown");
        let l = [
            (names::VHOST, vhost),
            (names::QUEUE, queue),
            (names::CONSUMER, client),
        ];
        push(
            &mut s,
            names::CONSUMER_INFO,
            MetricType::Gauge,
            &l,
            Some(1.0),
        );
    }
    // Several consumers of one client on one queue are one series.
    if let Some(f) = s
        .families
        .iter_mut()
        .find(|f| f.name == names::CONSUMER_INFO)
    {
        f.samples.sort_by(|a, b| a.labels.cmp(&b.labels));
        f.samples.dedup_by(|a, b| a.labels == b.labels);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queues_consumers_and_client_names() {
        let queues = serde_json::json!([
            {"name": "orders", "vhost": "/", "messages_ready": 40, "messages_unacknowledged": 3,
             "consumers": 1, "message_stats": {"publish": 100, "deliver_get": 57}},
            {"name": "idle", "vhost": "/", "messages_ready": 0, "messages_unacknowledged": 0,
             "consumers": 0}
        ]);
        let consumers = serde_json::json!([
            {"queue": {"name": "orders", "vhost": "/"},
             "channel_details": {"connection_name": "127.0.0.1:50000 -> 127.0.0.1:5672",
                                 "peer_host": "127.0.0.1"}},
            {"queue": {"name": "orders", "vhost": "/"},
             "channel_details": {"connection_name": "127.0.0.1:50000 -> 127.0.0.1:5672",
                                 "peer_host": "127.0.0.1"}}
        ]);
        let conns = serde_json::json!([
            {"name": "127.0.0.1:50000 -> 127.0.0.1:5672", "user_provided_name": "orders-worker"}
        ]);
        let s = samples(&queues, Some(&consumers), Some(&conns));
        let fam = |n: &str| s.families.iter().find(|f| f.name == n).unwrap();
        assert_eq!(fam(names::READY).samples[0].value, 40.0);
        assert_eq!(fam(names::UNACKED).samples[0].value, 3.0);
        assert_eq!(fam(names::DELIVERED).samples[0].value, 57.0);
        // A queue without message_stats has published nothing yet.
        assert_eq!(fam(names::PUBLISHED).samples[1].value, 0.0);
        let info = fam(names::CONSUMER_INFO);
        assert_eq!(info.samples.len(), 1);
        assert!(
            info.samples[0]
                .labels
                .contains(&(names::CONSUMER.into(), "orders-worker".into()))
        );
    }

    #[test]
    fn password_does_not_print() {
        let s = RabbitMgmtSource::new("http://127.0.0.1:15672", "guest", "s3cret").unwrap();
        assert!(!format!("{s:?}").contains("s3cret"));
        assert!(RabbitMgmtSource::new("localhost:15672", "g", "g").is_err());
    }
}
