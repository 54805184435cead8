//! The store contract (`tests/support/store_contract.rs`) on a fresh SQLite file per test, plus
//! what only the SQLite store promises: an in-memory store, reopening a file, and nanosecond
//! times.

#[path = "support/store_contract.rs"]
mod contract;

use std::sync::Arc;

use chrono::Duration;
use tempfile::TempDir;

use cobranza::collections::model::{Currency, Money, Promise};
use cobranza::collections::sqlite::SqliteStore;
use cobranza::collections::store::Store;

async fn fresh_store() -> (TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("data").join("cobranza.db")).await.unwrap();
    (dir, store)
}

macro_rules! on_sqlite {
    ($($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                let (_dir, store) = fresh_store().await;
                contract::$name(&store).await;
            }
        )*
    };
}

on_sqlite!(
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
    let (_dir, store) = fresh_store().await;
    contract::concurrent_writers_all_commit(Arc::new(store)).await;
}

#[tokio::test]
async fn in_memory_store_runs_contract() {
    let store = SqliteStore::in_memory().await.unwrap();
    contract::promise_with_installments_round_trips(&store).await;
}

#[tokio::test]
async fn data_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested").join("cobranza.db");
    let id = {
        let store = SqliteStore::open(&path).await.unwrap();
        let debt_id = contract::one_debt(&store).await;
        contract::outbound_at(&store, debt_id, contract::at(16, 0, 0)).await
    };
    assert!(path.exists());

    let reopened = SqliteStore::open(&path).await.unwrap();
    assert_eq!(reopened.accounts().await.unwrap().len(), 1);
    assert_eq!(reopened.attempt(id).await.unwrap().unwrap().started_at, contract::at(16, 0, 0));
}

#[tokio::test]
async fn times_keep_nanoseconds() {
    let (_dir, store) = fresh_store().await;
    let debt_id = contract::one_debt(&store).await;
    let started_at = contract::at(16, 0, 0) + Duration::nanoseconds(1);
    let id = contract::outbound_at(&store, debt_id, started_at).await;
    let promise = Promise {
        debt_id,
        amount: Money::new(100_000, Currency::Mxn),
        due_date: contract::day("2026-03-06"),
        installments: vec![],
    };
    let created_at = contract::at(16, 2, 10) + Duration::nanoseconds(123_456_789);
    store.store_promise(id, &promise, created_at).await.unwrap();

    assert_eq!(store.attempt(id).await.unwrap().unwrap().started_at, started_at);
    assert_eq!(store.promises_for_attempt(id).await.unwrap()[0].created_at, created_at);
}

#[tokio::test]
async fn open_store_opens_sqlite_paths() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("opened").join("cobranza.db");
    let store = cobranza::collections::open_store(path.to_str().unwrap()).await.unwrap();
    contract::one_debt(store.as_ref()).await;
    assert!(path.exists());

    let reopened = SqliteStore::open(&path).await.unwrap();
    assert_eq!(reopened.accounts().await.unwrap().len(), 1);
}
