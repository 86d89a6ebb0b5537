//! Timeframe inference from the median spacing of a series' first bars.

use crate::time::{NANOS_PER_DAY, NANOS_PER_MIN, NANOS_PER_SEC, Timeframe};

/// How many leading gaps the median is taken over: enough to outvote weekends, holidays
/// and missing minutes, few enough to be free on huge files.
const SAMPLE_GAPS: usize = 64;

/// Why no timeframe could be inferred.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InferTimeframeError {
    /// A single bar has no spacing.
    #[error("cannot infer the timeframe from a single bar")]
    TooFewBars,
    /// The median gap matches no supported timeframe.
    #[error(
        "unknown timeframe: median bar spacing {} matches none of \
         1Min, 5Min, 15Min, 1Hour, 1Day, 1Week, 1Month",
        human(*median_nanos)
    )]
    UnsupportedSpacing {
        /// The median gap between consecutive bars, in nanoseconds.
        median_nanos: i64,
    },
}

/// Infers the timeframe of strictly increasing UTC timestamps from the (lower) median of
/// their first gaps. Intraday timeframes must match exactly; days may be 20–28 hours (DST
/// shifts, session stamps), weeks 6–8 days and months 27–32 days.
pub fn infer_timeframe(timestamps: &[i64]) -> Result<Timeframe, InferTimeframeError> {
    let mut gaps: Vec<i64> = timestamps.windows(2).take(SAMPLE_GAPS).map(|w| w[1] - w[0]).collect();
    if gaps.is_empty() {
        return Err(InferTimeframeError::TooFewBars);
    }
    gaps.sort_unstable();
    let median = gaps[(gaps.len() - 1) / 2];
    let hour = 60 * NANOS_PER_MIN;
    let bands = [
        (Timeframe::Min1, NANOS_PER_MIN, NANOS_PER_MIN),
        (Timeframe::Min5, 5 * NANOS_PER_MIN, 5 * NANOS_PER_MIN),
        (Timeframe::Min15, 15 * NANOS_PER_MIN, 15 * NANOS_PER_MIN),
        (Timeframe::Hour1, hour, hour),
        (Timeframe::Day1, 20 * hour, 28 * hour),
        (Timeframe::Week1, 6 * NANOS_PER_DAY, 8 * NANOS_PER_DAY),
        (Timeframe::Month1, 27 * NANOS_PER_DAY, 32 * NANOS_PER_DAY),
    ];
    bands
        .into_iter()
        .find(|&(_, lo, hi)| (lo..=hi).contains(&median))
        .map(|(tf, _, _)| tf)
        .ok_or(InferTimeframeError::UnsupportedSpacing { median_nanos: median })
}

/// A gap in the largest whole unit that divides it, e.g. `2 hours`, `90 seconds`.
fn human(nanos: i64) -> String {
    let units = [(NANOS_PER_DAY, "days"), (60 * NANOS_PER_MIN, "hours"), (NANOS_PER_MIN, "minutes")];
    units
        .into_iter()
        .find(|&(unit, _)| nanos % unit == 0)
        .map(|(unit, name)| format!("{} {name}", nanos / unit))
        .unwrap_or_else(|| format!("{} seconds", nanos as f64 / NANOS_PER_SEC as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spaced(gaps: &[i64]) -> Vec<i64> {
        let mut ts = vec![1_600_000_000 * NANOS_PER_SEC];
        for g in gaps {
            ts.push(ts.last().unwrap() + g);
        }
        ts
    }

    #[test]
    fn median_spacing_picks_the_timeframe() {
        let day = NANOS_PER_DAY;
        let hour = 60 * NANOS_PER_MIN;
        // A trading week: four 1-day gaps and a weekend.
        assert_eq!(infer_timeframe(&spaced(&[day, day, day, day, 3 * day])), Ok(Timeframe::Day1));
        // A DST change makes one session 23 hours apart.
        assert_eq!(infer_timeframe(&spaced(&[day - hour, day])), Ok(Timeframe::Day1));
        assert_eq!(infer_timeframe(&spaced(&[hour, hour, 2 * hour])), Ok(Timeframe::Hour1));
        assert_eq!(infer_timeframe(&spaced(&[NANOS_PER_MIN; 3])), Ok(Timeframe::Min1));
        assert_eq!(infer_timeframe(&spaced(&[15 * NANOS_PER_MIN])), Ok(Timeframe::Min15));
        assert_eq!(infer_timeframe(&spaced(&[7 * day, 7 * day])), Ok(Timeframe::Week1));
        assert_eq!(infer_timeframe(&spaced(&[31 * day, 28 * day, 31 * day])), Ok(Timeframe::Month1));
    }

    #[test]
    fn unsupported_spacing_and_single_bar_are_errors() {
        let two_hours = 120 * NANOS_PER_MIN;
        let err = infer_timeframe(&spaced(&[two_hours, two_hours])).unwrap_err();
        assert_eq!(err, InferTimeframeError::UnsupportedSpacing { median_nanos: two_hours });
        assert!(err.to_string().contains("median bar spacing 2 hours"), "{err}");
        let odd = infer_timeframe(&spaced(&[90 * NANOS_PER_SEC])).unwrap_err();
        assert!(odd.to_string().contains("median bar spacing 90 seconds"), "{odd}");
        assert_eq!(infer_timeframe(&spaced(&[])), Err(InferTimeframeError::TooFewBars));
    }
}
