//! Parsers for single portfolio cells. Each returns the value or the problem in words: what is
//! wrong with the value and how to fix it, ready to follow "portfolio.csv line 14, column X: ".

use chrono::NaiveDate;
use chrono_tz::Tz;

use super::country::Country;
use crate::collections::model::{Currency, Money, MoneyError};

/// The channels a debtor can authorise, in the spelling the CSV and the store use.
pub(crate) const CHANNELS: [&str; 4] = ["voice", "sms", "email", "whatsapp"];

/// Language subtags the bot has prompts for.
const LANGUAGES: [&str; 3] = ["es", "en", "pt"];

/// Maximum length of a free-text cell, in characters.
const MAX_TEXT_CHARS: usize = 200;

/// Maximum length of a debtor id, in characters.
const MAX_ID_CHARS: usize = 64;

/// Parses a required free-text cell such as `full_name`, `creditor` or `account_ref`.
pub(crate) fn text(column: &str, raw: &str) -> Result<String, String> {
    let value = raw.trim();
    if value.is_empty() {
        return Err(format!("{column} is empty: fill it in"));
    }
    if value.chars().any(char::is_control) {
        return Err(format!(
            "{column} '{}' contains a control character (tab, line break or similar): remove it",
            value.escape_debug()
        ));
    }
    if value.chars().count() > MAX_TEXT_CHARS {
        return Err(format!("{column} is longer than {MAX_TEXT_CHARS} characters: shorten it"));
    }
    Ok(value.to_string())
}

/// Parses a debtor id made of letters, digits, `-`, `_` and `.`, so it is safe in logs, URLs and file names.
pub(crate) fn debtor_id(raw: &str) -> Result<String, String> {
    let value = text("debtor_id", raw)?;
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if !value.chars().all(allowed) {
        return Err(format!(
            "debtor_id '{value}' contains characters other than letters, digits, '-', '_' and '.': \
             use an id like MX-0001"
        ));
    }
    if value.chars().count() > MAX_ID_CHARS {
        return Err(format!("debtor_id is longer than {MAX_ID_CHARS} characters: shorten it"));
    }
    Ok(value)
}

/// Parses an E.164 phone number: `+` then 8 to 15 digits, the first not zero.
pub(crate) fn phone(raw: &str) -> Result<String, String> {
    let value = raw.trim();
    if value.is_empty() {
        return Err("phone is empty: write the number in E.164, like +525512345678".to_string());
    }
    if is_e164(value) {
        return Ok(value.to_string());
    }

    // Suggest the exact fix when only separators are in the way.
    let digits: String = value.chars().filter(char::is_ascii_digit).collect();
    let separators_only = value.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c));
    let candidate = format!("+{digits}");
    if separators_only && value.starts_with('+') && is_e164(&candidate) {
        return Err(format!("phone '{value}' is not E.164: remove spaces, dashes and brackets, like {candidate}"));
    }
    if separators_only && !value.starts_with('+') {
        return Err(format!("phone '{value}' is not E.164: start with + and the country code, like +525512345678"));
    }
    Err(format!("phone '{value}' is not E.164: use + then 8 to 15 digits, like +525512345678"))
}

fn is_e164(value: &str) -> bool {
    let Some(digits) = value.strip_prefix('+') else {
        return false;
    };
    (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0')
}

/// USPS codes of the 50 states and the District of Columbia.
const US_STATES: [&str; 51] = [
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS", "KY", "LA",
    "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR",
    "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY",
];

/// Parses the state or department. US rules differ by state (Massachusetts caps calls lower than
/// federal law), so a US region must be the state's USPS code, returned in capitals.
pub(crate) fn region(raw: &str, country: Option<Country>) -> Result<String, String> {
    let value = text("region", raw)?;
    if country != Some(Country::Us) {
        return Ok(value);
    }
    let code = value.to_ascii_uppercase();
    if US_STATES.contains(&code.as_str()) {
        Ok(code)
    } else {
        Err(format!("region '{value}' is not a US state code: use the two-letter USPS code, like MA"))
    }
}

pub(crate) fn country(raw: &str) -> Result<Country, String> {
    let value = raw.trim();
    value.parse().map_err(|()| {
        let codes: Vec<&str> = Country::ALL.iter().map(|country| country.code()).collect();
        format!("country '{value}' is not supported: use an ISO 3166-1 alpha-2 code, one of {}", codes.join(", "))
    })
}

/// Parses a BCP 47 tag `language-REGION` such as `es-MX` and returns it in canonical case.
pub(crate) fn locale(raw: &str) -> Result<String, String> {
    let value = raw.trim();
    let invalid = || format!("locale '{value}' is not a language-COUNTRY tag: use one like es-MX, es-US or en-US");
    let (language, region) = value.split_once(['-', '_']).ok_or_else(invalid)?;
    let language = language.to_ascii_lowercase();
    let region_ok = region.len() == 2 && region.bytes().all(|b| b.is_ascii_alphabetic());
    if !region_ok {
        return Err(invalid());
    }
    if !LANGUAGES.contains(&language.as_str()) {
        return Err(format!(
            "locale '{value}' is in a language the bot does not speak: use es, en or pt, \
             like es-MX or en-US"
        ));
    }
    Ok(format!("{language}-{}", region.to_ascii_uppercase()))
}

/// Parses the debtor's IANA zone. An empty cell takes the country's zone where it has only one that
/// matters. `country` is `None` when the country cell itself was invalid, and then an empty cell
/// gives `Ok(None)` because the country's error already covers the row.
pub(crate) fn time_zone(raw: &str, country: Option<Country>) -> Result<Option<Tz>, String> {
    let value = raw.trim();
    if value.is_empty() {
        let Some(country) = country else {
            return Ok(None);
        };
        return match country.default_time_zone() {
            Some(zone) => Ok(Some(zone)),
            None => Err(format!(
                "time_zone is empty and {country} has several time zones: write the debtor's \
                 IANA zone, like {}",
                country.example_time_zone()
            )),
        };
    }

    let zone: Tz = value
        .parse()
        .map_err(|_| format!("time_zone '{value}' is not an IANA time zone: use a name like America/Mexico_City"))?;
    match country {
        Some(country) if !country.has_time_zone(zone) => Err(format!(
            "time_zone '{value}' is not a time zone of {country}: use one of its zones, like {}",
            country.example_time_zone()
        )),
        _ => Ok(Some(zone)),
    }
}

/// Parses the last four digits of the national id, kept as text so a leading zero survives.
pub(crate) fn national_id_last4(raw: &str) -> Result<String, String> {
    let value = raw.trim();
    let all_digits = !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
    if all_digits && value.len() == 4 {
        return Ok(value.to_string());
    }
    if all_digits && value.len() < 4 {
        return Err(format!(
            "national_id_last4 '{value}' has {} digits but needs exactly 4: a spreadsheet may \
             have dropped a leading zero, like {value:0>4}",
            value.len()
        ));
    }
    Err(format!("national_id_last4 '{value}' is not exactly 4 digits: write the last 4, like 0427"))
}

/// Parses a birth date written `YYYY-MM-DD`, after 1900 and before `today`.
pub(crate) fn birth_date(raw: &str, today: NaiveDate) -> Result<NaiveDate, String> {
    let value = raw.trim();
    let shaped = value.len() == 10
        && value.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
    let date = shaped
        .then(|| NaiveDate::parse_from_str(value, "%Y-%m-%d").ok())
        .flatten()
        .ok_or_else(|| format!("birth_date '{value}' is not a date written YYYY-MM-DD: write it like 1985-03-27"))?;

    let earliest = NaiveDate::from_ymd_opt(1900, 1, 1).expect("1900-01-01 is a date");
    if date < earliest {
        return Err(format!("birth_date '{value}' is before 1900: check the year"));
    }
    if date >= today {
        return Err(format!("birth_date '{value}' is not in the past: check the year"));
    }
    Ok(date)
}

/// Parses a postal code in the country's format. `country` is `None` when the country cell
/// was invalid, and then any non-empty code passes.
pub(crate) fn postal_code(raw: &str, country: Option<Country>) -> Result<String, String> {
    let value = text("postal_code", raw)?;
    let Some(country) = country else {
        return Ok(value);
    };
    if country.is_postal_code(&value) {
        return Ok(value);
    }

    let short_by_zero = value.bytes().all(|b| b.is_ascii_digit()) && country.is_postal_code(&format!("0{value}"));
    let hint = if short_by_zero {
        format!(": a spreadsheet may have dropped a leading zero, like 0{value}")
    } else {
        String::new()
    };
    Err(format!("postal_code '{value}' is not a {country} postal code ({}){hint}", country.postal_code_format()))
}

pub(crate) fn currency(raw: &str) -> Result<Currency, String> {
    let value = raw.trim();
    value.parse().map_err(|_| {
        format!(
            "currency '{value}' is not supported: use an ISO 4217 code, one of MXN, COP, PEN, \
             CLP, USD, ARS, BRL"
        )
    })
}

/// Parses a balance above zero into the currency's minor unit. When the currency cell was invalid the
/// amount is still checked as a number, so both mistakes show at once.
pub(crate) fn balance(raw: &str, currency: Option<Currency>) -> Result<Option<Money>, String> {
    let value = raw.trim();
    let parsed = match currency {
        Some(currency) => Money::parse_decimal(value, currency),
        None => match Money::parse_decimal(value, Currency::Usd) {
            Err(error @ MoneyError::NotANumber(_)) => Err(error),
            _ => return Ok(None),
        },
    };
    let example = match currency {
        Some(Currency::Clp) => "125000",
        _ => "12500.50",
    };
    let money = parsed.map_err(|error| match error {
        MoneyError::TooManyDecimals { currency, exponent: 0, .. } => format!(
            "balance '{value}' has decimals but {currency} has no minor unit: write whole \
             units, like {example}"
        ),
        MoneyError::TooManyDecimals { currency, exponent, .. } => format!(
            "balance '{value}' has more than {exponent} decimals, the most {currency} allows: \
             round it, like {example}"
        ),
        MoneyError::Overflow(_) => format!("balance '{value}' is too large: check the amount"),
        MoneyError::NotANumber(_) | MoneyError::UnknownCurrency(_) => {
            format!("balance '{value}' is not a number: use digits and a dot, like {example}")
        }
    })?;

    if money.amount_minor <= 0 {
        return Err(format!("balance '{value}' is not greater than zero: leave out debts with nothing owed"));
    }
    Ok(Some(money))
}

pub(crate) fn days_past_due(raw: &str) -> Result<u32, String> {
    let value = raw.trim();
    let digits_only = !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
    digits_only
        .then(|| value.parse::<u32>().ok())
        .flatten()
        .ok_or_else(|| format!("days_past_due '{value}' is not a whole number of days, 0 or more: write it like 45"))
}

/// Consent written as true/false, yes/no, sí/no or 1/0, in any letter case.
pub(crate) fn consent(raw: &str) -> Result<bool, String> {
    let value = raw.trim();
    match value.to_lowercase().as_str() {
        "true" | "yes" | "sí" | "si" | "1" => Ok(true),
        "false" | "no" | "0" => Ok(false),
        _ => Err(format!("call_consent '{value}' is not yes or no: use true, false, yes, no, sí, 1 or 0")),
    }
}

/// Channels separated by `;`, in the file's order without repeats. An empty cell means none.
pub(crate) fn channels(raw: &str) -> Result<Vec<String>, String> {
    let value = raw.trim();
    let mut channels: Vec<String> = Vec::new();
    for piece in value.split(';').map(str::trim).filter(|piece| !piece.is_empty()) {
        let channel = piece.to_lowercase();
        if !CHANNELS.contains(&channel.as_str()) {
            let hint = if piece.contains(',') { " (separate channels with ';')" } else { "" };
            return Err(format!(
                "authorised_channels '{value}' has an unknown channel '{piece}'{hint}: use voice, \
                 sms, email or whatsapp, separated by ';'"
            ));
        }
        if !channels.contains(&channel) {
            channels.push(channel);
        }
    }
    Ok(channels)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn phone_accepts_e164() {
        assert_eq!(phone(" +525550100001 "), Ok("+525550100001".to_string()));
        assert_eq!(phone("+12125550101"), Ok("+12125550101".to_string()));
    }

    #[test]
    fn phone_with_spaces_suggests_fix() {
        assert_eq!(
            phone("+52 55 5010 0001"),
            Err("phone '+52 55 5010 0001' is not E.164: remove spaces, dashes and brackets, \
                 like +525550100001"
                .to_string())
        );
    }

    #[test]
    fn phone_without_plus_rejected() {
        assert_eq!(
            phone("5550100001"),
            Err("phone '5550100001' is not E.164: start with + and the country code, like \
                 +525512345678"
                .to_string())
        );
    }

    #[test]
    fn phone_length_limits() {
        assert!(phone("+1234567").is_err());
        assert!(phone("+12345678").is_ok());
        assert!(phone("+123456789012345").is_ok());
        assert!(phone("+1234567890123456").is_err());
        assert!(phone("+0123456789").is_err());
    }

    #[test]
    fn locale_canonical_case() {
        assert_eq!(locale("es-mx"), Ok("es-MX".to_string()));
        assert_eq!(locale("EN_us"), Ok("en-US".to_string()));
        assert_eq!(locale("pt-BR"), Ok("pt-BR".to_string()));
    }

    #[test]
    fn locale_rejects_bare_language() {
        assert_eq!(
            locale("es"),
            Err("locale 'es' is not a language-COUNTRY tag: use one like es-MX, es-US or en-US".to_string())
        );
        assert!(locale("fr-FR").is_err());
        assert!(locale("es-419").is_err());
    }

    #[test]
    fn time_zone_derived_from_country() {
        assert_eq!(time_zone("", Some(Country::Mx)), Ok(Some(Tz::America__Mexico_City)));
        assert_eq!(time_zone("", Some(Country::Co)), Ok(Some(Tz::America__Bogota)));
        assert_eq!(time_zone("", Some(Country::Pe)), Ok(Some(Tz::America__Lima)));
        assert_eq!(time_zone("", Some(Country::Cl)), Ok(Some(Tz::America__Santiago)));
        assert_eq!(time_zone("", Some(Country::Ar)), Ok(Some(Tz::America__Argentina__Buenos_Aires)));
        assert_eq!(time_zone("", None), Ok(None));
    }

    #[test]
    fn time_zone_required_for_us() {
        assert_eq!(
            time_zone(" ", Some(Country::Us)),
            Err("time_zone is empty and US has several time zones: write the debtor's IANA \
                 zone, like America/New_York"
                .to_string())
        );
    }

    #[test]
    fn time_zone_must_match_country() {
        assert_eq!(
            time_zone("America/Bogota", Some(Country::Mx)),
            Err("time_zone 'America/Bogota' is not a time zone of MX: use one of its zones, \
                 like America/Mexico_City"
                .to_string())
        );
        assert_eq!(time_zone("America/Tijuana", Some(Country::Mx)), Ok(Some(Tz::America__Tijuana)));
        assert_eq!(time_zone("America/Bogota", None), Ok(Some(Tz::America__Bogota)));
    }

    #[test]
    fn time_zone_unknown_name() {
        assert_eq!(
            time_zone("EST5", Some(Country::Us)),
            Err("time_zone 'EST5' is not an IANA time zone: use a name like America/Mexico_City".to_string())
        );
    }

    #[test]
    fn national_id_dropped_zero_hint() {
        assert_eq!(national_id_last4("0427"), Ok("0427".to_string()));
        assert_eq!(
            national_id_last4("427"),
            Err("national_id_last4 '427' has 3 digits but needs exactly 4: a spreadsheet may \
                 have dropped a leading zero, like 0427"
                .to_string())
        );
        assert!(national_id_last4("12345").is_err());
        assert!(national_id_last4("12a4").is_err());
    }

    #[test]
    fn birth_date_in_past_only() {
        let today = day("2026-03-02");
        assert_eq!(birth_date("1985-03-27", today), Ok(day("1985-03-27")));
        assert_eq!(
            birth_date("2026-03-02", today),
            Err("birth_date '2026-03-02' is not in the past: check the year".to_string())
        );
        assert_eq!(
            birth_date("1899-12-31", today),
            Err("birth_date '1899-12-31' is before 1900: check the year".to_string())
        );
    }

    #[test]
    fn birth_date_other_formats_rejected() {
        let today = day("2026-03-02");
        for text in ["27/03/1985", "1985-3-27", "1985-02-30", "19850327"] {
            assert_eq!(
                birth_date(text, today),
                Err(format!("birth_date '{text}' is not a date written YYYY-MM-DD: write it like 1985-03-27"))
            );
        }
    }

    #[test]
    fn postal_code_dropped_zero_hint() {
        assert_eq!(
            postal_code("2108", Some(Country::Us)),
            Err("postal_code '2108' is not a US postal code (5 digits or ZIP+4, like 02108 or \
                 02108-1234): a spreadsheet may have dropped a leading zero, like 02108"
                .to_string())
        );
        assert_eq!(postal_code("06700", Some(Country::Mx)), Ok("06700".to_string()));
        assert_eq!(postal_code("ABC", None), Ok("ABC".to_string()));
    }

    #[test]
    fn balance_in_minor_units() {
        assert_eq!(balance("4500.00", Some(Currency::Mxn)), Ok(Some(Money::new(450_000, Currency::Mxn))));
        assert_eq!(balance("4500.5", Some(Currency::Mxn)), Ok(Some(Money::new(450_050, Currency::Mxn))));
        assert_eq!(balance("450000", Some(Currency::Clp)), Ok(Some(Money::new(450_000, Currency::Clp))));
    }

    #[test]
    fn balance_not_a_number() {
        assert_eq!(
            balance("12,5O", Some(Currency::Mxn)),
            Err("balance '12,5O' is not a number: use digits and a dot, like 12500.50".to_string())
        );
        assert_eq!(
            balance("12,5O", None),
            Err("balance '12,5O' is not a number: use digits and a dot, like 12500.50".to_string())
        );
        assert_eq!(balance("12.50", None), Ok(None));
    }

    #[test]
    fn balance_decimals_limited_by_currency() {
        assert_eq!(
            balance("2500.50", Some(Currency::Clp)),
            Err("balance '2500.50' has decimals but CLP has no minor unit: write whole units, \
                 like 125000"
                .to_string())
        );
        assert_eq!(
            balance("10.005", Some(Currency::Usd)),
            Err("balance '10.005' has more than 2 decimals, the most USD allows: round it, like \
                 12500.50"
                .to_string())
        );
    }

    #[test]
    fn balance_must_be_positive() {
        for text in ["0", "0.00", "-10.00"] {
            assert_eq!(
                balance(text, Some(Currency::Pen)),
                Err(format!("balance '{text}' is not greater than zero: leave out debts with nothing owed"))
            );
        }
    }

    #[test]
    fn days_past_due_whole_days() {
        assert_eq!(days_past_due("0"), Ok(0));
        assert_eq!(days_past_due(" 45 "), Ok(45));
        for text in ["-3", "45.0", "", "99999999999"] {
            assert_eq!(
                days_past_due(text),
                Err(format!(
                    "days_past_due '{text}' is not a whole number of days, 0 or more: write it \
                     like 45",
                    text = text.trim()
                ))
            );
        }
    }

    #[test]
    fn consent_spellings() {
        for text in ["true", "TRUE", "yes", "Sí", "SI", "1"] {
            assert_eq!(consent(text), Ok(true), "{text}");
        }
        for text in ["false", "No", "0"] {
            assert_eq!(consent(text), Ok(false), "{text}");
        }
        assert_eq!(
            consent("maybe"),
            Err("call_consent 'maybe' is not yes or no: use true, false, yes, no, sí, 1 or 0".to_string())
        );
    }

    #[test]
    fn channels_keep_order_without_repeats() {
        assert_eq!(channels("Voice; sms;voice;"), Ok(vec!["voice".to_string(), "sms".to_string()]));
        assert_eq!(channels(""), Ok(vec![]));
    }

    #[test]
    fn channels_comma_hint() {
        assert_eq!(
            channels("voice,sms"),
            Err("authorised_channels 'voice,sms' has an unknown channel 'voice,sms' (separate \
                 channels with ';'): use voice, sms, email or whatsapp, separated by ';'"
                .to_string())
        );
    }

    #[test]
    fn text_rejects_empty_and_control() {
        assert_eq!(text("creditor", "  "), Err("creditor is empty: fill it in".to_string()));
        assert_eq!(
            text("full_name", "Ana\tRuiz"),
            Err("full_name 'Ana\\tRuiz' contains a control character (tab, line break or \
                 similar): remove it"
                .to_string())
        );
    }

    #[test]
    fn us_region_is_state_code() {
        assert_eq!(region("ma", Some(Country::Us)), Ok("MA".to_string()));
        assert_eq!(
            region("Massachusetts", Some(Country::Us)),
            Err("region 'Massachusetts' is not a US state code: use the two-letter USPS code, \
                 like MA"
                .to_string())
        );
        assert_eq!(region("Bogotá D.C.", Some(Country::Co)), Ok("Bogotá D.C.".to_string()));
    }

    #[test]
    fn debtor_id_characters() {
        assert_eq!(debtor_id(" MX-0001 "), Ok("MX-0001".to_string()));
        assert!(debtor_id("MX 0001").is_err());
    }
}
