//! The promoted-strategy format: the strategies the live bridge runs, as versioned files.
//!
//! A [`PromotedSet`] is every strategy cleared for trading, each a [`PromotedStrategy`]: what
//! to run ([`StrategySpec`]), on which symbols and timeframe, with which share of the account
//! and which trading rules, plus the backtest it was promoted on ([`RecordedBacktest`]), so
//! anyone can check that the file, loaded back and run by the kernel, reproduces it exactly.
//!
//! A [`PromotedDir`] keeps every version ever committed (`v000001.json`, `v000002.json`, …)
//! and a `CURRENT` file naming the one in force; both are replaced atomically, so a reader
//! (the live service) sees either the old set or the new one, never half of one. Promoting or
//! demoting a strategy writes a new version; older versions stay for audit and rollback.
//!
//! The format depends on the kernel only: the live bridge reads it without linking the
//! evolution engine that produced it.
//!
//! Where it sits: datasets → kernel → gp → **promoted** → experiments (which promotes) and the
//! live bridge (which runs what is promoted).
//!
//! # Example
//!
//! A fresh directory holds no version; hashes of equity curves compare bit patterns:
//!
//! ```
//! use promoted::{Hash64, PromotedDir};
//!
//! let tmp = tempfile::tempdir()?;
//! let dir = PromotedDir::new(tmp.path());
//! assert!(dir.current()?.is_none());
//! assert!(dir.versions()?.is_empty());
//! assert_eq!(Hash64::of_f64s(&[1.0, 2.0]), Hash64::of_f64s(&[1.0, 2.0]));
//! assert_ne!(Hash64::of_f64s(&[0.0]), Hash64::of_f64s(&[-0.0]));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod dir;
mod error;
mod hash;
mod spec;

#[cfg(test)]
mod tests;

pub use dir::{PromotedDir, PromotedSet};
pub use error::PromotedError;
pub use hash::Hash64;
pub use spec::{GP_SLEEVE, ParamEntry, PromotedStrategy, RecordedBacktest, Runnable, StrategySpec};

/// Version of the file layout; a file with another number is refused rather than misread.
pub const FORMAT: u32 = 1;
