//! Time primitives: UTC nanosecond timestamps and bar timeframes.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// A UTC instant as nanoseconds since the Unix epoch.
///
/// The one time type inside the system: no time zone can hide in it, it orders and
/// hashes like the integer it is, and it is the exact layout of the store's timestamp column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

/// Nanoseconds in one second.
pub const NANOS_PER_SEC: i64 = 1_000_000_000;
/// Nanoseconds in one minute.
pub const NANOS_PER_MIN: i64 = 60 * NANOS_PER_SEC;
/// Nanoseconds in one day.
pub const NANOS_PER_DAY: i64 = 86_400 * NANOS_PER_SEC;

impl Timestamp {
    /// Nanoseconds since the Unix epoch.
    pub const fn nanos(self) -> i64 {
        self.0
    }

    /// Midnight UTC at the start of `date`.
    pub fn from_date(date: NaiveDate) -> Self {
        let secs = date.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc().timestamp();
        Timestamp(secs * NANOS_PER_SEC)
    }

    /// Converts from a chrono UTC date-time (sub-nanosecond precision cannot occur).
    pub fn from_datetime(dt: DateTime<Utc>) -> Option<Self> {
        dt.timestamp_nanos_opt().map(Timestamp)
    }

    /// This instant as a chrono UTC date-time, for formatting and calendar arithmetic.
    pub fn to_datetime(self) -> DateTime<Utc> {
        DateTime::from_timestamp_nanos(self.0)
    }

    /// The UTC calendar date this instant falls on.
    pub fn utc_date(self) -> NaiveDate {
        self.to_datetime().date_naive()
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC with a `Z`, seconds precision unless sub-second digits are present.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dt = self.to_datetime();
        if self.0 % NANOS_PER_SEC == 0 {
            write!(f, "{}", dt.format("%Y-%m-%dT%H:%M:%SZ"))
        } else {
            write!(f, "{}", dt.format("%Y-%m-%dT%H:%M:%S%.9fZ"))
        }
    }
}

/// The bar period of a series, named as Alpaca's market-data API names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Timeframe {
    /// One-minute bars.
    #[serde(rename = "1Min")]
    Min1,
    /// Five-minute bars.
    #[serde(rename = "5Min")]
    Min5,
    /// Fifteen-minute bars.
    #[serde(rename = "15Min")]
    Min15,
    /// Hourly bars.
    #[serde(rename = "1Hour")]
    Hour1,
    /// Daily bars.
    #[serde(rename = "1Day")]
    Day1,
    /// Weekly bars.
    #[serde(rename = "1Week")]
    Week1,
    /// Monthly bars.
    #[serde(rename = "1Month")]
    Month1,
}

impl Timeframe {
    /// Every timeframe, shortest first.
    pub const ALL: [Timeframe; 7] = [
        Timeframe::Min1,
        Timeframe::Min5,
        Timeframe::Min15,
        Timeframe::Hour1,
        Timeframe::Day1,
        Timeframe::Week1,
        Timeframe::Month1,
    ];

    /// Alpaca's name for the timeframe, also used in the store and on the command line.
    pub const fn as_str(self) -> &'static str {
        match self {
            Timeframe::Min1 => "1Min",
            Timeframe::Min5 => "5Min",
            Timeframe::Min15 => "15Min",
            Timeframe::Hour1 => "1Hour",
            Timeframe::Day1 => "1Day",
            Timeframe::Week1 => "1Week",
            Timeframe::Month1 => "1Month",
        }
    }

    /// Nominal bar length in nanoseconds (a month counts as 1/12 of 365.25 days).
    pub const fn nominal_nanos(self) -> i64 {
        match self {
            Timeframe::Min1 => NANOS_PER_MIN,
            Timeframe::Min5 => 5 * NANOS_PER_MIN,
            Timeframe::Min15 => 15 * NANOS_PER_MIN,
            Timeframe::Hour1 => 60 * NANOS_PER_MIN,
            Timeframe::Day1 => NANOS_PER_DAY,
            Timeframe::Week1 => 7 * NANOS_PER_DAY,
            Timeframe::Month1 => 365 * NANOS_PER_DAY / 12 + NANOS_PER_DAY / 48,
        }
    }
}

impl fmt::Display for Timeframe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A timeframe name that is not one of [`Timeframe::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown timeframe `{0}` (expected one of 1Min, 5Min, 15Min, 1Hour, 1Day, 1Week, 1Month)")]
pub struct UnknownTimeframe(pub String);

impl FromStr for Timeframe {
    type Err = UnknownTimeframe;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Timeframe::ALL
            .into_iter()
            .find(|tf| tf.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownTimeframe(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeframe_names_round_trip_and_unknown_is_an_error() {
        for tf in Timeframe::ALL {
            assert_eq!(tf.as_str().parse::<Timeframe>().unwrap(), tf);
        }
        assert_eq!("1day".parse::<Timeframe>().unwrap(), Timeframe::Day1);
        let err = "2Day".parse::<Timeframe>().unwrap_err();
        assert!(err.to_string().contains("`2Day`"));
    }

    #[test]
    fn timestamp_displays_as_utc_rfc3339() {
        let ts = Timestamp::from_date(NaiveDate::from_ymd_opt(2013, 3, 10).unwrap());
        assert_eq!(ts.to_string(), "2013-03-10T00:00:00Z");
        assert_eq!(ts.nanos(), 1_362_873_600 * NANOS_PER_SEC);
        assert_eq!(Timestamp(ts.0 + 5).to_string(), "2013-03-10T00:00:00.000000005Z");
        assert_eq!(ts.utc_date(), NaiveDate::from_ymd_opt(2013, 3, 10).unwrap());
    }
}
