//! The propensity model trained on the shipped history (`fixtures/history`), on SQLite and on
//! PostgreSQL: it beats ranking by days past due on the later holdout month, both backends learn
//! the same model from the same files, the dial queue puts likely payers with large balances
//! first, and `--explain` lists what moved a score.

use chrono::{NaiveDate, TimeZone, Utc};
use sqlx::Connection;

use cobranza::collections::history::{import_history_dir, HistoryImportSettings};
use cobranza::collections::import::ImportMode;
use cobranza::collections::postgres::PostgresStore;
use cobranza::collections::sqlite::SqliteStore;
use cobranza::collections::Store;
use cobranza::config::Config;
use cobranza::scoring::cli::{rescore, run, ScoreArgs, ScoreReport};
use cobranza::scoring::model::debtor_rows;
use cobranza::scoring::segment::StrategyBook;
use cobranza::scoring::store::ScoreStore;

fn scoring_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
}

async fn import_fixture(store: &dyn Store) {
    let settings = HistoryImportSettings {
        mode: ImportMode::AllOrNothing,
        now: Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap(),
        grace_days: 3,
    };
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/history");
    import_history_dir(store, &dir, Some(scoring_day()), settings).await.unwrap();
}

async fn trained_report(store: &dyn Store) -> ScoreReport {
    import_fixture(store).await;
    let config = Config::embedded();
    rescore(store, scoring_day(), true, 20, &config.scoring, &config.currencies, &StrategyBook::embedded())
        .await
        .unwrap()
}

fn three_places(value: Option<f64>) -> String {
    format!("{:.3}", value.unwrap())
}

async fn sqlite_report() -> (tempfile::TempDir, SqliteStore, ScoreReport) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("cobranza.db")).await.unwrap();
    let report = trained_report(&store).await;
    (dir, store, report)
}

#[tokio::test]
async fn model_beats_days_past_due() {
    let (_dir, _store, report) = sqlite_report().await;
    let validation = report.validation.expect("the shipped history is enough to train on");

    assert_eq!(report.model_version, "ptp30-20261101");
    assert_eq!(
        validation.training_dates,
        vec![
            NaiveDate::from_ymd_opt(2026, 8, 1).unwrap(),
            NaiveDate::from_ymd_opt(2026, 9, 1).unwrap(),
            NaiveDate::from_ymd_opt(2026, 10, 1).unwrap()
        ]
    );
    assert_eq!(validation.holdout_date, NaiveDate::from_ymd_opt(2026, 11, 1).unwrap());
    assert_eq!((validation.training_rows, validation.training_payers), (6_674, 1_833));
    assert_eq!((validation.holdout_rows, validation.holdout_payers), (2_541, 588));

    assert_eq!(three_places(validation.auc), "0.789");
    assert_eq!(three_places(validation.baseline_auc), "0.763");
    assert_eq!(three_places(validation.ks), "0.446");
    assert_eq!(three_places(validation.baseline_ks), "0.395");
    assert!(validation.auc > validation.baseline_auc);
    assert!(validation.ks > validation.baseline_ks);
    // Placements every month keep the population stable enough to trust the holdout.
    assert!(validation.psi.unwrap() < 0.25, "PSI {:?}", validation.psi);

    let kept: Vec<&str> = validation.information_values.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        kept,
        vec!["days_past_due", "balance", "promises_kept", "payments", "contact_rate", "days_since_contact"]
    );
}

#[tokio::test]
async fn queue_puts_likely_large_payers_first() {
    let (_dir, store, report) = sqlite_report().await;
    assert_eq!(report.debtors_scored, 2_387);

    let config = Config::embedded();
    let histories = store.debt_histories(scoring_day(), 30, None).await.unwrap();
    let rows = debtor_rows(&histories, scoring_day(), &config.currencies);
    assert_eq!(rows.len(), 2_387);
    let queue = store.dial_queue(u32::MAX).await.unwrap();
    assert_eq!(queue.len(), 2_387);
    for pair in queue.windows(2) {
        assert!(pair[0].expected_value_usd >= pair[1].expected_value_usd);
    }

    let balance_of = |id: &str| rows.iter().find(|row| row.debtor_id.0 == id).unwrap().balance_usd;
    let mean = |values: &[f64]| values.iter().sum::<f64>() / values.len() as f64;
    let tenth = queue.len() / 10;
    let top = &queue[..tenth];
    let bottom = &queue[queue.len() - tenth..];
    let probability = |scores: &[cobranza::scoring::store::DebtorScore]| {
        mean(&scores.iter().map(|score| score.probability).collect::<Vec<_>>())
    };
    let balance = |scores: &[cobranza::scoring::store::DebtorScore]| {
        mean(&scores.iter().map(|score| balance_of(&score.debtor_id.0)).collect::<Vec<_>>())
    };
    // The first tenth of the queue is likelier to pay and owes more than the whole portfolio,
    // and the last tenth less of both.
    assert!(probability(top) > probability(&queue), "{} vs {}", probability(top), probability(&queue));
    assert!(balance(top) > balance(&queue), "{} vs {}", balance(top), balance(&queue));
    assert!(probability(bottom) < probability(&queue));
    assert!(balance(bottom) < balance(&queue));
}

#[tokio::test]
async fn explain_lists_factors() {
    let (_dir, store, _report) = sqlite_report().await;
    let config = Config::embedded();
    let top = store.dial_queue(1).await.unwrap().remove(0);
    let args = ScoreArgs {
        as_of: Some(scoring_day()),
        explain: Some(top.debtor_id.0.clone()),
        no_train: true,
        top: 10,
        json: false,
    };
    let text = run(&store, &args, &config.scoring, &config.currencies).await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], format!("Debtor {} as of 2026-12-01 with model ptp30-20261101", top.debtor_id.0));
    assert!(lines[1].starts_with("probability of a payment within 30 days: "), "{}", lines[1]);
    assert!(lines[3].starts_with(&format!("segment {}: strategy {}", top.segment, top.strategy)), "{}", lines[3]);
    assert_eq!(lines[5], "what moved the score, the costliest first:");
    // One line per characteristic of the model, then the stored score.
    assert_eq!(lines.len(), 6 + 6 + 1, "{text}");
    for line in &lines[6..12] {
        assert!(line.contains(" points, "), "{line}");
    }
    assert!(lines[12].starts_with(&format!("stored score: {} points", top.points)), "{}", lines[12]);

    let json_args = ScoreArgs { json: true, ..args };
    let json: serde_json::Value =
        serde_json::from_str(&run(&store, &json_args, &config.scoring, &config.currencies).await.unwrap()).unwrap();
    let factors = json["factors"].as_array().unwrap();
    assert_eq!(factors.len(), 6);
    let below: Vec<f64> = factors.iter().map(|factor| factor["points_below_best"].as_f64().unwrap()).collect();
    for pair in below.windows(2) {
        assert!(pair[0] >= pair[1], "{below:?}");
    }
    assert_eq!(json["points"], top.points);
}

#[tokio::test]
async fn explain_unknown_debtor_names_it() {
    let (_dir, store, _report) = sqlite_report().await;
    let config = Config::embedded();
    let args =
        ScoreArgs { as_of: Some(scoring_day()), explain: Some("XX-404".into()), no_train: true, top: 10, json: false };
    let error = run(&store, &args, &config.scoring, &config.currencies).await.unwrap_err();
    assert_eq!(error.to_string(), "debtor XX-404 is not in the store: check the id, or import the portfolio first");
}

#[tokio::test]
async fn empty_store_scores_with_default_model() {
    let store = SqliteStore::in_memory().await.unwrap();
    let config = Config::embedded();
    let report = rescore(&store, scoring_day(), true, 5, &config.scoring, &config.currencies, &StrategyBook::embedded())
        .await
        .unwrap();
    assert_eq!(report.model_version, "default-1");
    assert_eq!(report.validation, None);
    assert_eq!(report.debtors_scored, 0);
    assert!(report.model_note.unwrap().starts_with("the history is too thin to train on"));
}

#[tokio::test]
async fn postgres_learns_same_model() {
    let url = std::env::var("COBRANZA_TEST_DATABASE_URL")
        .ok()
        .filter(|url| !url.is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".to_string());
    let schema = format!("scoring_history_{}", std::process::id());
    let mut admin = sqlx::PgConnection::connect(&url).await.unwrap_or_else(|error| {
        panic!("connecting to PostgreSQL at {url} failed: {error}; start it or set COBRANZA_TEST_DATABASE_URL")
    });
    sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).execute(&mut admin).await.unwrap();

    let store = PostgresStore::connect_in_schema(&url, &schema).await.unwrap();
    let postgres = trained_report(&store).await;
    let (_dir, _sqlite_store, sqlite) = sqlite_report().await;
    sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).execute(&mut admin).await.unwrap();

    let validation = postgres.validation.clone().unwrap();
    let expected = sqlite.validation.clone().unwrap();
    assert_eq!(validation.training_rows, expected.training_rows);
    assert_eq!(validation.holdout_payers, expected.holdout_payers);
    assert_eq!(three_places(validation.auc), three_places(expected.auc));
    assert_eq!(three_places(validation.ks), three_places(expected.ks));
    assert_eq!(postgres.debtors_scored, sqlite.debtors_scored);
    assert_eq!(postgres.segments, sqlite.segments);
    let ids = |report: &ScoreReport| report.queue.iter().map(|score| score.debtor_id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&postgres), ids(&sqlite));
}
