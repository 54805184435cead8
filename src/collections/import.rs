//! Portfolio import: reads a creditor's CSV of debtors and debts, checks every cell, and loads
//! the valid rows into the store.
//!
//! The CSV has a header line and one line per debt. Columns may come in any order, names match
//! in any letter case, and columns cobranza does not read are listed in the report. A debtor
//! with several debts has several lines, and their debtor cells must agree. Every invalid cell is
//! reported with its file, physical line, column and value, so the file can be fixed in one pass.

pub(crate) mod cells;
mod country;
mod header;
mod rows;
#[cfg(test)]
mod tests;

use std::fmt;
use std::path::Path;

use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use tracing::info;

use super::model::{Debtor, Money};
use super::store::{Store, StoreError};
use header::{Header, HeaderProblem};
use rows::RowReader;

/// A debt read from the portfolio, before the store gives it an id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewDebt {
    pub creditor: String,
    pub product: String,
    /// The creditor's reference for the account, unique within a file.
    pub account_ref: String,
    pub balance: Money,
    pub days_past_due: u32,
}

/// One valid line of the portfolio: a debtor and one of their debts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortfolioRow {
    pub debtor: Debtor,
    pub debt: NewDebt,
}

/// One invalid cell, or one invalid line when `column` is empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowError {
    pub file: String,
    /// The physical line in the file where the record starts, counting the header as line 1.
    pub line: u64,
    pub column: String,
    /// The cell as written in the file.
    pub value: String,
    /// The fault in the value and its fix, written for the person editing the file.
    pub problem: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.column.is_empty() {
            write!(f, "{} line {}: {}", self.file, self.line, self.problem)
        } else {
            write!(f, "{} line {}, column {}: {}", self.file, self.line, self.column, self.problem)
        }
    }
}

/// A portfolio file read and checked, before anything is stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedPortfolio {
    pub rows: Vec<PortfolioRow>,
    /// Every problem found, in file order; a line may have several.
    pub rejected: Vec<RowError>,
    /// Header cells that name no column cobranza reads, as written.
    pub ignored_columns: Vec<String>,
}

/// The policy for a file that has invalid rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ImportMode {
    /// Import nothing unless every row is valid.
    #[default]
    AllOrNothing,
    /// Import the valid rows and report the others.
    ValidRowsOnly,
}

/// The outcome of an import, ready to print one fact per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    pub file: String,
    pub debtors: usize,
    pub debts: usize,
    /// Problems of the rows left out (only in [`ImportMode::ValidRowsOnly`]).
    pub rejected: Vec<RowError>,
    pub ignored_columns: Vec<String>,
}

impl ImportReport {
    /// Counts the lines left out. A line with several invalid cells counts once.
    pub fn rejected_rows(&self) -> usize {
        count_lines(&self.rejected)
    }
}

impl fmt::Display for ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: imported {} and {}",
            self.file,
            plural(self.debtors, "debtor", "debtors"),
            plural(self.debts, "debt", "debts")
        )?;
        if !self.ignored_columns.is_empty() {
            write!(f, "\nignored columns that cobranza does not read: {}", self.ignored_columns.join(", "))?;
        }
        if !self.rejected.is_empty() {
            write!(f, "\nleft out {}:", plural(self.rejected_rows(), "invalid row", "invalid rows"))?;
            for error in &self.rejected {
                write!(f, "\n{error}")?;
            }
        }
        Ok(())
    }
}

/// A reason a portfolio file could not be imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("portfolio file {file} not found: check the path")]
    NotFound { file: String },
    #[error("reading {file} failed ({source}): check that it is a readable file")]
    Read { file: String, source: std::io::Error },
    #[error("{file} is not UTF-8 text (line {line} has an invalid byte): save it as CSV UTF-8")]
    NotUtf8 { file: String, line: u64 },
    #[error("{file} is empty: write the header line, then one line per debt")]
    Empty { file: String },
    #[error("{file} has a header line but no debts: add one line per debt")]
    NoRows { file: String },
    #[error("{file} separates cells with ';': save it with commas as separators")]
    SemicolonSeparated { file: String },
    #[error("{file} is missing {} in its header line: add {} (in any order)", columns_phrase(.missing), them(.missing))]
    MissingColumns { file: String, missing: Vec<&'static str> },
    #[error("{file} has the column {column} twice in its header line: remove one")]
    DuplicateColumn { file: String, column: String },
    #[error("{file} line {line} is not valid CSV ({message}): check the quotes on that line")]
    Malformed { file: String, line: u64, message: String },
    #[error(
        "{file} line {line} opens a double quote that is not closed on that line, so the lines after it \
         cannot be read: close the quote or remove it; nothing was imported"
    )]
    UnclosedQuote { file: String, line: u64 },
    #[error("{}", invalid_rows_message(.file, .rejected))]
    InvalidRows { file: String, rejected: Vec<RowError> },
    #[error("storing the portfolio failed: {0}")]
    Store(#[from] StoreError),
}

/// Reads and checks a portfolio file; birth dates must be before today's UTC date.
pub fn parse_portfolio(path: &Path) -> Result<ParsedPortfolio, ImportError> {
    parse_portfolio_as_of(path, Utc::now().date_naive())
}

/// Reads and checks a portfolio file with `today` as the date birth dates must precede.
pub fn parse_portfolio_as_of(path: &Path, today: NaiveDate) -> Result<ParsedPortfolio, ImportError> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| read_error(file.clone(), source))?;
    parse_portfolio_bytes_as_of(&file, &bytes, today)
}

/// Checks portfolio CSV held in memory; `name` is the file name errors show.
pub fn parse_portfolio_bytes(name: &str, bytes: &[u8]) -> Result<ParsedPortfolio, ImportError> {
    parse_portfolio_bytes_as_of(name, bytes, Utc::now().date_naive())
}

/// Checks portfolio CSV held in memory with `today` as the date birth dates must precede.
/// Any input returns a value or an error without panicking.
pub fn parse_portfolio_bytes_as_of(name: &str, bytes: &[u8], today: NaiveDate) -> Result<ParsedPortfolio, ImportError> {
    let file = name.to_string();
    let text = std::str::from_utf8(bytes).map_err(|error| ImportError::NotUtf8 {
        file: file.clone(),
        line: line_of_offset(bytes, error.valid_up_to()),
    })?;
    // Spreadsheets saving "CSV UTF-8" start the file with a byte order mark.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(ImportError::Empty { file });
    }

    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    let mut records = reader.records();
    let header_record = match records.next() {
        Some(record) => record.map_err(|error| malformed(&file, error))?,
        None => return Err(ImportError::Empty { file }),
    };
    let header = Header::parse(&header_record).map_err(|problem| header_error(&file, problem))?;

    let mut parsed = ParsedPortfolio { ignored_columns: header.ignored.clone(), ..ParsedPortfolio::default() };
    let mut row_reader = RowReader::new(&file, &header, today);
    let mut lines_read = 0_usize;
    for record in records {
        let record = record.map_err(|error| malformed(&file, error))?;
        // Spreadsheets often export emptied rows as a line of commas: such a row contains no debt.
        if record.iter().all(|cell| cell.trim().is_empty()) {
            continue;
        }
        lines_read += 1;
        let line = record.position().map_or(0, |position| record_start_line(text, position));
        // A line break inside a record that also has the wrong number of cells means a double
        // quote was never closed and the record swallowed the lines after it. Rows cannot be told
        // apart past that point, so the whole file is rejected rather than losing them.
        let spans_lines = record.iter().any(|cell| cell.contains(['\n', '\r']));
        if spans_lines && record.len() != header_record.len() {
            return Err(ImportError::UnclosedQuote { file, line });
        }
        match row_reader.read(line, &record) {
            Ok(row) => parsed.rows.push(row),
            Err(errors) => parsed.rejected.extend(errors),
        }
    }

    if lines_read == 0 {
        return Err(ImportError::NoRows { file });
    }
    Ok(parsed)
}

/// Imports a portfolio file into the store as of today's UTC date.
pub async fn import_portfolio_file(
    store: &dyn Store,
    path: &Path,
    mode: ImportMode,
) -> Result<ImportReport, ImportError> {
    import_portfolio_file_as_of(store, path, mode, Utc::now().date_naive()).await
}

/// Imports a portfolio file into the store in one transaction, with a snapshot of each debt
/// dated `as_of`; birth dates must precede `as_of`. In [`ImportMode::AllOrNothing`] any invalid
/// row stops the import before the store is touched.
pub async fn import_portfolio_file_as_of(
    store: &dyn Store,
    path: &Path,
    mode: ImportMode,
    as_of: NaiveDate,
) -> Result<ImportReport, ImportError> {
    let file = path.display().to_string();
    let bytes = tokio::fs::read(path).await.map_err(|source| read_error(file.clone(), source))?;
    let parsed = parse_portfolio_bytes_as_of(&file, &bytes, as_of)?;
    if mode == ImportMode::AllOrNothing && !parsed.rejected.is_empty() {
        return Err(ImportError::InvalidRows { file, rejected: parsed.rejected });
    }

    let counts = if parsed.rows.is_empty() {
        Default::default()
    } else {
        store.import_portfolio_as_of(&parsed.rows, as_of).await?
    };
    let report = ImportReport {
        file,
        debtors: counts.debtors,
        debts: counts.debts,
        rejected: parsed.rejected,
        ignored_columns: parsed.ignored_columns,
    };
    info!(
        file = %report.file,
        debtors = report.debtors,
        debts = report.debts,
        rejected_rows = report.rejected_rows(),
        "portfolio imported"
    );
    Ok(report)
}

fn read_error(file: String, source: std::io::Error) -> ImportError {
    if source.kind() == std::io::ErrorKind::NotFound {
        ImportError::NotFound { file }
    } else {
        ImportError::Read { file, source }
    }
}

fn header_error(file: &str, problem: HeaderProblem) -> ImportError {
    let file = file.to_string();
    match problem {
        HeaderProblem::Missing(missing) => ImportError::MissingColumns { file, missing },
        HeaderProblem::Duplicate(column) => ImportError::DuplicateColumn { file, column },
        HeaderProblem::SemicolonSeparated => ImportError::SemicolonSeparated { file },
    }
}

fn malformed(file: &str, error: csv::Error) -> ImportError {
    let line = error.position().map_or(0, csv::Position::line);
    ImportError::Malformed { file: file.to_string(), line, message: error.to_string() }
}

/// Finds the physical line of a record's first cell. The csv reader places a record at the end
/// of the previous one, before the blank lines it skips, so those line breaks are counted here.
pub(crate) fn record_start_line(text: &str, position: &csv::Position) -> u64 {
    let offset = usize::try_from(position.byte()).unwrap_or(usize::MAX).min(text.len());
    let skipped_breaks =
        text.as_bytes()[offset..].iter().take_while(|b| matches!(b, b'\r' | b'\n')).filter(|b| **b == b'\n').count();
    position.line() + skipped_breaks as u64
}

/// Counts line breaks before byte `offset` to give the 1-based line that contains it.
pub(crate) fn line_of_offset(bytes: &[u8], offset: usize) -> u64 {
    let newlines = bytes[..offset.min(bytes.len())].iter().filter(|b| **b == b'\n').count();
    newlines as u64 + 1
}

fn count_lines(errors: &[RowError]) -> usize {
    let mut lines: Vec<u64> = errors.iter().map(|error| error.line).collect();
    lines.dedup();
    lines.len()
}

fn plural(count: usize, one: &str, many: &str) -> String {
    if count == 1 {
        format!("1 {one}")
    } else {
        format!("{count} {many}")
    }
}

fn columns_phrase(missing: &[&str]) -> String {
    match missing {
        [one] => format!("the column {one}"),
        _ => format!("the columns {}", missing.join(", ")),
    }
}

fn them(missing: &[&str]) -> &'static str {
    if missing.len() == 1 {
        "it"
    } else {
        "them"
    }
}

fn invalid_rows_message(file: &str, rejected: &[RowError]) -> String {
    let rows = count_lines(rejected);
    let verb = if rows == 1 { "is" } else { "are" };
    let mut message = format!(
        "{file}: {} {verb} invalid, so nothing was imported; fix the rows or pass --valid-rows-only",
        plural(rows, "row", "rows")
    );
    for error in rejected {
        message.push('\n');
        message.push_str(&error.to_string());
    }
    message
}
