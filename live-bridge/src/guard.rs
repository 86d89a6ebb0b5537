//! Cash-account discipline, checked before every order: long only, settled cash, the
//! strategy's allocation and the largest position. A violation refuses the order with a reason
//! that is logged and stored with the signal.

use rust_decimal::Decimal;

use crate::alpaca::model::OrderSide;

/// Why an order was refused before it reached the broker.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum Refusal {
    /// A sale of more than the strategy holds would be a short sale.
    #[error("short sale refused (cash account): selling {qty} {symbol} but holding {held}")]
    ShortSale {
        /// Ticker.
        symbol: String,
        /// Quantity asked.
        qty: Decimal,
        /// Quantity held by the strategy.
        held: Decimal,
    },
    /// Buying with unsettled sale proceeds is not allowed.
    #[error("not enough settled cash: the order needs {need}, settled cash free is {settled}")]
    SettledCash {
        /// Estimated cost.
        need: Decimal,
        /// Settled cash not committed to other orders.
        settled: Decimal,
    },
    /// The strategy's own cash does not cover the order.
    #[error("over the strategy's allocation: the order needs {need}, the strategy has {cash}")]
    Allocation {
        /// Estimated cost.
        need: Decimal,
        /// The strategy's cash.
        cash: Decimal,
    },
    /// The position would exceed the largest allowed.
    #[error("position too large: {symbol} would be worth {value}, the limit is {limit}")]
    PositionSize {
        /// Ticker.
        symbol: String,
        /// Estimated value after the order.
        value: Decimal,
        /// `max_position_fraction` × equity.
        limit: Decimal,
    },
    /// A new order while the kill switch or a breaker stops trading.
    #[error("trading is stopped: {0}")]
    Stopped(String),
}

/// An order about to be sent, with its estimated price.
#[derive(Clone, Debug, PartialEq)]
pub struct Proposed<'a> {
    /// Ticker.
    pub symbol: &'a str,
    /// Buy or sell.
    pub side: OrderSide,
    /// Quantity.
    pub qty: Decimal,
    /// Estimated price: the higher of the signal bar's close and the latest price.
    pub price: Decimal,
}

/// What the checks need to know about the account and the strategy.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Budget {
    /// Account equity.
    pub equity: Decimal,
    /// Settled cash not yet committed to other buys: cash − unsettled proceeds − open buys.
    pub settled_free: Decimal,
    /// The strategy's cash.
    pub strategy_cash: Decimal,
    /// Shares of the symbol the strategy holds.
    pub held: Decimal,
    /// Shares of the symbol the whole account holds.
    pub account_held: Decimal,
    /// Largest position as a fraction of equity.
    pub max_position_fraction: f64,
    /// Settled cash a market buy must leave room for above its cost, as a fraction (Alpaca
    /// itself reserves 2.5–4 % on market buys): a fill above the estimate never takes settled
    /// cash negative.
    pub buy_reserve: Decimal,
}

/// Checks `order` against the cash-account rules.
pub fn check(order: &Proposed<'_>, budget: &Budget) -> Result<(), Refusal> {
    match order.side {
        OrderSide::Sell => {
            if order.qty > budget.held {
                return Err(Refusal::ShortSale {
                    symbol: order.symbol.into(),
                    qty: order.qty,
                    held: budget.held,
                });
            }
            Ok(())
        }
        OrderSide::Buy => {
            let need = order.qty * order.price;
            if need > budget.strategy_cash {
                return Err(Refusal::Allocation { need, cash: budget.strategy_cash });
            }
            let reserved = (need * (Decimal::ONE + budget.buy_reserve)).round_dp(2);
            if reserved > budget.settled_free {
                return Err(Refusal::SettledCash { need: reserved, settled: budget.settled_free });
            }
            let fraction = Decimal::try_from(budget.max_position_fraction).unwrap_or(Decimal::ONE);
            let limit = (budget.equity * fraction).round_dp(2);
            let value = (budget.account_held + order.qty) * order.price;
            if value > limit {
                return Err(Refusal::PositionSize { symbol: order.symbol.into(), value, limit });
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget() -> Budget {
        Budget {
            equity: Decimal::from(100_000),
            settled_free: Decimal::from(20_000),
            strategy_cash: Decimal::from(30_000),
            held: Decimal::from(10),
            account_held: Decimal::from(10),
            max_position_fraction: 0.25,
            buy_reserve: Decimal::ZERO,
        }
    }

    #[test]
    fn each_rule_refuses_with_its_reason() {
        let b = budget();
        let buy = |qty: i64, price: i64| Proposed {
            symbol: "SPY",
            side: OrderSide::Buy,
            qty: Decimal::from(qty),
            price: Decimal::from(price),
        };
        assert_eq!(check(&buy(100, 100), &b), Ok(()));
        assert!(matches!(check(&buy(250, 100), &b), Err(Refusal::SettledCash { .. })));
        // 195 × 100 fits the 20,000 settled, but not with a 3 % reserve for a fill above it.
        let reserve = Budget { buy_reserve: Decimal::new(3, 2), ..b.clone() };
        assert_eq!(check(&buy(195, 100), &b), Ok(()));
        let err = check(&buy(195, 100), &reserve).unwrap_err().to_string();
        assert_eq!(err, "not enough settled cash: the order needs 20085.00, settled cash free is 20000");
        assert!(matches!(check(&buy(400, 100), &b), Err(Refusal::Allocation { .. })));
        let big =
            Budget { settled_free: Decimal::from(50_000), strategy_cash: Decimal::from(50_000), ..b.clone() };
        let err = check(&buy(245, 100), &big).unwrap_err();
        assert_eq!(err.to_string(), "position too large: SPY would be worth 25500, the limit is 25000.00");
        let sell = |qty: i64| Proposed {
            symbol: "SPY",
            side: OrderSide::Sell,
            qty: Decimal::from(qty),
            price: Decimal::ONE,
        };
        assert_eq!(check(&sell(10), &b), Ok(()));
        assert!(check(&sell(11), &b).unwrap_err().to_string().starts_with("short sale refused"));
    }
}
