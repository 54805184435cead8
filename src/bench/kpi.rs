//! `cobranza bench kpi`: seeds a store with synthetic history and times the KPI report over it.
//!
//! On PostgreSQL the store lives in the schema `bench_kpi`, which each run drops and recreates
//! (no other schema is touched). On SQLite it is a new file. The seed (see [`super::kpi_seed`])
//! runs as SQL inside the database, then the tables are vacuumed and analysed. The compliance
//! check then flags the new attempts, and the KPI summaries are rebuilt from every row, each
//! timed. The full-range report (as `cobranza kpi` prints it, with the compliance counters) and
//! a report of the last 30 days each run once to warm the caches, then `runs` times, and the
//! bench reports the median. Further runs time each query alone, the same figures read by
//! scanning the tables, and a report right after one more hour of calls.

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::time::Instant;

use anyhow::Context as _;
use chrono::NaiveDate;
use sqlx::{Connection, Executor};
use tracing::info;

use super::kpi_seed::{postgres_statements, sqlite_statements};
use crate::collections::postgres::PostgresStore;
use crate::collections::sqlite::SqliteStore;
use crate::collections::{is_postgres_url, Store};
use crate::config::Config;
use crate::kpi::compliance::{compliance_counters, CheckScope, ComplianceFilter};
use crate::kpi::store::{report_statements, Grouping, KpiFilter};
use crate::kpi::summary::Summary;
use crate::kpi::{report_with_compliance, KpiReport, UsdRates};
use crate::policy::ContactPolicy;

/// The PostgreSQL schema the bench owns.
pub const BENCH_SCHEMA: &str = "bench_kpi";

/// Options of one bench run.
#[derive(Debug, Clone)]
pub struct KpiBenchOptions {
    /// A `postgres://` URL, or the path of a SQLite file that does not exist yet.
    pub location: String,
    pub attempts: u64,
    pub runs: u32,
    /// Print each PostgreSQL query plan of the full-range report, with its timings.
    pub explain: bool,
    /// Time the store a previous run seeded instead of seeding it again.
    pub reuse: bool,
    pub config: Config,
}

/// The timings of one report range.
#[derive(Debug, Clone)]
pub struct RangeTiming {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Each timed run's wall time, in milliseconds, in the order run.
    pub runs_ms: Vec<f64>,
    pub median_ms: f64,
}

/// The figures of one bench run.
#[derive(Debug, Clone)]
pub struct KpiBenchReport {
    pub backend: &'static str,
    /// The attempts and debts in the store, as the full-range report counts them.
    pub attempts: u64,
    pub debts: u64,
    pub seed_seconds: f64,
    /// The compliance check of every unchecked attempt, which a fresh seed leaves for the
    /// first report, in seconds.
    pub compliance_check_seconds: f64,
    /// Rebuilding the hourly attempt counts from every attempt, in seconds.
    pub attempt_hours_rebuild_seconds: f64,
    /// Rebuilding the portfolio summaries from every snapshot, in seconds.
    pub portfolio_rebuild_seconds: f64,
    /// The attempts added to one hour to time a report that counts that hour again.
    pub added_attempts: u64,
    /// The compliance check of those attempts, in milliseconds.
    pub new_hour_check_ms: f64,
    /// The full-range report right after that check, which counts the hour again, in
    /// milliseconds.
    pub report_after_new_hour_ms: f64,
    pub full_range: RangeTiming,
    pub last_30_days: RangeTiming,
    /// Each query of the full-range report run alone, in milliseconds, then the attempts and
    /// snapshot figures read by scanning the tables instead of the summaries.
    pub query_ms: Vec<(&'static str, f64)>,
    /// Each query's plan, from `EXPLAIN (ANALYZE, BUFFERS)`, when asked for on PostgreSQL.
    pub plans: Vec<(&'static str, String)>,
    pub figures: KpiReport,
}

/// Seeds the store, then times the reports.
pub async fn run(options: KpiBenchOptions) -> anyhow::Result<KpiBenchReport> {
    let debts = (options.attempts / 10).max(1);
    let seed_started = Instant::now();
    let mut postgres = None;
    let mut sqlite = None;
    let (backend, store): (&'static str, Box<dyn Store>) = if is_postgres_url(&options.location) {
        let store = if options.reuse {
            reopen_postgres(&options.location).await?
        } else {
            seed_postgres(&options.location, options.attempts, debts).await?
        };
        postgres = Some(store.clone());
        ("PostgreSQL", Box::new(store))
    } else {
        let path = Path::new(&options.location);
        let store = if options.reuse {
            SqliteStore::open(path).await?
        } else {
            seed_sqlite(path, options.attempts, debts).await?
        };
        sqlite = Some(store.clone());
        ("SQLite", Box::new(store))
    };
    let seed_seconds = seed_started.elapsed().as_secs_f64();
    info!(seed_seconds, reused = options.reuse, "store ready");
    let backend_store = match (&postgres, &sqlite) {
        (Some(store), _) => BenchStore::Postgres(store.clone()),
        (None, Some(store)) => BenchStore::Sqlite(store.clone()),
        (None, None) => unreachable!("one backend was opened"),
    };

    // `cobranza kpi` checks unchecked attempts before it counts. After a seed that is all of
    // them, once.
    let policy = ContactPolicy::embedded()?;
    let started = Instant::now();
    let checked = store.check_compliance(&policy, CheckScope::Unchecked).await?;
    let compliance_check_seconds = started.elapsed().as_secs_f64();
    info!(compliance_check_seconds, attempts = checked.attempts, "compliance checked");

    // Marks every hour and the portfolio, so the rebuilds below start from nothing.
    backend_store.mark_everything().await?;
    let started = Instant::now();
    backend_store.refresh(Summary::AttemptHours).await?;
    let attempt_hours_rebuild_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    backend_store.refresh(Summary::Portfolio).await?;
    let portfolio_rebuild_seconds = started.elapsed().as_secs_f64();
    info!(attempt_hours_rebuild_seconds, portfolio_rebuild_seconds, "summaries rebuilt");

    let rates = UsdRates::from_config(&options.config);
    let first = NaiveDate::from_ymd_opt(2026, 1, 1).expect("valid date");
    let last = NaiveDate::from_ymd_opt(2026, 3, 31).expect("valid date");
    let full = KpiFilter::days(first, last);
    let recent = KpiFilter::days(last - chrono::Duration::days(29), last);
    let (full_range, figures) = time_report(store.as_ref(), &full, &rates, &policy, options.runs).await?;
    let (last_30_days, _) = time_report(store.as_ref(), &recent, &rates, &policy, options.runs).await?;
    let mut query_ms = time_queries(store.as_ref(), &full, &policy).await?;
    let started = Instant::now();
    store.attempt_counts_scanned(&full, Grouping::Total).await?;
    query_ms.push(("attempts scanned", started.elapsed().as_secs_f64() * 1000.0));
    let started = Instant::now();
    store.portfolio_totals_scanned(&full).await?;
    query_ms.push(("portfolio scanned", started.elapsed().as_secs_f64() * 1000.0));

    // One more hour of calls: copies of the attempts of one busy hour, counted by the next
    // report, then removed again so the seeded store stays as it was.
    let before: i64 = backend_store.scalar("SELECT COALESCE(MAX(id), 0) FROM attempts").await?;
    let added_attempts = backend_store.execute(&backend_store.copy_hour()).await?;
    let started = Instant::now();
    store.check_compliance(&policy, CheckScope::Unchecked).await?;
    let new_hour_check_ms = started.elapsed().as_secs_f64() * 1000.0;
    let started = Instant::now();
    report_with_compliance(store.as_ref(), &full, None, &rates, &policy).await?;
    let report_after_new_hour_ms = started.elapsed().as_secs_f64() * 1000.0;
    backend_store.execute(&format!("DELETE FROM attempts WHERE id > {before}")).await?;
    backend_store.refresh(Summary::AttemptHours).await?;
    let mut plans = Vec::new();
    if let (true, Some(postgres)) = (options.explain, &postgres) {
        for (name, statement) in report_statements(&full) {
            plans.push((name, postgres.explain_kpi(&statement).await?));
        }
    }
    Ok(KpiBenchReport {
        backend,
        attempts: figures.kpis.calls.dials + figures.kpis.calls.inbound_calls,
        debts: figures.aging.iter().map(|bucket| bucket.debts).sum(),
        seed_seconds,
        compliance_check_seconds,
        attempt_hours_rebuild_seconds,
        portfolio_rebuild_seconds,
        added_attempts,
        new_hour_check_ms,
        report_after_new_hour_ms,
        full_range,
        last_30_days,
        query_ms,
        plans,
        figures,
    })
}

/// The bench's store by backend, for the statements only the bench runs.
enum BenchStore {
    Postgres(PostgresStore),
    Sqlite(SqliteStore),
}

impl BenchStore {
    async fn refresh(&self, summary: Summary) -> anyhow::Result<()> {
        match self {
            BenchStore::Postgres(store) => store.refresh_summary(summary).await?,
            BenchStore::Sqlite(store) => store.refresh_summary(summary).await?,
        }
        Ok(())
    }

    /// Marks every hour of attempts and the portfolio as changed.
    async fn mark_everything(&self) -> anyhow::Result<()> {
        let statements = match self {
            BenchStore::Postgres(_) => [
                "INSERT INTO kpi_attempt_marks (hour) SELECT DISTINCT date_trunc('hour', started_at, 'UTC') FROM attempts",
                "INSERT INTO kpi_portfolio_marks DEFAULT VALUES",
            ],
            BenchStore::Sqlite(_) => [
                "INSERT OR IGNORE INTO kpi_attempt_marks (hour) SELECT DISTINCT substr(started_at, 1, 13) FROM attempts",
                "INSERT OR IGNORE INTO kpi_portfolio_marks (id) VALUES (1)",
            ],
        };
        for statement in statements {
            self.execute(statement).await?;
        }
        Ok(())
    }

    /// Runs one statement and returns the rows it changed.
    async fn execute(&self, sql: &str) -> anyhow::Result<u64> {
        Ok(match self {
            BenchStore::Postgres(store) => sqlx::query(sql).execute(store.pool()).await?.rows_affected(),
            BenchStore::Sqlite(store) => sqlx::query(sql).execute(store.pool()).await?.rows_affected(),
        })
    }

    async fn scalar(&self, sql: &str) -> anyhow::Result<i64> {
        Ok(match self {
            BenchStore::Postgres(store) => sqlx::query_scalar(sql).fetch_one(store.pool()).await?,
            BenchStore::Sqlite(store) => sqlx::query_scalar(sql).fetch_one(store.pool()).await?,
        })
    }

    /// Copies the attempts that started on 2026-03-31 from 14:00 to 15:00 UTC.
    fn copy_hour(&self) -> String {
        let (from, to) = match self {
            BenchStore::Postgres(_) => ("TIMESTAMPTZ '2026-03-31T14:00:00Z'", "TIMESTAMPTZ '2026-03-31T15:00:00Z'"),
            BenchStore::Sqlite(_) => ("'2026-03-31T14'", "'2026-03-31T15'"),
        };
        let columns = "debt_id, debtor_id, phone, direction, started_at, answered, ended_at, disposition, \
                       right_party_contact, cost_micros, campaign, segment";
        format!(
            "INSERT INTO attempts ({columns}) SELECT {columns} FROM attempts \
             WHERE started_at >= {from} AND started_at < {to}"
        )
    }
}

/// Replaces the schema `bench_kpi` with a freshly migrated and seeded store.
async fn seed_postgres(url: &str, attempts: u64, debts: u64) -> anyhow::Result<PostgresStore> {
    let options = sqlx::postgres::PgConnectOptions::from_str(url)?;
    let mut admin = sqlx::PgConnection::connect_with(&options).await.context("connecting to PostgreSQL failed")?;
    admin.execute(format!("DROP SCHEMA IF EXISTS {BENCH_SCHEMA} CASCADE").as_str()).await?;
    let store = PostgresStore::connect_in_schema(url, BENCH_SCHEMA).await?;

    let mut seeder = sqlx::PgConnection::connect_with(&options.options([("search_path", BENCH_SCHEMA)])).await?;
    // No triggers while seeding: marking 10 M attempts' hours from one statement's transition
    // table would double the seed, and the bench marks everything before it rebuilds anyway.
    seeder.execute("SET session_replication_role = replica").await?;
    for (step, statement) in postgres_statements(attempts, debts).iter().enumerate() {
        let started = Instant::now();
        seeder.execute(statement.as_str()).await.with_context(|| format!("seed statement {} failed", step + 1))?;
        info!(step = step + 1, seconds = started.elapsed().as_secs_f64(), "seed statement done");
    }
    // VACUUM sets the visibility map, which index-only scans need, and ANALYZE the statistics.
    seeder.execute("VACUUM (ANALYZE)").await?;
    Ok(store)
}

/// Opens the schema `bench_kpi` that an earlier run seeded, applying any newer migration, and
/// vacuums it so new indexes serve index-only scans.
async fn reopen_postgres(url: &str) -> anyhow::Result<PostgresStore> {
    let options = sqlx::postgres::PgConnectOptions::from_str(url)?;
    let mut admin = sqlx::PgConnection::connect_with(&options).await.context("connecting to PostgreSQL failed")?;
    let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_namespace WHERE nspname = $1")
        .bind(BENCH_SCHEMA)
        .fetch_optional(&mut admin)
        .await?;
    if exists.is_none() {
        anyhow::bail!("schema {BENCH_SCHEMA} does not exist: run bench kpi once without --reuse to seed it");
    }
    let store = PostgresStore::connect_in_schema(url, BENCH_SCHEMA).await?;
    let mut vacuum = sqlx::PgConnection::connect_with(&options.options([("search_path", BENCH_SCHEMA)])).await?;
    vacuum.execute("VACUUM (ANALYZE)").await?;
    Ok(store)
}

/// Creates and seeds a SQLite store at `path`, which must not exist yet.
async fn seed_sqlite(path: &Path, attempts: u64, debts: u64) -> anyhow::Result<SqliteStore> {
    if path.exists() {
        anyhow::bail!("{} already exists: give bench kpi the path of a new SQLite file", path.display());
    }
    let store = SqliteStore::open(path).await?;
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(path);
    let mut seeder = sqlx::SqliteConnection::connect_with(&options).await?;
    for (step, statement) in sqlite_statements(attempts, debts).iter().enumerate() {
        let started = Instant::now();
        seeder.execute(statement.as_str()).await.with_context(|| format!("seed statement {} failed", step + 1))?;
        info!(step = step + 1, seconds = started.elapsed().as_secs_f64(), "seed statement done");
    }
    seeder.execute("ANALYZE").await?;
    Ok(store)
}

/// Runs the report `cobranza kpi` prints (with the compliance counters) once to warm up, then
/// `runs` times, and returns the timings and its figures.
async fn time_report(
    store: &dyn Store,
    filter: &KpiFilter,
    rates: &UsdRates,
    policy: &ContactPolicy,
    runs: u32,
) -> anyhow::Result<(RangeTiming, KpiReport)> {
    let figures = report_with_compliance(store, filter, None, rates, policy).await?;
    let mut runs_ms = Vec::new();
    for _ in 0..runs {
        let started = Instant::now();
        report_with_compliance(store, filter, None, rates, policy).await?;
        runs_ms.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let mut sorted = runs_ms.clone();
    sorted.sort_by(f64::total_cmp);
    let median_ms = if sorted.len() % 2 == 1 {
        sorted[sorted.len() / 2]
    } else {
        (sorted[sorted.len() / 2 - 1] + sorted[sorted.len() / 2]) / 2.0
    };
    Ok((RangeTiming { from: filter.from, to: filter.to, runs_ms, median_ms }, figures))
}

/// Times each query of the report alone, one after another.
async fn time_queries(
    store: &dyn Store,
    filter: &KpiFilter,
    policy: &ContactPolicy,
) -> anyhow::Result<Vec<(&'static str, f64)>> {
    let mut timings = Vec::new();
    let mut time =
        |name: &'static str, started: Instant| timings.push((name, started.elapsed().as_secs_f64() * 1000.0));

    let started = Instant::now();
    store.attempt_counts(filter, Grouping::Total).await?;
    time("attempts", started);
    let started = Instant::now();
    store.promises_made(filter, Grouping::Total).await?;
    time("promises made", started);
    let started = Instant::now();
    store.promise_outcomes(filter).await?;
    time("promise outcomes", started);
    let started = Instant::now();
    store.payments_collected(filter).await?;
    time("payments", started);
    let started = Instant::now();
    store.portfolio_totals(filter).await?;
    time("portfolio", started);
    let started = Instant::now();
    let compliance = ComplianceFilter { from: filter.start(), to: filter.end(), ..ComplianceFilter::default() };
    compliance_counters(store, policy, &compliance).await?;
    time("compliance counters", started);
    Ok(timings)
}

impl fmt::Display for RangeTiming {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let runs: Vec<String> = self.runs_ms.iter().map(|ms| format!("{ms:.0}")).collect();
        write!(f, "{} to {}: median {:.0} ms (runs: {} ms)", self.from, self.to, self.median_ms, runs.join(", "))
    }
}

impl fmt::Display for KpiBenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} store: {} attempts, {} debts, seeded in {:.1} s",
            self.backend, self.attempts, self.debts, self.seed_seconds
        )?;
        writeln!(f, "compliance check of the unchecked attempts: {:.1} s", self.compliance_check_seconds)?;
        writeln!(
            f,
            "summaries rebuilt from every row: attempt hours in {:.1} s, portfolio in {:.1} s",
            self.attempt_hours_rebuild_seconds, self.portfolio_rebuild_seconds
        )?;
        writeln!(f, "full KPI report, {}", self.full_range)?;
        writeln!(f, "full KPI report, {}", self.last_30_days)?;
        let queries: Vec<String> = self.query_ms.iter().map(|(name, ms)| format!("{name} {ms:.0} ms")).collect();
        writeln!(f, "each query of the full range alone: {}", queries.join(", "))?;
        writeln!(
            f,
            "{} more attempts in one hour: compliance check {:.0} ms, then the full KPI report {:.0} ms",
            self.added_attempts, self.new_hour_check_ms, self.report_after_new_hour_ms
        )?;
        for (name, plan) in &self.plans {
            writeln!(f, "\nplan of {name}:\n{plan}")?;
        }
        writeln!(f, "\n{}", self.figures)
    }
}
