//! Scoring's part of the collections store: each debt's history as of a
//! date, trained models, and each debtor's latest score.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::collections::model::{Currency, DebtorId};
use crate::collections::StoreError;

/// One debt and its debtor's history, as of a date: only events before that date count, so
/// features never see the outcome they predict.
#[derive(Debug, Clone, PartialEq)]
pub struct DebtHistory {
    pub debtor_id: DebtorId,
    pub time_zone: chrono_tz::Tz,
    pub product: String,
    pub currency: Currency,
    /// From the debt's latest snapshot on or before the date, else from the debt itself.
    pub days_past_due: u32,
    pub balance_minor: i64,
    /// The debtor's right-party contacts before the date, over all their debts.
    pub right_party_contacts: u32,
    /// The debtor's calls before the date, over all their debts.
    pub attempts: u32,
    pub last_right_party_contact: Option<DateTime<Utc>>,
    /// Payments on the debt before the date.
    pub payments: u32,
    pub last_payment: Option<NaiveDate>,
    /// Promises on the debt settled before the date as kept (on time or late) and as broken or
    /// partly kept.
    pub promises_kept: u32,
    pub promises_broken: u32,
    /// Paid on the debt from the date to the end of the outcome window: the training label.
    pub paid_in_window_minor: i64,
}

/// A trained model as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredModel {
    pub version: String,
    pub trained_at: DateTime<Utc>,
    /// JSON of [`super::model::PaymentModel`].
    pub model: String,
    /// JSON of [`super::model::ModelValidation`].
    pub validation: String,
}

/// A debtor's latest score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DebtorScore {
    pub debtor_id: DebtorId,
    pub model_version: String,
    pub scored_at: DateTime<Utc>,
    pub as_of: NaiveDate,
    pub probability: f64,
    pub points: i64,
    /// Probability of payment × expected amount − cost of the attempt, in US dollars.
    pub expected_value_usd: f64,
    /// Like `low_risk.early.small`.
    pub segment: String,
    pub strategy: String,
    /// The characteristics that cost the most points, most first.
    pub top_reasons: Vec<String>,
}

/// Scoring's part of the store.
#[async_trait]
pub trait ScoreStore {
    /// Returns every debt with its history as of `as_of` (events strictly before that day, UTC)
    /// and what was paid on it from `as_of` for `window_days` days, ordered by debtor then debt.
    /// A debt whose first snapshot is later than `as_of` was not placed yet and is left out.
    /// With `debtor`, only that debtor's debts.
    async fn debt_histories(
        &self,
        as_of: NaiveDate,
        window_days: u32,
        debtor: Option<&DebtorId>,
    ) -> Result<Vec<DebtHistory>, StoreError>;

    /// Stores a model; a version stored before is replaced.
    async fn save_model(&self, model: &StoredModel) -> Result<(), StoreError>;

    /// Returns the most recently trained model.
    async fn latest_model(&self) -> Result<Option<StoredModel>, StoreError>;

    /// Replaces the scores of the debtors given, in one transaction.
    async fn save_scores(&self, scores: &[DebtorScore]) -> Result<(), StoreError>;

    /// Replaces every stored score with `scores`, in one transaction, so debtors a full
    /// rescoring left out (they owe nothing now) leave the dial queue.
    async fn replace_all_scores(&self, scores: &[DebtorScore]) -> Result<(), StoreError>;

    async fn debtor_score(&self, debtor_id: &DebtorId) -> Result<Option<DebtorScore>, StoreError>;

    /// Returns the `limit` debtors with the highest expected value, highest first, ties by
    /// debtor id.
    async fn dial_queue(&self, limit: u32) -> Result<Vec<DebtorScore>, StoreError>;
}

/// The query behind [`ScoreStore::debt_histories`], the same text on SQLite and PostgreSQL:
/// `$1` is the as-of date, `$2` its midnight UTC as an instant, `$3` the window's end date and
/// `$4` one debtor's id, or empty for all.
pub(crate) const DEBT_HISTORY_QUERY: &str = "
    WITH latest AS (
        SELECT debt_id, MAX(as_of) AS as_of FROM debt_snapshots WHERE as_of <= $1 GROUP BY debt_id
    ),
    placed AS (
        SELECT debt_id, MIN(as_of) AS placed_on FROM debt_snapshots GROUP BY debt_id
    ),
    snapshot AS (
        SELECT s.debt_id, s.days_past_due, s.balance_minor
        FROM debt_snapshots AS s JOIN latest ON latest.debt_id = s.debt_id AND latest.as_of = s.as_of
    ),
    contacts AS (
        SELECT debtor_id, COUNT(*) AS attempts,
               COUNT(*) FILTER (WHERE right_party_contact) AS right_party_contacts,
               MAX(started_at) FILTER (WHERE right_party_contact) AS last_right_party_contact
        FROM attempts WHERE started_at < $2 GROUP BY debtor_id
    ),
    paid AS (
        SELECT debt_id,
               COUNT(*) FILTER (WHERE paid_on < $1) AS payments,
               MAX(paid_on) FILTER (WHERE paid_on < $1) AS last_payment,
               CAST(COALESCE(SUM(amount_minor) FILTER (WHERE paid_on >= $1 AND paid_on < $3), 0) AS BIGINT)
                   AS paid_in_window
        FROM payments GROUP BY debt_id
    ),
    kept AS (
        SELECT debt_id,
               COUNT(*) FILTER (WHERE status IN ('kept', 'kept_late') AND settled_on < $1) AS kept,
               COUNT(*) FILTER (WHERE status IN ('broken', 'partly_kept') AND settled_on < $1) AS broken
        FROM promises GROUP BY debt_id
    )
    SELECT debt.debtor_id, debtor.time_zone, debt.product, debt.currency,
           COALESCE(snapshot.days_past_due, debt.days_past_due) AS days_past_due,
           COALESCE(snapshot.balance_minor, debt.balance_minor) AS balance_minor,
           COALESCE(contacts.attempts, 0) AS attempts,
           COALESCE(contacts.right_party_contacts, 0) AS right_party_contacts,
           contacts.last_right_party_contact,
           COALESCE(paid.payments, 0) AS payments, paid.last_payment,
           COALESCE(paid.paid_in_window, 0) AS paid_in_window,
           COALESCE(kept.kept, 0) AS kept, COALESCE(kept.broken, 0) AS broken
    FROM debts AS debt
    LEFT JOIN placed ON placed.debt_id = debt.id
    JOIN debtors AS debtor ON debtor.id = debt.debtor_id
    LEFT JOIN snapshot ON snapshot.debt_id = debt.id
    LEFT JOIN contacts ON contacts.debtor_id = debt.debtor_id
    LEFT JOIN paid ON paid.debt_id = debt.id
    LEFT JOIN kept ON kept.debt_id = debt.id
    WHERE ($4 = '' OR debt.debtor_id = $4) AND (placed.placed_on IS NULL OR placed.placed_on <= $1)
    ORDER BY debt.debtor_id, debt.id";
