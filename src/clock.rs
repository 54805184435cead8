//! The injected clock. Every decision reads time through [`Clock`], never the system directly, so
//! the demo and the tests choose their "now".

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::time::Instant;

/// A source of wall-clock time that can be fixed at an offset from the real time, or stopped
/// and moved by hand.
#[derive(Debug)]
pub struct Clock {
    /// The wall time chosen for the tokio instant `anchor`.
    origin: DateTime<Utc>,
    anchor: Instant,
    /// A stopped clock reads `origin` plus what [`Clock::advance`] added, whatever tokio's time.
    stopped: bool,
    /// Microseconds added by [`Clock::advance`].
    advanced_micros: AtomicI64,
}

impl Clock {
    /// A clock that reads the real time.
    pub fn system() -> Arc<Clock> {
        Clock::new(Utc::now(), false)
    }

    /// A clock that reads `now` at this instant and advances with tokio time from here, so
    /// tokio's paused time drives it in tests.
    pub fn starting_at(now: DateTime<Utc>) -> Arc<Clock> {
        Clock::new(now, false)
    }

    /// A clock that reads `now` until [`Clock::advance`] moves it: a simulation's clock, which
    /// jumps over the hours when nothing happens.
    pub fn stopped_at(now: DateTime<Utc>) -> Arc<Clock> {
        Clock::new(now, true)
    }

    fn new(origin: DateTime<Utc>, stopped: bool) -> Arc<Clock> {
        Arc::new(Clock { origin, anchor: Instant::now(), stopped, advanced_micros: AtomicI64::new(0) })
    }

    pub fn now(&self) -> DateTime<Utc> {
        let advanced = chrono::Duration::microseconds(self.advanced_micros.load(Ordering::SeqCst));
        if self.stopped {
            return self.origin + advanced;
        }
        let elapsed = Instant::now().saturating_duration_since(self.anchor);
        self.origin + chrono::Duration::from_std(elapsed).unwrap_or_default() + advanced
    }

    /// Moves the clock forward by `by`; a negative duration is ignored.
    pub fn advance(&self, by: chrono::Duration) {
        let micros = by.num_microseconds().unwrap_or(i64::MAX).max(0);
        self.advanced_micros.fetch_add(micros, Ordering::SeqCst);
    }

    /// Moves the clock forward to `at`, or leaves it when `at` is not later.
    pub fn advance_to(&self, at: DateTime<Utc>) {
        self.advance(at - self.now());
    }
}
