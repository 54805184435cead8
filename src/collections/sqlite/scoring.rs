//! Scoring's part of the SQLite store.

use async_trait::async_trait;
use chrono::{Duration, NaiveDate};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row};

use super::decode::{date, date_text, time, time_text};
use super::SqliteStore;
use crate::collections::model::{Currency, DebtorId};
use crate::collections::StoreError;
use crate::scoring::store::{DebtHistory, DebtorScore, ScoreStore, StoredModel, DEBT_HISTORY_QUERY};

/// Rows per INSERT: 10 columns each stays under SQLite's 32,766 bound parameters.
const SCORE_ROWS_PER_INSERT: usize = 3_000;

const SCORE_COLUMNS: &str = "debtor_id, model_version, scored_at, as_of, probability, points, expected_value_usd, \
     segment, strategy, top_reasons";

#[async_trait]
impl ScoreStore for SqliteStore {
    async fn debt_histories(
        &self,
        as_of: NaiveDate,
        window_days: u32,
        debtor: Option<&DebtorId>,
    ) -> Result<Vec<DebtHistory>, StoreError> {
        let midnight = as_of.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc();
        let window_end = as_of + Duration::days(i64::from(window_days));
        let rows = sqlx::query(DEBT_HISTORY_QUERY)
            .bind(date_text(as_of))
            .bind(time_text(midnight))
            .bind(date_text(window_end))
            .bind(debtor.map_or("", |id| id.0.as_str()))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(debt_history).collect()
    }

    async fn save_model(&self, model: &StoredModel) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO scoring_models (version, trained_at, model, validation) VALUES ($1, $2, $3, $4)
             ON CONFLICT (version) DO UPDATE SET trained_at = excluded.trained_at, model = excluded.model,
                 validation = excluded.validation",
        )
        .bind(&model.version)
        .bind(time_text(model.trained_at))
        .bind(&model.model)
        .bind(&model.validation)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn latest_model(&self) -> Result<Option<StoredModel>, StoreError> {
        let row = sqlx::query(
            "SELECT version, trained_at, model, validation FROM scoring_models ORDER BY trained_at DESC, version DESC
             LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            let trained_at: String = row.try_get("trained_at")?;
            Ok(StoredModel {
                version: row.try_get("version")?,
                trained_at: time("trained_at", &trained_at)?,
                model: row.try_get("model")?,
                validation: row.try_get("validation")?,
            })
        })
        .transpose()
    }

    async fn save_scores(&self, scores: &[DebtorScore]) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        insert_scores(&mut tx, scores, "INSERT OR REPLACE").await?;
        tx.commit().await?;
        Ok(())
    }

    async fn replace_all_scores(&self, scores: &[DebtorScore]) -> Result<(), StoreError> {
        // Building the priority index once, sorted, is cheaper than updating it for each of a
        // million rows in random order.
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM debtor_scores").execute(&mut *tx).await?;
        sqlx::query("DROP INDEX debtor_scores_priority").execute(&mut *tx).await?;
        insert_scores(&mut tx, scores, "INSERT").await?;
        sqlx::query("CREATE INDEX debtor_scores_priority ON debtor_scores (expected_value_usd DESC, debtor_id)")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn debtor_score(&self, debtor_id: &DebtorId) -> Result<Option<DebtorScore>, StoreError> {
        let sql = format!("SELECT {SCORE_COLUMNS} FROM debtor_scores WHERE debtor_id = $1");
        let row = sqlx::query(&sql).bind(&debtor_id.0).fetch_optional(&self.pool).await?;
        row.as_ref().map(debtor_score).transpose()
    }

    async fn dial_queue(&self, limit: u32) -> Result<Vec<DebtorScore>, StoreError> {
        let sql = format!(
            "SELECT {SCORE_COLUMNS} FROM debtor_scores ORDER BY expected_value_usd DESC, debtor_id LIMIT $1"
        );
        let rows = sqlx::query(&sql).bind(i64::from(limit)).fetch_all(&self.pool).await?;
        rows.iter().map(debtor_score).collect()
    }
}

/// Inserts scores in statements of [`SCORE_ROWS_PER_INSERT`] rows; `verb` is `INSERT` or
/// `INSERT OR REPLACE`.
async fn insert_scores(
    tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
    scores: &[DebtorScore],
    verb: &str,
) -> Result<(), StoreError> {
    for chunk in scores.chunks(SCORE_ROWS_PER_INSERT) {
        let mut insert = QueryBuilder::new(format!("{verb} INTO debtor_scores ({SCORE_COLUMNS}) "));
        insert.push_values(chunk, |mut row, score| {
            row.push_bind(&score.debtor_id.0)
                .push_bind(&score.model_version)
                .push_bind(time_text(score.scored_at))
                .push_bind(date_text(score.as_of))
                .push_bind(score.probability)
                .push_bind(score.points)
                .push_bind(score.expected_value_usd)
                .push_bind(&score.segment)
                .push_bind(&score.strategy)
                .push_bind(score.top_reasons.join(";"));
        });
        insert.build().execute(&mut **tx).await?;
    }
    Ok(())
}

fn corrupt(column: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("column {column} contains '{value}', which is invalid"))
}

fn count(row: &SqliteRow, column: &str) -> Result<u32, StoreError> {
    let value: i64 = row.try_get(column)?;
    u32::try_from(value).map_err(|_| corrupt(column, &value.to_string()))
}

fn debt_history(row: &SqliteRow) -> Result<DebtHistory, StoreError> {
    let time_zone: String = row.try_get("time_zone")?;
    let currency: String = row.try_get("currency")?;
    let last_contact: Option<String> = row.try_get("last_right_party_contact")?;
    let last_payment: Option<String> = row.try_get("last_payment")?;
    Ok(DebtHistory {
        debtor_id: DebtorId(row.try_get("debtor_id")?),
        time_zone: time_zone.parse().map_err(|_| corrupt("time_zone", &time_zone))?,
        product: row.try_get("product")?,
        currency: currency.parse::<Currency>().map_err(|_| corrupt("currency", &currency))?,
        days_past_due: count(row, "days_past_due")?,
        balance_minor: row.try_get("balance_minor")?,
        right_party_contacts: count(row, "right_party_contacts")?,
        attempts: count(row, "attempts")?,
        last_right_party_contact: last_contact.map(|text| time("started_at", &text)).transpose()?,
        payments: count(row, "payments")?,
        last_payment: last_payment.map(|text| date("paid_on", &text)).transpose()?,
        promises_kept: count(row, "kept")?,
        promises_broken: count(row, "broken")?,
        paid_in_window_minor: row.try_get("paid_in_window")?,
    })
}

fn debtor_score(row: &SqliteRow) -> Result<DebtorScore, StoreError> {
    let scored_at: String = row.try_get("scored_at")?;
    let as_of: String = row.try_get("as_of")?;
    let reasons: String = row.try_get("top_reasons")?;
    Ok(DebtorScore {
        debtor_id: DebtorId(row.try_get("debtor_id")?),
        model_version: row.try_get("model_version")?,
        scored_at: time("scored_at", &scored_at)?,
        as_of: date("as_of", &as_of)?,
        probability: row.try_get("probability")?,
        points: row.try_get("points")?,
        expected_value_usd: row.try_get("expected_value_usd")?,
        segment: row.try_get("segment")?,
        strategy: row.try_get("strategy")?,
        top_reasons: reasons.split(';').filter(|reason| !reason.is_empty()).map(str::to_string).collect(),
    })
}
