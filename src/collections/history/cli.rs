//! The history commands of `cobranza`: `import-payments`, `import-dnc`, `import-history` and
//! `settle-promises`. Each prints its report on standard output.

use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, Utc};

use super::{import_do_not_call_file, import_history_dir, import_payments_file, HistoryImportSettings, SettleScope};
use crate::collections::import::ImportMode;
use crate::collections::store::Store;
use crate::config::PromisesConfig;
use crate::kpi::compliance::CheckScope;
use crate::policy::ContactPolicy;

/// The history subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum HistoryCommand {
    /// Import the creditor's payments CSV (payment_ref, account_ref, paid_on, amount, currency,
    /// channel), then settle the promises of the debts it names as of today.
    ImportPayments {
        /// The payments CSV: one line per payment, with a header.
        file: PathBuf,
        /// Import the valid rows and list the rejected ones, instead of importing nothing when a
        /// row is invalid.
        #[arg(long)]
        valid_rows_only: bool,
    },
    /// Add the numbers of a do-not-call CSV (phone, reason, added_on) to the store's list.
    ImportDnc {
        /// The do-not-call CSV: one line per number, with a header.
        file: PathBuf,
        /// Import the valid rows and list the rejected ones, instead of importing nothing when a
        /// row is invalid.
        #[arg(long)]
        valid_rows_only: bool,
    },
    /// Import a directory of history files: portfolio.csv, and optionally snapshots.csv,
    /// attempts.csv, promises.csv, payments.csv and do_not_call.csv. Then settle every promise
    /// and check the unchecked attempts against the contact rules.
    ImportHistory {
        /// The directory that contains portfolio.csv.
        dir: PathBuf,
        /// The date to settle promises as of and to date the portfolio's snapshots (YYYY-MM-DD);
        /// by default the latest date found in the files.
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_day)]
        as_of: Option<NaiveDate>,
        /// Import the valid rows of every file and list the rejected ones, instead of importing
        /// nothing when a row is invalid.
        #[arg(long)]
        valid_rows_only: bool,
    },
    /// Settle every promise in the store against the payments, as the nightly sweep does, and
    /// print how many changed status.
    SettlePromises {
        /// The date to settle as of (YYYY-MM-DD); by default today in UTC.
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_day)]
        as_of: Option<NaiveDate>,
    },
}

fn parse_day(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| format!("'{text}' is not a date: write it as YYYY-MM-DD, for example 2026-12-02"))
}

fn mode(valid_rows_only: bool) -> ImportMode {
    if valid_rows_only {
        ImportMode::ValidRowsOnly
    } else {
        ImportMode::AllOrNothing
    }
}

/// Runs one history command at the instant `now` and returns the report to print.
pub async fn run(
    store: &dyn Store,
    command: &HistoryCommand,
    promises: PromisesConfig,
    now: DateTime<Utc>,
) -> anyhow::Result<String> {
    let settings =
        |valid_rows_only| HistoryImportSettings { mode: mode(valid_rows_only), now, grace_days: promises.grace_days };
    let report = match command {
        HistoryCommand::ImportPayments { file, valid_rows_only } => {
            let report = import_payments_file(store, file, settings(*valid_rows_only)).await?;
            // Counting the recovery figures again now spares the next report that work.
            store.refresh_kpi_summaries().await?;
            report.to_string()
        }
        HistoryCommand::ImportDnc { file, valid_rows_only } => {
            import_do_not_call_file(store, file, settings(*valid_rows_only)).await?.to_string()
        }
        HistoryCommand::ImportHistory { dir, as_of, valid_rows_only } => {
            let report = import_history_dir(store, dir, *as_of, settings(*valid_rows_only)).await?;
            // Checking the new attempts now spares the first compliance count that work.
            let checked = store.check_compliance(&ContactPolicy::embedded()?, CheckScope::Unchecked).await?;
            store.refresh_kpi_summaries().await?;
            format!("{report}\ncompliance: {checked}")
        }
        HistoryCommand::SettlePromises { as_of } => {
            let as_of = as_of.unwrap_or_else(|| now.date_naive());
            let counts = store.settle_promises(SettleScope::AllDebts, promises.grace_days, as_of).await?;
            format!("as of {as_of}: {counts}")
        }
    };
    Ok(report)
}
