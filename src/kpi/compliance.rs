//! Compliance counters over the attempt ledger: calls outside the legal window, calls over a
//! frequency cap, and calls after a voice opt-out. The rules come from
//! [`crate::policy::ContactPolicy`].
//!
//! The window and cap figures count flags that [`check`] stores on each outbound attempt, so a
//! query scans the range once instead of applying the rules to it. Every count first checks
//! the attempts not checked yet, so the figures include calls made since the last check. The
//! SQLite store checks attempts with [`tally::AttemptChecker`], and PostgreSQL checks them in
//! SQL from the same rules.
//!
//! An attempt is *in scope* when it is outbound, started in `[from, to)`, and matches the
//! filter's country (the debtor's), campaign and segment. Inbound calls are never counted.
//!
//! | figure | counts | denominator |
//! |---|---|---|
//! | outside-window attempts | attempts in scope whose debtor-local start time (in the debtor's `time_zone`) is outside the calling window of the debtor's country and region, or on one of its holidays | attempts in scope |
//! | cap breaches | attempts in scope that exceeded a cap of their rules: for a cap of N calls in D days, the debt's outbound attempts started in the D × 24 hours up to and including the attempt's start number more than N. Earlier attempts count whatever their campaign, segment or start before `from`. An attempt over two caps counts once | debts attempted, per 1,000 |
//! | debts attempted | distinct debts with an attempt in scope | |
//! | voice opt-outs | stop-contact requests on the `voice` channel made in `[from, to)` by debtors of the filter's country | |
//! | opt-outs called after | voice opt-outs followed by at least one outbound attempt to the debtor that matches the filter's campaign and segment, at any time after the opt-out, even after `to` | voice opt-outs |
//! | attempts after opt-out | those attempts, summed over the voice opt-outs | |
//! | time to last attempt after opt-out | from the opt-out to the last such attempt, or 0 when there is none, so an opt-out honoured at once counts as 0. Maximum and mean | voice opt-outs |
//!
//! Attempts whose start times are equal all count in each other's cap period. A debt's
//! attempts may belong to different debtors when an import moved the debt, and each attempt is
//! checked against its own debtor's rules.
//!
//! NOTE: stored flags follow the rules of the check that wrote them. After the calling windows,
//! holidays or caps change, run `cobranza compliance-check --all` (or
//! [`CheckScope::All`]), or the counts keep the old verdicts.

pub mod check;
pub mod tally;

pub use check::{CheckCounts, CheckScope};

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Rate;
use crate::collections::store::StoreError;
use crate::collections::Store;
use crate::policy::ContactPolicy;

/// The attempts and opt-outs the counters cover.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ComplianceFilter {
    /// Start of the range, included. An empty or reversed range counts nothing.
    pub from: DateTime<Utc>,
    /// End of the range, excluded.
    pub to: DateTime<Utc>,
    /// ISO 3166-1 alpha-2 code of the debtor's country, in any case.
    pub country: Option<String>,
    pub campaign: Option<String>,
    pub segment: Option<String>,
}

impl ComplianceFilter {
    /// Returns the filter's country in capitals, as the store keeps it.
    pub fn country_code(&self) -> Option<String> {
        self.country.as_ref().map(|code| code.trim().to_ascii_uppercase())
    }
}

/// The raw counts a store returns. [`ComplianceCounters::from_counts`] turns them into rates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct LedgerCounts {
    pub outbound_attempts: u64,
    pub outside_window: u64,
    pub cap_breaches: u64,
    pub debts_attempted: u64,
    pub voice_opt_outs: u64,
    pub opt_outs_called_after: u64,
    pub attempts_after_opt_out: u64,
    /// Summed over the voice opt-outs: microseconds from each opt-out to its last later attempt.
    pub micros_to_last_attempt_total: i64,
    /// The largest of those times in microseconds, or 0 without opt-outs.
    pub micros_to_last_attempt_max: i64,
}

/// A count per 1,000 of something, stating what it divides by.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PerThousand {
    pub count: u64,
    pub denominator: u64,
    /// The name of what the denominator counts, e.g. "debts attempted".
    pub denominator_name: &'static str,
    /// `count × 1000 ÷ denominator`, or `None` when the denominator is 0.
    pub value: Option<f64>,
}

impl PerThousand {
    pub fn new(count: u64, denominator: u64, denominator_name: &'static str) -> PerThousand {
        let value = (denominator > 0).then(|| count as f64 * 1000.0 / denominator as f64);
        PerThousand { count, denominator, denominator_name, value }
    }
}

impl fmt::Display for PerThousand {
    /// Writes `12.5 per 1,000 debts attempted (3 of 240)`, or `n/a (0 debts attempted)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.value {
            Some(value) => {
                write!(f, "{value:.1} per 1,000 {} ({} of {})", self.denominator_name, self.count, self.denominator)
            }
            None => write!(f, "n/a (0 {})", self.denominator_name),
        }
    }
}

/// The compliance KPIs of one range, each with its denominator. See the module documentation
/// for the formulas.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComplianceCounters {
    pub counts: LedgerCounts,
    /// Outside-window attempts ÷ attempts in scope.
    pub outside_window_rate: Rate,
    /// Cap breaches per 1,000 debts attempted.
    pub cap_breaches_per_thousand_debts: PerThousand,
    /// Opt-outs called after ÷ voice opt-outs.
    pub opt_outs_called_after_rate: Rate,
    /// The largest time from a voice opt-out to the last attempt after it in seconds, or `None`
    /// without opt-outs.
    pub max_seconds_to_last_attempt: Option<f64>,
    /// The mean of those times over the voice opt-outs in seconds, or `None` without opt-outs.
    pub mean_seconds_to_last_attempt: Option<f64>,
}

impl ComplianceCounters {
    /// Derives the rates from a store's counts.
    pub fn from_counts(counts: LedgerCounts) -> ComplianceCounters {
        let opt_outs = counts.voice_opt_outs;
        let seconds = |micros: i64| micros as f64 / 1_000_000.0;
        ComplianceCounters {
            counts,
            outside_window_rate: Rate::new(counts.outside_window, counts.outbound_attempts, "outbound attempts"),
            cap_breaches_per_thousand_debts: PerThousand::new(
                counts.cap_breaches,
                counts.debts_attempted,
                "debts attempted",
            ),
            opt_outs_called_after_rate: Rate::new(counts.opt_outs_called_after, opt_outs, "voice opt-outs"),
            max_seconds_to_last_attempt: (opt_outs > 0).then(|| seconds(counts.micros_to_last_attempt_max)),
            mean_seconds_to_last_attempt: (opt_outs > 0)
                .then(|| seconds(counts.micros_to_last_attempt_total) / opt_outs as f64),
        }
    }
}

impl fmt::Display for ComplianceCounters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let counts = &self.counts;
        writeln!(f, "outside the calling window {}", self.outside_window_rate)?;
        writeln!(f, "cap breaches {}, {}", counts.cap_breaches, self.cap_breaches_per_thousand_debts)?;
        writeln!(
            f,
            "voice opt-outs {}, called after {}, attempts after opt-out {}",
            counts.voice_opt_outs, self.opt_outs_called_after_rate, counts.attempts_after_opt_out
        )?;
        match (self.max_seconds_to_last_attempt, self.mean_seconds_to_last_attempt) {
            (Some(max), Some(mean)) => {
                write!(f, "time to last attempt after opt-out: max {max:.0} s, mean {mean:.0} s")
            }
            _ => write!(f, "time to last attempt after opt-out: n/a (0 voice opt-outs)"),
        }
    }
}

/// The store's part of the compliance counters. Every [`Store`] implements it.
#[async_trait]
pub trait ComplianceStore: Send + Sync {
    /// Checks the unchecked attempts against `policy`, then counts the attempts and opt-outs of
    /// `filter`. Fails with [`StoreError::Corrupt`] when a debtor's country has no rules in
    /// `policy`.
    async fn compliance_counts(
        &self,
        policy: &ContactPolicy,
        filter: &ComplianceFilter,
    ) -> Result<LedgerCounts, StoreError>;

    /// Recomputes the compliance flags of every outbound attempt of the debts in `scope`
    /// against `policy` and writes those that changed, in one transaction per batch of debts.
    /// Fails with [`StoreError::Corrupt`] when a debtor's country has no rules in `policy`, and
    /// then the batches written before stay written.
    async fn check_compliance(&self, policy: &ContactPolicy, scope: CheckScope) -> Result<CheckCounts, StoreError>;
}

/// Computes the compliance counters of `filter` over the store's attempt ledger.
pub async fn compliance_counters(
    store: &dyn Store,
    policy: &ContactPolicy,
    filter: &ComplianceFilter,
) -> Result<ComplianceCounters, StoreError> {
    let counts = store.compliance_counts(policy, filter).await?;
    Ok(ComplianceCounters::from_counts(counts))
}

/// Returns the error for a debtor whose country has no rules.
pub(crate) fn no_rules_error(country: &str) -> StoreError {
    StoreError::Corrupt(format!(
        "a debtor's country is '{country}', which has no jurisdiction rules; import debtors only in a country \
         listed in config/jurisdictions"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_from_counts() {
        let counts = LedgerCounts {
            outbound_attempts: 40,
            outside_window: 4,
            cap_breaches: 3,
            debts_attempted: 240,
            voice_opt_outs: 4,
            opt_outs_called_after: 1,
            attempts_after_opt_out: 2,
            micros_to_last_attempt_total: 7_200_000_000,
            micros_to_last_attempt_max: 7_200_000_000,
        };
        let counters = ComplianceCounters::from_counts(counts);
        assert_eq!(counters.outside_window_rate.value, Some(0.1));
        assert_eq!(counters.cap_breaches_per_thousand_debts.value, Some(12.5));
        assert_eq!(counters.opt_outs_called_after_rate.value, Some(0.25));
        assert_eq!(counters.max_seconds_to_last_attempt, Some(7200.0));
        assert_eq!(counters.mean_seconds_to_last_attempt, Some(1800.0));
    }

    #[test]
    fn counters_display() {
        let counts = LedgerCounts {
            outbound_attempts: 40,
            outside_window: 4,
            cap_breaches: 3,
            debts_attempted: 240,
            voice_opt_outs: 4,
            opt_outs_called_after: 1,
            attempts_after_opt_out: 2,
            micros_to_last_attempt_total: 7_200_000_000,
            micros_to_last_attempt_max: 7_200_000_000,
        };
        assert_eq!(
            ComplianceCounters::from_counts(counts).to_string(),
            "outside the calling window 10.0% (4 of 40 outbound attempts)\n\
             cap breaches 3, 12.5 per 1,000 debts attempted (3 of 240)\n\
             voice opt-outs 4, called after 25.0% (1 of 4 voice opt-outs), attempts after opt-out 2\n\
             time to last attempt after opt-out: max 7200 s, mean 1800 s"
        );
    }

    #[test]
    fn empty_ledger_has_no_values() {
        let counters = ComplianceCounters::from_counts(LedgerCounts::default());
        assert_eq!(counters.outside_window_rate.value, None);
        assert_eq!(counters.cap_breaches_per_thousand_debts.to_string(), "n/a (0 debts attempted)");
        assert_eq!(counters.max_seconds_to_last_attempt, None);
        assert_eq!(counters.mean_seconds_to_last_attempt, None);
    }
}
