//! Two nodes on one PostgreSQL schema: a supervisor logged in on node A sees a call that runs on
//! node B appear on the board, follows its transcript, and sees it end, through `LISTEN/NOTIFY`.

mod support;

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use sqlx::Connection as _;

use cobranza::call::CallEvent;
use cobranza::clock::Clock;
use cobranza::collections::import::parse_portfolio_bytes;
use cobranza::collections::model::DebtorId;
use cobranza::collections::postgres::PostgresStore;
use cobranza::collections::{NewAttempt, Store};
use cobranza::config::Config;
use cobranza::console::store::{ConsoleStore, NewUser, Role};
use cobranza::demo::{EmbeddedServer, SAMPLE_PORTFOLIO, SAMPLE_PORTFOLIO_NAME};
use cobranza::telephony::simulator::{self, persona};
use support::console_client::{next_json, ConsoleClient};

const PASSWORD: &str = "contraseña-de-prueba-1";
const WAIT: Duration = Duration::from_secs(120);

fn database_url() -> String {
    std::env::var("COBRANZA_TEST_DATABASE_URL")
        .ok()
        .filter(|url| !url.is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

async fn drop_schema(schema: &str) {
    let mut connection = sqlx::PgConnection::connect(&database_url())
        .await
        .expect("PostgreSQL at COBRANZA_TEST_DATABASE_URL (scripts/test and .ci/run start it)");
    sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).execute(&mut connection).await.expect("drop");
}

async fn node(store: Arc<PostgresStore>, schema: &str, name: &str, dir: &std::path::Path) -> EmbeddedServer {
    let config = Arc::new(Config::embedded());
    let providers = cobranza::demo::embedded_providers(Arc::new(support::Deaf), &config);
    let now = Utc.with_ymd_and_hms(2026, 12, 2, 16, 0, 0).single().expect("instant");
    let server = EmbeddedServer::start_with_console(
        store.clone(),
        store.clone(),
        name,
        providers,
        config,
        Clock::starting_at(now),
        dir.to_path_buf(),
    )
    .await
    .expect("server starts");
    let board = server.console.as_ref().expect("console").board.clone();
    cobranza::console::notify::bridge(store.pool().clone(), schema.to_string(), board, server.bus.subscribe());
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_on_node_a_follows_a_call_running_on_node_b() {
    let schema = format!("console_nodes_{}", std::process::id());
    drop_schema(&schema).await;
    let url = database_url();
    let store_a = Arc::new(PostgresStore::connect_in_schema(&url, &schema).await.expect("node A store"));
    let store_b = Arc::new(PostgresStore::connect_in_schema(&url, &schema).await.expect("node B store"));
    let portfolio = parse_portfolio_bytes(SAMPLE_PORTFOLIO_NAME, SAMPLE_PORTFOLIO).expect("fixture");
    store_b.import_portfolio(&portfolio.rows).await.expect("import");
    let password_hash = cobranza::console::hash_password(PASSWORD).expect("hash");
    store_a
        .create_user(&NewUser { username: "ana".into(), role: Role::Supervisor, password_hash, created_at: Utc::now() })
        .await
        .expect("user");
    let dir = tempfile::tempdir().expect("tempdir");
    let node_a = node(store_a.clone(), &schema, "node-a", &dir.path().join("a")).await;
    let node_b = node(store_b.clone(), &schema, "node-b", &dir.path().join("b")).await;
    // Both nodes listen before the call starts.
    tokio::time::sleep(Duration::from_secs(1)).await;

    let client = ConsoleClient::log_in(&node_a.base_url, "ana", PASSWORD).await;
    let mut board = client.websocket("/console/ws/board").await;
    let snapshot = next_json(&mut board).await.expect("snapshot");
    assert_eq!(snapshot["calls"], serde_json::json!([]));

    let account = store_b.account_by_debtor(&DebtorId("MX-0001".into())).await.expect("read").expect("MX-0001");
    let now = Utc.with_ymd_and_hms(2026, 12, 2, 16, 0, 0).single().expect("instant");
    let attempt_id = store_b.create_attempt(&NewAttempt::outbound(&account, now)).await.expect("attempt");
    let persona = persona::build("cooperative", &account, now.date_naive()).expect("persona");
    let mut ended = node_b.bus.subscribe();
    let call = tokio::spawn(simulator::run(node_b.simulated_call(attempt_id, &account, persona, &Config::embedded())));

    // Node A's board gets the row, named for node B.
    let row = tokio::time::timeout(WAIT, async {
        loop {
            let message = next_json(&mut board).await.expect("board open");
            let rows = message["upserts"].as_array().or(message["calls"].as_array()).cloned().unwrap_or_default();
            if let Some(row) = rows.into_iter().find(|row| row["attempt_id"] == attempt_id.0) {
                return row;
            }
        }
    })
    .await
    .expect("node A shows node B's call");
    assert_eq!(row["node"], "node-b");
    assert_eq!(row["country"], "MX");
    assert_eq!(row["phone"], format!("•••{}", &account.debtor.phone[account.debtor.phone.len() - 4..]));

    // Node A's call view gets node B's transcript as it is spoken.
    let mut view = client.websocket(&format!("/console/ws/calls/{attempt_id}")).await;
    let history = next_json(&mut view).await.expect("history");
    assert_eq!(history["type"], "history");
    let line = tokio::time::timeout(WAIT, async {
        loop {
            let message = next_json(&mut view).await.expect("call view open");
            if message["type"] == "line" {
                return message;
            }
        }
    })
    .await
    .expect("a transcript line from node B");
    assert_eq!(line["line"]["speaker"], "bot");

    // Listening in is for the node that holds the call's audio.
    let (status, body) =
        client.post(&format!("/console/api/calls/{attempt_id}/end"), serde_json::json!({}), true).await;
    assert_eq!(status, reqwest::StatusCode::CONFLICT, "{body}");
    assert!(body["error"].as_str().unwrap_or_default().contains("node-b"), "{body}");

    let _ = tokio::time::timeout(WAIT, call).await.expect("call ends").expect("task");
    loop {
        if let CallEvent::Ended { attempt_id: id, .. } = ended.recv().await.expect("bus") {
            if id == attempt_id {
                break;
            }
        }
    }
    let disposition = tokio::time::timeout(WAIT, async {
        loop {
            let message = next_json(&mut board).await.expect("board open");
            let rows = message["upserts"].as_array().cloned().unwrap_or_default();
            if let Some(row) =
                rows.into_iter().find(|row| row["attempt_id"] == attempt_id.0 && !row["disposition"].is_null())
            {
                return row["disposition"].clone();
            }
        }
    })
    .await
    .expect("node A sees the call end");
    let stored = store_a.attempt(attempt_id).await.expect("read").expect("attempt").disposition.expect("disposition");
    assert_eq!(disposition, serde_json::json!(stored.as_str()));

    node_a.stop().await;
    node_b.stop().await;
    drop_schema(&schema).await;
}
