//! The fake broker's account logic: prices from its bars, order checks, fills and events.

use chrono::SecondsFormat;
use datasets::time::NANOS_PER_MIN;
use datasets::{Bars, Timestamp, calendar};
use rust_decimal::Decimal;
use rust_decimal::prelude::FromPrimitive;
use serde_json::{Value, json};

use super::{FakeOrder, FillMode, State};
use crate::alpaca::model::{Order, OrderRequest, OrderSide, OrderStatus, Protection};

/// RFC 3339 in UTC with a `Z`, as Alpaca writes times.
pub(super) fn rfc3339(t: Timestamp) -> String {
    t.to_datetime().to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub(super) fn price(x: f64) -> Decimal {
    Decimal::from_f64(x).unwrap_or_default()
}

/// Index of the last bar starting at or before `now`.
pub(super) fn bar_at(bars: &Bars, now: Timestamp) -> Option<usize> {
    bars.timestamps().partition_point(|&t| t <= now.0).checked_sub(1)
}

/// Alpaca's message for a sell stop at or above the current price (422).
pub(super) const STOP_CROSSED: &str = "stop price must be less than base_price - 0.01";

/// Alpaca's message for a buy refused by its wash-trade protection (code 40310000).
pub(super) const WASH_TRADE: &str = "potential wash trade detected. use complex orders";

impl State {
    /// The session of `date` at this exchange: the built-in calendar's, unless closed.
    pub(super) fn session(&self, date: chrono::NaiveDate) -> Option<calendar::Session> {
        calendar::session(date).filter(|_| !self.closed.contains(&date))
    }

    /// Whether the market is open at `now`.
    pub(super) fn is_open(&self, now: Timestamp) -> bool {
        self.session(calendar::session_date(now)).is_some_and(|s| s.contains(now))
    }

    /// The first session after `date`.
    pub(super) fn next_session(&self, date: chrono::NaiveDate) -> calendar::Session {
        let mut d = calendar::next_trading_day(date);
        loop {
            if let Some(s) = self.session(d) {
                return s;
            }
            d = calendar::next_trading_day(d);
        }
    }

    /// The price a market order fills at now: the open of the minute bar in progress (the last
    /// close after the last bar), else today's daily open, else the last daily close.
    pub(super) fn fill_price(&self, symbol: &str) -> Option<Decimal> {
        let now = self.clock.now();
        if let Some(bars) = self.minute.get(symbol)
            && let Some(i) = bar_at(bars, now)
        {
            let in_progress = now.0 < bars.timestamps()[i] + NANOS_PER_MIN;
            return Some(price(if in_progress { bars.open()[i] } else { bars.close()[i] }));
        }
        let bars = self.daily.get(symbol)?;
        let i = bar_at(bars, now)?;
        let today = calendar::session_date(Timestamp(bars.timestamps()[i])) == calendar::session_date(now);
        let closed = calendar::session(calendar::session_date(now)).is_none_or(|s| now >= s.close);
        Some(price(if today && !closed { bars.open()[i] } else { bars.close()[i] }))
    }

    /// The price positions are marked at: the last completed minute bar's close, else the fill price.
    pub(super) fn mark_price(&self, symbol: &str) -> Option<Decimal> {
        let now = self.clock.now();
        if let Some(bars) = self.minute.get(symbol) {
            let done = bars.timestamps().partition_point(|&t| t + NANOS_PER_MIN <= now.0);
            if done > 0 {
                return Some(price(bars.close()[done - 1]));
            }
        }
        self.fill_price(symbol)
    }

    /// The close of `symbol`'s last session before today's (`lastday_price`).
    pub(super) fn previous_close(&self, symbol: &str) -> Option<Decimal> {
        let today = calendar::daily_bar_timestamp(calendar::session_date(self.clock.now()));
        let bars = self.daily.get(symbol)?;
        let i = bars.timestamps().partition_point(|&t| t < today.0).checked_sub(1)?;
        Some(price(bars.close()[i]))
    }

    /// Cash plus positions at their mark.
    pub(super) fn equity(&self) -> (Decimal, Decimal) {
        let long: Decimal =
            self.positions.iter().map(|(s, (q, cost))| self.mark_price(s).map_or(*cost, |p| *q * p)).sum();
        (self.cash + long, long)
    }

    /// Checks and books a new order; `Err((status, message))` refuses it.
    pub(super) fn create_order(&mut self, request: OrderRequest) -> Result<Order, (u16, String)> {
        if request.client_order_id.len() > 48 {
            return Err((422, "client_order_id must be no more than 48 characters".into()));
        }
        if self.orders.iter().any(|o| o.order.client_order_id == request.client_order_id) {
            self.duplicate_submissions += 1;
            return Err((422, "client_order_id must be unique".into()));
        }
        let protection = request.protection();
        let protective = protection.is_some() && request.side == OrderSide::Sell;
        if request.qty <= Decimal::ZERO || !(request.order_type == "market" || protective) {
            return Err((
                422,
                "invalid order: qty must be > 0, type market, or a stop, limit, oco or trailing_stop sell"
                    .into(),
            ));
        }
        let Some(px) = self.fill_price(&request.symbol) else {
            return Err((422, format!("asset {} is not tradable", request.symbol)));
        };
        // A sell stop must rest below the market (Alpaca: 422, "stop price must be less than
        // base_price - 0.01"); one the price already fell through is refused, never filled.
        let stop = match protection.filter(|_| protective) {
            Some(Protection::Stop { stop } | Protection::Oco { stop, .. }) => Some(stop),
            _ => None,
        };
        if stop.is_some_and(|stop| stop >= px - Decimal::new(1, 2)) {
            return Err((422, STOP_CROSSED.into()));
        }
        let open_qty = |side: OrderSide| -> Decimal {
            self.orders
                .iter()
                .filter(|o| {
                    o.order.symbol == request.symbol && o.order.side == side && !o.order.status.is_terminal()
                })
                .map(|o| o.left)
                .sum()
        };
        match request.side {
            OrderSide::Buy => {
                // Alpaca's wash-trade protection: no buy while a sell that could cross it (a
                // market sell, or one with a limit price: limit, oco) is open on the symbol.
                let crossing = self.orders.iter().any(|o| {
                    o.order.symbol == request.symbol
                        && o.order.side == OrderSide::Sell
                        && !o.order.status.is_terminal()
                        && (o.order.order_type == "market" || o.order.limit_price.is_some())
                });
                if crossing {
                    return Err((403, WASH_TRADE.into()));
                }
                let committed: Decimal = self
                    .orders
                    .iter()
                    .filter(|o| o.order.side == OrderSide::Buy && !o.order.status.is_terminal())
                    .map(|o| o.left * self.fill_price(&o.order.symbol).unwrap_or_default())
                    .sum();
                if request.qty * px > self.cash - committed {
                    return Err((403, "insufficient buying power".into()));
                }
            }
            OrderSide::Sell => {
                let held = self.positions.get(&request.symbol).map_or(Decimal::ZERO, |p| p.0);
                if request.qty > held - open_qty(OrderSide::Sell) {
                    return Err((
                        403,
                        format!("insufficient qty available for order (requested: {})", request.qty),
                    ));
                }
            }
        }
        let now = rfc3339(self.clock.now());
        let id = format!("{:08x}-0000-4000-8000-{:012x}", self.orders.len() + 1, self.seen.len());
        let order = Order {
            id,
            client_order_id: request.client_order_id,
            symbol: request.symbol,
            qty: Some(request.qty),
            filled_qty: Decimal::ZERO,
            filled_avg_price: None,
            side: request.side,
            order_type: request.order_type.clone(),
            time_in_force: request.time_in_force.clone(),
            // Answered `accepted`, nothing filled (as Alpaca does): fills are seen on the
            // stream and by lookups, never in the creation's answer.
            status: OrderStatus::Accepted,
            created_at: Some(now.clone()),
            submitted_at: Some(now),
            filled_at: None,
            order_class: String::new(),
            limit_price: None,
            stop_price: None,
            trail_percent: None,
            hwm: None,
            legs: None,
        };
        let (order, watch) = match protection.filter(|_| protective) {
            Some(p) => self.protective(order, p, px),
            None => (order, None),
        };
        let placed = self.clock.now();
        self.orders.push(FakeOrder { order: order.clone(), left: request.qty, watch, placed });
        self.publish("new", &order, None);
        // It executes at once (at the bar in progress now, as at Alpaca within milliseconds),
        // but the answer is the order as accepted: the fill is seen on the stream and by lookups.
        let i = self.orders.len() - 1;
        self.work(i);
        Ok(order)
    }

    /// Fills what the fill mode allows of every working order (the market must be open).
    pub(super) fn process_pending(&mut self) {
        let now = self.clock.now();
        // The most recent close at or before now.
        let today = calendar::session_date(now);
        let last_close = match self.session(today).filter(|s| s.close <= now) {
            Some(s) => Some(s.close),
            None => {
                let mut d = calendar::previous_trading_day(today);
                while self.session(d).is_none() {
                    d = calendar::previous_trading_day(d);
                }
                self.session(d).map(|s| s.close)
            }
        };
        for i in 0..self.orders.len() {
            if self.orders[i].order.status.is_terminal() {
                continue;
            }
            // A good-till-canceled order that lived through a close is `done_for_day` until
            // the next open, as at Alpaca; it works again then.
            let gtc = self.orders[i].order.time_in_force == "gtc";
            let status = self.orders[i].order.status.clone();
            if gtc && !self.is_open(now) && last_close.is_some_and(|c| self.orders[i].placed < c) {
                if status != OrderStatus::DoneForDay {
                    self.orders[i].order.status = OrderStatus::DoneForDay;
                    let order = self.orders[i].order.clone();
                    self.publish("done_for_day", &order, None);
                }
                continue;
            }
            if matches!(status, OrderStatus::DoneForDay | OrderStatus::Accepted) && self.is_open(now) {
                self.orders[i].order.status = OrderStatus::New;
            }
            self.work(i);
        }
    }

    fn work(&mut self, i: usize) {
        if self.orders[i].watch.is_some() {
            return self.trigger(i);
        }
        if !self.is_open(self.clock.now()) {
            return;
        }
        let o = &mut self.orders[i];
        let qty = match self.fill_mode {
            FillMode::Never => return,
            FillMode::Immediate => o.left,
            FillMode::Partial if o.order.filled_qty.is_zero() => (o.left / Decimal::TWO).ceil(),
            FillMode::Partial => o.left,
        };
        let Some(px) = self.fill_price(&self.orders[i].order.symbol) else { return };
        self.fill(i, qty, px);
    }

    /// Executes `qty` of working order `i` at `px`: the order, the account and a stream event.
    pub(super) fn fill(&mut self, i: usize, qty: Decimal, px: Decimal) {
        let now = rfc3339(self.clock.now());
        let o = &mut self.orders[i];
        let before = o.order.filled_qty;
        let avg = o.order.filled_avg_price.unwrap_or_default();
        o.order.filled_qty = before + qty;
        o.order.filled_avg_price = Some(((avg * before + px * qty) / o.order.filled_qty).round_dp(6));
        o.left -= qty;
        let done = o.left.is_zero();
        o.order.status = if done { OrderStatus::Filled } else { OrderStatus::PartiallyFilled };
        if done {
            o.order.filled_at = Some(now);
        }
        let (symbol, side) = (o.order.symbol.clone(), o.order.side);
        let position_qty = self.book(&symbol, side, qty, px);
        let order = self.orders[i].order.clone();
        let event = if done { "fill" } else { "partial_fill" };
        self.publish(event, &order, Some((px, qty, position_qty)));
    }

    /// Moves cash and the position of `symbol` by one execution; returns the position after.
    pub(super) fn book(&mut self, symbol: &str, side: OrderSide, qty: Decimal, px: Decimal) -> Decimal {
        let entry = self.positions.entry(symbol.to_string()).or_default();
        match side {
            OrderSide::Buy => {
                entry.0 += qty;
                entry.1 += qty * px;
                self.cash -= qty * px;
            }
            OrderSide::Sell => {
                let avg_cost = if entry.0.is_zero() { Decimal::ZERO } else { entry.1 / entry.0 };
                entry.0 -= qty;
                entry.1 -= avg_cost * qty;
                self.cash += qty * px;
            }
        }
        let position_qty = entry.0;
        if position_qty.is_zero() {
            self.positions.remove(symbol);
        }
        position_qty
    }

    /// Cancels a working order; `false` when it can no longer be canceled.
    pub(super) fn cancel(&mut self, id: &str) -> Option<bool> {
        let i = self.orders.iter().position(|o| o.order.id == id)?;
        if self.orders[i].order.status.is_terminal() {
            return Some(false);
        }
        self.orders[i].order.status = OrderStatus::Canceled;
        self.orders[i].left = Decimal::ZERO;
        for leg in self.orders[i].order.legs.iter_mut().flatten() {
            leg.status = OrderStatus::Canceled;
        }
        let order = self.orders[i].order.clone();
        self.publish("canceled", &order, None);
        Some(true)
    }

    pub(super) fn publish(&self, event: &str, order: &Order, execution: Option<(Decimal, Decimal, Decimal)>) {
        // Stream updates carry the order without its legs (each leg has events of its own).
        let mut data = json!({
            "event": event,
            "timestamp": rfc3339(self.clock.now()),
            "order": order_json(&Order { legs: None, ..order.clone() }),
        });
        if let Some((price, qty, position_qty)) = execution {
            data["price"] = json!(price.to_string());
            data["qty"] = json!(qty.to_string());
            data["position_qty"] = json!(position_qty.to_string());
            data["execution_id"] = json!(format!("{}-{}", order.id, order.filled_qty));
        }
        if self.stream_muted {
            return;
        }
        // No subscriber is fine: the stream is optional, polling covers it.
        let _ = self.updates.send(json!({"stream": "trade_updates", "data": data}).to_string());
    }
}

/// An order as Alpaca's JSON, including the fields the client ignores.
pub(super) fn order_json(o: &Order) -> Value {
    let mut v = serde_json::to_value(o).expect("orders serialise");
    let extra = json!({
        "updated_at": o.filled_at.clone().or(o.submitted_at.clone()),
        "expired_at": null, "canceled_at": null, "failed_at": null, "replaced_at": null,
        "replaced_by": null, "replaces": null,
        "asset_id": format!("asset-{}", o.symbol), "asset_class": "us_equity", "notional": null,
        "order_type": o.order_type, "extended_hours": false, "trail_price": null,
        "position_intent": if o.side == OrderSide::Buy { "buy_to_open" } else { "sell_to_close" },
    });
    if let (Value::Object(map), Value::Object(more)) = (&mut v, extra) {
        map.extend(more);
    }
    v
}
