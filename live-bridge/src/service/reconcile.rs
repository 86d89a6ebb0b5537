//! Start-up (and PRE_MARKET) reconciliation with the broker, failing closed.
//!
//! In order: the account must be active and configured as a cash account (no shorting,
//! multiplier 1); every order the database holds in a pending state is looked up by its
//! `client_order_id` and its fills applied (an intent the broker never saw stays resumable
//! only while its run may still send it); the broker's recent orders with our `tb-` prefix that
//! `live.db` does not follow (a database restored from a backup, an order recorded as never
//! sent) are taken back as the strategy's own, never sent again; then positions are compared
//! symbol by symbol — the broker's extra shares are adopted under [`MANUAL`], local shares the
//! broker lacks are closed locally, but only where the difference persists across two reads
//! with the pending orders looked up again in between (a fill landing between the order
//! lookups and the positions read is booked as the fill it is). Any failure leaves the service
//! reconciled = false: it does not trade, and says why.

use std::collections::BTreeMap;

use datasets::calendar;
use ops::alert::Alert;
use rust_decimal::Decimal;

use super::{Bridge, ServiceError};
use crate::alpaca::model::{Order, OrderRequest, OrderSide, Protection};
use crate::config::Mode;
use crate::db::{MANUAL, OrderRow, OrderState, PROTECTIVE_SLOT};
use crate::schedule::slot_time;

/// `state` key: the account `live.db` belongs to, `MODE ACCOUNT_ID`.
pub const BOUND_ACCOUNT: &str = "bound_account";

/// How many of the broker's most recent orders reconciliation searches for ours.
const RECENT_ORDERS: u32 = 500;

/// One symbol on which the broker and `live.db` disagree.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Mismatch {
    /// The broker holds `extra` more shares than the books, bought at `avg` on average.
    Extra { extra: Decimal, avg: Decimal },
    /// The books hold `excess` more shares than the broker.
    Missing { excess: Decimal },
    /// The broker holds `new` shares for every `old` share the books hold, at the same total
    /// cost: the stock split.
    Split { new: Decimal, old: Decimal },
}

/// The split, as `(new, old)` shares, that turns `ours` shares costing `cost` into the broker's
/// `theirs` shares costing `their_cost`, if that is what happened: the total cost unchanged
/// (within 0.5 %; a purchase or a sale changes it) and a ratio of small whole numbers (2-for-1,
/// 1-for-10, 3-for-2).
fn split_ratio(
    ours: Decimal,
    cost: Decimal,
    theirs: Decimal,
    their_cost: Decimal,
) -> Option<(Decimal, Decimal)> {
    if ours <= Decimal::ZERO || theirs <= Decimal::ZERO || ours == theirs || cost <= Decimal::ZERO {
        return None;
    }
    if (their_cost - cost).abs() > cost * Decimal::new(5, 3) {
        return None;
    }
    (1..=50i64).map(Decimal::from).find_map(|old| {
        let new = theirs * old / ours;
        (new.fract().is_zero() && new <= Decimal::from(500)).then_some((new, old))
    })
}

/// What one of our `client_order_id`s says about its order, read back for a known strategy:
/// the run slot, the symbol, the side, and whether it is a protective order.
#[derive(Clone, Debug, PartialEq, Eq)]
struct OurOrder {
    slot: String,
    symbol: String,
    side: OrderSide,
    protective: bool,
}

/// Reads `cid` back as an order of `strategy` (the inverse of [`super::client_order_id`] and
/// [`super::protective_order_id`]); `None` when `strategy` did not make it.
fn our_order(strategy: &str, cid: &str) -> Option<OurOrder> {
    let rest = match cid.strip_prefix(&format!("tb-{strategy}-")) {
        Some(rest) => rest,
        // A long strategy id is cut and hashed: `tb-{cut}~{hash:08x}-{rest}`.
        None => cid.get(cid.find('~')? + "~12345678-".len()..)?,
    };
    if super::run::bounded_order_id(strategy, rest) != cid {
        return None;
    }
    let mut parts = rest.rsplitn(3, '-');
    let (kind, symbol, compact) = (parts.next()?, parts.next()?, parts.next()?);
    let entry_slot = match compact.len() {
        0 => "adopted".to_string(),
        12 if compact.bytes().all(|b| b.is_ascii_digit()) => {
            let c = compact;
            format!("{}-{}-{}T{}:{}", &c[..4], &c[4..6], &c[6..8], &c[8..10], &c[10..])
        }
        _ => return None,
    };
    let (side, protective) = match kind {
        "b" => (OrderSide::Buy, false),
        "s" => (OrderSide::Sell, false),
        p if p.strip_prefix('p').is_some_and(|n| n.parse::<u32>().is_ok()) => (OrderSide::Sell, true),
        _ => return None,
    };
    let slot = if protective { format!("{entry_slot}{PROTECTIVE_SLOT}") } else { entry_slot };
    Some(OurOrder { slot, symbol: symbol.to_string(), side, protective })
}

/// The protective request a broker order carries, if it is one (stop, limit, oco, trailing).
fn protection_of(order: &Order) -> Option<Protection> {
    match (order.order_class.as_str(), order.order_type.as_str()) {
        ("oco", _) => Some(Protection::Oco {
            stop: order.legs.iter().flatten().find_map(|l| l.stop_price)?,
            limit: order.limit_price?,
        }),
        (_, "stop") => Some(Protection::Stop { stop: order.stop_price? }),
        (_, "limit") => Some(Protection::Limit { limit: order.limit_price? }),
        (_, "trailing_stop") => Some(Protection::Trailing { percent: order.trail_percent? }),
        _ => None,
    }
}

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
        self.resolve_pending().await?;
        self.recover_ours().await?;
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

    /// Settles every pending order against the broker.
    async fn resolve_pending(&mut self) -> Result<(), String> {
        for o in self.db.pending_orders().map_err(|e| e.to_string())? {
            self.resolve_order(&o).await?;
        }
        Ok(())
    }

    /// Takes back the broker's recent orders with our prefix that `live.db` does not follow: an
    /// order it has no row for (a database restored from an older backup) is recorded as its
    /// strategy's, with its fills, so its shares are never adopted as manual and it is never
    /// sent again (a resumed run finds the row; a resend would meet the broker's duplicate-id
    /// refusal and be looked up); an order recorded as finished that the broker has filled
    /// further or still works is brought up to the broker's state.
    async fn recover_ours(&mut self) -> Result<(), String> {
        let recent = self.client.recent_orders(RECENT_ORDERS).await.map_err(|e| e.to_string())?;
        // Oldest first, as they happened: an entry is booked before the sale that closed it.
        for order in recent.iter().rev().filter(|o| o.client_order_id.starts_with("tb-")) {
            let cid = &order.client_order_id;
            match self.db.order(cid).map_err(|e| e.to_string())? {
                Some(row) if row.state.is_pending() => {}
                Some(row) => {
                    let (filled, _) = order.filled_with_legs();
                    if filled > row.filled_qty || !order.is_done_with_legs() {
                        tracing::warn!(
                            "order {cid}: recorded {} with {} filled, but the broker has it {} with {filled}: booking the broker's",
                            row.state.as_str(),
                            row.filled_qty,
                            order.status.as_str()
                        );
                        self.apply_order(order).map_err(|e| e.to_string())?;
                    }
                }
                None => self.recover(order).map_err(|e| e.to_string())?,
            }
        }
        Ok(())
    }

    /// Records an order of ours that `live.db` has no row for, then applies its fills.
    fn recover(&mut self, order: &Order) -> Result<(), ServiceError> {
        let cid = &order.client_order_id;
        let found = self.strategies.iter().find_map(|r| {
            let ours = our_order(&r.strategy.id, cid)?;
            Some((r.strategy.id.clone(), ours))
        });
        let Some((strategy, ours)) = found.filter(|(_, o)| o.symbol == order.symbol && o.side == order.side)
        else {
            tracing::warn!("order {cid} has our prefix but no registered strategy made it: left alone");
            return Ok(());
        };
        tracing::warn!(
            "order {cid} ({} {} {}, {}) is at the broker but not in live.db: recovered as {strategy}'s",
            order.side.as_str(),
            order.qty.unwrap_or_default(),
            order.symbol,
            order.status.as_str()
        );
        let row = OrderRow {
            client_order_id: cid.clone(),
            strategy,
            slot: ours.slot,
            symbol: order.symbol.clone(),
            side: order.side,
            qty: order.qty.unwrap_or_default(),
            state: OrderState::Unknown,
            broker_id: Some(order.id.clone()),
            filled_qty: Decimal::ZERO,
            filled_notional: Decimal::ZERO,
            detail: "recovered from the broker at reconciliation".into(),
        };
        let now = self.now_ns();
        match protection_of(order).filter(|_| ours.protective) {
            Some(p) => {
                self.db.add_protective(&row, &OrderRequest::protective(&row.symbol, row.qty, p, cid), now)?
            }
            None => self.db.add_orders(&[], std::slice::from_ref(&row), now)?,
        }
        self.apply_order(order)
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

    /// Books a split of `symbol` (`new` shares for every `old` one): every holder's quantity
    /// scaled at the same cost, and the symbol's protective orders — placed for the old
    /// quantity at the old prices — canceled, so that [`Bridge::protect`] places them again
    /// from the adjusted entry price. Returns what was done, for the alert.
    async fn apply_split(
        &mut self,
        symbol: &str,
        (new, old): (Decimal, Decimal),
        local: &[crate::db::PositionRow],
    ) -> Result<String, String> {
        let now = self.now_ns();
        let holders: Vec<_> = local.iter().filter(|p| p.symbol == symbol && !p.qty.is_zero()).collect();
        let mut changes = Vec::new();
        for p in &holders {
            let qty = p.qty * new / old;
            self.db.set_position(&p.strategy, symbol, qty, p.cost, now).map_err(|e| e.to_string())?;
            changes.push(format!("{} {} → {qty}", p.strategy, p.qty));
        }
        let line = format!("{symbol} split {new}-for-{old} at the broker: {}", changes.join(", "));
        tracing::warn!("{line}");
        for o in self.db.protective_orders(None, Some(symbol)).map_err(|e| e.to_string())? {
            if !o.state.is_pending() {
                continue;
            }
            if let Some(id) = &o.broker_id
                && let Err(e) = self.client.cancel_order(id).await
            {
                tracing::info!("{}: cancel after the split: {e}", o.client_order_id);
            }
            match self.client.order_by_client_id(&o.client_order_id).await.map_err(|e| e.to_string())? {
                Some(order) => self.apply_order(&order).map_err(|e| e.to_string())?,
                None => self
                    .db
                    .set_order_state(&o.client_order_id, OrderState::NotSent, None, "before a split", now)
                    .map_err(|e| e.to_string())?,
            }
        }
        Ok(line)
    }

    /// The symbols on which the broker's positions and the books disagree now.
    async fn position_mismatches(&self) -> Result<BTreeMap<String, Mismatch>, String> {
        let broker = self.client.positions().await.map_err(|e| e.to_string())?;
        let mut held: BTreeMap<String, (Decimal, Decimal)> = BTreeMap::new();
        for p in self.db.positions().map_err(|e| e.to_string())? {
            let h = held.entry(p.symbol).or_default();
            (h.0, h.1) = (h.0 + p.qty, h.1 + p.cost);
        }
        let mut out = BTreeMap::new();
        for p in &broker {
            if p.qty.is_sign_negative() {
                return Err(format!(
                    "the broker holds a short position of {} {}: close it by hand",
                    p.qty, p.symbol
                ));
            }
            let (ours, cost) = held.remove(&p.symbol).unwrap_or_default();
            if let Some((new, old)) = split_ratio(ours, cost, p.qty, p.qty * p.avg_entry_price) {
                out.insert(p.symbol.clone(), Mismatch::Split { new, old });
            } else if p.qty > ours {
                out.insert(p.symbol.clone(), Mismatch::Extra { extra: p.qty - ours, avg: p.avg_entry_price });
            } else if p.qty < ours {
                out.insert(p.symbol.clone(), Mismatch::Missing { excess: ours - p.qty });
            }
        }
        let gone = held.into_iter().filter(|(_, (q, _))| *q > Decimal::ZERO);
        out.extend(gone.map(|(s, (excess, _))| (s, Mismatch::Missing { excess })));
        Ok(out)
    }

    /// Compares positions and corrects the books where they differ from the broker's twice in
    /// a row: a first difference is read again after the pending orders were looked up again
    /// (nautilus' `position_check_threshold_ms`), so a stop or an entry that filled between the
    /// order lookups and the positions read is booked as its fill, not closed locally or
    /// adopted as manual. The second read's figures are the ones acted on, and every
    /// correction is alerted (`reconciliation`, key `positions`).
    async fn reconcile_positions(&mut self) -> Result<(), String> {
        let first = self.position_mismatches().await?;
        if first.is_empty() {
            return Ok(());
        }
        tracing::info!(
            "positions differ from the broker's on {:?}: looking again",
            first.keys().collect::<Vec<_>>()
        );
        self.resolve_pending().await?;
        let second = self.position_mismatches().await?;
        let now = self.now_ns();
        let local = self.db.positions().map_err(|e| e.to_string())?;
        let mut corrected = Vec::new();
        for (symbol, mismatch) in second {
            if !first.contains_key(&symbol) {
                tracing::info!("{symbol}: differs only on the second read; left to the next reconciliation");
                continue;
            }
            match mismatch {
                Mismatch::Extra { extra, avg } => {
                    let manual = local.iter().find(|p| p.strategy == MANUAL && p.symbol == symbol);
                    let (q, c) = manual.map_or((Decimal::ZERO, Decimal::ZERO), |p| (p.qty, p.cost));
                    let line = format!(
                        "adopted {extra} {symbol} held at the broker but unknown here (marked manual)"
                    );
                    tracing::warn!("{line}");
                    corrected.push(line);
                    self.db
                        .set_position(MANUAL, &symbol, q + extra, c + extra * avg, now)
                        .map_err(|e| e.to_string())?;
                }
                Mismatch::Split { new, old } => {
                    let line = self.apply_split(&symbol, (new, old), &local).await?;
                    self.notifier.notify(Alert::reconciliation("split", &line).at(now));
                }
                Mismatch::Missing { mut excess } => {
                    // Manual shares go first, then the strategies' in the database's order.
                    let mut holders: Vec<_> = local.iter().filter(|p| p.symbol == symbol).collect();
                    holders.sort_by_key(|p| p.strategy != MANUAL);
                    for p in holders {
                        let cut = excess.min(p.qty);
                        let left = p.qty - cut;
                        let cost = if p.qty.is_zero() { Decimal::ZERO } else { p.cost * left / p.qty };
                        let line = format!(
                            "closed {cut} {symbol} of {} locally: the broker no longer holds them",
                            p.strategy
                        );
                        tracing::warn!("{line}");
                        corrected.push(line);
                        self.db
                            .set_position(&p.strategy, &symbol, left, cost, now)
                            .map_err(|e| e.to_string())?;
                        excess -= cut;
                        if excess.is_zero() {
                            break;
                        }
                    }
                }
            }
        }
        if !corrected.is_empty() {
            let detail = corrected.join("; ");
            self.notifier.notify(Alert::reconciliation("positions", &detail).at(now));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_order_ids_read_back_to_their_strategy_slot_and_side() {
        let id = super::super::client_order_id("gap_fill", "2025-12-30T15:00", "SPY", OrderSide::Buy);
        let ours = our_order("gap_fill", &id).unwrap();
        assert_eq!(
            ours,
            OurOrder {
                slot: "2025-12-30T15:00".into(),
                symbol: "SPY".into(),
                side: OrderSide::Buy,
                protective: false
            }
        );
        assert_eq!(our_order("gap", &id), None, "another strategy's prefix");
        let stop = super::super::protective_order_id("gap_fill", "adopted", "SPY", 2);
        let ours = our_order("gap_fill", &stop).unwrap();
        assert_eq!((ours.slot.as_str(), ours.protective), ("adopted+protect", true));
        let long = "a_very_long_strategy_identifier_from_the_promoted_set";
        let id = super::super::client_order_id(long, "2025-12-30T15:00", "BRK.B", OrderSide::Sell);
        assert!(id.len() <= 48);
        let ours = our_order(long, &id).unwrap();
        assert_eq!((ours.symbol.as_str(), ours.side), ("BRK.B", OrderSide::Sell));
        assert_eq!(our_order("a_very_long_strategy_identifier_from_the_promoted", &id), None);
    }

    #[test]
    fn a_split_keeps_the_total_cost_at_a_ratio_of_small_numbers() {
        let d = Decimal::from;
        assert_eq!(split_ratio(d(10), d(2000), d(20), d(2000)), Some((d(2), d(1))));
        assert_eq!(split_ratio(d(30), d(3000), d(10), d(3001)), Some((d(1), d(3))));
        assert_eq!(split_ratio(d(10), d(1000), d(15), d(1000)), Some((d(3), d(2))));
        assert_eq!(split_ratio(d(10), d(1000), d(20), d(2000)), None, "bought as many again");
        assert_eq!(split_ratio(d(10), d(1000), d(5), d(500)), None, "sold half");
        assert_eq!(split_ratio(d(10), d(1000), d(10), d(1000)), None);
    }
}
