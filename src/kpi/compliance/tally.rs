//! The compliance rules applied in Rust. [`AttemptChecker`] flags streamed ledger rows for the
//! SQLite store's compliance check, and [`OptOutTally`] counts its opt-out figures.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::{no_rules_error, LedgerCounts};
use crate::collections::store::StoreError;
use crate::policy::jurisdiction::RuleSet;
use crate::policy::{window_allows, ContactPolicy};

/// One outbound attempt of the ledger with its debtor's place, as a store reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerAttempt {
    pub id: i64,
    pub debt_id: i64,
    pub started_at: DateTime<Utc>,
    pub country: String,
    pub region: String,
    pub time_zone: Tz,
}

/// The compliance check's verdict on one outbound attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptFlags {
    pub attempt_id: i64,
    /// The debtor-local start time is outside the calling window, or on a holiday.
    pub outside_window: bool,
    /// The attempt exceeded at least one cap of its rules.
    pub over_cap: bool,
}

/// An attempt with its rules resolved.
struct Resolved {
    id: i64,
    started_at: DateTime<Utc>,
    time_zone: Tz,
    rule_set: usize,
}

/// Flags outbound attempts that arrive ordered by debt, then start time. The rows must include
/// every outbound attempt of each debt pushed, because a cap counts the debt's attempts of any
/// campaign, segment or debtor.
pub struct AttemptChecker<'a> {
    policy: &'a ContactPolicy,
    rule_sets: Vec<RuleSet<'a>>,
    /// Rule set of each (country, region) seen, so region names are folded once per place.
    places: HashMap<(String, String), usize>,
    debt_id: Option<i64>,
    debt_attempts: Vec<Resolved>,
    flags: Vec<AttemptFlags>,
}

impl<'a> AttemptChecker<'a> {
    pub fn new(policy: &'a ContactPolicy) -> Self {
        AttemptChecker {
            policy,
            rule_sets: policy.rule_sets(),
            places: HashMap::new(),
            debt_id: None,
            debt_attempts: Vec::new(),
            flags: Vec::new(),
        }
    }

    /// Adds the next attempt. Fails when the debtor's country has no rules.
    pub fn push(&mut self, attempt: LedgerAttempt) -> Result<(), StoreError> {
        if self.debt_id != Some(attempt.debt_id) {
            self.close_debt();
            self.debt_id = Some(attempt.debt_id);
        }
        let rule_set = self.rule_set(&attempt.country, &attempt.region)?;
        self.debt_attempts.push(Resolved {
            id: attempt.id,
            started_at: attempt.started_at,
            time_zone: attempt.time_zone,
            rule_set,
        });
        Ok(())
    }

    /// Returns the flags of the attempts pushed, in the order they were pushed.
    pub fn finish(mut self) -> Vec<AttemptFlags> {
        self.close_debt();
        self.flags
    }

    fn rule_set(&mut self, country: &str, region: &str) -> Result<usize, StoreError> {
        let key = (country.to_string(), region.to_string());
        if let Some(index) = self.places.get(&key) {
            return Ok(*index);
        }
        let index = self.policy.rule_set_index(country, region).ok_or_else(|| no_rules_error(country))?;
        self.places.insert(key, index);
        Ok(index)
    }

    /// Flags the attempts of the debt just finished.
    fn close_debt(&mut self) {
        let attempts = std::mem::take(&mut self.debt_attempts);
        for attempt in &attempts {
            let rules = self.rule_sets[attempt.rule_set].rules;
            let local = attempt.started_at.with_timezone(&attempt.time_zone).naive_local();
            let over_cap = rules.caps_per_debt.iter().any(|cap| {
                let window_start = attempt.started_at - cap.period();
                let through = attempts.partition_point(|other| other.started_at <= attempt.started_at);
                let before = attempts.partition_point(|other| other.started_at <= window_start);
                (through - before) as u64 > u64::from(cap.attempts)
            });
            self.flags.push(AttemptFlags {
                attempt_id: attempt.id,
                outside_window: !window_allows(rules, local),
                over_cap,
            });
        }
    }
}

/// Counts voice opt-outs and the attempts after them from rows that arrive grouped by opt-out:
/// one row per later attempt, or one row without an attempt when there is none.
#[derive(Debug, Default)]
pub struct OptOutTally {
    current: Option<(String, DateTime<Utc>)>,
    later_attempts: u64,
    last_attempt: Option<DateTime<Utc>>,
    counts: LedgerCounts,
}

impl OptOutTally {
    pub fn new() -> Self {
        OptOutTally::default()
    }

    /// Adds one row: the debtor, when they opted out, and one outbound attempt after that
    /// matching the filter, if any.
    pub fn push(&mut self, debtor_id: &str, opted_out_at: DateTime<Utc>, later_attempt: Option<DateTime<Utc>>) {
        let same = self.current.as_ref().is_some_and(|(id, at)| id == debtor_id && *at == opted_out_at);
        if !same {
            self.close_opt_out();
            self.current = Some((debtor_id.to_string(), opted_out_at));
        }
        if let Some(started_at) = later_attempt {
            self.later_attempts += 1;
            self.last_attempt = self.last_attempt.max(Some(started_at));
        }
    }

    /// Returns the counts of the opt-outs pushed. The attempt fields are zero.
    pub fn finish(mut self) -> LedgerCounts {
        self.close_opt_out();
        self.counts
    }

    fn close_opt_out(&mut self) {
        let Some((_, opted_out_at)) = self.current.take() else {
            return;
        };
        self.counts.voice_opt_outs += 1;
        if self.later_attempts > 0 {
            self.counts.opt_outs_called_after += 1;
            self.counts.attempts_after_opt_out += self.later_attempts;
        }
        let micros = self.last_attempt.map_or(0, |last| (last - opted_out_at).num_microseconds().unwrap_or(i64::MAX));
        self.counts.micros_to_last_attempt_total = self.counts.micros_to_last_attempt_total.saturating_add(micros);
        self.counts.micros_to_last_attempt_max = self.counts.micros_to_last_attempt_max.max(micros);
        self.later_attempts = 0;
        self.last_attempt = None;
    }
}

/// Joins the attempt counts and the opt-out counts of one filter.
pub fn combine(attempts: LedgerCounts, opt_outs: LedgerCounts) -> LedgerCounts {
    LedgerCounts {
        voice_opt_outs: opt_outs.voice_opt_outs,
        opt_outs_called_after: opt_outs.opt_outs_called_after,
        attempts_after_opt_out: opt_outs.attempts_after_opt_out,
        micros_to_last_attempt_total: opt_outs.micros_to_last_attempt_total,
        micros_to_last_attempt_max: opt_outs.micros_to_last_attempt_max,
        ..attempts
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    fn utc(day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, day, hour, minute, 0).unwrap()
    }

    fn attempt(
        id: i64,
        debt_id: i64,
        started_at: DateTime<Utc>,
        country: &str,
        region: &str,
        time_zone: Tz,
    ) -> LedgerAttempt {
        LedgerAttempt { id, debt_id, started_at, country: country.to_string(), region: region.to_string(), time_zone }
    }

    /// Returns each attempt's (outside_window, over_cap), in the order given.
    fn check(attempts: Vec<LedgerAttempt>) -> Vec<(bool, bool)> {
        let policy = ContactPolicy::embedded().unwrap();
        let mut checker = AttemptChecker::new(&policy);
        for attempt in attempts {
            checker.push(attempt).unwrap();
        }
        checker.finish().iter().map(|flags| (flags.outside_window, flags.over_cap)).collect()
    }

    #[test]
    fn cap_period_covers_seven_days() {
        // Chile allows one call a week. The call on Sunday the 1st is outside the window, and
        // the call on the 5th is the second within 7 days of it. The call on the 12th is exactly
        // 7 days after the 5th, so the 5th no longer counts and the 12th is alone in its week.
        let santiago = Tz::America__Santiago;
        let attempts = vec![
            attempt(1, 1, utc(1, 15, 0), "CL", "Región Metropolitana", santiago),
            attempt(2, 1, utc(5, 15, 0), "CL", "Región Metropolitana", santiago),
            attempt(3, 1, utc(12, 15, 0), "CL", "Región Metropolitana", santiago),
        ];
        assert_eq!(check(attempts), vec![(true, false), (false, true), (false, false)]);
    }

    #[test]
    fn cap_period_excludes_its_start() {
        // Colombia allows one call a day. The second call, exactly 24 hours after the first, is
        // alone in its period. The third, 6 hours after the second, breaches. At 15:00 on a
        // Wednesday in Bogotá it is inside the window.
        let bogota = Tz::America__Bogota;
        let attempts = vec![
            attempt(1, 7, utc(3, 14, 0), "CO", "Antioquia", bogota),
            attempt(2, 7, utc(3, 14, 0) + Duration::hours(24), "CO", "Antioquia", bogota),
            attempt(3, 7, utc(4, 20, 0), "CO", "Antioquia", bogota),
        ];
        assert_eq!(check(attempts), vec![(false, false), (false, false), (false, true)]);
    }

    #[test]
    fn equal_start_times_breach_together() {
        let bogota = Tz::America__Bogota;
        let attempts = vec![
            attempt(1, 7, utc(3, 14, 0), "CO", "Antioquia", bogota),
            attempt(2, 7, utc(3, 14, 0), "CO", "Antioquia", bogota),
        ];
        assert_eq!(check(attempts), vec![(false, true), (false, true)]);
    }

    #[test]
    fn debts_are_capped_separately() {
        // Two debts of one Colombian debtor, each called once on the same morning.
        let bogota = Tz::America__Bogota;
        let attempts = vec![
            attempt(1, 7, utc(3, 14, 0), "CO", "Antioquia", bogota),
            attempt(2, 8, utc(3, 15, 0), "CO", "Antioquia", bogota),
        ];
        assert_eq!(check(attempts), vec![(false, false), (false, false)]);
    }

    #[test]
    fn window_uses_debtor_local_time() {
        // 02:00 UTC on Wednesday 4 March is 21:00 on Tuesday in Bogotá, after the 19:00 close.
        let bogota = Tz::America__Bogota;
        let attempts = vec![attempt(1, 7, utc(4, 2, 0), "CO", "Antioquia", bogota)];
        assert_eq!(check(attempts), vec![(true, false)]);
    }

    #[test]
    fn unknown_country_is_an_error() {
        let policy = ContactPolicy::embedded().unwrap();
        let mut checker = AttemptChecker::new(&policy);
        let error = checker.push(attempt(1, 1, utc(3, 14, 0), "XX", "", Tz::UTC)).unwrap_err();
        assert!(error.to_string().contains("a debtor's country is 'XX'"), "{error}");
    }

    #[test]
    fn opt_out_times_to_last_attempt() {
        let mut tally = OptOutTally::new();
        tally.push("CO-0001", utc(3, 12, 0), Some(utc(3, 13, 0)));
        tally.push("CO-0001", utc(3, 12, 0), Some(utc(3, 14, 0)));
        tally.push("MX-0001", utc(4, 12, 0), None);
        let counts = tally.finish();
        assert_eq!(counts.voice_opt_outs, 2);
        assert_eq!(counts.opt_outs_called_after, 1);
        assert_eq!(counts.attempts_after_opt_out, 2);
        assert_eq!(counts.micros_to_last_attempt_max, 2 * 3_600_000_000);
        assert_eq!(counts.micros_to_last_attempt_total, 2 * 3_600_000_000);
    }
}
