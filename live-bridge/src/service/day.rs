//! The service loop over trading days: PRE_MARKET, the strategies' runs, POST_MARKET.

use chrono::{Days, NaiveDate};
use datasets::time::NANOS_PER_MIN;
use datasets::{Timeframe, Timestamp, calendar};
use rust_decimal::Decimal;

use super::{Bridge, ServiceError, equity};
use crate::alpaca::stream;
use crate::bars::BarCache;
use crate::config::parse_time;
use crate::db::{DailySnapshot, SnapshotSource};
use crate::safety;
use crate::schedule::new_york;

/// How often the kill switch and the breakers are looked at between steps.
const SAFETY_WATCH: std::time::Duration = std::time::Duration::from_secs(1);

/// One step of a trading day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    /// Reconcile and refresh data.
    PreMarket,
    /// Run strategy `idx`.
    Run(usize),
    /// An intraday equity snapshot (after the runs of the same instant).
    Equity,
    /// The daily snapshot.
    PostMarket,
}

/// How the service ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ended {
    /// SIGTERM/SIGINT: stopped between steps.
    Shutdown,
    /// A replay finished its sessions.
    ReplayDone,
}

impl Bridge {
    /// The session's steps in time order.
    fn steps(&self, date: NaiveDate) -> Vec<(Timestamp, Step)> {
        let Some(session) = calendar::session(date) else { return Vec::new() };
        let pre = parse_time(&self.config.service.pre_market).expect("checked when the config was read");
        let mut steps = vec![(new_york(date, pre), Step::PreMarket)];
        for (i, r) in self.strategies.iter().enumerate().filter(|(_, r)| r.enabled()) {
            steps.extend(r.schedule.runs(date).into_iter().map(|t| (t, Step::Run(i))));
        }
        let every = self.config.service.equity_snapshot_minutes;
        steps.extend(equity::snapshot_times(date, every).into_iter().map(|t| (t, Step::Equity)));
        let post = Timestamp(session.close.0 + self.config.service.post_market_minutes * NANOS_PER_MIN);
        steps.push((post, Step::PostMarket));
        steps.sort();
        steps
    }

    /// Runs until shut down (or until a replay's sessions are done).
    pub async fn run(mut self) -> Result<Ended, ServiceError> {
        let (stop_stream, stream_stop) = tokio::sync::watch::channel(false);
        if let Some(tx) = self.events_tx.take() {
            tokio::spawn(stream::run(self.client.clone(), tx, stream_stop));
        }
        let ended = self.days().await;
        let _ = stop_stream.send(true);
        let detail = match &ended {
            Ok(e) => format!("{e:?}"),
            Err(e) => format!("error: {e}"),
        };
        self.checkpoint("stopped", &detail)?;
        tracing::info!("live service stopped: {detail}");
        ended
    }

    async fn days(&mut self) -> Result<Ended, ServiceError> {
        self.checkpoint("start", &format!("{} strategies", self.strategies.len()))?;
        self.check_binding().await?;
        // Before the first reconciliation books any fill: its settlement date is Alpaca's.
        self.fetch_calendar(calendar::session_date(self.clock.now())).await;
        self.reconcile().await?;
        self.watch_safety()?;
        let sessions = self.config.replay.as_ref().map(|r| r.sessions);
        let mut date = calendar::session_date(self.clock.now());
        if let Some(&(last, _)) = self.steps(date).last()
            && self.clock.now() > last
        {
            date = calendar::next_trading_day(date);
        }
        if !calendar::is_trading_day(date) {
            date = calendar::next_trading_day(date);
        }
        let mut done = 0;
        loop {
            let steps = self.steps(date);
            // A run's orders filled: the equity is recorded once the instant's runs are done.
            let mut filled = false;
            for (k, &(t, step)) in steps.iter().enumerate() {
                if !self.wait_until(t).await? {
                    return Ok(Ended::Shutdown);
                }
                match step {
                    Step::PreMarket => self.pre_market(date).await?,
                    Step::Run(i) => {
                        self.run_strategy(i, t).await?;
                        filled |= self.run_filled(i, t).await?;
                    }
                    Step::Equity => {
                        self.timed_snapshot(t).await?;
                        filled = false;
                    }
                    Step::PostMarket => self.post_market(date).await?,
                }
                self.protect_filled().await?;
                self.settle_orphans().await?;
                if filled && steps.get(k + 1).is_none_or(|&(next, _)| next > t) {
                    self.snapshot_equity(SnapshotSource::Fills).await?;
                    filled = false;
                }
                self.watch_safety()?;
                if self.stopping() {
                    return Ok(Ended::Shutdown);
                }
            }
            done += 1;
            if sessions.is_some_and(|n| done >= n) {
                return Ok(Ended::ReplayDone);
            }
            date = calendar::next_trading_day(date);
        }
    }

    /// Sleeps until `t`, applying stream events meanwhile; false on shutdown.
    pub(super) async fn wait_until(&mut self, t: Timestamp) -> Result<bool, ServiceError> {
        let clock = self.clock.clone();
        // One sleep for the whole wait: events and the watch below interrupt it, not restart it.
        let mut sleep = clock.sleep_until(t);
        loop {
            if self.stopping() {
                return Ok(false);
            }
            let mut shutdown = self.shutdown.clone();
            let event = tokio::select! {
                _ = &mut sleep => return Ok(!self.stopping()),
                event = self.events.recv() => event,
                _ = shutdown.changed() => return Ok(false),
                // The kill switch and the breakers are watched while idle too, so that a halt
                // is alerted when it happens, not at the next run; the open orders are looked
                // up when due.
                _ = tokio::time::sleep(SAFETY_WATCH) => {
                    self.watch_safety()?;
                    None
                }
            };
            if let Some(event) = event {
                self.on_event(event)?;
            }
            self.protect_filled().await?;
        }
    }

    /// Reconciles, reads the broker's calendar (settlement dates) and refreshes daily bars.
    async fn pre_market(&mut self, date: NaiveDate) -> Result<(), ServiceError> {
        self.checkpoint("pre_market", &date.to_string())?;
        self.reconcile().await?;
        self.fetch_calendar(date).await;
        let now = self.clock.now();
        let service = &self.config.service;
        let start = BarCache::history_start(Timeframe::Day1, now, service.daily_history_days, 1);
        let mut symbols: Vec<String> = self
            .strategies
            .iter()
            .filter(|r| r.enabled() && r.strategy.timeframe == Timeframe::Day1)
            .flat_map(|r| r.strategy.symbols.iter().cloned())
            .collect();
        symbols.sort();
        symbols.dedup();
        if !symbols.is_empty()
            && let Err(e) = self.bars.refresh(&self.client, &symbols, Timeframe::Day1, start, now).await
        {
            tracing::warn!("daily bars refresh: {e}");
        }
        self.refresh_data().await?;
        self.regime_outlook(date)?;
        Ok(())
    }

    /// Reads Alpaca's calendar for `date` and the 10 days after: its sessions and the
    /// settlement date of each trade date (which skips bank holidays the exchange trades on,
    /// such as Columbus Day, where "the next NYSE day" would be wrong).
    async fn fetch_calendar(&mut self, date: NaiveDate) {
        let end = date.checked_add_days(Days::new(10)).unwrap_or(date);
        match self.client.calendar(date, end).await {
            Ok(days) => self.record_broker_calendar(date, end, &days),
            Err(e) => tracing::warn!(
                "calendar: {e}; settlement dates fall back to the next NYSE day, sessions to the built-in calendar"
            ),
        }
    }

    /// Updates the pending orders, drops old intraday equity and writes the day's row of
    /// `portfolio_daily`.
    async fn post_market(&mut self, date: NaiveDate) -> Result<(), ServiceError> {
        self.checkpoint("post_market", &date.to_string())?;
        let pending: Vec<String> = self.db.pending_orders()?.into_iter().map(|o| o.client_order_id).collect();
        self.wait_terminal(&pending, std::time::Duration::ZERO).await?;
        self.prune_equity()?;
        self.refresh_protective(None).await?;
        let account = match self.client.account().await {
            Ok(a) => a,
            Err(e) => {
                tracing::error!("post-market snapshot skipped: {e}");
                return Ok(());
            }
        };
        safety::check_equity(
            &self.db,
            &self.config.risk,
            account.equity,
            account.last_equity,
            self.now_ns(),
        )?;
        let day = date.to_string();
        let unsettled = self.db.unsettled(&day)?;
        let positions = self.db.positions()?;
        let (orders, signals) = self.db.day_counts(&day)?;
        let books: Vec<serde_json::Value> = self
            .db
            .sleeves()?
            .into_iter()
            .map(|(strategy, allocation, cash)| {
                let held: Vec<_> = positions
                    .iter()
                    .filter(|p| p.strategy == strategy)
                    .map(|p| serde_json::json!({"symbol": p.symbol, "qty": p.qty.to_string(), "cost": p.cost.to_string()}))
                    .collect();
                serde_json::json!({"strategy": strategy, "allocation": allocation, "cash": cash.to_string(), "positions": held})
            })
            .collect();
        let snapshot = DailySnapshot {
            day,
            equity: account.equity,
            last_equity: account.last_equity,
            cash: account.cash,
            settled_cash: (account.cash - unsettled).max(Decimal::ZERO),
            long_market_value: account.long_market_value,
            positions: positions.len() as i64,
            orders,
            signals,
            detail: serde_json::Value::Array(books).to_string(),
        };
        self.db.write_daily(&snapshot)?;
        self.alert_daily_pnl(&snapshot.day, account.equity, account.last_equity, positions.len())?;
        tracing::info!(
            "{date}: equity {} ({} positions, {orders} orders, {signals} signals)",
            account.equity,
            positions.len()
        );
        Ok(())
    }
}
