//! The compliance counts on SQLite: the ledger rows streamed in order through the Rust tally,
//! so memory stays bounded by the attempts of one debt.

use async_trait::async_trait;
use futures_util::TryStreamExt;
use sqlx::Row;

use super::decode::{time, time_text};
use super::SqliteStore;
use crate::collections::store::StoreError;
use crate::kpi::compliance::tally::{combine, AttemptTally, LedgerAttempt, OptOutTally};
use crate::kpi::compliance::{ComplianceFilter, ComplianceStore, LedgerCounts};
use crate::policy::ContactPolicy;

/// Outbound attempts in `[$1, $2)` with their debtor's place, by debt then start time.
const LEDGER_QUERY: &str = "
    SELECT attempt.debt_id, attempt.started_at, attempt.campaign, attempt.segment,
           debtor.country, debtor.region, debtor.time_zone
    FROM attempts AS attempt
    JOIN debtors AS debtor ON debtor.id = attempt.debtor_id
    WHERE attempt.direction = 'outbound' AND attempt.started_at >= $1 AND attempt.started_at < $2
    ORDER BY attempt.debt_id, attempt.started_at";

/// Voice opt-outs in `[$1, $2)` of debtors in country `$3`, each with every later outbound
/// attempt of campaign `$4` and segment `$5` (a NULL filter matches all), or one row without an
/// attempt when there is none.
const OPT_OUT_QUERY: &str = "
    SELECT opt_out.debtor_id, opt_out.at, attempt.started_at
    FROM opt_outs AS opt_out
    JOIN debtors AS debtor ON debtor.id = opt_out.debtor_id
    LEFT JOIN attempts AS attempt
        ON attempt.debtor_id = opt_out.debtor_id
        AND attempt.direction = 'outbound'
        AND attempt.started_at > opt_out.at
        AND ($4 IS NULL OR attempt.campaign = $4)
        AND ($5 IS NULL OR attempt.segment = $5)
    WHERE opt_out.channel = 'voice' AND opt_out.at >= $1 AND opt_out.at < $2
        AND ($3 IS NULL OR debtor.country = $3)
    ORDER BY opt_out.debtor_id, opt_out.at";

#[async_trait]
impl ComplianceStore for SqliteStore {
    async fn compliance_counts(
        &self,
        policy: &ContactPolicy,
        filter: &ComplianceFilter,
    ) -> Result<LedgerCounts, StoreError> {
        let attempts = self.attempt_counts(policy, filter).await?;
        let opt_outs = self.opt_out_counts(filter).await?;
        Ok(combine(attempts, opt_outs))
    }
}

impl SqliteStore {
    async fn attempt_counts(
        &self,
        policy: &ContactPolicy,
        filter: &ComplianceFilter,
    ) -> Result<LedgerCounts, StoreError> {
        let lookback_from = filter.from - policy.longest_cap_period();
        let mut rows =
            sqlx::query(LEDGER_QUERY).bind(time_text(lookback_from)).bind(time_text(filter.to)).fetch(&self.pool);
        let mut tally = AttemptTally::new(policy, filter);
        while let Some(row) = rows.try_next().await? {
            let started_at: String = row.try_get("started_at")?;
            let time_zone: String = row.try_get("time_zone")?;
            tally.push(LedgerAttempt {
                debt_id: row.try_get("debt_id")?,
                started_at: time("started_at", &started_at)?,
                country: row.try_get("country")?,
                region: row.try_get("region")?,
                time_zone: time_zone.parse().map_err(|_| {
                    StoreError::Corrupt(format!("column time_zone contains '{time_zone}', which is invalid"))
                })?,
                campaign: row.try_get("campaign")?,
                segment: row.try_get("segment")?,
            })?;
        }
        Ok(tally.finish())
    }

    async fn opt_out_counts(&self, filter: &ComplianceFilter) -> Result<LedgerCounts, StoreError> {
        let mut rows = sqlx::query(OPT_OUT_QUERY)
            .bind(time_text(filter.from))
            .bind(time_text(filter.to))
            .bind(filter.country_code())
            .bind(filter.campaign.clone())
            .bind(filter.segment.clone())
            .fetch(&self.pool);
        let mut tally = OptOutTally::new();
        while let Some(row) = rows.try_next().await? {
            let debtor_id: String = row.try_get("debtor_id")?;
            let opted_out_at: String = row.try_get("at")?;
            let later: Option<String> = row.try_get("started_at")?;
            let later = later.map(|text| time("started_at", &text)).transpose()?;
            tally.push(&debtor_id, time("at", &opted_out_at)?, later);
        }
        Ok(tally.finish())
    }
}
