//! Position sizing: how much of the account an entry may commit, and the quantity that fits.

use super::costs::Commission;
use super::record::RefusalReason;
use super::rules::TradeRules;
use super::signal::Strength;

/// How large an entry is, decided before the order exists.
///
/// Each rule yields a fraction `f` of the equity base (the account's equity for a single-symbol
/// run, one slot of the sleeve's equity in a portfolio, see [`Sleeve`](super::Sleeve)); the budget is `min(cash, f × strength × base)` and the
/// quantity is the largest one whose cost, commission included, fits that budget. Nothing ever
/// exceeds 1× equity: there is no leverage.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sizing {
    /// Everything available: `f = 1`.
    #[default]
    AllIn,
    /// A fixed fraction of equity, in `(0, 1]`.
    FixedFraction(f64),
    /// Volatility targeting: `f = min(1, annual_vol / realised)`, where `realised` is the sample
    /// standard deviation of the last `lookback` close-to-close log returns up to the signal bar,
    /// times `√periods_per_year`. Zero realised volatility gives `f = 1`; fewer than `lookback`
    /// returns of history refuses the entry.
    VolTarget {
        /// Target annualised volatility (0.15 = 15 %).
        annual_vol: f64,
        /// Number of log returns in the estimate (at least 2).
        lookback: usize,
        /// Bars per year, from [`periods_per_year`](crate::metrics::periods_per_year).
        periods_per_year: f64,
    },
}

impl Sizing {
    /// The fraction of the equity base to commit, given closes up to and including the signal bar;
    /// `None` when a volatility estimate lacks history.
    pub fn fraction(&self, closes: &[f64]) -> Option<f64> {
        match *self {
            Sizing::AllIn => Some(1.0),
            Sizing::FixedFraction(f) => Some(f),
            Sizing::VolTarget { annual_vol, lookback, periods_per_year } => {
                if closes.len() <= lookback {
                    return None;
                }
                let window = &closes[closes.len() - lookback - 1..];
                let n = lookback as f64;
                let mut sum = 0.0;
                let mut sum_sq = 0.0;
                for w in window.windows(2) {
                    let r = (w[1] / w[0]).ln();
                    sum += r;
                    sum_sq += r * r;
                }
                let var = ((sum_sq - sum * sum / n) / (n - 1.0)).max(0.0);
                let realised = (var * periods_per_year).sqrt();
                Some(if realised > 0.0 { (annual_vol / realised).min(1.0) } else { 1.0 })
            }
        }
    }
}

/// Whether quantities are whole units or fractional.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuantityRule {
    /// Whole shares only.
    #[default]
    Whole,
    /// Fractional units, rounded down to 1e-9 (Alpaca's finest fractional increment).
    Fractional,
}

const FRACTION_STEP: f64 = 1e9;

/// The largest quantity an entry buys: 2^53, beyond which consecutive whole units are no
/// longer distinct `f64` values (a step of one share would vanish).
pub const MAX_QUANTITY: f64 = 9_007_199_254_740_992.0;

/// Cash out of the account for buying `qty` at `price`: `(notional, commission)`.
pub(crate) fn buy_cost(qty: f64, price: f64, commission: &Commission) -> (f64, f64) {
    (qty * price, commission.cost(qty, price))
}

/// The largest quantity, at most [`MAX_QUANTITY`], whose notional plus commission at `price`
/// fits `budget`; 0 if none does.
pub fn max_quantity(budget: f64, price: f64, commission: &Commission, rule: QuantityRule) -> f64 {
    let unit = price * (1.0 + commission.rate) + commission.per_share;
    let raw = (budget - commission.per_order) / unit;
    if raw.is_nan() || raw <= 0.0 {
        return 0.0;
    }
    let (q, step) = match rule {
        QuantityRule::Whole => (raw.floor(), 1.0),
        QuantityRule::Fractional => ((raw * FRACTION_STEP).floor() / FRACTION_STEP, 1.0 / FRACTION_STEP),
    };
    let mut q = q.min(MAX_QUANTITY);
    // Rounding in `raw` can overshoot by an ulp; step down until the exact cost fits. Where
    // `step` is below the spacing of `q`'s neighbours (a fractional quantity past 2^53 / 1e9),
    // `q - step == q`: stepping to the next lower `f64` instead keeps the loop finite.
    while q > 0.0 && {
        let (notional, fee) = buy_cost(q, price, commission);
        notional + fee > budget
    } {
        q = (q - step).min(q.next_down()).max(0.0);
    }
    q
}

/// The quantity an entry buys under `rules`: the simulator's sizing, shared with the live bridge
/// so that live orders size exactly like the backtest.
///
/// `closes` runs up to and including the signal bar, `base` is the equity base of the sizing
/// fraction (see [`Sizing`]), `cash` what the entry may spend and `price` the sizing price (already
/// slipped as a buy). The budget is `min(cash, fraction × strength × base)`; the quantity the
/// largest that fits it. A volatility target without enough history, or a budget that buys
/// nothing, is refused with the reason the simulator records.
#[inline]
pub fn entry_quantity(
    rules: &TradeRules,
    closes: &[f64],
    strength: Strength,
    base: f64,
    cash: f64,
    price: f64,
) -> Result<f64, RefusalReason> {
    let fraction = rules.sizing.fraction(closes).ok_or(RefusalReason::VolatilityUnavailable)?;
    let commission = &rules.costs.commission;
    let budget = (base * fraction * strength.get()).min(cash);
    let qty = max_quantity(budget, price, commission, rules.quantity);
    if qty <= 0.0 {
        let (notional, fee) = buy_cost(1.0, price, commission);
        return Err(RefusalReason::InsufficientCash { required: notional + fee, available: budget });
    }
    Ok(qty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_in_whole_shares_fit_cash_net_of_commission() {
        let c = Commission { per_share: 0.0, per_order: 0.0, rate: 0.002 };
        // 10_000 / (100 * 1.002) = 99.8 -> 99 shares, cost 9_900 + 19.8
        assert_eq!(max_quantity(10_000.0, 100.0, &c, QuantityRule::Whole), 99.0);
        // Exactly 100 shares fit with no commission.
        assert_eq!(max_quantity(10_000.0, 100.0, &Commission::ZERO, QuantityRule::Whole), 100.0);
        // Per-order fee eats into the budget: (1_000 - 5) / 10 = 99.5 -> 99.
        let fixed = Commission { per_order: 5.0, ..Commission::ZERO };
        assert_eq!(max_quantity(1_000.0, 10.0, &fixed, QuantityRule::Whole), 99.0);
        assert_eq!(max_quantity(50.0, 100.0, &Commission::ZERO, QuantityRule::Whole), 0.0);
        assert_eq!(max_quantity(3.0, 1.0, &fixed, QuantityRule::Whole), 0.0);
    }

    #[test]
    fn huge_budgets_terminate_with_a_quantity_that_fits() {
        // A budget of 1e19 at $1.5 used to spin forever: q ≈ 6.7e18 > 2^53, so `q - 1 == q`.
        for rule in [QuantityRule::Whole, QuantityRule::Fractional] {
            for (budget, price) in [(1e19, 1.5), (1e13, 0.0007), (9e15, 0.999_999_9), (1e13, 3.0)] {
                let c = Commission { per_share: 0.0, per_order: 0.0, rate: 0.001 };
                let q = max_quantity(budget, price, &c, rule);
                assert!(q > 0.0 && q <= MAX_QUANTITY, "{budget} at {price}: {q}");
                let (notional, fee) = buy_cost(q, price, &c);
                assert!(notional + fee <= budget, "{budget} at {price}: {q} costs more");
            }
        }
    }

    #[test]
    fn fractional_quantities_round_down_to_a_billionth() {
        let q = max_quantity(1_000.0, 300.0, &Commission::ZERO, QuantityRule::Fractional);
        assert_eq!(q, 3.333333333);
        assert!(q * 300.0 <= 1_000.0);
    }

    #[test]
    fn vol_target_scales_down_and_needs_history() {
        // Alternating +-1% log returns: sample sd of [a, -a, a, -a] with a = ln(1.01).
        let a: f64 = 1.01f64.ln();
        let closes = [100.0, 100.0 * a.exp(), 100.0, 100.0 * a.exp(), 100.0];
        let sizing = Sizing::VolTarget { annual_vol: 0.05, lookback: 4, periods_per_year: 252.0 };
        let sd = (4.0 * a * a / 3.0).sqrt();
        let expected = 0.05 / (sd * 252f64.sqrt());
        assert!((sizing.fraction(&closes).unwrap() - expected).abs() < 1e-12);
        assert_eq!(sizing.fraction(&closes[..4]), None);
        let calm = Sizing::VolTarget { annual_vol: 5.0, lookback: 4, periods_per_year: 252.0 };
        assert_eq!(calm.fraction(&closes), Some(1.0), "capped at 1x equity");
        assert_eq!(sizing.fraction(&[10.0; 6]), Some(1.0), "zero volatility");
        assert_eq!(Sizing::FixedFraction(0.25).fraction(&[]), Some(0.25));
    }
}
