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

use datasets::calendar;
use rust_decimal::Decimal;

use super::{Bridge, ServiceError};
use crate::alpaca::model::OrderSide;
use crate::config::Mode;
use crate::db::{MANUAL, OrderRow, OrderState, PROTECTIVE_SLOT};
use crate::schedule::slot_time;

/// `state` key: the account `live.db` belongs to, `MODE ACCOUNT_ID`.
pub const BOUND_ACCOUNT: &str = "bound_account";

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
        self.bind_account(&account.id).map_err(|e| e.to_string())??;
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

    /// Checks that the broker's account `id` (in this mode) is the one `live.db` was bound to
    /// at its first reconciliation, binding it now if none was: a paper run pointed at the
    /// production data directory (or keys of another account) must never reconcile one
    /// account's books against another. `Ok(Err(why))` on a mismatch.
    pub(super) fn bind_account(&self, id: &str) -> Result<Result<(), String>, ServiceError> {
        let mode = self.config.alpaca.mode.unwrap_or(Mode::Paper).as_str();
        let here = format!("{mode} {id}");
        match self.db.state(BOUND_ACCOUNT)? {
            None => {
                tracing::info!("live.db bound to the {here} account");
                self.db.set_state(BOUND_ACCOUNT, &here)?;
                Ok(Ok(()))
            }
            Some(bound) if bound == here => Ok(Ok(())),
            Some(bound) => Ok(Err(format!(
                "{} is bound to the {bound} account but the broker answers as the {here} account: refusing to trade (use one data_dir per account)",
                self.config.service.data_dir.join("live.db").display()
            ))),
        }
    }

    /// At start: refuses to run at all when the broker's account is not the bound one (an
    /// unreachable broker is left to reconciliation, which fails closed and retries).
    pub(super) async fn check_binding(&self) -> Result<(), ServiceError> {
        match self.client.account().await {
            Ok(account) => self.bind_account(&account.id)?.map_err(ServiceError::AccountMismatch),
            Err(e) => {
                tracing::warn!("account unavailable at start ({e}); reconciliation checks the binding");
                Ok(())
            }
        }
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
            None => {
                let why = match self.stale(o) {
                    _ if o.state != OrderState::Intent => {
                        "the broker has no such order: it was never sent".into()
                    }
                    None => return Ok(()),
                    Some(why) => why,
                };
                tracing::warn!("order {}: {why}", o.client_order_id);
                self.db
                    .set_order_state(&o.client_order_id, OrderState::NotSent, None, &why, self.now_ns())
                    .map_err(|e| e.to_string())
            }
        }
    }

    /// Why an unsent intent may no longer be sent when its run resumes, if it may not:
    /// protective orders are always resent (the position needs them); exits only in the
    /// session they were planned in (a stranded one would block its position's protection
    /// forever); entries only within the resume grace after the run's time.
    fn stale(&self, o: &OrderRow) -> Option<String> {
        if o.slot.ends_with(PROTECTIVE_SLOT) {
            return None;
        }
        let Some(planned) = slot_time(&o.slot) else {
            return Some(format!("expired: its slot `{}` is not a run time", o.slot));
        };
        if o.side == OrderSide::Sell {
            let (then, today) = (calendar::session_date(planned), calendar::session_date(self.clock.now()));
            return (then != today).then(|| {
                format!("expired: an exit planned on {then} and never sent (a later run decides again; the position keeps its protection)")
            });
        }
        let grace = self.config.service.resume_grace_minutes * 60_000_000_000;
        (self.now_ns() - planned.0 > grace).then(|| {
            format!(
                "expired: an entry of {} not sent within the resume grace of {} minutes",
                o.slot, self.config.service.resume_grace_minutes
            )
        })
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
