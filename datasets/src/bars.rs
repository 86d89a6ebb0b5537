//! Owned, validated, columnar OHLCV series and per-symbol metadata.
//!
//! [`Bars`] is what ingest produces and the store writes: one `Vec` per field, every
//! invariant (equal lengths, strictly increasing UTC timestamps, sane OHLC ranges,
//! non-negative volume) checked as each bar is pushed, so an invalid series cannot exist.

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

/// A validated OHLCV series in columns, oldest bar first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Bars {
    ts: Vec<i64>,
    open: Vec<f64>,
    high: Vec<f64>,
    low: Vec<f64>,
    close: Vec<f64>,
    volume: Vec<f64>,
    vwap: Option<Vec<f64>>,
    trade_count: Option<Vec<u64>>,
}

impl Bars {
    /// An empty series with room for `n` bars.
    pub fn with_capacity(n: usize) -> Self {
        Bars {
            ts: Vec::with_capacity(n),
            open: Vec::with_capacity(n),
            high: Vec::with_capacity(n),
            low: Vec::with_capacity(n),
            close: Vec::with_capacity(n),
            volume: Vec::with_capacity(n),
            vwap: None,
            trade_count: None,
        }
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
            self.vwap.get_or_insert_with(Vec::new).push(v);
        }
        if let Some(n) = bar.trade_count {
            self.trade_count.get_or_insert_with(Vec::new).push(n);
        }
        self.ts.push(bar.ts.0);
        self.open.push(bar.open);
        self.high.push(bar.high);
        self.low.push(bar.low);
        self.close.push(bar.close);
        self.volume.push(bar.volume);
        Ok(())
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

    /// A copy of the bars in `range` (still valid: any run of a valid series is valid).
    pub fn slice(&self, range: std::ops::Range<usize>) -> Bars {
        Bars {
            ts: self.ts[range.clone()].to_vec(),
            open: self.open[range.clone()].to_vec(),
            high: self.high[range.clone()].to_vec(),
            low: self.low[range.clone()].to_vec(),
            close: self.close[range.clone()].to_vec(),
            volume: self.volume[range.clone()].to_vec(),
            vwap: self.vwap.as_ref().map(|v| v[range.clone()].to_vec()),
            trade_count: self.trade_count.as_ref().map(|v| v[range].to_vec()),
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
    /// Fundamentals, if known.
    #[serde(default)]
    pub fundamentals: Fundamentals,
}

impl SymbolMeta {
    /// Metadata with only a symbol and an asset class.
    pub fn new(symbol: impl Into<String>, asset_class: AssetClass) -> Self {
        SymbolMeta { symbol: symbol.into(), asset_class, ..Default::default() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
