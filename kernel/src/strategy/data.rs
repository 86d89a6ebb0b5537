//! The market data a strategy runs on: several symbols' bars on one shared clock.

use datasets::store::{Store, StoreError};
use datasets::{AssetClass, Bar, Bars, BarsError, SymbolMeta, Timeframe, Timestamp};
use xxhash_rust::xxh3::Xxh3;

/// One symbol: its metadata and its bars.
#[derive(Clone, Debug, PartialEq)]
pub struct SymbolData {
    /// Ticker, asset class, sector, fundamentals.
    pub meta: SymbolMeta,
    /// Bars on the shared clock of the [`MarketData`] holding them.
    pub bars: Bars,
}

/// Symbols whose bars share exactly the same timestamps, plus their timeframe.
///
/// Alignment is an invariant (checked on construction) because multi-symbol strategies rank
/// symbols bar by bar and the portfolio simulator needs aligned legs.
#[derive(Clone, Debug, PartialEq)]
pub struct MarketData {
    timeframe: Timeframe,
    symbols: Vec<SymbolData>,
}

/// Market data that cannot be assembled.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// No symbols, or no bars left after aligning them.
    #[error("market data is empty: {0}")]
    Empty(&'static str),
    /// A symbol whose timestamps differ from the first symbol's.
    #[error("symbol `{symbol}` is not aligned with `{first}`: every symbol needs the same timestamps")]
    Misaligned {
        /// The first symbol.
        first: String,
        /// The misaligned one.
        symbol: String,
    },
    /// A symbol asked for that the store does not hold at the timeframe.
    #[error("the store has no {timeframe} bars for `{symbol}`")]
    Missing {
        /// The symbol.
        symbol: String,
        /// The timeframe asked for.
        timeframe: Timeframe,
    },
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Stored bars that break the bar invariants.
    #[error("symbol `{symbol}`: {source}")]
    Bars {
        /// The symbol.
        symbol: String,
        /// What is wrong.
        source: BarsError,
    },
}

impl MarketData {
    /// Bundles `symbols`, which must all have the first one's timestamps.
    pub fn new(timeframe: Timeframe, symbols: Vec<SymbolData>) -> Result<Self, DataError> {
        let first = symbols.first().ok_or(DataError::Empty("no symbols"))?;
        if let Some(bad) = symbols.iter().find(|s| s.bars.timestamps() != first.bars.timestamps()) {
            return Err(DataError::Misaligned {
                first: first.meta.symbol.clone(),
                symbol: bad.meta.symbol.clone(),
            });
        }
        Ok(MarketData { timeframe, symbols })
    }

    /// Loads `symbols` at `timeframe` from a store and keeps only the timestamps every one of
    /// them has (a symbol listed later, or with gaps, trims the others to the common bars).
    /// Metadata comes from the store, or is a bare equity entry when the store has none.
    pub fn from_store(store: &Store, symbols: &[&str], timeframe: Timeframe) -> Result<Self, DataError> {
        let mut loaded = Vec::with_capacity(symbols.len());
        for &symbol in symbols {
            let missing = || DataError::Missing { symbol: symbol.to_string(), timeframe };
            let series = store.series(symbol, timeframe)?.ok_or_else(missing)?;
            let bars =
                series.to_bars().map_err(|source| DataError::Bars { symbol: symbol.to_string(), source })?;
            let meta =
                store.meta(symbol).cloned().unwrap_or_else(|| SymbolMeta::new(symbol, AssetClass::Equity));
            loaded.push(SymbolData { meta, bars });
        }
        let Some(first) = loaded.first() else { return Err(DataError::Empty("no symbols")) };
        let mut common: Vec<i64> = first.bars.timestamps().to_vec();
        for s in &loaded[1..] {
            let ts = s.bars.timestamps();
            common.retain(|t| ts.binary_search(t).is_ok());
        }
        if common.is_empty() {
            return Err(DataError::Empty("the symbols share no timestamp"));
        }
        for s in &mut loaded {
            if s.bars.len() != common.len() {
                s.bars = keep_timestamps(&s.bars, &common);
            }
        }
        MarketData::new(timeframe, loaded)
    }

    /// The bar timeframe.
    pub fn timeframe(&self) -> Timeframe {
        self.timeframe
    }

    /// Every symbol, in the order given.
    pub fn symbols(&self) -> &[SymbolData] {
        &self.symbols
    }

    /// The shared timestamps (UTC ns).
    pub fn timestamps(&self) -> &[i64] {
        self.symbols[0].bars.timestamps()
    }

    /// Number of bars on the shared clock.
    pub fn len(&self) -> usize {
        self.timestamps().len()
    }

    /// True when there are no bars (possible only through [`MarketData::new`] with empty bars).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Position of `symbol`, if present.
    pub fn find(&self, symbol: &str) -> Option<usize> {
        self.symbols.iter().position(|s| s.meta.symbol == symbol)
    }

    /// Positions of the symbols that can be traded (everything but indices such as VIX).
    pub fn tradable(&self) -> impl Iterator<Item = usize> + '_ {
        self.symbols
            .iter()
            .enumerate()
            .filter(|(_, s)| s.meta.asset_class != AssetClass::Index)
            .map(|(i, _)| i)
    }

    /// Timestamp of bar `t`.
    pub fn time(&self, t: usize) -> Timestamp {
        Timestamp(self.timestamps()[t])
    }

    /// A copy holding only the bars in `range` of every symbol: an in-sample or
    /// out-of-sample stage of the same universe.
    ///
    /// # Panics
    /// When `range` is empty or reaches past the last bar.
    pub fn slice(&self, range: std::ops::Range<usize>) -> MarketData {
        assert!(range.start < range.end && range.end <= self.len(), "bar range {range:?} of {}", self.len());
        let symbols = self
            .symbols
            .iter()
            .map(|s| SymbolData { meta: s.meta.clone(), bars: s.bars.slice(range.clone()) })
            .collect();
        MarketData { timeframe: self.timeframe, symbols }
    }
}

/// The bars of `bars` at the sorted timestamps `keep` (each of which it has).
fn keep_timestamps(bars: &Bars, keep: &[i64]) -> Bars {
    let ts = bars.timestamps();
    let rows = keep.iter().map(|t| bars.bar(ts.binary_search(t).expect("a common timestamp")));
    Bars::from_bars(rows.collect::<Vec<Bar>>()).expect("a subsequence of valid bars is valid")
}

/// xxh3 of the bars a run saw (the provenance of every stored result): per symbol its ticker, then its timestamps and OHLCV
/// columns as little-endian bytes, in the data's order; the timeframe first.
pub fn data_hash(data: &MarketData) -> u64 {
    let mut h = Xxh3::new();
    h.update(data.timeframe().as_str().as_bytes());
    for s in data.symbols() {
        h.update(&[0]);
        h.update(s.meta.symbol.as_bytes());
        h.update(&[0]);
        for &t in s.bars.timestamps() {
            h.update(&t.to_le_bytes());
        }
        for column in [s.bars.open(), s.bars.high(), s.bars.low(), s.bars.close(), s.bars.volume()] {
            for &x in column {
                h.update(&x.to_le_bytes());
            }
        }
    }
    h.digest()
}
