//! Positions left by demotion: a strategy taken out of the promoted set still holds shares in
//! `live.db` and at the broker, and nothing would ever sell or protect them. Each is handed to
//! the owner `[handover]` names for its strategy (a promoted strategy, which protects it with its
//! own exits, or `manual`), or else sold at market in the next open session — its protective
//! orders canceled first, never while halted or outside the session. Each step is alerted.

use ops::alert::Alert;

use super::{Bridge, ServiceError, run};
use crate::alpaca::model::OrderSide;
use crate::db::{MANUAL, PROTECTIVE_SLOT, PositionRow};
use crate::safety;
use crate::schedule::slot_name;

impl Bridge {
    /// Hands over or sells every position whose strategy is no longer registered (reconciled
    /// only: the books must be the broker's first).
    pub(super) async fn settle_orphans(&mut self) -> Result<(), ServiceError> {
        if self.reconciled.is_err() {
            return Ok(());
        }
        let registered = |id: &str| self.strategies.iter().any(|r| r.strategy.id == id);
        let orphans: Vec<PositionRow> = self
            .db
            .positions()?
            .into_iter()
            .filter(|p| p.strategy != MANUAL && !registered(&p.strategy))
            .collect();
        for p in orphans {
            match self.config.handover.get(&p.strategy).cloned() {
                Some(owner) => self.hand_over(&p, &owner).await?,
                None => self.exit_orphan(&p).await?,
            }
        }
        Ok(())
    }

    /// Moves an orphan to `owner` after canceling the demoted strategy's protective orders on
    /// it (the new owner places its own; `manual` positions are the operator's).
    async fn hand_over(&mut self, p: &PositionRow, owner: &str) -> Result<(), ServiceError> {
        if owner != MANUAL && !self.strategies.iter().any(|r| r.strategy.id == owner) {
            let detail = format!(
                "handover.{} = \"{owner}\": no promoted strategy has that id; its {} {} stay with it, unsold",
                p.strategy, p.qty, p.symbol
            );
            tracing::error!("{detail}");
            self.notifier.notify(Alert::reconciliation("handover", &detail).at(self.now_ns()));
            return Ok(());
        }
        for o in self.db.protective_orders(Some(&p.strategy), Some(&p.symbol))? {
            if o.state.is_pending() && !self.cancel_protective(&o).await? {
                // Not confirmed: the next step tries again, the position still protected.
                return Ok(());
            }
        }
        let moved = self.db.hand_over(&p.strategy, &p.symbol, owner, self.now_ns())?;
        if moved.is_zero() {
            return Ok(());
        }
        let detail =
            format!("{moved} {} of demoted strategy {} handed over to {owner}", p.symbol, p.strategy);
        tracing::warn!("{detail}");
        self.notifier.notify(Alert::reconciliation("handover", &detail).at(self.now_ns()));
        if owner != MANUAL {
            self.unprotected.insert(owner.to_string());
        }
        Ok(())
    }

    /// Sells an orphan at market, once at a time, when orders may be sent.
    async fn exit_orphan(&mut self, p: &PositionRow) -> Result<(), ServiceError> {
        let selling =
            self.db.symbol_orders(&p.strategy, &p.symbol)?.into_iter().any(|o| {
                o.side == OrderSide::Sell && o.state.is_pending() && !o.slot.ends_with(PROTECTIVE_SLOT)
            });
        if selling
            || safety::stopped(&self.switch, &self.db)?.is_some()
            || self.market_closed().await?.is_some()
        {
            return Ok(());
        }
        let slot = slot_name(self.clock.now());
        let cid = run::client_order_id(&p.strategy, &slot, &p.symbol, OrderSide::Sell);
        if self.db.order(&cid)?.is_some() {
            return Ok(());
        }
        let sale = run::intent(&p.strategy, &slot, &p.symbol, OrderSide::Sell, p.qty, cid);
        self.db.add_orders(&[], std::slice::from_ref(&sale), self.now_ns())?;
        let detail = format!(
            "{} {} of demoted strategy {} (no [handover] owner): sold at market",
            p.qty, p.symbol, p.strategy
        );
        tracing::warn!("{detail}");
        self.notifier.notify(Alert::reconciliation("demoted", &detail).at(self.now_ns()));
        if let Some(sale) = self.release(&sale).await? {
            self.submit(&sale).await?;
        }
        Ok(())
    }
}
