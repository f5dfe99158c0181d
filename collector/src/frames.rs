//! Sample frames: one polars `DataFrame` per metric family, in long format.
//!
//! Columns: `ts` (Unix ms, i64), `sid` (series identity: a hash of the sample name and labels),
//! `sample` (the full sample name, e.g. `foo_bucket`), `value`
//! (f64), then one nullable string column per label name seen in the family. Chunks are
//! appended per scrape and trimmed by the retention window. Analytics never reads these
//! directly: `signals` and `topology` read windows of them through [`Window`].

use crate::exposition::{Exposition, MetricType};
use polars::prelude::*;
use std::collections::{BTreeMap, HashMap};

/// Errors from the frame store.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("frame operation on family {family}: {source}")]
    Polars {
        family: String,
        #[source]
        source: PolarsError,
    },
}

/// Owned rows of one family from one scrape, ready to append.
#[derive(Debug, Default)]
struct Batch {
    kind: Option<MetricType>,
    ts: Vec<i64>,
    sid: Vec<i64>,
    sample: Vec<String>,
    value: Vec<f64>,
    labels: BTreeMap<String, Vec<Option<String>>>,
}

/// Identity of a series: a hash of its sample name and label pairs.
fn series_id(sample: &str, labels: &[(&str, &str)]) -> i64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    sample.hash(&mut h);
    let mut sorted: Vec<&(&str, &str)> = labels.iter().collect();
    sorted.sort_unstable();
    sorted.hash(&mut h);
    h.finish() as i64
}

impl Batch {
    fn push(&mut self, ts: i64, sid: i64, sample: &str, value: f64, labels: &[(&str, &str)]) {
        let row = self.ts.len();
        self.ts.push(ts);
        self.sid.push(sid);
        self.sample.push(sample.to_owned());
        self.value.push(value);
        for (name, v) in labels {
            let col = self
                .labels
                .entry((*name).to_owned())
                .or_insert_with(|| vec![None; row]);
            col.push(Some((*v).to_owned()));
        }
        for col in self.labels.values_mut() {
            if col.len() < row + 1 {
                col.push(None);
            }
        }
    }

    fn into_frame(self) -> PolarsResult<DataFrame> {
        let height = self.ts.len();
        let mut cols: Vec<Column> = Vec::with_capacity(3 + self.labels.len());
        cols.push(Column::new("ts".into(), self.ts));
        cols.push(Column::new("sid".into(), self.sid));
        cols.push(Column::new("sample".into(), self.sample));
        cols.push(Column::new("value".into(), self.value));
        for (name, vals) in self.labels {
            cols.push(Column::new(label_column(&name).into(), vals));
        }
        DataFrame::new(height, cols)
    }
}

/// Frames are keyed by the name a family has in the Prometheus text format, so a counter is
/// found under `x_total` whichever format it was scraped in (OpenMetrics names it `x`).
fn family_key(fam: &crate::exposition::Family<'_>) -> String {
    if fam.kind == MetricType::Counter && !fam.name.ends_with("_total") {
        format!("{}_total", fam.name)
    } else {
        fam.name.to_owned()
    }
}

/// Label columns are prefixed so a label called `ts` or `value` cannot clash.
fn label_column(label: &str) -> String {
    format!("l:{label}")
}

/// One family's frame and its declared type.
#[derive(Debug)]
pub struct FamilyFrame {
    pub kind: MetricType,
    pub df: DataFrame,
    /// Values are per-second rates computed by the source (PromQL `rate()` pushed down), not
    /// raw counters: [`Window::rate_by`] takes the newest value and [`Window::increase_by`]
    /// multiplies it by the window.
    pub rated: bool,
    /// Number of appended chunks since the last rechunk.
    chunks: usize,
}

/// All families, with a retention window.
#[derive(Debug)]
pub struct FrameStore {
    families: HashMap<String, FamilyFrame>,
    retention_ms: i64,
    /// Newest sample timestamp appended, Unix ms.
    newest_ms: i64,
    last_trim_ms: i64,
    /// Series held -> the newest timestamp seen of it.
    series: HashMap<i64, i64>,
    /// At most this many series are held; samples of further new series are dropped.
    max_series: usize,
    /// Samples dropped because the series limit was reached, since the start.
    dropped_samples: u64,
    /// Family -> every label asked for through [`FrameStore::window`]: what the signals need,
    /// which a querying source (PromQL) can ask its server for.
    asked: std::sync::Mutex<BTreeMap<String, std::collections::BTreeSet<String>>>,
}

impl FrameStore {
    /// A store that keeps `retention_ms` of samples (the design's default is one hour).
    pub fn new(retention_ms: i64) -> Self {
        Self {
            families: HashMap::new(),
            retention_ms,
            newest_ms: i64::MIN,
            last_trim_ms: i64::MIN,
            series: HashMap::new(),
            max_series: usize::MAX,
            dropped_samples: 0,
            asked: Default::default(),
        }
    }

    /// Hold at most `max` series: samples of a series beyond that are dropped (and counted in
    /// [`FrameStore::dropped_samples`]) until retention frees room.
    pub fn with_max_series(mut self, max: usize) -> Self {
        self.max_series = max;
        self
    }

    /// Series held now.
    pub fn series_count(&self) -> usize {
        self.series.len()
    }

    /// The series limit.
    pub fn max_series(&self) -> usize {
        self.max_series
    }

    /// Samples dropped so far because the series limit was reached.
    pub fn dropped_samples(&self) -> u64 {
        self.dropped_samples
    }

    /// Approximate bytes held by the frames and the series index.
    pub fn estimated_bytes(&self) -> usize {
        let frames: usize = self.families.values().map(|f| f.df.estimated_size()).sum();
        // A hash map entry (two i64) plus its control byte and load-factor slack.
        frames + self.series.capacity() * 17
    }

    /// Append everything in one parsed payload. Samples without a timestamp get `default_ts_ms`.
    /// Extra `target_labels` (e.g. `instance`) are added to every sample that lacks them.
    pub fn append(
        &mut self,
        exp: &Exposition<'_>,
        default_ts_ms: i64,
        target_labels: &[(&str, &str)],
    ) -> Result<usize, FrameError> {
        self.append_as(exp, default_ts_ms, target_labels, false)
    }

    /// Append samples whose values are per-second rates computed by the source (see
    /// [`FamilyFrame::rated`]); counter families keep their `_total` frame name.
    pub fn append_rated(
        &mut self,
        exp: &Exposition<'_>,
        default_ts_ms: i64,
    ) -> Result<usize, FrameError> {
        self.append_as(exp, default_ts_ms, &[], true)
    }

    fn append_as(
        &mut self,
        exp: &Exposition<'_>,
        default_ts_ms: i64,
        target_labels: &[(&str, &str)],
        rated: bool,
    ) -> Result<usize, FrameError> {
        let mut batches: HashMap<&str, Batch> = HashMap::new();
        let mut n = 0;
        let mut labels: Vec<(&str, &str)> = Vec::new();
        let keys: Vec<String> = exp.families.iter().map(family_key).collect();
        for (fam, key) in exp.families.iter().zip(&keys) {
            let batch = batches.entry(key.as_str()).or_default();
            batch.kind = Some(fam.kind);
            for s in &fam.samples {
                labels.clear();
                labels.extend(s.labels.iter().map(|l| (l.name, l.value.as_ref())));
                for (k, v) in target_labels {
                    if !labels.iter().any(|(n, _)| n == k) {
                        labels.push((k, v));
                    }
                }
                let ts = s.timestamp_ms.unwrap_or(default_ts_ms);
                let sid = series_id(s.name, &labels);
                let full = self.series.len() >= self.max_series;
                match self.series.get_mut(&sid) {
                    Some(last) => *last = (*last).max(ts),
                    None if full => {
                        self.dropped_samples += 1;
                        continue;
                    }
                    None => {
                        self.series.insert(sid, ts);
                    }
                }
                self.newest_ms = self.newest_ms.max(ts);
                batch.push(ts, sid, s.name, s.value, &labels);
                n += 1;
            }
        }
        for (name, batch) in batches {
            if batch.ts.is_empty() {
                continue;
            }
            let kind = batch.kind.unwrap_or(MetricType::Unknown);
            let err = |source| FrameError::Polars {
                family: name.to_owned(),
                source,
            };
            let chunk = batch.into_frame().map_err(err)?;
            match self.families.get_mut(name) {
                Some(ff) => {
                    ff.kind = kind;
                    ff.rated = rated;
                    let aligned = align(&mut ff.df, chunk).map_err(err)?;
                    ff.df.vstack_mut_owned(aligned).map_err(err)?;
                    ff.chunks += 1;
                    if ff.chunks >= 32 {
                        ff.df.rechunk_mut();
                        ff.chunks = 0;
                    }
                }
                None => {
                    self.families.insert(
                        name.to_owned(),
                        FamilyFrame {
                            kind,
                            df: chunk,
                            rated,
                            chunks: 1,
                        },
                    );
                }
            }
        }
        self.trim()?;
        Ok(n)
    }

    /// Drop samples older than the retention window (at most once per minute of data).
    fn trim(&mut self) -> Result<(), FrameError> {
        if self.newest_ms.saturating_sub(self.last_trim_ms) < 60_000 {
            return Ok(());
        }
        self.last_trim_ms = self.newest_ms;
        let cutoff = self.newest_ms - self.retention_ms;
        for (name, ff) in self.families.iter_mut() {
            let err = |source| FrameError::Polars {
                family: name.clone(),
                source,
            };
            let ts = ff
                .df
                .column("ts")
                .and_then(|c| c.i64().cloned())
                .map_err(err)?;
            let keep = ts.gt_eq(cutoff);
            if keep.all() {
                continue;
            }
            ff.df = ff.df.filter(&keep).map_err(err)?;
            ff.df.rechunk_mut();
            ff.chunks = 0;
        }
        self.families.retain(|_, ff| ff.df.height() > 0);
        self.series.retain(|_, last| *last >= cutoff);
        Ok(())
    }

    /// Every family asked for through [`FrameStore::window`] so far, with the union of the
    /// labels asked for, sorted by family.
    pub fn asked(&self) -> Vec<(String, Vec<String>)> {
        let asked = self
            .asked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        asked
            .iter()
            .map(|(f, ls)| (f.clone(), ls.iter().cloned().collect()))
            .collect()
    }

    /// Family names held, sorted.
    pub fn family_names(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.families.keys().map(String::as_str).collect();
        v.sort_unstable();
        v
    }

    pub fn family(&self, name: &str) -> Option<&FamilyFrame> {
        self.families.get(name)
    }

    /// Total rows held across families.
    pub fn rows(&self) -> usize {
        self.families.values().map(|f| f.df.height()).sum()
    }

    /// Newest timestamp appended so far (Unix ms), if any.
    pub fn newest_ms(&self) -> Option<i64> {
        (self.newest_ms != i64::MIN).then_some(self.newest_ms)
    }

    /// Rows of `family` with `from_ms < ts <= to_ms`, with the given label columns, as plain
    /// vectors for per-series maths.
    pub fn window(
        &self,
        family: &str,
        from_ms: i64,
        to_ms: i64,
        labels: &[&str],
    ) -> Result<Window, FrameError> {
        {
            let mut asked = self
                .asked
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let set = asked.entry(family.to_owned()).or_default();
            for l in labels {
                if !set.contains(*l) {
                    set.insert((*l).to_owned());
                }
            }
        }
        let Some(ff) = self.families.get(family) else {
            return Ok(Window::default());
        };
        let err = |source| FrameError::Polars {
            family: family.to_owned(),
            source,
        };
        let mut cols = vec![col("ts"), col("sid"), col("sample"), col("value")];
        for l in labels {
            let name = label_column(l);
            if ff.df.column(&name).is_ok() {
                cols.push(col(name));
            }
        }
        let df = ff
            .df
            .clone()
            .lazy()
            .filter(col("ts").gt(lit(from_ms)).and(col("ts").lt_eq(lit(to_ms))))
            .select(cols)
            .collect()
            .map_err(err)?;
        let mut w = Window::from_frame(&df).map_err(err)?;
        w.rated = ff.rated;
        w.span_ms = to_ms.saturating_sub(from_ms);
        Ok(w)
    }
}

/// Give `chunk` the same columns, in the same order, as `df`; add to `df` any label column that
/// only `chunk` has.
fn align(df: &mut DataFrame, chunk: DataFrame) -> PolarsResult<DataFrame> {
    let mut chunk = chunk;
    for c in chunk.columns() {
        if df.column(c.name()).is_err() {
            let nulls = Column::full_null(c.name().clone(), df.height(), &DataType::String);
            df.with_column(nulls)?;
        }
    }
    let names: Vec<PlSmallStr> = df.columns().iter().map(|c| c.name().clone()).collect();
    for n in &names {
        if chunk.column(n.as_str()).is_err() {
            let nulls = Column::full_null(n.clone(), chunk.height(), &DataType::String);
            chunk.with_column(nulls)?;
        }
    }
    chunk.select(names)
}

/// A slice of one family's rows, copied out of the frame.
#[derive(Debug, Default, Clone)]
pub struct Window {
    pub ts: Vec<i64>,
    pub sid: Vec<i64>,
    pub sample: Vec<String>,
    pub value: Vec<f64>,
    /// Label name -> per-row value.
    pub labels: BTreeMap<String, Vec<Option<String>>>,
    /// Values are per-second rates from the source (see [`FamilyFrame::rated`]).
    pub rated: bool,
    /// Width of the window asked for, ms (what a rated value is multiplied by for an increase).
    pub span_ms: i64,
}

impl Window {
    fn from_frame(df: &DataFrame) -> PolarsResult<Self> {
        let ts: Vec<i64> = df.column("ts")?.i64()?.into_no_null_iter().collect();
        let sid: Vec<i64> = df.column("sid")?.i64()?.into_no_null_iter().collect();
        let sample: Vec<String> = df
            .column("sample")?
            .str()?
            .iter()
            .map(|s| s.unwrap_or_default().to_owned())
            .collect();
        let value: Vec<f64> = df
            .column("value")?
            .f64()?
            .iter()
            .map(|v| v.unwrap_or(f64::NAN))
            .collect();
        let mut labels = BTreeMap::new();
        for c in df.columns() {
            if let Some(name) = c.name().as_str().strip_prefix("l:") {
                let vals = c.str()?.iter().map(|v| v.map(str::to_owned)).collect();
                labels.insert(name.to_owned(), vals);
            }
        }
        Ok(Self {
            ts,
            sid,
            sample,
            value,
            labels,
            rated: false,
            span_ms: 0,
        })
    }

    pub fn len(&self) -> usize {
        self.ts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ts.is_empty()
    }

    /// The value of label `name` at `row`, or "" when absent (as PromQL treats it).
    pub fn label(&self, row: usize, name: &str) -> &str {
        self.labels
            .get(name)
            .and_then(|col| col.get(row))
            .and_then(|v| v.as_deref())
            .unwrap_or("")
    }

    /// Rows grouped by series, each in time order; only rows for which `keep` holds.
    pub fn series(&self, keep: impl Fn(&Window, usize) -> bool) -> Vec<Vec<usize>> {
        let mut by: HashMap<i64, Vec<usize>> = HashMap::new();
        for row in 0..self.len() {
            if keep(self, row) {
                by.entry(self.sid[row]).or_default().push(row);
            }
        }
        let mut out: Vec<Vec<usize>> = by.into_values().collect();
        for rows in &mut out {
            rows.sort_by_key(|&r| self.ts[r]);
            rows.dedup_by_key(|r| self.ts[*r]);
        }
        out.sort();
        out
    }

    /// Counter increase over the rows of one series, counting a drop as a reset (PromQL
    /// `increase` without extrapolation). Returns (increase, covered milliseconds).
    pub fn increase(&self, rows: &[usize]) -> Option<(f64, i64)> {
        if self.rated {
            // The newest rate, over the window asked for.
            let v = self.value[*rows.last()?];
            return (v.is_finite() && self.span_ms > 0)
                .then(|| (v * self.span_ms as f64 / 1000.0, self.span_ms));
        }
        if rows.len() < 2 {
            return None;
        }
        let mut inc = 0.0;
        for w in rows.windows(2) {
            let (a, b) = (self.value[w[0]], self.value[w[1]]);
            if !a.is_finite() || !b.is_finite() {
                continue;
            }
            inc += if b >= a { b - a } else { b };
        }
        let span = self.ts[rows[rows.len() - 1]] - self.ts[rows[0]];
        (span > 0).then_some((inc, span))
    }

    /// Per-second rate of each counter series that passes `keep`, summed by the values of the
    /// `by` labels. Series with fewer than two samples in the window contribute nothing.
    pub fn rate_by(
        &self,
        keep: impl Fn(&Window, usize) -> bool,
        by: &[&str],
    ) -> BTreeMap<Vec<String>, f64> {
        let mut out = BTreeMap::new();
        for rows in self.series(keep) {
            if let Some((inc, span)) = self.increase(&rows) {
                let key = by
                    .iter()
                    .map(|l| self.label(rows[0], l).to_owned())
                    .collect();
                *out.entry(key).or_insert(0.0) += inc / (span as f64 / 1000.0);
            }
        }
        out
    }

    /// Counter increase of each series that passes `keep`, summed by the `by` labels.
    pub fn increase_by(
        &self,
        keep: impl Fn(&Window, usize) -> bool,
        by: &[&str],
    ) -> BTreeMap<Vec<String>, f64> {
        let mut out = BTreeMap::new();
        for rows in self.series(keep) {
            let key: Vec<String> = by
                .iter()
                .map(|l| self.label(rows[0], l).to_owned())
                .collect();
            let inc = self.increase(&rows).map(|(i, _)| i).unwrap_or(0.0);
            *out.entry(key).or_insert(0.0) += inc;
        }
        out
    }

    /// Newest value of each gauge series that passes `keep`, combined by the `by` labels with
    /// `combine` (e.g. sum or max).
    pub fn latest_by(
        &self,
        keep: impl Fn(&Window, usize) -> bool,
        by: &[&str],
        combine: fn(f64, f64) -> f64,
    ) -> BTreeMap<Vec<String>, f64> {
        let newest = self.ts.iter().copied().max().unwrap_or(0);
        let mut out = BTreeMap::new();
        for rows in self.series(keep) {
            let Some(&last) = rows.last() else { continue };
            // A series that stopped reporting before the newest scrape is gone (PromQL staleness).
            if newest - self.ts[last] > 60_000 || !self.value[last].is_finite() {
                continue;
            }
            let key: Vec<String> = by.iter().map(|l| self.label(last, l).to_owned()).collect();
            let v = self.value[last];
            out.entry(key)
                .and_modify(|acc| *acc = combine(*acc, v))
                .or_insert(v);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::{Family, Label, Sample};
    use std::borrow::Cow;

    fn exp(ts: i64, v: f64, extra: Option<(&'static str, &'static str)>) -> Exposition<'static> {
        let mut labels = vec![Label {
            name: "pod",
            value: Cow::Borrowed("a"),
        }];
        if let Some((n, val)) = extra {
            labels.push(Label {
                name: n,
                value: Cow::Borrowed(val),
            });
        }
        Exposition {
            families: vec![Family {
                name: "reqs_total",
                kind: MetricType::Counter,
                help: None,
                unit: None,
                samples: vec![Sample {
                    name: "reqs_total",
                    labels,
                    value: v,
                    timestamp_ms: Some(ts),
                    exemplar: None,
                }],
            }],
        }
    }

    #[test]
    fn append_aligns_new_label_columns_and_rates_handle_resets() {
        let mut store = FrameStore::new(3_600_000);
        store.append(&exp(1_000, 10.0, None), 0, &[]).unwrap();
        store
            .append(&exp(2_000, 20.0, Some(("code", "200"))), 0, &[])
            .unwrap();
        store.append(&exp(3_000, 30.0, None), 0, &[]).unwrap();
        store.append(&exp(4_000, 5.0, None), 0, &[]).unwrap(); // reset
        let w = store
            .window("reqs_total", 0, 10_000, &["pod", "code"])
            .unwrap();
        assert_eq!(w.len(), 4);
        // The series without `code`: 10 -> 30 -> 5 (reset) = 20 + 5 over 3 s.
        let r = w.rate_by(|w, r| w.label(r, "code").is_empty(), &["pod"]);
        let v = r[&vec!["a".to_owned()]];
        assert!((v - 25.0 / 3.0).abs() < 1e-9, "{v}");
    }

    #[test]
    fn retention_trims_old_rows() {
        let mut store = FrameStore::new(10_000);
        for i in 0..200 {
            store
                .append(&exp(i * 1_000, i as f64, None), 0, &[])
                .unwrap();
        }
        let w = store.window("reqs_total", i64::MIN, i64::MAX, &[]).unwrap();
        assert!(w.len() < 80, "kept {}", w.len());
        assert_eq!(w.ts.iter().max().copied(), Some(199_000));
    }
}
