//! The console's access rules over plain HTTP and WebSockets: the page's login token, failed
//! logins limited per user name, sessions, other origins, auditors, and the actions on a live
//! call (end politely, transfer through Twilio's REST API) written to the audit log.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::routing::post;
use chrono::{TimeZone, Utc};
use reqwest::StatusCode;
use serde_json::json;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

use cobranza::call::CallEvent;
use cobranza::clock::Clock;
use cobranza::collections::model::DebtorId;
use cobranza::collections::sqlite::SqliteStore;
use cobranza::collections::{NewAttempt, Store};
use cobranza::config::Config;
use cobranza::console::store::{ConsoleStore, NewUser, Role};
use cobranza::demo::{EmbeddedServer, SAMPLE_PORTFOLIO, SAMPLE_PORTFOLIO_NAME};
use cobranza::telephony::simulator::{self, persona};
use support::console_client::{login_token, next_json, try_log_in, ConsoleClient};

const PASSWORD: &str = "contraseña-de-prueba-1";
const WAIT: Duration = Duration::from_secs(120);

struct Setup {
    server: EmbeddedServer,
    store: Arc<SqliteStore>,
    config: Config,
    _dir: tempfile::TempDir,
}

async fn start(config: Config) -> Setup {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(SqliteStore::open(&dir.path().join("cobranza.db")).await.expect("store"));
    let portfolio =
        cobranza::collections::import::parse_portfolio_bytes(SAMPLE_PORTFOLIO_NAME, SAMPLE_PORTFOLIO).expect("fixture");
    store.import_portfolio(&portfolio.rows).await.expect("import");
    for (username, role) in [("ana", Role::Supervisor), ("auditoria", Role::Auditor)] {
        let password_hash = cobranza::console::hash_password(PASSWORD).expect("hash");
        store
            .create_user(&NewUser { username: username.into(), role, password_hash, created_at: Utc::now() })
            .await
            .expect("user");
    }
    let shared = Arc::new(config.clone());
    let providers = cobranza::demo::embedded_providers(Arc::new(support::Deaf), &shared);
    let now = Utc.with_ymd_and_hms(2026, 12, 2, 16, 0, 0).single().expect("instant");
    let server = EmbeddedServer::start_with_console(
        store.clone(),
        store.clone(),
        "node-a",
        providers,
        shared,
        Clock::starting_at(now),
        dir.path().to_path_buf(),
    )
    .await
    .expect("server starts");
    Setup { server, store, config, _dir: dir }
}

/// Starts a call that stays up: the debtor says nothing and speech-to-text hears nothing.
async fn live_call(setup: &Setup) -> (cobranza::collections::model::AttemptId, tokio::task::JoinHandle<()>) {
    let account = setup.store.account_by_debtor(&DebtorId("MX-0001".into())).await.expect("read").expect("MX-0001");
    let now = Utc.with_ymd_and_hms(2026, 12, 2, 16, 0, 0).single().expect("instant");
    let attempt_id = setup.store.create_attempt(&NewAttempt::outbound(&account, now)).await.expect("attempt");
    let persona = persona::build("silent", &account, now.date_naive()).expect("persona");
    let call = setup.server.simulated_call(attempt_id, &account, persona, &setup.config);
    let mut events = setup.server.bus.subscribe();
    let running = tokio::spawn(async move {
        let _ = simulator::run(call).await;
    });
    tokio::time::timeout(WAIT, async {
        loop {
            if let Ok(CallEvent::Started { attempt_id: id, .. }) = events.recv().await {
                if id == attempt_id {
                    return;
                }
            }
        }
    })
    .await
    .expect("the call starts");
    (attempt_id, running)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_without_the_pages_token_is_refused() {
    let setup = start(Config::embedded()).await;
    let http = reqwest::Client::new();
    let response = http
        .post(format!("{}/console/api/login", setup.server.base_url))
        .json(&json!({ "username": "ana", "password": PASSWORD }))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let (token, _) = login_token(&http, &setup.server.base_url).await;
    let response = http
        .post(format!("{}/console/api/login", setup.server.base_url))
        .header("x-csrf-token", token)
        .json(&json!({ "username": "ana", "password": PASSWORD }))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), StatusCode::FORBIDDEN, "the token is only good with its cookie");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_are_limited_per_user_name() {
    let setup = start(Config::embedded()).await;
    let http = reqwest::Client::new();
    for _ in 0..5 {
        let (status, body, session) = try_log_in(&http, &setup.server.base_url, "ana", "wrong password!").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(body["error"], "wrong user name or password");
        assert_eq!(session, None);
    }
    let (status, body, session) = try_log_in(&http, &setup.server.base_url, "ana", PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["retry_after_seconds"], 900);
    assert_eq!(session, None);
    // Another user from the same address still logs in.
    let (status, _, session) = try_log_in(&http, &setup.server.base_url, "auditoria", PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
    let cookie = session.expect("session cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain HTTP on loopback: {cookie}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_without_a_live_session_are_refused() {
    let setup = start(Config::embedded()).await;
    let http = reqwest::Client::new();
    let response = http.get(format!("{}/console/api/me", setup.server.base_url)).send().await.expect("answers");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let request = format!("{}/console/ws/board", setup.server.base_url.replace("http://", "ws://"));
    assert!(tokio_tungstenite::connect_async(request).await.is_err(), "no board without a session");

    let client = ConsoleClient::log_in(&setup.server.base_url, "ana", PASSWORD).await;
    assert_eq!(client.get("/console/api/me").await.0, StatusCode::OK);
    setup.store.set_user_disabled("ana", true).await.expect("disable");
    let (status, body) = client.get("/console/api/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");

    let auditor = ConsoleClient::log_in(&setup.server.base_url, "auditoria", PASSWORD).await;
    let (status, _) = auditor.post("/console/api/logout", json!({}), true).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(auditor.get("/console/api/me").await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_websocket_opened_from_another_site_is_refused() {
    let setup = start(Config::embedded()).await;
    let client = ConsoleClient::log_in(&setup.server.base_url, "ana", PASSWORD).await;
    let url = format!("{}/console/ws/board", setup.server.base_url.replace("http://", "ws://"));
    let mut request = url.as_str().into_client_request().expect("request");
    request.headers_mut().insert("cookie", client.session_cookie.parse().expect("header"));
    request.headers_mut().insert("origin", "http://collections.example".parse().expect("header"));
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status(), 403),
        other => panic!("expected 403, got {:?}", other.map(|(_, response)| response.status())),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_ends_a_live_call_politely_and_the_audit_log_names_them() {
    let setup = start(Config::embedded()).await;
    let (attempt_id, running) = live_call(&setup).await;
    let auditor = ConsoleClient::log_in(&setup.server.base_url, "auditoria", PASSWORD).await;
    let (status, body) = auditor.post(&format!("/console/api/calls/{attempt_id}/end"), json!({}), true).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let url = format!("{}/console/ws/calls/{attempt_id}/audio", setup.server.base_url.replace("http://", "ws://"));
    let mut request = url.as_str().into_client_request().expect("request");
    request.headers_mut().insert("cookie", auditor.session_cookie.parse().expect("header"));
    assert!(tokio_tungstenite::connect_async(request).await.is_err(), "auditors do not listen in");

    let client = ConsoleClient::log_in(&setup.server.base_url, "ana", PASSWORD).await;
    let mut events = setup.server.bus.subscribe();
    let (status, body) = client.post(&format!("/console/api/calls/{attempt_id}/end"), json!({}), true).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    tokio::time::timeout(WAIT, async {
        loop {
            if let Ok(CallEvent::Ended { attempt_id: id, .. }) = events.recv().await {
                if id == attempt_id {
                    return;
                }
            }
        }
    })
    .await
    .expect("the call ends");
    let _ = running.await;
    let transcript = setup.store.transcript(attempt_id).await.expect("read");
    let last = transcript.last().expect("lines");
    assert_eq!(last.speaker, cobranza::collections::model::Speaker::Bot, "the bot said goodbye: {transcript:?}");
    let audit = setup.store.audit_entries(10).await.expect("audit");
    let actions: Vec<(&str, &str)> =
        audit.iter().map(|entry| (entry.username.as_str(), entry.action.as_str())).collect();
    assert!(actions.contains(&("ana", "end_call")), "{actions:?}");
    assert_eq!(
        audit.iter().find(|entry| entry.action == "end_call").map(|entry| entry.target.clone()),
        Some(attempt_id.to_string())
    );
}

#[derive(Clone, Default)]
struct TwimlUpdates(Arc<Mutex<Vec<(String, String)>>>);

async fn update_call(
    State(updates): State<TwimlUpdates>,
    Path((_account, call)): Path<(String, String)>,
    body: String,
) -> axum::Json<serde_json::Value> {
    let sid = call.trim_end_matches(".json").to_string();
    let twiml = url::form_urlencoded::parse(body.as_bytes())
        .find(|(key, _)| key == "Twiml")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default();
    updates.0.lock().expect("lock").push((sid.clone(), twiml));
    axum::Json(json!({ "sid": sid, "status": "in-progress" }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_sends_the_call_to_the_configured_number_through_twilio() {
    let updates = TwimlUpdates::default();
    let app = axum::Router::new()
        .route("/2010-04-01/Accounts/{account}/Calls/{call}", post(update_call))
        .with_state(updates.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let twilio_url = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let mut config = Config::embedded();
    config.dialer.twilio_api_base_url = twilio_url;
    config.console.transfer_number = "+525550001111".into();
    let setup = start(config).await;
    let (attempt_id, running) = live_call(&setup).await;

    let client = ConsoleClient::log_in(&setup.server.base_url, "ana", PASSWORD).await;
    let (status, body) = client.post(&format!("/console/api/calls/{attempt_id}/transfer"), json!({}), true).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let sid = setup.store.attempt(attempt_id).await.expect("read").expect("attempt").call_sid.expect("sid");
    let recorded = updates.0.lock().expect("lock").clone();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].0, sid.0);
    assert_eq!(
        recorded[0].1,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Dial>+525550001111</Dial></Response>"
    );
    let audit = setup.store.audit_entries(10).await.expect("audit");
    assert_eq!(
        (audit[0].username.as_str(), audit[0].action.as_str(), audit[0].detail.as_str()),
        ("ana", "transfer", "•••1111")
    );
    running.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_sent_at_once_are_counted_before_their_passwords_are_checked() {
    let setup = start(Config::embedded()).await;
    let http = reqwest::Client::new();
    let base_url = setup.server.base_url.clone();
    let tries: Vec<_> = (0..12)
        .map(|attempt| {
            let (http, base_url) = (http.clone(), base_url.clone());
            let password = format!("wrong guess {attempt}");
            tokio::spawn(async move { try_log_in(&http, &base_url, "ana", &password).await.0 })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tries {
        statuses.push(task.await.expect("task"));
    }
    // Every try is counted before any password is checked, so at most five are checked, and the
    // right password after the burst is refused too.
    let checked = statuses.iter().filter(|status| **status == StatusCode::UNAUTHORIZED).count();
    assert!(checked <= 5, "{statuses:?}");
    assert_eq!(checked + statuses.iter().filter(|status| **status == StatusCode::TOO_MANY_REQUESTS).count(), 12);
    let (status, _, _) = try_log_in(&http, &base_url, "ana", PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let (status, body, _) = try_log_in(&http, &base_url, &"x".repeat(5_000), PASSWORD).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("wrong user name or password")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_board_closes_when_its_session_ends() {
    let setup = start(Config::embedded()).await;
    let client = ConsoleClient::log_in(&setup.server.base_url, "ana", PASSWORD).await;
    let mut board = client.websocket("/console/ws/board").await;
    assert_eq!(next_json(&mut board).await.expect("snapshot")["type"], "snapshot");
    let (status, _) = client.post("/console/api/logout", json!({}), true).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let after = tokio::time::timeout(WAIT, next_json(&mut board)).await.expect("the board closes");
    assert_eq!(after, None, "no message after the session ended");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auditors_cannot_play_recordings_or_search_by_phone() {
    let setup = start(Config::embedded()).await;
    let auditor = ConsoleClient::log_in(&setup.server.base_url, "auditoria", PASSWORD).await;
    let (status, body) = auditor.get("/console/api/calls?phone=0003").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = auditor.get("/console/api/calls/1/recording").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let supervisor = ConsoleClient::log_in(&setup.server.base_url, "ana", PASSWORD).await;
    let (status, body) = supervisor.get("/console/api/calls?phone=abc").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("phone must contain digits, e.g. 5512345678"))
    );
    let (status, body) = supervisor.get("/console/api/kpis?from=2020-01-01&to=2026-12-01").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draft_campaign_neither_pauses_nor_resumes_from_the_console() {
    let setup = start(Config::embedded()).await;
    let settings: cobranza::campaign::settings::CampaignSettings = toml::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/campaigns/reminders.toml"))
            .expect("settings"),
    )
    .expect("valid settings");
    use cobranza::campaign::store::CampaignStore as _;
    setup.store.create_campaign("borrador", &settings, Utc::now()).await.expect("campaign");
    let client = ConsoleClient::log_in(&setup.server.base_url, "ana", PASSWORD).await;
    for action in ["pause", "resume"] {
        let (status, body) = client.post(&format!("/console/api/campaigns/borrador/{action}"), json!({}), true).await;
        assert_eq!(status, StatusCode::CONFLICT, "{action}: {body}");
    }
    let (status, body) = client.post("/console/api/campaigns/borrador/stop", json!({}), true).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["campaign"]["status"], "stopped");
}
