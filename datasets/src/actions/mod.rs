//! Whole operations on a store, as the CLI and the research run use them: import files,
//! import the embedded samples, generate a synthetic universe, describe the store, export
//! it as long tables.
//! Each write is one transaction: it commits entirely or leaves the store as it was.

mod export;
mod generate;
mod import;
mod info;
mod samples;
mod scan;

pub use export::{ExportError, ExportedTable, TableFormat, export_tables, long_schema};
pub use generate::{GenerateError, GenerateSummary, OnExisting, generate};
pub use import::{ImportError, ImportReport, SeriesReport, import_files, import_parsed};
pub use info::{SeriesStatus, StoreInfo, TimeframeSummary, describe};
pub use samples::{SAMPLES, Sample, import_samples};
pub use scan::{ScanTotals, scan, sum};
