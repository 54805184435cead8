//! Protection against misbehaving cloud providers: a circuit breaker per provider, retries with
//! jitter for requests that are safe to repeat, and a request-rate limit.
//!
//! Every timed decision reads tokio's clock, so tests run it on paused time.

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use rand::Rng;
use serde::Deserialize;
use tokio::time::Instant;
use tracing::{info, warn};

/// A provider's breaker, retry and rate-limit settings, from configuration.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuardSettings {
    /// Consecutive failures that open the breaker.
    pub breaker_failures: u32,
    /// How long an open breaker turns requests away before one trial request may pass.
    pub breaker_cooldown_ms: u64,
    /// Attempts per request, the first included; only retryable failures are tried again.
    pub attempts: u32,
    /// The first retry waits a random time between half and all of this; each next one doubles.
    pub retry_base_ms: u64,
    /// Requests per second admitted; 0 admits all.
    pub requests_per_second: u32,
}

impl Default for GuardSettings {
    fn default() -> Self {
        GuardSettings {
            breaker_failures: 3,
            breaker_cooldown_ms: 30_000,
            attempts: 2,
            retry_base_ms: 150,
            requests_per_second: 0,
        }
    }
}

/// The reason a provider did not take a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("{provider}'s circuit breaker is open for another {remaining:?} after repeated failures")]
    BreakerOpen { provider: String, remaining: Duration },
    #[error("{provider} is over its configured limit of {per_second} requests per second")]
    RateLimited { provider: String, per_second: u32 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BreakerState {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
    },
    /// The cool-down passed and one trial request is out; its result closes or reopens.
    HalfOpen,
}

/// A circuit breaker: after `failures` consecutive failures it turns requests away for
/// `cooldown`, then lets one trial through.
#[derive(Debug)]
pub struct CircuitBreaker {
    failures: u32,
    cooldown: Duration,
    state: Mutex<BreakerState>,
}

impl CircuitBreaker {
    pub fn new(failures: u32, cooldown: Duration) -> CircuitBreaker {
        CircuitBreaker { failures: failures.max(1), cooldown, state: Mutex::new(BreakerState::Closed { failures: 0 }) }
    }

    /// Admits a request, or returns how long the breaker stays open.
    pub fn admit(&self) -> Result<(), Duration> {
        let mut state = self.state.lock().expect("breaker lock");
        match *state {
            BreakerState::Closed { .. } => Ok(()),
            BreakerState::Open { until } => {
                let now = Instant::now();
                if now >= until {
                    *state = BreakerState::HalfOpen;
                    Ok(())
                } else {
                    Err(until - now)
                }
            }
            // Only the trial is out; others wait for its result.
            BreakerState::HalfOpen => Err(Duration::ZERO),
        }
    }

    /// Records a success: the breaker closes.
    pub fn succeeded(&self) {
        *self.state.lock().expect("breaker lock") = BreakerState::Closed { failures: 0 };
    }

    /// Records a failure; returns true when this failure opened the breaker.
    pub fn failed(&self) -> bool {
        let mut state = self.state.lock().expect("breaker lock");
        let failures = match *state {
            BreakerState::Closed { failures } => failures + 1,
            BreakerState::HalfOpen => self.failures,
            BreakerState::Open { .. } => return false,
        };
        if failures >= self.failures {
            *state = BreakerState::Open { until: Instant::now() + self.cooldown };
            true
        } else {
            *state = BreakerState::Closed { failures };
            false
        }
    }

    pub fn is_open(&self) -> bool {
        matches!(*self.state.lock().expect("breaker lock"), BreakerState::Open { until } if Instant::now() < until)
    }
}

/// A provider's breaker, retry policy and rate limit, shared by every call of the process.
pub struct ProviderGuard {
    name: String,
    settings: GuardSettings,
    breaker: CircuitBreaker,
    limiter: Option<DefaultDirectRateLimiter>,
}

impl std::fmt::Debug for ProviderGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderGuard").field("name", &self.name).field("settings", &self.settings).finish()
    }
}

impl ProviderGuard {
    pub fn new(name: &str, settings: GuardSettings) -> ProviderGuard {
        let limiter = NonZeroU32::new(settings.requests_per_second)
            .map(|per_second| RateLimiter::direct(Quota::per_second(per_second)));
        ProviderGuard {
            name: name.to_string(),
            breaker: CircuitBreaker::new(
                settings.breaker_failures,
                Duration::from_millis(settings.breaker_cooldown_ms),
            ),
            settings,
            limiter,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn settings(&self) -> GuardSettings {
        self.settings
    }

    /// Admits one request, or returns why the provider must be skipped. The rate limit does not
    /// wait: a caller on the line is better served by the next provider in the chain.
    pub fn admit(&self) -> Result<(), Rejection> {
        if let Some(limiter) = &self.limiter {
            if limiter.check().is_err() {
                return Err(Rejection::RateLimited {
                    provider: self.name.clone(),
                    per_second: self.settings.requests_per_second,
                });
            }
        }
        self.breaker.admit().map_err(|remaining| Rejection::BreakerOpen { provider: self.name.clone(), remaining })
    }

    pub fn succeeded(&self) {
        self.breaker.succeeded();
    }

    pub fn failed(&self, error: &dyn std::fmt::Display) {
        if self.breaker.failed() {
            warn!(
                provider = %self.name,
                %error,
                cooldown_ms = self.settings.breaker_cooldown_ms,
                "circuit breaker opened after repeated failures"
            );
        }
    }

    pub fn breaker_open(&self) -> bool {
        self.breaker.is_open()
    }

    /// Runs `request` until it succeeds, fails in a way not worth retrying, or used its
    /// attempts. Waits between attempts with jitter, or the provider's `Retry-After` when that
    /// is shorter than twice the base wait; a longer `Retry-After` ends the retries.
    pub async fn run<T, E, F, Fut>(
        &self,
        mut request: F,
        retryable: impl Fn(&E) -> Option<Option<Duration>>,
    ) -> Result<T, E>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, E>>,
        E: std::fmt::Display,
    {
        let mut attempt = 1;
        loop {
            match request().await {
                Ok(value) => {
                    self.succeeded();
                    return Ok(value);
                }
                Err(error) => {
                    self.failed(&error);
                    let Some(retry_after) = retryable(&error) else { return Err(error) };
                    if attempt >= self.settings.attempts || self.breaker_open() {
                        return Err(error);
                    }
                    let wait = match retry_after {
                        Some(after) if after <= Duration::from_millis(self.settings.retry_base_ms * 2) => after,
                        Some(_) => return Err(error),
                        None => jittered(self.settings.retry_base_ms, attempt),
                    };
                    info!(provider = %self.name, %error, attempt, wait_ms = wait.as_millis() as u64, "retrying request");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
            }
        }
    }
}

/// Returns a wait between half and all of `base_ms × 2^(attempt-1)`, so retries from many calls spread.
pub fn jittered(base_ms: u64, attempt: u32) -> Duration {
    let ceiling = base_ms.saturating_mul(1 << (attempt.saturating_sub(1)).min(10));
    let floor = ceiling / 2;
    Duration::from_millis(rand::thread_rng().gen_range(floor..=ceiling.max(floor)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(attempts: u32) -> GuardSettings {
        GuardSettings {
            breaker_failures: 2,
            breaker_cooldown_ms: 10_000,
            attempts,
            retry_base_ms: 100,
            requests_per_second: 0,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn breaker_opens_then_admits_one_trial() {
        let breaker = CircuitBreaker::new(2, Duration::from_secs(10));
        assert_eq!(breaker.admit(), Ok(()));
        assert!(!breaker.failed());
        assert!(breaker.failed());
        assert_eq!(breaker.admit(), Err(Duration::from_secs(10)));

        tokio::time::advance(Duration::from_secs(4)).await;
        assert_eq!(breaker.admit(), Err(Duration::from_secs(6)));

        tokio::time::advance(Duration::from_secs(6)).await;
        assert_eq!(breaker.admit(), Ok(()), "the trial passes");
        assert_eq!(breaker.admit(), Err(Duration::ZERO), "a second request waits for the trial");
        breaker.succeeded();
        assert_eq!(breaker.admit(), Ok(()));
    }

    #[tokio::test(start_paused = true)]
    async fn failed_trial_reopens_breaker() {
        let breaker = CircuitBreaker::new(3, Duration::from_secs(10));
        for _ in 0..3 {
            breaker.failed();
        }
        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(breaker.admit(), Ok(()));
        assert!(breaker.failed(), "one failed trial is enough");
        assert_eq!(breaker.admit(), Err(Duration::from_secs(10)));
    }

    #[tokio::test(start_paused = true)]
    async fn success_resets_failure_count() {
        let breaker = CircuitBreaker::new(2, Duration::from_secs(10));
        breaker.failed();
        breaker.succeeded();
        assert!(!breaker.failed());
        assert_eq!(breaker.admit(), Ok(()));
    }

    #[tokio::test(start_paused = true)]
    async fn retry_waits_with_jitter_then_succeeds() {
        let guard = ProviderGuard::new("fake", settings(3));
        let started = Instant::now();
        let mut calls = 0;
        let result: Result<u32, String> = guard
            .run(
                || {
                    calls += 1;
                    let outcome = if calls < 2 { Err("HTTP 500".to_string()) } else { Ok(calls) };
                    async move { outcome }
                },
                |_| Some(None),
            )
            .await;
        assert_eq!(result, Ok(2));
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(50), "{waited:?}");
        assert!(waited <= Duration::from_millis(100), "{waited:?}");
        assert!(!guard.breaker_open());
    }

    #[tokio::test(start_paused = true)]
    async fn non_retryable_error_returns_at_once() {
        let guard = ProviderGuard::new("fake", settings(3));
        let mut calls = 0;
        let result: Result<(), String> = guard
            .run(
                || {
                    calls += 1;
                    async { Err("HTTP 401".to_string()) }
                },
                |_| None,
            )
            .await;
        assert_eq!(result, Err("HTTP 401".to_string()));
        assert_eq!(calls, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn long_retry_after_ends_retries() {
        let guard = ProviderGuard::new("fake", settings(3));
        let mut calls = 0;
        let result: Result<(), String> = guard
            .run(
                || {
                    calls += 1;
                    async { Err("HTTP 429".to_string()) }
                },
                |_| Some(Some(Duration::from_secs(30))),
            )
            .await;
        assert!(result.is_err());
        assert_eq!(calls, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn short_retry_after_is_honoured() {
        let guard = ProviderGuard::new("fake", settings(2));
        let started = Instant::now();
        let mut calls = 0;
        let _: Result<(), String> = guard
            .run(
                || {
                    calls += 1;
                    async { Err("HTTP 429".to_string()) }
                },
                |_| Some(Some(Duration::from_millis(180))),
            )
            .await;
        assert_eq!(calls, 2);
        assert_eq!(started.elapsed(), Duration::from_millis(180));
    }

    #[test]
    fn rate_limit_refuses_beyond_quota() {
        let guard = ProviderGuard::new("fake", GuardSettings { requests_per_second: 2, ..GuardSettings::default() });
        assert_eq!(guard.admit(), Ok(()));
        assert_eq!(guard.admit(), Ok(()));
        assert_eq!(guard.admit(), Err(Rejection::RateLimited { provider: "fake".into(), per_second: 2 }));
    }

    #[test]
    fn jitter_stays_between_half_and_full() {
        for attempt in 1..=4 {
            let ceiling = 100 << (attempt - 1);
            for _ in 0..50 {
                let wait = jittered(100, attempt).as_millis() as u64;
                assert!(wait >= ceiling / 2, "attempt {attempt}: {wait}");
                assert!(wait <= ceiling, "attempt {attempt}: {wait}");
            }
        }
    }
}
