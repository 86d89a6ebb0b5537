//! The SQLite helpers every database of the project shares (research, operations, live):
//!
//! - [`check`]: the integrity check as a file is opened ([`open`]): a 0-byte or damaged file is
//!   refused with the command that restores a backup;
//! - [`migrate`]: the versioned schema migration runner ([`migrate()`]): numbered steps,
//!   tracked in `PRAGMA user_version`, each applied once in its own transaction;
//! - [`reader`]: opening a database read-only also on a read-only file system
//!   ([`open_read_only`]), for readers such as the dashboard.
//!
//! ```
//! let dir = tempfile::tempdir().unwrap();
//! let mut conn = dbkit::open(&dir.path().join("example.db")).unwrap();
//! const STEPS: &[&str] = &["CREATE TABLE t (id INTEGER PRIMARY KEY);"];
//! assert_eq!(dbkit::migrate(&mut conn, STEPS).unwrap(), 1);
//! assert_eq!(dbkit::migrate(&mut conn, STEPS).unwrap(), 0, "applied once");
//! assert_eq!(dbkit::schema_version(&conn).unwrap(), 1);
//! ```

pub mod check;
pub mod migrate;
pub mod reader;

pub use check::{CheckError, open, open_with_flags, quick_check};
pub use migrate::{MigrateError, migrate, schema_version};
pub use reader::open_read_only;
