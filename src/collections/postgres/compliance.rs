//! The compliance counts on PostgreSQL, computed in one query over the attempt ledger so they
//! scale to millions of attempts.
//!
//! The rules are rendered from [`ContactPolicy`] into the query as VALUES lists: each rule set's
//! window per ISO weekday, its holidays, and its smallest cap per period. Debtors' places
//! (country and region as stored) are resolved to rule sets in Rust, where region names are
//! folded, and bound as arrays. Local start times come from `started_at AT TIME ZONE
//! debtors.time_zone`. Caps are counted with window functions over RANGE frames, one per distinct
//! cap period.
//!
//! NOTE: PostgreSQL converts times with the server's time zone database and the SQLite path with
//! the copy compiled into chrono-tz, so the counts can differ for a zone whose rules changed after
//! the older of the two was released.

use std::collections::BTreeMap;
use std::fmt::Write;

use async_trait::async_trait;
use sqlx::Row;

use super::PostgresStore;
use crate::collections::store::StoreError;
use crate::kpi::compliance::{no_rules_error, ComplianceFilter, ComplianceStore, LedgerCounts};
use crate::policy::jurisdiction::RuleSet;
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
        let (countries, regions, rule_sets) = self.resolve_places(policy).await?;
        let sql = attempt_query(&policy.rule_sets());
        let row = sqlx::query(&sql)
            .bind(countries)
            .bind(regions)
            .bind(rule_sets)
            .bind(filter.from - policy.longest_cap_period())
            .bind(filter.from)
            .bind(filter.to)
            .bind(filter.country_code())
            .bind(filter.campaign.clone())
            .bind(filter.segment.clone())
            .fetch_one(&self.pool)
            .await?;
        let opt_outs = sqlx::query(OPT_OUT_QUERY)
            .bind(filter.from)
            .bind(filter.to)
            .bind(filter.country_code())
            .bind(filter.campaign.clone())
            .bind(filter.segment.clone())
            .fetch_one(&self.pool)
            .await?;
        let count = |row: &sqlx::postgres::PgRow, column: &str| -> Result<u64, StoreError> {
            let value: i64 = row.try_get(column)?;
            u64::try_from(value).map_err(|_| StoreError::Corrupt(format!("{column} is negative: {value}")))
        };
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
}

impl PostgresStore {
    /// Returns every distinct (country, region) of the debtors with the index of its rule set,
    /// as three arrays to bind.
    async fn resolve_places(&self, policy: &ContactPolicy) -> Result<(Vec<String>, Vec<String>, Vec<i32>), StoreError> {
        let rows = sqlx::query("SELECT DISTINCT country, region FROM debtors").fetch_all(&self.pool).await?;
        let mut countries = Vec::with_capacity(rows.len());
        let mut regions = Vec::with_capacity(rows.len());
        let mut rule_sets = Vec::with_capacity(rows.len());
        for row in &rows {
            let country: String = row.try_get("country")?;
            let region: String = row.try_get("region")?;
            let index = policy.rule_set_index(&country, &region).ok_or_else(|| no_rules_error(&country))?;
            rule_sets.push(i32::try_from(index).expect("a policy has fewer than 2^31 rule sets"));
            countries.push(country);
            regions.push(region);
        }
        Ok((countries, regions, rule_sets))
    }
}

/// Builds the attempt query for these rule sets. Binds: `$1`, `$2`, `$3` the places arrays,
/// `$4` the start of the cap look-back, `$5` and `$6` the range, `$7` country, `$8` campaign,
/// `$9` segment.
fn attempt_query(rule_sets: &[RuleSet<'_>]) -> String {
    let periods = cap_periods(rule_sets);
    let within_columns: String = periods
        .iter()
        .map(|hours| {
            format!(
                ",\n           COUNT(*) OVER (PARTITION BY attempt.debt_id ORDER BY attempt.started_at \
                 RANGE BETWEEN INTERVAL '{hours} hours' - INTERVAL '1 microsecond' PRECEDING AND CURRENT ROW) \
                 AS within_{hours}h"
            )
        })
        .collect();
    let cap_breach = if periods.is_empty() {
        "FALSE".to_string()
    } else {
        periods
            .iter()
            .map(|hours| format!("COALESCE(ledger.within_{hours}h > cap.max_within_{hours}h, FALSE)"))
            .collect::<Vec<_>>()
            .join(" OR ")
    };
    let cap_join = if periods.is_empty() { "" } else { "LEFT JOIN caps AS cap ON cap.rule_set = ledger.rule_set" };

    format!(
        "WITH places (country, region, rule_set) AS (
    SELECT * FROM UNNEST($1::text[], $2::text[], $3::int[])
),
{rules},
ledger AS (
    SELECT attempt.debt_id, attempt.started_at, attempt.campaign, attempt.segment, debtor.country,
           place.rule_set, attempt.started_at AT TIME ZONE debtor.time_zone AS local_start{within_columns}
    FROM attempts AS attempt
    JOIN debtors AS debtor ON debtor.id = attempt.debtor_id
    JOIN places AS place ON place.country = debtor.country AND place.region = debtor.region
    WHERE attempt.direction = 'outbound' AND attempt.started_at >= $4 AND attempt.started_at < $6
),
checked AS (
    SELECT ledger.debt_id,
           (hours.opens IS NULL OR holiday.day IS NOT NULL
            OR ledger.local_start::time < hours.opens OR ledger.local_start::time >= hours.closes) AS outside_window,
           {cap_breach} AS cap_breach
    FROM ledger
    LEFT JOIN windows AS hours
        ON hours.rule_set = ledger.rule_set AND hours.weekday = EXTRACT(ISODOW FROM ledger.local_start)
    LEFT JOIN holidays AS holiday ON holiday.rule_set = ledger.rule_set AND holiday.day = ledger.local_start::date
    {cap_join}
    WHERE ledger.started_at >= $5
        AND ($7::text IS NULL OR ledger.country = $7)
        AND ($8::text IS NULL OR ledger.campaign = $8)
        AND ($9::text IS NULL OR ledger.segment = $9)
)
SELECT COUNT(*) AS outbound_attempts,
       COUNT(*) FILTER (WHERE outside_window) AS outside_window,
       COUNT(*) FILTER (WHERE cap_breach) AS cap_breaches,
       COUNT(DISTINCT debt_id) AS debts_attempted
FROM checked",
        rules = rules_ctes(rule_sets, &periods),
    )
}

/// Returns each distinct cap period in hours.
fn cap_periods(rule_sets: &[RuleSet<'_>]) -> Vec<i64> {
    let mut periods: Vec<i64> =
        rule_sets.iter().flat_map(|set| set.rules.caps_per_debt.iter().map(|cap| cap.period_hours())).collect();
    periods.sort_unstable();
    periods.dedup();
    periods
}

/// Renders the `windows`, `holidays` and, when there are caps, `caps` tables. Every value is
/// a validated time, date or integer, so the text needs no escaping.
fn rules_ctes(rule_sets: &[RuleSet<'_>], periods: &[i64]) -> String {
    let mut windows = Vec::new();
    let mut holidays = Vec::new();
    let mut caps = Vec::new();
    for (index, set) in rule_sets.iter().enumerate() {
        for (weekday, opens, closes) in set.rules.calling_hours.weekly_windows() {
            let weekday = weekday.number_from_monday();
            windows.push(format!("({index}, {weekday}, TIME '{opens}', TIME '{closes}')"));
        }
        for day in set.rules.calling_hours.holidays() {
            holidays.push(format!("({index}, DATE '{day}')"));
        }
        if !periods.is_empty() {
            caps.push(cap_row(index, set, periods));
        }
    }

    let mut text = String::new();
    write!(text, "windows (rule_set, weekday, opens, closes) AS (\n    ").unwrap();
    text.push_str(&values_or_empty(&windows, "NULL::int, NULL::int, NULL::time, NULL::time"));
    text.push_str("\n),\nholidays (rule_set, day) AS (\n    ");
    text.push_str(&values_or_empty(&holidays, "NULL::int, NULL::date"));
    text.push_str("\n)");
    if !periods.is_empty() {
        let columns: Vec<String> = periods.iter().map(|hours| format!("max_within_{hours}h")).collect();
        write!(text, ",\ncaps (rule_set, {}) AS (\n    ", columns.join(", ")).unwrap();
        let null_columns = format!("NULL::int{}", ", NULL::bigint".repeat(periods.len()));
        text.push_str(&values_or_empty(&caps, &null_columns));
        text.push_str("\n)");
    }
    text
}

/// Renders one rule set's row of `caps`: the smallest number of attempts allowed per period,
/// or NULL for a period it has no cap for.
fn cap_row(index: usize, set: &RuleSet<'_>, periods: &[i64]) -> String {
    let mut strictest: BTreeMap<i64, u32> = BTreeMap::new();
    for cap in &set.rules.caps_per_debt {
        let attempts = strictest.entry(cap.period_hours()).or_insert(cap.attempts);
        *attempts = (*attempts).min(cap.attempts);
    }
    let cells: Vec<String> = periods
        .iter()
        .map(|hours| strictest.get(hours).map_or("NULL::bigint".to_string(), |attempts| format!("{attempts}::bigint")))
        .collect();
    format!("({index}, {})", cells.join(", "))
}

/// Returns `VALUES` with the rows, or a query with no rows of the same columns when there are
/// none, because PostgreSQL has no empty `VALUES` list.
fn values_or_empty(rows: &[String], null_columns: &str) -> String {
    if rows.is_empty() {
        format!("SELECT {null_columns} WHERE FALSE")
    } else {
        format!("VALUES {}", rows.join(",\n           "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_counts_each_cap_period_once() {
        let policy = ContactPolicy::embedded().unwrap();
        let sql = attempt_query(&policy.rule_sets());
        assert_eq!(sql.matches("AS within_24h").count(), 1);
        assert_eq!(sql.matches("AS within_168h").count(), 1);
        assert!(sql.contains("caps (rule_set, max_within_24h, max_within_168h)"), "{sql}");
    }

    #[test]
    fn massachusetts_row_keeps_strictest_cap() {
        let policy = ContactPolicy::embedded().unwrap();
        let sets = policy.rule_sets();
        let index = policy.rule_set_index("US", "MA").unwrap();
        assert_eq!(cap_row(index, &sets[index], &[24, 168]), format!("({index}, NULL::bigint, 2::bigint)"));
    }

    #[test]
    fn windows_render_as_time_literals() {
        let policy = ContactPolicy::embedded().unwrap();
        let sets = policy.rule_sets();
        let index = policy.rule_set_index("CO", "Antioquia").unwrap();
        let text = rules_ctes(&sets[index..=index], &[]);
        assert!(text.contains("(0, 6, TIME '08:00:00', TIME '15:00:00')"), "{text}");
        assert!(text.contains("(0, DATE '2026-12-08')"), "{text}");
        assert!(!text.contains("(0, 7,"), "Colombia has no Sunday window: {text}");
    }
}
