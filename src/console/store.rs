//! The supervisor console's part of the collections store: console users and their sessions,
//! failed logins for the rate limit, the audit log, and the read models behind the history,
//! promise and debtor pages. SQLite and PostgreSQL implement it. With PostgreSQL, every node that
//! shares the database reads and writes the same sessions, failed logins and audit log.

use std::fmt;
use std::str::FromStr;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::call::TurnTimings;
use crate::collections::history::PromiseStatus;
use crate::collections::model::{AttemptId, Debt, Debtor, DebtorId, Disposition, Money, PromiseId};
use crate::collections::store::{Direction, StoreError};

/// The permissions of a console user. An auditor has read-only access, and the console masks the
/// personal data it shows to an auditor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Supervisor,
    Auditor,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Supervisor, Role::Auditor];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Supervisor => "supervisor",
            Role::Auditor => "auditor",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == text)
            .ok_or_else(|| format!("unknown role '{text}'; expected admin, supervisor or auditor"))
    }
}

/// The language of the console's labels for one user. Spanish unless the user switches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UiLanguage {
    #[default]
    Es,
    En,
}

impl UiLanguage {
    pub fn as_str(self) -> &'static str {
        match self {
            UiLanguage::Es => "es",
            UiLanguage::En => "en",
        }
    }
}

impl fmt::Display for UiLanguage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for UiLanguage {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "es" => Ok(UiLanguage::Es),
            "en" => Ok(UiLanguage::En),
            other => Err(format!("unknown console language '{other}'; expected es or en")),
        }
    }
}

/// A console user to create. The store keeps the password hash as given and never receives the
/// password.
#[derive(Clone, PartialEq, Eq)]
pub struct NewUser {
    pub username: String,
    pub role: Role,
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
}

/// A console user as stored. A new user starts enabled, in Spanish.
#[derive(Clone, PartialEq, Eq)]
pub struct User {
    pub username: String,
    pub role: Role,
    pub language: UiLanguage,
    /// A disabled user cannot log in, and has no sessions.
    pub disabled: bool,
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
}

/// A login session to store. The caller passes a hash of the cookie's token, never the token, so
/// a copy of the database cannot be used to log in.
#[derive(Clone, PartialEq, Eq)]
pub struct NewSession {
    pub token_hash: String,
    pub username: String,
    /// The value every state-changing request of this session must send back.
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A live session with its user, as [`ConsoleStore::session`] finds it.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub token_hash: String,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
    pub user: User,
}

// The Debug output of the types above leaves out hashes and tokens, so that logging a value
// never writes a secret.

impl fmt::Debug for NewUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewUser")
            .field("username", &self.username)
            .field("role", &self.role)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("username", &self.username)
            .field("role", &self.role)
            .field("language", &self.language)
            .field("disabled", &self.disabled)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for NewSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewSession")
            .field("username", &self.username)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for SessionRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionRecord")
            .field("expires_at", &self.expires_at)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// One line of the audit log: who did what to which object, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    pub username: String,
    /// The action, e.g. `login` or `campaign.pause`.
    pub action: String,
    /// The object acted on, e.g. a campaign name or an attempt id. Empty when there is none.
    pub target: String,
    pub detail: String,
}

/// The filters of a call history search. Every filter that is set must match. A text filter
/// that is empty or only spaces is not applied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallQuery {
    pub debtor_id: Option<DebtorId>,
    /// Digits that must occur, in this order and next to each other, in the dialled number's
    /// digits: `5512` matches `+525551234567`. Anything but digits is ignored, and text with no
    /// digit matches no call.
    pub phone: Option<String>,
    /// Calls started at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Calls started before this instant.
    pub to: Option<DateTime<Utc>>,
    pub campaign: Option<String>,
    pub disposition: Option<Disposition>,
    /// The maximum number of calls returned.
    pub limit: u32,
}

impl CallQuery {
    /// Returns the phone filter's digits: `None` when no phone filter applies, and an empty
    /// string when the filter contains no digit.
    pub fn phone_digits(&self) -> Option<String> {
        let phone = self.phone.as_deref().filter(|text| !text.trim().is_empty())?;
        Some(phone.chars().filter(char::is_ascii_digit).collect())
    }

    /// Returns the debtor filter, unless it is blank.
    pub fn debtor_filter(&self) -> Option<&str> {
        self.debtor_id.as_ref().map(|id| id.0.trim()).filter(|id| !id.is_empty())
    }

    /// Returns the campaign filter, unless it is blank.
    pub fn campaign_filter(&self) -> Option<&str> {
        self.campaign.as_deref().map(str::trim).filter(|name| !name.is_empty())
    }
}

/// One call in the history and on the debtor page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallRow {
    pub attempt_id: AttemptId,
    pub debtor_id: DebtorId,
    pub debtor_name: String,
    /// The number dialled or the caller's number, E.164.
    pub phone: String,
    /// The debtor's country, ISO 3166-1 alpha-2.
    pub country: String,
    pub campaign: Option<String>,
    pub direction: Direction,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub disposition: Option<Disposition>,
    pub right_party_contact: bool,
    pub recording_path: Option<String>,
}

/// The lists of the promises page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PromiseView {
    /// Open promises without installments, and open installments of plans, due on the given
    /// day.
    DueToday,
    /// Promises that were not kept in full: `broken` and `partly_kept`.
    Broken,
    /// Promises paid in full: `kept` and `kept_late`.
    Kept,
}

impl PromiseView {
    pub const ALL: [PromiseView; 3] = [PromiseView::DueToday, PromiseView::Broken, PromiseView::Kept];

    /// Returns the name the console's `view` parameter uses.
    pub fn as_str(self) -> &'static str {
        match self {
            PromiseView::DueToday => "due",
            PromiseView::Broken => "broken",
            PromiseView::Kept => "kept",
        }
    }

    /// Returns the promise statuses that the view lists.
    pub fn statuses(self) -> &'static [PromiseStatus] {
        match self {
            PromiseView::DueToday => &[PromiseStatus::Open],
            PromiseView::Broken => &[PromiseStatus::Broken, PromiseStatus::PartlyKept],
            PromiseView::Kept => &[PromiseStatus::Kept, PromiseStatus::KeptLate],
        }
    }
}

impl FromStr for PromiseView {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        PromiseView::ALL
            .into_iter()
            .find(|view| view.as_str() == text)
            .ok_or_else(|| format!("unknown promise view '{text}'; expected due, broken or kept"))
    }
}

/// One promise on the promises page and the debtor page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PromiseRow {
    pub promise_id: PromiseId,
    pub attempt_id: AttemptId,
    pub debtor_id: DebtorId,
    pub debtor_name: String,
    pub account_ref: String,
    /// The promise's total, or the installment's amount on a row for one installment.
    pub amount: Money,
    /// The promise's due date (the first installment's for a plan), or the installment's.
    pub due_date: NaiveDate,
    /// The installment's position in its plan, from 1, on a row for one installment due today.
    /// `None` on a row for the whole promise.
    pub installment: Option<u32>,
    /// The promise's status as the last settlement wrote it.
    pub status: PromiseStatus,
    /// When the next call of a campaign's follow-up of this broken promise may start: the
    /// earliest `due_at` of the campaign targets that followed it up and are waiting. `None` when
    /// no waiting target followed it up.
    pub follow_up_at: Option<DateTime<Utc>>,
}

/// A stop-contact request of a debtor on one channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OptOutRow {
    pub channel: String,
    pub at: DateTime<Utc>,
}

/// Everything the debtor page shows, except the score.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DebtorView {
    pub debtor: Debtor,
    /// By account reference.
    pub debts: Vec<Debt>,
    /// Newest first, at most [`DEBTOR_VIEW_MAX_ATTEMPTS`].
    pub attempts: Vec<CallRow>,
    /// Every promise of the debtor's debts, newest first.
    pub promises: Vec<PromiseRow>,
    /// By channel.
    pub opt_outs: Vec<OptOutRow>,
}

/// The maximum number of calls on the debtor page.
pub const DEBTOR_VIEW_MAX_ATTEMPTS: u32 = 200;

/// The console's store. Every write runs in one transaction and has committed when the method
/// returns.
#[async_trait]
pub trait ConsoleStore: Send + Sync + 'static {
    /// Stores a new enabled user with the Spanish console. Fails with `Conflict` when the
    /// username is taken. Usernames are compared exactly, so `Ana` and `ana` are two users.
    async fn create_user(&self, user: &NewUser) -> Result<User, StoreError>;

    async fn user(&self, username: &str) -> Result<Option<User>, StoreError>;

    /// Lists every user, by username in byte order.
    async fn users(&self) -> Result<Vec<User>, StoreError>;

    /// Replaces the user's password hash. Existing sessions stay valid. Fails with `NotFound`
    /// for an unknown user, as do the other `set_user_*` methods.
    async fn set_password_hash(&self, username: &str, hash: &str) -> Result<(), StoreError>;

    async fn set_user_role(&self, username: &str, role: Role) -> Result<(), StoreError>;

    /// Disables or enables the user. Disabling a user, or enabling a disabled one, also deletes
    /// every session of the user.
    async fn set_user_disabled(&self, username: &str, disabled: bool) -> Result<(), StoreError>;

    async fn set_user_language(&self, username: &str, language: UiLanguage) -> Result<(), StoreError>;

    /// Stores a session. Fails with `NotFound` for an unknown user and with `Conflict` when the
    /// token hash is stored already.
    async fn create_session(&self, session: &NewSession) -> Result<(), StoreError>;

    /// Returns the unexpired session with this token hash, with its user. Returns `None` when
    /// the session is missing, expired (`expires_at` at or before `now`) or its user is disabled.
    async fn session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<SessionRecord>, StoreError>;

    /// Moves the session's expiry. Fails with `NotFound` when the session is not stored, for
    /// example because it was deleted by a logout since it was read.
    async fn extend_session(&self, token_hash: &str, expires_at: DateTime<Utc>) -> Result<(), StoreError>;

    /// Deletes the session, if it is stored.
    async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError>;

    /// Deletes the sessions expired at `now` and returns how many it deleted.
    async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;

    /// Records one failed login under `key` (for example `user:NAME` or `ip:ADDR`), for a rate
    /// limit that every node sharing the database enforces together.
    async fn record_login_failure(&self, key: &str, at: DateTime<Utc>) -> Result<(), StoreError>;

    /// Counts the failures under `key` recorded at or after `since`.
    async fn login_failures_since(&self, key: &str, since: DateTime<Utc>) -> Result<u32, StoreError>;

    /// Deletes every failure recorded under `key`, as after a successful login.
    async fn clear_login_failures(&self, key: &str) -> Result<(), StoreError>;

    /// Deletes the failures of every key recorded before `before`, and returns how many it
    /// deleted. Failures stay stored until this or [`ConsoleStore::clear_login_failures`]
    /// deletes them, so a periodic call with the start of the rate limit's window keeps the table
    /// small.
    async fn delete_login_failures_before(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;

    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError>;

    /// Returns the latest `limit` audit entries, newest first. Entries with the same time come
    /// in reverse order of appending.
    async fn audit_entries(&self, limit: u32) -> Result<Vec<AuditEntry>, StoreError>;

    /// Returns the calls that match every filter of `query`, newest first (by start time, then
    /// by attempt id), at most `query.limit` of them. Inbound calls whose caller was never
    /// identified have no attempt and are not searched.
    async fn search_calls(&self, query: &CallQuery) -> Result<Vec<CallRow>, StoreError>;

    /// Returns at most `limit` rows of one list of the promises page. Due today: open promises
    /// without installments due on `today`, and the open installments due on `today` of any plan,
    /// one row per installment, by promise id. A plan that an earlier installment broke still
    /// lists its open installments, with the plan's status `broken`. Broken and kept: the
    /// promises with the view's statuses, by settlement date, newest first, then by promise id,
    /// highest first.
    async fn promise_board(
        &self,
        view: PromiseView,
        today: NaiveDate,
        limit: u32,
    ) -> Result<Vec<PromiseRow>, StoreError>;

    /// Returns the debtor page's data, or `None` when the debtor is not stored.
    async fn debtor_view(&self, debtor_id: &DebtorId) -> Result<Option<DebtorView>, StoreError>;

    /// Stores the timings of a call's next turn; turns are numbered from 1 in the order stored.
    async fn append_turn(
        &self,
        attempt_id: AttemptId,
        at: DateTime<Utc>,
        timings: &TurnTimings,
    ) -> Result<(), StoreError>;

    /// Returns the timings of a call's turns, first turn first.
    async fn turns(&self, attempt_id: AttemptId) -> Result<Vec<TurnTimings>, StoreError>;
}

/// Builds the `Conflict` error of a taken username.
pub(crate) fn username_taken(username: &str) -> StoreError {
    StoreError::Conflict(format!("user '{username}' exists: choose another username, or change that user instead"))
}

pub(crate) fn unknown_user(username: &str) -> StoreError {
    StoreError::NotFound { what: "console user", id: username.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_round_trip() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
            assert_eq!(serde_json::to_string(&role).unwrap(), format!("\"{role}\""));
        }
    }

    #[test]
    fn unknown_role_lists_roles() {
        let error = "owner".parse::<Role>().unwrap_err();
        assert_eq!(error, "unknown role 'owner'; expected admin, supervisor or auditor");
    }

    #[test]
    fn language_defaults_to_spanish() {
        assert_eq!(UiLanguage::default(), UiLanguage::Es);
        assert_eq!("en".parse::<UiLanguage>(), Ok(UiLanguage::En));
        assert_eq!(serde_json::to_string(&UiLanguage::Es).unwrap(), "\"es\"");
        assert!("es-419".parse::<UiLanguage>().is_err());
    }

    #[test]
    fn promise_view_names_match_api() {
        for view in PromiseView::ALL {
            assert_eq!(view.as_str().parse::<PromiseView>(), Ok(view));
        }
        assert_eq!("due".parse::<PromiseView>(), Ok(PromiseView::DueToday));
    }

    #[test]
    fn phone_filter_keeps_digits() {
        let query = |phone: &str| CallQuery { phone: Some(phone.to_string()), ..CallQuery::default() };
        assert_eq!(query("+52 (55) 5123").phone_digits(), Some("52555123".to_string()));
        assert_eq!(query("   ").phone_digits(), None);
        assert_eq!(query("abc").phone_digits(), Some(String::new()));
        assert_eq!(CallQuery::default().phone_digits(), None);
    }

    #[test]
    fn secrets_stay_out_of_debug() {
        let user = User {
            username: "ana".to_string(),
            role: Role::Admin,
            language: UiLanguage::Es,
            disabled: false,
            password_hash: "hash-secret".to_string(),
            created_at: DateTime::<Utc>::UNIX_EPOCH,
        };
        let session = SessionRecord {
            token_hash: "token-secret".to_string(),
            csrf_token: "csrf-secret".to_string(),
            expires_at: DateTime::<Utc>::UNIX_EPOCH,
            user,
        };
        let text = format!("{session:?}");
        assert!(text.contains("ana"), "{text}");
        assert!(!text.contains("secret"), "{text}");
    }
}
