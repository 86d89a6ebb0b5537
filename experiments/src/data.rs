//! Loading a run's bars (a sweep's, an evolution's, a research night's and `tradebot
//! backtest`'s: the one loader) and fingerprinting them for the research database.

use datasets::actions::{SAMPLES, Sample};
use datasets::ingest::{ImportOptions, IngestError, parse_bytes, read_file};
use datasets::store::{Store, StoreError};
use datasets::{AssetClass, SymbolMeta, Timeframe};
pub use kernel::strategy::data_hash;
use kernel::strategy::{DataError, MarketData, Overlap, SymbolData};

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
    /// A sample name that is not embedded.
    #[error("unknown sample `{0}` (samples: {known})", known = SAMPLES.map(|s| s.symbol).join(", "))]
    UnknownSample(String),
    /// `all` symbols of a store that holds none at the timeframe.
    #[error("{store} holds no {timeframe} bars (`tradebot data info` lists what it holds)")]
    EmptyStore {
        /// The store directory.
        store: String,
        /// The timeframe asked for.
        timeframe: Timeframe,
    },
    /// A symbol filter that matches no series of the file.
    #[error("{file}: none of the symbols {symbols:?} is in the data")]
    NoSuchSymbols {
        /// The file.
        file: String,
        /// The symbols asked for.
        symbols: Vec<String>,
    },
}

/// The embedded sample called `name` (any case).
pub fn sample(name: &str) -> Result<&'static Sample, LoadError> {
    SAMPLES
        .iter()
        .find(|s| s.symbol.eq_ignore_ascii_case(name))
        .ok_or_else(|| LoadError::UnknownSample(name.into()))
}

/// What a command asks of a source beyond where it is (`tradebot backtest`'s flags; an
/// experiment file asks nothing more: [`DataSelection::default`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct DataSelection<'a> {
    /// Of a file's or a sample's series, the symbols to keep (all when empty); a single one
    /// also names a single-series file's symbol.
    pub symbols: &'a [String],
    /// Every symbol's asset class, instead of the sample's, the store's or the one a file's bar
    /// times prove.
    pub class: Option<AssetClass>,
    /// For a store's `all` symbols: leave out those with no bar in the others' common window
    /// (said in the returned [`Overlap`]) instead of refusing to align them.
    pub overlapping: bool,
}

/// The market data `source` describes.
pub fn load(source: &DataSource) -> Result<MarketData, LoadError> {
    Ok(load_selected(source, &DataSelection::default())?.0)
}

/// The market data `source` describes, narrowed by `selection`, with the symbols a store's
/// `all` left out when `selection.overlapping` is set.
pub fn load_selected(
    source: &DataSource,
    selection: &DataSelection,
) -> Result<(MarketData, Option<Overlap>), LoadError> {
    let (name, series, asset_class) = match source {
        DataSource::Sample(sample) => {
            let opts = ImportOptions { symbol: Some(sample.symbol.into()), ..Default::default() };
            let name = format!("samples/{}", sample.file);
            let series = parse_bytes(&name, sample.csv, &opts)?;
            (name, series, Some(sample.asset_class))
        }
        // A file's class is what its bar times prove (24-hour or weekend bars), else equity.
        DataSource::File(path) => {
            let one = match selection.symbols {
                [one] => Some(one.clone()),
                _ => None,
            };
            let opts = ImportOptions { symbol: one, ..Default::default() };
            (path.display().to_string(), read_file(path, &opts)?, None)
        }
        DataSource::Store { dir, symbols, timeframe } => {
            let store = Store::open(dir)?;
            // `symbols = ["all"]` means what `--symbol all` means: every symbol at the timeframe.
            let (data, overlap) = match symbols.as_slice() {
                [all] if all == "all" => {
                    let names = store.symbols(*timeframe);
                    if names.is_empty() {
                        let store = dir.display().to_string();
                        return Err(LoadError::EmptyStore { store, timeframe: *timeframe });
                    }
                    if selection.overlapping {
                        MarketData::from_store_overlapping(&store, &names, *timeframe)?
                    } else {
                        (MarketData::from_store(&store, &names, *timeframe)?, None)
                    }
                }
                some => {
                    let names: Vec<&str> = some.iter().map(String::as_str).collect();
                    (MarketData::from_store(&store, &names, *timeframe)?, None)
                }
            };
            let data = match selection.class {
                Some(class) => data.with_class(class),
                None => data,
            };
            return Ok((data, overlap));
        }
    };
    let timeframe = series.first().map(|s| s.timeframe).ok_or(DataError::Empty("no series"))?;
    if let Some(other) = series.iter().find(|s| s.timeframe != timeframe) {
        return Err(LoadError::MixedTimeframes { file: name, first: timeframe, other: other.timeframe });
    }
    let wanted = |s: &str| selection.symbols.len() <= 1 || selection.symbols.iter().any(|w| w == s);
    let symbols: Vec<SymbolData> = series
        .into_iter()
        .filter(|s| wanted(&s.symbol))
        .map(|s| {
            let class = selection
                .class
                .or(asset_class)
                .or_else(|| AssetClass::infer(s.timeframe, s.bars.timestamps()));
            SymbolData { meta: SymbolMeta::new(s.symbol, class.unwrap_or_default()), bars: s.bars }
        })
        .collect();
    if symbols.is_empty() {
        return Err(LoadError::NoSuchSymbols { file: name, symbols: selection.symbols.to_vec() });
    }
    Ok((MarketData::new(timeframe, symbols)?, None))
}
