//! The KPI summaries return exactly what scanning the tables returns, on SQLite and on
//! PostgreSQL, over the shipped history for many ranges and every country. The comparison runs
//! again after each kind of change the triggers must mark: a changed, deleted or earlier
//! attempt, a mid-month snapshot, a deleted payment and a debtor who moved country. The
//! compliance counts from the summaries are compared with counts straight from the table.

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use sqlx::Connection;

use cobranza::collections::history::{import_history_dir, HistoryImportSettings};
use cobranza::collections::import::ImportMode;
use cobranza::collections::postgres::PostgresStore;
use cobranza::collections::sqlite::SqliteStore;
use cobranza::collections::store::utc_day_bounds;
use cobranza::collections::Store;
use cobranza::kpi::compliance::ComplianceFilter;
use cobranza::kpi::store::{Grouping, KpiFilter, PortfolioTotals};
use cobranza::policy::ContactPolicy;

const COUNTRIES: [&str; 7] = ["AR", "BR", "CL", "CO", "MX", "PE", "US"];

fn day(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).unwrap()
}

async fn import_fixture(store: &dyn Store) {
    let settings = HistoryImportSettings {
        mode: ImportMode::AllOrNothing,
        now: Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap(),
        grace_days: 3,
    };
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/history");
    import_history_dir(store, &dir, Some(day(2026, 12, 1)), settings).await.unwrap();
}

/// Ranges over the history: whole months, ranges that start or end mid-month or on a snapshot
/// date, one day, one spanning every month, and ones before and after the history. Then 24
/// more from a fixed linear congruential sequence.
fn ranges() -> Vec<(NaiveDate, NaiveDate)> {
    let mut ranges = vec![
        (day(2026, 6, 1), day(2026, 6, 30)),
        (day(2026, 6, 1), day(2026, 12, 4)),
        (day(2026, 7, 15), day(2026, 9, 14)),
        (day(2026, 8, 1), day(2026, 10, 1)),
        (day(2026, 8, 2), day(2026, 11, 30)),
        (day(2026, 9, 10), day(2026, 9, 10)),
        (day(2026, 10, 31), day(2026, 11, 1)),
        (day(2026, 11, 5), day(2026, 12, 1)),
        (day(2026, 1, 1), day(2026, 5, 31)),
        (day(2027, 1, 1), day(2027, 2, 1)),
    ];
    let mut state: u64 = 20_261_205;
    let mut next = |modulus: u64| {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) % modulus
    };
    for _ in 0..24 {
        let from = day(2026, 5, 20) + Duration::days(next(200) as i64);
        let to = from + Duration::days(next(120) as i64);
        ranges.push((from, to));
    }
    ranges
}

fn filters() -> Vec<KpiFilter> {
    let mut filters = Vec::new();
    for (index, (from, to)) in ranges().into_iter().enumerate() {
        filters.push(KpiFilter::days(from, to));
        let country = COUNTRIES[index % COUNTRIES.len()];
        filters.push(KpiFilter { country: Some(country.to_string()), ..KpiFilter::days(from, to) });
    }
    for country in COUNTRIES {
        filters.push(KpiFilter {
            country: Some(country.to_string()),
            ..KpiFilter::days(day(2026, 6, 1), day(2026, 12, 4))
        });
    }
    filters
}

/// Puts the rows of each figure in one order, since neither statement promises one.
fn sorted(mut totals: PortfolioTotals) -> PortfolioTotals {
    totals.aging.sort_by_key(|row| (row.bucket, format!("{:?}", row.currency)));
    totals.rolls.sort_by_key(|row| (row.month, row.bucket, format!("{:?}", row.currency)));
    totals.cohorts.sort_by_key(|row| (row.month, format!("{:?}", row.currency)));
    totals
}

/// Compares the summaries with the scans for every filter, and returns how many figures held
/// something, so a test can tell it compared more than empty results.
async fn assert_summaries_match_scans(store: &dyn Store, when: &str) -> usize {
    let mut nonempty = 0;
    for filter in filters() {
        for grouping in [Grouping::Total, Grouping::Day, Grouping::HourOfDay, Grouping::Country] {
            let summarised = store.attempt_counts(&filter, grouping).await.unwrap();
            let scanned = store.attempt_counts_scanned(&filter, grouping).await.unwrap();
            assert_eq!(summarised, scanned, "{when}: attempts by {grouping:?} over {filter:?}");
            nonempty += usize::from(summarised.iter().any(|counts| counts.dials > 0));
        }
        let summarised = sorted(store.portfolio_totals(&filter).await.unwrap());
        let scanned = sorted(store.portfolio_totals_scanned(&filter).await.unwrap());
        assert_eq!(summarised.aging, scanned.aging, "{when}: aging over {filter:?}");
        assert_eq!(summarised.cure, scanned.cure, "{when}: cure over {filter:?}");
        assert_eq!(summarised.rolls, scanned.rolls, "{when}: roll rates over {filter:?}");
        assert_eq!(summarised.cohorts, scanned.cohorts, "{when}: recovery over {filter:?}");
        nonempty += usize::from(summarised.cure.delinquent > 0)
            + usize::from(!summarised.rolls.is_empty())
            + usize::from(!summarised.cohorts.is_empty());
    }
    nonempty
}

/// Changes, in the backend's SQL, of each kind the triggers must notice. `$date`, `$first`,
/// `$instant`, `$ended` and `$earlier` stand for expressions written the backend's way.
const CHANGES: [&str; 7] = [
    // An attempt that ends differently, and one moved to another hour.
    "UPDATE attempts SET disposition = 'no_response', right_party_contact = FALSE \
     WHERE id = (SELECT MIN(id) FROM attempts WHERE disposition = 'promise_to_pay')",
    "UPDATE attempts SET started_at = $instant, ended_at = $ended WHERE id = (SELECT MIN(id) + 7 FROM attempts)",
    // Attempts deleted, of those nothing refers to.
    "DELETE FROM attempts WHERE id % 97 = 0 \
     AND id NOT IN (SELECT attempt_id FROM promises) AND id NOT IN (SELECT attempt_id FROM transcript_lines) \
     AND id NOT IN (SELECT attempt_id FROM payment_claims) AND id NOT IN (SELECT attempt_id FROM callback_requests) \
     AND id NOT IN (SELECT attempt_id FROM disputes) AND id NOT IN (SELECT attempt_id FROM hardship_referrals) \
     AND id NOT IN (SELECT attempt_id FROM attempt_costs)",
    // A mid-month snapshot for some debts: current again, or one bucket later.
    "INSERT INTO debt_snapshots (debt_id, as_of, days_past_due, balance_minor) \
     SELECT debt_id, $date, CASE WHEN debt_id % 2 = 0 THEN 0 ELSE days_past_due + 30 END, balance_minor / 2 \
     FROM debt_snapshots WHERE as_of = $first AND debt_id % 5 = 0",
    // Outbound calls three days before some existing ones, which changes the previous call of
    // those later ones, and so whether a range counts their debt as attempted.
    "INSERT INTO attempts (debt_id, debtor_id, phone, direction, started_at, answered, right_party_contact, \
       cost_micros, campaign, segment) \
     SELECT debt_id, debtor_id, phone, 'outbound', $earlier, FALSE, FALSE, 0, campaign, segment \
     FROM attempts WHERE id % 53 = 0 AND direction = 'outbound'",
    // Payments deleted, and debtors who moved.
    "DELETE FROM payments WHERE id % 7 = 0",
    "UPDATE debtors SET country = 'PE' WHERE country = 'CL' AND id LIKE '%1'",
];

fn change_sql(change: &str, postgres: bool) -> String {
    let (date, first, instant, ended) = if postgres {
        (
            "DATE '2026-09-17'",
            "DATE '2026-09-01'",
            "TIMESTAMPTZ '2026-08-03T17:45:00Z'",
            "TIMESTAMPTZ '2026-08-03T17:49:12.5Z'",
        )
    } else {
        ("'2026-09-17'", "'2026-09-01'", "'2026-08-03T17:45:00.000000000Z'", "'2026-08-03T17:49:12.500000000Z'")
    };
    let earlier = if postgres {
        "started_at - INTERVAL '3 days'"
    } else {
        "strftime('%Y-%m-%dT%H:%M:%S.000000000Z', started_at, '-3 days')"
    };
    change
        .replace("$date", date)
        .replace("$first", first)
        .replace("$instant", instant)
        .replace("$ended", ended)
        .replace("$earlier", earlier)
}

/// A second connection to the store's database, for changes the store has no method for.
enum Raw {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl Raw {
    /// Counts the outbound attempts of a range straight from the table: attempts, flagged
    /// outside the window, flagged over a cap, and distinct debts.
    async fn compliance_counts(&mut self, filter: &ComplianceFilter) -> [i64; 4] {
        let (from, to, country) = match self {
            Raw::Sqlite(_) => (
                format!("'{}'", filter.from.format("%Y-%m-%dT%H:%M:%S")),
                format!("'{}'", filter.to.format("%Y-%m-%dT%H:%M:%S")),
                filter.country.clone(),
            ),
            Raw::Postgres(_) => (
                format!("TIMESTAMPTZ '{}'", filter.from.to_rfc3339()),
                format!("TIMESTAMPTZ '{}'", filter.to.to_rfc3339()),
                filter.country.clone(),
            ),
        };
        let in_country = country.map_or(String::new(), |code| {
            format!(" AND attempt.debtor_id IN (SELECT id FROM debtors WHERE country = '{code}')")
        });
        let sql = format!(
            "SELECT CAST(COUNT(*) AS BIGINT), \
                    CAST(COUNT(CASE WHEN attempt.outside_window THEN 1 END) AS BIGINT), \
                    CAST(COUNT(CASE WHEN attempt.over_cap THEN 1 END) AS BIGINT), \
                    CAST(COUNT(DISTINCT attempt.debt_id) AS BIGINT) \
             FROM attempts AS attempt \
             WHERE attempt.direction = 'outbound' AND attempt.started_at >= {from} AND attempt.started_at < {to}{in_country}"
        );
        let row: (i64, i64, i64, i64) = match self {
            Raw::Sqlite(connection) => sqlx::query_as(&sql).fetch_one(connection).await.unwrap(),
            Raw::Postgres(connection) => sqlx::query_as(&sql).fetch_one(connection).await.unwrap(),
        };
        [row.0, row.1, row.2, row.3]
    }

    async fn execute(&mut self, sql: &str) {
        let result = match self {
            Raw::Sqlite(connection) => sqlx::query(sql).execute(connection).await.map(|done| done.rows_affected()),
            Raw::Postgres(connection) => sqlx::query(sql).execute(connection).await.map(|done| done.rows_affected()),
        };
        let changed = result.unwrap_or_else(|error| panic!("{sql}: {error}"));
        assert!(changed > 0, "{sql} changed nothing");
    }
}

/// Compares the compliance counts, which the summaries return for whole UTC days without a
/// campaign or segment, with counts straight from the attempts.
async fn assert_compliance_matches_table(store: &dyn Store, raw: &mut Raw, when: &str) {
    let policy = ContactPolicy::embedded().unwrap();
    for filter in filters() {
        let filter = ComplianceFilter {
            from: utc_day_bounds(filter.from).0,
            to: utc_day_bounds(filter.to).1,
            country: filter.country.clone(),
            ..ComplianceFilter::default()
        };
        let counts = store.compliance_counts(&policy, &filter).await.unwrap();
        let expected = raw.compliance_counts(&filter).await;
        let summarised = [counts.outbound_attempts, counts.outside_window, counts.cap_breaches, counts.debts_attempted]
            .map(|count| i64::try_from(count).unwrap());
        assert_eq!(summarised, expected, "{when}: compliance counts over {filter:?}");
    }
}

/// Runs the comparisons on the imported history, then after the changes.
async fn check_store(store: &dyn Store, mut raw: Raw) {
    import_fixture(store).await;
    let compared = assert_summaries_match_scans(store, "after the import").await;
    assert!(compared > 150, "only {compared} comparisons held any figure");
    assert_compliance_matches_table(store, &mut raw, "after the import").await;

    let postgres = matches!(raw, Raw::Postgres(_));
    for change in CHANGES {
        raw.execute(&change_sql(change, postgres)).await;
    }
    assert_summaries_match_scans(store, "after the changes").await;
    assert_compliance_matches_table(store, &mut raw, "after the changes").await;
}

#[tokio::test]
async fn sqlite_summaries_match_scans() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cobranza.db");
    let store = SqliteStore::open(&path).await.unwrap();
    let connection = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display())).await.unwrap();
    check_store(&store, Raw::Sqlite(connection)).await;
}

#[tokio::test]
async fn postgres_summaries_match_scans() {
    let url = std::env::var("COBRANZA_TEST_DATABASE_URL")
        .ok()
        .filter(|url| !url.is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".to_string());
    let schema = format!("kpi_summaries_{}", std::process::id());
    let mut admin = sqlx::PgConnection::connect(&url).await.unwrap_or_else(|error| {
        panic!("connecting to PostgreSQL at {url} failed: {error}; start it or set COBRANZA_TEST_DATABASE_URL")
    });
    sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).execute(&mut admin).await.unwrap();
    let store = PostgresStore::connect_in_schema(&url, &schema).await.unwrap();
    let mut connection = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::query(&format!("SET search_path TO {schema}")).execute(&mut connection).await.unwrap();
    check_store(&store, Raw::Postgres(connection)).await;
    sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).execute(&mut admin).await.unwrap();
}
