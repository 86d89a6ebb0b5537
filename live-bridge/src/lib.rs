//! The live bridge: runs promoted strategies against the Alpaca broker, paper or real.

pub mod alpaca;
pub mod bars;
pub mod clock;
pub mod config;
pub mod db;
#[cfg(feature = "fake")]
pub mod fake;
pub mod guard;
pub mod lock;
pub mod refresh;
pub mod safety;
pub mod schedule;
pub mod service;
pub mod status;
