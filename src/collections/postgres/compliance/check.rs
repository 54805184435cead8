//! The compliance check on PostgreSQL: one statement per batch of debts applies the rules and
//! writes the flags that changed.
//!
//! The rules are rendered from [`ContactPolicy`] into the statement as VALUES lists: each rule
//! set's window per ISO weekday, its holidays, and its smallest cap per period. The places
//! (country and region as stored) of the batch's debtors are resolved to rule sets in Rust,
//! where region names are folded, and bound as arrays. Local start times come from `started_at
//! AT TIME ZONE debtors.time_zone`. Caps are counted with window functions over RANGE frames,
//! one per distinct cap period.
//!
//! NOTE: PostgreSQL converts times with the server's time zone database and the SQLite store
//! with the copy compiled into chrono-tz, so the flags can differ for a zone whose rules changed
//! after the older of the two was released.

use std::collections::BTreeMap;
use std::fmt::Write;

use sqlx::{Postgres, Row, Transaction};
use tracing::info;

use super::{count, PostgresStore};
use crate::collections::store::StoreError;
use crate::kpi::compliance::{no_rules_error, CheckCounts, CheckScope};
use crate::policy::jurisdiction::RuleSet;
use crate::policy::ContactPolicy;

/// Debts per check transaction: about 40,000 attempts at 20 per debt.
const BATCH_DEBTS: i64 = 2_000;

/// The first key of the transaction-level advisory lock that serializes checks. The second is
/// the hash of the schema, so stores in other schemas do not wait. Two checks that updated the
/// same rows in different orders could deadlock otherwise.
const LOCK_KEY: i32 = 0x636f_6d70;

/// The next `$2` debts after debt `$1` with an unchecked outbound attempt, read in order from
/// the partial index `attempts_unchecked`.
const UNCHECKED_DEBTS_QUERY: &str = "
    SELECT DISTINCT debt_id FROM attempts
    WHERE direction = 'outbound' AND (outside_window IS NULL OR over_cap IS NULL) AND debt_id > $1
    ORDER BY debt_id
    LIMIT $2";

/// The next `$2` debts after debt `$1`, with outbound attempts or not.
const ALL_DEBTS_QUERY: &str = "SELECT id FROM debts WHERE id > $1 ORDER BY id LIMIT $2";

/// The distinct places (country and region) of the debtors called about the debts in `$1`.
const PLACES_QUERY: &str = "
    SELECT DISTINCT debtor.country, debtor.region
    FROM attempts AS attempt
    JOIN debtors AS debtor ON debtor.id = attempt.debtor_id
    WHERE attempt.direction = 'outbound' AND attempt.debt_id = ANY($1)";

/// Checks the debts of `scope` in batches of [`BATCH_DEBTS`], in debt order, one transaction
/// each. A batch lists its debts after taking the lock, so a check that waited for another
/// skips what that one checked.
pub(super) async fn check(
    store: &PostgresStore,
    policy: &ContactPolicy,
    scope: CheckScope,
) -> Result<CheckCounts, StoreError> {
    let debts_query = match scope {
        CheckScope::Unchecked => UNCHECKED_DEBTS_QUERY,
        CheckScope::All => ALL_DEBTS_QUERY,
    };
    let statement = check_statement(&policy.rule_sets());
    let mut counts = CheckCounts::default();
    let mut after = i64::MIN;
    loop {
        let mut tx = store.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))")
            .bind(LOCK_KEY)
            .execute(&mut *tx)
            .await?;
        let debt_ids: Vec<i64> =
            sqlx::query_scalar(debts_query).bind(after).bind(BATCH_DEBTS).fetch_all(&mut *tx).await?;
        let Some(&last) = debt_ids.last() else {
            tx.commit().await?;
            break;
        };
        counts.add(check_batch(&mut tx, policy, &statement, &debt_ids).await?);
        tx.commit().await?;
        after = last;
    }
    if counts.debts > 0 {
        info!(?scope, debts = counts.debts, attempts = counts.attempts, changed = counts.changed, "compliance checked");
    }
    Ok(counts)
}

/// Runs the check statement on the outbound attempts of `debt_ids`.
async fn check_batch(
    tx: &mut Transaction<'static, Postgres>,
    policy: &ContactPolicy,
    statement: &str,
    debt_ids: &[i64],
) -> Result<CheckCounts, StoreError> {
    let (countries, regions, rule_sets) = resolve_places(tx, policy, debt_ids).await?;
    let row = sqlx::query(statement)
        .bind(countries)
        .bind(regions)
        .bind(rule_sets)
        .bind(debt_ids)
        .fetch_one(&mut **tx)
        .await?;
    Ok(CheckCounts {
        debts: count(&row, "debts")?,
        attempts: count(&row, "attempts")?,
        outside_window: count(&row, "outside_window")?,
        over_cap: count(&row, "over_cap")?,
        flagged: count(&row, "flagged")?,
        changed: count(&row, "changed")?,
    })
}

/// Returns every distinct (country, region) of the debtors called about `debt_ids` with the
/// index of its rule set, as three arrays to bind.
async fn resolve_places(
    tx: &mut Transaction<'static, Postgres>,
    policy: &ContactPolicy,
    debt_ids: &[i64],
) -> Result<(Vec<String>, Vec<String>, Vec<i32>), StoreError> {
    let rows = sqlx::query(PLACES_QUERY).bind(debt_ids).fetch_all(&mut **tx).await?;
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

/// Builds the statement that checks the outbound attempts of a batch of debts against these
/// rule sets, writes the flags that changed, and returns what it counted. Binds: `$1`, `$2`,
/// `$3` the places arrays, `$4` the debt ids.
fn check_statement(rule_sets: &[RuleSet<'_>]) -> String {
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
    let over_cap = if periods.is_empty() {
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
    SELECT attempt.id, attempt.debt_id, place.rule_set,
           attempt.started_at AT TIME ZONE debtor.time_zone AS local_start{within_columns}
    FROM attempts AS attempt
    JOIN debtors AS debtor ON debtor.id = attempt.debtor_id
    JOIN places AS place ON place.country = debtor.country AND place.region = debtor.region
    WHERE attempt.direction = 'outbound' AND attempt.debt_id = ANY($4::bigint[])
),
checked AS (
    SELECT ledger.id, ledger.debt_id,
           (hours.opens IS NULL OR holiday.day IS NOT NULL
            OR ledger.local_start::time < hours.opens OR ledger.local_start::time >= hours.closes) AS outside_window,
           {over_cap} AS over_cap
    FROM ledger
    LEFT JOIN windows AS hours
        ON hours.rule_set = ledger.rule_set AND hours.weekday = EXTRACT(ISODOW FROM ledger.local_start)
    LEFT JOIN holidays AS holiday ON holiday.rule_set = ledger.rule_set AND holiday.day = ledger.local_start::date
    {cap_join}
),
written AS (
    UPDATE attempts AS attempt
    SET outside_window = checked.outside_window, over_cap = checked.over_cap
    FROM checked
    WHERE attempt.id = checked.id
        AND (attempt.outside_window IS DISTINCT FROM checked.outside_window
             OR attempt.over_cap IS DISTINCT FROM checked.over_cap)
    RETURNING attempt.started_at
),
-- The KPI summaries count the flags per hour, and no trigger marks flag changes.
marked AS (
    INSERT INTO kpi_attempt_marks (hour) SELECT DISTINCT date_trunc('hour', started_at, 'UTC') FROM written
)
SELECT COUNT(DISTINCT debt_id) AS debts,
       COUNT(*) AS attempts,
       COUNT(*) FILTER (WHERE outside_window) AS outside_window,
       COUNT(*) FILTER (WHERE over_cap) AS over_cap,
       COUNT(*) FILTER (WHERE outside_window OR over_cap) AS flagged,
       (SELECT COUNT(*) FROM written) AS changed
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
        let sql = check_statement(&policy.rule_sets());
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
