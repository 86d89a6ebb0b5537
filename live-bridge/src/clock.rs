//! Where the service gets the time: the system clock, or a simulated one for replays and tests.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::Duration;

use datasets::Timestamp;

/// A boxed future, so that [`Clock`] stays object-safe.
pub type Sleep<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// The service's source of time. Every schedule decision reads it; nothing else does.
pub trait Clock: Send + Sync {
    /// Now, UTC.
    fn now(&self) -> Timestamp;
    /// Returns once `now() >= t`.
    fn sleep_until(&self, t: Timestamp) -> Sleep<'_>;
}

/// Wall-clock time.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_datetime(chrono::Utc::now()).expect("the present fits in i64 nanoseconds")
    }

    fn sleep_until(&self, t: Timestamp) -> Sleep<'_> {
        Box::pin(async move {
            // Sleep in slices of at most a minute, so a suspended machine or a clock step
            // cannot make the service oversleep by much.
            loop {
                let left = t.0 - self.now().0;
                if left <= 0 {
                    return;
                }
                let slice = Duration::from_nanos(left.min(60_000_000_000) as u64);
                tokio::time::sleep(slice).await;
            }
        })
    }
}

/// Simulated time that jumps: `sleep_until(t)` moves the clock to `t` at once. A whole trading
/// day replays as fast as the work in it runs, with every step at its exact scheduled instant;
/// a fake broker sharing the clock fills orders at the prices of that instant.
#[derive(Debug)]
pub struct SimulatedClock {
    now: Mutex<Timestamp>,
}

impl SimulatedClock {
    /// A clock reading `start`.
    pub fn new(start: Timestamp) -> Self {
        SimulatedClock { now: Mutex::new(start) }
    }

    /// Moves the clock forward to `t` (never backward).
    pub fn advance_to(&self, t: Timestamp) {
        let mut now = self.now.lock().expect("clock lock");
        if t > *now {
            *now = t;
        }
    }
}

impl Clock for SimulatedClock {
    fn now(&self) -> Timestamp {
        *self.now.lock().expect("clock lock")
    }

    fn sleep_until(&self, t: Timestamp) -> Sleep<'_> {
        self.advance_to(t);
        Box::pin(tokio::task::yield_now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn simulated_clock_jumps_forward_only() {
        let c = SimulatedClock::new(Timestamp(100));
        c.sleep_until(Timestamp(5_000)).await;
        assert_eq!(c.now(), Timestamp(5_000));
        c.sleep_until(Timestamp(10)).await;
        assert_eq!(c.now(), Timestamp(5_000));
    }

    #[tokio::test]
    async fn system_clock_sleeps_until_the_instant() {
        let c = SystemClock;
        let target = Timestamp(c.now().0 + 20_000_000);
        c.sleep_until(target).await;
        assert!(c.now() >= target);
    }
}
