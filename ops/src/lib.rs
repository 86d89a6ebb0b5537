//! Operations: what it takes to leave tradebot running on a Raspberry Pi and trust it.
//!
//! - [`logging`]: a daily-rotated log file per service (7 days kept, older ones gzipped) and
//!   every ERROR event also in the `error_log` table of the operations database ([`db`]);
//! - [`backup`]: verified online backups of every database and restore, under the database
//!   lock convention of [`lock`];
//! - [`alert`]: a rate-limited, deduplicated notifier with webhook, Slack and Telegram
//!   channels that never blocks its caller;
//! - [`health`]: periodic memory checks (RSS, available memory, swap/zram, cgroup, PSI) with
//!   alerts and a record in the database;
//! - [`disk`]: disk use for `tradebot status`; [`config`]: the operations config file.
//!
//! The crate knows nothing of research or trading internals, so the live service, the research
//! run and the dashboard all plug into it the same way.
//!
//! Where it sits: beside the research chain (datasets → kernel → … → experiments → the
//! `tradebot` binary), under the services that run for long: the live bridge, the research
//! run and the dashboard. It depends on datasets and dbkit only.
//!
//! # Example
//!
//! The database lock: services share it, a restore needs it alone:
//!
//! ```
//! use ops::lock::{DbLock, lock_path};
//!
//! let tmp = tempfile::tempdir()?;
//! let db = tmp.path().join("research.db");
//! let service = DbLock::shared(&db)?;
//! assert_eq!(service.path(), lock_path(&db));
//! assert!(DbLock::exclusive(&db).is_err(), "no restore while a service uses the database");
//! drop(service);
//! let _restore = DbLock::exclusive(&db)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod alert;
pub mod backup;
pub mod config;
pub mod db;
pub mod disk;
pub mod health;
pub mod lock;
pub mod logging;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

/// Now as UTC epoch nanoseconds (the system's timestamp unit, see `datasets::Timestamp`).
pub fn now_ns() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i64)
}
