//! `cobranza chat` as a user runs it: the binary, a store filled by `cobranza import`, caller
//! lines on standard input.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn cobranza(data_dir: &Path, args: &[&str], input: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cobranza"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env_remove("COBRANZA_DATA_DIR")
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cobranza runs");
    child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("input written");
    child.wait_with_output().expect("cobranza ends")
}

fn imported_store() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let portfolio = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/portfolio.csv");
    let output = cobranza(dir.path(), &["import", portfolio.to_str().expect("utf-8 path")], "");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    dir
}

#[test]
fn chat_prints_bot_lines_and_outcome() {
    let dir = imported_store();
    let input = "Sí, soy yo.\n#1234\nVoy a pagar el total, cuatro mil quinientos pesos, el viernes\nsí, es correcto\n";
    let output = cobranza(dir.path(), &["chat", "--debtor", "MX-0001", "--today", "2026-12-02"], input);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8(output.stdout).expect("utf-8");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines[0],
        "Hola, le saluda Sofía, asistente virtual de Servicios Andinos. Esta llamada es grabada. ¿Hablo con María Fernanda López Ruiz?"
    );
    assert_eq!(
        lines.last().copied(),
        Some(
            r#"{"disposition":"promise_to_pay","right_party_contact":true,"promise":{"amount_minor":450000,"currency":"MXN","due_date":"2026-12-04","installments":[]}}"#
        )
    );
}

#[test]
fn chat_prints_stored_callback() {
    let dir = imported_store();
    let input = "llámeme mañana a las 4 de la tarde\n";
    let output = cobranza(dir.path(), &["chat", "--debtor", "MX-0001", "--today", "2026-12-02"], input);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8(output.stdout).expect("utf-8");
    assert_eq!(
        stdout.lines().last(),
        Some(
            r#"{"disposition":"callback_requested","right_party_contact":false,"promise":null,"callback":{"local_time":"2026-12-03T16:00:00"}}"#
        )
    );
}

#[test]
fn unknown_debtor_exits_2() {
    let dir = imported_store();
    let output = cobranza(dir.path(), &["chat", "--debtor", "XX-1"], "");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("debtor 'XX-1' is not in the store: import a portfolio"), "{stderr}");
}

#[test]
fn bad_date_exits_2() {
    let dir = imported_store();
    let output = cobranza(dir.path(), &["chat", "--debtor", "MX-0001", "--today", "02/12/2026"], "");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("'02/12/2026' is not a date: write it as YYYY-MM-DD"), "{stderr}");
}

#[test]
fn bad_locale_exits_2() {
    let dir = imported_store();
    let output = cobranza(dir.path(), &["chat", "--debtor", "MX-0001", "--locale", "pt-BR"], "");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("unknown locale 'pt-BR': use one of es-419, es-MX"), "{stderr}");
}
