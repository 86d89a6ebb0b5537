//! The kill switch and the circuit breakers.
//!
//! `HALT` in the data directory stops every new order at once (checked before each one);
//! cancels stay allowed. Breakers — daily loss against the previous close's equity, drawdown
//! from the peak, consecutive errors — are stored with their reason and latch until a manual
//! `tradebot live resume`.

use std::path::{Path, PathBuf};

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use crate::config::RiskSection;
use crate::db::{Db, DbResult};

/// The kill-switch file name.
pub const HALT_FILE: &str = "HALT";
/// Written by the running service once it sees `HALT`: `tradebot live halt` waits for it.
pub const HALT_SEEN_FILE: &str = "HALT.seen";
const PEAK: &str = "peak_equity";
const ERRORS: &str = "consecutive_errors";

/// The kill switch of a data directory.
#[derive(Clone, Debug)]
pub struct KillSwitch {
    path: PathBuf,
    seen: PathBuf,
}

impl KillSwitch {
    /// The switch in `data_dir`.
    pub fn new(data_dir: &Path) -> Self {
        KillSwitch { path: data_dir.join(HALT_FILE), seen: data_dir.join(HALT_SEEN_FILE) }
    }

    /// The running service confirms it sees the switch on (once per `halt`).
    pub fn acknowledge(&self) -> std::io::Result<()> {
        if self.path.exists() && !self.seen.exists() {
            std::fs::write(&self.seen, format!("{}\n", std::process::id()))?;
        }
        Ok(())
    }

    /// True once a running service confirmed the last `halt`.
    pub fn acknowledged(&self) -> bool {
        self.seen.exists()
    }

    /// The reason written in the file when halted.
    pub fn halted(&self) -> Option<String> {
        self.path.exists().then(|| {
            let text = std::fs::read_to_string(&self.path).unwrap_or_default();
            let reason = text.trim();
            if reason.is_empty() { "HALT file present".to_string() } else { format!("halted: {reason}") }
        })
    }

    /// Creates the file with `reason` (clearing an earlier confirmation).
    pub fn halt(&self, reason: &str) -> std::io::Result<()> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        remove(&self.seen)?;
        std::fs::write(&self.path, format!("{reason}\n"))
    }

    /// Removes the file; true when it was there.
    pub fn resume(&self) -> std::io::Result<bool> {
        remove(&self.seen)?;
        remove(&self.path)
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Removes `path`; true when it was there.
fn remove(path: &Path) -> std::io::Result<bool> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Why trading is stopped now, if it is: the kill switch, then any tripped breaker.
pub fn stopped(switch: &KillSwitch, db: &Db) -> DbResult<Option<String>> {
    if let Some(reason) = switch.halted() {
        return Ok(Some(reason));
    }
    Ok(db.breakers()?.first().map(|(name, reason, _)| format!("breaker {name}: {reason}")))
}

/// Checks the equity breakers against the account now and records the peak; returns the ones
/// that tripped now.
pub fn check_equity(
    db: &Db,
    risk: &RiskSection,
    equity: Decimal,
    last_equity: Decimal,
    now_ns: i64,
) -> DbResult<Vec<String>> {
    let mut tripped = Vec::new();
    let eq = equity.to_f64().unwrap_or(0.0);
    let last = last_equity.to_f64().unwrap_or(0.0);
    if last > 0.0 {
        let change = eq / last - 1.0;
        if change <= -risk.daily_loss_limit {
            let reason = format!(
                "equity {equity} is {:.2}% below last_equity {last_equity} (limit {:.2}%)",
                -change * 100.0,
                risk.daily_loss_limit * 100.0
            );
            db.trip("daily_loss", &reason, now_ns)?;
            tripped.push(reason);
        }
    }
    let peak = db.state(PEAK)?.and_then(|p| p.parse::<f64>().ok()).unwrap_or(0.0).max(eq);
    db.set_state(PEAK, &peak.to_string())?;
    if peak > 0.0 && eq / peak - 1.0 <= -risk.max_drawdown {
        let reason = format!(
            "equity {equity} is {:.2}% below its peak {peak:.2} (limit {:.2}%)",
            (1.0 - eq / peak) * 100.0,
            risk.max_drawdown * 100.0
        );
        db.trip("max_drawdown", &reason, now_ns)?;
        tripped.push(reason);
    }
    Ok(tripped)
}

/// Counts a failed request or rejected order; trips the breaker at the limit.
pub fn note_error(db: &Db, risk: &RiskSection, what: &str, now_ns: i64) -> DbResult<()> {
    let n = db.state(ERRORS)?.and_then(|v| v.parse::<u32>().ok()).unwrap_or(0) + 1;
    db.set_state(ERRORS, &n.to_string())?;
    if n >= risk.max_consecutive_errors {
        db.trip("consecutive_errors", &format!("{n} errors in a row, the last: {what}"), now_ns)?;
    }
    Ok(())
}

/// Resets the error count after a success.
pub fn note_success(db: &Db) -> DbResult<()> {
    db.set_state(ERRORS, "0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn breakers_trip_latch_and_the_switch_halts() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("live.db")).unwrap();
        let risk = RiskSection::default();
        let switch = KillSwitch::new(dir.path());
        assert_eq!(stopped(&switch, &db).unwrap(), None);
        assert!(
            check_equity(&db, &risk, Decimal::from(99_000), Decimal::from(100_000), 1).unwrap().is_empty()
        );
        let tripped = check_equity(&db, &risk, Decimal::from(96_000), Decimal::from(100_000), 2).unwrap();
        assert_eq!(tripped.len(), 1, "3% daily loss: {tripped:?}");
        // Latched: a recovery does not clear it.
        check_equity(&db, &risk, Decimal::from(100_000), Decimal::from(100_000), 3).unwrap();
        assert!(
            stopped(&switch, &db)
                .unwrap()
                .unwrap()
                .starts_with("breaker daily_loss: equity 96000 is 4.00% below")
        );
        db.reset_breakers().unwrap();
        let tripped = check_equity(&db, &risk, Decimal::from(84_000), Decimal::from(84_500), 4).unwrap();
        assert!(tripped[0].contains("below its peak"), "{tripped:?}");
        db.reset_breakers().unwrap();
        for i in 0..4 {
            note_error(&db, &risk, "timeout", i).unwrap();
        }
        note_success(&db).unwrap();
        note_error(&db, &risk, "timeout", 9).unwrap();
        assert!(db.breakers().unwrap().is_empty(), "a success resets the count");
        for i in 0..5 {
            note_error(&db, &risk, "500", i).unwrap();
        }
        assert_eq!(db.breakers().unwrap()[0].0, "consecutive_errors");
        db.reset_breakers().unwrap();
        switch.halt("manual stop").unwrap();
        assert_eq!(stopped(&switch, &db).unwrap().as_deref(), Some("halted: manual stop"));
        assert!(switch.resume().unwrap());
        assert_eq!(stopped(&switch, &db).unwrap(), None);
    }
}
