//! Tests of the simulator: hand-computed cases, the portfolio, and property tests.

mod engine;
mod portfolio;
mod props;

use datasets::time::NANOS_PER_DAY;
use datasets::{Bar, Bars, Timestamp};

use super::{Signal, Strength};

/// Bars from `(open, high, low, close)`, one per day.
fn bars(rows: &[(f64, f64, f64, f64)]) -> Bars {
    Bars::from_bars(rows.iter().enumerate().map(|(i, &(open, high, low, close))| Bar {
        ts: Timestamp(i as i64 * NANOS_PER_DAY),
        open,
        high,
        low,
        close,
        volume: 1.0,
        vwap: None,
        trade_count: None,
    }))
    .unwrap()
}

/// Flat bars at the given price with a ±1 range.
fn flat(prices: &[f64]) -> Bars {
    bars(&prices.iter().map(|&p| (p, p + 1.0, p - 1.0, p)).collect::<Vec<_>>())
}

const H: Signal = Signal::Hold;
const E: Signal = Signal::Enter(Strength::FULL);
const X: Signal = Signal::Exit;
