//! `cobranza kpi` against a real SQLite store: the figures it prints are the KPI module's over
//! the same rows, filtered by date range and country, with series per day and hour, and the
//! demo summary prints the same report.

use std::process::Command;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use serde_json::Value;

use cobranza::collections::import::parse_portfolio_bytes;
use cobranza::collections::model::{DebtorId, Disposition, Promise};
use cobranza::collections::sqlite::SqliteStore;
use cobranza::collections::{AttemptOutcome, NewAttempt, Store};
use cobranza::config::Config;
use cobranza::cost::{CostCategory, CostLine};
use cobranza::demo::{SAMPLE_PORTFOLIO, SAMPLE_PORTFOLIO_NAME};
use cobranza::kpi::{self, KpiFilter, UsdRates};

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, day, hour, 0, 0).single().expect("valid instant")
}

/// Calls three debtors on 1 and 2 December: a promise from MX-0001 (3 minutes), a wrong number
/// at PE-0001 (1 minute), and an unanswered call to MX-0002 on 10 December.
async fn store_with_calls(dir: &std::path::Path) -> SqliteStore {
    let store = SqliteStore::open(&dir.join("cobranza.db")).await.expect("store opens");
    let portfolio = parse_portfolio_bytes(SAMPLE_PORTFOLIO_NAME, SAMPLE_PORTFOLIO).expect("fixture parses");
    store.import_portfolio(&portfolio.rows).await.expect("fixture imports");

    let calls = [
        ("MX-0001", at(1, 16), 180, Disposition::PromiseToPay, true, true),
        ("PE-0001", at(2, 15), 60, Disposition::WrongNumber, true, false),
        ("MX-0002", at(10, 16), 30, Disposition::NoResponse, false, false),
    ];
    for (debtor, started, seconds, disposition, answered, right_party) in calls {
        let account = store.account_by_debtor(&DebtorId(debtor.into())).await.expect("read").expect("debtor");
        let id = store.create_attempt(&NewAttempt::outbound(&account, started)).await.expect("attempt");
        if disposition == Disposition::PromiseToPay {
            let promise = Promise {
                debt_id: account.debt.id,
                amount: account.debt.balance,
                due_date: NaiveDate::from_ymd_opt(2026, 12, 4).expect("date"),
                installments: vec![],
            };
            store.store_promise(id, &promise, started + Duration::seconds(120)).await.expect("promise");
        }
        let outcome = AttemptOutcome {
            disposition,
            answered,
            right_party_contact: right_party,
            ended_at: started + Duration::seconds(seconds),
            recording_path: None,
            costs: vec![CostLine {
                category: CostCategory::Telephony,
                provider: "twilio".into(),
                quantity: 60 * (seconds as u64).div_ceil(60),
                cost_micros: 14_000 * (seconds as u64).div_ceil(60),
            }],
        };
        store.finish_attempt(id, &outcome).await.expect("finished");
    }
    store
}

fn kpi_json(dir: &std::path::Path, extra: &[&str]) -> Value {
    let output = Command::new(env!("CARGO_BIN_EXE_cobranza"))
        .arg("--data-dir")
        .arg(dir)
        .args(["kpi", "--json"])
        .args(extra)
        .output()
        .expect("cobranza runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("one JSON object")
}

fn kpi_text(dir: &std::path::Path, extra: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_cobranza"))
        .arg("--data-dir")
        .arg(dir)
        .arg("kpi")
        .args(extra)
        .output()
        .expect("cobranza runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("valid date")
}

#[tokio::test]
async fn printed_figures_match_kpi_module() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store_with_calls(dir.path()).await;
    let printed = kpi_json(dir.path(), &["--from", "2026-12-01", "--to", "2026-12-02"]);

    let filter = KpiFilter::days(day("2026-12-01"), day("2026-12-02"));
    let rates = UsdRates::from_config(&Config::embedded());
    let policy = cobranza::policy::ContactPolicy::embedded().expect("compiled-in rules");
    let expected = kpi::report_with_compliance(&store, &filter, None, &rates, &policy).await.expect("report");
    assert_eq!(printed, serde_json::to_value(&expected).expect("serialises"));
    assert_eq!(printed["kpis"]["dials"], 2);
    assert_eq!(printed["kpis"]["connects"], 2);
    assert_eq!(printed["kpis"]["contacts"], 2);
    assert_eq!(printed["kpis"]["right_party_contacts"], 1);
    assert_eq!(printed["kpis"]["promises"], 1);
    assert_eq!(printed["kpis"]["total_cost_micros"], 56_000);
    assert_eq!(printed["kpis"]["average_handle_seconds"], 120.0);
    assert_eq!(printed["kpis"]["cost_per_promise"]["micros"], 56_000);
    assert_eq!(printed["kpis"]["amount_collected"], serde_json::json!([]));
    assert_eq!(printed["kpis"]["cost_to_collect"]["value"], Value::Null);
    // The two calls in range ran at 10:00 local time (16:00 UTC in Mexico City, 15:00 in Lima):
    // inside both windows, one call per debt.
    assert_eq!(printed["compliance"]["counts"]["outbound_attempts"], 2);
    assert_eq!(printed["compliance"]["counts"]["outside_window"], 0);
    assert_eq!(printed["compliance"]["counts"]["cap_breaches"], 0);
    assert_eq!(printed["compliance"]["counts"]["voice_opt_outs"], 0);
}

#[tokio::test]
async fn text_report_states_denominators() {
    let dir = tempfile::tempdir().expect("tempdir");
    store_with_calls(dir.path()).await;
    let text = kpi_text(dir.path(), &["--from", "2026-12-01", "--to", "2026-12-02", "--country", "mx"]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "KPIs from 2026-12-01 to 2026-12-02 for country MX");
    assert_eq!(lines[1], "dials 1, inbound calls 0, connects 1, contacts 1, right-party contacts 1, promises 1");
    assert_eq!(lines[2], "connect rate 100.0% (1 of 1 dials)");
    assert_eq!(lines[5], "promise-to-pay rate 100.0% (1 of 1 right-party contacts)");
    assert!(text.contains("\npromise-kept rate n/a (0 promises due and settled)\n"), "{text}");
    assert!(text.contains("\ncure rate n/a (0 debts past due at the start)\n"), "{text}");
}

#[tokio::test]
async fn country_filter_keeps_its_debts() {
    let dir = tempfile::tempdir().expect("tempdir");
    store_with_calls(dir.path()).await;
    let mexico = kpi_json(dir.path(), &["--from", "2026-12-01", "--to", "2026-12-31", "--country", "mx"]);
    assert_eq!(mexico["country"], "MX");
    assert_eq!(mexico["kpis"]["dials"], 2);
    assert_eq!(mexico["kpis"]["connects"], 1);
    assert_eq!(mexico["kpis"]["promises"], 1);
    let peru = kpi_json(dir.path(), &["--from", "2026-12-01", "--to", "2026-12-31", "--country", "PE"]);
    assert_eq!(peru["kpis"]["dials"], 1);
    assert_eq!(peru["kpis"]["promises"], 0);
    assert_eq!(peru["kpis"]["cost_per_promise"]["micros"], Value::Null);
}

#[tokio::test]
async fn aging_counts_every_debt_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store_with_calls(dir.path()).await;
    let printed = kpi_json(dir.path(), &["--from", "2026-12-01", "--to", "2026-12-02"]);
    let buckets = printed["aging"].as_array().expect("buckets");
    let labels: Vec<&str> = buckets.iter().map(|bucket| bucket["label"].as_str().expect("label")).collect();
    assert_eq!(labels, ["current", "1-30", "31-60", "61-90", "91-120", "121-150", "151-180", "181+"]);
    let counted: u64 = buckets.iter().map(|bucket| bucket["debts"].as_u64().expect("count")).sum();
    let accounts = store.accounts().await.expect("read");
    assert_eq!(counted, accounts.len() as u64);
    let current = accounts.iter().filter(|account| account.debt.days_past_due == 0).count();
    assert_eq!(buckets[0]["debts"], current as u64);
}

#[tokio::test]
async fn day_series_lists_every_day() {
    let dir = tempfile::tempdir().expect("tempdir");
    store_with_calls(dir.path()).await;
    let printed = kpi_json(dir.path(), &["--from", "2026-12-01", "--to", "2026-12-03", "--by", "day"]);
    assert_eq!(printed["series"]["by"], "day");
    let points = printed["series"]["points"].as_array().expect("points");
    let buckets: Vec<&str> = points.iter().map(|point| point["bucket"].as_str().expect("bucket")).collect();
    assert_eq!(buckets, ["2026-12-01", "2026-12-02", "2026-12-03"]);
    let dials: Vec<u64> = points.iter().map(|point| point["dials"].as_u64().expect("dials")).collect();
    assert_eq!(dials, [1, 1, 0]);
    assert_eq!(points[0]["promises"], 1);
    assert_eq!(points[1]["contact_rate"]["value"], 1.0);
    assert_eq!(points[1]["right_party_contact_rate"]["value"], 0.0);
}

#[tokio::test]
async fn hour_series_counts_utc_hours() {
    let dir = tempfile::tempdir().expect("tempdir");
    store_with_calls(dir.path()).await;
    let printed = kpi_json(dir.path(), &["--from", "2026-12-01", "--to", "2026-12-31", "--by", "hour"]);
    let points = printed["series"]["points"].as_array().expect("points");
    assert_eq!(points.len(), 24);
    let dials: Vec<(usize, u64)> = points
        .iter()
        .enumerate()
        .map(|(hour, point)| (hour, point["dials"].as_u64().expect("dials")))
        .filter(|(_, dials)| *dials > 0)
        .collect();
    assert_eq!(dials, [(15, 1), (16, 2)]);
    assert_eq!(points[16]["bucket"], "16");
}

/// The demo prints its KPIs with the report `cobranza kpi` prints over the demo's days, so both
/// show the same figures for the same store.
#[tokio::test]
async fn demo_summary_matches_kpi_command() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store_with_calls(dir.path()).await;
    let now = at(1, 16);
    let config = Config::embedded();
    let demo_report = cobranza::demo::kpi_report(&store, now, &config).await.expect("demo report");
    let filter = cobranza::demo::kpi_filter(now);
    assert_eq!(filter, KpiFilter::days(day("2026-11-30"), day("2026-12-02")));

    let range = ["--from", "2026-11-30", "--to", "2026-12-02"];
    let text = kpi_text(dir.path(), &range);
    assert_eq!(text.trim_end(), demo_report.to_string());
    let printed = kpi_json(dir.path(), &range);
    assert_eq!(printed, serde_json::to_value(&demo_report).expect("serialises"));
    assert_eq!(demo_report.kpis.calls.dials, 2);
    assert_eq!(demo_report.kpis.calls.promises, 1);
    assert_eq!(demo_report.kpis.calls.total_cost_micros, 56_000);
}

#[test]
fn reversed_range_is_rejected() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = Command::new(env!("CARGO_BIN_EXE_cobranza"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["kpi", "--from", "2026-12-05", "--to", "2026-12-01"])
        .output()
        .expect("cobranza runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--from 2026-12-05 is after --to 2026-12-01"), "{stderr}");
}
