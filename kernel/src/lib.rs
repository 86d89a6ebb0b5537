//! The backtest kernel: indicators, cash-account simulation, metrics and built-in strategies.

pub mod indicators;
pub mod metrics;
pub mod regime;
pub mod sim;
pub mod strategy;
pub mod sweep;
