//! The KPI summaries: attempts counted per hour, and the snapshot figures reduced to a few rows
//! per day or month, so a report reads thousands of rows instead of every attempt and snapshot.
//!
//! Triggers (migration 0010) mark what changed: the hours of changed attempts, and the whole
//! portfolio when a snapshot, payment, debt or debtor's country changes. Before a statement
//! reads a summary, its backend takes the marks and counts those hours again
//! ([`AttemptHoursRefresh`]) or rebuilds the portfolio summaries ([`PortfolioRefresh`]). So a
//! report after a day of calls counts a few hours again, and the imports rebuild the portfolio
//! summaries before they exit.
//!
//! Every summary counts by the conditions of [`super::sql`], and for every filter without a
//! campaign or segment a summary gives the same rows as the statement that scans the tables
//! (tests/kpi_summaries.rs compares them). A campaign or segment narrows the debts to those its
//! attempts reached, which no summary can know, so such reports scan.

use chrono::{DateTime, Duration, NaiveTime, Timelike, Utc};

use super::compliance::ComplianceFilter;
use super::sql::{
    aging_bucket, Dialect, Params, CONNECT, CONTACT, DIAL, HANDLED, INBOUND_CALL, RECOVERY_HORIZON_DAYS,
    RIGHT_PARTY_CONTACT,
};
use super::store::{Grouping, KpiFilter, Month, Param};
use super::AGING_BUCKETS;

/// A summary a KPI statement reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Summary {
    /// `kpi_attempt_hours`.
    AttemptHours,
    /// `kpi_aging_changes`, `kpi_past_due_spells`, `kpi_cures`, `kpi_roll_months`,
    /// `kpi_roll_steps`, `kpi_placements` and `kpi_placement_payments`.
    Portfolio,
}

/// The statements that rebuild the portfolio summaries, run in one transaction in this order.
pub struct PortfolioRefresh {
    /// Returns one row: whether the portfolio is marked. It runs before the transaction, so a
    /// report on an unchanged store only reads an empty table.
    pub any_marked: &'static str,
    /// Key of the PostgreSQL advisory lock that lets one refresh of this summary run at a time.
    pub lock_key: i64,
    /// Takes the marks and returns their number in one row. With none, the refresh stops.
    pub take_marks: String,
    /// Rebuilds every portfolio summary.
    pub rebuild: Vec<String>,
}

impl Dialect {
    /// Returns the expression of the UTC hour an instant column falls in, as the summary stores
    /// it: a TIMESTAMPTZ on PostgreSQL, `YYYY-MM-DDTHH` text on SQLite.
    fn hour_of(self, instant: &str) -> String {
        match self {
            Dialect::Sqlite => format!("substr({instant}, 1, 13)"),
            Dialect::Postgres => format!("date_trunc('hour', {instant}, 'UTC')"),
        }
    }

    /// Returns the UTC date of an instant column: a DATE on PostgreSQL, `YYYY-MM-DD` text on
    /// SQLite.
    fn utc_date(self, instant: &str) -> String {
        match self {
            Dialect::Sqlite => format!("substr({instant}, 1, 10)"),
            Dialect::Postgres => format!("CAST({instant} AT TIME ZONE 'UTC' AS DATE)"),
        }
    }

    /// Returns the exact summed length in microseconds of the attempts `a` that match
    /// `condition`. SQLite rounds each length to the millisecond first, as its scan does.
    fn handle_micros_sum(self, condition: &str) -> String {
        match self {
            Dialect::Sqlite => format!(
                "CAST(COALESCE(SUM(CASE WHEN {condition} THEN \
                 ROUND((julianday(a.ended_at) - julianday(a.started_at)) * 86400000.0) END), 0) AS INTEGER) * 1000"
            ),
            Dialect::Postgres => format!(
                "CAST(COALESCE(EXTRACT(EPOCH FROM SUM(CASE WHEN {condition} THEN a.ended_at - a.started_at END)) \
                 * 1000000, 0) AS BIGINT)"
            ),
        }
    }

    /// Qualifies a temporary table's name.
    fn temporary(self, table: &str) -> String {
        match self {
            Dialect::Sqlite => format!("temp.{table}"),
            Dialect::Postgres => format!("pg_temp.{table}"),
        }
    }

    /// Creates an index on a temporary table.
    fn temporary_index(self, name: &str, table: &str, columns: &str) -> String {
        match self {
            Dialect::Sqlite => format!("CREATE INDEX temp.{name} ON {table} ({columns})"),
            Dialect::Postgres => format!("CREATE INDEX {name} ON pg_temp.{table} ({columns})"),
        }
    }

    /// Returns the date literal before every stored date, from which a debt's own figures
    /// count.
    fn first_day(self) -> &'static str {
        match self {
            Dialect::Sqlite => "'1900-01-01'",
            Dialect::Postgres => "DATE '1900-01-01'",
        }
    }
}

const ATTEMPT_HOURS_LOCK: i64 = 0x6b70_6901;
const PORTFOLIO_LOCK: i64 = 0x6b70_6902;

/// The statements that count marked hours of attempts again. The backend takes the marked
/// hours, merges adjacent ones into ranges and counts each range in one statement, with its
/// bounds bound as [`Param::Hour`] (`$1` and `$2`). So the planner estimates each range from
/// its bounds: a few hours search the index of `attempts`, and every hour scans the table.
pub struct AttemptHoursRefresh {
    /// Returns one row: whether any hour is marked.
    pub any_marked: &'static str,
    pub lock_key: i64,
    /// Takes the marks and returns the distinct marked hours in order, one per row.
    pub take_marks: &'static str,
    /// Deletes the marks `take_marks` read, where taking them does not.
    pub clear_marks: Option<&'static str>,
    /// Delete the counts of the hours in [$1, $2), then count the attempts that started in
    /// [$1, $2) again.
    pub range_statements: Vec<String>,
}

pub fn attempt_hours_refresh(dialect: Dialect) -> AttemptHoursRefresh {
    let (take_marks, clear_marks) = match dialect {
        // Deletes only the marks it reads: a writer's mark committed later stays.
        Dialect::Postgres => (
            "WITH marked AS (DELETE FROM kpi_attempt_marks RETURNING hour) SELECT DISTINCT hour FROM marked ORDER BY hour",
            None,
        ),
        // SQLite has one writer, and the refresh holds the write lock throughout.
        Dialect::Sqlite => ("SELECT hour FROM kpi_attempt_marks ORDER BY hour", Some("DELETE FROM kpi_attempt_marks")),
    };
    let counts: Vec<String> = [DIAL, INBOUND_CALL, CONNECT, CONTACT, RIGHT_PARTY_CONTACT, HANDLED]
        .iter()
        .map(|condition| format!("COUNT(CASE WHEN {condition} THEN 1 END)"))
        .collect();
    let hour = dialect.hour_of("a.started_at");
    let count_hours = format!(
        "INSERT INTO kpi_attempt_hours (hour, campaign, segment, country, dials, inbound_calls, connects, contacts, \
           right_party_contacts, handled_calls, handle_micros, cost_micros, outside_window, over_cap) \
         SELECT {hour}, a.campaign, a.segment, debtor.country, {}, {}, COALESCE(SUM(a.cost_micros), 0), \
                COUNT(CASE WHEN {DIAL} AND a.outside_window THEN 1 END), COUNT(CASE WHEN {DIAL} AND a.over_cap THEN 1 END) \
         FROM attempts AS a JOIN debtors AS debtor ON debtor.id = a.debtor_id \
         WHERE a.started_at >= $1 AND a.started_at < $2 \
         GROUP BY {hour}, a.campaign, a.segment, debtor.country",
        counts.join(", "),
        dialect.handle_micros_sum(HANDLED),
    );
    // Each outbound attempt with the start of its debt's previous one: the one before it in the
    // range, or else the debt's last before the range.
    let ranged_hour = dialect.hour_of("ranged.started_at");
    let previous_day = dialect.utc_date("ranged.previous_at");
    let count_firsts = format!(
        "INSERT INTO kpi_debt_firsts (hour, country, previous_day, attempts) \
         SELECT {ranged_hour}, debtor.country, {previous_day}, COUNT(*) FROM (\
           SELECT a.debtor_id, a.started_at, \
                  COALESCE(LAG(a.started_at) OVER (PARTITION BY a.debt_id ORDER BY a.started_at, a.id), \
                           (SELECT MAX(earlier.started_at) FROM attempts AS earlier \
                            WHERE earlier.debt_id = a.debt_id AND earlier.direction = 'outbound' \
                            AND earlier.started_at < $1)) AS previous_at \
           FROM attempts AS a WHERE {DIAL} AND a.started_at >= $1 AND a.started_at < $2\
         ) AS ranged JOIN debtors AS debtor ON debtor.id = ranged.debtor_id \
         WHERE ranged.previous_at IS NULL OR {previous_day} < {} \
         GROUP BY {ranged_hour}, debtor.country, {previous_day}",
        dialect.utc_date("ranged.started_at"),
    );
    AttemptHoursRefresh {
        any_marked: "SELECT EXISTS (SELECT 1 FROM kpi_attempt_marks)",
        lock_key: ATTEMPT_HOURS_LOCK,
        take_marks,
        clear_marks,
        range_statements: vec![
            "DELETE FROM kpi_attempt_hours WHERE hour >= $1 AND hour < $2".to_string(),
            "DELETE FROM kpi_debt_firsts WHERE hour >= $1 AND hour < $2".to_string(),
            count_hours,
            count_firsts,
        ],
    }
}

/// Merges hours, in order, into ranges of adjacent hours, each as its first hour and the hour
/// after its last.
pub fn hour_ranges(hours: &[DateTime<Utc>]) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let mut ranges: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::new();
    for &hour in hours {
        let end = hour + Duration::hours(1);
        match ranges.last_mut() {
            Some(last) if last.1 >= hour => last.1 = last.1.max(end),
            _ => ranges.push((hour, end)),
        }
    }
    ranges
}

/// The tables the portfolio refresh rebuilds.
const PORTFOLIO_TABLES: [&str; 7] = [
    "kpi_aging_changes",
    "kpi_past_due_spells",
    "kpi_cures",
    "kpi_roll_months",
    "kpi_roll_steps",
    "kpi_placements",
    "kpi_placement_payments",
];

pub fn portfolio_refresh(dialect: Dialect) -> PortfolioRefresh {
    let timeline = dialect.temporary("kpi_refresh_timeline");
    let spells = dialect.temporary("kpi_refresh_spells");
    let (take_marks, mut rebuild) = match dialect {
        Dialect::Postgres => (
            "WITH marked AS (DELETE FROM kpi_portfolio_marks RETURNING 1) SELECT COUNT(*) FROM marked".to_string(),
            vec![],
        ),
        Dialect::Sqlite => (
            "SELECT COUNT(*) FROM kpi_portfolio_marks".to_string(),
            vec!["DELETE FROM kpi_portfolio_marks".to_string()],
        ),
    };
    let late = "CASE WHEN s.days_past_due > 0 THEN 1 ELSE 0 END";
    rebuild.push(format!("DROP TABLE IF EXISTS {timeline}"));
    rebuild.push(format!("DROP TABLE IF EXISTS {spells}"));
    // Every snapshot with its debt's currency, its debtor's country, the debt's own figures and
    // its neighbours among the debt's snapshots.
    rebuild.push(format!(
        "CREATE TEMP TABLE kpi_refresh_timeline AS \
         SELECT s.debt_id, s.as_of, s.days_past_due AS days, s.balance_minor AS balance, \
                debt.currency, debtor.country, debt.days_past_due AS debt_days, debt.balance_minor AS debt_balance, \
                {} AS month, LAG(s.as_of) OVER w AS previous_as_of, LEAD(s.as_of) OVER w AS next_as_of, \
                {} AS next_month, {late} AS late, LAG({late}) OVER w AS previous_late \
         FROM debt_snapshots AS s \
         JOIN debts AS debt ON debt.id = s.debt_id \
         JOIN debtors AS debtor ON debtor.id = debt.debtor_id \
         WINDOW w AS (PARTITION BY s.debt_id ORDER BY s.as_of)",
        dialect.month_index("s.as_of"),
        dialect.month_index("LEAD(s.as_of) OVER w"),
    ));
    rebuild.push(dialect.temporary_index("kpi_refresh_timeline_debt", "kpi_refresh_timeline", "debt_id, month"));
    // Runs of consecutive snapshots that are all past due or all current.
    rebuild.push(format!(
        "CREATE TEMP TABLE kpi_refresh_spells AS \
         SELECT debt_id, country, late, as_of AS starts, LEAD(as_of) OVER (PARTITION BY debt_id ORDER BY as_of) AS ends \
         FROM {timeline} WHERE previous_late IS NULL OR previous_late <> late"
    ));
    rebuild.push(dialect.temporary_index("kpi_refresh_spells_debt", "kpi_refresh_spells", "debt_id"));
    if dialect == Dialect::Postgres {
        rebuild.push(format!("ANALYZE {timeline}"));
        rebuild.push(format!("ANALYZE {spells}"));
    }
    rebuild.extend(PORTFOLIO_TABLES.iter().map(|table| format!("DELETE FROM {table}")));

    let bucket = aging_bucket("days");
    let debt_bucket = aging_bucket("debt.days_past_due");
    let own_bucket = aging_bucket("debt_days");
    rebuild.push(format!(
        "INSERT INTO kpi_aging_changes (day, country, currency, bucket, debts, balance_minor) \
         SELECT day, country, currency, bucket, SUM(debts), SUM(balance) FROM (\
           SELECT as_of AS day, country, currency, {bucket} AS bucket, 1 AS debts, balance FROM {timeline} \
           UNION ALL \
           SELECT next_as_of, country, currency, {bucket}, -1, -balance FROM {timeline} WHERE next_as_of IS NOT NULL \
           UNION ALL \
           SELECT {}, debtor.country, debt.currency, {debt_bucket}, 1, debt.balance_minor \
           FROM debts AS debt JOIN debtors AS debtor ON debtor.id = debt.debtor_id \
           UNION ALL \
           SELECT as_of, country, currency, {own_bucket}, -1, -debt_balance FROM {timeline} WHERE previous_as_of IS NULL\
         ) AS changes \
         GROUP BY day, country, currency, bucket HAVING SUM(debts) <> 0 OR SUM(balance) <> 0",
        dialect.first_day()
    ));
    rebuild.push(format!(
        "INSERT INTO kpi_past_due_spells (starts, ends, country, debts) \
         SELECT starts, ends, country, COUNT(*) FROM {spells} WHERE late = 1 GROUP BY starts, ends, country"
    ));
    rebuild.push(format!(
        "INSERT INTO kpi_cures (past_due_starts, past_due_ends, current_starts, current_ends, country, debts) \
         SELECT p.starts, p.ends, c.starts, c.ends, p.country, COUNT(*) \
         FROM {spells} AS p JOIN {spells} AS c ON c.debt_id = p.debt_id AND c.starts >= p.ends \
         WHERE p.late = 1 AND c.late = 0 \
         GROUP BY p.starts, p.ends, c.starts, c.ends, p.country"
    ));
    let last_bucket = AGING_BUCKETS.len() - 1;
    let month_latest = "(next_month IS NULL OR next_month <> month)";
    rebuild.push(format!(
        "INSERT INTO kpi_roll_months (month, country, currency, bucket, debts, balance_minor) \
         SELECT month, country, currency, {bucket}, COUNT(*), SUM(balance) FROM {timeline} \
         WHERE {month_latest} AND {bucket} < {last_bucket} \
         GROUP BY month, country, currency, {bucket}"
    ));
    let earlier = aging_bucket("l.days");
    let later = aging_bucket("s.days");
    let next_ends = "CASE WHEN s.next_month = s.month THEN s.next_as_of END";
    rebuild.push(format!(
        "INSERT INTO kpi_roll_steps (month, country, currency, bucket, next_starts, next_ends, debts, next_balance_minor) \
         SELECT l.month, l.country, l.currency, {earlier}, s.as_of, {next_ends}, COUNT(*), SUM(s.balance) \
         FROM {timeline} AS l JOIN {timeline} AS s ON s.debt_id = l.debt_id AND s.month = l.month + 1 \
         WHERE (l.next_month IS NULL OR l.next_month <> l.month) AND {later} = {earlier} + 1 \
         GROUP BY l.month, l.country, l.currency, {earlier}, s.as_of, {next_ends}"
    ));
    rebuild.push(format!(
        "INSERT INTO kpi_placements (placed_on, country, currency, debts, placed_minor) \
         SELECT as_of, country, currency, COUNT(*), SUM(balance) FROM {timeline} WHERE previous_as_of IS NULL \
         GROUP BY as_of, country, currency"
    ));
    rebuild.push(format!(
        "INSERT INTO kpi_placement_payments (placed_on, paid_on, country, currency, amount_minor) \
         SELECT t.as_of, pay.paid_on, t.country, t.currency, SUM(pay.amount_minor) \
         FROM {timeline} AS t \
         JOIN payments AS pay ON pay.debt_id = t.debt_id AND pay.currency = t.currency AND pay.paid_on >= t.as_of \
         WHERE t.previous_as_of IS NULL \
         GROUP BY t.as_of, pay.paid_on, t.country, t.currency"
    ));
    rebuild.push(format!("DROP TABLE {timeline}"));
    rebuild.push(format!("DROP TABLE {spells}"));
    PortfolioRefresh {
        any_marked: "SELECT EXISTS (SELECT 1 FROM kpi_portfolio_marks)",
        lock_key: PORTFOLIO_LOCK,
        take_marks,
        rebuild,
    }
}

/// Returns ` AND country = $n` for the filter's country, or nothing.
fn country_condition(filter: &KpiFilter, params: &mut Params) -> String {
    match &filter.country {
        Some(country) => format!(" AND country = {}", params.bind(Param::Text(country.clone()))),
        None => String::new(),
    }
}

/// Renders the attempt counts of [`super::sql`]'s attempts statement from `kpi_attempt_hours`.
pub(super) fn attempts(dialect: Dialect, filter: &KpiFilter, grouping: Grouping, params: &mut Params) -> String {
    let mut conditions = vec![
        format!("h.hour >= {}", params.bind(Param::Hour(filter.start()))),
        format!("h.hour < {}", params.bind(Param::Hour(filter.end()))),
    ];
    if let Some(campaign) = &filter.campaign {
        conditions.push(format!("h.campaign = {}", params.bind(Param::Text(campaign.clone()))));
    }
    if let Some(segment) = &filter.segment {
        conditions.push(format!("h.segment = {}", params.bind(Param::Text(segment.clone()))));
    }
    if let Some(country) = &filter.country {
        conditions.push(format!("h.country = {}", params.bind(Param::Text(country.clone()))));
    }
    let (label, group_by) = match grouping {
        Grouping::Total => ("CAST(NULL AS TEXT)".to_string(), ""),
        Grouping::Day => (dialect.utc_day("h.hour"), "GROUP BY 1 ORDER BY 1"),
        Grouping::HourOfDay => (dialect.utc_hour("h.hour"), "GROUP BY 1 ORDER BY 1"),
        Grouping::Country => ("h.country".to_string(), "GROUP BY 1 ORDER BY 1"),
    };
    let sums: Vec<String> = ["dials", "inbound_calls", "connects", "contacts", "right_party_contacts", "handled_calls"]
        .iter()
        .map(|column| format!("CAST(COALESCE(SUM(h.{column}), 0) AS BIGINT)"))
        .collect();
    format!(
        "SELECT {label}, {}, CAST(COALESCE(ROUND(SUM(h.handle_micros) / 1000.0), 0) AS BIGINT), \
         CAST(COALESCE(SUM(h.cost_micros), 0) AS BIGINT) \
         FROM kpi_attempt_hours AS h WHERE {} {group_by}",
        sums.join(", "),
        conditions.join(" AND ")
    )
}

/// Renders the rows of [`super::sql`]'s portfolio statement (aging, cure, roll and recovery,
/// tagged alike) from the portfolio summaries. The filter has no campaign or segment.
pub(super) fn portfolio(dialect: Dialect, filter: &KpiFilter, months: &[Month], params: &mut Params) -> String {
    let first_day = params.bind(Param::Day(filter.from));
    let last_day = params.bind(Param::Day(filter.to));
    let mut country = || country_condition(filter, params);

    let aging = format!(
        "SELECT 'aging', CAST(NULL AS BIGINT), bucket, currency, CAST(SUM(debts) AS BIGINT), \
         CAST(SUM(balance_minor) AS BIGINT), 0, 0, 0 \
         FROM kpi_aging_changes WHERE day <= {last_day}{} GROUP BY bucket, currency HAVING SUM(debts) > 0",
        country()
    );
    let cure = format!(
        "SELECT 'cure', CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), CAST(NULL AS TEXT), \
         (SELECT CAST(COALESCE(SUM(debts), 0) AS BIGINT) FROM kpi_past_due_spells \
          WHERE starts <= {first_day} AND (ends IS NULL OR ends > {first_day}){}), \
         (SELECT CAST(COALESCE(SUM(debts), 0) AS BIGINT) FROM kpi_cures \
          WHERE past_due_starts <= {first_day} AND past_due_ends > {first_day} \
          AND current_starts <= {last_day} AND (current_ends IS NULL OR current_ends > {last_day}){}), 0, 0, 0",
        country(),
        country()
    );
    let first_month = months[0].index();
    let last_month = months[months.len() - 1].index();
    let roll = format!(
        "SELECT 'roll', month, bucket, currency, CAST(SUM(debts) AS BIGINT), CAST(SUM(balance) AS BIGINT), \
         CAST(SUM(rolled) AS BIGINT), CAST(SUM(rolled_balance) AS BIGINT), 0 FROM (\
           SELECT month, bucket, currency, debts, balance_minor AS balance, 0 AS rolled, 0 AS rolled_balance \
           FROM kpi_roll_months WHERE month >= {first_month} AND month < {last_month}{} \
           UNION ALL \
           SELECT month, bucket, currency, 0, 0, debts, next_balance_minor FROM kpi_roll_steps \
           WHERE month >= {first_month} AND month < {last_month} \
           AND next_starts <= {last_day} AND (next_ends IS NULL OR next_ends > {last_day}){}\
         ) AS roll GROUP BY month, bucket, currency HAVING SUM(debts) > 0",
        country(),
        country()
    );
    let cohort_start = params.bind(Param::Day(months[0].first_day()));
    let mut country = || country_condition(filter, params);
    let placed = format!("placed_on >= {cohort_start} AND placed_on <= {last_day}");
    let zero_horizons: Vec<String> = RECOVERY_HORIZON_DAYS.iter().map(|days| format!("0 AS within_{days}")).collect();
    let horizons: Vec<String> = RECOVERY_HORIZON_DAYS
        .iter()
        .map(|days| {
            format!("CASE WHEN paid_on < {} THEN amount_minor ELSE 0 END", dialect.plus_days("placed_on", *days))
        })
        .collect();
    let horizon_sums: Vec<String> =
        RECOVERY_HORIZON_DAYS.iter().map(|days| format!("CAST(SUM(within_{days}) AS BIGINT)")).collect();
    let month = dialect.month_index("placed_on");
    let recovery = format!(
        "SELECT 'recovery', month, CAST(NULL AS BIGINT), currency, CAST(SUM(debts) AS BIGINT), \
         CAST(SUM(placed) AS BIGINT), {} FROM (\
           SELECT {month} AS month, currency, debts, placed_minor AS placed, {} \
           FROM kpi_placements WHERE {placed}{} \
           UNION ALL \
           SELECT {month}, currency, 0, 0, {} FROM kpi_placement_payments \
           WHERE {placed} AND paid_on <= {last_day}{}\
         ) AS recovery GROUP BY month, currency",
        horizon_sums.join(", "),
        zero_horizons.join(", "),
        country(),
        horizons.join(", "),
        country()
    );
    format!("{aging} UNION ALL {cure} UNION ALL {roll} UNION ALL {recovery} ORDER BY 1, 2, 3, 4")
}

/// Renders the compliance check's counts of outbound attempts (`outbound_attempts`,
/// `outside_window`, `cap_breaches` and `debts_attempted`) from the summaries, with its bound
/// values. Returns `None` when the filter needs the attempts themselves: with a campaign or
/// segment, or a range that does not start at a UTC midnight and end on a UTC hour.
pub fn compliance_counts(filter: &ComplianceFilter) -> Option<(String, Vec<Param>)> {
    let midnight = filter.from.time() == NaiveTime::MIN;
    let on_the_hour = filter.to.minute() == 0 && filter.to.second() == 0 && filter.to.nanosecond() == 0;
    if filter.campaign.is_some() || filter.segment.is_some() || !midnight || !on_the_hour {
        return None;
    }
    let mut params = Params::default();
    let from = params.bind(Param::Hour(filter.from));
    let to = params.bind(Param::Hour(filter.to));
    let first_day = params.bind(Param::Day(filter.from.date_naive()));
    let (hours_country, firsts_country) = match filter.country_code() {
        Some(country) => {
            let country = params.bind(Param::Text(country));
            (format!(" AND h.country = {country}"), format!(" AND f.country = {country}"))
        }
        None => (String::new(), String::new()),
    };
    let sql = format!(
        "SELECT CAST(COALESCE(SUM(h.dials), 0) AS BIGINT) AS outbound_attempts, \
                CAST(COALESCE(SUM(h.outside_window), 0) AS BIGINT) AS outside_window, \
                CAST(COALESCE(SUM(h.over_cap), 0) AS BIGINT) AS cap_breaches, \
                (SELECT CAST(COALESCE(SUM(f.attempts), 0) AS BIGINT) FROM kpi_debt_firsts AS f \
                 WHERE f.hour >= {from} AND f.hour < {to} \
                 AND (f.previous_day IS NULL OR f.previous_day < {first_day}){firsts_country}) AS debts_attempted \
         FROM kpi_attempt_hours AS h WHERE h.hour >= {from} AND h.hour < {to}{hours_country}"
    );
    Some((sql, params.values))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn hour(day: u32, hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, day, hour, 0, 0).unwrap()
    }

    #[test]
    fn adjacent_hours_merge_into_one_range() {
        let hours = [hour(30, 22), hour(30, 23), hour(31, 0), hour(31, 2), hour(31, 2), hour(31, 5)];
        assert_eq!(
            hour_ranges(&hours),
            [(hour(30, 22), hour(31, 1)), (hour(31, 2), hour(31, 3)), (hour(31, 5), hour(31, 6))]
        );
        assert_eq!(hour_ranges(&[]), []);
    }
}
