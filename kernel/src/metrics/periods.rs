//! Bars per year, for annualising per-bar statistics.

use datasets::{AssetClass, Timeframe};

/// Number of bars of `timeframe` in a year of trading for `asset`.
///
/// Equities, ETFs and indices trade 252 days of 6.5 hours (390 minutes); forex 260 weekdays of
/// 24 hours; crypto 365 days of 24 hours. Intraday timeframes divide the trading minutes of the
/// year by the bar length (1Min equity = 252 × 390, 1Hour equity = 252 × 6.5); weekly is 52 and
/// monthly 12 for every class.
pub fn periods_per_year(timeframe: Timeframe, asset: AssetClass) -> f64 {
    let (days, minutes_per_day) = match asset {
        AssetClass::Equity | AssetClass::Etf | AssetClass::Index => (252.0, 390.0),
        AssetClass::Forex => (260.0, 1440.0),
        AssetClass::Crypto => (365.0, 1440.0),
    };
    let bar_minutes = match timeframe {
        Timeframe::Min1 => 1.0,
        Timeframe::Min5 => 5.0,
        Timeframe::Min15 => 15.0,
        Timeframe::Hour1 => 60.0,
        Timeframe::Day1 => return days,
        Timeframe::Week1 => return 52.0,
        Timeframe::Month1 => return 12.0,
    };
    days * minutes_per_day / bar_minutes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_per_year_by_class_and_timeframe() {
        use AssetClass::*;
        use Timeframe::*;
        assert_eq!(periods_per_year(Day1, Equity), 252.0);
        assert_eq!(periods_per_year(Min1, Equity), 252.0 * 390.0);
        assert_eq!(periods_per_year(Min5, Etf), 252.0 * 78.0);
        assert_eq!(periods_per_year(Min15, Index), 252.0 * 26.0);
        assert_eq!(periods_per_year(Hour1, Equity), 252.0 * 6.5);
        assert_eq!(periods_per_year(Day1, Forex), 260.0);
        assert_eq!(periods_per_year(Hour1, Forex), 260.0 * 24.0);
        assert_eq!(periods_per_year(Day1, Crypto), 365.0);
        assert_eq!(periods_per_year(Hour1, Crypto), 365.0 * 24.0);
        assert_eq!(periods_per_year(Min1, Crypto), 365.0 * 1440.0);
        for asset in [Equity, Forex, Crypto] {
            assert_eq!(periods_per_year(Week1, asset), 52.0);
            assert_eq!(periods_per_year(Month1, asset), 12.0);
        }
    }
}
