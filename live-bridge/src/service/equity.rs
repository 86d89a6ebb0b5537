//! Intraday equity: during market hours the account's equity, cash and long value, the
//! positions' unrealised P&L and the broker's price of each symbol held are recorded every
//! `equity_snapshot_minutes` from the open, and after each run whose orders filled
//! (`equity_intraday`, `broker_marks`). Snapshots only read the broker: one that cannot be
//! taken is logged and skipped, and trading goes on. POST_MARKET drops those older than
//! `equity_retention_days`.

use datasets::time::{NANOS_PER_DAY, NANOS_PER_MIN};
use datasets::{Timestamp, calendar};
use rust_decimal::Decimal;

use super::{Bridge, ServiceError};
use crate::alpaca::model::Position;
use crate::db::{IntradayEquity, OrderState, SnapshotSource};
use crate::schedule::slot_name;

/// The snapshot instants of a session: the open, then every `minutes` up to the close
/// (included when it falls on the cadence). Empty on a holiday.
pub(super) fn snapshot_times(date: chrono::NaiveDate, minutes: i64) -> Vec<Timestamp> {
    let Some(session) = calendar::session(date) else { return Vec::new() };
    let step = minutes.max(1) * NANOS_PER_MIN;
    (0..).map(|k| Timestamp(session.open.0 + k * step)).take_while(|t| *t <= session.close).collect()
}

/// The broker's price of a position: its current price, else its market value per share.
fn mark(p: &Position) -> Option<Decimal> {
    p.current_price.or_else(|| p.market_value.filter(|_| !p.qty.is_zero()).map(|v| v / p.qty))
}

/// The positions' unrealised P&L, market value less cost basis (each from the price and the
/// average entry price when the broker leaves it out); `None` when a position has no price.
fn unrealised(positions: &[Position]) -> Option<Decimal> {
    positions
        .iter()
        .map(|p| {
            let value = p.market_value.or_else(|| mark(p).map(|m| m * p.qty))?;
            Some(value - p.cost_basis.unwrap_or(p.avg_entry_price * p.qty))
        })
        .sum()
}

impl Bridge {
    /// The scheduled snapshot at `t`, unless a later one is already due (after a restart, the
    /// missed ones are not taken all at once).
    pub(super) async fn timed_snapshot(&mut self, t: Timestamp) -> Result<(), ServiceError> {
        if self.now_ns() >= t.0 + self.config.service.equity_snapshot_minutes * NANOS_PER_MIN {
            return Ok(());
        }
        self.snapshot_equity(SnapshotSource::Timer).await
    }

    /// True when strategy `idx`'s run at `t` has orders that filled. The broker answers an
    /// order `accepted` and fills it an instant later: the stream's events are applied first,
    /// and an order still open after them is looked up once.
    pub(super) async fn run_filled(&mut self, idx: usize, t: Timestamp) -> Result<bool, ServiceError> {
        self.drain_events()?;
        let id = self.strategies[idx].strategy.id.clone();
        let orders = self.db.run_orders(&id, &slot_name(t))?;
        for o in orders.iter().filter(|o| matches!(o.state, OrderState::Open | OrderState::Unknown)) {
            match self.client.order_by_client_id(&o.client_order_id).await {
                Ok(Some(found)) => self.apply_order(&found)?,
                Ok(None) => {}
                Err(e) => tracing::warn!("{}: lookup failed: {e}", o.client_order_id),
            }
        }
        Ok(self.db.run_orders(&id, &slot_name(t))?.iter().any(|o| !o.filled_qty.is_zero()))
    }

    /// Reads the account and the positions from the broker, checks the equity breakers and
    /// records them now. A failed account request skips the snapshot; failed positions record
    /// it without the P&L.
    pub(super) async fn snapshot_equity(&mut self, source: SnapshotSource) -> Result<(), ServiceError> {
        let account = match self.client.account().await {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!("equity snapshot skipped: {e}");
                return Ok(());
            }
        };
        self.check_breakers(account.equity, account.last_equity)?;
        let (unrealised, marks) = match self.client.positions().await {
            Ok(positions) => (
                unrealised(&positions),
                positions.iter().filter_map(|p| Some((p.symbol.clone(), mark(p)?))).collect(),
            ),
            Err(e) => {
                tracing::warn!("equity snapshot without positions: {e}");
                (None, Vec::new())
            }
        };
        let point = IntradayEquity {
            ts_ns: self.now_ns(),
            equity: account.equity,
            last_equity: account.last_equity,
            cash: account.cash,
            long_value: account.long_market_value,
            unrealised,
            source,
        };
        self.db.write_intraday(&point, &marks)?;
        tracing::debug!("equity {} (cash {}, long {})", point.equity, point.cash, point.long_value);
        Ok(())
    }

    /// Drops the intraday snapshots older than the retention.
    pub(super) fn prune_equity(&self) -> Result<(), ServiceError> {
        let days = self.config.service.equity_retention_days;
        let dropped = self.db.prune_intraday(self.now_ns() - days * NANOS_PER_DAY)?;
        if dropped > 0 {
            tracing::info!("dropped {dropped} intraday equity snapshots older than {days} days");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::schedule::slot_name;

    fn names(date: NaiveDate, minutes: i64) -> Vec<String> {
        snapshot_times(date, minutes).into_iter().map(slot_name).collect()
    }

    #[test]
    fn snapshots_follow_the_session_on_its_cadence() {
        let d = |m, day| NaiveDate::from_ymd_opt(2025, m, day).unwrap();
        let every5 = names(d(12, 30), 5);
        assert_eq!(every5.len(), 79, "09:30 to 16:00 inclusive");
        assert_eq!((every5[0].as_str(), every5[78].as_str()), ("2025-12-30T09:30", "2025-12-30T16:00"));
        assert_eq!(names(d(12, 30), 45).last().unwrap(), "2025-12-30T15:30", "16:00 is off the cadence");
        assert_eq!(names(d(12, 24), 30).last().unwrap(), "2025-12-24T13:00", "early close");
        assert!(names(d(12, 25), 5).is_empty(), "Christmas");
        // July: EDT, the open is 13:30 UTC.
        assert_eq!(snapshot_times(d(7, 1), 5)[0].to_string()[11..16], *"13:30");
    }

    #[test]
    fn unrealised_falls_back_to_price_and_entry_and_needs_every_price() {
        let p = |symbol: &str, qty: i64, avg: i64, price: Option<i64>, value: Option<i64>| Position {
            symbol: symbol.into(),
            qty: Decimal::from(qty),
            avg_entry_price: Decimal::from(avg),
            side: "long".into(),
            qty_available: None,
            market_value: value.map(Decimal::from),
            cost_basis: None,
            current_price: price.map(Decimal::from),
        };
        let full = Position { cost_basis: Some(Decimal::from(190)), ..p("A", 10, 20, Some(21), Some(210)) };
        let from_price = p("B", 5, 10, Some(12), None);
        assert_eq!(unrealised(&[full.clone(), from_price.clone()]), Some(Decimal::from(20 + 10)));
        assert_eq!(mark(&p("C", 4, 10, None, Some(60))), Some(Decimal::from(15)));
        assert_eq!(unrealised(&[full, p("D", 1, 1, None, None)]), None);
        assert_eq!(unrealised(&[]), Some(Decimal::ZERO));
    }
}
