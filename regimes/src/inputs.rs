//! The closes regimes are read from: the market, the VIX-like index, the breadth members.

use std::ops::Deref;

use datasets::store::{Field, Store};
use datasets::{AssetClass, Bars, Timeframe};

use crate::RegimeError;

/// Which store symbols play which part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selection {
    /// The broad market (returns, realised volatility, drawdown); its days are the calendar.
    pub market: String,
    /// The VIX-like index, if any; a missing one is an error (say `None` to go without).
    pub index: Option<String>,
    /// Use every other daily equity in the store for breadth (never the market or the index,
    /// whatever asset class a store without metadata gives them).
    pub breadth: bool,
}

impl Default for Selection {
    /// `SPY` as the market, `VIX` as the index, every daily equity for breadth.
    fn default() -> Self {
        Selection { market: "SPY".into(), index: Some("VIX".into()), breadth: true }
    }
}

/// One breadth member's closes on the market's days. A member stored contiguously on exactly
/// the market's days is its mapped bars (page cache, no heap: a 5,000-stock universe's members
/// were 200 MB of copies at 20 years); any other is a copy with NaN on the days it lacks.
#[derive(Clone, Debug)]
pub enum MemberCloses {
    /// The member's own bars, shared with the mapped store; their closes are the column.
    Mapped(Box<Bars>),
    /// Closes copied onto the market's days.
    Owned(Vec<f64>),
}

impl Deref for MemberCloses {
    type Target = [f64];

    fn deref(&self) -> &[f64] {
        match self {
            MemberCloses::Mapped(bars) => bars.close(),
            MemberCloses::Owned(closes) => closes,
        }
    }
}

impl PartialEq for MemberCloses {
    /// Equal closes, however they are held.
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

/// Closes on the market's trading days, oldest first: the market itself, the index (NaN on a
/// day it has no bar) and each breadth member (NaN before its listing and on gaps).
#[derive(Clone, Debug, PartialEq)]
pub struct MarketInputs {
    timestamps: Vec<i64>,
    market: Vec<f64>,
    index: Option<Vec<f64>>,
    members: Vec<MemberCloses>,
}

impl MarketInputs {
    /// Checks that every series has one value per timestamp and that timestamps increase.
    pub fn new(
        timestamps: Vec<i64>,
        market: Vec<f64>,
        index: Option<Vec<f64>>,
        members: Vec<Vec<f64>>,
    ) -> Result<Self, RegimeError> {
        MarketInputs::checked(
            timestamps,
            market,
            index,
            members.into_iter().map(MemberCloses::Owned).collect(),
        )
    }

    /// [`MarketInputs::new`] with members held either way.
    fn checked(
        timestamps: Vec<i64>,
        market: Vec<f64>,
        index: Option<Vec<f64>>,
        members: Vec<MemberCloses>,
    ) -> Result<Self, RegimeError> {
        let n = timestamps.len();
        if let Some(w) = timestamps.windows(2).position(|w| w[0] >= w[1]) {
            return Err(RegimeError::Inputs(format!("timestamps do not increase at position {}", w + 1)));
        }
        let lengths = std::iter::once(("market", market.len()))
            .chain(index.iter().map(|x| ("index", x.len())))
            .chain(members.iter().map(|m| ("a breadth member", m.len())));
        for (what, len) in lengths {
            if len != n {
                return Err(RegimeError::Inputs(format!("{what} has {len} closes for {n} timestamps")));
            }
        }
        Ok(MarketInputs { timestamps, market, index, members })
    }

    /// Reads the selection's daily closes from `store`, on the market's days.
    pub fn from_store(store: &Store, selection: &Selection) -> Result<Self, RegimeError> {
        let daily = store.symbols(Timeframe::Day1);
        let find = |symbol: &str, role: &'static str| {
            if daily.contains(&symbol) {
                Ok(())
            } else {
                let mut available: Vec<&str> = daily.iter().copied().take(12).collect();
                if daily.len() > available.len() {
                    available.push("…");
                }
                let available = if daily.is_empty() { "none".into() } else { available.join(", ") };
                Err(RegimeError::MissingSymbol { symbol: symbol.into(), role, available })
            }
        };
        find(&selection.market, "market")?;
        if let Some(index) = &selection.index {
            find(index, "index")?;
        }
        let members: Vec<&str> = if selection.breadth {
            daily
                .iter()
                .copied()
                .filter(|s| *s != selection.market && Some(*s) != selection.index.as_deref())
                .filter(|s| store.meta(s).is_some_and(|m| m.asset_class == AssetClass::Equity))
                .collect()
        } else {
            Vec::new()
        };
        // The market's days are the calendar; every other symbol's closes on those days, NaN
        // where it has no bar. Read column by column from the mapped store: no symbols × days
        // panel of the whole universe is built.
        let market = store.series(&selection.market, Timeframe::Day1)?.expect("found above");
        let timestamps: Vec<i64> = market.timestamps().into_owned();
        let column = |symbol: &str| -> Result<Vec<f64>, RegimeError> {
            let mut out = vec![f64::NAN; timestamps.len()];
            if let Some(series) = store.series(symbol, Timeframe::Day1)? {
                let (ts, close) = (series.timestamps(), series.field(Field::Close));
                let mut row = 0;
                for (i, &t) in ts.iter().enumerate() {
                    while row < timestamps.len() && timestamps[row] < t {
                        row += 1;
                    }
                    if row < timestamps.len() && timestamps[row] == t {
                        out[row] = close[i];
                    }
                }
            }
            Ok(out)
        };
        // A member stored in one piece on exactly the market's days is shared, not copied.
        let member = |symbol: &str| -> Result<MemberCloses, RegimeError> {
            if let Some(series) = store.series(symbol, Timeframe::Day1)?
                && series.contiguous().is_some()
                && *series.timestamps() == *timestamps
            {
                let bars = series
                    .to_bars()
                    .map_err(|e| RegimeError::Inputs(format!("breadth member `{symbol}`: {e}")))?;
                return Ok(MemberCloses::Mapped(Box::new(bars)));
            }
            column(symbol).map(MemberCloses::Owned)
        };
        let index = selection.index.as_deref().map(column).transpose()?;
        let members = members.iter().map(|s| member(s)).collect::<Result<Vec<_>, _>>()?;
        let market = column(&selection.market)?;
        MarketInputs::checked(timestamps, market, index, members)
    }

    /// The market's trading days (UTC nanoseconds).
    pub fn timestamps(&self) -> &[i64] {
        &self.timestamps
    }

    /// Number of days.
    pub fn len(&self) -> usize {
        self.timestamps.len()
    }

    /// True when there is no day at all.
    pub fn is_empty(&self) -> bool {
        self.timestamps.is_empty()
    }

    /// The market's closes.
    pub fn market(&self) -> &[f64] {
        &self.market
    }

    /// The index closes, if the inputs have an index.
    pub fn index(&self) -> Option<&[f64]> {
        self.index.as_deref()
    }

    /// Each breadth member's closes.
    pub fn members(&self) -> &[MemberCloses] {
        &self.members
    }
}
