//! A simulated clock that runs hooks at chosen instants: faults or market changes injected at a
//! chosen moment of a replayed session.

use std::sync::Mutex;

use datasets::Timestamp;

use crate::clock::{Clock, SimulatedClock, Sleep};

/// Something to do to the fake (or the data directory) at an instant.
pub type Hook = Box<dyn FnOnce() + Send>;

/// The simulated clock, running a hook when the service first sleeps until its instant (or
/// later).
pub struct HookedClock {
    inner: SimulatedClock,
    hooks: Mutex<Vec<(Timestamp, Hook)>>,
    /// Real time the service waits before it reaches an instant.
    pauses: Mutex<Vec<(Timestamp, std::time::Duration)>>,
}

impl HookedClock {
    /// A clock reading `start`, without hooks.
    pub fn new(start: Timestamp) -> Self {
        HookedClock {
            inner: SimulatedClock::new(start),
            hooks: Mutex::new(Vec::new()),
            pauses: Mutex::new(Vec::new()),
        }
    }

    /// Moves the clock forward to `t` (never backward).
    pub fn advance_to(&self, t: Timestamp) {
        self.inner.advance_to(t);
    }

    /// Runs `hook` when the service first sleeps until `at` or later.
    pub fn at(&self, at: Timestamp, hook: Hook) {
        self.hooks.lock().expect("hooks lock").push((at, hook));
    }

    /// Makes the service's first sleep until `at` or later last `real` of wall-clock time
    /// (after the hooks due): the service idles awake, with its stream and timers running, as
    /// between two steps of a real day.
    pub fn pause(&self, at: Timestamp, real: std::time::Duration) {
        self.pauses.lock().expect("pauses lock").push((at, real));
    }
}

impl Clock for HookedClock {
    fn now(&self) -> Timestamp {
        self.inner.now()
    }

    fn sleep_until(&self, t: Timestamp) -> Sleep<'_> {
        let due: Vec<Hook> = {
            let mut hooks = self.hooks.lock().expect("hooks lock");
            let (due, later) = hooks.drain(..).partition(|(at, _)| *at <= t);
            *hooks = later;
            due.into_iter().map(|(_, f)| f).collect()
        };
        due.into_iter().for_each(|f| f());
        let pause: std::time::Duration = {
            let mut pauses = self.pauses.lock().expect("pauses lock");
            let (due, later): (Vec<_>, Vec<_>) = pauses.drain(..).partition(|(at, _)| *at <= t);
            *pauses = later;
            due.into_iter().map(|(_, d)| d).sum()
        };
        if pause.is_zero() {
            return self.inner.sleep_until(t);
        }
        Box::pin(async move {
            tokio::time::sleep(pause).await;
            self.inner.sleep_until(t).await;
        })
    }
}
