//! Behaviour descriptors: what a strategy *did*, as a fixed-length vector whose Euclidean
//! distances are meaningful.
//!
//! Every dimension is scaled into a bounded range so no single one dominates the distance:
//!
//! | # | name | raw quantity | scaled value |
//! |---|---|---|---|
//! | 0 | `trade_frequency` | `f` = closed trades per year, `trades × P / n` | `f / (f + 12)`: 0 with no trades, ½ at one a month, → 1 |
//! | 1 | `holding_period` | `h` = mean bars held per closed trade, in years, `avg_bars_held / P` | `h / (h + 1/12)`: ½ at one month, → 1 |
//! | 2 | `exposure` | share of bars with a position held | as is, in [0, 1] |
//! | 3 | `beta` | `β = cov(r, b) / var(b)` of per-bar returns against the benchmark's | `(clamp(β, −1, 2) + 1) / 3`: ⅓ at β = 0, ⅔ at β = 1 |
//! | 4–11 | `signature_0..7` | `z_j = ln(E_end / E_start) / s_j` over the `j`-th of 8 equal slices of the bars | `(1 + tanh(z_j)) / 4`, in [0, ½], ¼ when flat |
//!
//! `P` is bars per year, `n` the number of bars, `r_t = E_t / E_{t−1} − 1` and
//! `b_t = c_t / c_{t−1} − 1` for `t ≥ 1` (0 when the previous value is not positive). A slice's
//! scale `s_j = σ_b × √m_j` is the benchmark's typical move over the slice (`σ_b` the sample sd
//! of its per-bar log returns, `m_j` the slice's bars; 0.1 when that is not positive), so the
//! signature reads "how many market moves did the strategy make or lose in this part of the
//! period" on any timeframe. Slice `j` covers bars `⌊j·n/8⌋..⌊(j+1)·n/8⌋`, its start equity is
//! the previous slice's last (the initial equity for the first); an empty slice reads ¼.
//!
//! The signature's 8 dimensions are halved (range ½) so that together they weigh about as much
//! as the 4 scalar ones: the largest possible distance is √(4 + 8/4) = √6.

use kernel::metrics::Metrics;
use kernel::sim::SimResult;
use kernel::strategy::{Backtest, RunResult};
use serde::{Deserialize, Serialize};

use crate::Benchmark;

/// Slices of the period in the return signature.
pub const SIGNATURE_BUCKETS: usize = 8;

/// Dimensions of a [`BehaviourDescriptor`].
pub const DIMS: usize = 4 + SIGNATURE_BUCKETS;

/// Name of each dimension, in order (for logs and reports).
pub const DIMENSION_NAMES: [&str; DIMS] = [
    "trade_frequency",
    "holding_period",
    "exposure",
    "beta",
    "signature_0",
    "signature_1",
    "signature_2",
    "signature_3",
    "signature_4",
    "signature_5",
    "signature_6",
    "signature_7",
];

/// Trades per year at which `trade_frequency` reads ½.
const HALF_FREQUENCY: f64 = 12.0;
/// Holding period in years at which `holding_period` reads ½.
const HALF_HOLDING_YEARS: f64 = 1.0 / 12.0;
/// Clamp of β before scaling.
const BETA_RANGE: (f64, f64) = (-1.0, 2.0);
/// Signature scale when the benchmark does not move.
const FALLBACK_SCALE: f64 = 0.1;

/// A strategy's behaviour as [`DIMS`] values in [0, 1] (see the module docs for each).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "[f64; DIMS]", into = "[f64; DIMS]")]
pub struct BehaviourDescriptor([f64; DIMS]);

/// A descriptor that cannot be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DescriptorError {
    /// An input value that is NaN or infinite.
    #[error("behaviour descriptor: `{field}` is not finite ({value})")]
    NonFinite {
        /// Input field name.
        field: &'static str,
        /// The value given.
        value: f64,
    },
    /// An input or dimension out of its range.
    #[error("behaviour descriptor: `{field}` {reason}")]
    Invalid {
        /// Input field or dimension name.
        field: &'static str,
        /// What is wrong, with the value given.
        reason: String,
    },
}

/// What a descriptor is computed from: one backtest's equity curve and activity, and the
/// benchmark it is measured against. Plain slices, so any evaluator can fill it.
#[derive(Clone, Copy, Debug)]
pub struct BehaviourInput<'a> {
    /// Equity before the first bar (positive).
    pub initial_equity: f64,
    /// Equity at each bar's close.
    pub equity: &'a [f64],
    /// Closed trades.
    pub trades: usize,
    /// Mean bars held per closed trade.
    pub avg_bars_held: f64,
    /// Share of bars with a position held, in [0, 1].
    pub exposure: f64,
    /// The market over the same bars (prepared once per data window).
    pub benchmark: &'a Benchmark,
    /// Bars per year, `P` (e.g. [`kernel::metrics::MetricsConfig::periods_per_year`]).
    pub periods_per_year: f64,
    /// β when the caller accumulated it in its own pass over `equity` ([`Benchmark::beta_sum`],
    /// the same bits); `None`: computed here, in a pass of its own.
    pub beta: Option<f64>,
}

impl<'a> BehaviourInput<'a> {
    /// The input of a single-symbol simulation and its metrics.
    pub fn from_sim(
        result: &'a SimResult,
        metrics: &Metrics,
        benchmark: &'a Benchmark,
        periods_per_year: f64,
    ) -> Self {
        Self::from_curve(result.initial_cash, &result.equity, metrics, benchmark, periods_per_year)
    }

    /// The input of a kernel backtest (single-symbol or portfolio run).
    pub fn from_backtest(backtest: &'a Backtest, benchmark: &'a Benchmark, periods_per_year: f64) -> Self {
        let (initial, equity) = match &backtest.result {
            RunResult::Single(r) => (r.initial_cash, r.equity.as_slice()),
            RunResult::Portfolio(p) => (p.initial_cash, p.equity.as_slice()),
        };
        Self::from_curve(initial, equity, &backtest.metrics, benchmark, periods_per_year)
    }

    fn from_curve(
        initial_equity: f64,
        equity: &'a [f64],
        metrics: &Metrics,
        benchmark: &'a Benchmark,
        periods_per_year: f64,
    ) -> Self {
        BehaviourInput {
            initial_equity,
            equity,
            trades: metrics.trades,
            avg_bars_held: metrics.avg_bars_held,
            exposure: metrics.exposure,
            benchmark,
            periods_per_year,
            beta: None,
        }
    }

    /// Checks the ranges the formulas rely on.
    fn validate(&self) -> Result<(), DescriptorError> {
        let invalid = |field, reason| Err(DescriptorError::Invalid { field, reason });
        if !(self.initial_equity.is_finite() && self.initial_equity > 0.0) {
            return invalid(
                "initial_equity",
                format!("must be finite and positive (got {})", self.initial_equity),
            );
        }
        if !(self.periods_per_year.is_finite() && self.periods_per_year > 0.0) {
            return invalid(
                "periods_per_year",
                format!("must be finite and positive (got {})", self.periods_per_year),
            );
        }
        if !(0.0..=1.0).contains(&self.exposure) {
            return invalid("exposure", format!("must be in [0, 1] (got {})", self.exposure));
        }
        if !(self.avg_bars_held.is_finite() && self.avg_bars_held >= 0.0) {
            return invalid(
                "avg_bars_held",
                format!("must be finite and not negative (got {})", self.avg_bars_held),
            );
        }
        if self.benchmark.bars() != self.equity.len() {
            return invalid(
                "benchmark",
                format!(
                    "covers {} bars but the equity curve has {}",
                    self.benchmark.bars(),
                    self.equity.len()
                ),
            );
        }
        // Blocks checked without early exit inside, so the check vectorises.
        let finite = |block: &[f64]| block.iter().fold(true, |ok, x| ok & x.is_finite());
        match self.equity.chunks(64).all(finite) {
            true => Ok(()),
            false => {
                let value = self.equity.iter().copied().find(|x| !x.is_finite()).unwrap_or(f64::NAN);
                Err(DescriptorError::NonFinite { field: "equity", value })
            }
        }
    }
}

/// `x / (x + half)`: 0 at 0, ½ at `half`, → 1.
fn squash(x: f64, half: f64) -> f64 {
    x / (x + half)
}

impl BehaviourDescriptor {
    /// Computes the descriptor of one backtest (see the module docs for every dimension).
    pub fn compute(input: &BehaviourInput<'_>) -> Result<Self, DescriptorError> {
        input.validate()?;
        let equity = input.equity;
        let n = equity.len();
        let p = input.periods_per_year;
        let mut v = [0.0; DIMS];
        if n > 0 {
            v[0] = squash(input.trades as f64 * p / n as f64, HALF_FREQUENCY);
        }
        v[1] = squash(input.avg_bars_held / p, HALF_HOLDING_YEARS);
        v[2] = input.exposure;
        let beta =
            input.beta.unwrap_or_else(|| input.benchmark.beta(equity)).clamp(BETA_RANGE.0, BETA_RANGE.1);
        v[3] = (beta - BETA_RANGE.0) / (BETA_RANGE.1 - BETA_RANGE.0);

        let mut start_equity = input.initial_equity;
        for (j, slot) in v[4..].iter_mut().enumerate() {
            let (lo, hi) = (j * n / SIGNATURE_BUCKETS, (j + 1) * n / SIGNATURE_BUCKETS);
            let z = if hi > lo {
                let end_equity = equity[hi - 1];
                // A slice that ends wiped out (or below 0) reads as a total loss.
                let log_return = match (start_equity > 0.0, end_equity > 0.0) {
                    (false, _) => 0.0,
                    (true, true) => (end_equity / start_equity).ln(),
                    (true, false) => f64::NEG_INFINITY,
                };
                start_equity = end_equity;
                let scale = input.benchmark.typical_move(hi - lo);
                log_return / if scale > 0.0 { scale } else { FALLBACK_SCALE }
            } else {
                0.0
            };
            *slot = (1.0 + z.tanh()) / 4.0;
        }
        Self::from_values(v)
    }

    /// A descriptor from raw, already scaled values (tests, or descriptors computed elsewhere);
    /// every value must lie in [0, 1], as every computed dimension does.
    pub fn from_values(values: [f64; DIMS]) -> Result<Self, DescriptorError> {
        match values.iter().position(|x| !(0.0..=1.0).contains(x)) {
            Some(i) => Err(DescriptorError::Invalid {
                field: DIMENSION_NAMES[i],
                reason: format!("must be in [0, 1] (got {})", values[i]),
            }),
            None => Ok(BehaviourDescriptor(values)),
        }
    }

    /// The scaled values, in [`DIMENSION_NAMES`] order.
    pub fn values(&self) -> &[f64; DIMS] {
        &self.0
    }

    /// Squared Euclidean distance to `other`, summed dimension by dimension ([`crate::novelty_scores`]
    /// sums the same way in single precision).
    pub fn distance_sq(&self, other: &BehaviourDescriptor) -> f64 {
        let mut sum = 0.0;
        for (a, b) in self.0.iter().zip(&other.0) {
            sum += (a - b) * (a - b);
        }
        sum
    }

    /// Euclidean distance to `other`.
    pub fn distance(&self, other: &BehaviourDescriptor) -> f64 {
        self.distance_sq(other).sqrt()
    }
}

impl TryFrom<[f64; DIMS]> for BehaviourDescriptor {
    type Error = DescriptorError;

    fn try_from(values: [f64; DIMS]) -> Result<Self, Self::Error> {
        Self::from_values(values)
    }
}

impl From<BehaviourDescriptor> for [f64; DIMS] {
    fn from(d: BehaviourDescriptor) -> Self {
        d.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(equity: &'a [f64], benchmark: &'a Benchmark) -> BehaviourInput<'a> {
        BehaviourInput {
            initial_equity: 100.0,
            equity,
            trades: 0,
            avg_bars_held: 0.0,
            exposure: 0.0,
            benchmark,
            periods_per_year: 252.0,
            beta: None,
        }
    }

    fn market(n: usize) -> Vec<f64> {
        (0..n).map(|t| 100.0 + t as f64 * 0.1 + ((t * 7 % 11) as f64 - 5.0) * 0.2).collect()
    }

    #[test]
    fn flat_cash_reads_zero_activity_zero_beta_and_a_neutral_signature() {
        let bench = Benchmark::new(&market(80)).unwrap();
        let d = BehaviourDescriptor::compute(&input(&[100.0; 80], &bench)).unwrap();
        let mut expected = [0.25; DIMS];
        expected[..4].copy_from_slice(&[0.0, 0.0, 0.0, 1.0 / 3.0]);
        assert_eq!(d.values(), &expected);
    }

    #[test]
    fn buy_and_hold_has_beta_one_and_scalars_scale_as_documented() {
        let close = market(80);
        let bench = Benchmark::new(&close).unwrap();
        let equity: Vec<f64> = close.iter().map(|c| c * 2.0).collect();
        let mut i = input(&equity, &bench);
        i.initial_equity = close[0] * 2.0;
        (i.trades, i.avg_bars_held, i.exposure) = (20, 21.0, 1.0);
        let d = BehaviourDescriptor::compute(&i).unwrap();
        let v = d.values();
        // 20 trades in 80 bars at 252 bars a year is 63 a year: 63 / 75.
        assert!((v[0] - 63.0 / 75.0).abs() < 1e-12, "{}", v[0]);
        // 21 bars is 1/12 of a year: ½.
        assert!((v[1] - 0.5).abs() < 1e-12, "{}", v[1]);
        assert_eq!(v[2], 1.0);
        assert!((v[3] - 2.0 / 3.0).abs() < 1e-12, "beta 1 reads 2/3: {}", v[3]);
        // Each signature slice is the slice's log return over the market's typical move.
        let log_returns: Vec<f64> = close.windows(2).map(|w| (w[1] / w[0]).ln()).collect();
        let mean = log_returns.iter().sum::<f64>() / 79.0;
        let sd = (log_returns.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 78.0).sqrt();
        for j in 0..SIGNATURE_BUCKETS {
            let (lo, hi) = (j * 10, j * 10 + 10);
            let start = if j == 0 { i.initial_equity } else { equity[lo - 1] };
            let z = (equity[hi - 1] / start).ln() / (sd * 10f64.sqrt());
            assert!((v[4 + j] - (1.0 + z.tanh()) / 4.0).abs() < 1e-12);
        }
        assert!(v[4..].iter().all(|&x| (0.0..=0.5).contains(&x)));
    }

    #[test]
    fn beta_is_clamped_and_a_shorter_series_leaves_empty_slices_neutral() {
        let close = [100.0, 101.0, 99.0, 102.0];
        // Equity moving 5x the market's returns: beta 5, clamped to 2, reads 1.
        let mut equity = vec![100.0];
        for w in close.windows(2) {
            let last = *equity.last().unwrap();
            equity.push(last * (1.0 + 5.0 * (w[1] / w[0] - 1.0)));
        }
        let bench = Benchmark::new(&close).unwrap();
        let d = BehaviourDescriptor::compute(&input(&equity, &bench)).unwrap();
        assert_eq!(d.values()[3], 1.0);
        // 4 bars over 8 slices: slices 0, 2, 4, 6 are empty.
        for j in [0, 2, 4, 6] {
            assert_eq!(d.values()[4 + j], 0.25);
        }
    }

    #[test]
    fn bad_inputs_are_refused_naming_the_field() {
        let close = market(10);
        let bench = Benchmark::new(&close).unwrap();
        let err = BehaviourDescriptor::compute(&input(&close[..9], &bench)).unwrap_err();
        assert!(err.to_string().contains("`benchmark` covers 10 bars but the equity curve has 9"), "{err}");
        let mut i = input(&close, &bench);
        i.exposure = 1.5;
        assert!(BehaviourDescriptor::compute(&i).unwrap_err().to_string().contains("`exposure`"));
        let mut bad = [0.0; DIMS];
        bad[3] = f64::NAN;
        let err = BehaviourDescriptor::from_values(bad).unwrap_err();
        assert!(err.to_string().contains("`beta` must be in [0, 1] (got NaN)"), "{err}");
        bad[3] = 1.5;
        assert!(BehaviourDescriptor::from_values(bad).is_err());
    }

    #[test]
    fn serde_refuses_non_finite_values() {
        let d = BehaviourDescriptor::from_values([0.5; DIMS]).unwrap();
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(serde_json::from_str::<BehaviourDescriptor>(&json).unwrap(), d);
        let bad = json.replacen("0.5", "1e999", 1);
        assert!(serde_json::from_str::<BehaviourDescriptor>(&bad).is_err());
    }
}
