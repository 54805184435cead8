//! The store contract (`tests/support/store_contract.rs`) on PostgreSQL, each test in a fresh
//! schema of the database at `COBRANZA_TEST_DATABASE_URL` (by default the local server at
//! `postgres://postgres@127.0.0.1:5432/test`). The tests fail when that server is unreachable.

#[path = "support/store_contract.rs"]
mod contract;

use std::sync::Arc;

use chrono::Duration;
use sqlx::Connection;

use cobranza::collections::model::{Currency, Money, Promise};
use cobranza::collections::postgres::PostgresStore;
use cobranza::collections::store::Store;

const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

fn database_url() -> String {
    std::env::var("COBRANZA_TEST_DATABASE_URL")
        .ok()
        .filter(|url| !url.is_empty())
        .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_string())
}

/// Names the schema a test owns. The process id keeps two runs at once apart.
fn schema_name(test: &str) -> String {
    format!("contract_{test}_{}", std::process::id())
}

/// Connects to the test database, or panics with what to do when it cannot.
async fn admin_connection(url: &str) -> sqlx::PgConnection {
    match sqlx::PgConnection::connect(url).await {
        Ok(connection) => connection,
        Err(error) => panic!(
            "connecting to PostgreSQL at {url} failed: {error}. Start PostgreSQL there, or set \
             COBRANZA_TEST_DATABASE_URL to a database these tests may create schemas in"
        ),
    }
}

async fn drop_schema(url: &str, schema: &str) {
    let mut connection = admin_connection(url).await;
    sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).execute(&mut connection).await.unwrap();
}

/// Opens a store in an empty schema named for the test, dropping any schema a failed run left.
async fn fresh_store(test: &str) -> (PostgresStore, String) {
    let url = database_url();
    let schema = schema_name(test);
    drop_schema(&url, &schema).await;
    let store = PostgresStore::connect_in_schema(&url, &schema).await.unwrap();
    (store, schema)
}

macro_rules! on_postgres {
    ($($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                let (store, schema) = fresh_store(stringify!($name)).await;
                contract::$name(&store).await;
                drop_schema(&database_url(), &schema).await;
            }
        )*
    };
}

on_postgres!(
    import_then_read_accounts,
    reimport_updates_in_place,
    attempt_lifecycle,
    every_disposition_round_trips,
    finish_attempt_only_once,
    transcript_keeps_order,
    promise_with_installments_round_trips,
    opt_out_is_idempotent,
    claims_and_callbacks_need_attempt,
    unknown_ids_not_found,
    attempts_between_boundaries,
    promises_between_boundaries,
    payments_reimport_stores_once,
    payment_ref_reuse_names_both,
    payments_settle_promises,
    plan_installments_settle_stored,
    do_not_call_list_round_trips,
    snapshots_latest_per_debt,
    history_import_small_fixture,
    history_invalid_row_imports_nothing,
    latest_snapshot_sets_debt_figures,
    debt_history_reads_before_as_of,
    scores_round_trip_in_queue_order,
    phone_shared_by_debtors_matches_none,
    reference_digits_match_one_debt,
    inbound_call_identified_once,
    unidentified_call_finishes_once,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_all_commit() {
    let (store, schema) = fresh_store("concurrent_writers_all_commit").await;
    contract::concurrent_writers_all_commit(Arc::new(store)).await;
    drop_schema(&database_url(), &schema).await;
}

#[tokio::test]
async fn times_drop_sub_microseconds() {
    let (store, schema) = fresh_store("times_drop_sub_microseconds").await;
    let debt_id = contract::one_debt(&store).await;
    let id = contract::outbound_at(&store, debt_id, contract::at(16, 0, 0) + Duration::nanoseconds(1_999)).await;
    let promise = Promise {
        debt_id,
        amount: Money::new(100_000, Currency::Mxn),
        due_date: contract::day("2026-03-06"),
        installments: vec![],
    };
    store.store_promise(id, &promise, contract::at(16, 2, 10) + Duration::nanoseconds(123_456_789)).await.unwrap();

    let started_at = store.attempt(id).await.unwrap().unwrap().started_at;
    assert_eq!(started_at, contract::at(16, 0, 0) + Duration::microseconds(1));
    let created_at = store.promises_for_attempt(id).await.unwrap()[0].created_at;
    assert_eq!(created_at, contract::at(16, 2, 10) + Duration::microseconds(123_456));
    drop_schema(&database_url(), &schema).await;
}

#[tokio::test]
async fn schemas_keep_rows_apart() {
    let (first, first_schema) = fresh_store("schemas_keep_rows_apart_a").await;
    let (second, second_schema) = fresh_store("schemas_keep_rows_apart_b").await;
    contract::one_debt(&first).await;

    assert_eq!(first.accounts().await.unwrap().len(), 1);
    assert_eq!(second.accounts().await.unwrap(), vec![]);
    drop_schema(&database_url(), &first_schema).await;
    drop_schema(&database_url(), &second_schema).await;
}

#[tokio::test]
async fn open_store_connects_postgres_urls() {
    let (in_schema, schema) = fresh_store("open_store_connects_postgres_urls").await;
    // The URL's `options` parameter sets the search path, so the opened store uses the same schema.
    let base = database_url();
    let separator = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{separator}options=-c%20search_path%3D{schema}");
    let opened = cobranza::collections::open_store(&url).await.unwrap();

    contract::one_debt(opened.as_ref()).await;
    let accounts = in_schema.accounts().await.unwrap();
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0].debt.account_ref, "BA-1");
    drop_schema(&database_url(), &schema).await;
}

#[tokio::test]
async fn invalid_schema_name_rejected() {
    let error = PostgresStore::connect_in_schema(&database_url(), "drop table; --").await.unwrap_err();
    assert!(error.to_string().contains("schema name 'drop table; --' is invalid"), "{error}");
}
