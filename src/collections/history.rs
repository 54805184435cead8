//! The collections history: payments the creditor reports, the do-not-call list, dated
//! snapshots of each debt, past attempts and promises loaded from files, and the settlement of
//! promises against payments.
//!
//! [`HistoryStore`] is the store's side of it; every [`super::Store`] implements it. The CSV
//! imports (`cobranza import-payments`, `import-dnc`, `import-history`) check every line before
//! anything is written, as the portfolio import does, and [`settle`] decides each promise's
//! status from the debt's payments without touching the store.

pub mod cli;
mod csv_table;
mod directory;
mod do_not_call;
mod lookup;
mod past_calls;
mod payments;
mod settle;
mod snapshots;
mod table_cells;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::import::{ImportError, ImportMode, PortfolioRow, RowError};
use super::model::{AttemptId, CallSid, Currency, DebtId, DebtorId, Disposition, Money};
use super::store::{Direction, ImportCounts, StoreError, StoredPromise};

pub use csv_table::TableError;
pub use directory::{import_history_dir, HistoryReport, Loaded};
pub use do_not_call::{import_do_not_call_file, DoNotCallReport};
pub use payments::{import_payments_file, PaymentReport};
pub use settle::{settle, InstallmentSettlement, PromiseSettlement};

/// A payment the creditor reports on a debt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    /// The creditor's reference, unique across all payments.
    pub payment_ref: String,
    pub debt_id: DebtId,
    pub paid_on: NaiveDate,
    pub amount: Money,
    /// The payment channel as the creditor wrote it (`OXXO`, `transfer`), or empty.
    pub channel: String,
}

/// A stored payment with the account reference of its debt, for messages that name both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredPayment {
    pub payment: Payment,
    pub account_ref: String,
    pub imported_at: DateTime<Utc>,
}

/// A phone number that must not be called, for any debtor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoNotCallEntry {
    /// E.164, e.g. `+525550100001`.
    pub phone: String,
    /// The reason the number is on the list, as the file gave it, or empty.
    pub reason: String,
    /// The entry's origin: the path of the file it was imported from.
    pub source: String,
    pub added_on: NaiveDate,
}

/// A debt's days past due and balance on one date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DebtSnapshot {
    pub debt_id: DebtId,
    pub as_of: NaiveDate,
    pub days_past_due: u32,
    /// The balance still owed, 0 or more, in the debt's currency.
    pub balance: Money,
}

/// A debt's identity as the imports need it: who owes it and in which currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebtRef {
    pub debt_id: DebtId,
    pub account_ref: String,
    pub debtor_id: DebtorId,
    pub currency: Currency,
}

/// A past call read from a history file. Its `call_sid` is the file's `attempt_ref`, so a second
/// import of the same file finds it stored and skips it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryAttempt {
    pub call_sid: CallSid,
    pub debt_id: DebtId,
    pub phone: String,
    pub direction: Direction,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub answered: bool,
    pub right_party_contact: bool,
    pub disposition: Option<Disposition>,
    pub campaign: Option<String>,
    pub segment: Option<String>,
    /// The call's cost in millionths of a dollar.
    pub cost_micros: u64,
}

/// A past promise read from a history file: one payment, no installments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryPromise {
    pub attempt_id: AttemptId,
    pub debt_id: DebtId,
    pub amount: Money,
    pub due_date: NaiveDate,
    pub created_at: DateTime<Utc>,
}

/// A stored attempt found by its call SID, with the debt it was about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRef {
    pub call_sid: CallSid,
    pub attempt_id: AttemptId,
    pub debt_id: DebtId,
}

/// The status of a promise or installment against the payments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromiseStatus {
    /// Not paid in full yet, and the due date plus grace has not passed.
    Open,
    /// Paid in full on or before the due date.
    Kept,
    /// Paid in full after the due date but within the grace days.
    KeptLate,
    /// Paid in part by the end of the grace days.
    PartlyKept,
    /// Nothing paid by the end of the grace days. A plan is broken when any installment is.
    Broken,
}

impl PromiseStatus {
    pub const ALL: [PromiseStatus; 5] = [
        PromiseStatus::Open,
        PromiseStatus::Kept,
        PromiseStatus::KeptLate,
        PromiseStatus::PartlyKept,
        PromiseStatus::Broken,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PromiseStatus::Open => "open",
            PromiseStatus::Kept => "kept",
            PromiseStatus::KeptLate => "kept_late",
            PromiseStatus::PartlyKept => "partly_kept",
            PromiseStatus::Broken => "broken",
        }
    }
}

impl fmt::Display for PromiseStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PromiseStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PromiseStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| format!("unknown promise status '{s}': use open, kept, kept_late, partly_kept or broken"))
    }
}

/// A stored promise with its settlement as last written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettledPromise {
    pub stored: StoredPromise,
    pub settlement: PromiseSettlement,
}

/// The outcome of a settlement run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SettlementCounts {
    /// Promises examined.
    pub promises: usize,
    /// Promises whose status changed, by their new status.
    pub changed: BTreeMap<PromiseStatus, usize>,
}

impl SettlementCounts {
    pub fn changed_total(&self) -> usize {
        self.changed.values().sum()
    }
}

impl fmt::Display for SettlementCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "settled {} promises; {} changed status", self.promises, self.changed_total())?;
        for (status, count) in &self.changed {
            write!(f, "\n  now {status}: {count}")?;
        }
        Ok(())
    }
}

/// The debts a settlement run covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettleScope<'a> {
    AllDebts,
    Debts(&'a [DebtId]),
}

/// The history operations of the collections store. Each write method runs in one transaction,
/// so a call that fails leaves the store as it was.
#[async_trait]
pub trait HistoryStore: Send + Sync {
    /// Inserts or updates debtors and their debts from validated rows and writes each debt's
    /// snapshot dated `as_of`, replacing a snapshot of that debt and date, all in one transaction.
    async fn import_portfolio_as_of(&self, rows: &[PortfolioRow], as_of: NaiveDate)
        -> Result<ImportCounts, StoreError>;

    /// Lists every debt's id, account reference, debtor and currency.
    async fn debt_refs(&self) -> Result<Vec<DebtRef>, StoreError>;

    /// Returns the stored payments whose reference is in `payment_refs`, in reference order.
    async fn payments_with_refs(&self, payment_refs: &[String]) -> Result<Vec<StoredPayment>, StoreError>;

    /// Inserts the payments whose reference is not stored yet and returns how many it inserted.
    /// A payment whose reference is already stored is skipped, whatever its content, so the
    /// imports compare content before they call this.
    async fn insert_payments(&self, payments: &[Payment], imported_at: DateTime<Utc>) -> Result<usize, StoreError>;

    /// Returns a debt's payments ordered by payment date, then reference.
    async fn payments_of_debt(&self, debt_id: DebtId) -> Result<Vec<Payment>, StoreError>;

    /// Adds numbers to the do-not-call list and returns how many were new. A number already on
    /// the list keeps its first entry.
    async fn add_do_not_call(&self, entries: &[DoNotCallEntry]) -> Result<usize, StoreError>;

    /// Tells whether `phone` (E.164) is on the do-not-call list.
    async fn on_do_not_call(&self, phone: &str) -> Result<bool, StoreError>;

    /// Lists the do-not-call list ordered by phone number.
    async fn do_not_call_list(&self) -> Result<Vec<DoNotCallEntry>, StoreError>;

    /// Writes snapshots, replacing any of the same debt and date, and returns how many it wrote.
    async fn write_snapshots(&self, snapshots: &[DebtSnapshot]) -> Result<usize, StoreError>;

    /// Returns each debt's latest snapshot dated on or before `day`, ordered by debt id.
    async fn snapshots_as_of(&self, day: NaiveDate) -> Result<Vec<DebtSnapshot>, StoreError>;

    /// Returns the snapshots dated from `from` to `to`, both included, ordered by date then debt.
    async fn snapshots_between(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<DebtSnapshot>, StoreError>;

    /// Inserts past attempts whose call SID is not stored yet and returns how many it inserted.
    async fn insert_history_attempts(&self, attempts: &[HistoryAttempt]) -> Result<usize, StoreError>;

    /// Returns the stored attempts whose call SID is in `call_sids`.
    async fn attempts_with_call_sids(&self, call_sids: &[String]) -> Result<Vec<AttemptRef>, StoreError>;

    /// Inserts past promises as open promises and returns how many it inserted. A promise equal
    /// to a stored one (same attempt, amount, due date and creation time) is skipped, so a second
    /// import of the same file adds nothing.
    async fn insert_history_promises(&self, promises: &[HistoryPromise]) -> Result<usize, StoreError>;

    /// Settles the promises of the debts in `scope` against their payments as of `as_of` with
    /// [`settle`], writes every settlement that changed, and counts the status changes.
    ///
    /// NOTE: the scope's promises and payments are read into memory at once. `settle-promises`
    /// over 9,447 promises and 6,565 payments on SQLite peaked 23 MB above an empty store, so a
    /// sweep of millions of promises needs gigabytes.
    async fn settle_promises(
        &self,
        scope: SettleScope<'_>,
        grace_days: u32,
        as_of: NaiveDate,
    ) -> Result<SettlementCounts, StoreError>;

    /// Lists the promises with `status` whose settlement date falls from `from` to `to`, both
    /// included, ordered by that date then id. Open promises have no settlement date, so for
    /// them the due date is compared instead.
    async fn promises_with_status(
        &self,
        status: PromiseStatus,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<SettledPromise>, StoreError>;

    /// Lists a debt's promises with their settlements, oldest first.
    async fn settled_promises_of_debt(&self, debt_id: DebtId) -> Result<Vec<SettledPromise>, StoreError>;
}

/// A reason a history file could not be imported.
#[derive(Debug, thiserror::Error)]
pub enum HistoryImportError {
    #[error(transparent)]
    Table(#[from] TableError),
    #[error("{}", invalid_rows_message(.file, .rejected))]
    InvalidRows { file: String, rejected: Vec<RowError> },
    #[error(transparent)]
    Portfolio(#[from] ImportError),
    #[error("{dir} is not a directory: pass the directory that contains portfolio.csv")]
    NotADirectory { dir: String },
    #[error("{dir} has no portfolio.csv: the history import needs it, the other files are optional")]
    NoPortfolio { dir: String },
    #[error("storing {file} failed: {source}")]
    Store { file: String, source: StoreError },
    #[error("settling promises failed: {0}")]
    Settle(StoreError),
}

/// Sets each debt's days past due and balance to its latest snapshot, so the dialog and the
/// dialer work from the newest figures whatever order snapshots arrive in. The same text runs on
/// SQLite (3.33 or later, for UPDATE ... FROM) and PostgreSQL.
pub(crate) const REFRESH_DEBTS_FROM_SNAPSHOTS: &str = "
    UPDATE debts SET days_past_due = latest.days_past_due, balance_minor = latest.balance_minor
    FROM (
        SELECT snapshot.debt_id, snapshot.days_past_due, snapshot.balance_minor
        FROM debt_snapshots AS snapshot
        JOIN (SELECT debt_id, MAX(as_of) AS as_of FROM debt_snapshots GROUP BY debt_id) AS newest
          ON newest.debt_id = snapshot.debt_id AND newest.as_of = snapshot.as_of
    ) AS latest
    WHERE debts.id = latest.debt_id
      AND (debts.days_past_due <> latest.days_past_due OR debts.balance_minor <> latest.balance_minor)";

/// The settings every history import shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryImportSettings {
    pub mode: ImportMode,
    /// The import's time: payments dated after its UTC date are rejected, and it is stored as
    /// each payment's import time.
    pub now: DateTime<Utc>,
    /// Days after a due date during which a payment still keeps a promise.
    pub grace_days: u32,
}

fn invalid_rows_message(file: &str, rejected: &[RowError]) -> String {
    let rows = count_lines(rejected);
    let (noun, verb) = if rows == 1 { ("row", "is") } else { ("rows", "are") };
    let mut message = format!(
        "{file}: {rows} {noun} {verb} invalid, so nothing was imported; fix the rows or pass --valid-rows-only"
    );
    for error in rejected {
        message.push('\n');
        message.push_str(&error.to_string());
    }
    message
}

/// Counts the lines with problems. A line with several invalid cells counts once.
fn count_lines(errors: &[RowError]) -> usize {
    let mut lines: Vec<(&str, u64)> = errors.iter().map(|error| (error.file.as_str(), error.line)).collect();
    lines.sort_unstable();
    lines.dedup();
    lines.len()
}

/// Writes the ignored columns and the rejected lines of an import report, one per line.
fn write_problems(f: &mut fmt::Formatter<'_>, ignored_columns: &[String], rejected: &[RowError]) -> fmt::Result {
    if !ignored_columns.is_empty() {
        write!(f, "\nignored columns that cobranza does not read: {}", ignored_columns.join(", "))?;
    }
    if !rejected.is_empty() {
        write!(f, "\nleft out {}:", plural(count_lines(rejected), "invalid row", "invalid rows"))?;
        for error in rejected {
            write!(f, "\n{error}")?;
        }
    }
    Ok(())
}

fn plural(count: usize, one: &str, many: &str) -> String {
    if count == 1 {
        format!("1 {one}")
    } else {
        format!("{count} {many}")
    }
}
