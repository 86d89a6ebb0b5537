//! What `tradebot live status` shows: kill switch, breakers, reconciliation, the last
//! checkpoint, the strategies' books, pending orders and the last daily snapshot.

use std::fmt;
use std::path::Path;

use serde::Serialize;

use crate::db::{Db, DbResult, RegimeRow};
use crate::safety::KillSwitch;

/// `state` key: when reconciliation last ran (UTC epoch ns).
pub const RECONCILED_AT: &str = "reconciled_at";

/// The safety state of a live database, read without writing (for `tradebot status`): kill
/// switch, tripped breakers and the last reconciliation.
#[derive(Clone, Debug, Serialize)]
pub struct Safety {
    /// The kill switch's reason, when halted.
    pub halted: Option<String>,
    /// Tripped breakers: name and reason.
    pub breakers: Vec<(String, String)>,
    /// `ok`, or why the last reconciliation failed.
    pub reconcile: Option<String>,
    /// When it ran (UTC epoch ns).
    pub reconciled_at: Option<i64>,
}

impl Safety {
    /// Reads `live_db` (read-only) and the `HALT` file next to it.
    pub fn read(live_db: &Path) -> DbResult<Safety> {
        Safety::of(&Db::open_read_only(live_db)?, live_db.parent().unwrap_or(Path::new(".")))
    }

    fn of(db: &Db, data_dir: &Path) -> DbResult<Safety> {
        Ok(Safety {
            halted: KillSwitch::new(data_dir).halted(),
            breakers: db.breakers()?.into_iter().map(|(n, r, _)| (n, r)).collect(),
            reconcile: db.state("reconcile")?,
            reconciled_at: db.state(RECONCILED_AT)?.and_then(|t| t.parse().ok()),
        })
    }
}

/// The service's state as stored in its data directory.
#[derive(Clone, Debug, Serialize)]
pub struct Status {
    /// Kill switch, breakers, reconciliation.
    #[serde(flatten)]
    pub safety: Safety,
    /// The last checkpoint: phase and detail.
    pub checkpoint: Option<(String, String)>,
    /// Per strategy: id, allocation, cash.
    pub sleeves: Vec<(String, f64, String)>,
    /// Positions: strategy, symbol, quantity.
    pub positions: Vec<(String, String, String)>,
    /// Orders still pending: client order id, state, side, quantity, symbol.
    pub pending_orders: Vec<(String, String, String, String, String)>,
    /// The last daily snapshot: day and equity.
    pub last_day: Option<(String, String)>,
    /// The latest market-regime outlook recorded at PRE_MARKET.
    pub regime: Option<RegimeRow>,
}

impl Status {
    /// Reads the state of `data_dir` (read-only: a missing `live.db` is an error, never created).
    pub fn read(data_dir: &Path) -> DbResult<Status> {
        let db = Db::open_read_only(&data_dir.join("live.db"))?;
        Ok(Status {
            safety: Safety::of(&db, data_dir)?,
            checkpoint: db.last_checkpoint()?.map(|(_, p, d)| (p, d)),
            sleeves: db.sleeves()?.into_iter().map(|(s, a, c)| (s, a, c.to_string())).collect(),
            positions: db
                .positions()?
                .into_iter()
                .map(|p| (p.strategy, p.symbol, p.qty.to_string()))
                .collect(),
            pending_orders: db
                .pending_orders()?
                .into_iter()
                .map(|o| {
                    let (state, side) = (o.state.as_str().to_string(), o.side.as_str().to_string());
                    (o.client_order_id, state, side, o.qty.to_string(), o.symbol)
                })
                .collect(),
            last_day: db.daily()?.pop().map(|d| (d.day, d.equity.to_string())),
            regime: db.last_regime()?,
        })
    }

    /// True when new orders may go out (no kill switch, no breaker, reconciled).
    pub fn trading(&self) -> bool {
        let s = &self.safety;
        s.halted.is_none() && s.breakers.is_empty() && s.reconcile.as_deref() == Some("ok")
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.safety)?;
        if let Some((phase, detail)) = &self.checkpoint {
            writeln!(f, "checkpoint:  {phase} {detail}")?;
        }
        for (strategy, allocation, cash) in &self.sleeves {
            writeln!(f, "strategy:    {strategy:<24} allocation {allocation:<6} cash {cash}")?;
        }
        for (strategy, symbol, qty) in &self.positions {
            writeln!(f, "position:    {strategy:<24} {symbol:<8} {qty}")?;
        }
        for (cid, state, side, qty, symbol) in &self.pending_orders {
            writeln!(f, "order:       {cid} {state} {side} {qty} {symbol}")?;
        }
        if let Some((day, equity)) = &self.last_day {
            writeln!(f, "last day:    {day} equity {equity}")?;
        }
        if let Some(r) = &self.regime {
            writeln!(
                f,
                "regime:      {} (close of {}): today {}, tomorrow {} by model v{}, votes {}",
                r.day,
                r.bar_day,
                r.today.as_deref().unwrap_or("warming up"),
                r.tomorrow.as_deref().unwrap_or("no call"),
                r.model_version,
                r.votes.as_deref().unwrap_or("none")
            )?;
        }
        Ok(())
    }
}

impl fmt::Display for Safety {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.halted {
            Some(reason) => writeln!(f, "kill switch: ON ({reason})")?,
            None => writeln!(f, "kill switch: off")?,
        }
        if self.breakers.is_empty() {
            writeln!(f, "breakers:    none tripped")?;
        }
        for (name, reason) in &self.breakers {
            writeln!(f, "breaker:     {name} TRIPPED: {reason}")?;
        }
        let at = self.reconciled_at.map(|t| format!(" (at {})", datasets::Timestamp(t))).unwrap_or_default();
        writeln!(f, "reconcile:   {}{at}", self.reconcile.as_deref().unwrap_or("never run"))?;
        Ok(())
    }
}
