//! Importing portfolio files end to end: the sample fixture, a file with one bad row in both
//! import modes, and the file-level errors, each with its exact message.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use tempfile::TempDir;

use cobranza::collections::import::{
    import_portfolio_file, import_portfolio_file_as_of, parse_portfolio_as_of, ImportMode, RowError,
};
use cobranza::collections::model::{Currency, DebtorId, Money};
use cobranza::collections::sqlite::SqliteStore;
use cobranza::collections::store::Store;

const FIXTURE: &str = "fixtures/portfolio.csv";

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 2).unwrap()
}

async fn fresh_store(dir: &TempDir) -> SqliteStore {
    SqliteStore::open(&dir.path().join("cobranza.db")).await.unwrap()
}

/// A copy of the fixture in `dir` with line 14 (debtor MX-0009) given the balance `12,5O`.
fn fixture_with_bad_balance(dir: &TempDir) -> PathBuf {
    let text = std::fs::read_to_string(FIXTURE).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    assert!(lines[13].starts_with("MX-0009,"), "line 14 is {}", lines[13]);
    lines[13] = lines[13].replace(",9800.00,", ",\"12,5O\",");
    let path = dir.path().join("portfolio.csv");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

fn write(dir: &TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[tokio::test]
async fn fixture_imports_fully() {
    let dir = tempfile::tempdir().unwrap();
    let store = fresh_store(&dir).await;
    let report = import_portfolio_file(&store, Path::new(FIXTURE), ImportMode::AllOrNothing).await.unwrap();

    assert_eq!(report.debtors, 53);
    assert_eq!(report.debts, 56);
    assert_eq!(report.rejected, vec![]);
    assert_eq!(report.ignored_columns, Vec::<String>::new());
    assert_eq!(report.to_string(), "fixtures/portfolio.csv: imported 53 debtors and 56 debts");

    let accounts = store.accounts().await.unwrap();
    assert_eq!(accounts.len(), 56);
    for (country, expected) in [("MX", 10), ("CO", 10), ("PE", 10), ("CL", 10), ("US", 10), ("AR", 3)] {
        let mut debtors: Vec<&DebtorId> =
            accounts.iter().filter(|a| a.debtor.country == country).map(|a| &a.debtor.id).collect();
        debtors.dedup();
        assert_eq!(debtors.len(), expected, "{country}");
    }
}

#[tokio::test]
async fn fixture_argentine_debtor_exact() {
    let dir = tempfile::tempdir().unwrap();
    let store = fresh_store(&dir).await;
    import_portfolio_file(&store, Path::new(FIXTURE), ImportMode::AllOrNothing).await.unwrap();

    let account = store.account_by_debtor(&DebtorId("AR-0002".into())).await.unwrap().unwrap();
    assert_eq!(account.debtor.full_name, "Martín Alejandro Giménez");
    assert_eq!(account.debtor.phone, "+5493515550102");
    assert_eq!(account.debtor.locale, "es-AR");
    assert_eq!(account.debtor.time_zone, chrono_tz::Tz::America__Argentina__Cordoba);
    assert_eq!(account.debtor.national_id_last4, "3907");
    assert_eq!(account.debtor.postal_code, "X5000HKM");
    assert_eq!(account.debt.balance, Money::new(125_000_050, Currency::Ars));
    assert_eq!(account.debt.days_past_due, 75);
    assert_eq!(account.debt.creditor, "Financiera Pampa");
}

#[tokio::test]
async fn fixture_first_debtor_exact() {
    let dir = tempfile::tempdir().unwrap();
    let store = fresh_store(&dir).await;
    import_portfolio_file(&store, Path::new(FIXTURE), ImportMode::AllOrNothing).await.unwrap();

    let account = store.account_by_debtor(&DebtorId("MX-0001".into())).await.unwrap().unwrap();
    assert_eq!(account.debtor.full_name, "María Fernanda López Ruiz");
    assert_eq!(account.debtor.first_name(), "María");
    assert_eq!(account.debtor.locale, "es-MX");
    assert_eq!(account.debtor.time_zone, chrono_tz::Tz::America__Mexico_City);
    assert_eq!(account.debtor.national_id_last4, "1234");
    assert_eq!(account.debt.balance, Money::new(450_000, Currency::Mxn));
    assert_eq!(account.debt.days_past_due, 45);
    assert_eq!(account.debt.creditor, "Banco Aurora");
    assert_eq!(account.debt.product, "tarjeta de crédito");
}

#[test]
fn fixture_persona_rows_fit_demo() {
    let parsed = parse_portfolio_as_of(Path::new(FIXTURE), today()).unwrap();
    assert_eq!(parsed.rows[0].debtor.id, DebtorId("MX-0001".into()));
    for row in &parsed.rows[..6] {
        let id = &row.debtor.id;
        assert!(["es-MX", "es-CO", "es-PE", "es-CL"].contains(&row.debtor.locale.as_str()), "{id}");
        assert_eq!(row.debtor.national_id_last4, "1234", "{id}");
        assert_eq!(row.debt.balance.minor_part(), 0, "{id}");
    }
}

#[test]
fn fixture_phones_are_fictional() {
    let parsed = parse_portfolio_as_of(Path::new(FIXTURE), today()).unwrap();
    for row in &parsed.rows {
        let phone = &row.debtor.phone;
        match row.debtor.country.as_str() {
            "MX" => assert!(phone.starts_with("+52555"), "{phone}"),
            // 555-0100 to 555-0199 are reserved for fiction in the North American plan.
            "US" => assert_eq!(&phone[5..10], "55501", "{phone}"),
            _ => assert!(phone.contains("555"), "{phone}"),
        }
    }
}

#[tokio::test]
async fn bad_row_imports_nothing_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let path = fixture_with_bad_balance(&dir);
    let store = fresh_store(&dir).await;

    let error = import_portfolio_file_as_of(&store, &path, ImportMode::AllOrNothing, today()).await.unwrap_err();
    let file = path.display();
    assert_eq!(
        error.to_string(),
        format!(
            "{file}: 1 row is invalid, so nothing was imported; fix the rows or pass \
             --valid-rows-only\n\
             {file} line 14, column balance: balance '12,5O' is not a number: use digits and a \
             dot, like 12500.50"
        )
    );
    assert_eq!(store.accounts().await.unwrap(), vec![]);
}

#[tokio::test]
async fn bad_row_reported_with_location() {
    let dir = tempfile::tempdir().unwrap();
    let path = fixture_with_bad_balance(&dir);
    let parsed = parse_portfolio_as_of(&path, today()).unwrap();
    assert_eq!(
        parsed.rejected,
        vec![RowError {
            file: path.display().to_string(),
            line: 14,
            column: "balance".into(),
            value: "12,5O".into(),
            problem: "balance '12,5O' is not a number: use digits and a dot, like 12500.50".into(),
        }]
    );
}

#[tokio::test]
async fn valid_rows_only_imports_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let path = fixture_with_bad_balance(&dir);
    let store = fresh_store(&dir).await;

    let report = import_portfolio_file_as_of(&store, &path, ImportMode::ValidRowsOnly, today()).await.unwrap();
    assert_eq!(report.debtors, 52);
    assert_eq!(report.debts, 55);
    assert_eq!(report.rejected_rows(), 1);
    let file = path.display();
    assert_eq!(
        report.to_string(),
        format!(
            "{file}: imported 52 debtors and 55 debts\n\
             left out 1 invalid row:\n\
             {file} line 14, column balance: balance '12,5O' is not a number: use digits and a \
             dot, like 12500.50"
        )
    );
    assert_eq!(store.accounts().await.unwrap().len(), 55);
    assert_eq!(store.account_by_debtor(&DebtorId("MX-0009".into())).await.unwrap(), None);
}

#[tokio::test]
async fn missing_file_error() {
    let dir = tempfile::tempdir().unwrap();
    let store = fresh_store(&dir).await;
    let path = dir.path().join("cartera.csv");
    let error = import_portfolio_file(&store, &path, ImportMode::AllOrNothing).await.unwrap_err();
    assert_eq!(error.to_string(), format!("portfolio file {} not found: check the path", path.display()));
}

#[tokio::test]
async fn empty_file_error() {
    let dir = tempfile::tempdir().unwrap();
    let store = fresh_store(&dir).await;
    let path = write(&dir, "empty.csv", b"");
    let error = import_portfolio_file(&store, &path, ImportMode::AllOrNothing).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("{} is empty: write the header line, then one line per debt", path.display())
    );
}

#[tokio::test]
async fn missing_columns_error() {
    let dir = tempfile::tempdir().unwrap();
    let store = fresh_store(&dir).await;
    let path = write(&dir, "short.csv", b"debtor_id,full_name,phone\nMX-1,Ana,+525550100001\n");
    let error = import_portfolio_file(&store, &path, ImportMode::ValidRowsOnly).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "{} is missing the columns country, region, locale, national_id_last4, birth_date, \
             postal_code, creditor, product, account_ref, balance, currency, days_past_due, \
             call_consent, authorised_channels in its header line: add them (in any order)",
            path.display()
        )
    );
}

#[tokio::test]
async fn non_utf8_file_error() {
    let dir = tempfile::tempdir().unwrap();
    let store = fresh_store(&dir).await;
    let text = std::fs::read(FIXTURE).unwrap();
    // The fixture re-encoded as Windows-1252 would carry 0xE9 for "é"; one such byte is enough.
    let mut bytes = text.clone();
    let third_line = bytes.iter().enumerate().filter(|(_, b)| **b == b'\n').nth(1).unwrap().0 + 1;
    bytes.insert(third_line + 10, 0xE9);
    let path = write(&dir, "latin1.csv", &bytes);
    let error = import_portfolio_file(&store, &path, ImportMode::ValidRowsOnly).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("{} is not UTF-8 text (line 3 has an invalid byte): save it as CSV UTF-8", path.display())
    );
    assert_eq!(store.accounts().await.unwrap(), vec![]);
}

#[tokio::test]
async fn unclosed_quote_rejects_whole_file() {
    let text = std::fs::read_to_string(FIXTURE).expect("fixture readable");
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines[2] = lines[2].replacen(",", ",\"", 1);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("quoted.csv");
    std::fs::write(&path, lines.join("\n")).expect("write");
    let store = fresh_store(&dir).await;

    let error = import_portfolio_file(&store, &path, ImportMode::ValidRowsOnly).await.expect_err("rejected");
    assert_eq!(
        error.to_string(),
        format!(
            "{} line 3 opens a double quote that is not closed on that line, so the lines after it cannot be \
             read: close the quote or remove it; nothing was imported",
            path.display()
        )
    );
    assert!(store.accounts().await.expect("read").is_empty());
}
