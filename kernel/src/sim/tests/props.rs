//! Property tests over random bar series, random signals and random rules.

use std::num::NonZeroUsize;

use proptest::prelude::*;

use super::*;
use crate::sim::book::Book;
use crate::sim::step::step_books;
use crate::sim::*;

/// A random valid bar series of 2..60 bars: a random walk with gaps and wicks.
fn arb_bars() -> impl Strategy<Value = Bars> {
    arb_walk(2..60)
}

/// A random walk with gaps and wicks, of a length in `len`.
fn arb_walk(len: impl Into<prop::collection::SizeRange>) -> impl Strategy<Value = Bars> {
    prop::collection::vec((-0.08f64..0.08, -0.05f64..0.05, 0.0f64..0.05, 0.0f64..0.05), len).prop_map(
        |steps| {
            let mut prev = 50.0;
            let rows: Vec<_> = steps
                .iter()
                .map(|&(gap, move_, up, down)| {
                    let open = prev * (1.0 + gap);
                    let close = open * (1.0 + move_);
                    let high = open.max(close) * (1.0 + up);
                    let low = open.min(close) * (1.0 - down);
                    prev = close;
                    (open, high, low, close)
                })
                .collect();
            bars(&rows)
        },
    )
}

fn arb_signal() -> impl Strategy<Value = Signal> {
    prop_oneof![
        6 => Just(Signal::Hold),
        2 => (0.05f64..=1.0).prop_map(|s| Signal::Enter(Strength::new(s).unwrap())),
        2 => Just(Signal::Exit),
        1 => Just(Signal::EnterShort),
    ]
}

fn arb_rules() -> impl Strategy<Value = TradeRules> {
    let costs = (0.0f64..0.05, 0.0f64..5.0, 0.0f64..0.01, 0usize..3, 0.0f64..50.0, 0.0f64..0.5).prop_map(
        |(per_share, per_order, rate, kind, bps, frac)| Costs {
            commission: Commission { per_share, per_order, rate },
            slippage: [Slippage::None, Slippage::Bps(bps), Slippage::RangeFraction(frac)][kind],
        },
    );
    let sizing = prop_oneof![
        Just(Sizing::AllIn),
        (0.05f64..=1.0).prop_map(Sizing::FixedFraction),
        (0.05f64..0.5, 2usize..6).prop_map(|(annual_vol, lookback)| Sizing::VolTarget {
            annual_vol,
            lookback,
            periods_per_year: 252.0
        }),
    ];
    let exits = (
        prop::option::of(0.01f64..0.2),
        prop::option::of(0.01f64..0.3),
        prop::option::of(0.01f64..0.2),
        prop::option::of(1usize..6),
    )
        .prop_map(|(stop_loss, take_profit, trailing_stop, max_bars)| ExitRules {
            stop_loss,
            take_profit,
            trailing_stop,
            max_bars,
        });
    (costs, sizing, exits, any::<[bool; 4]>()).prop_map(|(costs, sizing, exits, flags)| TradeRules {
        fill: if flags[0] { FillTiming::SameBarClose } else { FillTiming::NextOpen },
        costs,
        sizing,
        sizing_price: if flags[1] { SizingPrice::SignalClose } else { SizingPrice::FillPrice },
        quantity: if flags[2] { QuantityRule::Fractional } else { QuantityRule::Whole },
        exits,
        close_at_end: flags[3],
    })
}

/// One book's cash flows: `(entry bar, exit bar or n while open, qty, cash spent, cash returned)`.
fn flows(a: &Activity, c: &Commission, n: usize) -> Vec<(usize, usize, f64, f64, f64)> {
    let open = a.open_position.map(|p| (p.entry_bar, n, p.qty, p.qty * p.entry_price + p.entry_fee, 0.0));
    a.trades
        .iter()
        .map(|t| {
            let entry_cost = t.qty * t.entry_price + c.cost(t.qty, t.entry_price);
            let proceeds = t.qty * t.exit_price - c.cost(t.qty, t.exit_price).min(t.qty * t.exit_price);
            (t.entry_bar, t.exit_bar, t.qty, entry_cost, proceeds)
        })
        .chain(open)
        .collect()
}

/// Bars of 1..5 aligned legs, their signals, rules, cash and a position limit.
type SleeveCase = (Vec<Bars>, Vec<Vec<Signal>>, TradeRules, f64, Option<NonZeroUsize>);

fn arb_sleeve() -> impl Strategy<Value = SleeveCase> {
    (2usize..60, 1usize..5).prop_flat_map(|(n, legs)| {
        (
            prop::collection::vec(arb_walk(n), legs),
            prop::collection::vec(prop::collection::vec(arb_signal(), n), legs),
            arb_rules(),
            100.0f64..20_000.0,
            prop::option::of(1usize..6).prop_map(|m| m.and_then(NonZeroUsize::new)),
        )
    })
}

/// A whole-account sleeve run by the plain definition: [`step_books`] visiting every book at
/// every bar. Returns the equity curve, the final cash, each leg's activity and the exposed bars.
fn reference_sleeve(
    bars: &[Bars],
    signals: &[Vec<Signal>],
    rules: &TradeRules,
    cash0: f64,
    max: Option<NonZeroUsize>,
) -> (Vec<f64>, f64, Vec<Activity>, usize) {
    let mut books: Vec<Book<'_>> =
        bars.iter().zip(signals).map(|(b, s)| Book::new(b, s.into(), rules, Activity::default())).collect();
    let (mut cash, mut equity, mut exposed) = (cash0, Vec::new(), 0);
    for t in 0..bars[0].len() {
        exposed += usize::from(step_books(&mut books, t, &mut cash, max));
        equity.push(cash + books.iter().map(|b| b.mark(t)).sum::<f64>());
    }
    let activities: Vec<Activity> = books.into_iter().map(|b| b.finish(&mut cash)).collect();
    if let Some(last) = equity.last_mut() {
        let open: f64 =
            activities.iter().zip(bars).map(|(a, b)| a.open_value(*b.close().last().unwrap())).sum();
        *last = cash + open;
    }
    (equity, cash, activities, exposed)
}

/// Up to 12 aligned legs with dense random signals, rules, cash and a position limit.
fn arb_wide_sleeve() -> impl Strategy<Value = SleeveCase> {
    (2usize..80, 1usize..12).prop_flat_map(|(n, legs)| {
        (
            prop::collection::vec(arb_walk(n), legs),
            prop::collection::vec(prop::collection::vec(arb_signal(), n), legs),
            arb_rules(),
            100.0f64..50_000.0,
            prop::option::of(1usize..8).prop_map(|m| m.and_then(NonZeroUsize::new)),
        )
    })
}

fn arb_case() -> impl Strategy<Value = (Bars, Vec<Signal>, TradeRules, f64)> {
    (arb_bars(), arb_rules(), 100.0f64..20_000.0).prop_flat_map(|(b, rules, cash)| {
        let n = b.len();
        (Just(b), prop::collection::vec(arb_signal(), n), Just(rules), Just(cash))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn cash_account_invariants_hold((b, signals, rules, cash0) in arb_case()) {
        let r = Simulator::new(cash0, rules).unwrap().run(&b, &signals).unwrap();
        let (low, high, close) = (b.low(), b.high(), b.close());
        prop_assert_eq!(r.equity.len(), b.len());
        let c = &rules.costs.commission;
        let n = b.len();
        let mut prev_exit = 0;
        for t in &r.activity.trades {
            prop_assert!(t.qty > 0.0);
            prop_assert!(t.entry_bar >= prev_exit, "positions never overlap");
            prev_exit = t.exit_bar;
            prop_assert!(t.exit_bar >= t.entry_bar);
            prop_assert!(low[t.entry_bar] <= t.entry_price && t.entry_price <= high[t.entry_bar]);
            prop_assert!(low[t.exit_bar] <= t.exit_price && t.exit_price <= high[t.exit_bar]);
            prop_assert!(matches!(signals[t.entry_signal_bar], Signal::Enter(_)));
            match rules.fill {
                FillTiming::NextOpen => prop_assert!(t.entry_bar > t.entry_signal_bar),
                FillTiming::SameBarClose => prop_assert_eq!(t.entry_bar, t.entry_signal_bar),
            }
            if let Some(s) = t.exit_signal_bar {
                prop_assert_eq!(signals[s], Signal::Exit);
                prop_assert!(s <= t.exit_bar && (rules.fill == FillTiming::SameBarClose || s < t.exit_bar));
            }
        }
        for refusal in &r.activity.refusals {
            prop_assert!(refusal.bar >= refusal.signal_bar);
        }
        // Replay cash and position from the trade list and check them against the equity curve.
        let flows = flows(&r.activity, c, n);
        for (bar, (&equity, &close)) in r.equity.iter().zip(close).enumerate() {
            let mut cash = cash0;
            let mut qty = 0.0;
            for &(e, x, q, cost, proceeds) in &flows {
                if e <= bar { cash -= cost; }
                if x <= bar { cash += proceeds; } else if e <= bar { qty += q; }
            }
            prop_assert!(cash >= -1e-9 * cash0, "cash {cash} at bar {bar}");
            prop_assert!(qty >= 0.0);
            let marked = cash + qty * close;
            prop_assert!((equity - marked).abs() <= 1e-9 * cash0.max(equity), "bar {bar}: {equity} vs {marked}");
            if bar == n - 1 {
                prop_assert!((r.final_cash - cash).abs() <= 1e-9 * cash0.max(equity));
            }
        }
        prop_assert!(r.final_cash >= 0.0);
        prop_assert!(!(rules.close_at_end && r.activity.open_position.is_some()));
        let m = crate::metrics::Metrics::compute(
            &crate::metrics::MetricsInput::from_sim(&r, &b),
            &crate::metrics::MetricsConfig { periods_per_year: 252.0, risk_free_rate: 0.01 },
        );
        let values = [m.total_return, m.cagr, m.volatility, m.sharpe, m.sortino, m.calmar, m.max_drawdown,
            m.avg_drawdown, m.win_rate, m.best_trade, m.worst_trade, m.avg_trade, m.profit_factor,
            m.expectancy, m.exposure, m.avg_bars_held, m.turnover, m.sqn, m.kelly, m.buy_and_hold_return];
        prop_assert!(values.iter().all(|v| v.is_finite()), "{m:?}");
        prop_assert!((0.0..=1.0).contains(&m.exposure));
    }

    #[test]
    fn exposure_counts_every_bar_a_position_was_held_at_any_moment((b, signals, rules, cash0) in arb_case()) {
        let r = Simulator::new(cash0, rules).unwrap().run(&b, &signals).unwrap();
        let n = b.len();
        let mut held = vec![false; n];
        let open = r.activity.open_position.map(|p| (p.entry_bar, n - 1));
        for (from, to) in r.activity.trades.iter().map(|t| (t.entry_bar, t.exit_bar)).chain(open) {
            held[from..=to].fill(true);
        }
        prop_assert_eq!(r.activity.exposed_bars, held.iter().filter(|&&h| h).count());
    }

    #[test]
    fn a_fully_allocated_sleeve_runs_exactly_like_a_standalone_account(
        (b, signals, rules, cash0) in arb_case(),
        other in prop::collection::vec(arb_signal(), 60),
        split in 0.1f64..0.9,
        max in prop::option::of(1usize..4),
    ) {
        let other_signals = &other[..b.len()];
        let a = Sleeve { name: "a", allocation: split, rules, legs: vec![Leg { symbol: "X", bars: &b, signals: (&signals).into() }], max_positions: max.and_then(NonZeroUsize::new) };
        let other_sleeve = Sleeve { name: "b", allocation: 1.0 - split, rules: TradeRules::default(), legs: vec![Leg { symbol: "X", bars: &b, signals: other_signals.into() }], max_positions: None };
        let config = PortfolioConfig { initial_cash: cash0, rebalance_every: None };
        let p = run_portfolio(&config, &[a, other_sleeve]).unwrap();
        let alone = Simulator::new(split * cash0, rules).unwrap().run(&b, &signals).unwrap();
        prop_assert_eq!(&p.sleeves[0].equity, &alone.equity);
        prop_assert_eq!(&p.sleeves[0].legs[0].activity, &alone.activity);
        for t in 0..b.len() {
            let sum = p.sleeves[0].equity[t] + p.sleeves[1].equity[t] + p.final_reserve;
            prop_assert!((p.equity[t] - sum).abs() <= 1e-9 * cash0);
        }
    }

    #[test]
    fn a_sleeve_steps_bit_identically_to_visiting_every_book(
        (bars, signals, rules, cash0, max) in arb_wide_sleeve(),
    ) {
        // The same signals as slices and as run-length columns: both must match the reference.
        let columns: Vec<SignalColumn> = signals.iter().map(|s| SignalColumn::from(s.as_slice())).collect();
        let dense: Vec<Leg<'_>> =
            bars.iter().zip(&signals).map(|(b, s)| Leg { symbol: "L", bars: b, signals: s.into() }).collect();
        let runs: Vec<Leg<'_>> =
            bars.iter().zip(&columns).map(|(b, s)| Leg { symbol: "L", bars: b, signals: s.into() }).collect();
        let (equity, cash, activities, exposed) = reference_sleeve(&bars, &signals, &rules, cash0, max);
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        for legs in [dense, runs] {
            let sleeve = Sleeve { name: "s", allocation: 1.0, rules, legs, max_positions: max };
            let config = PortfolioConfig { initial_cash: cash0, rebalance_every: None };
            let p = run_portfolio(&config, &[sleeve]).unwrap();
            prop_assert_eq!(bits(&p.sleeves[0].equity), bits(&equity));
            prop_assert_eq!(p.sleeves[0].final_cash.to_bits(), cash.to_bits());
            let got: Vec<&Activity> = p.sleeves[0].legs.iter().map(|l| &l.activity).collect();
            prop_assert_eq!(got, activities.iter().collect::<Vec<_>>());
            prop_assert_eq!(p.exposed_bars, exposed);
        }
    }

    #[test]
    fn a_sleeve_never_exceeds_its_slots_its_positions_or_its_cash((bars, signals, rules, cash0, max) in arb_sleeve()) {
        let legs: Vec<Leg<'_>> = bars.iter().zip(&signals).map(|(b, s)| Leg { symbol: "L", bars: b, signals: s.into() }).collect();
        let sleeve = Sleeve { name: "s", allocation: 1.0, rules, legs, max_positions: max };
        let config = PortfolioConfig { initial_cash: cash0, rebalance_every: None };
        let p = run_portfolio(&config, &[sleeve]).unwrap();
        let (n, legs) = (bars[0].len(), bars.len());
        let result = &p.sleeves[0];
        let c = &rules.costs.commission;
        let slots = max.map_or(legs, |m| m.get().min(legs)) as f64;
        // Positions open while bar t's entries fill: those entered at t, and older ones not
        // closed before them (stops under next-open fills and end-of-data closes come after).
        let late = |t: &Trade| t.exit_reason == ExitReason::EndOfData
            || (rules.fill == FillTiming::NextOpen && matches!(t.exit_reason, ExitReason::StopLoss | ExitReason::TakeProfit | ExitReason::TrailingStop));
        let all: Vec<&Activity> = result.legs.iter().map(|l| &l.activity).collect();
        let open_at_entries = |bar: usize| -> usize {
            all.iter().map(|a| {
                let closed = a.trades.iter().filter(|t| t.entry_bar == bar || (t.entry_bar < bar && (t.exit_bar > bar || (t.exit_bar == bar && late(t))))).count();
                closed + usize::from(a.open_position.is_some_and(|o| o.entry_bar <= bar))
            }).sum()
        };
        for bar in 0..n {
            prop_assert!(open_at_entries(bar) <= max.map_or(legs, NonZeroUsize::get), "bar {bar}");
        }
        for a in &all {
            for t in &a.trades {
                // No entry spends more than its slot of the equity at the previous close.
                let equity = if t.entry_bar == 0 { cash0 } else { result.equity[t.entry_bar - 1] };
                let cost = t.qty * t.entry_price + c.cost(t.qty, t.entry_price);
                if rules.sizing_price == SizingPrice::FillPrice {
                    prop_assert!(cost <= equity / slots * (1.0 + 1e-9), "{cost} > {equity} / {slots}");
                }
            }
            for r in &a.refusals {
                if let RefusalReason::PositionLimit { max: m } = r.reason {
                    prop_assert_eq!(Some(m), max.map(NonZeroUsize::get));
                    prop_assert_eq!(open_at_entries(r.bar), m, "refused at bar {} with a free slot", r.bar);
                }
            }
        }
        // Replay the sleeve's cash and positions across legs against its equity curve.
        let flows: Vec<_> = all.iter().zip(&bars).map(|(a, b)| (flows(a, c, n), b.close())).collect();
        for (bar, &equity) in result.equity.iter().enumerate() {
            let mut cash = cash0;
            let mut held = 0.0;
            for (leg_flows, close) in &flows {
                for &(e, x, q, cost, proceeds) in leg_flows {
                    if e <= bar { cash -= cost; }
                    if x <= bar { cash += proceeds; } else if e <= bar { held += q * close[bar]; }
                }
            }
            prop_assert!(cash >= -1e-9 * cash0, "cash {cash} at bar {bar}");
            prop_assert!((equity - cash - held).abs() <= 1e-9 * cash0.max(equity), "bar {bar}: {equity} vs {}", cash + held);
        }
    }
}
