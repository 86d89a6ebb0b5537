//! Market data for tradebot: the core bar types, CSV/JSON ingest, the memory-mapped
//! columnar bar store, the NYSE trading calendar and deterministic synthetic universes.
//!
//! Every timestamp inside the system is UTC, stored as [`Timestamp`] (i64 epoch
//! nanoseconds). America/New_York appears only in [`calendar`] for sessions and display.
//!
//! - [`Bar`] / [`Bars`]: one bar, and a symbol's bars as checked columns (increasing
//!   timestamps, consistent OHLC); [`SymbolMeta`], [`Timeframe`], [`AssetClass`];
//! - [`ingest`]: CSV and Alpaca JSON files to bars, with every rejected row named;
//! - [`store`]: the memory-mapped bar store ([`store::Store`] to read, [`store::Writer`] to
//!   write in one transaction);
//! - [`synth`]: deterministic synthetic universes with planted (or no) effects;
//! - [`universe`]: universe files (a symbol per line, or TOML `name` + `symbols`);
//!   [`provenance`]: a fetched series' provider, feed and price adjustment;
//! - [`ops`]: what the `tradebot data …` commands do (import, generate, describe, export).
//!
//! Where it sits: first. datasets → kernel → gp / novelty / portfolio-fitness / regimes →
//! evolve → experiments → the `tradebot` binary; every crate reads bars through this one.
//!
//! # Example
//!
//! Generate a tiny synthetic universe into a store and read one series back:
//!
//! ```
//! use datasets::Timeframe;
//! use datasets::actions::{OnExisting, generate};
//! use datasets::store::Store;
//! use datasets::synth::SynthConfig;
//!
//! let dir = tempfile::tempdir()?;
//! let config = SynthConfig { symbols: 2, years: 1, minute_days: 0, ..SynthConfig::default() };
//! let summary = generate(dir.path(), &config, OnExisting::Refuse, |_, _| {})?;
//! // Two stocks after SPY, the 11 sector ETFs, TLT, GLD, SHY and VIX.
//! assert_eq!(summary.symbols, 18);
//!
//! let store = Store::open(dir.path())?;
//! let spy = store.series("SPY", Timeframe::Day1)?.expect("SPY is always generated");
//! assert!((240..=260).contains(&spy.len()), "a year of trading days");
//! assert!(spy.close().iter().all(|&c| c > 0.0));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod actions;
pub mod bars;
pub mod calendar;
pub mod fsio;
pub mod html;
pub mod ingest;
pub mod provenance;
pub mod store;
pub mod symbol;
pub mod synth;
pub mod time;
pub mod universe;

pub use bars::{
    AssetClass, Bar, BarColumns, Bars, BarsError, DatedFundamentals, Fundamentals, SymbolMeta,
    UnknownAssetClass,
};
pub use provenance::{Adjustment, SeriesSource, UnknownAdjustment};
pub use time::{Timeframe, Timestamp, UnknownTimeframe};
