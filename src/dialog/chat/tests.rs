use std::sync::Arc;

use chrono::NaiveDate;

use super::*;
use crate::collections::import::parse_portfolio_bytes;
use crate::collections::sqlite::SqliteStore;
use crate::demo::{SAMPLE_PORTFOLIO, SAMPLE_PORTFOLIO_NAME};

async fn sample_store() -> Arc<SqliteStore> {
    let store = SqliteStore::in_memory().await.expect("store");
    let portfolio = parse_portfolio_bytes(SAMPLE_PORTFOLIO_NAME, SAMPLE_PORTFOLIO).expect("portfolio");
    store.import_portfolio(&portfolio.rows).await.expect("import");
    Arc::new(store)
}

fn setup(debtor: &str) -> ChatSetup {
    ChatSetup {
        debtor: DebtorId(debtor.into()),
        locale: None,
        // Wednesday.
        today: NaiveDate::from_ymd_opt(2026, 12, 2),
        time_of_day: None,
        agency: "Servicios Andinos".into(),
        bot_name: "Sofía".into(),
        settings: DialogSettings::default(),
        policy: PolicyBook::embedded().expect("policy"),
        jurisdictions_dir: None,
        overrides: AccountOverrides::default(),
        transfer_to: None,
    }
}

async fn run_lines(debtor: &str, lines: &str) -> (String, ChatOutcome) {
    let store = sample_store().await;
    let mut output = Vec::new();
    let outcome = run(store, setup(debtor), lines.as_bytes(), &mut output).await.expect("chat runs");
    (String::from_utf8(output).expect("utf-8"), outcome)
}

#[tokio::test]
async fn promise_is_printed_as_json() {
    let lines = "Sí, soy yo.\n#1234\nVoy a pagar el total, cuatro mil quinientos pesos, el viernes\nsí, es correcto\n";
    let (output, outcome) = run_lines("MX-0001", lines).await;
    let last = output.lines().last().expect("a JSON line");
    assert_eq!(
        last,
        r#"{"disposition":"promise_to_pay","right_party_contact":true,"promise":{"amount_minor":450000,"currency":"MXN","due_date":"2026-12-04","installments":[]}}"#
    );
    assert_eq!(outcome.disposition, Disposition::PromiseToPay);
    assert!(output.starts_with("Hola, le saluda Sofía, asistente virtual de Servicios Andinos."), "{output}");
    assert!(output.contains(
        "Listo. Quedó registrado su compromiso de pagar cuatro mil quinientos pesos el viernes 4 de diciembre."
    ));
}

#[tokio::test]
async fn end_of_input_is_a_hang_up() {
    let (output, outcome) = run_lines("MX-0001", "Sí, soy yo.\n").await;
    assert_eq!(outcome.disposition, Disposition::HungUp);
    assert!(
        output.ends_with("{\"disposition\":\"hung_up\",\"right_party_contact\":false,\"promise\":null}\n"),
        "{output}"
    );
}

#[tokio::test]
async fn empty_line_is_silence() {
    let (output, _) = run_lines("MX-0001", "\n...\n").await;
    assert_eq!(output.matches("¿Sigue en la línea?").count(), 2, "{output}");
}

#[tokio::test]
async fn stored_outcome_is_in_the_store() {
    let store = sample_store().await;
    let mut chat = ChatSession::open(store.clone(), setup("MX-0001")).await.expect("open");
    chat.start().await;
    chat.caller("Sí, soy yo.").await;
    chat.caller("#1234").await;
    chat.caller("no debo nada").await;
    assert!(chat.ended());
    let attempt = chat.attempt();
    let outcome = chat.finish().await.expect("finish");
    assert_eq!(outcome.disposition, Disposition::Disputed);
    let stored = store.attempt(attempt).await.expect("read").expect("attempt");
    assert_eq!(stored.disposition, Some(Disposition::Disputed));
    assert!(stored.right_party_contact);
    let debt = store.account_by_debtor(&DebtorId("MX-0001".into())).await.expect("read").expect("account").debt.id;
    assert!(store.disputed(debt).await.expect("read"));
}

#[tokio::test]
async fn unknown_debtor_names_the_fix() {
    let store = sample_store().await;
    let error = run(store, setup("XX-9999"), "".as_bytes(), Vec::new()).await.expect_err("fails");
    assert_eq!(
        error.to_string(),
        "debtor 'XX-9999' is not in the store: import a portfolio with `cobranza import FILE.csv`, or check the id"
    );
}

#[tokio::test]
async fn unknown_locale_lists_the_known() {
    let store = sample_store().await;
    let setup = ChatSetup { locale: Some("fr-FR".into()), ..setup("MX-0001") };
    let error = run(store, setup, "".as_bytes(), Vec::new()).await.expect_err("fails");
    assert_eq!(
        error.to_string(),
        "unknown locale 'fr-FR': use one of es-419, es-MX, es-CO, es-PE, es-CL, es-AR, en-US, en-419, en-MX, en-CO, en-PE, en-CL, en-AR"
    );
}

#[tokio::test]
async fn locale_override_speaks_english() {
    let store = sample_store().await;
    let setup = ChatSetup { locale: Some("en-US".into()), ..setup("MX-0001") };
    let mut output = Vec::new();
    run(store, setup, "".as_bytes(), &mut output).await.expect("runs");
    assert!(String::from_utf8(output).expect("utf-8").starts_with("Hello, this is Sofía"));
}
