//! Parsers for the cells of the history files that the portfolio's cell parsers do not cover.
//! Each returns the value or the problem in words, ready to follow "payments.csv line 4,
//! column paid_on: ".

use chrono::{DateTime, NaiveDate, Utc};

use crate::collections::model::{Currency, Disposition, Money, MoneyError};
use crate::collections::store::Direction;

pub(super) use crate::collections::import::cells::{currency, days_past_due, phone, text};

/// Parses a date written `YYYY-MM-DD`.
pub(super) fn date(column: &str, raw: &str) -> Result<NaiveDate, String> {
    let value = raw.trim();
    let shaped = value.len() == 10
        && value.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
    shaped
        .then(|| NaiveDate::parse_from_str(value, "%Y-%m-%d").ok())
        .flatten()
        .ok_or_else(|| format!("{column} '{value}' is not a date written YYYY-MM-DD: write it like 2026-03-02"))
}

/// Parses an RFC 3339 time such as `2026-03-02T16:04:05Z` and converts any offset to UTC.
pub(super) fn time(column: &str, raw: &str) -> Result<DateTime<Utc>, String> {
    let value = raw.trim();
    DateTime::parse_from_rfc3339(value)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|_| format!("{column} '{value}' is not an RFC 3339 time: write it like 2026-03-02T16:04:05Z"))
}

/// Parses an optional RFC 3339 time: an empty cell is `None`.
pub(super) fn optional_time(column: &str, raw: &str) -> Result<Option<DateTime<Utc>>, String> {
    if raw.trim().is_empty() {
        return Ok(None);
    }
    time(column, raw).map(Some)
}

/// Parses an optional free-text cell: an empty cell is `None`.
pub(super) fn optional_text(column: &str, raw: &str) -> Result<Option<String>, String> {
    if raw.trim().is_empty() {
        return Ok(None);
    }
    text(column, raw).map(Some)
}

/// Parses an amount in `currency`'s minor unit. The amount must be above zero unless
/// `zero_allowed`. Without a currency (its cell was invalid) the amount is still checked as a
/// number, so both mistakes show at once, and `None` is returned.
pub(super) fn amount(
    column: &str,
    raw: &str,
    currency: Option<Currency>,
    zero_allowed: bool,
) -> Result<Option<Money>, String> {
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
        MoneyError::TooManyDecimals { currency, exponent: 0, .. } => {
            format!("{column} '{value}' has decimals but {currency} has no minor unit: write whole units, like {example}")
        }
        MoneyError::TooManyDecimals { currency, exponent, .. } => {
            format!("{column} '{value}' has more than {exponent} decimals, the most {currency} allows: round it, like {example}")
        }
        MoneyError::Overflow(_) => format!("{column} '{value}' is too large: check the amount"),
        MoneyError::NotANumber(_) | MoneyError::UnknownCurrency(_) => {
            format!("{column} '{value}' is not a number: use digits and a dot, like {example}")
        }
    })?;

    if money.amount_minor < 0 || (money.amount_minor == 0 && !zero_allowed) {
        let bound = if zero_allowed { "is negative" } else { "is not greater than zero" };
        return Err(format!("{column} '{value}' {bound}: write the amount, like {example}"));
    }
    Ok(Some(money))
}

/// Parses a yes/no cell written true/false, yes/no, sí/no or 1/0, in any letter case.
pub(super) fn flag(column: &str, raw: &str) -> Result<bool, String> {
    let value = raw.trim();
    match value.to_lowercase().as_str() {
        "true" | "yes" | "sí" | "si" | "1" => Ok(true),
        "false" | "no" | "0" => Ok(false),
        _ => Err(format!("{column} '{value}' is not yes or no: use true, false, yes, no, sí, 1 or 0")),
    }
}

pub(super) fn direction(raw: &str) -> Result<Direction, String> {
    let value = raw.trim();
    match value.to_ascii_lowercase().as_str() {
        "outbound" => Ok(Direction::Outbound),
        "inbound" => Ok(Direction::Inbound),
        _ => Err(format!("direction '{value}' is not outbound or inbound: write one of them")),
    }
}

/// Parses an optional disposition, one of the snake case names of [`Disposition`].
pub(super) fn disposition(raw: &str) -> Result<Option<Disposition>, String> {
    let value = raw.trim();
    if value.is_empty() {
        return Ok(None);
    }
    value.to_ascii_lowercase().parse::<Disposition>().map(Some).map_err(|_| {
        format!(
            "disposition '{value}' is not a disposition: use a name like promise_to_pay or hung_up, or leave it empty"
        )
    })
}

/// Parses a whole number, 0 or more, that fits an `i64`. An empty cell is 0.
pub(super) fn count(column: &str, raw: &str) -> Result<u64, String> {
    let value = raw.trim();
    if value.is_empty() {
        return Ok(0);
    }
    let digits_only = value.bytes().all(|b| b.is_ascii_digit());
    digits_only
        .then(|| value.parse::<u64>().ok())
        .flatten()
        .filter(|number| i64::try_from(*number).is_ok())
        .ok_or_else(|| format!("{column} '{value}' is not a whole number, 0 or more: write it like 2500"))
}
