//! The source registry: one way to name sources. What every watching command (`tui`,
//! `snapshot`, `record`, ...) asks for ([`SourceRequest`], its flags as plain data), resolved
//! against the configuration into a [`SourcePlan`], and the engine built from it ([`start`]).
//!
//! Precedence: sources named by flags replace the config's; with no source flag the config's
//! `[sources]` apply (scrape, prometheus, nats, rabbitmq_api, kube or kube_url, sim); with none
//! there either, the embedded simulator.

use crate::engine::{Engine, EngineConfig};
use collector::source::Enricher as _;
use std::sync::Arc;
use std::time::Duration;

/// Default time between cycles on the simulator alone.
pub const SIM_INTERVAL: Duration = Duration::from_secs(5);

/// Errors of planning and starting sources; each names the flag or config key at fault.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{flag} {url:?}: {reason}")]
    Url {
        flag: String,
        url: String,
        reason: &'static str,
    },
    #[error("--scenario and --fault-after apply to the simulator: add --sim")]
    ScenarioWithoutSim,
    #[error("--scenario {name:?}: unknown (known: {known})")]
    UnknownScenario { name: String, known: String },
    #[error("--interval {}: must be at least 100ms", humantime::format_duration(*.0))]
    IntervalTooShort(Duration),
    #[error("--prometheus-window must be at least 1s")]
    WindowTooShort,
    #[error("--prometheus {url}")]
    Prometheus {
        url: String,
        #[source]
        source: collector::promql::PromError,
    },
    #[error("--kube: connecting to the Kubernetes API")]
    Kube(#[source] kubesource::KubeError),
    #[error("--nats {url}")]
    Nats {
        url: String,
        #[source]
        source: collector::nats::NatsError,
    },
    #[error("--rabbitmq-api {url}")]
    Rabbit {
        url: String,
        #[source]
        source: collector::rabbitmq::RabbitError,
    },
}

/// The sources a command was asked for (its source flags, as plain data): what to watch,
/// before the configuration fills in what the flags leave open.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceRequest {
    /// Prometheus/OpenMetrics endpoints to scrape.
    pub scrape: Vec<String>,
    /// A Prometheus-compatible HTTP API to query with PromQL.
    pub prometheus: Option<String>,
    /// PromQL rate window (default: 4 x the interval, at least 1 min).
    pub prometheus_window: Option<Duration>,
    /// History read before the first cycle from sources that keep one (default
    /// [`crate::WARM_START`]; zero: none).
    pub warm_start: Option<Duration>,
    /// NATS monitoring ports.
    pub nats: Vec<String>,
    /// RabbitMQ management APIs.
    pub rabbitmq_api: Vec<String>,
    /// The Kubernetes API through a kubeconfig: `Some("")` for the default one, else its path.
    pub kube: Option<String>,
    /// The kubeconfig context for `kube`.
    pub kube_context: Option<String>,
    /// A Kubernetes API server reached without credentials.
    pub kube_url: Option<String>,
    /// The embedded simulator.
    pub sim: bool,
    /// The simulator's fault scenario.
    pub scenario: Option<String>,
    /// Delay before the simulator's fault starts.
    pub fault_after: Option<Duration>,
    /// Time between cycles.
    pub interval: Option<Duration>,
}

/// The simulator to start, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct SimChoice {
    pub scenario: String,
    pub seed: u64,
    /// Delay from the command's start to the fault, ms (`None`: the fault was already
    /// active a minute before the first cycle).
    pub fault_after_ms: Option<i64>,
}

/// What to collect from and how often, resolved from flags and configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct SourcePlan {
    pub scrape: Vec<String>,
    pub prometheus: Option<String>,
    pub nats: Vec<String>,
    pub rabbitmq_api: Vec<String>,
    pub kube: Option<kubesource::KubeOptions>,
    pub prometheus_window: Duration,
    /// See [`EngineConfig::warm_start`].
    pub warm_start: Duration,
    pub sim: Option<SimChoice>,
    pub interval: Duration,
}

/// Check that `u` looks like an http(s) URL with a host; `flag` names it in the error.
pub fn check_url(flag: &str, u: &str) -> Result<(), SourceError> {
    let bad = |reason| {
        Err(SourceError::Url {
            flag: flag.to_owned(),
            url: u.to_owned(),
            reason,
        })
    };
    let rest = u
        .strip_prefix("http://")
        .or_else(|| u.strip_prefix("https://"));
    let Some(rest) = rest else {
        return bad("expected an http:// or https:// URL");
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() || host.starts_with(':') {
        return bad("the URL has no host");
    }
    if u.chars().any(char::is_whitespace) {
        return bad("the URL contains whitespace");
    }
    Ok(())
}

impl SourceRequest {
    /// Whether any flag names a source.
    fn names_a_source(&self) -> bool {
        !self.scrape.is_empty()
            || self.prometheus.is_some()
            || !self.nats.is_empty()
            || !self.rabbitmq_api.is_empty()
            || self.kube.is_some()
            || self.kube_url.is_some()
            || self.sim
    }

    /// Resolve against the configuration; every error is a bad argument. `scenarios` are the
    /// simulator's known fault scenarios (a named one must be among them).
    pub fn plan(
        &self,
        config: &opscope_config::Config,
        scenarios: &[&str],
    ) -> Result<SourcePlan, SourceError> {
        for u in &self.scrape {
            check_url("--scrape", u)?;
        }
        if let Some(u) = &self.prometheus {
            check_url("--prometheus", u)?;
        }
        for u in &self.nats {
            check_url("--nats", u)?;
        }
        for u in &self.rabbitmq_api {
            check_url("--rabbitmq-api", u)?;
        }
        if let Some(u) = &self.kube_url {
            check_url("--kube-url", u)?;
        }
        let kube = if self.kube_url.is_some() || self.kube.is_some() {
            Some(kubesource::KubeOptions {
                url: self.kube_url.clone(),
                kubeconfig: self
                    .kube
                    .as_deref()
                    .filter(|p| !p.is_empty())
                    .map(std::path::PathBuf::from),
                context: self.kube_context.clone(),
                namespace: None,
            })
        } else if self.names_a_source() {
            None
        } else if let Some(url) = &config.sources.kube_url {
            check_url("sources.kube_url", url)?;
            Some(kubesource::KubeOptions {
                url: Some(url.clone()),
                ..Default::default()
            })
        } else {
            match &config.sources.kube {
                opscope_config::Kube::Disabled => None,
                opscope_config::Kube::Default => Some(kubesource::KubeOptions::default()),
                opscope_config::Kube::Explicit {
                    kubeconfig,
                    context,
                } => Some(kubesource::KubeOptions {
                    kubeconfig: kubeconfig.clone(),
                    context: context.clone(),
                    ..Default::default()
                }),
            }
        };
        let c = &config.sources;
        let (scrape, prometheus, nats, rabbitmq_api, config_sim) = if self.names_a_source() {
            (
                self.scrape.clone(),
                self.prometheus.clone(),
                self.nats.clone(),
                self.rabbitmq_api.clone(),
                None,
            )
        } else {
            (
                c.scrape.clone(),
                c.prometheus.clone(),
                c.nats.clone(),
                c.rabbitmq_api.clone(),
                c.sim.as_ref(),
            )
        };
        if !self.names_a_source() {
            for (key, urls) in [
                ("sources.scrape", &scrape),
                ("sources.nats", &nats),
                ("sources.rabbitmq_api", &rabbitmq_api),
            ] {
                for u in urls {
                    check_url(key, u)?;
                }
            }
            if let Some(u) = &prometheus {
                check_url("sources.prometheus", u)?;
            }
        }
        let nothing_else = scrape.is_empty()
            && prometheus.is_none()
            && kube.is_none()
            && nats.is_empty()
            && rabbitmq_api.is_empty();
        let want_sim = self.sim || config_sim.is_some() || nothing_else;
        if (self.scenario.is_some() || self.fault_after.is_some()) && !want_sim {
            return Err(SourceError::ScenarioWithoutSim);
        }
        let sim = want_sim.then(|| {
            let cfg = c.sim.as_ref();
            SimChoice {
                scenario: self
                    .scenario
                    .clone()
                    .or_else(|| cfg.map(|s| s.scenario.clone()))
                    .unwrap_or_else(|| "none".to_owned()),
                seed: cfg.map_or(1, |s| s.seed),
                fault_after_ms: self
                    .fault_after
                    .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
            }
        });
        if let Some(s) = &sim
            && !scenarios.contains(&s.scenario.as_str())
        {
            return Err(SourceError::UnknownScenario {
                name: s.scenario.clone(),
                known: scenarios.join(", "),
            });
        }
        // The simulator alone runs at its own pace, unless the config named it (then the
        // config's interval holds, like for any configured source).
        let interval = match self.interval {
            Some(i) => i,
            None if sim.is_some() && nothing_else && config_sim.is_none() => SIM_INTERVAL,
            None => c.interval.0,
        };
        if interval < Duration::from_millis(100) {
            return Err(SourceError::IntervalTooShort(interval));
        }
        let prometheus_window = self
            .prometheus_window
            .unwrap_or_else(|| (interval * 4).max(Duration::from_secs(60)));
        if prometheus_window < Duration::from_secs(1) {
            return Err(SourceError::WindowTooShort);
        }
        Ok(SourcePlan {
            scrape,
            prometheus,
            nats,
            rabbitmq_api,
            kube,
            prometheus_window,
            warm_start: self.warm_start.unwrap_or(crate::WARM_START),
            sim,
            interval,
        })
    }
}

/// An engine wired to the planned sources.
#[derive(Debug)]
pub struct Started {
    pub engine: Engine,
    /// One line naming the sources, for titles.
    pub describe: String,
}

/// A scrape target the caller started itself (the embedded simulator): scraped after the
/// plan's targets, and named first in [`Started::describe`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalTarget {
    /// Its `/metrics` URL.
    pub url: String,
    /// How titles name it.
    pub name: String,
}

/// The config's retention, per-target timeout, memory limits, rules and SLOs on an engine
/// config. The timeout can shorten the default (80% of the interval) but never lengthen it:
/// a collection must end before the next one starts.
pub fn apply_limits(cfg: &mut EngineConfig, config: &opscope_config::Config) {
    cfg.collector.retention_ms = config.sources.retention.as_millis_i64();
    cfg.collector.timeout = cfg
        .collector
        .timeout
        .min(config.sources.timeout.0.max(Duration::from_millis(100)));
    cfg.collector.samples_per_target =
        usize::try_from(config.limits.samples_per_target).unwrap_or(usize::MAX);
    cfg.collector.max_series = usize::try_from(config.limits.max_series).unwrap_or(usize::MAX);
    cfg.rules = config.rules.clone();
    cfg.slos = config.slos.clone();
}

/// Build the engine on every planned source, plus `local` (the simulator the caller started
/// for [`SourcePlan::sim`], if any).
pub async fn start(
    plan: &SourcePlan,
    config: &opscope_config::Config,
    local: Option<LocalTarget>,
) -> Result<Started, SourceError> {
    let mut scrape = plan.scrape.clone();
    let mut names = Vec::new();
    if let Some(t) = local {
        scrape.push(t.url);
        names.push(t.name);
    }
    let n_scrape = plan.scrape.len();
    if n_scrape > 0 {
        names.push(format!("{n_scrape} scrape target(s)"));
    }
    let mut cfg = EngineConfig::for_interval(scrape, plan.interval);
    apply_limits(&mut cfg, config);
    cfg.warm_start = plan.warm_start;
    let mut engine = Engine::new(&cfg);
    if let Some(url) = &plan.prometheus {
        let src = collector::promql::PromSource::new(
            url,
            plan.prometheus_window,
            cfg.collector.timeout,
            cfg.collector.observe,
        )
        .map_err(|source| SourceError::Prometheus {
            url: url.clone(),
            source,
        })?;
        engine.add_source(Arc::new(src));
        names.push(format!("prometheus {url}"));
    }
    if let Some(opts) = &plan.kube {
        let src = kubesource::KubeSource::connect(opts.clone())
            .await
            .map_err(SourceError::Kube)?;
        names.push(src.status().name);
        engine.add_enricher(Box::new(src));
    }
    for url in &plan.nats {
        let src =
            collector::nats::NatsSource::new(url, cfg.collector.timeout).map_err(|source| {
                SourceError::Nats {
                    url: url.clone(),
                    source,
                }
            })?;
        engine.add_source(Arc::new(src));
        names.push(format!("nats {url}"));
    }
    for url in &plan.rabbitmq_api {
        let user = std::env::var("OPSCOPE_RABBITMQ_USER").unwrap_or_else(|_| "guest".into());
        let password =
            std::env::var("OPSCOPE_RABBITMQ_PASSWORD").unwrap_or_else(|_| "guest".into());
        let src = collector::rabbitmq::RabbitMgmtSource::with_timeout(
            url,
            &user,
            &password,
            cfg.collector.timeout,
        )
        .map_err(|source| SourceError::Rabbit {
            url: url.clone(),
            source,
        })?;
        engine.add_source(Arc::new(src));
        names.push(format!("rabbitmq {url}"));
    }
    Ok(Started {
        engine,
        describe: names.join(", "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCENARIOS: &[&str] = &["none", "latency"];

    fn args(scrape: &[&str], sim: bool, scenario: Option<&str>) -> SourceRequest {
        SourceRequest {
            scrape: scrape.iter().map(|s| (*s).to_owned()).collect(),
            sim,
            scenario: scenario.map(str::to_owned),
            ..SourceRequest::default()
        }
    }

    #[test]
    fn sources_come_from_flags_then_config_then_the_simulator() {
        let mut config = opscope_config::Config::default();
        let p = args(&[], false, None)
            .plan(&config, SCENARIOS)
            .expect("plan");
        assert_eq!(p.scrape, Vec::<String>::new());
        assert_eq!(p.sim.as_ref().map(|s| s.scenario.as_str()), Some("none"));
        assert_eq!(p.interval, SIM_INTERVAL);

        config.sources.scrape = vec!["http://c:1/metrics".to_owned()];
        let p = args(&[], false, None)
            .plan(&config, SCENARIOS)
            .expect("plan");
        assert_eq!(p.scrape, vec!["http://c:1/metrics".to_owned()]);
        assert_eq!(p.sim, None);
        assert_eq!(p.interval, config.sources.interval.0);

        let p = args(&["http://a:1/metrics"], false, None)
            .plan(&config, SCENARIOS)
            .expect("plan");
        assert_eq!(p.scrape, vec!["http://a:1/metrics".to_owned()]);
        assert_eq!(p.sim, None);

        let p = args(&[], true, Some("latency"))
            .plan(&config, SCENARIOS)
            .expect("plan");
        assert!(
            p.scrape.is_empty(),
            "--sim alone ignores the config's targets"
        );
        assert_eq!(p.sim.map(|s| s.scenario), Some("latency".to_owned()));

        assert!(
            args(&["http://a:1/m"], false, Some("latency"))
                .plan(&config, SCENARIOS)
                .is_err()
        );
        assert!(
            args(&[], true, Some("nope"))
                .plan(&config, SCENARIOS)
                .is_err()
        );
    }

    #[test]
    fn prometheus_alone_needs_no_simulator_and_gets_a_window() {
        let config = opscope_config::Config::default();
        let a = SourceRequest {
            prometheus: Some("http://127.0.0.1:9090".into()),
            interval: Some(Duration::from_secs(5)),
            ..SourceRequest::default()
        };
        let p = a.plan(&config, SCENARIOS).expect("plan");
        assert_eq!(p.sim, None);
        assert_eq!(p.prometheus_window, Duration::from_secs(60));
        let mut config = opscope_config::Config::default();
        config.sources.prometheus = Some("http://prom:9090".into());
        let p = SourceRequest::default()
            .plan(&config, SCENARIOS)
            .expect("plan");
        assert_eq!(p.prometheus.as_deref(), Some("http://prom:9090"));
        assert_eq!(p.sim, None);
        let bad = SourceRequest {
            prometheus: Some("prom:9090".into()),
            ..SourceRequest::default()
        };
        let e = bad.plan(&config, SCENARIOS).unwrap_err().to_string();
        assert!(e.contains("--prometheus"), "{e}");
    }

    #[test]
    fn broker_and_kube_url_sources_come_from_the_config_too() {
        let mut config = opscope_config::Config::default();
        config.sources.nats = vec!["http://127.0.0.1:8222".into()];
        config.sources.rabbitmq_api = vec!["http://127.0.0.1:15672".into()];
        config.sources.kube_url = Some("http://127.0.0.1:9464".into());
        let p = SourceRequest::default()
            .plan(&config, SCENARIOS)
            .expect("plan");
        assert_eq!(p.nats, ["http://127.0.0.1:8222"]);
        assert_eq!(p.rabbitmq_api, ["http://127.0.0.1:15672"]);
        assert_eq!(
            p.kube.and_then(|k| k.url).as_deref(),
            Some("http://127.0.0.1:9464")
        );
        assert_eq!(p.sim, None, "configured sources replace the simulator");
        // A simulator named by the config runs at the config's interval.
        let mut config = opscope_config::Config::default();
        config.sources.sim = Some(opscope_config::Sim {
            scenario: "latency".into(),
            seed: 3,
        });
        config.sources.interval = opscope_config::HumanDuration::from_secs(2);
        let p = SourceRequest::default()
            .plan(&config, SCENARIOS)
            .expect("plan");
        assert_eq!(p.interval, Duration::from_secs(2));
        assert_eq!(
            p.sim.map(|s| (s.scenario, s.seed)),
            Some(("latency".into(), 3))
        );
        // A source flag replaces them all.
        let p = args(&["http://a:1/metrics"], false, None)
            .plan(&config, SCENARIOS)
            .expect("plan");
        assert!(p.nats.is_empty() && p.rabbitmq_api.is_empty() && p.kube.is_none());
    }

    #[test]
    fn the_config_timeout_only_shortens_collections() {
        let mut config = opscope_config::Config::default();
        let mut cfg = EngineConfig::for_interval(Vec::new(), Duration::from_secs(15));
        apply_limits(&mut cfg, &config);
        assert_eq!(cfg.collector.timeout, Duration::from_secs(10));
        config.sources.timeout = opscope_config::HumanDuration::from_secs(60);
        let mut cfg = EngineConfig::for_interval(Vec::new(), Duration::from_secs(15));
        apply_limits(&mut cfg, &config);
        assert_eq!(cfg.collector.timeout, Duration::from_secs(12));
    }

    #[test]
    fn urls_are_checked() {
        assert!(check_url("--scrape", "http://127.0.0.1:9464/metrics").is_ok());
        assert!(check_url("--scrape", "https://host/metrics").is_ok());
        assert!(check_url("--scrape", "127.0.0.1:9464/metrics").is_err());
        assert!(check_url("--scrape", "http:///metrics").is_err());
        assert!(check_url("--scrape", "http://:80/metrics").is_err());
        assert!(check_url("--scrape", "http://a b/metrics").is_err());
    }
}
