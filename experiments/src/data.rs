//! Loading a sweep's bars and fingerprinting them for the research database.

use datasets::ingest::{ImportOptions, IngestError, parse_bytes, read_file};
use datasets::store::{Store, StoreError};
use datasets::{AssetClass, SymbolMeta};
pub use kernel::strategy::data_hash;
use kernel::strategy::{DataError, MarketData, SymbolData};

use crate::DataSource;

/// Bars that could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A sample or file did not parse.
    #[error(transparent)]
    Ingest(#[from] IngestError),
    /// The store could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The series do not form one aligned data set.
    #[error(transparent)]
    Data(#[from] DataError),
    /// A file holding series of different timeframes.
    #[error("{file}: series of different timeframes ({first} and {other}) cannot be swept together")]
    MixedTimeframes {
        /// The file.
        file: String,
        /// The first series' timeframe.
        first: datasets::Timeframe,
        /// Another series' timeframe.
        other: datasets::Timeframe,
    },
}

/// The market data `source` describes.
pub fn load(source: &DataSource) -> Result<MarketData, LoadError> {
    let (name, series, asset_class) = match source {
        DataSource::Sample(sample) => {
            let opts = ImportOptions { symbol: Some(sample.symbol.into()), ..Default::default() };
            let name = format!("samples/{}", sample.file);
            let series = parse_bytes(&name, sample.csv, &opts)?;
            (name, series, Some(sample.asset_class))
        }
        // A file's class is what its bar times prove (24-hour or weekend bars), else equity.
        DataSource::File(path) => {
            (path.display().to_string(), read_file(path, &ImportOptions::default())?, None)
        }
        DataSource::Store { dir, symbols, timeframe } => {
            let store = Store::open(dir)?;
            // `symbols = ["all"]` means what `--symbol all` means: every symbol at the timeframe.
            let symbols: Vec<&str> = match symbols.as_slice() {
                [all] if all == "all" => store.symbols(*timeframe),
                some => some.iter().map(String::as_str).collect(),
            };
            return Ok(MarketData::from_store(&store, &symbols, *timeframe)?);
        }
    };
    let timeframe = series.first().map(|s| s.timeframe).ok_or(DataError::Empty("no series"))?;
    if let Some(other) = series.iter().find(|s| s.timeframe != timeframe) {
        return Err(LoadError::MixedTimeframes { file: name, first: timeframe, other: other.timeframe });
    }
    let symbols = series
        .into_iter()
        .map(|s| {
            let class = asset_class.or_else(|| AssetClass::infer(s.timeframe, s.bars.timestamps()));
            SymbolData { meta: SymbolMeta::new(s.symbol, class.unwrap_or_default()), bars: s.bars }
        })
        .collect();
    Ok(MarketData::new(timeframe, symbols)?)
}
