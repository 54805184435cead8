//! Conversions between the store's column text and the model's types. A value that does not
//! decode is reported as [`StoreError::Corrupt`] naming the column and the value.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

use crate::collections::model::{
    Account, AttemptId, CallSid, Currency, Debt, DebtId, Debtor, DebtorId, Disposition, Money, Speaker,
};
use crate::collections::store::{Attempt, Direction, StoreError};
use crate::cost::{CostCategory, CostLine};

/// Formats an instant as fixed-width RFC 3339 UTC text (`2026-03-02T15:04:05.000000000Z`), so text order
/// is time order in range queries.
pub(super) fn time_text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

pub(super) fn date_text(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

pub(super) fn time(column: &str, text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text).map(|at| at.with_timezone(&Utc)).map_err(|_| corrupt(column, text))
}

pub(super) fn date(column: &str, text: &str) -> Result<NaiveDate, StoreError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| corrupt(column, text))
}

pub(super) fn money(amount_minor: i64, currency: &str) -> Result<Money, StoreError> {
    let currency: Currency = currency.parse().map_err(|_| corrupt("currency", currency))?;
    Ok(Money::new(amount_minor, currency))
}

pub(super) fn speaker(text: &str) -> Result<Speaker, StoreError> {
    match text {
        "bot" => Ok(Speaker::Bot),
        "debtor" => Ok(Speaker::Debtor),
        _ => Err(corrupt("speaker", text)),
    }
}

fn direction(text: &str) -> Result<Direction, StoreError> {
    match text {
        "outbound" => Ok(Direction::Outbound),
        "inbound" => Ok(Direction::Inbound),
        _ => Err(corrupt("direction", text)),
    }
}

fn corrupt(column: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("column {column} contains '{value}', which is invalid"))
}

/// Decodes a row of the account query: debtor columns, the primary phone and debt columns.
pub(super) fn account(row: &SqliteRow) -> Result<Account, StoreError> {
    let debtor_id: String = row.try_get("debtor_id")?;
    let phone: Option<String> = row.try_get("phone")?;
    let phone = phone.ok_or_else(|| StoreError::Corrupt(format!("debtor {debtor_id} has no primary phone")))?;
    let time_zone: String = row.try_get("time_zone")?;
    let birth_date: String = row.try_get("birth_date")?;
    let channels: String = row.try_get("authorised_channels")?;
    let debtor = Debtor {
        id: DebtorId(debtor_id),
        full_name: row.try_get("full_name")?,
        phone,
        country: row.try_get("country")?,
        region: row.try_get("region")?,
        locale: row.try_get("locale")?,
        time_zone: time_zone.parse().map_err(|_| corrupt("time_zone", &time_zone))?,
        national_id_last4: row.try_get("national_id_last4")?,
        birth_date: date("birth_date", &birth_date)?,
        postal_code: row.try_get("postal_code")?,
        call_consent: row.try_get("call_consent")?,
        authorised_channels: channels.split(';').filter(|c| !c.is_empty()).map(str::to_string).collect(),
    };

    let currency: String = row.try_get("currency")?;
    let days_past_due: i64 = row.try_get("days_past_due")?;
    let debt = Debt {
        id: DebtId(row.try_get("debt_id")?),
        debtor_id: debtor.id.clone(),
        creditor: row.try_get("creditor")?,
        product: row.try_get("product")?,
        account_ref: row.try_get("account_ref")?,
        balance: money(row.try_get("balance_minor")?, &currency)?,
        days_past_due: u32::try_from(days_past_due)
            .map_err(|_| corrupt("days_past_due", &days_past_due.to_string()))?,
    };
    Ok(Account { debtor, debt })
}

/// Decodes a row selected with [`super::ATTEMPT_COLUMNS`].
pub(super) fn attempt(row: &SqliteRow) -> Result<Attempt, StoreError> {
    let direction_text: String = row.try_get("direction")?;
    let started_at: String = row.try_get("started_at")?;
    let ended_at: Option<String> = row.try_get("ended_at")?;
    let disposition: Option<String> = row.try_get("disposition")?;
    let call_sid: Option<String> = row.try_get("call_sid")?;
    Ok(Attempt {
        id: AttemptId(row.try_get("id")?),
        debt_id: DebtId(row.try_get("debt_id")?),
        debtor_id: DebtorId(row.try_get("debtor_id")?),
        phone: row.try_get("phone")?,
        direction: direction(&direction_text)?,
        call_sid: call_sid.map(CallSid),
        started_at: time("started_at", &started_at)?,
        answered: row.try_get("answered")?,
        ended_at: ended_at.map(|text| time("ended_at", &text)).transpose()?,
        disposition: disposition
            .map(|text| text.parse::<Disposition>().map_err(|_| corrupt("disposition", &text)))
            .transpose()?,
        right_party_contact: row.try_get("right_party_contact")?,
        recording_path: row.try_get("recording_path")?,
        cost_micros: non_negative("cost_micros", row.try_get("cost_micros")?)?,
        campaign: row.try_get("campaign")?,
        segment: row.try_get("segment")?,
    })
}

pub(super) fn cost_line(row: &SqliteRow) -> Result<CostLine, StoreError> {
    let category: String = row.try_get("category")?;
    Ok(CostLine {
        category: CostCategory::parse(&category).ok_or_else(|| corrupt("cost category", &category))?,
        provider: row.try_get("provider")?,
        quantity: non_negative("quantity", row.try_get("quantity")?)?,
        cost_micros: non_negative("cost_micros", row.try_get("cost_micros")?)?,
    })
}

fn non_negative(column: &str, value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| corrupt(column, &value.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn time_text_fixed_width() {
        let whole = Utc.with_ymd_and_hms(2026, 3, 2, 15, 4, 5).unwrap();
        assert_eq!(time_text(whole), "2026-03-02T15:04:05.000000000Z");
        let fraction = whole + chrono::Duration::nanoseconds(120);
        assert_eq!(time_text(fraction), "2026-03-02T15:04:05.000000120Z");
        assert_eq!(time("at", &time_text(fraction)).unwrap(), fraction);
    }

    #[test]
    fn time_text_orders_like_instants() {
        let earlier = Utc.with_ymd_and_hms(2026, 3, 2, 9, 59, 59).unwrap() + chrono::Duration::milliseconds(999);
        let later = Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap();
        assert!(time_text(earlier) < time_text(later));
    }

    #[test]
    fn unknown_currency_is_corrupt() {
        let error = money(100, "XYZ").unwrap_err();
        assert_eq!(error.to_string(), "stored data is invalid: column currency contains 'XYZ', which is invalid");
    }
}
