//! The live bridge: runs promoted strategies against the Alpaca broker, paper or real.
//!
//! The service reads its config ([`config`]), takes the promoted set in force
//! ([`promoted`](::promoted)), refreshes bars ([`refresh`], [`bars`]), asks the kernel for each
//! strategy's signal at the schedule's times ([`schedule`], [`service`]), sizes and sends
//! orders through [`alpaca`] after the checks of [`guard`] and [`safety`], and records every
//! step in `live.db` ([`db`]); [`status`] is what `tradebot live status` shows, [`clock`] the
//! wall or simulated clock, [`lock`] the single-instance lock, [`fetch`] the historical-bars
//! download behind `tradebot data fetch`, and `fake` (cargo feature) an in-process broker for
//! tests.
//!
//! Where it sits: datasets → kernel → promoted → **live-bridge** → the `tradebot` binary
//! (`tradebot live`) and the dashboard; it uses ops for logs, alerts and backups and regimes
//! for the outlook.
//!
//! # Example
//!
//! A config file is checked as a whole, and a mistake names its line:
//!
//! ```
//! use live_bridge::config::LiveConfig;
//!
//! let error = LiveConfig::parse("[risk]\nno_such_limit = 1\n").unwrap_err();
//! assert!(error.starts_with("line "), "{error}");
//! # Ok::<(), String>(())
//! ```

pub mod alpaca;
pub mod bars;
pub mod clock;
pub mod config;
pub mod db;
#[cfg(feature = "fake")]
pub mod fake;
pub mod fetch;
pub mod guard;
pub mod lock;
pub mod refresh;
pub mod safety;
pub mod schedule;
pub mod service;
pub mod status;
