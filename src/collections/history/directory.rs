//! `cobranza import-history DIR`: a directory of history files loaded in one go. Every file is
//! read and checked before anything is written, then each file is written in its own
//! transaction, in the order portfolio, snapshots, attempts, promises, payments, do-not-call,
//! and the promises are settled last.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::Path;

use chrono::NaiveDate;
use tracing::info;

use super::csv_table::read_error;
use super::lookup::Accounts;
use super::past_calls::{self, AttemptRow, PromiseTargets};
use super::payments::{self, ParsedPayments};
use super::snapshots::{self, ParsedSnapshots};
use super::{
    do_not_call, plural, HistoryAttempt, HistoryImportError, HistoryImportSettings, HistoryPromise, Payment,
    SettleScope, SettlementCounts, TableError,
};
use crate::collections::import::{parse_portfolio_bytes_as_of, ImportMode, RowError};
use crate::collections::store::{ImportCounts, Store, StoreError};

/// The outcome of a history import, ready to print one fact per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryReport {
    pub dir: String,
    /// The date promises were settled as of.
    pub as_of: NaiveDate,
    /// The date of the snapshots the portfolio wrote.
    pub portfolio_as_of: NaiveDate,
    pub portfolio: ImportCounts,
    pub snapshots: usize,
    pub attempts: Loaded,
    pub promises: Loaded,
    pub payments: Loaded,
    pub do_not_call: Loaded,
    pub settlement: SettlementCounts,
    /// Problems of the lines left out (only with `--valid-rows-only`), file by file.
    pub rejected: Vec<RowError>,
    /// Header cells that name no column cobranza reads, as `file: column`.
    pub ignored_columns: Vec<String>,
}

impl fmt::Display for HistoryReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pair = |loaded: Loaded, one: &str, many: &str| {
            format!("{} ({} already stored)", plural(loaded.added, one, many), loaded.already_stored)
        };
        writeln!(f, "{}: history imported", self.dir)?;
        writeln!(
            f,
            "portfolio: {} and {}, snapshots dated {}",
            plural(self.portfolio.debtors, "debtor", "debtors"),
            plural(self.portfolio.debts, "debt", "debts"),
            self.portfolio_as_of
        )?;
        writeln!(f, "snapshots: {}", plural(self.snapshots, "snapshot", "snapshots"))?;
        writeln!(f, "attempts: {}", pair(self.attempts, "attempt", "attempts"))?;
        writeln!(f, "promises: {}", pair(self.promises, "promise", "promises"))?;
        writeln!(f, "payments: {}", pair(self.payments, "payment", "payments"))?;
        writeln!(f, "do-not-call: {}", pair(self.do_not_call, "number", "numbers"))?;
        write!(f, "as of {}: {}", self.as_of, self.settlement)?;
        super::write_problems(f, &self.ignored_columns, &self.rejected)
    }
}

/// The rows one file of a history import added to the store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Loaded {
    /// Rows stored by this import.
    pub added: usize,
    /// Valid rows that were already stored, for example by an earlier import of the same file.
    pub already_stored: usize,
}

impl Loaded {
    fn of(valid: usize, added: usize) -> Loaded {
        Loaded { added, already_stored: valid - added }
    }
}

/// The files of a history directory, read and checked.
struct CheckedHistory {
    portfolio: Vec<crate::collections::import::PortfolioRow>,
    snapshots: ParsedSnapshots,
    attempts: Vec<AttemptRow>,
    promises: Vec<past_calls::PromiseRow>,
    payments: ParsedPayments,
    do_not_call: Vec<super::DoNotCallEntry>,
    rejected: Vec<RowError>,
    ignored_columns: Vec<String>,
    /// The latest date of an event in the files: a snapshot, call, promise, payment or entry.
    latest_date: Option<NaiveDate>,
}

/// Imports the history files of `dir` and settles every promise as of `as_of`. By default that
/// is the latest date found in the files: snapshot dates, call times, promise creation times,
/// payment dates and do-not-call dates, but not due dates. The portfolio's snapshots are dated
/// `as_of` when it is given, else the latest date of `snapshots.csv`, else the default date.
pub async fn import_history_dir(
    store: &dyn Store,
    dir: &Path,
    as_of: Option<NaiveDate>,
    settings: HistoryImportSettings,
) -> Result<HistoryReport, HistoryImportError> {
    let dir_name = dir.display().to_string();
    if !dir.is_dir() {
        return Err(HistoryImportError::NotADirectory { dir: dir_name });
    }
    if !dir.join("portfolio.csv").is_file() {
        return Err(HistoryImportError::NoPortfolio { dir: dir_name });
    }

    let checked = check_files(store, dir, settings).await?;
    if settings.mode == ImportMode::AllOrNothing && !checked.rejected.is_empty() {
        return Err(HistoryImportError::InvalidRows { file: dir_name, rejected: checked.rejected });
    }
    let today = settings.now.date_naive();
    let settle_as_of = as_of.or(checked.latest_date).unwrap_or(today);
    let latest_snapshot = checked.snapshots.rows.iter().map(|row| row.as_of).max();
    let portfolio_as_of = as_of.or(latest_snapshot).unwrap_or(settle_as_of);

    let report = write_files(store, dir, checked, portfolio_as_of, settle_as_of, settings).await?;
    let report = HistoryReport { dir: dir_name, ..report };
    info!(
        dir = %report.dir,
        debts = report.portfolio.debts,
        attempts = report.attempts.added,
        promises = report.promises.added,
        payments = report.payments.added,
        rejected = report.rejected.len(),
        "history imported"
    );
    Ok(report)
}

/// Reads `name` in `dir`, or returns `None` when the file does not exist.
async fn read_optional(dir: &Path, name: &str) -> Result<Option<(String, Vec<u8>)>, TableError> {
    let path = dir.join(name);
    let file = path.display().to_string();
    match tokio::fs::read(&path).await {
        Ok(bytes) => Ok(Some((file, bytes))),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(read_error(file, source)),
    }
}

async fn check_files(
    store: &dyn Store,
    dir: &Path,
    settings: HistoryImportSettings,
) -> Result<CheckedHistory, HistoryImportError> {
    let today = settings.now.date_naive();
    let portfolio_path = dir.join("portfolio.csv");
    let portfolio_file = portfolio_path.display().to_string();
    let portfolio_bytes =
        tokio::fs::read(&portfolio_path).await.map_err(|source| read_error(portfolio_file.clone(), source))?;
    let portfolio = parse_portfolio_bytes_as_of(&portfolio_file, &portfolio_bytes, today)?;
    let store_error = |file: &str| {
        let file = file.to_string();
        move |source: StoreError| HistoryImportError::Store { file, source }
    };

    let mut accounts = Accounts::from_store(store.debt_refs().await.map_err(store_error(&portfolio_file))?);
    accounts.add_portfolio(&portfolio.rows);
    let mut rejected = portfolio.rejected;
    let mut ignored_columns: Vec<String> =
        portfolio.ignored_columns.iter().map(|column| format!("{portfolio_file}: {column}")).collect();
    let mut ignore = |file: &str, columns: &[String]| {
        ignored_columns.extend(columns.iter().map(|column| format!("{file}: {column}")));
    };
    let mut dates: Vec<NaiveDate> = Vec::new();

    let snapshots = match read_optional(dir, "snapshots.csv").await? {
        Some((file, bytes)) => {
            let parsed = snapshots::parse(&file, &bytes, &accounts)?;
            ignore(&file, &parsed.ignored_columns);
            parsed
        }
        None => ParsedSnapshots::default(),
    };
    rejected.extend(snapshots.rejected.iter().cloned());
    dates.extend(snapshots.rows.iter().map(|row| row.as_of));

    let attempts = match read_optional(dir, "attempts.csv").await? {
        Some((file, bytes)) => {
            let parsed = past_calls::parse_attempts(&file, &bytes, &accounts)?;
            ignore(&file, &parsed.ignored_columns);
            parsed
        }
        None => past_calls::ParsedAttempts::default(),
    };
    rejected.extend(attempts.rejected);
    for attempt in &attempts.rows {
        dates.push(attempt.ended_at.unwrap_or(attempt.started_at).date_naive());
    }

    let promises = match read_optional(dir, "promises.csv").await? {
        Some((file, bytes)) => {
            let in_file: HashMap<String, u64> = attempts.rows.iter().map(|row| (row.attempt_ref.clone(), 0)).collect();
            let missing = past_calls::promise_attempt_refs(&file, &bytes, &in_file)?;
            let stored = store.attempts_with_call_sids(&missing).await.map_err(store_error(&file))?;
            let targets = PromiseTargets::new(&attempts.rows, &stored, &accounts);
            let parsed = past_calls::parse_promises(&file, &bytes, &targets)?;
            ignore(&file, &parsed.ignored_columns);
            parsed
        }
        None => past_calls::ParsedPromises::default(),
    };
    rejected.extend(promises.rejected);
    dates.extend(promises.rows.iter().map(|row| row.created_at.date_naive()));

    let payments = match read_optional(dir, "payments.csv").await? {
        Some((file, bytes)) => {
            let mut parsed = payments::parse(&file, &bytes, &accounts, today)?;
            payments::reject_conflicts(store, &file, &mut parsed).await.map_err(store_error(&file))?;
            ignore(&file, &parsed.ignored_columns);
            parsed
        }
        None => ParsedPayments::default(),
    };
    rejected.extend(payments.rejected.iter().cloned());
    dates.extend(payments.rows.iter().map(|row| row.paid_on));

    let do_not_call = match read_optional(dir, "do_not_call.csv").await? {
        Some((file, bytes)) => {
            let parsed = do_not_call::parse(&file, &bytes)?;
            ignore(&file, &parsed.ignored_columns);
            parsed
        }
        None => do_not_call::ParsedDoNotCall::default(),
    };
    rejected.extend(do_not_call.rejected);
    dates.extend(do_not_call.entries.iter().map(|entry| entry.added_on));

    Ok(CheckedHistory {
        portfolio: portfolio.rows,
        snapshots,
        attempts: attempts.rows,
        promises: promises.rows,
        payments,
        do_not_call: do_not_call.entries,
        rejected,
        ignored_columns,
        latest_date: dates.into_iter().max(),
    })
}

async fn write_files(
    store: &dyn Store,
    dir: &Path,
    checked: CheckedHistory,
    portfolio_as_of: NaiveDate,
    settle_as_of: NaiveDate,
    settings: HistoryImportSettings,
) -> Result<HistoryReport, HistoryImportError> {
    let failed = |name: &str| {
        let file = dir.join(name).display().to_string();
        move |source: StoreError| HistoryImportError::Store { file, source }
    };

    let portfolio =
        store.import_portfolio_as_of(&checked.portfolio, portfolio_as_of).await.map_err(failed("portfolio.csv"))?;
    // The portfolio's debts have ids now.
    let accounts = Accounts::from_store(store.debt_refs().await.map_err(failed("portfolio.csv"))?);

    let snapshots: Vec<_> = checked.snapshots.rows.iter().filter_map(|row| row.to_snapshot(&accounts)).collect();
    let snapshot_count = store.write_snapshots(&snapshots).await.map_err(failed("snapshots.csv"))?;

    let attempts: Vec<HistoryAttempt> = checked.attempts.iter().filter_map(|row| row.to_attempt(&accounts)).collect();
    let new_attempts = store.insert_history_attempts(&attempts).await.map_err(failed("attempts.csv"))?;

    let promise_refs: Vec<String> =
        checked.promises.iter().map(|row| row.attempt_ref.clone()).collect::<BTreeSet<_>>().into_iter().collect();
    let attempt_ids: HashMap<String, _> = store
        .attempts_with_call_sids(&promise_refs)
        .await
        .map_err(failed("promises.csv"))?
        .into_iter()
        .map(|attempt| (attempt.call_sid.0.clone(), attempt))
        .collect();
    let promises: Vec<HistoryPromise> =
        checked.promises.iter().filter_map(|row| row.to_promise(&attempt_ids)).collect();
    let new_promises = store.insert_history_promises(&promises).await.map_err(failed("promises.csv"))?;

    let payments: Vec<Payment> = checked.payments.rows.iter().filter_map(|row| row.to_payment(&accounts)).collect();
    let new_payments = store.insert_payments(&payments, settings.now).await.map_err(failed("payments.csv"))?;

    let new_numbers = store.add_do_not_call(&checked.do_not_call).await.map_err(failed("do_not_call.csv"))?;

    let settlement = store
        .settle_promises(SettleScope::AllDebts, settings.grace_days, settle_as_of)
        .await
        .map_err(HistoryImportError::Settle)?;

    Ok(HistoryReport {
        dir: String::new(),
        as_of: settle_as_of,
        portfolio_as_of,
        portfolio,
        snapshots: snapshot_count,
        attempts: Loaded::of(attempts.len(), new_attempts),
        promises: Loaded::of(promises.len(), new_promises),
        payments: Loaded::of(payments.len(), new_payments),
        do_not_call: Loaded::of(checked.do_not_call.len(), new_numbers),
        settlement,
        rejected: checked.rejected,
        ignored_columns: checked.ignored_columns,
    })
}
