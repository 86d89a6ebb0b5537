//! The figures a sweep can be ranked by.

use kernel::metrics::Figures;
use serde::{Deserialize, Serialize};

/// A ranking metric (`rank_by`); higher is better for each (a drawdown is negative, so the
/// shallowest ranks first).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Total return.
    TotalReturn,
    /// Compound annual growth rate.
    Cagr,
    /// Annualised Sharpe ratio.
    #[default]
    Sharpe,
    /// Annualised Sortino ratio.
    Sortino,
    /// Maximum drawdown (negative; closest to zero ranks first).
    MaxDrawdown,
    /// Share of winning trades.
    WinRate,
    /// Gross profit over gross loss.
    ProfitFactor,
    /// Equity at the last bar.
    FinalEquity,
}

impl Metric {
    /// This metric's value in `m`, `None` when `m` came from a path that does not compute it.
    pub fn of(self, m: &Figures) -> Option<f64> {
        Figures::given(match self {
            Metric::TotalReturn => m.total_return,
            Metric::Cagr => m.cagr,
            Metric::Sharpe => m.sharpe,
            Metric::Sortino => m.sortino,
            Metric::MaxDrawdown => m.max_drawdown,
            Metric::WinRate => m.win_rate,
            Metric::ProfitFactor => m.profit_factor,
            Metric::FinalEquity => m.final_equity,
        })
    }

    /// True when a family's fast sweep path computes this metric for every combination
    /// ([`Strategy::fast_grid`](kernel::strategy::Strategy::fast_grid)).
    pub fn on_fast_path(self) -> bool {
        matches!(self, Metric::TotalReturn | Metric::Sharpe | Metric::MaxDrawdown | Metric::FinalEquity)
    }
}
