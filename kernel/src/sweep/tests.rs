//! Exactness of the SMA-cross grid against `Simulator` + `Metrics::compute`.

use datasets::ingest::{ImportOptions, read_file};
use datasets::{Bar, Bars, Timestamp};
use proptest::prelude::*;

use super::*;
use crate::indicators::sma;
use crate::metrics::{Metrics, MetricsConfig, MetricsInput};
use crate::sim::{
    Commission, Costs, ExitRules, FillTiming, QuantityRule, Simulator, Sizing, SizingPrice, Slippage,
    TradeRules,
};

const DAILY: MetricsConfig = MetricsConfig { periods_per_year: 252.0, risk_free_rate: 0.0 };

fn goog() -> Bars {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../datasets/samples/GOOG.csv");
    read_file(path.as_ref(), &ImportOptions::default()).unwrap().remove(0).bars
}

/// The simulator's answer for one pair: (trades, final equity, return, Sharpe, max drawdown).
fn reference(bars: &Bars, fast: usize, slow: usize, sim: &Simulator, config: &MetricsConfig) -> GridResult {
    let close = bars.close();
    let mut signals = Vec::new();
    cross_signals_into(&sma(close, fast).unwrap(), &sma(close, slow).unwrap(), &mut signals).unwrap();
    let result = sim.run(bars, &signals).unwrap();
    let m = Metrics::compute(&MetricsInput::from_sim(&result, bars), config);
    GridResult {
        fast,
        slow,
        total_return: m.total_return,
        sharpe: m.sharpe,
        max_drawdown: m.max_drawdown,
        trades: m.trades,
        final_equity: result.equity.last().copied().unwrap_or(sim.initial_cash()),
    }
}

fn rel_close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * a.abs().max(b.abs()).max(1.0)
}

/// Asserts the spec's agreement: same trades, final equity within 1e-6, ratios within 1e-9 relative.
fn assert_agrees(fast: &GridResult, slow: &GridResult) {
    let what = format!("pair ({}, {}): grid {fast:?} vs simulator {slow:?}", fast.fast, fast.slow);
    assert_eq!((fast.fast, fast.slow, fast.trades), (slow.fast, slow.slow, slow.trades), "{what}");
    assert!((fast.final_equity - slow.final_equity).abs() <= 1e-6, "{what}");
    assert!(rel_close(fast.total_return, slow.total_return, 1e-9), "{what}");
    assert!(rel_close(fast.sharpe, slow.sharpe, 1e-9), "{what}");
    assert!(rel_close(fast.max_drawdown, slow.max_drawdown, 1e-9), "{what}");
}

fn commission_rules(rate: f64) -> TradeRules {
    TradeRules {
        costs: Costs { commission: Commission { rate, ..Commission::ZERO }, ..Costs::default() },
        ..TradeRules::default()
    }
}

#[test]
fn goog_10_20_matches_the_backtesting_py_reference() {
    // The reference run of kernel/tests/reference_backtesting_py.rs: 46 closed trades, the last
    // position left open, final equity 75,645.99 (backtesting.py's "Equity Final").
    let bars = goog();
    let rules = TradeRules { close_at_end: false, ..TradeRules::default() };
    let sim = Simulator::new(10_000.0, rules).unwrap();
    let grid = sma_cross_grid(&bars, 10..=20, &sim, &DAILY).unwrap();
    assert_eq!(grid.len(), 55);
    let r = grid.iter().find(|r| (r.fast, r.slow) == (10, 20)).unwrap();
    assert_eq!(r.trades, 46);
    assert!((r.final_equity - 75_645.99).abs() < 0.005, "{r:?}");
    assert_agrees(r, &reference(&bars, 10, 20, &sim, &DAILY));
}

#[test]
fn goog_grid_agrees_with_the_simulator_on_every_small_pair_and_a_sample() {
    let bars = goog();
    for rate in [0.0, 0.002] {
        let sim = Simulator::new(10_000.0, commission_rules(rate)).unwrap();
        let grid = sma_cross_grid(&bars, 2..=101, &sim, &DAILY).unwrap();
        assert_eq!(grid.len(), 4950);
        let mut pairs = grid.iter().map(|r| (r.fast, r.slow)).collect::<Vec<_>>();
        assert!(pairs.windows(2).all(|w| w[0] < w[1]), "sorted by (fast, slow)");
        pairs.retain(|&(_, slow)| slow <= 30);
        assert_eq!(pairs.len(), 29 * 28 / 2);
        // Every 25th pair of the whole grid (198 pairs) plus the edges of the range.
        let sample = (0..grid.len()).step_by(25).map(|k| (grid[k].fast, grid[k].slow));
        pairs.extend(sample.chain([(2, 3), (2, 101), (100, 101), (50, 51), (99, 100)]));
        for (fast, slow) in pairs {
            let got = grid.iter().find(|r| (r.fast, r.slow) == (fast, slow)).unwrap();
            assert_agrees(got, &reference(&bars, fast, slow, &sim, &DAILY));
        }
        assert!(grid.iter().all(|r| r.trades > 0), "every pair trades GOOG");
    }
}

#[test]
fn same_results_on_one_thread_and_two() {
    let bars = goog();
    let sim = Simulator::new(10_000.0, commission_rules(0.001)).unwrap();
    let run = |threads| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| sma_cross_grid(&bars, 5..=40, &sim, &DAILY).unwrap())
    };
    let bits = |g: Vec<GridResult>| {
        g.iter()
            .map(|r| (r.sharpe.to_bits(), r.final_equity.to_bits(), r.max_drawdown.to_bits()))
            .collect::<Vec<_>>()
    };
    assert_eq!(bits(run(1)), bits(run(2)));
}

#[test]
fn protective_exits_and_bad_windows_are_rejected() {
    let bars = goog();
    let none = ExitRules::default();
    let cases = [
        (ExitRules { stop_loss: Some(0.05), ..none }, "stop_loss"),
        (ExitRules { take_profit: Some(0.1), ..none }, "take_profit"),
        (ExitRules { trailing_stop: Some(0.1), ..none }, "trailing_stop"),
        (ExitRules { max_bars: Some(5), ..none }, "max_bars"),
    ];
    for (exits, field) in cases {
        let rules = TradeRules { exits, ..TradeRules::default() };
        let sim = Simulator::new(10_000.0, rules).unwrap();
        let err = sma_cross_grid(&bars, 2..=5, &sim, &DAILY).unwrap_err();
        assert_eq!(err, SweepError::UnsupportedExit { field });
        assert!(err.to_string().contains(&format!("`exits.{field}` must be None")), "{err}");
    }
    let sim = Simulator::new(10_000.0, TradeRules::default()).unwrap();
    let err = sma_cross_grid(&bars, 0..=3, &sim, &DAILY).unwrap_err();
    assert!(matches!(err, SweepError::Window(_)), "{err}");
    assert!(sma_cross_grid(&bars, 5..=5, &sim, &DAILY).unwrap().is_empty(), "one window, no pair");
}

/// A random walk on a coarse price grid (so moving averages often tie exactly), with bars
/// spanning their open and close.
fn bars_strategy() -> impl Strategy<Value = Bars> {
    prop::collection::vec((-3i32..=3, 0u8..4, 0u8..4, any::<bool>()), 2..120).prop_map(|steps| {
        let mut price = 100.0f64;
        Bars::from_bars(steps.into_iter().enumerate().map(|(i, (step, up, down, gap))| {
            let open = if gap { price + 0.5 } else { price };
            price = (price + f64::from(step) * 0.5).max(1.0);
            let (hi, lo) = (open.max(price), open.min(price));
            Bar {
                ts: Timestamp(i as i64 * 86_400_000_000_000),
                open,
                high: hi + f64::from(up) * 0.25,
                low: (lo - f64::from(down) * 0.25).max(0.5),
                close: price,
                volume: 1_000.0,
                vwap: None,
                trade_count: None,
            }
        }))
        .unwrap()
    })
}

fn rules_strategy() -> impl Strategy<Value = TradeRules> {
    let commission = prop_oneof![
        Just(Commission::ZERO),
        (0.0..0.01f64, 0.0..20.0f64, 0.0..0.05f64).prop_map(|(rate, per_order, per_share)| Commission {
            per_share,
            per_order,
            rate
        }),
    ];
    let slippage = prop_oneof![
        Just(Slippage::None),
        (0.0..50.0f64).prop_map(Slippage::Bps),
        (0.0..=1.0f64).prop_map(Slippage::RangeFraction)
    ];
    let sizing = prop_oneof![
        Just(Sizing::AllIn),
        (0.05..=1.0f64).prop_map(Sizing::FixedFraction),
        (0.05..0.5f64, 2usize..10).prop_map(|(annual_vol, lookback)| Sizing::VolTarget {
            annual_vol,
            lookback,
            periods_per_year: 252.0
        }),
    ];
    (commission, slippage, sizing, any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
        |(commission, slippage, sizing, same_bar, signal_close, fractional, close_at_end)| TradeRules {
            fill: if same_bar { FillTiming::SameBarClose } else { FillTiming::NextOpen },
            costs: Costs { commission, slippage },
            sizing,
            sizing_price: if signal_close { SizingPrice::SignalClose } else { SizingPrice::FillPrice },
            quantity: if fractional { QuantityRule::Fractional } else { QuantityRule::Whole },
            exits: ExitRules::default(),
            close_at_end,
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn grid_equals_the_simulator_on_random_bars_and_rules(
        bars in bars_strategy(),
        rules in rules_strategy(),
        first in 1usize..6,
        span in 1usize..12,
        cash in prop_oneof![Just(10_000.0), 20.0..500.0f64],
        rf in prop_oneof![Just(0.0), 0.0..0.05f64],
    ) {
        let sim = Simulator::new(cash, rules).unwrap();
        let config = MetricsConfig { periods_per_year: 252.0, risk_free_rate: rf };
        let grid = sma_cross_grid(&bars, first..=first + span, &sim, &config).unwrap();
        prop_assert_eq!(grid.len(), (span + 1) * span / 2);
        for got in &grid {
            let want = reference(&bars, got.fast, got.slow, &sim, &config);
            // Same arithmetic in the same order: equal to the last bit.
            prop_assert_eq!(got.trades, want.trades);
            prop_assert_eq!(got.final_equity.to_bits(), want.final_equity.to_bits(), "{:?} vs {:?}", got, want);
            prop_assert_eq!(got.total_return.to_bits(), want.total_return.to_bits());
            prop_assert_eq!(got.sharpe.to_bits(), want.sharpe.to_bits(), "{:?} vs {:?}", got, want);
            prop_assert_eq!(got.max_drawdown.to_bits(), want.max_drawdown.to_bits());
        }
    }
}
