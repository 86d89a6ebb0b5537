//! Position limit and strongest-`N` selection for per-symbol families.
//!
//! A per-symbol family run over a universe (`mean_reversion`, `relative_volume_breakout`,
//! `vol_managed_momentum`) would otherwise give every symbol its own slot, `1/legs` of the
//! equity: 1/5,000 of the account on a 5,000-symbol universe is dust, and the Sharpe ratio of
//! dust says nothing about the P&L. Such a family declares a `positions` parameter `N`: the
//! portfolio sizes each entry on `1/N` of the sleeve ([`Strategy::max_positions`]), and at each
//! bar the entries that fit are the strongest of that bar, by a score the family computes from
//! bars up to and including that bar (so a fill at `t + 1` never sees bar `t + 1`).
//!
//! [`Strategy::max_positions`]: super::Strategy::max_positions

use std::cmp::Ordering;
use std::num::NonZeroUsize;

use super::{
    LegSignals, MarketData, ParamKind, ParamSpec, ParamValue, Params, SignalSet, StrategyError, SymbolData,
};
use crate::sim::{Signal, SignalColumn};

/// The `positions` parameter every limited per-symbol family shares: at most this many
/// positions at once, each sized on `1/positions` of the sleeve.
pub(super) const POSITIONS: ParamSpec = ParamSpec {
    name: "positions",
    kind: ParamKind::Integer { min: 1, max: 100 },
    default: ParamValue::Int(10),
};

/// The position limit of a family with a [`POSITIONS`] parameter on `data`: `positions`, or
/// fewer when the universe has fewer tradable symbols.
pub(super) fn limit(params: &Params, data: &MarketData) -> Option<NonZeroUsize> {
    NonZeroUsize::new(params.usize(POSITIONS.name).min(data.tradable().count()))
}

/// Like [`per_symbol`](super::per_symbol), but `rule` also writes each bar's entry score
/// (higher is stronger; NaN never enters) into its second argument, and at most
/// `params`' `positions` legs hold at once: each bar's entries beyond the free slots are
/// dropped, the weakest first. Only the scores of entry bars are kept, so the memory held per
/// leg follows its signals' changes and entries, not its bars.
pub(super) fn per_symbol_strongest(
    strategy: &'static str,
    params: &Params,
    data: &MarketData,
    mut rule: impl FnMut(&SymbolData, &mut Vec<f64>) -> Result<Vec<Signal>, StrategyError>,
) -> Result<SignalSet, StrategyError> {
    let mut scores = Vec::new();
    let mut legs = Vec::new();
    let mut score = Vec::with_capacity(data.len());
    for i in data.tradable() {
        score.clear();
        let signals = SignalColumn::from(rule(&data.symbols()[i], &mut score)?).restrict(data.listed(i));
        scores.push(entry_scores(signals.iter(), &score));
        legs.push(LegSignals { symbol: i, signals });
    }
    if legs.is_empty() {
        return Err(StrategyError::MissingSymbols { strategy, what: "tradable symbol".into() });
    }
    keep_strongest(&mut legs, &scores, params.usize(POSITIONS.name));
    Ok(SignalSet { legs })
}

/// The scores of `signals`' entry bars, in bar order (NaN where `score` is too short).
fn entry_scores(signals: impl Iterator<Item = Signal>, score: &[f64]) -> Vec<f64> {
    signals
        .enumerate()
        .filter(|(_, s)| matches!(s, Signal::Enter(_)))
        .map(|(t, _)| score.get(t).copied().unwrap_or(f64::NAN))
        .collect()
}

/// Keeps at most `n` legs holding at once, following the legs' own signals: a leg holds from
/// an entry it was allowed until its next exit. At each bar the exits free their slots first;
/// then, when more legs want to enter than slots are free, the entries with the highest
/// scores are kept (ties: the lower leg index) and the rest become `Hold`. `scores[leg]` holds
/// the score of each of the leg's entry bars in order ([`entry_scores`]). An entry with a NaN
/// score is dropped. A protective exit the simulator takes on its own is not seen here, so the
/// slot stays taken until the leg's exit signal: the simulator's own limit refuses any entry
/// beyond `n`.
fn keep_strongest(legs: &mut [LegSignals], scores: &[Vec<f64>], n: usize) {
    let bars = legs.first().map_or(0, |l| l.signals.len());
    let mut kept: Vec<SignalColumn> = legs.iter().map(|_| SignalColumn::new()).collect();
    {
        let mut readers: Vec<_> = legs.iter().map(|l| l.signals.iter()).collect();
        let mut next_score = vec![0usize; legs.len()];
        let mut now = vec![Signal::Hold; legs.len()];
        let mut holding = vec![false; legs.len()];
        let mut held = 0;
        let mut wanting: Vec<(usize, f64)> = Vec::new();
        for _ in 0..bars {
            wanting.clear();
            for (k, reader) in readers.iter_mut().enumerate() {
                let mut signal = reader.next().expect("every leg has a signal per bar");
                match signal {
                    Signal::Exit if holding[k] => {
                        holding[k] = false;
                        held -= 1;
                    }
                    Signal::Enter(_) => {
                        let score = scores[k].get(next_score[k]).copied().unwrap_or(f64::NAN);
                        next_score[k] += 1;
                        match (holding[k], score.is_nan()) {
                            (true, _) => {}
                            (false, true) => signal = Signal::Hold,
                            (false, false) => wanting.push((k, score)),
                        }
                    }
                    _ => {}
                }
                now[k] = signal;
            }
            let free = n.saturating_sub(held);
            if wanting.len() > free {
                wanting.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap_or(Ordering::Equal).then(a.0.cmp(&b.0)));
                for &(k, _) in &wanting[free..] {
                    now[k] = Signal::Hold;
                }
                wanting.truncate(free);
            }
            for &(k, _) in &wanting {
                holding[k] = true;
            }
            held += wanting.len();
            for (column, &signal) in kept.iter_mut().zip(&now) {
                column.push(signal);
            }
        }
    }
    for (leg, column) in legs.iter_mut().zip(kept) {
        leg.signals = column;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::Strength;

    const E: Signal = Signal::Enter(Strength::FULL);
    const X: Signal = Signal::Exit;
    const H: Signal = Signal::Hold;

    fn legs(signals: &[&[Signal]]) -> Vec<LegSignals> {
        signals.iter().enumerate().map(|(k, &s)| LegSignals { symbol: k, signals: s.into() }).collect()
    }

    /// `keep_strongest` of `signals` with one score per bar, as the signals after it.
    fn keep(signals: &[&[Signal]], scores: &[Vec<f64>], n: usize) -> Vec<Vec<Signal>> {
        let mut l = legs(signals);
        let entry: Vec<_> =
            signals.iter().zip(scores).map(|(s, x)| entry_scores(s.iter().copied(), x)).collect();
        keep_strongest(&mut l, &entry, n);
        l.iter().map(|leg| leg.signals.to_vec()).collect()
    }

    #[test]
    fn keeps_the_strongest_entries_that_fit_and_frees_slots_on_exits() {
        // Three legs want in at bar 0 with two slots: the two highest scores enter. At bar 1
        // leg 0 exits and leg 1 (wanting again) takes its slot; at bar 2 both slots are held, so
        // leg 3's entry is dropped however strong.
        let scores = vec![vec![3.0; 3], vec![1.0, 5.0, 0.0], vec![2.0; 3], vec![0.0, 0.0, 9.0]];
        let l = keep(&[&[E, X, H], &[E, E, H], &[E, H, H], &[H, H, E]], &scores, 2);
        assert_eq!(l[0], [E, X, H]);
        assert_eq!(l[1], [H, E, H]);
        assert_eq!(l[2], [E, H, H]);
        assert_eq!(l[3], [H, H, H]);
    }

    #[test]
    fn ties_go_to_the_lower_leg_and_nan_never_enters() {
        let l = keep(&[&[E], &[E], &[E]], &[vec![1.0], vec![1.0], vec![f64::NAN]], 1);
        assert_eq!([l[0][0], l[1][0], l[2][0]], [E, H, H]);
        // A repeated entry of a holding leg takes no new slot and is left alone.
        let l = keep(&[&[E, E, E], &[H, E, E]], &[vec![1.0; 3], vec![9.0; 3]], 1);
        assert_eq!(l[0], [E, E, E]);
        assert_eq!(l[1], [H, H, H]);
    }

    /// On a generated 1,000-stock universe each per-symbol family holds at most `positions`
    /// symbols at once, and an entry at full strength takes a meaningful share of the sleeve
    /// (a slot of `1/positions`, not `1/legs` = 1/1,016).
    #[test]
    fn on_a_thousand_symbols_positions_are_a_share_of_the_sleeve() {
        use datasets::synth::{SynthConfig, Universe};

        use crate::sim::TradeRules;
        use crate::strategy::{
            MeanReversion, RelativeVolumeBreakout, Strategy, VolManagedMomentum, backtest,
        };

        let u = Universe::new(&SynthConfig { symbols: 1_000, years: 1, seed: 5, ..SynthConfig::default() })
            .unwrap();
        let symbols =
            (0..u.symbols().len()).map(|i| SymbolData { meta: u.symbols()[i].clone(), bars: u.daily(i) });
        let data = MarketData::new(datasets::Timeframe::Day1, symbols.collect()).unwrap();
        let strategies: [&dyn Strategy; 3] = [&MeanReversion, &RelativeVolumeBreakout, &VolManagedMomentum];
        for strategy in strategies {
            let params = Params::defaults(strategy.space());
            let n = params.usize("positions");
            assert_eq!(strategy.max_positions(&params, &data).map(NonZeroUsize::get), Some(n));
            let bt = backtest(strategy, &params, &data, TradeRules::default(), 100_000.0).unwrap();
            let crate::strategy::RunResult::Portfolio(run) = &bt.result else { panic!("a portfolio run") };
            let activities: Vec<_> = run.sleeves[0].legs.iter().map(|l| &l.activity).collect();
            let mut open = vec![0i64; data.len() + 1];
            let mut entries = 0;
            for a in &activities {
                for trade in &a.trades {
                    open[trade.entry_bar] += 1;
                    open[trade.exit_bar] -= 1;
                    entries += 1;
                    let notional = trade.qty * trade.entry_price;
                    let slot = run.equity[trade.entry_bar - 1] / n as f64;
                    // Full-strength entries take a whole slot (less what the cash cap and
                    // whole shares shave off); vol_managed_momentum scales its entries by
                    // target / realised volatility, so it only needs more than the 1/legs slot.
                    let least = if strategy.name() == "vol_managed_momentum" {
                        2.0 * run.equity[trade.entry_bar - 1] / data.tradable().count() as f64
                    } else {
                        0.5 * slot
                    };
                    assert!(notional >= least, "{}: {notional:.0} < {least:.0}", strategy.name());
                }
                if let Some(p) = &a.open_position {
                    open[p.entry_bar] += 1;
                    entries += 1;
                }
            }
            assert!(entries >= n, "{}: only {entries} entries", strategy.name());
            let most = open
                .iter()
                .scan(0, |held, d| {
                    *held += d;
                    Some(*held)
                })
                .max()
                .unwrap();
            assert!(most as usize <= n, "{}: {most} positions at once", strategy.name());
        }
    }
}
