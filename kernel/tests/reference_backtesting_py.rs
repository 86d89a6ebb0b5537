//! The simulator against backtesting.py 0.6.6 (an independent engine) on the same strategy.
//!
//! Fixtures come from `kernel/tests/fixtures/make_reference.py`: a long-only SMA(10)/SMA(20)
//! cross on `datasets/samples/GOOG.csv`, all-in whole shares, next-open fills, 10,000 cash, with
//! commission 0 and 0.2 % per fill. backtesting.py's conventions and how they are matched:
//! - it sizes `buy()` at the fill price from (1 − ε) of the available cash, net of commission:
//!   our default [`SizingPrice::FillPrice`] + [`Sizing::AllIn`] (ε never changes a share count here);
//! - it charges `commission` on entry and on exit, on the fill value: [`Commission::rate`];
//! - it leaves a position open at the end (`finalize_trades=False`), marked in equity but not a
//!   trade: `close_at_end: false`;
//! - a trade's return is `pnl / (size × entry price)` and "Avg. Trade" is the geometric mean of
//!   trade returns, "Expectancy" the arithmetic mean: the same definitions as our metrics;
//! - its buy-and-hold starts at the first bar the strategy runs (after the 19-bar SMA warm-up):
//!   we pass that slice as the benchmark;
//! - its exposure counts only closed trades' bars; ours also counts the open position's bars,
//!   the one difference, reconciled below by subtracting them.

use datasets::{Bar, Bars, Timestamp};
use kernel::metrics::{Metrics, MetricsConfig, MetricsInput};
use kernel::sim::{Commission, Costs, Signal, SimResult, Simulator, Strength, TradeRules};
use serde_json::Value;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// GOOG.csv (`date,Open,High,Low,Close,Volume`), timestamped at 05:00 UTC (≈ midnight New York;
/// the exact hour plays no part in this comparison).
fn load_goog() -> Bars {
    let text = std::fs::read_to_string(format!("{ROOT}/datasets/samples/GOOG.csv")).unwrap();
    Bars::from_bars(text.lines().skip(1).map(|line| {
        let f: Vec<&str> = line.split(',').collect();
        let ymd: Vec<i64> = f[0].split('-').map(|x| x.parse().unwrap()).collect();
        let num = |i: usize| f[i].parse::<f64>().unwrap();
        let day = days_from_civil(ymd[0], ymd[1], ymd[2]);
        Bar {
            ts: Timestamp((day * 86_400 + 5 * 3_600) * 1_000_000_000),
            open: num(1),
            high: num(2),
            low: num(3),
            close: num(4),
            volume: num(5),
            vwap: None,
            trade_count: None,
        }
    }))
    .unwrap()
}

/// Simple moving average, NaN until `n` values exist (as pandas' `rolling(n).mean()`).
fn sma(x: &[f64], n: usize) -> Vec<f64> {
    (0..x.len())
        .map(|i| if i + 1 < n { f64::NAN } else { x[i + 1 - n..=i].iter().sum::<f64>() / n as f64 })
        .collect()
}

/// backtesting.py's `crossover(a, b)` at bar `i`: `a[i−1] < b[i−1] && a[i] > b[i]`.
fn crossover(a: &[f64], b: &[f64], i: usize) -> bool {
    i > 0 && a[i - 1] < b[i - 1] && a[i] > b[i]
}

fn sma_cross_signals(close: &[f64]) -> Vec<Signal> {
    let (fast, slow) = (sma(close, 10), sma(close, 20));
    (0..close.len())
        .map(|i| {
            if crossover(&fast, &slow, i) {
                Signal::Enter(Strength::FULL)
            } else if crossover(&slow, &fast, i) {
                Signal::Exit
            } else {
                Signal::Hold
            }
        })
        .collect()
}

fn fixture(name: &str) -> Value {
    let path = format!("{ROOT}/kernel/tests/fixtures/{name}.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

fn u(v: &Value) -> usize {
    v.as_u64().unwrap() as usize
}

fn assert_close(ours: f64, theirs: f64, tol: f64, what: &str) {
    assert!((ours - theirs).abs() <= tol, "{what}: ours {ours} vs backtesting.py {theirs}");
}

fn compare(name: &str, rate: f64) {
    let reference = fixture(name);
    let bars = load_goog();
    assert_eq!(bars.len(), u(&reference["bars"]));
    let signals = sma_cross_signals(bars.close());
    let rules = TradeRules {
        costs: Costs { commission: Commission { rate, ..Commission::ZERO }, ..Costs::default() },
        close_at_end: false,
        ..TradeRules::default()
    };
    let result: SimResult = Simulator::new(10_000.0, rules).unwrap().run(&bars, &signals).unwrap();
    let trades = &result.activity.trades;

    let ref_trades = reference["trades"].as_array().unwrap();
    assert_eq!(trades.len(), ref_trades.len(), "number of trades");
    for (k, (ours, theirs)) in trades.iter().zip(ref_trades).enumerate() {
        let what = |field: &str| format!("trade {k} {field}");
        assert_eq!(ours.entry_bar, u(&theirs["entry_bar"]), "{}", what("entry bar"));
        assert_eq!(ours.exit_bar, u(&theirs["exit_bar"]), "{}", what("exit bar"));
        assert_eq!(ours.qty, f(&theirs["size"]), "{}", what("size"));
        assert_eq!(ours.entry_price, f(&theirs["entry_price"]), "{}", what("entry price"));
        assert_eq!(ours.exit_price, f(&theirs["exit_price"]), "{}", what("exit price"));
        assert_close(ours.pnl, f(&theirs["pnl"]), 1e-6, &what("pnl"));
        assert_close(ours.fees, f(&theirs["commission"]), 1e-6, &what("commission"));
        assert_close(ours.ret, f(&theirs["return_pct"]), 1e-12, &what("return"));
    }
    let open = result.activity.open_position.expect("backtesting.py ends with an open trade");
    let ref_open = &reference["open_trades"][0];
    assert_eq!(reference["open_trades"].as_array().unwrap().len(), 1);
    assert_eq!((open.entry_bar, open.qty), (u(&ref_open["entry_bar"]), f(&ref_open["size"])));
    assert_eq!(open.entry_price, f(&ref_open["entry_price"]));

    let ref_equity: Vec<f64> = reference["equity_curve"].as_array().unwrap().iter().map(f).collect();
    assert_eq!(result.equity.len(), ref_equity.len());
    for (t, (ours, theirs)) in result.equity.iter().zip(&ref_equity).enumerate() {
        assert_close(*ours, *theirs, 0.005, &format!("equity at bar {t}"));
    }

    let stats = &reference["stats"];
    let warmup = 19;
    let input =
        MetricsInput { benchmark_close: &bars.close()[warmup..], ..MetricsInput::from_sim(&result, &bars) };
    let m = Metrics::compute(&input, &MetricsConfig { periods_per_year: 252.0, risk_free_rate: 0.0 });
    let pct = |key: &str| f(&stats[key]) / 100.0;
    assert_close(*result.equity.last().unwrap(), f(&stats["Equity Final [$]"]), 0.005, "final equity");
    assert_close(m.total_return, pct("Return [%]"), 1e-9, "return");
    assert_close(m.buy_and_hold_return, pct("Buy & Hold Return [%]"), 1e-12, "buy & hold");
    assert_eq!(m.trades, f(&stats["# Trades"]) as usize);
    assert_close(m.win_rate, pct("Win Rate [%]"), 1e-12, "win rate");
    assert_close(m.max_drawdown, pct("Max. Drawdown [%]"), 1e-9, "max drawdown");
    assert_close(m.best_trade, pct("Best Trade [%]"), 1e-12, "best trade");
    assert_close(m.worst_trade, pct("Worst Trade [%]"), 1e-12, "worst trade");
    assert_close(m.avg_trade, pct("Avg. Trade [%]"), 1e-12, "avg trade");
    assert_close(m.expectancy, pct("Expectancy [%]"), 1e-12, "expectancy");
    assert_close(m.sqn, f(&stats["SQN"]), 1e-9, "SQN");
    let n = bars.len() as f64;
    let open_bars = (bars.len() - open.entry_bar) as f64;
    assert_close(m.exposure - open_bars / n, pct("Exposure Time [%]"), 1e-12, "exposure of closed trades");
}

#[test]
fn sma_cross_matches_backtesting_py_without_commission() {
    compare("goog_sma_cross_no_commission", 0.0);
}

#[test]
fn sma_cross_matches_backtesting_py_with_0_2_percent_commission() {
    compare("goog_sma_cross_commission_0_2pct", 0.002);
}
