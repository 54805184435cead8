//! The compliance counters on SQLite and on PostgreSQL, over ledgers built by hand with counts
//! worked out in comments, and over random ledgers checked against a brute-force reference.
//!
//! The PostgreSQL tests use a schema of their own in the database at
//! `COBRANZA_TEST_DATABASE_URL` (by default `postgres://postgres@127.0.0.1:5432/test`) and fail
//! when that server is unreachable.

use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use proptest::prelude::*;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::SqlitePool;
use sqlx::Connection;

use cobranza::collections::history::cli::{self as history_cli, HistoryCommand};
use cobranza::collections::import::{NewDebt, PortfolioRow};
use cobranza::collections::model::{AttemptId, Currency, DebtId, Debtor, DebtorId, Money};
use cobranza::collections::postgres::PostgresStore;
use cobranza::collections::sqlite::SqliteStore;
use cobranza::collections::store::{Direction, NewAttempt, Store};
use cobranza::config::PromisesConfig;
use cobranza::kpi::compliance::{
    compliance_counters, CheckCounts, CheckScope, ComplianceCounters, ComplianceFilter, LedgerCounts,
};
use cobranza::policy::{window_allows, ContactPolicy};

const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

fn database_url() -> String {
    std::env::var("COBRANZA_TEST_DATABASE_URL")
        .ok()
        .filter(|url| !url.is_empty())
        .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_string())
}

fn utc(month: u32, day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, month, day, hour, minute, 0).unwrap()
}

/// A debtor's place: the five places the hand ledger covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Place {
    debtor_id: &'static str,
    country: &'static str,
    region: &'static str,
    locale: &'static str,
    time_zone: Tz,
    phone: &'static str,
    currency: Currency,
}

const MEXICO: Place = Place {
    debtor_id: "MX-1",
    country: "MX",
    region: "Jalisco",
    locale: "es-MX",
    time_zone: Tz::America__Mexico_City,
    phone: "+525550100001",
    currency: Currency::Mxn,
};
const COLOMBIA: Place = Place {
    debtor_id: "CO-1",
    country: "CO",
    region: "Antioquia",
    locale: "es-CO",
    time_zone: Tz::America__Bogota,
    phone: "+576045550101",
    currency: Currency::Cop,
};
const CHILE: Place = Place {
    debtor_id: "CL-1",
    country: "CL",
    region: "Región Metropolitana",
    locale: "es-CL",
    time_zone: Tz::America__Santiago,
    phone: "+56225550103",
    currency: Currency::Clp,
};
const MASSACHUSETTS: Place = Place {
    debtor_id: "US-MA",
    country: "US",
    region: "MA",
    locale: "en-US",
    time_zone: Tz::America__New_York,
    phone: "+16175550107",
    currency: Currency::Usd,
};
const NEW_YORK: Place = Place {
    debtor_id: "US-NY",
    country: "US",
    region: "NY",
    locale: "en-US",
    time_zone: Tz::America__New_York,
    phone: "+12125550101",
    currency: Currency::Usd,
};
const PLACES: [Place; 5] = [MEXICO, COLOMBIA, CHILE, MASSACHUSETTS, NEW_YORK];

fn portfolio_row(place: Place, account_ref: &str) -> PortfolioRow {
    PortfolioRow {
        debtor: Debtor {
            id: DebtorId(place.debtor_id.to_string()),
            full_name: "Ana Pérez".to_string(),
            phone: place.phone.to_string(),
            country: place.country.to_string(),
            region: place.region.to_string(),
            locale: place.locale.to_string(),
            time_zone: place.time_zone,
            national_id_last4: "1234".to_string(),
            birth_date: NaiveDate::from_ymd_opt(1980, 1, 1).unwrap(),
            postal_code: "00000".to_string(),
            call_consent: true,
            authorised_channels: vec!["voice".to_string()],
        },
        debt: NewDebt {
            creditor: "Banco Aurora".to_string(),
            product: "tarjeta de crédito".to_string(),
            account_ref: account_ref.to_string(),
            balance: Money::new(100_000, place.currency),
            days_past_due: 30,
        },
    }
}

/// Direct access to a store's database, for what the `Store` trait does not write: the
/// campaign and segment of an attempt.
enum Database {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Database {
    async fn tag(&self, id: AttemptId, campaign: Option<&str>, segment: Option<&str>) {
        let sql = "UPDATE attempts SET campaign = $1, segment = $2 WHERE id = $3";
        match self {
            Database::Sqlite(pool) => {
                sqlx::query(sql).bind(campaign).bind(segment).bind(id.0).execute(pool).await.unwrap();
            }
            Database::Postgres(pool) => {
                sqlx::query(sql).bind(campaign).bind(segment).bind(id.0).execute(pool).await.unwrap();
            }
        }
    }

    /// Returns the stored `(outside_window, over_cap)` of the attempt with this call SID.
    async fn flags(&self, call_sid: &str) -> (Option<bool>, Option<bool>) {
        let sql = "SELECT outside_window, over_cap FROM attempts WHERE call_sid = $1";
        match self {
            Database::Sqlite(pool) => sqlx::query_as(sql).bind(call_sid).fetch_one(pool).await.unwrap(),
            Database::Postgres(pool) => sqlx::query_as(sql).bind(call_sid).fetch_one(pool).await.unwrap(),
        }
    }
}

/// A store with raw access to its database, and what must live as long as it.
struct Backend {
    store: Arc<dyn Store>,
    database: Database,
    _dir: Option<tempfile::TempDir>,
}

async fn sqlite_backend() -> Backend {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cobranza.db");
    let store = SqliteStore::open(&path).await.unwrap();
    let pool = SqlitePool::connect(&format!("sqlite://{}", path.display())).await.unwrap();
    Backend { store: Arc::new(store), database: Database::Sqlite(pool), _dir: Some(dir) }
}

/// Opens a store in an empty schema named for the test, dropping what a failed run left.
async fn postgres_backend(test: &str) -> Backend {
    let url = database_url();
    let schema = format!("compliance_{test}_{}", std::process::id());
    drop_schema(&url, &schema).await;
    let store = PostgresStore::connect_in_schema(&url, &schema).await.unwrap();
    let options = PgConnectOptions::from_str(&url).unwrap().options([("search_path", schema.as_str())]);
    let pool = PgPoolOptions::new().max_connections(1).connect_with(options).await.unwrap();
    Backend { store: Arc::new(store), database: Database::Postgres(pool), _dir: None }
}

async fn drop_schema(url: &str, schema: &str) {
    let mut connection = match sqlx::PgConnection::connect(url).await {
        Ok(connection) => connection,
        Err(error) => panic!(
            "connecting to PostgreSQL at {url} failed: {error}. Start PostgreSQL there, or set \
             COBRANZA_TEST_DATABASE_URL to a database these tests may create schemas in"
        ),
    };
    sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).execute(&mut connection).await.unwrap();
}

async fn drop_postgres_backend(test: &str) {
    drop_schema(&database_url(), &format!("compliance_{test}_{}", std::process::id())).await;
}

async fn debt_of(store: &dyn Store, place: Place) -> DebtId {
    let account = store.account_by_debtor(&DebtorId(place.debtor_id.to_string())).await.unwrap().unwrap();
    account.debt.id
}

async fn insert_attempt(
    store: &dyn Store,
    debt_id: DebtId,
    place: Place,
    direction: Direction,
    at: DateTime<Utc>,
) -> AttemptId {
    let new = NewAttempt { debt_id, phone: place.phone.to_string(), direction, started_at: at };
    store.create_attempt(&new).await.unwrap()
}

/// Returns the two weeks the hand ledger is counted over: Monday 2 March to Sunday 15 March 2026,
/// across the United States' change to daylight-saving time at 02:00 on Sunday 8 March.
fn two_weeks() -> ComplianceFilter {
    ComplianceFilter { from: utc(3, 2, 0, 0), to: utc(3, 16, 0, 0), ..ComplianceFilter::default() }
}

/// Builds the hand ledger. The comment after each attempt gives its local time and what it
/// adds to the counts.
async fn build_hand_ledger(backend: &Backend) {
    let store = backend.store.as_ref();
    let rows: Vec<PortfolioRow> = PLACES.iter().map(|place| portfolio_row(*place, place.debtor_id)).collect();
    store.import_portfolio(&rows).await.unwrap();
    let outbound = Direction::Outbound;

    // Mexico City is UTC-6 all year. Window Monday to Saturday 07:00 to 22:00, no cap.
    let debt = debt_of(store, MEXICO).await;
    insert_attempt(store, debt, MEXICO, outbound, utc(3, 2, 14, 0)).await; // Mon 08:00: inside.
    insert_attempt(store, debt, MEXICO, outbound, utc(3, 2, 4, 0)).await; // Sun 1 Mar 22:00: outside.
    insert_attempt(store, debt, MEXICO, outbound, utc(3, 3, 4, 30)).await; // Mon 22:30: outside.
    store.record_opt_out(&DebtorId("MX-1".into()), "voice", utc(3, 3, 5, 0)).await.unwrap(); // Nothing after.

    // Bogotá is UTC-5. Window weekdays 07:00 to 19:00 and Saturday 08:00 to 15:00. One call per 24 hours.
    let debt = debt_of(store, COLOMBIA).await;
    insert_attempt(store, debt, COLOMBIA, outbound, utc(3, 3, 13, 0)).await; // Tue 08:00: inside.
    let second = insert_attempt(store, debt, COLOMBIA, outbound, utc(3, 3, 20, 0)).await; // Tue 15:00: cap breach.
    backend.database.tag(second, Some("spring"), Some("early")).await;
    store.record_opt_out(&DebtorId("CO-1".into()), "voice", utc(3, 3, 20, 30)).await.unwrap();
    insert_attempt(store, debt, COLOMBIA, Direction::Inbound, utc(3, 4, 2, 0)).await; // Inbound: never counted.
    insert_attempt(store, debt, COLOMBIA, outbound, utc(3, 6, 19, 30)).await; // Fri 14:30: inside, after opt-out.
                                                                              // Sat 14:30, exactly 24 hours after the call before, which has left the period: inside, no breach.
    insert_attempt(store, debt, COLOMBIA, outbound, utc(3, 7, 19, 30)).await;
    insert_attempt(store, debt, COLOMBIA, outbound, utc(3, 7, 20, 30)).await; // Sat 15:30: outside, breach, after opt-out.

    // Santiago is UTC-3 until 5 April. Window Monday to Saturday 08:00 to 20:00. One call per 7 days.
    let debt = debt_of(store, CHILE).await;
    insert_attempt(store, debt, CHILE, outbound, utc(2, 27, 15, 0)).await; // Before the range, still in the cap period.
    insert_attempt(store, debt, CHILE, outbound, utc(3, 4, 15, 0)).await; // Wed 12:00: breach, 5 days after 27 Feb.
    insert_attempt(store, debt, CHILE, outbound, utc(3, 11, 16, 0)).await; // Wed 13:00: 7 days 1 hour later, alone.
    insert_attempt(store, debt, CHILE, outbound, utc(3, 15, 14, 0)).await; // Sun 11:00: outside, breach.
    store.record_opt_out(&DebtorId("CL-1".into()), "voice", utc(3, 16, 1, 0)).await.unwrap(); // After the range.

    // New York is UTC-5 until 8 March, then UTC-4. Window 08:00 to 21:00 every day. 7 calls per 7 days.
    let debt = debt_of(store, NEW_YORK).await;
    insert_attempt(store, debt, NEW_YORK, outbound, utc(3, 6, 12, 30)).await; // Fri 07:30 EST: outside.
    insert_attempt(store, debt, NEW_YORK, outbound, utc(3, 7, 1, 30)).await; // Fri 20:30 EST: inside.
    insert_attempt(store, debt, NEW_YORK, outbound, utc(3, 9, 12, 30)).await; // Mon 08:30 EDT: inside.
    insert_attempt(store, debt, NEW_YORK, outbound, utc(3, 15, 1, 30)).await; // Sat 21:30 EDT: outside.
    insert_attempt(store, debt, NEW_YORK, outbound, utc(3, 16, 0, 0)).await; // At the range's end: excluded.
    store.record_opt_out(&DebtorId("US-NY".into()), "sms", utc(3, 5, 12, 0)).await.unwrap(); // Not voice.

    // Massachusetts has New York's zone and window, and allows 2 calls per 7 days.
    let debt = debt_of(store, MASSACHUSETTS).await;
    insert_attempt(store, debt, MASSACHUSETTS, outbound, utc(3, 2, 15, 0)).await; // First.
    insert_attempt(store, debt, MASSACHUSETTS, outbound, utc(3, 3, 15, 0)).await; // Second.
    let third = insert_attempt(store, debt, MASSACHUSETTS, outbound, utc(3, 4, 15, 0)).await; // Third: breach.
    backend.database.tag(third, Some("spring"), None).await;
    // 9 March 16:00: 2 Mar 15:00 has left the period, 3 Mar and 4 Mar have not: breach.
    let fourth = insert_attempt(store, debt, MASSACHUSETTS, outbound, utc(3, 9, 16, 0)).await;
    backend.database.tag(fourth, Some("spring"), Some("early")).await;
    // 10 March 15:30: 4 Mar, 9 Mar and this one: breach.
    insert_attempt(store, debt, MASSACHUSETTS, outbound, utc(3, 10, 15, 30)).await;
    store.record_opt_out(&DebtorId("US-MA".into()), "voice", utc(3, 10, 16, 0)).await.unwrap();
    // After the range, yet after the opt-out: 6 days 23 hours later.
    let late = insert_attempt(store, debt, MASSACHUSETTS, outbound, utc(3, 17, 15, 0)).await;
    backend.database.tag(late, Some("spring"), None).await;
}

async fn counters(backend: &Backend, filter: &ComplianceFilter) -> ComplianceCounters {
    let policy = ContactPolicy::embedded().unwrap();
    compliance_counters(backend.store.as_ref(), &policy, filter).await.unwrap()
}

/// Checks the whole hand ledger.
///
/// In range, outbound: Mexico 3, Colombia 5, Chile 3, New York 4, Massachusetts 5 = 20.
/// Outside the window: Mexico 2, Colombia 1, Chile 1, New York 2 = 6.
/// Cap breaches: Colombia 2, Chile 2, Massachusetts 3 = 7, over 5 debts: 1,400 per 1,000.
/// Voice opt-outs in range: Mexico (nothing after), Colombia (3 attempts, the last 4 days
/// later: 345,600 s), Massachusetts (1 attempt 601,200 s later). Mean (0 + 345,600 + 601,200) ÷ 3
/// = 315,600 s.
async fn check_whole_ledger(backend: &Backend) {
    let counters = counters(backend, &two_weeks()).await;
    let counts = counters.counts;
    assert_eq!(counts.outbound_attempts, 20);
    assert_eq!(counts.outside_window, 6);
    assert_eq!(counts.cap_breaches, 7);
    assert_eq!(counts.debts_attempted, 5);
    assert_eq!(counters.cap_breaches_per_thousand_debts.value, Some(1400.0));
    assert_eq!(counts.voice_opt_outs, 3);
    assert_eq!(counts.opt_outs_called_after, 2);
    assert_eq!(counts.attempts_after_opt_out, 4);
    assert_eq!(counters.max_seconds_to_last_attempt, Some(601_200.0));
    assert_eq!(counters.mean_seconds_to_last_attempt, Some(315_600.0));
}

/// Colombia only: its 5 attempts, 1 outside, 2 breaches and 1 debt, and its opt-out with 3
/// attempts after.
async fn check_country_filter(backend: &Backend) {
    let filter = ComplianceFilter { country: Some("co".to_string()), ..two_weeks() };
    let counts = counters(backend, &filter).await.counts;
    let expected = LedgerCounts {
        outbound_attempts: 5,
        outside_window: 1,
        cap_breaches: 2,
        debts_attempted: 1,
        voice_opt_outs: 1,
        opt_outs_called_after: 1,
        attempts_after_opt_out: 3,
        micros_to_last_attempt_total: 345_600_000_000,
        micros_to_last_attempt_max: 345_600_000_000,
    };
    assert_eq!(counts, expected);
}

/// Campaign "spring": Colombia's second call and Massachusetts' third and fourth, all three
/// breaches because the calls of other campaigns still count towards the caps. Opt-outs are
/// not filtered by campaign, but only the late Massachusetts call is a spring call after one.
async fn check_campaign_filter(backend: &Backend) {
    let filter = ComplianceFilter { campaign: Some("spring".to_string()), ..two_weeks() };
    let counts = counters(backend, &filter).await.counts;
    let expected = LedgerCounts {
        outbound_attempts: 3,
        outside_window: 0,
        cap_breaches: 3,
        debts_attempted: 2,
        voice_opt_outs: 3,
        opt_outs_called_after: 1,
        attempts_after_opt_out: 1,
        micros_to_last_attempt_total: 601_200_000_000,
        micros_to_last_attempt_max: 601_200_000_000,
    };
    assert_eq!(counts, expected);
}

/// Campaign "spring" and segment "early": Colombia's second call and Massachusetts' fourth.
async fn check_segment_filter(backend: &Backend) {
    let filter =
        ComplianceFilter { campaign: Some("spring".to_string()), segment: Some("early".to_string()), ..two_weeks() };
    let counts = counters(backend, &filter).await.counts;
    assert_eq!(counts.outbound_attempts, 2);
    assert_eq!(counts.cap_breaches, 2);
    assert_eq!(counts.debts_attempted, 2);
    assert_eq!(counts.opt_outs_called_after, 0);
}

#[tokio::test]
async fn hand_ledger_counts_on_sqlite() {
    let backend = sqlite_backend().await;
    build_hand_ledger(&backend).await;
    check_whole_ledger(&backend).await;
    check_country_filter(&backend).await;
    check_campaign_filter(&backend).await;
    check_segment_filter(&backend).await;
}

#[tokio::test]
async fn hand_ledger_counts_on_postgres() {
    let backend = postgres_backend("hand").await;
    build_hand_ledger(&backend).await;
    check_whole_ledger(&backend).await;
    check_country_filter(&backend).await;
    check_campaign_filter(&backend).await;
    check_segment_filter(&backend).await;
    drop_postgres_backend("hand").await;
}

#[tokio::test]
async fn empty_range_counts_nothing() {
    let backend = sqlite_backend().await;
    build_hand_ledger(&backend).await;
    let reversed = ComplianceFilter { from: utc(3, 16, 0, 0), to: utc(3, 2, 0, 0), ..ComplianceFilter::default() };
    assert_eq!(counters(&backend, &reversed).await.counts, LedgerCounts::default());
}

/// Imports a history and checks the flags of the attempts it wrote. Colombia allows one call
/// per 24 hours from 07:00 to 19:00 on weekdays (Bogotá is UTC-5), and Mexico has no cap.
async fn check_history_import(backend: &Backend) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy("tests/fixtures/history-small/portfolio.csv", dir.path().join("portfolio.csv")).unwrap();
    let attempts = "\
attempt_ref,account_ref,phone,direction,started_at,ended_at,answered,right_party_contact,disposition,campaign,segment,cost_micros
F-1,HS-CO-1,+576045550201,outbound,2026-03-04T15:00:00Z,,false,false,no_response,,,0
F-2,HS-CO-1,+576045550201,outbound,2026-03-04T20:00:00Z,,false,false,no_response,,,0
F-3,HS-CO-1,+576045550201,outbound,2026-03-05T01:00:00Z,,false,false,no_response,,,0
F-4,HS-MX-1,+525550200001,outbound,2026-03-02T16:00:00Z,,false,false,no_response,,,0
F-5,HS-MX-1,+525550200001,inbound,2026-03-03T03:00:00Z,,false,false,no_response,,,0
";
    std::fs::write(dir.path().join("attempts.csv"), attempts).unwrap();
    let command = HistoryCommand::ImportHistory {
        dir: dir.path().to_path_buf(),
        as_of: Some(NaiveDate::from_ymd_opt(2026, 3, 31).unwrap()),
        valid_rows_only: false,
    };
    let report = history_cli::run(backend.store.as_ref(), &command, PromisesConfig { grace_days: 3 }, utc(4, 1, 12, 0))
        .await
        .unwrap();

    assert!(
        report.ends_with(
            "\ncompliance: checked 4 outbound attempts of 2 debts: 2 flagged (1 outside the calling window, \
             2 over a cap), 4 changed"
        ),
        "{report}"
    );
    let database = &backend.database;
    // Wednesday 10:00 in Bogotá: first of the day.
    assert_eq!(database.flags("F-1").await, (Some(false), Some(false)));
    // Wednesday 15:00: second within 24 hours.
    assert_eq!(database.flags("F-2").await, (Some(false), Some(true)));
    // Wednesday 20:00: after the window closes, and third within 24 hours.
    assert_eq!(database.flags("F-3").await, (Some(true), Some(true)));
    // Monday 10:00 in Mexico City.
    assert_eq!(database.flags("F-4").await, (Some(false), Some(false)));
    // Inbound attempts are never checked.
    assert_eq!(database.flags("F-5").await, (None, None));
}

#[tokio::test]
async fn history_import_writes_flags_on_sqlite() {
    check_history_import(&sqlite_backend().await).await;
}

#[tokio::test]
async fn history_import_writes_flags_on_postgres() {
    let backend = postgres_backend("import").await;
    check_history_import(&backend).await;
    drop_postgres_backend("import").await;
}

/// Returns the embedded rules with Colombia's cap raised to 2 calls per 24 hours.
fn colombia_allows_two_calls() -> ContactPolicy {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string("config/jurisdictions/CO.toml").unwrap();
    let changed = text.replace("per_debt = [{ attempts = 1, days = 1 }]", "per_debt = [{ attempts = 2, days = 1 }]");
    assert_ne!(changed, text, "CO.toml no longer has the cap this test raises");
    std::fs::write(dir.path().join("CO.toml"), changed).unwrap();
    ContactPolicy::load(Some(dir.path())).unwrap()
}

/// Checks that a rule change reaches the stored flags only through a check of every attempt.
/// With two calls a day allowed, Colombia's two cap breaches in the hand ledger disappear.
async fn check_rule_change(backend: &Backend) {
    build_hand_ledger(backend).await;
    check_whole_ledger(backend).await;
    let store = backend.store.as_ref();
    let changed = colombia_allows_two_calls();

    let unchecked = store.check_compliance(&changed, CheckScope::Unchecked).await.unwrap();
    assert_eq!(unchecked, CheckCounts::default());
    let stale = store.compliance_counts(&changed, &two_weeks()).await.unwrap();
    assert_eq!(stale.cap_breaches, 7);

    // Every outbound attempt, in range or not: Mexico 3, Colombia 5, Chile 4, New York 5,
    // Massachusetts 6. The attempts outside the range are inside the window and under the caps.
    // Chile's call of Sunday 15 March is both outside the window and over the cap, so 10 are
    // flagged. Only Colombia's two breaches changed.
    let all = store.check_compliance(&changed, CheckScope::All).await.unwrap();
    let expected = CheckCounts { debts: 5, attempts: 23, outside_window: 6, over_cap: 5, flagged: 10, changed: 2 };
    assert_eq!(all, expected);
    let rechecked = store.compliance_counts(&changed, &two_weeks()).await.unwrap();
    assert_eq!(rechecked.outbound_attempts, 20);
    assert_eq!(rechecked.outside_window, 6);
    assert_eq!(rechecked.cap_breaches, 5);
}

#[tokio::test]
async fn rule_change_needs_full_recheck_on_sqlite() {
    check_rule_change(&sqlite_backend().await).await;
}

#[tokio::test]
async fn rule_change_needs_full_recheck_on_postgres() {
    let backend = postgres_backend("rules").await;
    check_rule_change(&backend).await;
    drop_postgres_backend("rules").await;
}

/// Adds an attempt after a check and counts again, which checks it and the debt's later
/// attempts. Chile allows one call per 7 days. A call on Tuesday 10 March breaches, because
/// 4 March is 6 days before, and it makes the call of 11 March a breach too.
async fn check_late_attempt(backend: &Backend) {
    build_hand_ledger(backend).await;
    check_whole_ledger(backend).await;
    let store = backend.store.as_ref();
    let debt = debt_of(store, CHILE).await;
    insert_attempt(store, debt, CHILE, Direction::Outbound, utc(3, 10, 15, 0)).await;

    let counts = counters(backend, &two_weeks()).await.counts;
    assert_eq!(counts.outbound_attempts, 21);
    assert_eq!(counts.outside_window, 6);
    assert_eq!(counts.cap_breaches, 9);
    assert_eq!(counts.debts_attempted, 5);
}

#[tokio::test]
async fn late_attempt_is_counted_checked_on_sqlite() {
    check_late_attempt(&sqlite_backend().await).await;
}

#[tokio::test]
async fn late_attempt_is_counted_checked_on_postgres() {
    let backend = postgres_backend("late").await;
    check_late_attempt(&backend).await;
    drop_postgres_backend("late").await;
}

/// Moves a debtor to another region and counts again, which checks their attempts again.
/// Massachusetts allows 2 calls per 7 days, so the New York debtor's call of Monday 9 March,
/// the third in 7 days, breaches. The call of 15 March has only the one of 9 March within 7
/// days before it.
async fn check_moved_debtor(backend: &Backend) {
    build_hand_ledger(backend).await;
    check_whole_ledger(backend).await;
    let store = backend.store.as_ref();
    let moved = Place { region: "MA", ..NEW_YORK };
    store.import_portfolio(&[portfolio_row(moved, NEW_YORK.debtor_id)]).await.unwrap();

    let counts = counters(backend, &two_weeks()).await.counts;
    assert_eq!(counts.outbound_attempts, 20);
    assert_eq!(counts.outside_window, 6);
    assert_eq!(counts.cap_breaches, 8);
}

#[tokio::test]
async fn moved_debtor_is_rechecked_on_sqlite() {
    check_moved_debtor(&sqlite_backend().await).await;
}

#[tokio::test]
async fn moved_debtor_is_rechecked_on_postgres() {
    let backend = postgres_backend("moved").await;
    check_moved_debtor(&backend).await;
    drop_postgres_backend("moved").await;
}

/// One random attempt: which debt, when (minutes from the range's start, which may be before
/// or after it), its direction, campaign and segment.
#[derive(Debug, Clone)]
struct RandomAttempt {
    debt: usize,
    minutes: i64,
    outbound: bool,
    campaign: Option<&'static str>,
    segment: Option<&'static str>,
}

/// A random ledger: one debt per place plus a second for Mexico and Colombia, attempts, and
/// voice opt-outs per place.
#[derive(Debug, Clone)]
struct RandomLedger {
    attempts: Vec<RandomAttempt>,
    opt_outs: Vec<(usize, i64)>,
    filter_country: Option<&'static str>,
    filter_campaign: Option<&'static str>,
    filter_segment: Option<&'static str>,
}

const DEBTS: usize = PLACES.len() + 2;
/// The range is the 14 days from 2 March 2026. Attempts fall from 8 days before it to 2 after.
const RANGE_DAYS: i64 = 14;

fn range_start() -> DateTime<Utc> {
    utc(3, 2, 0, 0)
}

fn random_ledger() -> impl Strategy<Value = RandomLedger> {
    let minutes = -8 * 24 * 60..(RANGE_DAYS + 2) * 24 * 60;
    // Half the attempts fall on two UTC hours of the days around the range's start, so equal
    // start times and cap periods that end exactly at another attempt happen often.
    let on_grid = (-3..11_i64, prop::sample::select(vec![14_i64, 20])).prop_map(|(day, hour)| (day * 24 + hour) * 60);
    let started = prop_oneof![minutes.clone(), on_grid];
    let label = prop::option::of(prop::sample::select(vec!["a", "b"]));
    let one_attempt = (0..DEBTS, started, prop::bool::weighted(0.9), label.clone(), label).prop_map(
        |(debt, minutes, outbound, campaign, segment)| RandomAttempt { debt, minutes, outbound, campaign, segment },
    );
    // Opt-outs fall inside the range, where they are counted.
    let opt_out = (0..PLACES.len(), 0..RANGE_DAYS * 24 * 60);
    // Filters are unset most of the time, so most cases count many attempts.
    let country = prop::option::weighted(0.3, prop::sample::select(vec!["MX", "CO", "CL", "US"]));
    let filter_label = || prop::option::weighted(0.3, prop::sample::select(vec!["a", "b"]));
    (
        prop::collection::vec(one_attempt, 20..80),
        prop::collection::vec(opt_out, 0..5),
        country,
        filter_label(),
        filter_label(),
    )
        .prop_map(|(attempts, opt_outs, filter_country, filter_campaign, filter_segment)| RandomLedger {
            attempts,
            opt_outs,
            filter_country,
            filter_campaign,
            filter_segment,
        })
}

impl RandomLedger {
    fn filter(&self) -> ComplianceFilter {
        ComplianceFilter {
            from: range_start(),
            to: range_start() + Duration::days(RANGE_DAYS),
            country: self.filter_country.map(str::to_string),
            campaign: self.filter_campaign.map(str::to_string),
            segment: self.filter_segment.map(str::to_string),
        }
    }

    fn place(debt: usize) -> Place {
        PLACES[debt % PLACES.len()]
    }

    fn started_at(attempt: &RandomAttempt) -> DateTime<Utc> {
        range_start() + Duration::minutes(attempt.minutes)
    }

    /// Returns the first opt-out of each place, because the store keeps only the first per
    /// debtor and channel.
    fn first_opt_outs(&self) -> Vec<(Place, DateTime<Utc>)> {
        let mut first: Vec<(Place, DateTime<Utc>)> = Vec::new();
        for (place, minutes) in &self.opt_outs {
            let place = PLACES[*place];
            let at = range_start() + Duration::minutes(*minutes);
            if !first.iter().any(|(seen, _)| *seen == place) {
                first.push((place, at));
            }
        }
        first
    }

    async fn write(&self, backend: &Backend) {
        let store = backend.store.as_ref();
        let rows: Vec<PortfolioRow> =
            (0..DEBTS).map(|debt| portfolio_row(RandomLedger::place(debt), &format!("ACC-{debt}"))).collect();
        store.import_portfolio(&rows).await.unwrap();
        let accounts = store.accounts().await.unwrap();
        for attempt in &self.attempts {
            let account_ref = format!("ACC-{}", attempt.debt);
            let debt_id = accounts.iter().find(|account| account.debt.account_ref == account_ref).unwrap().debt.id;
            let direction = if attempt.outbound { Direction::Outbound } else { Direction::Inbound };
            let place = RandomLedger::place(attempt.debt);
            let id = insert_attempt(store, debt_id, place, direction, RandomLedger::started_at(attempt)).await;
            if attempt.campaign.is_some() || attempt.segment.is_some() {
                backend.database.tag(id, attempt.campaign, attempt.segment).await;
            }
        }
        for (place, at) in self.first_opt_outs() {
            store.record_opt_out(&DebtorId(place.debtor_id.to_string()), "voice", at).await.unwrap();
        }
    }

    /// Computes the counts by brute force, straight from the formulas.
    fn reference_counts(&self) -> LedgerCounts {
        let policy = ContactPolicy::embedded().unwrap();
        let filter = self.filter();
        let outbound: Vec<&RandomAttempt> = self.attempts.iter().filter(|attempt| attempt.outbound).collect();
        let matches = |wanted: Option<&str>, value: Option<&str>| wanted.is_none() || wanted == value;
        let mut counts = LedgerCounts::default();
        let mut debts = std::collections::BTreeSet::new();

        for attempt in &outbound {
            let place = RandomLedger::place(attempt.debt);
            let started_at = RandomLedger::started_at(attempt);
            let in_scope = started_at >= filter.from
                && started_at < filter.to
                && matches(self.filter_country, Some(place.country))
                && matches(self.filter_campaign, attempt.campaign)
                && matches(self.filter_segment, attempt.segment);
            if !in_scope {
                continue;
            }
            counts.outbound_attempts += 1;
            debts.insert(attempt.debt);
            let rules = policy.rules_for(place.country, place.region).unwrap();
            if !window_allows(rules, started_at.with_timezone(&place.time_zone).naive_local()) {
                counts.outside_window += 1;
            }
            let breach = rules.caps_per_debt.iter().any(|cap| {
                let in_period = outbound
                    .iter()
                    .filter(|other| other.debt == attempt.debt)
                    .map(|other| RandomLedger::started_at(other))
                    .filter(|other| *other > started_at - cap.period() && *other <= started_at)
                    .count();
                in_period as u64 > u64::from(cap.attempts)
            });
            if breach {
                counts.cap_breaches += 1;
            }
        }
        counts.debts_attempted = debts.len() as u64;

        for (place, at) in self.first_opt_outs() {
            if at < filter.from || at >= filter.to || !matches(self.filter_country, Some(place.country)) {
                continue;
            }
            counts.voice_opt_outs += 1;
            let later: Vec<DateTime<Utc>> = outbound
                .iter()
                .filter(|attempt| RandomLedger::place(attempt.debt) == place)
                .filter(|attempt| matches(self.filter_campaign, attempt.campaign))
                .filter(|attempt| matches(self.filter_segment, attempt.segment))
                .map(|attempt| RandomLedger::started_at(attempt))
                .filter(|started_at| *started_at > at)
                .collect();
            if let Some(last) = later.iter().max() {
                let micros = (*last - at).num_microseconds().unwrap();
                counts.opt_outs_called_after += 1;
                counts.attempts_after_opt_out += later.len() as u64;
                counts.micros_to_last_attempt_total += micros;
                counts.micros_to_last_attempt_max = counts.micros_to_last_attempt_max.max(micros);
            }
        }
        counts
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn random_ledgers_agree_across_backends(ledger in random_ledger()) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (sqlite, postgres) = runtime.block_on(async {
            let sqlite = sqlite_backend().await;
            ledger.write(&sqlite).await;
            let sqlite_counts = counters(&sqlite, &ledger.filter()).await.counts;

            let postgres = postgres_backend("random").await;
            ledger.write(&postgres).await;
            let postgres_counts = counters(&postgres, &ledger.filter()).await.counts;
            drop_postgres_backend("random").await;
            (sqlite_counts, postgres_counts)
        });
        let reference = ledger.reference_counts();
        prop_assert_eq!(sqlite, reference);
        prop_assert_eq!(postgres, reference);
    }
}
