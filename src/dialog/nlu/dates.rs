//! Dates in speech, both ways: [`find_date`] resolves what the caller said ("el viernes",
//! "pasado mañana", "el 15 de diciembre", "next Friday") against the call's date, and
//! [`spoken_date`] writes a date as the bot says it.

use chrono::{Datelike, Duration, Months, NaiveDate, Weekday};

use super::numbers::NumberSpan;
use super::text::Words;
use crate::dialog::Language;

/// The direction in which a date without a year or week is resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    /// A payment to come: never before the call's date.
    Future,
    /// A payment already made: never after the call's date.
    Past,
}

/// A date found in a transcript and the tokens it used, so its numbers are not read as amounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DateSpan {
    pub date: NaiveDate,
    pub start: usize,
    pub end: usize,
}

/// Finds the first date the caller gave. A week or a month to come resolves to its first day
/// ("la próxima semana" is next Monday), the earliest date the caller allowed; a week or a month
/// gone ("la semana pasada") gives `None` so the bot asks for the day.
pub(crate) fn find_date(
    words: &Words,
    numbers: &[NumberSpan],
    today: NaiveDate,
    direction: Direction,
) -> Option<DateSpan> {
    let finders: [fn(&Scan, Direction) -> Option<Resolved>; 7] =
        [day_and_month, relative_day, weekday, counted_offset, month_end, next_period, day_of_month];
    let scan = Scan { words, numbers, today };
    // The first expression recognised decides, even when it points the wrong way: "el 10 de
    // enero de 2026" said for a payment to come is no date, not "el 10" of this month.
    finders.iter().find_map(|finder| finder(&scan, direction)).flatten()
}

/// A finder's reading of the expression it recognised: a date, or `None` when the expression
/// points to the wrong side of today or names a day that does not exist.
type Resolved = Option<DateSpan>;

struct Scan<'a> {
    words: &'a Words,
    numbers: &'a [NumberSpan],
    today: NaiveDate,
}

impl Scan<'_> {
    fn token(&self, index: usize) -> &str {
        self.words.get(index).unwrap_or("")
    }

    fn number_at(&self, index: usize) -> Option<&NumberSpan> {
        self.numbers.iter().find(|span| span.start == index)
    }

    /// A day of the month said at `index`, as a number or an ordinal ("primero", "fifteenth").
    fn day_at(&self, index: usize) -> Option<(u32, usize)> {
        if let Some(day) = ordinal_day(self.token(index)) {
            return Some((day, index + 1));
        }
        let span = self.number_at(index)?;
        let day = span.whole()?;
        (1..=31).contains(&day).then_some((day as u32, span.end))
    }
}

/// "el 15 de diciembre", "15 de diciembre de 2026", "December 15th", "the 15th of December".
fn day_and_month(scan: &Scan, direction: Direction) -> Option<Resolved> {
    for index in 0..scan.words.len() {
        if let Some(month) = month_number(scan.token(index)) {
            // "December 15", "December the 15th"
            let day_index = if scan.token(index + 1) == "the" { index + 2 } else { index + 1 };
            if let Some((day, end)) = scan.day_at(day_index) {
                let (year, end) = year_after(scan, end);
                let date = resolve_day_month(scan.today, month, day, year, direction);
                return Some(date.map(|date| DateSpan { date, start: index, end }));
            }
        }
        if let Some((day, after_day)) = scan.day_at(index) {
            // "15 de diciembre", "15 of December", "15 December"
            let month_index = if matches!(scan.token(after_day), "de" | "of") { after_day + 1 } else { after_day };
            if let Some(month) = month_number(scan.token(month_index)) {
                let (year, end) = year_after(scan, month_index + 1);
                let start = if matches!(scan.token(index.wrapping_sub(1)), "el" | "the") { index - 1 } else { index };
                let date = resolve_day_month(scan.today, month, day, year, direction);
                return Some(date.map(|date| DateSpan { date, start, end }));
            }
        }
    }
    None
}

fn year_after(scan: &Scan, index: usize) -> (Option<i32>, usize) {
    let year_index = if matches!(scan.token(index), "de" | "del") { index + 1 } else { index };
    match scan.number_at(year_index).and_then(NumberSpan::whole) {
        Some(year) if (2000..=2100).contains(&year) => (Some(year as i32), year_index + 1),
        _ => (None, index),
    }
}

fn resolve_day_month(
    today: NaiveDate,
    month: u32,
    day: u32,
    year: Option<i32>,
    direction: Direction,
) -> Option<NaiveDate> {
    if let Some(year) = year {
        let date = NaiveDate::from_ymd_opt(year, month, day)?;
        return is_on_side(date, today, direction).then_some(date);
    }
    // The nearest such date on the right side of today, within a leap cycle for 29 February.
    let years: Vec<i32> = match direction {
        Direction::Future => (today.year()..today.year() + 5).collect(),
        Direction::Past => (today.year() - 4..=today.year()).rev().collect(),
    };
    years
        .into_iter()
        .filter_map(|year| NaiveDate::from_ymd_opt(year, month, day))
        .find(|date| is_on_side(*date, today, direction))
}

fn is_on_side(date: NaiveDate, today: NaiveDate, direction: Direction) -> bool {
    match direction {
        Direction::Future => date >= today,
        Direction::Past => date <= today,
    }
}

/// "hoy", "mañana", "pasado mañana", "ayer", "antier", "today", "tomorrow", "yesterday".
fn relative_day(scan: &Scan, direction: Direction) -> Option<Resolved> {
    let words = scan.words;
    for index in 0..words.len() {
        let token = scan.token(index);
        let next = scan.token(index + 1);
        let (offset, end) = match token {
            "hoy" | "today" => (0, index + 1),
            "pasado" if next == "manana" => (2, index + 2),
            // "la mañana" is the morning, not tomorrow.
            "manana" if !matches!(scan.token(index.wrapping_sub(1)), "la" | "pasado") => (1, index + 1),
            "tomorrow" => (1, index + 1),
            "day" if next == "after" && scan.token(index + 2) == "tomorrow" => (2, index + 3),
            "ayer" | "yesterday" => (-1, index + 1),
            "antier" | "anteayer" => (-2, index + 1),
            "antes" if next == "de" && scan.token(index + 2) == "ayer" => (-2, index + 3),
            _ => continue,
        };
        let date = scan.today + Duration::days(offset);
        let resolved = is_on_side(date, scan.today, direction).then_some(DateSpan { date, start: index, end });
        return Some(resolved);
    }
    None
}

/// "el viernes", "este viernes", "el próximo viernes", "el viernes de la próxima semana",
/// "el lunes pasado", "next Friday", "on Friday".
fn weekday(scan: &Scan, direction: Direction) -> Option<Resolved> {
    for index in 0..scan.words.len() {
        let Some(day) = weekday_named(scan.token(index)) else {
            continue;
        };
        let before = scan.token(index.wrapping_sub(1));
        let start = if matches!(before, "este" | "esta" | "this" | "proximo" | "next" | "el" | "on" | "last") {
            index - 1
        } else {
            index
        };
        let this_week = matches!(before, "este" | "esta" | "this");
        let (week_later, end) = following_week(scan, index + 1);
        let past = before == "last" || scan.token(index + 1) == "pasado";

        let today = scan.today;
        let date = if past || direction == Direction::Past {
            let back = (today.weekday().num_days_from_monday() + 7 - day.num_days_from_monday()) % 7;
            let back = if back == 0 { 7 } else { back };
            let date = today - Duration::days(i64::from(back));
            if direction == Direction::Future {
                return Some(None);
            }
            date
        } else if week_later {
            // The named day of the calendar week (Monday to Sunday) after this one.
            let next_monday = today + Duration::days(i64::from(7 - today.weekday().num_days_from_monday()));
            next_monday + Duration::days(i64::from(day.num_days_from_monday()))
        } else {
            let ahead = (day.num_days_from_monday() + 7 - today.weekday().num_days_from_monday()) % 7;
            // "este viernes" said on a Friday is today; "el viernes" and "el próximo viernes" are
            // the next Friday strictly after today.
            let ahead = if ahead == 0 && !this_week { 7 } else { ahead };
            today + Duration::days(i64::from(ahead))
        };
        let end = if past && scan.token(index + 1) == "pasado" { index + 2 } else { end };
        return Some(Some(DateSpan { date, start, end }));
    }
    None
}

/// "de la próxima semana", "de la semana que viene", "next week" after a weekday.
fn following_week(scan: &Scan, index: usize) -> (bool, usize) {
    let phrases: [&[&str]; 5] = [
        &["de", "la", "proxima", "semana"],
        &["de", "la", "otra", "semana"],
        &["de", "la", "semana", "que", "viene"],
        &["de", "la", "semana", "que", "entra"],
        &["next", "week"],
    ];
    for phrase in phrases {
        let matches = phrase.iter().enumerate().all(|(offset, word)| scan.token(index + offset) == *word);
        if matches {
            return (true, index + phrase.len());
        }
    }
    (false, index)
}

/// "en una semana", "en 3 días", "dentro de dos semanas", "in a week", "hace 3 días", "2 days ago".
fn counted_offset(scan: &Scan, direction: Direction) -> Option<Resolved> {
    for index in 0..scan.words.len() {
        let token = scan.token(index);
        let (count_index, sign) = match token {
            "en" | "in" => (index + 1, 1),
            "dentro" if scan.token(index + 1) == "de" => (index + 2, 1),
            "hace" => (index + 1, -1),
            _ => continue,
        };
        let Some((count, unit_index)) = count_at(scan, count_index) else {
            continue;
        };
        let Some(date) = offset_date(scan.today, sign * count, scan.token(unit_index)) else {
            continue;
        };
        let resolved =
            is_on_side(date, scan.today, direction).then_some(DateSpan { date, start: index, end: unit_index + 1 });
        return Some(resolved);
    }
    // English "3 days ago"
    for index in 0..scan.words.len() {
        if let Some((count, unit_index)) = count_at(scan, index) {
            if let (Some(days_per_unit), "ago") = (unit_days(scan.token(unit_index)), scan.token(unit_index + 1)) {
                let date = scan.today - Duration::days(count * days_per_unit);
                let resolved =
                    (direction == Direction::Past).then_some(DateSpan { date, start: index, end: unit_index + 2 });
                return Some(resolved);
            }
        }
    }
    None
}

fn count_at(scan: &Scan, index: usize) -> Option<(i64, usize)> {
    if matches!(scan.token(index), "a" | "an") {
        return Some((1, index + 1));
    }
    let span = scan.number_at(index)?;
    let count = span.whole()?;
    (1..=366).contains(&count).then_some((count, span.end))
}

fn unit_days(token: &str) -> Option<i64> {
    match token {
        "dia" | "dias" | "day" | "days" => Some(1),
        "semana" | "semanas" | "week" | "weeks" => Some(7),
        _ => None,
    }
}

/// Moves `today` by `count` days, weeks or calendar months ("en un mes", "hace dos meses"). A
/// month later than the 31st is the last day of the shorter month.
fn offset_date(today: NaiveDate, count: i64, unit: &str) -> Option<NaiveDate> {
    if let Some(days_per_unit) = unit_days(unit) {
        return today.checked_add_signed(Duration::days(count.checked_mul(days_per_unit)?));
    }
    if !matches!(unit, "mes" | "meses" | "month" | "months") {
        return None;
    }
    let months = Months::new(u32::try_from(count.unsigned_abs()).ok()?);
    if count >= 0 {
        today.checked_add_months(months)
    } else {
        today.checked_sub_months(months)
    }
}

/// "a fin de mes", "a finales del mes", "end of the month", "la quincena". The month's end is
/// today on its last day; the quincena is the first 15th or month end strictly after today, the
/// next payday.
fn month_end(scan: &Scan, direction: Direction) -> Option<Resolved> {
    if direction == Direction::Past {
        return None;
    }
    let today = scan.today;
    let last_day = last_day_of_month(today);
    for index in 0..scan.words.len() {
        let token = scan.token(index);
        let end_of_month = match (token, scan.token(index + 1), scan.token(index + 2)) {
            ("fin" | "finales" | "final", "de" | "del", "mes") => Some(index + 3),
            ("end", "of", "month") => Some(index + 3),
            ("end", "of", "the") if scan.token(index + 3) == "month" => Some(index + 4),
            _ => None,
        };
        let (date, end) = if let Some(end) = end_of_month {
            (last_day, end)
        } else if matches!(token, "quincena" | "quincenas") {
            (next_payday(today)?, index + 1)
        } else {
            continue;
        };
        return Some(Some(DateSpan { date, start: index, end }));
    }
    None
}

/// The first 15th or last day of a month strictly after `today`.
fn next_payday(today: NaiveDate) -> Option<NaiveDate> {
    let fifteenth = today.with_day(15)?;
    let last_day = last_day_of_month(today);
    let next_fifteenth = (today.with_day(1)? + Months::new(1)).with_day(15)?;
    [fifteenth, last_day, next_fifteenth].into_iter().find(|date| *date > today)
}

/// "la próxima semana", "la semana que viene", "la otra semana", "next week": next Monday.
/// "el próximo mes", "el mes que viene", "next month": the first of next month. A week or month
/// gone ("la semana pasada", "last week") is recognised and gives no date.
fn next_period(scan: &Scan, direction: Direction) -> Option<Resolved> {
    const NEXT_WEEK: [&[&str]; 6] = [
        &["proxima", "semana"],
        &["semana", "que", "viene"],
        &["semana", "que", "entra"],
        &["otra", "semana"],
        &["siguiente", "semana"],
        &["next", "week"],
    ];
    const NEXT_MONTH: [&[&str]; 6] = [
        &["proximo", "mes"],
        &["mes", "que", "viene"],
        &["mes", "que", "entra"],
        &["otro", "mes"],
        &["siguiente", "mes"],
        &["next", "month"],
    ];
    const LAST_PERIOD: [&[&str]; 4] =
        [&["semana", "pasada"], &["mes", "pasado"], &["last", "week"], &["last", "month"]];

    let today = scan.today;
    for index in 0..scan.words.len() {
        let starts = |phrase: &[&str]| phrase.iter().enumerate().all(|(at, word)| scan.token(index + at) == *word);
        if LAST_PERIOD.iter().any(|phrase| starts(phrase)) {
            return Some(None);
        }
        let (date, length) = if let Some(phrase) = NEXT_WEEK.iter().find(|phrase| starts(phrase)) {
            let monday = today + Duration::days(i64::from(7 - today.weekday().num_days_from_monday()));
            (monday, phrase.len())
        } else if let Some(phrase) = NEXT_MONTH.iter().find(|phrase| starts(phrase)) {
            (today.with_day(1)? + Months::new(1), phrase.len())
        } else {
            continue;
        };
        let resolved = (direction == Direction::Future).then_some(DateSpan { date, start: index, end: index + length });
        return Some(resolved);
    }
    None
}

fn last_day_of_month(date: NaiveDate) -> NaiveDate {
    let first = date.with_day(1).unwrap_or(date);
    let next_first = first + Months::new(1);
    next_first - Duration::days(1)
}

/// "el 15", "el día 15", "el quince", "the 15th", "on the fifteenth".
fn day_of_month(scan: &Scan, direction: Direction) -> Option<Resolved> {
    for index in 0..scan.words.len() {
        let token = scan.token(index);
        let day_index = match token {
            "el" | "the" if scan.token(index + 1) == "dia" => index + 2,
            "el" | "the" | "dia" => index + 1,
            _ => continue,
        };
        let Some((day, end)) = scan.day_at(day_index) else {
            continue;
        };
        // "el 15 por ciento" and "the 15 dollars" are not dates.
        if is_amount_unit(scan.token(end)) {
            continue;
        }
        let date = resolve_day(scan.today, day, direction);
        return Some(date.map(|date| DateSpan { date, start: index, end }));
    }
    None
}

/// Reads a lone number as a day of the month, for an answer to "¿en qué fecha?" such as "15".
pub(crate) fn day_alone(words: &Words, span: &NumberSpan, today: NaiveDate, direction: Direction) -> Option<DateSpan> {
    let day = span.whole()?;
    if !(1..=31).contains(&day) || words.get(span.end).is_some_and(is_amount_unit) {
        return None;
    }
    let date = resolve_day(today, day as u32, direction)?;
    Some(DateSpan { date, start: span.start, end: span.end })
}

fn is_amount_unit(token: &str) -> bool {
    matches!(token, "%" | "por" | "pesos" | "soles" | "dolares" | "dollars" | "percent")
}

/// Returns the nearest date with that day of the month on the right side of today.
fn resolve_day(today: NaiveDate, day: u32, direction: Direction) -> Option<NaiveDate> {
    let first = today.with_day(1)?;
    (0..12).find_map(|months| {
        let month_start = match direction {
            Direction::Future => first.checked_add_months(Months::new(months))?,
            Direction::Past => first.checked_sub_months(Months::new(months))?,
        };
        month_start.with_day(day).filter(|date| is_on_side(*date, today, direction))
    })
}

fn weekday_named(token: &str) -> Option<Weekday> {
    let day = match token {
        "lunes" | "monday" => Weekday::Mon,
        "martes" | "tuesday" => Weekday::Tue,
        "miercoles" | "wednesday" => Weekday::Wed,
        "jueves" | "thursday" => Weekday::Thu,
        "viernes" | "friday" => Weekday::Fri,
        "sabado" | "saturday" => Weekday::Sat,
        "domingo" | "sunday" => Weekday::Sun,
        _ => return None,
    };
    Some(day)
}

pub(crate) fn month_number(token: &str) -> Option<u32> {
    let month = match token {
        "enero" | "january" => 1,
        "febrero" | "february" => 2,
        "marzo" | "march" => 3,
        "abril" | "april" => 4,
        "mayo" | "may" => 5,
        "junio" | "june" => 6,
        "julio" | "july" => 7,
        "agosto" | "august" => 8,
        "septiembre" | "setiembre" | "september" => 9,
        "octubre" | "october" => 10,
        "noviembre" | "november" => 11,
        "diciembre" | "december" => 12,
        _ => return None,
    };
    Some(month)
}

pub(crate) fn ordinal_day(token: &str) -> Option<u32> {
    const ENGLISH: [&str; 31] = [
        "first",
        "second",
        "third",
        "fourth",
        "fifth",
        "sixth",
        "seventh",
        "eighth",
        "ninth",
        "tenth",
        "eleventh",
        "twelfth",
        "thirteenth",
        "fourteenth",
        "fifteenth",
        "sixteenth",
        "seventeenth",
        "eighteenth",
        "nineteenth",
        "twentieth",
        "twentyfirst",
        "twentysecond",
        "twentythird",
        "twentyfourth",
        "twentyfifth",
        "twentysixth",
        "twentyseventh",
        "twentyeighth",
        "twentyninth",
        "thirtieth",
        "thirtyfirst",
    ];
    if token == "primero" {
        return Some(1);
    }
    ENGLISH.iter().position(|word| *word == token).map(|index| index as u32 + 1)
}

/// Writes a date as the bot says it: "el viernes 4 de diciembre" or "Friday, December 4", with
/// the year when it is not the year of `today`.
pub fn spoken_date(d: NaiveDate, today: NaiveDate, lang: Language) -> String {
    let weekday_index = d.weekday().num_days_from_monday() as usize;
    let month_index = d.month0() as usize;
    let other_year = d.year() != today.year();
    match lang {
        Language::Es => {
            const WEEKDAYS: [&str; 7] = ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"];
            const MONTHS: [&str; 12] = [
                "enero",
                "febrero",
                "marzo",
                "abril",
                "mayo",
                "junio",
                "julio",
                "agosto",
                "septiembre",
                "octubre",
                "noviembre",
                "diciembre",
            ];
            let mut spoken = format!("el {} {} de {}", WEEKDAYS[weekday_index], d.day(), MONTHS[month_index]);
            if other_year {
                spoken.push_str(&format!(" de {}", d.year()));
            }
            spoken
        }
        Language::En => {
            const WEEKDAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
            const MONTHS: [&str; 12] = [
                "January",
                "February",
                "March",
                "April",
                "May",
                "June",
                "July",
                "August",
                "September",
                "October",
                "November",
                "December",
            ];
            let mut spoken = format!("{}, {} {}", WEEKDAYS[weekday_index], MONTHS[month_index], d.day());
            if other_year {
                spoken.push_str(&format!(", {}", d.year()));
            }
            spoken
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialog::nlu::numbers::find_numbers;
    use proptest::prelude::*;

    /// Wednesday.
    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 2).unwrap()
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn resolve_on(text: &str, today: NaiveDate, direction: Direction) -> Option<NaiveDate> {
        let words = Words::new(text);
        let numbers = find_numbers(words.tokens());
        find_date(&words, &numbers, today, direction).map(|span| span.date)
    }

    fn future(text: &str) -> Option<NaiveDate> {
        resolve_on(text, today(), Direction::Future)
    }

    fn past(text: &str) -> Option<NaiveDate> {
        resolve_on(text, today(), Direction::Past)
    }

    #[test]
    fn relative_days() {
        assert_eq!(future("hoy mismo"), Some(date(2026, 12, 2)));
        assert_eq!(future("mañana"), Some(date(2026, 12, 3)));
        assert_eq!(future("pasado mañana"), Some(date(2026, 12, 4)));
        assert_eq!(future("tomorrow"), Some(date(2026, 12, 3)));
        assert_eq!(future("the day after tomorrow"), Some(date(2026, 12, 4)));
        assert_eq!(past("ayer"), Some(date(2026, 12, 1)));
        assert_eq!(past("antier"), Some(date(2026, 11, 30)));
    }

    #[test]
    fn morning_is_not_tomorrow() {
        assert_eq!(future("el viernes en la mañana"), Some(date(2026, 12, 4)));
        assert_eq!(future("por la mañana"), None);
    }

    #[test]
    fn weekdays_point_forward() {
        assert_eq!(future("el viernes"), Some(date(2026, 12, 4)));
        assert_eq!(future("este viernes"), Some(date(2026, 12, 4)));
        assert_eq!(future("el próximo lunes"), Some(date(2026, 12, 7)));
        assert_eq!(future("next Friday"), Some(date(2026, 12, 4)));
        assert_eq!(future("on Friday"), Some(date(2026, 12, 4)));
        assert_eq!(future("el viernes de la próxima semana"), Some(date(2026, 12, 11)));
    }

    #[test]
    fn same_weekday_as_today() {
        assert_eq!(future("el miércoles"), Some(date(2026, 12, 9)));
        assert_eq!(future("el próximo miércoles"), Some(date(2026, 12, 9)));
        assert_eq!(future("este miércoles"), Some(date(2026, 12, 2)));
    }

    #[test]
    fn weekdays_point_back_for_payments_made() {
        assert_eq!(past("el lunes"), Some(date(2026, 11, 30)));
        assert_eq!(past("el miércoles"), Some(date(2026, 11, 25)));
        assert_eq!(past("el lunes pasado"), Some(date(2026, 11, 30)));
        assert_eq!(future("el lunes pasado"), None);
    }

    #[test]
    fn day_of_month() {
        assert_eq!(future("el 15"), Some(date(2026, 12, 15)));
        assert_eq!(future("el día 1"), Some(date(2027, 1, 1)));
        assert_eq!(future("el quince"), Some(date(2026, 12, 15)));
        assert_eq!(future("on the 15th"), Some(date(2026, 12, 15)));
        assert_eq!(past("el 15"), Some(date(2026, 11, 15)));
        assert_eq!(future("el 31"), Some(date(2026, 12, 31)));
    }

    #[test]
    fn day_of_month_skips_short_months() {
        let jan_31 = date(2027, 1, 31);
        assert_eq!(resolve_on("el 30", date(2027, 1, 31), Direction::Future), Some(date(2027, 3, 30)));
        assert_eq!(resolve_on("el 31", jan_31, Direction::Future), Some(jan_31));
    }

    #[test]
    fn day_and_month() {
        assert_eq!(future("el 15 de diciembre"), Some(date(2026, 12, 15)));
        assert_eq!(future("el quince de diciembre"), Some(date(2026, 12, 15)));
        assert_eq!(future("el primero de enero"), Some(date(2027, 1, 1)));
        assert_eq!(future("December 15th"), Some(date(2026, 12, 15)));
        assert_eq!(future("the 15th of December"), Some(date(2026, 12, 15)));
        assert_eq!(future("el viernes 4 de diciembre"), Some(date(2026, 12, 4)));
        assert_eq!(future("el 10 de enero de 2027"), Some(date(2027, 1, 10)));
        assert_eq!(future("el 10 de enero de 2026"), None);
        assert_eq!(past("el 28 de noviembre"), Some(date(2026, 11, 28)));
    }

    #[test]
    fn passed_day_and_month_moves_to_next_year() {
        assert_eq!(future("el 1 de diciembre"), Some(date(2027, 12, 1)));
    }

    #[test]
    fn counted_offsets() {
        assert_eq!(future("en una semana"), Some(date(2026, 12, 9)));
        assert_eq!(future("en ocho días"), Some(date(2026, 12, 10)));
        assert_eq!(future("dentro de dos semanas"), Some(date(2026, 12, 16)));
        assert_eq!(future("in a week"), Some(date(2026, 12, 9)));
        assert_eq!(past("hace tres días"), Some(date(2026, 11, 29)));
        assert_eq!(past("3 days ago"), Some(date(2026, 11, 29)));
    }

    #[test]
    fn month_end_and_fortnight() {
        assert_eq!(future("a fin de mes"), Some(date(2026, 12, 31)));
        assert_eq!(future("en la quincena"), Some(date(2026, 12, 15)));
        assert_eq!(future("at the end of the month"), Some(date(2026, 12, 31)));
    }

    #[test]
    fn next_week_and_month_start_on_their_first_day() {
        assert_eq!(future("la próxima semana"), Some(date(2026, 12, 7)));
        assert_eq!(future("la semana que viene"), Some(date(2026, 12, 7)));
        assert_eq!(future("la otra semana"), Some(date(2026, 12, 7)));
        assert_eq!(future("next week"), Some(date(2026, 12, 7)));
        assert_eq!(future("el próximo mes"), Some(date(2027, 1, 1)));
        assert_eq!(future("next month"), Some(date(2027, 1, 1)));
        let sunday = date(2026, 12, 6);
        assert_eq!(resolve_on("la próxima semana", sunday, Direction::Future), Some(date(2026, 12, 7)));
    }

    #[test]
    fn months_count_as_offsets() {
        assert_eq!(future("en un mes"), Some(date(2027, 1, 2)));
        assert_eq!(future("in two months"), Some(date(2027, 2, 2)));
        assert_eq!(resolve_on("en un mes", date(2027, 1, 31), Direction::Future), Some(date(2027, 2, 28)));
        assert_eq!(past("hace dos meses"), Some(date(2026, 10, 2)));
    }

    #[test]
    fn quincena_is_the_next_payday_after_today() {
        assert_eq!(resolve_on("la quincena", date(2026, 12, 14), Direction::Future), Some(date(2026, 12, 15)));
        assert_eq!(resolve_on("la quincena", date(2026, 12, 15), Direction::Future), Some(date(2026, 12, 31)));
        assert_eq!(resolve_on("la quincena", date(2026, 12, 31), Direction::Future), Some(date(2027, 1, 15)));
        assert_eq!(resolve_on("la quincena", date(2027, 2, 20), Direction::Future), Some(date(2027, 2, 28)));
    }

    #[test]
    fn month_end_in_every_wording() {
        for said in ["fin de mes", "a fin del mes", "a finales de mes", "end of month", "the end of the month"] {
            assert_eq!(future(said), Some(date(2026, 12, 31)), "{said}");
        }
        assert_eq!(resolve_on("fin de mes", date(2026, 12, 31), Direction::Future), Some(date(2026, 12, 31)));
    }

    #[test]
    fn vague_expressions_give_no_date() {
        assert_eq!(past("la semana pasada"), None);
        assert_eq!(future("la semana pasada"), None);
        assert_eq!(future("cuatro mil quinientos pesos"), None);
        assert_eq!(future("el 15 por ciento"), None);
    }

    #[test]
    fn spoken_dates() {
        assert_eq!(spoken_date(date(2026, 12, 4), today(), Language::Es), "el viernes 4 de diciembre");
        assert_eq!(spoken_date(date(2027, 1, 6), today(), Language::Es), "el miércoles 6 de enero de 2027");
        assert_eq!(spoken_date(date(2026, 12, 4), today(), Language::En), "Friday, December 4");
        assert_eq!(spoken_date(date(2027, 1, 6), today(), Language::En), "Wednesday, January 6, 2027");
    }

    fn phrase() -> impl Strategy<Value = String> {
        let weekdays = prop::sample::select(vec![
            "lunes",
            "martes",
            "miércoles",
            "jueves",
            "viernes",
            "sábado",
            "domingo",
            "friday",
            "monday",
        ]);
        let prefixes = prop::sample::select(vec!["el", "este", "el próximo", "next", "this", "on", ""]);
        let months =
            prop::sample::select(vec!["enero", "febrero", "marzo", "junio", "diciembre", "december", "february"]);
        prop_oneof![
            (prefixes, weekdays).prop_map(|(p, w)| format!("{p} {w}")),
            (1u32..=31).prop_map(|d| format!("el {d}")),
            ((1u32..=31), months.clone()).prop_map(|(d, m)| format!("el {d} de {m}")),
            ((1u32..=31), months).prop_map(|(d, m)| format!("{m} {d}th")),
            (1i64..60).prop_map(|n| format!("en {n} días")),
            prop::sample::select(vec![
                "hoy",
                "mañana",
                "pasado mañana",
                "ayer",
                "fin de mes",
                "la quincena",
                "tomorrow"
            ])
            .prop_map(str::to_string),
        ]
    }

    fn any_day() -> impl Strategy<Value = NaiveDate> {
        (0i64..3_650).prop_map(|offset| date(2024, 1, 1) + Duration::days(offset))
    }

    proptest! {
        #[test]
        fn future_dates_are_never_before_today(text in phrase(), today in any_day()) {
            if let Some(found) = resolve_on(&text, today, Direction::Future) {
                prop_assert!(found >= today, "{text} on {today} gave {found}");
            }
        }

        #[test]
        fn past_dates_are_never_after_today(text in phrase(), today in any_day()) {
            if let Some(found) = resolve_on(&text, today, Direction::Past) {
                prop_assert!(found <= today, "{text} on {today} gave {found}");
            }
        }

        #[test]
        fn weekday_is_within_a_week(today in any_day(), offset in 1i64..=7) {
            let target = today + Duration::days(offset);
            let name = spoken_date(target, today, Language::Es);
            let weekday_name = name.split_whitespace().nth(1).unwrap_or_default().to_string();
            prop_assert_eq!(resolve_on(&format!("el {weekday_name}"), today, Direction::Future), Some(target));
        }

        #[test]
        fn spoken_date_reads_back(today in any_day(), offset in 0i64..400) {
            let target = today + Duration::days(offset);
            for lang in [Language::Es, Language::En] {
                let spoken = spoken_date(target, today, lang);
                prop_assert_eq!(resolve_on(&spoken, today, Direction::Future), Some(target), "{}", spoken);
            }
        }
    }
}
