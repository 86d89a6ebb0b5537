//! The market-hours guard: no order but a protective one leaves the bridge unless the session
//! is open and closes more than `close_margin_secs` from now — by the built-in NYSE calendar,
//! by Alpaca's `/v2/calendar` (a closure announced after the build counts) and by Alpaca's
//! `/v2/clock`, all three. At or after the close it is always too late: Alpaca would queue a
//! market order for the next open, at a price no strategy saw.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use datasets::{Timestamp, calendar};
use ops::alert::Alert;

use super::{Bridge, ServiceError};
use crate::alpaca::model::CalendarDay;
use crate::config::parse_time;
use crate::schedule::new_york;

/// A session's open and close, or `None` for a day without one.
pub(super) type Sessions = BTreeMap<NaiveDate, Option<(Timestamp, Timestamp)>>;

/// Why `now` is outside `[open, close − margin)` of `session`, if it is (`who` names the source).
fn outside(
    who: &str,
    now: Timestamp,
    session: Option<(Timestamp, Timestamp)>,
    margin_ns: i64,
) -> Option<String> {
    let Some((open, close)) = session else {
        return Some(format!("the market is closed today ({who})"));
    };
    if now < open {
        return Some(format!("the market is not open yet ({who}: opens {})", hhmm(open)));
    }
    if now >= close {
        return Some(format!("the market has closed ({who}: closed {})", hhmm(close)));
    }
    if close.0 - now.0 <= margin_ns {
        return Some(format!(
            "the market closes in {} s ({who}: {}), within the margin of {} s",
            (close.0 - now.0) / 1_000_000_000,
            hhmm(close),
            margin_ns / 1_000_000_000
        ));
    }
    None
}

fn hhmm(t: Timestamp) -> String {
    calendar::to_new_york(t).format("%H:%M").to_string()
}

/// The sessions Alpaca's calendar lists, by date (only the days it lists; unparsable rows are
/// skipped and reported by [`Bridge::record_broker_calendar`] as disagreements).
fn broker_sessions(days: &[CalendarDay]) -> BTreeMap<NaiveDate, (Timestamp, Timestamp)> {
    days.iter()
        .filter_map(|d| {
            let date = NaiveDate::parse_from_str(&d.date, "%Y-%m-%d").ok()?;
            let (open, close) = (parse_time(&d.open)?, parse_time(&d.close)?);
            Some((date, (new_york(date, open), new_york(date, close))))
        })
        .collect()
}

impl Bridge {
    /// Why no order but a protective one may be sent now, if none may.
    pub(super) async fn market_closed(&self) -> Result<Option<String>, ServiceError> {
        let now = self.clock.now();
        let margin = self.config.service.close_margin_secs * 1_000_000_000;
        let today = calendar::session_date(now);
        let built_in = calendar::session(today).map(|s| (s.open, s.close));
        if let Some(why) = outside("NYSE calendar", now, built_in, margin) {
            return Ok(Some(why));
        }
        if let Some(&session) = self.broker_sessions.get(&today)
            && let Some(why) = outside("Alpaca's calendar", now, session, margin)
        {
            return Ok(Some(why));
        }
        let clock = match self.client.clock().await {
            Ok(c) => c,
            Err(e) => {
                return Ok(Some(format!("Alpaca's clock is unavailable, so the session is unknown: {e}")));
            }
        };
        if !clock.is_open {
            return Ok(Some("the market is closed (Alpaca's clock)".into()));
        }
        let parse = |t: &str| {
            chrono::DateTime::parse_from_rfc3339(t)
                .ok()
                .and_then(|t| Timestamp::from_datetime(t.with_timezone(&chrono::Utc)))
        };
        let (Some(theirs), Some(close)) = (parse(&clock.timestamp), parse(&clock.next_close)) else {
            let what = format!("timestamp `{}`, next_close `{}`", clock.timestamp, clock.next_close);
            return Ok(Some(format!("Alpaca's clock is unreadable ({what})")));
        };
        // The time left by the broker's own clock: a skewed local clock cannot stretch it.
        Ok(outside("Alpaca's clock", theirs, Some((Timestamp(theirs.0.min(close.0)), close)), margin))
    }

    /// Keeps Alpaca's sessions for `first..=last` (and their settlement dates) and alerts on
    /// every day where they differ from the built-in calendar: a closure or an early close
    /// announced after the build is honoured, and an operator hears of it.
    pub(super) fn record_broker_calendar(&mut self, first: NaiveDate, last: NaiveDate, days: &[CalendarDay]) {
        let parse = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
        for d in days {
            if let (Some(day), Some(settle)) = (parse(&d.date), d.settlement_date.as_deref().and_then(parse))
            {
                self.settlement.insert(day, settle);
            }
        }
        let broker = broker_sessions(days);
        let mut differences = Vec::new();
        for date in first.iter_days().take_while(|d| *d <= last) {
            let theirs = broker.get(&date).copied();
            let ours = calendar::session(date).map(|s| (s.open, s.close));
            if theirs != ours {
                let show = |s: Option<(Timestamp, Timestamp)>| {
                    s.map_or("closed".to_string(), |(o, c)| format!("{}–{}", hhmm(o), hhmm(c)))
                };
                differences.push(format!("{date}: Alpaca {}, built-in {}", show(theirs), show(ours)));
            }
            self.broker_sessions.insert(date, theirs);
        }
        if !differences.is_empty() {
            let detail = format!(
                "Alpaca's calendar differs from the built-in NYSE calendar (Alpaca's is followed): {}",
                differences.join("; ")
            );
            tracing::error!("{detail}");
            self.notifier.notify(Alert::reconciliation("calendar", &detail).at(self.now_ns()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_closes_at_the_margin_and_never_reopens_after_the_close() {
        let s = Some((Timestamp(1_000_000_000_000), Timestamp(2_000_000_000_000)));
        let margin = 30_000_000_000;
        assert!(outside("x", Timestamp(999_999_999_999), s, margin).unwrap().contains("not open yet"));
        assert_eq!(outside("x", Timestamp(1_000_000_000_000), s, margin), None);
        assert_eq!(outside("x", Timestamp(1_969_999_999_999), s, margin), None);
        let why = outside("x", Timestamp(1_970_000_000_000), s, margin).unwrap();
        assert!(why.contains("closes in 30 s") && why.contains("margin of 30 s"), "{why}");
        for late in [2_000_000_000_000, 2_000_000_000_001, 9_000_000_000_000] {
            assert!(outside("x", Timestamp(late), s, 0).unwrap().contains("has closed"));
        }
        assert!(outside("x", Timestamp(0), None, 0).unwrap().contains("closed today"));
    }
}
