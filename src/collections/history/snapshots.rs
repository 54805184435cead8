//! `snapshots.csv` of a history directory: a debt's days past due and balance on a date, with
//! the columns `account_ref, as_of, days_past_due, balance`. Balances are in the debt's currency.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::csv_table::{Table, TableError, TableFormat};
use super::lookup::{unknown_account, Accounts};
use super::table_cells as cells;
use super::DebtSnapshot;
use crate::collections::import::RowError;
use crate::collections::model::Money;

pub(super) const FORMAT: TableFormat =
    TableFormat { columns: &["account_ref", "as_of", "days_past_due", "balance"], noun: "snapshot" };

/// A valid snapshot line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SnapshotRow {
    pub account_ref: String,
    pub as_of: NaiveDate,
    pub days_past_due: u32,
    pub balance: Money,
}

impl SnapshotRow {
    /// Returns the snapshot for the store, or `None` when its debt is not stored.
    pub fn to_snapshot(&self, accounts: &Accounts) -> Option<DebtSnapshot> {
        Some(DebtSnapshot {
            debt_id: accounts.debt_id(&self.account_ref)?,
            as_of: self.as_of,
            days_past_due: self.days_past_due,
            balance: self.balance,
        })
    }
}

#[derive(Debug, Clone, Default)]
pub(super) struct ParsedSnapshots {
    pub rows: Vec<SnapshotRow>,
    pub rejected: Vec<RowError>,
    pub ignored_columns: Vec<String>,
}

/// Checks every line of a snapshots file. A debt may have one snapshot per date.
pub(super) fn parse(file: &str, bytes: &[u8], accounts: &Accounts) -> Result<ParsedSnapshots, TableError> {
    let table = Table::parse(file, bytes, &FORMAT)?;
    let mut parsed = ParsedSnapshots { ignored_columns: table.ignored.clone(), ..ParsedSnapshots::default() };
    let mut first_lines: HashMap<(String, NaiveDate), u64> = HashMap::new();

    for (line, record) in &table.records {
        let mut row = match table.row(*line, record) {
            Ok(row) => row,
            Err(error) => {
                parsed.rejected.push(error);
                continue;
            }
        };
        let account_ref = row.take("account_ref", |raw| cells::text("account_ref", raw));
        let debt = account_ref.as_deref().and_then(|account_ref| accounts.get(account_ref));
        if let (Some(account_ref), None) = (&account_ref, debt) {
            row.reject("account_ref", unknown_account(account_ref));
        }
        let as_of = row.take("as_of", |raw| cells::date("as_of", raw));
        if let (Some(account_ref), Some(as_of)) = (&account_ref, as_of) {
            match first_lines.get(&(account_ref.clone(), as_of)) {
                Some(first) => row.reject(
                    "as_of",
                    format!(
                        "account_ref '{account_ref}' already has a snapshot dated {as_of} on line {first}: \
                         keep one line per debt and date"
                    ),
                ),
                None => {
                    first_lines.insert((account_ref.clone(), as_of), *line);
                }
            }
        }
        let days_past_due = row.take("days_past_due", cells::days_past_due);
        let currency = debt.map(|debt| debt.currency);
        let balance = row.take("balance", |raw| cells::amount("balance", raw, currency, true)).flatten();

        match (account_ref, as_of, days_past_due, balance) {
            (Some(account_ref), Some(as_of), Some(days_past_due), Some(balance)) if row.is_valid() => {
                parsed.rows.push(SnapshotRow { account_ref, as_of, days_past_due, balance });
            }
            _ => parsed.rejected.extend(row.into_errors()),
        }
    }
    Ok(parsed)
}
