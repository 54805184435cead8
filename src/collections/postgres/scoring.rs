//! Scoring's part of the PostgreSQL store.

use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use sqlx::postgres::PgRow;
use sqlx::Row;

use super::PostgresStore;
use crate::collections::model::{Currency, DebtorId};
use crate::collections::StoreError;
use crate::scoring::store::{DebtHistory, DebtorScore, ScoreStore, StoredModel, DEBT_HISTORY_QUERY};

/// Scores sent per statement, as one array per column.
const SCORE_ROWS_PER_INSERT: usize = 50_000;

const SCORE_COLUMNS: &str = "debtor_id, model_version, scored_at, as_of, probability, points, expected_value_usd, \
     segment, strategy, top_reasons";

#[async_trait]
impl ScoreStore for PostgresStore {
    async fn debt_histories(
        &self,
        as_of: NaiveDate,
        window_days: u32,
        debtor: Option<&DebtorId>,
    ) -> Result<Vec<DebtHistory>, StoreError> {
        let midnight = as_of.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc();
        let window_end = as_of + Duration::days(i64::from(window_days));
        let rows = sqlx::query(DEBT_HISTORY_QUERY)
            .bind(as_of)
            .bind(midnight)
            .bind(window_end)
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
        .bind(model.trained_at)
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
            Ok(StoredModel {
                version: row.try_get("version")?,
                trained_at: row.try_get("trained_at")?,
                model: row.try_get("model")?,
                validation: row.try_get("validation")?,
            })
        })
        .transpose()
    }

    async fn save_scores(&self, scores: &[DebtorScore]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        insert_scores(&mut tx, scores, UPSERT_SCORES).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn replace_all_scores(&self, scores: &[DebtorScore]) -> Result<(), StoreError> {
        // TRUNCATE and the index rebuild lock the table until commit, so the dial queue waits
        // for the load instead of reading the old scores. Building the priority index once,
        // sorted, is cheaper than updating it for each of a million rows in random order.
        let mut tx = self.pool.begin().await?;
        sqlx::query("TRUNCATE debtor_scores").execute(&mut *tx).await?;
        sqlx::query(DROP_PRIORITY_INDEX).execute(&mut *tx).await?;
        copy_scores(&mut tx, scores).await?;
        sqlx::query(CREATE_PRIORITY_INDEX).execute(&mut *tx).await?;
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

/// The dial queue's index, as migration 0008 creates it.
const DROP_PRIORITY_INDEX: &str = "DROP INDEX debtor_scores_priority";
const CREATE_PRIORITY_INDEX: &str =
    "CREATE INDEX debtor_scores_priority ON debtor_scores (expected_value_usd DESC, debtor_id)";

/// The conflict clause that replaces a debtor's earlier score.
const UPSERT_SCORES: &str = "ON CONFLICT (debtor_id) DO UPDATE SET model_version = excluded.model_version,
     scored_at = excluded.scored_at, as_of = excluded.as_of, probability = excluded.probability,
     points = excluded.points, expected_value_usd = excluded.expected_value_usd,
     segment = excluded.segment, strategy = excluded.strategy, top_reasons = excluded.top_reasons";

/// Inserts scores, [`SCORE_ROWS_PER_INSERT`] per statement as one array per column, ending each
/// statement with `conflict` (empty, or [`UPSERT_SCORES`]).
async fn insert_scores(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    scores: &[DebtorScore],
    conflict: &str,
) -> Result<(), StoreError> {
    for chunk in scores.chunks(SCORE_ROWS_PER_INSERT) {
        let column = |get: fn(&DebtorScore) -> String| chunk.iter().map(get).collect::<Vec<String>>();
        let scored_at: Vec<DateTime<Utc>> = chunk.iter().map(|score| score.scored_at).collect();
        let as_of: Vec<NaiveDate> = chunk.iter().map(|score| score.as_of).collect();
        let probability: Vec<f64> = chunk.iter().map(|score| score.probability).collect();
        let points: Vec<i64> = chunk.iter().map(|score| score.points).collect();
        let value: Vec<f64> = chunk.iter().map(|score| score.expected_value_usd).collect();
        sqlx::query(&format!(
            "INSERT INTO debtor_scores ({SCORE_COLUMNS})
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::timestamptz[], $4::date[], $5::float8[],
                                  $6::int8[], $7::float8[], $8::text[], $9::text[], $10::text[])
             {conflict}"
        ))
        .bind(column(|score| score.debtor_id.0.clone()))
        .bind(column(|score| score.model_version.clone()))
        .bind(scored_at)
        .bind(as_of)
        .bind(probability)
        .bind(points)
        .bind(value)
        .bind(column(|score| score.segment.clone()))
        .bind(column(|score| score.strategy.clone()))
        .bind(column(|score| score.top_reasons.join(";")))
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Scores sent per `COPY` message.
const COPY_ROWS_PER_MESSAGE: usize = 20_000;

/// Loads scores with `COPY ... FROM STDIN` in CSV, PostgreSQL's bulk path, which loads a
/// million scores faster than `INSERT` statements do.
async fn copy_scores(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    scores: &[DebtorScore],
) -> Result<(), StoreError> {
    // An unquoted empty CSV field is NULL to COPY; a debtor with no costly reason has an empty
    // `top_reasons`, which must stay an empty string.
    let statement = format!(
        "COPY debtor_scores ({SCORE_COLUMNS}) FROM STDIN
         WITH (FORMAT csv, FORCE_NOT_NULL (debtor_id, model_version, segment, strategy, top_reasons))"
    );
    let mut copy = tx.copy_in_raw(&statement).await?;
    for chunk in scores.chunks(COPY_ROWS_PER_MESSAGE) {
        let mut writer = csv::Writer::from_writer(Vec::new());
        for score in chunk {
            writer
                .write_record([
                    score.debtor_id.0.as_str(),
                    &score.model_version,
                    &score.scored_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                    &score.as_of.to_string(),
                    &score.probability.to_string(),
                    &score.points.to_string(),
                    &score.expected_value_usd.to_string(),
                    &score.segment,
                    &score.strategy,
                    &score.top_reasons.join(";"),
                ])
                .map_err(csv_error)?;
        }
        let bytes = writer.into_inner().map_err(|error| csv_error(error.into_error().into()))?;
        copy.send(bytes).await?;
    }
    copy.finish().await?;
    Ok(())
}

fn csv_error(error: csv::Error) -> StoreError {
    StoreError::Corrupt(format!("writing scores as CSV for COPY failed: {error}"))
}

fn corrupt(column: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("column {column} contains '{value}', which is invalid"))
}

fn count(row: &PgRow, column: &str) -> Result<u32, StoreError> {
    let value: i64 = row.try_get(column)?;
    u32::try_from(value).map_err(|_| corrupt(column, &value.to_string()))
}

fn debt_history(row: &PgRow) -> Result<DebtHistory, StoreError> {
    let time_zone: String = row.try_get("time_zone")?;
    let currency: String = row.try_get("currency")?;
    Ok(DebtHistory {
        debtor_id: DebtorId(row.try_get("debtor_id")?),
        time_zone: time_zone.parse().map_err(|_| corrupt("time_zone", &time_zone))?,
        product: row.try_get("product")?,
        currency: currency.parse::<Currency>().map_err(|_| corrupt("currency", &currency))?,
        days_past_due: count(row, "days_past_due")?,
        balance_minor: row.try_get("balance_minor")?,
        right_party_contacts: count(row, "right_party_contacts")?,
        attempts: count(row, "attempts")?,
        last_right_party_contact: row.try_get("last_right_party_contact")?,
        payments: count(row, "payments")?,
        last_payment: row.try_get("last_payment")?,
        promises_kept: count(row, "kept")?,
        promises_broken: count(row, "broken")?,
        paid_in_window_minor: row.try_get("paid_in_window")?,
    })
}

fn debtor_score(row: &PgRow) -> Result<DebtorScore, StoreError> {
    let reasons: String = row.try_get("top_reasons")?;
    Ok(DebtorScore {
        debtor_id: DebtorId(row.try_get("debtor_id")?),
        model_version: row.try_get("model_version")?,
        scored_at: row.try_get("scored_at")?,
        as_of: row.try_get("as_of")?,
        probability: row.try_get("probability")?,
        points: row.try_get("points")?,
        expected_value_usd: row.try_get("expected_value_usd")?,
        segment: row.try_get("segment")?,
        strategy: row.try_get("strategy")?,
        top_reasons: reasons.split(';').filter(|reason| !reason.is_empty()).map(str::to_string).collect(),
    })
}
