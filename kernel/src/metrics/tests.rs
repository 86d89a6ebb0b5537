//! Metric formulas on hand-computed series and every edge case that could produce NaN or inf.

use datasets::Timestamp;

use super::*;
use crate::sim::ExitReason;

fn trade(pnl: f64, ret: f64, bars: usize) -> Trade {
    Trade {
        entry_signal_bar: 0,
        entry_bar: 1,
        exit_bar: 1 + bars,
        exit_signal_bar: None,
        entry_time: Timestamp(0),
        exit_time: Timestamp(0),
        entry_price: 1.0,
        exit_price: 1.0,
        qty: 1.0,
        fees: 0.0,
        pnl,
        ret,
        exit_reason: ExitReason::Signal,
    }
}

const DAILY: MetricsConfig = MetricsConfig { periods_per_year: 252.0, risk_free_rate: 0.0 };

fn input<'a>(equity: &'a [f64], ts: &'a [i64], trades: &'a [Trade]) -> MetricsInput<'a> {
    MetricsInput {
        initial_equity: 100.0,
        equity,
        timestamps: ts,
        trades: TradeList::Slice(trades),
        exposed_bars: 0,
        traded_notional: 0.0,
        benchmark_close: &[],
    }
}

fn all_finite(m: &Metrics) -> bool {
    [
        m.total_return,
        m.cagr,
        m.volatility,
        m.sharpe,
        m.sortino,
        m.calmar,
        m.max_drawdown,
        m.avg_drawdown,
        m.win_rate,
        m.best_trade,
        m.worst_trade,
        m.avg_trade,
        m.profit_factor,
        m.expectancy,
        m.exposure,
        m.avg_bars_held,
        m.turnover,
        m.sqn,
        m.kelly,
        m.buy_and_hold_return,
    ]
    .iter()
    .all(|x| x.is_finite())
}

#[test]
fn no_bars_and_no_trades_give_all_zero() {
    let m = Metrics::compute(&input(&[], &[], &[]), &DAILY);
    assert_eq!(m, Metrics::default());
}

#[test]
fn flat_equity_gives_zero_ratios_not_nan() {
    let ts = [0, 1, 2, 3];
    let m = Metrics::compute(&input(&[100.0; 4], &ts, &[]), &DAILY);
    assert_eq!(m, Metrics::default());
    assert!(all_finite(&m));
}

#[test]
fn returns_volatility_sharpe_sortino_and_drawdown_by_hand() {
    // Returns +10 %, −10 %, +10 %.
    let eq = [110.0, 99.0, 108.9];
    let ts = [0, 10, 20];
    let mut inp = input(&eq, &ts, &[]);
    inp.exposed_bars = 2;
    inp.traded_notional = 300.0;
    inp.benchmark_close = &[50.0, 60.0, 55.0];
    let m = Metrics::compute(&inp, &DAILY);
    let mean: f64 = 0.1 / 3.0;
    let sd = ((2.0 * (0.1 - mean).powi(2) + (-0.1 - mean).powi(2)) / 2.0).sqrt();
    let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
    assert!(close(m.total_return, 0.089));
    // 3 bars 10 ns apart: 30 ns of calendar time, a gain so huge it is capped.
    assert_eq!(m.cagr, f64::MAX);
    assert!(close(m.volatility, sd * 252f64.sqrt()));
    assert!(close(m.sharpe, mean * 252f64.sqrt() / sd));
    let downside = (0.01f64 / 3.0).sqrt();
    assert!(close(m.sortino, mean * 252f64.sqrt() / downside));
    assert!(close(m.max_drawdown, -0.1));
    assert!(close(m.avg_drawdown, -0.1));
    assert_eq!((m.max_drawdown_bars, m.max_drawdown_nanos), (2, 20));
    assert!(close(m.calmar, RATIO_CAP), "a huge CAGR over 3 bars is clamped");
    assert!(close(m.exposure, 2.0 / 3.0));
    let mean_eq = (110.0 + 99.0 + 108.9) / 3.0;
    assert!(close(m.turnover, 150.0 / mean_eq / (3.0 / 252.0)));
    assert!(close(m.buy_and_hold_return, 0.1));
}

#[test]
fn cagr_counts_calendar_years_whatever_the_bars_per_year() {
    const DAY: i64 = 86_400_000_000_000;
    // 10 % over 731 bars one day apart: 730 days of span times 731 / 730 = 731 days.
    let n = 731;
    let ts: Vec<i64> = (0..n).map(|i| i * DAY).collect();
    let mut eq = vec![100.0; n as usize];
    eq[n as usize - 1] = 110.0;
    let years = calendar_years(&ts, 252.0);
    assert!((years - 730.0 * DAY as f64 / NANOS_PER_YEAR * 731.0 / 730.0).abs() < 1e-12, "{years}");
    let expected = 1.1f64.powf(1.0 / years) - 1.0;
    for p in [252.0, 365.0, 260.0 * 24.0] {
        let config = MetricsConfig { periods_per_year: p, risk_free_rate: 0.0 };
        let m = Metrics::compute(&input(&eq, &ts, &[]), &config);
        assert!((m.cagr - expected).abs() < 1e-15, "P = {p}: {} vs {expected}", m.cagr);
    }
    assert!((expected - 0.048775).abs() < 1e-6, "about 4.9 % a year over two years: {expected}");
    // Without increasing timestamps the bars count: n / P years.
    assert_eq!(calendar_years(&[5], 252.0), 1.0 / 252.0);
    assert_eq!(calendar_years(&[], 252.0), 0.0);
}

#[test]
fn risk_free_rate_lowers_sharpe() {
    let eq = [101.0, 100.0, 102.0, 103.0];
    let ts = [0, 1, 2, 3];
    let base = Metrics::compute(&input(&eq, &ts, &[]), &DAILY);
    let with_rf = MetricsConfig { risk_free_rate: 0.05, ..DAILY };
    let m = Metrics::compute(&input(&eq, &ts, &[]), &with_rf);
    let rf_p = 1.05f64.powf(1.0 / 252.0) - 1.0;
    let expected = base.sharpe - rf_p * 252f64.sqrt() / (base.volatility / 252f64.sqrt());
    assert!((m.sharpe - expected).abs() < 1e-9, "{} vs {}", m.sharpe, expected);
    assert!(m.sharpe < base.sharpe);
}

#[test]
fn one_winning_trade() {
    let trades = [trade(10.0, 0.1, 3)];
    let m = Metrics::compute(&input(&[110.0], &[0], &trades), &DAILY);
    assert_eq!(m.trades, 1);
    assert_eq!((m.win_rate, m.best_trade, m.worst_trade, m.expectancy), (1.0, 0.1, 0.1, 0.1));
    assert!((m.avg_trade - 0.1).abs() < 1e-15);
    assert_eq!(m.profit_factor, RATIO_CAP, "no losses: capped");
    assert_eq!(m.sqn, 0.0, "needs two trades");
    assert_eq!(m.kelly, 1.0);
    assert_eq!(m.avg_bars_held, 3.0);
    assert_eq!(m.sharpe, 0.0, "one bar has no variance");
    assert_eq!(m.sortino, 0.0, "one bar is too few");
    let two = Metrics::compute(&input(&[105.0, 110.0], &[0, 1], &trades), &DAILY);
    assert_eq!(two.sortino, RATIO_CAP, "no downside, positive mean");
    assert!(all_finite(&m));
}

#[test]
fn all_winners_all_losers_and_a_mix() {
    let winners = [trade(10.0, 0.1, 1), trade(20.0, 0.2, 3)];
    let m = Metrics::compute(&input(&[130.0], &[0], &winners), &DAILY);
    assert_eq!((m.profit_factor, m.kelly, m.win_rate), (RATIO_CAP, 1.0, 1.0));
    // pnl 10, 20: mean 15, sd √50; SQN = √2 · 15 / √50 = 3.
    assert!((m.sqn - 3.0).abs() < 1e-12);
    assert!((m.avg_trade - (1.1f64 * 1.2).sqrt() + 1.0).abs() < 1e-12, "geometric mean");
    assert!((m.expectancy - 0.15).abs() < 1e-12);
    assert_eq!(m.avg_bars_held, 2.0);

    let losers = [trade(-10.0, -0.1, 1), trade(-5.0, -0.05, 1)];
    let m = Metrics::compute(&input(&[85.0], &[0], &losers), &DAILY);
    assert_eq!((m.profit_factor, m.kelly, m.win_rate), (0.0, -1.0, 0.0));
    assert!(all_finite(&m));

    let mix = [trade(30.0, 0.3, 1), trade(-10.0, -0.1, 1), trade(-20.0, -0.2, 1)];
    let m = Metrics::compute(&input(&[100.0], &[0], &mix), &DAILY);
    assert!((m.profit_factor - 1.0).abs() < 1e-12);
    // W = 1/3, R = 30 / 15 = 2: Kelly = 1/3 − (2/3)/2 = 0.
    assert!(m.kelly.abs() < 1e-12);
    assert_eq!((m.best_trade, m.worst_trade), (0.3, -0.2));
    let wiped = [trade(-100.0, -1.0, 1)];
    assert_eq!(Metrics::compute(&input(&[0.0], &[0], &wiped), &DAILY).avg_trade, -1.0);
}

#[test]
fn ruined_account_has_finite_metrics() {
    let m = Metrics::compute(&input(&[50.0, 0.0, 0.0], &[0, 1, 2], &[]), &DAILY);
    assert_eq!((m.total_return, m.cagr, m.max_drawdown), (-1.0, -1.0, -1.0));
    assert!(all_finite(&m), "{m:?}");
}

#[test]
fn safe_ratio_defines_zero_denominators() {
    assert_eq!(safe_ratio(1.0, 2.0), 0.5);
    assert_eq!(safe_ratio(0.0, 0.0), 0.0);
    assert_eq!(safe_ratio(3.0, 0.0), RATIO_CAP);
    assert_eq!(safe_ratio(-3.0, 0.0), -RATIO_CAP);
    assert_eq!(safe_ratio(1e9, 1.0), RATIO_CAP);
}
