//! The injected clock. Every decision reads time through [`Clock`], never the system directly, so
//! the demo and the tests choose their "now".

use chrono::{DateTime, Utc};
use std::sync::Arc;
use tokio::time::Instant;

/// A source of wall-clock time that can be fixed at an offset from the real time.
#[derive(Debug, Clone)]
pub struct Clock {
    /// The wall time chosen for the tokio instant `anchor`.
    origin: DateTime<Utc>,
    anchor: Instant,
}

impl Clock {
    /// A clock that reads the real time.
    pub fn system() -> Arc<Clock> {
        Arc::new(Clock { origin: Utc::now(), anchor: Instant::now() })
    }

    /// A clock that reads `now` at this instant and advances with tokio time from here, so
    /// tokio's paused time drives it in tests.
    pub fn starting_at(now: DateTime<Utc>) -> Arc<Clock> {
        Arc::new(Clock { origin: now, anchor: Instant::now() })
    }

    pub fn now(&self) -> DateTime<Utc> {
        let elapsed = Instant::now().saturating_duration_since(self.anchor);
        self.origin + chrono::Duration::from_std(elapsed).unwrap_or_default()
    }
}
