//! The views. Each page is a function of the snapshot (and the page's own data), re-run when a
//! new snapshot arrives; colours always come with a symbol or a word.

use crate::svg::{self, Band, ChartData, Mark, entity_param, health_class, url_value};
use crate::{Page, PageData, Spark};
use leptos::prelude::*;
use opscope_layout::Describe;
use opscope_layout::format::{self, health_symbol, health_word};
use opscope_layout::phrase::{remediation_title, remediation_why};
use opscope_model::{
    EntityId, EntityKind, Health, Incident, IncidentStatus, Severity, SignalKind, Snapshot,
};

/// Ranges the explorer offers, with their URL names.
pub const RANGES: [(&str, i64); 3] = [("15m", 900_000), ("1h", 3_600_000), ("6h", 21_600_000)];

/// The console: header, navigation, the page.
#[component]
pub fn App(data: PageData) -> impl IntoView {
    let PageData {
        page,
        snapshot,
        sparks,
        chart,
        catalog,
        replay,
        replay_status,
    } = data;
    let snap = RwSignal::new(snapshot);
    let sparks = RwSignal::new(sparks);
    let chart = RwSignal::new(chart);
    // None until the stream answers (the server's render and the first hydrated render agree).
    let online: RwSignal<Option<bool>> = RwSignal::new(None);
    let zoom = RwSignal::new(1.0_f64);
    #[cfg(feature = "hydrate")]
    crate::views::live::follow(page.clone(), snap, sparks, chart, online);
    let nav = nav_links(&page);
    let page_for_main = page.clone();
    let replay_note = replay.map(|r| replay_bar(&r, replay_status));
    view! {
        <div id="app" class="app">
            <header class="top">
                <a class="brand" href="/">"opscope"</a>
                <nav aria-label="views">{nav}</nav>
                {replay_note}
                <span class="status" role="status" aria-live="polite">
                    {move || snap.with(|s| status_line(s, online.get()))}
                </span>
            </header>
            <main id="main">
                {move || {
                    snap.with(|s| {
                        sparks.with(|sp| {
                            chart.with(|c| page_view(&page_for_main, s, sp, c.as_ref(), &catalog, zoom))
                        })
                    })
                }}
            </main>
        </div>
    }
}

/// The recording's name, where it stands, and pause / speed / seek buttons (a plain form, so
/// they work without JavaScript).
fn replay_bar(name: &str, st: Option<opscope_model::ReplayStatus>) -> AnyView {
    let state = st.map(|st| {
        format!(
            " · {} of {} · x{}{}",
            format::duration(st.position_ms - st.start_ms),
            format::duration(st.end_ms - st.start_ms),
            format::speed(st.speed),
            if st.finished {
                " · finished"
            } else if st.paused {
                " · paused"
            } else {
                ""
            }
        )
    });
    let paused = st.is_some_and(|s| s.paused);
    let buttons = [
        ("back10", "−10m", "back 10 minutes"),
        ("back", "−1m", "back 1 minute"),
        (
            "pause",
            if paused { "▶ play" } else { "❚❚ pause" },
            "pause or play",
        ),
        ("forward", "+1m", "forward 1 minute"),
        ("forward10", "+10m", "forward 10 minutes"),
        ("slower", "slower", "half the speed"),
        ("faster", "faster", "double the speed"),
    ]
    .into_iter()
    .map(|(cmd, label, title)| {
        view! { <button type="submit" name="cmd" value=cmd title=title>{label}</button> }
    })
    .collect_view();
    view! {
        <form class="replay" method="post" action="/replay" aria-label="replay controls">
            <span>{format!("▶ replaying {name}{}", state.unwrap_or_default())}</span>
            " " {buttons}
        </form>
    }
    .into_any()
}

fn nav_links(page: &Page) -> AnyView {
    let current = match page {
        Page::Overview => 0,
        Page::Topology { .. } => 1,
        Page::Incidents | Page::Incident { .. } => 2,
        Page::Explore { .. } => 3,
    };
    [
        ("/", "Overview", "o"),
        ("/topology", "Topology", "t"),
        ("/incidents", "Incidents", "i"),
        ("/explore", "Explore", "e"),
    ]
    .into_iter()
    .enumerate()
    .map(|(i, (href, label, key))| {
        let cur = (i == current).then_some("page");
        view! { <a href=href aria-current=cur accesskey=key>{label}</a> }
    })
    .collect_view()
    .into_any()
}

/// The header's status: freshness and whether the page is live.
fn status_line(s: &Snapshot, online: Option<bool>) -> AnyView {
    let open = s.open_incidents().count();
    let stale = s.sources.iter().filter(|x| x.stale).count();
    let (class, word) = match online {
        None => ("conn", "snapshot".to_owned()),
        Some(true) => ("conn live", "● live".to_owned()),
        Some(false) => ("conn offline", "✖ offline — reconnecting".to_owned()),
    };
    let learning = s.learning_until_ms.filter(|&u| u > s.ts_ms).map(|u| {
        view! {
            " · "
            <span class="learning">
                {format!("learning what is normal, {} left", format::duration(u - s.ts_ms))}
            </span>
        }
    });
    view! {
        <span class=class>{word}</span>
        " · " {format!("cycle {} at {} UTC", s.cycle, format::clock(s.ts_ms))}
        " · " <a href="/incidents" class={if open > 0 { "open-count h-crit" } else { "open-count" }}>
            {format!("{open} open incident{}", if open == 1 { "" } else { "s" })}
        </a>
        {(stale > 0).then(|| view! {
            " · " <span class="h-warn">"▲ " {format!("{stale} stale source{}", if stale == 1 { "" } else { "s" })}</span>
        })}
        {learning}
    }
    .into_any()
}

fn page_view(
    page: &Page,
    s: &Snapshot,
    sparks: &[Spark],
    chart: Option<&ChartData>,
    catalog: &[(EntityId, Vec<SignalKind>)],
    zoom: RwSignal<f64>,
) -> AnyView {
    match page {
        Page::Overview => overview(s, sparks),
        Page::Topology { focus } => topology(s, focus.as_ref(), zoom),
        Page::Incidents => incidents(s),
        Page::Incident { id } => incident(s, *id),
        Page::Explore {
            entity,
            signal,
            live_range_ms,
        } => explore(s, entity.as_ref(), *signal, *live_range_ms, chart, catalog),
    }
}

fn health_badge(h: Health) -> AnyView {
    view! {
        <span class=format!("health {}", health_class(h))>
            <span aria-hidden="true">{health_symbol(h)}</span>
            " "
            {health_word(h)}
        </span>
    }
    .into_any()
}

fn severity_badge(sev: Severity) -> AnyView {
    let (h, word) = match sev {
        Severity::Critical => (Health::Critical, "critical"),
        Severity::Warning => (Health::Warning, "warning"),
    };
    view! {
        <span class=format!("sev {}", health_class(h))>
            <span aria-hidden="true">{health_symbol(h)}</span>
            " "
            {word}
        </span>
    }
    .into_any()
}

fn signal_of(s: &Snapshot, id: &EntityId, kind: SignalKind) -> Option<f64> {
    s.entities
        .iter()
        .find(|e| &e.entity == id)
        .and_then(|e| e.signals.iter().find(|(k, _)| *k == kind))
        .map(|(_, v)| *v)
}

fn cell(s: &Snapshot, id: &EntityId, kind: SignalKind) -> String {
    signal_of(s, id, kind).map_or_else(|| format::MISSING.to_owned(), |v| format::value(kind, v))
}

fn explore_href(id: &EntityId, kind: SignalKind) -> String {
    format!(
        "/explore?entity={}&signal={}&range=1h",
        url_value(&entity_param(id)),
        signal_param(kind)
    )
}

/// A signal kind as a URL parameter (`latency_p99`).
pub fn signal_param(kind: SignalKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn spark_for(sparks: &[Spark], id: &EntityId, kind: SignalKind) -> String {
    sparks
        .iter()
        .find(|sp| &sp.entity == id && sp.kind == kind)
        .map(|sp| {
            svg::sparkline(
                &sp.values,
                &format!("{} {} recently", id.name, kind.label()),
            )
        })
        .unwrap_or_default()
}

/// The workloads' golden signals and the spark drawn beside them.
pub const GOLDEN: [SignalKind; 4] = [
    SignalKind::RequestRate,
    SignalKind::ErrorRatio,
    SignalKind::LatencyP99,
    SignalKind::CpuCores,
];

/// Signals that are a broker's or datastore's backlog, in order of preference.
pub const BACKLOG: [SignalKind; 4] = [
    SignalKind::ConsumerLag,
    SignalKind::QueueDepth,
    SignalKind::MessagesUnacked,
    SignalKind::ReplicationLag,
];

fn overview(s: &Snapshot, sparks: &[Spark]) -> AnyView {
    let mut workloads: Vec<(EntityId, Health)> = s
        .entities
        .iter()
        .filter(|e| e.entity.kind == EntityKind::Workload)
        .map(|e| (e.entity.clone(), e.health))
        .collect();
    workloads.sort();
    let mut namespaces: Vec<String> = workloads.iter().map(|(e, _)| e.namespace.clone()).collect();
    namespaces.dedup();
    let ns_tables = namespaces
        .into_iter()
        .map(|ns| {
            let rows: Vec<(EntityId, Health)> = workloads
                .iter()
                .filter(|(e, _)| e.namespace == ns)
                .cloned()
                .collect();
            let worst = rows.iter().map(|(_, h)| *h).max().unwrap_or(Health::Unknown);
            let rows = rows
                .into_iter()
                .map(|(id, h)| {
                    let cells = GOLDEN
                        .iter()
                        .map(|&k| {
                            view! {
                                <td class="num"><a href=explore_href(&id, k)>{cell(s, &id, k)}</a></td>
                            }
                        })
                        .collect_view();
                    let spark = spark_for(sparks, &id, SignalKind::LatencyP99);
                    view! {
                        <tr data-entity=entity_param(&id)>
                            <th scope="row"><a href=svg::focus_href(&id)>{id.name.clone()}</a></th>
                            <td>{health_badge(h)}</td>
                            {cells}
                            <td class="spark-cell" inner_html=spark></td>
                        </tr>
                    }
                })
                .collect_view();
            view! {
                <section class="panel">
                    <h2>{health_badge(worst)} " namespace " {ns.clone()}</h2>
                    <table class="grid">
                        <thead><tr>
                            <th scope="col">"workload"</th><th scope="col">"health"</th>
                            <th scope="col" class="num">"rate"</th><th scope="col" class="num">"errors"</th>
                            <th scope="col" class="num">"p99"</th><th scope="col" class="num">"CPU"</th>
                            <th scope="col">"p99, last 60 cycles"</th>
                        </tr></thead>
                        <tbody>{rows}</tbody>
                    </table>
                </section>
            }
        })
        .collect_view();

    let mut infra: Vec<(EntityId, Health)> = s
        .entities
        .iter()
        .filter(|e| {
            matches!(
                e.entity.kind,
                EntityKind::Topic
                    | EntityKind::Queue
                    | EntityKind::Broker
                    | EntityKind::Datastore
                    | EntityKind::ConsumerGroup
            )
        })
        .map(|e| (e.entity.clone(), e.health))
        .collect();
    infra.sort();
    let infra_rows = infra
        .into_iter()
        .map(|(id, h)| {
            let backlog = BACKLOG
                .iter()
                .find_map(|&k| signal_of(s, &id, k).map(|v| (k, v)))
                .map_or_else(
                    || format::MISSING.to_owned(),
                    |(k, v)| format!("{} {}", k.label(), format::value(k, v)),
                );
            let rate = [
                SignalKind::PublishRate,
                SignalKind::OpsRate,
                SignalKind::TransactionRate,
            ]
            .iter()
            .find_map(|&k| signal_of(s, &id, k).map(|v| format::value(k, v)))
            .unwrap_or_else(|| format::MISSING.to_owned());
            view! {
                <tr data-entity=entity_param(&id)>
                    <th scope="row">{format::entity_short(&id)}</th>
                    <td>{id.kind.as_str()}</td>
                    <td>{health_badge(h)}</td>
                    <td class="num">{backlog}</td>
                    <td class="num">{rate}</td>
                </tr>
            }
        })
        .collect_view();

    let open: Vec<&Incident> = s.open_incidents().collect();
    let crit = open
        .iter()
        .filter(|i| i.severity == Severity::Critical)
        .count();
    let incident_items = open.iter().map(|i| incident_item(i)).collect_view();
    let sources = s
        .sources
        .iter()
        .map(|src| {
            let h = if src.stale {
                Health::Warning
            } else {
                Health::Ok
            };
            view! {
                <tr>
                    <th scope="row">{src.name.clone()}</th>
                    <td>{health_badge(h)} {src.stale.then_some(" stale")}</td>
                    <td>{src.last_success_ms.map_or_else(|| "never".to_owned(), |t| format!("{} UTC", format::clock(t)))}</td>
                    <td class="num">{src.samples}</td>
                    <td class="err">{src.last_error.clone().unwrap_or_default()}</td>
                </tr>
            }
        })
        .collect_view();
    let slos = s
        .slos
        .iter()
        .map(|o| {
            let left = o.budget_remaining;
            let h = match left {
                Some(x) if x <= 0.0 => Health::Critical,
                Some(x) if x < 0.25 => Health::Warning,
                Some(_) => Health::Ok,
                None => Health::Unknown,
            };
            view! {
                <tr>
                    <th scope="row">{o.service.clone()}</th>
                    <td>{format::objective(o.objective, o.target)}</td>
                    <td>{health_badge(h)}</td>
                    <td class="num">{format::budget_percent(left)}</td>
                </tr>
            }
        })
        .collect_view();
    let no_slos = s.slos.is_empty();
    view! {
        <h1>"Overview"</h1>
        <section class="panel incidents-panel" aria-labelledby="open-h">
            <h2 id="open-h">
                {format!("Open incidents: {}", open.len())}
                {(crit > 0).then(|| view! { " (" {crit} " critical)" })}
            </h2>
            {if open.is_empty() {
                view! { <p class="quiet">"● nothing open"</p> }.into_any()
            } else {
                view! { <ul class="incident-list">{incident_items}</ul> }.into_any()
            }}
        </section>
        {ns_tables}
        <section class="panel">
            <h2>"Brokers, topics, queues and datastores"</h2>
            <table class="grid">
                <thead><tr>
                    <th scope="col">"name"</th><th scope="col">"kind"</th><th scope="col">"health"</th>
                    <th scope="col" class="num">"backlog"</th><th scope="col" class="num">"rate"</th>
                </tr></thead>
                <tbody>{infra_rows}</tbody>
            </table>
        </section>
        <section class="panel">
            <h2>"SLO budgets"</h2>
            {if no_slos {
                view! { <p class="quiet">"no SLOs configured"</p> }.into_any()
            } else {
                view! {
                    <table class="grid"><thead><tr>
                        <th scope="col">"service"</th><th scope="col">"objective"</th>
                        <th scope="col">"health"</th><th scope="col" class="num">"budget left"</th>
                    </tr></thead><tbody>{slos}</tbody></table>
                }.into_any()
            }}
        </section>
        <section class="panel">
            <h2>"Sources"</h2>
            <table class="grid">
                <thead><tr>
                    <th scope="col">"source"</th><th scope="col">"state"</th><th scope="col">"last success"</th>
                    <th scope="col" class="num">"samples"</th><th scope="col">"last error"</th>
                </tr></thead>
                <tbody>{sources}</tbody>
            </table>
        </section>
    }
    .into_any()
}

fn incident_item(i: &Incident) -> AnyView {
    let top = i.causes.first().map(|c| {
        format!(
            "likely {} ({}, {:.0}%)",
            c.entity.name,
            c.signal.label(),
            c.confidence * 100.0
        )
    });
    let status = match i.status {
        IncidentStatus::Open => "open".to_owned(),
        IncidentStatus::Resolved => "resolved".to_owned(),
    };
    view! {
        <li class="incident" data-incident=i.id>
            {severity_badge(i.severity)} " "
            <a href=format!("/incidents/INC-{}", i.id)>{format!("INC-{}", i.id)} " " {i.title.clone()}</a>
            <span class="meta">
                {format!(" · {status} · since {} UTC", format::clock(i.first_seen_ms))}
                {top.map(|t| format!(" · {t}"))}
            </span>
        </li>
    }
    .into_any()
}

fn topology(s: &Snapshot, focus: Option<&EntityId>, zoom: RwSignal<f64>) -> AnyView {
    let lay = svg::topology_layout(s, focus);
    let drawn = svg::topology(s, &lay, focus, zoom.get());
    let heading = match focus {
        Some(f) => format!("Topology: {} with its callers and callees", f.name),
        None => "Topology".to_owned(),
    };
    let unfocus = focus.map(|_| view! { <a class="button" href="/topology">"show everything"</a> });
    let focus_links = focus.map(|f| {
        view! {
            <a class="button" href=explore_href(f, SignalKind::LatencyP99)>"explore its signals"</a>
        }
    });
    let nodes = lay.nodes.len();
    let legend = [
        Health::Ok,
        Health::Warning,
        Health::Critical,
        Health::Unknown,
    ]
    .into_iter()
    .map(|h| view! { <li>{health_badge(h)}</li> })
    .collect_view();
    view! {
        <h1>{heading}</h1>
        <div class="toolbar">
            {unfocus}
            {focus_links}
            <span class="quiet">{format!("{nodes} nodes · click a node to focus it; hover or focus an edge for its rate, errors and p99")}</span>
            <span class="zoom" role="group" aria-label="zoom">
                <button type="button" class="zoom-in" aria-label="zoom in"
                    on:click=move |_| zoom.update(|z| *z = (*z * 1.25).min(4.0))>"+"</button>
                <button type="button" class="zoom-out" aria-label="zoom out"
                    on:click=move |_| zoom.update(|z| *z = (*z * 0.8).max(0.25))>"−"</button>
                <button type="button" class="zoom-reset" on:click=move |_| zoom.set(1.0)>"100%"</button>
            </span>
        </div>
        <ul class="legend" aria-label="legend">{legend}
            <li><span class="edge-key calls">"──▶"</span>" calls"</li>
            <li><span class="edge-key messages">"┄┄▶"</span>" messages"</li>
        </ul>
        <div class="topo-wrap" tabindex="0" aria-label="topology, scroll to pan" inner_html=drawn></div>
    }
    .into_any()
}

fn incidents(s: &Snapshot) -> AnyView {
    let mut all: Vec<&Incident> = s.incidents.iter().collect();
    all.sort_by_key(|i| {
        (
            i.status != IncidentStatus::Open,
            std::cmp::Reverse(i.first_seen_ms),
        )
    });
    let empty = all.is_empty();
    let items = all.into_iter().map(incident_item).collect_view();
    view! {
        <h1>"Incidents"</h1>
        {if empty {
            view! { <p class="quiet">"● no incidents in the retention window"</p> }.into_any()
        } else {
            view! { <ul class="incident-list">{items}</ul> }.into_any()
        }}
    }
    .into_any()
}

/// One row of an incident's timeline.
struct Row {
    ts_ms: i64,
    kind: &'static str,
    text: String,
}

fn timeline(s: &Snapshot, i: &Incident) -> Vec<Row> {
    let mut rows: Vec<Row> = i
        .timeline
        .iter()
        .map(|t| Row {
            ts_ms: t.ts_ms,
            kind: "incident",
            text: t.text.clone(),
        })
        .collect();
    for a in &i.anomalies {
        rows.push(Row {
            ts_ms: a.onset_ms,
            kind: "anomaly",
            text: format!("{}: {}", a.signal.entity.name, a.describe()),
        });
    }
    let members: Vec<&EntityId> = i
        .anomalies
        .iter()
        .map(|a| &a.signal.entity)
        .chain(i.causes.iter().map(|c| &c.entity))
        .collect();
    let until = i.resolved_ms.unwrap_or(i.last_seen_ms);
    for c in &s.changes {
        if c.ts_ms >= i.first_seen_ms - 30 * 60_000
            && c.ts_ms <= until
            && members.contains(&&c.entity)
        {
            rows.push(Row {
                ts_ms: c.ts_ms,
                kind: "change",
                text: c.describe(),
            });
        }
    }
    for al in &s.alerts {
        if members.contains(&&al.entity) {
            rows.push(Row {
                ts_ms: al.fired_at_ms.unwrap_or(al.active_since_ms),
                kind: "alert",
                text: al.describe(),
            });
        }
    }
    rows.sort_by_key(|r| r.ts_ms);
    rows
}

/// The chart of one cause's signal: its series, the onset of its anomalies and the changes on
/// its entity.
pub fn cause_chart(s: &Snapshot, i: &Incident, rank: usize) -> Option<ChartData> {
    let c = i.causes.get(rank)?;
    let first = c.series.first().map_or(i.first_seen_ms, |p| p.ts_ms);
    let last = c.series.last().map_or(i.last_seen_ms, |p| p.ts_ms);
    let mut marks: Vec<Mark> = i
        .anomalies
        .iter()
        .filter(|a| a.signal.entity == c.entity)
        .map(|a| Mark {
            ts_ms: a.onset_ms,
            label: format!("onset: {}", a.describe()),
            class: "onset".into(),
        })
        .collect();
    marks.extend(
        s.changes
            .iter()
            .filter(|ch| ch.entity == c.entity)
            .map(|ch| Mark {
                ts_ms: ch.ts_ms,
                label: ch.describe(),
                class: "change".into(),
            }),
    );
    Some(ChartData {
        kind: Some(c.signal),
        points: c.series.clone(),
        from_ms: first,
        to_ms: last.max(first + 1),
        bands: vec![Band {
            from_ms: i.first_seen_ms,
            to_ms: i.resolved_ms.unwrap_or(last),
        }],
        marks,
        scores: Vec::new(),
    })
}

fn incident(s: &Snapshot, id: u64) -> AnyView {
    let Some(i) = s.incidents.iter().find(|i| i.id == id) else {
        return view! {
            <h1>{format!("INC-{id}")}</h1>
            <p class="quiet">"This incident is not in the retention window (or not yet open). "
                <a href="/incidents">"All incidents"</a></p>
        }
        .into_any();
    };
    let status = match (i.status, i.resolved_ms) {
        (IncidentStatus::Open, _) => format!(
            "open for {} (since {} UTC)",
            format::duration(s.ts_ms - i.first_seen_ms),
            format::clock(i.first_seen_ms)
        ),
        (IncidentStatus::Resolved, Some(r)) => format!(
            "resolved at {} UTC after {}",
            format::clock(r),
            format::duration(r - i.first_seen_ms)
        ),
        (IncidentStatus::Resolved, None) => "resolved".to_owned(),
    };
    let causes = i
        .causes
        .iter()
        .enumerate()
        .map(|(rank, c)| {
            let evidence = c
                .evidence
                .iter()
                .map(|e| view! { <li>{e.describe()}</li> })
                .collect_view();
            let chart = cause_chart(s, i, rank)
                .map(|d| {
                    svg::chart(
                        &d,
                        &format!("{} {} around the incident", c.entity.name, c.signal.label()),
                    )
                })
                .unwrap_or_default();
            view! {
                <li class="cause" data-rank={rank + 1}>
                    <h3>
                        <span class="rank">{format!("#{}", rank + 1)}</span> " "
                        <a href=svg::focus_href(&c.entity)>{c.entity.name.clone()}</a>
                        " " <span class="kind">{c.entity.kind.as_str()}</span>
                        " — " {c.signal.label()}
                        <span class="confidence">{format!(" · confidence {:.0}%", c.confidence * 100.0)}</span>
                        " " <a class="small" href=explore_href(&c.entity, c.signal)>"explore"</a>
                    </h3>
                    <ul class="evidence">{evidence}</ul>
                    <div class="chart-wrap" inner_html=chart></div>
                </li>
            }
        })
        .collect_view();
    let remediation = i
        .remediation
        .iter()
        .map(|r| {
            let cmd = r.command.clone();
            view! {
                <li class="remedy">
                    <strong>{remediation_title(r)}</strong>
                    <p>{remediation_why(r)}</p>
                    {cmd.map(|c| {
                        let copy = c.clone();
                        view! {
                            <div class="command">
                                <code>{c}</code>
                                <button type="button" class="copy" data-copy=copy.clone()
                                    on:click=move |_| copy_text(&copy)>"copy"</button>
                            </div>
                        }
                    })}
                </li>
            }
        })
        .collect_view();
    let rows = timeline(s, i)
        .into_iter()
        .map(|r| {
            view! {
                <li class=format!("tl {}", r.kind)>
                    <time>{format!("{} UTC", format::clock(r.ts_ms))}</time>
                    " " <span class="tl-kind">{r.kind}</span> " " {r.text}
                </li>
            }
        })
        .collect_view();
    let link = format!("/incidents/INC-{}", i.id);
    let link_copy = link.clone();
    let no_remedy = i.remediation.is_empty();
    view! {
        <h1>{severity_badge(i.severity)} " " {format!("INC-{} {}", i.id, i.title)}</h1>
        <p class="meta">{status}
            " · " <a href=link.clone() class="share">"link to this incident"</a>
            " " <button type="button" class="copy" on:click=move |_| copy_link(&link_copy)>"copy link"</button>
        </p>
        <section class="panel" aria-labelledby="causes-h">
            <h2 id="causes-h">"Likely causes"</h2>
            <ol class="causes">{causes}</ol>
        </section>
        <section class="panel" aria-labelledby="rem-h">
            <h2 id="rem-h">"Suggested remediation"</h2>
            {if no_remedy {
                view! { <p class="quiet">"none suggested"</p> }.into_any()
            } else {
                view! { <ul class="remediation">{remediation}</ul> }.into_any()
            }}
            <p class="quiet">"opscope suggests; it never runs these."</p>
        </section>
        <section class="panel" aria-labelledby="tl-h">
            <h2 id="tl-h">"Timeline"</h2>
            <ol class="timeline">{rows}</ol>
        </section>
    }
    .into_any()
}

fn copy_text(text: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(w) = web_sys::window() {
        let _ = w.navigator().clipboard().write_text(text);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = text;
}

fn copy_link(path: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(w) = web_sys::window() {
        let origin = w.location().origin().unwrap_or_default();
        copy_text(&format!("{origin}{path}"));
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = path;
}

fn explore(
    s: &Snapshot,
    entity: Option<&EntityId>,
    signal: Option<SignalKind>,
    live_range_ms: Option<i64>,
    chart: Option<&ChartData>,
    catalog: &[(EntityId, Vec<SignalKind>)],
) -> AnyView {
    let options = catalog
        .iter()
        .map(|(id, _)| {
            let sel = entity == Some(id);
            view! { <option value=entity_param(id) selected=sel>{id.to_string()}</option> }
        })
        .collect_view();
    let kinds: Vec<SignalKind> = entity
        .and_then(|e| catalog.iter().find(|(id, _)| id == e))
        .map(|(_, k)| k.clone())
        .unwrap_or_else(|| SignalKind::ALL.to_vec());
    let signal_options = kinds
        .into_iter()
        .map(|k| {
            let sel = signal == Some(k);
            view! { <option value=signal_param(k) selected=sel>{k.label()}</option> }
        })
        .collect_view();
    let range_links = match (entity, signal) {
        (Some(e), Some(k)) => RANGES
            .iter()
            .map(|(name, ms)| {
                let cur = (live_range_ms == Some(*ms)).then_some("true");
                view! {
                    <a class="button range" aria-pressed=cur href=format!(
                        "/explore?entity={}&signal={}&range={name}",
                        url_value(&entity_param(e)),
                        signal_param(k)
                    )>{format!("last {name}")}</a>
                }
            })
            .collect_view()
            .into_any(),
        _ => ().into_any(),
    };
    let drawn = match (entity, signal, chart) {
        (Some(e), Some(k), Some(d)) => {
            let title = format!(
                "{} {} from {} to {} UTC",
                e.name,
                k.label(),
                format::clock(d.from_ms),
                format::clock(d.to_ms)
            );
            let latest = d
                .points
                .last()
                .map(|p| {
                    format!(
                        "latest {} at {} UTC",
                        format::value(k, p.value),
                        format::clock(p.ts_ms)
                    )
                })
                .unwrap_or_else(|| "no value in this range".to_owned());
            let windows = d.bands.len();
            view! {
                <figure class="panel">
                    <figcaption>{title.clone()} " · " {latest}
                        {(windows > 0).then(|| format!(" · {windows} anomaly window{} shaded", if windows == 1 { "" } else { "s" }))}
                        " · under it, the detector's anomaly score (dashed: one threshold)"
                    </figcaption>
                    <div class="chart-wrap" inner_html=svg::chart(d, &title)></div>
                    <div class="chart-wrap score-wrap" inner_html=svg::score_strip(d, crate::SCORE_ALARM)></div>
                </figure>
            }
            .into_any()
        }
        _ => view! { <p class="quiet">"Pick an entity and a signal."</p> }.into_any(),
    };
    let (from_v, to_v) = chart
        .filter(|_| live_range_ms.is_none())
        .map(|d| (d.from_ms.to_string(), d.to_ms.to_string()))
        .unwrap_or_default();
    let _ = s;
    view! {
        <h1>"Explore"</h1>
        <form class="explore-form" method="get" action="/explore">
            <label>"entity " <select name="entity">{options}</select></label>
            <label>"signal " <select name="signal">{signal_options}</select></label>
            <label>"from (Unix ms) " <input type="text" name="from" inputmode="numeric" size="14" value=from_v/></label>
            <label>"to " <input type="text" name="to" inputmode="numeric" size="14" value=to_v/></label>
            <button type="submit">"show"</button>
        </form>
        <div class="toolbar">{range_links}</div>
        {drawn}
    }
    .into_any()
}

#[cfg(feature = "hydrate")]
mod live {
    //! The browser side: follow `/api/v1/stream` and say when the connection is down (the
    //! browser's EventSource reconnects by itself and sends `Last-Event-ID`).

    use crate::svg::ChartData;
    use crate::{Page, Spark, push_chart, push_sparks};
    use leptos::prelude::*;
    use opscope_model::Snapshot;
    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;

    pub fn follow(
        page: Page,
        snap: RwSignal<Snapshot>,
        sparks: RwSignal<Vec<Spark>>,
        chart: RwSignal<Option<ChartData>>,
        online: RwSignal<Option<bool>>,
    ) {
        let since = snap.with_untracked(|s| s.cycle);
        let Ok(es) = web_sys::EventSource::new(&format!("/api/v1/stream?since={since}")) else {
            online.set(Some(false));
            return;
        };
        let on_open = Closure::<dyn FnMut()>::new(move || online.set(Some(true)));
        es.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        on_open.forget();
        let on_error = Closure::<dyn FnMut()>::new(move || online.set(Some(false)));
        es.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        on_error.forget();
        let on_snapshot =
            Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
                let Some(text) = ev.data().as_string() else {
                    return;
                };
                match serde_json::from_str::<Snapshot>(&text) {
                    Ok(s) => {
                        online.set(Some(true));
                        sparks.update(|sp| push_sparks(sp, &s));
                        chart.update(|c| {
                            if let Some(c) = c {
                                push_chart(c, &page, &s);
                            }
                        });
                        snap.set(s);
                    }
                    Err(e) => web_sys::console::error_1(&format!("opscope: snapshot: {e}").into()),
                }
            });
        let _ =
            es.add_event_listener_with_callback("snapshot", on_snapshot.as_ref().unchecked_ref());
        on_snapshot.forget();
        // Keep the EventSource for the page's life.
        std::mem::forget(es);
    }
}
