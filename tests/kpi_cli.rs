//! `cobranza kpi` against a real SQLite store: the figures it prints are the KPI module's over
//! the same rows, filtered by date range and country.

use std::process::Command;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use serde_json::Value;

use cobranza::collections::import::parse_portfolio_bytes;
use cobranza::collections::model::{DebtorId, Disposition, Promise};
use cobranza::collections::sqlite::SqliteStore;
use cobranza::collections::{AttemptOutcome, NewAttempt, Store};
use cobranza::cost::{CostCategory, CostLine};
use cobranza::demo::{SAMPLE_PORTFOLIO, SAMPLE_PORTFOLIO_NAME};
use cobranza::kpi;

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

#[tokio::test]
async fn printed_figures_match_kpi_module() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store_with_calls(dir.path()).await;
    let printed = kpi_json(dir.path(), &["--from", "2026-12-01", "--to", "2026-12-02"]);

    let (start, end) = (at(1, 0), at(3, 0));
    let expected = kpi::compute(
        &store.attempts_between(start, end).await.expect("read"),
        &store.promises_between(start, end).await.expect("read"),
    );
    assert_eq!(printed["kpis"], serde_json::to_value(&expected).expect("serialises"));
    assert_eq!(printed["kpis"]["dials"], 2);
    assert_eq!(printed["kpis"]["promises"], 1);
    assert_eq!(printed["kpis"]["total_cost_micros"], 56_000);
    assert_eq!(printed["kpis"]["average_handle_seconds"], 120.0);
    assert_eq!(printed["kpis"]["cost_per_promise"]["micros"], 56_000);
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
    assert_eq!(buckets.len(), 5);
    assert_eq!(buckets[0]["label"], "1-30");
    let counted: u64 = buckets.iter().map(|bucket| bucket["debts"].as_u64().expect("count")).sum();
    let late = store.accounts().await.expect("read").iter().filter(|account| account.debt.days_past_due > 0).count();
    assert_eq!(counted, late as u64);
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
