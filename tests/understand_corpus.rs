//! Scores the rule-based interpreter on every labelled file of caller utterances in
//! tests/data/understand/ (each `*.tsv`, read at run time), per file and per locale, and fails
//! below 95 % intent accuracy or 95 % slot accuracy over all files together. Slot accuracy counts
//! the utterances whose every slot (amount, currency, date, installments, digits) matches.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use cobranza::dialog::nlu::cli::{Locale, Reading};
use cobranza::dialog::nlu::{Expecting, InterpretContext, RuleInterpreter};

const MIN_ACCURACY: f64 = 0.95;

/// One labelled utterance.
struct Case {
    file: String,
    line: usize,
    locale: String,
    today: NaiveDate,
    expecting: Expecting,
    utterance: String,
    expected: Reading,
}

fn cell(text: &str) -> Option<&str> {
    (text != "-").then_some(text)
}

fn parse_case(file: &str, line: usize, row: &str) -> Case {
    let columns: Vec<&str> = row.split('\t').collect();
    assert_eq!(columns.len(), 10, "{file} line {line}: expected 10 tab-separated columns, found {}", columns.len());
    let number = |text: &str, name: &str| {
        cell(text).map(|value| {
            value.parse().unwrap_or_else(|_| panic!("{file} line {line}: {name} '{value}' is not a number"))
        })
    };
    let intent: cobranza::dialog::Intent =
        columns[4].parse().unwrap_or_else(|error| panic!("{file} line {line}: {error}"));
    Case {
        file: file.to_string(),
        line,
        locale: columns[0].to_string(),
        today: NaiveDate::parse_from_str(columns[1], "%Y-%m-%d")
            .unwrap_or_else(|_| panic!("{file} line {line}: today '{}' is not a date as YYYY-MM-DD", columns[1])),
        expecting: columns[2].parse().unwrap_or_else(|error| panic!("{file} line {line}: {error}")),
        utterance: columns[3].to_string(),
        expected: Reading {
            intent: intent.as_str(),
            amount_minor: number(columns[5], "amount_minor"),
            currency: cell(columns[6]).map(|code| currency_code(file, line, code)),
            date: cell(columns[7]).map(str::to_string),
            installments: number(columns[8], "installments").map(|count: i64| count as u32),
            digits: cell(columns[9]).map(str::to_string),
        },
    }
}

fn currency_code(file: &str, line: usize, code: &str) -> &'static str {
    ["MXN", "COP", "PEN", "CLP", "ARS", "USD", "BRL"]
        .into_iter()
        .find(|known| *known == code)
        .unwrap_or_else(|| panic!("{file} line {line}: unknown currency '{code}'"))
}

/// Lists the labelled files in tests/data/understand/, sorted by name so the report is stable.
fn corpus_files() -> Vec<PathBuf> {
    let directory = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/understand");
    let entries =
        std::fs::read_dir(&directory).unwrap_or_else(|error| panic!("failed to list {}: {error}", directory.display()));
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.unwrap_or_else(|error| panic!("failed to read {}: {error}", directory.display())).path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "tsv"))
        .collect();
    files.sort();
    files
}

fn cases_in(path: &Path) -> Vec<Case> {
    let file = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|error| panic!("failed to read {}: {error}", path.display()));
    text.lines()
        .enumerate()
        .skip(1)
        .filter(|(_, row)| !row.trim().is_empty())
        .map(|(index, row)| parse_case(&file, index + 1, row))
        .collect()
}

fn read(case: &Case) -> Reading {
    let locale: Locale =
        case.locale.parse().unwrap_or_else(|error| panic!("{} line {}: {error}", case.file, case.line));
    let ctx = InterpretContext {
        language: locale.language,
        dialect: locale.dialect,
        currency: locale.currency,
        today: case.today,
        expecting: case.expecting,
    };
    Reading::from_interpretation(&RuleInterpreter.interpret_now(&case.utterance, &ctx))
}

fn slots_match(got: &Reading, expected: &Reading) -> bool {
    got.amount_minor == expected.amount_minor
        && got.currency == expected.currency
        && got.date == expected.date
        && got.installments == expected.installments
        && got.digits == expected.digits
}

/// Counts for one file, locale or the total: utterances, right intents, right slots.
#[derive(Default)]
struct Score {
    total: usize,
    intents: usize,
    slots: usize,
}

fn percent(part: usize, total: usize) -> f64 {
    100.0 * part as f64 / total.max(1) as f64
}

impl Score {
    fn add(&mut self, intent_ok: bool, slots_ok: bool) {
        self.total += 1;
        self.intents += usize::from(intent_ok);
        self.slots += usize::from(slots_ok);
    }

    fn print_row(&self, label: &str) {
        println!(
            "{label:<18} {:>6} {:>7.1}% {:>7.1}%",
            self.total,
            percent(self.intents, self.total),
            percent(self.slots, self.total)
        );
    }
}

fn describe_miss(case: &Case, got: &Reading) -> String {
    // Insults are not echoed into test output.
    let utterance = if case.expected.intent == "abusive" { "[abusive utterance]" } else { case.utterance.as_str() };
    format!(
        "{} line {} {} {:?}: expected {}, got {}",
        case.file,
        case.line,
        case.locale,
        utterance,
        serde_json::to_string(&case.expected).unwrap_or_default(),
        serde_json::to_string(got).unwrap_or_default()
    )
}

#[test]
fn corpus_scores_above_threshold() {
    let files = corpus_files();
    assert!(!files.is_empty(), "tests/data/understand/ contains no .tsv file");
    let cases: Vec<Case> = files.iter().flat_map(|path| cases_in(path)).collect();
    assert!(cases.len() >= 300, "the corpus has {} utterances; it needs at least 300", cases.len());

    let mut per_file: BTreeMap<String, Score> = BTreeMap::new();
    let mut per_file_locale: BTreeMap<(String, String), Score> = BTreeMap::new();
    let mut per_locale: BTreeMap<String, Score> = BTreeMap::new();
    let mut all = Score::default();
    let mut misses = Vec::new();
    for case in &cases {
        let got = read(case);
        let intent_ok = got.intent == case.expected.intent;
        let slots_ok = slots_match(&got, &case.expected);
        per_file.entry(case.file.clone()).or_default().add(intent_ok, slots_ok);
        per_file_locale.entry((case.file.clone(), case.locale.clone())).or_default().add(intent_ok, slots_ok);
        per_locale.entry(case.locale.clone()).or_default().add(intent_ok, slots_ok);
        all.add(intent_ok, slots_ok);
        if !(intent_ok && slots_ok) {
            misses.push(describe_miss(case, &got));
        }
    }

    println!("{:<18} {:>6} {:>8} {:>8}", "file / locale", "count", "intent", "slots");
    for (file, score) in &per_file {
        score.print_row(file);
        for ((_, locale), score) in per_file_locale.iter().filter(|((name, _), _)| name == file) {
            score.print_row(&format!("  {locale}"));
        }
    }
    println!("all files");
    for (locale, score) in &per_locale {
        score.print_row(&format!("  {locale}"));
    }
    all.print_row("total");
    for miss in &misses {
        println!("miss: {miss}");
    }

    for (locale, score) in &per_locale {
        assert!(score.total >= 40, "{locale} has {} utterances; each locale needs at least 40", score.total);
    }
    let intent_accuracy = percent(all.intents, all.total);
    let slot_accuracy = percent(all.slots, all.total);
    assert!(intent_accuracy >= MIN_ACCURACY * 100.0, "intent accuracy {intent_accuracy:.1}% is below 95%");
    assert!(slot_accuracy >= MIN_ACCURACY * 100.0, "slot accuracy {slot_accuracy:.1}% is below 95%");
}
