//! Validated, columnar OHLCV series and per-symbol metadata.
//!
//! [`Bars`] is what ingest produces and the store writes: one column per field, every
//! invariant (equal lengths, strictly increasing UTC timestamps, sane OHLC ranges,
//! non-negative volume) checked as each bar is pushed (or once over borrowed columns, see
//! [`Bars::from_columns`]), so an invalid series cannot exist.
//!
//! A column is owned while a series is built bar by bar and shared once it is read: a
//! reference-counted buffer that may be a slice of a memory-mapped store file. Cloning shared
//! bars and [`Bars::slice`] of them copy no bar, so a universe read from the store costs page
//! cache, not heap, however many stages and copies of it a run takes.

use std::ops::{Deref, Range};

use arrow_buffer::{ArrowNativeType, ScalarBuffer};
use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

/// One bar, as a row. Used to build [`Bars`]; stored column-wise.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bar {
    /// Bar start time (UTC).
    pub ts: Timestamp,
    /// Opening price.
    pub open: f64,
    /// Highest price.
    pub high: f64,
    /// Lowest price.
    pub low: f64,
    /// Closing price.
    pub close: f64,
    /// Traded volume (shares, contracts or coins: fractional for crypto).
    pub volume: f64,
    /// Volume-weighted average price, when the source has it.
    pub vwap: Option<f64>,
    /// Number of trades, when the source has it.
    pub trade_count: Option<u64>,
}

/// A bar that breaks one of [`Bars`]' invariants; `index` is the bar's position in the series.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BarsError {
    /// A price or volume is NaN or infinite.
    #[error("bar {index}: field `{field}` is not a finite number")]
    NotFinite {
        /// Position of the offending bar.
        index: usize,
        /// Name of the field.
        field: &'static str,
    },
    /// A price is zero or negative.
    #[error("bar {index}: field `{field}` = {value} is not a positive price")]
    NonPositivePrice {
        /// Position of the offending bar.
        index: usize,
        /// Name of the field.
        field: &'static str,
        /// The value found.
        value: f64,
    },
    /// `high < low`.
    #[error("bar {index}: high {high} is below low {low}")]
    HighBelowLow {
        /// Position of the offending bar.
        index: usize,
        /// The bar's high.
        high: f64,
        /// The bar's low.
        low: f64,
    },
    /// Open or close lies outside `[low, high]`.
    #[error("bar {index}: {field} {value} is outside [low {low}, high {high}]")]
    OutsideRange {
        /// Position of the offending bar.
        index: usize,
        /// `open` or `close`.
        field: &'static str,
        /// The value found.
        value: f64,
        /// The bar's low.
        low: f64,
        /// The bar's high.
        high: f64,
    },
    /// Volume below zero.
    #[error("bar {index}: volume {volume} is negative")]
    NegativeVolume {
        /// Position of the offending bar.
        index: usize,
        /// The volume found.
        volume: f64,
    },
    /// A timestamp equal to or earlier than the one before it.
    #[error("bar {index}: timestamp {ts} does not come after the previous bar's {prev}")]
    NotIncreasing {
        /// Position of the offending bar.
        index: usize,
        /// The previous bar's timestamp.
        prev: Timestamp,
        /// This bar's timestamp.
        ts: Timestamp,
    },
    /// An optional field (vwap, trade_count) present on some bars but not others.
    #[error("bar {index}: field `{field}` must be given on every bar or on none")]
    OptionalFieldMismatch {
        /// Position of the offending bar.
        index: usize,
        /// Name of the field.
        field: &'static str,
    },
}

impl BarsError {
    /// Position of the offending bar within the series.
    pub fn index(&self) -> usize {
        match *self {
            BarsError::NotFinite { index, .. }
            | BarsError::NonPositivePrice { index, .. }
            | BarsError::HighBelowLow { index, .. }
            | BarsError::OutsideRange { index, .. }
            | BarsError::NegativeVolume { index, .. }
            | BarsError::NotIncreasing { index, .. }
            | BarsError::OptionalFieldMismatch { index, .. } => index,
        }
    }

    /// The field the error is about, for messages that name file, line and field.
    pub fn field(&self) -> &'static str {
        match *self {
            BarsError::NotFinite { field, .. }
            | BarsError::NonPositivePrice { field, .. }
            | BarsError::OutsideRange { field, .. }
            | BarsError::OptionalFieldMismatch { field, .. } => field,
            BarsError::HighBelowLow { .. } => "high",
            BarsError::NegativeVolume { .. } => "volume",
            BarsError::NotIncreasing { .. } => "timestamp",
        }
    }
}

/// One column of [`Bars`]: a `Vec` while the series grows, a shared buffer once it is read
/// (cloned and sliced without copying; possibly pointing into a memory-mapped file).
#[derive(Clone)]
enum Column<T: ArrowNativeType> {
    Owned(Vec<T>),
    Shared(ScalarBuffer<T>),
}

impl<T: ArrowNativeType> Column<T> {
    fn with_capacity(n: usize) -> Self {
        Column::Owned(Vec::with_capacity(n))
    }

    /// The column as a growable `Vec` (copied out of a shared buffer, which is rare: only a
    /// push onto bars that were read rather than built).
    fn owned(&mut self) -> &mut Vec<T> {
        if let Column::Shared(b) = self {
            *self = Column::Owned(b.to_vec());
        }
        match self {
            Column::Owned(v) => v,
            Column::Shared(_) => unreachable!("converted above"),
        }
    }

    /// The column as a shared buffer (a `Vec` moves in without a copy).
    fn share(&mut self) {
        if let Column::Owned(v) = self {
            *self = Column::Shared(ScalarBuffer::from(std::mem::take(v)));
        }
    }

    /// Rows `range`: a view of a shared column, a copy of an owned one.
    fn slice(&self, range: Range<usize>) -> Self {
        match self {
            Column::Owned(v) => Column::Owned(v[range].to_vec()),
            Column::Shared(b) => Column::Shared(b.slice(range.start, range.len())),
        }
    }
}

impl<T: ArrowNativeType> Default for Column<T> {
    fn default() -> Self {
        Column::Owned(Vec::new())
    }
}

impl<T: ArrowNativeType> Deref for Column<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        match self {
            Column::Owned(v) => v,
            Column::Shared(b) => b,
        }
    }
}

impl<T: ArrowNativeType> PartialEq for Column<T> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl<T: ArrowNativeType> std::fmt::Debug for Column<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (**self).fmt(f)
    }
}

/// A series' columns as shared buffers, e.g. slices of a memory-mapped store file: the input
/// of [`Bars::from_columns`].
#[derive(Clone, Debug)]
pub struct BarColumns {
    /// Bar start times, UTC epoch nanoseconds.
    pub timestamps: ScalarBuffer<i64>,
    /// Opening prices.
    pub open: ScalarBuffer<f64>,
    /// High prices.
    pub high: ScalarBuffer<f64>,
    /// Low prices.
    pub low: ScalarBuffer<f64>,
    /// Closing prices.
    pub close: ScalarBuffer<f64>,
    /// Volumes.
    pub volume: ScalarBuffer<f64>,
    /// Volume-weighted average prices, when stored.
    pub vwap: Option<ScalarBuffer<f64>>,
    /// Trade counts, when stored.
    pub trade_count: Option<ScalarBuffer<u64>>,
}

/// A validated OHLCV series in columns, oldest bar first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Bars {
    ts: Column<i64>,
    open: Column<f64>,
    high: Column<f64>,
    low: Column<f64>,
    close: Column<f64>,
    volume: Column<f64>,
    vwap: Option<Column<f64>>,
    trade_count: Option<Column<u64>>,
}

impl Bars {
    /// An empty series with room for `n` bars.
    pub fn with_capacity(n: usize) -> Self {
        Bars {
            ts: Column::with_capacity(n),
            open: Column::with_capacity(n),
            high: Column::with_capacity(n),
            low: Column::with_capacity(n),
            close: Column::with_capacity(n),
            volume: Column::with_capacity(n),
            vwap: None,
            trade_count: None,
        }
    }

    /// Bars over shared `columns` without copying them, after checking every invariant
    /// (one pass over the columns, allocating nothing): how the store hands out mapped series.
    ///
    /// # Panics
    /// When the columns differ in length (an Arrow record batch's never do).
    pub fn from_columns(columns: BarColumns) -> Result<Self, BarsError> {
        let n = columns.timestamps.len();
        let lens = [columns.open.len(), columns.high.len(), columns.low.len(), columns.close.len()];
        let optional =
            [columns.vwap.as_ref().map(|v| v.len()), columns.trade_count.as_ref().map(|v| v.len())];
        assert!(
            lens.iter().chain(&[columns.volume.len()]).chain(optional.iter().flatten()).all(|&l| l == n),
            "bar columns of different lengths"
        );
        let bars = Bars {
            ts: Column::Shared(columns.timestamps),
            open: Column::Shared(columns.open),
            high: Column::Shared(columns.high),
            low: Column::Shared(columns.low),
            close: Column::Shared(columns.close),
            volume: Column::Shared(columns.volume),
            vwap: columns.vwap.map(Column::Shared),
            trade_count: columns.trade_count.map(Column::Shared),
        };
        for i in 0..n {
            check_bar(i, &bars.bar(i))?;
            if i > 0 && bars.ts[i] <= bars.ts[i - 1] {
                return Err(BarsError::NotIncreasing {
                    index: i,
                    prev: Timestamp(bars.ts[i - 1]),
                    ts: Timestamp(bars.ts[i]),
                });
            }
        }
        Ok(bars)
    }

    /// The same bars with every column shared, moved without a copy: clones and
    /// [`Bars::slice`]s of the result copy no bar.
    pub fn shared(mut self) -> Self {
        self.ts.share();
        self.open.share();
        self.high.share();
        self.low.share();
        self.close.share();
        self.volume.share();
        self.vwap.iter_mut().for_each(Column::share);
        self.trade_count.iter_mut().for_each(Column::share);
        self
    }

    /// Builds a series from rows, checking every invariant.
    pub fn from_bars(bars: impl IntoIterator<Item = Bar>) -> Result<Self, BarsError> {
        let iter = bars.into_iter();
        let mut out = Bars::with_capacity(iter.size_hint().0);
        for bar in iter {
            out.push(bar)?;
        }
        Ok(out)
    }

    /// Appends one bar after checking it against the invariants and the previous bar.
    /// On error the series is unchanged.
    pub fn push(&mut self, bar: Bar) -> Result<(), BarsError> {
        let index = self.len();
        check_bar(index, &bar)?;
        if let Some(&prev) = self.ts.last()
            && bar.ts.0 <= prev
        {
            return Err(BarsError::NotIncreasing { index, prev: Timestamp(prev), ts: bar.ts });
        }
        let vwap_ok = index == 0 || self.vwap.is_some() == bar.vwap.is_some();
        if !vwap_ok {
            return Err(BarsError::OptionalFieldMismatch { index, field: "vwap" });
        }
        let trades_ok = index == 0 || self.trade_count.is_some() == bar.trade_count.is_some();
        if !trades_ok {
            return Err(BarsError::OptionalFieldMismatch { index, field: "trade_count" });
        }
        if let Some(v) = bar.vwap {
            self.vwap.get_or_insert_with(Column::default).owned().push(v);
        }
        if let Some(n) = bar.trade_count {
            self.trade_count.get_or_insert_with(Column::default).owned().push(n);
        }
        self.ts.owned().push(bar.ts.0);
        self.open.owned().push(bar.open);
        self.high.owned().push(bar.high);
        self.low.owned().push(bar.low);
        self.close.owned().push(bar.close);
        self.volume.owned().push(bar.volume);
        Ok(())
    }

    /// True when `self` and `other` have the same timestamps: a pointer comparison when both
    /// hold the same view of one clock ([`Bars::share_timestamps`]), else one of every timestamp.
    pub fn same_timestamps(&self, other: &Bars) -> bool {
        let (a, b) = (self.timestamps(), other.timestamps());
        std::ptr::eq(a, b) || a == b
    }

    /// Holds `clock`'s timestamp column in place of its own when the two are equal and
    /// `clock`'s is shared ([`Bars::shared`]); returns whether it now does. Bars on one clock
    /// then keep one copy of it, and [`Bars::same_timestamps`] between them, or between their
    /// [`Bars::slice`]s over the same range, is a pointer comparison.
    pub fn share_timestamps(&mut self, clock: &Bars) -> bool {
        match &clock.ts {
            Column::Shared(b) if self.same_timestamps(clock) => {
                self.ts = Column::Shared(b.clone());
                true
            }
            _ => false,
        }
    }

    /// Number of bars.
    pub fn len(&self) -> usize {
        self.ts.len()
    }

    /// True when there are no bars.
    pub fn is_empty(&self) -> bool {
        self.ts.is_empty()
    }

    /// Bar start times, UTC epoch nanoseconds, strictly increasing.
    pub fn timestamps(&self) -> &[i64] {
        &self.ts
    }
    /// Opening prices.
    pub fn open(&self) -> &[f64] {
        &self.open
    }
    /// High prices.
    pub fn high(&self) -> &[f64] {
        &self.high
    }
    /// Low prices.
    pub fn low(&self) -> &[f64] {
        &self.low
    }
    /// Closing prices.
    pub fn close(&self) -> &[f64] {
        &self.close
    }
    /// Volumes.
    pub fn volume(&self) -> &[f64] {
        &self.volume
    }
    /// Volume-weighted average prices, if the source had them.
    pub fn vwap(&self) -> Option<&[f64]> {
        self.vwap.as_deref()
    }
    /// Trade counts, if the source had them.
    pub fn trade_count(&self) -> Option<&[u64]> {
        self.trade_count.as_deref()
    }

    /// The bar at `i` as a row.
    pub fn bar(&self, i: usize) -> Bar {
        Bar {
            ts: Timestamp(self.ts[i]),
            open: self.open[i],
            high: self.high[i],
            low: self.low[i],
            close: self.close[i],
            volume: self.volume[i],
            vwap: self.vwap.as_ref().map(|v| v[i]),
            trade_count: self.trade_count.as_ref().map(|v| v[i]),
        }
    }

    /// Iterates over the bars as rows.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Bar> + '_ {
        (0..self.len()).map(|i| self.bar(i))
    }

    /// The bars in `range` (still valid: any run of a valid series is valid): a view sharing
    /// the columns of [`Bars::shared`] bars, a copy of bars still being built.
    ///
    /// # Panics
    /// When `range` reaches past the last bar.
    pub fn slice(&self, range: Range<usize>) -> Bars {
        Bars {
            ts: self.ts.slice(range.clone()),
            open: self.open.slice(range.clone()),
            high: self.high.slice(range.clone()),
            low: self.low.slice(range.clone()),
            close: self.close.slice(range.clone()),
            volume: self.volume.slice(range.clone()),
            vwap: self.vwap.as_ref().map(|v| v.slice(range.clone())),
            trade_count: self.trade_count.as_ref().map(|v| v.slice(range)),
        }
    }

    /// First and last timestamps, if any.
    pub fn span(&self) -> Option<(Timestamp, Timestamp)> {
        Some((Timestamp(*self.ts.first()?), Timestamp(*self.ts.last()?)))
    }
}

fn check_bar(index: usize, b: &Bar) -> Result<(), BarsError> {
    let prices = [("open", b.open), ("high", b.high), ("low", b.low), ("close", b.close)];
    for (field, value) in prices {
        if !value.is_finite() {
            return Err(BarsError::NotFinite { index, field });
        }
        if value <= 0.0 {
            return Err(BarsError::NonPositivePrice { index, field, value });
        }
    }
    if !b.volume.is_finite() {
        return Err(BarsError::NotFinite { index, field: "volume" });
    }
    if b.vwap.is_some_and(|v| !v.is_finite()) {
        return Err(BarsError::NotFinite { index, field: "vwap" });
    }
    if b.high < b.low {
        return Err(BarsError::HighBelowLow { index, high: b.high, low: b.low });
    }
    for (field, value) in [("open", b.open), ("close", b.close)] {
        if value < b.low || value > b.high {
            return Err(BarsError::OutsideRange { index, field, value, low: b.low, high: b.high });
        }
    }
    if b.volume < 0.0 {
        return Err(BarsError::NegativeVolume { index, volume: b.volume });
    }
    Ok(())
}

/// What kind of instrument a symbol is; drives annualisation and which strategies apply.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssetClass {
    /// A common stock.
    #[default]
    Equity,
    /// An exchange-traded fund (sector ETFs, index trackers, defensive assets).
    Etf,
    /// An index level that cannot be traded directly (e.g. the VIX-like index).
    Index,
    /// A currency pair, traded around the clock on weekdays.
    Forex,
    /// A crypto asset, traded around the clock.
    Crypto,
}

/// An asset class name that is not one of [`AssetClass::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown asset class `{0}` (known: equity, etf, index, forex, crypto)")]
pub struct UnknownAssetClass(pub String);

impl AssetClass {
    /// Every class, in the order the CLI lists them.
    pub const ALL: [AssetClass; 5] =
        [AssetClass::Equity, AssetClass::Etf, AssetClass::Index, AssetClass::Forex, AssetClass::Crypto];

    /// The lower-case name used in the manifest, on the command line and in tables.
    pub fn as_str(self) -> &'static str {
        match self {
            AssetClass::Equity => "equity",
            AssetClass::Etf => "etf",
            AssetClass::Index => "index",
            AssetClass::Forex => "forex",
            AssetClass::Crypto => "crypto",
        }
    }

    /// The class the bar times prove, where they prove one: bars on a New York Saturday are
    /// crypto's (forex and exchanges are shut); bars on a New York Sunday or spread over 20 or
    /// more hours of the day are forex's (an exchange's extended session spans 16). `None` when
    /// the times fit an exchange's sessions (an equity, ETF or index, or a market the
    /// timestamps cannot tell apart), and for weekly or monthly bars.
    pub fn infer(timeframe: crate::time::Timeframe, timestamps: &[i64]) -> Option<AssetClass> {
        use crate::time::Timeframe;
        use chrono::{Datelike, Timelike, Weekday};
        if matches!(timeframe, Timeframe::Week1 | Timeframe::Month1) {
            return None;
        }
        let (mut saturday, mut sunday, mut hours) = (false, false, 0u32);
        for &t in timestamps {
            let utc = Timestamp(t).to_datetime();
            match utc.with_timezone(&chrono_tz::America::New_York).weekday() {
                Weekday::Sat => saturday = true,
                Weekday::Sun => sunday = true,
                _ => {}
            }
            hours |= 1 << utc.hour();
        }
        let intraday_around_the_clock = timeframe < Timeframe::Day1 && hours.count_ones() >= 20;
        if saturday {
            Some(AssetClass::Crypto)
        } else if sunday || intraday_around_the_clock {
            Some(AssetClass::Forex)
        } else {
            None
        }
    }
}

impl std::fmt::Display for AssetClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for AssetClass {
    type Err = UnknownAssetClass;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AssetClass::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownAssetClass(s.to_string()))
    }
}

/// Fundamentals for value/quality screens; each is optional because sources rarely have all.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Fundamentals {
    /// Market capitalisation in dollars.
    pub market_cap: Option<f64>,
    /// Book value over market value.
    pub book_to_market: Option<f64>,
    /// Return on equity, as a fraction (0.15 = 15%).
    pub roe: Option<f64>,
}

/// One fundamentals report as it became known: the values a strategy may use from `known`
/// (the UTC time the report was published, after its period ended) on, never before.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct DatedFundamentals {
    /// When the report became public (UTC ns).
    pub known: i64,
    /// Its values.
    pub values: Fundamentals,
}

/// Descriptive metadata stored once per symbol.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SymbolMeta {
    /// Ticker, e.g. `GOOG`.
    pub symbol: String,
    /// Instrument kind (equity when a manifest written before classes were recorded lacks it).
    #[serde(default)]
    pub asset_class: AssetClass,
    /// Sector name (GICS-like), if known.
    #[serde(default)]
    pub sector: Option<String>,
    /// Fundamentals, if known: one undated snapshot (today's values), which a backtest must
    /// not use for past decisions.
    #[serde(default)]
    pub fundamentals: Fundamentals,
    /// Where each fetched timeframe's bars came from (provider, feed, adjustment); empty for
    /// imported files and synthetic data.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub sources: std::collections::BTreeMap<crate::time::Timeframe, crate::provenance::SeriesSource>,
    /// Dated fundamentals reports, oldest first by the time they became known: what a
    /// point-in-time backtest reads (empty when the source has none). Shared, not copied, by
    /// every clone of the metadata: a stock has one report a quarter, and a universe's
    /// metadata is cloned into its market data and into every stage sliced from it.
    #[serde(
        default,
        skip_serializing_if = "<[DatedFundamentals]>::is_empty",
        serialize_with = "shared_reports::serialize",
        deserialize_with = "shared_reports::deserialize"
    )]
    pub reports: std::sync::Arc<[DatedFundamentals]>,
}

/// [`SymbolMeta::reports`] as a plain list in JSON (what a `Vec` wrote), shared in memory.
mod shared_reports {
    use std::sync::Arc;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::DatedFundamentals;

    /// Writes the reports as a list.
    pub(super) fn serialize<S: Serializer>(
        reports: &Arc<[DatedFundamentals]>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        reports[..].serialize(s)
    }

    /// Reads a list of reports into one shared allocation of exactly their size.
    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Arc<[DatedFundamentals]>, D::Error> {
        Vec::<DatedFundamentals>::deserialize(d).map(Arc::from)
    }
}

impl SymbolMeta {
    /// Metadata with only a symbol and an asset class.
    pub fn new(symbol: impl Into<String>, asset_class: AssetClass) -> Self {
        SymbolMeta { symbol: symbol.into(), asset_class, ..Default::default() }
    }

    /// The fundamentals known at `t` (UTC ns): the latest report published at or before `t`;
    /// `None` before the first one (or without dated reports).
    pub fn fundamentals_known_at(&self, t: i64) -> Option<Fundamentals> {
        let known = self.reports.partition_point(|r| r.known <= t);
        known.checked_sub(1).map(|i| self.reports[i].values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fundamentals_are_known_from_their_report_on_and_never_before() {
        let report = |known: i64, roe: f64| DatedFundamentals {
            known,
            values: Fundamentals { roe: Some(roe), ..Fundamentals::default() },
        };
        let meta =
            SymbolMeta { reports: [report(100, 0.1), report(200, 0.2)].into(), ..SymbolMeta::default() };
        assert_eq!(meta.fundamentals_known_at(99), None);
        assert_eq!(meta.fundamentals_known_at(100).and_then(|f| f.roe), Some(0.1));
        assert_eq!(meta.fundamentals_known_at(199).and_then(|f| f.roe), Some(0.1));
        assert_eq!(meta.fundamentals_known_at(200).and_then(|f| f.roe), Some(0.2));
        assert_eq!(SymbolMeta::default().fundamentals_known_at(i64::MAX), None);
        // A manifest written before reports existed reads with none, and none are written.
        let json = serde_json::to_string(&SymbolMeta::new("A", AssetClass::Equity)).unwrap();
        assert!(!json.contains("reports"), "{json}");
        let back: SymbolMeta = serde_json::from_str(&serde_json::to_string(&meta).unwrap()).unwrap();
        assert_eq!(back, meta);
    }

    fn bar(ts: i64, o: f64, h: f64, l: f64, c: f64, v: f64) -> Bar {
        Bar {
            ts: Timestamp(ts),
            open: o,
            high: h,
            low: l,
            close: c,
            volume: v,
            vwap: None,
            trade_count: None,
        }
    }

    #[test]
    fn push_rejects_each_broken_invariant_and_leaves_series_unchanged() {
        let mut b = Bars::default();
        b.push(bar(1, 10.0, 11.0, 9.0, 10.5, 100.0)).unwrap();
        let cases = [
            (bar(2, 10.0, 9.0, 11.0, 10.0, 1.0), "high"),
            (bar(2, 12.0, 11.0, 9.0, 10.0, 1.0), "open"),
            (bar(2, 10.0, 11.0, 9.0, 8.0, 1.0), "close"),
            (bar(2, 10.0, 11.0, 9.0, 10.0, -1.0), "volume"),
            (bar(1, 10.0, 11.0, 9.0, 10.0, 1.0), "timestamp"),
            (bar(2, f64::NAN, 11.0, 9.0, 10.0, 1.0), "open"),
            (bar(2, 10.0, 11.0, 0.0, 10.0, 1.0), "low"),
        ];
        for (bad, field) in cases {
            let err = b.push(bad).unwrap_err();
            assert_eq!(err.field(), field, "{err}");
            assert_eq!(err.index(), 1);
        }
        assert_eq!(b.len(), 1);
        let mut with_vwap = bar(3, 10.0, 11.0, 9.0, 10.0, 1.0);
        with_vwap.vwap = Some(10.0);
        assert_eq!(b.push(with_vwap).unwrap_err().field(), "vwap");
    }

    #[test]
    fn shared_bars_slice_without_copying_and_columns_are_validated() {
        let built = Bars::from_bars((0..4).map(|i| bar(i, 10.0, 11.0, 9.0, 10.5, 100.0))).unwrap();
        let shared = built.clone().shared();
        assert_eq!(shared, built);
        let stage = shared.slice(1..3);
        assert_eq!(stage, built.slice(1..3));
        // A view: the stage's closes are the shared column's memory, not a copy.
        assert!(std::ptr::eq(&stage.close()[0], &shared.close()[1]));
        let mut grown = stage.clone();
        grown.push(bar(10, 10.0, 11.0, 9.0, 10.5, 1.0)).unwrap();
        assert_eq!((grown.len(), stage.len()), (3, 2));

        let columns = |close: Vec<f64>, ts: Vec<i64>| BarColumns {
            timestamps: ts.into(),
            open: vec![10.0; 2].into(),
            high: vec![11.0; 2].into(),
            low: vec![9.0; 2].into(),
            close: close.into(),
            volume: vec![1.0; 2].into(),
            vwap: None,
            trade_count: None,
        };
        let ok = Bars::from_columns(columns(vec![10.0, 10.5], vec![1, 2])).unwrap();
        assert_eq!(ok.close(), &[10.0, 10.5]);
        let err = Bars::from_columns(columns(vec![10.0, 12.0], vec![1, 2])).unwrap_err();
        assert!(matches!(err, BarsError::OutsideRange { index: 1, .. }), "{err:?}");
        let err = Bars::from_columns(columns(vec![10.0, 10.5], vec![2, 2])).unwrap_err();
        assert!(matches!(err, BarsError::NotIncreasing { index: 1, .. }), "{err:?}");
    }

    #[test]
    fn bars_on_one_clock_share_its_timestamps_and_compare_them_by_pointer() {
        let rows = |close: f64| (0..4).map(move |i| bar(i, close, close, close, close, 1.0));
        let clock = Bars::from_bars(rows(10.0)).unwrap().shared();
        let mut other = Bars::from_bars(rows(20.0)).unwrap();
        assert!(other.same_timestamps(&clock), "equal contents");
        assert!(!std::ptr::eq(other.timestamps(), clock.timestamps()));
        // An owned clock is not shared (that would copy it).
        assert!(!other.share_timestamps(&Bars::from_bars(rows(10.0)).unwrap()));
        assert!(other.share_timestamps(&clock));
        assert!(std::ptr::eq(other.timestamps(), clock.timestamps()));
        assert_eq!(other, Bars::from_bars(rows(20.0)).unwrap(), "the bars are unchanged");
        let (a, b) = (other.slice(1..3), clock.slice(1..3));
        assert!(std::ptr::eq(a.timestamps(), b.timestamps()), "slices over one range are one view");
        assert!(a.same_timestamps(&b) && !a.same_timestamps(&clock.slice(0..2)));
        let mut late = Bars::from_bars((1..5).map(|i| bar(i, 10.0, 10.0, 10.0, 10.0, 1.0))).unwrap();
        assert!(!late.share_timestamps(&clock), "a different clock is refused");
        assert_eq!(late.timestamps(), &[1, 2, 3, 4]);
    }

    #[test]
    fn columns_and_rows_agree() {
        let mut first = bar(5, 1.0, 2.0, 0.5, 1.5, 7.0);
        first.trade_count = Some(3);
        let mut second = bar(9, 1.5, 1.6, 1.4, 1.55, 0.0);
        second.trade_count = Some(0);
        let b = Bars::from_bars([first, second]).unwrap();
        assert_eq!(b.timestamps(), &[5, 9]);
        assert_eq!(b.close(), &[1.5, 1.55]);
        assert_eq!(b.trade_count(), Some(&[3u64, 0][..]));
        assert_eq!(b.vwap(), None);
        assert_eq!(b.bar(1), second);
        assert_eq!(b.span(), Some((Timestamp(5), Timestamp(9))));
    }
    #[test]
    fn asset_class_is_inferred_only_from_bar_times_that_prove_it() {
        use crate::actions::SAMPLES;
        use crate::ingest::{ImportOptions, parse_bytes};
        use crate::time::Timeframe;
        for sample in SAMPLES {
            let opts = ImportOptions { symbol: Some(sample.symbol.into()), ..Default::default() };
            let series = &parse_bytes(sample.file, sample.csv, &opts).unwrap()[0];
            let inferred = AssetClass::infer(series.timeframe, series.bars.timestamps());
            // EURUSD hourly trades around the clock and on Sundays; GOOG's sessions and
            // BTCUSD's monthly bars prove nothing.
            let expected = (sample.symbol == "EURUSD").then_some(AssetClass::Forex);
            assert_eq!(inferred, expected, "{}", sample.symbol);
        }
        const HOUR: i64 = 3_600_000_000_000;
        let saturday_noon = 1_704_542_400_000_000_000; // 2024-01-06T12:00Z
        assert_eq!(AssetClass::infer(Timeframe::Day1, &[saturday_noon]), Some(AssetClass::Crypto));
        let monday_14 = saturday_noon + 2 * 24 * HOUR + 2 * HOUR;
        let session: Vec<i64> = (0..7).map(|h| monday_14 + h * HOUR).collect();
        assert_eq!(AssetClass::infer(Timeframe::Hour1, &session), None, "an equity session");
        let day: Vec<i64> = (0..24).map(|h| monday_14 + h * HOUR).collect();
        assert_eq!(AssetClass::infer(Timeframe::Hour1, &day), Some(AssetClass::Forex), "24 hours");
        assert_eq!(AssetClass::infer(Timeframe::Month1, &[saturday_noon]), None, "monthly proves nothing");
    }

    #[test]
    fn asset_class_names_round_trip_and_old_metadata_defaults_to_equity() {
        for class in AssetClass::ALL {
            assert_eq!(class.as_str().parse::<AssetClass>(), Ok(class));
            assert_eq!(serde_json::to_string(&class).unwrap(), format!("\"{class}\""));
        }
        assert_eq!("Forex".parse::<AssetClass>(), Ok(AssetClass::Forex));
        let err = "bond".parse::<AssetClass>().unwrap_err();
        assert_eq!(err.to_string(), "unknown asset class `bond` (known: equity, etf, index, forex, crypto)");
        let old: SymbolMeta = serde_json::from_str(r#"{"symbol":"SPY"}"#).unwrap();
        assert_eq!(old, SymbolMeta::new("SPY", AssetClass::Equity));
    }
}
