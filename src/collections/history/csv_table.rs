//! Reading a history CSV file into records, with the same file-level checks and line numbers as
//! the portfolio import: columns in any order and letter case, unknown columns listed, every
//! record tagged with the physical line it starts on.

use csv::StringRecord;

use crate::collections::import::{line_of_offset, record_start_line, RowError};

/// A reason a whole file could not be read. Problems of single rows are [`RowError`]s instead.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("{file} not found: check the path")]
    NotFound { file: String },
    #[error("reading {file} failed ({source}): check that it is a readable file")]
    Read { file: String, source: std::io::Error },
    #[error("{file} is not UTF-8 text (line {line} has an invalid byte): save it as CSV UTF-8")]
    NotUtf8 { file: String, line: u64 },
    #[error("{file} is empty: write the header line, then one line per {noun}")]
    Empty { file: String, noun: &'static str },
    #[error("{file} has a header line but no rows: add one line per {noun}")]
    NoRows { file: String, noun: &'static str },
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
}

/// The layout of one kind of history file.
pub(super) struct TableFormat {
    /// Column names in the order the documentation lists them.
    pub columns: &'static [&'static str],
    /// The noun for one line in messages ("payment", "number").
    pub noun: &'static str,
}

/// A history file read and split into records, before any cell is checked.
pub(super) struct Table {
    pub file: String,
    /// The position in the file of each of the format's columns.
    positions: Vec<usize>,
    columns: &'static [&'static str],
    width: usize,
    /// Header cells that name no column of the format, as written.
    pub ignored: Vec<String>,
    /// Each non-empty record with the physical line it starts on.
    pub records: Vec<(u64, StringRecord)>,
}

impl Table {
    /// Reads `bytes` as CSV in `format`; `file` is the name messages show.
    pub fn parse(file: &str, bytes: &[u8], format: &TableFormat) -> Result<Table, TableError> {
        let file = file.to_string();
        let text = std::str::from_utf8(bytes).map_err(|error| TableError::NotUtf8 {
            file: file.clone(),
            line: line_of_offset(bytes, error.valid_up_to()),
        })?;
        // Spreadsheets saving "CSV UTF-8" start the file with a byte order mark.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        if text.trim().is_empty() {
            return Err(TableError::Empty { file, noun: format.noun });
        }

        let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
        let mut records = reader.records();
        let header = match records.next() {
            Some(record) => record.map_err(|error| malformed(&file, error))?,
            None => return Err(TableError::Empty { file, noun: format.noun }),
        };
        let (positions, ignored) = read_header(&file, &header, format)?;

        let mut table =
            Table { file, positions, columns: format.columns, width: header.len(), ignored, records: Vec::new() };
        for record in records {
            let record = record.map_err(|error| malformed(&table.file, error))?;
            // Spreadsheets often export emptied rows as a line of commas.
            if record.iter().all(|cell| cell.trim().is_empty()) {
                continue;
            }
            let line = record.position().map_or(0, |position| record_start_line(text, position));
            // A line break inside a record that also has the wrong number of cells means a double
            // quote was never closed and swallowed the lines after it.
            let spans_lines = record.iter().any(|cell| cell.contains(['\n', '\r']));
            if spans_lines && record.len() != table.width {
                return Err(TableError::UnclosedQuote { file: table.file, line });
            }
            table.records.push((line, record));
        }
        if table.records.is_empty() {
            return Err(TableError::NoRows { file: table.file, noun: format.noun });
        }
        Ok(table)
    }

    /// Starts checking the record on `line`, or returns its error when it has the wrong number
    /// of cells.
    pub fn row<'t>(&'t self, line: u64, record: &'t StringRecord) -> Result<Row<'t>, RowError> {
        if record.len() != self.width {
            return Err(RowError {
                file: self.file.clone(),
                line,
                column: String::new(),
                value: String::new(),
                problem: format!(
                    "the line has {} cells but the header has {}: check for a missing or extra \
                     comma, and put cells that contain commas in double quotes",
                    record.len(),
                    self.width
                ),
            });
        }
        Ok(Row { table: self, line, record, errors: Vec::new() })
    }

    fn position(&self, column: &str) -> usize {
        let index = self.columns.iter().position(|known| *known == column).expect("column belongs to the format");
        self.positions[index]
    }
}

/// The cells of one record and the problems found in them so far.
pub(super) struct Row<'t> {
    table: &'t Table,
    pub line: u64,
    record: &'t StringRecord,
    /// Each problem with the file position of its column, so they can be listed left to right.
    errors: Vec<(usize, RowError)>,
}

impl Row<'_> {
    /// Returns the cell of `column` as written.
    pub fn raw(&self, column: &str) -> &str {
        self.record.get(self.table.position(column)).unwrap_or("")
    }

    /// Parses one cell, recording the problem when it is invalid.
    pub fn take<T>(&mut self, column: &str, parse: impl FnOnce(&str) -> Result<T, String>) -> Option<T> {
        match parse(self.raw(column)) {
            Ok(value) => Some(value),
            Err(problem) => {
                self.reject(column, problem);
                None
            }
        }
    }

    /// Records a problem with the cell of `column`.
    pub fn reject(&mut self, column: &str, problem: String) {
        let error = RowError {
            file: self.table.file.clone(),
            line: self.line,
            column: column.to_string(),
            value: self.raw(column).to_string(),
            problem,
        };
        self.errors.push((self.table.position(column), error));
    }

    pub fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }

    /// Returns the problems found, left to right as the columns appear in the file.
    pub fn into_errors(mut self) -> Vec<RowError> {
        self.errors.sort_by_key(|(position, _)| *position);
        self.errors.into_iter().map(|(_, error)| error).collect()
    }
}

/// Maps the format's columns to their positions; names match after trimming, in any case.
fn read_header(
    file: &str,
    header: &StringRecord,
    format: &TableFormat,
) -> Result<(Vec<usize>, Vec<String>), TableError> {
    if header.len() == 1 && header[0].contains(';') {
        return Err(TableError::SemicolonSeparated { file: file.to_string() });
    }
    let mut positions: Vec<Option<usize>> = vec![None; format.columns.len()];
    let mut ignored = Vec::new();
    for (position, cell) in header.iter().enumerate() {
        let name = cell.trim();
        match format.columns.iter().position(|column| column.eq_ignore_ascii_case(name)) {
            Some(index) if positions[index].is_some() => {
                return Err(TableError::DuplicateColumn { file: file.to_string(), column: name.to_string() });
            }
            Some(index) => positions[index] = Some(position),
            None if name.is_empty() => ignored.push(format!("(unnamed column {})", position + 1)),
            None => ignored.push(name.to_string()),
        }
    }
    let missing: Vec<&'static str> = format
        .columns
        .iter()
        .zip(&positions)
        .filter(|(_, position)| position.is_none())
        .map(|(column, _)| *column)
        .collect();
    if !missing.is_empty() {
        return Err(TableError::MissingColumns { file: file.to_string(), missing });
    }
    Ok((positions.into_iter().flatten().collect(), ignored))
}

fn malformed(file: &str, error: csv::Error) -> TableError {
    let line = error.position().map_or(0, csv::Position::line);
    TableError::Malformed { file: file.to_string(), line, message: error.to_string() }
}

/// Maps a failed read of `file` to the error that names the fix.
pub(super) fn read_error(file: String, source: std::io::Error) -> TableError {
    if source.kind() == std::io::ErrorKind::NotFound {
        TableError::NotFound { file }
    } else {
        TableError::Read { file, source }
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
