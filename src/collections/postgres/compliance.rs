//! The compliance counts on PostgreSQL. The window and cap figures count the flags [`check`]
//! stores, from the hourly summaries (src/kpi/summary.rs) or, with a campaign or segment, in
//! one scan of the range. The opt-out figures come from one query with an index
//! lookup per opt-out.

mod check;

use async_trait::async_trait;
use sqlx::postgres::PgRow;
use sqlx::{Postgres, QueryBuilder, Row};

use super::kpi::bind;
use super::PostgresStore;
use crate::collections::store::StoreError;
use crate::kpi::compliance::{CheckCounts, CheckScope, ComplianceFilter, ComplianceStore, LedgerCounts};
use crate::kpi::summary::{self, Summary};
use crate::policy::ContactPolicy;

/// Voice opt-outs in `[$1, $2)` of debtors in country `$3`, with the count of later outbound
/// attempts of campaign `$4` and segment `$5` (a NULL filter matches all) and the microseconds
/// to the last of them.
const OPT_OUT_QUERY: &str = "
    SELECT COUNT(*) AS voice_opt_outs,
           COUNT(*) FILTER (WHERE later.attempts > 0) AS opt_outs_called_after,
           COALESCE(SUM(later.attempts), 0)::bigint AS attempts_after_opt_out,
           COALESCE(SUM(later.micros), 0)::bigint AS micros_total,
           COALESCE(MAX(later.micros), 0)::bigint AS micros_max
    FROM opt_outs AS opt_out
    JOIN debtors AS debtor ON debtor.id = opt_out.debtor_id
    CROSS JOIN LATERAL (
        SELECT COUNT(*) AS attempts,
               COALESCE((EXTRACT(EPOCH FROM MAX(attempt.started_at) - opt_out.at) * 1000000)::bigint, 0) AS micros
        FROM attempts AS attempt
        WHERE attempt.debtor_id = opt_out.debtor_id
            AND attempt.direction = 'outbound'
            AND attempt.started_at > opt_out.at
            AND ($4::text IS NULL OR attempt.campaign = $4)
            AND ($5::text IS NULL OR attempt.segment = $5)
    ) AS later
    WHERE opt_out.channel = 'voice' AND opt_out.at >= $1 AND opt_out.at < $2
        AND ($3::text IS NULL OR debtor.country = $3)";

#[async_trait]
impl ComplianceStore for PostgresStore {
    async fn compliance_counts(
        &self,
        policy: &ContactPolicy,
        filter: &ComplianceFilter,
    ) -> Result<LedgerCounts, StoreError> {
        self.check_compliance(policy, CheckScope::Unchecked).await?;
        let row = match summary::compliance_counts(filter) {
            Some((sql, params)) => {
                self.refresh_summary(Summary::AttemptHours).await?;
                bind(sqlx::query(&sql), params).fetch_one(&self.pool).await?
            }
            // Unnamed statements are planned with each call's range. A prepared statement would
            // switch to a generic plan after five calls, which guesses a narrow range and hashes
            // millions of rows.
            None => count_query(filter).build().persistent(false).fetch_one(&self.pool).await?,
        };
        let opt_outs = sqlx::query(OPT_OUT_QUERY)
            .bind(filter.from)
            .bind(filter.to)
            .bind(filter.country_code())
            .bind(filter.campaign.clone())
            .bind(filter.segment.clone())
            .fetch_one(&self.pool)
            .await?;
        Ok(LedgerCounts {
            outbound_attempts: count(&row, "outbound_attempts")?,
            outside_window: count(&row, "outside_window")?,
            cap_breaches: count(&row, "cap_breaches")?,
            debts_attempted: count(&row, "debts_attempted")?,
            voice_opt_outs: count(&opt_outs, "voice_opt_outs")?,
            opt_outs_called_after: count(&opt_outs, "opt_outs_called_after")?,
            attempts_after_opt_out: count(&opt_outs, "attempts_after_opt_out")?,
            micros_to_last_attempt_total: opt_outs.try_get("micros_total")?,
            micros_to_last_attempt_max: opt_outs.try_get("micros_max")?,
        })
    }

    async fn check_compliance(&self, policy: &ContactPolicy, scope: CheckScope) -> Result<CheckCounts, StoreError> {
        check::check(self, policy, scope).await
    }
}

fn count(row: &PgRow, column: &str) -> Result<u64, StoreError> {
    let value: i64 = row.try_get(column)?;
    u64::try_from(value).map_err(|_| StoreError::Corrupt(format!("{column} is negative: {value}")))
}

/// Builds the query that counts the flags of the outbound attempts in the filter's range,
/// joining the debtors only for a country filter.
fn count_query(filter: &ComplianceFilter) -> QueryBuilder<'static, Postgres> {
    let mut query = QueryBuilder::new(
        "SELECT COALESCE(SUM(per_debt.attempts), 0)::bigint AS outbound_attempts,
                COALESCE(SUM(per_debt.outside_window), 0)::bigint AS outside_window,
                COALESCE(SUM(per_debt.over_cap), 0)::bigint AS cap_breaches,
                COUNT(*) AS debts_attempted
         FROM (
             SELECT attempt.debt_id, COUNT(*) AS attempts,
                    COUNT(*) FILTER (WHERE attempt.outside_window) AS outside_window,
                    COUNT(*) FILTER (WHERE attempt.over_cap) AS over_cap
             FROM attempts AS attempt",
    );
    if let Some(country) = filter.country_code() {
        query.push(" JOIN debtors AS debtor ON debtor.id = attempt.debtor_id AND debtor.country = ");
        query.push_bind(country);
    }
    query.push(" WHERE attempt.direction = 'outbound' AND attempt.started_at >= ");
    query.push_bind(filter.from);
    query.push(" AND attempt.started_at < ");
    query.push_bind(filter.to);
    if let Some(campaign) = &filter.campaign {
        query.push(" AND attempt.campaign = ");
        query.push_bind(campaign.clone());
    }
    if let Some(segment) = &filter.segment {
        query.push(" AND attempt.segment = ");
        query.push_bind(segment.clone());
    }
    query.push(" GROUP BY attempt.debt_id) AS per_debt");
    query
}
