//! Deduplication and rate limiting: which alerts go out.
//!
//! Decisions use the alert's own timestamp as the clock, so they are deterministic and
//! testable. Same kind and key within the dedup window: sent once, later copies counted and
//! reported with the next one that goes out. Beyond `max_per_hour` sent alerts in the last
//! hour: held back and counted, except [`Severity::Critical`] ones (a breaker trip or the kill
//! switch must not be silenced by a storm of lesser alerts).

use std::collections::{HashMap, VecDeque};

use super::{Alert, AlertKind, Severity};

const HOUR_NS: i64 = 3_600_000_000_000;

/// Past this many remembered keys, those outside the window are forgotten.
const PRUNE_AT: usize = 1024;

/// What to do with one alert.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Send it, with how many copies of it were suppressed since it was last sent and how many
    /// alerts of any kind the rate limit held back since the last message.
    Send {
        /// Copies of this kind and key suppressed since it last went out.
        suppressed: u32,
        /// Alerts held back by the rate limit since the previous message.
        held_back: u32,
    },
    /// The same kind and key went out within the window.
    Duplicate,
    /// Too many alerts in the last hour.
    RateLimited,
}

struct Seen {
    sent_ns: i64,
    suppressed: u32,
}

/// The dedup and rate-limit state.
pub struct Gate {
    window_ns: i64,
    max_per_hour: u32,
    seen: HashMap<(AlertKind, String), Seen>,
    sent: VecDeque<i64>,
    held_back: u32,
}

impl Gate {
    /// A gate with a dedup window of `window_secs` and at most `max_per_hour` non-critical
    /// alerts an hour (0: no limit).
    pub fn new(window_secs: u64, max_per_hour: u32) -> Self {
        Gate {
            window_ns: (window_secs as i64).saturating_mul(1_000_000_000),
            max_per_hour,
            seen: HashMap::new(),
            sent: VecDeque::new(),
            held_back: 0,
        }
    }

    /// Decides for `alert`, updating the state.
    pub fn decide(&mut self, alert: &Alert) -> Decision {
        let now = alert.time_ns;
        let key = (alert.kind, alert.key.clone());
        if let Some(seen) = self.seen.get_mut(&key)
            && now - seen.sent_ns < self.window_ns
        {
            seen.suppressed += 1;
            return Decision::Duplicate;
        }
        while self.sent.front().is_some_and(|&t| t <= now - HOUR_NS) {
            self.sent.pop_front();
        }
        let limited = self.max_per_hour > 0 && self.sent.len() >= self.max_per_hour as usize;
        if limited && alert.severity != Severity::Critical {
            self.held_back += 1;
            return Decision::RateLimited;
        }
        self.sent.push_back(now);
        if self.seen.len() >= PRUNE_AT {
            let window = self.window_ns;
            // Keys outside the window are forgotten, with any count of copies suppressed long ago.
            self.seen.retain(|_, s| now - s.sent_ns < window);
        }
        let previous = self.seen.insert(key, Seen { sent_ns: now, suppressed: 0 });
        Decision::Send {
            suppressed: previous.map_or(0, |p| p.suppressed),
            held_back: std::mem::take(&mut self.held_back),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000_000_000;

    fn at(alert: Alert, minutes: i64) -> Alert {
        alert.at(minutes * MIN)
    }

    #[test]
    fn the_same_kind_and_key_goes_out_once_per_window_with_the_suppressed_count() {
        let mut gate = Gate::new(15 * 60, 0);
        let stale = || Alert::data_stale("1Day", "last bar 3 sessions ago");
        assert_eq!(gate.decide(&at(stale(), 0)), Decision::Send { suppressed: 0, held_back: 0 });
        assert_eq!(gate.decide(&at(stale(), 1)), Decision::Duplicate);
        assert_eq!(gate.decide(&at(stale(), 14)), Decision::Duplicate);
        // Another key of the same kind is its own alert.
        let minute = Alert::data_stale("1Min", "no bars today");
        assert_eq!(gate.decide(&at(minute, 2)), Decision::Send { suppressed: 0, held_back: 0 });
        assert_eq!(gate.decide(&at(stale(), 15)), Decision::Send { suppressed: 2, held_back: 0 });
        assert_eq!(gate.decide(&at(stale(), 16)), Decision::Duplicate);
    }

    #[test]
    fn the_rate_limit_holds_back_all_but_critical_alerts_and_reports_the_count() {
        let mut gate = Gate::new(0, 3);
        for k in 0..3 {
            let d = gate.decide(&at(Alert::error(&format!("c{k}"), "boom"), k));
            assert!(matches!(d, Decision::Send { .. }), "{k}: {d:?}");
        }
        assert_eq!(gate.decide(&at(Alert::error("c3", "boom"), 3)), Decision::RateLimited);
        assert_eq!(gate.decide(&at(Alert::error("c4", "boom"), 4)), Decision::RateLimited);
        // A breaker trip is critical: it goes out and carries the held-back count.
        let trip = Alert::circuit_breaker("daily_loss", "down 3.2 % today");
        assert_eq!(gate.decide(&at(trip, 5)), Decision::Send { suppressed: 0, held_back: 2 });
        // An hour after the first three, room again.
        assert_eq!(
            gate.decide(&at(Alert::error("c5", "boom"), 62)),
            Decision::Send { suppressed: 0, held_back: 0 }
        );
    }

    #[test]
    fn memory_stays_bounded_with_endless_new_keys() {
        let mut gate = Gate::new(60, 0);
        for k in 0..5000 {
            gate.decide(&at(Alert::reconciliation(&format!("order-{k}"), "unknown"), k));
        }
        // One key a minute with a one-minute window: only the latest stays remembered after a prune.
        assert!(gate.seen.len() <= PRUNE_AT, "{}", gate.seen.len());
    }
}
