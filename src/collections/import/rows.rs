//! Turns CSV records into portfolio rows: every cell checked, every problem collected, and the
//! checks that span rows (one `account_ref` per debt, one set of details per debtor).

use std::collections::HashMap;

use chrono::NaiveDate;
use csv::StringRecord;

use super::cells;
use super::header::{Column, Header};
use super::{NewDebt, PortfolioRow, RowError};
use crate::collections::model::{Debtor, DebtorId};

/// Reads the records of one file in order, remembering what later rows must agree with.
pub(crate) struct RowReader<'h> {
    file: &'h str,
    header: &'h Header,
    today: NaiveDate,
    /// The line where each account reference first appeared.
    account_lines: HashMap<String, u64>,
    /// The first valid details of each debtor, with their line.
    debtors: HashMap<DebtorId, (u64, Debtor)>,
}

impl<'h> RowReader<'h> {
    pub(crate) fn new(file: &'h str, header: &'h Header, today: NaiveDate) -> Self {
        RowReader { file, header, today, account_lines: HashMap::new(), debtors: HashMap::new() }
    }

    /// Parses the record that starts on physical `line`, or returns every problem found in it.
    pub(crate) fn read(&mut self, line: u64, record: &StringRecord) -> Result<PortfolioRow, Vec<RowError>> {
        if record.len() != self.header.width {
            return Err(vec![RowError {
                file: self.file.to_string(),
                line,
                column: String::new(),
                value: String::new(),
                problem: format!(
                    "the line has {} cells but the header has {}: check for a missing or extra \
                     comma, and put cells that contain commas in double quotes",
                    record.len(),
                    self.header.width
                ),
            }]);
        }

        let mut cells = Cells { file: self.file, line, header: self.header, record, errors: Vec::new() };
        let debtor = read_debtor(&mut cells, self.today);
        let debt = read_debt(&mut cells);
        self.check_account_ref_unique(&mut cells);
        if let Some(debtor) = &debtor {
            self.check_debtor_agrees(&mut cells, debtor);
        }

        match (debtor, debt) {
            (Some(debtor), Some(debt)) if cells.errors.is_empty() => Ok(PortfolioRow { debtor, debt }),
            _ => {
                // Report problems left to right, as the columns appear in the file.
                cells.errors.sort_by_key(|(position, _)| *position);
                Err(cells.errors.into_iter().map(|(_, error)| error).collect())
            }
        }
    }

    fn check_account_ref_unique(&mut self, cells: &mut Cells) {
        let account_ref = cells.raw(Column::AccountRef).trim().to_string();
        if account_ref.is_empty() {
            return;
        }
        match self.account_lines.get(&account_ref) {
            Some(first_line) => {
                let problem = format!(
                    "account_ref '{account_ref}' already appears on line {first_line}: give each \
                     debt its own account_ref"
                );
                cells.reject(Column::AccountRef, problem);
            }
            None => {
                self.account_lines.insert(account_ref, cells.line);
            }
        }
    }

    /// Rejects the cells that differ from the debtor's first row, so every row of a debtor
    /// describes the same person.
    fn check_debtor_agrees(&mut self, cells: &mut Cells, debtor: &Debtor) {
        let Some((first_line, first)) = self.debtors.get(&debtor.id) else {
            self.debtors.insert(debtor.id.clone(), (cells.line, debtor.clone()));
            return;
        };
        for ((column, first_value), (_, value)) in debtor_details(first).into_iter().zip(debtor_details(debtor)) {
            if first_value != value {
                let problem = format!(
                    "{} '{}' differs from '{first_value}' on line {first_line}, the first row of \
                     debtor {}: make every row of a debtor agree",
                    column.name(),
                    cells.raw(column).trim(),
                    debtor.id
                );
                cells.reject(column, problem);
            }
        }
    }
}

/// The cells of one record, with the problems found so far and the file position of the column
/// each is about.
struct Cells<'r> {
    file: &'r str,
    line: u64,
    header: &'r Header,
    record: &'r StringRecord,
    errors: Vec<(usize, RowError)>,
}

impl Cells<'_> {
    fn raw(&self, column: Column) -> &str {
        self.header.cell(self.record, column)
    }

    /// Parses one cell, recording the problem when it is invalid.
    fn take<T>(&mut self, column: Column, parse: impl FnOnce(&str) -> Result<T, String>) -> Option<T> {
        match parse(self.raw(column)) {
            Ok(value) => Some(value),
            Err(problem) => {
                self.reject(column, problem);
                None
            }
        }
    }

    fn reject(&mut self, column: Column, problem: String) {
        let error = RowError {
            file: self.file.to_string(),
            line: self.line,
            column: column.name().to_string(),
            value: self.raw(column).to_string(),
            problem,
        };
        self.errors.push((self.header.position(column).unwrap_or(usize::MAX), error));
    }
}

fn read_debtor(cells: &mut Cells, today: NaiveDate) -> Option<Debtor> {
    let id = cells.take(Column::DebtorId, cells::debtor_id);
    let full_name = cells.take(Column::FullName, |raw| cells::text("full_name", raw));
    let phone = cells.take(Column::Phone, cells::phone);
    let country = cells.take(Column::Country, cells::country);
    let region = cells.take(Column::Region, |raw| cells::region(raw, country));
    let locale = cells.take(Column::Locale, cells::locale);
    let time_zone = cells.take(Column::TimeZone, |raw| cells::time_zone(raw, country)).flatten();
    let national_id_last4 = cells.take(Column::NationalIdLast4, cells::national_id_last4);
    let birth_date = cells.take(Column::BirthDate, |raw| cells::birth_date(raw, today));
    let postal_code = cells.take(Column::PostalCode, |raw| cells::postal_code(raw, country));
    let call_consent = cells.take(Column::CallConsent, cells::consent);
    let authorised_channels = cells.take(Column::AuthorisedChannels, cells::channels);

    Some(Debtor {
        id: DebtorId(id?),
        full_name: full_name?,
        phone: phone?,
        country: country?.code().to_string(),
        region: region?,
        locale: locale?,
        time_zone: time_zone?,
        national_id_last4: national_id_last4?,
        birth_date: birth_date?,
        postal_code: postal_code?,
        call_consent: call_consent?,
        authorised_channels: authorised_channels?,
    })
}

fn read_debt(cells: &mut Cells) -> Option<NewDebt> {
    let creditor = cells.take(Column::Creditor, |raw| cells::text("creditor", raw));
    let product = cells.take(Column::Product, |raw| cells::text("product", raw));
    let account_ref = cells.take(Column::AccountRef, |raw| cells::text("account_ref", raw));
    let currency = cells.take(Column::Currency, cells::currency);
    let balance = cells.take(Column::Balance, |raw| cells::balance(raw, currency)).flatten();
    let days_past_due = cells.take(Column::DaysPastDue, cells::days_past_due);

    Some(NewDebt {
        creditor: creditor?,
        product: product?,
        account_ref: account_ref?,
        balance: balance?,
        days_past_due: days_past_due?,
    })
}

/// Lists the debtor's details as the CSV would write them, for comparing rows of one debtor.
fn debtor_details(debtor: &Debtor) -> [(Column, String); 11] {
    [
        (Column::FullName, debtor.full_name.clone()),
        (Column::Phone, debtor.phone.clone()),
        (Column::Country, debtor.country.clone()),
        (Column::Region, debtor.region.clone()),
        (Column::Locale, debtor.locale.clone()),
        (Column::TimeZone, debtor.time_zone.name().to_string()),
        (Column::NationalIdLast4, debtor.national_id_last4.clone()),
        (Column::BirthDate, debtor.birth_date.format("%Y-%m-%d").to_string()),
        (Column::PostalCode, debtor.postal_code.clone()),
        (Column::CallConsent, debtor.call_consent.to_string()),
        (Column::AuthorisedChannels, debtor.authorised_channels.join(";")),
    ]
}
