//! A simulated week of one campaign over invented debtors in six jurisdictions, on SQLite and on
//! PostgreSQL: the audit of the carrier's own call log finds no call outside the rules.

use std::sync::Arc;

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
