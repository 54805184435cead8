//! The SQL behind the KPIs, written once for SQLite and PostgreSQL.
//!
//! What counts as a dial, a contact, a kept promise or an aging bucket is defined here and
//! nowhere else. The constants below are conditions over an attempt row `a` or a promise row
//! `p`, and every statement is built from them. Only date and time expressions differ between
//! the two backends, and they are the methods of [`Dialect`].
//!
//! Every integer column is cast to BIGINT, so PostgreSQL returns 64-bit integers (its `SUM` of a
//! BIGINT is NUMERIC) and both backends decode the same types.

use std::fmt::Write as _;

use super::store::{ColumnKind, Grouping, KpiFilter, Month, Param, Question};
use super::summary::{self, Summary};
use super::AGING_BUCKETS;

/// A dial: an attempt we placed, whatever its outcome.
pub const DIAL: &str = "a.direction = 'outbound'";

/// An inbound call: an attempt the debtor placed. A call whose caller was never identified has
/// no attempt, so it is not counted here or anywhere else.
pub const INBOUND_CALL: &str = "a.direction = 'inbound'";

/// A connect: a dial answered by a person or a machine.
pub const CONNECT: &str = "a.direction = 'outbound' AND a.answered";

/// A contact: an answered attempt, in either direction, where a live person spoke. The store
/// cannot tell whether anyone spoke, so an attempt disposed as `no_response`, `voicemail_left`
/// or `technical_failure`, or `hung_up` before the debtor was verified, is not a contact. An
/// answered attempt still in progress (no disposition yet) is one.
// NOTE: a voicemail greeting that the carrier's answering-machine detection missed counts as a
// contact; the dialog disposes detected ones as `voicemail_left` (or `no_response`).
pub const CONTACT: &str = "a.answered AND (a.disposition IS NULL OR (\
     a.disposition NOT IN ('no_response', 'voicemail_left', 'technical_failure') \
     AND (a.disposition <> 'hung_up' OR a.right_party_contact)))";

/// A right-party contact: an attempt, in either direction, where the debtor's identity was
/// verified.
pub const RIGHT_PARTY_CONTACT: &str = "a.right_party_contact";

/// A handled call: an answered attempt that ended, so its length is known.
pub const HANDLED: &str = "a.answered AND a.ended_at IS NOT NULL";

/// A settled promise: one whose status is no longer `open` (`kept`, `kept_late`,
/// `partly_kept` or `broken`).
pub const PROMISE_SETTLED: &str = "p.status <> 'open'";

/// A kept promise: paid in full, by its due date (`kept`) or after it (`kept_late`).
pub const PROMISE_KEPT: &str = "p.status IN ('kept', 'kept_late')";

/// A broken promise. A `partly_kept` promise is neither kept nor broken.
pub const PROMISE_BROKEN: &str = "p.status = 'broken'";

/// The recovery horizons, in days from a debt's placement.
pub const RECOVERY_HORIZON_DAYS: [u32; 3] = [30, 90, 180];

/// The scale that packs a snapshot's date number above one of its values in one BIGINT (2^46).
/// One aggregation pass then finds each debt's latest snapshot (MAX) or first one (MIN), and the
/// remainder is that snapshot's value. In `cobranza bench kpi`, joining the snapshots back to
/// each debt's latest date took about twice as long. Packing holds for values below 2^46 (about 7 × 10^13 minor units) and for
/// dates from 1900 to 2258.
const SNAPSHOT_PACK: i64 = 1 << 46;

/// The SQL dialect a statement is rendered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Instants are fixed-width RFC 3339 UTC text and dates are `YYYY-MM-DD` text.
    Sqlite,
    /// Instants are TIMESTAMPTZ and dates are DATE.
    Postgres,
}

impl Dialect {
    /// Returns the UTC day of an instant column, as `YYYY-MM-DD` text.
    pub(super) fn utc_day(self, instant: &str) -> String {
        match self {
            Dialect::Sqlite => format!("substr({instant}, 1, 10)"),
            Dialect::Postgres => format!("to_char({instant} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"),
        }
    }

    /// Returns the UTC hour of an instant column, as text from `00` to `23`.
    pub(super) fn utc_hour(self, instant: &str) -> String {
        match self {
            Dialect::Sqlite => format!("substr({instant}, 12, 2)"),
            Dialect::Postgres => format!("to_char({instant} AT TIME ZONE 'UTC', 'HH24')"),
        }
    }

    /// Returns the month of a date column, numbered `year × 12 + month − 1` as [`Month::index`] is.
    pub(super) fn month_index(self, date: &str) -> String {
        match self {
            Dialect::Sqlite => {
                format!("CAST(CAST(substr({date}, 1, 4) AS INTEGER) * 12 + CAST(substr({date}, 6, 2) AS INTEGER) - 1 AS BIGINT)")
            }
            // date_part returns a double, which is much faster than EXTRACT's NUMERIC.
            Dialect::Postgres => {
                format!("CAST(date_part('year', {date}) * 12 + date_part('month', {date}) - 1 AS BIGINT)")
            }
        }
    }

    /// Returns the number of days from 1900-01-01 to a date column.
    fn day_number(self, date: &str) -> String {
        match self {
            // 2415020.5 is the Julian day of 1900-01-01 at midnight.
            Dialect::Sqlite => format!("CAST(julianday({date}) - 2415020.5 AS INTEGER)"),
            Dialect::Postgres => format!("({date} - DATE '1900-01-01')"),
        }
    }

    /// Returns the date `days` days after a date column.
    pub(super) fn plus_days(self, date: &str, days: u32) -> String {
        match self {
            Dialect::Sqlite => format!("date({date}, '+{days} days')"),
            Dialect::Postgres => format!("({date} + {days})"),
        }
    }

    /// Returns the summed length in whole milliseconds of the attempts `a` that match `condition`.
    /// SQLite rounds each attempt's length, which is exact for its millisecond-precise times.
    /// PostgreSQL sums the exact intervals and rounds the total.
    fn handle_millis_sum(self, condition: &str) -> String {
        match self {
            Dialect::Sqlite => format!(
                "CAST(COALESCE(SUM(CASE WHEN {condition} THEN \
                 ROUND((julianday(a.ended_at) - julianday(a.started_at)) * 86400000.0) END), 0) AS BIGINT)"
            ),
            Dialect::Postgres => format!(
                "CAST(COALESCE(ROUND(EXTRACT(EPOCH FROM SUM(CASE WHEN {condition} THEN a.ended_at - a.started_at END)) \
                 * 1000), 0) AS BIGINT)"
            ),
        }
    }
}

/// The values bound to a statement, numbered `$1`, `$2`, ... in the order they are bound.
#[derive(Default)]
pub(super) struct Params {
    pub(super) values: Vec<Param>,
}

impl Params {
    /// Adds a value and returns its placeholder.
    pub(super) fn bind(&mut self, value: Param) -> String {
        self.values.push(value);
        format!("${}", self.values.len())
    }
}

/// Renders the statement for `question` over `filter`, with its bound values. It reads the
/// summary [`summary_of`] names, if any, unless `scan` requests the tables.
pub(crate) fn render(question: Question, filter: &KpiFilter, scan: bool, dialect: Dialect) -> (String, Vec<Param>) {
    let mut params = Params::default();
    let summary = if scan { None } else { summary_of(question, filter) };
    let sql = match (question, summary) {
        (Question::Attempts(grouping), Some(_)) => summary::attempts(dialect, filter, grouping, &mut params),
        (Question::Attempts(grouping), None) => attempts(dialect, filter, grouping, &mut params),
        (Question::PromisesMade(grouping), _) => promises_made(dialect, filter, grouping, &mut params),
        (Question::PromiseOutcomes, _) => promise_outcomes(filter, &mut params),
        (Question::Payments, _) => payments(filter, &mut params),
        (Question::Portfolio, Some(_)) => summary::portfolio(dialect, filter, &months_of(filter), &mut params),
        (Question::Portfolio, None) => portfolio(dialect, filter, &mut params),
    };
    (sql, params.values)
}

/// Returns the summary that has the figures of `question` over `filter`. Attempts always have
/// one. The snapshot figures have one unless a campaign or segment narrows the debts.
pub(crate) fn summary_of(question: Question, filter: &KpiFilter) -> Option<Summary> {
    match question {
        Question::Attempts(_) => Some(Summary::AttemptHours),
        Question::Portfolio if !filter.narrows_attempts() => Some(Summary::Portfolio),
        _ => None,
    }
}

/// Returns the result columns of the statement that answers `question`.
pub(crate) fn columns(question: Question) -> &'static [ColumnKind] {
    use ColumnKind::{Integer as I, Text as T};
    match question {
        Question::Attempts(_) => &[T, I, I, I, I, I, I, I, I],
        Question::PromisesMade(_) => &[T, T, I, I],
        Question::PromiseOutcomes => &[T, I, I, I, I, I],
        Question::Payments => &[T, I, I],
        Question::Portfolio => &[T, I, I, T, I, I, I, I, I],
    }
}

/// Returns the aging bucket of a days-past-due expression, as an index into [`AGING_BUCKETS`],
/// or NULL when the expression is NULL.
pub(crate) fn aging_bucket(days_past_due: &str) -> String {
    let last = AGING_BUCKETS.len() - 1;
    let mut case = format!("CASE WHEN {days_past_due} IS NULL THEN NULL");
    for (index, (_, _, upper)) in AGING_BUCKETS.iter().enumerate().take(last) {
        let _ = write!(case, " WHEN {days_past_due} <= {upper} THEN {index}");
    }
    let _ = write!(case, " ELSE {last} END");
    format!("CAST({case} AS BIGINT)")
}

fn where_all(conditions: &[String]) -> String {
    if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    }
}

/// Selects the debts of debtors in `country`.
fn country_debts(country: &str, params: &mut Params) -> String {
    let country = params.bind(Param::Text(country.to_string()));
    format!(
        "SELECT country_debt.id FROM debts AS country_debt \
         JOIN debtors AS country_debtor ON country_debtor.id = country_debt.debtor_id \
         WHERE country_debtor.country = {country}"
    )
}

/// Conditions on an attempt `a`: started in the range, in the filter's campaign and segment.
fn attempt_range_conditions(filter: &KpiFilter, params: &mut Params) -> Vec<String> {
    let mut conditions = vec![
        format!("a.started_at >= {}", params.bind(Param::Instant(filter.start()))),
        format!("a.started_at < {}", params.bind(Param::Instant(filter.end()))),
    ];
    if let Some(campaign) = &filter.campaign {
        conditions.push(format!("a.campaign = {}", params.bind(Param::Text(campaign.clone()))));
    }
    if let Some(segment) = &filter.segment {
        conditions.push(format!("a.segment = {}", params.bind(Param::Text(segment.clone()))));
    }
    conditions
}

/// Conditions on an attempt `a` of the filter, including its debtor's country.
fn attempt_conditions(filter: &KpiFilter, params: &mut Params) -> Vec<String> {
    let mut conditions = attempt_range_conditions(filter, params);
    if let Some(country) = &filter.country {
        let country = params.bind(Param::Text(country.clone()));
        conditions.push(format!(
            "a.debtor_id IN (SELECT country_debtor.id FROM debtors AS country_debtor WHERE country_debtor.country = {country})"
        ));
    }
    conditions
}

/// Conditions on a debt id column for the figures read from payments and snapshots: the debt
/// is of the filter's country and, with a campaign or segment, a matching attempt reached it
/// in the range.
fn debt_conditions(filter: &KpiFilter, debt_id: &str, params: &mut Params) -> Vec<String> {
    let mut conditions = Vec::new();
    if let Some(country) = &filter.country {
        conditions.push(format!("{debt_id} IN ({})", country_debts(country, params)));
    }
    if filter.narrows_attempts() {
        let reached = where_all(&attempt_range_conditions(filter, params));
        conditions.push(format!("{debt_id} IN (SELECT a.debt_id FROM attempts AS a {reached})"));
    }
    conditions
}

/// Returns the label expression, joins and GROUP BY clause of a grouping over the rows of
/// `table` (`a` or `p`), whose instant column is `instant`.
fn grouping_parts(dialect: Dialect, grouping: Grouping, table: &str, instant: &str) -> (String, String, String) {
    match grouping {
        Grouping::Total => ("CAST(NULL AS TEXT)".to_string(), String::new(), String::new()),
        Grouping::Day => (dialect.utc_day(instant), String::new(), "GROUP BY 1".to_string()),
        Grouping::HourOfDay => (dialect.utc_hour(instant), String::new(), "GROUP BY 1".to_string()),
        // An attempt's country is its debtor's. A promise's is its debt's debtor's.
        Grouping::Country if table == "a" => (
            "group_debtor.country".to_string(),
            "JOIN debtors AS group_debtor ON group_debtor.id = a.debtor_id".to_string(),
            "GROUP BY 1".to_string(),
        ),
        Grouping::Country => (
            "group_debtor.country".to_string(),
            format!(
                "JOIN debts AS group_debt ON group_debt.id = {table}.debt_id \
                 JOIN debtors AS group_debtor ON group_debtor.id = group_debt.debtor_id"
            ),
            "GROUP BY 1".to_string(),
        ),
    }
}

fn attempts(dialect: Dialect, filter: &KpiFilter, grouping: Grouping, params: &mut Params) -> String {
    let conditions = where_all(&attempt_conditions(filter, params));
    let (label, joins, group_by) = grouping_parts(dialect, grouping, "a", "a.started_at");
    let counts: Vec<String> = [DIAL, INBOUND_CALL, CONNECT, CONTACT, RIGHT_PARTY_CONTACT, HANDLED]
        .iter()
        .map(|condition| format!("COUNT(CASE WHEN {condition} THEN 1 END)"))
        .collect();
    let handle_millis = dialect.handle_millis_sum(HANDLED);
    let order_by = if group_by.is_empty() { "" } else { "ORDER BY 1" };
    format!(
        "SELECT {label}, {}, {handle_millis}, CAST(COALESCE(SUM(a.cost_micros), 0) AS BIGINT) \
         FROM attempts AS a {joins} {conditions} {group_by} {order_by}",
        counts.join(", ")
    )
}

/// Returns the joins and conditions that narrow promises `p` to the filter's campaign, segment
/// and country. The range condition is the caller's.
fn promise_scope(filter: &KpiFilter, params: &mut Params) -> (String, Vec<String>) {
    let mut conditions = Vec::new();
    let joins =
        if filter.narrows_attempts() { "JOIN attempts AS a ON a.id = p.attempt_id".to_string() } else { String::new() };
    if let Some(campaign) = &filter.campaign {
        conditions.push(format!("a.campaign = {}", params.bind(Param::Text(campaign.clone()))));
    }
    if let Some(segment) = &filter.segment {
        conditions.push(format!("a.segment = {}", params.bind(Param::Text(segment.clone()))));
    }
    if let Some(country) = &filter.country {
        conditions.push(format!("p.debt_id IN ({})", country_debts(country, params)));
    }
    (joins, conditions)
}

fn promises_made(dialect: Dialect, filter: &KpiFilter, grouping: Grouping, params: &mut Params) -> String {
    let mut conditions = vec![
        format!("p.created_at >= {}", params.bind(Param::Instant(filter.start()))),
        format!("p.created_at < {}", params.bind(Param::Instant(filter.end()))),
    ];
    let (scope_joins, scope_conditions) = promise_scope(filter, params);
    conditions.extend(scope_conditions);
    let (label, group_joins, _) = grouping_parts(dialect, grouping, "p", "p.created_at");
    let group_by = if grouping == Grouping::Total { "GROUP BY p.currency" } else { "GROUP BY 1, p.currency" };
    format!(
        "SELECT {label}, p.currency, COUNT(*), CAST(SUM(p.amount_minor) AS BIGINT) \
         FROM promises AS p {scope_joins} {group_joins} {} {group_by} ORDER BY 1, 2",
        where_all(&conditions)
    )
}

fn promise_outcomes(filter: &KpiFilter, params: &mut Params) -> String {
    let mut conditions = vec![
        format!("p.due_date >= {}", params.bind(Param::Day(filter.from))),
        format!("p.due_date <= {}", params.bind(Param::Day(filter.to))),
        PROMISE_SETTLED.to_string(),
    ];
    let (joins, scope_conditions) = promise_scope(filter, params);
    conditions.extend(scope_conditions);
    format!(
        "SELECT p.currency, COUNT(*), COUNT(CASE WHEN {PROMISE_KEPT} THEN 1 END), \
         COUNT(CASE WHEN {PROMISE_BROKEN} THEN 1 END), CAST(SUM(p.kept_minor) AS BIGINT), \
         CAST(SUM(p.amount_minor) AS BIGINT) \
         FROM promises AS p {joins} {} GROUP BY p.currency ORDER BY 1",
        where_all(&conditions)
    )
}

fn payments(filter: &KpiFilter, params: &mut Params) -> String {
    let mut conditions = vec![
        format!("pay.paid_on >= {}", params.bind(Param::Day(filter.from))),
        format!("pay.paid_on <= {}", params.bind(Param::Day(filter.to))),
    ];
    conditions.extend(debt_conditions(filter, "pay.debt_id", params));
    format!(
        "SELECT pay.currency, COUNT(*), CAST(SUM(pay.amount_minor) AS BIGINT) \
         FROM payments AS pay {} GROUP BY pay.currency ORDER BY 1",
        where_all(&conditions)
    )
}

/// Returns a snapshot column's value packed below the snapshot's date, so MAX or MIN over a
/// debt's snapshots picks the latest or first one (see [`SNAPSHOT_PACK`]).
fn packed(dialect: Dialect, column: &str) -> String {
    format!("(CAST({} AS BIGINT) * {SNAPSHOT_PACK} + {column})", dialect.day_number("as_of"))
}

/// Returns the value out of a MAX or MIN of [`packed`] values.
fn unpacked(aggregate: &str) -> String {
    format!("({aggregate} % {SNAPSHOT_PACK})")
}

/// Renders the figures read from debt snapshots in one statement, so the snapshots are read
/// once. The `state` step reduces each debt's snapshots up to the last day to one row: its
/// latest snapshot by the last day and by the first day, its first snapshot (its placement)
/// and its latest snapshot in each month of the range. `portfolio` adds every debt without
/// snapshots, and each figure then aggregates those rows. The rows of the result are tagged
/// with their figure:
///
/// | figure | month | bucket | currency | values |
/// |---|---|---|---|---|
/// | `aging` | | bucket | currency | debts, balance |
/// | `cure` | | | | debts past due at the start, of them current at the end |
/// | `roll` | earlier month | bucket | currency | debts, balance, rolled debts, their later balance |
/// | `recovery` | placement month | | currency | debts, placed, collected within each horizon |
fn portfolio(dialect: Dialect, filter: &KpiFilter, params: &mut Params) -> String {
    let months = months_of(filter);
    let start_day = params.bind(Param::Day(filter.from));
    let days_past_due = packed(dialect, "days_past_due");
    let balance = packed(dialect, "balance_minor");
    let mut state_columns = vec![
        format!("{} AS end_days", unpacked(&format!("MAX({days_past_due})"))),
        format!("{} AS end_balance", unpacked(&format!("MAX({balance})"))),
        format!("{} AS start_days", unpacked(&format!("MAX(CASE WHEN as_of <= {start_day} THEN {days_past_due} END)"))),
        "MIN(as_of) AS placed_on".to_string(),
        format!("{} AS placed_balance", unpacked(&format!("MIN({balance})"))),
    ];
    for (index, month) in months.iter().enumerate() {
        let within = format!(
            "as_of >= {} AND as_of <= {}",
            params.bind(Param::Day(month.first_day())),
            params.bind(Param::Day(month.last_day()))
        );
        state_columns.push(format!(
            "{} AS days_{index}",
            unpacked(&format!("MAX(CASE WHEN {within} THEN {days_past_due} END)"))
        ));
        state_columns
            .push(format!("{} AS balance_{index}", unpacked(&format!("MAX(CASE WHEN {within} THEN {balance} END)"))));
    }
    let mut state_conditions = vec![format!("as_of <= {}", params.bind(Param::Day(filter.to)))];
    state_conditions.extend(debt_conditions(filter, "debt_id", params));
    let monthly_columns: Vec<String> =
        (0..months.len()).map(|index| format!("state.days_{index}, state.balance_{index}")).collect();
    let portfolio_conditions = where_all(&debt_conditions(filter, "debt.id", params));

    let mut figures = vec![aging_rows(), cure_rows()];
    for (index, month) in months.iter().enumerate().take(months.len().saturating_sub(1)) {
        figures.push(roll_rows(*month, index));
    }
    figures.push(recovery_rows(dialect));
    let cohort_start = params.bind(Param::Day(months[0].first_day()));
    let last_day = params.bind(Param::Day(filter.to));
    let within: Vec<String> = RECOVERY_HORIZON_DAYS
        .iter()
        .map(|days| {
            let horizon_end = dialect.plus_days("cohort.placed_on", *days);
            format!("SUM(CASE WHEN pay.paid_on < {horizon_end} THEN pay.amount_minor ELSE 0 END) AS within_{days}")
        })
        .collect();

    format!(
        "WITH state AS (SELECT debt_id, {} FROM debt_snapshots {} GROUP BY debt_id), \
         portfolio AS MATERIALIZED (\
           SELECT debt.id AS debt_id, debt.currency, \
                  COALESCE(state.end_days, debt.days_past_due) AS aging_days, \
                  COALESCE(state.end_balance, debt.balance_minor) AS aging_balance, \
                  state.end_days, state.start_days, state.placed_on, state.placed_balance{} \
           FROM debts AS debt LEFT JOIN state ON state.debt_id = debt.id {portfolio_conditions}), \
         cohort AS (\
           SELECT debt_id, currency, placed_on, placed_balance FROM portfolio WHERE placed_on >= {cohort_start}), \
         collected AS (\
           SELECT cohort.debt_id, {} \
           FROM cohort JOIN payments AS pay ON pay.debt_id = cohort.debt_id AND pay.currency = cohort.currency \
           WHERE pay.paid_on >= cohort.placed_on AND pay.paid_on <= {last_day} \
           GROUP BY cohort.debt_id) \
         {}",
        state_columns.join(", "),
        where_all(&state_conditions),
        monthly_columns.iter().map(|columns| format!(", {columns}")).collect::<String>(),
        within.join(", "),
        figures.join(" UNION ALL ")
    )
}

/// Lists the calendar months from the first day's to the last day's.
fn months_of(filter: &KpiFilter) -> Vec<Month> {
    let mut months = vec![Month::of(filter.from)];
    while months[months.len() - 1] < Month::of(filter.to) {
        months.push(months[months.len() - 1].next());
    }
    months
}

/// Counts the debts and their balance per aging bucket and currency at the last day, from
/// the latest snapshot or else the debts table.
fn aging_rows() -> String {
    format!(
        "SELECT 'aging', CAST(NULL AS BIGINT), {}, currency, COUNT(*), CAST(SUM(aging_balance) AS BIGINT), 0, 0, 0 \
         FROM portfolio GROUP BY 3, 4",
        aging_bucket("aging_days")
    )
}

/// Counts the debts past due in their latest snapshot by the first day, and those of them with
/// no days past due in their latest snapshot by the last day.
fn cure_rows() -> String {
    "SELECT 'cure', CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), CAST(NULL AS TEXT), COUNT(*), \
     COUNT(CASE WHEN end_days = 0 THEN 1 END), 0, 0, 0 FROM portfolio WHERE start_days > 0"
        .to_string()
}

/// Counts the debts per aging bucket and currency in `month` (the `index`th of the range), and
/// those of them one bucket later in the next month, with their balances.
fn roll_rows(month: Month, index: usize) -> String {
    let earlier = aging_bucket(&format!("days_{index}"));
    let later = aging_bucket(&format!("days_{}", index + 1));
    let rolled = format!("{later} = {earlier} + 1");
    format!(
        "SELECT 'roll', CAST({} AS BIGINT), {earlier}, currency, COUNT(*), CAST(SUM(balance_{index}) AS BIGINT), \
         COUNT(CASE WHEN {rolled} THEN 1 END), \
         CAST(COALESCE(SUM(CASE WHEN {rolled} THEN balance_{} END), 0) AS BIGINT), 0 \
         FROM portfolio WHERE days_{index} IS NOT NULL AND {earlier} < {} GROUP BY 3, 4",
        month.index(),
        index + 1,
        AGING_BUCKETS.len() - 1
    )
}

/// Counts the debts placed in each month of the range per currency, their balance at
/// placement and the payments within each horizon.
fn recovery_rows(dialect: Dialect) -> String {
    let collected: Vec<String> = RECOVERY_HORIZON_DAYS
        .iter()
        .map(|days| format!("CAST(COALESCE(SUM(collected.within_{days}), 0) AS BIGINT)"))
        .collect();
    format!(
        "SELECT 'recovery', {}, CAST(NULL AS BIGINT), cohort.currency, COUNT(*), \
         CAST(SUM(cohort.placed_balance) AS BIGINT), {} \
         FROM cohort LEFT JOIN collected ON collected.debt_id = cohort.debt_id GROUP BY 2, 4",
        dialect.month_index("cohort.placed_on"),
        collected.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collections::model::Disposition;

    /// Returns the quoted words of a SQL fragment.
    fn quoted(fragment: &str) -> Vec<&str> {
        fragment.split('\'').skip(1).step_by(2).collect()
    }

    #[test]
    fn contact_names_stored_dispositions() {
        let names = quoted(CONTACT);
        assert_eq!(names, ["no_response", "voicemail_left", "technical_failure", "hung_up"]);
        for name in names {
            assert_eq!(name.parse::<Disposition>().map(Disposition::as_str), Ok(name));
        }
    }

    #[test]
    fn aging_buckets_are_contiguous() {
        assert_eq!(AGING_BUCKETS[0].1, 0);
        for pair in AGING_BUCKETS.windows(2) {
            assert_eq!(pair[1].1, pair[0].2 + 1, "{} follows {}", pair[1].0, pair[0].0);
        }
        assert_eq!(AGING_BUCKETS[AGING_BUCKETS.len() - 1].2, u32::MAX);
    }

    #[test]
    fn aging_bucket_case_uses_upper_bounds() {
        assert_eq!(
            aging_bucket("x"),
            "CAST(CASE WHEN x IS NULL THEN NULL WHEN x <= 0 THEN 0 WHEN x <= 30 THEN 1 WHEN x <= 60 THEN 2 WHEN x <= 90 THEN 3 \
             WHEN x <= 120 THEN 4 WHEN x <= 150 THEN 5 WHEN x <= 180 THEN 6 ELSE 7 END AS BIGINT)"
        );
    }

    #[test]
    fn placeholders_follow_bound_values() {
        let filter = KpiFilter {
            campaign: Some("spring".into()),
            country: Some("MX".into()),
            ..KpiFilter::days(
                chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
                chrono::NaiveDate::from_ymd_opt(2026, 3, 31).unwrap(),
            )
        };
        for question in [
            Question::Attempts(Grouping::Day),
            Question::PromisesMade(Grouping::Country),
            Question::PromiseOutcomes,
            Question::Payments,
            Question::Portfolio,
        ] {
            for (dialect, scan) in
                [Dialect::Sqlite, Dialect::Postgres].into_iter().flat_map(|d| [(d, false), (d, true)])
            {
                let (sql, params) = render(question, &filter, scan, dialect);
                for number in 1..=params.len() {
                    assert!(sql.contains(&format!("${number}")), "{question:?} lacks ${number}: {sql}");
                }
                assert!(!sql.contains(&format!("${}", params.len() + 1)), "{question:?}: {sql}");
            }
        }
    }

    #[test]
    fn summary_choice_by_filter() {
        let days = KpiFilter::days(
            chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
            chrono::NaiveDate::from_ymd_opt(2026, 3, 31).unwrap(),
        );
        let in_country = KpiFilter { country: Some("CO".into()), ..days.clone() };
        let in_segment = KpiFilter { segment: Some("late".into()), ..days.clone() };
        assert_eq!(summary_of(Question::Attempts(Grouping::Day), &in_segment), Some(Summary::AttemptHours));
        assert_eq!(summary_of(Question::Portfolio, &in_country), Some(Summary::Portfolio));
        assert_eq!(summary_of(Question::Portfolio, &in_segment), None);
        assert_eq!(summary_of(Question::Payments, &days), None);
        let (sql, _) = render(Question::Portfolio, &in_country, false, Dialect::Postgres);
        assert!(sql.contains("FROM kpi_aging_changes"), "{sql}");
        assert!(!sql.contains("debt_snapshots"), "{sql}");
        let (sql, _) = render(Question::Portfolio, &in_country, true, Dialect::Postgres);
        assert!(sql.contains("FROM debt_snapshots"), "{sql}");
        assert!(!sql.contains("kpi_"), "{sql}");
    }

    #[test]
    fn dialects_differ_only_in_dates() {
        let filter = KpiFilter::days(
            chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
            chrono::NaiveDate::from_ymd_opt(2026, 3, 31).unwrap(),
        );
        let (sqlite, _) = render(Question::PromiseOutcomes, &filter, false, Dialect::Sqlite);
        let (postgres, _) = render(Question::PromiseOutcomes, &filter, false, Dialect::Postgres);
        assert_eq!(sqlite, postgres);
    }
}
