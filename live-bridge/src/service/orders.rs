//! Sending orders without ever sending one twice, and following them to completion.

use std::time::{Duration, Instant};

use datasets::calendar;

use super::{Bridge, ServiceError};
use rust_decimal::Decimal;

use crate::alpaca::model::{Order, OrderRequest, OrderSide, OrderStatus};
use crate::alpaca::stream::StreamEvent;
use crate::db::{OrderRow, OrderState};
use crate::guard::{self, Budget, Proposed};
use crate::safety;

/// How often an order whose creation had an unknown outcome, and which the broker then did
/// not know, is sent again under the same `client_order_id` (the broker refuses a duplicate).
const RESENDS: u32 = 2;

/// The start of the detail of a protective order the broker refused because the price had
/// already fallen through its stop.
pub(super) const STOP_CROSSED: &str = "stop already crossed";

/// The local state of a broker status.
fn state_of(status: &OrderStatus) -> OrderState {
    match status {
        OrderStatus::Filled => OrderState::Filled,
        OrderStatus::Rejected => OrderState::Rejected,
        OrderStatus::Canceled | OrderStatus::Expired | OrderStatus::Replaced => OrderState::Canceled,
        // `done_for_day`: no more executions today, but a good-till-canceled order works again
        // at the next open: still open, never booked as canceled (a second stop would follow).
        _ => OrderState::Open,
    }
}

impl Bridge {
    /// Applies the broker's view of one of our orders (cumulative, idempotent).
    pub(super) fn apply_order(&mut self, order: &Order) -> Result<(), ServiceError> {
        let today = calendar::session_date(self.clock.now());
        let (trade, settle) = (today.to_string(), self.settle_date(today).to_string());
        // An oco fills through its parent or its stop-loss leg: both are the one sale.
        let (filled_qty, avg_price) = order.filled_with_legs();
        let state = match &order.legs {
            None => state_of(&order.status),
            Some(_) if !order.is_done_with_legs() => OrderState::Open,
            Some(_) if filled_qty >= order.qty.unwrap_or_default() => OrderState::Filled,
            Some(_) => OrderState::Canceled,
        };
        let filled = self.db.apply_fill(
            &order.client_order_id,
            (&order.id, order.status.as_str()),
            state,
            filled_qty,
            avg_price,
            (&trade, &settle),
            self.now_ns(),
        )?;
        if state == OrderState::Filled
            && order.side == OrderSide::Buy
            && let Some(row) = self.db.order(&order.client_order_id)?
        {
            // Protected as soon as the service is between requests, whatever the time.
            self.unprotected.insert(row.strategy);
        }
        if !filled.is_zero() {
            tracing::info!(
                "{} {} {} {}: filled {filled} (total {} at {})",
                order.client_order_id,
                order.side.as_str(),
                order.symbol,
                order.status.as_str(),
                filled_qty,
                avg_price.unwrap_or_default()
            );
        }
        Ok(())
    }

    /// Applies every stream event waiting.
    pub(super) fn drain_events(&mut self) -> Result<(), ServiceError> {
        while let Ok(event) = self.events.try_recv() {
            self.on_event(event)?;
        }
        Ok(())
    }

    pub(super) fn on_event(&mut self, event: StreamEvent) -> Result<(), ServiceError> {
        match event {
            StreamEvent::Connected => {
                // Events sent while the stream was down are lost: look every open order up.
                tracing::info!("trade_updates stream connected; the open orders are looked up");
                self.open_check_due = true;
            }
            StreamEvent::Update(update) => {
                let cid = &update.order.client_order_id;
                // An oco's update without its legs (Alpaca streams each leg as an order of its
                // own, under an id it made up) cannot say whether its stop-loss leg filled: it
                // is looked up by client_order_id, legs included, right after.
                let legless_oco = update.order.legs.is_none()
                    && self.db.protective_request(cid)?.is_some_and(|r| r.order_class.is_some());
                if legless_oco {
                    self.lookups.insert(cid.clone());
                } else if self.db.order(cid)?.is_some() {
                    self.apply_order(&update.order)?;
                }
            }
        }
        Ok(())
    }

    /// Looks every order of ours still open (or in an unknown state) up at the broker and books
    /// what it says, when due: after each (re)connection of the stream, whose events while it
    /// was down are lost, and every `service.open_check_secs` (nautilus'
    /// `open_check_interval_secs`), for an event the broker never delivered. A lookup that
    /// fails is left to the next check.
    pub(super) async fn check_open_orders(&mut self) -> Result<(), ServiceError> {
        let interval = Duration::from_secs_f64(self.config.service.open_check_secs.max(0.1));
        if !self.open_check_due && self.open_checked.elapsed() < interval {
            return Ok(());
        }
        self.open_check_due = false;
        self.open_checked = Instant::now();
        for o in self.db.pending_orders()? {
            if !matches!(o.state, OrderState::Open | OrderState::Unknown) {
                continue;
            }
            match self.client.order_by_client_id(&o.client_order_id).await {
                Ok(Some(found)) => self.apply_order(&found)?,
                Ok(None) => tracing::warn!("{}: open here, unknown to the broker", o.client_order_id),
                Err(e) => {
                    tracing::warn!(
                        "{}: open-order check failed ({e}); the next check retries",
                        o.client_order_id
                    );
                    self.open_check_due = true;
                }
            }
        }
        Ok(())
    }

    /// Sends one stored order intent: checks the kill switch and breakers first, then creates
    /// it; after an unknown outcome it looks the order up by its `client_order_id` and sends
    /// again only if the broker has never seen it.
    pub(super) async fn submit(&mut self, order: &OrderRow) -> Result<(), ServiceError> {
        let cid = &order.client_order_id;
        let what = format!("{cid}: {} {} {}", order.side.as_str(), order.qty, order.symbol);
        self.checkpoint("submit", &what)?;
        self.watch_safety()?;
        let protective = self.db.protective_request(cid)?;
        // Protective orders only reduce a position: they go out while halted or tripped too
        // (the REDUCING state), so no position is ever left without its stop.
        if protective.is_none()
            && let Some(reason) = safety::stopped(&self.switch, &self.db)?
        {
            tracing::warn!("{what} not sent: {reason}");
            self.db.set_order_state(cid, OrderState::NotSent, None, &reason, self.now_ns())?;
            return Ok(());
        }
        if order.side == OrderSide::Sell {
            // Long only: never sell more than the strategy holds now (reconciliation may have
            // closed shares locally since the order was planned).
            let held =
                self.db.strategy_positions(&order.strategy)?.into_iter().find(|p| p.symbol == order.symbol);
            let held = held.map_or(Decimal::ZERO, |p| p.qty);
            let proposed = Proposed {
                symbol: &order.symbol,
                side: OrderSide::Sell,
                qty: order.qty,
                price: Decimal::ZERO,
            };
            let budget = Budget { held, ..Budget::default() };
            if let Err(refusal) = guard::check(&proposed, &budget) {
                tracing::error!("{what} refused: {refusal}");
                self.db.set_order_state(
                    cid,
                    OrderState::Rejected,
                    None,
                    &refusal.to_string(),
                    self.now_ns(),
                )?;
                return Ok(());
            }
        }
        let request = match protective {
            Some(protective) => protective,
            None => {
                // Outside the session (or too near its close) Alpaca would queue the order
                // for the next open: never send one.
                if let Some(why) = self.market_closed().await? {
                    tracing::warn!("{what} not sent: {why}");
                    self.db.set_order_state(cid, OrderState::NotSent, None, &why, self.now_ns())?;
                    return Ok(());
                }
                OrderRequest::market(&order.symbol, order.qty, order.side, cid)
            }
        };
        let mut resends = 0;
        loop {
            let error = match self.client.create_order(&request).await {
                Ok(placed) => {
                    tracing::info!("{what}: sent, {}", placed.status.as_str());
                    safety::note_success(&self.db)?;
                    return self.apply_order(&placed);
                }
                Err(e) => e,
            };
            if error.is_reused_client_order_id() || error.outcome_unknown() {
                tracing::warn!("{what}: {error}; looking it up by client_order_id");
                self.db.set_order_state(cid, OrderState::Unknown, None, &error.to_string(), self.now_ns())?;
                if !error.is_reused_client_order_id() {
                    safety::note_error(&self.db, &self.config.risk, &error.to_string(), self.now_ns())?;
                    self.watch_safety()?;
                }
                match self.client.order_by_client_id(cid).await {
                    Ok(Some(found)) => return self.apply_order(&found),
                    Ok(None) if resends < RESENDS => {
                        resends += 1;
                        tracing::warn!(
                            "{what}: the broker never received it; sending again with the same id"
                        );
                        continue;
                    }
                    Ok(None) => {
                        let why = format!("not accepted after {} attempts: {error}", RESENDS + 1);
                        self.db.set_order_state(cid, OrderState::NotSent, None, &why, self.now_ns())?;
                        return Ok(());
                    }
                    Err(lookup) => {
                        // Stays unknown: reconciliation resolves it before anything else trades.
                        tracing::error!("{what}: lookup failed ({lookup}); the order stays unknown");
                        self.reconciled = Err(format!("order {cid} in an unknown state"));
                        return Ok(());
                    }
                }
            }
            if request.protection().is_some() && error.is_stop_crossed() {
                // Not an error of the bridge's: the price fell through the stop before it could
                // rest. [`Bridge::protect`] sells at the market instead, as the stop would have.
                tracing::warn!("{what}: {error}");
                let detail = format!("{STOP_CROSSED}: {error}");
                self.db.set_order_state(cid, OrderState::Rejected, None, &detail, self.now_ns())?;
                return Ok(());
            }
            tracing::error!("{what}: rejected: {error}");
            safety::note_error(&self.db, &self.config.risk, &error.to_string(), self.now_ns())?;
            self.watch_safety()?;
            self.db.set_order_state(cid, OrderState::Rejected, None, &error.to_string(), self.now_ns())?;
            return Ok(());
        }
    }

    /// Follows `client_order_ids` until none is open or unknown, or `timeout` passes: stream
    /// events first, polling the broker as the fallback.
    pub(super) async fn wait_terminal(
        &mut self,
        client_order_ids: &[String],
        timeout: Duration,
    ) -> Result<bool, ServiceError> {
        let deadline = Instant::now() + timeout;
        let poll = Duration::from_secs_f64(self.config.service.poll_secs.max(0.01));
        loop {
            self.drain_events()?;
            let mut open = Vec::new();
            for cid in client_order_ids {
                if let Some(o) = self.db.order(cid)?
                    && matches!(o.state, OrderState::Open | OrderState::Unknown)
                {
                    open.push(o);
                }
            }
            if open.is_empty() {
                return Ok(true);
            }
            if self.stopping() {
                return Ok(false);
            }
            if Instant::now() >= deadline {
                tracing::warn!("{} order(s) still open after {timeout:?}", open.len());
                return Ok(false);
            }
            let wait = poll.min(deadline - Instant::now());
            let event = tokio::time::timeout(wait, self.events.recv()).await;
            if let Ok(Some(event)) = event {
                self.on_event(event)?;
                continue;
            }
            for o in open {
                match self.client.order_by_client_id(&o.client_order_id).await {
                    Ok(Some(found)) => self.apply_order(&found)?,
                    Ok(None) => tracing::warn!("{}: unknown to the broker", o.client_order_id),
                    Err(e) => tracing::warn!("{}: poll failed: {e}", o.client_order_id),
                }
            }
        }
    }
}
