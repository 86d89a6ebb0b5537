//! Kernel benchmarks: one SMA-cross backtest and the 4,950-pair SMA-cross grid on GOOG daily
//! (2,148 bars), and indicators over a million values.
//!
//! The `scaling` group shows how cost grows with bars (one backtest over 5, 20 and 80 years),
//! with combinations (grids of 300, 1,225 and 4,950 pairs) and with symbols (a factor-momentum
//! portfolio over 50 and 200 stocks).
//!
//! Run: `cargo bench --bench kernel` (`RAYON_NUM_THREADS=1` for the single-core grid figure).
//! The grid's throughput is in bar-combinations (pairs × bars) per second.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use datasets::Bars;
use datasets::ingest::{ImportOptions, read_file};
use datasets::synth::{SynthConfig, Universe};
use kernel::indicators::{IndicatorError, ema_into, rolling_max_into, rolling_std_into, rsi_into, sma_into};
use kernel::metrics::{Metrics, MetricsConfig, MetricsInput};
use kernel::sim::{Commission, Costs, SimResult, Simulator, TradeRules};
use kernel::strategy::{self, MarketData, Params, SymbolData};
use kernel::sweep::{cross_signals_into, sma_cross_grid};

const DAILY: MetricsConfig = MetricsConfig { periods_per_year: 252.0, risk_free_rate: 0.0 };

fn goog() -> Bars {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/samples/GOOG.csv");
    read_file(&path, &ImportOptions::default()).expect("read GOOG.csv").remove(0).bars
}

/// Cash 10,000, all-in whole shares, next-open fills, 0.2 % commission per fill.
fn simulator() -> Simulator {
    let commission = Commission { rate: 0.002, ..Commission::ZERO };
    let rules = TradeRules { costs: Costs { commission, ..Costs::default() }, ..TradeRules::default() };
    Simulator::new(10_000.0, rules).unwrap()
}

fn sma_cross(c: &mut Criterion) {
    let bars = goog();
    let sim = simulator();
    let mut group = c.benchmark_group("sma_cross");
    let n = bars.len();
    let (mut fast, mut slow) = (vec![0.0; n], vec![0.0; n]);
    let (mut signals, mut result) = (Vec::new(), SimResult::default());
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function("sma_cross_backtest_goog", |b| {
        b.iter(|| {
            let close = black_box(&bars).close();
            sma_into(close, 10, &mut fast).unwrap();
            sma_into(close, 20, &mut slow).unwrap();
            cross_signals_into(&fast, &slow, &mut signals).unwrap();
            sim.run_into(&bars, &signals, &mut result).unwrap();
            Metrics::compute(&MetricsInput::from_sim(&result, &bars), &DAILY)
        })
    });
    let pairs = 100 * 99 / 2;
    group.throughput(Throughput::Elements((pairs * n) as u64));
    group.sample_size(20);
    group.bench_function("sma_cross_grid_goog_4950", |b| {
        b.iter(|| sma_cross_grid(black_box(&bars), 2..=101, &sim, &DAILY).unwrap())
    });
    group.finish();
}

/// One synthetic stock's daily bars over `years`, and a universe's first `stocks` stocks.
fn synthetic(years: u32, stocks: usize) -> (Bars, Vec<SymbolData>) {
    let config = SynthConfig { symbols: stocks.max(1), years, minute_days: 0, ..SynthConfig::default() };
    let universe = Universe::new(&config).unwrap();
    let first_stock = universe.symbols().iter().position(|m| m.symbol == "S0001").unwrap();
    let data = (first_stock..first_stock + stocks)
        .map(|i| SymbolData { meta: universe.symbols()[i].clone(), bars: universe.daily(i) })
        .collect();
    (universe.daily(first_stock), data)
}

fn scaling(c: &mut Criterion) {
    let sim = simulator();
    let mut group = c.benchmark_group("scaling");
    group.sample_size(20);
    let (mut fast, mut slow) = (Vec::new(), Vec::new());
    let (mut signals, mut result) = (Vec::new(), SimResult::default());
    for years in [5, 20, 80] {
        let (bars, _) = synthetic(years, 1);
        let n = bars.len();
        fast.resize(n, 0.0);
        slow.resize(n, 0.0);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(format!("backtest_bars_{n}"), |b| {
            b.iter(|| {
                sma_into(bars.close(), 10, &mut fast).unwrap();
                sma_into(bars.close(), 20, &mut slow).unwrap();
                cross_signals_into(&fast, &slow, &mut signals).unwrap();
                sim.run_into(black_box(&bars), &signals, &mut result).unwrap();
                Metrics::compute(&MetricsInput::from_sim(&result, &bars), &DAILY)
            })
        });
    }
    let bars = goog();
    for last in [26, 51, 101] {
        let pairs = (last - 1) * (last - 2) / 2;
        group.throughput(Throughput::Elements((pairs * bars.len()) as u64));
        group.bench_function(format!("grid_pairs_{pairs}"), |b| {
            b.iter(|| sma_cross_grid(black_box(&bars), 2..=last, &sim, &DAILY).unwrap())
        });
    }
    let strategy = strategy::by_name("factor_momentum").unwrap();
    let params = Params::defaults(strategy.space());
    for stocks in [50, 200] {
        let (_, symbols) = synthetic(10, stocks);
        let data = MarketData::new(datasets::Timeframe::Day1, symbols).unwrap();
        group.throughput(Throughput::Elements((stocks * data.len()) as u64));
        group.bench_function(format!("factor_momentum_symbols_{stocks}"), |b| {
            b.iter(|| {
                strategy::backtest(strategy, &params, black_box(&data), TradeRules::default(), 100_000.0)
                    .unwrap()
            })
        });
    }
    group.finish();
}

/// A million-step multiplicative random walk from a fixed xorshift seed.
fn walk(len: usize) -> Vec<f64> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut price = 100.0;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            price *= 1.0 + ((state >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 0.02;
            price
        })
        .collect()
}

type Indicator = fn(&[f64], usize, &mut [f64]) -> Result<(), IndicatorError>;

fn indicators(c: &mut Criterion) {
    let x = walk(1_000_000);
    let mut out = vec![0.0; x.len()];
    let mut group = c.benchmark_group("indicators_1e6");
    group.throughput(Throughput::Elements(x.len() as u64));
    let cases: [(&str, Indicator, usize); 5] = [
        ("sma_20", sma_into, 20),
        ("ema_20", ema_into, 20),
        ("rsi_14", rsi_into, 14),
        ("rolling_std_20", rolling_std_into, 20),
        ("rolling_max_20", rolling_max_into, 20),
    ];
    for (name, f, n) in cases {
        group.bench_function(name, |b| b.iter(|| f(black_box(&x), n, &mut out).unwrap()));
    }
    group.finish();
}

criterion_group!(benches, sma_cross, scaling, indicators);
criterion_main!(benches);
