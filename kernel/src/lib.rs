//! The backtest kernel: indicators, cash-account simulation, metrics and built-in strategies.

pub mod indicators;
pub mod metrics;
pub mod sim;
