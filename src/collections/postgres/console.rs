//! The supervisor console's users, sessions, failed logins, audit log and read models in
//! PostgreSQL. Every node that shares the database reads and writes the same sessions and failed
//! logins.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::postgres::PgRow;
use sqlx::Row;

use super::decode;
use super::{PostgresStore, ACCOUNT_QUERY};
use crate::call::TurnTimings;
use crate::collections::history::PromiseStatus;
use crate::collections::model::{AttemptId, DebtorId, Disposition, PromiseId};
use crate::collections::store::{Direction, StoreError};
use crate::console::store::{
    unknown_user, username_taken, AuditEntry, CallQuery, CallRow, ConsoleStore, DebtorView, NewSession, NewUser,
    OptOutRow, PromiseRow, PromiseView, Role, SessionRecord, UiLanguage, User, DEBTOR_VIEW_MAX_ATTEMPTS,
};

const USER_COLUMNS: &str = "username, role, language, disabled, password_hash, created_at";

/// The calls of the history page with their debtors. The phone filter compares digits only, so
/// `+`, spaces, hyphens and brackets are removed from the stored number first.
/// `wrong_party`, an older name of `wrong_number`, matches a `wrong_number` filter.
const CALL_QUERY: &str = "
    SELECT attempt.id, attempt.debtor_id, debtor.full_name, attempt.phone, debtor.country, attempt.campaign,
           attempt.direction, attempt.started_at, attempt.ended_at, attempt.disposition,
           attempt.right_party_contact, attempt.recording_path
    FROM attempts AS attempt
    JOIN debtors AS debtor ON debtor.id = attempt.debtor_id
    WHERE ($1::text IS NULL OR attempt.debtor_id = $1)
      AND ($2::text IS NULL
           OR REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(attempt.phone, '+', ''), ' ', ''), '-', ''), '(', ''), ')', '')
              LIKE ('%' || $2 || '%'))
      AND ($3::timestamptz IS NULL OR attempt.started_at >= $3)
      AND ($4::timestamptz IS NULL OR attempt.started_at < $4)
      AND ($5::text IS NULL OR attempt.campaign = $5)
      AND ($6::text IS NULL OR attempt.disposition = $6
           OR (attempt.disposition = 'wrong_party' AND $6 = 'wrong_number'))
    ORDER BY attempt.started_at DESC, attempt.id DESC
    LIMIT $7";

/// Builds the promise rows' query. `amount` selects `amount_minor`, `currency`, `due_date` and
/// `installment`, and `rest` adds joins, conditions and the order.
fn promise_query(amount: &str, rest: &str) -> String {
    format!(
        "SELECT promise.id AS promise_id, promise.attempt_id, debt.debtor_id, debtor.full_name, debt.account_ref,
                {amount}, promise.status,
                (SELECT MIN(target.due_at) FROM campaign_targets AS target
                 WHERE target.followed_promise_id = promise.id AND target.debt_id = promise.debt_id
                   AND target.state = 'waiting') AS follow_up_at
         FROM promises AS promise
         JOIN debts AS debt ON debt.id = promise.debt_id
         JOIN debtors AS debtor ON debtor.id = debt.debtor_id
         {rest}"
    )
}

const WHOLE_PROMISE: &str =
    "promise.amount_minor, promise.currency, promise.due_date, CAST(NULL AS BIGINT) AS installment";

fn user(row: &PgRow) -> Result<User, StoreError> {
    let role: String = row.try_get("role")?;
    let language: String = row.try_get("language")?;
    Ok(User {
        username: row.try_get("username")?,
        role: role.parse().map_err(|_| corrupt("role", &role))?,
        language: language.parse().map_err(|_| corrupt("language", &language))?,
        disabled: row.try_get("disabled")?,
        password_hash: row.try_get("password_hash")?,
        created_at: row.try_get("created_at")?,
    })
}

fn call_row(row: &PgRow) -> Result<CallRow, StoreError> {
    let direction: String = row.try_get("direction")?;
    let disposition: Option<String> = row.try_get("disposition")?;
    Ok(CallRow {
        attempt_id: AttemptId(row.try_get("id")?),
        debtor_id: DebtorId(row.try_get("debtor_id")?),
        debtor_name: row.try_get("full_name")?,
        phone: row.try_get("phone")?,
        country: row.try_get("country")?,
        campaign: row.try_get("campaign")?,
        direction: match direction.as_str() {
            "outbound" => Direction::Outbound,
            "inbound" => Direction::Inbound,
            _ => return Err(corrupt("direction", &direction)),
        },
        started_at: row.try_get("started_at")?,
        ended_at: row.try_get("ended_at")?,
        disposition: disposition
            .map(|text| text.parse::<Disposition>().map_err(|_| corrupt("disposition", &text)))
            .transpose()?,
        right_party_contact: row.try_get("right_party_contact")?,
        recording_path: row.try_get("recording_path")?,
    })
}

fn promise_row(row: &PgRow) -> Result<PromiseRow, StoreError> {
    let currency: String = row.try_get("currency")?;
    let status: String = row.try_get("status")?;
    let installment: Option<i64> = row.try_get("installment")?;
    Ok(PromiseRow {
        promise_id: PromiseId(row.try_get("promise_id")?),
        attempt_id: AttemptId(row.try_get("attempt_id")?),
        debtor_id: DebtorId(row.try_get("debtor_id")?),
        debtor_name: row.try_get("full_name")?,
        account_ref: row.try_get("account_ref")?,
        amount: decode::money(row.try_get("amount_minor")?, &currency)?,
        due_date: row.try_get("due_date")?,
        installment: installment
            .map(|seq| u32::try_from(seq).map_err(|_| corrupt("seq", &seq.to_string())))
            .transpose()?,
        status: status.parse::<PromiseStatus>().map_err(|_| corrupt("status", &status))?,
        follow_up_at: row.try_get("follow_up_at")?,
    })
}

fn corrupt(column: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("column {column} contains '{value}', which is invalid"))
}

/// Converts a row limit to the integer type both backends bind for `LIMIT`.
fn sql_limit(value: u32) -> i64 {
    i64::from(value)
}

impl PostgresStore {
    /// Runs `UPDATE console_users SET {assignment} WHERE username = $1` with `value` as `$2`.
    async fn update_user(&self, username: &str, assignment: &str, value: &str) -> Result<(), StoreError> {
        let sql = format!("UPDATE console_users SET {assignment} WHERE username = $1");
        let result = sqlx::query(&sql).bind(username).bind(value).execute(&self.pool).await?;
        if result.rows_affected() == 0 {
            return Err(unknown_user(username));
        }
        Ok(())
    }
}

#[async_trait]
impl ConsoleStore for PostgresStore {
    async fn create_user(&self, new: &NewUser) -> Result<User, StoreError> {
        let sql = format!(
            "INSERT INTO console_users (username, role, language, disabled, password_hash, created_at)
             VALUES ($1, $2, 'es', FALSE, $3, $4)
             ON CONFLICT (username) DO NOTHING
             RETURNING {USER_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(&new.username)
            .bind(new.role.as_str())
            .bind(&new.password_hash)
            .bind(new.created_at)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => user(&row),
            None => Err(username_taken(&new.username)),
        }
    }

    async fn user(&self, username: &str) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM console_users WHERE username = $1");
        let row = sqlx::query(&sql).bind(username).fetch_optional(&self.pool).await?;
        row.as_ref().map(user).transpose()
    }

    async fn users(&self) -> Result<Vec<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM console_users ORDER BY username");
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        rows.iter().map(user).collect()
    }

    async fn set_password_hash(&self, username: &str, hash: &str) -> Result<(), StoreError> {
        self.update_user(username, "password_hash = $2", hash).await
    }

    async fn set_user_role(&self, username: &str, role: Role) -> Result<(), StoreError> {
        self.update_user(username, "role = $2", role.as_str()).await
    }

    async fn set_user_disabled(&self, username: &str, disabled: bool) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let was_disabled: Option<bool> =
            sqlx::query_scalar("SELECT disabled FROM console_users WHERE username = $1 FOR UPDATE")
                .bind(username)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(was_disabled) = was_disabled else { return Err(unknown_user(username)) };
        sqlx::query("UPDATE console_users SET disabled = $2 WHERE username = $1")
            .bind(username)
            .bind(disabled)
            .execute(&mut *tx)
            .await?;
        // Enabling a disabled user also deletes the sessions stored while it was disabled, so
        // that none of them becomes valid again.
        if disabled || was_disabled {
            sqlx::query("DELETE FROM console_sessions WHERE username = $1").bind(username).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn set_user_language(&self, username: &str, language: UiLanguage) -> Result<(), StoreError> {
        self.update_user(username, "language = $2", language.as_str()).await
    }

    async fn create_session(&self, session: &NewSession) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let known = sqlx::query("SELECT 1 FROM console_users WHERE username = $1")
            .bind(&session.username)
            .fetch_optional(&mut *tx)
            .await?;
        if known.is_none() {
            return Err(unknown_user(&session.username));
        }
        let inserted = sqlx::query(
            "INSERT INTO console_sessions (token_hash, username, csrf_token, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (token_hash) DO NOTHING",
        )
        .bind(&session.token_hash)
        .bind(&session.username)
        .bind(&session.csrf_token)
        .bind(session.created_at)
        .bind(session.expires_at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            return Err(StoreError::Conflict(
                "a session with this token hash exists: generate a new session token".to_string(),
            ));
        }
        tx.commit().await?;
        Ok(())
    }

    async fn session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<SessionRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT session.token_hash, session.csrf_token, session.expires_at, console_user.username,
                    console_user.role, console_user.language, console_user.disabled, console_user.password_hash,
                    console_user.created_at
             FROM console_sessions AS session
             JOIN console_users AS console_user ON console_user.username = session.username
             WHERE session.token_hash = $1 AND session.expires_at > $2 AND NOT console_user.disabled",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(SessionRecord {
            token_hash: row.try_get("token_hash")?,
            csrf_token: row.try_get("csrf_token")?,
            expires_at: row.try_get("expires_at")?,
            user: user(&row)?,
        }))
    }

    async fn extend_session(&self, token_hash: &str, expires_at: DateTime<Utc>) -> Result<(), StoreError> {
        let result = sqlx::query("UPDATE console_sessions SET expires_at = $2 WHERE token_hash = $1")
            .bind(token_hash)
            .bind(expires_at)
            .execute(&self.pool)
            .await?;
        if result.rows_affected() == 0 {
            // Error messages reach logs, so this one leaves out the session's token hash.
            return Err(StoreError::NotFound { what: "console session", id: "(token hash withheld)".to_string() });
        }
        Ok(())
    }

    async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM console_sessions WHERE token_hash = $1").bind(token_hash).execute(&self.pool).await?;
        Ok(())
    }

    async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let result =
            sqlx::query("DELETE FROM console_sessions WHERE expires_at <= $1").bind(now).execute(&self.pool).await?;
        Ok(result.rows_affected())
    }

    async fn record_login_failure(&self, key: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO console_login_failures (limit_key, at) VALUES ($1, $2)")
            .bind(key)
            .bind(at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn login_failures_since(&self, key: &str, since: DateTime<Utc>) -> Result<u32, StoreError> {
        let count: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM console_login_failures WHERE limit_key = $1 AND at >= $2")
                .bind(key)
                .bind(since)
                .fetch_one(&self.pool)
                .await?;
        Ok(u32::try_from(count).unwrap_or(u32::MAX))
    }

    async fn clear_login_failures(&self, key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM console_login_failures WHERE limit_key = $1").bind(key).execute(&self.pool).await?;
        Ok(())
    }

    async fn delete_login_failures_before(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let result =
            sqlx::query("DELETE FROM console_login_failures WHERE at < $1").bind(before).execute(&self.pool).await?;
        Ok(result.rows_affected())
    }

    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO console_audit (at, username, action, target, detail) VALUES ($1, $2, $3, $4, $5)")
            .bind(entry.at)
            .bind(&entry.username)
            .bind(&entry.action)
            .bind(&entry.target)
            .bind(&entry.detail)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn audit_entries(&self, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT at, username, action, target, detail FROM console_audit ORDER BY at DESC, id DESC LIMIT $1",
        )
        .bind(sql_limit(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(AuditEntry {
                    at: row.try_get("at")?,
                    username: row.try_get("username")?,
                    action: row.try_get("action")?,
                    target: row.try_get("target")?,
                    detail: row.try_get("detail")?,
                })
            })
            .collect()
    }

    async fn search_calls(&self, query: &CallQuery) -> Result<Vec<CallRow>, StoreError> {
        let phone_digits = query.phone_digits();
        if phone_digits.as_deref() == Some("") {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(CALL_QUERY)
            .bind(query.debtor_filter())
            .bind(phone_digits)
            .bind(query.from)
            .bind(query.to)
            .bind(query.campaign_filter())
            .bind(query.disposition.map(Disposition::as_str))
            .bind(sql_limit(query.limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(call_row).collect()
    }

    async fn promise_board(
        &self,
        view: PromiseView,
        today: NaiveDate,
        limit: u32,
    ) -> Result<Vec<PromiseRow>, StoreError> {
        let rows = match view {
            PromiseView::DueToday => {
                // A plan's rows are its open installments due today, whatever the plan's status,
                // because a plan broken by an earlier installment still expects this one. A
                // promise without installments is due on its own date while it is open.
                let sql = promise_query(
                    "COALESCE(installment.amount_minor, promise.amount_minor) AS amount_minor,
                     COALESCE(installment.currency, promise.currency) AS currency,
                     COALESCE(installment.due_date, promise.due_date) AS due_date,
                     installment.seq AS installment",
                    "LEFT JOIN promise_installments AS installment
                       ON installment.promise_id = promise.id AND installment.due_date = $1
                          AND installment.status = 'open'
                     WHERE installment.seq IS NOT NULL
                        OR (promise.status = 'open' AND promise.due_date = $1 AND NOT EXISTS (
                                    SELECT 1 FROM promise_installments AS planned
                                    WHERE planned.promise_id = promise.id))
                     ORDER BY promise.id, installment.seq
                     LIMIT $2",
                );
                sqlx::query(&sql).bind(today).bind(sql_limit(limit)).fetch_all(&self.pool).await?
            }
            PromiseView::Broken | PromiseView::Kept => {
                let statuses = view.statuses();
                let sql = promise_query(
                    WHOLE_PROMISE,
                    "WHERE promise.status IN ($1, $2)
                     ORDER BY promise.settled_on DESC NULLS LAST, promise.id DESC
                     LIMIT $3",
                );
                sqlx::query(&sql)
                    .bind(statuses[0].as_str())
                    .bind(statuses[1].as_str())
                    .bind(sql_limit(limit))
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        rows.iter().map(promise_row).collect()
    }

    async fn debtor_view(&self, debtor_id: &DebtorId) -> Result<Option<DebtorView>, StoreError> {
        let sql = format!("{ACCOUNT_QUERY} WHERE debtor.id = $1 ORDER BY debt.account_ref");
        let accounts = sqlx::query(&sql).bind(&debtor_id.0).fetch_all(&self.pool).await?;
        let mut accounts = accounts.iter().map(decode::account).collect::<Result<Vec<_>, _>>()?.into_iter();
        // The import stores a debtor only with a debt, so a debtor without debts is unknown.
        let Some(first) = accounts.next() else { return Ok(None) };
        let debtor = first.debtor;
        let debts = std::iter::once(first.debt).chain(accounts.map(|account| account.debt)).collect();

        let attempts = self
            .search_calls(&CallQuery {
                debtor_id: Some(debtor_id.clone()),
                limit: DEBTOR_VIEW_MAX_ATTEMPTS,
                ..CallQuery::default()
            })
            .await?;

        let sql =
            promise_query(WHOLE_PROMISE, "WHERE debt.debtor_id = $1 ORDER BY promise.created_at DESC, promise.id DESC");
        let rows = sqlx::query(&sql).bind(&debtor_id.0).fetch_all(&self.pool).await?;
        let promises = rows.iter().map(promise_row).collect::<Result<Vec<_>, _>>()?;

        let rows = sqlx::query("SELECT channel, at FROM opt_outs WHERE debtor_id = $1 ORDER BY channel")
            .bind(&debtor_id.0)
            .fetch_all(&self.pool)
            .await?;
        let opt_outs = rows
            .iter()
            .map(|row| Ok(OptOutRow { channel: row.try_get("channel")?, at: row.try_get("at")? }))
            .collect::<Result<Vec<_>, StoreError>>()?;

        Ok(Some(DebtorView { debtor, debts, attempts, promises, opt_outs }))
    }

    async fn append_turn(
        &self,
        attempt_id: AttemptId,
        at: DateTime<Utc>,
        timings: &TurnTimings,
    ) -> Result<(), StoreError> {
        let ms = |value: Option<u64>| value.map(|value| i64::try_from(value).unwrap_or(i64::MAX));
        sqlx::query(
            "INSERT INTO call_turns (attempt_id, turn, at, final_transcript_ms, decision_ms, first_audio_ms, \
             first_frame_ms, first_mark_ms) \
             SELECT $1, COALESCE(MAX(turn), 0) + 1, $2, $3, $4, $5, $6, $7 FROM call_turns WHERE attempt_id = $1",
        )
        .bind(attempt_id.0)
        .bind(at)
        .bind(ms(timings.final_transcript_ms))
        .bind(ms(timings.decision_ms))
        .bind(ms(timings.first_audio_ms))
        .bind(ms(timings.first_frame_ms))
        .bind(ms(timings.first_mark_ms))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn turns(&self, attempt_id: AttemptId) -> Result<Vec<TurnTimings>, StoreError> {
        let rows = sqlx::query(
            "SELECT final_transcript_ms, decision_ms, first_audio_ms, first_frame_ms, first_mark_ms \
             FROM call_turns WHERE attempt_id = $1 ORDER BY turn",
        )
        .bind(attempt_id.0)
        .fetch_all(&self.pool)
        .await?;
        let ms = |row: &_, column: &str| -> Result<Option<u64>, StoreError> {
            let value: Option<i64> = sqlx::Row::try_get(row, column)?;
            Ok(value.map(|value| u64::try_from(value).unwrap_or(0)))
        };
        rows.iter()
            .map(|row| {
                Ok(TurnTimings {
                    final_transcript_ms: ms(row, "final_transcript_ms")?,
                    decision_ms: ms(row, "decision_ms")?,
                    first_audio_ms: ms(row, "first_audio_ms")?,
                    first_frame_ms: ms(row, "first_frame_ms")?,
                    first_mark_ms: ms(row, "first_mark_ms")?,
                })
            })
            .collect()
    }
}
