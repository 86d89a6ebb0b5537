//! The backtest kernel: indicators, cash-account simulation, metrics and built-in strategies.
//!
//! Everything that turns bars into trades and figures lives here, and nothing above it
//! re-implements a trading rule:
//!
//! - [`indicators`]: moving averages, oscillators, channels, volatility and volume series,
//!   NaN during warm-up, never peeking ahead;
//! - [`sim`]: the cash-account [`Simulator`](sim::Simulator) (one symbol) and
//!   [`run_portfolio`](sim::run_portfolio) (many), long-only, next-open fills, costs, sizing
//!   and protective exits; the fill rules are written once (`sim::fill`) for every driver;
//! - [`metrics`]: [`Metrics`](metrics::Metrics), the headline figures with every formula
//!   written out, and [`ReturnMoments`](metrics::ReturnMoments), the one accumulator of return
//!   moments that the simulator's figures, the sweep and the GP fast path share;
//! - [`sweep`]: fast exact drivers for many runs (the SMA-cross grid, the lean signal run);
//! - [`strategy`]: the built-in strategy families and the backtest of a family on market data;
//! - [`regime`]: the rule-based market regime (VIX and realised-volatility thresholds).
//!
//! Where it sits: datasets → kernel → gp / novelty / portfolio-fitness / regimes → evolve →
//! experiments → the `tradebot` binary; promoted, live-bridge, ops, dashboard and dbkit serve
//! the live side. Nothing flows back.
//!
//! # Example
//!
//! A 10/30 SMA cross on generated bars, simulated and measured:
//!
//! ```
//! use datasets::{Bar, Bars, Timestamp};
//! use kernel::indicators::sma;
//! use kernel::metrics::{Metrics, MetricsConfig, MetricsInput};
//! use kernel::sim::{Simulator, TradeRules};
//! use kernel::sweep::cross_signals_into;
//!
//! // 300 daily bars of a slow sine wave around 100.
//! let day = 86_400_000_000_000i64;
//! let bars = Bars::from_bars((0..300).map(|t| {
//!     let close = 100.0 + 10.0 * (t as f64 / 20.0).sin();
//!     Bar {
//!         ts: Timestamp(t * day),
//!         open: close - 0.2,
//!         high: close + 0.5,
//!         low: close - 0.7,
//!         close,
//!         volume: 1_000.0,
//!         vwap: None,
//!         trade_count: None,
//!     }
//! }))?;
//!
//! let fast = sma(bars.close(), 10)?;
//! let slow = sma(bars.close(), 30)?;
//! assert!(fast[8].is_nan() && !fast[9].is_nan(), "NaN until the window is full");
//!
//! let mut signals = Vec::new();
//! cross_signals_into(&fast, &slow, &mut signals)?;
//! let sim = Simulator::new(10_000.0, TradeRules::default())?;
//! let result = sim.run(&bars, &signals)?;
//! let metrics = Metrics::compute(&MetricsInput::from_sim(&result, &bars), &MetricsConfig {
//!     periods_per_year: 252.0,
//!     risk_free_rate: 0.0,
//! });
//! assert_eq!(metrics.trades, result.activity.trades.len());
//! assert!(metrics.trades > 0 && metrics.max_drawdown <= 0.0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod indicators;
pub mod metrics;
pub mod regime;
pub mod sim;
pub mod strategy;
pub mod sweep;
