//! [`Figures`]: the one projection of [`Metrics`] that leaves the kernel, and the one rule for a
//! figure that was not computed ([`nan_as_null`]).

use serde::{Deserialize, Serialize};

use super::Metrics;

/// The headline figures of one backtest, as everything past the kernel keeps them: a sweep's
/// rows, evolution's individuals, a promoted strategy's record and the research report.
/// Fractions throughout (0.05 = 5 %).
///
/// The one missing-value rule: a figure that was not computed (by a fast sweep path, for a
/// window without a backtest, or capital at work of anything but a validated winner) is NaN in
/// memory, `null` in JSON ([`nan_as_null`]) and SQL `NULL`; a field absent from JSON written by
/// an older build reads as NaN. Two missing figures are equal (`==` compares NaN with NaN as the
/// same missing value), so figures that round-trip through JSON compare equal to the originals.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct Figures {
    /// Closed trades.
    pub trades: usize,
    /// Equity at the last bar's close.
    #[serde(with = "nan_as_null", default = "nan")]
    pub final_equity: f64,
    /// [`Metrics::total_return`].
    #[serde(with = "nan_as_null", default = "nan")]
    pub total_return: f64,
    /// [`Metrics::cagr`].
    #[serde(with = "nan_as_null", default = "nan")]
    pub cagr: f64,
    /// [`Metrics::sharpe`].
    #[serde(with = "nan_as_null", default = "nan")]
    pub sharpe: f64,
    /// [`Metrics::sortino`].
    #[serde(with = "nan_as_null", default = "nan")]
    pub sortino: f64,
    /// [`Metrics::calmar`].
    #[serde(with = "nan_as_null", default = "nan")]
    pub calmar: f64,
    /// [`Metrics::max_drawdown`] (negative).
    #[serde(with = "nan_as_null", default = "nan")]
    pub max_drawdown: f64,
    /// [`Metrics::win_rate`].
    #[serde(with = "nan_as_null", default = "nan")]
    pub win_rate: f64,
    /// [`Metrics::profit_factor`].
    #[serde(with = "nan_as_null", default = "nan")]
    pub profit_factor: f64,
    /// [`Metrics::exposure`].
    #[serde(with = "nan_as_null", default = "nan")]
    pub exposure: f64,
    /// Time-averaged fraction of the equity held in positions ([`capital_at_work`](super::capital_at_work)),
    /// measured only for a validated winner (in and out of sample), which the research gates on.
    #[serde(with = "nan_as_null", default = "nan")]
    pub capital_at_work: f64,
}

fn nan() -> f64 {
    f64::NAN
}

impl Figures {
    /// The figures of metrics `m` whose equity ended at `final_equity`; capital at work is not
    /// measured.
    pub fn of(m: &Metrics, final_equity: f64) -> Figures {
        Figures {
            trades: m.trades,
            final_equity,
            total_return: m.total_return,
            cagr: m.cagr,
            sharpe: m.sharpe,
            sortino: m.sortino,
            calmar: m.calmar,
            max_drawdown: m.max_drawdown,
            win_rate: m.win_rate,
            profit_factor: m.profit_factor,
            exposure: m.exposure,
            capital_at_work: f64::NAN,
        }
    }

    /// The figures of a window without a backtest: no trades, every other figure missing.
    pub fn missing() -> Figures {
        Figures {
            trades: 0,
            final_equity: f64::NAN,
            total_return: f64::NAN,
            cagr: f64::NAN,
            sharpe: f64::NAN,
            sortino: f64::NAN,
            calmar: f64::NAN,
            max_drawdown: f64::NAN,
            win_rate: f64::NAN,
            profit_factor: f64::NAN,
            exposure: f64::NAN,
            capital_at_work: f64::NAN,
        }
    }

    /// `x`, or `None` when it is missing (NaN): for writers whose missing value is not NaN
    /// (SQL `NULL`, an empty CSV cell, `-` in a table).
    pub fn given(x: f64) -> Option<f64> {
        (!x.is_nan()).then_some(x)
    }
}

/// Whether two figures are the same under the one missing-value rule: equal, or both missing
/// (NaN). For the `PartialEq` of types that keep missing figures as NaN.
pub fn same_figure(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

impl PartialEq for Figures {
    fn eq(&self, other: &Self) -> bool {
        let same = same_figure;
        self.trades == other.trades
            && same(self.final_equity, other.final_equity)
            && same(self.total_return, other.total_return)
            && same(self.cagr, other.cagr)
            && same(self.sharpe, other.sharpe)
            && same(self.sortino, other.sortino)
            && same(self.calmar, other.calmar)
            && same(self.max_drawdown, other.max_drawdown)
            && same(self.win_rate, other.win_rate)
            && same(self.profit_factor, other.profit_factor)
            && same(self.exposure, other.exposure)
            && same(self.capital_at_work, other.capital_at_work)
    }
}

/// Serde for an `f64` whose missing value is NaN: NaN (and any other non-finite value) is
/// written as `null`, and `null` reads back as NaN.
pub mod nan_as_null {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes `x`, or `null` when it is not finite.
    pub fn serialize<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
        match x.is_finite() {
            true => s.serialize_some(x),
            false => s.serialize_none(),
        }
    }

    /// Reads a number, or NaN for `null`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_figures_are_null_in_json_and_read_back_equal() {
        let f = Figures { trades: 3, sharpe: 1.25, max_drawdown: -0.1, ..Figures::missing() };
        let json = serde_json::to_string(&f).unwrap();
        assert!(json.contains(r#""sharpe":1.25"#) && json.contains(r#""cagr":null"#), "{json}");
        assert_eq!(serde_json::from_str::<Figures>(&json).unwrap(), f);
    }

    #[test]
    fn a_field_older_json_lacks_reads_as_missing() {
        let old = r#"{"trades":2,"final_equity":10500.0,"sharpe":0.5,"max_drawdown":-0.2}"#;
        let f: Figures = serde_json::from_str(old).unwrap();
        assert_eq!((f.trades, f.final_equity, f.sharpe, f.max_drawdown), (2, 10_500.0, 0.5, -0.2));
        assert!(f.cagr.is_nan() && f.capital_at_work.is_nan());
    }

    #[test]
    fn figures_of_metrics_copy_every_figure_bit_for_bit() {
        let m =
            Metrics { cagr: 0.1, sharpe: 1.5, calmar: 2.0, trades: 7, exposure: 0.4, ..Metrics::default() };
        let f = Figures::of(&m, 11_000.0);
        assert_eq!((f.trades, f.cagr, f.sharpe, f.calmar, f.exposure), (7, 0.1, 1.5, 2.0, 0.4));
        assert_eq!(f.final_equity, 11_000.0);
        assert!(f.capital_at_work.is_nan());
    }
}
