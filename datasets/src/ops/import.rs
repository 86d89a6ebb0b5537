//! File import: parse everything first, then write it in one transaction.

use std::path::PathBuf;

use serde::Serialize;

use crate::bars::SymbolMeta;
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
/// symbol's history). On any error nothing is written.
pub fn import_files(
    store: &std::path::Path,
    files: &[PathBuf],
    opts: &ImportOptions,
    mode: WriteMode,
) -> Result<ImportReport, ImportError> {
    let mut parsed = Vec::new();
    for file in files {
        for series in ingest::read_file(file, opts)? {
            parsed.push((file.clone(), series, None));
        }
    }
    import_parsed(store, parsed, mode)
}

/// Writes already-parsed series (with optional metadata) in one transaction.
pub fn import_parsed(
    store: &std::path::Path,
    parsed: Vec<(PathBuf, ParsedSeries, Option<SymbolMeta>)>,
    mode: WriteMode,
) -> Result<ImportReport, ImportError> {
    let mut writer = Writer::open(store)?;
    let mut reports = Vec::with_capacity(parsed.len());
    for (file, series, meta) in parsed {
        if let Some(meta) = meta {
            writer.set_meta(meta);
        }
        writer.write(&series.symbol, series.timeframe, &series.bars, mode)?;
        let (first, last) = series.bars.span().expect("ingest never yields an empty series");
        let GapReport { missing, first_missing } =
            missing_sessions(series.bars.timestamps(), series.timeframe);
        reports.push(SeriesReport {
            file,
            symbol: series.symbol,
            timeframe: series.timeframe,
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
