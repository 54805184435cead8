//! Times the compliance check and counters on PostgreSQL over a generated ledger.
//!
//! Seeds the schema `compliance_scale_<N>` of the database at `COBRANZA_TEST_DATABASE_URL` (by
//! default `postgres://postgres@127.0.0.1:5432/test`) with N attempts, 20 per debt. About 95%
//! are outbound, spread at random over the 90 days from 1 January 2026, and debtors live in
//! seven places. 1% of the debtors opt out of calls. The seed is skipped when the schema already
//! contains the N seeded attempts.
//!
//! Then it times the check of the unchecked attempts: every outbound attempt after a fresh
//! seed, none on a later run. It times the counters over the whole 90 days, then `VACUUM
//! ANALYZE attempts`, and then the counters over the 90 days again, over 30 days, and over 30
//! days of one country and campaign, and the 90 days six more times. Last it adds 100 calls on
//! 1 April and times the counters again, which check those calls first. With `--recheck-all` it also times a check of every
//! outbound attempt, as after a rule change.
//!
//! Run with `cargo run --release --example compliance_scale -- 1000000`. Pass `--drop` after the
//! count to drop the schema at the end.

use std::time::Instant;

use chrono::{TimeZone, Utc};
use sqlx::Row;

use cobranza::collections::postgres::PostgresStore;
use cobranza::kpi::compliance::{compliance_counters, CheckScope, ComplianceFilter, ComplianceStore};
use cobranza::policy::ContactPolicy;

const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
const ATTEMPTS_PER_DEBT: i64 = 20;
/// New calls added on each run, one per debt, after the seeded range.
const NEW_CALLS: i64 = 100;

/// The seed, in order, run on one connection so `setseed` makes `random()` repeatable. `$1` is
/// the number of debtors.
const SEED: [&str; 5] = [
    "SELECT setseed(0.42)",
    "INSERT INTO debtors (id, full_name, country, region, locale, time_zone, national_id_last4, birth_date,
                          postal_code, call_consent, authorised_channels)
     SELECT 'D' || i, 'Debtor ' || i, place.country, place.region, place.locale, place.zone, '1234',
            DATE '1980-01-01', '00000', TRUE, 'voice'
     FROM generate_series(1, $1::bigint) AS i
     JOIN (VALUES (0, 'MX', 'Jalisco', 'es-MX', 'America/Mexico_City'),
                  (1, 'CO', 'Antioquia', 'es-CO', 'America/Bogota'),
                  (2, 'CL', 'Región Metropolitana', 'es-CL', 'America/Santiago'),
                  (3, 'US', 'MA', 'en-US', 'America/New_York'),
                  (4, 'US', 'CA', 'en-US', 'America/Los_Angeles'),
                  (5, 'BR', 'Rio de Janeiro', 'pt-BR', 'America/Sao_Paulo'),
                  (6, 'PE', 'Lima', 'es-PE', 'America/Lima'))
          AS place (k, country, region, locale, zone) ON place.k = i % 7",
    "INSERT INTO debts (debtor_id, account_ref, creditor, product, balance_minor, currency, days_past_due)
     SELECT id, 'ACC-' || id, 'Banco Aurora', 'tarjeta de crédito', 100000, 'USD', 30 FROM debtors",
    "INSERT INTO attempts (debt_id, debtor_id, phone, direction, started_at, campaign, segment)
     SELECT debt.id, debt.debtor_id, '+10000000000',
            CASE WHEN random() < 0.95 THEN 'outbound' ELSE 'inbound' END,
            TIMESTAMPTZ '2026-01-01 00:00:00Z' + random() * INTERVAL '90 days',
            CASE WHEN random() < 0.5 THEN 'spring' ELSE 'winter' END,
            CASE WHEN random() < 0.5 THEN 'early' ELSE 'late' END
     FROM debts AS debt CROSS JOIN generate_series(1, 20)",
    "INSERT INTO opt_outs (debtor_id, channel, at)
     SELECT id, 'voice', TIMESTAMPTZ '2026-01-01 00:00:00Z' + random() * INTERVAL '90 days'
     FROM debtors WHERE random() < 0.01",
];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let attempts: i64 = args.next().unwrap_or_else(|| "1000000".to_string()).parse()?;
    let flags: Vec<String> = args.collect();
    let drop_after = flags.iter().any(|flag| flag == "--drop");
    let recheck_all = flags.iter().any(|flag| flag == "--recheck-all");
    let url = std::env::var("COBRANZA_TEST_DATABASE_URL")
        .ok()
        .filter(|url| !url.is_empty())
        .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_string());
    let schema = format!("compliance_scale_{attempts}");
    let store = PostgresStore::connect_in_schema(&url, &schema).await?;
    let options = url.parse::<sqlx::postgres::PgConnectOptions>()?.options([("search_path", schema.as_str())]);
    let pool = sqlx::postgres::PgPoolOptions::new().max_connections(1).connect_with(options).await?;

    // The calls earlier runs added have a call SID, and the seeded ones have none.
    let stored: i64 = sqlx::query("SELECT COUNT(*) AS n FROM attempts WHERE call_sid IS NULL")
        .fetch_one(&pool)
        .await?
        .try_get("n")?;
    if stored != 0 && stored != attempts {
        anyhow::bail!("schema {schema} holds {stored} attempts, not {attempts}: drop it and run again");
    }
    if stored == 0 {
        let started = Instant::now();
        let debtors = attempts / ATTEMPTS_PER_DEBT;
        for statement in SEED {
            let query = sqlx::query(statement);
            let query = if statement.contains("$1") { query.bind(debtors) } else { query };
            query.execute(&pool).await?;
        }
        sqlx::query("ANALYZE").execute(&pool).await?;
        println!("seeded {attempts} attempts, {debtors} debts in {:.1} s", started.elapsed().as_secs_f64());
    }

    let policy = ContactPolicy::embedded()?;
    let started = Instant::now();
    let checked = store.check_compliance(&policy, CheckScope::Unchecked).await?;
    println!("check of the unchecked attempts: {:.1} s\n{checked}\n", started.elapsed().as_secs_f64());

    let day = |month, day| Utc.with_ymd_and_hms(2026, month, day, 0, 0, 0).unwrap();
    // Until a vacuum marks the checked pages all-visible, the counts read the table as well as
    // the index.
    let ninety_days = ComplianceFilter { from: day(1, 1), to: day(4, 1), ..ComplianceFilter::default() };
    let started = Instant::now();
    compliance_counters(&store, &policy, &ninety_days).await?;
    println!("90 days before VACUUM: {:.2} s\n", started.elapsed().as_secs_f64());
    let started = Instant::now();
    sqlx::query("VACUUM ANALYZE attempts").execute(&pool).await?;
    println!("VACUUM ANALYZE attempts: {:.1} s\n", started.elapsed().as_secs_f64());

    let runs = [
        ("90 days", ninety_days),
        ("30 days", ComplianceFilter { from: day(2, 1), to: day(3, 3), ..ComplianceFilter::default() }),
        (
            "30 days, US, campaign spring",
            ComplianceFilter {
                from: day(2, 1),
                to: day(3, 3),
                country: Some("US".to_string()),
                campaign: Some("spring".to_string()),
                ..ComplianceFilter::default()
            },
        ),
    ];
    for (name, filter) in &runs {
        let started = Instant::now();
        let counters = compliance_counters(&store, &policy, filter).await?;
        println!("{name}: {:.2} s\n{counters}\n", started.elapsed().as_secs_f64());
    }

    // The store's pool reuses connections, so later runs show whether the plans hold.
    let mut seconds = Vec::new();
    for _ in 0..6 {
        let started = Instant::now();
        compliance_counters(&store, &policy, &runs[0].1).await?;
        seconds.push(started.elapsed().as_secs_f64());
    }
    let text: Vec<String> = seconds.iter().map(|run| format!("{run:.2}")).collect();
    println!("90 days, 6 more runs: {} s\n", text.join(", "));

    add_new_calls(&pool).await?;
    let started = Instant::now();
    let counters = compliance_counters(&store, &policy, &runs[0].1).await?;
    println!("90 days after {NEW_CALLS} new calls: {:.2} s\n{counters}\n", started.elapsed().as_secs_f64());

    if recheck_all {
        let started = Instant::now();
        let checked = store.check_compliance(&policy, CheckScope::All).await?;
        println!("check of every attempt: {:.1} s\n{checked}\n", started.elapsed().as_secs_f64());
    }

    if drop_after {
        sqlx::query(&format!("DROP SCHEMA {schema} CASCADE")).execute(&pool).await?;
    }
    Ok(())
}

/// Adds one outbound call on 1 April 2026 to each of [`NEW_CALLS`] debts picked at random. The
/// calls have a call SID, so later runs can tell them from the seed.
async fn add_new_calls(pool: &sqlx::PgPool) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO attempts (debt_id, debtor_id, phone, direction, call_sid, started_at, campaign, segment)
         SELECT debt.id, debt.debtor_id, '+10000000000', 'outbound', 'scale-' || gen_random_uuid(),
                TIMESTAMPTZ '2026-04-01 15:00:00Z', 'spring', 'early'
         FROM debts AS debt ORDER BY random() LIMIT $1",
    )
    .bind(NEW_CALLS)
    .execute(pool)
    .await?;
    Ok(())
}
