//! Unidentified inbound calls in PostgreSQL.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::Row;

use super::{decode, PostgresStore, ACCOUNT_QUERY};
use crate::collections::inbound::{
    single_match, InboundCall, InboundCallId, InboundCallOutcome, InboundStore, NewInboundCall,
};
use crate::collections::model::{Account, AttemptId, CallSid, Disposition, TranscriptLine};
use crate::collections::store::{NewAttempt, StoreError};

const INBOUND_CALL_COLUMNS: &str =
    "id, call_sid, phone, started_at, attempt_id, ended_at, disposition, recording_path, cost_micros";

fn unidentified(id: InboundCallId) -> StoreError {
    StoreError::NotFound { what: "unidentified inbound call", id: id.to_string() }
}

#[async_trait]
impl InboundStore for PostgresStore {
    async fn account_by_reference_digits(&self, digits: &str) -> Result<Option<Account>, StoreError> {
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Ok(None);
        }
        // The digits hold no LIKE wildcard, so the pattern matches references ending in them.
        let sql = format!("{ACCOUNT_QUERY} WHERE debt.account_ref LIKE '%' || $1 ORDER BY debt.account_ref");
        let rows = sqlx::query(&sql).bind(digits).fetch_all(&self.pool).await?;
        let candidates = rows.iter().map(decode::account).collect::<Result<Vec<_>, _>>()?;
        Ok(single_match(candidates, digits))
    }

    async fn create_inbound_call(&self, call: &NewInboundCall) -> Result<InboundCallId, StoreError> {
        // The no-op update makes RETURNING give the existing row's id for a repeated call sid.
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO inbound_calls (call_sid, phone, started_at) VALUES ($1, $2, $3)
             ON CONFLICT (call_sid) DO UPDATE SET call_sid = excluded.call_sid
             RETURNING id",
        )
        .bind(&call.call_sid.0)
        .bind(&call.phone)
        .bind(call.started_at)
        .fetch_one(&self.pool)
        .await?;
        Ok(InboundCallId(id))
    }

    async fn inbound_call(&self, id: InboundCallId) -> Result<Option<InboundCall>, StoreError> {
        let sql = format!("SELECT {INBOUND_CALL_COLUMNS} FROM inbound_calls WHERE id = $1");
        let row = sqlx::query(&sql).bind(id.0).fetch_optional(&self.pool).await?;
        row.as_ref().map(inbound_call).transpose()
    }

    async fn append_inbound_transcript(&self, id: InboundCallId, line: &TranscriptLine) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;

        // Locking the call's row makes concurrent appends take turns, so no two lines get the
        // same number (as for attempts).
        let locked = sqlx::query("SELECT 1 FROM inbound_calls WHERE id = $1 FOR UPDATE")
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await?;
        if locked.is_none() {
            return Err(StoreError::NotFound { what: "inbound call", id: id.to_string() });
        }

        sqlx::query(
            "INSERT INTO inbound_call_lines (inbound_call_id, seq, speaker, text, at)
             SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3, $4 FROM inbound_call_lines WHERE inbound_call_id = $1",
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

    async fn inbound_transcript(&self, id: InboundCallId) -> Result<Vec<TranscriptLine>, StoreError> {
        let rows =
            sqlx::query("SELECT speaker, text, at FROM inbound_call_lines WHERE inbound_call_id = $1 ORDER BY seq")
                .bind(id.0)
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(decode::transcript_line).collect()
    }

    async fn identify_inbound_call(&self, id: InboundCallId, attempt: &NewAttempt) -> Result<AttemptId, StoreError> {
        let mut tx = self.pool.begin().await?;
        // The lock keeps a second identification or an outcome from racing this one.
        let call_sid: Option<String> = sqlx::query_scalar(
            "SELECT call_sid FROM inbound_calls WHERE id = $1 AND attempt_id IS NULL AND ended_at IS NULL
             FOR UPDATE",
        )
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await?;
        let call_sid = call_sid.ok_or_else(|| unidentified(id))?;

        let attempt_id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO attempts (debt_id, debtor_id, phone, direction, started_at, call_sid)
             SELECT id, debtor_id, $2, $3, $4, $5 FROM debts WHERE id = $1
             RETURNING id",
        )
        .bind(attempt.debt_id.0)
        .bind(&attempt.phone)
        .bind(attempt.direction.as_str())
        .bind(attempt.started_at)
        .bind(&call_sid)
        .fetch_optional(&mut *tx)
        .await?;
        let attempt_id =
            attempt_id.ok_or_else(|| StoreError::NotFound { what: "debt", id: attempt.debt_id.0.to_string() })?;

        sqlx::query(
            "INSERT INTO transcript_lines (attempt_id, seq, speaker, text, at)
             SELECT $2, seq, speaker, text, at FROM inbound_call_lines WHERE inbound_call_id = $1",
        )
        .bind(id.0)
        .bind(attempt_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE inbound_calls SET attempt_id = $2 WHERE id = $1")
            .bind(id.0)
            .bind(attempt_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(AttemptId(attempt_id))
    }

    async fn finish_inbound_call(&self, id: InboundCallId, outcome: &InboundCallOutcome) -> Result<(), StoreError> {
        let cost = i64::try_from(outcome.cost_micros)
            .map_err(|_| StoreError::Corrupt(format!("cost of inbound call {id} is out of range")))?;
        let result = sqlx::query(
            "UPDATE inbound_calls SET disposition = $2, ended_at = $3, recording_path = $4, cost_micros = $5
             WHERE id = $1 AND attempt_id IS NULL AND ended_at IS NULL",
        )
        .bind(id.0)
        .bind(outcome.disposition.as_str())
        .bind(outcome.ended_at)
        .bind(&outcome.recording_path)
        .bind(cost)
        .execute(&self.pool)
        .await?;
        if result.rows_affected() == 0 {
            return Err(unidentified(id));
        }
        Ok(())
    }
}

fn inbound_call(row: &PgRow) -> Result<InboundCall, StoreError> {
    let disposition: Option<String> = row.try_get("disposition")?;
    let cost_micros: i64 = row.try_get("cost_micros")?;
    Ok(InboundCall {
        id: InboundCallId(row.try_get("id")?),
        call_sid: CallSid(row.try_get("call_sid")?),
        phone: row.try_get("phone")?,
        started_at: row.try_get("started_at")?,
        attempt_id: row.try_get::<Option<i64>, _>("attempt_id")?.map(AttemptId),
        ended_at: row.try_get::<Option<DateTime<Utc>>, _>("ended_at")?,
        disposition: disposition
            .map(|text| {
                let invalid = format!("column disposition contains '{text}', which is invalid");
                text.parse::<Disposition>().map_err(|_| StoreError::Corrupt(invalid))
            })
            .transpose()?,
        recording_path: row.try_get("recording_path")?,
        cost_micros: u64::try_from(cost_micros).map_err(|_| {
            StoreError::Corrupt(format!("column cost_micros contains '{cost_micros}', which is invalid"))
        })?,
    })
}
