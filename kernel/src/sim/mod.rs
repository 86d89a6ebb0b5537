//! Cash-account simulation: long-only, no margin, fills no earlier than the bar after a signal.
//!
//! A strategy hands the simulator one [`Signal`] per bar. With the default [`FillTiming::NextOpen`]
//! a signal from bar `t` fills at bar `t + 1`'s open; protective exits ([`ExitRules`]) trigger
//! inside a bar from its high and low under a documented conservative rule. Orders a cash
//! account cannot make (a short sale, more than the cash) are refused and recorded with a
//! [`RefusalReason`], never resized. [`Simulator`] runs one symbol; [`run_portfolio`] runs many
//! strategies over many symbols, each strategy with its own slice of the account.
//!
//! Within a bar, every exit at a fill point (exit signals, time stops) settles before any entry
//! there, so an entry can spend the cash an exit just freed; entries are taken in leg order.
//! Under next-open fills the intrabar stops follow the open's fills; under same-bar-close fills
//! they precede the close's.

mod book;
mod column;
mod costs;
mod desk;
mod engine;
pub(crate) mod fill;
mod portfolio;
mod record;
mod rules;
mod signal;
mod sizing;
mod step;

pub use column::{Iter as SignalIter, SignalColumn, SignalsRef};
pub use costs::{Commission, Costs, Side, Slippage};
pub use engine::{LengthMismatch, SimResult, Simulator};
pub use portfolio::{
    Leg, LegResult, PortfolioConfig, PortfolioError, PortfolioResult, Sleeve, SleeveResult, run_portfolio,
};
pub use record::{Activity, ExitReason, OpenPosition, Refusal, RefusalReason, Trade};
pub use rules::{ExitRules, FillTiming, MAX_CASH, RulesError, SizingPrice, TradeRules, check_cash};
pub use signal::{Signal, SignalLengthMismatch, Strength};
pub use sizing::{MAX_QUANTITY, QuantityRule, Sizing, entry_quantity, max_quantity};

#[cfg(test)]
mod tests;
