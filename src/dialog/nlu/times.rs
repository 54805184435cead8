//! Times of day for a callback: "a las 3 de la tarde", "a las cuatro y media", "al mediodía",
//! "17:30", "at 10 pm", "around 3", "después de las 6", "por la tarde", "in the morning".
//!
//! An hour from 1 to 7 said without a part of day ("a las cuatro y media", "around 3") is read
//! as p.m., because collection calls are placed in the day and "a las 3" means 15:00 there. An
//! hour from 8 to 12 without a part of day stays as said. "Después de las 6" is read as 18:00,
//! the hour itself. A part of day alone is a fixed hour: morning 10:00, afternoon 15:00,
//! evening and night 19:00.
// Limitation: "antes de las 5" and "entre las 3 y las 5" are not read as times.

use chrono::NaiveTime;

use super::numbers::NumberSpan;
use super::text::Words;

/// A time of day and the tokens it spans, so that no amount or date is read from them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimeSpan {
    pub time: NaiveTime,
    /// Index of the first token.
    pub start: usize,
    /// Index one past the last token.
    pub end: usize,
}

/// The part of the day said with an hour or alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PartOfDay {
    Morning,
    /// "Del día": the hours around noon.
    Midday,
    Afternoon,
    /// Evening or night: "de la noche", "in the evening", "at night".
    Night,
}

impl PartOfDay {
    /// Returns the hour that a part of day spoken alone stands for.
    fn default_hour(self) -> u32 {
        match self {
            PartOfDay::Morning => 10,
            PartOfDay::Midday => 12,
            PartOfDay::Afternoon => 15,
            PartOfDay::Night => 19,
        }
    }
}

/// Words that open an hour and always mean a time of day: the "las" of "a las 3" is "las horas".
const SURE_CUES: &[&[&str]] = &[
    &["a", "eso", "de", "las"],
    &["como", "a", "las"],
    &["despues", "de", "las"],
    &["despues", "de", "la"],
    &["desde", "las"],
    &["a", "las"],
    &["a", "la"],
];

/// Words that open an hour only when the turn is about a call: "around 10" may be an amount.
const CALL_CUES: &[&[&str]] = &[&["at", "around"], &["after"], &["around"], &["about"], &["at"], &["by"]];

/// Parts of day said after an hour: "a las 3 de la tarde", "at 10 pm".
const HOUR_SUFFIXES: &[(&[&str], PartOfDay)] = &[
    (&["de", "la", "manana"], PartOfDay::Morning),
    (&["de", "la", "madrugada"], PartOfDay::Morning),
    (&["en", "la", "manana"], PartOfDay::Morning),
    (&["por", "la", "manana"], PartOfDay::Morning),
    (&["in", "the", "morning"], PartOfDay::Morning),
    (&["a", "m"], PartOfDay::Morning),
    (&["am"], PartOfDay::Morning),
    (&["del", "dia"], PartOfDay::Midday),
    (&["del", "mediodia"], PartOfDay::Midday),
    (&["de", "la", "tarde"], PartOfDay::Afternoon),
    (&["en", "la", "tarde"], PartOfDay::Afternoon),
    (&["por", "la", "tarde"], PartOfDay::Afternoon),
    (&["in", "the", "afternoon"], PartOfDay::Afternoon),
    (&["p", "m"], PartOfDay::Afternoon),
    (&["pm"], PartOfDay::Afternoon),
    (&["de", "la", "noche"], PartOfDay::Night),
    (&["en", "la", "noche"], PartOfDay::Night),
    (&["por", "la", "noche"], PartOfDay::Night),
    (&["in", "the", "evening"], PartOfDay::Night),
    (&["at", "night"], PartOfDay::Night),
    (&["tonight"], PartOfDay::Night),
];

/// Parts of day said without an hour: "por la tarde", "in the morning".
const PARTS_ALONE: &[(&[&str], PartOfDay)] = &[
    (&["en", "la", "manana"], PartOfDay::Morning),
    (&["por", "la", "manana"], PartOfDay::Morning),
    (&["in", "the", "morning"], PartOfDay::Morning),
    (&["this", "morning"], PartOfDay::Morning),
    (&["en", "la", "tarde"], PartOfDay::Afternoon),
    (&["por", "la", "tarde"], PartOfDay::Afternoon),
    (&["esta", "tarde"], PartOfDay::Afternoon),
    (&["in", "the", "afternoon"], PartOfDay::Afternoon),
    (&["this", "afternoon"], PartOfDay::Afternoon),
    (&["en", "la", "noche"], PartOfDay::Night),
    (&["por", "la", "noche"], PartOfDay::Night),
    (&["esta", "noche"], PartOfDay::Night),
    (&["in", "the", "evening"], PartOfDay::Night),
    (&["this", "evening"], PartOfDay::Night),
    (&["at", "night"], PartOfDay::Night),
    (&["tonight"], PartOfDay::Night),
];

/// Ways to say noon.
const NOON: &[&[&str]] = &[
    &["al", "mediodia"],
    &["a", "mediodia"],
    &["al", "medio", "dia"],
    &["mediodia"],
    &["medio", "dia"],
    &["at", "noon"],
    &["noon"],
    &["midday"],
];

/// Words after a number that make it an amount or a count, not an hour: "around 10 dollars".
const NOT_AN_HOUR_AFTER: &[&str] = &[
    "$",
    "%",
    "dollars",
    "dollar",
    "bucks",
    "percent",
    "pesos",
    "soles",
    "days",
    "weeks",
    "months",
    "payments",
    "installments",
    "dias",
    "semanas",
    "meses",
    "cuotas",
    "pagos",
    "mil",
    "thousand",
    "hundred",
];

/// Finds the first time of day in the turn. An hour said after a sure cue ("a las"), as a clock
/// ("17:30", "5pm") or with a part of day wins over a part of day said alone. `about_a_call`
/// allows the English cues that may also precede an amount ("at", "around", "after").
pub(crate) fn find_time(words: &Words, numbers: &[NumberSpan], about_a_call: bool) -> Option<TimeSpan> {
    let tokens = words.tokens();
    let explicit = (0..tokens.len()).find_map(|index| hour_at(tokens, numbers, index, about_a_call));
    explicit.or_else(|| noon_or_part_alone(tokens))
}

/// Reads an hour that starts at `index`, with its cue, minutes and part of day.
fn hour_at(tokens: &[String], numbers: &[NumberSpan], index: usize, about_a_call: bool) -> Option<TimeSpan> {
    // A clock or a glued suffix needs no cue: "17:30", "5pm".
    if let Some((hour, minute, suffix_part)) = clock_token(&tokens[index]) {
        let (part, end) = match suffix_part {
            Some(part) => (Some(part), index + 1),
            None => suffix_at(tokens, index + 1).map_or((None, index + 1), |(part, end)| (Some(part), end)),
        };
        let time = resolve(hour, minute, part)?;
        return Some(TimeSpan { time, start: index, end });
    }

    let (cue_end, sure) = cue_at(tokens, index, about_a_call)?;
    let hour = hour_word(tokens.get(cue_end)?)?;
    let (minute, after_minutes) = minutes_at(tokens, numbers, cue_end + 1);
    let suffix = suffix_at(tokens, after_minutes);
    let oclock = tokens.get(after_minutes).is_some_and(|token| token == "oclock");
    if !sure && suffix.is_none() && !oclock {
        let next = tokens.get(after_minutes).map(String::as_str);
        if hour > 12 || next.is_some_and(|word| NOT_AN_HOUR_AFTER.contains(&word)) {
            return None;
        }
    }
    let end = match (suffix, oclock) {
        (Some((_, end)), _) => end,
        (None, true) => after_minutes + 1,
        (None, false) => after_minutes,
    };
    let time = resolve(hour, minute, suffix.map(|(part, _)| part))?;
    Some(TimeSpan { time, start: index, end })
}

/// Returns the index after a cue that starts at `index`, and whether the cue is sure.
fn cue_at(tokens: &[String], index: usize, about_a_call: bool) -> Option<(usize, bool)> {
    if let Some(cue) = SURE_CUES.iter().find(|cue| starts_with(tokens, index, cue)) {
        return Some((index + cue.len(), true));
    }
    if !about_a_call {
        return None;
    }
    let cue = CALL_CUES.iter().find(|cue| starts_with(tokens, index, cue))?;
    Some((index + cue.len(), false))
}

/// Reads minutes after an hour: "y media", "y cuarto", "y veinte", "thirty". Returns the minute
/// and the index after it.
fn minutes_at(tokens: &[String], numbers: &[NumberSpan], index: usize) -> (u32, usize) {
    let token = |offset: usize| tokens.get(index + offset).map(String::as_str);
    match (token(0), token(1)) {
        (Some("y"), Some("media")) => return (30, index + 2),
        (Some("y"), Some("cuarto")) => return (15, index + 2),
        (Some("forty"), Some("five")) => return (45, index + 2),
        // The number grammar joins "four thirty" into one number, so English minutes are read
        // here.
        (Some("fifteen"), _) => return (15, index + 1),
        (Some("thirty"), _) => return (30, index + 1),
        _ => {}
    }
    let spoken_at = |at: usize| {
        numbers.iter().find(|span| span.start == at).and_then(|span| {
            let minute = span.whole().filter(|minute| (1..60).contains(minute))?;
            Some((minute as u32, span.end))
        })
    };
    match token(0) {
        Some("y") => spoken_at(index + 1).unwrap_or((0, index)),
        // "At four thirty": an English minute count of ten or more follows the hour directly.
        Some(_) => spoken_at(index).filter(|(minute, _)| *minute >= 10).unwrap_or((0, index)),
        None => (0, index),
    }
}

fn suffix_at(tokens: &[String], index: usize) -> Option<(PartOfDay, usize)> {
    HOUR_SUFFIXES
        .iter()
        .find(|(words, _)| starts_with(tokens, index, words))
        .map(|(words, part)| (*part, index + words.len()))
}

fn noon_or_part_alone(tokens: &[String]) -> Option<TimeSpan> {
    (0..tokens.len()).find_map(|index| {
        if let Some(noon) = NOON.iter().find(|words| starts_with(tokens, index, words)) {
            let time = NaiveTime::from_hms_opt(12, 0, 0)?;
            return Some(TimeSpan { time, start: index, end: index + noon.len() });
        }
        let (words, part) = PARTS_ALONE.iter().find(|(words, _)| starts_with(tokens, index, words))?;
        let time = NaiveTime::from_hms_opt(part.default_hour(), 0, 0)?;
        Some(TimeSpan { time, start: index, end: index + words.len() })
    })
}

/// Reads "17:30", "5:30pm", "5pm" and "10am": hour, minute and a glued part of day.
fn clock_token(token: &str) -> Option<(u32, u32, Option<PartOfDay>)> {
    let (body, part) = match (token.strip_suffix("pm"), token.strip_suffix("am")) {
        (Some(body), _) => (body, Some(PartOfDay::Afternoon)),
        (None, Some(body)) => (body, Some(PartOfDay::Morning)),
        (None, None) => (token, None),
    };
    let (hour, minute) = match body.split_once(':') {
        Some((hour, minute)) if minute.len() == 2 => (hour.parse().ok()?, minute.parse().ok()?),
        Some(_) => return None,
        None if part.is_some() => (body.parse().ok()?, 0),
        None => return None,
    };
    (hour < 24 && minute < 60).then_some((hour, minute, part))
}

/// Reads an hour from 0 to 23 in digits, or from 1 to 12 in Spanish or English words.
fn hour_word(token: &str) -> Option<u32> {
    if let Ok(hour) = token.parse::<u32>() {
        return (hour < 24).then_some(hour);
    }
    let hour = match token {
        "una" | "uno" | "one" => 1,
        "dos" | "two" => 2,
        "tres" | "three" => 3,
        "cuatro" | "four" => 4,
        "cinco" | "five" => 5,
        "seis" | "six" => 6,
        "siete" | "seven" => 7,
        "ocho" | "eight" => 8,
        "nueve" | "nine" => 9,
        "diez" | "ten" => 10,
        "once" | "eleven" => 11,
        "doce" | "twelve" => 12,
        _ => return None,
    };
    Some(hour)
}

/// Turns an hour as spoken into a time of day, by the rules in the module documentation.
fn resolve(hour: u32, minute: u32, part: Option<PartOfDay>) -> Option<NaiveTime> {
    let hour = match (hour, part) {
        (13.., _) => hour,
        (_, Some(PartOfDay::Morning)) => hour % 12,
        (12, Some(PartOfDay::Night)) => 0,
        (12, _) => 12,
        (_, Some(PartOfDay::Afternoon | PartOfDay::Night)) => hour + 12,
        (1..=7, Some(PartOfDay::Midday) | None) => hour + 12,
        (_, Some(PartOfDay::Midday) | None) => hour,
    };
    NaiveTime::from_hms_opt(hour, minute, 0)
}

fn starts_with(tokens: &[String], index: usize, words: &[&str]) -> bool {
    words.iter().enumerate().all(|(offset, word)| tokens.get(index + offset).is_some_and(|token| token == word))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialog::nlu::numbers::find_numbers;

    fn time_in(text: &str) -> Option<NaiveTime> {
        let words = Words::new(text);
        let numbers = find_numbers(words.tokens());
        find_time(&words, &numbers, true).map(|span| span.time)
    }

    fn at(hour: u32, minute: u32) -> Option<NaiveTime> {
        NaiveTime::from_hms_opt(hour, minute, 0)
    }

    #[test]
    fn spanish_hour_with_part_of_day() {
        assert_eq!(time_in("llámeme a las 3 de la tarde"), at(15, 0));
        assert_eq!(time_in("a las 10 de la mañana"), at(10, 0));
        assert_eq!(time_in("a las once de la noche"), at(23, 0));
        assert_eq!(time_in("a la una de la tarde"), at(13, 0));
        assert_eq!(time_in("a las doce del día"), at(12, 0));
        assert_eq!(time_in("a las 12 de la noche"), at(0, 0));
    }

    #[test]
    fn ambiguous_hour_is_afternoon_up_to_seven() {
        assert_eq!(time_in("a las cuatro y media"), at(16, 30));
        assert_eq!(time_in("a las 5"), at(17, 0));
        assert_eq!(time_in("a las 7 y cuarto"), at(19, 15));
        assert_eq!(time_in("a las 9"), at(9, 0));
        assert_eq!(time_in("a las 12"), at(12, 0));
        assert_eq!(time_in("después de las 6"), at(18, 0));
        assert_eq!(time_in("como a las tres y veinte"), at(15, 20));
    }

    #[test]
    fn clock_and_glued_suffix() {
        assert_eq!(time_in("a las 17:30"), at(17, 30));
        assert_eq!(time_in("17:30"), at(17, 30));
        assert_eq!(time_in("call me at 5pm"), at(17, 0));
        assert_eq!(time_in("a las 5 pm"), at(17, 0));
        assert_eq!(time_in("at 10 p.m."), at(22, 0));
        assert_eq!(time_in("at 9:15 a.m."), at(9, 15));
    }

    #[test]
    fn english_cues() {
        assert_eq!(time_in("at 10 pm"), at(22, 0));
        assert_eq!(time_in("around 3"), at(15, 0));
        assert_eq!(time_in("at four thirty"), at(16, 30));
        assert_eq!(time_in("after 6 in the evening"), at(18, 0));
        assert_eq!(time_in("at 11 o'clock"), at(11, 0));
    }

    #[test]
    fn noon_and_parts_of_day_alone() {
        assert_eq!(time_in("al mediodía"), at(12, 0));
        assert_eq!(time_in("at noon"), at(12, 0));
        assert_eq!(time_in("mejor en la tarde"), at(15, 0));
        assert_eq!(time_in("por la tarde"), at(15, 0));
        assert_eq!(time_in("in the afternoon"), at(15, 0));
        assert_eq!(time_in("mañana por la mañana"), at(10, 0));
        assert_eq!(time_in("en la noche"), at(19, 0));
        assert_eq!(time_in("tonight"), at(19, 0));
    }

    #[test]
    fn hour_wins_over_part_alone() {
        assert_eq!(time_in("en la tarde, a las 4"), at(16, 0));
    }

    #[test]
    fn amounts_are_no_hours() {
        assert_eq!(time_in("I can pay around 10 dollars"), None);
        assert_eq!(time_in("about 3 payments"), None);
        assert_eq!(time_in("at 500"), None);
        assert_eq!(time_in("puedo pagar 300 el viernes"), None);
    }

    #[test]
    fn english_cues_need_a_call() {
        let words = Words::new("around 3");
        let numbers = find_numbers(words.tokens());
        assert_eq!(find_time(&words, &numbers, false), None);
    }

    /// Readings of whole turns through the interpreter, slots and intent together.
    mod reading {
        use chrono::NaiveDate;

        use crate::collections::model::{Currency, Money};
        use crate::dialog::nlu::{Dialect, Expecting, Intent, InterpretContext, Interpretation, RuleInterpreter};
        use crate::dialog::{AmountMention, Language};

        fn read(text: &str, language: Language, dialect: Dialect, expecting: Expecting) -> Interpretation {
            let today = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
            let currency = match dialect {
                Dialect::UnitedStates => Currency::Usd,
                _ => Currency::Mxn,
            };
            let ctx = InterpretContext { language, dialect, currency, today, expecting };
            RuleInterpreter.interpret_now(text, &ctx)
        }

        fn spanish(text: &str) -> Interpretation {
            read(text, Language::Es, Dialect::Mexico, Expecting::Other)
        }

        fn english(text: &str) -> Interpretation {
            read(text, Language::En, Dialect::UnitedStates, Expecting::Other)
        }

        fn at(hour: u32, minute: u32) -> Option<chrono::NaiveTime> {
            chrono::NaiveTime::from_hms_opt(hour, minute, 0)
        }

        #[test]
        fn hour_is_no_amount_nor_date() {
            let heard = spanish("llámeme a las 3");
            assert_eq!(heard.intent, Intent::CallbackRequest);
            assert_eq!(heard.time, at(15, 0));
            assert_eq!(heard.amount, None);
            assert_eq!(heard.date, None);
        }

        #[test]
        fn day_and_time_together() {
            let heard = spanish("sumerce llameme mañana a las 3 de la tarde");
            assert_eq!(heard.date, NaiveDate::from_ymd_opt(2026, 12, 3));
            assert_eq!(heard.time, at(15, 0));
            assert_eq!(heard.amount, None);
        }

        #[test]
        fn weekday_with_morning_keeps_weekday() {
            let heard = spanish("llámeme el viernes por la mañana");
            assert_eq!(heard.date, NaiveDate::from_ymd_opt(2026, 12, 4));
            assert_eq!(heard.time, at(10, 0));
        }

        #[test]
        fn english_time_is_a_callback_request() {
            let heard = english("call me at 10 pm");
            assert_eq!(heard.intent, Intent::CallbackRequest);
            assert_eq!(heard.time, at(22, 0));
            assert_eq!(heard.amount, None);
        }

        #[test]
        fn time_answers_when_to_call() {
            let heard = read("a las cinco y media", Language::Es, Dialect::Mexico, Expecting::CallbackTime);
            assert_eq!(heard.intent, Intent::CallbackRequest);
            assert_eq!(heard.time, at(17, 30));
        }

        #[test]
        fn offer_keeps_amount_beside_time() {
            let heard = read("le pago 500 el viernes a las 3", Language::Es, Dialect::Mexico, Expecting::PaymentOffer);
            assert_eq!(heard.intent, Intent::PromiseToPay);
            assert_eq!(heard.amount, Some(AmountMention::Exact(Money::from_major(500, Currency::Mxn))));
            assert_eq!(heard.date, NaiveDate::from_ymd_opt(2026, 12, 4));
        }

        #[test]
        fn english_amount_after_around_is_no_time() {
            let heard =
                read("i can pay around 50 dollars", Language::En, Dialect::UnitedStates, Expecting::PaymentOffer);
            assert_eq!(heard.time, None);
            assert_eq!(heard.amount, Some(AmountMention::Exact(Money::from_major(50, Currency::Usd))));
        }

        #[test]
        fn birth_date_question_reads_no_time() {
            let heard = read("el 14 de marzo a las 3", Language::Es, Dialect::Mexico, Expecting::BirthDate);
            assert_eq!(heard.time, None);
        }
    }
}
