//! The embedded collections store: one SQLite file in WAL mode.
//!
//! Every write that a caller may hear confirmed runs in a transaction that begins with
//! `BEGIN IMMEDIATE`, so it takes the write lock up front (waiting up to the busy timeout) rather
//! than failing when another connection writes first. With `synchronous=FULL` a committed
//! transaction is on disk when the method returns. The SQL text uses `$1` parameters and
//! `ON CONFLICT`/`RETURNING`, which PostgreSQL reads the same way.

mod campaigns;
mod compliance;
mod console;
mod decode;
mod history;
mod inbound;
mod kpi;
mod scoring;

use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, Sqlite, Transaction};
use tracing::info;

use super::history::HistoryStore;
use super::import::PortfolioRow;
use super::model::{
    Account, AttemptId, CallSid, DebtId, Debtor, DebtorId, Installment, PaymentClaim, Promise, PromiseId,
    TranscriptLine,
};
use super::store::{Attempt, AttemptOutcome, ImportCounts, NewAttempt, Store, StoreError, StoredPromise};
use crate::collections::import::NewDebt;
use crate::cost::CostLine;
use decode::{date_text, time_text};

/// How long a connection waits for another connection's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections in a file store's pool. WAL lets them all read at once; writes take turns.
const MAX_CONNECTIONS: u32 = 8;

const ACCOUNT_QUERY: &str = "
    SELECT debtor.id AS debtor_id, debtor.full_name, phone.number AS phone, debtor.country,
           debtor.region, debtor.locale, debtor.time_zone, debtor.national_id_last4,
           debtor.birth_date, debtor.postal_code, debtor.call_consent, debtor.authorised_channels,
           debt.id AS debt_id, debt.creditor, debt.product, debt.account_ref, debt.balance_minor,
           debt.currency, debt.days_past_due
    FROM debts AS debt
    JOIN debtors AS debtor ON debtor.id = debt.debtor_id
    LEFT JOIN phones AS phone ON phone.debtor_id = debtor.id AND phone.is_primary";

const ATTEMPT_COLUMNS: &str = "id, debt_id, debtor_id, phone, direction, call_sid, started_at, answered, \
     ended_at, disposition, right_party_contact, recording_path, cost_micros, campaign, segment";

const PROMISE_COLUMNS: &str = "id, attempt_id, debt_id, amount_minor, currency, due_date, created_at";

/// The collections store in one SQLite database.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// The connection pool, for statements the store has no method for (benchmarks).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Opens the store at `path`, creating the file and its parent directory when missing, and
    /// brings the schema up to date.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(parent) = path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|error| {
                let message = format!("creating the data directory {} failed: {error}", parent.display());
                sqlx::Error::Io(std::io::Error::new(error.kind(), message))
            })?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new().max_connections(MAX_CONNECTIONS).connect_with(options).await?;
        let store = SqliteStore { pool };
        store.migrate().await?;
        info!(path = %path.display(), "collections store opened");
        Ok(store)
    }

    /// Opens a private store in memory, for tests. It lives as long as this value.
    pub async fn in_memory() -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:")?.foreign_keys(true);
        // Each in-memory connection is its own database, so the pool keeps exactly one forever.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await?;
        let store = SqliteStore { pool };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::migrate!("./migrations/sqlite").run(&self.pool).await?;
        Ok(())
    }

    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    async fn promises_where(&self, condition: &str, binds: Binds<'_>) -> Result<Vec<StoredPromise>, StoreError> {
        let promise_sql = format!("SELECT {PROMISE_COLUMNS} FROM promises WHERE {condition} ORDER BY created_at, id");
        let installment_sql = format!(
            "SELECT promise_id, amount_minor, currency, due_date FROM promise_installments
             WHERE promise_id IN (SELECT id FROM promises WHERE {condition})
             ORDER BY promise_id, seq"
        );
        let promise_rows = binds.apply(sqlx::query(&promise_sql)).fetch_all(&self.pool).await?;
        let installment_rows = binds.apply(sqlx::query(&installment_sql)).fetch_all(&self.pool).await?;

        let mut installments: HashMap<i64, Vec<Installment>> = HashMap::new();
        for row in &installment_rows {
            let currency: String = row.try_get("currency")?;
            let due_date: String = row.try_get("due_date")?;
            installments.entry(row.try_get("promise_id")?).or_default().push(Installment {
                amount: decode::money(row.try_get("amount_minor")?, &currency)?,
                due_date: decode::date("due_date", &due_date)?,
            });
        }

        let mut promises = Vec::with_capacity(promise_rows.len());
        for row in &promise_rows {
            let id: i64 = row.try_get("id")?;
            let currency: String = row.try_get("currency")?;
            let due_date: String = row.try_get("due_date")?;
            let created_at: String = row.try_get("created_at")?;
            promises.push(StoredPromise {
                id: PromiseId(id),
                attempt_id: AttemptId(row.try_get("attempt_id")?),
                promise: Promise {
                    debt_id: DebtId(row.try_get("debt_id")?),
                    amount: decode::money(row.try_get("amount_minor")?, &currency)?,
                    due_date: decode::date("due_date", &due_date)?,
                    installments: installments.remove(&id).unwrap_or_default(),
                },
                created_at: decode::time("created_at", &created_at)?,
            });
        }
        Ok(promises)
    }
}

/// The parameters of the two promise queries, bound the same way to both.
#[derive(Clone, Copy)]
enum Binds<'a> {
    Attempt(AttemptId),
    Between(&'a str, &'a str),
}

impl Binds<'_> {
    fn apply<'q>(
        self,
        query: sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
    ) -> sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments<'q>> {
        match self {
            Binds::Attempt(id) => query.bind(id.0),
            Binds::Between(from, to) => query.bind(from.to_string()).bind(to.to_string()),
        }
    }
}

/// Fails with `NotFound` unless `sql` (selecting by `$1`) returns a row.
async fn ensure_exists<'c, T>(
    tx: &mut Transaction<'c, Sqlite>,
    what: &'static str,
    sql: &str,
    id: T,
) -> Result<(), StoreError>
where
    T: for<'q> sqlx::Encode<'q, Sqlite> + sqlx::Type<Sqlite> + Send + ToString + Clone + 'static,
{
    let found = sqlx::query(sql).bind(id.clone()).fetch_optional(&mut **tx).await?;
    match found {
        Some(_) => Ok(()),
        None => Err(StoreError::NotFound { what, id: id.to_string() }),
    }
}

async fn ensure_attempt(tx: &mut Transaction<'_, Sqlite>, id: AttemptId) -> Result<(), StoreError> {
    ensure_exists(tx, "attempt", "SELECT 1 FROM attempts WHERE id = $1", id.0).await
}

async fn ensure_debt(tx: &mut Transaction<'_, Sqlite>, id: DebtId) -> Result<(), StoreError> {
    ensure_exists(tx, "debt", "SELECT 1 FROM debts WHERE id = $1", id.0).await
}

async fn ensure_debtor(tx: &mut Transaction<'_, Sqlite>, id: &DebtorId) -> Result<(), StoreError> {
    ensure_exists(tx, "debtor", "SELECT 1 FROM debtors WHERE id = $1", id.0.clone()).await
}

async fn upsert_debtor(tx: &mut Transaction<'_, Sqlite>, debtor: &Debtor) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO debtors (id, full_name, country, region, locale, time_zone, national_id_last4,
                              birth_date, postal_code, call_consent, authorised_channels)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (id) DO UPDATE SET
             full_name = excluded.full_name, country = excluded.country, region = excluded.region,
             locale = excluded.locale, time_zone = excluded.time_zone,
             national_id_last4 = excluded.national_id_last4, birth_date = excluded.birth_date,
             postal_code = excluded.postal_code, call_consent = excluded.call_consent,
             authorised_channels = excluded.authorised_channels",
    )
    .bind(&debtor.id.0)
    .bind(&debtor.full_name)
    .bind(&debtor.country)
    .bind(&debtor.region)
    .bind(&debtor.locale)
    .bind(debtor.time_zone.name())
    .bind(&debtor.national_id_last4)
    .bind(date_text(debtor.birth_date))
    .bind(&debtor.postal_code)
    .bind(debtor.call_consent)
    .bind(debtor.authorised_channels.join(";"))
    .execute(&mut **tx)
    .await?;

    // The portfolio's number becomes the primary one; numbers from earlier imports stay on file.
    sqlx::query("UPDATE phones SET is_primary = FALSE WHERE debtor_id = $1 AND number <> $2")
        .bind(&debtor.id.0)
        .bind(&debtor.phone)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO phones (debtor_id, number, is_primary) VALUES ($1, $2, TRUE)
         ON CONFLICT (debtor_id, number) DO UPDATE SET is_primary = TRUE",
    )
    .bind(&debtor.id.0)
    .bind(&debtor.phone)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn upsert_debt(tx: &mut Transaction<'_, Sqlite>, debtor_id: &DebtorId, debt: &NewDebt) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO debts (debtor_id, account_ref, creditor, product, balance_minor, currency, days_past_due)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (account_ref) DO UPDATE SET
             debtor_id = excluded.debtor_id, creditor = excluded.creditor, product = excluded.product,
             balance_minor = excluded.balance_minor, currency = excluded.currency,
             days_past_due = excluded.days_past_due",
    )
    .bind(&debtor_id.0)
    .bind(&debt.account_ref)
    .bind(&debt.creditor)
    .bind(&debt.product)
    .bind(debt.balance.amount_minor)
    .bind(debt.balance.currency.code())
    .bind(i64::from(debt.days_past_due))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[async_trait]
impl Store for SqliteStore {
    /// Writes each debt's snapshot dated today in UTC, as
    /// [`HistoryStore::import_portfolio_as_of`] does for a given date.
    async fn import_portfolio(&self, rows: &[PortfolioRow]) -> Result<ImportCounts, StoreError> {
        self.import_portfolio_as_of(rows, Utc::now().date_naive()).await
    }

    async fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        let sql = format!("{ACCOUNT_QUERY} ORDER BY debtor.id, debt.account_ref");
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        rows.iter().map(decode::account).collect()
    }

    /// Returns the debtor's first debt by account reference when the debtor has several.
    async fn account_by_debtor(&self, debtor_id: &DebtorId) -> Result<Option<Account>, StoreError> {
        let sql = format!("{ACCOUNT_QUERY} WHERE debtor.id = $1 ORDER BY debt.account_ref LIMIT 1");
        let row = sqlx::query(&sql).bind(&debtor_id.0).fetch_optional(&self.pool).await?;
        row.as_ref().map(decode::account).transpose()
    }

    async fn account_by_debt(&self, debt_id: DebtId) -> Result<Option<Account>, StoreError> {
        let sql = format!("{ACCOUNT_QUERY} WHERE debt.id = $1");
        let row = sqlx::query(&sql).bind(debt_id.0).fetch_optional(&self.pool).await?;
        row.as_ref().map(decode::account).transpose()
    }

    async fn account_by_phone(&self, phone: &str) -> Result<Option<Account>, StoreError> {
        // A number on file for several debtors matches none of them.
        let sql = format!(
            "{ACCOUNT_QUERY} WHERE debtor.id = (SELECT MIN(debtor_id) FROM phones WHERE number = $1
                 GROUP BY number HAVING COUNT(DISTINCT debtor_id) = 1)
             ORDER BY debt.account_ref LIMIT 1"
        );
        let row = sqlx::query(&sql).bind(phone).fetch_optional(&self.pool).await?;
        row.as_ref().map(decode::account).transpose()
    }

    async fn create_attempt(&self, attempt: &NewAttempt) -> Result<AttemptId, StoreError> {
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO attempts (debt_id, debtor_id, phone, direction, started_at)
             SELECT id, debtor_id, $2, $3, $4 FROM debts WHERE id = $1
             RETURNING id",
        )
        .bind(attempt.debt_id.0)
        .bind(&attempt.phone)
        .bind(attempt.direction.as_str())
        .bind(time_text(attempt.started_at))
        .fetch_optional(&self.pool)
        .await?;
        id.map(AttemptId).ok_or_else(|| StoreError::NotFound { what: "debt", id: attempt.debt_id.0.to_string() })
    }

    async fn attempt(&self, id: AttemptId) -> Result<Option<Attempt>, StoreError> {
        let sql = format!("SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE id = $1");
        let row = sqlx::query(&sql).bind(id.0).fetch_optional(&self.pool).await?;
        row.as_ref().map(decode::attempt).transpose()
    }

    async fn set_call_sid(&self, id: AttemptId, call_sid: &CallSid) -> Result<(), StoreError> {
        let result = sqlx::query("UPDATE attempts SET call_sid = $2 WHERE id = $1")
            .bind(id.0)
            .bind(&call_sid.0)
            .execute(&self.pool)
            .await?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "attempt", id: id.to_string() });
        }
        Ok(())
    }

    async fn append_transcript(&self, id: AttemptId, line: &TranscriptLine) -> Result<(), StoreError> {
        // One statement numbers the line and inserts it, so lines keep the order of the calls.
        let result = sqlx::query(
            "INSERT INTO transcript_lines (attempt_id, seq, speaker, text, at)
             SELECT attempt.id,
                    (SELECT COALESCE(MAX(line.seq), 0) + 1 FROM transcript_lines AS line
                     WHERE line.attempt_id = attempt.id),
                    $2, $3, $4
             FROM attempts AS attempt WHERE attempt.id = $1",
        )
        .bind(id.0)
        .bind(line.speaker.as_str())
        .bind(&line.text)
        .bind(time_text(line.at))
        .execute(&self.pool)
        .await?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "attempt", id: id.to_string() });
        }
        Ok(())
    }

    async fn transcript(&self, id: AttemptId) -> Result<Vec<TranscriptLine>, StoreError> {
        let rows = sqlx::query("SELECT speaker, text, at FROM transcript_lines WHERE attempt_id = $1 ORDER BY seq")
            .bind(id.0)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                let speaker: String = row.try_get("speaker")?;
                let at: String = row.try_get("at")?;
                Ok(TranscriptLine {
                    speaker: decode::speaker(&speaker)?,
                    text: row.try_get("text")?,
                    at: decode::time("at", &at)?,
                })
            })
            .collect()
    }

    async fn store_promise(
        &self,
        id: AttemptId,
        promise: &Promise,
        at: DateTime<Utc>,
    ) -> Result<PromiseId, StoreError> {
        let mut tx = self.begin_write().await?;
        ensure_attempt(&mut tx, id).await?;
        ensure_debt(&mut tx, promise.debt_id).await?;

        let promise_id: i64 = sqlx::query_scalar(
            "INSERT INTO promises (attempt_id, debt_id, amount_minor, currency, due_date, status, created_at)
             VALUES ($1, $2, $3, $4, $5, 'open', $6)
             RETURNING id",
        )
        .bind(id.0)
        .bind(promise.debt_id.0)
        .bind(promise.amount.amount_minor)
        .bind(promise.amount.currency.code())
        .bind(date_text(promise.due_date))
        .bind(time_text(at))
        .fetch_one(&mut *tx)
        .await?;

        for (seq, installment) in (1_i64..).zip(&promise.installments) {
            sqlx::query(
                "INSERT INTO promise_installments (promise_id, seq, amount_minor, currency, due_date)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(promise_id)
            .bind(seq)
            .bind(installment.amount.amount_minor)
            .bind(installment.amount.currency.code())
            .bind(date_text(installment.due_date))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(PromiseId(promise_id))
    }

    async fn promises_for_attempt(&self, id: AttemptId) -> Result<Vec<StoredPromise>, StoreError> {
        self.promises_where("attempt_id = $1", Binds::Attempt(id)).await
    }

    async fn record_payment_claim(
        &self,
        id: AttemptId,
        claim: &PaymentClaim,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        ensure_attempt(&mut tx, id).await?;
        ensure_debt(&mut tx, claim.debt_id).await?;

        sqlx::query(
            "INSERT INTO payment_claims (attempt_id, debt_id, paid_on, amount_minor, currency, channel, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id.0)
        .bind(claim.debt_id.0)
        .bind(claim.paid_on.map(date_text))
        .bind(claim.amount.map(|amount| amount.amount_minor))
        .bind(claim.amount.map(|amount| amount.currency.code()))
        .bind(&claim.channel)
        .bind(time_text(at))
        .execute(&mut *tx)
        .await?;

        tx.commit().await?;
        Ok(())
    }

    async fn record_callback_request(
        &self,
        id: AttemptId,
        requested_for: Option<DateTime<Utc>>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        ensure_attempt(&mut tx, id).await?;

        sqlx::query("INSERT INTO callback_requests (attempt_id, requested_for, created_at) VALUES ($1, $2, $3)")
            .bind(id.0)
            .bind(requested_for.map(time_text))
            .bind(time_text(at))
            .execute(&mut *tx)
            .await?;

        tx.commit().await?;
        Ok(())
    }

    async fn record_dispute(&self, id: AttemptId, at: DateTime<Utc>) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        ensure_attempt(&mut tx, id).await?;

        // The debt comes from the attempt, so a dispute is always about the debt the call was.
        sqlx::query(
            "INSERT INTO disputes (attempt_id, debt_id, created_at)
             SELECT id, debt_id, $2 FROM attempts WHERE id = $1",
        )
        .bind(id.0)
        .bind(time_text(at))
        .execute(&mut *tx)
        .await?;

        tx.commit().await?;
        Ok(())
    }

    async fn disputed(&self, debt_id: DebtId) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT 1 FROM disputes WHERE debt_id = $1 LIMIT 1")
            .bind(debt_id.0)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    async fn record_hardship(&self, id: AttemptId, person_callback: bool, at: DateTime<Utc>) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        ensure_attempt(&mut tx, id).await?;

        sqlx::query(
            "INSERT INTO hardship_referrals (attempt_id, debt_id, person_callback, created_at)
             SELECT id, debt_id, $2, $3 FROM attempts WHERE id = $1",
        )
        .bind(id.0)
        .bind(person_callback)
        .bind(time_text(at))
        .execute(&mut *tx)
        .await?;

        tx.commit().await?;
        Ok(())
    }

    async fn record_opt_out(&self, debtor_id: &DebtorId, channel: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        ensure_debtor(&mut tx, debtor_id).await?;

        // A repeated request keeps the first one's time: contact had to stop from then on.
        sqlx::query(
            "INSERT INTO opt_outs (debtor_id, channel, at) VALUES ($1, $2, $3)
             ON CONFLICT (debtor_id, channel) DO NOTHING",
        )
        .bind(&debtor_id.0)
        .bind(channel)
        .bind(time_text(at))
        .execute(&mut *tx)
        .await?;

        tx.commit().await?;
        Ok(())
    }

    async fn opted_out(&self, debtor_id: &DebtorId, channel: &str) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT 1 FROM opt_outs WHERE debtor_id = $1 AND channel = $2")
            .bind(&debtor_id.0)
            .bind(channel)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    /// Fails with `NotFound { what: "unfinished attempt", .. }` when the attempt does not exist
    /// or already has an outcome, so the first outcome written is never overwritten.
    async fn finish_attempt(&self, id: AttemptId, outcome: &AttemptOutcome) -> Result<(), StoreError> {
        let total = i64::try_from(crate::cost::total_micros(&outcome.costs))
            .map_err(|_| StoreError::Corrupt(format!("cost of attempt {id} is out of range")))?;
        let mut transaction = self.pool.begin().await?;
        let result = sqlx::query(
            "UPDATE attempts
             SET disposition = $2, answered = $3, right_party_contact = $4, ended_at = $5, recording_path = $6,
                 cost_micros = $7
             WHERE id = $1 AND ended_at IS NULL",
        )
        .bind(id.0)
        .bind(outcome.disposition.as_str())
        .bind(outcome.answered)
        .bind(outcome.right_party_contact)
        .bind(time_text(outcome.ended_at))
        .bind(&outcome.recording_path)
        .bind(total)
        .execute(&mut *transaction)
        .await?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "unfinished attempt", id: id.to_string() });
        }
        for line in &outcome.costs {
            sqlx::query(
                "INSERT INTO attempt_costs (attempt_id, category, provider, quantity, cost_micros)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(id.0)
            .bind(line.category.as_str())
            .bind(&line.provider)
            .bind(i64::try_from(line.quantity).unwrap_or(i64::MAX))
            .bind(i64::try_from(line.cost_micros).unwrap_or(i64::MAX))
            .execute(&mut *transaction)
            .await?;
        }
        transaction.commit().await?;
        Ok(())
    }

    async fn attempt_costs(&self, id: AttemptId) -> Result<Vec<CostLine>, StoreError> {
        let rows = sqlx::query(
            "SELECT category, provider, quantity, cost_micros FROM attempt_costs
             WHERE attempt_id = $1 ORDER BY category, provider",
        )
        .bind(id.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(decode::cost_line).collect()
    }

    async fn attempts_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Attempt>, StoreError> {
        let sql = format!(
            "SELECT {ATTEMPT_COLUMNS} FROM attempts
             WHERE started_at >= $1 AND started_at < $2
             ORDER BY started_at, id"
        );
        let rows = sqlx::query(&sql).bind(time_text(from)).bind(time_text(to)).fetch_all(&self.pool).await?;
        rows.iter().map(decode::attempt).collect()
    }

    async fn promises_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<StoredPromise>, StoreError> {
        let (from, to) = (time_text(from), time_text(to));
        self.promises_where("created_at >= $1 AND created_at < $2", Binds::Between(&from, &to)).await
    }
}
