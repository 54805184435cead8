//! The KPI queries on SQLite: binds instants and days as the store's text and decodes the rows.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDateTime, Utc};
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::Row;
use sqlx::Sqlite;

use super::decode::{date_text, time_text};
use super::SqliteStore;
use crate::collections::store::StoreError;
use crate::kpi::sql::Dialect;
use crate::kpi::store::{ColumnKind, KpiRow, KpiStatement, KpiStore, KpiValue, Param};
use crate::kpi::summary::{attempt_hours_refresh, hour_ranges, portfolio_refresh, Summary};

#[async_trait]
impl KpiStore for SqliteStore {
    async fn kpi_rows(&self, statement: &KpiStatement) -> Result<Vec<KpiRow>, StoreError> {
        if let Some(summary) = statement.summary() {
            self.refresh_summary(summary).await?;
        }
        let (sql, params) = statement.render(Dialect::Sqlite);
        let rows = bind(sqlx::query(&sql), params).fetch_all(&self.pool).await?;
        rows.iter().map(|row| decode_row(row, statement.columns())).collect()
    }
}

impl SqliteStore {
    /// Brings `summary` up to date with what its triggers marked, holding the write lock.
    pub async fn refresh_summary(&self, summary: Summary) -> Result<(), StoreError> {
        match summary {
            Summary::AttemptHours => self.refresh_attempt_hours().await,
            Summary::Portfolio => self.refresh_portfolio().await,
        }
    }

    async fn refresh_attempt_hours(&self) -> Result<(), StoreError> {
        let refresh = attempt_hours_refresh(Dialect::Sqlite);
        let Some(mut transaction) = self.begin_refresh(refresh.any_marked).await? else {
            return Ok(());
        };
        let marked: Vec<String> = sqlx::query_scalar(refresh.take_marks).fetch_all(&mut *transaction).await?;
        if let Some(clear) = refresh.clear_marks {
            sqlx::query(clear).execute(&mut *transaction).await?;
        }
        let hours = marked.iter().map(|text| parse_hour(text)).collect::<Result<Vec<_>, _>>()?;
        for (start, end) in hour_ranges(&hours) {
            let (start, end) = (hour_text(start), hour_text(end));
            for statement in &refresh.range_statements {
                sqlx::query(statement).bind(&start).bind(&end).execute(&mut *transaction).await?;
            }
        }
        transaction.commit().await?;
        Ok(())
    }

    async fn refresh_portfolio(&self) -> Result<(), StoreError> {
        let refresh = portfolio_refresh(Dialect::Sqlite);
        let Some(mut transaction) = self.begin_refresh(refresh.any_marked).await? else {
            return Ok(());
        };
        let marked: i64 = sqlx::query_scalar(&refresh.take_marks).fetch_one(&mut *transaction).await?;
        if marked > 0 {
            for statement in &refresh.rebuild {
                sqlx::query(statement).execute(&mut *transaction).await?;
            }
        }
        transaction.commit().await?;
        Ok(())
    }

    /// Begins a refresh's write transaction, or returns `None` when `any_marked` finds nothing
    /// to refresh. The check runs first, so a report on an unchanged store takes no write lock.
    async fn begin_refresh(&self, any_marked: &str) -> Result<Option<sqlx::Transaction<'static, Sqlite>>, StoreError> {
        let marked: bool = sqlx::query_scalar(any_marked).fetch_one(&self.pool).await?;
        if !marked {
            return Ok(None);
        }
        Ok(Some(self.begin_write().await?))
    }
}

/// Binds `params` to `query` as the store writes instants, hours and days.
pub(super) fn bind<'q>(
    mut query: sqlx::query::Query<'q, Sqlite, SqliteArguments<'q>>,
    params: Vec<Param>,
) -> sqlx::query::Query<'q, Sqlite, SqliteArguments<'q>> {
    for param in params {
        query = match param {
            Param::Instant(at) => query.bind(time_text(at)),
            Param::Hour(at) => query.bind(hour_text(at)),
            Param::Day(day) => query.bind(date_text(day)),
            Param::Text(text) => query.bind(text),
            Param::Integer(value) => query.bind(value),
        };
    }
    query
}

/// Reads a marked hour, `2026-12-04T10`.
fn parse_hour(text: &str) -> Result<DateTime<Utc>, StoreError> {
    NaiveDateTime::parse_from_str(&format!("{text}:00:00"), "%Y-%m-%dT%H:%M:%S")
        .map(|hour| hour.and_utc())
        .map_err(|_| StoreError::Corrupt(format!("marked hour '{text}' is not YYYY-MM-DDTHH")))
}

/// Writes the UTC hour of an instant as the attempt summary stores it, `2026-12-04T10`.
fn hour_text(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H").to_string()
}

fn decode_row(row: &SqliteRow, columns: &[ColumnKind]) -> Result<KpiRow, StoreError> {
    let mut values = Vec::with_capacity(columns.len());
    for (index, kind) in columns.iter().enumerate() {
        let value = match kind {
            ColumnKind::Integer => row.try_get::<Option<i64>, _>(index)?.map_or(KpiValue::Null, KpiValue::Integer),
            ColumnKind::Text => row.try_get::<Option<String>, _>(index)?.map_or(KpiValue::Null, KpiValue::Text),
        };
        values.push(value);
    }
    Ok(KpiRow(values))
}
