//! The contact decision: may this debtor be contacted on this channel at this instant, and if
//! not, why and when next. It is a pure function over the store's facts about the debtor, so the
//! dialer, the simulations and the tests all ask the same question the same way.

use std::fmt;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::jurisdiction::{ContactCap, ContactRules};
use crate::collections::model::DebtId;

/// Iterations of the search for the next allowed instant before it gives up. Each iteration
/// moves past at least one window closing, cap or quiet period, so a few dozen suffice for any
/// rule file. The limit only stops zones that never share an open hour.
const MAX_SEARCH_STEPS: usize = 400;

/// The channel a contact uses, as the portfolio's `authorised_channels` and opt-outs name it.
pub const VOICE: &str = "voice";

/// A past contact with the debtor, from the attempt ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PastContact {
    pub at: DateTime<Utc>,
    pub debt_id: DebtId,
    /// `voice`, `sms`, `whatsapp` or `email`.
    pub channel: String,
    /// The debtor contacted us. Inbound contacts count towards no cap, but a conversation on one
    /// starts the quiet period as an outbound one does.
    pub inbound: bool,
    /// The debtor's identity was verified: a conversation with the debtor, which the law calls a
    /// direct contact.
    pub conversation: bool,
}

/// Everything the contact policy reads about one debtor.
#[derive(Debug, Clone)]
pub struct ContactSubject<'a> {
    /// The rules of the debtor's country and region.
    pub rules: &'a ContactRules,
    /// The zones the debtor may be in: the address's zone, then any other zone the phone number
    /// suggests. A contact must fall inside the calling hours in every one.
    pub zones: &'a [Tz],
    pub call_consent: bool,
    pub authorised_channels: &'a [String],
    pub opted_out_channels: &'a [String],
    /// The number to be dialled is on the do-not-call list.
    pub on_do_not_call_list: bool,
    /// Debts with a dispute that has not been resolved.
    pub disputed_debts: &'a [DebtId],
    /// The time the debtor asked to be called back at, when a callback is pending.
    pub callback_at: Option<DateTime<Utc>>,
    /// Contacts with the debtor about any of their debts, in any order, reaching back at least
    /// the longest cap period, quiet period and week of the rules.
    pub history: &'a [PastContact],
}

/// One contact being considered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactRequest<'a> {
    pub debt_id: DebtId,
    pub channel: &'a str,
    pub at: DateTime<Utc>,
}

/// The reason a contact is refused. The codes are stable because logs, the skip counters of
/// campaigns and the KPIs use them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// The debtor's country has no rule file.
    NoJurisdiction,
    /// The portfolio records no consent to be called.
    NoCallConsent,
    /// The channel is not among the debtor's authorised channels.
    ChannelNotAuthorised,
    /// The debtor asked not to be contacted on this channel.
    OptedOut,
    /// The number is on the do-not-call list.
    DoNotCall,
    /// The debt is disputed and the dispute is not resolved.
    DisputeOpen,
    /// The debtor asked to be called back later.
    CallbackScheduled,
    /// A conversation about the debt took place too recently.
    QuietAfterConversation,
    /// After a direct contact, the week's channel is already another one.
    ChannelLockedAfterContact,
    /// A cap on attempts about this debt is reached.
    CapPerDebt,
    /// A cap on contacts with this debtor, over all their debts, is reached.
    CapPerDebtor,
    /// The local day is a holiday in one of the debtor's zones.
    Holiday,
    /// The local weekday has no calling hours in one of the debtor's zones.
    DayClosed,
    /// The local time is outside the day's calling hours in one of the debtor's zones.
    OutsideHours,
}

impl Refusal {
    pub const ALL: [Refusal; 14] = [
        Refusal::NoJurisdiction,
        Refusal::NoCallConsent,
        Refusal::ChannelNotAuthorised,
        Refusal::OptedOut,
        Refusal::DoNotCall,
        Refusal::DisputeOpen,
        Refusal::CallbackScheduled,
        Refusal::QuietAfterConversation,
        Refusal::ChannelLockedAfterContact,
        Refusal::CapPerDebt,
        Refusal::CapPerDebtor,
        Refusal::Holiday,
        Refusal::DayClosed,
        Refusal::OutsideHours,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Refusal::NoJurisdiction => "no_jurisdiction",
            Refusal::NoCallConsent => "no_call_consent",
            Refusal::ChannelNotAuthorised => "channel_not_authorised",
            Refusal::OptedOut => "opted_out",
            Refusal::DoNotCall => "do_not_call",
            Refusal::DisputeOpen => "dispute_open",
            Refusal::CallbackScheduled => "callback_scheduled",
            Refusal::QuietAfterConversation => "quiet_after_conversation",
            Refusal::ChannelLockedAfterContact => "channel_locked_after_contact",
            Refusal::CapPerDebt => "cap_per_debt",
            Refusal::CapPerDebtor => "cap_per_debtor",
            Refusal::Holiday => "holiday",
            Refusal::DayClosed => "day_closed",
            Refusal::OutsideHours => "outside_hours",
        }
    }

    /// Parses a code that [`Refusal::code`] returns.
    pub fn from_code(code: &str) -> Option<Refusal> {
        Refusal::ALL.into_iter().find(|refusal| refusal.code() == code)
    }

    /// Tells whether waiting can lift the refusal: the time-bound reasons, as opposed to
    /// consent, opt-outs, the do-not-call list and disputes, which only a change in the store
    /// lifts.
    pub fn is_temporary(self) -> bool {
        !matches!(
            self,
            Refusal::NoJurisdiction
                | Refusal::NoCallConsent
                | Refusal::ChannelNotAuthorised
                | Refusal::OptedOut
                | Refusal::DoNotCall
                | Refusal::DisputeOpen
        )
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The result of [`decide`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    Allowed,
    Refused {
        reason: Refusal,
        /// The first instant at which every time-bound rule allows the contact, or `None` when
        /// waiting does not help (or no instant of the next year is allowed).
        next_allowed: Option<DateTime<Utc>>,
    },
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allowed)
    }
}

/// Decides whether `request` may go ahead for `subject`.
///
/// Standing refusals (consent, authorised channels, opt-outs, the do-not-call list, disputes)
/// come first and have no next instant. Otherwise the contact is refused for the first
/// time-bound rule that fails at `request.at`, with the first later instant at which all of them
/// pass together.
pub fn decide(subject: &ContactSubject<'_>, request: &ContactRequest<'_>) -> Decision {
    if let Some(reason) = standing_refusal(subject, request) {
        return Decision::Refused { reason, next_allowed: None };
    }
    let Some(reason) = timed_refusal(subject, request, request.at) else {
        return Decision::Allowed;
    };
    Decision::Refused { reason, next_allowed: next_allowed(subject, request) }
}

/// Returns the first instant at or after `request.at` at which the time-bound rules allow the
/// contact, ignoring standing refusals.
pub fn next_allowed(subject: &ContactSubject<'_>, request: &ContactRequest<'_>) -> Option<DateTime<Utc>> {
    let mut at = request.at;
    for _ in 0..MAX_SEARCH_STEPS {
        let waited = latest_wait(subject, request, at);
        let open = open_in_every_zone(subject, waited)?;
        if open == at {
            return Some(at);
        }
        at = open;
    }
    None
}

fn standing_refusal(subject: &ContactSubject<'_>, request: &ContactRequest<'_>) -> Option<Refusal> {
    let channel = request.channel;
    if channel == VOICE && !subject.call_consent {
        return Some(Refusal::NoCallConsent);
    }
    if !subject.authorised_channels.iter().any(|authorised| authorised == channel) {
        return Some(Refusal::ChannelNotAuthorised);
    }
    if subject.opted_out_channels.iter().any(|opted| opted == channel || opted == "all") {
        return Some(Refusal::OptedOut);
    }
    if channel == VOICE && subject.on_do_not_call_list {
        return Some(Refusal::DoNotCall);
    }
    if subject.disputed_debts.contains(&request.debt_id) {
        return Some(Refusal::DisputeOpen);
    }
    None
}

/// Returns the first time-bound rule that refuses the contact at `at`, in the order of
/// [`Refusal`].
fn timed_refusal(subject: &ContactSubject<'_>, request: &ContactRequest<'_>, at: DateTime<Utc>) -> Option<Refusal> {
    if subject.callback_at.is_some_and(|callback| at < callback) {
        return Some(Refusal::CallbackScheduled);
    }
    if quiet_until(subject, request).is_some_and(|until| at < until) {
        return Some(Refusal::QuietAfterConversation);
    }
    if channel_unlocks_at(subject, request, at).is_some_and(|until| at < until) {
        return Some(Refusal::ChannelLockedAfterContact);
    }
    if caps_release_at(&subject.rules.caps_per_debt, debt_attempts(subject, request), at) > at {
        return Some(Refusal::CapPerDebt);
    }
    if caps_release_at(&subject.rules.caps_per_debtor, debtor_attempts(subject), at) > at {
        return Some(Refusal::CapPerDebtor);
    }
    window_refusal(subject, at)
}

/// Returns the first instant at or after `at` at which no callback, quiet period, channel lock
/// or cap blocks the contact. The calling hours are left to [`open_in_every_zone`].
fn latest_wait(subject: &ContactSubject<'_>, request: &ContactRequest<'_>, at: DateTime<Utc>) -> DateTime<Utc> {
    let mut wait = at;
    if let Some(callback) = subject.callback_at {
        wait = wait.max(callback);
    }
    if let Some(until) = quiet_until(subject, request) {
        wait = wait.max(until);
    }
    if let Some(until) = channel_unlocks_at(subject, request, at) {
        wait = wait.max(until);
    }
    wait = wait.max(caps_release_at(&subject.rules.caps_per_debt, debt_attempts(subject, request), at));
    wait.max(caps_release_at(&subject.rules.caps_per_debtor, debtor_attempts(subject), at))
}

/// Returns the end of the quiet period after the latest conversation about the debt.
fn quiet_until(subject: &ContactSubject<'_>, request: &ContactRequest<'_>) -> Option<DateTime<Utc>> {
    let days = subject.rules.quiet_days_after_conversation?;
    subject
        .history
        .iter()
        .filter(|contact| contact.conversation && contact.debt_id == request.debt_id)
        .map(|contact| contact.at + Duration::days(i64::from(days)))
        .max()
}

/// The channel lock: once a direct contact took place, the debtor may be contacted on at most
/// `channels_per_week_after_contact` channels for the 7 days after it. Returns when the lock that
/// stops `request.channel` at `at` ends, or `None` when the channel is free.
///
/// The week is counted as the 7 days after the contact, which covers any reading of "the same
/// week" by calendar.
fn channel_unlocks_at(
    subject: &ContactSubject<'_>,
    request: &ContactRequest<'_>,
    at: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let limit = subject.rules.channels_per_week_after_contact? as usize;
    let week = Duration::days(7);
    let first_direct = subject
        .history
        .iter()
        .filter(|contact| contact.conversation && contact.at <= at && at < contact.at + week)
        .map(|contact| contact.at)
        .min()?;
    let mut channels: Vec<&str> = subject
        .history
        .iter()
        .filter(|contact| contact.at >= first_direct && contact.at <= at && (contact.conversation || !contact.inbound))
        .map(|contact| contact.channel.as_str())
        .collect();
    channels.sort_unstable();
    channels.dedup();
    if channels.contains(&request.channel) || channels.len() < limit {
        return None;
    }
    // The lock lasts a week from the first direct contact; a later direct contact inside it
    // starts another week, which the next search step finds.
    Some(first_direct + week)
}

/// Outbound attempts about the requested debt, on any channel.
fn debt_attempts<'a>(
    subject: &'a ContactSubject<'_>,
    request: &'a ContactRequest<'_>,
) -> impl Iterator<Item = DateTime<Utc>> + Clone + 'a {
    subject
        .history
        .iter()
        .filter(move |contact| !contact.inbound && contact.debt_id == request.debt_id)
        .map(|contact| contact.at)
}

/// Outbound attempts about any of the debtor's debts.
fn debtor_attempts<'a>(subject: &'a ContactSubject<'_>) -> impl Iterator<Item = DateTime<Utc>> + Clone + 'a {
    subject.history.iter().filter(|contact| !contact.inbound).map(|contact| contact.at)
}

/// Returns the first instant at or after `at` at which one more attempt keeps every cap: at most
/// `cap.attempts` in any period `(t - cap.period, t]`, counting the new one. Attempts after `at`
/// are not expected; they count as if they were at `at`.
fn caps_release_at(
    caps: &[ContactCap],
    attempts: impl Iterator<Item = DateTime<Utc>> + Clone,
    at: DateTime<Utc>,
) -> DateTime<Utc> {
    let mut release = at;
    for cap in caps {
        let window_start = at - cap.period();
        let mut recent: Vec<DateTime<Utc>> = attempts.clone().filter(|attempt| *attempt > window_start).collect();
        let allowed = cap.attempts as usize;
        if recent.len() < allowed {
            continue;
        }
        // With n attempts in the period, a new one fits once all but `allowed - 1` have left it,
        // that is when the (n - allowed + 1)-th oldest is a full period old.
        recent.sort_unstable();
        let must_leave = recent[recent.len() - allowed];
        release = release.max(must_leave + cap.period());
    }
    release
}

/// Returns why the calling hours refuse `at` in some zone of the debtor, if they do.
fn window_refusal(subject: &ContactSubject<'_>, at: DateTime<Utc>) -> Option<Refusal> {
    let hours = &subject.rules.calling_hours;
    for zone in subject.zones {
        let local = at.with_timezone(zone).naive_local();
        if hours.allows(local) {
            continue;
        }
        let day = local.date();
        let reason = if hours.holidays().any(|holiday| holiday == day) {
            Refusal::Holiday
        } else if !hours.allows_day(day) {
            Refusal::DayClosed
        } else {
            Refusal::OutsideHours
        };
        return Some(reason);
    }
    None
}

/// Returns the first instant at or after `from` that is inside the calling hours in every zone
/// of the debtor, or `None` when the search finds none.
fn open_in_every_zone(subject: &ContactSubject<'_>, from: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let hours = &subject.rules.calling_hours;
    let mut at = from;
    for _ in 0..MAX_SEARCH_STEPS {
        let mut moved = false;
        for zone in subject.zones {
            let open = hours.next_open(at, *zone)?;
            if open > at {
                at = open;
                moved = true;
            }
        }
        if !moved {
            return Some(at);
        }
    }
    None
}

#[cfg(test)]
mod tests;
