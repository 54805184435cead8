//! Parser behaviour over whole files: line numbers, header problems, rows that must agree, and
//! property tests for arbitrary input and for round trips of valid rows.

use std::collections::HashMap;

use chrono::NaiveDate;
use chrono_tz::Tz;
use proptest::prelude::*;

use super::country::Country;
use super::header::Column;
use super::*;
use crate::collections::model::{Currency, DebtorId};

const FILE: &str = "portfolio.csv";

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 2).unwrap()
}

fn header() -> String {
    Column::ALL.iter().map(|column| column.name()).collect::<Vec<_>>().join(",")
}

/// Builds a valid line for debtor MX-0001 with `changes` applied, in header order.
fn line(changes: &[(&str, &str)]) -> String {
    let mut cells: Vec<(&str, String)> = vec![
        ("debtor_id", "MX-0001".into()),
        ("full_name", "María Fernanda López Ruiz".into()),
        ("phone", "+525550100001".into()),
        ("country", "MX".into()),
        ("region", "Ciudad de México".into()),
        ("locale", "es-MX".into()),
        ("time_zone", "America/Mexico_City".into()),
        ("national_id_last4", "1234".into()),
        ("birth_date", "1986-04-12".into()),
        ("postal_code", "06700".into()),
        ("creditor", "Banco Aurora".into()),
        ("product", "tarjeta de crédito".into()),
        ("account_ref", "BA-TC-100001".into()),
        ("balance", "4500.00".into()),
        ("currency", "MXN".into()),
        ("days_past_due", "45".into()),
        ("call_consent", "true".into()),
        ("authorised_channels", "voice;sms".into()),
    ];
    for (name, value) in changes {
        let cell = cells.iter_mut().find(|(column, _)| column == name).expect("known column");
        cell.1 = value.to_string();
    }
    cells.into_iter().map(|(_, value)| quote(&value)).collect::<Vec<_>>().join(",")
}

fn quote(value: &str) -> String {
    if value.contains([',', '"', '\n']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

fn file(lines: &[String]) -> Vec<u8> {
    let mut text = header();
    for line in lines {
        text.push('\n');
        text.push_str(line);
    }
    text.push('\n');
    text.into_bytes()
}

fn parse(bytes: &[u8]) -> Result<ParsedPortfolio, ImportError> {
    parse_portfolio_bytes_as_of(FILE, bytes, today())
}

#[test]
fn valid_row_parsed_exactly() {
    let parsed = parse(&file(&[line(&[])])).unwrap();
    assert_eq!(parsed.rejected, vec![]);
    assert_eq!(parsed.rows.len(), 1);
    let row = &parsed.rows[0];
    assert_eq!(
        row.debtor,
        Debtor {
            id: DebtorId("MX-0001".into()),
            full_name: "María Fernanda López Ruiz".into(),
            phone: "+525550100001".into(),
            country: "MX".into(),
            region: "Ciudad de México".into(),
            locale: "es-MX".into(),
            time_zone: Tz::America__Mexico_City,
            national_id_last4: "1234".into(),
            birth_date: NaiveDate::from_ymd_opt(1986, 4, 12).unwrap(),
            postal_code: "06700".into(),
            call_consent: true,
            authorised_channels: vec!["voice".into(), "sms".into()],
        }
    );
    assert_eq!(
        row.debt,
        NewDebt {
            creditor: "Banco Aurora".into(),
            product: "tarjeta de crédito".into(),
            account_ref: "BA-TC-100001".into(),
            balance: Money::new(450_000, Currency::Mxn),
            days_past_due: 45,
        }
    );
}

#[test]
fn bad_cell_reported_with_location() {
    let parsed = parse(&file(&[line(&[]), line(&[("account_ref", "BA-2"), ("balance", "12,5O")])])).unwrap();
    assert_eq!(parsed.rows.len(), 1);
    assert_eq!(
        parsed.rejected,
        vec![RowError {
            file: FILE.into(),
            line: 3,
            column: "balance".into(),
            value: "12,5O".into(),
            problem: "balance '12,5O' is not a number: use digits and a dot, like 12500.50".into(),
        }]
    );
    assert_eq!(
        parsed.rejected[0].to_string(),
        "portfolio.csv line 3, column balance: balance '12,5O' is not a number: use digits and a \
         dot, like 12500.50"
    );
}

#[test]
fn line_numbers_are_physical() {
    // A blank line and a quoted cell spanning two lines come before the bad row.
    let multi_line = line(&[("account_ref", "BA-2"), ("product", "tarjeta\nde crédito")]);
    let bytes = file(&[line(&[]), String::new(), multi_line, line(&[("account_ref", "BA-3"), ("phone", "555")])]);
    let parsed = parse(&bytes).unwrap();
    let lines: Vec<(u64, &str)> = parsed.rejected.iter().map(|e| (e.line, e.column.as_str())).collect();
    assert_eq!(lines, vec![(4, "product"), (6, "phone")]);
}

#[test]
fn line_numbers_with_crlf_and_blank_lines() {
    let text =
        format!("{}\r\n{}\r\n\r\n\r\n{}\r\n", header(), line(&[]), line(&[("account_ref", "BA-2"), ("phone", "555")]));
    let parsed = parse(text.as_bytes()).unwrap();
    let lines: Vec<u64> = parsed.rejected.iter().map(|e| e.line).collect();
    assert_eq!(lines, vec![5]);
}

#[test]
fn all_problems_of_a_line_reported() {
    let parsed =
        parse(&file(&[line(&[("country", "México"), ("days_past_due", "-1"), ("call_consent", "quizá")])])).unwrap();
    let columns: Vec<&str> = parsed.rejected.iter().map(|e| e.column.as_str()).collect();
    assert_eq!(columns, vec!["country", "days_past_due", "call_consent"]);
    assert_eq!(parsed.rows, vec![]);
}

#[test]
fn crlf_and_byte_order_mark_accepted() {
    let text = format!("\u{feff}{}\r\n{}\r\n", header(), line(&[]));
    let parsed = parse(text.as_bytes()).unwrap();
    assert_eq!(parsed.rows.len(), 1);
    assert_eq!(parsed.rejected, vec![]);
}

#[test]
fn rows_of_only_commas_skipped() {
    let parsed = parse(&file(&[line(&[]), ",".repeat(17)])).unwrap();
    assert_eq!(parsed.rows.len(), 1);
    assert_eq!(parsed.rejected, vec![]);
}

#[test]
fn extra_columns_ignored_and_listed() {
    let text = format!("{},notes\n{},llamar por la tarde\n", header(), line(&[]));
    let parsed = parse(text.as_bytes()).unwrap();
    assert_eq!(parsed.rows.len(), 1);
    assert_eq!(parsed.ignored_columns, vec!["notes".to_string()]);
}

#[test]
fn short_line_rejected_whole() {
    let parsed = parse(&file(&[line(&[]), "MX-0002,Ana".into()])).unwrap();
    assert_eq!(parsed.rejected.len(), 1);
    assert_eq!(
        parsed.rejected[0].to_string(),
        "portfolio.csv line 3: the line has 2 cells but the header has 18: check for a missing \
         or extra comma, and put cells that contain commas in double quotes"
    );
}

#[test]
fn several_debts_of_one_debtor() {
    let second = line(&[
        ("account_ref", "FC-PP-2"),
        ("creditor", "Financiera Cumbre"),
        ("time_zone", ""),
        ("call_consent", "sí"),
    ]);
    let parsed = parse(&file(&[line(&[]), second])).unwrap();
    assert_eq!(parsed.rejected, vec![]);
    assert_eq!(parsed.rows.len(), 2);
    assert_eq!(parsed.rows[0].debtor, parsed.rows[1].debtor);
}

#[test]
fn debtor_rows_must_agree() {
    let second = line(&[("account_ref", "BA-2"), ("phone", "+525550100099"), ("national_id_last4", "9999")]);
    let parsed = parse(&file(&[line(&[]), second])).unwrap();
    assert_eq!(parsed.rows.len(), 1);
    let messages: Vec<String> = parsed.rejected.iter().map(ToString::to_string).collect();
    assert_eq!(
        messages,
        vec![
            "portfolio.csv line 3, column phone: phone '+525550100099' differs from \
             '+525550100001' on line 2, the first row of debtor MX-0001: make every row of a \
             debtor agree",
            "portfolio.csv line 3, column national_id_last4: national_id_last4 '9999' differs \
             from '1234' on line 2, the first row of debtor MX-0001: make every row of a debtor \
             agree",
        ]
    );
}

#[test]
fn account_ref_unique_per_file() {
    let second = line(&[("debtor_id", "MX-0002")]);
    let parsed = parse(&file(&[line(&[]), second])).unwrap();
    assert_eq!(parsed.rows.len(), 1);
    assert_eq!(
        parsed.rejected[0].to_string(),
        "portfolio.csv line 3, column account_ref: account_ref 'BA-TC-100001' already appears on \
         line 2: give each debt its own account_ref"
    );
}

#[test]
fn invalid_country_skips_dependent_checks() {
    let parsed = parse(&file(&[line(&[("country", "XX"), ("time_zone", ""), ("postal_code", "1")])])).unwrap();
    let columns: Vec<&str> = parsed.rejected.iter().map(|e| e.column.as_str()).collect();
    assert_eq!(columns, vec!["country"]);
}

#[test]
fn empty_file_rejected() {
    for bytes in [&b""[..], b"  \n\n", "\u{feff}".as_bytes()] {
        let error = parse(bytes).unwrap_err();
        assert_eq!(error.to_string(), "portfolio.csv is empty: write the header line, then one line per debt");
    }
}

#[test]
fn header_only_rejected() {
    let error = parse(&file(&[])).unwrap_err();
    assert_eq!(error.to_string(), "portfolio.csv has a header line but no debts: add one line per debt");
}

#[test]
fn missing_columns_named() {
    let text = header().replace(",balance", "").replace(",currency", "");
    let error = parse(text.as_bytes()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "portfolio.csv is missing the columns balance, currency in its header line: add them (in \
         any order)"
    );
    let text = header().replace(",balance", "");
    let error = parse(text.as_bytes()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "portfolio.csv is missing the column balance in its header line: add it (in any order)"
    );
}

#[test]
fn duplicate_column_named() {
    let text = format!("{},Balance\n", header());
    let error = parse(text.as_bytes()).unwrap_err();
    assert_eq!(error.to_string(), "portfolio.csv has the column Balance twice in its header line: remove one");
}

#[test]
fn semicolon_file_detected() {
    let text = format!("{}\n", header().replace(',', ";"));
    let error = parse(text.as_bytes()).unwrap_err();
    assert_eq!(error.to_string(), "portfolio.csv separates cells with ';': save it with commas as separators");
}

#[test]
fn latin1_file_rejected_with_line() {
    let mut bytes = file(&[line(&[])]);
    // "María" saved as Windows-1252: 0xED for í.
    let position = bytes.windows(2).position(|pair| pair == "í".as_bytes()).unwrap();
    bytes.splice(position..position + 2, [0xED]);
    let error = parse(&bytes).unwrap_err();
    assert_eq!(error.to_string(), "portfolio.csv is not UTF-8 text (line 2 has an invalid byte): save it as CSV UTF-8");
}

#[test]
fn missing_file_named() {
    let error = parse_portfolio(Path::new("/nonexistent/portfolio.csv")).unwrap_err();
    assert_eq!(error.to_string(), "portfolio file /nonexistent/portfolio.csv not found: check the path");
}

#[test]
fn invalid_rows_message_lists_every_problem() {
    let rejected = vec![
        RowError { file: FILE.into(), line: 3, column: "balance".into(), value: "x".into(), problem: "p1".into() },
        RowError { file: FILE.into(), line: 3, column: "phone".into(), value: "y".into(), problem: "p2".into() },
        RowError { file: FILE.into(), line: 7, column: String::new(), value: String::new(), problem: "p3".into() },
    ];
    let error = ImportError::InvalidRows { file: FILE.into(), rejected };
    assert_eq!(
        error.to_string(),
        "portfolio.csv: 2 rows are invalid, so nothing was imported; fix the rows or pass \
         --valid-rows-only\n\
         portfolio.csv line 3, column balance: p1\n\
         portfolio.csv line 3, column phone: p2\n\
         portfolio.csv line 7: p3"
    );
}

#[test]
fn report_display_lists_rejected_rows() {
    let report = ImportReport {
        file: FILE.into(),
        debtors: 1,
        debts: 2,
        rejected: vec![RowError {
            file: FILE.into(),
            line: 4,
            column: "phone".into(),
            value: "5".into(),
            problem: "p".into(),
        }],
        ignored_columns: vec!["notes".into(), "email".into()],
    };
    assert_eq!(
        report.to_string(),
        "portfolio.csv: imported 1 debtor and 2 debts\n\
         ignored columns that cobranza does not read: notes, email\n\
         left out 1 invalid row:\n\
         portfolio.csv line 4, column phone: p"
    );
}

// ---- property tests ----

/// Lists the cells of a row as a CSV writer would write them.
fn cells_of(row: &PortfolioRow) -> HashMap<&'static str, String> {
    let debtor = &row.debtor;
    let debt = &row.debt;
    HashMap::from([
        ("debtor_id", debtor.id.0.clone()),
        ("full_name", debtor.full_name.clone()),
        ("phone", debtor.phone.clone()),
        ("country", debtor.country.clone()),
        ("region", debtor.region.clone()),
        ("locale", debtor.locale.clone()),
        ("time_zone", debtor.time_zone.name().to_string()),
        ("national_id_last4", debtor.national_id_last4.clone()),
        ("birth_date", debtor.birth_date.format("%Y-%m-%d").to_string()),
        ("postal_code", debtor.postal_code.clone()),
        ("creditor", debt.creditor.clone()),
        ("product", debt.product.clone()),
        ("account_ref", debt.account_ref.clone()),
        ("balance", debt.balance.to_decimal_string()),
        ("currency", debt.balance.currency.code().to_string()),
        ("days_past_due", debt.days_past_due.to_string()),
        ("call_consent", debtor.call_consent.to_string()),
        ("authorised_channels", debtor.authorised_channels.join(";")),
    ])
}

fn write_csv(columns: &[&'static str], rows: &[PortfolioRow]) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(columns).unwrap();
    for row in rows {
        let cells = cells_of(row);
        writer.write_record(columns.iter().map(|column| &cells[column])).unwrap();
    }
    writer.into_inner().unwrap()
}

fn text_strategy() -> impl Strategy<Value = String> {
    "[A-Za-zñáéíóú0-9][A-Za-zñáéíóú0-9 ,.'\"-]{0,20}[A-Za-zñáéíóú0-9.]"
}

fn postal_strategy(country: Country) -> BoxedStrategy<String> {
    let pattern = match country {
        Country::Mx | Country::Pe => "[0-9]{5}",
        Country::Co => "[0-9]{6}",
        Country::Cl => "[0-9]{7}",
        Country::Us => "[0-9]{5}(-[0-9]{4})?",
        Country::Ar => "[0-9]{4}|[A-Z][0-9]{4}[A-Z]{3}",
        Country::Br => "[0-9]{5}-?[0-9]{3}",
    };
    proptest::string::string_regex(pattern).unwrap().boxed()
}

fn debtor_strategy(index: usize) -> impl Strategy<Value = Debtor> {
    proptest::sample::select(Country::ALL.to_vec()).prop_flat_map(move |country| {
        let region = if country == Country::Us {
            proptest::sample::select(vec!["MA", "TX", "CA", "NY", "FL"]).prop_map(String::from).boxed()
        } else {
            text_strategy().boxed()
        };
        (
            text_strategy(),
            "\\+[1-9][0-9]{7,14}",
            region,
            proptest::sample::select(vec!["es-MX", "es-CO", "en-US", "es-US", "pt-BR"]),
            proptest::sample::select(country.time_zones().to_vec()),
            "[0-9]{4}",
            0_i64..40_000,
            postal_strategy(country),
            any::<bool>(),
            proptest::sample::subsequence(super::cells::CHANNELS.to_vec(), 0..=4),
        )
            .prop_map(move |(name, phone, region, locale, zone, last4, days, postal, consent, channels)| {
                Debtor {
                    id: DebtorId(format!("{}-{index:04}", country.code())),
                    full_name: name,
                    phone,
                    country: country.code().to_string(),
                    region,
                    locale: locale.to_string(),
                    time_zone: zone,
                    national_id_last4: last4,
                    birth_date: NaiveDate::from_ymd_opt(1900, 1, 1).unwrap() + chrono::Duration::days(days),
                    postal_code: postal,
                    call_consent: consent,
                    authorised_channels: channels.into_iter().map(String::from).collect(),
                }
            })
    })
}

fn debt_strategy(index: usize) -> impl Strategy<Value = NewDebt> {
    let currencies =
        vec![Currency::Mxn, Currency::Cop, Currency::Pen, Currency::Clp, Currency::Usd, Currency::Ars, Currency::Brl];
    (
        text_strategy(),
        text_strategy(),
        text_strategy(),
        1_i64..1_000_000_000_000,
        proptest::sample::select(currencies),
        any::<u32>(),
    )
        .prop_map(move |(creditor, product, reference, amount, currency, days)| NewDebt {
            creditor,
            product,
            account_ref: format!("{reference}#{index}"),
            balance: Money::new(amount, currency),
            days_past_due: days,
        })
}

fn rows_strategy() -> impl Strategy<Value = Vec<PortfolioRow>> {
    (1_usize..6).prop_flat_map(|count| {
        (0..count)
            .map(|index| {
                (debtor_strategy(index), debt_strategy(index)).prop_map(|(debtor, debt)| PortfolioRow { debtor, debt })
            })
            .collect::<Vec<_>>()
    })
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = parse(&bytes);
    }

    #[test]
    fn arbitrary_cells_never_panic(cells in proptest::collection::vec(".{0,12}", 0..22)) {
        let text = format!("{}\n{}\n", header(), cells.iter().map(|cell| quote(cell)).collect::<Vec<_>>().join(","));
        let _ = parse(text.as_bytes());
    }

    #[test]
    fn arbitrary_cell_in_valid_row_never_panics(column in 0_usize..18, value in ".{0,16}") {
        let name = Column::ALL[column].name();
        let _ = parse(&file(&[line(&[(name, &value)])]));
    }

    #[test]
    fn valid_rows_round_trip(
        rows in rows_strategy(),
        columns in Just(Column::ALL.iter().map(|column| column.name()).collect::<Vec<_>>()).prop_shuffle(),
    ) {
        let parsed = parse(&write_csv(&columns, &rows)).unwrap();
        prop_assert_eq!(parsed.rejected, vec![]);
        prop_assert_eq!(parsed.rows, rows);
    }
}
