//! Descriptors of real kernel backtests on the GOOG sample (2,148 daily bars).

use std::path::Path;

use datasets::ingest::{ImportOptions, read_file};
use datasets::{AssetClass, SymbolMeta};
use kernel::sim::TradeRules;
use kernel::strategy::{MarketData, MeanReversion, Params, SmaCross, Strategy, SymbolData, backtest};
use novelty::{BehaviourDescriptor, BehaviourInput, Benchmark, novelty_scores};

fn goog() -> MarketData {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../datasets/samples/GOOG.csv");
    let series = read_file(&path, &ImportOptions::default()).unwrap().remove(0);
    let meta = SymbolMeta::new("GOOG", AssetClass::Equity);
    MarketData::new(series.timeframe, vec![SymbolData { meta, bars: series.bars }]).unwrap()
}

fn describe(
    data: &MarketData,
    strategy: &dyn Strategy,
    params: &[&str],
) -> (BehaviourDescriptor, f64, usize) {
    let params = Params::parse(strategy.space(), params.iter().copied()).unwrap();
    let bt = backtest(strategy, &params, data, TradeRules::default(), 10_000.0).unwrap();
    let benchmark = Benchmark::new(data.symbols()[0].bars.close()).unwrap();
    let d = BehaviourDescriptor::compute(&BehaviourInput::from_backtest(&bt, &benchmark, 252.0)).unwrap();
    (d, bt.metrics.exposure, bt.metrics.trades)
}

#[test]
fn similar_strategies_sit_close_and_a_different_one_far() {
    let data = goog();
    let (a, exposure, trades) = describe(&data, &SmaCross, &["fast=10", "slow=20"]);
    let (b, ..) = describe(&data, &SmaCross, &["fast=10", "slow=21"]);
    let (c, ..) = describe(&data, &MeanReversion, &[]);
    // The dimensions are the documented transforms of the backtest's figures.
    let v = a.values();
    assert_eq!(v[2], exposure);
    let per_year = trades as f64 * 252.0 / data.len() as f64;
    assert!((v[0] - per_year / (per_year + 12.0)).abs() < 1e-12);
    assert!(v.iter().all(|x| (0.0..=1.0).contains(x)));
    assert!(v[4..].iter().all(|x| (0.0..=0.5).contains(x)));
    // A trend follower is exposed to the market: β well above 0 (reads above ⅓).
    assert!(v[3] > 0.45, "beta dimension {}", v[3]);

    let near = a.distance(&b);
    let far = a.distance(&c);
    assert!(near * 3.0 < far, "10/20 vs 10/21: {near}; vs mean reversion: {far}");

    // In a population of three trend followers and one mean-reverter, the mean-reverter is the
    // most novel.
    let (d, ..) = describe(&data, &SmaCross, &["fast=11", "slow=20"]);
    let scores = novelty_scores(&[a, b, d, c], &[], 2);
    let most = scores.iter().enumerate().max_by(|x, y| x.1.total_cmp(y.1)).unwrap().0;
    assert_eq!(most, 3, "{scores:?}");
}
