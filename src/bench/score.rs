//! `cobranza bench score`: times rescoring a large portfolio end to end, from reading each
//! debt's history out of the store to writing every debtor's score back.
//!
//! The portfolio is seeded in SQL inside a fresh store: one debt per debtor, a snapshot, three
//! attempts (one a right-party contact), a payment for one debtor in three and a promise for one
//! in five, settled kept or broken.

use std::time::Instant;

use chrono::NaiveDate;
use serde::Serialize;
use sqlx::Connection as _;

use crate::collections::{postgres, sqlite::SqliteStore, Store};
use crate::scoring::model::{debtor_rows, fit, score_rows};
use crate::scoring::segment::StrategyBook;
use crate::scoring::settings::{CurrenciesConfig, ScoringConfig};

/// The schema `bench score` creates (and first drops) on a PostgreSQL server.
pub const POSTGRES_SCHEMA: &str = "bench_score";

/// The benchmark's figures, in seconds unless named otherwise.
#[derive(Debug, Clone, Serialize)]
pub struct ScoreBenchReport {
    pub backend: &'static str,
    pub debtors: u64,
    pub seed_seconds: f64,
    /// Reading every debt's history as of the scoring date.
    pub read_seconds: f64,
    /// Folding debts into debtor features.
    pub features_seconds: f64,
    /// Scoring, segmenting and ranking every debtor.
    pub score_seconds: f64,
    /// Replacing every stored score in one transaction.
    pub write_seconds: f64,
    /// Read, features, score and write: a full `cobranza score --no-train`.
    pub rescore_seconds: f64,
    /// Training on the same rows as of the scoring date (labels from the seeded payments).
    pub train_seconds: f64,
    pub debtors_scored: usize,
}

impl std::fmt::Display for ScoreBenchReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "rescoring {} debtors on {}", self.debtors, self.backend)?;
        writeln!(f, "  seed the store        {:>8.2} s", self.seed_seconds)?;
        writeln!(f, "  read debt histories   {:>8.2} s", self.read_seconds)?;
        writeln!(f, "  fold into features    {:>8.2} s", self.features_seconds)?;
        writeln!(f, "  score and segment     {:>8.2} s", self.score_seconds)?;
        writeln!(f, "  write scores          {:>8.2} s", self.write_seconds)?;
        writeln!(f, "  rescore in all        {:>8.2} s ({} debtors scored)", self.rescore_seconds, self.debtors_scored)?;
        write!(f, "  train on the same rows {:>7.2} s", self.train_seconds)
    }
}

/// Seeds a store with `debtors` debtors and times a rescoring. Without `database_url` the store
/// is a SQLite file in a temporary directory; with a PostgreSQL URL, the schema
/// [`POSTGRES_SCHEMA`] of that database.
pub async fn run(
    debtors: u64,
    database_url: Option<&str>,
    scoring: &ScoringConfig,
    currencies: &CurrenciesConfig,
) -> anyhow::Result<ScoreBenchReport> {
    let directory = tempfile::tempdir()?;
    let started = Instant::now();
    let (store, backend): (Box<dyn Store>, &'static str) = match database_url {
        Some(url) if crate::collections::is_postgres_url(url) => {
            let mut connection = sqlx::PgConnection::connect(url).await?;
            sqlx::query(&format!("DROP SCHEMA IF EXISTS {POSTGRES_SCHEMA} CASCADE")).execute(&mut connection).await?;
            connection.close().await?;
            let store = postgres::PostgresStore::connect_in_schema(url, POSTGRES_SCHEMA).await?;
            seed_postgres(url, debtors).await?;
            (Box::new(store), "PostgreSQL")
        }
        Some(other) => anyhow::bail!("--database-url '{other}' is not a postgres:// URL; leave it out to use SQLite"),
        None => {
            let path = directory.path().join("bench.sqlite");
            let store = SqliteStore::open(&path).await?;
            seed_sqlite(&path, debtors).await?;
            (Box::new(store), "SQLite")
        }
    };
    let seed_seconds = started.elapsed().as_secs_f64();

    let as_of = NaiveDate::from_ymd_opt(2026, 11, 1).expect("valid date");
    let book = StrategyBook::embedded();
    let model = crate::scoring::model::PaymentModel::default_model(scoring.outcome_window_days);

    let rescore = Instant::now();
    let histories = store.debt_histories(as_of, scoring.outcome_window_days, None).await?;
    let read_seconds = rescore.elapsed().as_secs_f64();
    let step = Instant::now();
    let rows = debtor_rows(&histories, as_of, currencies);
    let features_seconds = step.elapsed().as_secs_f64();
    let step = Instant::now();
    let scores = score_rows(&model, &rows, as_of, scoring, &book);
    let score_seconds = step.elapsed().as_secs_f64();
    let step = Instant::now();
    store.replace_all_scores(&scores).await?;
    let write_seconds = step.elapsed().as_secs_f64();
    let rescore_seconds = rescore.elapsed().as_secs_f64();

    let step = Instant::now();
    let trained = fit(&rows, &rows, vec![as_of], as_of, scoring);
    let train_seconds = step.elapsed().as_secs_f64();
    anyhow::ensure!(trained.is_some(), "the seeded rows were too few to train on");

    Ok(ScoreBenchReport {
        backend,
        debtors,
        seed_seconds,
        read_seconds,
        features_seconds,
        score_seconds,
        write_seconds,
        rescore_seconds,
        train_seconds,
        debtors_scored: scores.len(),
    })
}

async fn seed_sqlite(path: &std::path::Path, debtors: u64) -> anyhow::Result<()> {
    let mut connection = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display())).await?;
    let numbers = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1)";
    let statements = [
        format!(
            "{numbers} INSERT INTO debtors (id, full_name, country, region, locale, time_zone, national_id_last4,
                 birth_date, postal_code, call_consent, authorised_channels)
             SELECT printf('MX-B%07d', i), 'Deudor ' || i, 'MX', 'Ciudad de México', 'es-MX',
                 'America/Mexico_City', printf('%04d', i % 10000), '1980-01-01', '06700', 1, 'voice' FROM n"
        ),
        format!(
            "{numbers} INSERT INTO debts (id, debtor_id, account_ref, creditor, product, balance_minor, currency,
                 days_past_due)
             SELECT i, printf('MX-B%07d', i), printf('BENCH-%07d', i), 'Banco Aurora',
                 CASE i % 3 WHEN 0 THEN 'tarjeta de crédito' WHEN 1 THEN 'préstamo personal' ELSE 'microcrédito' END,
                 50000 + (i * 7919) % 5000000, 'MXN', 1 + (i * 31) % 360 FROM n"
        ),
        format!(
            "{numbers} INSERT INTO debt_snapshots (debt_id, as_of, days_past_due, balance_minor)
             SELECT i, '2026-10-01', 1 + (i * 31) % 360, 50000 + (i * 7919) % 5000000 FROM n"
        ),
        format!(
            "{numbers}, k(j) AS (VALUES (0), (1), (2))
             INSERT INTO attempts (debt_id, debtor_id, phone, direction, started_at, answered, ended_at,
                 disposition, right_party_contact)
             SELECT i, printf('MX-B%07d', i), '+525550000000', 'outbound',
                 printf('2026-10-%02dT1%d:00:00.000000000Z', 1 + (i + j * 7) % 28, j + 5), j > 0,
                 printf('2026-10-%02dT1%d:02:00.000000000Z', 1 + (i + j * 7) % 28, j + 5),
                 CASE j WHEN 2 THEN 'right_party_no_commitment' WHEN 1 THEN 'voicemail_left' ELSE 'no_response' END,
                 j = 2 FROM n, k"
        ),
        format!(
            "{numbers} INSERT INTO payments (debt_id, payment_ref, paid_on, amount_minor, currency, channel, imported_at)
             SELECT i, 'P' || i, printf('2026-%02d-15', 9 + (i / 3) % 3), 10000 + i % 50000, 'MXN', 'transferencia',
                 '2026-11-30T00:00:00.000000000Z' FROM n WHERE i % 3 = 0"
        ),
        format!(
            "{numbers} INSERT INTO promises (attempt_id, debt_id, amount_minor, currency, due_date, status,
                 created_at, kept_minor, settled_on)
             SELECT i * 3, i, 20000, 'MXN', '2026-10-20', CASE WHEN i % 2 = 0 THEN 'kept' ELSE 'broken' END,
                 '2026-10-10T16:00:00.000000000Z', CASE WHEN i % 2 = 0 THEN 20000 ELSE 0 END, '2026-10-21'
             FROM n WHERE i % 5 = 0"
        ),
    ];
    let mut tx = connection.begin().await?;
    for statement in &statements {
        sqlx::query(statement).bind(debtors as i64).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    sqlx::query("ANALYZE").execute(&mut connection).await?;
    Ok(())
}

async fn seed_postgres(url: &str, debtors: u64) -> anyhow::Result<()> {
    let mut connection = sqlx::PgConnection::connect(url).await?;
    sqlx::query(&format!("SET search_path TO {POSTGRES_SCHEMA}")).execute(&mut connection).await?;
    let numbers = "generate_series(1, $1::bigint) AS i";
    let statements = [
        format!(
            "INSERT INTO debtors (id, full_name, country, region, locale, time_zone, national_id_last4, birth_date,
                 postal_code, call_consent, authorised_channels)
             SELECT format('MX-B%s', lpad(i::text, 7, '0')), 'Deudor ' || i, 'MX', 'Ciudad de México', 'es-MX',
                 'America/Mexico_City', lpad((i % 10000)::text, 4, '0'), DATE '1980-01-01', '06700', TRUE, 'voice'
             FROM {numbers}"
        ),
        format!(
            "INSERT INTO debts (debtor_id, account_ref, creditor, product, balance_minor, currency, days_past_due)
             SELECT format('MX-B%s', lpad(i::text, 7, '0')), format('BENCH-%s', lpad(i::text, 7, '0')),
                 'Banco Aurora',
                 CASE i % 3 WHEN 0 THEN 'tarjeta de crédito' WHEN 1 THEN 'préstamo personal' ELSE 'microcrédito' END,
                 50000 + (i * 7919) % 5000000, 'MXN', 1 + (i * 31) % 360 FROM {numbers}"
        ),
        format!(
            "INSERT INTO debt_snapshots (debt_id, as_of, days_past_due, balance_minor)
             SELECT i, DATE '2026-10-01', 1 + (i * 31) % 360, 50000 + (i * 7919) % 5000000 FROM {numbers}"
        ),
        format!(
            "INSERT INTO attempts (debt_id, debtor_id, phone, direction, started_at, answered, ended_at, disposition,
                 right_party_contact)
             SELECT i, format('MX-B%s', lpad(i::text, 7, '0')), '+525550000000', 'outbound',
                 TIMESTAMPTZ '2026-10-01 15:00:00+00' + ((i + j * 7) % 28) * INTERVAL '1 day' + j * INTERVAL '1 hour',
                 j > 0,
                 TIMESTAMPTZ '2026-10-01 15:02:00+00' + ((i + j * 7) % 28) * INTERVAL '1 day' + j * INTERVAL '1 hour',
                 CASE j WHEN 2 THEN 'right_party_no_commitment' WHEN 1 THEN 'voicemail_left' ELSE 'no_response' END,
                 j = 2
             FROM {numbers}, generate_series(0, 2) AS j"
        ),
        format!(
            "INSERT INTO payments (debt_id, payment_ref, paid_on, amount_minor, currency, channel, imported_at)
             SELECT i, 'P' || i, make_date(2026, 9 + ((i / 3) % 3)::int, 15), 10000 + i % 50000, 'MXN', 'transferencia',
                 TIMESTAMPTZ '2026-11-30 00:00:00+00' FROM {numbers} WHERE i % 3 = 0"
        ),
        format!(
            "INSERT INTO promises (attempt_id, debt_id, amount_minor, currency, due_date, status, created_at,
                 kept_minor, settled_on)
             SELECT i * 3, i, 20000, 'MXN', DATE '2026-10-20', CASE WHEN i % 2 = 0 THEN 'kept' ELSE 'broken' END,
                 TIMESTAMPTZ '2026-10-10 16:00:00+00', CASE WHEN i % 2 = 0 THEN 20000 ELSE 0 END, DATE '2026-10-21'
             FROM {numbers} WHERE i % 5 = 0"
        ),
    ];
    for statement in &statements {
        sqlx::query(statement).bind(debtors as i64).execute(&mut connection).await?;
    }
    sqlx::query("ANALYZE").execute(&mut connection).await?;
    Ok(())
}
