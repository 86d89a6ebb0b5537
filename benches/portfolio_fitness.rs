//! Portfolio-fitness benchmark: scoring one candidate against a promoted set of 1 and 8
//! SMA-cross strategies on GOOG daily (2,148 days), from its equity curve: daily returns via
//! precomputed session days, then the score with correlations — through the general path
//! (`PortfolioScorer::score`, aligning by timestamps) and the window path (the portfolio laid
//! out once on the run's days, `WindowScorer::score`).
//!
//! Run: `cargo bench --bench portfolio_fitness`. Throughput is in candidates per second.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use datasets::ingest::{ImportOptions, read_file};
use datasets::{AssetClass, SymbolMeta};
use kernel::sim::TradeRules;
use kernel::strategy::{MarketData, Params, RunResult, SmaCross, Strategy, SymbolData, backtest};
use portfolio_fitness::{PortfolioFitnessConfig, PortfolioMember, PortfolioScorer, SessionDays};

/// Initial cash and equity curve of an SMA cross `fast`/`slow` on `data`.
fn curve(data: &MarketData, fast: u32, slow: u32) -> (f64, Vec<f64>) {
    let params = Params::parse(
        SmaCross.space(),
        [format!("fast={fast}"), format!("slow={slow}")].iter().map(String::as_str),
    )
    .unwrap();
    let bt = backtest(&SmaCross, &params, data, TradeRules::default(), 10_000.0).unwrap();
    let RunResult::Single(result) = bt.result else { unreachable!("one symbol") };
    (result.initial_cash, result.equity)
}

fn scoring(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/samples/GOOG.csv");
    let bars = read_file(&path, &ImportOptions::default()).expect("read GOOG.csv").remove(0).bars;
    let meta = SymbolMeta::new("GOOG", AssetClass::Equity);
    let data = MarketData::new(datasets::Timeframe::Day1, vec![SymbolData { meta, bars }]).unwrap();
    let days = SessionDays::new(data.timestamps()).unwrap();
    let promoted: Vec<PortfolioMember> = (0..8)
        .map(|i| {
            let (cash, equity) = curve(&data, 5 + i, 30 + 5 * i);
            let returns = days.daily_returns(cash, &equity).unwrap();
            PortfolioMember { name: format!("sma_{i}"), allocation: 0.1, returns }
        })
        .collect();
    let (cash, equity) = curve(&data, 12, 26);
    let mut group = c.benchmark_group("portfolio_fitness");
    group.throughput(Throughput::Elements(1));
    for members in [1, 8] {
        let scorer =
            PortfolioScorer::new(PortfolioFitnessConfig::default(), promoted[..members].to_vec()).unwrap();
        group.bench_function(format!("score_goog_promoted{members}"), |b| {
            b.iter(|| {
                let returns = days.daily_returns(cash, black_box(&equity)).unwrap();
                scorer.score(&returns)
            })
        });
        let window = scorer.window(days.days()).unwrap();
        group.bench_function(format!("window_score_goog_promoted{members}"), |b| {
            b.iter(|| {
                let returns = days.daily_returns(cash, black_box(&equity)).unwrap();
                window.score(returns.returns()).unwrap()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, scoring);
criterion_main!(benches);
