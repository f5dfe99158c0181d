//! Memory of the frame store: bytes per stored sample and per series at 100k series, and
//! what the series limit does when a target brings more.
//!
//! Run with `cargo bench -p collector --bench store`. Prints figures, asserts nothing.

use collector::exposition::{Format, parse};
use collector::frames::FrameStore;
use std::fmt::Write as _;
use std::time::Instant;

const SERIES: usize = 100_000;
const SCRAPES: usize = 20;
const PODS: usize = 1_000;

/// One scrape: 100 families x 1000 pods, kube-style labels, counters growing by `step`.
fn payload(step: usize) -> String {
    let mut s = String::with_capacity(SERIES * 120);
    for f in 0..SERIES / PODS {
        let _ = writeln!(s, "# TYPE bench_metric_{f}_total counter");
        for p in 0..PODS {
            let _ = writeln!(
                s,
                "bench_metric_{f}_total{{namespace=\"ns-{}\",pod=\"workload-{}-7d9f8c6b5-{p:05}\",container=\"app\"}} {}",
                p % 10,
                p / 10,
                (f + p + step * 7) as f64
            );
        }
    }
    s
}

/// Resident set size of this process, bytes (Linux).
fn rss_bytes() -> Option<usize> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: usize = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

fn mib(b: usize) -> f64 {
    b as f64 / (1024.0 * 1024.0)
}

fn main() -> Result<(), String> {
    let texts: Vec<String> = (0..SCRAPES).map(payload).collect();
    let rss0 = rss_bytes().unwrap_or(0);
    let mut store = FrameStore::new(3_600_000);
    let t0 = 1_700_000_000_000i64;
    let start = Instant::now();
    for (i, t) in texts.iter().enumerate() {
        let exp = parse(t, Format::Prometheus).map_err(|e| e.to_string())?;
        store
            .append(&exp, t0 + i as i64 * 15_000, &[])
            .map_err(|e| e.to_string())?;
    }
    let secs = start.elapsed().as_secs_f64();
    let rows = store.rows();
    let bytes = store.estimated_bytes();
    let rss = rss_bytes().unwrap_or(0).saturating_sub(rss0);
    println!(
        "{} series x {SCRAPES} scrapes = {rows} samples stored in {secs:.2} s ({:.2} M samples/s appended)",
        store.series_count(),
        rows as f64 / secs / 1e6
    );
    println!(
        "frames (estimated): {:.1} MiB = {:.1} bytes/sample, {:.0} bytes/series",
        mib(bytes),
        bytes as f64 / rows as f64,
        bytes as f64 / store.series_count() as f64
    );
    println!(
        "process RSS growth: {:.1} MiB = {:.1} bytes/sample, {:.0} bytes/series (includes the {SCRAPES} payload texts, {:.1} MiB)",
        mib(rss),
        rss as f64 / rows as f64,
        rss as f64 / store.series_count() as f64,
        mib(texts.iter().map(String::len).sum())
    );

    // The limit: a store that holds at most half of them drops the rest and says so.
    let mut limited = FrameStore::new(3_600_000).with_max_series(SERIES / 2);
    for (i, t) in texts.iter().take(3).enumerate() {
        let exp = parse(t, Format::Prometheus).map_err(|e| e.to_string())?;
        limited
            .append(&exp, t0 + i as i64 * 15_000, &[])
            .map_err(|e| e.to_string())?;
    }
    println!(
        "with max_series {}: {} series held, {} samples dropped in 3 scrapes, frames {:.1} MiB",
        limited.max_series(),
        limited.series_count(),
        limited.dropped_samples(),
        mib(limited.estimated_bytes())
    );
    Ok(())
}
