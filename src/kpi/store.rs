//! The KPI store: the counts and sums behind every KPI, computed by the database.
//!
//! A backend implements one method, [`KpiStore::kpi_rows`], which runs a [`KpiStatement`]
//! rendered for its SQL dialect. The provided methods build each statement from
//! [`super::sql`] and decode its rows into plain counts and sums; `src/kpi/` turns those into
//! rates. So both backends count with the same SQL text, apart from date and time expressions.

use async_trait::async_trait;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::Serialize;

use super::sql::{self, Dialect, RECOVERY_HORIZON_DAYS};
use super::summary::Summary;
use crate::collections::model::Currency;
use crate::collections::store::{utc_day_bounds, StoreError};

/// The slice of history a KPI report covers.
///
/// Attempts count when they started within the range. With a campaign or segment, only the
/// attempts of that campaign or segment count, and only the promises those attempts obtained.
/// Figures read from payments and snapshots (amount collected, cost to collect, recovery, cure,
/// roll rates, aging) then cover only the debts that at least one matching attempt reached
/// (started a call about) within the range. The country is the country of the debt's debtor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KpiFilter {
    /// First UTC day of the range.
    pub from: NaiveDate,
    /// Last UTC day of the range, included.
    pub to: NaiveDate,
    pub campaign: Option<String>,
    pub segment: Option<String>,
    /// ISO 3166-1 alpha-2 code of the debtors' country, upper case.
    pub country: Option<String>,
}

impl KpiFilter {
    /// Builds a filter over the UTC days `from` to `to`, both included, with no other condition.
    pub fn days(from: NaiveDate, to: NaiveDate) -> KpiFilter {
        KpiFilter { from, to, campaign: None, segment: None, country: None }
    }

    /// Returns the first instant of the range.
    pub fn start(&self) -> DateTime<Utc> {
        utc_day_bounds(self.from).0
    }

    /// Returns the first instant after the range.
    pub fn end(&self) -> DateTime<Utc> {
        utc_day_bounds(self.to).1
    }

    /// Tells whether a campaign or segment narrows the attempts, and through them the debts.
    pub fn narrows_attempts(&self) -> bool {
        self.campaign.is_some() || self.segment.is_some()
    }
}

/// The groups that attempt and promise counts are split into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    /// One group for the whole range.
    Total,
    /// One group per UTC day, labelled `YYYY-MM-DD`.
    Day,
    /// One group per UTC hour of the day over all days of the range, labelled `00` to `23`.
    HourOfDay,
    /// One group per country of the debtor, labelled with its ISO 3166-1 alpha-2 code.
    Country,
}

/// A calendar month, numbered as `year × 12 + month − 1` in SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    pub year: i32,
    /// 1 to 12.
    pub month: u32,
}

impl Month {
    /// Returns the month that contains `day`.
    pub fn of(day: NaiveDate) -> Month {
        Month { year: day.year(), month: day.month() }
    }

    /// Returns the month from its SQL number, `year × 12 + month − 1`.
    pub fn from_index(index: i64) -> Result<Month, StoreError> {
        let year = i32::try_from(index.div_euclid(12))
            .map_err(|_| StoreError::Corrupt(format!("month number {index} is out of range")))?;
        Ok(Month { year, month: index.rem_euclid(12) as u32 + 1 })
    }

    /// Returns the SQL number of the month, `year × 12 + month − 1`.
    pub fn index(self) -> i64 {
        i64::from(self.year) * 12 + i64::from(self.month) - 1
    }

    pub fn next(self) -> Month {
        if self.month == 12 {
            Month { year: self.year + 1, month: 1 }
        } else {
            Month { year: self.year, month: self.month + 1 }
        }
    }

    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).expect("months are 1 to 12")
    }

    pub fn last_day(self) -> NaiveDate {
        self.next().first_day().pred_opt().expect("a month has a day before the next")
    }
}

impl std::fmt::Display for Month {
    /// Writes `2026-03`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl Serialize for Month {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Attempts of one group, counted by [`super::sql`]'s definitions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttemptCounts {
    /// The group's label; `None` for [`Grouping::Total`].
    pub group: Option<String>,
    pub dials: u64,
    pub inbound_calls: u64,
    pub connects: u64,
    pub contacts: u64,
    pub right_party_contacts: u64,
    /// Answered attempts that ended, and their summed length in milliseconds.
    pub handled_calls: u64,
    pub handle_millis: u64,
    /// The attempts' stored costs, in millionths of a dollar.
    pub cost_micros: u64,
}

/// Promises created in the range, in one currency and group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromiseTotals {
    /// The group's label; `None` for [`Grouping::Total`].
    pub group: Option<String>,
    pub currency: Currency,
    pub promises: u64,
    pub amount_minor: u64,
}

/// Promises due in the range that are no longer open, in one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromiseOutcomes {
    pub currency: Currency,
    pub settled: u64,
    /// Promises kept in full, on time or late.
    pub kept: u64,
    pub broken: u64,
    /// The amount payments covered of the settled promises.
    pub kept_minor: u64,
    /// The amount the settled promises promised.
    pub amount_minor: u64,
}

/// Payments dated in the range, in one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentTotals {
    pub currency: Currency,
    pub payments: u64,
    pub amount_minor: u64,
}

/// The debts placed in one month and currency, and what was paid on them after placement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CohortTotals {
    pub month: Month,
    pub currency: Currency,
    pub debts: u64,
    /// The debts' balances at placement.
    pub placed_minor: u64,
    /// Paid within each horizon of [`RECOVERY_HORIZON_DAYS`], in that order.
    pub collected_minor: [u64; RECOVERY_HORIZON_DAYS.len()],
}

/// Debts past due at the start of the range, and how many of them were current at its end.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CureCounts {
    pub delinquent: u64,
    pub cured: u64,
}

/// Debts in one aging bucket and currency in one month, and those of them in the next bucket
/// a month later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollTotals {
    /// The earlier month of the pair.
    pub month: Month,
    /// An index into [`super::AGING_BUCKETS`].
    pub bucket: usize,
    pub currency: Currency,
    pub debts: u64,
    pub balance_minor: u64,
    pub rolled_debts: u64,
    /// The rolled debts' balance in the later month.
    pub rolled_balance_minor: u64,
}

/// The totals behind the figures read from debt snapshots.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortfolioTotals {
    pub aging: Vec<AgingTotals>,
    pub cure: CureCounts,
    pub rolls: Vec<RollTotals>,
    pub cohorts: Vec<CohortTotals>,
}

/// Debts in one aging bucket and currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgingTotals {
    /// An index into [`super::AGING_BUCKETS`].
    pub bucket: usize,
    pub currency: Currency,
    pub debts: u64,
    pub balance_minor: u64,
}

/// A value bound to a statement's `$n` placeholder. Each backend stores instants and days in
/// its own column types, so it binds them its own way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Param {
    Instant(DateTime<Utc>),
    /// The UTC hour an instant falls in, as the attempt summary stores hours.
    Hour(DateTime<Utc>),
    Day(NaiveDate),
    Text(String),
    Integer(i64),
}

/// The type of a result column. Every column may be NULL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// A 64-bit integer (BIGINT in PostgreSQL).
    Integer,
    Text,
}

/// One value of a result row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KpiValue {
    Integer(i64),
    Text(String),
    Null,
}

/// One row of a KPI statement's result, in the order of [`KpiStatement::columns`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KpiRow(pub Vec<KpiValue>);

impl KpiRow {
    fn value(&self, index: usize) -> &KpiValue {
        self.0.get(index).unwrap_or(&KpiValue::Null)
    }

    fn integer(&self, index: usize, column: &str) -> Result<i64, StoreError> {
        match self.value(index) {
            KpiValue::Integer(value) => Ok(*value),
            other => Err(StoreError::Corrupt(format!("KPI column {column} is {other:?}, expected an integer"))),
        }
    }

    /// Reads a count or sum, which SQL can only make negative from corrupt rows.
    fn count(&self, index: usize, column: &str) -> Result<u64, StoreError> {
        let value = self.integer(index, column)?;
        u64::try_from(value).map_err(|_| StoreError::Corrupt(format!("KPI column {column} is negative: {value}")))
    }

    fn text(&self, index: usize, column: &str) -> Result<Option<String>, StoreError> {
        match self.value(index) {
            KpiValue::Text(text) => Ok(Some(text.clone())),
            KpiValue::Null => Ok(None),
            other => Err(StoreError::Corrupt(format!("KPI column {column} is {other:?}, expected text"))),
        }
    }

    fn currency(&self, index: usize) -> Result<Currency, StoreError> {
        let text = self.text(index, "currency")?.unwrap_or_default();
        text.parse().map_err(|_| StoreError::Corrupt(format!("stored currency '{text}' is unknown")))
    }

    fn bucket(&self, index: usize) -> Result<usize, StoreError> {
        let bucket = self.count(index, "bucket")?;
        usize::try_from(bucket)
            .ok()
            .filter(|bucket| *bucket < super::AGING_BUCKETS.len())
            .ok_or_else(|| StoreError::Corrupt(format!("aging bucket {bucket} is out of range")))
    }
}

/// The question a KPI statement answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Question {
    Attempts(Grouping),
    PromisesMade(Grouping),
    PromiseOutcomes,
    Payments,
    Portfolio,
}

/// One KPI query over a filter, rendered to SQL by the backend that runs it.
#[derive(Debug, Clone)]
pub struct KpiStatement {
    question: Question,
    filter: KpiFilter,
    /// Reading the tables even where a summary has the figures.
    scan: bool,
}

impl KpiStatement {
    pub(crate) fn new(question: Question, filter: &KpiFilter) -> KpiStatement {
        KpiStatement { question, filter: filter.clone(), scan: false }
    }

    /// Returns the same statement reading the tables instead of the summaries.
    pub fn scanning(mut self) -> KpiStatement {
        self.scan = true;
        self
    }

    /// Renders the statement in `dialect`, with the values of its `$1`, `$2`, ... placeholders.
    pub fn render(&self, dialect: Dialect) -> (String, Vec<Param>) {
        sql::render(self.question, &self.filter, self.scan, dialect)
    }

    /// Returns the summary the statement reads, which its backend brings up to date first.
    pub fn summary(&self) -> Option<Summary> {
        if self.scan {
            None
        } else {
            sql::summary_of(self.question, &self.filter)
        }
    }

    /// Returns the types of the result's columns, in order.
    pub fn columns(&self) -> &'static [ColumnKind] {
        sql::columns(self.question)
    }

    /// Tells whether the statement groups every debt's snapshots into one row per debt, which
    /// is the snapshot figures' statement.
    pub fn groups_per_debt(&self) -> bool {
        self.question == Question::Portfolio && self.summary().is_none()
    }
}

/// Returns every statement of a report over `filter` without a series, each with a short name,
/// for benchmarks and query plans.
pub fn report_statements(filter: &KpiFilter) -> Vec<(&'static str, KpiStatement)> {
    [
        ("attempts", Question::Attempts(Grouping::Total)),
        ("promises made", Question::PromisesMade(Grouping::Total)),
        ("promise outcomes", Question::PromiseOutcomes),
        ("payments", Question::Payments),
        ("portfolio", Question::Portfolio),
    ]
    .into_iter()
    .map(|(name, question)| (name, KpiStatement::new(question, filter)))
    .collect()
}

/// The KPI queries of a store. Backends implement [`KpiStore::kpi_rows`]; the other methods
/// build their SQL from [`super::sql`], so every backend counts by the same definitions.
#[async_trait]
pub trait KpiStore: Send + Sync {
    /// Runs `statement` rendered in this backend's dialect and returns its rows, each value
    /// decoded as the type [`KpiStatement::columns`] lists.
    async fn kpi_rows(&self, statement: &KpiStatement) -> Result<Vec<KpiRow>, StoreError>;

    /// Counts the filter's attempts per group. Groups without attempts are left out, except
    /// that [`Grouping::Total`] always returns one row.
    async fn attempt_counts(&self, filter: &KpiFilter, grouping: Grouping) -> Result<Vec<AttemptCounts>, StoreError> {
        let rows = self.kpi_rows(&KpiStatement::new(Question::Attempts(grouping), filter)).await?;
        decode_attempt_counts(&rows)
    }

    /// Brings the KPI summaries up to date now, so the next report does not pay for a large
    /// import. Reading a summary refreshes it first, so this reads each for one day.
    async fn refresh_kpi_summaries(&self) -> Result<(), StoreError> {
        let today = KpiFilter::days(Utc::now().date_naive(), Utc::now().date_naive());
        self.attempt_counts(&today, Grouping::Total).await?;
        self.portfolio_totals(&today).await?;
        Ok(())
    }

    /// Counts as [`KpiStore::attempt_counts`] does, from the attempts table instead of the
    /// hourly summary. Tests compare the two.
    async fn attempt_counts_scanned(
        &self,
        filter: &KpiFilter,
        grouping: Grouping,
    ) -> Result<Vec<AttemptCounts>, StoreError> {
        let rows = self.kpi_rows(&KpiStatement::new(Question::Attempts(grouping), filter).scanning()).await?;
        decode_attempt_counts(&rows)
    }

    /// Counts and sums the promises created in the range per group and currency.
    async fn promises_made(&self, filter: &KpiFilter, grouping: Grouping) -> Result<Vec<PromiseTotals>, StoreError> {
        let rows = self.kpi_rows(&KpiStatement::new(Question::PromisesMade(grouping), filter)).await?;
        rows.iter()
            .map(|row| {
                Ok(PromiseTotals {
                    group: row.text(0, "group")?,
                    currency: row.currency(1)?,
                    promises: row.count(2, "promises")?,
                    amount_minor: row.count(3, "amount_minor")?,
                })
            })
            .collect()
    }

    /// Counts the promises due in the range that are no longer open, per currency.
    async fn promise_outcomes(&self, filter: &KpiFilter) -> Result<Vec<PromiseOutcomes>, StoreError> {
        let rows = self.kpi_rows(&KpiStatement::new(Question::PromiseOutcomes, filter)).await?;
        rows.iter()
            .map(|row| {
                Ok(PromiseOutcomes {
                    currency: row.currency(0)?,
                    settled: row.count(1, "settled")?,
                    kept: row.count(2, "kept")?,
                    broken: row.count(3, "broken")?,
                    kept_minor: row.count(4, "kept_minor")?,
                    amount_minor: row.count(5, "amount_minor")?,
                })
            })
            .collect()
    }

    /// Sums the payments dated in the range per currency.
    async fn payments_collected(&self, filter: &KpiFilter) -> Result<Vec<PaymentTotals>, StoreError> {
        let rows = self.kpi_rows(&KpiStatement::new(Question::Payments, filter)).await?;
        rows.iter()
            .map(|row| {
                Ok(PaymentTotals {
                    currency: row.currency(0)?,
                    payments: row.count(1, "payments")?,
                    amount_minor: row.count(2, "amount_minor")?,
                })
            })
            .collect()
    }

    /// Reads the figures of the debt snapshots: the aging at the last day, the cure counts,
    /// the roll totals of each month but the last, and the recovery cohorts placed in the range.
    async fn portfolio_totals(&self, filter: &KpiFilter) -> Result<PortfolioTotals, StoreError> {
        let rows = self.kpi_rows(&KpiStatement::new(Question::Portfolio, filter)).await?;
        decode_portfolio_totals(&rows)
    }

    /// Reads as [`KpiStore::portfolio_totals`] does, from the snapshots instead of the
    /// portfolio summaries. Tests compare the two.
    async fn portfolio_totals_scanned(&self, filter: &KpiFilter) -> Result<PortfolioTotals, StoreError> {
        let rows = self.kpi_rows(&KpiStatement::new(Question::Portfolio, filter).scanning()).await?;
        decode_portfolio_totals(&rows)
    }
}

fn decode_portfolio_totals(rows: &[KpiRow]) -> Result<PortfolioTotals, StoreError> {
    let mut totals = PortfolioTotals::default();
    for row in rows {
        match row.text(0, "figure")?.as_deref() {
            Some("aging") => totals.aging.push(AgingTotals {
                bucket: row.bucket(2)?,
                currency: row.currency(3)?,
                debts: row.count(4, "debts")?,
                balance_minor: row.count(5, "balance_minor")?,
            }),
            Some("cure") => {
                totals.cure = CureCounts { delinquent: row.count(4, "delinquent")?, cured: row.count(5, "cured")? }
            }
            Some("roll") => totals.rolls.push(RollTotals {
                month: Month::from_index(row.integer(1, "month")?)?,
                bucket: row.bucket(2)?,
                currency: row.currency(3)?,
                debts: row.count(4, "debts")?,
                balance_minor: row.count(5, "balance_minor")?,
                rolled_debts: row.count(6, "rolled_debts")?,
                rolled_balance_minor: row.count(7, "rolled_balance_minor")?,
            }),
            Some("recovery") => {
                let mut collected_minor = [0; RECOVERY_HORIZON_DAYS.len()];
                for (index, collected) in collected_minor.iter_mut().enumerate() {
                    *collected = row.count(6 + index, "collected_minor")?;
                }
                totals.cohorts.push(CohortTotals {
                    month: Month::from_index(row.integer(1, "month")?)?,
                    currency: row.currency(3)?,
                    debts: row.count(4, "debts")?,
                    placed_minor: row.count(5, "placed_minor")?,
                    collected_minor,
                });
            }
            other => return Err(StoreError::Corrupt(format!("unknown portfolio figure {other:?}"))),
        }
    }
    Ok(totals)
}

fn decode_attempt_counts(rows: &[KpiRow]) -> Result<Vec<AttemptCounts>, StoreError> {
    rows.iter()
        .map(|row| {
            Ok(AttemptCounts {
                group: row.text(0, "group")?,
                dials: row.count(1, "dials")?,
                inbound_calls: row.count(2, "inbound_calls")?,
                connects: row.count(3, "connects")?,
                contacts: row.count(4, "contacts")?,
                right_party_contacts: row.count(5, "right_party_contacts")?,
                handled_calls: row.count(6, "handled_calls")?,
                handle_millis: row.count(7, "handle_millis")?,
                cost_micros: row.count(8, "cost_micros")?,
            })
        })
        .collect()
}
