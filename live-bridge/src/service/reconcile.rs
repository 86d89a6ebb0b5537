//! Start-up (and PRE_MARKET) reconciliation with the broker, failing closed.
//!
//! In order: the account must be active and configured as a cash account (no shorting,
//! multiplier 1); every order the database holds in a pending state is looked up by its
//! `client_order_id` and its fills applied (an intent the broker never saw stays resumable
//! only while its run may still send it); then positions are compared symbol by symbol — the
//! broker's extra shares are adopted under [`MANUAL`], local shares the broker lacks are
//! closed locally. Any failure leaves the service reconciled = false: it does not trade, and
//! says why.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::{Bridge, ServiceError};
use crate::alpaca::model::OrderSide;
use crate::db::{MANUAL, OrderRow, OrderState};
use crate::schedule::slot_time;

impl Bridge {
    /// Reconciles and records the outcome in `self.reconciled`.
    pub(super) async fn reconcile(&mut self) -> Result<(), ServiceError> {
        self.checkpoint("reconcile", "start")?;
        self.reconciled_at = Some(self.clock.now());
        let outcome = self.try_reconcile().await;
        match &outcome {
            Ok(()) => {
                tracing::info!("reconciled with the broker");
                self.checkpoint("reconcile", "ok")?;
            }
            Err(reason) => {
                tracing::error!("reconciliation failed, not trading: {reason}");
                self.alert_reconciliation(reason);
                self.checkpoint("reconcile", &format!("failed: {reason}"))?;
            }
        }
        self.db.set_state("reconcile", outcome.as_ref().err().map_or("ok", String::as_str))?;
        self.db.set_state(crate::status::RECONCILED_AT, &self.now_ns().to_string())?;
        let ok = outcome.is_ok();
        self.reconciled = outcome;
        if ok {
            // Positions whose protective order is missing (never sent, canceled, expired) get it.
            for idx in 0..self.strategies.len() {
                self.protect(idx).await?;
            }
        }
        Ok(())
    }

    async fn try_reconcile(&mut self) -> Result<(), String> {
        let config = self.client.enforce_cash_account().await.map_err(|e| e.to_string())?;
        if !config.no_shorting || config.max_margin_multiplier.trim() != "1" {
            return Err(format!(
                "the account configuration is not a cash account after the update (no_shorting {}, max_margin_multiplier {})",
                config.no_shorting, config.max_margin_multiplier
            ));
        }
        let account = self.client.account().await.map_err(|e| e.to_string())?;
        if account.status != "ACTIVE" || account.trading_blocked || account.account_blocked {
            return Err(format!("the account cannot trade (status {})", account.status));
        }
        for o in self.db.pending_orders().map_err(|e| e.to_string())? {
            self.resolve_order(&o).await?;
        }
        self.reconcile_positions().await?;
        for r in &self.strategies {
            let cash =
                (account.equity * Decimal::try_from(r.strategy.allocation).unwrap_or_default()).round_dp(2);
            let have = self
                .db
                .ensure_sleeve(&r.strategy.id, r.strategy.allocation, cash)
                .map_err(|e| e.to_string())?;
            tracing::debug!("{}: cash {have}", r.strategy.id);
        }
        Ok(())
    }

    /// Settles one pending order against the broker.
    async fn resolve_order(&mut self, o: &OrderRow) -> Result<(), String> {
        let found =
            self.client.order_by_client_id(&o.client_order_id).await.map_err(|e| {
                format!("cannot resolve order {} ({}): {e}", o.client_order_id, o.state.as_str())
            })?;
        match found {
            Some(order) => {
                tracing::info!("order {}: the broker has it ({})", o.client_order_id, order.status.as_str());
                self.apply_order(&order).map_err(|e| e.to_string())
            }
            None if o.state == OrderState::Intent && self.resumable(o) => Ok(()),
            None => {
                let why = "the broker has no such order: it was never sent";
                tracing::warn!("order {}: {why}", o.client_order_id);
                self.db
                    .set_order_state(&o.client_order_id, OrderState::NotSent, None, why, self.now_ns())
                    .map_err(|e| e.to_string())
            }
        }
    }

    /// Whether an unsent intent may still be sent when its run resumes: exits always, entries
    /// within the resume grace after the run's time.
    fn resumable(&self, o: &OrderRow) -> bool {
        if o.side == OrderSide::Sell {
            return true;
        }
        let grace = self.config.service.resume_grace_minutes * 60_000_000_000;
        slot_time(&o.slot).is_some_and(|t| self.now_ns() - t.0 <= grace)
    }

    async fn reconcile_positions(&mut self) -> Result<(), String> {
        let broker: BTreeMap<String, (Decimal, Decimal)> = self
            .client
            .positions()
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|p| (p.symbol.clone(), (p.qty, p.avg_entry_price)))
            .collect();
        let local = self.db.positions().map_err(|e| e.to_string())?;
        let mut held: BTreeMap<String, Decimal> = BTreeMap::new();
        for p in &local {
            *held.entry(p.symbol.clone()).or_default() += p.qty;
        }
        let now = self.now_ns();
        for (symbol, &(qty, avg)) in &broker {
            if qty.is_sign_negative() {
                return Err(format!("the broker holds a short position of {qty} {symbol}: close it by hand"));
            }
            let ours = held.get(symbol).copied().unwrap_or_default();
            if qty > ours {
                let extra = qty - ours;
                let manual = local.iter().find(|p| p.strategy == MANUAL && &p.symbol == symbol);
                let (q, c) = manual.map_or((Decimal::ZERO, Decimal::ZERO), |p| (p.qty, p.cost));
                tracing::warn!(
                    "adopting {extra} {symbol} held at the broker but unknown here (marked manual)"
                );
                self.db
                    .set_position(MANUAL, symbol, q + extra, c + extra * avg, now)
                    .map_err(|e| e.to_string())?;
            }
        }
        for (symbol, ours) in held {
            let theirs = broker.get(&symbol).map_or(Decimal::ZERO, |b| b.0);
            let mut excess = ours - theirs;
            if excess <= Decimal::ZERO {
                continue;
            }
            // Manual shares go first, then the strategies' in the database's order.
            let mut holders: Vec<_> = local.iter().filter(|p| p.symbol == symbol).collect();
            holders.sort_by_key(|p| p.strategy != MANUAL);
            for p in holders {
                let cut = excess.min(p.qty);
                let left = p.qty - cut;
                let cost = if p.qty.is_zero() { Decimal::ZERO } else { p.cost * left / p.qty };
                tracing::warn!(
                    "closing {cut} {symbol} of {} locally: the broker no longer holds them",
                    p.strategy
                );
                self.db.set_position(&p.strategy, &symbol, left, cost, now).map_err(|e| e.to_string())?;
                excess -= cut;
                if excess.is_zero() {
                    break;
                }
            }
        }
        Ok(())
    }
}
