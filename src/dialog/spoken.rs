//! Spoken forms the script's placeholders need beyond an amount and a date: an installment
//! schedule, a callback time, a phone number and a contact channel.

use chrono::{NaiveDate, NaiveDateTime, Timelike};

use super::nlu::{spell_number, spoken_date, spoken_money};
use super::Language;
use crate::collections::model::Installment;

/// Says a plan: "tres pagos de mil quinientos pesos, el viernes 4 de diciembre, ... y ...", or
/// "un primer pago de ... y dos pagos de ..., ..." when only the first amount differs.
pub fn spoken_schedule(schedule: &[Installment], today: NaiveDate, language: Language) -> String {
    let date = |part: &Installment| dated(part.due_date, today, language);
    let money = |part: &Installment| spoken_money(part.amount, language);
    let Some((first, rest)) = schedule.split_first() else {
        return String::new();
    };
    if rest.is_empty() {
        return format!("{} {}", money(first), date(first));
    }

    let all_equal = rest.iter().all(|part| part.amount == first.amount);
    if all_equal {
        let dates: Vec<String> = schedule.iter().map(date).collect();
        return format!(
            "{} {} {}, {}",
            count(schedule.len(), language),
            payments_of(language),
            money(first),
            join(&dates, language)
        );
    }
    let rest_equal = rest.iter().all(|part| part.amount == rest[0].amount);
    if rest_equal {
        let dates: Vec<String> = rest.iter().map(date).collect();
        let (first_words, and) = match language {
            Language::Es => ("un primer pago de", "y"),
            Language::En => ("a first payment of", "and"),
        };
        let tail = match rest.len() {
            1 => format!("{} {} {}", one_payment_of(language), money(&rest[0]), dates[0]),
            n => format!(
                "{} {} {}, {}",
                count(n, language),
                payments_of(language),
                money(&rest[0]),
                join(&dates, language)
            ),
        };
        return format!("{first_words} {} {} {and} {tail}", money(first), date(first));
    }
    let parts: Vec<String> = schedule.iter().map(|part| format!("{} {}", money(part), date(part))).collect();
    let label = match language {
        Language::Es => "pagos",
        Language::En => "payments",
    };
    format!("{} {label}, {}", count(schedule.len(), language), join(&parts, language))
}

/// Says a callback time: "el lunes 7 de diciembre a las diez de la mañana", "on Monday,
/// December 7 at 10 a.m.".
pub fn spoken_callback_time(at: NaiveDateTime, today: NaiveDate, language: Language) -> String {
    let day = dated(at.date(), today, language);
    let (hour, minute) = (at.hour(), at.minute());
    match language {
        Language::Es => {
            let hour12 = if hour % 12 == 0 { 12 } else { hour % 12 };
            let article = if hour12 == 1 { "a la una" } else { "" };
            let hour_words = match article {
                "" => format!("a las {}", spell_number(i64::from(hour12), language)),
                article => article.to_string(),
            };
            let minutes = match minute {
                0 => String::new(),
                30 => " y media".to_string(),
                m => format!(" y {}", spell_number(i64::from(m), language)),
            };
            // Noon hours are "del día": "las doce del día", "las doce y media del día".
            let part_of_day = match hour {
                0..=11 => "de la mañana",
                12 => "del día",
                13..=19 => "de la tarde",
                _ => "de la noche",
            };
            format!("{day} {hour_words}{minutes} {part_of_day}")
        }
        Language::En => {
            let hour12 = if hour % 12 == 0 { 12 } else { hour % 12 };
            let suffix = if hour < 12 { "a.m." } else { "p.m." };
            let time = match minute {
                0 => format!("{hour12} {suffix}"),
                m => format!("{hour12}:{m:02} {suffix}"),
            };
            format!("{day} at {time}")
        }
    }
}

/// Says the day of a callback without an hour: "el lunes 7 de diciembre", "on Monday, December 7".
pub fn spoken_callback_day(day: NaiveDate, today: NaiveDate, language: Language) -> String {
    dated(day, today, language)
}

/// Says a phone number digit by digit, keeping its groups: "+52 55 5010" is "cinco dos, cinco
/// cinco, cinco cero uno cero".
pub fn spoken_phone(number: &str, language: Language) -> String {
    let groups: Vec<String> = number
        .split_whitespace()
        .map(|group| {
            let digits: Vec<String> = group
                .chars()
                .filter_map(|c| c.to_digit(10))
                .map(|digit| spell_number(i64::from(digit), language))
                .collect();
            digits.join(" ")
        })
        .filter(|group| !group.is_empty())
        .collect();
    groups.join(", ")
}

/// Names a contact channel as the debtor would: `voice` is "llamadas telefónicas".
pub fn channel_name(channel: &str, language: Language) -> String {
    let name = match (channel, language) {
        ("voice", Language::Es) => "llamadas telefónicas",
        ("voice", Language::En) => "phone calls",
        ("sms", Language::Es) => "mensajes de texto",
        ("sms", Language::En) => "text messages",
        ("whatsapp", _) => "WhatsApp",
        ("email", Language::Es) => "correo electrónico",
        ("email", Language::En) => "email",
        (other, _) => other,
    };
    name.to_string()
}

/// Product names of the portfolio in Spanish and English, compared lowercase.
const PRODUCT_NAMES: &[(&str, &str)] = &[
    ("tarjeta de crédito", "credit card"),
    ("préstamo personal", "personal loan"),
    ("crédito automotriz", "auto loan"),
    ("crédito vehicular", "auto loan"),
    ("crédito de nómina", "payroll loan"),
    ("crédito de libranza", "payroll loan"),
    ("crédito de consumo", "consumer loan"),
    ("avance en efectivo", "cash advance"),
    ("línea de crédito", "line of credit"),
    ("microcrédito", "microloan"),
];

/// Names the debt's product in `language` after the caller switched to it, because the
/// portfolio writes the product in the portfolio's language. A name of [`PRODUCT_NAMES`] is
/// translated. Any other name is replaced by "cuenta" or "account" rather than said in the
/// other language.
pub fn product_name_in(product: &str, language: Language) -> String {
    let name = product.trim().to_lowercase();
    let translated = PRODUCT_NAMES.iter().find_map(|(spanish, english)| match language {
        Language::Es if name == *spanish || name == *english => Some(*spanish),
        Language::En if name == *spanish || name == *english => Some(*english),
        _ => None,
    });
    let generic = match language {
        Language::Es => "cuenta",
        Language::En => "account",
    };
    translated.unwrap_or(generic).to_string()
}

/// A date as it follows a verb: "el viernes 4 de diciembre", "on Friday, December 4".
fn dated(date: NaiveDate, today: NaiveDate, language: Language) -> String {
    match language {
        Language::Es => spoken_date(date, today, language),
        Language::En => format!("on {}", spoken_date(date, today, language)),
    }
}

fn count(n: usize, language: Language) -> String {
    spell_number(n as i64, language)
}

fn payments_of(language: Language) -> &'static str {
    match language {
        Language::Es => "pagos de",
        Language::En => "payments of",
    }
}

fn one_payment_of(language: Language) -> &'static str {
    match language {
        Language::Es => "un pago de",
        Language::En => "one payment of",
    }
}

/// Joins "a, b y c" / "a, b and c".
fn join(items: &[String], language: Language) -> String {
    let and = match language {
        Language::Es => " y ",
        Language::En => " and ",
    };
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{}{and}{last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collections::model::{Currency, Money};

    fn day(month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, month, day).unwrap()
    }

    fn part(major: i64, due_date: NaiveDate) -> Installment {
        Installment { amount: Money::from_major(major, Currency::Mxn), due_date }
    }

    #[test]
    fn product_name_translates_known_names() {
        assert_eq!(product_name_in("tarjeta de crédito", Language::En), "credit card");
        assert_eq!(product_name_in("Credit Card", Language::Es), "tarjeta de crédito");
        assert_eq!(product_name_in("crédito de nómina", Language::En), "payroll loan");
        assert_eq!(product_name_in("personal loan", Language::Es), "préstamo personal");
    }

    #[test]
    fn product_name_unknown_is_generic() {
        assert_eq!(product_name_in("product", Language::Es), "cuenta");
        assert_eq!(product_name_in("tarjeta departamental", Language::En), "account");
    }

    #[test]
    fn equal_installments_spanish() {
        let schedule = [part(1_500, day(12, 9)), part(1_500, day(12, 23))];
        assert_eq!(
            spoken_schedule(&schedule, day(12, 2), Language::Es),
            "dos pagos de mil quinientos pesos, el miércoles 9 de diciembre y el miércoles 23 de diciembre"
        );
    }

    #[test]
    fn first_installment_differs_english() {
        let schedule = [part(2_000, day(12, 4)), part(1_250, day(12, 18)), part(1_250, day(12, 31))];
        let usd: Vec<Installment> = schedule
            .iter()
            .map(|p| Installment { amount: Money::new(p.amount.amount_minor, Currency::Usd), due_date: p.due_date })
            .collect();
        assert_eq!(
            spoken_schedule(&usd, day(12, 2), Language::En),
            "a first payment of two thousand dollars on Friday, December 4 and two payments of one thousand two hundred fifty dollars, on Friday, December 18 and on Thursday, December 31"
        );
    }

    #[test]
    fn callback_time_spanish() {
        let at = day(12, 7).and_hms_opt(10, 0, 0).unwrap();
        assert_eq!(
            spoken_callback_time(at, day(12, 2), Language::Es),
            "el lunes 7 de diciembre a las diez de la mañana"
        );
    }

    #[test]
    fn callback_time_english_ends_in_period() {
        let at = day(12, 3).and_hms_opt(10, 0, 0).unwrap();
        assert_eq!(spoken_callback_time(at, day(12, 2), Language::En), "on Thursday, December 3 at 10 a.m.");
    }

    #[test]
    fn callback_day_names_no_hour() {
        assert_eq!(spoken_callback_day(day(12, 3), day(12, 2), Language::Es), "el jueves 3 de diciembre");
        assert_eq!(spoken_callback_day(day(12, 3), day(12, 2), Language::En), "on Thursday, December 3");
    }

    #[test]
    fn phone_keeps_groups() {
        assert_eq!(spoken_phone("+52 55 5010", Language::Es), "cinco dos, cinco cinco, cinco cero uno cero");
    }
}
