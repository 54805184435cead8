//! Scores the rule-based interpreter on the labelled corpus of caller utterances in
//! tests/data/understand/corpus.tsv, per locale, and fails below 95 % intent accuracy or 95 %
//! slot accuracy. Slot accuracy counts the utterances whose every slot (amount, currency, date,
//! installments, digits) matches.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use cobranza::dialog::nlu::cli::{Locale, Reading};
use cobranza::dialog::nlu::{Expecting, InterpretContext, RuleInterpreter};

const CORPUS: &str = include_str!("data/understand/corpus.tsv");
const MIN_ACCURACY: f64 = 0.95;

/// One labelled utterance.
struct Case {
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

fn parse_case(line: usize, row: &str) -> Case {
    let columns: Vec<&str> = row.split('\t').collect();
    assert_eq!(columns.len(), 10, "corpus line {line}: expected 10 tab-separated columns, found {}", columns.len());
    let number = |text: &str, name: &str| {
        cell(text).map(|value| value.parse().unwrap_or_else(|_| panic!("corpus line {line}: {name} '{value}' is not a number")))
    };
    let intent: cobranza::dialog::Intent =
        columns[4].parse().unwrap_or_else(|error| panic!("corpus line {line}: {error}"));
    Case {
        line,
        locale: columns[0].to_string(),
        today: NaiveDate::parse_from_str(columns[1], "%Y-%m-%d")
            .unwrap_or_else(|_| panic!("corpus line {line}: today '{}' is not YYYY-MM-DD", columns[1])),
        expecting: columns[2].parse().unwrap_or_else(|error| panic!("corpus line {line}: {error}")),
        utterance: columns[3].to_string(),
        expected: Reading {
            intent: intent.as_str(),
            amount_minor: number(columns[5], "amount_minor"),
            currency: cell(columns[6]).map(|code| currency_code(line, code)),
            date: cell(columns[7]).map(str::to_string),
            installments: number(columns[8], "installments").map(|count: i64| count as u32),
            digits: cell(columns[9]).map(str::to_string),
        },
    }
}

fn currency_code(line: usize, code: &str) -> &'static str {
    ["MXN", "COP", "PEN", "CLP", "ARS", "USD", "BRL"]
        .into_iter()
        .find(|known| *known == code)
        .unwrap_or_else(|| panic!("corpus line {line}: unknown currency '{code}'"))
}

fn cases() -> Vec<Case> {
    CORPUS
        .lines()
        .enumerate()
        .skip(1)
        .filter(|(_, row)| !row.trim().is_empty())
        .map(|(index, row)| parse_case(index + 1, row))
        .collect()
}

fn read(case: &Case) -> Reading {
    let locale: Locale = case.locale.parse().unwrap_or_else(|error| panic!("corpus line {}: {error}", case.line));
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

/// Counts per locale: utterances, right intents, right slots.
#[derive(Default)]
struct Score {
    total: usize,
    intents: usize,
    slots: usize,
}

fn percent(part: usize, total: usize) -> f64 {
    100.0 * part as f64 / total.max(1) as f64
}

#[test]
fn corpus_scores_above_threshold() {
    let cases = cases();
    assert!(cases.len() >= 300, "the corpus has {} utterances; it needs at least 300", cases.len());

    let mut scores: BTreeMap<String, Score> = BTreeMap::new();
    let mut misses = Vec::new();
    for case in &cases {
        let got = read(case);
        let score = scores.entry(case.locale.clone()).or_default();
        score.total += 1;
        let intent_ok = got.intent == case.expected.intent;
        let slots_ok = slots_match(&got, &case.expected);
        score.intents += usize::from(intent_ok);
        score.slots += usize::from(slots_ok);
        if !(intent_ok && slots_ok) {
            // Insults are not echoed into test output.
            let utterance =
                if case.expected.intent == "abusive" { "[abusive utterance]" } else { case.utterance.as_str() };
            misses.push(format!(
                "line {} {} {:?}: expected {}, got {}",
                case.line,
                case.locale,
                utterance,
                serde_json::to_string(&case.expected).unwrap_or_default(),
                serde_json::to_string(&got).unwrap_or_default()
            ));
        }
    }

    let mut all = Score::default();
    println!("{:<7} {:>6} {:>8} {:>8}", "locale", "count", "intent", "slots");
    for (locale, score) in &scores {
        assert!(score.total >= 40, "{locale} has {} utterances; each locale needs at least 40", score.total);
        println!(
            "{locale:<7} {:>6} {:>7.1}% {:>7.1}%",
            score.total,
            percent(score.intents, score.total),
            percent(score.slots, score.total)
        );
        all.total += score.total;
        all.intents += score.intents;
        all.slots += score.slots;
    }
    let intent_accuracy = percent(all.intents, all.total);
    let slot_accuracy = percent(all.slots, all.total);
    println!("{:<7} {:>6} {:>7.1}% {:>7.1}%", "all", all.total, intent_accuracy, slot_accuracy);
    for miss in &misses {
        println!("miss: {miss}");
    }

    assert!(intent_accuracy >= MIN_ACCURACY * 100.0, "intent accuracy {intent_accuracy:.1}% is below 95%");
    assert!(slot_accuracy >= MIN_ACCURACY * 100.0, "slot accuracy {slot_accuracy:.1}% is below 95%");
}
