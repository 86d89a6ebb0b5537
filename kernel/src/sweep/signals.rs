//! A lean single-symbol run of arbitrary signals: what [`Simulator::run`] does, without the
//! trade and refusal records, for evaluators that run it hundreds of thousands of times (GP
//! discovery) and need only the equity curve and trade totals.
//!
//! Every fill, cost, stop and sizing decision is the simulator's fill core (`sim::fill`), asked
//! in the simulator's order (see `sim::book` and `sim::step`), so the equity at every bar, the final
//! cash and the totals equal `Simulator::run`'s bit for bit (tested on random signals and
//! rules). Next-open fills only; same-bar-close fills are refused.

use datasets::Bars;

use crate::sim::fill::{self, Holding, Prices};
use crate::sim::{FillTiming, LengthMismatch, Signal, Simulator, Strength, TradeRules};

/// The outcome of [`run_signals_into`]: the simulator's equity and its trades in totals.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SignalRun {
    /// Equity at every bar's close (as [`SimResult::equity`](crate::sim::SimResult)).
    pub equity: Vec<f64>,
    /// Cash at the end.
    pub final_cash: f64,
    /// Closed trades.
    pub trades: usize,
    /// Trades with `pnl > 0`.
    pub wins: usize,
    /// `Σ max(pnl, 0)` over the trades, in exit order.
    pub gross_profit: f64,
    /// `Σ max(−pnl, 0)` over the trades, in exit order.
    pub gross_loss: f64,
    /// `Σ bars_held` over the trades.
    pub bars_held: usize,
    /// Bars with a position held at any moment.
    pub exposed_bars: usize,
    /// Notional of every fill.
    pub traded_notional: f64,
}

/// Rules the lean run does not model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignalRunError {
    /// Signals and bars of different lengths.
    #[error(transparent)]
    Length(#[from] LengthMismatch),
    /// Same-bar-close fills (run those through the simulator).
    #[error("the lean signal run models next-open fills only (run same-bar-close fills through Simulator)")]
    SameBarClose,
}

struct Run<'a> {
    prices: Prices<'a>,
    rules: &'a TradeRules,
    cash: f64,
    position: Option<Holding>,
    counted: usize,
    out: &'a mut SignalRun,
}

impl Run<'_> {
    fn close(&mut self, t: usize, reference: f64) {
        let Some(p) = self.position.take() else { return };
        self.out.exposed_bars += (t + 1).saturating_sub(p.entry_bar.max(self.counted));
        self.counted = t + 1;
        let sold = p.sell(&self.rules.costs, &self.prices, t, reference, &mut self.cash);
        self.out.traded_notional += sold.notional;
        self.out.trades += 1;
        self.out.wins += usize::from(sold.pnl > 0.0);
        self.out.gross_profit += sold.pnl.max(0.0);
        self.out.gross_loss += (-sold.pnl).max(0.0);
        self.out.bars_held += t - p.entry_bar;
    }

    fn open(&mut self, t: usize, signal_bar: usize, strength: Strength, base: f64) {
        let reference = self.prices.open[t];
        if let Ok(bought) =
            fill::buy(self.rules, &self.prices, t, signal_bar, reference, strength, base, &mut self.cash)
        {
            self.out.traded_notional += bought.notional;
            self.position = Some(bought.holding);
        }
    }

    fn stops(&mut self, t: usize) {
        let Some(p) = self.position.as_mut() else { return };
        if let Some((price, _)) = p.stop(&self.rules.exits, &self.prices, t) {
            self.close(t, price);
        }
    }
}

/// The first bar at or after `from` (`bars.len()` if none) at which a held position `p` may
/// change: the fill of an exit signal, its time stop, or a stop-loss or take-profit level
/// within the bar's range.
fn next_event(bars: &Bars, signals: &[Signal], rules: &TradeRules, p: &Holding, from: usize) -> usize {
    let n = bars.len();
    if from >= n {
        return n;
    }
    // Each scan stops at the bound found so far, so a run costs O(bars) however often it jumps.
    let mut end = rules.exits.max_bars.map_or(n, |m| (p.entry_bar + m).max(from)).min(n);
    if rules.exits.stop_loss.is_some() || rules.exits.take_profit.is_some() {
        let stop = rules.exits.stop_loss.map_or(f64::NEG_INFINITY, |f| p.entry_price * (1.0 - f));
        let take = rules.exits.take_profit.map_or(f64::INFINITY, |f| p.entry_price * (1.0 + f));
        let (low, high) = (&bars.low()[from..end], &bars.high()[from..end]);
        if let Some(k) = low.iter().zip(high).position(|(&l, &h)| (l <= stop) | (h >= take)) {
            end = from + k;
        }
    }
    if let Some(j) = signals[from - 1..end.max(from) - 1].iter().position(|s| *s == Signal::Exit) {
        end = from + j;
    }
    end
}

/// Runs `signals` (one per bar) over `bars` as `sim` would, into `out` (buffers reused).
pub fn run_signals_into(
    bars: &Bars,
    signals: &[Signal],
    sim: &Simulator,
    out: &mut SignalRun,
) -> Result<(), SignalRunError> {
    if bars.len() != signals.len() {
        return Err(LengthMismatch { bars: bars.len(), signals: signals.len() }.into());
    }
    let rules = sim.rules();
    if rules.fill != FillTiming::NextOpen {
        return Err(SignalRunError::SameBarClose);
    }
    let mut equity = std::mem::take(&mut out.equity);
    equity.clear();
    *out = SignalRun::default();
    let (open, close) = (bars.open(), bars.close());
    let stops = rules.exits.has_intrabar_stops();
    let mut run =
        Run { prices: Prices::of(bars), rules, cash: sim.initial_cash(), position: None, counted: 0, out };
    let n = bars.len();
    let mut t = 0;
    while t < n {
        if run.position.is_none() {
            // Flat until the bar after the next entry signal: equity is the cash, nothing fills.
            let from = t.max(1) - 1;
            let next = signals[from..n - 1].iter().position(|s| matches!(s, Signal::Enter(_)));
            let entry_bar = next.map_or(n, |j| from + j + 1);
            if entry_bar > t {
                equity.resize(entry_bar, run.cash + 0.0);
                t = entry_bar;
                continue;
            }
        }
        let held = if t > 0 { run.position.map_or(0.0, |p| p.qty * close[t - 1]) } else { 0.0 };
        // The sizing base of a one-book account: its equity at the previous close.
        let base = run.cash + held;
        if t > 0 {
            let can_enter = run.position.is_none();
            if let Some(p) = run.position {
                // An exit signal, else the time stop: both fill at the open.
                let time_stop = rules.exits.max_bars.is_some_and(|m| t - p.entry_bar >= m);
                if signals[t - 1] == Signal::Exit || time_stop {
                    run.close(t, open[t]);
                }
            }
            if let Signal::Enter(strength) = signals[t - 1]
                && can_enter
            {
                run.open(t, t - 1, strength, base);
            }
        }
        if stops {
            run.stops(t);
        }
        equity.push(run.cash + run.position.map_or(0.0, |p| p.qty * close[t]));
        t += 1;
        if let Some(p) = run.position
            && rules.exits.trailing_stop.is_none()
        {
            // Held until the next bar where something can happen: an exit signal's fill, the
            // time stop, or a bar reaching a stop-loss or take-profit level (a gap through a
            // level reaches it too). Until then each bar only marks the position.
            let event = next_event(bars, signals, rules, &p, t);
            for &c in &close[t..event] {
                equity.push(run.cash + p.qty * c);
            }
            t = event;
        }
    }
    if let Some(p) = run.position {
        let last = bars.len() - 1;
        if rules.close_at_end {
            run.close(last, close[last]);
        } else {
            run.out.exposed_bars += (last + 1).saturating_sub(p.entry_bar.max(run.counted));
        }
    }
    let kept = if rules.close_at_end { None } else { run.position };
    if let (Some(last), Some(&c)) = (equity.last_mut(), close.last()) {
        *last = run.cash + kept.map_or(0.0, |p| p.qty * c);
    }
    run.out.final_cash = run.cash;
    run.out.equity = equity;
    Ok(())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::sim::{Commission, Costs, ExitRules, QuantityRule, Sizing, SizingPrice, Slippage};

    fn bars(steps: &[(f64, f64, f64)]) -> Bars {
        let mut close = 100.0;
        let rows = steps.iter().enumerate().map(|(t, &(gap, move_, range))| {
            let open = close * (1.0 + gap);
            close = (open * (1.0 + move_)).max(1.0);
            datasets::Bar {
                ts: datasets::Timestamp(t as i64 * 86_400_000_000_000),
                open,
                high: open.max(close) * (1.0 + range),
                low: open.min(close) * (1.0 - range),
                close,
                volume: 1000.0,
                vwap: None,
                trade_count: None,
            }
        });
        Bars::from_bars(rows.collect::<Vec<_>>()).unwrap()
    }

    fn signal() -> impl Strategy<Value = Signal> {
        prop_oneof![
            6 => Just(Signal::Hold),
            2 => (0.05..=1.0f64).prop_map(|s| Signal::Enter(Strength::new(s).unwrap())),
            2 => Just(Signal::Exit),
            1 => Just(Signal::EnterShort),
        ]
    }

    fn rules() -> impl Strategy<Value = TradeRules> {
        let opt = |lo: f64, hi: f64| prop::option::of(lo..hi);
        (
            (opt(0.01, 0.2), opt(0.01, 0.3), opt(0.01, 0.2), prop::option::of(1usize..12)),
            (0.0..0.005f64, 0.0..2.0f64, 0.0..30.0f64),
            prop_oneof![
                Just(Sizing::AllIn),
                (0.1..=1.0f64).prop_map(Sizing::FixedFraction),
                Just(Sizing::VolTarget { annual_vol: 0.2, lookback: 5, periods_per_year: 252.0 })
            ],
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(
                |((sl, tp, tr, mb), (rate, per_order, bps), sizing, signal_close, whole, close_at_end)| {
                    TradeRules {
                        costs: Costs {
                            commission: Commission { rate, per_order, per_share: 0.0 },
                            slippage: if bps > 15.0 { Slippage::Bps(bps) } else { Slippage::None },
                        },
                        sizing,
                        sizing_price: if signal_close {
                            SizingPrice::SignalClose
                        } else {
                            SizingPrice::FillPrice
                        },
                        quantity: if whole { QuantityRule::Whole } else { QuantityRule::Fractional },
                        exits: ExitRules { stop_loss: sl, take_profit: tp, trailing_stop: tr, max_bars: mb },
                        close_at_end,
                        ..TradeRules::default()
                    }
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// Random bars, signals and rules: equity, cash and trade totals equal the simulator's
        /// bit for bit.
        #[test]
        fn lean_run_equals_the_simulator(
            steps in prop::collection::vec((-0.03..0.03f64, -0.05..0.05f64, 0.0..0.03f64), 1..120),
            signals in prop::collection::vec(signal(), 120),
            rules in rules(),
            cash in 500.0..50_000.0f64,
        ) {
            let bars = bars(&steps);
            let signals = &signals[..bars.len()];
            let sim = Simulator::new(cash, rules).unwrap();
            let want = sim.run(&bars, signals).unwrap();
            let mut got = SignalRun::default();
            run_signals_into(&bars, signals, &sim, &mut got).unwrap();
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            prop_assert_eq!(bits(&got.equity), bits(&want.equity));
            prop_assert_eq!(got.final_cash.to_bits(), want.final_cash.to_bits());
            let trades = &want.activity.trades;
            prop_assert_eq!(got.trades, trades.len());
            prop_assert_eq!(got.wins, trades.iter().filter(|t| t.pnl > 0.0).count());
            let gross_profit: f64 = trades.iter().map(|t| t.pnl.max(0.0)).sum();
            let gross_loss: f64 = trades.iter().map(|t| (-t.pnl).max(0.0)).sum();
            // Equal as numbers: an empty `Iterator::sum` is −0.0, the lean totals start at 0.0.
            prop_assert!(got.gross_profit == gross_profit, "{} vs {gross_profit}", got.gross_profit);
            prop_assert!(got.gross_loss == gross_loss, "{} vs {gross_loss}", got.gross_loss);
            prop_assert_eq!(got.bars_held, trades.iter().map(|t| t.bars_held()).sum::<usize>());
            prop_assert_eq!(got.exposed_bars, want.activity.exposed_bars);
            prop_assert_eq!(got.traded_notional.to_bits(), want.activity.traded_notional.to_bits());
        }
    }

    #[test]
    fn same_bar_fills_and_length_mismatches_are_refused() {
        let bars = bars(&[(0.0, 0.01, 0.01); 3]);
        let rules = TradeRules { fill: FillTiming::SameBarClose, ..TradeRules::default() };
        let sim = Simulator::new(1000.0, rules).unwrap();
        let mut out = SignalRun::default();
        assert_eq!(
            run_signals_into(&bars, &[Signal::Hold; 3], &sim, &mut out),
            Err(SignalRunError::SameBarClose)
        );
        let sim = Simulator::new(1000.0, TradeRules::default()).unwrap();
        assert!(matches!(
            run_signals_into(&bars, &[Signal::Hold; 2], &sim, &mut out),
            Err(SignalRunError::Length(_))
        ));
    }
}
