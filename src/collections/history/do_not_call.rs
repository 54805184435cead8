//! `cobranza import-dnc`: numbers that must never be called, one line per number, with the
//! columns `phone, reason, added_on`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use tracing::info;

use super::csv_table::{read_error, Table, TableError, TableFormat};
use super::table_cells as cells;
use super::{plural, write_problems, DoNotCallEntry, HistoryImportError, HistoryImportSettings};
use crate::collections::import::{ImportMode, RowError};
use crate::collections::store::Store;

pub(super) const FORMAT: TableFormat = TableFormat { columns: &["phone", "reason", "added_on"], noun: "number" };

/// A do-not-call file read and checked.
#[derive(Debug, Clone, Default)]
pub(super) struct ParsedDoNotCall {
    /// One entry per number, ordered by number. A number listed twice keeps its earliest date.
    pub entries: Vec<DoNotCallEntry>,
    pub rejected: Vec<RowError>,
    pub ignored_columns: Vec<String>,
}

/// Checks every line of a do-not-call file; `file` becomes each entry's source. An empty
/// reason is allowed, because a number without one must still not be called.
pub(super) fn parse(file: &str, bytes: &[u8]) -> Result<ParsedDoNotCall, TableError> {
    let table = Table::parse(file, bytes, &FORMAT)?;
    let mut parsed = ParsedDoNotCall { ignored_columns: table.ignored.clone(), ..ParsedDoNotCall::default() };
    let mut entries: BTreeMap<String, DoNotCallEntry> = BTreeMap::new();

    for (line, record) in &table.records {
        let mut row = match table.row(*line, record) {
            Ok(row) => row,
            Err(error) => {
                parsed.rejected.push(error);
                continue;
            }
        };
        let phone = row.take("phone", cells::phone);
        let reason = row.take("reason", |raw| cells::optional_text("reason", raw));
        let added_on = row.take("added_on", |raw| cells::date("added_on", raw));
        let (Some(phone), Some(reason), Some(added_on)) = (phone, reason, added_on) else {
            parsed.rejected.extend(row.into_errors());
            continue;
        };
        let entry = DoNotCallEntry {
            phone: phone.clone(),
            reason: reason.unwrap_or_default(),
            source: file.to_string(),
            added_on,
        };
        match entries.get(&phone) {
            Some(first) if first.added_on <= added_on => {}
            _ => {
                entries.insert(phone, entry);
            }
        }
    }
    parsed.entries = entries.into_values().collect();
    Ok(parsed)
}

/// The outcome of a do-not-call import, ready to print one fact per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoNotCallReport {
    pub file: String,
    /// Numbers added to the list by this import.
    pub added: usize,
    /// Distinct valid numbers in the file.
    pub numbers: usize,
    pub rejected: Vec<RowError>,
    pub ignored_columns: Vec<String>,
}

impl fmt::Display for DoNotCallReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: added {} to the do-not-call list ({} already on it)",
            self.file,
            plural(self.added, "number", "numbers"),
            self.numbers - self.added
        )?;
        write_problems(f, &self.ignored_columns, &self.rejected)
    }
}

/// Adds a do-not-call file's numbers to the store's list in one transaction. With
/// [`ImportMode::AllOrNothing`] an invalid line stops the import before the store is touched.
pub async fn import_do_not_call_file(
    store: &dyn Store,
    path: &Path,
    settings: HistoryImportSettings,
) -> Result<DoNotCallReport, HistoryImportError> {
    let file = path.display().to_string();
    let bytes = tokio::fs::read(path).await.map_err(|source| read_error(file.clone(), source))?;
    let parsed = parse(&file, &bytes)?;
    if settings.mode == ImportMode::AllOrNothing && !parsed.rejected.is_empty() {
        return Err(HistoryImportError::InvalidRows { file, rejected: parsed.rejected });
    }

    let added = store
        .add_do_not_call(&parsed.entries)
        .await
        .map_err(|source| HistoryImportError::Store { file: file.clone(), source })?;
    let report = DoNotCallReport {
        file,
        added,
        numbers: parsed.entries.len(),
        rejected: parsed.rejected,
        ignored_columns: parsed.ignored_columns,
    };
    info!(file = %report.file, added = report.added, rejected = report.rejected.len(), "do-not-call list imported");
    Ok(report)
}
