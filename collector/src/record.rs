//! Recordings: what the collector saw, cycle by cycle, in one Parquet file that any Parquet
//! reader opens (polars, DuckDB, Spark, Trino, pandas), and read back for replay.
//!
//! # Schema (`opscope-recording/1`, one row per record)
//!
//! | column | type | meaning |
//! | --- | --- | --- |
//! | `ts_ms` | Int64 | the collection cycle's time, Unix ms (rows of one cycle share it) |
//! | `source` | Utf8 | the source's name (a scrape URL, `prometheus URL`, `kube ...`) |
//! | `record` | Utf8 | `sample`, `error` (the source failed this cycle: `payload` is the reason) or `change` (a change event: `payload` is its JSON) |
//! | `family` | Utf8, null | metric family (frame name: counters end in `_total`) |
//! | `type` | Utf8, null | `counter`, `gauge`, `histogram`, `summary`, `gaugehistogram`, `info`, `stateset`, `unknown` |
//! | `rated` | Boolean | the value is a per-second rate computed by the source (PromQL) |
//! | `sample` | Utf8, null | full sample name (`x_bucket`, `x_total`, ...) |
//! | `labels` | Utf8, null | the label set as a JSON object, keys sorted: `{"namespace":"shop","pod":"cart-1"}` |
//! | `sample_ts_ms` | Int64, null | the sample's own timestamp, if it carried one |
//! | `value` | Float64, null | the sample value |
//! | `payload` | Utf8, null | JSON of a change event, or an error's text |
//!
//! The file's key-value metadata holds `opscope.schema = opscope-recording/1`. Change events
//! are written the cycle they are first seen.

use crate::exposition::MetricType;
use crate::model::ChangeEvent;
use crate::sources::{OwnedSample, Samples};
use polars::prelude::*;
use polars_io::SerReader;
use polars_io::parquet::read::ParquetReader;
use polars_io::parquet::write::{BatchedWriter, KeyValueMetadata, ParquetWriter};
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::{Path, PathBuf};

/// The schema version written into every recording.
pub const SCHEMA: &str = "opscope-recording/1";

/// Column names, in file order.
pub const COLUMNS: [&str; 11] = [
    "ts_ms",
    "source",
    "record",
    "family",
    "type",
    "rated",
    "sample",
    "labels",
    "sample_ts_ms",
    "value",
    "payload",
];

/// Why a recording could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Parquet {
        path: PathBuf,
        #[source]
        source: PolarsError,
    },
    #[error("{path}: not an opscope recording: {reason}")]
    Format { path: PathBuf, reason: String },
}

/// What one source gave in one cycle.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceCycle {
    pub source: String,
    pub result: Result<Samples, String>,
}

/// One collection cycle of a recording.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cycle {
    pub ts_ms: i64,
    pub sources: Vec<SourceCycle>,
    pub changes: Vec<ChangeEvent>,
}

/// Column buffers for one batch of rows.
#[derive(Default)]
struct Rows {
    ts_ms: Vec<i64>,
    source: Vec<String>,
    record: Vec<&'static str>,
    family: Vec<Option<String>>,
    kind: Vec<Option<&'static str>>,
    rated: Vec<bool>,
    sample: Vec<Option<String>>,
    labels: Vec<Option<String>>,
    sample_ts_ms: Vec<Option<i64>>,
    value: Vec<Option<f64>>,
    payload: Vec<Option<String>>,
}

impl Rows {
    fn meta(&mut self, ts: i64, source: &str, record: &'static str, payload: String) {
        self.ts_ms.push(ts);
        self.source.push(source.to_owned());
        self.record.push(record);
        self.family.push(None);
        self.kind.push(None);
        self.rated.push(false);
        self.sample.push(None);
        self.labels.push(None);
        self.sample_ts_ms.push(None);
        self.value.push(None);
        self.payload.push(Some(payload));
    }

    fn into_frame(self) -> PolarsResult<DataFrame> {
        let height = self.ts_ms.len();
        DataFrame::new(
            height,
            vec![
                Column::new("ts_ms".into(), self.ts_ms),
                Column::new("source".into(), self.source),
                Column::new("record".into(), self.record),
                Column::new("family".into(), self.family),
                Column::new("type".into(), self.kind),
                Column::new("rated".into(), self.rated),
                Column::new("sample".into(), self.sample),
                Column::new("labels".into(), self.labels),
                Column::new("sample_ts_ms".into(), self.sample_ts_ms),
                Column::new("value".into(), self.value),
                Column::new("payload".into(), self.payload),
            ],
        )
    }
}

fn schema() -> Schema {
    use DataType::*;
    let types = [
        Int64, String, String, String, String, Boolean, String, String, Int64, Float64, String,
    ];
    Schema::from_iter(
        COLUMNS
            .iter()
            .zip(types)
            .map(|(n, t)| Field::new((*n).into(), t)),
    )
}

/// Labels as a JSON object with sorted keys.
fn labels_json(labels: &[(String, String)]) -> String {
    let map: BTreeMap<&str, &str> = labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    serde_json::to_string(&map).unwrap_or_else(|_| "{}".to_owned())
}

/// Writes a recording cycle by cycle; each cycle is flushed as its own row group, so a
/// recording stopped by Ctrl-C keeps every cycle written before [`Recorder::finish`].
pub struct Recorder {
    path: PathBuf,
    writer: BatchedWriter<File>,
    rows: u64,
    cycles: u64,
    seen_changes: BTreeSet<ChangeEvent>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("path", &self.path)
            .field("rows", &self.rows)
            .finish()
    }
}

impl Recorder {
    /// Create (or truncate) `path`.
    pub fn create(path: &Path) -> Result<Self, RecordError> {
        let file = File::create(path).map_err(|source| RecordError::Io {
            path: path.to_owned(),
            source,
        })?;
        let kv =
            KeyValueMetadata::from_static(vec![("opscope.schema".to_owned(), SCHEMA.to_owned())]);
        let writer = ParquetWriter::new(file)
            .with_key_value_metadata(Some(kv))
            .batched(&schema())
            .map_err(|source| RecordError::Parquet {
                path: path.to_owned(),
                source,
            })?;
        Ok(Self {
            path: path.to_owned(),
            writer,
            rows: 0,
            cycles: 0,
            seen_changes: BTreeSet::new(),
        })
    }

    /// Append one cycle. Changes already written are skipped.
    pub fn write(&mut self, cycle: &Cycle) -> Result<(), RecordError> {
        let mut rows = Rows::default();
        let ts = cycle.ts_ms;
        for sc in &cycle.sources {
            match &sc.result {
                Err(e) => rows.meta(ts, &sc.source, "error", e.clone()),
                Ok(samples) => {
                    for fam in &samples.families {
                        for s in &fam.samples {
                            rows.ts_ms.push(ts);
                            rows.source.push(sc.source.clone());
                            rows.record.push("sample");
                            rows.family.push(Some(fam.name.clone()));
                            rows.kind.push(Some(fam.kind.as_str()));
                            rows.rated.push(fam.rated);
                            rows.sample.push(Some(s.name.clone()));
                            rows.labels.push(Some(labels_json(&s.labels)));
                            rows.sample_ts_ms.push(s.ts_ms);
                            rows.value.push(Some(s.value));
                            rows.payload.push(None);
                        }
                    }
                }
            }
        }
        for c in &cycle.changes {
            if self.seen_changes.insert(c.clone()) {
                let json = serde_json::to_string(c).unwrap_or_default();
                rows.meta(ts, "changes", "change", json);
            }
        }
        let n = rows.ts_ms.len() as u64;
        let err = |source| RecordError::Parquet {
            path: self.path.clone(),
            source,
        };
        let df = rows.into_frame().map_err(err)?;
        self.writer.write_batch(&df).map_err(err)?;
        self.rows += n;
        self.cycles += 1;
        Ok(())
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Cycles written so far.
    pub fn cycles(&self) -> u64 {
        self.cycles
    }

    /// Write the footer; returns the file size in bytes.
    pub fn finish(self) -> Result<u64, RecordError> {
        self.writer
            .finish()
            .map_err(|source| RecordError::Parquet {
                path: self.path.clone(),
                source,
            })?;
        std::fs::metadata(&self.path)
            .map(|m| m.len())
            .map_err(|source| RecordError::Io {
                path: self.path.clone(),
                source,
            })
    }
}

/// Read a whole recording back, cycles in time order.
pub fn read(path: &Path) -> Result<Vec<Cycle>, RecordError> {
    let perr = |source| RecordError::Parquet {
        path: path.to_owned(),
        source,
    };
    let ferr = |reason: String| RecordError::Format {
        path: path.to_owned(),
        reason,
    };
    let file = File::open(path).map_err(|source| RecordError::Io {
        path: path.to_owned(),
        source,
    })?;
    let df = ParquetReader::new(file).finish().map_err(perr)?;
    for c in COLUMNS {
        if df.column(c).is_err() {
            return Err(ferr(format!("column {c:?} is missing")));
        }
    }
    let col = |name: &str| df.column(name).map_err(perr);
    let ts = col("ts_ms")?.i64().map_err(perr)?.clone();
    let source = col("source")?.str().map_err(perr)?.clone();
    let record = col("record")?.str().map_err(perr)?.clone();
    let family = col("family")?.str().map_err(perr)?.clone();
    let kind = col("type")?.str().map_err(perr)?.clone();
    let rated = col("rated")?.bool().map_err(perr)?.clone();
    let sample = col("sample")?.str().map_err(perr)?.clone();
    let labels = col("labels")?.str().map_err(perr)?.clone();
    let sample_ts = col("sample_ts_ms")?.i64().map_err(perr)?.clone();
    let value = col("value")?.f64().map_err(perr)?.clone();
    let payload = col("payload")?.str().map_err(perr)?.clone();

    let mut cycles: BTreeMap<i64, Cycle> = BTreeMap::new();
    for i in 0..df.height() {
        let Some(t) = ts.get(i) else {
            return Err(ferr(format!("row {i}: ts_ms is null")));
        };
        let cycle = cycles.entry(t).or_insert_with(|| Cycle {
            ts_ms: t,
            ..Cycle::default()
        });
        let src = source.get(i).unwrap_or("");
        match record.get(i).unwrap_or("") {
            "change" => {
                let text = payload.get(i).unwrap_or("");
                let c: ChangeEvent = serde_json::from_str(text)
                    .map_err(|e| ferr(format!("row {i}: change event: {e}")))?;
                cycle.changes.push(c);
            }
            "error" => cycle.sources.push(SourceCycle {
                source: src.to_owned(),
                result: Err(payload.get(i).unwrap_or("").to_owned()),
            }),
            "sample" => {
                let pos = cycle
                    .sources
                    .iter()
                    .position(|s| s.source == src && s.result.is_ok());
                let sc = match pos {
                    Some(p) => &mut cycle.sources[p],
                    None => {
                        cycle.sources.push(SourceCycle {
                            source: src.to_owned(),
                            result: Ok(Samples::default()),
                        });
                        let last = cycle.sources.len() - 1;
                        &mut cycle.sources[last]
                    }
                };
                let Ok(samples) = &mut sc.result else {
                    continue;
                };
                let fam_name = family.get(i).unwrap_or("");
                let fam = samples.family(
                    fam_name,
                    crate::exposition::type_name(kind.get(i).unwrap_or(""))
                        .unwrap_or(MetricType::Unknown),
                );
                fam.rated = rated.get(i).unwrap_or(false);
                let map: BTreeMap<String, String> =
                    serde_json::from_str(labels.get(i).unwrap_or("{}"))
                        .map_err(|e| ferr(format!("row {i}: labels: {e}")))?;
                fam.samples.push(OwnedSample {
                    name: sample.get(i).unwrap_or(fam_name).to_owned(),
                    labels: map.into_iter().collect(),
                    value: value.get(i).unwrap_or(f64::NAN),
                    ts_ms: sample_ts.get(i),
                });
            }
            other => return Err(ferr(format!("row {i}: unknown record kind {other:?}"))),
        }
    }
    Ok(cycles.into_values().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ChangeKind, EntityId};

    fn cycle(ts: i64, v: f64) -> Cycle {
        let mut s = Samples::default();
        let f = s.family("reqs_total", MetricType::Counter);
        f.samples.push(OwnedSample {
            name: "reqs_total".into(),
            labels: vec![("pod".into(), "a \"quoted\" \n pod".into())],
            value: v,
            ts_ms: Some(ts - 5),
        });
        let g = s.family("rate_total", MetricType::Counter);
        g.rated = true;
        g.samples.push(OwnedSample {
            name: "rate_total".into(),
            labels: vec![],
            value: 2.5,
            ts_ms: None,
        });
        Cycle {
            ts_ms: ts,
            sources: vec![
                SourceCycle {
                    source: "http://a/metrics".into(),
                    result: Ok(s),
                },
                SourceCycle {
                    source: "http://b/metrics".into(),
                    result: Err("connection refused".into()),
                },
            ],
            changes: vec![ChangeEvent {
                ts_ms: 999_000,
                entity: EntityId::workload("shop", "cart"),
                kind: ChangeKind::Annotation {
                    text: "deploy v2".into(),
                },
            }],
        }
    }

    #[test]
    fn cycles_round_trip_and_changes_are_written_once() {
        let dir = std::env::temp_dir().join(format!("opscope-rec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("r.parquet");
        let mut r = Recorder::create(&path).unwrap();
        let (a, b) = (cycle(1_000_000, 1.0), cycle(1_015_000, 2.0));
        r.write(&a).unwrap();
        r.write(&b).unwrap();
        assert_eq!(r.cycles(), 2);
        let size = r.finish().unwrap();
        assert!(size > 0);
        let back = read(&path).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back[0], a);
        // The change event was already written with the first cycle.
        assert!(back[1].changes.is_empty());
        assert_eq!(back[1].sources, b.sources);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_file_that_is_not_a_recording_is_refused() {
        let dir = std::env::temp_dir().join(format!("opscope-rec-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("x.parquet");
        std::fs::write(&path, b"not parquet at all").unwrap();
        assert!(read(&path).is_err());
        let mut df = df!("a" => [1i64, 2]).unwrap();
        ParquetWriter::new(File::create(&path).unwrap())
            .finish(&mut df)
            .unwrap();
        let e = read(&path).unwrap_err().to_string();
        assert!(e.contains("not an opscope recording"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
