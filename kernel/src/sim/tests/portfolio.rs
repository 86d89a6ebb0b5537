//! Multi-strategy portfolio: allocations, shared-cash isolation, rebalancing, refusals, errors.

use std::num::NonZeroUsize;

use super::*;
use crate::sim::*;

fn sleeve<'a>(name: &'a str, allocation: f64, legs: Vec<Leg<'a>>) -> Sleeve<'a> {
    Sleeve { name, allocation, rules: TradeRules::default(), legs, max_positions: None }
}

fn leg<'a>(symbol: &'a str, bars: &'a Bars, signals: &'a [Signal]) -> Leg<'a> {
    Leg { symbol, bars, signals: signals.into() }
}

const NO_REBALANCE: PortfolioConfig = PortfolioConfig { initial_cash: 10_000.0, rebalance_every: None };

#[test]
fn each_strategy_spends_only_its_allocation() {
    let (x, y, z) = (flat(&[10.0, 10.0, 20.0, 20.0]), flat(&[50.0; 4]), flat(&[25.0; 4]));
    let all_in = [E, H, H, H];
    let sleeves = [
        sleeve("trend", 0.35, vec![leg("X", &x, &all_in)]),
        sleeve("mean_reversion", 0.5, vec![leg("Y", &y, &all_in), leg("Z", &z, &all_in)]),
    ];
    let r = run_portfolio(&NO_REBALANCE, &sleeves).unwrap();
    // trend: 3,500 at 10 -> 350 shares even though the account holds 10,000.
    let trend = &r.sleeves[0];
    assert_eq!(trend.legs[0].activity.trades[0].qty, 350.0);
    // mean_reversion: each of its two legs sizes on half of its 5,000.
    let mr = &r.sleeves[1];
    assert_eq!(mr.legs[0].activity.trades[0].qty, 50.0);
    assert_eq!(mr.legs[1].activity.trades[0].qty, 100.0);
    assert_eq!(mr.equity, [5_000.0; 4]);
    assert_eq!(trend.equity, [3_500.0, 3_500.0, 7_000.0, 7_000.0]);
    assert_eq!(r.final_reserve, 1_500.0);
    assert_eq!(r.equity, [10_000.0, 10_000.0, 13_500.0, 13_500.0]);
    assert_eq!(r.exposed_bars, 3);
    assert_eq!(r.trades().len(), 3);
    // Buys 3,500 + 2,500 + 2,500; end-of-data sales 7,000 + 2,500 + 2,500.
    assert_eq!(r.traded_notional(), 20_500.0);
}

#[test]
fn rebalancing_moves_only_cash_toward_current_allocations() {
    // trend buys 50 X at 10 on bar 1; X closes at 20 the same bar.
    let x = bars(&[
        (10.0, 11.0, 9.0, 10.0),
        (10.0, 20.0, 10.0, 20.0),
        (20.0, 21.0, 19.0, 20.0),
        (20.0, 21.0, 19.0, 20.0),
        (20.0, 21.0, 19.0, 20.0),
        (20.0, 21.0, 19.0, 20.0),
    ]);
    let y = flat(&[10.0; 6]);
    let trend_signals = [E, H, X, H, H, H];
    let idle = [H; 6];
    let sleeves = [
        sleeve("trend", 0.5, vec![leg("X", &x, &trend_signals)]),
        sleeve("idle", 0.5, vec![leg("Y", &y, &idle)]),
    ];
    let config = PortfolioConfig { initial_cash: 1_000.0, rebalance_every: NonZeroUsize::new(2) };
    let r = run_portfolio(&config, &sleeves).unwrap();
    // Close of bar 1: trend 1,000 (all in shares), idle 500, target 750 each — trend has no cash
    // to release and no position is sold, so nothing moves.
    assert_eq!(r.sleeves[0].equity[..3], [500.0, 1_000.0, 1_000.0]);
    assert_eq!(r.sleeves[1].equity[..3], [500.0; 3]);
    // Bar 3 open: trend sells for 1,000 cash. Close of bar 3 (recorded before the transfer):
    // 250 moves from trend to idle.
    assert_eq!(r.sleeves[0].equity[3..], [1_000.0, 750.0, 750.0]);
    assert_eq!(r.sleeves[1].equity[3..], [500.0, 750.0, 750.0]);
    assert_eq!((r.sleeves[0].final_cash, r.sleeves[1].final_cash, r.final_reserve), (750.0, 750.0, 0.0));
    assert_eq!(r.equity, [1_000.0, 1_500.0, 1_500.0, 1_500.0, 1_500.0, 1_500.0]);
}

#[test]
fn unallocated_reserve_takes_part_in_rebalancing() {
    let x = flat(&[10.0, 10.0, 10.0, 10.0]);
    let idle = [H; 4];
    let sleeves = [sleeve("only", 0.25, vec![leg("X", &x, &idle)])];
    let config = PortfolioConfig { initial_cash: 1_000.0, rebalance_every: NonZeroUsize::new(1) };
    let r = run_portfolio(&config, &sleeves).unwrap();
    assert_eq!(r.sleeves[0].equity, [250.0; 4]);
    assert_eq!(r.final_reserve, 750.0);
}

#[test]
fn a_short_leg_is_refused_and_the_long_leg_still_trades() {
    let (a, b) = (flat(&[10.0; 3]), flat(&[20.0; 3]));
    let long = [E, H, H];
    let short = [Signal::EnterShort, H, H];
    let sleeves = [sleeve("pairs", 1.0, vec![leg("A", &a, &long), leg("B", &b, &short)])];
    let r = run_portfolio(&NO_REBALANCE, &sleeves).unwrap();
    let legs = &r.sleeves[0].legs;
    assert_eq!(legs[0].activity.trades[0].qty, 500.0);
    assert_eq!(
        legs[1].activity.refusals,
        [Refusal { signal_bar: 0, bar: 1, reason: RefusalReason::ShortSelling }]
    );
    assert!(legs[1].activity.trades.is_empty());
}

#[test]
fn invalid_portfolios_are_errors_naming_the_sleeve() {
    let (x, short) = (flat(&[10.0; 3]), flat(&[10.0; 2]));
    let s3 = [H; 3];
    let over = [sleeve("a", 0.7, vec![leg("X", &x, &s3)]), sleeve("b", 0.4, vec![leg("X", &x, &s3)])];
    let err = run_portfolio(&NO_REBALANCE, &over).unwrap_err();
    assert!(matches!(err, PortfolioError::Allocation { ref sleeve, .. } if sleeve == "a"), "{err}");
    let misaligned = [sleeve("a", 0.5, vec![leg("X", &x, &s3), leg("S", &short, &s3[..2])])];
    let err = run_portfolio(&NO_REBALANCE, &misaligned).unwrap_err();
    assert_eq!(err, PortfolioError::Misaligned { sleeve: "a".into(), symbol: "S".into() });
    let bad_len = [sleeve("a", 0.5, vec![leg("X", &x, &s3[..2])])];
    assert!(matches!(run_portfolio(&NO_REBALANCE, &bad_len), Err(PortfolioError::LengthMismatch { .. })));
    let empty = [sleeve("e", 0.5, vec![])];
    assert_eq!(
        run_portfolio(&NO_REBALANCE, &empty).unwrap_err(),
        PortfolioError::NoLegs { sleeve: "e".into() }
    );
    let mut bad_rules = sleeve("r", 0.5, vec![leg("X", &x, &s3)]);
    bad_rules.rules.exits.take_profit = Some(-1.0);
    let err = run_portfolio(&NO_REBALANCE, &[bad_rules]).unwrap_err();
    assert!(err.to_string().contains("sleeve `r`: `exits.take_profit`"), "{err}");
}

fn limited<'a>(max: usize, legs: Vec<Leg<'a>>) -> Sleeve<'a> {
    Sleeve { max_positions: NonZeroUsize::new(max), ..sleeve("ranked", 1.0, legs) }
}

#[test]
fn a_one_position_sleeve_invests_its_whole_equity_in_that_position() {
    let (x, y, z) = (flat(&[10.0; 4]), flat(&[20.0; 4]), flat(&[25.0; 4]));
    let (idle, enter) = ([H; 4], [E, H, H, H]);
    let legs = || vec![leg("X", &x, &idle), leg("Y", &y, &enter), leg("Z", &z, &idle)];
    let r = run_portfolio(&NO_REBALANCE, &[limited(1, legs())]).unwrap();
    // The whole 10,000 at 20: 500 shares, no cash left.
    let t = r.sleeves[0].legs[1].activity.trades[0];
    assert_eq!((t.entry_bar, t.qty, t.entry_price), (1, 500.0, 20.0));
    assert_eq!(r.sleeves[0].equity, [10_000.0; 4]);
    // Without a limit the entry gets a third: floor(3,333.33 / 20) = 166 shares.
    let equal = run_portfolio(&NO_REBALANCE, &[sleeve("ranked", 1.0, legs())]).unwrap();
    assert_eq!(equal.sleeves[0].legs[1].activity.trades[0].qty, 166.0);
}

#[test]
fn a_rotation_reinvests_the_cash_freed_at_the_same_open() {
    // A (leg 1) is bought at 10 with all 10,000, doubles to 20 and is sold at bar 3's open; B
    // (leg 0, processed first in leg order) is bought at that same open with A's proceeds.
    let a = flat(&[10.0, 10.0, 20.0, 20.0, 20.0]);
    let b = flat(&[8.0; 5]);
    let a_signals = [E, H, X, H, H];
    let b_signals = [H, H, E, H, H];
    let sleeves = [limited(1, vec![leg("B", &b, &b_signals), leg("A", &a, &a_signals)])];
    let r = run_portfolio(&NO_REBALANCE, &sleeves).unwrap();
    let (b_leg, a_leg) = (&r.sleeves[0].legs[0].activity, &r.sleeves[0].legs[1].activity);
    assert!(a_leg.refusals.is_empty() && b_leg.refusals.is_empty());
    let sold = a_leg.trades[0];
    assert_eq!((sold.qty, sold.exit_bar, sold.exit_price), (1_000.0, 3, 20.0));
    // Sized on the equity at bar 2's close (20,000) with the 20,000 of cash the sale freed.
    let bought = b_leg.trades[0];
    assert_eq!((bought.entry_bar, bought.qty, bought.entry_price), (3, 2_500.0, 8.0));
    assert_eq!(r.sleeves[0].equity, [10_000.0, 10_000.0, 20_000.0, 20_000.0, 20_000.0]);
    assert_eq!(r.exposed_bars, 4);
}

#[test]
fn an_entry_beyond_max_positions_is_refused_until_a_slot_frees() {
    let (x, y, z) = (flat(&[10.0; 5]), flat(&[20.0; 5]), flat(&[25.0; 5]));
    let x_signals = [E, H, X, H, H];
    let y_signals = [E, H, H, H, H];
    let z_signals = [E, H, E, H, H];
    let legs = vec![leg("X", &x, &x_signals), leg("Y", &y, &y_signals), leg("Z", &z, &z_signals)];
    let r = run_portfolio(&NO_REBALANCE, &[limited(2, legs)]).unwrap();
    let legs = &r.sleeves[0].legs;
    // Bar 1: X and Y take the two slots, 5,000 each; Z is refused, not resized.
    assert_eq!((legs[0].activity.trades[0].qty, legs[1].activity.trades[0].qty), (500.0, 250.0));
    assert_eq!(
        legs[2].activity.refusals,
        [Refusal { signal_bar: 0, bar: 1, reason: RefusalReason::PositionLimit { max: 2 } }]
    );
    // Bar 3: X's exit settles first, so Z takes its slot and its 5,000 at the same open.
    let z_trade = legs[2].activity.trades[0];
    assert_eq!((z_trade.entry_signal_bar, z_trade.entry_bar, z_trade.qty), (2, 3, 200.0));
    assert_eq!(legs[0].activity.trades[0].exit_bar, 3);
    assert_eq!(r.sleeves[0].final_cash, 10_000.0);
}
