//! The store's single writer: appends, replacements and compaction, all-or-nothing.
//!
//! A write streams each series into one new segment per timeframe, then commits by replacing
//! the manifest atomically. Until that rename nothing is visible; if the process dies or the
//! write fails first, the store is exactly as it was (temp files are removed on error, and
//! orphans from a crash are collected by the next writer).
//!
//! Appending to a stored series requires the new bars to come after its last bar; bars that
//! repeat stored ones exactly are skipped, so re-fetching overlapping days is harmless, and a
//! differing bar is a conflict. [`WriteMode::Replace`] masks the symbol's old chunks instead.
//!
//! Compaction policy, per timeframe (the first segment is the *base*, later ones *deltas*):
//! - any segment with masked (replaced) symbols, or deltas holding more than a quarter of the
//!   base's bars: merge everything into one segment;
//! - more than [`MAX_DELTAS`] deltas: merge the deltas into one.
//!
//! So a nightly append writes only the new bars, each series stays in at most
//! `MAX_DELTAS + 1` chunks, and the whole timeframe is rewritten only after it has grown by a
//! quarter: amortised O(1) work per appended bar.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fs::{self, File, TryLockError};
use std::path::{Path, PathBuf};

use super::manifest::{Manifest, SegmentEntry, sync_dir};
use super::segment::{Chunk, SegmentWriter};
use super::{Series, Store, StoreError};
use crate::bars::{Bars, BarsError, SymbolMeta};
use crate::time::Timeframe;

/// Deltas allowed per timeframe before they are merged.
pub const MAX_DELTAS: usize = 8;
const SEGMENTS_DIR: &str = "segments";
const LOCK: &str = "LOCK";

/// How a series is combined with what the store already holds for it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WriteMode {
    /// Add bars after the stored ones; exact repeats are skipped, differences are errors.
    #[default]
    Append,
    /// Discard the stored series and keep only the new bars.
    Replace,
}

/// What a committed write did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WriteSummary {
    /// Series that received bars.
    pub series: usize,
    /// Bars written.
    pub rows: u64,
    /// Bars skipped because the store already held them, identical.
    pub unchanged_rows: u64,
    /// Series whose history was replaced.
    pub replaced: usize,
    /// Timeframes that were compacted after the write.
    pub compacted: Vec<Timeframe>,
}

/// The one writer of a store; holds the store's lock until dropped.
pub struct Writer {
    dir: PathBuf,
    _lock: File,
    base: Option<Store>,
    metas: BTreeMap<String, SymbolMeta>,
    generation: u64,
    segments: BTreeMap<Timeframe, SegmentWriter>,
    seen: HashSet<(Timeframe, String)>,
    replaced: BTreeSet<(Timeframe, String)>,
    summary: WriteSummary,
}

impl Writer {
    /// Opens (or creates) the store at `dir` for writing. Fails with [`StoreError::Locked`]
    /// while another writer is active.
    pub fn open(dir: impl AsRef<Path>) -> Result<Writer, StoreError> {
        let dir = dir.as_ref().to_path_buf();
        fs::create_dir_all(dir.join(SEGMENTS_DIR)).map_err(StoreError::io(&dir))?;
        let lock_path = dir.join(LOCK);
        let lock = File::create(&lock_path).map_err(StoreError::io(&lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Err(StoreError::Locked(dir)),
            Err(TryLockError::Error(e)) => return Err(StoreError::io(&lock_path)(e)),
        }
        let base = match Store::open(&dir) {
            Ok(store) => Some(store),
            Err(StoreError::NotAStore(_)) => {
                refuse_foreign_directory(&dir)?;
                None
            }
            Err(e) => return Err(e),
        };
        let metas = base.as_ref().map(|s| s.symbol_map().clone()).unwrap_or_default();
        let generation = base.as_ref().map_or(0, |s| s.manifest().generation) + 1;
        Ok(Writer {
            dir,
            _lock: lock,
            base,
            metas,
            generation,
            segments: BTreeMap::new(),
            seen: HashSet::new(),
            replaced: BTreeSet::new(),
            summary: WriteSummary::default(),
        })
    }

    /// The store as it was when the writer opened (None for a new store).
    pub fn base(&self) -> Option<&Store> {
        self.base.as_ref()
    }

    /// Sets (or overwrites) a symbol's metadata.
    pub fn set_meta(&mut self, meta: SymbolMeta) {
        self.metas.insert(meta.symbol.clone(), meta);
    }

    /// Stages `bars` for `symbol` at `timeframe`. Nothing is visible until [`Writer::commit`].
    pub fn write(
        &mut self,
        symbol: &str,
        timeframe: Timeframe,
        bars: &Bars,
        mode: WriteMode,
    ) -> Result<(), StoreError> {
        let key = (timeframe, symbol.to_string());
        if !self.seen.insert(key.clone()) {
            return Err(StoreError::Duplicate { symbol: symbol.into(), timeframe });
        }
        self.metas
            .entry(symbol.to_string())
            .or_insert_with(|| SymbolMeta { symbol: symbol.into(), ..Default::default() });
        let stored = self.base.as_ref().and_then(|s| s.series(symbol, timeframe).transpose()).transpose()?;
        let start = match (mode, stored) {
            (_, None) => 0,
            (WriteMode::Replace, Some(_)) => {
                self.replaced.insert(key);
                self.summary.replaced += 1;
                0
            }
            (WriteMode::Append, Some(stored)) => {
                let start = new_bars_start(symbol, timeframe, &stored, bars)?;
                self.summary.unchanged_rows += start as u64;
                start
            }
        };
        if start == bars.len() {
            return Ok(());
        }
        let new = if start == 0 { None } else { Some(bars.slice(start..bars.len())) };
        let segment = match self.segments.entry(timeframe) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(e) => {
                let path = self.dir.join(segment_name(self.generation, timeframe, ""));
                e.insert(SegmentWriter::create(path, timeframe)?)
            }
        };
        segment.write(symbol, new.as_ref().unwrap_or(bars))?;
        self.summary.series += 1;
        self.summary.rows += (bars.len() - start) as u64;
        Ok(())
    }

    /// Commits everything staged (one atomic manifest replacement), compacts where the policy
    /// says so (a second atomic replacement), and removes files no manifest refers to.
    pub fn commit(mut self) -> Result<WriteSummary, StoreError> {
        let mut manifest = self.base.as_ref().map(|s| s.manifest().clone()).unwrap_or_else(Manifest::empty);
        for (tf, sym) in &self.replaced {
            for seg in manifest.segments.iter_mut().filter(|s| s.timeframe == *tf) {
                seg.dropped.push(sym.clone());
            }
        }
        for (tf, segment) in std::mem::take(&mut self.segments) {
            manifest.segments.push(finish_segment(&self.dir, segment, tf)?);
        }
        manifest.generation = self.generation;
        manifest.symbols = std::mem::take(&mut self.metas);
        manifest.commit(&self.dir)?;
        let mut summary = std::mem::take(&mut self.summary);
        summary.compacted = compact(&self.dir, &mut manifest, false)?;
        collect_garbage(&self.dir, &manifest)?;
        Ok(summary)
    }

    /// Merges every timeframe into a single segment (`tradebot data compact`).
    pub fn compact_all(self) -> Result<Vec<Timeframe>, StoreError> {
        let Some(base) = &self.base else { return Ok(Vec::new()) };
        let mut manifest = base.manifest().clone();
        let done = compact(&self.dir, &mut manifest, true)?;
        collect_garbage(&self.dir, &manifest)?;
        Ok(done)
    }
}

/// Refuses to turn a non-empty directory that is not a store into one.
fn refuse_foreign_directory(dir: &Path) -> Result<(), StoreError> {
    let entries = fs::read_dir(dir).map_err(StoreError::io(dir))?;
    for entry in entries {
        let entry = entry.map_err(StoreError::io(dir))?;
        let name = entry.file_name();
        if name != SEGMENTS_DIR && name != LOCK && name != "MANIFEST.json.tmp" {
            return Err(StoreError::Manifest {
                path: dir.join(super::manifest::MANIFEST),
                reason: format!(
                    "missing, and the directory is not empty (found `{}`)",
                    name.to_string_lossy()
                ),
            });
        }
    }
    Ok(())
}

fn segment_name(generation: u64, tf: Timeframe, suffix: &str) -> String {
    format!("{SEGMENTS_DIR}/{generation:06}-{tf}{suffix}.arrow")
}

fn finish_segment(
    dir: &Path,
    segment: SegmentWriter,
    timeframe: Timeframe,
) -> Result<SegmentEntry, StoreError> {
    let (path, bytes, xxh3, rows) = segment.finish()?;
    let file = path.strip_prefix(dir).expect("segments live in the store").to_string_lossy().into_owned();
    Ok(SegmentEntry { file, timeframe, bytes, xxh3, rows, dropped: Vec::new() })
}

/// Index in `new` of the first bar the store does not already hold. Only the bars that
/// overlap the stored span are looked up (in the mapped chunks); nothing is copied.
fn new_bars_start(symbol: &str, tf: Timeframe, stored: &Series<'_>, new: &Bars) -> Result<usize, StoreError> {
    let last = stored.info().last;
    let mut start = 0;
    for (i, bar) in new.iter().enumerate() {
        if bar.ts > last {
            break;
        }
        match stored.bar_at(bar.ts) {
            Some(held) if held == bar => start = i + 1,
            Some(_) => return Err(StoreError::Conflict { symbol: symbol.into(), timeframe: tf, ts: bar.ts }),
            None => {
                return Err(StoreError::Overlap {
                    symbol: symbol.into(),
                    timeframe: tf,
                    first: bar.ts,
                    stored_last: last,
                });
            }
        }
    }
    Ok(start)
}

/// Applies the compaction policy (or merges everything when `full`); commits the manifest
/// once if anything changed. Returns the timeframes compacted.
fn compact(dir: &Path, manifest: &mut Manifest, full: bool) -> Result<Vec<Timeframe>, StoreError> {
    let timeframes: BTreeSet<Timeframe> = manifest.segments.iter().map(|s| s.timeframe).collect();
    let mut plans = Vec::new();
    for tf in timeframes {
        let idx: Vec<usize> =
            (0..manifest.segments.len()).filter(|&i| manifest.segments[i].timeframe == tf).collect();
        let segs: Vec<&SegmentEntry> = idx.iter().map(|&i| &manifest.segments[i]).collect();
        let delta_rows: u64 = segs[1..].iter().map(|s| s.rows).sum();
        let masked = segs.iter().any(|s| !s.dropped.is_empty());
        let merge = if masked || (segs.len() > 1 && (full || delta_rows * 4 > segs[0].rows)) {
            idx.clone()
        } else if segs.len() > MAX_DELTAS + 1 {
            idx[1..].to_vec()
        } else {
            continue;
        };
        plans.push((tf, merge));
    }
    if plans.is_empty() {
        return Ok(Vec::new());
    }
    let store = Store::open(dir)?;
    manifest.generation += 1;
    let mut replacements = Vec::new();
    for (tf, merge) in &plans {
        let path = dir.join(segment_name(manifest.generation, *tf, "-c"));
        let mut writer = SegmentWriter::create(path, *tf)?;
        let mut by_symbol: BTreeMap<&str, Vec<Chunk<'_>>> = BTreeMap::new();
        for &s in merge {
            let entry = &manifest.segments[s];
            let segment = &store.segments[s];
            for (b, info) in segment.index().iter().enumerate() {
                if !entry.dropped.contains(&info.symbol) {
                    by_symbol.entry(info.symbol.as_str()).or_default().push(segment.chunk(b)?);
                }
            }
        }
        for (symbol, chunks) in by_symbol {
            let bars = bars_from_chunks(&chunks)
                .map_err(|e| StoreError::corrupt(dir, format!("{symbol} {tf} while compacting: {e}")))?;
            writer.write(symbol, &bars)?;
        }
        replacements.push((merge.clone(), finish_segment(dir, writer, *tf)?));
    }
    // Put each merged segment where its first input stood, then drop the inputs.
    let mut remove = BTreeSet::new();
    for (merge, entry) in replacements {
        manifest.segments[merge[0]] = entry;
        remove.extend(merge[1..].iter().copied());
    }
    let mut i = 0;
    manifest.segments.retain(|_| {
        i += 1;
        !remove.contains(&(i - 1))
    });
    manifest.commit(dir)?;
    Ok(plans.into_iter().map(|(tf, _)| tf).collect())
}

/// Re-validates chunks into owned bars (compaction rewrites data, so it checks it too).
pub(crate) fn bars_from_chunks(chunks: &[Chunk<'_>]) -> Result<Bars, BarsError> {
    let mut bars = Bars::with_capacity(chunks.iter().map(|c| c.timestamps.len()).sum());
    for c in chunks {
        for i in 0..c.timestamps.len() {
            bars.push(c.bar(i))?;
        }
    }
    Ok(bars)
}

/// Deletes segment files (and temp files) that the committed manifest does not name.
fn collect_garbage(dir: &Path, manifest: &Manifest) -> Result<(), StoreError> {
    let live: HashSet<&str> = manifest.segments.iter().map(|s| s.file.as_str()).collect();
    let seg_dir = dir.join(SEGMENTS_DIR);
    for entry in fs::read_dir(&seg_dir).map_err(StoreError::io(&seg_dir))? {
        let path = entry.map_err(StoreError::io(&seg_dir))?.path();
        let rel = format!("{SEGMENTS_DIR}/{}", path.file_name().unwrap_or_default().to_string_lossy());
        if !live.contains(rel.as_str()) {
            fs::remove_file(&path).map_err(StoreError::io(&path))?;
        }
    }
    sync_dir(&seg_dir)
}
