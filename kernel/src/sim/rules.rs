//! The trading rules of a simulation: fill timing, costs, sizing and exits, validated once.

use super::costs::{Commission, Costs, Slippage};
use super::sizing::{QuantityRule, Sizing};

/// When a signal's order fills.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FillTiming {
    /// A signal from bar `t` fills at bar `t + 1`'s open (the honest default).
    #[default]
    NextOpen,
    /// A signal from bar `t` fills at bar `t`'s own close. LOOK-AHEAD-PRONE: the signal usually
    /// reads that very close, which could not be known before the fill. For comparisons only.
    SameBarClose,
}

/// Which price the quantity is sized at.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SizingPrice {
    /// The fill price itself, i.e. a "spend this much cash" order sized as it fills (the
    /// convention of backtesting.py and of notional market orders).
    #[default]
    FillPrice,
    /// The signal bar's close (slipped as a buy at that bar): the quantity is fixed before the
    /// next open is known, and the order is refused if the actual fill then costs more than the cash.
    SignalClose,
}

/// Protective exits; every level is a fraction of a price (0.05 = 5 %). `None` disables a rule.
///
/// Levels are set from the entry fill price. Intrabar rule, applied in this order each bar the
/// position is held:
/// 1. gap: if the bar opens at or through the stop (stop-loss or trailing) it fills at the open
///    (worse than the stop); if it opens at or above the take-profit it fills at the open (better);
/// 2. if the low touches the stop it fills at the stop — also when the high touched the
///    take-profit in the same bar (the stop is assumed to have come first: conservative);
/// 3. if the high touches the take-profit it fills at the take-profit.
///
/// No gap rule applies on the bar a position is opened at the open (the entry was the open).
/// The trailing stop trails the highest high of the bars completed while held (the entry price
/// before that): a bar's own high only moves the stop for the following bars. When both the
/// stop-loss and the trailing stop apply, the higher level rules (ties count as stop-loss).
/// A time stop closes the position at the first fill point at least `max_bars` bars after entry.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ExitRules {
    /// Stop-loss below the entry price, in `(0, 1)`.
    pub stop_loss: Option<f64>,
    /// Take-profit above the entry price, `> 0`.
    pub take_profit: Option<f64>,
    /// Trailing stop below the highest high since entry, in `(0, 1)`.
    pub trailing_stop: Option<f64>,
    /// Maximum bars held, at least 1.
    pub max_bars: Option<usize>,
}

impl ExitRules {
    /// True when a stop-loss, take-profit or trailing stop may close a position inside a bar.
    pub(crate) fn has_intrabar_stops(&self) -> bool {
        self.stop_loss.is_some() || self.take_profit.is_some() || self.trailing_stop.is_some()
    }
}

/// Everything about how a strategy's signals become fills, apart from the money it starts with.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TradeRules {
    /// When signals fill.
    pub fill: FillTiming,
    /// Commission and slippage.
    pub costs: Costs,
    /// How large entries are.
    pub sizing: Sizing,
    /// Which price sizing uses.
    pub sizing_price: SizingPrice,
    /// Whole or fractional quantities.
    pub quantity: QuantityRule,
    /// Stop-loss, take-profit, trailing and time stops.
    pub exits: ExitRules,
    /// Close a position still open after the last bar at that bar's close (with costs), so it
    /// counts in the trade statistics; otherwise it is reported as open and only marked.
    pub close_at_end: bool,
}

impl Default for TradeRules {
    /// Next-open fills, no costs, all-in whole shares, no protective exits, close at end.
    fn default() -> Self {
        TradeRules {
            fill: FillTiming::NextOpen,
            costs: Costs::default(),
            sizing: Sizing::AllIn,
            sizing_price: SizingPrice::FillPrice,
            quantity: QuantityRule::Whole,
            exits: ExitRules::default(),
            close_at_end: true,
        }
    }
}

/// A rule parameter outside its valid range.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("`{field}` = {value} is invalid: expected {expected}")]
pub struct RulesError {
    /// Dotted name of the parameter, e.g. `exits.stop_loss`.
    pub field: &'static str,
    /// The value given.
    pub value: f64,
    /// The valid range, in words.
    pub expected: &'static str,
}

fn check(field: &'static str, value: f64, ok: bool, expected: &'static str) -> Result<(), RulesError> {
    if ok && value.is_finite() { Ok(()) } else { Err(RulesError { field, value, expected }) }
}

/// The largest account value the simulator accepts (cash, a commission), in dollars: 10
/// trillion. Up to 2^53 / 100 ≈ 9.0e13 every cent is an exact `f64`, so sums and differences of
/// account values stay exact to the cent with room for the account to grow ninefold; far beyond,
/// a whole-share quantity exceeds 2^53 and stops being exact, and at ~1e308 values overflow to inf.
pub const MAX_CASH: f64 = 1e13;

/// The range of [`MAX_CASH`] in words, for error messages.
const CASH_RANGE: &str =
    "a positive amount up to 1e13 (10 trillion; beyond it cents are no longer exact in f64)";

/// Checks a starting cash amount: finite, positive and at most [`MAX_CASH`].
pub fn check_cash(field: &'static str, cash: f64) -> Result<(), RulesError> {
    check(field, cash, cash > 0.0 && cash <= MAX_CASH, CASH_RANGE)
}

impl TradeRules {
    /// Checks every parameter's range; the simulator only runs validated rules.
    pub fn validate(&self) -> Result<(), RulesError> {
        let Commission { per_share, per_order, rate } = self.costs.commission;
        let fee = |x: f64| (0.0..=MAX_CASH).contains(&x);
        check("costs.commission.per_share", per_share, fee(per_share), "in [0, 1e13]")?;
        check("costs.commission.per_order", per_order, fee(per_order), "in [0, 1e13]")?;
        check("costs.commission.rate", rate, (0.0..1.0).contains(&rate), "in [0, 1)")?;
        match self.costs.slippage {
            Slippage::None => {}
            Slippage::Bps(b) => check("costs.slippage.bps", b, b >= 0.0, ">= 0")?,
            Slippage::RangeFraction(f) => {
                check("costs.slippage.range_fraction", f, (0.0..=1.0).contains(&f), "in [0, 1]")?
            }
        }
        match self.sizing {
            Sizing::AllIn => {}
            Sizing::FixedFraction(f) => check("sizing.fixed_fraction", f, f > 0.0 && f <= 1.0, "in (0, 1]")?,
            Sizing::VolTarget { annual_vol, lookback, periods_per_year } => {
                check("sizing.annual_vol", annual_vol, annual_vol > 0.0, "> 0")?;
                check("sizing.lookback", lookback as f64, lookback >= 2, ">= 2")?;
                check("sizing.periods_per_year", periods_per_year, periods_per_year > 0.0, "> 0")?;
            }
        }
        let ExitRules { stop_loss, take_profit, trailing_stop, max_bars } = self.exits;
        if let Some(s) = stop_loss {
            check("exits.stop_loss", s, s > 0.0 && s < 1.0, "in (0, 1)")?;
        }
        if let Some(t) = take_profit {
            check("exits.take_profit", t, t > 0.0, "> 0")?;
        }
        if let Some(t) = trailing_stop {
            check("exits.trailing_stop", t, t > 0.0 && t < 1.0, "in (0, 1)")?;
        }
        if let Some(m) = max_bars {
            check("exits.max_bars", m as f64, m >= 1, ">= 1")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_the_bad_field() {
        assert_eq!(TradeRules::default().validate(), Ok(()));
        let mut r = TradeRules::default();
        r.exits.stop_loss = Some(1.5);
        assert_eq!(r.validate().unwrap_err().field, "exits.stop_loss");
        let mut r = TradeRules::default();
        r.costs.commission.rate = f64::NAN;
        assert_eq!(r.validate().unwrap_err().field, "costs.commission.rate");
        let r = TradeRules { sizing: Sizing::FixedFraction(0.0), ..TradeRules::default() };
        assert!(r.validate().unwrap_err().to_string().contains("`sizing.fixed_fraction` = 0"));
        let r = TradeRules {
            sizing: Sizing::VolTarget { annual_vol: 0.1, lookback: 1, periods_per_year: 252.0 },
            ..TradeRules::default()
        };
        assert_eq!(r.validate().unwrap_err().field, "sizing.lookback");
        let mut r = TradeRules::default();
        r.exits.max_bars = Some(0);
        assert_eq!(r.validate().unwrap_err().field, "exits.max_bars");
        assert_eq!(check_cash("initial_cash", -1.0).unwrap_err().field, "initial_cash");
    }

    #[test]
    fn account_values_are_bounded_to_what_f64_holds_exactly() {
        assert_eq!(check_cash("initial_cash", MAX_CASH), Ok(()));
        for cash in [1e19, 1e308, f64::INFINITY, f64::NAN, 0.0] {
            let e = check_cash("initial_cash", cash).unwrap_err();
            assert!(e.to_string().contains("up to 1e13"), "{e}");
        }
        let mut r = TradeRules::default();
        r.costs.commission.per_order = 1e300;
        assert_eq!(r.validate().unwrap_err().field, "costs.commission.per_order");
        let mut r = TradeRules::default();
        r.costs.commission.per_share = 1e14;
        assert_eq!(r.validate().unwrap_err().field, "costs.commission.per_share");
    }
}
