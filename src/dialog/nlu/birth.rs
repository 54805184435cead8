//! Dates of birth, said to verify the debtor: "15 de marzo de 1985", "quince del tres del
//! ochenta y cinco", "March 15 1985", "03/15/1985".

use chrono::{Datelike, NaiveDate};

use super::dates::{month_number, ordinal_day};
use super::numbers::NumberSpan;
use super::text::Words;
use super::Dialect;

/// One part of a spoken date, in the order said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Month(u32),
    Number(i64),
}

/// Reads a date of birth. The year may be whole ("1985", "mil novecientos ochenta y cinco",
/// "nineteen eighty five") or two digits ("del 85"). An all-number date is day first in Spanish
/// and month first in the United States, unless the first number cannot be a month. Returns
/// `None` for a date after `today` or before 1900.
pub(crate) fn find_birth_date(
    words: &Words,
    numbers: &[NumberSpan],
    today: NaiveDate,
    dialect: Dialect,
) -> Option<NaiveDate> {
    let parts = parts_of(words, numbers);
    let (day, month, year) = match parts.iter().position(|part| matches!(part, Part::Month(_))) {
        Some(at) => with_month_name(&parts, at)?,
        None => all_numbers(&parts, dialect)?,
    };
    let date = NaiveDate::from_ymd_opt(full_year(year, today)?, month, u32::try_from(day).ok()?)?;
    (date <= today && date.year() >= 1900).then_some(date)
}

fn parts_of(words: &Words, numbers: &[NumberSpan]) -> Vec<Part> {
    let mut parts = Vec::new();
    // The word that started the last number, for "nineteen eighty five" and "twenty fifth".
    let mut last_number_word = "";
    let mut index = 0;
    while index < words.len() {
        let token = words.get(index).unwrap_or("");
        if let Some(month) = month_number(token) {
            parts.push(Part::Month(month));
            index += 1;
            continue;
        }
        let (value, end) = if let Some(day) = ordinal_day(token) {
            (i64::from(day), index + 1)
        } else if let Some(span) = numbers.iter().find(|span| span.start == index) {
            match span.whole() {
                Some(value) => (value, span.end),
                None => {
                    index = span.end;
                    continue;
                }
            }
        } else {
            index += 1;
            continue;
        };
        push_number(&mut parts, last_number_word, token, value);
        last_number_word = token;
        index = end;
    }
    parts
}

/// Adds a number, joining it to the one before when together they make one: "nineteen" and
/// "eighty five" are 1985, "twenty" and "fifth" are the 25th.
fn push_number(parts: &mut Vec<Part>, previous_word: &str, word: &str, value: i64) {
    let joined = match (parts.last(), previous_word) {
        (Some(Part::Number(century @ (19 | 20))), "nineteen" | "twenty") if (10..=99).contains(&value) => {
            Some(century * 100 + value)
        }
        (Some(Part::Number(tens @ (20 | 30))), "twenty" | "thirty") if ordinal_day(word).is_some() && value < 10 => {
            Some(tens + value)
        }
        _ => None,
    };
    match joined {
        Some(value) => {
            parts.pop();
            parts.push(Part::Number(value));
        }
        None => parts.push(Part::Number(value)),
    }
}

/// "15 de marzo de 1985" or "March 15 1985": the day is the number next to the month name.
fn with_month_name(parts: &[Part], at: usize) -> Option<(i64, u32, i64)> {
    let Part::Month(month) = parts[at] else {
        return None;
    };
    let number = |index: usize| match parts.get(index) {
        Some(Part::Number(value)) => Some(*value),
        _ => None,
    };
    let before = at.checked_sub(1).and_then(number).filter(|day| (1..=31).contains(day));
    match before {
        Some(day) => Some((day, month, number(at + 1)?)),
        None => Some((number(at + 1)?, month, number(at + 2)?)),
    }
}

/// "quince del tres del ochenta y cinco", "15 03 85", "03/15/1985".
fn all_numbers(parts: &[Part], dialect: Dialect) -> Option<(i64, u32, i64)> {
    let numbers: Vec<i64> = parts
        .iter()
        .filter_map(|part| match part {
            Part::Number(value) => Some(*value),
            Part::Month(_) => None,
        })
        .collect();
    let [first, second, year] = numbers[..] else {
        return None;
    };
    let month_first = dialect == Dialect::UnitedStates && first <= 12 || second > 12;
    let (day, month) = if month_first { (second, first) } else { (first, second) };
    Some((day, u32::try_from(month).ok().filter(|month| (1..=12).contains(month))?, year))
}

/// Widens a two-digit year to the latest year not after `today` ("85" is 1985, "03" is 2003).
fn full_year(year: i64, today: NaiveDate) -> Option<i32> {
    let year = i32::try_from(year).ok()?;
    if year >= 100 {
        return Some(year);
    }
    let this_century = today.year() / 100 * 100;
    let candidate = this_century + year;
    Some(if candidate > today.year() { candidate - 100 } else { candidate })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialog::nlu::numbers::find_numbers;

    fn birth(text: &str, dialect: Dialect) -> Option<NaiveDate> {
        let words = Words::new(text);
        let numbers = find_numbers(words.tokens());
        find_birth_date(&words, &numbers, NaiveDate::from_ymd_opt(2026, 12, 2).unwrap(), dialect)
    }

    fn date(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(y, m, d)
    }

    #[test]
    fn spanish_birth_dates() {
        assert_eq!(birth("15 de marzo de 1985", Dialect::Mexico), date(1985, 3, 15));
        assert_eq!(birth("quince del tres del ochenta y cinco", Dialect::Mexico), date(1985, 3, 15));
        assert_eq!(birth("el primero de enero de mil novecientos noventa", Dialect::Peru), date(1990, 1, 1));
        assert_eq!(birth("nací el veinte de octubre del 78", Dialect::Colombia), date(1978, 10, 20));
        assert_eq!(birth("15/03/1985", Dialect::Chile), date(1985, 3, 15));
        assert_eq!(birth("5 de mayo del 03", Dialect::Peru), date(2003, 5, 5));
    }

    #[test]
    fn english_birth_dates() {
        assert_eq!(birth("March 15 1985", Dialect::UnitedStates), date(1985, 3, 15));
        assert_eq!(birth("march fifteenth nineteen eighty five", Dialect::UnitedStates), date(1985, 3, 15));
        assert_eq!(birth("03/15/1985", Dialect::UnitedStates), date(1985, 3, 15));
        assert_eq!(birth("the 15th of March 1985", Dialect::UnitedStates), date(1985, 3, 15));
        assert_eq!(birth("15/03/1985", Dialect::UnitedStates), date(1985, 3, 15));
        assert_eq!(birth("march twenty fifth nineteen ninety", Dialect::UnitedStates), date(1990, 3, 25));
    }

    #[test]
    fn impossible_birth_dates_are_none() {
        assert_eq!(birth("31 de febrero de 1985", Dialect::Mexico), None);
        assert_eq!(birth("15 de marzo de 2030", Dialect::Mexico), None);
        assert_eq!(birth("marzo", Dialect::Mexico), None);
        assert_eq!(birth("no me acuerdo", Dialect::Mexico), None);
    }
}
