//! A campaign's settings: which debts it dials, when, how fast, and how it retries. Stored as
//! JSON with the campaign and read from a TOML file by `cobranza campaign create`.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::collections::model::Disposition;

/// Everything a campaign needs besides its name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignSettings {
    #[serde(default)]
    pub filter: PortfolioFilter,
    #[serde(default)]
    pub schedule: Schedule,
    /// Calls in progress at once, over every node.
    #[serde(default = "default_max_concurrent_calls")]
    pub max_concurrent_calls: u32,
    /// New calls started per second by each node.
    #[serde(default = "default_calls_per_second")]
    pub calls_per_second: u32,
    #[serde(default)]
    pub retry: RetryPolicy,
    /// The number calls come from (E.164): a Twilio number or verified caller id.
    pub caller_id: String,
    /// Ask the carrier for answering-machine detection while the bot already talks.
    #[serde(default = "yes")]
    pub answering_machine_detection: bool,
    /// The strategy (from `config/strategy.toml`) per segment, over the segment's default. A
    /// call proposes only its strategy's offers, inside the creditor's policy.
    #[serde(default)]
    pub strategies: BTreeMap<String, String>,
}

/// The debts a campaign takes. An empty list or a missing bound does not filter.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortfolioFilter {
    /// A list of debtors, such as a creditor's upload for one campaign.
    #[serde(default)]
    pub debtor_ids: Vec<String>,
    /// Segments from scoring, like `medium_risk.late.large`.
    #[serde(default)]
    pub segments: Vec<String>,
    /// ISO 3166-1 alpha-2 codes.
    #[serde(default)]
    pub countries: Vec<String>,
    pub min_days_past_due: Option<u32>,
    pub max_days_past_due: Option<u32>,
    /// Balance bounds in US dollars, so one campaign can span currencies.
    pub min_balance_usd: Option<f64>,
    pub max_balance_usd: Option<f64>,
}

/// When the campaign may dial; the contact policy narrows it per debtor.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
}

impl Schedule {
    pub fn is_open(&self, at: DateTime<Utc>) -> bool {
        self.starts_at.is_none_or(|start| at >= start) && self.ends_at.is_none_or(|end| at < end)
    }
}

/// The retry rules per kind of outcome: how long to wait before the next try, and how many tries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryPolicy {
    #[serde(default = "no_answer_backoff")]
    pub no_answer: Backoff,
    #[serde(default = "busy_backoff")]
    pub busy: Backoff,
    #[serde(default = "voicemail_backoff")]
    pub voicemail: Backoff,
    #[serde(default = "failed_backoff")]
    pub failed: Backoff,
    /// Tries of one debt in all, whatever their outcomes.
    #[serde(default = "default_max_tries")]
    pub max_tries: u32,
    /// Minutes after a broken promise's settlement before the follow-up call is due.
    #[serde(default = "default_follow_up_minutes")]
    pub broken_promise_follow_up_minutes: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            no_answer: no_answer_backoff(),
            busy: busy_backoff(),
            voicemail: voicemail_backoff(),
            failed: failed_backoff(),
            max_tries: default_max_tries(),
            broken_promise_follow_up_minutes: default_follow_up_minutes(),
        }
    }
}

/// The wait before try `n + 1` after `n` tries ended this way is `first_minutes × factorⁿ⁻¹`,
/// and the outcome allows `max_tries` tries in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Backoff {
    pub first_minutes: u32,
    #[serde(default = "default_factor")]
    pub factor: u32,
    pub max_tries: u32,
}

impl Backoff {
    /// Returns the wait after the `tries`-th try, counting from 1.
    pub fn delay(&self, tries: u32) -> Duration {
        let exponent = tries.saturating_sub(1).min(16);
        let minutes = u64::from(self.first_minutes).saturating_mul(u64::from(self.factor).saturating_pow(exponent));
        Duration::minutes(minutes.min(60 * 24 * 30) as i64)
    }
}

/// The outcome of a try, as retrying sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryOutcome {
    NoAnswer,
    Busy,
    Voicemail,
    Failed,
    /// The debtor asked to be called at another time; the contact policy holds the next try
    /// until then.
    Callback,
    /// Someone answered and the conversation ended the campaign's business with this debt for
    /// now (a promise, a dispute, an opt-out, a refusal, a wrong number...).
    Finished,
}

impl TryOutcome {
    /// Classifies an attempt's disposition.
    pub fn of(disposition: Disposition) -> TryOutcome {
        match disposition {
            Disposition::NoAnswer | Disposition::NoResponse | Disposition::HungUp | Disposition::NotUnderstood => {
                TryOutcome::NoAnswer
            }
            Disposition::Busy => TryOutcome::Busy,
            Disposition::VoicemailLeft => TryOutcome::Voicemail,
            Disposition::CallFailed
            | Disposition::TechnicalFailure
            | Disposition::SpeechUnavailable
            | Disposition::StoreFailed => TryOutcome::Failed,
            Disposition::CallbackRequested => TryOutcome::Callback,
            Disposition::PromiseToPay
            | Disposition::AlreadyPaid
            | Disposition::RefusedToPay
            | Disposition::Disputed
            | Disposition::Hardship
            | Disposition::ThirdParty
            | Disposition::WrongNumber
            | Disposition::VerificationFailed
            | Disposition::RightPartyNoCommitment
            | Disposition::StopContact
            | Disposition::Transferred
            | Disposition::Abusive
            | Disposition::UnidentifiedCaller => TryOutcome::Finished,
        }
    }
}

/// The next step for a target after a try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextTry {
    At(DateTime<Utc>),
    Done,
}

impl RetryPolicy {
    /// Decides when a debt is tried again after its `tries`-th try ended at `ended_at`.
    pub fn next_try(&self, outcome: TryOutcome, tries: u32, ended_at: DateTime<Utc>) -> NextTry {
        let backoff = match outcome {
            TryOutcome::NoAnswer => self.no_answer,
            TryOutcome::Busy => self.busy,
            TryOutcome::Voicemail => self.voicemail,
            TryOutcome::Failed => self.failed,
            // The policy refuses calls before the requested time, so the target can be due now.
            TryOutcome::Callback if tries < self.max_tries => return NextTry::At(ended_at),
            TryOutcome::Callback | TryOutcome::Finished => return NextTry::Done,
        };
        if tries >= self.max_tries || tries >= backoff.max_tries {
            return NextTry::Done;
        }
        NextTry::At(ended_at + backoff.delay(tries))
    }
}

/// Checks the settings and returns what is wrong, naming the key and the fix.
pub fn validate(settings: &CampaignSettings) -> Result<(), String> {
    if settings.max_concurrent_calls == 0 {
        return Err("max_concurrent_calls: 0 would place no call; use 1 or more".to_string());
    }
    if settings.calls_per_second == 0 {
        return Err("calls_per_second: 0 would place no call; use 1 or more".to_string());
    }
    let digits = settings.caller_id.trim_start_matches('+');
    if !settings.caller_id.starts_with('+') || digits.len() < 8 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!("caller_id: '{}' is not an E.164 number; write it as +15005550006", settings.caller_id));
    }
    let filter = &settings.filter;
    if let (Some(min), Some(max)) = (filter.min_days_past_due, filter.max_days_past_due) {
        if min > max {
            return Err(format!("filter: min_days_past_due {min} is above max_days_past_due {max}"));
        }
    }
    if let (Some(min), Some(max)) = (filter.min_balance_usd, filter.max_balance_usd) {
        if min > max {
            return Err(format!("filter: min_balance_usd {min} is above max_balance_usd {max}"));
        }
    }
    if let (Some(start), Some(end)) = (settings.schedule.starts_at, settings.schedule.ends_at) {
        if start >= end {
            return Err(format!("schedule: starts_at {start} is not before ends_at {end}"));
        }
    }
    for (segment, strategy) in &settings.strategies {
        if super::strategy::embedded_book().strategy_named(strategy).is_none() {
            return Err(format!(
                "strategies.{segment}: no strategy named '{strategy}' in config/strategy.toml; use one of its names"
            ));
        }
    }
    for (name, backoff) in [
        ("no_answer", settings.retry.no_answer),
        ("busy", settings.retry.busy),
        ("voicemail", settings.retry.voicemail),
        ("failed", settings.retry.failed),
    ] {
        if backoff.factor == 0 {
            return Err(format!("retry.{name}.factor: 0 would retry at once; use 1 for a fixed wait"));
        }
    }
    Ok(())
}

fn default_max_concurrent_calls() -> u32 {
    10
}

fn default_calls_per_second() -> u32 {
    1
}

fn yes() -> bool {
    true
}

fn default_factor() -> u32 {
    2
}

fn default_max_tries() -> u32 {
    6
}

fn default_follow_up_minutes() -> u32 {
    24 * 60
}

fn no_answer_backoff() -> Backoff {
    Backoff { first_minutes: 180, factor: 2, max_tries: 5 }
}

fn busy_backoff() -> Backoff {
    Backoff { first_minutes: 30, factor: 2, max_tries: 4 }
}

fn voicemail_backoff() -> Backoff {
    Backoff { first_minutes: 24 * 60, factor: 1, max_tries: 3 }
}

fn failed_backoff() -> Backoff {
    Backoff { first_minutes: 60, factor: 2, max_tries: 3 }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 7, hour, 0, 0).unwrap()
    }

    #[test]
    fn backoff_doubles_each_try() {
        let retry = RetryPolicy::default();
        assert_eq!(retry.next_try(TryOutcome::NoAnswer, 1, at(10)), NextTry::At(at(13)));
        assert_eq!(retry.next_try(TryOutcome::NoAnswer, 2, at(10)), NextTry::At(at(16)));
        assert_eq!(retry.next_try(TryOutcome::Busy, 1, at(10)), NextTry::At(at(10) + Duration::minutes(30)));
    }

    #[test]
    fn outcome_limit_ends_the_target() {
        let retry = RetryPolicy::default();
        assert_eq!(retry.next_try(TryOutcome::Voicemail, 3, at(10)), NextTry::Done);
        assert_eq!(retry.next_try(TryOutcome::NoAnswer, 6, at(10)), NextTry::Done);
        assert_eq!(retry.next_try(TryOutcome::Finished, 1, at(10)), NextTry::Done);
    }

    #[test]
    fn callback_is_due_at_once_for_the_policy_to_hold() {
        assert_eq!(RetryPolicy::default().next_try(TryOutcome::Callback, 1, at(10)), NextTry::At(at(10)));
    }

    #[test]
    fn settings_from_toml_with_defaults() {
        let settings: CampaignSettings = toml::from_str(
            "caller_id = \"+15005550006\"\nmax_concurrent_calls = 4\n[filter]\ncountries = [\"MX\", \"CO\"]\nmin_days_past_due = 30\n",
        )
        .unwrap();
        assert_eq!(settings.filter.countries, ["MX", "CO"]);
        assert_eq!(settings.max_concurrent_calls, 4);
        assert_eq!(settings.calls_per_second, 1);
        assert_eq!(settings.retry, RetryPolicy::default());
        assert_eq!(validate(&settings), Ok(()));
    }

    #[test]
    fn invalid_settings_name_the_key() {
        let mut settings: CampaignSettings = toml::from_str("caller_id = \"5550006\"").unwrap();
        assert_eq!(
            validate(&settings),
            Err("caller_id: '5550006' is not an E.164 number; write it as +15005550006".to_string())
        );
        settings.caller_id = "+15005550006".into();
        settings.filter.min_days_past_due = Some(90);
        settings.filter.max_days_past_due = Some(30);
        assert_eq!(validate(&settings), Err("filter: min_days_past_due 90 is above max_days_past_due 30".to_string()));
    }
}
