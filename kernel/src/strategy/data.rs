//! The market data a strategy runs on: several symbols' bars on one shared clock.
//!
//! Each symbol is *listed* on a range of the clock's bars: all of them, unless the data was
//! aligned point in time ([`MarketData::align_point_in_time`]), where a symbol that lists late
//! or delists early keeps its own span. Outside it its bars are placeholders (flat, no volume)
//! that a strategy never trades: [`MarketData::can_enter_at`] says where an entry may be
//! signalled, and every backtest holds a symbol's signals before its listing and exits it at
//! its last bar ([`SignalColumn::restrict`](crate::sim::SignalColumn::restrict)).

use std::ops::Range;

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
    /// Per symbol, the bars it is listed on (see the module docs).
    listed: Vec<Range<usize>>,
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
    /// Symbols whose bars all end before the first instant every other symbol has traded:
    /// they share no window with the rest (e.g. GOOG 2004–2013 beside a universe from 2016).
    #[error("{0}; leave them out or pick symbols whose histories overlap")]
    NoOverlap(Overlap),
    /// Stored bars that break the bar invariants.
    #[error("symbol `{symbol}`: {source}")]
    Bars {
        /// The symbol.
        symbol: String,
        /// What is wrong.
        source: BarsError,
    },
}

/// A symbol left out of an aligned universe because its bars end before the common window.
#[derive(Clone, Debug, PartialEq)]
pub struct Dropped {
    /// The symbol.
    pub symbol: String,
    /// Its last bar.
    pub last: Timestamp,
}

/// The symbols that share no bar with the common window of the others, and where it starts.
#[derive(Clone, Debug, PartialEq)]
pub struct Overlap {
    /// The symbols with no bar from `start` on (never empty).
    pub dropped: Vec<Dropped>,
    /// First instant of the common window: the latest first bar of any symbol.
    pub start: Timestamp,
    /// The symbol whose first bar is `start`.
    pub starter: String,
}

impl std::fmt::Display for Overlap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, d) in self.dropped.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            write!(f, "{sep}`{}` (last bar {})", d.symbol, d.last)?;
        }
        write!(f, ": no bars in the common window from {} (where `{}` starts)", self.start, self.starter)
    }
}

impl MarketData {
    /// Bundles `symbols`, which must all have the first one's timestamps. Their bars are
    /// moved into shared columns (no copy), so [`MarketData::slice`] and clones copy no bar,
    /// and hold one timestamp column, the first symbol's ([`Bars::share_timestamps`]): a
    /// backtest's check that its legs share one clock compares pointers, not every timestamp.
    pub fn new(timeframe: Timeframe, symbols: Vec<SymbolData>) -> Result<Self, DataError> {
        let first = symbols.first().ok_or(DataError::Empty("no symbols"))?;
        if let Some(bad) = symbols.iter().find(|s| !s.bars.same_timestamps(&first.bars)) {
            return Err(DataError::Misaligned {
                first: first.meta.symbol.clone(),
                symbol: bad.meta.symbol.clone(),
            });
        }
        let mut symbols: Vec<SymbolData> =
            symbols.into_iter().map(|s| SymbolData { meta: s.meta, bars: s.bars.shared() }).collect();
        if let Some((first, rest)) = symbols.split_first_mut() {
            for s in rest {
                s.bars.share_timestamps(&first.bars);
            }
        }
        let listed = vec![0..first_len(&symbols); symbols.len()];
        Ok(MarketData { timeframe, symbols, listed })
    }

    /// Puts `symbols` on one clock: the union of their timestamps from the first one at which
    /// every symbol has traded (the latest first bar). A bar a symbol lacks there (no trade in
    /// that minute, common on the IEX feed; a halted day) is filled flat at its previous close
    /// with no volume. The research loader and the live bridge both align this way, so a
    /// strategy sees the same bars in a backtest as live; intersecting instead would drop the
    /// bar for every symbol. A symbol whose bars all end before that instant is refused with
    /// [`DataError::NoOverlap`] naming it; [`MarketData::align_overlapping`] drops it instead.
    pub fn align(timeframe: Timeframe, symbols: Vec<SymbolData>) -> Result<Self, DataError> {
        match MarketData::align_overlapping(timeframe, symbols)? {
            (data, None) => Ok(data),
            (_, Some(overlap)) => Err(DataError::NoOverlap(overlap)),
        }
    }

    /// [`MarketData::align`], leaving out the symbols with no bar in the common window: the
    /// aligned rest, and what was left out (if anything) for the caller to warn with.
    pub fn align_overlapping(
        timeframe: Timeframe,
        symbols: Vec<SymbolData>,
    ) -> Result<(Self, Option<Overlap>), DataError> {
        let first = symbols.first().ok_or(DataError::Empty("no symbols"))?;
        if symbols.iter().all(|s| s.bars.same_timestamps(&first.bars)) {
            return Ok((MarketData::new(timeframe, symbols)?, None));
        }
        let mut start = (i64::MIN, String::new());
        for s in &symbols {
            let first = *s.bars.timestamps().first().ok_or(DataError::Empty("a symbol has no bars"))?;
            if first > start.0 {
                start = (first, s.meta.symbol.clone());
            }
        }
        let (start, starter) = start;
        // Every kept symbol has a bar at or before `start` (its first bar is no later) and one
        // at or after it, so `fill_flat` always has a previous bar to repeat.
        let (kept, gone): (Vec<SymbolData>, Vec<SymbolData>) =
            symbols.into_iter().partition(|s| s.bars.timestamps().last().is_some_and(|&t| t >= start));
        let clock = union_clock(kept.iter().map(|s| s.bars.timestamps()), start);
        let kept = kept.into_iter().map(|s| fill_flat(s, start, &clock)).collect::<Result<Vec<_>, _>>()?;
        let dropped: Vec<Dropped> = gone
            .iter()
            .filter_map(|s| s.bars.span().map(|(_, last)| Dropped { symbol: s.meta.symbol.clone(), last }))
            .collect();
        let report = (!dropped.is_empty()).then_some(Overlap { dropped, start: Timestamp(start), starter });
        Ok((MarketData::new(timeframe, kept)?, report))
    }

    /// Puts `symbols` on one clock point in time: the union of their timestamps within
    /// `window` (first and last instant, inclusive; every timestamp when `None`), keeping each
    /// symbol that has a bar there on its own span, [`MarketData::listed`]. Nothing is known
    /// of a symbol's future: one that delists inside the window is not dropped for it (the
    /// survivorship a common window would need), and one that lists late does not cut the
    /// others' history short. Inside its span a symbol's missing bars are filled flat at its
    /// previous close, as [`MarketData::align`] does; before it, flat at its first open, after
    /// it, flat at its last close, all with no volume. Symbols with no bar in the window are
    /// left out.
    pub fn align_point_in_time(
        timeframe: Timeframe,
        symbols: Vec<SymbolData>,
        window: Option<(i64, i64)>,
    ) -> Result<Self, DataError> {
        let (lo, hi) = window.unwrap_or((i64::MIN, i64::MAX));
        let inside = |ts: &[i64]| ts.partition_point(|&t| t < lo)..ts.partition_point(|&t| t <= hi);
        let kept: Vec<SymbolData> =
            symbols.into_iter().filter(|s| !inside(s.bars.timestamps()).is_empty()).collect();
        if kept.is_empty() {
            return Err(DataError::Empty("no symbol has a bar in the window"));
        }
        let clock = union_clock(kept.iter().map(|s| &s.bars.timestamps()[inside(s.bars.timestamps())]), lo);
        let (mut symbols, mut listed) = (Vec::with_capacity(kept.len()), Vec::with_capacity(kept.len()));
        for s in kept {
            let own = inside(s.bars.timestamps());
            let ts = &s.bars.timestamps()[own.clone()];
            let span =
                clock.partition_point(|&t| t < ts[0])..clock.partition_point(|&t| t <= ts[ts.len() - 1]);
            let s = SymbolData { meta: s.meta, bars: s.bars.slice(own) };
            symbols.push(fill_flat(s, lo, &clock)?);
            listed.push(span);
        }
        let mut data = MarketData::new(timeframe, symbols)?;
        data.listed = listed;
        Ok(data)
    }

    /// Symbols at `timeframe` from a store, aligned point in time within `window` (see
    /// [`MarketData::align_point_in_time`]).
    pub fn from_store_point_in_time(
        store: &Store,
        symbols: &[&str],
        timeframe: Timeframe,
        window: Option<(i64, i64)>,
    ) -> Result<Self, DataError> {
        MarketData::align_point_in_time(timeframe, load_store(store, symbols, timeframe)?, window)
    }

    /// Loads `symbols` at `timeframe` from a store, on one clock as [`MarketData::align`] puts
    /// them (refusing symbols with no bar in the common window). Metadata comes from the
    /// store, or is a bare equity entry when the store has none.
    pub fn from_store(store: &Store, symbols: &[&str], timeframe: Timeframe) -> Result<Self, DataError> {
        MarketData::align(timeframe, load_store(store, symbols, timeframe)?)
    }

    /// [`MarketData::from_store`] leaving out the symbols with no bar in the common window, as
    /// [`MarketData::align_overlapping`] does: for `--symbol all` over a store that mixes
    /// histories of different years.
    pub fn from_store_overlapping(
        store: &Store,
        symbols: &[&str],
        timeframe: Timeframe,
    ) -> Result<(Self, Option<Overlap>), DataError> {
        MarketData::align_overlapping(timeframe, load_store(store, symbols, timeframe)?)
    }

    /// The same bars with every symbol's asset class set to `class` (a user's `--class`): the
    /// class sets how statistics annualise and which symbols are tradable.
    pub fn with_class(mut self, class: AssetClass) -> Self {
        for s in &mut self.symbols {
            s.meta.asset_class = class;
        }
        self
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

    /// The bars symbol `i` is listed on: all of them unless the data was aligned point in time
    /// ([`MarketData::align_point_in_time`]).
    pub fn listed(&self, i: usize) -> Range<usize> {
        self.listed[i].clone()
    }

    /// Whether a signal at bar `t` may open a position in symbol `i`: it is listed at `t`, and
    /// still will be at `t + 1` unless it lists to the end of the data (a signal at its last bar
    /// would fill after it delisted).
    pub fn can_enter_at(&self, i: usize, t: usize) -> bool {
        let r = &self.listed[i];
        t >= r.start && (t + 1 < r.end || r.end == self.len())
    }

    /// The bars in `range` of every symbol: an in-sample or out-of-sample stage of the same
    /// universe, a view sharing the bars (no bar is copied).
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
        let clamp = |i: usize| i.clamp(range.start, range.end) - range.start;
        let listed = self.listed.iter().map(|r| clamp(r.start)..clamp(r.end)).collect();
        MarketData { timeframe: self.timeframe, symbols, listed }
    }
}

/// Number of bars of the first symbol (0 when there is none).
fn first_len(symbols: &[SymbolData]) -> usize {
    symbols.first().map_or(0, |s| s.bars.len())
}

/// `symbols` at `timeframe` from a store, as stored.
fn load_store(store: &Store, symbols: &[&str], timeframe: Timeframe) -> Result<Vec<SymbolData>, DataError> {
    let mut loaded = Vec::with_capacity(symbols.len());
    for &symbol in symbols {
        let missing = || DataError::Missing { symbol: symbol.to_string(), timeframe };
        let series = store.series(symbol, timeframe)?.ok_or_else(missing)?;
        let bars =
            series.to_bars().map_err(|source| DataError::Bars { symbol: symbol.to_string(), source })?;
        let meta = store.meta(symbol).cloned().unwrap_or_else(|| SymbolMeta::new(symbol, AssetClass::Equity));
        loaded.push(SymbolData { meta, bars });
    }
    Ok(loaded)
}

/// The sorted union of `timestamps` from `start` on, merged one symbol at a time; a symbol
/// already on the clock (the common case: most share one calendar) costs a comparison, no copy.
fn union_clock<'a>(timestamps: impl Iterator<Item = &'a [i64]>, start: i64) -> Vec<i64> {
    let mut clock: Vec<i64> = Vec::new();
    for ts in timestamps {
        let ts = &ts[ts.partition_point(|&t| t < start)..];
        if ts == clock.as_slice() {
            continue;
        }
        let mut merged = Vec::with_capacity(clock.len().max(ts.len()));
        let (mut i, mut j) = (0, 0);
        while i < clock.len() || j < ts.len() {
            let next = match (clock.get(i), ts.get(j)) {
                (Some(&a), Some(&b)) if a == b => {
                    i += 1;
                    j += 1;
                    a
                }
                (Some(&a), Some(&b)) if a < b => {
                    i += 1;
                    a
                }
                (Some(&a), None) => {
                    i += 1;
                    a
                }
                (_, Some(&b)) => {
                    j += 1;
                    b
                }
                (None, None) => unreachable!("the loop runs while either has one"),
            };
            merged.push(next);
        }
        clock = merged;
    }
    clock
}

/// `s` on `clock` (sorted, from `start`, a superset of its timestamps from there): its own
/// bars where it has them, else its previous bar's close repeated with no volume (before its
/// first bar, that bar's open). A symbol with a bar at every instant of the clock is its own
/// bars from `start` on, shared.
fn fill_flat(s: SymbolData, start: i64, clock: &[i64]) -> Result<SymbolData, DataError> {
    let ts = s.bars.timestamps();
    let mut next = ts.partition_point(|&t| t < start);
    if &ts[next..] == clock {
        let bars = s.bars.slice(next..ts.len());
        return Ok(SymbolData { meta: s.meta, bars });
    }
    // The bar a gap at the clock's start repeats: the symbol's last one before `start`.
    let mut prev: Option<Bar> = next.checked_sub(1).map(|i| s.bars.bar(i));
    let mut out = Bars::with_capacity(clock.len());
    let symbol = || s.meta.symbol.clone();
    for &t in clock {
        let bar = if ts.get(next) == Some(&t) {
            next += 1;
            s.bars.bar(next - 1)
        } else {
            // Before the symbol's first bar: flat at the price it lists at.
            let Some(prev) = prev.or_else(|| {
                (next < ts.len()).then(|| Bar { close: s.bars.open()[next], ..s.bars.bar(next) })
            }) else {
                return Err(DataError::Empty("a symbol has no bar on the clock"));
            };
            let close = prev.close;
            Bar {
                ts: Timestamp(t),
                open: close,
                high: close,
                low: close,
                close,
                volume: 0.0,
                vwap: prev.vwap.map(|_| close),
                trade_count: prev.trade_count.map(|_| 0),
            }
        };
        prev = Some(bar);
        out.push(bar).map_err(|source| DataError::Bars { symbol: symbol(), source })?;
    }
    Ok(SymbolData { meta: s.meta, bars: out })
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
    // Point-in-time listings (none on data aligned to a common window, whose hash is unchanged).
    for (i, r) in data.listed.iter().enumerate().filter(|(_, r)| **r != (0..data.len())) {
        for x in [i, r.start, r.end] {
            h.update(&(x as u64).to_le_bytes());
        }
    }
    h.digest()
}
