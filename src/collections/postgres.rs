//! The collections store on a PostgreSQL server, for deployments where several machines share
//! one database.
//!
//! It behaves as [`super::sqlite::SqliteStore`] does: the same rows, the same errors, the same
//! ordering. Writes that touch several rows run in one transaction at PostgreSQL's default READ
//! COMMITTED level, and a transaction has committed when the method returns. Times are stored as
//! TIMESTAMPTZ, so they keep microseconds and drop any finer part (SQLite keeps nanoseconds).

mod campaigns;
mod compliance;
mod console;
mod decode;
mod history;
mod inbound;
mod kpi;
mod scoring;

use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Connection, Postgres, Row, Transaction};
use tracing::info;

use super::history::HistoryStore;
use super::import::PortfolioRow;
use super::model::{
    Account, AttemptId, CallSid, DebtId, DebtorId, Installment, PaymentClaim, Promise, PromiseId, TranscriptLine,
};
use super::store::{Attempt, AttemptOutcome, ImportCounts, NewAttempt, Store, StoreError, StoredPromise};
use crate::cost::CostLine;

/// Connections in the pool. PostgreSQL's default `max_connections` is 100, shared by all clients.
const MAX_CONNECTIONS: u32 = 8;

/// How long a request waits for a free or new connection before failing.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// The maximum schema name length in bytes that PostgreSQL keeps whole (NAMEDATALEN - 1).
const MAX_SCHEMA_NAME_BYTES: usize = 63;

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

/// The collections store in one PostgreSQL database (and optionally one schema of it).
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// The connection pool, for statements the store has no method for (benchmarks).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Connects to the database at `url` (`postgres://user:password@host:port/database`) and
    /// brings the schema up to date. Tables live in the first existing schema of the
    /// connection's `search_path`, which is `public` unless the server, role or URL sets another.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)?;
        let store = Self::connect_with(options).await?;
        info!(url = %redact_password(url), "collections store connected");
        Ok(store)
    }

    /// Connects as [`PostgresStore::connect`] does, but keeps every table in `schema`, creating
    /// the schema when it does not exist. Stores in different schemas of one database never see
    /// each other's rows, which lets tests run in parallel against one server.
    ///
    /// `schema` must be 1 to 63 ASCII lowercase letters, digits and underscores, not starting
    /// with a digit, so it needs no quoting.
    pub async fn connect_in_schema(url: &str, schema: &str) -> Result<Self, StoreError> {
        check_schema_name(schema)?;
        let options = PgConnectOptions::from_str(url)?;

        let mut connection = sqlx::PgConnection::connect_with(&options).await?;
        sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS {schema}")).execute(&mut connection).await?;
        connection.close().await?;

        let store = Self::connect_with(options.options([("search_path", schema)])).await?;
        info!(url = %redact_password(url), schema, "collections store connected");
        Ok(store)
    }

    async fn connect_with(options: PgConnectOptions) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(PostgresStore { pool })
    }

    async fn promises_where(&self, condition: &str, binds: Binds) -> Result<Vec<StoredPromise>, StoreError> {
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
            installments.entry(row.try_get("promise_id")?).or_default().push(Installment {
                amount: decode::money(row.try_get("amount_minor")?, &currency)?,
                due_date: row.try_get("due_date")?,
            });
        }

        let mut promises = Vec::with_capacity(promise_rows.len());
        for row in &promise_rows {
            let id: i64 = row.try_get("id")?;
            let currency: String = row.try_get("currency")?;
            promises.push(StoredPromise {
                id: PromiseId(id),
                attempt_id: AttemptId(row.try_get("attempt_id")?),
                promise: Promise {
                    debt_id: DebtId(row.try_get("debt_id")?),
                    amount: decode::money(row.try_get("amount_minor")?, &currency)?,
                    due_date: row.try_get("due_date")?,
                    installments: installments.remove(&id).unwrap_or_default(),
                },
                created_at: row.try_get("created_at")?,
            });
        }
        Ok(promises)
    }
}

/// Rejects a schema name that would need quoting, so it can be written into SQL as it is.
fn check_schema_name(schema: &str) -> Result<(), StoreError> {
    let starts_well = schema.chars().next().is_some_and(|first| first.is_ascii_lowercase() || first == '_');
    let plain = schema.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if starts_well && plain && schema.len() <= MAX_SCHEMA_NAME_BYTES {
        return Ok(());
    }
    let message = format!(
        "schema name '{schema}' is invalid: use 1 to {MAX_SCHEMA_NAME_BYTES} lowercase ASCII letters, digits and \
         underscores, starting with a letter or underscore"
    );
    Err(StoreError::Database(sqlx::Error::Configuration(message.into())))
}

/// Splits the `schema` query parameter off a PostgreSQL URL, so that one URL can name both the
/// server and the schema a store keeps its tables in. Returns the URL without that parameter and
/// the schema, if one was given. A URL that does not parse is returned whole, for the driver to
/// reject with its own message.
pub fn split_schema_parameter(url: &str) -> Result<(String, Option<String>), StoreError> {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return Ok((url.to_string(), None));
    };
    let (schemas, others): (Vec<(String, String)>, Vec<(String, String)>) =
        parsed.query_pairs().into_owned().partition(|(name, _)| name == "schema");
    let schema = match schemas.as_slice() {
        [] => return Ok((url.to_string(), None)),
        [(_, schema)] => schema.clone(),
        _ => {
            let message = "the database URL gives the schema parameter more than once; keep one";
            return Err(StoreError::Database(sqlx::Error::Configuration(message.into())));
        }
    };
    check_schema_name(&schema)?;
    if others.is_empty() {
        parsed.set_query(None);
    } else {
        parsed.query_pairs_mut().clear().extend_pairs(others);
    }
    Ok((parsed.to_string(), Some(schema)))
}

/// Returns `url` with any password replaced by `***`, for logs and error messages.
pub fn redact_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            // Setting a password fails only for URLs that cannot have one, and this one has one.
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(_) => url.to_string(),
        // An unparsable URL may still contain a password, so none of it is shown.
        Err(_) => "(unparsable database URL)".to_string(),
    }
}

/// The parameters of the two promise queries, bound the same way to both.
#[derive(Clone, Copy)]
enum Binds {
    Attempt(AttemptId),
    Between(DateTime<Utc>, DateTime<Utc>),
}

impl Binds {
    fn apply<'q>(
        self,
        query: sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments> {
        match self {
            Binds::Attempt(id) => query.bind(id.0),
            Binds::Between(from, to) => query.bind(from).bind(to),
        }
    }
}

/// Fails with `NotFound` unless `sql` (selecting by `$1`) returns a row.
async fn ensure_exists<T>(
    tx: &mut Transaction<'_, Postgres>,
    what: &'static str,
    sql: &str,
    id: T,
) -> Result<(), StoreError>
where
    T: for<'q> sqlx::Encode<'q, Postgres> + sqlx::Type<Postgres> + Send + ToString + Clone + 'static,
{
    let found = sqlx::query(sql).bind(id.clone()).fetch_optional(&mut **tx).await?;
    match found {
        Some(_) => Ok(()),
        None => Err(StoreError::NotFound { what, id: id.to_string() }),
    }
}

async fn ensure_attempt(tx: &mut Transaction<'_, Postgres>, id: AttemptId) -> Result<(), StoreError> {
    ensure_exists(tx, "attempt", "SELECT 1 FROM attempts WHERE id = $1", id.0).await
}

async fn ensure_debt(tx: &mut Transaction<'_, Postgres>, id: DebtId) -> Result<(), StoreError> {
    ensure_exists(tx, "debt", "SELECT 1 FROM debts WHERE id = $1", id.0).await
}

async fn ensure_debtor(tx: &mut Transaction<'_, Postgres>, id: &DebtorId) -> Result<(), StoreError> {
    ensure_exists(tx, "debtor", "SELECT 1 FROM debtors WHERE id = $1", id.0.clone()).await
}

#[async_trait]
impl Store for PostgresStore {
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
        .bind(attempt.started_at)
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
        let mut tx = self.pool.begin().await?;

        // Locking the attempt row makes concurrent appends to one attempt take turns. Under READ
        // COMMITTED the insert below then sees the lines committed before the lock was granted,
        // so no two lines get the same number.
        let locked =
            sqlx::query("SELECT 1 FROM attempts WHERE id = $1 FOR UPDATE").bind(id.0).fetch_optional(&mut *tx).await?;
        if locked.is_none() {
            return Err(StoreError::NotFound { what: "attempt", id: id.to_string() });
        }

        sqlx::query(
            "INSERT INTO transcript_lines (attempt_id, seq, speaker, text, at)
             SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3, $4 FROM transcript_lines WHERE attempt_id = $1",
        )
        .bind(id.0)
        .bind(line.speaker.as_str())
        .bind(&line.text)
        .bind(line.at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn transcript(&self, id: AttemptId) -> Result<Vec<TranscriptLine>, StoreError> {
        let rows = sqlx::query("SELECT speaker, text, at FROM transcript_lines WHERE attempt_id = $1 ORDER BY seq")
            .bind(id.0)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(decode::transcript_line).collect()
    }

    async fn store_promise(
        &self,
        id: AttemptId,
        promise: &Promise,
        at: DateTime<Utc>,
    ) -> Result<PromiseId, StoreError> {
        let mut tx = self.pool.begin().await?;
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
        .bind(promise.due_date)
        .bind(at)
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
            .bind(installment.due_date)
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
        let mut tx = self.pool.begin().await?;
        ensure_attempt(&mut tx, id).await?;
        ensure_debt(&mut tx, claim.debt_id).await?;

        sqlx::query(
            "INSERT INTO payment_claims (attempt_id, debt_id, paid_on, amount_minor, currency, channel, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id.0)
        .bind(claim.debt_id.0)
        .bind(claim.paid_on)
        .bind(claim.amount.map(|amount| amount.amount_minor))
        .bind(claim.amount.map(|amount| amount.currency.code()))
        .bind(&claim.channel)
        .bind(at)
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
        let mut tx = self.pool.begin().await?;
        ensure_attempt(&mut tx, id).await?;

        sqlx::query("INSERT INTO callback_requests (attempt_id, requested_for, created_at) VALUES ($1, $2, $3)")
            .bind(id.0)
            .bind(requested_for)
            .bind(at)
            .execute(&mut *tx)
            .await?;

        tx.commit().await?;
        Ok(())
    }

    async fn record_dispute(&self, id: AttemptId, at: DateTime<Utc>) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        ensure_attempt(&mut tx, id).await?;

        // The debt comes from the attempt, so a dispute is always about the debt the call was.
        sqlx::query(
            "INSERT INTO disputes (attempt_id, debt_id, created_at)
             SELECT id, debt_id, $2 FROM attempts WHERE id = $1",
        )
        .bind(id.0)
        .bind(at)
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
        let mut tx = self.pool.begin().await?;
        ensure_attempt(&mut tx, id).await?;

        sqlx::query(
            "INSERT INTO hardship_referrals (attempt_id, debt_id, person_callback, created_at)
             SELECT id, debt_id, $2, $3 FROM attempts WHERE id = $1",
        )
        .bind(id.0)
        .bind(person_callback)
        .bind(at)
        .execute(&mut *tx)
        .await?;

        tx.commit().await?;
        Ok(())
    }

    async fn record_opt_out(&self, debtor_id: &DebtorId, channel: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        ensure_debtor(&mut tx, debtor_id).await?;

        // A repeated request keeps the first one's time: contact had to stop from then on.
        sqlx::query(
            "INSERT INTO opt_outs (debtor_id, channel, at) VALUES ($1, $2, $3)
             ON CONFLICT (debtor_id, channel) DO NOTHING",
        )
        .bind(&debtor_id.0)
        .bind(channel)
        .bind(at)
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
    /// or already has an outcome, so the first outcome written is never overwritten. Two
    /// concurrent calls cannot both succeed: the second waits for the first's row lock and then
    /// finds `ended_at` set.
    async fn finish_attempt(&self, id: AttemptId, outcome: &AttemptOutcome) -> Result<(), StoreError> {
        let total = i64::try_from(crate::cost::total_micros(&outcome.costs))
            .map_err(|_| StoreError::Corrupt(format!("cost of attempt {id} is out of range")))?;
        let mut tx = self.pool.begin().await?;

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
        .bind(outcome.ended_at)
        .bind(&outcome.recording_path)
        .bind(total)
        .execute(&mut *tx)
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
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
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
        let rows = sqlx::query(&sql).bind(from).bind(to).fetch_all(&self.pool).await?;
        rows.iter().map(decode::attempt).collect()
    }

    async fn promises_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<StoredPromise>, StoreError> {
        self.promises_where("created_at >= $1 AND created_at < $2", Binds::Between(from, to)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_password_hides_only_password() {
        assert_eq!(
            redact_password("postgres://cobranza:s3cret@db.internal:5432/collections"),
            "postgres://cobranza:***@db.internal:5432/collections"
        );
        assert_eq!(
            redact_password("postgres://postgres@127.0.0.1:5432/test"),
            "postgres://postgres@127.0.0.1:5432/test"
        );
        assert_eq!(redact_password("not a url :s3cret"), "(unparsable database URL)");
    }

    #[test]
    fn schema_parameter_is_split_off() {
        let (url, schema) =
            split_schema_parameter("postgres://postgres@127.0.0.1:5432/test?schema=node_run_7&sslmode=disable")
                .expect("valid");
        assert_eq!(url, "postgres://postgres@127.0.0.1:5432/test?sslmode=disable");
        assert_eq!(schema.as_deref(), Some("node_run_7"));

        let (url, schema) = split_schema_parameter("postgres://postgres@127.0.0.1:5432/test?schema=a").expect("valid");
        assert_eq!(url, "postgres://postgres@127.0.0.1:5432/test");
        assert_eq!(schema.as_deref(), Some("a"));
    }

    #[test]
    fn url_without_schema_is_unchanged() {
        let plain = "postgres://cobranza:s3cret@db.internal:5432/collections?sslmode=require";
        assert_eq!(split_schema_parameter(plain).expect("valid"), (plain.to_string(), None));
    }

    #[test]
    fn invalid_or_repeated_schema_is_rejected() {
        let invalid = split_schema_parameter("postgres://h/db?schema=Bad-Name").expect_err("invalid name");
        assert!(invalid.to_string().contains("schema name 'Bad-Name' is invalid"), "{invalid}");
        let repeated = split_schema_parameter("postgres://h/db?schema=a&schema=b").expect_err("given twice");
        assert!(repeated.to_string().contains("more than once"), "{repeated}");
    }

    #[test]
    fn schema_names_need_no_quoting() {
        for valid in ["contract_attempt_lifecycle_123", "_private", "a"] {
            assert!(check_schema_name(valid).is_ok(), "{valid}");
        }
        let too_long = "a".repeat(MAX_SCHEMA_NAME_BYTES + 1);
        for invalid in ["", "1st", "Upper", "with-dash", "quote\"d", "semi;colon", too_long.as_str()] {
            assert!(check_schema_name(invalid).is_err(), "{invalid}");
        }
    }
}
