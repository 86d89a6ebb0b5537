//! Market data for tradebot: the core bar types, CSV/JSON ingest, the memory-mapped
//! columnar bar store, the NYSE trading calendar and deterministic synthetic universes.
//!
//! Every timestamp inside the system is UTC, stored as [`Timestamp`] (i64 epoch
//! nanoseconds). America/New_York appears only in [`calendar`] for sessions and display.

pub mod bars;
pub mod calendar;
pub mod fsio;
pub mod ingest;
pub mod ops;
pub mod store;
pub mod symbol;
pub mod synth;
pub mod time;

pub use bars::{AssetClass, Bar, BarColumns, Bars, BarsError, Fundamentals, SymbolMeta, UnknownAssetClass};
pub use time::{Timeframe, Timestamp, UnknownTimeframe};
