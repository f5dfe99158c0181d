//! opscope's web console: the views, written once with leptos, rendered to HTML on the server
//! (`ssr`) and hydrated in the browser (`hydrate`), where the server-sent snapshots keep them
//! live.
//!
//! The server embeds the page's data (the [`PageData`] it rendered from) as JSON after the app;
//! the browser reads it back, hydrates the same view over the same data, then follows
//! `/api/v1/stream`. Links are plain links, so every view has a URL and reading needs no
//! script. This crate depends on the read model and the layout crate only, so the wasm build
//! compiles neither polars, kube, linfa nor tokio.

pub mod svg;
mod views;

use opscope_model::{EntityId, Point, SignalKind, Snapshot};
use serde::{Deserialize, Serialize};

pub use views::{App, GOLDEN, RANGES, cause_chart, signal_param};

/// Which view a URL asks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "view", rename_all = "snake_case")]
pub enum Page {
    Overview,
    Topology {
        focus: Option<EntityId>,
    },
    Incidents,
    Incident {
        id: u64,
    },
    Explore {
        entity: Option<EntityId>,
        signal: Option<SignalKind>,
        /// The range in ms when it is relative to now (15 m, 1 h, 6 h): the chart then
        /// follows live data. `None` for a fixed `from`..`to`.
        live_range_ms: Option<i64>,
    },
}

/// Recent values of one signal of one entity, for sparklines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spark {
    pub entity: EntityId,
    pub kind: SignalKind,
    pub values: Vec<f64>,
}

/// The score of a deviation of exactly one threshold (`detectors::signal::squash(1.0)`):
/// where the level test starts calling a value anomalous, drawn on the score strip. A plain
/// number here because the UI builds for wasm; `tests/web.rs` checks it against the detector.
pub const SCORE_ALARM: f64 = 0.5;

/// Points kept per sparkline.
pub const SPARK_POINTS: usize = 60;

/// Everything a page is rendered from: the same value on the server and, after hydration, in
/// the browser.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageData {
    pub page: Page,
    pub snapshot: Snapshot,
    /// Sparklines of the overview.
    #[serde(default)]
    pub sparks: Vec<Spark>,
    /// The explorer's chart.
    #[serde(default)]
    pub chart: Option<svg::ChartData>,
    /// Entities and signal kinds the explorer offers.
    #[serde(default)]
    pub catalog: Vec<(EntityId, Vec<SignalKind>)>,
    /// When the data is a recording being played, its name.
    #[serde(default)]
    pub replay: Option<String>,
    /// Where the recording's playback stood when the page was rendered.
    #[serde(default)]
    pub replay_status: Option<opscope_model::ReplayStatus>,
}

impl PageData {
    /// The browser tab's title.
    pub fn title(&self) -> String {
        let open = self.snapshot.open_incidents().count();
        let lead = match &self.page {
            Page::Overview => "Overview".to_owned(),
            Page::Topology { focus: Some(f) } => format!("Topology · {}", f.name),
            Page::Topology { focus: None } => "Topology".to_owned(),
            Page::Incidents => "Incidents".to_owned(),
            Page::Incident { id } => format!("INC-{id}"),
            Page::Explore {
                entity: Some(e),
                signal: Some(k),
                ..
            } => format!("{} · {}", e.name, k.label()),
            Page::Explore { .. } => "Explore".to_owned(),
        };
        if open > 0 {
            format!("({open}) {lead} · opscope")
        } else {
            format!("{lead} · opscope")
        }
    }
}

/// Append the snapshot's values to the sparklines (the browser does this on every update).
pub fn push_sparks(sparks: &mut [Spark], s: &Snapshot) {
    for sp in sparks.iter_mut() {
        let v = s
            .entities
            .iter()
            .find(|e| e.entity == sp.entity)
            .and_then(|e| e.signals.iter().find(|(k, _)| *k == sp.kind))
            .map_or(f64::NAN, |(_, v)| *v);
        sp.values.push(v);
        if sp.values.len() > SPARK_POINTS {
            let cut = sp.values.len() - SPARK_POINTS;
            sp.values.drain(..cut);
        }
    }
}

/// Follow live data on a relative-range chart: append the newest value and drop what fell out.
pub fn push_chart(chart: &mut svg::ChartData, page: &Page, s: &Snapshot) {
    let Page::Explore {
        entity: Some(entity),
        signal: Some(kind),
        live_range_ms: Some(range),
    } = page
    else {
        return;
    };
    if s.ts_ms <= chart.points.last().map_or(i64::MIN, |p| p.ts_ms) {
        return;
    }
    if let Some(e) = s.entities.iter().find(|e| &e.entity == entity) {
        for (values, series) in [
            (&e.signals, &mut chart.points),
            (&e.scores, &mut chart.scores),
        ] {
            if let Some((_, v)) = values.iter().find(|(k, _)| k == kind) {
                series.push(Point {
                    ts_ms: s.ts_ms,
                    value: *v,
                });
            }
        }
    }
    chart.to_ms = s.ts_ms;
    chart.from_ms = s.ts_ms - range;
    let from = chart.from_ms;
    chart.points.retain(|p| p.ts_ms >= from);
    chart.scores.retain(|p| p.ts_ms >= from);
}

/// JSON safe to place inside `<script type="application/json">`: no `<` at all, so no
/// `</script>` or `<!--` can come from a label value.
pub fn script_json<T: Serialize>(v: &T) -> Result<String, serde_json::Error> {
    Ok(serde_json::to_string(v)?.replace('<', "\\u003c"))
}

/// Names of the static assets the page links to (content-hashed by the server's build).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Assets {
    pub css: String,
    /// The hydration bundle's JS glue and wasm, when built; without them the page is
    /// server-rendered only (still readable, not live).
    pub js: Option<String>,
    pub wasm: Option<String>,
}

/// The whole HTML document of a page: the app rendered on the server, its data, and the
/// script that hydrates it.
#[cfg(feature = "ssr")]
pub fn document(data: &PageData, assets: &Assets) -> Result<String, serde_json::Error> {
    use leptos::prelude::*;
    let json = script_json(data)?;
    let title = svg::esc(&data.title());
    let d = data.clone();
    let owner = Owner::new();
    let app = owner.with(move || view! { <App data=d/> }.to_html());
    let hydrate = match (&assets.js, &assets.wasm) {
        (Some(js), Some(wasm)) => format!(
            r#"<script type="module">import init, {{ hydrate }} from "/assets/{js}"; init({{ module_or_path: "/assets/{wasm}" }}).then(() => hydrate());</script>"#
        ),
        _ => String::new(),
    };
    Ok(format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title><link rel="stylesheet" href="/assets/{css}"></head><body>{app}<script id="opscope-data" type="application/json">{json}</script>{hydrate}</body></html>"#,
        css = assets.css
    ))
}

/// The browser's entry point: read the page's data, hydrate the app over the server's HTML,
/// then follow the stream.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let Some(text) = doc
        .get_element_by_id("opscope-data")
        .and_then(|e| e.text_content())
    else {
        return;
    };
    match serde_json::from_str::<PageData>(&text) {
        Ok(data) => leptos::mount::hydrate_body(move || {
            use leptos::prelude::*;
            view! { <App data=data/> }
        }),
        Err(e) => web_sys::console::error_1(&format!("opscope: page data: {e}").into()),
    }
}
