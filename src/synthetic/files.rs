//! Writes a generated history as the CSV files `cobranza import-history` reads.

use std::path::Path;

use anyhow::Context as _;
use chrono::SecondsFormat;

use super::History;

/// Writes `portfolio.csv`, `snapshots.csv`, `attempts.csv`, `promises.csv`, `payments.csv` and
/// `do_not_call.csv` into `dir`, creating it when missing and replacing files of those names.
pub fn write_history(history: &History, dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let open = |name: &str| {
        let path = dir.join(name);
        csv::Writer::from_path(&path).with_context(|| format!("cannot write {}", path.display()))
    };
    let time = |at: chrono::DateTime<chrono::Utc>| at.to_rfc3339_opts(SecondsFormat::Secs, true);

    let mut file = open("portfolio.csv")?;
    file.write_record([
        "debtor_id",
        "full_name",
        "phone",
        "country",
        "region",
        "locale",
        "time_zone",
        "national_id_last4",
        "birth_date",
        "postal_code",
        "creditor",
        "product",
        "account_ref",
        "balance",
        "currency",
        "days_past_due",
        "call_consent",
        "authorised_channels",
    ])?;
    for row in &history.portfolio {
        let debtor = &row.debtor;
        let debt = &row.debt;
        file.write_record([
            debtor.id.0.as_str(),
            &debtor.full_name,
            &debtor.phone,
            &debtor.country,
            &debtor.region,
            &debtor.locale,
            debtor.time_zone.name(),
            &debtor.national_id_last4,
            &debtor.birth_date.to_string(),
            &debtor.postal_code,
            &debt.creditor,
            &debt.product,
            &debt.account_ref,
            &debt.balance.to_decimal_string(),
            debt.balance.currency.code(),
            &debt.days_past_due.to_string(),
            &debtor.call_consent.to_string(),
            &debtor.authorised_channels.join(";"),
        ])?;
    }
    file.flush()?;

    let mut file = open("snapshots.csv")?;
    file.write_record(["account_ref", "as_of", "days_past_due", "balance"])?;
    for snapshot in &history.snapshots {
        file.write_record([
            snapshot.account_ref.as_str(),
            &snapshot.as_of.to_string(),
            &snapshot.days_past_due.to_string(),
            &snapshot.balance.to_decimal_string(),
        ])?;
    }
    file.flush()?;

    let mut file = open("attempts.csv")?;
    file.write_record([
        "attempt_ref",
        "account_ref",
        "phone",
        "direction",
        "started_at",
        "ended_at",
        "answered",
        "right_party_contact",
        "disposition",
        "campaign",
        "segment",
        "cost_micros",
    ])?;
    for attempt in &history.attempts {
        file.write_record([
            attempt.attempt_ref.as_str(),
            &attempt.account_ref,
            &attempt.phone,
            "outbound",
            &time(attempt.started_at),
            &time(attempt.ended_at),
            &attempt.answered.to_string(),
            &attempt.right_party_contact.to_string(),
            attempt.disposition.as_str(),
            &attempt.campaign,
            &attempt.segment,
            &attempt.cost_micros.to_string(),
        ])?;
    }
    file.flush()?;

    let mut file = open("promises.csv")?;
    file.write_record(["attempt_ref", "amount", "currency", "due_date", "created_at"])?;
    for promise in &history.promises {
        file.write_record([
            promise.attempt_ref.as_str(),
            &promise.amount.to_decimal_string(),
            promise.amount.currency.code(),
            &promise.due_date.to_string(),
            &time(promise.created_at),
        ])?;
    }
    file.flush()?;

    let mut file = open("payments.csv")?;
    file.write_record(["payment_ref", "account_ref", "paid_on", "amount", "currency", "channel"])?;
    for payment in &history.payments {
        file.write_record([
            payment.payment_ref.as_str(),
            &payment.account_ref,
            &payment.paid_on.to_string(),
            &payment.amount.to_decimal_string(),
            payment.amount.currency.code(),
            payment.channel,
        ])?;
    }
    file.flush()?;

    let mut file = open("do_not_call.csv")?;
    file.write_record(["phone", "reason", "added_on"])?;
    for entry in &history.do_not_call {
        file.write_record([entry.phone.as_str(), entry.reason, &entry.added_on.to_string()])?;
    }
    file.flush()?;
    Ok(())
}
