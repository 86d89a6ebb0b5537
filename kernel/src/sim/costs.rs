//! Trading costs: commission and slippage, both always charged against the trader.

/// Which way an order trades.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// Buying: slippage raises the price.
    Buy,
    /// Selling: slippage lowers the price.
    Sell,
}

/// Broker commission; the three parts add up, so any combination can be modelled.
///
/// `commission(qty, price) = per_order + per_share × qty + rate × qty × price`, charged on every
/// fill (entry and exit). A sale's commission is capped at its proceeds so that a cash account can
/// never be driven below zero by a fee (a broker would otherwise debit the account).
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Commission {
    /// Dollars per share (or unit) traded.
    pub per_share: f64,
    /// Dollars per order, whatever its size.
    pub per_order: f64,
    /// Fraction of the traded value (0.002 = 0.2 %).
    pub rate: f64,
}

impl Commission {
    /// No commission at all.
    pub const ZERO: Commission = Commission { per_share: 0.0, per_order: 0.0, rate: 0.0 };

    /// The commission for one fill of `qty` units at `price`.
    pub fn cost(&self, qty: f64, price: f64) -> f64 {
        self.per_order + self.per_share * qty + self.rate * qty * price
    }
}

/// How far a fill lands from its reference price (open, close or stop level), always adversely.
///
/// A slipped price never leaves the fill bar's traded range: a buy is capped at the bar's high and
/// a sale floored at its low, since no trade printed beyond them.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Slippage {
    /// Fills exactly at the reference price.
    #[default]
    None,
    /// A fixed number of basis points of the reference price (5.0 = 0.05 %).
    Bps(f64),
    /// A fraction of the fill bar's high − low range (0.1 = a tenth of the range).
    RangeFraction(f64),
}

impl Slippage {
    /// The fill price for an order of `side` referenced at `reference` in a bar spanning `[low, high]`.
    pub fn fill_price(self, side: Side, reference: f64, low: f64, high: f64) -> f64 {
        let amount = match self {
            Slippage::None => 0.0,
            Slippage::Bps(bps) => reference * bps * 1e-4,
            Slippage::RangeFraction(f) => f * (high - low),
        };
        match side {
            Side::Buy => (reference + amount).min(high),
            Side::Sell => (reference - amount).max(low),
        }
    }
}

/// The full cost model of a simulation.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Costs {
    /// Broker commission per fill.
    pub commission: Commission,
    /// Adverse price slippage per fill.
    pub slippage: Slippage,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commission_parts_add_up() {
        let c = Commission { per_share: 0.01, per_order: 1.0, rate: 0.001 };
        // 1 + 0.01 * 100 + 0.001 * 100 * 50 = 1 + 1 + 5
        assert!((c.cost(100.0, 50.0) - 7.0).abs() < 1e-12);
        assert_eq!(Commission::ZERO.cost(100.0, 50.0), 0.0);
    }

    #[test]
    fn slippage_is_adverse_and_stays_inside_the_bar() {
        let bps = Slippage::Bps(10.0);
        assert!((bps.fill_price(Side::Buy, 100.0, 95.0, 105.0) - 100.1).abs() < 1e-12);
        assert!((bps.fill_price(Side::Sell, 100.0, 95.0, 105.0) - 99.9).abs() < 1e-12);
        let range = Slippage::RangeFraction(0.1);
        assert_eq!(range.fill_price(Side::Buy, 100.0, 95.0, 105.0), 101.0);
        assert_eq!(range.fill_price(Side::Sell, 100.0, 95.0, 105.0), 99.0);
        // Capped by the bar: buying at the high cannot slip higher.
        assert_eq!(range.fill_price(Side::Buy, 105.0, 95.0, 105.0), 105.0);
        assert_eq!(range.fill_price(Side::Sell, 95.5, 95.0, 105.0), 95.0);
        assert_eq!(Slippage::None.fill_price(Side::Buy, 100.0, 95.0, 105.0), 100.0);
    }
}
