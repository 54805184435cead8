//! `cobranza bench kpi`: seeds a store with synthetic history and times the KPI report over it.
//!
//! On PostgreSQL the store lives in the schema `bench_kpi`, which each run drops and recreates
//! (no other schema is touched). On SQLite it is a new file. The seed (see [`super::kpi_seed`])
//! runs as SQL inside the database, then the tables are vacuumed and analysed. The full-range
//! report and a report of the last 30 days each run once to warm the caches, then `runs` times,
//! and the bench reports the median. One further run times each query alone.

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
use crate::kpi::store::{report_statements, Grouping, KpiFilter};
use crate::kpi::{report, KpiReport, UsdRates};

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
    pub full_range: RangeTiming,
    pub last_30_days: RangeTiming,
    /// Each query of the full-range report run alone, in milliseconds.
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
        ("SQLite", Box::new(store))
    };
    let seed_seconds = seed_started.elapsed().as_secs_f64();
    info!(seed_seconds, reused = options.reuse, "store ready");

    let rates = UsdRates::from_config(&options.config);
    let first = NaiveDate::from_ymd_opt(2026, 1, 1).expect("valid date");
    let last = NaiveDate::from_ymd_opt(2026, 3, 31).expect("valid date");
    let full = KpiFilter::days(first, last);
    let recent = KpiFilter::days(last - chrono::Duration::days(29), last);
    let (full_range, figures) = time_report(store.as_ref(), &full, &rates, options.runs).await?;
    let (last_30_days, _) = time_report(store.as_ref(), &recent, &rates, options.runs).await?;
    let query_ms = time_queries(store.as_ref(), &full).await?;
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
        full_range,
        last_30_days,
        query_ms,
        plans,
        figures,
    })
}

/// Replaces the schema `bench_kpi` with a freshly migrated and seeded store.
async fn seed_postgres(url: &str, attempts: u64, debts: u64) -> anyhow::Result<PostgresStore> {
    let options = sqlx::postgres::PgConnectOptions::from_str(url)?;
    let mut admin = sqlx::PgConnection::connect_with(&options).await.context("connecting to PostgreSQL failed")?;
    admin.execute(format!("DROP SCHEMA IF EXISTS {BENCH_SCHEMA} CASCADE").as_str()).await?;
    let store = PostgresStore::connect_in_schema(url, BENCH_SCHEMA).await?;

    let mut seeder = sqlx::PgConnection::connect_with(&options.options([("search_path", BENCH_SCHEMA)])).await?;
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

/// Runs the report once to warm up, then `runs` times, and returns the timings and its figures.
async fn time_report(
    store: &dyn Store,
    filter: &KpiFilter,
    rates: &UsdRates,
    runs: u32,
) -> anyhow::Result<(RangeTiming, KpiReport)> {
    let figures = report(store, filter, None, rates).await?;
    let mut runs_ms = Vec::new();
    for _ in 0..runs {
        let started = Instant::now();
        report(store, filter, None, rates).await?;
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
async fn time_queries(store: &dyn Store, filter: &KpiFilter) -> anyhow::Result<Vec<(&'static str, f64)>> {
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
        writeln!(f, "full KPI report, {}", self.full_range)?;
        writeln!(f, "full KPI report, {}", self.last_30_days)?;
        let queries: Vec<String> = self.query_ms.iter().map(|(name, ms)| format!("{name} {ms:.0} ms")).collect();
        writeln!(f, "each query of the full range alone: {}", queries.join(", "))?;
        for (name, plan) in &self.plans {
            writeln!(f, "\nplan of {name}:\n{plan}")?;
        }
        writeln!(f, "\n{}", self.figures)
    }
}
