//! The collections store: the one place calls write outcomes and campaigns read portfolios.
//! SQLite is the embedded backend; a PostgreSQL backend implements the same trait.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::history::HistoryStore;
use super::import::PortfolioRow;
use super::inbound::InboundStore;
use super::model::{
    Account, AttemptId, CallSid, DebtId, DebtorId, Disposition, PaymentClaim, Promise, PromiseId, TranscriptLine,
};
use crate::cost::CostLine;
use crate::scoring::store::ScoreStore;

/// The error of a store operation.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// A write that would overwrite something that exists; the message names it and the fix.
    #[error("{0}")]
    Conflict(String),
    #[error("{what} not found: {id}")]
    NotFound { what: &'static str, id: String },
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
}

/// Whether the call was placed by us or came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Outbound,
    Inbound,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Outbound => "outbound",
            Direction::Inbound => "inbound",
        }
    }
}

/// The facts of a call known before it is placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAttempt {
    pub debt_id: DebtId,
    pub phone: String,
    pub direction: Direction,
    pub started_at: DateTime<Utc>,
}

impl NewAttempt {
    /// Describes an outbound call to the debtor's phone about the account's debt.
    pub fn outbound(account: &Account, started_at: DateTime<Utc>) -> NewAttempt {
        NewAttempt {
            debt_id: account.debt.id,
            phone: account.debtor.phone.clone(),
            direction: Direction::Outbound,
            started_at,
        }
    }
}

/// One call to or from a debtor, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    pub id: AttemptId,
    pub debt_id: DebtId,
    pub debtor_id: DebtorId,
    pub phone: String,
    pub direction: Direction,
    pub call_sid: Option<CallSid>,
    pub started_at: DateTime<Utc>,
    pub answered: bool,
    pub ended_at: Option<DateTime<Utc>>,
    pub disposition: Option<Disposition>,
    /// The debtor's identity was verified during the call.
    pub right_party_contact: bool,
    pub recording_path: Option<String>,
    /// The call's cost in millionths of a dollar, 0 until the call ended.
    pub cost_micros: u64,
    /// The campaign that placed the call, and the debtor's segment when it was placed; both
    /// `None` for a call no campaign placed.
    pub campaign: Option<String>,
    pub segment: Option<String>,
}

/// The outcome of a call, written once when it ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptOutcome {
    pub disposition: Disposition,
    pub answered: bool,
    pub right_party_contact: bool,
    pub ended_at: DateTime<Utc>,
    pub recording_path: Option<String>,
    /// The call's metered usage and its price, one line per category and provider.
    pub costs: Vec<CostLine>,
}

/// A promise as stored, with the attempt that obtained it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredPromise {
    pub id: PromiseId,
    pub attempt_id: AttemptId,
    pub promise: Promise,
    pub created_at: DateTime<Utc>,
}

/// Counts from a portfolio import.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportCounts {
    pub debtors: usize,
    pub debts: usize,
}

/// The collections store. Every write that the bot will confirm to a caller returns only after
/// it is durable, so "write before you speak" holds for any backend.
#[async_trait]
pub trait Store:
    HistoryStore
    + InboundStore
    + ScoreStore
    + crate::kpi::compliance::ComplianceStore
    + crate::kpi::store::KpiStore
    + crate::campaign::store::CampaignStore
    + Send
    + Sync
    + 'static
{
    /// Inserts or updates debtors and their debts from validated rows, all in one transaction.
    async fn import_portfolio(&self, rows: &[PortfolioRow]) -> Result<ImportCounts, StoreError>;

    /// Lists every account (debtor with debt), ordered by debtor id then account reference.
    async fn accounts(&self) -> Result<Vec<Account>, StoreError>;

    async fn account_by_debtor(&self, debtor_id: &DebtorId) -> Result<Option<Account>, StoreError>;

    async fn account_by_debt(&self, debt_id: DebtId) -> Result<Option<Account>, StoreError>;

    /// Finds the first account (by account reference) of the one debtor with this phone number
    /// on file. Returns `None` when no debtor or several debtors have the number, so a caller
    /// is never matched to a debtor by a guess.
    async fn account_by_phone(&self, phone: &str) -> Result<Option<Account>, StoreError>;

    /// Creates the attempt row; done before a call is placed so a crash never dials twice.
    async fn create_attempt(&self, attempt: &NewAttempt) -> Result<AttemptId, StoreError>;

    async fn attempt(&self, id: AttemptId) -> Result<Option<Attempt>, StoreError>;

    async fn set_call_sid(&self, id: AttemptId, call_sid: &CallSid) -> Result<(), StoreError>;

    async fn append_transcript(&self, id: AttemptId, line: &TranscriptLine) -> Result<(), StoreError>;

    async fn transcript(&self, id: AttemptId) -> Result<Vec<TranscriptLine>, StoreError>;

    async fn store_promise(&self, id: AttemptId, promise: &Promise, at: DateTime<Utc>)
        -> Result<PromiseId, StoreError>;

    async fn promises_for_attempt(&self, id: AttemptId) -> Result<Vec<StoredPromise>, StoreError>;

    async fn record_payment_claim(
        &self,
        id: AttemptId,
        claim: &PaymentClaim,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    async fn record_callback_request(
        &self,
        id: AttemptId,
        requested_for: Option<DateTime<Utc>>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Stores that the debtor disputes the attempt's debt, so collecting it stops until the
    /// dispute is reviewed.
    async fn record_dispute(&self, id: AttemptId, at: DateTime<Utc>) -> Result<(), StoreError>;

    /// Tells whether the debt has a dispute on file.
    async fn disputed(&self, debt_id: DebtId) -> Result<bool, StoreError>;

    /// Stores the debtor's hardship for the attempt's debt, and whether they asked that a person
    /// call them back.
    async fn record_hardship(&self, id: AttemptId, person_callback: bool, at: DateTime<Utc>) -> Result<(), StoreError>;

    /// Stores a stop-contact request for a debtor on one channel (`voice`, `sms`, ...).
    async fn record_opt_out(&self, debtor_id: &DebtorId, channel: &str, at: DateTime<Utc>) -> Result<(), StoreError>;

    async fn opted_out(&self, debtor_id: &DebtorId, channel: &str) -> Result<bool, StoreError>;

    /// Writes how the call ended and what it cost. Called once per attempt.
    async fn finish_attempt(&self, id: AttemptId, outcome: &AttemptOutcome) -> Result<(), StoreError>;

    /// Returns the cost lines stored with the attempt, ordered by category and provider.
    async fn attempt_costs(&self, id: AttemptId) -> Result<Vec<CostLine>, StoreError>;

    /// Attempts started in `[from, to)`, oldest first.
    async fn attempts_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Attempt>, StoreError>;

    /// Promises created in `[from, to)`, oldest first.
    async fn promises_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<StoredPromise>, StoreError>;
}

/// Returns a day's bounds in UTC, for KPI queries over one calendar date.
pub fn utc_day_bounds(day: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = day.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc();
    (start, start + chrono::Duration::days(1))
}
