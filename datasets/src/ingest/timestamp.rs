//! Timestamp text → UTC epoch nanoseconds, with a hand-written fast path for ISO 8601.
//!
//! The rules are documented on [`crate::ingest`]. Only the rare cases (a caller time zone,
//! date-only values) go through chrono-tz; everything else is integer arithmetic.

use chrono::{NaiveDate, TimeZone};
use chrono_tz::{America::New_York, Tz};

use crate::time::NANOS_PER_SEC;

/// Why a timestamp field could not be turned into a UTC instant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimestampProblem {
    /// Neither an ISO 8601 date / date-time nor an integer epoch.
    #[error("is not a date, a date-time or an integer epoch")]
    Unrecognised,
    /// Well-formed, but the month, day, hour, minute, second or offset is out of range.
    #[error("is not a valid calendar date, time of day or UTC offset")]
    InvalidDate,
    /// An integer too small to be an epoch in seconds after 1973 (e.g. a `20040819` date).
    #[error("is too small for an epoch in seconds, milliseconds or nanoseconds after 1973")]
    EpochTooSmall,
    /// A local time skipped by a daylight-saving change in the given zone.
    #[error("does not exist in {0} (skipped by a daylight-saving change)")]
    NonexistentLocalTime(Tz),
    /// Outside what i64 nanoseconds can hold (years 1677 to 2262).
    #[error("is outside the representable range (years 1677 to 2262)")]
    OutOfRange,
}

/// Integer epochs below this magnitude are rejected rather than guessed at (1973-03-03 in seconds).
const MIN_EPOCH_SECS: u64 = 100_000_000;

/// Parses one timestamp field into UTC epoch nanoseconds.
///
/// `tz` is the zone of naive date-times (UTC when `None`). `prev` is the previous bar's
/// instant of the same symbol: a local time repeated by a fall-back DST change resolves to
/// its earlier instant unless that would not come after `prev`.
pub(crate) fn parse_timestamp(s: &str, tz: Option<Tz>, prev: Option<i64>) -> Result<i64, TimestampProblem> {
    let b = s.as_bytes();
    let digits_from = usize::from(b.first() == Some(&b'-'));
    if b.len() > digits_from && b[digits_from..].iter().all(u8::is_ascii_digit) {
        return parse_epoch(s);
    }
    let iso = parse_iso(b)?;
    let days = days_from_civil(iso.year, iso.month, iso.day);
    let Some(time) = &iso.time else {
        return new_york_midnight(&iso);
    };
    let secs_of_day = i64::from(time.hour * 3600 + time.minute * 60 + time.second);
    match (time.offset_secs, tz) {
        (Some(offset), _) => utc_nanos(days, secs_of_day - i64::from(offset), time.nanos),
        (None, None) => utc_nanos(days, secs_of_day, time.nanos),
        (None, Some(zone)) => zoned(&iso, time, zone, prev),
    }
}

fn parse_epoch(s: &str) -> Result<i64, TimestampProblem> {
    let n: i64 = s.parse().map_err(|_| TimestampProblem::OutOfRange)?;
    let scale = match n.unsigned_abs() {
        a if a < MIN_EPOCH_SECS => return Err(TimestampProblem::EpochTooSmall),
        a if a < 100_000_000_000 => NANOS_PER_SEC,
        a if a < 100_000_000_000_000 => 1_000_000,
        a if a < 100_000_000_000_000_000 => 1_000,
        _ => 1,
    };
    n.checked_mul(scale).ok_or(TimestampProblem::OutOfRange)
}

/// The fields of an ISO 8601 date or date-time, range-checked.
struct Iso {
    year: i32,
    month: u32,
    day: u32,
    time: Option<TimeOfDay>,
}

struct TimeOfDay {
    hour: u32,
    minute: u32,
    second: u32,
    nanos: u32,
    /// Local time minus UTC, when the text carries `Z` or an offset.
    offset_secs: Option<i32>,
}

/// `YYYY-MM-DD[(T| )HH:MM[:SS[.fffffffff]][Z|±HH[:MM]]]`.
fn parse_iso(b: &[u8]) -> Result<Iso, TimestampProblem> {
    use TimestampProblem::{InvalidDate, Unrecognised};
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(Unrecognised);
    }
    let year = digits(b, 0, 4).ok_or(Unrecognised)?;
    let month = digits(b, 5, 2).ok_or(Unrecognised)?;
    let day = digits(b, 8, 2).ok_or(Unrecognised)?;
    let year = i32::try_from(year).map_err(|_| Unrecognised)?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return Err(InvalidDate);
    }
    if b.len() == 10 {
        return Ok(Iso { year, month, day, time: None });
    }
    if !matches!(b[10], b'T' | b't' | b' ') || b.get(13) != Some(&b':') {
        return Err(Unrecognised);
    }
    let hour = digits(b, 11, 2).ok_or(Unrecognised)?;
    let minute = digits(b, 14, 2).ok_or(Unrecognised)?;
    let mut pos = 16;
    let (mut second, mut nanos) = (0, 0);
    if b.get(pos) == Some(&b':') {
        second = digits(b, 17, 2).ok_or(Unrecognised)?;
        pos = 19;
        if matches!(b.get(pos), Some(b'.' | b',')) {
            let frac_len = b[pos + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
            if frac_len == 0 || frac_len > 9 {
                return Err(Unrecognised);
            }
            nanos = digits(b, pos + 1, frac_len).ok_or(Unrecognised)? * 10u32.pow(9 - frac_len as u32);
            pos += 1 + frac_len;
        }
    }
    let offset_secs = parse_offset(&b[pos..])?;
    if hour > 23 || minute > 59 || second > 59 {
        return Err(InvalidDate);
    }
    let time = TimeOfDay { hour, minute, second, nanos, offset_secs };
    Ok(Iso { year, month, day, time: Some(time) })
}

/// `""` (naive), `Z`, `±HH`, `±HHMM` or `±HH:MM`, as seconds east of UTC.
fn parse_offset(b: &[u8]) -> Result<Option<i32>, TimestampProblem> {
    use TimestampProblem::{InvalidDate, Unrecognised};
    let sign = match b.first() {
        None => return Ok(None),
        Some(b'Z' | b'z') if b.len() == 1 => return Ok(Some(0)),
        Some(b'+') => 1,
        Some(b'-') => -1,
        Some(_) => return Err(Unrecognised),
    };
    let hours = digits(b, 1, 2).ok_or(Unrecognised)?;
    let minutes = match b.len() {
        3 => 0,
        5 => digits(b, 3, 2).ok_or(Unrecognised)?,
        6 if b[3] == b':' => digits(b, 4, 2).ok_or(Unrecognised)?,
        _ => return Err(Unrecognised),
    };
    if hours > 23 || minutes > 59 {
        return Err(InvalidDate);
    }
    Ok(Some(sign * (hours * 3600 + minutes * 60) as i32))
}

/// The `n` ASCII digits at `start` as a number, or `None` if any is not a digit.
fn digits(b: &[u8], start: usize, n: usize) -> Option<u32> {
    b.get(start..start + n)?.iter().try_fold(0u32, |acc, &c| {
        let d = c.wrapping_sub(b'0');
        (d <= 9).then_some(acc * 10 + u32::from(d))
    })
}

fn is_leap(year: i32) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to the given proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i32, month: u32, day: u32) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let month_from_march = i64::from((month + 9) % 12);
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn utc_nanos(days: i64, secs_of_day: i64, nanos: u32) -> Result<i64, TimestampProblem> {
    (days * 86_400 + secs_of_day)
        .checked_mul(NANOS_PER_SEC)
        .and_then(|n| n.checked_add(i64::from(nanos)))
        .ok_or(TimestampProblem::OutOfRange)
}

fn naive_date(iso: &Iso) -> NaiveDate {
    NaiveDate::from_ymd_opt(iso.year, iso.month, iso.day).expect("parse_iso range-checked the date")
}

/// The daily-bar convention: a session date is stamped 00:00 America/New_York, in UTC.
fn new_york_midnight(iso: &Iso) -> Result<i64, TimestampProblem> {
    let midnight = naive_date(iso).and_hms_opt(0, 0, 0).expect("midnight exists");
    let local = New_York.from_local_datetime(&midnight).earliest();
    let local = local.ok_or(TimestampProblem::NonexistentLocalTime(New_York))?;
    local.timestamp_nanos_opt().ok_or(TimestampProblem::OutOfRange)
}

/// A naive date-time read in the caller's zone.
fn zoned(iso: &Iso, time: &TimeOfDay, zone: Tz, prev: Option<i64>) -> Result<i64, TimestampProblem> {
    let naive = naive_date(iso)
        .and_hms_nano_opt(time.hour, time.minute, time.second, time.nanos)
        .ok_or(TimestampProblem::InvalidDate)?;
    let nanos = |dt: chrono::DateTime<Tz>| dt.timestamp_nanos_opt().ok_or(TimestampProblem::OutOfRange);
    match zone.from_local_datetime(&naive) {
        chrono::LocalResult::Single(dt) => nanos(dt),
        chrono::LocalResult::Ambiguous(early, late) => {
            let early = nanos(early)?;
            if prev.is_some_and(|p| early <= p) { nanos(late) } else { Ok(early) }
        }
        chrono::LocalResult::None => Err(TimestampProblem::NonexistentLocalTime(zone)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Timestamp;
    use chrono::Datelike;

    fn utc(s: &str) -> String {
        Timestamp(parse_timestamp(s, None, None).unwrap()).to_string()
    }

    #[test]
    fn iso_forms_parse_to_the_expected_utc_instant() {
        assert_eq!(utc("2017-04-19 09:00:00"), "2017-04-19T09:00:00Z");
        assert_eq!(utc("2017-04-19T09:00:00"), "2017-04-19T09:00:00Z");
        assert_eq!(utc("2017-04-19T09:00"), "2017-04-19T09:00:00Z");
        assert_eq!(utc("2021-02-01T05:00:00Z"), "2021-02-01T05:00:00Z");
        assert_eq!(utc("2021-02-01T00:00:00-05:00"), "2021-02-01T05:00:00Z");
        assert_eq!(utc("2021-02-01T10:30:00+0530"), "2021-02-01T05:00:00Z");
        assert_eq!(utc("2021-02-01T07:00:00+02"), "2021-02-01T05:00:00Z");
        assert_eq!(utc("2021-02-01T05:00:00.5Z"), "2021-02-01T05:00:00.500000000Z");
        assert_eq!(utc("2021-02-01T05:00:00.000000001Z"), "2021-02-01T05:00:00.000000001Z");
        assert_eq!(utc("1969-12-31T23:59:59Z"), "1969-12-31T23:59:59Z");
        assert_eq!(utc("2000-02-29T00:00:00Z"), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn days_from_civil_matches_chrono_over_four_centuries() {
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        let mut date = NaiveDate::from_ymd_opt(1800, 1, 1).unwrap();
        while date.year() < 2200 {
            let expected = (date - epoch).num_days();
            assert_eq!(days_from_civil(date.year(), date.month(), date.day()), expected, "{date}");
            date = date.succ_opt().unwrap();
        }
    }

    #[test]
    fn dates_are_new_york_midnight_across_dst() {
        assert_eq!(utc("2021-01-15"), "2021-01-15T05:00:00Z");
        assert_eq!(utc("2021-07-15"), "2021-07-15T04:00:00Z");
        // The caller's zone does not move session dates.
        let ts = parse_timestamp("2021-07-15", Some(chrono_tz::Europe::London), None).unwrap();
        assert_eq!(Timestamp(ts).to_string(), "2021-07-15T04:00:00Z");
    }

    #[test]
    fn integer_epochs_are_scaled_by_magnitude() {
        let expected = 1_612_155_600 * NANOS_PER_SEC;
        assert_eq!(parse_timestamp("1612155600", None, None), Ok(expected));
        assert_eq!(parse_timestamp("1612155600000", None, None), Ok(expected));
        assert_eq!(parse_timestamp("1612155600000000", None, None), Ok(expected));
        assert_eq!(parse_timestamp("1612155600000000000", None, None), Ok(expected));
        assert_eq!(parse_timestamp("20040819", None, None), Err(TimestampProblem::EpochTooSmall));
        assert_eq!(parse_timestamp("99999999999999999999", None, None), Err(TimestampProblem::OutOfRange));
    }

    #[test]
    fn zone_option_applies_to_naive_times_only_and_resolves_dst() {
        let ny = Some(New_York);
        let naive = parse_timestamp("2021-07-15 09:30:00", ny, None).unwrap();
        let explicit = parse_timestamp("2021-07-15T09:30:00-04:00", ny, None).unwrap();
        assert_eq!(naive, explicit);
        assert_eq!(Timestamp(naive).to_string(), "2021-07-15T13:30:00Z");
        // 2021-11-07 01:30 happens twice in New York: EDT first, then EST.
        let first = parse_timestamp("2021-11-07 01:30:00", ny, None).unwrap();
        assert_eq!(Timestamp(first).to_string(), "2021-11-07T05:30:00Z");
        let second = parse_timestamp("2021-11-07 01:30:00", ny, Some(first)).unwrap();
        assert_eq!(Timestamp(second).to_string(), "2021-11-07T06:30:00Z");
        assert_eq!(
            parse_timestamp("2021-03-14 02:30:00", ny, None),
            Err(TimestampProblem::NonexistentLocalTime(New_York))
        );
    }

    #[test]
    fn malformed_and_out_of_range_values_are_rejected() {
        use TimestampProblem::*;
        let cases = [
            ("", Unrecognised),
            ("yesterday", Unrecognised),
            ("2021/02/01", Unrecognised),
            ("2021-02-01X05:00", Unrecognised),
            ("2021-02-01T05:00:00Q", Unrecognised),
            ("2021-02-01T05:00:00.", Unrecognised),
            ("2021-02-01T05:00:00.1234567891", Unrecognised),
            ("2021-13-01", InvalidDate),
            ("2021-02-29", InvalidDate),
            ("2021-02-01T24:00:00", InvalidDate),
            ("2021-02-01T05:60:00", InvalidDate),
            ("2021-02-01T05:00:00+25:00", InvalidDate),
            ("2300-01-01T00:00:00Z", OutOfRange),
        ];
        for (text, problem) in cases {
            assert_eq!(parse_timestamp(text, None, None), Err(problem), "{text:?}");
        }
    }
}
