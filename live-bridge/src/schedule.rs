//! The trading day: PRE_MARKET, each strategy's runs, POST_MARKET, on the NYSE calendar.
//!
//! Times are New York wall-clock times turned into UTC instants for the session's date (DST
//! correct through `datasets::calendar`); holidays have no events, and runs at or after an
//! early close are dropped.

use chrono::{NaiveDate, NaiveTime, TimeZone};
use chrono_tz::America::New_York;
use datasets::time::NANOS_PER_MIN;
use datasets::{Timestamp, calendar};
use kernel::strategy::Cadence;

use crate::config::{StrategySection, parse_time};

/// When one strategy runs on a trading day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// First run, New York.
    pub at: NaiveTime,
    /// Repeats: (every minutes, last run at or before, New York; `None` = a minute before the close).
    pub repeat: Option<(u32, Option<NaiveTime>)>,
}

impl Schedule {
    /// A strategy's default time ([`SignalSource::cadence`](kernel::strategy::SignalSource::cadence),
    /// declared by its family), as a schedule.
    pub fn from_cadence(cadence: Cadence) -> Schedule {
        let at =
            NaiveTime::from_hms_opt(cadence.hour, cadence.minute, 0).expect("a family declares a valid time");
        Schedule { at, repeat: cadence.every_minutes.map(|every| (every, None)) }
    }

    /// The strategy's default (`base`) overridden by the config section, if any.
    pub fn resolve(base: Option<Schedule>, section: Option<&StrategySection>) -> Option<Schedule> {
        let Some(s) = section else { return base };
        let at = s.at.as_deref().and_then(parse_time).or(base.map(|b| b.at))?;
        let repeat = match (s.every_minutes, s.until.as_deref().and_then(parse_time)) {
            (Some(every), until) => Some((every, until)),
            (None, Some(until)) => base.and_then(|b| b.repeat).map(|(every, _)| (every, Some(until))),
            (None, None) if s.at.is_some() => None,
            (None, None) => base.and_then(|b| b.repeat),
        };
        Some(Schedule { at, repeat })
    }

    /// The run instants on `date` (empty on a holiday), before the session's close.
    pub fn runs(&self, date: NaiveDate) -> Vec<Timestamp> {
        let Some(session) = calendar::session(date) else { return Vec::new() };
        let first = new_york(date, self.at);
        let last = match self.repeat {
            None => first,
            Some((_, Some(until))) => new_york(date, until).min(Timestamp(session.close.0 - NANOS_PER_MIN)),
            Some((_, None)) => Timestamp(session.close.0 - NANOS_PER_MIN),
        };
        let step = self.repeat.map_or(NANOS_PER_MIN, |(every, _)| i64::from(every) * NANOS_PER_MIN);
        let mut out = Vec::new();
        let mut t = first;
        while t <= last && t < session.close {
            out.push(t);
            t = Timestamp(t.0 + step);
        }
        out
    }
}

/// `time` on `date` in New York, as UTC.
pub fn new_york(date: NaiveDate, time: NaiveTime) -> Timestamp {
    let local =
        New_York.from_local_datetime(&date.and_time(time)).earliest().expect("a New York time exists");
    Timestamp::from_datetime(local.with_timezone(&chrono::Utc)).expect("in range")
}

/// A run's slot name: `YYYY-MM-DDTHH:MM` New York.
pub fn slot_name(t: Timestamp) -> String {
    calendar::to_new_york(t).format("%Y-%m-%dT%H:%M").to_string()
}

/// The instant of a slot name written by [`slot_name`].
pub fn slot_time(slot: &str) -> Option<Timestamp> {
    let local = chrono::NaiveDateTime::parse_from_str(slot, "%Y-%m-%dT%H:%M").ok()?;
    Some(new_york(local.date(), local.time()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    /// The default of a registry family with its default parameters.
    fn default_of(family: &str) -> Option<Schedule> {
        let f = kernel::strategy::by_name(family).unwrap();
        f.cadence().map(Schedule::from_cadence)
    }

    #[test]
    fn defaults_cover_every_long_only_family_and_respect_early_closes() {
        for s in kernel::strategy::registry().iter().filter(|s| !s.needs_short()) {
            assert!(default_of(s.name()).is_some(), "{} has no default time", s.name());
        }
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
        // The old system's times, now declared by each family.
        for (family, at) in
            [("sma_cross", t(10, 0)), ("vix_regime_rotation", t(10, 30)), ("factor_momentum", t(11, 0))]
        {
            assert_eq!(default_of(family), Some(Schedule { at, repeat: None }), "{family}");
        }
        let gap = default_of("gap_fill").unwrap();
        assert_eq!(gap, Schedule { at: t(9, 31), repeat: Some((1, None)) });
        let regular = gap.runs(d(2025, 12, 30));
        assert_eq!(regular.len(), 389, "09:31 to 15:59");
        assert_eq!(slot_name(regular[0]), "2025-12-30T09:31");
        assert_eq!(slot_time("2025-12-30T09:31"), Some(regular[0]));
        assert_eq!(slot_name(*regular.last().unwrap()), "2025-12-30T15:59");
        let early = gap.runs(d(2025, 12, 24));
        assert_eq!(slot_name(*early.last().unwrap()), "2025-12-24T12:59");
        assert!(gap.runs(d(2025, 12, 25)).is_empty(), "Christmas");
        let late = Schedule::resolve(
            None,
            Some(&StrategySection { at: Some("13:30".into()), ..Default::default() }),
        );
        assert!(late.unwrap().runs(d(2025, 12, 24)).is_empty(), "after the 13:00 close");
        assert_eq!(Schedule::resolve(None, None), None);
        assert_eq!(default_of("pairs"), None, "a short-leg family never runs live");
    }

    #[test]
    fn new_york_times_are_dst_correct() {
        assert_eq!(
            new_york(d(2025, 1, 2), NaiveTime::from_hms_opt(10, 0, 0).unwrap()).to_string()[11..16],
            *"15:00"
        );
        assert_eq!(
            new_york(d(2025, 7, 2), NaiveTime::from_hms_opt(10, 0, 0).unwrap()).to_string()[11..16],
            *"14:00"
        );
    }
}
