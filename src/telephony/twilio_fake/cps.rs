//! The account's calls-per-second limit. Twilio queues calls created above it instead of
//! rejecting them; the fake spaces call starts evenly, one every `1 / calls_per_second`.

use std::time::Duration;

use tokio::time::Instant;

/// Hands out start instants no closer together than the limit allows.
#[derive(Debug)]
pub struct CpsQueue {
    spacing: Duration,
    next_free: Option<Instant>,
}

impl CpsQueue {
    /// Creates a queue for `calls_per_second`. With 0 every call starts at once.
    pub fn new(calls_per_second: u32) -> CpsQueue {
        let spacing = match calls_per_second {
            0 => Duration::ZERO,
            per_second => Duration::from_secs(1) / per_second,
        };
        CpsQueue { spacing, next_free: None }
    }

    /// Reserves the earliest start at or after `now` and returns it.
    ///
    /// NOTE: a call canceled while queued keeps its slot, so the next call may wait one
    /// spacing longer than it would on Twilio.
    pub fn reserve(&mut self, now: Instant) -> Instant {
        let start = self.next_free.map_or(now, |free| free.max(now));
        self.next_free = Some(start + self.spacing);
        start
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn burst_is_spaced_by_the_limit() {
        let mut queue = CpsQueue::new(2);
        let now = Instant::now();
        let starts: Vec<Duration> = (0..4).map(|_| queue.reserve(now) - now).collect();
        assert_eq!(
            starts,
            vec![Duration::ZERO, Duration::from_millis(500), Duration::from_secs(1), Duration::from_millis(1500)]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn call_after_a_pause_starts_at_once() {
        let mut queue = CpsQueue::new(1);
        let now = Instant::now();
        assert_eq!(queue.reserve(now), now);
        let later = now + Duration::from_secs(5);
        assert_eq!(queue.reserve(later), later);
        assert_eq!(queue.reserve(later), later + Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn zero_means_no_limit() {
        let mut queue = CpsQueue::new(0);
        let now = Instant::now();
        assert_eq!(queue.reserve(now), now);
        assert_eq!(queue.reserve(now), now);
    }
}
