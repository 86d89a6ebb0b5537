//! The store's single writer: appends, replacements and compaction, all-or-nothing.
//!
//! A write streams each series into one new segment per timeframe, then commits by replacing
//! the manifest atomically. Until that rename nothing is visible; if the process dies or the
//! write fails first, the store is exactly as it was (temp files and segments the write made
//! are removed on error; temp files of a writer that died are removed by the next one).
//!
//! A writer never writes over a file: segments are created new, numbered past both the
//! manifest's generation and every number already on disk, so a damaged manifest cannot turn
//! a write into an overwrite. After the commit, compaction and clean-up are separate steps
//! whose failure leaves the write committed and is reported as a warning. Clean-up deletes
//! only segments a compaction superseded (once no reader holds the store open, see
//! `READERS`); any other file the manifest does not name is moved to `orphans/`, not deleted.
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

use super::manifest::{MANIFEST, Manifest, SegmentEntry, sync_dir};
use super::segment::{Chunk, SegmentWriter};
use super::{
    ORPHANS_DIR, PROVENANCE, READERS, SEGMENTS_DIR, Series, Store, StoreError, list_dir, segment_number,
};
use crate::bars::{Bars, BarsError, SymbolMeta};
use crate::time::Timeframe;

/// Deltas allowed per timeframe before they are merged.
pub const MAX_DELTAS: usize = 8;
/// File the one writer locks exclusively.
pub(crate) const LOCK: &str = "LOCK";

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
    /// Series taken out of the store by [`Writer::remove`].
    pub removed: usize,
    /// Timeframes that were compacted after the write.
    pub compacted: Vec<Timeframe>,
    /// Problems after the commit (compaction or clean-up deferred, files moved to `orphans/`):
    /// the write is committed; these only need attention.
    pub warnings: Vec<String>,
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
    /// while another writer is active. Temp files left by a writer that died are removed.
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
        remove_dead_temp_files(&dir)?;
        let base = match Store::open(&dir) {
            Ok(store) => Some(store),
            Err(StoreError::NotAStore(_)) => {
                refuse_foreign_directory(&dir)?;
                None
            }
            Err(e) => return Err(e),
        };
        let metas = base.as_ref().map(|s| s.symbol_map().clone()).unwrap_or_default();
        let generation = next_generation(&dir, base.as_ref().map_or(0, |s| s.manifest().generation))?;
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

    /// A symbol's metadata as the commit will write it: as last set, else as stored.
    pub fn meta(&self, symbol: &str) -> Option<&SymbolMeta> {
        self.metas.get(symbol)
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
        crate::symbol::validate_symbol(symbol)
            .map_err(|error| StoreError::InvalidSymbol { symbol: symbol.to_string(), error })?;
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
                e.insert(SegmentWriter::create_new(path, timeframe)?)
            }
        };
        segment.write(symbol, new.as_ref().unwrap_or(bars))?;
        self.summary.series += 1;
        self.summary.rows += (bars.len() - start) as u64;
        Ok(())
    }

    /// Stages taking `symbol` out of the store: at `timeframe`, or at every timeframe when
    /// `None` (then its metadata goes too). Returns the timeframes removed; an error when
    /// the store holds no such series. The bars leave the files at the next compaction,
    /// which the commit runs.
    pub fn remove(
        &mut self,
        symbol: &str,
        timeframe: Option<Timeframe>,
    ) -> Result<Vec<Timeframe>, StoreError> {
        let stored: Vec<Timeframe> = self
            .base
            .as_ref()
            .map(|s| s.list().into_iter().filter(|i| i.symbol == symbol).map(|i| i.timeframe).collect())
            .unwrap_or_default();
        let remove: Vec<Timeframe> =
            stored.iter().copied().filter(|&t| timeframe.is_none_or(|w| w == t)).collect();
        if remove.is_empty() {
            return Err(StoreError::NotStored { symbol: symbol.to_string(), timeframe });
        }
        for &tf in &remove {
            let key = (tf, symbol.to_string());
            if !self.seen.insert(key.clone()) {
                return Err(StoreError::Duplicate { symbol: symbol.into(), timeframe: tf });
            }
            self.replaced.insert(key);
            self.summary.removed += 1;
        }
        if remove.len() == stored.len() {
            self.metas.remove(symbol);
        }
        Ok(remove)
    }

    /// Commits everything staged (one atomic manifest replacement). Then, as separate steps
    /// whose failure only adds a warning to the summary, compacts where the policy says so
    /// and cleans up (see the module documentation).
    pub fn commit(mut self) -> Result<WriteSummary, StoreError> {
        let mut manifest = self.base.as_ref().map(|s| s.manifest().clone()).unwrap_or_else(Manifest::empty);
        for (tf, sym) in &self.replaced {
            for seg in manifest.segments.iter_mut().filter(|s| s.timeframe == *tf) {
                seg.dropped.push(sym.clone());
            }
        }
        manifest.generation = self.generation;
        manifest.symbols = std::mem::take(&mut self.metas);
        let mut created = Vec::new();
        let staged = std::mem::take(&mut self.segments);
        let committed = finish_all(&self.dir, staged, &mut manifest, &mut created)
            .and_then(|()| manifest.commit(&self.dir));
        if let Err(e) = committed {
            remove_files(&created);
            return Err(e);
        }
        // Our own view must not hold back the deletion of what compaction supersedes.
        self.base = None;
        let mut summary = std::mem::take(&mut self.summary);
        match compact(&self.dir, &mut manifest, false) {
            Ok(done) => summary.compacted = done,
            Err(e) => summary.warnings.push(format!("committed; compaction deferred: {e}")),
        }
        clean_up(&self.dir, &mut manifest, &mut summary.warnings);
        Ok(summary)
    }

    /// Merges every timeframe into a single segment (`tradebot data compact`); a failed
    /// compaction is an error here, since it is the whole operation.
    pub fn compact_all(mut self) -> Result<WriteSummary, StoreError> {
        let Some(base) = self.base.take() else { return Ok(WriteSummary::default()) };
        let mut manifest = base.manifest().clone();
        drop(base);
        let mut summary =
            WriteSummary { compacted: compact(&self.dir, &mut manifest, true)?, ..Default::default() };
        clean_up(&self.dir, &mut manifest, &mut summary.warnings);
        Ok(summary)
    }
}

/// Finishes the staged segments into `manifest`, recording each file made in `created`.
fn finish_all(
    dir: &Path,
    staged: BTreeMap<Timeframe, SegmentWriter>,
    manifest: &mut Manifest,
    created: &mut Vec<PathBuf>,
) -> Result<(), StoreError> {
    for (tf, segment) in staged {
        let entry = finish_segment(dir, segment, tf)?;
        created.push(dir.join(&entry.file));
        manifest.segments.push(entry);
    }
    Ok(())
}

/// Best-effort removal of files this process made for a write that did not commit.
fn remove_files(files: &[PathBuf]) {
    for f in files {
        let _ = fs::remove_file(f);
    }
}

/// The number for this write's segments: past the manifest's generation and past every
/// segment number on disk (live, orphaned or left by a crash), so no name is ever reused.
fn next_generation(dir: &Path, manifest_generation: u64) -> Result<u64, StoreError> {
    let mut highest = manifest_generation;
    for sub in [SEGMENTS_DIR, ORPHANS_DIR] {
        for rel in list_dir(dir, sub)? {
            highest = highest.max(segment_number(&rel).unwrap_or(0));
        }
    }
    Ok(highest + 1)
}

/// Removes temp files (`*.tmp`) of writers that died mid-write: only a writer makes them,
/// and we hold the write lock, so none is in use. Nothing committed ever has that name.
fn remove_dead_temp_files(dir: &Path) -> Result<(), StoreError> {
    let mut temps: Vec<String> =
        list_dir(dir, SEGMENTS_DIR)?.into_iter().filter(|f| f.ends_with(".arrow.tmp")).collect();
    temps.push(format!("{MANIFEST}.tmp"));
    for rel in temps {
        let path = dir.join(rel);
        match fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(StoreError::from_io(path, e)),
            _ => {}
        }
    }
    Ok(())
}

/// Refuses to turn a non-empty directory that is not a store into one.
fn refuse_foreign_directory(dir: &Path) -> Result<(), StoreError> {
    for name in list_dir(dir, "")? {
        if ![SEGMENTS_DIR, LOCK, READERS, ORPHANS_DIR, PROVENANCE].contains(&name.as_str()) {
            return Err(StoreError::Manifest {
                path: dir.join(MANIFEST),
                reason: format!("missing, and the directory is not empty (found `{name}`)"),
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
/// once if anything changed, listing the superseded inputs as retired. Returns the
/// timeframes compacted. On error `manifest` and the store are as before (the segments it
/// made are removed).
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
    let mut next = manifest.clone();
    next.generation = next_generation(dir, manifest.generation)?;
    let mut created = Vec::new();
    let result = merge_plans(dir, &plans, &mut next, &mut created).and_then(|()| next.commit(dir));
    if let Err(e) = result {
        remove_files(&created);
        return Err(e);
    }
    *manifest = next;
    Ok(plans.into_iter().map(|(tf, _)| tf).collect())
}

/// Writes one merged segment per plan into `next`, replacing the plan's inputs (which go
/// to `next.retired`); a timeframe left with no bars (every series removed) gets none.
fn merge_plans(
    dir: &Path,
    plans: &[(Timeframe, Vec<usize>)],
    next: &mut Manifest,
    created: &mut Vec<PathBuf>,
) -> Result<(), StoreError> {
    let store = Store::open(dir)?;
    let mut replacements = Vec::new();
    for (tf, merge) in plans {
        let mut by_symbol: BTreeMap<&str, Vec<(u32, u32)>> = BTreeMap::new();
        for &s in merge {
            let entry = &next.segments[s];
            for (b, symbol) in store.batch_symbols(s).enumerate() {
                if !entry.dropped.iter().any(|d| d == symbol) {
                    by_symbol.entry(symbol).or_default().push((s as u32, b as u32));
                }
            }
        }
        if by_symbol.is_empty() {
            replacements.push((merge, None));
            continue;
        }
        let path = dir.join(segment_name(next.generation, *tf, "-c"));
        let mut writer = SegmentWriter::create_new(path, *tf)?;
        for (symbol, parts) in by_symbol {
            writer.write(symbol, &store.checked_bars(symbol, *tf, parts.into_iter())?)?;
        }
        let entry = finish_segment(dir, writer, *tf)?;
        created.push(dir.join(&entry.file));
        replacements.push((merge, Some(entry)));
    }
    // Put each merged segment where its first input stood, then drop the other inputs.
    let mut remove = BTreeSet::new();
    for (merge, entry) in replacements {
        next.retired.extend(merge.iter().map(|&i| next.segments[i].file.clone()));
        match entry {
            Some(entry) => {
                next.segments[merge[0]] = entry;
                remove.extend(merge[1..].iter().copied());
            }
            None => remove.extend(merge.iter().copied()),
        }
    }
    let mut i = 0;
    next.segments.retain(|_| {
        i += 1;
        !remove.contains(&(i - 1))
    });
    Ok(())
}

/// Re-validates chunks into owned bars.
pub(crate) fn bars_from_chunks(chunks: &[Chunk<'_>]) -> Result<Bars, BarsError> {
    let mut bars = Bars::with_capacity(chunks.iter().map(|c| c.timestamps.len()).sum());
    for c in chunks {
        for i in 0..c.timestamps.len() {
            bars.push(c.bar(i))?;
        }
    }
    Ok(bars)
}

/// After a commit: deletes retired segments if no reader holds the store, and moves segment
/// files no manifest names to `orphans/`. Never fails the committed write: problems become
/// warnings.
fn clean_up(dir: &Path, manifest: &mut Manifest, warnings: &mut Vec<String>) {
    if let Err(e) = delete_retired(dir, manifest) {
        warnings.push(format!("committed; clean-up deferred: {e}"));
    }
    match move_orphans(dir, manifest) {
        Ok(moved) => warnings.extend(moved.into_iter().map(|(from, to)| {
            format!(
                "{from} is not in the manifest (a crashed write or a damaged manifest): moved to {to}, not deleted"
            )
        })),
        Err(e) => warnings.push(format!("committed; clean-up deferred: {e}")),
    }
}

/// Deletes the retired segments when no reader has the store open (the `READERS` lock is
/// free), then drops them from the manifest. While a reader holds it, they stay for a later
/// writer: a reader never finds its files gone.
fn delete_retired(dir: &Path, manifest: &mut Manifest) -> Result<(), StoreError> {
    if manifest.retired.is_empty() {
        return Ok(());
    }
    let path = dir.join(READERS);
    let readers = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(StoreError::io(&path))?;
    match readers.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => return Ok(()),
        Err(TryLockError::Error(e)) => return Err(StoreError::from_io(path, e)),
    }
    for rel in &manifest.retired {
        let file = dir.join(rel);
        match fs::remove_file(&file) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(StoreError::from_io(file, e)),
            _ => {}
        }
    }
    manifest.retired.clear();
    manifest.commit(dir)?;
    sync_dir(&dir.join(SEGMENTS_DIR))
}

/// Moves every file in `segments/` that the manifest neither uses nor retires to `orphans/`
/// (renamed with a suffix if the name is taken). Returns the moves, for the warnings.
fn move_orphans(dir: &Path, manifest: &Manifest) -> Result<Vec<(String, String)>, StoreError> {
    let known: HashSet<&str> = manifest
        .segments
        .iter()
        .map(|s| s.file.as_str())
        .chain(manifest.retired.iter().map(String::as_str))
        .collect();
    let mut moved = Vec::new();
    for rel in list_dir(dir, SEGMENTS_DIR)? {
        if known.contains(rel.as_str()) || rel.ends_with(".tmp") {
            continue;
        }
        let orphans = dir.join(ORPHANS_DIR);
        fs::create_dir_all(&orphans).map_err(StoreError::io(&orphans))?;
        let name = rel.trim_start_matches(&format!("{SEGMENTS_DIR}/")).to_string();
        let mut target = format!("{ORPHANS_DIR}/{name}");
        let mut n = 1;
        while dir.join(&target).exists() {
            target = format!("{ORPHANS_DIR}/{name}.{n}");
            n += 1;
        }
        fs::rename(dir.join(&rel), dir.join(&target)).map_err(StoreError::io(dir.join(&target)))?;
        moved.push((rel, target));
    }
    if !moved.is_empty() {
        sync_dir(&dir.join(ORPHANS_DIR))?;
        sync_dir(&dir.join(SEGMENTS_DIR))?;
    }
    Ok(moved)
}
