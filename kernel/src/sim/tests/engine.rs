//! Hand-computed small cases for the single-symbol simulator.

use datasets::time::NANOS_PER_DAY;
use datasets::{Bars, Timestamp};

use super::*;
use crate::sim::*;

fn run(cash: f64, rules: TradeRules, b: &Bars, s: &[Signal]) -> SimResult {
    Simulator::new(cash, rules).unwrap().run(b, s).unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn signal_fills_at_next_open_all_in_whole_shares() {
    let b = flat(&[10.0, 11.0, 12.0, 13.0, 14.0]);
    let r = run(1_000.0, TradeRules::default(), &b, &[E, H, X, H, H]);
    // Bar 1 open 11: floor(1000 / 11) = 90 shares for 990, cash 10. Bar 3 open 13: +1170.
    assert_eq!(r.activity.trades.len(), 1);
    let t = r.activity.trades[0];
    assert_eq!((t.entry_signal_bar, t.entry_bar, t.exit_signal_bar, t.exit_bar), (0, 1, Some(2), 3));
    assert_eq!((t.entry_price, t.exit_price, t.qty), (11.0, 13.0, 90.0));
    assert_eq!(t.bars_held(), 2);
    assert_eq!(t.exit_reason, ExitReason::Signal);
    assert_eq!(t.entry_time, Timestamp(NANOS_PER_DAY));
    assert!(close(t.pnl, 180.0) && close(t.ret, 180.0 / 990.0) && t.fees == 0.0);
    assert_eq!(r.equity, [1_000.0, 1_000.0, 1_090.0, 1_180.0, 1_180.0]);
    assert_eq!(r.final_cash, 1_180.0);
    assert_eq!(r.activity.exposed_bars, 3);
    assert_eq!(r.activity.traded_notional, 990.0 + 1_170.0);
}

#[test]
fn same_bar_close_mode_fills_at_the_signal_bars_close() {
    let b = flat(&[10.0, 11.0, 12.0, 13.0]);
    let rules = TradeRules { fill: FillTiming::SameBarClose, ..TradeRules::default() };
    let r = run(1_000.0, rules, &b, &[E, H, X, H]);
    let t = r.activity.trades[0];
    assert_eq!((t.entry_bar, t.exit_bar, t.entry_price, t.exit_price, t.qty), (0, 2, 10.0, 12.0, 100.0));
    assert_eq!(r.equity, [1_000.0, 1_100.0, 1_200.0, 1_200.0]);
}

#[test]
fn commissions_per_share_per_order_and_percent_combine() {
    let b = flat(&[10.0, 10.0, 20.0, 20.0]);
    let commission = Commission { per_share: 0.05, per_order: 1.0, rate: 0.01 };
    let rules = TradeRules { costs: Costs { commission, ..Costs::default() }, ..TradeRules::default() };
    let r = run(1_000.0, rules, &b, &[E, X, H, H]);
    // Unit cost 10 * 1.01 + 0.05 = 10.15; (1000 - 1) / 10.15 = 98.4 -> 98 shares.
    // Entry fee 1 + 4.9 + 9.8 = 15.7, cash 1000 - 980 - 15.7 = 4.3. Exit at 20: 1960, fee 1 + 4.9 + 19.6.
    let t = r.activity.trades[0];
    assert_eq!(t.qty, 98.0);
    assert!(close(t.fees, 15.7 + 25.5));
    assert!(close(t.pnl, 1_960.0 - 980.0 - 41.2));
    assert!(close(r.final_cash, 4.3 + 1_960.0 - 25.5));
    assert!(close(r.equity[1], 4.3 + 980.0), "marked at close, exit fee not yet paid");
}

#[test]
fn slippage_is_adverse_on_both_sides() {
    let b = bars(&[
        (10.0, 11.0, 9.0, 10.0),
        (10.0, 12.0, 8.0, 10.0),
        (20.0, 22.0, 18.0, 20.0),
        (20.0, 21.0, 19.0, 20.0),
    ]);
    let bps = TradeRules {
        costs: Costs { slippage: Slippage::Bps(100.0), ..Costs::default() },
        ..TradeRules::default()
    };
    let t = run(1_000.0, bps, &b, &[E, X, H, H]).activity.trades[0];
    // Buy at 10 * 1.01 = 10.1 -> 99 shares; sell at 20 * 0.99 = 19.8.
    assert!(close(t.entry_price, 10.1) && close(t.exit_price, 19.8) && t.qty == 99.0);
    let range = TradeRules {
        costs: Costs { slippage: Slippage::RangeFraction(0.25), ..Costs::default() },
        ..TradeRules::default()
    };
    let t = run(1_000.0, range, &b, &[E, X, H, H]).activity.trades[0];
    // Bar 1 range 4 -> buy at 11; bar 2 range 4 -> sell at 19.
    assert_eq!((t.entry_price, t.exit_price, t.qty), (11.0, 19.0, 90.0));
}

fn with_exits(exits: ExitRules) -> TradeRules {
    TradeRules { exits, ..TradeRules::default() }
}

#[test]
fn stop_loss_fills_at_the_stop_inside_a_bar_and_at_the_open_through_a_gap() {
    let sl = with_exits(ExitRules { stop_loss: Some(0.05), ..ExitRules::default() });
    // Entry at 100 (bar 1 open); stop 95. Bar 2 trades down to 94.
    let b = bars(&[
        (100.0, 101.0, 99.0, 100.0),
        (100.0, 101.0, 97.0, 98.0),
        (98.0, 99.0, 94.0, 96.0),
        (96.0, 97.0, 95.0, 96.0),
    ]);
    let r = run(1_000.0, sl, &b, &[E, H, H, H]);
    let t = r.activity.trades[0];
    assert_eq!(
        (t.exit_bar, t.exit_price, t.exit_reason, t.exit_signal_bar),
        (2, 95.0, ExitReason::StopLoss, None)
    );
    assert_eq!(r.final_cash, 950.0);
    // Gap: bar 2 opens at 90, below the stop: fills at the open, worse than the stop.
    let b = bars(&[
        (100.0, 101.0, 99.0, 100.0),
        (100.0, 101.0, 97.0, 98.0),
        (90.0, 92.0, 89.0, 91.0),
        (91.0, 92.0, 90.0, 91.0),
    ]);
    let t = run(1_000.0, sl, &b, &[E, H, H, H]).activity.trades[0];
    assert_eq!((t.exit_bar, t.exit_price, t.exit_reason), (2, 90.0, ExitReason::StopLoss));
}

#[test]
fn stop_and_take_profit_in_one_bar_assume_the_stop_first() {
    let rules =
        with_exits(ExitRules { stop_loss: Some(0.05), take_profit: Some(0.05), ..ExitRules::default() });
    let b = bars(&[
        (100.0, 101.0, 99.0, 100.0),
        (100.0, 101.0, 99.0, 100.0),
        (100.0, 106.0, 94.0, 100.0),
        (100.0, 101.0, 99.0, 100.0),
    ]);
    let t = run(1_000.0, rules, &b, &[E, H, H, H]).activity.trades[0];
    assert_eq!((t.exit_bar, t.exit_price, t.exit_reason), (2, 95.0, ExitReason::StopLoss));
}

#[test]
fn take_profit_fills_at_its_level_or_at_a_better_gap_open() {
    let rules = with_exits(ExitRules { take_profit: Some(0.1), ..ExitRules::default() });
    let b = bars(&[
        (100.0, 101.0, 99.0, 100.0),
        (100.0, 101.0, 99.0, 100.0),
        (105.0, 111.0, 104.0, 108.0),
        (108.0, 109.0, 107.0, 108.0),
    ]);
    let t = run(1_000.0, rules, &b, &[E, H, H, H]).activity.trades[0];
    assert_eq!((t.exit_bar, t.exit_reason), (2, ExitReason::TakeProfit));
    assert!(close(t.exit_price, 110.0));
    let gap = bars(&[
        (100.0, 101.0, 99.0, 100.0),
        (100.0, 101.0, 99.0, 100.0),
        (115.0, 116.0, 112.0, 113.0),
        (113.0, 114.0, 112.0, 113.0),
    ]);
    let t = run(1_000.0, rules, &gap, &[E, H, H, H]).activity.trades[0];
    assert_eq!((t.exit_bar, t.exit_price), (2, 115.0));
    // On the entry bar itself the open is the entry: a take-profit touched later fills at the level.
    let entry_bar =
        bars(&[(100.0, 101.0, 99.0, 100.0), (100.0, 112.0, 99.0, 100.0), (100.0, 101.0, 99.0, 100.0)]);
    let t = run(1_000.0, rules, &entry_bar, &[E, H, H]).activity.trades[0];
    assert_eq!((t.entry_bar, t.exit_bar), (1, 1));
    assert!(close(t.exit_price, 110.0));
}

#[test]
fn trailing_stop_follows_the_highest_completed_high() {
    let rules =
        with_exits(ExitRules { trailing_stop: Some(0.1), stop_loss: Some(0.2), ..ExitRules::default() });
    // Entry 100 at bar 1 (high 105 -> trail 94.5 from bar 2); bar 2 high 120 -> trail 108 from bar 3.
    let b = bars(&[
        (100.0, 101.0, 99.0, 100.0),
        (100.0, 105.0, 99.0, 104.0),
        (104.0, 120.0, 100.0, 118.0),
        (118.0, 119.0, 107.0, 110.0),
        (110.0, 111.0, 109.0, 110.0),
    ]);
    let t = run(1_000.0, rules, &b, &[E, H, H, H, H]).activity.trades[0];
    assert_eq!((t.exit_bar, t.exit_reason), (3, ExitReason::TrailingStop));
    assert!(close(t.exit_price, 108.0));
}

#[test]
fn time_stop_exits_at_the_open_max_bars_after_entry() {
    let rules = with_exits(ExitRules { max_bars: Some(2), ..ExitRules::default() });
    let b = flat(&[10.0, 11.0, 12.0, 13.0, 14.0, 15.0]);
    let r = run(1_000.0, rules, &b, &[E, H, H, H, H, H]);
    let t = r.activity.trades[0];
    assert_eq!((t.entry_bar, t.exit_bar, t.exit_price, t.exit_reason), (1, 3, 13.0, ExitReason::TimeStop));
    // Re-entry needs a fresh signal: Enter at bar 0 only, so one trade.
    assert_eq!(r.activity.trades.len(), 1);
    // The time stop applies whatever the signal asks: a refused short sale does not delay it, and
    // an entry signal met at the stop's own fill point does not re-open the position there.
    let r = run(1_000.0, rules, &b, &[E, H, Signal::EnterShort, H, H, H]);
    let t = r.activity.trades[0];
    assert_eq!((t.exit_bar, t.exit_reason), (3, ExitReason::TimeStop));
    assert_eq!(r.activity.refusals[0].reason, RefusalReason::ShortSelling);
    let r = run(1_000.0, rules, &b, &[E, H, E, H, H, H]);
    assert_eq!(r.activity.trades.len(), 1, "no re-entry at the time stop's open");
}

#[test]
fn sizing_rules_fixed_fraction_and_vol_target() {
    let b = flat(&[10.0, 10.0, 10.0, 10.0]);
    let half = TradeRules { sizing: Sizing::FixedFraction(0.5), ..TradeRules::default() };
    let r = run(1_000.0, half, &b, &[E, H, H, H]);
    assert_eq!(r.activity.trades[0].qty, 50.0);
    let weak = Signal::Enter(Strength::new(0.25).unwrap());
    let r = run(1_000.0, TradeRules::default(), &b, &[weak, H, H, H]);
    assert_eq!(r.activity.trades[0].qty, 25.0);
    // Closes 100, 110, 100, 110: log returns ±ln 1.1, sample sd over 2 returns = √2 · ln 1.1.
    let vb = flat(&[100.0, 110.0, 100.0, 110.0, 110.0]);
    let sizing = Sizing::VolTarget { annual_vol: 0.5, lookback: 2, periods_per_year: 252.0 };
    let vt = TradeRules { sizing, quantity: QuantityRule::Fractional, ..TradeRules::default() };
    let r = run(10_000.0, vt, &vb, &[E, H, E, H, H]);
    assert_eq!(
        r.activity.refusals,
        [Refusal { signal_bar: 0, bar: 1, reason: RefusalReason::VolatilityUnavailable }]
    );
    let f = 0.5 / (2f64.sqrt() * 1.1f64.ln() * 252f64.sqrt());
    let t = r.activity.trades[0];
    assert_eq!(t.entry_bar, 3);
    assert!((t.qty * 110.0 - f * 10_000.0).abs() < 1e-6, "{} vs {}", t.qty * 110.0, f * 10_000.0);
}

#[test]
fn refusals_for_short_sales_and_insufficient_cash() {
    let b = flat(&[10.0, 10.0, 500.0, 500.0, 10.0]);
    let r = run(100.0, TradeRules::default(), &b, &[Signal::EnterShort, E, H, H, H]);
    assert_eq!(r.activity.refusals.len(), 2);
    assert_eq!(
        r.activity.refusals[0],
        Refusal { signal_bar: 0, bar: 1, reason: RefusalReason::ShortSelling }
    );
    assert_eq!(
        r.activity.refusals[1],
        Refusal {
            signal_bar: 1,
            bar: 2,
            reason: RefusalReason::InsufficientCash { required: 500.0, available: 100.0 }
        }
    );
    assert!(r.activity.trades.is_empty());
    assert_eq!(r.equity, [100.0; 5]);
}

#[test]
fn signal_close_sizing_refuses_when_the_open_gaps_up() {
    // Sized at bar 0's close 10 -> 100 shares; bar 1 opens at 11: 1100 > 1000, refused, not resized.
    let b = flat(&[10.0, 11.0, 11.0]);
    let rules = TradeRules { sizing_price: SizingPrice::SignalClose, ..TradeRules::default() };
    let r = run(1_000.0, rules, &b, &[E, H, H]);
    assert!(r.activity.trades.is_empty());
    assert_eq!(
        r.activity.refusals[0].reason,
        RefusalReason::InsufficientCash { required: 1_100.0, available: 1_000.0 }
    );
}

#[test]
fn open_position_at_the_end_is_closed_or_reported() {
    let b = flat(&[10.0, 10.0, 12.0]);
    let r = run(100.0, TradeRules::default(), &b, &[E, H, H]);
    let t = r.activity.trades[0];
    assert_eq!((t.exit_bar, t.exit_price, t.exit_reason), (2, 12.0, ExitReason::EndOfData));
    assert_eq!(r.final_cash, 120.0);
    let keep = TradeRules { close_at_end: false, ..TradeRules::default() };
    let r = run(100.0, keep, &b, &[E, H, H]);
    assert!(r.activity.trades.is_empty());
    let open = r.activity.open_position.unwrap();
    assert_eq!((open.entry_bar, open.qty, open.entry_price), (1, 10.0, 10.0));
    assert_eq!((r.final_cash, *r.equity.last().unwrap()), (0.0, 120.0));
}

#[test]
fn mismatched_lengths_and_bad_rules_are_errors() {
    let b = flat(&[10.0, 10.0]);
    let sim = Simulator::new(100.0, TradeRules::default()).unwrap();
    assert_eq!(sim.run(&b, &[H]).unwrap_err(), LengthMismatch { bars: 2, signals: 1 });
    assert_eq!(Simulator::new(0.0, TradeRules::default()).unwrap_err().field, "initial_cash");
    let empty = sim.run(&Bars::default(), &[]).unwrap();
    assert!(empty.equity.is_empty() && empty.final_cash == 100.0);
}

#[test]
fn run_into_reuses_buffers_and_matches_run() {
    let b = flat(&[10.0, 11.0, 12.0, 13.0, 14.0]);
    let sim = Simulator::new(1_000.0, TradeRules::default()).unwrap();
    let mut out = sim.run(&b, &[E, H, X, E, H]).unwrap();
    sim.run_into(&b, &[H, E, H, X, H], &mut out).unwrap();
    assert_eq!(out, sim.run(&b, &[H, E, H, X, H]).unwrap());
}
