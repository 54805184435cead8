//! National holidays computed by each country's rule: fixed dates, dates counted from Easter,
//! and the laws that move a holiday to a Monday. The jurisdiction files list each year's dates;
//! these rules check those lists and give the next year's.
//!
//! Days that a government decrees year by year (Argentina's bridge days, Chile's solstice
//! holiday) come from [`decreed_days`], which knows 2026 and 2027.

use chrono::{Datelike, Duration, NaiveDate, Weekday};

/// Returns the country's national holidays of `year` in date order, or `None` for a country
/// without rules here. The United States returns none: federal collection law bans no day.
pub fn national_holidays(country: &str, year: i32) -> Option<Vec<NaiveDate>> {
    let mut days = match country {
        "MX" => mexico(year),
        "CO" => colombia(year),
        "PE" => peru(year),
        "CL" => chile(year),
        "AR" => argentina(year),
        "BR" => brazil(year),
        "US" => Vec::new(),
        _ => return None,
    };
    days.extend(decreed_days(country, year));
    days.sort_unstable();
    days.dedup();
    Some(days)
}

/// Returns the holidays a government set by decree for one year, or none for a year not listed.
// NOTE: only 2026 and 2027 are listed; later years need their decrees added here.
pub fn decreed_days(country: &str, year: i32) -> Vec<NaiveDate> {
    let dates: &[(u32, u32)] = match (country, year) {
        // Días no laborables con fines turísticos set for 2026.
        ("AR", 2026) => &[(3, 23), (7, 10), (12, 7)],
        // The Día Nacional de los Pueblos Indígenas falls on the June solstice (Ley 21.357).
        ("CL", 2026) => &[(6, 21)],
        ("CL", 2027) => &[(6, 21)],
        _ => &[],
    };
    dates.iter().map(|(month, day)| date(year, *month, *day)).collect()
}

/// Returns Easter Sunday of the Gregorian calendar (the anonymous Gregorian computus).
pub fn easter_sunday(year: i32) -> NaiveDate {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    date(year, month as u32, day as u32)
}

/// Ley Federal del Trabajo, art. 74. The 1 October of a presidential inauguration (every six
/// years from 2024) is added in those years.
fn mexico(year: i32) -> Vec<NaiveDate> {
    let mut days = vec![
        date(year, 1, 1),
        nth_weekday(year, 2, Weekday::Mon, 1),
        nth_weekday(year, 3, Weekday::Mon, 3),
        date(year, 5, 1),
        date(year, 9, 16),
        nth_weekday(year, 11, Weekday::Mon, 3),
        date(year, 12, 25),
    ];
    if (year - 2024) % 6 == 0 {
        days.push(date(year, 10, 1));
    }
    days
}

/// Ley 51 de 1983 (Ley Emiliani): several holidays move to the following Monday.
fn colombia(year: i32) -> Vec<NaiveDate> {
    let easter = easter_sunday(year);
    let mut days = vec![
        date(year, 1, 1),
        easter - Duration::days(3),
        easter - Duration::days(2),
        date(year, 5, 1),
        date(year, 7, 20),
        date(year, 8, 7),
        date(year, 12, 8),
        date(year, 12, 25),
    ];
    for (month, day) in [(1, 6), (3, 19), (6, 29), (8, 15), (10, 12), (11, 1), (11, 11)] {
        days.push(next_monday(date(year, month, day)));
    }
    // Ascension, Corpus Christi and the Sacred Heart, each on the Monday after its feast.
    for after_easter in [43, 64, 71] {
        days.push(easter + Duration::days(after_easter));
    }
    days
}

/// The holidays of the Peruvian labour calendar; only Holy Thursday and Good Friday move.
fn peru(year: i32) -> Vec<NaiveDate> {
    let easter = easter_sunday(year);
    let mut days = vec![easter - Duration::days(3), easter - Duration::days(2)];
    for (month, day) in [
        (1, 1),
        (5, 1),
        (6, 7),
        (6, 29),
        (7, 23),
        (7, 28),
        (7, 29),
        (8, 6),
        (8, 30),
        (10, 8),
        (11, 1),
        (12, 8),
        (12, 9),
        (12, 25),
    ] {
        days.push(date(year, month, day));
    }
    days
}

/// Chile: Ley 19.668 moves San Pedro y San Pablo and the Encuentro de Dos Mundos to a Monday,
/// Ley 20.299 moves the Día de las Iglesias Evangélicas to a Friday, and Ley 20.215 adds 17
/// September on a Monday and 20 September on a Friday.
fn chile(year: i32) -> Vec<NaiveDate> {
    let easter = easter_sunday(year);
    let mut days = vec![easter - Duration::days(2), easter - Duration::days(1)];
    for (month, day) in [(1, 1), (5, 1), (5, 21), (7, 16), (8, 15), (9, 18), (9, 19), (11, 1), (12, 8), (12, 25)] {
        days.push(date(year, month, day));
    }
    days.push(chilean_monday(date(year, 6, 29)));
    days.push(chilean_monday(date(year, 10, 12)));

    let evangelical = date(year, 10, 31);
    days.push(match evangelical.weekday() {
        Weekday::Tue => evangelical - Duration::days(4),
        Weekday::Wed => evangelical + Duration::days(2),
        _ => evangelical,
    });

    let september_17 = date(year, 9, 17);
    if september_17.weekday() == Weekday::Mon {
        days.push(september_17);
    }
    let september_20 = date(year, 9, 20);
    if september_20.weekday() == Weekday::Fri {
        days.push(september_20);
    }
    days
}

/// Argentina, Ley 27.399: fixed holidays, Carnival and Good Friday, and four holidays that move
/// to a Monday.
fn argentina(year: i32) -> Vec<NaiveDate> {
    let easter = easter_sunday(year);
    let mut days = vec![easter - Duration::days(48), easter - Duration::days(47), easter - Duration::days(2)];
    for (month, day) in [(1, 1), (3, 24), (4, 2), (5, 1), (5, 25), (6, 20), (7, 9), (12, 8), (12, 25)] {
        days.push(date(year, month, day));
    }
    for (month, day) in [(6, 17), (8, 17), (10, 12), (11, 20)] {
        days.push(argentine_monday(date(year, month, day)));
    }
    days
}

/// Brazil's national holidays (Leis 662/1949, 6.802/1980, 10.607/2002 and 14.759/2023). Carnival
/// and Corpus Christi are optional days off, not national holidays.
fn brazil(year: i32) -> Vec<NaiveDate> {
    let mut days = vec![easter_sunday(year) - Duration::days(2)];
    for (month, day) in [(1, 1), (4, 21), (5, 1), (9, 7), (10, 12), (11, 2), (11, 15), (11, 20), (12, 25)] {
        days.push(date(year, month, day));
    }
    days
}

/// The day itself on a Monday, else the next Monday.
fn next_monday(day: NaiveDate) -> NaiveDate {
    let ahead = (7 - day.weekday().num_days_from_monday()) % 7;
    day + Duration::days(i64::from(ahead))
}

/// Chile: Tuesday to Thursday move back to that week's Monday, a Friday to the next Monday, and
/// a weekend or Monday stays.
fn chilean_monday(day: NaiveDate) -> NaiveDate {
    match day.weekday() {
        Weekday::Tue | Weekday::Wed | Weekday::Thu => monday_of_week(day),
        Weekday::Fri => day + Duration::days(3),
        _ => day,
    }
}

/// Argentina: Tuesday and Wednesday move back to the Monday before, Thursday and Friday to the
/// next Monday, and a weekend or Monday stays.
fn argentine_monday(day: NaiveDate) -> NaiveDate {
    match day.weekday() {
        Weekday::Tue | Weekday::Wed => monday_of_week(day),
        Weekday::Thu | Weekday::Fri => next_monday(day),
        _ => day,
    }
}

fn monday_of_week(day: NaiveDate) -> NaiveDate {
    day - Duration::days(i64::from(day.weekday().num_days_from_monday()))
}

/// The `n`-th `weekday` of a month, counting from 1.
fn nth_weekday(year: i32, month: u32, weekday: Weekday, n: u8) -> NaiveDate {
    NaiveDate::from_weekday_of_month_opt(year, month, weekday, n).expect("every month has a fourth weekday")
}

fn date(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).expect("holiday dates are valid calendar dates")
}

#[cfg(test)]
mod tests;
