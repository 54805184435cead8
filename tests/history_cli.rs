//! The history commands of the `cobranza` binary against a SQLite store in a temporary
//! directory: what they print, their exit status, and what the store contains afterwards.

use std::path::Path;
use std::process::{Command, Output};

use chrono::NaiveDate;
use cobranza::collections::history::{HistoryStore, PromiseStatus};
use cobranza::collections::sqlite::SqliteStore;

const HISTORY_SMALL: &str = "tests/fixtures/history-small";

fn cobranza(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cobranza"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env("RUST_LOG", "off")
        .output()
        .expect("cobranza runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("UTF-8 output")
}

fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

#[test]
fn import_history_prints_counts() {
    let dir = tempfile::tempdir().unwrap();
    let output = cobranza(dir.path(), &["import-history", HISTORY_SMALL, "--as-of", "2026-03-31"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(
        stdout(&output),
        "tests/fixtures/history-small: history imported\n\
         portfolio: 3 debtors and 4 debts, snapshots dated 2026-03-31\n\
         snapshots: 4 snapshots\n\
         attempts: 6 attempts (0 already stored)\n\
         promises: 5 promises (0 already stored)\n\
         payments: 5 payments (0 already stored)\n\
         do-not-call: 2 numbers (0 already stored)\n\
         as of 2026-03-31: settled 5 promises; 4 changed status\n  \
         now kept: 1\n  now kept_late: 1\n  now partly_kept: 1\n  now broken: 1\n\
         compliance: checked 5 outbound attempts of 4 debts: 0 flagged (0 outside the calling window, \
         0 over a cap), 5 changed\n"
    );
}

#[test]
fn compliance_check_rechecks_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let imported = cobranza(dir.path(), &["import-history", HISTORY_SMALL, "--as-of", "2026-03-31"]);
    assert!(imported.status.success(), "{}", String::from_utf8_lossy(&imported.stderr));

    // The import checked every attempt, so nothing is left unchecked.
    let output = cobranza(dir.path(), &["compliance-check"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(
        stdout(&output),
        "checked 0 outbound attempts of 0 debts: 0 flagged (0 outside the calling window, 0 over a cap), 0 changed\n"
    );

    // The 5 outbound calls of the 4 debts, all within the rules and unchanged.
    let output = cobranza(dir.path(), &["compliance-check", "--all"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(
        stdout(&output),
        "checked 5 outbound attempts of 4 debts: 0 flagged (0 outside the calling window, 0 over a cap), 0 changed\n"
    );
}

#[tokio::test]
async fn settle_promises_sweeps_store() {
    let dir = tempfile::tempdir().unwrap();
    let imported = cobranza(dir.path(), &["import-history", HISTORY_SMALL, "--as-of", "2026-03-31"]);
    assert!(imported.status.success(), "{}", String::from_utf8_lossy(&imported.stderr));

    // The open promise of HS-MX-1 is due on 10 April, so three grace days later it is partly kept.
    let output = cobranza(dir.path(), &["settle-promises", "--as-of", "2026-04-14"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(stdout(&output), "as of 2026-04-14: settled 5 promises; 1 changed status\n  now partly_kept: 1\n");

    let store = SqliteStore::open(&dir.path().join("cobranza.db")).await.unwrap();
    let partly =
        store.promises_with_status(PromiseStatus::PartlyKept, day("2026-04-14"), day("2026-04-14")).await.unwrap();
    assert_eq!(partly.len(), 1);
    assert_eq!(partly[0].settlement.kept_minor, 200_000);
}

#[test]
fn invalid_payment_fails_with_line() {
    let dir = tempfile::tempdir().unwrap();
    let portfolio =
        cobranza(dir.path(), &["import", "tests/fixtures/history-small/portfolio.csv", "--as-of", "2026-03-31"]);
    assert!(portfolio.status.success(), "{}", String::from_utf8_lossy(&portfolio.stderr));
    let file = dir.path().join("payments.csv");
    std::fs::write(
        &file,
        "payment_ref,account_ref,paid_on,amount,currency,channel\nP-1,HS-MX-1,2026-03-09,-1,MXN,OXXO\n",
    )
    .unwrap();

    let output = cobranza(dir.path(), &["import-payments", file.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout(&output), "");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(
        stderr,
        format!(
            "error: {file}: 1 row is invalid, so nothing was imported; fix the rows or pass --valid-rows-only\n\
             {file} line 2, column amount: amount '-1' is not greater than zero: write the amount, like 12500.50\n",
            file = file.display()
        )
    );
}

#[test]
fn import_dnc_adds_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let file = format!("{HISTORY_SMALL}/do_not_call.csv");
    let output = cobranza(dir.path(), &["import-dnc", &file]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(stdout(&output), format!("{file}: added 2 numbers to the do-not-call list (0 already on it)\n"));
}
