//! `cobranza import-payments`: the creditor's payments file, one line per payment, with the
//! columns `payment_ref, account_ref, paid_on, amount, currency, channel`.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::Path;

use chrono::NaiveDate;
use tracing::info;

use super::csv_table::{read_error, Table, TableFormat};
use super::lookup::{unknown_account, wrong_currency, Accounts};
use super::table_cells as cells;
use super::{
    plural, write_problems, HistoryImportError, HistoryImportSettings, Payment, SettleScope, SettlementCounts,
    StoredPayment,
};
use crate::collections::import::{ImportMode, RowError};
use crate::collections::model::{DebtId, Money};
use crate::collections::store::{Store, StoreError};

pub(super) const FORMAT: TableFormat = TableFormat {
    columns: &["payment_ref", "account_ref", "paid_on", "amount", "currency", "channel"],
    noun: "payment",
};

/// A valid payment line. The debt is named by its account reference because, in a history
/// import, it may belong to a portfolio row not stored yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PaymentRow {
    pub line: u64,
    pub payment_ref: String,
    pub account_ref: String,
    pub paid_on: NaiveDate,
    pub amount: Money,
    pub channel: String,
}

impl PaymentRow {
    /// Returns the payment for the store, or `None` when its debt is not stored.
    pub fn to_payment(&self, accounts: &Accounts) -> Option<Payment> {
        Some(Payment {
            payment_ref: self.payment_ref.clone(),
            debt_id: accounts.debt_id(&self.account_ref)?,
            paid_on: self.paid_on,
            amount: self.amount,
            channel: self.channel.clone(),
        })
    }

    fn matches(&self, stored: &StoredPayment) -> bool {
        stored.account_ref == self.account_ref
            && stored.payment.paid_on == self.paid_on
            && stored.payment.amount == self.amount
            && stored.payment.channel == self.channel
    }
}

/// A payments file read and checked.
#[derive(Debug, Clone, Default)]
pub(super) struct ParsedPayments {
    pub rows: Vec<PaymentRow>,
    pub rejected: Vec<RowError>,
    pub ignored_columns: Vec<String>,
    /// Valid rows whose payment is already stored with the same content.
    pub already_stored: usize,
}

/// Checks every line of a payments file against the known debts. A payment dated after `today`
/// is rejected, as is a `payment_ref` that appears twice in the file.
pub(super) fn parse(
    file: &str,
    bytes: &[u8],
    accounts: &Accounts,
    today: NaiveDate,
) -> Result<ParsedPayments, super::TableError> {
    let table = Table::parse(file, bytes, &FORMAT)?;
    let mut parsed = ParsedPayments { ignored_columns: table.ignored.clone(), ..ParsedPayments::default() };
    let mut first_lines: HashMap<String, u64> = HashMap::new();

    for (line, record) in &table.records {
        let mut row = match table.row(*line, record) {
            Ok(row) => row,
            Err(error) => {
                parsed.rejected.push(error);
                continue;
            }
        };
        let payment_ref = row.take("payment_ref", |raw| cells::text("payment_ref", raw));
        if let Some(payment_ref) = &payment_ref {
            match first_lines.get(payment_ref) {
                Some(first) => row.reject(
                    "payment_ref",
                    format!("payment_ref '{payment_ref}' already appears on line {first}: give each payment its own payment_ref"),
                ),
                None => {
                    first_lines.insert(payment_ref.clone(), *line);
                }
            }
        }
        let account_ref = row.take("account_ref", |raw| cells::text("account_ref", raw));
        let debt = account_ref.as_deref().and_then(|account_ref| accounts.get(account_ref));
        if let (Some(account_ref), None) = (&account_ref, debt) {
            row.reject("account_ref", unknown_account(account_ref));
        }
        let paid_on = row.take("paid_on", |raw| cells::date("paid_on", raw));
        if let Some(paid_on) = paid_on.filter(|paid_on| *paid_on > today) {
            row.reject("paid_on", format!("paid_on '{paid_on}' is in the future (today is {today}): check the date"));
        }
        let currency = row.take("currency", cells::currency);
        if let (Some(currency), Some(debt), Some(account_ref)) = (currency, debt, &account_ref) {
            if currency != debt.currency {
                row.reject("currency", wrong_currency(currency, account_ref, debt.currency));
            }
        }
        let amount = row.take("amount", |raw| cells::amount("amount", raw, currency, false)).flatten();
        let channel = row.take("channel", |raw| cells::optional_text("channel", raw));

        match (payment_ref, account_ref, paid_on, amount, channel) {
            (Some(payment_ref), Some(account_ref), Some(paid_on), Some(amount), Some(channel)) if row.is_valid() => {
                parsed.rows.push(PaymentRow {
                    line: *line,
                    payment_ref,
                    account_ref,
                    paid_on,
                    amount,
                    channel: channel.unwrap_or_default(),
                });
            }
            _ => parsed.rejected.extend(row.into_errors()),
        }
    }
    Ok(parsed)
}

/// Compares the file's payments with those already stored under the same references. A payment
/// stored with the same content counts as already stored. One stored with other content is
/// rejected, and the message shows both versions.
pub(super) async fn reject_conflicts(
    store: &dyn Store,
    file: &str,
    parsed: &mut ParsedPayments,
) -> Result<(), StoreError> {
    let refs: Vec<String> = parsed.rows.iter().map(|row| row.payment_ref.clone()).collect();
    let stored: HashMap<String, StoredPayment> = store
        .payments_with_refs(&refs)
        .await?
        .into_iter()
        .map(|stored| (stored.payment.payment_ref.clone(), stored))
        .collect();

    let mut kept = Vec::with_capacity(parsed.rows.len());
    for row in std::mem::take(&mut parsed.rows) {
        match stored.get(&row.payment_ref) {
            None => kept.push(row),
            Some(existing) if row.matches(existing) => {
                parsed.already_stored += 1;
                kept.push(row);
            }
            Some(existing) => parsed.rejected.push(RowError {
                file: file.to_string(),
                line: row.line,
                column: "payment_ref".to_string(),
                value: row.payment_ref.clone(),
                problem: format!(
                    "payment_ref '{}' is already stored as {}, but this line has {}: give this payment its own \
                     payment_ref, or correct the line",
                    row.payment_ref,
                    describe(
                        &existing.account_ref,
                        existing.payment.paid_on,
                        existing.payment.amount,
                        &existing.payment.channel
                    ),
                    describe(&row.account_ref, row.paid_on, row.amount, &row.channel),
                ),
            }),
        }
    }
    parsed.rows = kept;
    parsed.rejected.sort_by_key(|error| error.line);
    Ok(())
}

fn describe(account_ref: &str, paid_on: NaiveDate, amount: Money, channel: &str) -> String {
    let channel = if channel.is_empty() { String::new() } else { format!(" by {channel}") };
    format!("{amount} on account_ref '{account_ref}' paid on {paid_on}{channel}")
}

/// The outcome of a payments import, ready to print one fact per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentReport {
    pub file: String,
    /// Payments stored by this import.
    pub imported: usize,
    /// Valid lines whose payment was already stored with the same content.
    pub already_stored: usize,
    /// Problems of the lines left out (only with `--valid-rows-only`).
    pub rejected: Vec<RowError>,
    pub ignored_columns: Vec<String>,
    /// The settlement of the promises of the debts in the file.
    pub settlement: SettlementCounts,
}

impl fmt::Display for PaymentReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: imported {} ({} already stored)\n{}",
            self.file,
            plural(self.imported, "payment", "payments"),
            self.already_stored,
            self.settlement
        )?;
        write_problems(f, &self.ignored_columns, &self.rejected)
    }
}

/// Imports a payments file in one transaction, then settles the promises of the file's debts
/// as of the settings' date. With [`ImportMode::AllOrNothing`] an invalid line stops the import
/// before the store is touched.
pub async fn import_payments_file(
    store: &dyn Store,
    path: &Path,
    settings: HistoryImportSettings,
) -> Result<PaymentReport, HistoryImportError> {
    let file = path.display().to_string();
    let bytes = tokio::fs::read(path).await.map_err(|source| read_error(file.clone(), source))?;
    let store_error = |source| HistoryImportError::Store { file: file.clone(), source };
    let accounts = Accounts::from_store(store.debt_refs().await.map_err(store_error)?);

    let today = settings.now.date_naive();
    let mut parsed = parse(&file, &bytes, &accounts, today)?;
    reject_conflicts(store, &file, &mut parsed).await.map_err(store_error)?;
    if settings.mode == ImportMode::AllOrNothing && !parsed.rejected.is_empty() {
        return Err(HistoryImportError::InvalidRows { file, rejected: parsed.rejected });
    }

    let payments: Vec<Payment> = parsed.rows.iter().filter_map(|row| row.to_payment(&accounts)).collect();
    let imported = store.insert_payments(&payments, settings.now).await.map_err(store_error)?;
    let debts: Vec<DebtId> =
        payments.iter().map(|payment| payment.debt_id).collect::<BTreeSet<_>>().into_iter().collect();
    let settlement = store
        .settle_promises(SettleScope::Debts(&debts), settings.grace_days, today)
        .await
        .map_err(HistoryImportError::Settle)?;

    let report = PaymentReport {
        file,
        imported,
        already_stored: parsed.already_stored,
        rejected: parsed.rejected,
        ignored_columns: parsed.ignored_columns,
        settlement,
    };
    info!(
        file = %report.file,
        imported = report.imported,
        already_stored = report.already_stored,
        rejected = report.rejected.len(),
        promises_changed = report.settlement.changed_total(),
        "payments imported"
    );
    Ok(report)
}
