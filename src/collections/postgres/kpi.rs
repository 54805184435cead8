//! The KPI queries on PostgreSQL: binds instants as TIMESTAMPTZ and days as DATE, and decodes
//! the rows.

use async_trait::async_trait;
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::{Postgres, Row};

use super::PostgresStore;
use crate::collections::store::StoreError;
use crate::kpi::sql::Dialect;
use crate::kpi::store::{ColumnKind, KpiRow, KpiStatement, KpiStore, KpiValue, Param};

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
        let (sql, params) = statement.render(Dialect::Postgres);
        let mut transaction = self.pool.begin().await?;
        apply_settings(&mut transaction, statement).await?;
        let rows = bind(sqlx::query(&sql), params).fetch_all(&mut *transaction).await?;
        transaction.commit().await?;
        rows.iter().map(|row| decode_row(row, statement.columns())).collect()
    }
}

impl PostgresStore {
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

fn bind(
    mut query: sqlx::query::Query<'_, Postgres, PgArguments>,
    params: Vec<Param>,
) -> sqlx::query::Query<'_, Postgres, PgArguments> {
    for param in params {
        query = match param {
            Param::Instant(at) => query.bind(at),
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
