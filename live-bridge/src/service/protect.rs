//! Protective exits at the broker: a strategy's stop-loss, take-profit or trailing stop rests
//! at Alpaca as one good-till-canceled sell for each held position, so it survives a crash of
//! the service.
//!
//! Once an entry has filled completely, the position gets its protective order: an intent with
//! a deterministic `client_order_id` (`…-p1`, `…-p2` after a re-placement) and its request,
//! stored before it is sent, then sent like every other order (looked up by that id after any
//! error, never resent blindly). Its levels are the kernel's (`Book::check_stops`) from the
//! entry's average fill price, rounded to the tick Alpaca accepts on the side that triggers
//! no later than the kernel would. Before any other sale of the position (exit signal, time
//! stop) its protective order is canceled and the cancel confirmed; a stop that filled
//! meanwhile leaves less, or nothing, to sell. Protective fills are booked like any sale:
//! position closed, sleeve credited, proceeds unsettled until T+1.

use std::time::{Duration, Instant};

use kernel::sim::{ExitRules, QuantityRule, TradeRules};
use rust_decimal::prelude::FromPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};

use super::orders::STOP_CROSSED;
use super::{Bridge, ServiceError};
use crate::alpaca::model::{OrderRequest, OrderSide, Protection};
use crate::db::{OrderRow, OrderState, PROTECTIVE_SLOT};
use crate::safety;

/// Why the bridge cannot trade `rules` live, if it cannot: a trailing stop together with a
/// fixed stop-loss or a take-profit is not one Alpaca order (an `oco` takes a fixed stop and a
/// limit only), and a strategy is never traded without the exits it was promoted with.
pub(super) fn unsupported(rules: &TradeRules) -> Option<String> {
    let e = &rules.exits;
    let rests = e.stop_loss.is_some() || e.take_profit.is_some() || e.trailing_stop.is_some();
    if rests && rules.quantity == QuantityRule::Fractional {
        return Some(
            "its protective exits need good-till-canceled orders, which Alpaca does not take for fractional quantities (fractional orders are day orders)"
                .into(),
        );
    }
    let with: Vec<&str> = [("stop_loss", e.stop_loss.is_some()), ("take_profit", e.take_profit.is_some())]
        .iter()
        .filter(|(_, on)| e.trailing_stop.is_some() && *on)
        .map(|(n, _)| *n)
        .collect();
    (!with.is_empty()).then(|| {
        format!(
            "its trailing_stop together with {} cannot rest at Alpaca as one order (an oco takes a fixed stop and a take-profit only)",
            with.join(" and ")
        )
    })
}

/// Alpaca's price tick: a cent from $1, else a hundredth of a cent.
fn tick_dp(price: Decimal) -> u32 {
    if price >= Decimal::ONE { 2 } else { 4 }
}

fn fraction(f: f64) -> Decimal {
    Decimal::from_f64(f).unwrap_or_default()
}

/// The protective order of a position entered at `entry` under `exits`, if they name one. A
/// stop is rounded down and a take-profit up to the tick: on prices quoted in ticks they
/// trigger on exactly the bars where the kernel's unrounded levels do.
pub fn protection_for(exits: &ExitRules, entry: Decimal) -> Option<Protection> {
    let stop = exits.stop_loss.map(|f| {
        let level = entry * (Decimal::ONE - fraction(f));
        level.round_dp_with_strategy(tick_dp(level), RoundingStrategy::ToNegativeInfinity)
    });
    let limit = exits.take_profit.map(|f| {
        let level = entry * (Decimal::ONE + fraction(f));
        level.round_dp_with_strategy(tick_dp(level), RoundingStrategy::ToPositiveInfinity)
    });
    let trailing = exits.trailing_stop.map(|f| (fraction(f) * Decimal::ONE_HUNDRED).round_dp(4));
    match (stop, limit, trailing) {
        (Some(stop), Some(limit), None) => Some(Protection::Oco { stop, limit }),
        (Some(stop), None, None) => Some(Protection::Stop { stop }),
        (None, Some(limit), None) => Some(Protection::Limit { limit }),
        (None, None, Some(percent)) => Some(Protection::Trailing { percent }),
        _ => None,
    }
}

/// The deterministic `client_order_id` of the `n`-th protective order of the position entered
/// at `slot`.
pub fn protective_order_id(strategy: &str, slot: &str, symbol: &str, n: usize) -> String {
    let compact: String = slot.chars().filter(char::is_ascii_digit).collect();
    super::run::bounded_order_id(strategy, &format!("{compact}-{symbol}-p{n}"))
}

impl Bridge {
    /// Looks up the working protective orders of `strategy` (every strategy's when `None`) and
    /// books what they filled: a stop that triggered since the last look closes its position.
    pub(super) async fn refresh_protective(&mut self, strategy: Option<&str>) -> Result<(), ServiceError> {
        for o in self.db.protective_orders(strategy, None)? {
            if !matches!(o.state, OrderState::Open | OrderState::Unknown) {
                continue;
            }
            match self.client.order_by_client_id(&o.client_order_id).await {
                Ok(Some(found)) => self.apply_order(&found)?,
                Ok(None) => tracing::warn!("{}: protective order unknown to the broker", o.client_order_id),
                Err(e) => tracing::warn!("{}: protective order lookup failed: {e}", o.client_order_id),
            }
        }
        Ok(())
    }

    /// Looks the open orders up when due ([`Bridge::check_open_orders`]) and the oco orders
    /// stream updates reported on without their legs, then protects the
    /// positions of every strategy whose entry filled since the last look (a fill seen on the
    /// stream or by polling, at any time of day).
    pub(super) async fn protect_filled(&mut self) -> Result<(), ServiceError> {
        self.check_open_orders().await?;
        while let Some(cid) = self.lookups.pop_first() {
            match self.client.order_by_client_id(&cid).await {
                Ok(Some(found)) => self.apply_order(&found)?,
                Ok(None) => tracing::warn!("{cid}: unknown to the broker"),
                Err(e) => tracing::warn!("{cid}: lookup failed ({e}); the next refresh books it"),
            }
        }
        while let Some(id) = self.unprotected.pop_first() {
            if let Some(idx) = self.strategies.iter().position(|r| r.strategy.id == id) {
                self.protect(idx).await?;
            }
        }
        Ok(())
    }

    /// Gives every held position of strategy `idx` its protective order, if its exits name one:
    /// resumes a stored intent, or places a new one where none is working (after the entry
    /// filled completely, or after the previous one was canceled or expired). Protection is
    /// reduce-only, so it is placed while halted or tripped too: a position is never left
    /// without its stop.
    pub(super) async fn protect(&mut self, idx: usize) -> Result<(), ServiceError> {
        let r = &self.strategies[idx];
        if !r.enabled() {
            return Ok(());
        }
        let (id, exits) = (r.strategy.id.clone(), r.strategy.rules.exits);
        if exits.stop_loss.is_none() && exits.take_profit.is_none() && exits.trailing_stop.is_none() {
            return Ok(());
        }
        for p in self.db.strategy_positions(&id)? {
            let orders = self.db.symbol_orders(&id, &p.symbol)?;
            let protective = self.db.protective_orders(Some(&id), Some(&p.symbol))?;
            let is_protective =
                |o: &OrderRow| protective.iter().any(|x| x.client_order_id == o.client_order_id);
            // An entry still filling, or a sale under way, is protected when it is done.
            if orders.iter().any(|o| o.state.is_pending() && !is_protective(o)) {
                continue;
            }
            if let Some(working) = protective.iter().find(|o| o.state.is_pending()) {
                if working.state == OrderState::Intent {
                    self.submit(working).await?;
                }
                continue;
            }
            let entry = if p.qty.is_zero() { Decimal::ZERO } else { p.cost / p.qty };
            let Some(protection) = protection_for(&exits, entry) else { continue };
            let entry_slot = orders
                .iter()
                .rev()
                .find(|o| o.side == OrderSide::Buy && !o.filled_qty.is_zero())
                .map_or_else(|| "adopted".to_string(), |o| o.slot.clone());
            let slot = format!("{entry_slot}{PROTECTIVE_SLOT}");
            let n = protective.iter().filter(|o| o.slot == slot).count() + 1;
            let cid = protective_order_id(&id, &entry_slot, &p.symbol, n);
            let request = OrderRequest::protective(&p.symbol, p.qty, protection, &cid);
            let row = OrderRow {
                client_order_id: cid.clone(),
                strategy: id.clone(),
                slot,
                symbol: p.symbol.clone(),
                side: OrderSide::Sell,
                qty: p.qty,
                state: OrderState::Intent,
                broker_id: None,
                filled_qty: Decimal::ZERO,
                filled_notional: Decimal::ZERO,
                detail: format!("{protection:?} for the entry at {entry}"),
            };
            self.checkpoint("protect", &format!("{cid}: {protection:?} on {} {}", p.qty, p.symbol))?;
            self.db.add_protective(&row, &request, self.now_ns())?;
            tracing::info!("{cid}: protecting {} {} with {protection:?}", p.qty, p.symbol);
            self.submit(&row).await?;
            let refused = self.db.order(&cid)?;
            if refused.is_some_and(|o| o.state == OrderState::Rejected && o.detail.starts_with(STOP_CROSSED))
            {
                // The price is already below the stop (a gap down, a fall while the entry
                // filled): the backtest's stop would have sold at once, so sell at the market
                // now — reduce-only, so it goes out while halted too, and outside the session it
                // waits for the open, where the stop would have filled.
                let cid = protective_order_id(&id, &entry_slot, &p.symbol, n + 1);
                let request = OrderRequest::market(&p.symbol, p.qty, OrderSide::Sell, &cid);
                let detail =
                    format!("{STOP_CROSSED} ({protection:?} for the entry at {entry}): sold at the market");
                let row = OrderRow { client_order_id: cid.clone(), detail, ..row };
                self.checkpoint(
                    "protect",
                    &format!("{cid}: stop crossed, market sale of {} {}", p.qty, p.symbol),
                )?;
                self.db.add_protective(&row, &request, self.now_ns())?;
                tracing::warn!(
                    "{cid}: the stop is already crossed: selling {} {} at the market",
                    p.qty,
                    p.symbol
                );
                self.submit(&row).await?;
            }
        }
        Ok(())
    }

    /// Makes a planned sale of a position safe to send: cancels the position's protective
    /// orders and waits for the broker to confirm, then shrinks the sale to what is still held.
    /// `None` when it must not be sent (marked not sent, with the reason): nothing is left, or
    /// a cancel was not confirmed — never two sells for one position.
    pub(super) async fn release(&mut self, sale: &OrderRow) -> Result<Option<OrderRow>, ServiceError> {
        let not_sent = |bridge: &Self, why: &str| -> Result<Option<OrderRow>, ServiceError> {
            tracing::warn!("{}: not sent: {why}", sale.client_order_id);
            let now = bridge.now_ns();
            bridge.db.set_order_state(&sale.client_order_id, OrderState::NotSent, None, why, now)?;
            Ok(None)
        };
        // Halted: the sale will not be sent, so the position keeps its protection.
        self.watch_safety()?;
        if let Some(why) = safety::stopped(&self.switch, &self.db)? {
            return not_sent(self, &why);
        }
        // Outside the session the sale would not be sent either: keep the protection.
        if let Some(why) = self.market_closed().await? {
            return not_sent(self, &why);
        }
        for o in self.db.protective_orders(Some(&sale.strategy), Some(&sale.symbol))? {
            if !o.state.is_pending() {
                continue;
            }
            if !self.cancel_protective(&o).await? {
                return not_sent(
                    self,
                    &format!("the cancel of its protective order {} is not confirmed", o.client_order_id),
                );
            }
        }
        let held = self.db.strategy_positions(&sale.strategy)?.into_iter().find(|p| p.symbol == sale.symbol);
        let held = held.map_or(Decimal::ZERO, |p| p.qty);
        if held.is_zero() {
            return not_sent(self, "the position was closed by its protective order");
        }
        let mut sale = sale.clone();
        if held < sale.qty {
            tracing::info!("{}: {} left after a partial protective fill", sale.client_order_id, held);
            self.db.set_order_qty(&sale.client_order_id, held, self.now_ns())?;
            sale.qty = held;
        }
        Ok(Some(sale))
    }

    /// Cancels one protective order and follows it until the broker reports it done
    /// (canceled, or filled before the cancel arrived), booking its fills. False when that is
    /// not confirmed within the fill timeout.
    pub(super) async fn cancel_protective(&mut self, o: &OrderRow) -> Result<bool, ServiceError> {
        let cid = o.client_order_id.as_str();
        if o.state == OrderState::Intent {
            let why = "the position is being sold: never sent";
            self.db.set_order_state(cid, OrderState::NotSent, None, why, self.now_ns())?;
            return Ok(true);
        }
        self.checkpoint("unprotect", cid)?;
        let timeout = Duration::from_secs_f64(self.config.service.fill_timeout_secs.max(0.0));
        let poll = Duration::from_secs_f64(self.config.service.poll_secs.max(0.01));
        let deadline = Instant::now() + timeout;
        let mut canceled = false;
        loop {
            match self.client.order_by_client_id(cid).await {
                Ok(Some(found)) => {
                    self.apply_order(&found)?;
                    if found.is_done_with_legs() {
                        return Ok(true);
                    }
                    if !canceled {
                        match self.client.cancel_order(&found.id).await {
                            Ok(()) => tracing::info!("{cid}: protective order cancel requested"),
                            Err(e) => tracing::warn!("{cid}: cancel: {e}; following the order"),
                        }
                        canceled = true;
                        continue;
                    }
                }
                Ok(None) => {
                    let why = "the broker has no such order: it was never sent";
                    self.db.set_order_state(cid, OrderState::NotSent, None, why, self.now_ns())?;
                    return Ok(true);
                }
                Err(e) => tracing::warn!("{cid}: lookup failed: {e}"),
            }
            if Instant::now() >= deadline {
                tracing::error!("{cid}: the protective order's cancel was not confirmed in {timeout:?}");
                return Ok(false);
            }
            tokio::time::sleep(poll.min(deadline - Instant::now())).await;
        }
    }

    /// Bars a position opened at `opened_ns` has been held at the fill point after the last bar
    /// of `timestamps` (the kernel's `t - entry_bar`): the entry bar is the last bar starting at
    /// or before the first fill.
    pub(super) fn bars_held(timestamps: &[i64], opened_ns: i64) -> usize {
        match timestamps.partition_point(|&t| t <= opened_ns) {
            0 => 0,
            k => timestamps.len() - (k - 1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn levels_are_the_kernels_rounded_to_the_tick_on_the_safe_side() {
        let exits = ExitRules { stop_loss: Some(0.02), take_profit: Some(0.03), ..ExitRules::default() };
        let p = protection_for(&exits, d("100.005")).unwrap();
        // 98.0049 rounds down, 103.00515 up.
        assert_eq!(p, Protection::Oco { stop: d("98.00"), limit: d("103.01") });
        let stop = ExitRules { stop_loss: Some(0.5), ..ExitRules::default() };
        assert_eq!(protection_for(&stop, d("1.5")), Some(Protection::Stop { stop: d("0.75") }));
        assert_eq!(protection_for(&stop, d("0.99999")), Some(Protection::Stop { stop: d("0.4999") }));
        let tp = ExitRules { take_profit: Some(0.1), ..ExitRules::default() };
        assert_eq!(protection_for(&tp, d("10")), Some(Protection::Limit { limit: d("11.00") }));
        let trailing = ExitRules { trailing_stop: Some(0.015), max_bars: Some(3), ..ExitRules::default() };
        assert_eq!(protection_for(&trailing, d("10")), Some(Protection::Trailing { percent: d("1.5") }));
        let time_only = ExitRules { max_bars: Some(3), ..ExitRules::default() };
        assert_eq!(protection_for(&time_only, d("10")), None);
    }

    #[test]
    fn exits_no_alpaca_order_can_hold_are_refused_by_name() {
        let exits = ExitRules { trailing_stop: Some(0.05), stop_loss: Some(0.02), ..ExitRules::default() };
        let mut rules = TradeRules { exits, ..TradeRules::default() };
        let why = unsupported(&rules).unwrap();
        assert!(why.contains("trailing_stop together with stop_loss"), "{why}");
        rules.exits.take_profit = Some(0.1);
        assert!(unsupported(&rules).unwrap().contains("stop_loss and take_profit"));
        let stop = ExitRules { stop_loss: Some(0.02), ..ExitRules::default() };
        let fractional =
            TradeRules { exits: stop, quantity: QuantityRule::Fractional, ..TradeRules::default() };
        assert!(unsupported(&fractional).unwrap().contains("fractional quantities"));
        let timed = ExitRules { max_bars: Some(5), ..ExitRules::default() };
        assert_eq!(unsupported(&TradeRules { exits: timed, ..fractional }), None, "a time stop is the run's");
        for exits in [
            ExitRules { trailing_stop: Some(0.05), max_bars: Some(4), ..ExitRules::default() },
            ExitRules {
                stop_loss: Some(0.02),
                take_profit: Some(0.1),
                max_bars: Some(4),
                ..ExitRules::default()
            },
        ] {
            assert_eq!(unsupported(&TradeRules { exits, ..TradeRules::default() }), None);
        }
    }

    #[test]
    fn bars_held_counts_from_the_entry_bar() {
        let ts = [0, 60, 120, 180];
        assert_eq!(Bridge::bars_held(&ts, 60), 3, "entered in bar 1, the fill point is bar 4");
        assert_eq!(Bridge::bars_held(&ts, 90), 3, "a fill inside bar 1");
        assert_eq!(Bridge::bars_held(&ts, 200), 1);
        assert_eq!(Bridge::bars_held(&ts, -5), 0);
        assert_eq!(protective_order_id("gap", "2025-12-31T09:32", "S1", 2), "tb-gap-202512310932-S1-p2");
    }
}
