//! Capital at work: how much of the account a strategy actually deploys, next to exposure
//! (which counts bars with *any* position, however small).
//!
//! `capital_at_work = mean_t(V_t / E_t)` over the bars with positive equity, where `V_t` is the
//! value at bar `t`'s close of every position held through that close (entry bar included,
//! exit bar excluded) and `E_t` the account's equity at that close. A strategy that holds one
//! share of a $50 stock in a $100,000 account is 99.9 % exposed and has 0.05 % of its capital at
//! work: its Sharpe ratio describes dust.

use crate::sim::Activity;

/// Time-averaged share of `equity` held in positions, from each traded symbol's closes and
/// its activity (closed trades and any open position); 0 with no bars. Closes must cover the
/// same bars as `equity`.
pub fn capital_at_work<'a>(
    equity: &[f64],
    books: impl IntoIterator<Item = (&'a [f64], &'a Activity)>,
) -> f64 {
    let n = equity.len();
    if n == 0 {
        return 0.0;
    }
    let mut held = vec![0.0; n];
    for (close, activity) in books {
        let open = activity.open_position.map(|p| (p.entry_bar, n, p.qty));
        let spans = activity.trades.iter().map(|t| (t.entry_bar, t.exit_bar, t.qty)).chain(open);
        for (from, to, qty) in spans {
            for (value, &c) in held[from.min(n)..to.min(n)].iter_mut().zip(&close[from.min(n)..]) {
                *value += qty * c;
            }
        }
    }
    let (sum, bars) = held
        .iter()
        .zip(equity)
        .filter(|&(_, &e)| e > 0.0)
        .fold((0.0, 0usize), |(s, k), (&v, &e)| (s + (v / e).clamp(0.0, 1.0), k + 1));
    if bars == 0 { 0.0 } else { sum / bars as f64 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{ExitReason, OpenPosition, Trade};
    use datasets::Timestamp;

    fn trade(entry_bar: usize, exit_bar: usize, qty: f64) -> Trade {
        Trade {
            entry_signal_bar: entry_bar.saturating_sub(1),
            entry_bar,
            exit_bar,
            exit_signal_bar: None,
            entry_time: Timestamp(0),
            exit_time: Timestamp(0),
            entry_price: 10.0,
            exit_price: 10.0,
            qty,
            fees: 0.0,
            pnl: 0.0,
            ret: 0.0,
            exit_reason: ExitReason::Signal,
        }
    }

    #[test]
    fn the_share_of_equity_in_positions_averaged_over_bars() {
        let close = [10.0, 10.0, 20.0, 20.0];
        let equity = [100.0, 100.0, 100.0, 100.0];
        // 5 units held through the closes of bars 1 and 2: 50 % then 100 %.
        let a = Activity { trades: vec![trade(1, 3, 5.0)], ..Activity::default() };
        assert_eq!(capital_at_work(&equity, [(&close[..], &a)]), (0.0 + 0.5 + 1.0 + 0.0) / 4.0);
        // An open position counts to the end; two books add up.
        let open =
            OpenPosition { entry_signal_bar: 2, entry_bar: 3, entry_price: 20.0, qty: 1.0, entry_fee: 0.0 };
        let b = Activity { open_position: Some(open), ..Activity::default() };
        let both = capital_at_work(&equity, [(&close[..], &a), (&close[..], &b)]);
        assert!((both - (0.0 + 0.5 + 1.0 + 0.2) / 4.0).abs() < 1e-15, "{both}");
        // Dust: one unit of a $10 stock in a $100,000 account.
        let dust = Activity { trades: vec![trade(0, 4, 1.0)], ..Activity::default() };
        let big = [100_000.0; 4];
        assert!(capital_at_work(&big, [(&close[..], &dust)]) < 2e-4);
        assert_eq!(capital_at_work(&[], [(&close[..0], &dust)]), 0.0);
    }
}
