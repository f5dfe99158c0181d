//! Parser throughput: parses the recorded node_exporter payload over and over, ~100 MB of
//! text in all, and prints MB/s for both the lenient Prometheus parser and (on an
//! OpenMetrics rendering of the same payload) the strict OpenMetrics parser.
//!
//! Run with `cargo bench -p collector --bench parse`.

use collector::exposition::{Exposition, Format, MetricType, parse};
use std::hint::black_box;
use std::time::Instant;

const TARGET_BYTES: usize = 100 * 1024 * 1024;

fn run(label: &str, text: &str, format: Format) -> Result<(), String> {
    let first = parse(text, format).map_err(|e| format!("{label}: {e}"))?;
    let samples = first.sample_count();
    let rounds = TARGET_BYTES.div_ceil(text.len().max(1));
    // Warm up caches and the allocator.
    for _ in 0..rounds / 20 {
        black_box(parse(black_box(text), format).map_err(|e| e.to_string())?);
    }
    let start = Instant::now();
    let mut parsed_samples = 0usize;
    for _ in 0..rounds {
        let e: Exposition<'_> = parse(black_box(text), format).map_err(|e| e.to_string())?;
        parsed_samples += e.sample_count();
        black_box(e);
    }
    let secs = start.elapsed().as_secs_f64();
    let mb = (rounds * text.len()) as f64 / 1e6;
    println!(
        "{label:<28} {:>7.1} MB in {secs:>6.3} s = {:>7.1} MB/s, {:>6.2} M samples/s ({samples} samples x {rounds} rounds)",
        mb,
        mb / secs,
        parsed_samples as f64 / secs / 1e6,
    );
    Ok(())
}

/// Render the Prometheus payload as OpenMetrics text (counter families lose `_total`; the
/// few counters whose base name is taken by another family are left out).
fn to_openmetrics(text: &str) -> Result<String, String> {
    let e = parse(text, Format::Prometheus).map_err(|e| e.to_string())?;
    let names: std::collections::HashSet<&str> = e.families.iter().map(|f| f.name).collect();
    let mut out = String::with_capacity(text.len() + 16);
    for f in &e.families {
        let (name, kind) = match f.kind {
            MetricType::Counter => match f.name.strip_suffix("_total") {
                // `x_total` would clash with a family `x` (e.g. go_memstats_alloc_bytes).
                Some(base) if !names.contains(base) => (base, "counter"),
                _ => continue,
            },
            other => (f.name, other.as_str()),
        };
        if let Some(h) = &f.help {
            out.push_str(&format!(
                "# HELP {name} {}\n",
                h.replace('\\', "\\\\").replace('\n', "\\n")
            ));
        }
        out.push_str(&format!("# TYPE {name} {kind}\n"));
        for s in &f.samples {
            out.push_str(s.name);
            if !s.labels.is_empty() {
                let labels: Vec<String> = s
                    .labels
                    .iter()
                    .map(|l| {
                        format!(
                            "{}=\"{}\"",
                            l.name,
                            l.value
                                .replace('\\', "\\\\")
                                .replace('"', "\\\"")
                                .replace('\n', "\\n")
                        )
                    })
                    .collect();
                out.push_str(&format!("{{{}}}", labels.join(",")));
            }
            out.push_str(&format!(" {}\n", s.value));
        }
    }
    out.push_str("# EOF\n");
    Ok(out)
}

fn main() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/exposition/node-exporter.prom.txt"
    );
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    let result = to_openmetrics(&text).and_then(|om| {
        run("prometheus 0.0.4 (lenient)", &text, Format::Prometheus)?;
        run("openmetrics 1.0 (strict)", &om, Format::OpenMetrics)
    });
    if let Err(e) = result {
        eprintln!("{e}");
        std::process::exit(1);
    }
}
