//! The closes regimes are read from: the market, the VIX-like index, the breadth members.

use datasets::store::{Field, Store};
use datasets::{AssetClass, Timeframe};

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

/// Closes on the market's trading days, oldest first: the market itself, the index (NaN on a
/// day it has no bar) and each breadth member (NaN before its listing and on gaps).
#[derive(Clone, Debug, PartialEq)]
pub struct MarketInputs {
    timestamps: Vec<i64>,
    market: Vec<f64>,
    index: Option<Vec<f64>>,
    members: Vec<Vec<f64>>,
}

impl MarketInputs {
    /// Checks that every series has one value per timestamp and that timestamps increase.
    pub fn new(
        timestamps: Vec<i64>,
        market: Vec<f64>,
        index: Option<Vec<f64>>,
        members: Vec<Vec<f64>>,
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
        let mut symbols = vec![selection.market.as_str()];
        symbols.extend(selection.index.as_deref());
        symbols.extend(&members);
        let panel = store.panel(&symbols, Timeframe::Day1, Field::Close)?;
        let width = panel.width();
        // Keep the rows where the market has a bar: its days are the calendar.
        let rows: Vec<usize> = (0..panel.timestamps().len()).filter(|&t| !panel.row(t)[0].is_nan()).collect();
        let column = |c: usize| rows.iter().map(|&t| panel.values()[t * width + c]).collect::<Vec<f64>>();
        let timestamps = rows.iter().map(|&t| panel.timestamps()[t]).collect();
        let first_member = 1 + usize::from(selection.index.is_some());
        let index = selection.index.as_ref().map(|_| column(1));
        let members = (first_member..width).map(column).collect();
        MarketInputs::new(timestamps, column(0), index, members)
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
    pub fn members(&self) -> &[Vec<f64>] {
        &self.members
    }
}
