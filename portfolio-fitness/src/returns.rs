//! Daily return series: validated, keyed by session day, derived from any bar timeframe.
//!
//! A *day* is a New York calendar date ([`datasets::calendar::session_date`]), keyed by the
//! UTC instant of 00:00 New York on it ([`datasets::calendar::daily_bar_timestamp`], the
//! timestamp a daily bar of that date carries). Intraday bars are grouped by the New York date
//! they fall on, so a US equity session (09:30–16:00 New York, 13:30–21:00 UTC in summer) is
//! one day on both sides of a UTC midnight and across DST changes; 24-hour markets (crypto,
//! forex) are cut at New York midnight. A day's return is its last bar's equity over the
//! previous day's last (the initial equity for the first day), minus 1; 0 when that previous
//! equity is not positive (the account is wiped out), as in [`kernel::metrics`].

use chrono::Days;
use datasets::Timestamp;
use datasets::calendar::{daily_bar_timestamp, session_date};
use serde::{Deserialize, Serialize};

/// A series that cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReturnsError {
    /// Two parallel inputs of different lengths.
    #[error("{what}: {left} values but {right} timestamps")]
    Length {
        /// Which input.
        what: &'static str,
        /// Values given.
        left: usize,
        /// Timestamps given.
        right: usize,
    },
    /// Timestamps that do not strictly increase.
    #[error("{what}: timestamp {index} ({ts}) is not after the one before it")]
    NotIncreasing {
        /// Which input.
        what: &'static str,
        /// Position of the offending timestamp.
        index: usize,
        /// It, as RFC 3339 UTC.
        ts: Timestamp,
    },
    /// A bar time outside the calendar's range (1678-01-02 to 2262-04-09 UTC).
    #[error("{ts}: bar {index} is outside the calendar's range (1678-01-02 to 2262-04-09)")]
    OutOfRange {
        /// Position of the offending timestamp.
        index: usize,
        /// It, as RFC 3339 UTC.
        ts: Timestamp,
    },
    /// A NaN or infinite value, or a non-positive initial equity.
    #[error("{what}: value {index} is {value}, expected a finite number{positive}")]
    BadValue {
        /// Which input.
        what: &'static str,
        /// Position of the offending value.
        index: usize,
        /// The value.
        value: f64,
        /// ", above 0" when the value must be positive.
        positive: &'static str,
    },
}

/// Daily returns with strictly increasing day keys (UTC ns) and finite values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawDailyReturns")]
pub struct DailyReturns {
    timestamps: Vec<i64>,
    returns: Vec<f64>,
}

/// The unchecked serde form of [`DailyReturns`].
#[derive(Deserialize)]
struct RawDailyReturns {
    timestamps: Vec<i64>,
    returns: Vec<f64>,
}

impl TryFrom<RawDailyReturns> for DailyReturns {
    type Error = ReturnsError;

    fn try_from(raw: RawDailyReturns) -> Result<Self, Self::Error> {
        DailyReturns::new(raw.timestamps, raw.returns)
    }
}

/// Checks that `timestamps` strictly increase.
fn check_increasing(what: &'static str, timestamps: &[i64]) -> Result<(), ReturnsError> {
    match timestamps.windows(2).position(|w| w[1] <= w[0]) {
        Some(i) => Err(ReturnsError::NotIncreasing { what, index: i + 1, ts: Timestamp(timestamps[i + 1]) }),
        None => Ok(()),
    }
}

impl DailyReturns {
    /// A series from day keys (UTC ns, strictly increasing) and one finite return per day.
    /// Any keys are accepted; series are aligned on equal keys, so build them with the same
    /// convention (e.g. through [`SessionDays`]).
    pub fn new(timestamps: Vec<i64>, returns: Vec<f64>) -> Result<Self, ReturnsError> {
        if timestamps.len() != returns.len() {
            return Err(ReturnsError::Length {
                what: "returns",
                left: returns.len(),
                right: timestamps.len(),
            });
        }
        check_increasing("returns", &timestamps)?;
        Self::check_finite("returns", &returns)?;
        Ok(DailyReturns { timestamps, returns })
    }

    /// The daily returns of an equity curve over bars at `timestamps` (see the module docs);
    /// for many curves over the same bars, build one [`SessionDays`] and reuse it.
    pub fn from_equity(
        initial_equity: f64,
        equity: &[f64],
        timestamps: &[i64],
    ) -> Result<Self, ReturnsError> {
        SessionDays::new(timestamps)?.daily_returns(initial_equity, equity)
    }

    /// Checks that every value of `values` (named `what` in the error) is finite.
    pub(crate) fn check_finite(what: &'static str, values: &[f64]) -> Result<(), ReturnsError> {
        // Blocks checked without an early exit inside, so the common case vectorises.
        let finite = |block: &[f64]| block.iter().fold(true, |ok, x| ok & x.is_finite());
        if values.chunks(64).all(finite) {
            return Ok(());
        }
        let index = values.iter().position(|x| !x.is_finite()).unwrap_or(0);
        Err(ReturnsError::BadValue { what, index, value: values[index], positive: "" })
    }

    /// Day keys, UTC ns.
    pub fn timestamps(&self) -> &[i64] {
        &self.timestamps
    }

    /// One return per day.
    pub fn returns(&self) -> &[f64] {
        &self.returns
    }

    /// Days in the series.
    pub fn len(&self) -> usize {
        self.returns.len()
    }

    /// True with no days.
    pub fn is_empty(&self) -> bool {
        self.returns.is_empty()
    }
}

/// 00:00 UTC on a date, in ns (the bounds of [`SessionDays`]' range).
fn utc_midnight(year: i32, month: u32, day: u32) -> i64 {
    let date = chrono::NaiveDate::from_ymd_opt(year, month, day).expect("a real date");
    Timestamp::from_date(date).nanos()
}

/// `close / previous − 1`, 0 when `previous` is not positive (computed, then selected:
/// branch-free, so a whole curve vectorises).
fn simple_return(previous: f64, close: f64) -> f64 {
    let r = close / previous - 1.0;
    if previous > 0.0 { r } else { 0.0 }
}

/// The session days of a bar series: which bars close each day. Computing it converts time
/// zones once per day; build it once per data window and derive every candidate's daily
/// returns from it in one linear pass without any time-zone work.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionDays {
    /// Day key of each day (UTC ns of 00:00 New York).
    keys: Vec<i64>,
    /// One past the last bar of each day.
    ends: Vec<usize>,
}

impl SessionDays {
    /// Groups bars at `timestamps` (UTC ns, strictly increasing) into New York days.
    pub fn new(timestamps: &[i64]) -> Result<Self, ReturnsError> {
        check_increasing("bars", timestamps)?;
        // The day key (New York midnight) and the next one must be valid timestamps too.
        let range = utc_midnight(1678, 1, 2)..utc_midnight(2262, 4, 10);
        if let Some(index) = timestamps.iter().position(|ts| !range.contains(ts)) {
            return Err(ReturnsError::OutOfRange { index, ts: Timestamp(timestamps[index]) });
        }
        let (mut keys, mut ends) = (Vec::new(), Vec::new());
        let mut next_midnight = i64::MIN;
        for (i, &ts) in timestamps.iter().enumerate() {
            if ts >= next_midnight {
                if i > 0 {
                    ends.push(i);
                }
                let date = session_date(Timestamp(ts));
                keys.push(daily_bar_timestamp(date).nanos());
                let next = date.checked_add_days(Days::new(1)).expect("within the checked range");
                next_midnight = daily_bar_timestamp(next).nanos();
            }
        }
        if !timestamps.is_empty() {
            ends.push(timestamps.len());
        }
        Ok(SessionDays { keys, ends })
    }

    /// Day keys, UTC ns.
    pub fn days(&self) -> &[i64] {
        &self.keys
    }

    /// Bars covered.
    pub fn bars(&self) -> usize {
        self.ends.last().copied().unwrap_or(0)
    }

    /// The daily returns of `equity` (one value per bar, at its close) starting from
    /// `initial_equity` (positive).
    pub fn daily_returns(&self, initial_equity: f64, equity: &[f64]) -> Result<DailyReturns, ReturnsError> {
        if equity.len() != self.bars() {
            return Err(ReturnsError::Length { what: "equity", left: equity.len(), right: self.bars() });
        }
        if !(initial_equity.is_finite() && initial_equity > 0.0) {
            return Err(ReturnsError::BadValue {
                what: "initial_equity",
                index: 0,
                value: initial_equity,
                positive: ", above 0",
            });
        }
        DailyReturns::check_finite("equity", equity)?;
        // With one bar per day (daily bars) the closes are the curve itself, read in place.
        let gathered: Vec<f64>;
        let closes = if self.ends.len() == equity.len() {
            equity
        } else {
            gathered = self.ends.iter().map(|&end| equity[end - 1]).collect();
            &gathered
        };
        let mut returns = Vec::with_capacity(closes.len());
        returns.extend(closes.first().map(|&first| simple_return(initial_equity, first)));
        returns.extend(closes.windows(2).map(|w| simple_return(w[0], w[1])));
        Ok(DailyReturns { timestamps: self.keys.clone(), returns })
    }
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeZone, Utc};
    use proptest::prelude::*;

    use super::*;

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> i64 {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap().timestamp_nanos_opt().unwrap()
    }

    fn day_key(y: i32, m: u32, d: u32) -> i64 {
        daily_bar_timestamp(NaiveDate::from_ymd_opt(y, m, d).unwrap()).nanos()
    }

    #[test]
    fn intraday_bars_group_by_new_york_date_across_dst() {
        // Friday 2024-03-08 (EST, UTC−5): 14:30, 20:59 UTC. Monday 2024-03-11 (EDT, UTC−4):
        // 13:30 UTC is 09:30 New York; 20:59 UTC is 16:59. 2024-03-12 00:30 UTC is still
        // 20:30 on the 11th in New York; 04:30 UTC is 00:30 on the 12th.
        let ts = [
            utc(2024, 3, 8, 14, 30),
            utc(2024, 3, 8, 20, 59),
            utc(2024, 3, 11, 13, 30),
            utc(2024, 3, 11, 20, 59),
            utc(2024, 3, 12, 0, 30),
            utc(2024, 3, 12, 4, 30),
        ];
        let days = SessionDays::new(&ts).unwrap();
        assert_eq!(days.days(), [day_key(2024, 3, 8), day_key(2024, 3, 11), day_key(2024, 3, 12)]);
        assert_eq!(day_key(2024, 3, 8), utc(2024, 3, 8, 5, 0));
        assert_eq!(day_key(2024, 3, 11), utc(2024, 3, 11, 4, 0));
        let r = days.daily_returns(100.0, &[101.0, 102.0, 99.0, 96.9, 200.0, 100.0]).unwrap();
        // Friday closes at 102 (+2 %), Monday at 200 from 102, Tuesday at 100 (−50 %).
        assert_eq!(r.returns(), [102.0 / 100.0 - 1.0, 200.0 / 102.0 - 1.0, 100.0 / 200.0 - 1.0]);
    }

    #[test]
    fn daily_bars_keep_their_own_timestamps() {
        let ts = [day_key(2021, 2, 1), day_key(2021, 2, 2), day_key(2021, 2, 3)];
        let r = DailyReturns::from_equity(10.0, &[11.0, 0.0, 5.0], &ts).unwrap();
        assert_eq!(r.timestamps(), ts);
        // After a wipe-out the return is 0, not infinite.
        assert_eq!(r.returns(), [11.0 / 10.0 - 1.0, -1.0, 0.0]);
    }

    #[test]
    fn bad_series_are_refused_with_position() {
        let err = DailyReturns::new(vec![1, 3, 3], vec![0.0; 3]).unwrap_err();
        assert!(matches!(err, ReturnsError::NotIncreasing { index: 2, .. }), "{err}");
        let err = DailyReturns::new(vec![1, 2], vec![0.0, f64::NAN]).unwrap_err();
        assert_eq!(err.to_string(), "returns: value 1 is NaN, expected a finite number");
        let err = DailyReturns::new(vec![1], vec![]).unwrap_err();
        assert_eq!(err.to_string(), "returns: 0 values but 1 timestamps");
        let days = SessionDays::new(&[day_key(2021, 2, 1)]).unwrap();
        let err = days.daily_returns(0.0, &[1.0]).unwrap_err();
        assert_eq!(err.to_string(), "initial_equity: value 0 is 0, expected a finite number, above 0");
        assert!(days.daily_returns(1.0, &[1.0, 2.0]).is_err());
        let json = r#"{"timestamps":[2,1],"returns":[0.0,0.0]}"#;
        assert!(serde_json::from_str::<DailyReturns>(json).is_err());
    }

    #[test]
    fn bars_outside_the_calendar_are_refused() {
        let err = SessionDays::new(&[i64::MIN, 0]).unwrap_err();
        assert!(matches!(err, ReturnsError::OutOfRange { index: 0, .. }), "{err}");
        assert!(SessionDays::new(&[0, i64::MAX]).is_err());
    }

    proptest! {
        /// Bars at random gaps (a minute to three days): one day per distinct New York date,
        /// and the daily returns compound to the whole curve's return.
        #[test]
        fn days_are_new_york_dates_and_returns_compound(
            steps in proptest::collection::vec((1i64..4320, 0.9f64..1.1), 1..300),
        ) {
            let start = utc(2023, 1, 3, 14, 0);
            let (mut ts, mut equity) = (Vec::new(), Vec::new());
            let (mut t, mut e) = (start, 1000.0);
            for (minutes, growth) in steps {
                t += minutes * 60_000_000_000;
                e *= growth;
                ts.push(t);
                equity.push(e);
            }
            let days = SessionDays::new(&ts).unwrap();
            let mut dates: Vec<_> = ts.iter().map(|&x| session_date(Timestamp(x))).collect();
            dates.dedup();
            let keys: Vec<i64> = dates.iter().map(|&d| daily_bar_timestamp(d).nanos()).collect();
            prop_assert_eq!(days.days(), keys.as_slice());
            let r = days.daily_returns(1000.0, &equity).unwrap();
            let compounded: f64 = r.returns().iter().map(|x| 1.0 + x).product();
            let whole = equity.last().unwrap() / 1000.0;
            prop_assert!((compounded / whole - 1.0).abs() < 1e-9, "{} vs {}", compounded, whole);
        }
    }

    #[test]
    fn empty_bars_give_an_empty_series() {
        let days = SessionDays::new(&[]).unwrap();
        assert!(days.daily_returns(1.0, &[]).unwrap().is_empty());
    }
}
