//! NATS and JetStream through the server's HTTP monitoring endpoints (`nats-server -m PORT`):
//! `/varz` (server totals), `/connz` (connections) and `/jsz?streams=true&consumers=true`
//! (streams and their consumers), turned into samples named like prometheus-nats-exporter's
//! families ([`crate::conventions::nats`]); `observe` makes the server, streams and
//! consumers of them.

use super::{OwnedSample, PullFuture, PullSource, Samples};
use crate::conventions::nats as names;
use crate::exposition::MetricType;
use serde_json::Value;
use std::time::Duration;

/// Why a NATS source cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum NatsError {
    #[error("monitoring URL {0:?} is not an http:// or https:// URL")]
    BadUrl(String),
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

/// Polls one NATS server's monitoring endpoints each cycle.
#[derive(Debug)]
pub struct NatsSource {
    /// Base URL without a trailing slash, e.g. `http://127.0.0.1:8222`.
    base: String,
    client: reqwest::Client,
}

impl NatsSource {
    /// A source for the monitoring port at `url` (`http://host:8222`); each request is bounded
    /// by `timeout`.
    pub fn new(url: &str, timeout: Duration) -> Result<Self, NatsError> {
        let base = url.trim_end_matches('/');
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(NatsError::BadUrl(url.to_owned()));
        }
        let client = json_client(timeout).map_err(|e| NatsError::Client(e.to_string()))?;
        Ok(Self {
            base: base.to_owned(),
            client,
        })
    }

    async fn get(&self, path: &str) -> Result<Value, String> {
        get_json(&self.client, &format!("{}{path}", self.base), None).await
    }

    async fn collect(&self) -> Result<Samples, String> {
        let varz = self.get("/varz").await?;
        // `/connz` and `/jsz` are optional: a server without JetStream answers `/jsz` with an
        // error object, which simply yields no streams.
        let connz = self.get("/connz?limit=1").await.ok();
        let jsz = self
            .get("/jsz?accounts=true&streams=true&consumers=true")
            .await
            .ok();
        Ok(samples(&varz, connz.as_ref(), jsz.as_ref()))
    }
}

impl PullSource for NatsSource {
    fn name(&self) -> &str {
        &self.base
    }

    fn pull(&self, _now_ms: i64) -> PullFuture<'_> {
        Box::pin(self.collect())
    }
}

/// The HTTP client of the JSON monitoring APIs (NATS, RabbitMQ management): every request
/// bounded by `timeout`.
pub(crate) fn json_client(timeout: Duration) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(timeout)
        .user_agent(concat!("opscope/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// GET `url` and parse the body as JSON, with errors in the operator's words.
pub(crate) async fn get_json(
    client: &reqwest::Client,
    url: &str,
    auth: Option<(&str, &str)>,
) -> Result<Value, String> {
    let mut req = client.get(url);
    if let Some((user, password)) = auth {
        req = req.basic_auth(user, Some(password));
    }
    let resp = req
        .send()
        .await
        .map_err(|e| format!("cannot reach {url}: {e}"))?;
    let status = resp.status();
    if !status.is_success() {
        return Err(format!("{url}: HTTP status {}", status.as_u16()));
    }
    let body = resp
        .text()
        .await
        .map_err(|e| format!("{url}: reading the body: {e}"))?;
    serde_json::from_str(&body).map_err(|e| format!("{url}: not JSON: {e}"))
}

fn num(v: &Value, key: &str) -> Option<f64> {
    v.get(key).and_then(Value::as_f64)
}

fn push(
    s: &mut Samples,
    name: &str,
    kind: MetricType,
    labels: &[(&str, &str)],
    value: Option<f64>,
) {
    let Some(value) = value.filter(|v| v.is_finite()) else {
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

/// The samples of one poll: `/varz`, and `/connz` and `/jsz` when they answered.
pub fn samples(varz: &Value, connz: Option<&Value>, jsz: Option<&Value>) -> Samples {
    let mut s = Samples::default();
    let server = varz
        .get("server_name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .or_else(|| varz.get("server_id").and_then(Value::as_str))
        .unwrap_or("nats");
    let sl = [(names::SERVER, server)];
    push(
        &mut s,
        names::CONNECTIONS,
        MetricType::Gauge,
        &sl,
        num(varz, "connections"),
    );
    push(
        &mut s,
        names::IN_MSGS,
        MetricType::Counter,
        &sl,
        num(varz, "in_msgs"),
    );
    push(
        &mut s,
        names::OUT_MSGS,
        MetricType::Counter,
        &sl,
        num(varz, "out_msgs"),
    );
    push(
        &mut s,
        names::SLOW_CONSUMERS,
        MetricType::Gauge,
        &sl,
        num(varz, "slow_consumers"),
    );
    if let Some(c) = connz {
        push(
            &mut s,
            names::CONNZ_CONNECTIONS,
            MetricType::Gauge,
            &sl,
            num(c, "num_connections"),
        );
    }
    let accounts = jsz
        .and_then(|j| j.get("account_details"))
        .and_then(Value::as_array);
    for acc in accounts.into_iter().flatten() {
        let streams = acc.get("stream_detail").and_then(Value::as_array);
        for st in streams.into_iter().flatten() {
            let Some(name) = st.get("name").and_then(Value::as_str) else {
                continue;
            };
            let l = [(names::SERVER, server), (names::STREAM, name)];
            let state = st.get("state").unwrap_or(&Value::Null);
            push(
                &mut s,
                names::STREAM_MESSAGES,
                MetricType::Gauge,
                &l,
                num(state, "messages"),
            );
            push(
                &mut s,
                names::STREAM_LAST_SEQ,
                MetricType::Counter,
                &l,
                num(state, "last_seq"),
            );
            push(
                &mut s,
                names::STREAM_CONSUMERS,
                MetricType::Gauge,
                &l,
                num(state, "consumer_count"),
            );
            let consumers = st.get("consumer_detail").and_then(Value::as_array);
            for c in consumers.into_iter().flatten() {
                let Some(cname) = c.get("name").and_then(Value::as_str) else {
                    continue;
                };
                let l = [
                    (names::SERVER, server),
                    (names::STREAM, name),
                    (names::CONSUMER, cname),
                ];
                push(
                    &mut s,
                    names::CONSUMER_PENDING,
                    MetricType::Gauge,
                    &l,
                    num(c, "num_pending"),
                );
                push(
                    &mut s,
                    names::CONSUMER_ACK_PENDING,
                    MetricType::Gauge,
                    &l,
                    num(c, "num_ack_pending"),
                );
                let delivered = c.get("delivered").and_then(|d| num(d, "stream_seq"));
                push(
                    &mut s,
                    names::CONSUMER_DELIVERED,
                    MetricType::Counter,
                    &l,
                    delivered,
                );
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_varz_and_jsz_give_server_samples() {
        let read = |f: &str| -> Value {
            let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../shared/data/exposition")
                .join(f);
            let text = std::fs::read_to_string(&p)
                .unwrap_or_else(|e| panic!("recorded NATS output {}: {e}", p.display()));
            serde_json::from_str(&text).unwrap()
        };
        let (varz, jsz) = (read("nats-2.9-varz.json"), read("nats-2.9-jsz.json"));
        let s = samples(&varz, None, Some(&jsz));
        let names: Vec<&str> = s.families.iter().map(|f| f.name.as_str()).collect();
        assert!(names.contains(&names::CONNECTIONS), "{names:?}");
        assert!(names.contains(&names::IN_MSGS), "{names:?}");
    }

    #[test]
    fn streams_and_consumers_become_labelled_samples() {
        let varz = serde_json::json!({"server_name": "n1", "connections": 3, "in_msgs": 10, "out_msgs": 4});
        let jsz = serde_json::json!({"account_details": [{"name": "$G", "stream_detail": [{
            "name": "ORDERS",
            "state": {"messages": 12, "last_seq": 12, "consumer_count": 1},
            "consumer_detail": [{"name": "worker", "num_pending": 7, "num_ack_pending": 2,
                                  "delivered": {"consumer_seq": 5, "stream_seq": 5}}]
        }]}]});
        let s = samples(&varz, None, Some(&jsz));
        let get = |n: &str| {
            s.families
                .iter()
                .find(|f| f.name == n)
                .map(|f| (f.samples[0].value, f.samples[0].labels.clone()))
        };
        let (v, labels) = get(names::CONSUMER_PENDING).unwrap();
        assert_eq!(v, 7.0);
        assert!(labels.contains(&(names::CONSUMER.into(), "worker".into())));
        assert!(labels.contains(&(names::STREAM.into(), "ORDERS".into())));
        assert_eq!(get(names::CONSUMER_ACK_PENDING).unwrap().0, 2.0);
        assert_eq!(get(names::STREAM_LAST_SEQ).unwrap().0, 12.0);
        assert_eq!(get(names::CONNECTIONS).unwrap().0, 3.0);
    }

    #[test]
    fn bad_urls_are_refused() {
        assert!(NatsSource::new("127.0.0.1:8222", Duration::from_secs(1)).is_err());
        assert!(NatsSource::new("http://127.0.0.1:8222/", Duration::from_secs(1)).is_ok());
    }
}
