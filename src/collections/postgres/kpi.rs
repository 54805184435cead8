//! The KPI queries on PostgreSQL: binds instants as TIMESTAMPTZ and days as DATE, and decodes
//! the rows.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::{Postgres, Row};

use super::PostgresStore;
use crate::collections::store::StoreError;
use crate::kpi::sql::Dialect;
use crate::kpi::store::{ColumnKind, KpiRow, KpiStatement, KpiStore, KpiValue, Param};
use crate::kpi::summary::{attempt_hours_refresh, hour_ranges, portfolio_refresh, Summary};

/// Memory for each sort and hash of a KPI query, for its transaction only. The default 4 MB
/// makes the per-debt aggregations over a million debts spill to disk.
const KPI_WORK_MEM: &str = "SET LOCAL work_mem = '64MB'";

/// The setting that turns off parallel workers for the snapshot figures' statement, for its
/// transaction only. Its parallel plan loses what the parallel scan saves in merging a million
/// per-debt groups in the leader. Its workers also take the cores from the attempts statement,
/// which the report runs at the same time. Over `cobranza bench kpi`'s seeded store the serial
/// plan ran about 10% faster alone (see docs/benchmarks.md).
const SERIAL_PLAN: &str = "SET LOCAL max_parallel_workers_per_gather = 0";

#[async_trait]
impl KpiStore for PostgresStore {
    async fn kpi_rows(&self, statement: &KpiStatement) -> Result<Vec<KpiRow>, StoreError> {
        if let Some(summary) = statement.summary() {
            self.refresh_summary(summary).await?;
        }
        let (sql, params) = statement.render(Dialect::Postgres);
        let mut transaction = self.pool.begin().await?;
        apply_settings(&mut transaction, statement).await?;
        let rows = bind(sqlx::query(&sql), params).fetch_all(&mut *transaction).await?;
        transaction.commit().await?;
        rows.iter().map(|row| decode_row(row, statement.columns())).collect()
    }
}

impl PostgresStore {
    /// Brings `summary` up to date with what its triggers marked. One refresh of each summary
    /// runs at a time across every node, under an advisory lock.
    pub async fn refresh_summary(&self, summary: Summary) -> Result<(), StoreError> {
        match summary {
            Summary::AttemptHours => self.refresh_attempt_hours().await,
            Summary::Portfolio => self.refresh_portfolio().await,
        }
    }

    async fn refresh_attempt_hours(&self) -> Result<(), StoreError> {
        let refresh = attempt_hours_refresh(Dialect::Postgres);
        let Some(mut transaction) = self.begin_refresh(refresh.any_marked, refresh.lock_key).await? else {
            return Ok(());
        };
        // Compiling a range's statement took longer than running it.
        sqlx::query("SET LOCAL jit = off").execute(&mut *transaction).await?;
        let hours: Vec<DateTime<Utc>> = sqlx::query_scalar(refresh.take_marks).fetch_all(&mut *transaction).await?;
        for (start, end) in hour_ranges(&hours) {
            for statement in &refresh.range_statements {
                sqlx::query(statement).bind(start).bind(end).execute(&mut *transaction).await?;
            }
        }
        transaction.commit().await?;
        Ok(())
    }

    async fn refresh_portfolio(&self) -> Result<(), StoreError> {
        let refresh = portfolio_refresh(Dialect::Postgres);
        let Some(mut transaction) = self.begin_refresh(refresh.any_marked, refresh.lock_key).await? else {
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

    /// Begins a refresh's transaction under the summary's advisory lock, or returns `None` when
    /// `any_marked` finds nothing to refresh.
    async fn begin_refresh(
        &self,
        any_marked: &str,
        lock_key: i64,
    ) -> Result<Option<sqlx::Transaction<'static, Postgres>>, StoreError> {
        let marked: bool = sqlx::query_scalar(any_marked).fetch_one(&self.pool).await?;
        if !marked {
            return Ok(None);
        }
        let mut transaction = self.pool.begin().await?;
        sqlx::query(KPI_WORK_MEM).execute(&mut *transaction).await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(lock_key).execute(&mut *transaction).await?;
        Ok(Some(transaction))
    }

    /// Runs `statement` under `EXPLAIN (ANALYZE, BUFFERS)` and returns the plan's lines, for the
    /// KPI benchmark.
    pub async fn explain_kpi(&self, statement: &KpiStatement) -> Result<String, StoreError> {
        let (sql, params) = statement.render(Dialect::Postgres);
        let explain = format!("EXPLAIN (ANALYZE, BUFFERS) {sql}");
        let mut transaction = self.pool.begin().await?;
        apply_settings(&mut transaction, statement).await?;
        let rows = bind(sqlx::query(&explain), params).fetch_all(&mut *transaction).await?;
        transaction.commit().await?;
        let lines: Vec<String> = rows.iter().map(|row| row.try_get(0)).collect::<Result<_, _>>()?;
        Ok(lines.join("\n"))
    }
}

async fn apply_settings(
    transaction: &mut sqlx::Transaction<'_, Postgres>,
    statement: &KpiStatement,
) -> Result<(), StoreError> {
    sqlx::query(KPI_WORK_MEM).execute(&mut **transaction).await?;
    if statement.groups_per_debt() {
        sqlx::query(SERIAL_PLAN).execute(&mut **transaction).await?;
    }
    Ok(())
}

pub(super) fn bind(
    mut query: sqlx::query::Query<'_, Postgres, PgArguments>,
    params: Vec<Param>,
) -> sqlx::query::Query<'_, Postgres, PgArguments> {
    for param in params {
        query = match param {
            Param::Instant(at) | Param::Hour(at) => query.bind(at),
            Param::Day(day) => query.bind(day),
            Param::Text(text) => query.bind(text),
            Param::Integer(value) => query.bind(value),
        };
    }
    query
}

fn decode_row(row: &PgRow, columns: &[ColumnKind]) -> Result<KpiRow, StoreError> {
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
