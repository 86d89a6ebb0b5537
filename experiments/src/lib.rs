//! Experiment files, the sweep runner behind `tradebot sweep`, the evolution behind
//! `tradebot evolve` ([`evolution`]) and the nightly research run ([`research`]).
//!
//! An experiment is a TOML file; unknown keys and wrong types are errors naming the file, line
//! and key (`sma_cross_goog.toml:12: key `params.fast.max`: …`):
//!
//! ```toml
//! [experiment]
//! name = "sma_cross_goog"          # recorded in the research database
//! strategy = "sma_cross"           # a kernel registry name
//!
//! [data]                           # exactly one of:
//! sample = "GOOG"                  #   an embedded sample (GOOG, EURUSD, BTCUSD)
//! # file = "bars.csv"              #   a CSV / Alpaca JSON file, relative to this file
//! # store = "../data/store"        #   a bar store, relative to this file, with
//! # symbols = ["SPY", "QQQ"]       #   the symbols to load and
//! # timeframe = "1Day"             #   their timeframe (default 1Day)
//!
//! [sweep]
//! mode = "grid"                    # or "random", with samples = N and seed = S (default 0)
//! rank_by = "sharpe"               # total_return, cagr, sharpe, sortino, max_drawdown,
//!                                  # win_rate, profit_factor, final_equity
//! per_symbol = false               # several symbols: also run and rank each one alone
//!
//! [params]                         # per parameter; an omitted one stays at its default
//! fast = { min = 2, max = 100 }    # integer range, step 1 unless `step` is given
//! slow = { min = 3, max = 200, step = 1 }
//! # entry_z = { min = 1.0, max = 3.0, step = 0.5 }  # a real needs `step` in a grid
//! # mode = { values = ["zscore", "rsi"] }           # explicit list (any kind)
//!
//! [account]
//! cash = 10000
//! commission_rate = 0.0            # fraction of the traded value
//! commission_per_share = 0.0
//! commission_per_order = 0.0
//! slippage_bps = 0.0
//! close_at_end = true              # close a position still open after the last bar
//!
//! [output]
//! csv = "results/sma_cross_goog.csv"    # optional, relative to the working directory
//! json = "results/sma_cross_goog.json"  # optional
//! top = 20                              # rows shown (and fully evaluated on the fast path)
//! ```
//!
//! Every value is checked against the strategy's parameter space (a range outside it names
//! the parameter and the allowed values). Combinations that break a rule between parameters
//! (e.g. `fast >= slow`) are skipped and counted, not errors. See [`run`](crate::run) for how
//! combinations are evaluated and ranked.
//!
//! An evolution (`tradebot evolve`) adds these sections; `[sweep]` and `[output]` are then
//! unused, and a parameter left out of `[params]` is searched over its whole domain:
//!
//! ```toml
//! [evolve]                         # evolve::ga::GaConfig; every key optional
//! population = 40
//! generations = 30
//! seed = 0
//! [evolve.stagnation]              # patience, epsilon, inject_fraction, mutation_boost, restart
//! patience = 5
//! [fitness]                        # evolve::stats::FitnessConfig
//! objective = "sharpe"             # sortino, calmar, return_over_drawdown, deflated_sharpe
//! min_trades = 5
//! max_drawdown = 0.5
//! [validation]
//! in_sample = 0.7                  # holdout share (1 = no out-of-sample stage)
//! pbo_blocks = 16                  # optional CSCV
//! walk_forward = { folds = 4, mode = "rolling", test_fraction = 0.1 }  # optional
//! ```
//!
//! The nightly research file has its own schema: see [`research::Research`].
//!
//! Where it sits: datasets → kernel → gp / novelty / portfolio-fitness / regimes → evolve →
//! **experiments** → the `tradebot` binary, which parses the command line and calls in here.
//!
//! # Example
//!
//! An experiment file checked before anything runs:
//!
//! ```
//! use std::path::Path;
//!
//! use experiments::Experiment;
//!
//! let text = r#"
//! [experiment]
//! name = "demo"
//! strategy = "sma_cross"
//!
//! [data]
//! sample = "GOOG"
//!
//! [params]
//! fast = { min = 5, max = 10 }
//! slow = { min = 20, max = 40, step = 10 }
//! "#;
//! let experiment = Experiment::parse(text, "demo.toml", Path::new("."))?;
//! assert_eq!(experiment.name, "demo");
//!
//! let typo = text.replace("strategy = \"sma_cross\"", "strategy = \"sma_crosss\"");
//! let error = Experiment::parse(&typo, "demo.toml", Path::new(".")).unwrap_err();
//! assert!(error.to_string().contains("demo.toml"), "{error}");
//! # Ok::<(), experiments::ConfigError>(())
//! ```

pub mod config;
pub mod data;
pub mod discover;
pub mod evolution;
mod metric;
pub mod report;
pub mod research;
pub mod research_report;
pub mod run;
pub mod run_summary;

pub use config::{
    Axis, ConfigError, DataSource, DiscoverSettings, Discovery, DsrVariance, Experiment, Gates, Mode, Output,
};
pub use metric::Metric;

#[cfg(test)]
mod tests;
