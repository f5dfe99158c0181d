//! Reading and validating a configuration document with every problem reported, each with its
//! line, column and field path.
//!
//! The document is parsed to a spanned tree (`toml::de::DeTable`); every field is then read on
//! its own with the schema types' `Deserialize` implementations, so one bad value does not hide
//! the others. Syntax errors are all reported, but a document with syntax errors is not
//! validated further (a recovered tree gives misleading follow-up errors).
//!
//! Environment overrides `OPSCOPE_<SECTION>_<KEY>` (e.g. `OPSCOPE_SOURCES_INTERVAL=5s`,
//! `OPSCOPE_LIMITS_MAX_SERIES=50000`) replace the keys of `[sources]` and `[limits]` and
//! `api.listen`. The value is read as a TOML value when it is one (`true`, `5000`,
//! `["http://a"]`) and as a string otherwise; the URL lists (`OPSCOPE_SOURCES_SCRAPE`, `_NATS`,
//! `_RABBITMQ_API`) also take a comma-separated list. Problems in them are reported at
//! `env OPSCOPE_...`.
//!
//! Secrets: an unreadable or empty `url_file` is an error; an unset `url_env` variable is a
//! **warning** (the file is fine, the environment it is checked in may not be the one it runs
//! in; at run time the notifier is disabled with a logged warning). The same holds for the API
//! token (`[api] token_env` / `token_file`), which must also be at least 16 characters.

use crate::secret::{SecretError, SecretSource};
use crate::types::*;
use serde::de::DeserializeOwned;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::ops::Range;
use toml::Spanned;
use toml::de::{DeArray, DeTable, DeValue, ValueDeserializer};

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Warning,
    Error,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Warning => "warning",
            Level::Error => "error",
        })
    }
}

/// Where a problem is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Location {
    /// 1-based line and column (in characters) in the file.
    File { line: usize, col: usize },
    /// An environment override.
    Env(String),
}

/// One problem found in a configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub level: Level,
    pub location: Location,
    /// Field path, e.g. `rule[1].threshold`; empty for syntax errors.
    pub path: String,
    /// What is wrong, in plain words. Never contains a secret's value.
    pub message: String,
}

impl Diagnostic {
    /// `FILE:LINE:COL: error: field.path: reason` (or `env VAR: ...` for overrides).
    pub fn render(&self, file: &str) -> String {
        let at = match &self.location {
            Location::File { line, col } => format!("{file}:{line}:{col}"),
            Location::Env(var) => format!("env {var}"),
        };
        if self.path.is_empty() {
            format!("{at}: {}: {}", self.level, self.message)
        } else {
            format!("{at}: {}: {}: {}", self.level, self.path, self.message)
        }
    }
}

/// The outcome of checking a document: the configuration as far as it could be read (defaults
/// where a value was bad) and every problem, sorted by position.
#[derive(Debug, Clone)]
pub struct Checked {
    pub config: Config,
    pub diagnostics: Vec<Diagnostic>,
}

impl Checked {
    /// True when at least one problem is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(|d| d.level == Level::Error)
    }
    /// Number of errors.
    pub fn error_count(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.level == Level::Error)
            .count()
    }
    /// Number of warnings.
    pub fn warning_count(&self) -> usize {
        self.diagnostics.len() - self.error_count()
    }
}

/// What a configuration contains, in one line: "2 scrape targets, 3 SLOs, 5 rules, 1 notifier".
pub fn summary(c: &Config) -> String {
    fn n(count: usize, one: &str, many: &str) -> String {
        format!("{count} {}", if count == 1 { one } else { many })
    }
    let mut parts = vec![n(c.sources.scrape.len(), "scrape target", "scrape targets")];
    if c.sources.prometheus.is_some() {
        parts.push("prometheus".into());
    }
    if !c.sources.nats.is_empty() {
        parts.push(n(c.sources.nats.len(), "NATS server", "NATS servers"));
    }
    if !c.sources.rabbitmq_api.is_empty() {
        parts.push(n(
            c.sources.rabbitmq_api.len(),
            "RabbitMQ API",
            "RabbitMQ APIs",
        ));
    }
    if c.sources.kube != Kube::Disabled || c.sources.kube_url.is_some() {
        parts.push("kube".into());
    }
    if let Some(sim) = &c.sources.sim {
        parts.push(format!("sim ({})", sim.scenario));
    }
    parts.push(n(c.slos.len(), "SLO", "SLOs"));
    parts.push(n(c.rules.len(), "rule", "rules"));
    parts.push(n(c.notifiers.len(), "notifier", "notifiers"));
    parts.join(", ")
}

/// Check a document; `env` looks up environment variables (overrides and `url_env` secrets).
pub fn check(src: &str, env: &dyn Fn(&str) -> Option<String>) -> Checked {
    let mut ck = Checker::new(src, env);
    let (doc, errors) = DeTable::parse_recoverable(src);
    let mut config = Config::default();
    if errors.is_empty() {
        config = ck.document(doc.get_ref());
    } else {
        for e in errors {
            let loc = ck.loc(e.span().unwrap_or(0..0));
            ck.push(Level::Error, String::new(), loc, e.message().to_owned());
        }
    }
    let mut diagnostics = ck.diags;
    diagnostics.sort_by(|a, b| a.location.cmp(&b.location).then(b.level.cmp(&a.level)));
    Checked {
        config,
        diagnostics,
    }
}

const TOP: &[&str] = &["sources", "limits", "slo", "rule", "notifier", "api"];
const SOURCES: &[&str] = &[
    "scrape",
    "prometheus",
    "nats",
    "rabbitmq_api",
    "kube",
    "kube_url",
    "sim",
    "interval",
    "timeout",
    "retention",
];
const LIMITS: &[&str] = &["samples_per_target", "max_series"];
const API: &[&str] = &["listen", "token", "token_env", "token_file"];
/// Keys of `[sources]` holding lists of URLs; their environment overrides may be
/// comma-separated.
const URL_LISTS: &[&str] = &["scrape", "nats", "rabbitmq_api"];
const SLO: &[&str] = &[
    "service",
    "namespace",
    "availability",
    "latency",
    "period",
    "burn_rates",
];
const RULE: &[&str] = &[
    "name",
    "signal",
    "entity",
    "op",
    "threshold",
    "for",
    "severity",
    "labels",
    "summary",
];
const NOTIFIER: &[&str] = &["kind", "name", "url", "url_env", "url_file"];

struct Checker<'s> {
    src: &'s str,
    line_starts: Vec<usize>,
    env: &'s dyn Fn(&str) -> Option<String>,
    diags: Vec<Diagnostic>,
}

type Table<'i> = DeTable<'i>;
type Value<'i> = Spanned<DeValue<'i>>;

impl<'s> Checker<'s> {
    fn new(src: &'s str, env: &'s dyn Fn(&str) -> Option<String>) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(src.match_indices('\n').map(|(i, _)| i + 1));
        Self {
            src,
            line_starts,
            env,
            diags: Vec::new(),
        }
    }

    fn loc(&self, span: Range<usize>) -> Location {
        let at = span.start.min(self.src.len());
        let line = self.line_starts.partition_point(|&s| s <= at);
        let start = self.line_starts[line - 1];
        let col = self
            .src
            .get(start..at)
            .map_or(at - start, |s| s.chars().count())
            + 1;
        Location::File { line, col }
    }

    fn push(&mut self, level: Level, path: String, location: Location, message: String) {
        self.diags.push(Diagnostic {
            level,
            location,
            path,
            message,
        });
    }

    fn error_at(&mut self, path: &str, span: Range<usize>, message: impl Into<String>) {
        let loc = self.loc(span);
        self.push(Level::Error, path.to_owned(), loc, message.into());
    }

    fn warn_at(&mut self, path: &str, span: Range<usize>, message: impl Into<String>) {
        let loc = self.loc(span);
        self.push(Level::Warning, path.to_owned(), loc, message.into());
    }

    /// Read one value with its type's `Deserialize`; report and return `None` on failure.
    fn value<T: DeserializeOwned>(&mut self, path: &str, v: &Value<'_>) -> Option<T> {
        match T::deserialize(ValueDeserializer::from(v.clone())) {
            Ok(t) => Some(t),
            Err(e) => {
                let span = e.span().unwrap_or_else(|| v.span());
                self.error_at(path, span, tidy(e.message()));
                None
            }
        }
    }

    /// A sub-table, or an error naming what was found instead.
    fn table<'a, 'i>(&mut self, path: &str, v: &'a Value<'i>) -> Option<&'a Table<'i>> {
        match v.get_ref() {
            DeValue::Table(t) => Some(t),
            other => {
                self.error_at(
                    path,
                    v.span(),
                    format!("expected a table, found {}", other.type_str()),
                );
                None
            }
        }
    }

    /// `[[name]]`: the tables of an array of tables.
    fn tables<'a, 'i>(&mut self, path: &str, v: &'a Value<'i>) -> Vec<(usize, &'a Value<'i>)> {
        match v.get_ref() {
            DeValue::Array(a) => {
                let a: &DeArray<'i> = a;
                a.iter().enumerate().collect()
            }
            other => {
                self.error_at(
                    path,
                    v.span(),
                    format!(
                        "expected an array of tables (write [[{path}]]), found {}",
                        other.type_str()
                    ),
                );
                Vec::new()
            }
        }
    }

    fn unknown_fields(&mut self, path: &str, t: &Table<'_>, known: &[&str]) {
        for (k, _) in t.iter() {
            let key: &str = k.get_ref();
            if !known.contains(&key) {
                let hint = closest(key, known)
                    .map(|c| format!("; did you mean `{c}`?"))
                    .unwrap_or_else(|| format!("; expected one of {}", known.join(", ")));
                self.error_at(
                    &join(path, key),
                    k.span(),
                    format!("unknown field `{key}`{hint}"),
                );
            }
        }
    }

    fn field<T: DeserializeOwned>(&mut self, path: &str, t: &Table<'_>, key: &str) -> Option<T> {
        let v = t.get(key)?;
        self.value(&join(path, key), v)
    }

    fn required<T: DeserializeOwned>(
        &mut self,
        path: &str,
        t: &Table<'_>,
        span: Range<usize>,
        key: &str,
    ) -> Option<T> {
        if t.get(key).is_none() {
            self.error_at(path, span, format!("missing field `{key}`"));
            return None;
        }
        self.field(path, t, key)
    }

    /// A scalar of `[sources]` / `[limits]`: the environment override if set, else the file.
    fn section_field<T: DeserializeOwned>(
        &mut self,
        section: &str,
        t: Option<&Table<'_>>,
        key: &str,
    ) -> Option<T> {
        let var = format!(
            "OPSCOPE_{}_{}",
            section.to_ascii_uppercase(),
            key.to_ascii_uppercase()
        );
        let path = join(section, key);
        if let Some(raw) = (self.env)(&var) {
            let raw = if URL_LISTS.contains(&key) && !raw.trim_start().starts_with('[') {
                let items: Vec<String> = raw
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| format!("{s:?}"))
                    .collect();
                format!("[{}]", items.join(", "))
            } else {
                raw
            };
            let v = DeValue::parse(&raw)
                .unwrap_or_else(|_| Spanned::new(0..0, DeValue::String(Cow::Borrowed(&raw))));
            return match T::deserialize(ValueDeserializer::from(v)) {
                Ok(x) => Some(x),
                Err(e) => {
                    self.push(Level::Error, path, Location::Env(var), tidy(e.message()));
                    None
                }
            };
        }
        t.and_then(|t| self.field(section, t, key))
    }

    fn document(&mut self, doc: &Table<'_>) -> Config {
        self.unknown_fields("", doc, TOP);
        let mut c = Config::default();
        let sources = doc.get("sources").and_then(|v| self.table("sources", v));
        c.sources = self.sources(sources);
        let limits = doc.get("limits").and_then(|v| self.table("limits", v));
        if let Some(t) = limits {
            self.unknown_fields("limits", t, LIMITS);
        }
        let d = Limits::default();
        c.limits = Limits {
            samples_per_target: self
                .section_field("limits", limits, "samples_per_target")
                .unwrap_or(d.samples_per_target),
            max_series: self
                .section_field("limits", limits, "max_series")
                .unwrap_or(d.max_series),
        };
        for (what, v) in [
            ("samples_per_target", c.limits.samples_per_target),
            ("max_series", c.limits.max_series),
        ] {
            if v == 0 {
                let s = limits.and_then(|t| t.get(what)).map_or(0..0, |v| v.span());
                self.error_at(&join("limits", what), s, "must be at least 1");
            }
        }
        let api = doc.get("api").and_then(|v| self.table("api", v));
        c.api = self.api(api);
        if let Some(v) = doc.get("slo") {
            for (i, item) in self.tables("slo", v) {
                if let Some(s) = self.slo(&format!("slo[{i}]"), item) {
                    c.slos.push(s);
                }
            }
            self.duplicate_slos(v, &c.slos);
        }
        if let Some(v) = doc.get("rule") {
            let mut names: HashMap<String, Range<usize>> = HashMap::new();
            for (i, item) in self.tables("rule", v) {
                let path = format!("rule[{i}]");
                let rule = self.rule(&path, item);
                // Duplicate names are found on the raw tables, so a rule with other errors
                // still reports them.
                let Some(name) = item.get_ref().get("name") else {
                    continue;
                };
                let Some(n) = name.get_ref().as_str() else {
                    continue;
                };
                if let Some(first) = names.get(n) {
                    let first = match self.loc(first.clone()) {
                        Location::File { line, .. } => line,
                        Location::Env(_) => 0,
                    };
                    self.error_at(
                        &join(&path, "name"),
                        name.span(),
                        format!("duplicate rule name \"{n}\" (first defined at line {first})"),
                    );
                } else {
                    names.insert(n.to_owned(), name.span());
                    c.rules.extend(rule);
                }
            }
        }
        if let Some(v) = doc.get("notifier") {
            for (i, item) in self.tables("notifier", v) {
                if let Some(n) = self.notifier(&format!("notifier[{i}]"), item) {
                    c.notifiers.push(n);
                }
            }
        }
        c
    }

    fn sources(&mut self, t: Option<&Table<'_>>) -> Sources {
        if let Some(t) = t {
            self.unknown_fields("sources", t, SOURCES);
        }
        let d = Sources::default();
        let span_of = |key: &str| t.and_then(|t| t.get(key)).map(|v| v.span());
        let mut s = Sources {
            scrape: self
                .section_field("sources", t, "scrape")
                .unwrap_or_default(),
            prometheus: self.section_field("sources", t, "prometheus"),
            nats: self.section_field("sources", t, "nats").unwrap_or_default(),
            rabbitmq_api: self
                .section_field("sources", t, "rabbitmq_api")
                .unwrap_or_default(),
            kube: self
                .section_field("sources", t, "kube")
                .unwrap_or(Kube::Disabled),
            kube_url: self.section_field("sources", t, "kube_url"),
            sim: t.and_then(|t| self.field("sources", t, "sim")),
            interval: self
                .section_field("sources", t, "interval")
                .unwrap_or(d.interval),
            timeout: self
                .section_field("sources", t, "timeout")
                .unwrap_or(d.timeout),
            retention: self
                .section_field("sources", t, "retention")
                .unwrap_or(d.retention),
        };
        s.scrape = self.url_list(t, "scrape", std::mem::take(&mut s.scrape));
        s.nats = self.url_list(t, "nats", std::mem::take(&mut s.nats));
        s.rabbitmq_api = self.url_list(t, "rabbitmq_api", std::mem::take(&mut s.rabbitmq_api));
        for (key, url) in [
            ("prometheus", &mut s.prometheus),
            ("kube_url", &mut s.kube_url),
        ] {
            if let Some(p) = url.as_deref()
                && let Err(why) = check_url(p)
            {
                let span = span_of(key).unwrap_or(0..0);
                self.error_at(&join("sources", key), span, why);
                *url = None;
            }
        }
        if s.kube_url.is_some() && s.kube != Kube::Disabled {
            let span = span_of("kube_url").unwrap_or(0..0);
            self.error_at(
                "sources.kube_url",
                span,
                "set either `kube` (kubeconfig or in-cluster) or `kube_url`, not both",
            );
        }
        for (key, v) in [("interval", s.interval), ("timeout", s.timeout)] {
            if v.0.is_zero() {
                let span = span_of(key).unwrap_or(0..0);
                self.error_at(&join("sources", key), span, "must be longer than 0s");
            }
        }
        // Only a timeout the file sets is worth a word: the default is capped quietly.
        if let Some(span) = span_of("timeout")
            && s.timeout > s.interval
            && !s.interval.0.is_zero()
        {
            self.warn_at(
                "sources.timeout",
                span,
                format!(
                    "timeout {} is longer than the interval {}; collections are cut at 80% of the interval",
                    s.timeout, s.interval
                ),
            );
        }
        if s.retention.0 < s.interval.0 * 4 {
            let span = span_of("retention").unwrap_or(0..0);
            self.error_at(
                "sources.retention",
                span,
                format!(
                    "retention {} keeps fewer than 4 collections at interval {}",
                    s.retention, s.interval
                ),
            );
        }
        s
    }

    /// A list of URLs under `[sources]`: each bad one reported at its own element and
    /// dropped, duplicates warned about and dropped.
    fn url_list(&mut self, t: Option<&Table<'_>>, key: &str, urls: Vec<String>) -> Vec<String> {
        let items: Vec<Range<usize>> = t
            .and_then(|t| t.get(key))
            .and_then(|v| v.get_ref().as_array())
            .map(|a| a.iter().map(|v| v.span()).collect())
            .unwrap_or_default();
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        let mut keep = Vec::new();
        for (i, url) in urls.into_iter().enumerate() {
            let span = items.get(i).cloned().unwrap_or(0..0);
            let path = format!("sources.{key}[{i}]");
            if let Err(why) = check_url(&url) {
                self.error_at(&path, span, why);
            } else if seen.insert(url.clone(), i).is_some() {
                self.warn_at(&path, span, format!("duplicate URL {url}"));
            } else {
                keep.push(url);
            }
        }
        keep
    }

    /// `[api]`: the listen address and where the token comes from (checked, never printed).
    fn api(&mut self, t: Option<&Table<'_>>) -> Api {
        let Some(t) = t else {
            return Api::default();
        };
        self.unknown_fields("api", t, API);
        let d = Api::default();
        let api = Api {
            listen: self
                .section_field("api", Some(t), "listen")
                .unwrap_or(d.listen),
            token: self.field("api", t, "token"),
            token_env: self.field("api", t, "token_env"),
            token_file: self.field("api", t, "token_file"),
        };
        let key_span = |k: &str| t.get(k).map_or(0..0, |v| v.span());
        let source = match api.token_source() {
            Ok(s) => s,
            Err(_) => {
                // Reported at the second key set: the first one is fine on its own.
                let second = ["token", "token_env", "token_file"]
                    .into_iter()
                    .filter(|k| t.get(*k).is_some())
                    .nth(1)
                    .unwrap_or("token");
                self.error_at(
                    &join("api", second),
                    key_span(second),
                    "set at most one of `token`, `token_env`, `token_file`",
                );
                return api;
            }
        };
        let key = match &source {
            Some(SecretSource::Literal(_)) => "token",
            Some(SecretSource::Env(_)) => "token_env",
            _ => "token_file",
        };
        let resolved = source.as_ref().map(|s| s.resolve(self.env));
        match resolved {
            Some(Ok(token)) if token.expose().chars().count() < MIN_TOKEN_CHARS => {
                self.error_at(
                    &join("api", key),
                    key_span(key),
                    format!(
                        "the token must be at least {MIN_TOKEN_CHARS} characters (value not shown)"
                    ),
                );
            }
            Some(Err(e @ SecretError::MissingEnv(_))) => {
                self.warn_at(
                    &join("api", key),
                    key_span(key),
                    format!("{e}; annotations are refused until it is"),
                );
            }
            Some(Err(e)) => self.error_at(&join("api", key), key_span(key), e.to_string()),
            None if !api.listen.ip().is_loopback() => {
                self.error_at(
                    "api.listen",
                    key_span("listen"),
                    format!(
                        "{} is not a loopback address: set `token_env` or `token_file`",
                        api.listen
                    ),
                );
            }
            _ => {}
        }
        api
    }

    fn slo(&mut self, path: &str, item: &Value<'_>) -> Option<Slo> {
        let t = self.table(path, item)?;
        self.unknown_fields(path, t, SLO);
        let span = item.span();
        let service: Option<String> = self.required(path, t, span.clone(), "service");
        let namespace: Option<String> = self.field(path, t, "namespace");
        let availability: Option<Target> = self.field(path, t, "availability");
        let latency: Option<LatencyObjective> = self.field(path, t, "latency");
        let period: HumanDuration = self
            .field(path, t, "period")
            .unwrap_or(HumanDuration::from_secs(30 * 86_400));
        let burn_rates: Option<Vec<BurnRate>> = self.field(path, t, "burn_rates");
        let bad_objectives = [
            ("availability", availability.is_none()),
            ("latency", latency.is_none()),
        ]
        .iter()
        .any(|&(k, missing)| missing && t.get(k).is_some());
        if availability.is_none() && latency.is_none() && !bad_objectives {
            self.error_at(
                path,
                span.clone(),
                "an SLO needs `availability` and/or `latency`",
            );
        }
        if let Some(s) = &service
            && s.trim().is_empty()
        {
            let sp = t.get("service").map_or(span.clone(), |v| v.span());
            self.error_at(&join(path, "service"), sp, "service name is empty");
        }
        if period.0.is_zero() {
            let sp = t.get("period").map_or(span.clone(), |v| v.span());
            self.error_at(&join(path, "period"), sp, "must be longer than 0s");
        }
        if let Some(l) = &latency
            && l.threshold.0.is_zero()
        {
            let sp = t.get("latency").map_or(span.clone(), |v| v.span());
            self.error_at(
                &join(path, "latency.threshold"),
                sp,
                "must be longer than 0s",
            );
        }
        let rates = match burn_rates {
            Some(r) => {
                let list = t.get("burn_rates");
                if r.is_empty() {
                    let sp = list.map_or(span.clone(), |v| v.span());
                    self.error_at(
                        &join(path, "burn_rates"),
                        sp,
                        "empty list: remove it to use the default pairs",
                    );
                }
                for (i, b) in r.iter().enumerate() {
                    let sp = list
                        .and_then(|v| v.get_ref().as_array())
                        .and_then(|a| a.get(i))
                        .map_or(span.clone(), |v| v.span());
                    let p = format!("{path}.burn_rates[{i}]");
                    if !(b.factor.is_finite() && b.factor > 0.0) {
                        self.error_at(&p, sp.clone(), format!("factor {} must be > 0", b.factor));
                    }
                    if b.short.0.is_zero() || b.short >= b.long {
                        self.error_at(
                            &p,
                            sp.clone(),
                            format!(
                                "short window {} must be > 0 and shorter than the long window {}",
                                b.short, b.long
                            ),
                        );
                    }
                    if b.long > period {
                        self.error_at(
                            &p,
                            sp,
                            format!("long window {} is longer than the period {period}", b.long),
                        );
                    }
                }
                r
            }
            None => default_burn_rates(),
        };
        if t.get("burn_rates").is_none()
            && let Some(longest) = rates.iter().map(|b| b.long).max()
            && longest > period
        {
            let sp = t.get("period").map_or(span.clone(), |v| v.span());
            self.error_at(
                &join(path, "period"),
                sp,
                format!("period {period} is shorter than the default burn-rate window {longest}; set burn_rates"),
            );
        }
        Some(Slo {
            service: service?,
            namespace,
            availability,
            latency,
            period,
            burn_rates: rates,
        })
        .filter(|s| s.availability.is_some() || s.latency.is_some())
    }

    fn duplicate_slos(&mut self, v: &Value<'_>, slos: &[Slo]) {
        let mut seen: BTreeMap<(&str, Option<&str>), ()> = BTreeMap::new();
        let items: Vec<&Value<'_>> = v
            .get_ref()
            .as_array()
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        for s in slos {
            if seen
                .insert((s.service.as_str(), s.namespace.as_deref()), ())
                .is_some()
            {
                // The second table with this service name.
                let mut count = 0;
                for (i, it) in items.iter().enumerate() {
                    let same_service = it
                        .get_ref()
                        .get("service")
                        .and_then(|x| x.get_ref().as_str())
                        == Some(s.service.as_str());
                    let same_ns = it
                        .get_ref()
                        .get("namespace")
                        .and_then(|x| x.get_ref().as_str())
                        == s.namespace.as_deref();
                    if same_service && same_ns {
                        count += 1;
                        if count == 2 {
                            let sp = it.get_ref().get("service").map_or(it.span(), |x| x.span());
                            self.error_at(
                                &format!("slo[{i}].service"),
                                sp,
                                format!("a second SLO for service \"{}\"; merge them", s.service),
                            );
                            break;
                        }
                    }
                }
            }
        }
    }

    fn rule(&mut self, path: &str, item: &Value<'_>) -> Option<Rule> {
        let t = self.table(path, item)?;
        self.unknown_fields(path, t, RULE);
        let span = item.span();
        let name: Option<String> = self.required(path, t, span.clone(), "name");
        let signal: Option<SignalName> = self.required(path, t, span.clone(), "signal");
        let entity: Option<SelectorField> = self.required(path, t, span.clone(), "entity");
        let op: Option<Op> = self.required(path, t, span.clone(), "op");
        let threshold: Option<Threshold> = self.required(path, t, span.clone(), "threshold");
        let for_: Option<HumanDuration> = self.field(path, t, "for");
        let severity: Option<Severity> = self.field(path, t, "severity");
        let labels: Option<BTreeMap<String, String>> = self.field(path, t, "labels");
        let summary: Option<String> = self.field(path, t, "summary");
        if let Some(n) = &name
            && n.trim().is_empty()
        {
            let sp = t.get("name").map_or(span.clone(), |v| v.span());
            self.error_at(&join(path, "name"), sp, "rule name is empty");
        }
        if let (Some(sig), Some(th)) = (signal, threshold)
            && th.unit != UnitClass::Plain
            && th.unit != sig.unit_class()
        {
            let sp = t.get("threshold").map_or(span.clone(), |v| v.span());
            let want = match sig.unit_class() {
                UnitClass::Time => "a time unit (ms, s)",
                UnitClass::Bytes => "a byte unit (MiB, GB)",
                UnitClass::Percent => "a percentage or a ratio",
                UnitClass::Plain => "a plain number",
            };
            self.error_at(
                &join(path, "threshold"),
                sp,
                format!(
                    "the unit does not fit signal `{}`; it takes {want}",
                    signal_str(sig)
                ),
            );
            return None;
        }
        if let Some(l) = &labels {
            for k in l.keys() {
                let ok = !k.is_empty()
                    && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && !k.starts_with(|c: char| c.is_ascii_digit());
                if !ok {
                    let sp = t.get("labels").map_or(span.clone(), |v| v.span());
                    self.error_at(
                        &join(path, "labels"),
                        sp,
                        format!("label name \"{k}\" must match [a-zA-Z_][a-zA-Z0-9_]*"),
                    );
                }
            }
        }
        Some(Rule {
            name: name.filter(|n| !n.trim().is_empty())?,
            signal: signal?,
            entity: entity?.0,
            op: op?,
            threshold: threshold?,
            for_: for_.unwrap_or_default(),
            severity: severity.unwrap_or_default(),
            labels: labels.unwrap_or_default(),
            summary,
        })
    }

    fn notifier(&mut self, path: &str, item: &Value<'_>) -> Option<Notifier> {
        let t = self.table(path, item)?;
        self.unknown_fields(path, t, NOTIFIER);
        let span = item.span();
        let n = Notifier {
            kind: self.required(path, t, span.clone(), "kind")?,
            name: self.field(path, t, "name"),
            url: self.field(path, t, "url"),
            url_env: self.field(path, t, "url_env"),
            url_file: self.field(path, t, "url_file"),
        };
        let set = ["url", "url_env", "url_file"]
            .iter()
            .filter(|k| t.get(**k).is_some())
            .count();
        let Some(src) = n.url_source() else {
            if set != 1 {
                self.error_at(
                    path,
                    span,
                    "set exactly one of `url`, `url_env`, `url_file`",
                );
            }
            return None;
        };
        let key_span = |k: &str| t.get(k).map_or(span.clone(), |v| v.span());
        match src.resolve(self.env) {
            Ok(secret) => {
                if check_url(secret.expose()).is_err() {
                    let (k, what) = match &src {
                        SecretSource::Literal(_) => ("url", "`url`".to_owned()),
                        SecretSource::Env(v) => ("url_env", format!("the value of {v}")),
                        SecretSource::File(p) => {
                            ("url_file", format!("the content of {}", p.display()))
                        }
                    };
                    self.error_at(
                        &join(path, k),
                        key_span(k),
                        format!("{what} is not an http(s) URL (value not shown)"),
                    );
                }
            }
            Err(e @ SecretError::MissingEnv(_)) => {
                self.warn_at(
                    &join(path, "url_env"),
                    key_span("url_env"),
                    format!("{e}; the notifier is disabled until it is"),
                );
            }
            Err(e) => {
                self.error_at(&join(path, "url_file"), key_span("url_file"), e.to_string());
            }
        }
        Some(n)
    }
}

/// The config name of a signal.
pub fn signal_str(s: SignalName) -> &'static str {
    match s {
        SignalName::RequestRate => "request_rate",
        SignalName::ErrorRatio => "error_ratio",
        SignalName::LatencyP99 => "latency_p99",
        SignalName::CallerLatencyP99 => "caller_latency_p99",
        SignalName::CpuCores => "cpu_cores",
        SignalName::CpuThrottled => "cpu_throttled",
        SignalName::ContainersWaiting => "containers_waiting",
        SignalName::MemoryBytes => "memory_bytes",
        SignalName::Restarts => "restarts",
        SignalName::ReplicasUnavailable => "replicas_unavailable",
        SignalName::ConsumerLag => "consumer_lag",
        SignalName::QueueDepth => "queue_depth",
        SignalName::NodeCpuBusy => "node_cpu_busy",
        SignalName::NodeMemAvailable => "node_mem_available",
        SignalName::MessagesUnacked => "messages_unacked",
        SignalName::Consumers => "consumers",
        SignalName::PublishRate => "publish_rate",
        SignalName::DeliverRate => "deliver_rate",
        SignalName::UnderReplicatedPartitions => "under_replicated_partitions",
        SignalName::Connections => "connections",
        SignalName::OpsRate => "ops_rate",
        SignalName::TransactionRate => "transaction_rate",
        SignalName::ReplicationLag => "replication_lag",
        SignalName::ServiceDown => "service_down",
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// `http://` or `https://` followed by a host, without whitespace.
fn check_url(u: &str) -> Result<(), String> {
    let rest = u
        .strip_prefix("http://")
        .or_else(|| u.strip_prefix("https://"))
        .ok_or_else(|| "expected an http:// or https:// URL".to_owned())?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err("the URL has no host".into());
    }
    if u.chars().any(char::is_whitespace) {
        return Err("the URL contains whitespace".into());
    }
    Ok(())
}

/// serde messages, made a little friendlier.
fn tidy(msg: &str) -> String {
    msg.trim_end()
        .replace("invalid type: ", "wrong type: found ")
        .replace("unknown variant", "unknown value")
}

/// The known key closest to `key` by edit distance, if close enough to be a typo.
fn closest<'k>(key: &str, known: &[&'k str]) -> Option<&'k str> {
    known
        .iter()
        .map(|k| (levenshtein(key, k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min()
        .map(|(_, k)| k)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn rendered(src: &str) -> Vec<String> {
        check(src, &no_env)
            .diagnostics
            .iter()
            .map(|d| d.render("c.toml"))
            .collect()
    }

    #[test]
    fn example_passes_and_matches_serde() {
        let src = include_str!("../example.toml");
        let env = |k: &str| match k {
            "OPSCOPE_SLACK_WEBHOOK" => Some("https://hooks.example/x".to_owned()),
            "OPSCOPE_API_TOKEN" => Some("0123456789abcdef0123".to_owned()),
            _ => None,
        };
        let c = check(src, &env);
        assert!(c.diagnostics.is_empty(), "{:?}", c.diagnostics);
        assert_eq!(
            summary(&c.config),
            "2 scrape targets, 1 NATS server, 1 RabbitMQ API, 3 SLOs, 5 rules, 1 notifier"
        );
        // The field-by-field reader and plain serde agree on a valid file.
        let direct: Config = toml::from_str(src).unwrap();
        assert_eq!(direct, c.config);
        let r = &c.config.rules[0];
        assert!((r.threshold.value - 0.05).abs() < 1e-12);
        assert_eq!(r.for_.0.as_secs(), 120);
        assert_eq!(c.config.slos[0].burn_rates, default_burn_rates());
        assert_eq!(c.config.slos[2].burn_rates.len(), 2);
    }

    #[test]
    fn example_without_secret_env_is_a_warning() {
        let c = check(include_str!("../example.toml"), &no_env);
        assert!(!c.has_errors());
        assert_eq!(c.warning_count(), 2);
        assert_eq!(
            c.diagnostics[0].render("ex.toml"),
            "ex.toml:96:11: warning: notifier[0].url_env: environment variable OPSCOPE_SLACK_WEBHOOK is not set; the notifier is disabled until it is"
        );
        assert_eq!(
            c.diagnostics[1].render("ex.toml"),
            "ex.toml:102:13: warning: api.token_env: environment variable OPSCOPE_API_TOKEN is not set; annotations are refused until it is"
        );
    }

    #[test]
    fn syntax_errors_have_positions() {
        let out = rendered("[sources]\ninterval = \"15s\nretention = 2h\n");
        assert!(!out.is_empty());
        assert!(
            out[0].starts_with("c.toml:2:16: error: invalid basic string"),
            "{out:?}"
        );
        assert!(
            out[1].starts_with("c.toml:3:13: error: string values must be quoted"),
            "{out:?}"
        );
        assert!(out.iter().all(|l| l.contains(": error: ")));
    }

    #[test]
    fn every_error_is_reported_with_line_and_path() {
        let src = r#"[sources]
scrape = ["http://a:9100/metrics", "ftp://b"]
interval = "15 parsecs"
timeut = "5s"

[limits]
max_series = "many"

[[slo]]
service = "frontend"
availability = 1.5

[[slo]]
service = "cart"

[[rule]]
name = "r1"
signal = "latency_p99"
entity = "check[out"
op = ">"
threshold = "300ms"

[[rule]]
name = "r1"
signal = "cpuu"
entity = "x"
op = "=>"
threshold = 1
for = "-2m"
severity = "fatal"

[[rule]]
name = "r3"
signal = "memory"
entity = "x"
op = ">"
threshold = "300ms"
"#;
        let out = rendered(src);
        let expected = [
            "c.toml:2:36: error: sources.scrape[1]: expected an http:// or https:// URL",
            "c.toml:3:12: error: sources.interval: invalid duration \"15 parsecs\"",
            "c.toml:4:1: error: sources.timeut: unknown field `timeut`; did you mean `timeout`?",
            "c.toml:7:14: error: limits.max_series: wrong type: found string \"many\"",
            "c.toml:13:1: error: slo[1]: an SLO needs `availability` and/or `latency`",
            "c.toml:11:16: error: slo[0].availability: target 1.5 is outside (0, 1)",
            "c.toml:19:10: error: rule[0].entity: bad glob \"check[out\": '[' at position 6 is never closed",
            "c.toml:24:8: error: rule[1].name: duplicate rule name \"r1\" (first defined at line 17)",
            "c.toml:25:10: error: rule[1].signal: unknown value `cpuu`",
            "c.toml:27:6: error: rule[1].op: unknown value `=>`",
            "c.toml:29:7: error: rule[1].for: invalid duration \"-2m\": durations cannot be negative",
            "c.toml:30:12: error: rule[1].severity: unknown value `fatal`",
            "c.toml:37:13: error: rule[2].threshold: the unit does not fit signal `memory_bytes`; it takes a byte unit (MiB, GB)",
        ];
        for want in expected {
            assert!(
                out.iter().any(|l| l.starts_with(want)),
                "missing {want:?} in\n{}",
                out.join("\n")
            );
        }
        assert_eq!(out.len(), expected.len(), "{}", out.join("\n"));
    }

    #[test]
    fn slo_windows_and_duplicates() {
        let src = r#"[[slo]]
service = "a"
availability = 0.99
period = "1d"

[[slo]]
service = "b"
latency = { threshold = "0ms", target = 0.99 }
burn_rates = [{ severity = "page", factor = 0, long = "5m", short = "1h" }]

[[slo]]
service = "b"
availability = 0.9
"#;
        let out = rendered(src);
        let expected = [
            "c.toml:4:10: error: slo[0].period: period 1day is shorter than the default burn-rate window 3days",
            "c.toml:8:11: error: slo[1].latency.threshold: must be longer than 0s",
            "c.toml:9:15: error: slo[1].burn_rates[0]: factor 0 must be > 0",
            "c.toml:9:15: error: slo[1].burn_rates[0]: short window 1h must be > 0 and shorter than the long window 5m",
            "c.toml:12:11: error: slo[2].service: a second SLO for service \"b\"; merge them",
        ];
        for want in expected {
            assert!(
                out.iter().any(|l| l.starts_with(want)),
                "missing {want:?} in\n{}",
                out.join("\n")
            );
        }
    }

    #[test]
    fn notifier_secrets_are_checked_and_never_printed() {
        let dir = std::env::temp_dir().join(format!("opscope-config-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("hook");
        std::fs::write(&good, "https://hooks.example/SECRET-TOKEN\n").unwrap();
        let src = format!(
            r#"[[notifier]]
kind = "slack"
url = "not-a-url-SECRET-TOKEN"

[[notifier]]
kind = "teams"
url_file = "/nonexistent/opscope/hook"

[[notifier]]
kind = "webhook"
url_file = "{}"

[[notifier]]
kind = "webhook"
url = "https://a"
url_env = "B"

[[notifier]]
kind = "email"
url = "https://a"
"#,
            good.display()
        );
        let checked = check(&src, &no_env);
        let out: Vec<String> = checked
            .diagnostics
            .iter()
            .map(|d| d.render("c.toml"))
            .collect();
        let expected = [
            "c.toml:3:7: error: notifier[0].url: `url` is not an http(s) URL (value not shown)",
            "c.toml:7:12: error: notifier[1].url_file: cannot read secret file /nonexistent/opscope/hook",
            "c.toml:13:1: error: notifier[3]: set exactly one of `url`, `url_env`, `url_file`",
            "c.toml:19:8: error: notifier[4].kind: unknown value `email`",
        ];
        for want in expected {
            assert!(
                out.iter().any(|l| l.starts_with(want)),
                "missing {want:?} in\n{}",
                out.join("\n")
            );
        }
        assert_eq!(out.len(), expected.len(), "{out:#?}");
        assert!(out.iter().all(|l| !l.contains("SECRET-TOKEN")));
        assert!(!format!("{:?}", checked.config).contains("SECRET-TOKEN"));
        assert_eq!(
            checked.config.notifiers[2].resolve_url().unwrap().expose(),
            "https://hooks.example/SECRET-TOKEN"
        );
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn broker_and_kube_url_sources_are_checked_per_element() {
        let src = "[sources]\nnats = [\"http://127.0.0.1:8222\", \"nats://x:4222\"]\n\
                   rabbitmq_api = [\"http://127.0.0.1:15672\", \"http://127.0.0.1:15672\"]\n\
                   kube_url = \"http://127.0.0.1:9464\"\nkube = true\n";
        let c = check(src, &no_env);
        let out: Vec<String> = c.diagnostics.iter().map(|d| d.render("c.toml")).collect();
        assert_eq!(
            out,
            [
                "c.toml:2:34: error: sources.nats[1]: expected an http:// or https:// URL",
                "c.toml:3:43: warning: sources.rabbitmq_api[1]: duplicate URL http://127.0.0.1:15672",
                "c.toml:4:12: error: sources.kube_url: set either `kube` (kubeconfig or in-cluster) or `kube_url`, not both",
            ],
            "{out:#?}"
        );
        assert_eq!(c.config.sources.nats, ["http://127.0.0.1:8222"]);
        assert_eq!(c.config.sources.rabbitmq_api, ["http://127.0.0.1:15672"]);
        // The URL lists take comma-separated environment overrides like `scrape`.
        let env = |k: &str| {
            (k == "OPSCOPE_SOURCES_NATS").then(|| "http://a:8222, http://b:8222".to_owned())
        };
        let c = check("", &env);
        assert!(c.diagnostics.is_empty(), "{:?}", c.diagnostics);
        assert_eq!(c.config.sources.nats, ["http://a:8222", "http://b:8222"]);
    }

    #[test]
    fn api_token_is_checked_and_never_printed() {
        let dir = std::env::temp_dir().join(format!("opscope-api-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let short = dir.join("short");
        std::fs::write(&short, "SHORT-SECRET\n").unwrap();
        let good = dir.join("good");
        std::fs::write(&good, "0123456789abcdef-LONG-SECRET\n").unwrap();
        let cases = [
            (format!("[api]\ntoken_file = \"{}\"\n", good.display()), Vec::<String>::new()),
            (
                format!("[api]\ntoken_file = \"{}\"\n", short.display()),
                vec!["c.toml:2:14: error: api.token_file: the token must be at least 16 characters (value not shown)".to_owned()],
            ),
            (
                "[api]\ntoken_env = \"NOPE\"\n".to_owned(),
                vec!["c.toml:2:13: warning: api.token_env: environment variable NOPE is not set; annotations are refused until it is".to_owned()],
            ),
            (
                "[api]\ntoken = \"0123456789abcdef-LONG-SECRET\"\ntoken_env = \"X\"\n".to_owned(),
                vec!["c.toml:3:13: error: api.token_env: set at most one of `token`, `token_env`, `token_file`".to_owned()],
            ),
            (
                "[api]\nlisten = \"0.0.0.0:8080\"\n".to_owned(),
                vec!["c.toml:2:10: error: api.listen: 0.0.0.0:8080 is not a loopback address: set `token_env` or `token_file`".to_owned()],
            ),
            (
                "[api]\nlisten = \"localhost\"\n".to_owned(),
                vec!["c.toml:2:10: error: api.listen: invalid socket address syntax".to_owned()],
            ),
        ];
        for (src, want) in cases {
            let c = check(&src, &no_env);
            let out: Vec<String> = c.diagnostics.iter().map(|d| d.render("c.toml")).collect();
            assert_eq!(out, want, "{src}");
            assert!(!out.iter().any(|l| l.contains("SECRET")), "{out:?}");
            assert!(!format!("{:?}", c.config).contains("SECRET"));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn env_overrides_replace_file_values() {
        let src =
            "[sources]\nscrape = [\"http://a:1/metrics\"]\ninterval = \"15s\"\nkube = false\n";
        let env = |k: &str| match k {
            "OPSCOPE_SOURCES_INTERVAL" => Some("5s".to_owned()),
            "OPSCOPE_SOURCES_KUBE" => Some("true".to_owned()),
            _ => None,
        };
        let c = check(src, &env);
        assert!(c.diagnostics.is_empty(), "{:?}", c.diagnostics);
        assert_eq!(c.config.sources.interval.0.as_secs(), 5);
        assert_eq!(c.config.sources.kube, Kube::Default);
        let env = |k: &str| (k == "OPSCOPE_LIMITS_MAX_SERIES").then(|| "-3".to_owned());
        let out: Vec<String> = check(src, &env)
            .diagnostics
            .iter()
            .map(|d| d.render("c.toml"))
            .collect();
        assert_eq!(out.len(), 1);
        assert!(out[0].starts_with("env OPSCOPE_LIMITS_MAX_SERIES: error: limits.max_series: "));
    }

    #[test]
    fn kube_forms() {
        for (v, want) in [
            ("true", Kube::Default),
            ("false", Kube::Disabled),
            (
                "\"/k/config\"",
                Kube::Explicit {
                    kubeconfig: Some("/k/config".into()),
                    context: None,
                },
            ),
            (
                "{ context = \"prod\" }",
                Kube::Explicit {
                    kubeconfig: None,
                    context: Some("prod".into()),
                },
            ),
        ] {
            let c = check(
                &format!("[sources]\nsim = {{ scenario = \"latency\" }}\nkube = {v}\n"),
                &no_env,
            );
            assert!(c.diagnostics.is_empty(), "{v}: {:?}", c.diagnostics);
            assert_eq!(c.config.sources.kube, want);
        }
        let out = rendered("[sources]\nkube = { contxt = \"prod\" }\n");
        assert!(
            out.iter()
                .any(|l| l.starts_with("c.toml:2:10: error: sources.kube: unknown field `contxt`")),
            "{out:?}"
        );
    }

    #[test]
    fn empty_document_is_the_default() {
        let c = check("", &no_env);
        assert!(c.diagnostics.is_empty());
        assert_eq!(c.config, Config::default());
    }

    #[test]
    fn signal_names_round_trip() {
        for n in SignalName::ALL {
            let src = format!(
                "[[rule]]\nname = \"r\"\nsignal = \"{}\"\nentity = \"*\"\nop = \">\"\nthreshold = 1\n",
                signal_str(n)
            );
            let c = check(&src, &no_env);
            assert!(c.diagnostics.is_empty(), "{n:?}: {:?}", c.diagnostics);
            assert_eq!(c.config.rules[0].signal, n);
        }
    }

    #[test]
    fn levenshtein_hints() {
        assert_eq!(closest("intervall", SOURCES), Some("interval"));
        assert_eq!(closest("zzzzzz", SOURCES), None);
    }
}
