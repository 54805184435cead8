//! The server's Twilio edge over real HTTP and WebSockets on loopback: signatures on webhooks and
//! on the stream upgrade, single-use stream tokens, and a stream that survives bad frames.

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
    attempt_id: AttemptId,
    _dir: tempfile::TempDir,
}

async fn start() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(SqliteStore::open(&dir.path().join("cobranza.db")).await.expect("store"));
    let portfolio = parse_portfolio_bytes(SAMPLE_PORTFOLIO_NAME, SAMPLE_PORTFOLIO).expect("fixture parses");
    store.import_portfolio(&portfolio.rows).await.expect("imports");
    let now = Utc.with_ymd_and_hms(2026, 12, 2, 16, 0, 0).single().expect("instant");
    let account = store.account_by_debtor(&DebtorId("MX-0001".into())).await.expect("read").expect("MX-0001");
    let attempt_id = store.create_attempt(&NewAttempt::outbound(&account, now)).await.expect("attempt");
    let server = EmbeddedServer::start(
        store.clone(),
        Arc::new(Deaf),
        Arc::new(Config::embedded()),
        Clock::starting_at(now),
        dir.path().to_path_buf(),
    )
    .await
    .expect("server starts");
    Fixture { server, store, attempt_id, _dir: dir }
}

fn voice_params() -> Vec<(String, String)> {
    [("CallSid", "CA0001"), ("AccountSid", "AC0001"), ("From", "+15005550006"), ("To", "+525550100001")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

async fn post_voice(fixture: &Fixture, signature_value: Option<String>) -> reqwest::Response {
    let url = format!("{}/twilio/voice?attempt={}", fixture.server.base_url, fixture.attempt_id);
    let mut request = reqwest::Client::new().post(&url).form(&voice_params());
    if let Some(value) = signature_value {
        request = request.header("x-twilio-signature", value);
    }
    request.send().await.expect("server answers")
}

async fn signed_twiml(fixture: &Fixture) -> twiml::StreamTarget {
    let url = format!("{}/twilio/voice?attempt={}", fixture.server.base_url, fixture.attempt_id);
    let signed = signature::compute(&fixture.server.twilio.auth_token, &url, &voice_params());
    let response = post_voice(fixture, Some(signed)).await;
    assert_eq!(response.status(), 200);
    twiml::parse_stream_target(&response.text().await.expect("body")).expect("TwiML has a stream")
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(fixture: &Fixture, url: &str, signed: bool) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
    let mut request = url.into_client_request().expect("request");
    if signed {
        let value = signature::compute(&fixture.server.twilio.auth_token, url, &[]);
        request.headers_mut().insert("x-twilio-signature", value.parse().expect("header"));
    }
    tokio_tungstenite::connect_async(request).await.map(|(socket, _)| socket)
}

fn start_message(token: &str, attempt: &str) -> Message {
    let body = json!({
        "event": "start", "sequenceNumber": "1", "streamSid": "MZ0001",
        "start": {
            "streamSid": "MZ0001", "accountSid": "AC0001", "callSid": "CA0001", "tracks": ["inbound"],
            "customParameters": {"attempt": attempt, "token": token},
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}
        }
    });
    Message::Text(body.to_string().into())
}

/// Reads until the server sends a text frame with `event`, or closes.
async fn next_event(socket: &mut Socket) -> Option<String> {
    loop {
        match tokio::time::timeout(Duration::from_secs(30), socket.next()).await.ok()?? {
            Ok(Message::Text(text)) => {
                let value: serde_json::Value = serde_json::from_str(&text).expect("server sends JSON");
                return value["event"].as_str().map(str::to_string);
            }
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

#[tokio::test]
async fn unsigned_webhook_is_rejected() {
    let fixture = start().await;
    assert_eq!(post_voice(&fixture, None).await.status(), 403);
    assert_eq!(post_voice(&fixture, Some("RSOYDt4T1cUTdK1PDd93/VVr8B8=".into())).await.status(), 403);
    fixture.server.stop().await;
}

#[tokio::test]
async fn signed_webhook_gets_stream_twiml() {
    let fixture = start().await;
    let target = signed_twiml(&fixture).await;
    let expected_url = format!("{}/twilio/media", fixture.server.base_url.replacen("http://", "ws://", 1));
    assert_eq!(target.url, expected_url);
    assert!(!target.url.contains('?'));
    let names: Vec<&str> = target.parameters.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, vec!["attempt", "token"]);
    assert_eq!(target.parameters[0].1, fixture.attempt_id.to_string());
    fixture.server.stop().await;
}

#[tokio::test]
async fn unsigned_stream_upgrade_is_rejected() {
    let fixture = start().await;
    let target = signed_twiml(&fixture).await;
    let error = connect(&fixture, &target.url, false).await.expect_err("rejected");
    let tokio_tungstenite::tungstenite::Error::Http(response) = error else { panic!("not an HTTP rejection: {error}") };
    assert_eq!(response.status(), 403);
    fixture.server.stop().await;
}

#[tokio::test]
async fn stream_with_wrong_token_is_closed() {
    let fixture = start().await;
    let target = signed_twiml(&fixture).await;
    let mut socket = connect(&fixture, &target.url, true).await.expect("upgrade");
    socket.send(start_message("not-the-token", &fixture.attempt_id.to_string())).await.expect("send");
    assert_eq!(next_event(&mut socket).await, None);
    fixture.server.stop().await;
}

#[tokio::test]
async fn stream_token_works_once() {
    let fixture = start().await;
    let target = signed_twiml(&fixture).await;
    let token = target.parameters[1].1.clone();
    let attempt = target.parameters[0].1.clone();

    let mut first = connect(&fixture, &target.url, true).await.expect("upgrade");
    first.send(start_message(&token, &attempt)).await.expect("send");
    assert_eq!(next_event(&mut first).await.as_deref(), Some("media"));

    let mut second = connect(&fixture, &target.url, true).await.expect("upgrade");
    second.send(start_message(&token, &attempt)).await.expect("send");
    assert_eq!(next_event(&mut second).await, None);
    fixture.server.stop().await;
}

#[tokio::test]
async fn bad_frames_do_not_end_the_call() {
    let fixture = start().await;
    let target = signed_twiml(&fixture).await;
    let mut socket = connect(&fixture, &target.url, true).await.expect("upgrade");
    socket
        .send(Message::Text(json!({"event": "connected", "protocol": "Call"}).to_string().into()))
        .await
        .expect("send");
    socket.send(start_message(&target.parameters[1].1, &target.parameters[0].1)).await.expect("send");

    let junk = [
        Message::Binary(vec![0xFF; 160].into()),
        Message::Text("not json".into()),
        Message::Text(json!({"event": "transcription", "streamSid": "MZ0001"}).to_string().into()),
        Message::Text(json!({"event": "media", "streamSid": "MZ0001", "media": {"payload": "%%%"}}).to_string().into()),
        Message::Text(
            json!({"event": "media", "streamSid": "MZ0001", "media": {"timestamp": "x", "payload": ""}})
                .to_string()
                .into(),
        ),
        Message::Text(json!({"event": "dtmf", "streamSid": "MZ0001", "dtmf": {"digit": ""}}).to_string().into()),
        Message::Text(
            json!({"event": "mark", "streamSid": "MZ0001", "mark": {"name": "no-such-mark"}}).to_string().into(),
        ),
    ];
    for message in junk {
        socket.send(message).await.expect("socket still open");
    }
    // The bot keeps talking: its greeting still arrives after every bad frame.
    let mut media_after_junk = 0;
    while media_after_junk < 10 {
        assert_eq!(next_event(&mut socket).await.as_deref().map(|e| e == "media" || e == "mark"), Some(true));
        media_after_junk += 1;
    }

    let stop = json!({"event": "stop", "sequenceNumber": "9", "streamSid": "MZ0001", "stop": {"callSid": "CA0001"}});
    socket.send(Message::Text(stop.to_string().into())).await.expect("send");
    let mut events = fixture.server.bus.subscribe();
    let attempt = loop {
        let stored = fixture.store.attempt(fixture.attempt_id).await.expect("read").expect("attempt");
        if stored.disposition.is_some() {
            break stored;
        }
        let _ = tokio::time::timeout(Duration::from_millis(200), events.recv()).await;
    };
    assert_eq!(attempt.disposition, Some(Disposition::HungUp));
    assert!(!attempt.right_party_contact);
    fixture.server.stop().await;
}

#[tokio::test]
async fn ended_attempt_is_not_bridged_again() {
    let fixture = start().await;
    let outcome = cobranza::collections::AttemptOutcome {
        disposition: Disposition::WrongNumber,
        answered: true,
        right_party_contact: false,
        ended_at: Utc.with_ymd_and_hms(2026, 12, 2, 16, 5, 0).single().expect("instant"),
        recording_path: None,
        costs: Vec::new(),
    };
    fixture.store.finish_attempt(fixture.attempt_id, &outcome).await.expect("finished");
    let url = format!("{}/twilio/voice?attempt={}", fixture.server.base_url, fixture.attempt_id);
    let signed = signature::compute(&fixture.server.twilio.auth_token, &url, &voice_params());
    let response = post_voice(&fixture, Some(signed)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.expect("body"), twiml::hangup());
    fixture.server.stop().await;
}

#[tokio::test]
async fn inbound_call_finds_debtor_by_phone() {
    let fixture = start().await;
    let url = format!("{}/twilio/voice", fixture.server.base_url);
    let params: Vec<(String, String)> = [("CallSid", "CA0002"), ("From", "+525550100001"), ("To", "+15005550006")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let signed = signature::compute(&fixture.server.twilio.auth_token, &url, &params);
    let response = reqwest::Client::new()
        .post(&url)
        .header("x-twilio-signature", signed)
        .form(&params)
        .send()
        .await
        .expect("answer");
    let target = twiml::parse_stream_target(&response.text().await.expect("body")).expect("bridged");
    let attempt_id = AttemptId(target.parameters[0].1.parse().expect("attempt id"));
    let attempt = fixture.store.attempt(attempt_id).await.expect("read").expect("inbound attempt");
    assert_eq!(attempt.debtor_id, DebtorId("MX-0001".into()));
    assert_eq!(attempt.direction, cobranza::collections::Direction::Inbound);
    assert_eq!(attempt.call_sid.map(|sid| sid.0), Some("CA0002".to_string()));
    fixture.server.stop().await;
}
