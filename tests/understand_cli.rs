//! `cobranza understand` run as a real process: JSON lines on standard output, and exit code 2
//! with a message naming the value for invalid input.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use chrono::Utc;

fn understand(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cobranza"))
        .arg("understand")
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cobranza starts");
    // The command may exit before reading everything (invalid arguments), closing the pipe.
    let _ = child.stdin.take().expect("stdin is piped").write_all(input);
    child.wait_with_output().expect("cobranza exits")
}

fn stdout_lines(output: &Output) -> Vec<String> {
    String::from_utf8(output.stdout.clone()).expect("output is UTF-8").lines().map(str::to_string).collect()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn mexican_lines_print_one_json_object_each() {
    let input = "le puedo dar mil quinientos pesos el viernes\n\n1234\n¿cuánto debo?\npasado mañana le pago todo\n";
    let output = understand(&["--locale", "es-MX", "--today", "2026-12-02"], input.as_bytes());

    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    assert_eq!(
        stdout_lines(&output),
        [
            r#"{"intent":"promise_to_pay","amount_minor":150000,"currency":"MXN","date":"2026-12-04","installments":null,"digits":null}"#,
            r#"{"intent":"unknown","amount_minor":null,"currency":null,"date":null,"installments":null,"digits":null}"#,
            r#"{"intent":"unknown","amount_minor":null,"currency":null,"date":null,"installments":null,"digits":"1234"}"#,
            r#"{"intent":"ask_amount","amount_minor":null,"currency":null,"date":null,"installments":null,"digits":null}"#,
            r#"{"intent":"promise_to_pay","amount_minor":null,"currency":null,"date":"2026-12-04","installments":null,"digits":null}"#,
        ]
    );
}

#[test]
fn country_formats_and_slang_follow_the_locale() {
    let output = understand(&["--locale", "es-CL", "--today", "2026-12-02"], "te pago 150.000 a fin de mes\n".as_bytes());
    assert_eq!(
        stdout_lines(&output),
        [r#"{"intent":"promise_to_pay","amount_minor":150000,"currency":"CLP","date":"2026-12-31","installments":null,"digits":null}"#]
    );

    let input = "en tres cuotas de 200 mil\npuedo pagar dos palos a fin de mes\n";
    let output = understand(&["--locale", "es-CO", "--today", "2026-12-02"], input.as_bytes());
    assert_eq!(
        stdout_lines(&output),
        [
            r#"{"intent":"negotiate","amount_minor":60000000,"currency":"COP","date":null,"installments":3,"digits":null}"#,
            r#"{"intent":"promise_to_pay","amount_minor":200000000,"currency":"COP","date":"2026-12-31","installments":null,"digits":null}"#,
        ]
    );
}

#[test]
fn english_dollars_and_spoken_digits() {
    let input = "I'll send $1,200.50 next Tuesday\r\none two three four\n";
    let output = understand(&["--locale", "en-US", "--today", "2026-12-02"], input.as_bytes());
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        stdout_lines(&output),
        [
            r#"{"intent":"promise_to_pay","amount_minor":120050,"currency":"USD","date":"2026-12-08","installments":null,"digits":null}"#,
            r#"{"intent":"unknown","amount_minor":null,"currency":null,"date":null,"installments":null,"digits":"1234"}"#,
        ]
    );
}

#[test]
fn foreign_currency_is_kept() {
    let output = understand(&["--locale", "es_mx", "--today", "2026-12-02"], "le pago 100 dólares el viernes".as_bytes());
    assert_eq!(
        stdout_lines(&output),
        [r#"{"intent":"promise_to_pay","amount_minor":10000,"currency":"USD","date":"2026-12-04","installments":null,"digits":null}"#]
    );
}

#[test]
fn today_defaults_to_the_zone_date() {
    let before = Utc::now().with_timezone(&chrono_tz::Asia::Tokyo).date_naive();
    let output = understand(&["--locale", "es-PE", "--tz", "Asia/Tokyo"], "le pago hoy\n".as_bytes());
    let after = Utc::now().with_timezone(&chrono_tz::Asia::Tokyo).date_naive();

    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    let line = stdout_lines(&output).join("\n");
    let dates = [before, after].map(|date| format!(r#""date":"{}""#, date.format("%Y-%m-%d")));
    assert!(dates.iter().any(|date| line.contains(date.as_str())), "{line} has none of {dates:?}");
}

#[test]
fn unknown_locale_exits_2_naming_it() {
    let output = understand(&["--locale", "es-ES"], b"hola\n");
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    let message = stderr(&output);
    assert!(message.contains("unknown locale 'es-ES'"), "{message}");
    assert!(message.contains("es-MX, es-CO, es-PE, es-CL, es-AR, en-US"), "{message}");
}

#[test]
fn invalid_date_exits_2_naming_it() {
    let output = understand(&["--locale", "es-MX", "--today", "2026-13-01"], b"hola\n");
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(message.contains("invalid date '2026-13-01'"), "{message}");
    assert!(message.contains("YYYY-MM-DD"), "{message}");
}

#[test]
fn unknown_zone_exits_2_naming_it() {
    let output = understand(&["--locale", "es-MX", "--tz", "Mars/Olympus"], b"hola\n");
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(message.contains("unknown time zone 'Mars/Olympus'"), "{message}");
    assert!(message.contains("America/Bogota"), "{message}");
}

#[test]
fn non_utf8_line_exits_2_after_earlier_lines() {
    let output = understand(&["--locale", "es-AR", "--today", "2026-12-02"], b"chau\n\xffhola\xfe\nno\n");
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stdout_lines(&output),
        [r#"{"intent":"goodbye","amount_minor":null,"currency":null,"date":null,"installments":null,"digits":null}"#]
    );
    let message = stderr(&output);
    assert!(message.contains("input line 2 is not valid UTF-8"), "{message}");
}

#[test]
fn help_documents_the_reading_rules() {
    let output = Command::new(env!("CARGO_BIN_EXE_cobranza")).args(["understand", "--help"]).output().expect("runs");
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(help.contains("single-digit words"), "{help}");
    assert!(help.contains("An empty line prints"), "{help}");
    assert!(help.contains("name no number without a debt"), "{help}");
}
