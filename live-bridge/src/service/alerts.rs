//! Alerts to the operator (`ops::alert`): circuit breaker trips, the kill switch turning on or
//! off, failed reconciliations and the daily P&L summary. The notifier never blocks: an alert
//! is queued and a dead channel costs the trading loop nothing.
//!
//! What was alerted is kept in the database's `state`, so a change made while the service was
//! down (a `tradebot live halt`, a breaker reset by `resume`) is reported once at start.

use ops::alert::{Alert, DailyPnl};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::{Bridge, ServiceError};

/// `state` key: the breakers already alerted, as `name@tripped_ns` lines.
const ALERTED_BREAKERS: &str = "alerted_breakers";
/// `state` key: the kill-switch state last alerted, `on` or `off`.
const ALERTED_SWITCH: &str = "alerted_kill_switch";

impl Bridge {
    /// Raises an alert for each breaker tripped and for a kill-switch change since the last
    /// alert.
    pub(super) fn watch_safety(&self) -> Result<(), ServiceError> {
        let breakers = self.db.breakers()?;
        let seen = self.db.state(ALERTED_BREAKERS)?.unwrap_or_default();
        let mut now_seen = Vec::new();
        for (name, reason, tripped_ns) in &breakers {
            let id = format!("{name}@{tripped_ns}");
            if !seen.lines().any(|l| l == id) {
                tracing::warn!("circuit breaker {name} tripped: {reason}");
                self.notifier.notify(Alert::circuit_breaker(name, reason).at(self.now_ns()));
            }
            now_seen.push(id);
        }
        let now_seen = now_seen.join("\n");
        if now_seen != seen {
            self.db.set_state(ALERTED_BREAKERS, &now_seen)?;
        }
        let halted = self.switch.halted();
        if halted.is_some()
            && let Err(e) = self.switch.acknowledge()
        {
            tracing::warn!("kill switch seen, but its confirmation could not be written: {e}");
        }
        let state = if halted.is_some() { "on" } else { "off" };
        let last = self.db.state(ALERTED_SWITCH)?;
        if last.as_deref().unwrap_or("off") != state {
            let reason = halted.unwrap_or_else(|| "HALT file removed: new orders allowed again".into());
            tracing::warn!("kill switch {state}: {reason}");
            self.notifier.notify(Alert::kill_switch(state == "on", &reason).at(self.now_ns()));
        }
        if last.as_deref() != Some(state) {
            self.db.set_state(ALERTED_SWITCH, state)?;
        }
        Ok(())
    }

    /// Checks the equity breakers against the account's `equity` and `last_equity` (each run
    /// and each intraday snapshot does, so a loss between runs trips them too) and alerts on
    /// any trip.
    pub(super) fn check_breakers(&self, equity: Decimal, last_equity: Decimal) -> Result<(), ServiceError> {
        let now = self.now_ns();
        for reason in crate::safety::check_equity(&self.db, &self.config.risk, equity, last_equity, now)? {
            tracing::error!("circuit breaker tripped: {reason}");
        }
        self.watch_safety()
    }

    /// A failed reconciliation: the service does not trade until one succeeds.
    pub(super) fn alert_reconciliation(&self, reason: &str) {
        self.notifier.notify(Alert::reconciliation("broker", reason).at(self.now_ns()));
    }

    /// The end-of-day summary: equity, the change since the previous close, the day's fills
    /// and the positions held.
    pub(super) fn alert_daily_pnl(
        &self,
        day: &str,
        equity: Decimal,
        last_equity: Decimal,
        positions: usize,
    ) -> Result<(), ServiceError> {
        let fills = self.db.day_fills(day)?;
        let pnl = DailyPnl {
            day: day.to_string(),
            equity: equity.to_f64().unwrap_or(0.0),
            pnl: (equity - last_equity).to_f64().unwrap_or(0.0),
            fills,
            positions: positions as u64,
        };
        self.notifier.notify(Alert::daily_pnl(&pnl).at(self.now_ns()));
        Ok(())
    }
}
