//! A simulated week of one campaign over invented debtors in six jurisdictions, on SQLite and on
//! PostgreSQL, and shorter campaigns with random settings over weeks with daylight-saving
//! changes: the audit of the carrier's own call log finds no call outside the rules.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use proptest::prelude::*;

use cobranza::bench::week::{self, WeekOptions};
use cobranza::collections::postgres::PostgresStore;
use cobranza::collections::sqlite::SqliteStore;
use cobranza::collections::Store;
use sqlx::Connection;

const DEBTORS: usize = 400;

fn database_url() -> String {
    std::env::var("COBRANZA_TEST_DATABASE_URL")
        .ok()
        .filter(|url| !url.is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

fn check(report: &week::WeekReport) {
    assert_eq!(report.violations, [], "{report}");
    let countries: Vec<&str> = report.calls_by_country_hour.keys().map(String::as_str).collect();
    assert_eq!(countries, ["AR", "CL", "CO", "MX", "PE", "US"], "{report}");
    for outcome in ["busy", "no_answer", "voicemail_left", "promise_to_pay", "disputed", "stop_contact"] {
        assert!(report.outcomes.get(outcome).is_some_and(|count| *count > 0), "no {outcome}: {report}");
    }
    for reason in ["outside_hours", "do_not_call", "callback_scheduled"] {
        assert!(report.skips.get(reason).is_some_and(|count| *count > 0), "no skip for {reason}: {report}");
    }
    assert!(report.follow_ups > 0, "no follow-up of a broken promise: {report}");
    // Peru, Colombia and Argentina allow no calls on Sunday, and Colombia none on 8 December.
    for country in ["PE", "CO", "AR"] {
        assert!(report.calls_by_country_hour[country].keys().all(|hour| (7..20).contains(hour)), "{report}");
    }
}

#[tokio::test]
async fn week_on_sqlite_breaks_no_rule() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("week.db")).await.unwrap());
    let report = week::run(store, &WeekOptions::new(DEBTORS, 11)).await.unwrap();
    check(&report);
}

#[tokio::test]
async fn week_on_postgres_breaks_no_rule() {
    let schema = format!("week_{}", std::process::id());
    let url = database_url();
    let drop = |schema: String, url: String| async move {
        let mut connection = sqlx::PgConnection::connect(&url).await.unwrap();
        sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).execute(&mut connection).await.unwrap();
    };
    drop(schema.clone(), url.clone()).await;
    let store: Arc<dyn Store> = Arc::new(PostgresStore::connect_in_schema(&url, &schema).await.unwrap());
    let report = week::run(store, &WeekOptions::new(DEBTORS, 12)).await.unwrap();
    check(&report);
    drop(schema, url).await;
}

/// Starts of simulated runs: weeks with the United States' and Chile's daylight-saving changes of
/// 2026 and 2027, and a week with national holidays.
const STARTS: [&str; 7] = [
    "2026-03-06T12:00:00Z",
    "2026-10-30T12:00:00Z",
    "2026-04-03T12:00:00Z",
    "2026-09-04T12:00:00Z",
    "2027-03-12T12:00:00Z",
    "2027-11-05T12:00:00Z",
    "2026-12-07T00:00:00Z",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn random_campaigns_break_no_rule(
        seed in any::<u64>(),
        debtors in 10_usize..40,
        start in 0_usize..STARTS.len(),
        days in 1_u32..4,
        tick_minutes in prop::sample::select(vec![5_u32, 15, 30, 60]),
        calls_per_tick in 1_u32..12,
        concurrent in 1_u32..12,
        retry_minutes in 0_u32..300,
        factor in 1_u32..3,
        max_tries in 1_u32..8,
        margin_follow_up in 0_u32..2000,
    ) {
        let mut options = WeekOptions::new(debtors, seed);
        options.start = STARTS[start].parse::<DateTime<Utc>>().unwrap();
        options.days = days;
        options.tick_minutes = tick_minutes;
        let campaign = &mut options.campaign;
        campaign.calls_per_second = calls_per_tick;
        campaign.max_concurrent_calls = concurrent;
        campaign.retry.max_tries = max_tries;
        campaign.retry.broken_promise_follow_up_minutes = margin_follow_up;
        for backoff in [&mut campaign.retry.no_answer, &mut campaign.retry.busy, &mut campaign.retry.failed] {
            backoff.first_minutes = retry_minutes;
            backoff.factor = factor;
            backoff.max_tries = max_tries;
        }

        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let report = runtime.block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("week.db")).await.unwrap());
            week::run(store, &options).await.unwrap()
        });
        prop_assert!(report.violations.is_empty(), "{}", report);
    }
}
