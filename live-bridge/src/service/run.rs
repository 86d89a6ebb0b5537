//! One run of one strategy: signals → target positions → orders.
//!
//! Planning reads the bars up to the bar that just completed, computes the strategy's signals
//! and keeps those of that last bar (the kernel fills them at the next bar's open; the bridge
//! sends them now). It stores the run, every signal (and what the strategy observed beside them,
//! e.g. `gap_fill`'s gap candidates)
//! and the exit orders in one transaction. Execution then sends the exits, waits for their
//! fills, and sizes each entry with the kernel's own rule ([`kernel::sim::entry_quantity`]:
//! one slot of the strategy's equity at the signal bar's close, capped by its cash, at the
//! signal bar's close slipped as a buy), checks the cash-account rules, stores the order and
//! sends it — one at a time, so each entry sees the cash the previous one left, as in the
//! simulator. A resumed run re-executes from the stored rows; nothing is recomputed. A
//! position held `max_bars` bars gets a time-stop exit; any exit first releases the position's
//! protective order ([`Bridge::release`]); new positions get theirs once their entries filled.

use std::time::Duration;

use datasets::{Timeframe, Timestamp, calendar};
use kernel::sim::{Side, Signal, Sizing, TradeRules, entry_quantity};
use kernel::strategy::{MarketData, SignalSet};
use promoted::{PromotedStrategy, Runnable};
use rust_decimal::Decimal;
use rust_decimal::prelude::{FromPrimitive, ToPrimitive};

use super::{Bridge, ServiceError, protect};
use crate::alpaca::model::OrderSide;
use crate::bars::{BarCache, BarsError};
use crate::db::{OrderRow, OrderState, SignalRow};
use crate::guard::{self, Budget, Proposed};
use crate::safety;
use crate::schedule::slot_name;

/// A run's outcome for its row: status and detail.
type Outcome = (&'static str, String);

/// Settled cash a buy leaves room for above its estimated cost (Alpaca reserves 2.5–4 % on
/// market buys itself).
const BUY_RESERVE: Decimal = Decimal::from_parts(4, 0, 0, false, 2);

/// Alpaca's longest `client_order_id`.
pub const MAX_CLIENT_ORDER_ID: usize = 48;

/// `tb-{strategy}-{rest}`, at most [`MAX_CLIENT_ORDER_ID`] characters: a strategy id too long
/// for that is cut and followed by `~` and a hash of the whole id, so ids stay deterministic,
/// distinct and recognisably ours (`tb-`).
pub(super) fn bounded_order_id(strategy: &str, rest: &str) -> String {
    let id = format!("tb-{strategy}-{rest}");
    if id.len() <= MAX_CLIENT_ORDER_ID {
        return id;
    }
    let hash = xxhash_rust::xxh3::xxh3_64(strategy.as_bytes()) as u32;
    let room = MAX_CLIENT_ORDER_ID.saturating_sub("tb-~12345678-".len() + rest.len());
    let prefix: String = strategy.chars().filter(char::is_ascii).take(room).collect();
    format!("tb-{prefix}~{hash:08x}-{rest}")
}

/// The deterministic `client_order_id` of a strategy's order at a run slot.
pub fn client_order_id(strategy: &str, slot: &str, symbol: &str, side: OrderSide) -> String {
    let compact: String = slot.chars().filter(char::is_ascii_digit).collect();
    let side = match side {
        OrderSide::Buy => 'b',
        OrderSide::Sell => 's',
    };
    bounded_order_id(strategy, &format!("{compact}-{symbol}-{side}"))
}

fn to_decimal(x: f64) -> Decimal {
    Decimal::from_f64(x).unwrap_or_default()
}

/// The signal rows of the last bar of `signals` on `data`; `price` is the sizing price (the
/// close slipped as a buy) and `fraction` the sizing fraction of `rules` at that bar.
fn last_bar_signals(
    strategy: &PromotedStrategy,
    slot: &str,
    data: &MarketData,
    signals: &SignalSet,
    rules: &TradeRules,
) -> Vec<SignalRow> {
    let t = data.len() - 1;
    let mut rows = Vec::new();
    for leg in &signals.legs {
        let s = &data.symbols()[leg.symbol];
        let (side, strength) = match leg.signals.get(t) {
            Signal::Hold => continue,
            Signal::Enter(x) => ("enter", x.get()),
            Signal::Exit => ("exit", 1.0),
            Signal::EnterShort => ("enter_short", 1.0),
        };
        let bars = &s.bars;
        let price =
            rules.costs.slippage.fill_price(Side::Buy, bars.close()[t], bars.low()[t], bars.high()[t]);
        rows.push(SignalRow {
            strategy: strategy.id.clone(),
            slot: slot.to_string(),
            bar_ns: data.time(t).0,
            symbol: s.meta.symbol.clone(),
            side: side.into(),
            strength,
            price,
            fraction: rules.sizing.fraction(&bars.close()[..=t]),
            action: "pending".into(),
            detail: String::new(),
            client_order_id: None,
        });
    }
    rows
}

/// The rows of what the strategy observed beside its signals on `data`
/// ([`SignalSource::diagnostics`](kernel::strategy::SignalSource::diagnostics), e.g.
/// `gap_fill`'s gap candidates), under the session date of the bar each was observed at.
fn diagnostic_rows(strategy: &PromotedStrategy, runnable: &Runnable, data: &MarketData) -> Vec<SignalRow> {
    let ts = data.timestamps();
    runnable
        .source()
        .diagnostics(data)
        .into_iter()
        .map(|d| SignalRow {
            strategy: strategy.id.clone(),
            slot: calendar::session_date(Timestamp(ts[d.bar])).to_string(),
            bar_ns: ts[d.bar],
            symbol: data.symbols()[d.symbol].meta.symbol.clone(),
            side: d.kind.into(),
            strength: d.strength,
            price: d.price,
            fraction: None,
            action: "candidate".into(),
            detail: d.detail,
            client_order_id: None,
        })
        .collect()
}

impl Bridge {
    /// Runs strategy `idx` for its slot at `t` (or resumes it), recording the outcome.
    pub(super) async fn run_strategy(&mut self, idx: usize, t: Timestamp) -> Result<(), ServiceError> {
        let id = self.strategies[idx].strategy.id.clone();
        let slot = slot_name(t);
        if self.strategies[idx].strategy.timeframe != Timeframe::Day1 {
            // Read the minute's bar once Alpaca has revised it with the minute's late trades.
            let settled = Timestamp(t.0 + self.config.service.bar_settle_secs * 1_000_000_000);
            if !self.wait_until(settled).await? {
                return Ok(());
            }
        }
        self.drain_events()?;
        // A protective order that filled since the last run closed its position.
        self.refresh_protective(Some(&id)).await?;
        let late = self.now_ns() - t.0 > self.config.service.resume_grace_minutes * 60_000_000_000;
        match self.db.run(&id, &slot)? {
            Some(run) if matches!(run.status.as_str(), "planned" | "exits_sent") => {
                tracing::info!("{id} {slot}: resuming an unfinished run");
                return self.execute(idx, &slot, late).await;
            }
            Some(_) => return Ok(()),
            None => {}
        }
        let day = calendar::session_date(t).to_string();
        if late {
            let why = "the service was not running at the run's time";
            self.db.record_run(&id, &slot, &day, "missed", why, self.now_ns())?;
            return Ok(());
        }
        match self.plan(idx, &slot, t).await? {
            Ok(()) => self.execute(idx, &slot, false).await,
            Err((status, detail)) => {
                tracing::warn!("{id} {slot}: {status}: {detail}");
                Ok(self.db.record_run(&id, &slot, &day, status, &detail, self.now_ns())?)
            }
        }
    }

    /// Computes and stores the run's signals and exit orders.
    async fn plan(
        &mut self,
        idx: usize,
        slot: &str,
        t: Timestamp,
    ) -> Result<Result<(), Outcome>, ServiceError> {
        if let Err(reason) = &self.reconciled {
            let reason = reason.clone();
            let due = self.reconciled_at.is_none_or(|at| self.now_ns() - at.0 >= super::RECONCILE_RETRY_NS);
            if due {
                self.reconcile().await?;
            }
            if self.reconciled.is_err() {
                return Ok(Err(("skipped", format!("not reconciled with the broker: {reason}"))));
            }
        }
        let account = match self.client.account().await {
            Ok(a) => a,
            Err(e) => {
                safety::note_error(&self.db, &self.config.risk, &e.to_string(), self.now_ns())?;
                return Ok(Err(("failed", format!("account: {e}"))));
            }
        };
        self.check_breakers(account.equity, account.last_equity)?;
        let strategy = self.strategies[idx].strategy.clone();
        self.checkpoint("data", &format!("{} {slot}", strategy.id))?;
        let now = self.clock.now();
        let (tf, service) = (strategy.timeframe, &self.config.service);
        let start =
            BarCache::history_start(tf, now, service.daily_history_days, service.minute_history_sessions);
        if let Err(e) = self.bars.refresh(&self.client, &strategy.symbols, tf, start, now).await {
            return Ok(Err(("failed", format!("bars: {e}"))));
        }
        let data = match self.bars.market_data(&strategy.symbols, tf, BarCache::last_needed(tf, t)) {
            Ok(d) => d,
            // A minute in which none of its symbols traded: no bar, as in the backtest.
            Err(e @ BarsError::NoTrade { .. }) => return Ok(Err(("skipped", e.to_string()))),
            Err(e) => return Ok(Err(("failed", e.to_string()))),
        };
        let runnable = &self.strategies[idx].runnable;
        let signals = match runnable.signals(&data) {
            Ok(s) => s,
            Err(e) => return Ok(Err(("failed", e.to_string()))),
        };
        let max_positions = runnable.max_positions(&data);
        let mut rows = last_bar_signals(&strategy, slot, &data, &signals, &strategy.rules);
        // The sizing base: the strategy's equity at the signal bar's close over its slots.
        let cash = self.db.sleeve_cash(&strategy.id)?.unwrap_or_default().to_f64().unwrap_or(0.0);
        let last = data.len() - 1;
        let mut held_value = 0.0;
        let positions = self.db.strategy_positions(&strategy.id)?;
        for p in &positions {
            if let Some(i) = data.find(&p.symbol) {
                held_value += p.qty.to_f64().unwrap_or(0.0) * data.symbols()[i].bars.close()[last];
            }
        }
        let legs = signals.legs.len().max(1);
        let slots = max_positions.map_or(legs, |m| m.get().min(legs));
        let base = (cash + held_value) / slots as f64;
        let mut exits = Vec::new();
        for row in &mut rows {
            let held = positions.iter().find(|p| p.symbol == row.symbol).map(|p| p.qty);
            match (row.side.as_str(), held) {
                ("exit", Some(qty)) => {
                    let cid = client_order_id(&strategy.id, slot, &row.symbol, OrderSide::Sell);
                    row.action = "order".into();
                    row.client_order_id = Some(cid.clone());
                    exits.push(intent(&strategy.id, slot, &row.symbol, OrderSide::Sell, qty, cid));
                }
                ("exit", None) => ignore(row, "flat: nothing to sell"),
                ("enter", Some(_)) => ignore(row, "already long"),
                ("enter_short", _) => ignore(row, "short sale refused: cash account"),
                _ => {}
            }
        }
        // The time stop, at the same fill point as the exit signal (which wins when both fire).
        if let Some(max_bars) = strategy.rules.exits.max_bars {
            for p in &positions {
                if rows.iter().any(|r| r.symbol == p.symbol && r.side == "exit") {
                    continue;
                }
                let Some(opened) = self.db.position_opened(&strategy.id, &p.symbol)? else { continue };
                let held = Bridge::bars_held(data.timestamps(), opened);
                if held < max_bars {
                    continue;
                }
                let cid = client_order_id(&strategy.id, slot, &p.symbol, OrderSide::Sell);
                rows.push(SignalRow {
                    strategy: strategy.id.clone(),
                    slot: slot.to_string(),
                    bar_ns: data.time(last).0,
                    symbol: p.symbol.clone(),
                    side: "time_stop".into(),
                    strength: 1.0,
                    price: data.find(&p.symbol).map_or(0.0, |i| data.symbols()[i].bars.close()[last]),
                    fraction: None,
                    action: "order".into(),
                    detail: format!("held {held} bars (max_bars {max_bars})"),
                    client_order_id: Some(cid.clone()),
                });
                exits.push(intent(&strategy.id, slot, &p.symbol, OrderSide::Sell, p.qty, cid));
            }
        }
        rows.extend(diagnostic_rows(&strategy, &self.strategies[idx].runnable, &data));
        let day = calendar::session_date(t).to_string();
        self.checkpoint(
            "plan",
            &format!("{} {slot}: {} signals, {} exits", strategy.id, rows.len(), exits.len()),
        )?;
        self.db.plan_run(
            (&strategy.id, slot, &day),
            (base, max_positions.map(|m| m.get())),
            &rows,
            &exits,
            self.now_ns(),
        )?;
        for r in rows.iter().filter(|r| r.action != "candidate") {
            tracing::info!("{} {slot}: signal {} {} ({})", strategy.id, r.side, r.symbol, r.action);
        }
        Ok(Ok(()))
    }

    /// Sends a planned run's exits, waits for them, then sizes and sends its entries.
    async fn execute(&mut self, idx: usize, slot: &str, late: bool) -> Result<(), ServiceError> {
        let strategy = self.strategies[idx].strategy.clone();
        let id = strategy.id.as_str();
        let orders = self.db.run_orders(id, slot)?;
        let mut exits = Vec::new();
        for o in orders.iter().filter(|o| o.side == OrderSide::Sell) {
            if self.stopping() {
                return self.leave_for_restart(id, slot);
            }
            if o.state == OrderState::Intent
                && let Some(sale) = self.release(o).await?
            {
                self.submit(&sale).await?;
            }
            exits.push(o.client_order_id.clone());
        }
        let timeout = Duration::from_secs_f64(self.config.service.fill_timeout_secs.max(0.0));
        self.wait_terminal(&exits, timeout).await?;
        if self.stopping() {
            return self.leave_for_restart(id, slot);
        }
        self.db.set_run_status(id, slot, "exits_sent", "", self.now_ns())?;
        for o in orders.iter().filter(|o| o.side == OrderSide::Buy && o.state == OrderState::Intent) {
            if self.stopping() {
                return self.leave_for_restart(id, slot);
            }
            match self.entry_blocked(late).await? {
                Some(why) => self.db.set_order_state(
                    &o.client_order_id,
                    OrderState::NotSent,
                    None,
                    &why,
                    self.now_ns(),
                )?,
                None => {
                    if self.recheck_resumed_buy(o).await? {
                        self.submit(o).await?;
                    }
                }
            }
        }
        let run = self.db.run(id, slot)?.expect("a planned run has a row");
        let base = run.base.unwrap_or(0.0);
        let mut entries = 0;
        for mut signal in self.db.run_signals(id, slot)? {
            if signal.side != "enter" || signal.action != "pending" {
                continue;
            }
            if self.stopping() {
                return self.leave_for_restart(id, slot);
            }
            let outcome = match self.entry_blocked(late).await? {
                Some(why) => Err(why),
                None => self.size_entry(&strategy, &signal, base, run.max_positions).await?,
            };
            match outcome {
                Ok(order) => {
                    signal.action = "order".into();
                    signal.client_order_id = Some(order.client_order_id.clone());
                    self.db.add_orders(
                        std::slice::from_ref(&signal),
                        std::slice::from_ref(&order),
                        self.now_ns(),
                    )?;
                    self.submit(&order).await?;
                    entries += 1;
                }
                Err(why) => {
                    tracing::warn!("{id} {slot}: entry {} refused: {why}", signal.symbol);
                    signal.action = "refused".into();
                    signal.detail = why;
                    self.db.add_orders(std::slice::from_ref(&signal), &[], self.now_ns())?;
                }
            }
        }
        let detail =
            format!("{} exit(s), {entries} entr{}", exits.len(), if entries == 1 { "y" } else { "ies" });
        self.db.set_run_status(id, slot, "done", &detail, self.now_ns())?;
        if protect::protection_for(&strategy.rules.exits, Decimal::ONE).is_some() {
            // Protect the new positions as soon as their entries have filled.
            let buys: Vec<String> = self
                .db
                .run_orders(id, slot)?
                .into_iter()
                .filter(|o| o.side == OrderSide::Buy)
                .map(|o| o.client_order_id)
                .collect();
            let timeout = Duration::from_secs_f64(self.config.service.fill_timeout_secs.max(0.0));
            self.wait_terminal(&buys, timeout).await?;
            self.protect(idx).await?;
        }
        Ok(())
    }

    /// Why no entry may be sent now, if none may: the run is stale, trading is stopped, or
    /// the session is not open with the margin before the close.
    async fn entry_blocked(&self, late: bool) -> Result<Option<String>, ServiceError> {
        if late {
            return Ok(Some("stale: the run resumed after its grace period".into()));
        }
        if let Some(why) = safety::stopped(&self.switch, &self.db)? {
            return Ok(Some(why));
        }
        self.market_closed().await
    }

    /// Shutting down: the run stops before its next order and stays unfinished, so that a
    /// restart within the grace period sends what is left.
    fn leave_for_restart(&self, id: &str, slot: &str) -> Result<(), ServiceError> {
        tracing::warn!("{id} {slot}: shutting down before the run's next order; a restart resumes it");
        self.checkpoint("interrupted", &format!("{id} {slot}"))?;
        Ok(())
    }

    /// The order an entry signal becomes, or why it is refused.
    async fn size_entry(
        &mut self,
        strategy: &PromotedStrategy,
        signal: &SignalRow,
        base: f64,
        max_positions: Option<usize>,
    ) -> Result<Result<OrderRow, String>, ServiceError> {
        let positions = self.db.strategy_positions(&strategy.id)?;
        if positions.iter().any(|p| p.symbol == signal.symbol) {
            return Ok(Err("already long".into()));
        }
        if let Some(max) = max_positions.filter(|&m| positions.len() >= m) {
            return Ok(Err(format!("position limit: the strategy already holds {max}")));
        }
        let Some(fraction) = signal.fraction else {
            return Ok(Err("volatility target has too little history".into()));
        };
        let Some(strength) = kernel::sim::Strength::new(signal.strength) else {
            return Ok(Err(format!("invalid strength {}", signal.strength)));
        };
        let cash = self.db.sleeve_cash(&strategy.id)?.unwrap_or_default();
        // The stored fraction stands for the rule's: the kernel computes nothing else from the closes.
        let rules = TradeRules { sizing: Sizing::FixedFraction(fraction), ..strategy.rules };
        let qty =
            match entry_quantity(&rules, &[], strength, base, cash.to_f64().unwrap_or(0.0), signal.price) {
                Ok(q) => to_decimal(q).round_dp(9),
                Err(reason) => return Ok(Err(format!("sizing: {reason:?}"))),
            };
        let cid = client_order_id(&strategy.id, &signal.slot, &signal.symbol, OrderSide::Buy);
        let proposed =
            Proposed { symbol: &signal.symbol, side: OrderSide::Buy, qty, price: to_decimal(signal.price) };
        if let Err(why) = self.check_buy(&strategy.id, &proposed, &cid).await? {
            return Ok(Err(why));
        }
        Ok(Ok(intent(&strategy.id, &signal.slot, &signal.symbol, OrderSide::Buy, qty, cid)))
    }

    /// Checks a buy for `strategy` against the cash-account rules. The cash every other
    /// pending buy (intent, open, unknown; `except` aside) has reserved counts as spent: the
    /// broker's cash moves only on fills, so without it two buys could both count the same
    /// settled dollars.
    async fn check_buy(
        &mut self,
        strategy: &str,
        order: &Proposed<'_>,
        except: &str,
    ) -> Result<Result<(), String>, ServiceError> {
        // Alpaca refuses a buy while a sell is open on the symbol ("potential wash trade",
        // 403): another strategy's take-profit, or a hand-placed order. Refused here with the
        // reason, it is not a broker error and trips no breaker.
        let open = match self.client.list_orders("open", 500).await {
            Ok(open) => open,
            Err(e) => {
                return Ok(Err(format!("open orders unavailable, so a wash trade cannot be ruled out: {e}")));
            }
        };
        // A sell crosses a buy when it is a market order or carries a limit price (a limit,
        // an oco's take-profit); stops and trailing stops do not.
        let sells: Vec<&str> = open
            .iter()
            .filter(|o| o.symbol == order.symbol && o.side == OrderSide::Sell)
            .filter(|o| o.order_type == "market" || o.limit_price.is_some())
            .map(|o| o.client_order_id.as_str())
            .collect();
        if !sells.is_empty() {
            return Ok(Err(format!(
                "wash trade: {} open sell order(s) on {} that a buy could cross ({}); Alpaca would reject it",
                sells.len(),
                order.symbol,
                sells.join(", ")
            )));
        }
        let account = match self.client.account().await {
            Ok(a) => a,
            Err(e) => return Ok(Err(format!("account unavailable: {e}"))),
        };
        // Checked at the price that will be paid: the latest minute bar's close when the market
        // has moved above the signal's price (a gap up since a daily signal), plus a reserve.
        let latest = match self.client.latest_bars(&[order.symbol.to_string()]).await {
            Ok(bars) => bars.get(order.symbol).map(|b| to_decimal(b.close)),
            Err(e) => {
                tracing::warn!("{}: latest price unavailable ({e}); checking at the signal's", order.symbol);
                None
            }
        };
        let order = &Proposed { price: latest.map_or(order.price, |p| p.max(order.price)), ..order.clone() };
        let today = calendar::session_date(self.clock.now()).to_string();
        let unsettled = self.db.unsettled(&today)?;
        let reserved = self.db.reserved_buys(except)?;
        let all: Decimal = reserved.iter().map(|r| r.1).sum();
        let own: Decimal = reserved.iter().filter(|r| r.0 == strategy).map(|r| r.1).sum();
        let account_held: Decimal =
            self.db.positions()?.iter().filter(|p| p.symbol == order.symbol).map(|p| p.qty).sum();
        let budget = Budget {
            equity: account.equity,
            settled_free: account.cash - unsettled - all,
            strategy_cash: self.db.sleeve_cash(strategy)?.unwrap_or_default() - own,
            held: Decimal::ZERO,
            account_held,
            max_position_fraction: self.config.risk.max_position_fraction,
            buy_reserve: BUY_RESERVE,
        };
        Ok(guard::check(order, &budget).map_err(|refusal| refusal.to_string()))
    }

    /// Rechecks a buy intent stored before a crash against the cash rules as they stand now;
    /// one that no longer passes is marked rejected, its signal refused, with the reason.
    /// Returns whether it may be sent.
    async fn recheck_resumed_buy(&mut self, o: &OrderRow) -> Result<bool, ServiceError> {
        let signal = self
            .db
            .run_signals(&o.strategy, &o.slot)?
            .into_iter()
            .find(|s| s.client_order_id.as_deref() == Some(o.client_order_id.as_str()));
        let checked = match &signal {
            Some(s) => {
                let price = to_decimal(s.price);
                let proposed = Proposed { symbol: &o.symbol, side: OrderSide::Buy, qty: o.qty, price };
                self.check_buy(&o.strategy, &proposed, &o.client_order_id).await?
            }
            None => Err("no stored signal to price the resumed buy".into()),
        };
        let Err(why) = checked else { return Ok(true) };
        tracing::warn!("{}: resumed buy refused: {why}", o.client_order_id);
        self.db.set_order_state(&o.client_order_id, OrderState::Rejected, None, &why, self.now_ns())?;
        if let Some(mut s) = signal {
            s.action = "refused".into();
            s.detail = why;
            self.db.add_orders(std::slice::from_ref(&s), &[], self.now_ns())?;
        }
        Ok(false)
    }
}

fn ignore(row: &mut SignalRow, why: &str) {
    row.action = "ignored".into();
    row.detail = why.into();
}

/// A new order intent of `strategy`'s at `slot`, not yet sent.
pub(super) fn intent(
    strategy: &str,
    slot: &str,
    symbol: &str,
    side: OrderSide,
    qty: Decimal,
    cid: String,
) -> OrderRow {
    OrderRow {
        client_order_id: cid,
        strategy: strategy.into(),
        slot: slot.into(),
        symbol: symbol.into(),
        side,
        qty,
        state: OrderState::Intent,
        broker_id: None,
        filled_qty: Decimal::ZERO,
        filled_notional: Decimal::ZERO,
        detail: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_order_ids_are_deterministic_and_short() {
        let id = client_order_id("gap_fill.v3", "2025-12-30T10:01", "S0001", OrderSide::Buy);
        assert_eq!(id, "tb-gap_fill.v3-202512301001-S0001-b");
        // Alpaca takes at most 48 characters: long strategy ids are cut and hashed.
        let long = "vol_managed_momentum.sector_rotation.v12";
        let a = client_order_id(long, "2025-12-30T10:01", "ABCDEFGHIJ", OrderSide::Sell);
        let b = client_order_id(&format!("{long}x"), "2025-12-30T10:01", "ABCDEFGHIJ", OrderSide::Sell);
        assert_eq!(a.len(), MAX_CLIENT_ORDER_ID, "{a}");
        assert!(a.starts_with("tb-vol_manage~") && a.ends_with("-202512301001-ABCDEFGHIJ-s"), "{a}");
        assert_ne!(a, b, "distinct ids stay distinct");
        assert_eq!(a, client_order_id(long, "2025-12-30T10:01", "ABCDEFGHIJ", OrderSide::Sell));
        let p = super::protect::protective_order_id(long, "2025-12-30T10:01", "ABCDEFGHIJ", 12);
        assert!(p.len() <= MAX_CLIENT_ORDER_ID && p.ends_with("-ABCDEFGHIJ-p12"), "{p}");
    }
}
