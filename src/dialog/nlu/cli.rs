//! `cobranza understand`: reads caller utterances, one per line, and prints what the rule-based
//! interpreter understood in each, as one JSON object per line.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use chrono::{NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::{Dialect, Expecting, InterpretContext, Interpretation, RuleInterpreter};
use crate::collections::model::Currency;
use crate::dialog::{AmountMention, Language};

/// Options of `cobranza understand`.
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = "\
Each input line is one caller utterance; each output line is one JSON object with the keys
intent, amount_minor, currency, date, installments and digits, in that order.

Reading rules:
  - Every line is read as an answer to no particular question, except that a line made only
    of digits or single-digit words (\"1234\", \"12 34\", \"uno dos tres cuatro\") is read as
    identity digits and printed in `digits`.
  - amount_minor is in the currency's minor unit (centavos; CLP has none). The currency is
    the locale's unless the caller names another (\"100 dólares\").
  - \"todo\", \"el total\" and \"la mitad\" name no number without a debt: amount_minor and
    currency are null.
  - An amount per installment with a count (\"en 3 cuotas de 500\") is printed as the total
    (1500) with installments 3; without a count it is not printed.
  - Payment dates never fall before --today; dates of a payment already made point back.
  - An empty line prints {\"intent\":\"unknown\",...} with every slot null, so output line N
    answers input line N.
  - Invalid input (a line that is not UTF-8) stops the command with exit code 2; the lines
    before it stay printed.")]
pub struct UnderstandArgs {
    /// The caller's locale: es-MX, es-CO, es-PE, es-CL, es-AR or en-US. It sets the language,
    /// the country's slang and number format, and the default currency and time zone.
    #[arg(long, value_parser = parse_locale)]
    pub locale: Locale,
    /// The caller's local date that "mañana" and "el viernes" count from, as YYYY-MM-DD
    /// [default: today in --tz].
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    pub today: Option<NaiveDate>,
    /// The IANA time zone whose date is today's when --today is not given
    /// [default: the locale's main zone, e.g. America/Mexico_City for es-MX].
    #[arg(long, value_name = "ZONE", value_parser = parse_zone)]
    pub tz: Option<Tz>,
}

/// A caller locale that `understand` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Locale {
    pub dialect: Dialect,
    pub language: Language,
    pub currency: Currency,
    /// The country's main time zone.
    pub zone: Tz,
}

/// The locales `understand` reads, by BCP 47 tag.
const LOCALES: [(&str, Dialect, Language, Currency, Tz); 6] = [
    ("es-MX", Dialect::Mexico, Language::Es, Currency::Mxn, chrono_tz::America::Mexico_City),
    ("es-CO", Dialect::Colombia, Language::Es, Currency::Cop, chrono_tz::America::Bogota),
    ("es-PE", Dialect::Peru, Language::Es, Currency::Pen, chrono_tz::America::Lima),
    ("es-CL", Dialect::Chile, Language::Es, Currency::Clp, chrono_tz::America::Santiago),
    ("es-AR", Dialect::Argentina, Language::Es, Currency::Ars, chrono_tz::America::Argentina::Buenos_Aires),
    ("en-US", Dialect::UnitedStates, Language::En, Currency::Usd, chrono_tz::America::New_York),
];

impl std::str::FromStr for Locale {
    type Err = String;

    /// Parses a tag such as `es-MX`; case and `_` for `-` do not matter.
    fn from_str(tag: &str) -> Result<Locale, String> {
        let normalised = tag.replace('_', "-");
        LOCALES
            .iter()
            .find(|(name, ..)| name.eq_ignore_ascii_case(&normalised))
            .map(|&(_, dialect, language, currency, zone)| Locale { dialect, language, currency, zone })
            .ok_or_else(|| {
                let names: Vec<&str> = LOCALES.iter().map(|(name, ..)| *name).collect();
                format!("unknown locale '{tag}': use one of {}", names.join(", "))
            })
    }
}

fn parse_locale(tag: &str) -> Result<Locale, String> {
    tag.parse()
}

fn parse_date(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|error| format!("invalid date '{text}' ({error}): write it as YYYY-MM-DD, e.g. 2026-12-02"))
}

fn parse_zone(name: &str) -> Result<Tz, String> {
    name.parse::<Tz>()
        .map_err(|_| format!("unknown time zone '{name}': use an IANA name such as America/Bogota"))
}

/// One output line: the interpretation flattened to the slots a person checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reading {
    pub intent: &'static str,
    pub amount_minor: Option<i64>,
    pub currency: Option<&'static str>,
    pub date: Option<String>,
    pub installments: Option<u32>,
    pub digits: Option<String>,
}

impl Reading {
    /// Flattens an interpretation. "The full balance" and "half" have no number without a debt,
    /// so they print no amount and no currency.
    pub fn from_interpretation(interpretation: &Interpretation) -> Reading {
        let money = match interpretation.amount {
            Some(AmountMention::Exact(money)) => Some(money),
            Some(AmountMention::FullBalance | AmountMention::Half) | None => None,
        };
        Reading {
            intent: interpretation.intent.as_str(),
            amount_minor: money.map(|money| money.amount_minor),
            currency: money.map(|money| money.currency.code()),
            date: interpretation.date.map(|date| date.format("%Y-%m-%d").to_string()),
            installments: interpretation.installments,
            digits: interpretation.digits.clone(),
        }
    }
}

/// An error that stops `understand` before the end of its input.
#[derive(Debug, thiserror::Error)]
pub enum UnderstandError {
    #[error("input line {line} is not valid UTF-8: convert the input to UTF-8 (e.g. iconv -f LATIN1 -t UTF-8)")]
    NotUtf8 { line: usize },
    #[error("reading standard input failed: {0}")]
    Read(std::io::Error),
    #[error("writing standard output failed: {0}")]
    Write(std::io::Error),
}

/// Reads one utterance per line. A line made only of digits is read as identity digits; every
/// other line as an answer to no particular question.
pub fn understand_line(line: &str, locale: Locale, today: NaiveDate) -> Reading {
    let expecting = if is_only_digits(line) { Expecting::VerificationDigits } else { Expecting::Other };
    let ctx = InterpretContext {
        language: locale.language,
        dialect: locale.dialect,
        currency: locale.currency,
        today,
        expecting,
    };
    Reading::from_interpretation(&RuleInterpreter.interpret_now(line, &ctx))
}

/// "1234", "12 34", "1, 2, 3, 4", "uno dos tres cuatro", "one two three four".
fn is_only_digits(line: &str) -> bool {
    const DIGIT_WORDS: [&str; 20] = [
        "cero", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve", "zero", "one", "two",
        "three", "four", "five", "six", "seven", "eight", "nine",
    ];
    let words = super::text::Words::new(line);
    let tokens = words.tokens();
    let is_digit_token =
        |token: &String| token.bytes().all(|b| b.is_ascii_digit()) || DIGIT_WORDS.contains(&token.as_str());
    !tokens.is_empty() && tokens.iter().all(is_digit_token)
}

/// Runs `understand` over `input`, writing one JSON line per input line to `output`.
pub fn run(
    input: impl BufRead,
    mut output: impl Write,
    locale: Locale,
    today: NaiveDate,
) -> Result<(), UnderstandError> {
    for (index, line) in input.split(b'\n').enumerate() {
        let bytes = line.map_err(UnderstandError::Read)?;
        let text = std::str::from_utf8(&bytes).map_err(|_| UnderstandError::NotUtf8 { line: index + 1 })?;
        let reading = understand_line(text.trim_end_matches('\r'), locale, today);
        let json = serde_json::to_string(&reading).map_err(|error| UnderstandError::Write(error.into()))?;
        writeln!(output, "{json}").map_err(UnderstandError::Write)?;
        output.flush().map_err(UnderstandError::Write)?;
    }
    Ok(())
}

/// The command's entry point: standard input to standard output. Invalid input exits with 2,
/// as clap does for an invalid option.
pub fn main(args: &UnderstandArgs) -> ExitCode {
    let zone = args.tz.unwrap_or(args.locale.zone);
    let today = args.today.unwrap_or_else(|| Utc::now().with_timezone(&zone).date_naive());
    match run(std::io::stdin().lock(), std::io::stdout().lock(), args.locale, today) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(2)
        }
    }
}
