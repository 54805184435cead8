//! The compliance check and counts on SQLite. The check reads the ledger a batch of debts at a
//! time through the Rust [`AttemptChecker`], so memory stays bounded by one batch. The counts
//! read the stored flags, and the opt-out figures stream through the Rust tally.

use async_trait::async_trait;
use futures_util::TryStreamExt;
use sqlx::{QueryBuilder, Row, Sqlite, Transaction};
use tracing::info;

use super::decode::{time, time_text};
use super::kpi::bind;
use super::SqliteStore;
use crate::collections::store::StoreError;
use crate::kpi::compliance::tally::{combine, AttemptChecker, LedgerAttempt, OptOutTally};
use crate::kpi::compliance::{CheckCounts, CheckScope, ComplianceFilter, ComplianceStore, LedgerCounts};
use crate::kpi::summary::{self, Summary};
use crate::policy::ContactPolicy;

/// Debts per check transaction.
const BATCH_DEBTS: i64 = 500;

/// The next `$2` debts after debt `$1` with an unchecked outbound attempt, read in order from
/// the partial index `attempts_unchecked`.
const UNCHECKED_DEBTS_QUERY: &str = "
    SELECT DISTINCT debt_id FROM attempts
    WHERE direction = 'outbound' AND (outside_window IS NULL OR over_cap IS NULL) AND debt_id > $1
    ORDER BY debt_id
    LIMIT $2";

/// The next `$2` debts after debt `$1`, with outbound attempts or not.
const ALL_DEBTS_QUERY: &str = "SELECT id FROM debts WHERE id > $1 ORDER BY id LIMIT $2";

/// Outbound attempts in `[$1, $2)` of debtors in country `$3`, campaign `$4` and segment `$5`
/// (a NULL filter matches all), with how many the check flagged.
const COUNT_QUERY: &str = "
    SELECT COUNT(*) AS outbound_attempts,
           COUNT(*) FILTER (WHERE attempt.outside_window) AS outside_window,
           COUNT(*) FILTER (WHERE attempt.over_cap) AS cap_breaches,
           COUNT(DISTINCT attempt.debt_id) AS debts_attempted
    FROM attempts AS attempt
    JOIN debtors AS debtor ON debtor.id = attempt.debtor_id
    WHERE attempt.direction = 'outbound' AND attempt.started_at >= $1 AND attempt.started_at < $2
        AND ($3 IS NULL OR debtor.country = $3)
        AND ($4 IS NULL OR attempt.campaign = $4)
        AND ($5 IS NULL OR attempt.segment = $5)";

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
        self.check_compliance(policy, CheckScope::Unchecked).await?;
        let attempts = self.attempt_counts(filter).await?;
        let opt_outs = self.opt_out_counts(filter).await?;
        Ok(combine(attempts, opt_outs))
    }

    async fn check_compliance(&self, policy: &ContactPolicy, scope: CheckScope) -> Result<CheckCounts, StoreError> {
        let debts_query = match scope {
            CheckScope::Unchecked => UNCHECKED_DEBTS_QUERY,
            CheckScope::All => ALL_DEBTS_QUERY,
        };
        let mut counts = CheckCounts::default();
        // Every count checks first, and most find nothing to check. Those skip the write lock,
        // which a live call may be holding.
        if scope == CheckScope::Unchecked && !self.any_unchecked().await? {
            return Ok(counts);
        }
        let mut after = i64::MIN;
        loop {
            // The batch lists its debts inside its write transaction, so a check that waited
            // for another skips what that one checked.
            let mut tx = self.begin_write().await?;
            let debt_ids: Vec<i64> =
                sqlx::query_scalar(debts_query).bind(after).bind(BATCH_DEBTS).fetch_all(&mut *tx).await?;
            let Some(&last) = debt_ids.last() else {
                tx.commit().await?;
                break;
            };
            counts.add(check_batch(&mut tx, policy, &debt_ids).await?);
            tx.commit().await?;
            after = last;
        }
        if counts.debts > 0 {
            info!(
                ?scope,
                debts = counts.debts,
                attempts = counts.attempts,
                changed = counts.changed,
                "compliance checked"
            );
        }
        Ok(counts)
    }
}

/// Recomputes the flags of every outbound attempt of `debt_ids` and writes those that changed.
async fn check_batch(
    tx: &mut Transaction<'static, Sqlite>,
    policy: &ContactPolicy,
    debt_ids: &[i64],
) -> Result<CheckCounts, StoreError> {
    let mut select = QueryBuilder::<Sqlite>::new(
        "SELECT attempt.id, attempt.debt_id, attempt.started_at, attempt.outside_window, attempt.over_cap,
                debtor.country, debtor.region, debtor.time_zone
         FROM attempts AS attempt
         JOIN debtors AS debtor ON debtor.id = attempt.debtor_id
         WHERE attempt.direction = 'outbound' AND attempt.debt_id IN (",
    );
    let mut ids = select.separated(", ");
    for id in debt_ids {
        ids.push_bind(*id);
    }
    select.push(") ORDER BY attempt.debt_id, attempt.started_at");
    let rows = select.build().fetch_all(&mut **tx).await?;

    let mut checker = AttemptChecker::new(policy);
    let mut stored = Vec::with_capacity(rows.len());
    let mut counts = CheckCounts::default();
    let mut previous_debt = None;
    for row in &rows {
        let debt_id: i64 = row.try_get("debt_id")?;
        if previous_debt != Some(debt_id) {
            counts.debts += 1;
            previous_debt = Some(debt_id);
        }
        let started_at: String = row.try_get("started_at")?;
        let time_zone: String = row.try_get("time_zone")?;
        checker.push(LedgerAttempt {
            id: row.try_get("id")?,
            debt_id,
            started_at: time("started_at", &started_at)?,
            country: row.try_get("country")?,
            region: row.try_get("region")?,
            time_zone: time_zone.parse().map_err(|_| {
                StoreError::Corrupt(format!("column time_zone contains '{time_zone}', which is invalid"))
            })?,
        })?;
        let outside_window: Option<bool> = row.try_get("outside_window")?;
        let over_cap: Option<bool> = row.try_get("over_cap")?;
        stored.push((outside_window, over_cap));
    }

    for (checked, (outside_window, over_cap)) in checker.finish().iter().zip(stored) {
        counts.count_attempt(checked.outside_window, checked.over_cap);
        if outside_window != Some(checked.outside_window) || over_cap != Some(checked.over_cap) {
            sqlx::query("UPDATE attempts SET outside_window = $1, over_cap = $2 WHERE id = $3")
                .bind(checked.outside_window)
                .bind(checked.over_cap)
                .bind(checked.attempt_id)
                .execute(&mut **tx)
                .await?;
            counts.changed += 1;
        }
    }
    Ok(counts)
}

impl SqliteStore {
    async fn any_unchecked(&self) -> Result<bool, StoreError> {
        let first: Option<i64> =
            sqlx::query_scalar(UNCHECKED_DEBTS_QUERY).bind(i64::MIN).bind(1_i64).fetch_optional(&self.pool).await?;
        Ok(first.is_some())
    }

    async fn attempt_counts(&self, filter: &ComplianceFilter) -> Result<LedgerCounts, StoreError> {
        let row = match summary::compliance_counts(filter) {
            Some((sql, params)) => {
                self.refresh_summary(Summary::AttemptHours).await?;
                bind(sqlx::query(&sql), params).fetch_one(&self.pool).await?
            }
            None => {
                sqlx::query(COUNT_QUERY)
                    .bind(time_text(filter.from))
                    .bind(time_text(filter.to))
                    .bind(filter.country_code())
                    .bind(filter.campaign.clone())
                    .bind(filter.segment.clone())
                    .fetch_one(&self.pool)
                    .await?
            }
        };
        let count = |column: &str| -> Result<u64, StoreError> {
            let value: i64 = row.try_get(column)?;
            u64::try_from(value).map_err(|_| StoreError::Corrupt(format!("{column} is negative: {value}")))
        };
        Ok(LedgerCounts {
            outbound_attempts: count("outbound_attempts")?,
            outside_window: count("outside_window")?,
            cap_breaches: count("cap_breaches")?,
            debts_attempted: count("debts_attempted")?,
            ..LedgerCounts::default()
        })
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
