//! File import: parse everything first, then write it in one transaction.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::bars::{AssetClass, SymbolMeta};
use crate::calendar::{GapReport, missing_sessions};
use crate::ingest::{self, ImportOptions, IngestError, ParsedSeries};
use crate::store::{StoreError, WriteMode, WriteSummary, Writer};
use crate::time::{Timeframe, Timestamp};

/// Why an import did not happen. The store is unchanged in every case.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// A file could not be read or failed validation.
    #[error(transparent)]
    Ingest(#[from] IngestError),
    /// The store refused the write.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What happened to one imported series.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SeriesReport {
    /// Source file.
    pub file: PathBuf,
    /// Symbol written.
    pub symbol: String,
    /// Timeframe written.
    pub timeframe: Timeframe,
    /// The symbol's asset class as the store records it after the import.
    pub asset_class: AssetClass,
    /// Bars in the file.
    pub bars: usize,
    /// First bar in the file.
    pub first: Timestamp,
    /// Last bar in the file.
    pub last: Timestamp,
    /// Expected NYSE sessions (daily) or session minutes (1-minute) with no bar: a warning.
    pub missing_bars: usize,
    /// Where the first gap is, if any.
    pub first_missing: Option<Timestamp>,
}

/// The outcome of a committed import.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ImportReport {
    /// One entry per series, in file order.
    pub series: Vec<SeriesReport>,
    /// Bars written after skipping ones the store already held identically.
    pub rows_written: u64,
    /// Bars the store already held, skipped.
    pub rows_unchanged: u64,
    /// Timeframes compacted by the write.
    pub compacted: Vec<Timeframe>,
    /// Problems after the commit (e.g. "committed; compaction deferred: …"): the import is
    /// committed, these only need attention.
    pub warnings: Vec<String>,
}

/// Parses every file, then writes all series in one transaction (`Replace` re-writes a
/// symbol's history). Each symbol's asset class becomes `class` when given, else the class its
/// bar times prove ([`AssetClass::infer`]: 24-hour or weekend bars are not an equity's); with
/// neither, a stored symbol keeps its class and a new one is an equity. On any error nothing
/// is written.
pub fn import_files(
    store: &std::path::Path,
    files: &[PathBuf],
    opts: &ImportOptions,
    class: Option<AssetClass>,
    mode: WriteMode,
) -> Result<ImportReport, ImportError> {
    let mut parsed = Vec::new();
    for file in files {
        for series in ingest::read_file(file, opts)? {
            let class = class.or_else(|| AssetClass::infer(series.timeframe, series.bars.timestamps()));
            parsed.push((file.clone(), series, class.map_or(Meta::Keep, Meta::Class)));
        }
    }
    write_parsed(store, parsed, mode)
}

/// Writes already-parsed series (with optional metadata, which replaces the stored) in one
/// transaction.
pub fn import_parsed(
    store: &std::path::Path,
    parsed: Vec<(PathBuf, ParsedSeries, Option<SymbolMeta>)>,
    mode: WriteMode,
) -> Result<ImportReport, ImportError> {
    let parsed = parsed.into_iter().map(|(f, s, m)| (f, s, m.map_or(Meta::Keep, Meta::Full))).collect();
    write_parsed(store, parsed, mode)
}

/// What an import does to a symbol's metadata.
enum Meta {
    /// Keep what the store has (a bare equity entry for a new symbol).
    Keep,
    /// Set the asset class, keeping the rest of what the store has.
    Class(AssetClass),
    /// Replace it.
    Full(SymbolMeta),
}

fn write_parsed(
    store: &std::path::Path,
    parsed: Vec<(PathBuf, ParsedSeries, Meta)>,
    mode: WriteMode,
) -> Result<ImportReport, ImportError> {
    let mut writer = Writer::open(store)?;
    let mut reports = Vec::with_capacity(parsed.len());
    // Metadata set by this transaction, which a later series of the same symbol builds on.
    let mut set: BTreeMap<String, SymbolMeta> = BTreeMap::new();
    for (file, series, meta) in parsed {
        let current = set.get(&series.symbol).or_else(|| writer.base().and_then(|s| s.meta(&series.symbol)));
        let meta = match meta {
            Meta::Keep => None,
            Meta::Class(asset_class) => Some(SymbolMeta {
                asset_class,
                ..current.cloned().unwrap_or_else(|| SymbolMeta::new(&series.symbol, asset_class))
            }),
            Meta::Full(meta) => Some(meta),
        };
        let asset_class = meta.as_ref().or(current).map(|m| m.asset_class).unwrap_or_default();
        if let Some(meta) = meta {
            set.insert(meta.symbol.clone(), meta.clone());
            writer.set_meta(meta);
        }
        writer.write(&series.symbol, series.timeframe, &series.bars, mode)?;
        let Some((first, last)) = series.bars.span() else {
            continue;
        };
        let GapReport { missing, first_missing } =
            missing_sessions(series.bars.timestamps(), series.timeframe);
        reports.push(SeriesReport {
            file,
            symbol: series.symbol,
            timeframe: series.timeframe,
            asset_class,
            bars: series.bars.len(),
            first,
            last,
            missing_bars: missing,
            first_missing,
        });
    }
    let WriteSummary { rows, unchanged_rows, compacted, warnings, .. } = writer.commit()?;
    Ok(ImportReport {
        series: reports,
        rows_written: rows,
        rows_unchanged: unchanged_rows,
        compacted,
        warnings,
    })
}
