//! The bar store: columnar, memory-mapped, zero-copy, atomic.
//!
//! A store is a directory:
//!
//! ```text
//! MANIFEST.json              the only mutable file; replaced atomically (temp + fsync + rename)
//! LOCK                       held by the one writer at a time
//! READERS                    share-locked by every open reader; a writer deletes superseded
//!                            segments only while it can lock it exclusively
//! segments/000001-1Day.arrow immutable Arrow IPC files, one record batch per symbol
//! orphans/                   segment files no manifest named, moved aside (never deleted)
//! ```
//!
//! The guarantees (no committed bar is lost to a damaged manifest, a crash, a full disk or a
//! concurrent compaction) and their tests are listed in `docs/reliability.md`.
//!
//! Opening reads the manifest and each segment's footer: O(symbols), no bar is read. A symbol's
//! columns are decoded on first use into slices that point straight into the file mapping, so
//! `series.close()` is a `&[f64]` with no parse, no copy and no heap growth with data size.
//! Appends write a new segment; see [`writer`] for the compaction policy that keeps each
//! series in few chunks without rewriting the whole store on every refresh.

mod error;
mod manifest;
mod panel;
mod segment;
pub mod writer;

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{self, File};
use std::path::{Path, PathBuf};

pub use error::StoreError;
pub use manifest::{Manifest, SegmentEntry};
pub use panel::Panel;
pub use segment::Chunk;
pub(crate) use segment::{schema as bar_schema, to_record_batch as bar_batch};
pub use writer::{WriteMode, WriteSummary, Writer};

#[cfg(test)]
mod tests;

use crate::bars::{Bar, BarColumns, Bars, SymbolMeta};
use crate::time::{Timeframe, Timestamp};
use segment::Segment;

/// A numeric bar field, for panel access and generic column reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    /// Opening price.
    Open,
    /// High price.
    High,
    /// Low price.
    Low,
    /// Closing price.
    Close,
    /// Volume.
    Volume,
    /// Volume-weighted average price (NaN where not stored).
    Vwap,
}

/// Summary of one stored series, known without reading any bar.
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesInfo {
    /// The symbol.
    pub symbol: String,
    /// The timeframe.
    pub timeframe: Timeframe,
    /// Number of bars.
    pub rows: u64,
    /// First bar time.
    pub first: Timestamp,
    /// Last bar time.
    pub last: Timestamp,
    /// Number of segments the series is spread over (1 after compaction).
    pub chunks: usize,
}

#[derive(Clone, Debug)]
struct Located {
    info: SeriesInfo,
    /// (segment, batch) pairs in time order.
    parts: Vec<(u32, u32)>,
}

/// File every reader share-locks for as long as it is open (see the module documentation).
pub(crate) const READERS: &str = "READERS";

/// The synthetic-data note a generated store keeps beside its manifest: a store file, not an orphan.
pub(crate) const PROVENANCE: &str = crate::synth::provenance::FILE;
/// Directory of the segment files.
pub(crate) const SEGMENTS_DIR: &str = "segments";
/// Directory where segment files no manifest names are moved.
pub(crate) const ORPHANS_DIR: &str = "orphans";

/// A read-only view of a store directory, memory-mapped. While it is open, the segment files
/// of its manifest generation stay on disk (it holds a shared lock on `READERS`).
pub struct Store {
    dir: PathBuf,
    manifest: Manifest,
    segments: Vec<Segment>,
    series: HashMap<Timeframe, HashMap<String, Located>>,
    _readers: Option<File>,
}

/// What `verify` found beyond the checksums and bar checks (which are errors).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VerifyReport {
    /// Bars re-checked.
    pub bars: u64,
    /// Segment files verified.
    pub files: usize,
    /// Files in the store that the manifest does not account for (a damaged manifest or a
    /// crashed write): not data the store serves, but possibly data to recover.
    pub unaccounted: Vec<PathBuf>,
    /// `(generation, highest segment number)` when the manifest's generation is behind the
    /// segment files it names (a rewound manifest).
    pub generation_behind: Option<(u64, u64)>,
    /// Superseded segments waiting for their last reader to close.
    pub retired: Vec<PathBuf>,
    /// Files earlier writers moved to `orphans/`.
    pub orphans: Vec<PathBuf>,
}

impl VerifyReport {
    /// True when every file is accounted for and the manifest is consistent with the disk.
    pub fn is_clean(&self) -> bool {
        self.unaccounted.is_empty() && self.generation_behind.is_none()
    }
}

impl Store {
    /// Opens the store at `dir`: reads the manifest, maps every segment and checks its footer.
    /// Cost is O(symbols); no bar data is touched. Waits while a writer is deleting superseded
    /// segments (milliseconds), then keeps them from being deleted until the view is dropped.
    pub fn open(dir: impl AsRef<Path>) -> Result<Store, StoreError> {
        let dir = dir.as_ref();
        let readers = if dir.join(manifest::MANIFEST).exists() { share_readers_lock(dir) } else { None };
        let store = match Self::open_once(dir) {
            // Without the readers lock (a read-only store directory) a writer may have
            // compacted between our manifest read and our segment open; the new manifest
            // names the new files, so one retry settles it.
            Err(StoreError::Io { source, .. })
                if readers.is_none() && source.kind() == std::io::ErrorKind::NotFound =>
            {
                Self::open_once(dir)
            }
            other => other,
        };
        store.map(|s| Store { _readers: readers, ..s })
    }

    fn open_once(dir: &Path) -> Result<Store, StoreError> {
        let manifest = Manifest::load(dir)?;
        let mut segments = Vec::with_capacity(manifest.segments.len());
        let mut series: HashMap<Timeframe, HashMap<String, Located>> = HashMap::new();
        for (s, entry) in manifest.segments.iter().enumerate() {
            let seg = Segment::open(dir.join(&entry.file), entry.bytes, entry.timeframe)?;
            for (b, info) in seg.index().iter().enumerate() {
                if entry.dropped.contains(&info.symbol) {
                    continue;
                }
                let located =
                    series.entry(entry.timeframe).or_default().entry(info.symbol.clone()).or_insert_with(
                        || Located {
                            info: SeriesInfo {
                                symbol: info.symbol.clone(),
                                timeframe: entry.timeframe,
                                rows: 0,
                                first: Timestamp(info.first),
                                last: Timestamp(info.last),
                                chunks: 0,
                            },
                            parts: Vec::new(),
                        },
                    );
                if located.info.chunks > 0 && info.first <= located.info.last.0 {
                    return Err(StoreError::corrupt(
                        seg.path(),
                        format!("{} {}: chunks overlap in time", info.symbol, entry.timeframe),
                    ));
                }
                located.info.rows += info.rows;
                located.info.last = Timestamp(info.last);
                located.info.chunks += 1;
                located.parts.push((s as u32, b as u32));
            }
            segments.push(seg);
        }
        Ok(Store { dir: dir.to_path_buf(), manifest, segments, series, _readers: None })
    }

    /// The store directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The manifest this view was opened from.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Metadata for `symbol`, if known.
    pub fn meta(&self, symbol: &str) -> Option<&SymbolMeta> {
        self.manifest.symbols.get(symbol)
    }

    /// Every symbol's metadata, sorted by symbol.
    pub fn metas(&self) -> impl Iterator<Item = &SymbolMeta> {
        self.manifest.symbols.values()
    }

    /// Summaries of every stored series, sorted by symbol then timeframe.
    pub fn list(&self) -> Vec<&SeriesInfo> {
        let mut all: Vec<&SeriesInfo> =
            self.series.values().flat_map(|m| m.values()).map(|l| &l.info).collect();
        all.sort_by(|a, b| (&a.symbol, a.timeframe).cmp(&(&b.symbol, b.timeframe)));
        all
    }

    /// Symbols that have `timeframe` bars, sorted.
    pub fn symbols(&self, timeframe: Timeframe) -> Vec<&str> {
        let mut out: Vec<&str> =
            self.series.get(&timeframe).into_iter().flat_map(|m| m.keys()).map(String::as_str).collect();
        out.sort_unstable();
        out
    }

    /// Summary of one series, without reading bars.
    pub fn info(&self, symbol: &str, timeframe: Timeframe) -> Option<&SeriesInfo> {
        self.located(symbol, timeframe).map(|l| &l.info)
    }

    fn located(&self, symbol: &str, timeframe: Timeframe) -> Option<&Located> {
        self.series.get(&timeframe)?.get(symbol)
    }

    /// The bars of `symbol` at `timeframe`, as zero-copy chunks (`Ok(None)` if not stored).
    pub fn series(&self, symbol: &str, timeframe: Timeframe) -> Result<Option<Series<'_>>, StoreError> {
        let Some(located) = self.located(symbol, timeframe) else { return Ok(None) };
        let chunks = located
            .parts
            .iter()
            .map(|&(s, b)| self.segments[s as usize].chunk(b as usize))
            .collect::<Result<Vec<_>, _>>()?;
        let shared = match located.parts.as_slice() {
            &[(s, b)] => Some(self.segments[s as usize].shared(b as usize)?),
            _ => None,
        };
        Ok(Some(Series { info: &located.info, chunks, shared }))
    }

    /// Checks every segment's xxh3 hash against the manifest and every bar against the
    /// [`Bars`] invariants (errors name the segment file, symbol and bar), and lists every
    /// file in the store directory that the manifest does not account for.
    pub fn verify(&self) -> Result<VerifyReport, StoreError> {
        for (entry, seg) in self.manifest.segments.iter().zip(&self.segments) {
            let found = file_xxh3(seg.path())?;
            if found != entry.xxh3 {
                return Err(StoreError::Checksum {
                    path: seg.path().to_path_buf(),
                    expected: entry.xxh3,
                    found,
                });
            }
        }
        let mut report = VerifyReport { files: self.segments.len(), ..Default::default() };
        for info in self.list() {
            let located = self.located(&info.symbol, info.timeframe).expect("listed series exists");
            self.checked_bars(&located.info.symbol, located.info.timeframe, located.parts.iter().copied())?;
            report.bars += located.info.rows;
        }
        let named: HashSet<&str> = self.manifest.segments.iter().map(|s| s.file.as_str()).collect();
        let retired: HashSet<&str> = self.manifest.retired.iter().map(String::as_str).collect();
        for rel in list_dir(&self.dir, SEGMENTS_DIR)? {
            if retired.contains(rel.as_str()) {
                report.retired.push(self.dir.join(&rel));
            } else if !named.contains(rel.as_str()) {
                report.unaccounted.push(self.dir.join(&rel));
            }
        }
        report.orphans = list_dir(&self.dir, ORPHANS_DIR)?.into_iter().map(|r| self.dir.join(r)).collect();
        for name in list_dir(&self.dir, "")? {
            let known = [manifest::MANIFEST, writer::LOCK, READERS, SEGMENTS_DIR, ORPHANS_DIR, PROVENANCE];
            if !known.contains(&name.as_str()) {
                report.unaccounted.push(self.dir.join(name));
            }
        }
        let highest = self.manifest.segments.iter().filter_map(|s| segment_number(&s.file)).max();
        report.generation_behind =
            highest.filter(|&h| h > self.manifest.generation).map(|h| (self.manifest.generation, h));
        Ok(report)
    }

    /// Re-validates the bars of batches `parts` (segment, batch) of one series into owned
    /// [`Bars`]; a broken invariant names the segment file, the symbol and the bar.
    pub(crate) fn checked_bars(
        &self,
        symbol: &str,
        timeframe: Timeframe,
        parts: impl Iterator<Item = (u32, u32)>,
    ) -> Result<Bars, StoreError> {
        let mut bars = Bars::default();
        for (s, b) in parts {
            let segment = &self.segments[s as usize];
            let chunk = segment.chunk(b as usize)?;
            for i in 0..chunk.timestamps.len() {
                bars.push(chunk.bar(i)).map_err(|error| {
                    let ts = Timestamp(chunk.timestamps[i]);
                    StoreError::corrupt(segment.path(), format!("{symbol} {timeframe} bar at {ts}: {error}"))
                })?;
            }
        }
        Ok(bars)
    }

    /// The index entries (symbol per batch) of segment `s`, for the writer's compaction.
    pub(crate) fn batch_symbols(&self, s: usize) -> impl Iterator<Item = &str> {
        self.segments[s].index().iter().map(|i| i.symbol.as_str())
    }

    /// The matrix of `field` for `symbols` × the union of their timestamps, NaN where a
    /// symbol has no bar. Reads only that one column of each symbol.
    pub fn panel(&self, symbols: &[&str], timeframe: Timeframe, field: Field) -> Result<Panel, StoreError> {
        let mut series = Vec::with_capacity(symbols.len());
        for &sym in symbols {
            series.push(self.series(sym, timeframe)?);
        }
        Ok(Panel::build(symbols, &series, field))
    }

    /// Disk use of the store's segment files in bytes.
    pub fn size_on_disk(&self) -> u64 {
        self.manifest.segments.iter().map(|s| s.bytes).sum()
    }

    /// Metadata of all stored symbols as an ordered map (for writers that merge into it).
    pub(crate) fn symbol_map(&self) -> &BTreeMap<String, SymbolMeta> {
        &self.manifest.symbols
    }
}

/// Opens `READERS` and takes a shared lock on it, waiting while a writer deletes superseded
/// segments. `None` where the file cannot be opened or locked (a read-only store copy): the
/// reader then relies on its retry.
fn share_readers_lock(dir: &Path) -> Option<File> {
    let path = dir.join(READERS);
    let file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .or_else(|_| File::open(&path))
        .ok()?;
    file.lock_shared().ok()?;
    Some(file)
}

/// Names of the entries of `dir/sub` (relative to `dir`, e.g. `segments/000001-1Day.arrow`),
/// sorted; empty when the directory does not exist.
pub(crate) fn list_dir(dir: &Path, sub: &str) -> Result<Vec<String>, StoreError> {
    let path = dir.join(sub);
    let entries = match fs::read_dir(&path) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StoreError::from_io(path, e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let name = entry.map_err(StoreError::io(&path))?.file_name().to_string_lossy().into_owned();
        out.push(if sub.is_empty() { name } else { format!("{sub}/{name}") });
    }
    out.sort();
    Ok(out)
}

/// The number a segment file name starts with (`segments/000012-1Day-c.arrow` → 12).
pub(crate) fn segment_number(rel: &str) -> Option<u64> {
    let name = rel.rsplit('/').next()?;
    let digits = name.split('-').next()?;
    digits.parse().ok()
}

/// Writes one symbol's bars to `path` as a standalone Arrow IPC file in the store's column
/// layout (readable by pyarrow, polars, DuckDB), atomically.
pub fn export_arrow(path: &Path, symbol: &str, timeframe: Timeframe, bars: &Bars) -> Result<(), StoreError> {
    let mut writer = segment::SegmentWriter::create_replacing(path.to_path_buf(), timeframe)?;
    writer.write(symbol, bars)?;
    writer.finish()?;
    Ok(())
}

/// xxh3 of the file at `path`, read in 1 MiB blocks: verifying a store costs no heap however
/// large its segments are (a whole-file read held a 1.6 GB segment in memory). The hash a
/// [`SegmentEntry`] records; a cluster worker checks the segments it fetches with it.
pub fn file_xxh3(path: &Path) -> Result<u64, StoreError> {
    use std::io::Read;
    let mut file = File::open(path).map_err(StoreError::io(path))?;
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    let mut block = vec![0u8; 1 << 20];
    loop {
        match file.read(&mut block) {
            Ok(0) => return Ok(hasher.digest()),
            Ok(n) => hasher.update(&block[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(StoreError::io(path)(e)),
        }
    }
}

/// One symbol's bars at one timeframe: zero-copy chunks in time order.
#[derive(Clone, Debug)]
pub struct Series<'a> {
    info: &'a SeriesInfo,
    chunks: Vec<Chunk<'a>>,
    /// The one chunk's columns as shared buffers, when the series is stored contiguously.
    shared: Option<BarColumns>,
}

impl<'a> Series<'a> {
    /// Summary (symbol, timeframe, rows, span).
    pub fn info(&self) -> &'a SeriesInfo {
        self.info
    }

    /// Number of bars.
    pub fn len(&self) -> usize {
        self.info.rows as usize
    }

    /// True when there are no bars (never for a stored series).
    pub fn is_empty(&self) -> bool {
        self.info.rows == 0
    }

    /// The chunks, one per segment holding part of the series.
    pub fn chunks(&self) -> &[Chunk<'a>] {
        &self.chunks
    }

    /// The whole series as one chunk, if it is stored contiguously (always after compaction).
    pub fn contiguous(&self) -> Option<Chunk<'a>> {
        match self.chunks.as_slice() {
            [only] => Some(*only),
            _ => None,
        }
    }

    /// Timestamps: borrowed from the mapping when contiguous, concatenated otherwise.
    pub fn timestamps(&self) -> Cow<'a, [i64]> {
        self.concat(|c| c.timestamps)
    }

    /// Closing prices: borrowed from the mapping when contiguous, concatenated otherwise.
    pub fn close(&self) -> Cow<'a, [f64]> {
        self.field(Field::Close)
    }

    /// Any numeric field, borrowed when contiguous. `Vwap` is NaN where not stored.
    pub fn field(&self, field: Field) -> Cow<'a, [f64]> {
        match field {
            Field::Vwap if self.chunks.iter().any(|c| c.vwap.is_none()) => {
                let mut out = Vec::with_capacity(self.len());
                for c in &self.chunks {
                    match c.vwap {
                        Some(v) => out.extend_from_slice(v),
                        None => out.resize(out.len() + c.close.len(), f64::NAN),
                    }
                }
                Cow::Owned(out)
            }
            _ => self.concat(|c| chunk_field(c, field)),
        }
    }

    fn concat<T: Clone>(&self, pick: impl Fn(&Chunk<'a>) -> &'a [T]) -> Cow<'a, [T]> {
        match self.chunks.as_slice() {
            [only] => Cow::Borrowed(pick(only)),
            many => Cow::Owned(many.iter().flat_map(|c| pick(c).iter().cloned()).collect()),
        }
    }

    /// The stored bar at exactly `ts`, if any (binary search within the one chunk that spans it).
    pub fn bar_at(&self, ts: Timestamp) -> Option<Bar> {
        let chunk = self.chunks.iter().find(|c| c.timestamps.last().is_some_and(|&l| ts.0 <= l))?;
        chunk.timestamps.binary_search(&ts.0).ok().map(|i| chunk.bar(i))
    }

    /// The series as validated [`Bars`]: sharing the mapped columns when it is stored
    /// contiguously (no bar copied: the bars cost page cache, not heap, and outlive the
    /// [`Store`]), copied out of its chunks otherwise.
    pub fn to_bars(&self) -> Result<Bars, crate::bars::BarsError> {
        match &self.shared {
            Some(columns) => Bars::from_columns(columns.clone()),
            None => writer::bars_from_chunks(&self.chunks),
        }
    }
}

/// The slice of `field` in a chunk (`Vwap` only when stored; callers check).
fn chunk_field<'a>(c: &Chunk<'a>, field: Field) -> &'a [f64] {
    match field {
        Field::Open => c.open,
        Field::High => c.high,
        Field::Low => c.low,
        Field::Close => c.close,
        Field::Volume => c.volume,
        Field::Vwap => c.vwap.expect("caller checked vwap is stored"),
    }
}
