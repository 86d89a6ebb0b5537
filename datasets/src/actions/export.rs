//! `data export --all`: every series of a timeframe as one long table with a `symbol`
//! column, as Parquet or as an Arrow IPC file, for tools that read a table rather than the
//! store's per-symbol segments (polars, DuckDB, pandas).
//!
//! A store segment keeps each symbol in its own record batch and names it only in the file
//! footer's index, so a generic reader sees unlabeled rows. The export writes the same columns
//! with `symbol` first, symbols in name order and each symbol's bars in time order, one
//! symbol at a time (memory stays at one series whatever the store's size).

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::store::{Store, StoreError};
use crate::time::Timeframe;

/// The file format of a long-table export.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableFormat {
    /// Apache Parquet (Snappy-compressed), `<timeframe>.parquet`.
    Parquet,
    /// An Arrow IPC file (Feather v2), `<timeframe>.arrow`.
    Arrow,
}

impl TableFormat {
    /// The file name extension.
    pub fn extension(self) -> &'static str {
        match self {
            TableFormat::Parquet => "parquet",
            TableFormat::Arrow => "arrow",
        }
    }
}

/// Why an export failed. A file that was being written is removed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The store has no bars (at the timeframe asked for).
    #[error("{store}: no {what} to export")]
    Nothing {
        /// The store directory.
        store: PathBuf,
        /// `bars`, or `1Hour bars`.
        what: String,
    },
    /// The output could not be created or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating-system error.
        source: std::io::Error,
    },
    /// The Arrow or Parquet writer failed.
    #[error("{path}: {reason}")]
    Encode {
        /// The file being written.
        path: PathBuf,
        /// The writer's message.
        reason: String,
    },
}

/// One written table.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ExportedTable {
    /// The file.
    pub path: PathBuf,
    /// Its timeframe.
    pub timeframe: Timeframe,
    /// Symbols in it.
    pub symbols: usize,
    /// Rows (bars) in it.
    pub rows: u64,
}

/// The long table's columns: `symbol`, then the store's bar columns.
pub fn long_schema() -> SchemaRef {
    let mut fields = vec![Arc::new(Field::new("symbol", DataType::Utf8, false))];
    fields.extend(crate::store::bar_schema().fields().iter().cloned());
    Arc::new(Schema::new(fields))
}

/// Writes every series of `timeframe` (of every timeframe when `None`) in `store` to `out`, one
/// `<timeframe>.<ext>` file per timeframe, each written to a temp file and renamed into place.
pub fn export_tables(
    store: &Store,
    timeframe: Option<Timeframe>,
    format: TableFormat,
    out: &Path,
) -> Result<Vec<ExportedTable>, ExportError> {
    let timeframes: Vec<Timeframe> =
        Timeframe::ALL.into_iter().filter(|&tf| timeframe.is_none_or(|want| want == tf)).collect();
    let timeframes: Vec<Timeframe> =
        timeframes.into_iter().filter(|&tf| !store.symbols(tf).is_empty()).collect();
    if timeframes.is_empty() {
        let what = timeframe.map_or("bars".into(), |tf| format!("{tf} bars"));
        return Err(ExportError::Nothing { store: store.dir().to_path_buf(), what });
    }
    fs::create_dir_all(out).map_err(|source| ExportError::Io { path: out.to_path_buf(), source })?;
    timeframes.into_iter().map(|tf| export_timeframe(store, tf, format, out)).collect()
}

fn export_timeframe(
    store: &Store,
    timeframe: Timeframe,
    format: TableFormat,
    out: &Path,
) -> Result<ExportedTable, ExportError> {
    let path = out.join(format!("{timeframe}.{}", format.extension()));
    let tmp = out.join(format!(".{timeframe}.{}.tmp", format.extension()));
    let result = write_table(store, timeframe, format, &tmp).and_then(|(symbols, rows)| {
        fs::rename(&tmp, &path).map_err(|source| ExportError::Io { path: path.clone(), source })?;
        Ok(ExportedTable { path: path.clone(), timeframe, symbols, rows })
    });
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Writes the table to `tmp` and fsyncs it; `(symbols, rows)`.
fn write_table(
    store: &Store,
    timeframe: Timeframe,
    format: TableFormat,
    tmp: &Path,
) -> Result<(usize, u64), ExportError> {
    let encode =
        |e: &dyn std::fmt::Display| ExportError::Encode { path: tmp.to_path_buf(), reason: e.to_string() };
    let io = |source| ExportError::Io { path: tmp.to_path_buf(), source };
    let file = File::create(tmp).map_err(io)?;
    let schema = long_schema();
    let mut sink = match format {
        TableFormat::Parquet => {
            // Row groups keep the writer's default of 1 Mi rows: fast scans, bounded memory.
            let props = WriterProperties::builder().set_compression(Compression::SNAPPY).build();
            Sink::Parquet(
                ArrowWriter::try_new(BufWriter::new(file), schema.clone(), Some(props))
                    .map_err(|e| encode(&e))?,
            )
        }
        TableFormat::Arrow => Sink::Arrow(
            arrow_ipc::writer::FileWriter::try_new(BufWriter::new(file), &schema).map_err(|e| encode(&e))?,
        ),
    };
    let symbols = store.symbols(timeframe);
    let mut rows = 0;
    for &symbol in &symbols {
        let Some(series) = store.series(symbol, timeframe)? else { continue };
        let bars = series.to_bars().map_err(|e| {
            ExportError::Store(StoreError::Corrupt {
                path: store.dir().to_path_buf(),
                reason: format!("{symbol} {timeframe}: {e}"),
            })
        })?;
        let batch = crate::store::bar_batch(&bars);
        let mut columns: Vec<ArrayRef> =
            vec![Arc::new(StringArray::from_iter_values(std::iter::repeat_n(symbol, bars.len())))];
        columns.extend(batch.columns().iter().cloned());
        let batch = RecordBatch::try_new(schema.clone(), columns).map_err(|e| encode(&e))?;
        match &mut sink {
            Sink::Parquet(w) => w.write(&batch).map_err(|e| encode(&e))?,
            Sink::Arrow(w) => w.write(&batch).map_err(|e| encode(&e))?,
        }
        rows += bars.len() as u64;
    }
    let mut buffered = match sink {
        Sink::Parquet(w) => w.into_inner().map_err(|e| encode(&e))?,
        Sink::Arrow(mut w) => {
            w.finish().map_err(|e| encode(&e))?;
            w.into_inner().map_err(|e| encode(&e))?
        }
    };
    buffered.flush().map_err(io)?;
    let file = buffered.into_inner().map_err(|e| io(e.into_error()))?;
    file.sync_all().map_err(io)?;
    Ok((symbols.len(), rows))
}

/// The open table writer.
enum Sink {
    Parquet(ArrowWriter<BufWriter<File>>),
    Arrow(arrow_ipc::writer::FileWriter<BufWriter<File>>),
}
