//! The KPI queries on SQLite: binds instants and days as the store's text and decodes the rows.

use async_trait::async_trait;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

use super::decode::{date_text, time_text};
use super::SqliteStore;
use crate::collections::store::StoreError;
use crate::kpi::sql::Dialect;
use crate::kpi::store::{ColumnKind, KpiRow, KpiStatement, KpiStore, KpiValue, Param};

#[async_trait]
impl KpiStore for SqliteStore {
    async fn kpi_rows(&self, statement: &KpiStatement) -> Result<Vec<KpiRow>, StoreError> {
        let (sql, params) = statement.render(Dialect::Sqlite);
        let mut query = sqlx::query(&sql);
        for param in params {
            query = match param {
                Param::Instant(at) => query.bind(time_text(at)),
                Param::Day(day) => query.bind(date_text(day)),
                Param::Text(text) => query.bind(text),
                Param::Integer(value) => query.bind(value),
            };
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter().map(|row| decode_row(row, statement.columns())).collect()
    }
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
