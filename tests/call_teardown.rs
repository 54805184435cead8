//! Calls ending every way a stream can end (`stop`, a close, a dropped socket) over real
//! WebSockets on loopback: each ends its own speech, dialog and recording and no other call, and
//! nothing it started is left running.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use cobranza::clock::Clock;
use cobranza::collections::import::parse_portfolio_bytes;
use cobranza::collections::model::{AttemptId, DebtorId, Disposition};
use cobranza::collections::sqlite::SqliteStore;
use cobranza::collections::{NewAttempt, Store};
use cobranza::config::Config;
use cobranza::demo::{EmbeddedServer, SAMPLE_PORTFOLIO, SAMPLE_PORTFOLIO_NAME};
use cobranza::telephony::twilio::{signature, twiml};

mod support;
use support::Deaf;

struct Fixture {
    server: EmbeddedServer,
    store: Arc<SqliteStore>,
    dir: tempfile::TempDir,
}

async fn start() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(SqliteStore::open(&dir.path().join("cobranza.db")).await.expect("store"));
    let portfolio = parse_portfolio_bytes(SAMPLE_PORTFOLIO_NAME, SAMPLE_PORTFOLIO).expect("fixture parses");
    store.import_portfolio(&portfolio.rows).await.expect("imports");
    let now = Utc.with_ymd_and_hms(2026, 12, 2, 16, 0, 0).single().expect("instant");
    let server = EmbeddedServer::start(
        store.clone(),
        Arc::new(Deaf),
        Arc::new(Config::embedded()),
        Clock::starting_at(now),
        dir.path().to_path_buf(),
    )
    .await
    .expect("server starts");
    Fixture { server, store, dir }
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A stream Twilio would open for a new attempt on MX-0001: its URL and start message.
struct Bridged {
    attempt_id: AttemptId,
    url: String,
    token: String,
}

async fn bridge(fixture: &Fixture, client: &reqwest::Client, call: usize) -> Bridged {
    let now = Utc.with_ymd_and_hms(2026, 12, 2, 16, 0, 0).single().expect("instant");
    let account = fixture.store.account_by_debtor(&DebtorId("MX-0001".into())).await.expect("read").expect("MX-0001");
    let attempt_id = fixture.store.create_attempt(&NewAttempt::outbound(&account, now)).await.expect("attempt");
    let url = format!("{}/twilio/voice?attempt={attempt_id}", fixture.server.base_url);
    let params: Vec<(String, String)> =
        [("CallSid", format!("CA{call:04}")), ("AccountSid", "AC0001".into()), ("To", "+525550100001".into())]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
    let signed = signature::compute(&fixture.server.twilio.auth_token, &url, &params);
    let response = client.post(&url).header("x-twilio-signature", signed).form(&params).send().await.expect("answer");
    let target = twiml::parse_stream_target(&response.text().await.expect("body")).expect("bridged");
    Bridged { attempt_id, url: target.url, token: target.parameters[1].1.clone() }
}

async fn open(fixture: &Fixture, bridged: &Bridged) -> Socket {
    let mut request = bridged.url.as_str().into_client_request().expect("request");
    let value = signature::compute(&fixture.server.twilio.auth_token, &bridged.url, &[]);
    request.headers_mut().insert("x-twilio-signature", value.parse().expect("header"));
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.expect("upgrade");
    let start = json!({
        "event": "start", "sequenceNumber": "1", "streamSid": "MZ0001",
        "start": {
            "streamSid": "MZ0001", "accountSid": "AC0001", "callSid": "CA0001", "tracks": ["inbound"],
            "customParameters": {"attempt": bridged.attempt_id.to_string(), "token": bridged.token},
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}
        }
    });
    socket.send(Message::Text(start.to_string().into())).await.expect("send start");
    socket
}

/// Reads until the server sends `count` audio frames; fails if it stops sending first.
async fn receive_audio(socket: &mut Socket, count: usize) {
    let mut received = 0;
    while received < count {
        let message = tokio::time::timeout(Duration::from_secs(30), socket.next())
            .await
            .expect("the bot keeps sending")
            .expect("socket open")
            .expect("readable");
        if let Message::Text(text) = message {
            let value: serde_json::Value = serde_json::from_str(&text).expect("JSON");
            if value["event"] == "media" {
                received += 1;
            }
        }
    }
}

async fn send_stop(socket: &mut Socket) {
    let stop = json!({"event": "stop", "sequenceNumber": "9", "streamSid": "MZ0001", "stop": {"callSid": "CA0001"}});
    socket.send(Message::Text(stop.to_string().into())).await.expect("send stop");
}

/// Waits until the store holds the attempt's disposition.
async fn disposition(fixture: &Fixture, attempt_id: AttemptId) -> cobranza::collections::Attempt {
    for _ in 0..300 {
        let attempt = fixture.store.attempt(attempt_id).await.expect("read").expect("attempt");
        if attempt.disposition.is_some() {
            return attempt;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("attempt {attempt_id} never got a disposition");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_socket_spares_other_call() {
    let fixture = start().await;
    let client = reqwest::Client::new();
    let first = bridge(&fixture, &client, 1).await;
    let second = bridge(&fixture, &client, 2).await;
    let mut dropped = open(&fixture, &first).await;
    let mut other = open(&fixture, &second).await;
    receive_audio(&mut dropped, 10).await;
    receive_audio(&mut other, 10).await;

    // Mid-greeting, the first socket goes away without a close frame.
    drop(dropped);
    let ended = disposition(&fixture, first.attempt_id).await;
    assert_eq!(ended.disposition, Some(Disposition::HungUp));
    let recording = ended.recording_path.expect("recording written");
    assert!(std::path::Path::new(&recording).starts_with(fixture.dir.path()));
    assert!(std::fs::metadata(&recording).expect("recording on disk").len() > 44);

    // The second call is still being spoken to, frame after frame.
    receive_audio(&mut other, 25).await;
    let still_open = fixture.store.attempt(second.attempt_id).await.expect("read").expect("attempt");
    assert_eq!(still_open.disposition, None);
    send_stop(&mut other).await;
    assert_eq!(disposition(&fixture, second.attempt_id).await.disposition, Some(Disposition::HungUp));
    fixture.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_calls_leave_no_tasks() {
    let fixture = start().await;
    let mut bridged = Vec::new();
    {
        let client = reqwest::Client::builder().pool_max_idle_per_host(0).build().expect("client");
        for call in 0..100 {
            bridged.push(bridge(&fixture, &client, call).await);
        }
    }
    let runtime = tokio::runtime::Handle::current().metrics();
    // The webhook connections close; what is left is the server itself.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = runtime.num_alive_tasks();

    // Ten at a time, ending by `stop`, by a close frame, or by dropping the socket.
    for (batch, calls) in bridged.chunks(10).enumerate() {
        let mut sockets = Vec::new();
        for call in calls {
            sockets.push(open(&fixture, call).await);
        }
        for socket in &mut sockets {
            receive_audio(socket, 3).await;
        }
        for (index, mut socket) in sockets.into_iter().enumerate() {
            match (batch + index) % 3 {
                0 => send_stop(&mut socket).await,
                1 => socket.close(None).await.expect("close"),
                _ => drop(socket),
            }
        }
        for call in calls {
            assert_eq!(disposition(&fixture, call.attempt_id).await.disposition, Some(Disposition::HungUp));
        }
    }

    let mut after = runtime.num_alive_tasks();
    for _ in 0..100 {
        if after <= before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        after = runtime.num_alive_tasks();
    }
    assert_eq!(after, before, "tasks left running after 100 calls");
    fixture.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_served_as_prometheus_text() {
    let fixture = start().await;
    let client = reqwest::Client::new();
    let bridged = bridge(&fixture, &client, 7).await;
    let mut socket = open(&fixture, &bridged).await;
    receive_audio(&mut socket, 3).await;

    let response = client.get(format!("{}/metrics", fixture.server.base_url)).send().await.expect("answer");
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().expect("ascii").to_string();
    assert_eq!(content_type, "text/plain; version=0.0.4");
    let body = response.text().await.expect("body");
    let active: i64 = body
        .lines()
        .find_map(|line| line.strip_prefix("cobranza_active_calls "))
        .expect("active calls gauge")
        .parse()
        .expect("a number");
    assert!(active >= 1, "{body}");
    assert!(body.contains("# TYPE cobranza_turn_stage_seconds histogram"));
    assert!(body.contains("cobranza_turn_stage_seconds_bucket{stage=\"first_frame\",le=\"+Inf\"}"));

    send_stop(&mut socket).await;
    assert_eq!(disposition(&fixture, bridged.attempt_id).await.disposition, Some(Disposition::HungUp));
    fixture.server.stop().await;
}
