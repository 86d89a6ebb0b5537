//! The fake's protective sells: `stop`, `limit`, `oco` and `trailing_stop` orders, triggered
//! against each completed bar the fake replays (its minute bars, else its daily bars) exactly
//! as the kernel's simulator triggers its stops (`kernel::sim` `Book::check_stops`): a stop
//! fills at its price, or at the open of a bar that gapped through it (never on the bar in
//! progress when it was placed, whose open was the entry); a limit fills at its price, or at
//! a better open; a stop wins over a take-profit on the same bar; a trailing stop stands
//! `trail_percent` below the highest high of the bars before, starting from the price at
//! placement.

use datasets::time::NANOS_PER_MIN;
use datasets::{Bars, Timestamp, calendar};
use rust_decimal::Decimal;

use super::State;
use super::market::{bar_at, price, rfc3339};
use crate::alpaca::model::{Order, OrderSide, OrderStatus, Protection};

/// Where a protective order stands in its symbol's bars.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Watch {
    /// The next bar to check once it completes.
    next: usize,
    /// The bar in progress at placement: its open was the entry, so it cannot gap.
    placed_in: Option<usize>,
}

/// End of bar `j`: a minute later, or the session's close for a daily bar.
fn bar_end(bars: &Bars, j: usize, minute: bool) -> i64 {
    let t = bars.timestamps()[j];
    if minute {
        return t + NANOS_PER_MIN;
    }
    calendar::session(calendar::session_date(Timestamp(t))).map_or(t, |s| s.close.0)
}

impl State {
    /// The bars protective orders on `symbol` trigger against, and whether they are minute bars.
    fn trigger_bars(&self, symbol: &str) -> Option<(&Bars, bool)> {
        match self.minute.get(symbol) {
            Some(bars) => Some((bars, true)),
            None => self.daily.get(symbol).map(|b| (b, false)),
        }
    }

    /// Fills in a new protective order's prices and legs (`px`: the price now, where a
    /// trailing stop's high-water mark starts) and where it starts watching the bars.
    pub(super) fn protective(&self, mut order: Order, p: Protection, px: Decimal) -> (Order, Option<Watch>) {
        match p {
            Protection::Stop { stop } => order.stop_price = Some(stop),
            Protection::Limit { limit } => order.limit_price = Some(limit),
            Protection::Trailing { percent } => {
                order.trail_percent = Some(percent);
                order.hwm = Some(px);
                order.stop_price = Some(trail_level(px, percent));
            }
            Protection::Oco { stop, limit } => {
                order.order_class = "oco".into();
                order.limit_price = Some(limit);
                let mut leg = order.clone();
                leg.id = format!("{}-sl", order.id);
                leg.client_order_id = format!("{}-leg", order.id);
                leg.order_type = "stop".into();
                leg.limit_price = None;
                leg.stop_price = Some(stop);
                leg.status = OrderStatus::Other("held".into());
                order.legs = Some(vec![leg]);
            }
        }
        let now = self.clock.now();
        let watch = self.trigger_bars(&order.symbol).map(|(bars, minute)| match bar_at(bars, now) {
            Some(i) if now.0 < bar_end(bars, i, minute) => Watch { next: i, placed_in: Some(i) },
            Some(i) => Watch { next: i + 1, placed_in: None },
            None => Watch { next: 0, placed_in: None },
        });
        (order, watch)
    }

    /// Checks working protective order `i` against every bar completed since it last looked.
    pub(super) fn trigger(&mut self, i: usize) {
        loop {
            let o = &self.orders[i];
            let Some(watch) = o.watch else { return };
            let Some((bars, minute)) = self.trigger_bars(&o.order.symbol) else { return };
            let j = watch.next;
            if j >= bars.len() || self.clock.now().0 < bar_end(bars, j, minute) {
                return;
            }
            let (at, open) = (Timestamp(bars.timestamps()[j]), price(bars.open()[j]));
            let (high, low) = (price(bars.high()[j]), price(bars.low()[j]));
            let order = &o.order;
            let oco_stop = order.legs.iter().flatten().find_map(|l| l.stop_price);
            let stop = match order.order_type.as_str() {
                "stop" | "trailing_stop" => order.stop_price,
                _ => oco_stop,
            };
            let take_profit = order.limit_price;
            let can_gap = watch.placed_in != Some(j);
            let hit = match (stop, take_profit) {
                (Some(level), _) if can_gap && open <= level => Some((open, true)),
                (_, Some(tp)) if can_gap && open >= tp => Some((open, false)),
                (Some(level), _) if low <= level => Some((level, true)),
                (_, Some(tp)) if high >= tp => Some((tp, false)),
                _ => None,
            };
            if let Some((px, by_stop)) = hit {
                return self.fill_protective(i, by_stop && oco_stop.is_some(), px, at);
            }
            let o = &mut self.orders[i];
            if let (Some(hwm), Some(pct)) = (o.order.hwm, o.order.trail_percent) {
                let hwm = hwm.max(high);
                o.order.hwm = Some(hwm);
                o.order.stop_price = Some(trail_level(hwm, pct));
            }
            o.watch = Some(Watch { next: j + 1, ..watch });
        }
    }

    /// Fills working protective order `id` now at the market (a [`super::Fault::FillFirst`]).
    pub(super) fn fill_at_market(&mut self, id: &str) {
        let Some(i) = self.orders.iter().position(|o| o.order.id == id && o.watch.is_some()) else { return };
        let Some(px) = self.fill_price(&self.orders[i].order.symbol) else { return };
        let leg = self.orders[i].order.legs.is_some();
        self.fill_protective(i, leg, px, self.clock.now());
    }

    /// Fills every working order now at the market, whatever the fill mode (a
    /// [`super::Fault::FillFirst`] on a positions read).
    pub(super) fn fill_all_at_market(&mut self) {
        for i in 0..self.orders.len() {
            let o = &self.orders[i];
            if o.order.status.is_terminal() || o.left.is_zero() {
                continue;
            }
            let Some(px) = self.fill_price(&o.order.symbol) else { continue };
            if o.watch.is_some() {
                let leg = o.order.legs.is_some();
                self.fill_protective(i, leg, px, self.clock.now());
            } else {
                let left = o.left;
                self.fill(i, left, px);
            }
        }
    }

    /// Fills protective order `i` at `px` on the bar starting `at`: through its stop-loss leg
    /// (`leg`, an oco: the parent is canceled) or itself (its legs are canceled).
    fn fill_protective(&mut self, i: usize, leg: bool, px: Decimal, at: Timestamp) {
        let when = Some(rfc3339(at));
        let double = self.double_fill_ocos;
        let o = &mut self.orders[i];
        let qty = o.left;
        o.left = Decimal::ZERO;
        o.watch = None;
        if double && let Some(legs) = o.order.legs.as_mut() {
            // Both sides execute: the take-profit (the parent) and the stop-loss leg.
            for l in legs.iter_mut() {
                (l.filled_qty, l.filled_avg_price) = (qty, Some(px));
                (l.status, l.filled_at) = (OrderStatus::Filled, when.clone());
            }
            (o.order.filled_qty, o.order.filled_avg_price) = (qty, Some(px));
            (o.order.status, o.order.filled_at) = (OrderStatus::Filled, when);
            let symbol = o.order.symbol.clone();
            self.book(&symbol, OrderSide::Sell, qty, px);
            let position_qty = self.book(&symbol, OrderSide::Sell, qty, px);
            let order = self.orders[i].order.clone();
            for l in order.legs.iter().flatten() {
                self.publish("fill", l, Some((px, qty, position_qty)));
            }
            return self.publish("fill", &order, Some((px, qty, position_qty)));
        }
        let legs = o.order.legs.iter_mut().flatten();
        if leg {
            o.order.status = OrderStatus::Canceled;
            for l in legs {
                (l.filled_qty, l.filled_avg_price) = (qty, Some(px));
                (l.status, l.filled_at) = (OrderStatus::Filled, when.clone());
            }
        } else {
            for l in legs {
                l.status = OrderStatus::Canceled;
            }
            (o.order.filled_qty, o.order.filled_avg_price) = (qty, Some(px));
            (o.order.status, o.order.filled_at) = (OrderStatus::Filled, when);
        }
        let symbol = o.order.symbol.clone();
        let position_qty = self.book(&symbol, OrderSide::Sell, qty, px);
        let order = self.orders[i].order.clone();
        match order.legs.iter().flatten().find(|l| l.status == OrderStatus::Filled).filter(|_| leg) {
            // As at Alpaca, each leg is an order with events of its own: the stop-loss leg
            // fills (under the id Alpaca gave it) and the parent is canceled.
            Some(filled) => {
                self.publish("fill", filled, Some((px, qty, position_qty)));
                self.publish("canceled", &order, None);
            }
            None => self.publish("fill", &order, Some((px, qty, position_qty))),
        }
    }
}

/// A trailing stop's trigger: `percent` % below the high-water mark.
fn trail_level(hwm: Decimal, percent: Decimal) -> Decimal {
    hwm * (Decimal::ONE - percent / Decimal::ONE_HUNDRED)
}
