//! `attempts.csv` and `promises.csv` of a history directory: past calls, from cobranza or any
//! other dialer, and the promises they obtained.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};

use super::csv_table::{Table, TableError, TableFormat};
use super::lookup::{unknown_account, wrong_currency, Accounts};
use super::table_cells as cells;
use super::{AttemptRef, HistoryAttempt, HistoryPromise};
use crate::collections::import::RowError;
use crate::collections::model::{CallSid, Currency, Disposition, Money};
use crate::collections::store::Direction;

pub(super) const ATTEMPT_FORMAT: TableFormat = TableFormat {
    columns: &[
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
    ],
    noun: "attempt",
};

pub(super) const PROMISE_FORMAT: TableFormat =
    TableFormat { columns: &["attempt_ref", "amount", "currency", "due_date", "created_at"], noun: "promise" };

/// A valid attempt line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct AttemptRow {
    pub attempt_ref: String,
    pub account_ref: String,
    pub phone: String,
    pub direction: Direction,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub answered: bool,
    pub right_party_contact: bool,
    pub disposition: Option<Disposition>,
    pub campaign: Option<String>,
    pub segment: Option<String>,
    pub cost_micros: u64,
}

impl AttemptRow {
    /// Returns the attempt for the store, or `None` when its debt is not stored.
    pub fn to_attempt(&self, accounts: &Accounts) -> Option<HistoryAttempt> {
        Some(HistoryAttempt {
            call_sid: CallSid(self.attempt_ref.clone()),
            debt_id: accounts.debt_id(&self.account_ref)?,
            phone: self.phone.clone(),
            direction: self.direction,
            started_at: self.started_at,
            ended_at: self.ended_at,
            answered: self.answered,
            right_party_contact: self.right_party_contact,
            disposition: self.disposition,
            campaign: self.campaign.clone(),
            segment: self.segment.clone(),
            cost_micros: self.cost_micros,
        })
    }
}

#[derive(Debug, Clone, Default)]
pub(super) struct ParsedAttempts {
    pub rows: Vec<AttemptRow>,
    pub rejected: Vec<RowError>,
    pub ignored_columns: Vec<String>,
}

/// Checks every line of an attempts file. Each `attempt_ref` may appear once.
pub(super) fn parse_attempts(file: &str, bytes: &[u8], accounts: &Accounts) -> Result<ParsedAttempts, TableError> {
    let table = Table::parse(file, bytes, &ATTEMPT_FORMAT)?;
    let mut parsed = ParsedAttempts { ignored_columns: table.ignored.clone(), ..ParsedAttempts::default() };
    let mut first_lines: HashMap<String, u64> = HashMap::with_capacity(table.records.len());

    for (line, record) in &table.records {
        let mut row = match table.row(*line, record) {
            Ok(row) => row,
            Err(error) => {
                parsed.rejected.push(error);
                continue;
            }
        };
        let attempt_ref = row.take("attempt_ref", |raw| cells::text("attempt_ref", raw));
        if let Some(attempt_ref) = &attempt_ref {
            match first_lines.get(attempt_ref) {
                Some(first) => row.reject(
                    "attempt_ref",
                    format!("attempt_ref '{attempt_ref}' already appears on line {first}: give each attempt its own attempt_ref"),
                ),
                None => {
                    first_lines.insert(attempt_ref.clone(), *line);
                }
            }
        }
        let account_ref = row.take("account_ref", |raw| cells::text("account_ref", raw));
        if let Some(account_ref) = account_ref.as_deref().filter(|account_ref| accounts.get(account_ref).is_none()) {
            row.reject("account_ref", unknown_account(account_ref));
        }
        let phone = row.take("phone", cells::phone);
        let direction = row.take("direction", cells::direction);
        let started_at = row.take("started_at", |raw| cells::time("started_at", raw));
        let ended_at = row.take("ended_at", |raw| cells::optional_time("ended_at", raw));
        if let (Some(started_at), Some(Some(ended_at))) = (started_at, ended_at) {
            if ended_at < started_at {
                row.reject("ended_at", "ended_at is before started_at: check both times".to_string());
            }
        }
        let answered = row.take("answered", |raw| cells::flag("answered", raw));
        let right_party_contact = row.take("right_party_contact", |raw| cells::flag("right_party_contact", raw));
        if answered == Some(false) && right_party_contact == Some(true) {
            row.reject(
                "right_party_contact",
                "right_party_contact is true but answered is false: a right-party contact needs an answered call"
                    .to_string(),
            );
        }
        let disposition = row.take("disposition", cells::disposition);
        let campaign = row.take("campaign", |raw| cells::optional_text("campaign", raw));
        let segment = row.take("segment", |raw| cells::optional_text("segment", raw));
        let cost_micros = row.take("cost_micros", |raw| cells::count("cost_micros", raw));

        let valid = row.is_valid();
        match (attempt_ref, account_ref, phone, direction, started_at, ended_at, answered, right_party_contact) {
            (
                Some(attempt_ref),
                Some(account_ref),
                Some(phone),
                Some(direction),
                Some(started_at),
                Some(ended_at),
                Some(answered),
                Some(right_party_contact),
            ) if valid => parsed.rows.push(AttemptRow {
                attempt_ref,
                account_ref,
                phone,
                direction,
                started_at,
                ended_at,
                answered,
                right_party_contact,
                disposition: disposition.flatten(),
                campaign: campaign.flatten(),
                segment: segment.flatten(),
                cost_micros: cost_micros.unwrap_or_default(),
            }),
            _ => parsed.rejected.extend(row.into_errors()),
        }
    }
    Ok(parsed)
}

/// The attempts a promise line may name: those of the attempts file and those already stored,
/// each with its account reference and currency.
#[derive(Debug, Clone, Default)]
pub(super) struct PromiseTargets {
    by_ref: HashMap<String, (String, Currency)>,
}

impl PromiseTargets {
    pub fn new(file_attempts: &[AttemptRow], stored: &[AttemptRef], accounts: &Accounts) -> PromiseTargets {
        let mut by_ref = HashMap::with_capacity(file_attempts.len() + stored.len());
        for stored in stored {
            if let Some(account_ref) = accounts.account_ref(stored.debt_id) {
                if let Some(debt) = accounts.get(account_ref) {
                    by_ref.insert(stored.call_sid.0.clone(), (account_ref.to_string(), debt.currency));
                }
            }
        }
        for attempt in file_attempts {
            if let Some(debt) = accounts.get(&attempt.account_ref) {
                by_ref.insert(attempt.attempt_ref.clone(), (attempt.account_ref.clone(), debt.currency));
            }
        }
        PromiseTargets { by_ref }
    }
}

/// A valid promise line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PromiseRow {
    pub attempt_ref: String,
    pub amount: Money,
    pub due_date: NaiveDate,
    pub created_at: DateTime<Utc>,
}

impl PromiseRow {
    /// Returns the promise for the store, or `None` when its attempt is not stored.
    pub fn to_promise(&self, attempts: &HashMap<String, AttemptRef>) -> Option<HistoryPromise> {
        let attempt = attempts.get(&self.attempt_ref)?;
        Some(HistoryPromise {
            attempt_id: attempt.attempt_id,
            debt_id: attempt.debt_id,
            amount: self.amount,
            due_date: self.due_date,
            created_at: self.created_at,
        })
    }
}

#[derive(Debug, Clone, Default)]
pub(super) struct ParsedPromises {
    pub rows: Vec<PromiseRow>,
    pub rejected: Vec<RowError>,
    pub ignored_columns: Vec<String>,
}

/// Lists the distinct `attempt_ref` cells of a promises file that `known` does not contain, so
/// the caller can look them up in the store before [`parse_promises`].
pub(super) fn promise_attempt_refs(
    file: &str,
    bytes: &[u8],
    known: &HashMap<String, u64>,
) -> Result<Vec<String>, TableError> {
    let table = Table::parse(file, bytes, &PROMISE_FORMAT)?;
    let mut refs: Vec<String> = Vec::new();
    for (line, record) in &table.records {
        if let Ok(row) = table.row(*line, record) {
            let attempt_ref = row.raw("attempt_ref").trim();
            if !attempt_ref.is_empty() && !known.contains_key(attempt_ref) {
                refs.push(attempt_ref.to_string());
            }
        }
    }
    refs.sort();
    refs.dedup();
    Ok(refs)
}

/// Checks every line of a promises file. A promise is due on or after the day it was made, in
/// the currency of its attempt's debt.
pub(super) fn parse_promises(file: &str, bytes: &[u8], targets: &PromiseTargets) -> Result<ParsedPromises, TableError> {
    let table = Table::parse(file, bytes, &PROMISE_FORMAT)?;
    let mut parsed = ParsedPromises { ignored_columns: table.ignored.clone(), ..ParsedPromises::default() };

    for (line, record) in &table.records {
        let mut row = match table.row(*line, record) {
            Ok(row) => row,
            Err(error) => {
                parsed.rejected.push(error);
                continue;
            }
        };
        let attempt_ref = row.take("attempt_ref", |raw| cells::text("attempt_ref", raw));
        let target = attempt_ref.as_deref().and_then(|attempt_ref| targets.by_ref.get(attempt_ref));
        if let (Some(attempt_ref), None) = (&attempt_ref, target) {
            row.reject(
                "attempt_ref",
                format!(
                    "attempt_ref '{attempt_ref}' is not a valid attempt in attempts.csv or the store: add the attempt, \
                     or correct the reference"
                ),
            );
        }
        let currency = row.take("currency", cells::currency);
        if let (Some(currency), Some((account_ref, debt_currency))) = (currency, target) {
            if currency != *debt_currency {
                row.reject("currency", wrong_currency(currency, account_ref, *debt_currency));
            }
        }
        let amount = row.take("amount", |raw| cells::amount("amount", raw, currency, false)).flatten();
        let due_date = row.take("due_date", |raw| cells::date("due_date", raw));
        let created_at = row.take("created_at", |raw| cells::time("created_at", raw));
        if let (Some(due_date), Some(created_at)) = (due_date, created_at) {
            if due_date < created_at.date_naive() {
                row.reject(
                    "due_date",
                    format!("due_date '{due_date}' is before the promise was made ({created_at}): check both dates"),
                );
            }
        }

        match (attempt_ref, amount, due_date, created_at) {
            (Some(attempt_ref), Some(amount), Some(due_date), Some(created_at)) if row.is_valid() => {
                parsed.rows.push(PromiseRow { attempt_ref, amount, due_date, created_at });
            }
            _ => parsed.rejected.extend(row.into_errors()),
        }
    }
    Ok(parsed)
}
