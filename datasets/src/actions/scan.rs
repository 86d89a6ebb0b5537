//! Full-store scans: the cheapest possible read of one field of every series, used to check
//! and measure that reads come straight from the mapping.

use crate::store::{Field, Store, StoreError};
use crate::time::Timeframe;

/// Result of a scan.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct ScanTotals {
    /// Series read.
    pub series: usize,
    /// Values read.
    pub values: u64,
    /// Sum of the values (keeps the read from being optimised away; also a checksum).
    pub sum: f64,
}

/// Reads `field` of every `timeframe` series, chunk by chunk, without copying.
pub fn scan(store: &Store, timeframe: Timeframe, field: Field) -> Result<ScanTotals, StoreError> {
    let mut totals = ScanTotals { series: 0, values: 0, sum: 0.0 };
    for symbol in store.symbols(timeframe) {
        let series = store.series(symbol, timeframe)?.expect("listed symbols exist");
        for chunk in series.chunks() {
            let values = match field {
                Field::Open => chunk.open,
                Field::High => chunk.high,
                Field::Low => chunk.low,
                Field::Close => chunk.close,
                Field::Volume => chunk.volume,
                Field::Vwap => chunk.vwap.unwrap_or(&[]),
            };
            totals.sum += sum(values);
            totals.values += values.len() as u64;
        }
        totals.series += 1;
    }
    Ok(totals)
}

/// Sum with eight independent accumulators, so the loop vectorises (plain `iter().sum()`
/// is a serial dependency chain: floating-point addition is not reassociated for us).
pub fn sum(values: &[f64]) -> f64 {
    const LANES: usize = 8;
    let mut acc = [0.0f64; LANES];
    let chunks = values.chunks_exact(LANES);
    let tail = chunks.remainder();
    for c in chunks {
        for i in 0..LANES {
            acc[i] += c[i];
        }
    }
    acc.iter().sum::<f64>() + tail.iter().sum::<f64>()
}

#[cfg(test)]
mod tests {
    use super::sum;

    #[test]
    fn lane_sum_matches_exact_integers() {
        let v: Vec<f64> = (1..=1003).map(f64::from).collect();
        assert_eq!(sum(&v), 1003.0 * 1004.0 / 2.0);
        assert_eq!(sum(&[]), 0.0);
    }
}
