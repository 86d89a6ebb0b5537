//! The fill core: how one position is bought, sold and stopped out, written once for every
//! driver that steps bars — the book of [`Simulator`](super::Simulator) and of every portfolio
//! leg ([`super::book`]), the lean signal run and the SMA-cross grid (`crate::sweep`).
//!
//! Like the matching core an exchange simulator shares between its engines, this module decides
//! prices, quantities, costs and which stop fires; a driver decides when to ask (its bar order,
//! the bars it may skip) and what to record (trades and refusals, or running totals). Because
//! every driver runs these same expressions in the same order, their equity curves agree bit for
//! bit (the property tests of `sweep::signals` and `sweep::tests`).

use datasets::Bars;

use super::costs::{Costs, Side};
use super::record::{ExitReason, RefusalReason};
use super::rules::{ExitRules, SizingPrice, TradeRules};
use super::signal::Strength;
use super::sizing::{buy_cost, entry_quantity};

/// A symbol's price columns, read by bar index.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Prices<'a> {
    /// Opens.
    pub(crate) open: &'a [f64],
    /// Highs.
    pub(crate) high: &'a [f64],
    /// Lows.
    pub(crate) low: &'a [f64],
    /// Closes.
    pub(crate) close: &'a [f64],
}

impl<'a> Prices<'a> {
    /// The columns of `bars`.
    pub(crate) fn of(bars: &'a Bars) -> Self {
        Prices { open: bars.open(), high: bars.high(), low: bars.low(), close: bars.close() }
    }
}

/// An open position, as the fill core needs it to sell it and check its stops.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Holding {
    /// Bar of the entry fill.
    pub(crate) entry_bar: usize,
    /// Entry fill price (slipped).
    pub(crate) entry_price: f64,
    /// Units held.
    pub(crate) qty: f64,
    /// Commission paid on entry.
    pub(crate) entry_fee: f64,
    /// Highest high of completed held bars (the entry price before the first).
    pub(crate) peak: f64,
}

/// A buy that filled: the position and the notional it paid.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Bought {
    /// The new position.
    pub(crate) holding: Holding,
    /// `qty × fill`, for the traded-notional total.
    pub(crate) notional: f64,
}

/// A sale that closed a position.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sold {
    /// Exit fill price (slipped).
    pub(crate) fill: f64,
    /// `qty × fill`.
    pub(crate) notional: f64,
    /// Exit commission (at most the notional).
    pub(crate) fee: f64,
    /// `qty × entry price`, what the position cost before fees.
    pub(crate) entry_value: f64,
    /// Net profit of the round trip, both fees included.
    pub(crate) pnl: f64,
}

/// Buys at bar `t` what the entry signal of bar `signal_bar` asks for, at the fill point's
/// `reference` price, paying from `cash`.
///
/// The fill slips against the buyer inside bar `t`'s range; the quantity is
/// [`entry_quantity`]'s (fraction of `base`, times `strength`, capped by `cash`, priced at the
/// fill or the signal bar's slipped close per [`SizingPrice`]); the whole cost, commission
/// included, must fit `cash`. A refusal leaves `cash` untouched and says why.
#[inline]
#[allow(clippy::too_many_arguments)]
pub(crate) fn buy(
    rules: &TradeRules,
    prices: &Prices<'_>,
    t: usize,
    signal_bar: usize,
    reference: f64,
    strength: Strength,
    base: f64,
    cash: &mut f64,
) -> Result<Bought, RefusalReason> {
    let commission = &rules.costs.commission;
    let slippage = rules.costs.slippage;
    let fill = slippage.fill_price(Side::Buy, reference, prices.low[t], prices.high[t]);
    let sizing_price = match rules.sizing_price {
        SizingPrice::FillPrice => fill,
        SizingPrice::SignalClose => slippage.fill_price(
            Side::Buy,
            prices.close[signal_bar],
            prices.low[signal_bar],
            prices.high[signal_bar],
        ),
    };
    let qty = entry_quantity(rules, &prices.close[..=signal_bar], strength, base, *cash, sizing_price)?;
    let (notional, fee) = buy_cost(qty, fill, commission);
    if notional + fee > *cash {
        return Err(RefusalReason::InsufficientCash { required: notional + fee, available: *cash });
    }
    *cash -= notional + fee;
    Ok(Bought {
        holding: Holding { entry_bar: t, entry_price: fill, qty, entry_fee: fee, peak: fill },
        notional,
    })
}

impl Holding {
    /// Sells the whole position in bar `t` at the `reference` price (slipped against the seller
    /// inside the bar's range), crediting `cash` net of commission.
    #[inline]
    pub(crate) fn sell(
        &self,
        costs: &Costs,
        prices: &Prices<'_>,
        t: usize,
        reference: f64,
        cash: &mut f64,
    ) -> Sold {
        let fill = costs.slippage.fill_price(Side::Sell, reference, prices.low[t], prices.high[t]);
        let notional = self.qty * fill;
        let fee = costs.commission.cost(self.qty, fill).min(notional);
        *cash += notional - fee;
        let entry_value = self.qty * self.entry_price;
        let pnl = (notional - fee) - (entry_value + self.entry_fee);
        Sold { fill, notional, fee, entry_value, pnl }
    }

    /// The protective exit bar `t` triggers, as `(reference price, reason)`; with none, the peak
    /// that a trailing stop follows rises to the bar's high.
    ///
    /// The stop is the higher of the stop-loss and trailing levels. A bar opening through the
    /// stop or the take-profit fills at its open (except on the entry bar, whose open was the
    /// entry); otherwise a low at or below the stop fills at the stop, else a high at or above
    /// the take-profit at the take-profit: the stop first when both are inside the range.
    #[inline]
    pub(crate) fn stop(
        &mut self,
        exits: &ExitRules,
        prices: &Prices<'_>,
        t: usize,
    ) -> Option<(f64, ExitReason)> {
        let (open, high, low) = (prices.open[t], prices.high[t], prices.low[t]);
        let stop_loss = exits.stop_loss.map(|f| (self.entry_price * (1.0 - f), ExitReason::StopLoss));
        let trailing = exits.trailing_stop.map(|f| (self.peak * (1.0 - f), ExitReason::TrailingStop));
        let stop = match (stop_loss, trailing) {
            (Some(s), Some(tr)) => Some(if tr.0 > s.0 { tr } else { s }),
            (s, tr) => s.or(tr),
        };
        let take_profit = exits.take_profit.map(|f| self.entry_price * (1.0 + f));
        // On the bar opened at its own open, the open was the entry: nothing can gap.
        let can_gap = self.entry_bar < t;
        let hit = match (stop, take_profit) {
            (Some((level, reason)), _) if can_gap && open <= level => Some((open, reason)),
            (_, Some(tp)) if can_gap && open >= tp => Some((open, ExitReason::TakeProfit)),
            (Some((level, reason)), _) if low <= level => Some((level, reason)),
            (_, Some(tp)) if high >= tp => Some((tp, ExitReason::TakeProfit)),
            _ => None,
        };
        if hit.is_none() {
            self.peak = self.peak.max(high);
        }
        hit
    }
}
