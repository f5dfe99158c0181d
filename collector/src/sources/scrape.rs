//! HTTP scraping of Prometheus/OpenMetrics endpoints, with a timeout per target so a dead or
//! slow target never stalls a collection cycle.

use std::time::{Duration, Instant};

/// Largest body accepted from one target; a bigger one is an error, not an out-of-memory.
pub const MAX_BODY_BYTES: usize = 64 << 20;

/// Why a scrape failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScrapeError {
    #[error("timed out after {0} ms")]
    Timeout(u64),
    #[error("HTTP status {0}")]
    Status(u16),
    #[error("cannot reach target: {0}")]
    Connect(String),
    #[error("response larger than {MAX_BODY_BYTES} bytes")]
    TooLarge,
    #[error("response is not UTF-8 text")]
    NotText,
    #[error("invalid target URL {0:?}")]
    BadUrl(String),
}

/// One endpoint to scrape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub url: String,
    pub timeout: Duration,
}

/// The labels a direct scrape adds to every sample of `url` that lacks them, as Prometheus
/// adds its target labels with `honor_labels: true` (a label the exporter sets wins):
/// - `instance`: the target's `host:port`, with the scheme's default port when the URL names
///   none (`http://node-a/metrics` is `node-a:80`); an IPv6 host keeps its brackets.
/// - `job`: there is no scrape configuration to name it, so it is derived from the host: the
///   first label of a DNS name (`node-exporter` for `node-exporter.monitoring.svc:9100`), or
///   `scrape` for an IP address.
///
/// Empty for a URL without a host (its scrape fails anyway).
pub fn target_labels(url: &str) -> Vec<(String, String)> {
    let Ok(url) = url.parse::<reqwest::Url>() else {
        return Vec::new();
    };
    let Some(host) = url.host_str().filter(|h| !h.is_empty()) else {
        return Vec::new();
    };
    let instance = match url.port_or_known_default() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    let is_ip = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<std::net::IpAddr>()
        .is_ok();
    let job = if is_ip {
        "scrape"
    } else {
        host.split('.').next().unwrap_or(host)
    };
    vec![
        (crate::conventions::INSTANCE.to_owned(), instance),
        (JOB.to_owned(), job.to_owned()),
    ]
}

/// Prometheus' label naming the scrape job.
pub const JOB: &str = "job";

/// A successful fetch.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub body: String,
    /// `Content-Type` header, if any (tells OpenMetrics from the Prometheus text format).
    pub content_type: Option<String>,
}

/// Fetches targets over HTTP.
#[derive(Debug, Clone)]
pub struct Scraper {
    client: reqwest::Client,
}

impl Default for Scraper {
    fn default() -> Self {
        Self::new()
    }
}

impl Scraper {
    pub fn new() -> Self {
        let client = reqwest::Client::builder()
            .user_agent(concat!("opscope/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default();
        Self { client }
    }

    /// Fetch one target; the whole request, body included, is bounded by its timeout.
    pub async fn fetch(&self, target: &Target) -> (Result<Fetched, ScrapeError>, Duration) {
        let start = Instant::now();
        let res = tokio::time::timeout(target.timeout, self.fetch_inner(&target.url)).await;
        let res = res.unwrap_or(Err(ScrapeError::Timeout(target.timeout.as_millis() as u64)));
        (res, start.elapsed())
    }

    async fn fetch_inner(&self, url: &str) -> Result<Fetched, ScrapeError> {
        let url: reqwest::Url = url
            .parse()
            .map_err(|_| ScrapeError::BadUrl(url.to_owned()))?;
        let mut resp = self
            .client
            .get(url)
            .header(
                "Accept",
                "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.1",
            )
            .send()
            .await
            .map_err(|e| ScrapeError::Connect(error_chain(&e)))?;
        if !resp.status().is_success() {
            return Err(ScrapeError::Status(resp.status().as_u16()));
        }
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| ScrapeError::Connect(error_chain(&e)))?
        {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(ScrapeError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        let body = String::from_utf8(body).map_err(|_| ScrapeError::NotText)?;
        Ok(Fetched { body, content_type })
    }
}

/// The error and its causes on one line ("error sending request: connection refused").
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        let t = inner.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        src = inner.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(url: &str) -> Vec<(String, String)> {
        target_labels(url)
    }

    fn pair(instance: &str, job: &str) -> Vec<(String, String)> {
        vec![
            ("instance".to_owned(), instance.to_owned()),
            ("job".to_owned(), job.to_owned()),
        ]
    }

    #[test]
    fn target_labels_name_the_address_and_a_job_from_the_host() {
        assert_eq!(
            labels("http://127.0.0.1:9100/metrics"),
            pair("127.0.0.1:9100", "scrape")
        );
        assert_eq!(
            labels("http://node-exporter.monitoring.svc:9100/metrics"),
            pair("node-exporter.monitoring.svc:9100", "node-exporter")
        );
        assert_eq!(labels("http://node-a/metrics"), pair("node-a:80", "node-a"));
        assert_eq!(labels("https://[::1]/metrics"), pair("[::1]:443", "scrape"));
        assert!(labels("not a url").is_empty());
    }
}
