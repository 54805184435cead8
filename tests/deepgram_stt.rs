//! The Deepgram streaming client against a fake Deepgram server on 127.0.0.1.

#[path = "support/fake_deepgram.rs"]
mod fake_deepgram;

use std::time::Duration;

use cobranza::dialog::Language;
use cobranza::speech::stt::deepgram::{ApiKey, DeepgramSettings, DeepgramStt};
use cobranza::speech::stt::{SpeechToText, SttEvent, SttInput, SttStream};
use cobranza::speech::SpeechError;
use fake_deepgram::{results, utterance_end, FakeDeepgram, Reply, Script, API_KEY};

fn client(fake: &FakeDeepgram) -> DeepgramStt {
    let settings = DeepgramSettings {
        base_url: fake.base_url(),
        keepalive_interval: Duration::from_secs(3),
        connect_timeout: Duration::from_secs(5),
        close_timeout: Duration::from_secs(2),
        ..DeepgramSettings::default()
    };
    DeepgramStt::new(settings, ApiKey::new(API_KEY))
}

async fn open(fake: &FakeDeepgram) -> SttStream {
    client(fake).open(Language::Es).await.expect("the fake accepts the stream")
}

async fn next_event(stream: &mut SttStream) -> SttEvent {
    tokio::time::timeout(Duration::from_secs(5), stream.events.recv())
        .await
        .expect("an event within 5 s")
        .expect("the stream is still open")
}

async fn send(stream: &SttStream, input: SttInput) {
    stream.input.send(input).await.expect("the stream takes input");
}

fn audio(samples: usize) -> SttInput {
    SttInput::Audio(vec![1_000; samples])
}

fn final_text(text: &str) -> SttEvent {
    SttEvent::Final { text: text.to_string() }
}

fn partial_text(text: &str) -> SttEvent {
    SttEvent::Partial { text: text.to_string() }
}

fn final_reply(text: &str) -> String {
    results(text, true, false, false)
}

fn from_finalize(text: &str) -> String {
    results(text, true, false, true)
}

#[tokio::test]
async fn turn_joins_interim_and_final_pieces() {
    let script = Script {
        after_audio: vec![
            (1_600, Reply::Text(results("quiero", false, false, false))),
            (3_200, Reply::Text(final_reply("quiero pagar"))),
            (4_800, Reply::Text(results("el viernes", true, true, false))),
        ],
        finalize_replies: vec![from_finalize("")],
        ..Script::default()
    };
    let fake = FakeDeepgram::start(vec![script]).await;
    let mut stream = open(&fake).await;

    send(&stream, SttInput::SpeechStarted).await;
    send(&stream, audio(1_600)).await;
    assert_eq!(next_event(&mut stream).await, partial_text("quiero"));
    send(&stream, audio(1_600)).await;
    assert_eq!(next_event(&mut stream).await, partial_text("quiero pagar"));
    send(&stream, audio(1_600)).await;
    send(&stream, SttInput::Finalize).await;
    assert_eq!(next_event(&mut stream).await, final_text("quiero pagar el viernes"));

    drop(stream.input);
    assert_eq!(stream.events.recv().await, None);
    let connections = fake.connections();
    assert_eq!(connections.len(), 1);
    let connection = &connections[0];
    assert_eq!(connection.path, "/v1/listen");
    assert_eq!(connection.authorization.as_deref(), Some("Token test-key"));
    assert_eq!(connection.query["encoding"], "mulaw");
    assert_eq!(connection.query["sample_rate"], "8000");
    assert_eq!(connection.query["channels"], "1");
    assert_eq!(connection.query["model"], "nova-3");
    assert_eq!(connection.query["language"], "es");
    assert_eq!(connection.query["interim_results"], "true");
    assert_eq!(connection.query["endpointing"], "300");
    assert_eq!(connection.query["utterance_end_ms"], "1000");
    assert_eq!(connection.audio_bytes, 4_800);
}

#[tokio::test]
async fn finalize_returns_the_flushed_transcript() {
    let script = Script { finalize_replies: vec![from_finalize("sí, soy yo")], ..Script::default() };
    let fake = FakeDeepgram::start(vec![script]).await;
    let mut stream = open(&fake).await;

    send(&stream, SttInput::SpeechStarted).await;
    send(&stream, audio(800)).await;
    send(&stream, SttInput::Finalize).await;

    assert_eq!(next_event(&mut stream).await, final_text("sí, soy yo"));
    let connections = fake.connections();
    assert_eq!(connections[0].finalizes, 1);
    assert_eq!(connections[0].texts, vec![r#"{"type":"Finalize"}"#.to_string()]);
    assert_eq!(connections[0].audio_bytes, 800);
}

#[tokio::test]
async fn utterance_end_closes_a_finalized_turn() {
    let script = Script {
        after_audio: vec![(800, Reply::Text(final_reply("aló")))],
        finalize_replies: vec![utterance_end()],
        ..Script::default()
    };
    let fake = FakeDeepgram::start(vec![script]).await;
    let mut stream = open(&fake).await;

    send(&stream, audio(800)).await;
    assert_eq!(next_event(&mut stream).await, partial_text("aló"));
    send(&stream, SttInput::Finalize).await;

    assert_eq!(next_event(&mut stream).await, final_text("aló"));
}

#[tokio::test]
async fn silent_turn_finalizes_empty() {
    let script = Script { finalize_replies: vec![from_finalize("")], ..Script::default() };
    let fake = FakeDeepgram::start(vec![script]).await;
    let mut stream = open(&fake).await;

    send(&stream, audio(800)).await;
    send(&stream, SttInput::Finalize).await;

    assert_eq!(next_event(&mut stream).await, final_text(""));
}

/// Lets the client and the fake run without moving the paused clock until `done` holds.
async fn run_until(fake: &FakeDeepgram, done: impl Fn(&fake_deepgram::ConnectionLog) -> bool) {
    for _ in 0..1_000_000 {
        if fake.connections().first().is_some_and(&done) {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("the fake never reached the expected state: {:?}", fake.connections());
}

// With the clock paused, awaiting socket I/O would let tokio jump the clock to the next
// KeepAlive tick, so the test waits on the fake's log with `yield_now`, which keeps time still.
#[tokio::test(flavor = "current_thread")]
async fn keepalive_sent_only_while_no_audio_flows() {
    let fake = FakeDeepgram::start(vec![Script::default()]).await;
    let stream = open(&fake).await;
    tokio::time::pause();

    // No audio for 10.5 s: a KeepAlive at 3, 6 and 9 s.
    tokio::time::sleep(Duration::from_millis(10_500)).await;
    run_until(&fake, |connection| connection.keepalives >= 3).await;
    assert_eq!(fake.connections()[0].keepalives, 3);

    // Audio every second for 10 s: no KeepAlive.
    for _ in 0..10 {
        send(&stream, audio(160)).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    run_until(&fake, |connection| connection.audio_bytes >= 1_600).await;
    let connection = &fake.connections()[0];
    assert_eq!(connection.audio_bytes, 1_600);
    assert_eq!(connection.keepalives, 3);
    assert_eq!(connection.texts.iter().filter(|t| t.as_str() == r#"{"type":"KeepAlive"}"#).count(), 3);
}

async fn rejected_open(reject: (u16, &'static str, &'static str)) -> SpeechError {
    let fake = FakeDeepgram::start(vec![Script { reject: Some(reject), ..Script::default() }]).await;
    client(&fake).open(Language::Es).await.err().expect("the upgrade is rejected")
}

#[tokio::test]
async fn rate_limit_rejection_names_status_and_fix() {
    let error = rejected_open((429, "TOO_MANY_REQUESTS", "Too many requests.")).await;
    let reason = "upgrade rejected with HTTP 429 (TOO_MANY_REQUESTS: Too many requests.); too many requests or \
                  concurrent streams for this Deepgram project; retry later or raise the limit";
    assert_eq!(error, SpeechError::Provider { provider: "deepgram", reason: reason.to_string() });
}

#[tokio::test]
async fn server_error_rejection_names_status() {
    let error = rejected_open((500, "INTERNAL_SERVER_ERROR", "Internal error.")).await;
    let reason =
        "upgrade rejected with HTTP 500 (INTERNAL_SERVER_ERROR: Internal error.); Deepgram had a server error; retry later";
    assert_eq!(error, SpeechError::Provider { provider: "deepgram", reason: reason.to_string() });
}

#[tokio::test]
async fn wrong_api_key_is_rejected_with_401() {
    let fake = FakeDeepgram::start(vec![]).await;
    let settings = DeepgramSettings { base_url: fake.base_url(), ..DeepgramSettings::default() };
    let stt = DeepgramStt::new(settings, ApiKey::new("wrong-key"));

    let error = stt.open(Language::En).await.err().expect("the key is rejected");

    let reason = "upgrade rejected with HTTP 401 (INVALID_AUTH: Invalid credentials.); check the Deepgram API key \
                  and its permissions";
    assert_eq!(error, SpeechError::Provider { provider: "deepgram", reason: reason.to_string() });
    assert_eq!(fake.connections()[0].query["language"], "en");
    assert!(!format!("{stt:?}").contains("wrong-key"));
}

#[tokio::test]
async fn slow_upgrade_times_out() {
    let script = Script { upgrade_delay: Duration::from_secs(30), ..Script::default() };
    let fake = FakeDeepgram::start(vec![script]).await;
    let settings = DeepgramSettings {
        base_url: fake.base_url(),
        connect_timeout: Duration::from_millis(200),
        ..DeepgramSettings::default()
    };

    let error = DeepgramStt::new(settings, ApiKey::new(API_KEY)).open(Language::Es).await.err().expect("timeout");

    let reason = format!(
        "connecting to {} timed out after 200 ms; check the network or raise the connect timeout",
        fake.base_url()
    );
    assert_eq!(error, SpeechError::Unavailable { provider: "deepgram", reason });
}

#[tokio::test]
async fn malformed_message_is_skipped() {
    let script = Script {
        after_audio: vec![
            (800, Reply::Text(r#"{"type":"Results","channel":"#.to_string())),
            (800, Reply::Text(r#"{"type":"Results","is_final":true}"#.to_string())),
            (800, Reply::Text(final_reply("buenos días"))),
        ],
        finalize_replies: vec![from_finalize("")],
        ..Script::default()
    };
    let fake = FakeDeepgram::start(vec![script]).await;
    let mut stream = open(&fake).await;

    send(&stream, audio(800)).await;
    assert_eq!(next_event(&mut stream).await, partial_text("buenos días"));
    send(&stream, SttInput::Finalize).await;

    assert_eq!(next_event(&mut stream).await, final_text("buenos días"));
    assert_eq!(fake.connections().len(), 1);
}

#[tokio::test]
async fn drop_mid_turn_resends_turn_audio() {
    let first = Script {
        after_audio: vec![(1_600, Reply::Text(final_reply("me llamo"))), (1_600, Reply::Drop)],
        ..Script::default()
    };
    let second = Script { finalize_replies: vec![from_finalize("me llamo Ana Pérez")], ..Script::default() };
    let fake = FakeDeepgram::start(vec![first, second]).await;
    let mut stream = open(&fake).await;

    send(&stream, SttInput::SpeechStarted).await;
    send(&stream, audio(1_600)).await;
    assert_eq!(next_event(&mut stream).await, partial_text("me llamo"));
    send(&stream, audio(800)).await;
    send(&stream, SttInput::Finalize).await;

    assert_eq!(next_event(&mut stream).await, final_text("me llamo Ana Pérez"));
    let connections = fake.connections();
    assert_eq!(connections.len(), 2);
    assert_eq!(connections[0].audio_bytes, 1_600);
    assert_eq!(connections[1].audio_bytes, 2_400);
    assert_eq!(connections[1].finalizes, 1);
    assert_eq!(connections[1].query, connections[0].query);
    assert_eq!(connections[1].authorization.as_deref(), Some("Token test-key"));
}

#[tokio::test]
async fn second_drop_in_one_turn_reports_an_error() {
    let dropping = Script { after_audio: vec![(800, Reply::Drop)], ..Script::default() };
    let fake = FakeDeepgram::start(vec![dropping.clone(), dropping]).await;
    let mut stream = open(&fake).await;

    send(&stream, SttInput::SpeechStarted).await;
    send(&stream, audio(800)).await;

    let event = next_event(&mut stream).await;
    assert!(
        matches!(&event, SttEvent::Error(SpeechError::Provider { provider: "deepgram", reason })
            if reason.starts_with("stream dropped again after a reconnect")),
        "{event:?}"
    );
    assert_eq!(fake.connections().len(), 2);
}

#[tokio::test]
async fn stream_end_sends_close_stream() {
    let fake = FakeDeepgram::start(vec![Script::default()]).await;
    let mut stream = open(&fake).await;

    send(&stream, audio(400)).await;
    drop(stream.input);

    assert_eq!(next_event_or_end(&mut stream.events).await, None);
    let connection = &fake.connections()[0];
    assert!(connection.close_stream);
    assert_eq!(connection.texts, vec![r#"{"type":"CloseStream"}"#.to_string()]);
    assert_eq!(connection.audio_bytes, 400);
}

async fn next_event_or_end(events: &mut tokio::sync::mpsc::Receiver<SttEvent>) -> Option<SttEvent> {
    tokio::time::timeout(Duration::from_secs(5), events.recv()).await.expect("the stream ends within 5 s")
}

#[tokio::test]
async fn wss_url_starts_a_tls_handshake() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a plain TCP listener");
    let addr = listener.local_addr().expect("listener address");
    let first_byte = tokio::spawn(async move {
        use tokio::io::AsyncReadExt;
        let (mut tcp, _) = listener.accept().await.expect("the client connects");
        tcp.read_u8().await.expect("the client sends a first byte")
    });
    let settings = DeepgramSettings { base_url: format!("wss://{addr}"), ..DeepgramSettings::default() };

    let result = DeepgramStt::new(settings, ApiKey::new(API_KEY)).open(Language::Es).await;

    // 0x16 opens a TLS handshake record, so the client spoke TLS, not plain HTTP.
    let first_byte = tokio::time::timeout(Duration::from_secs(5), first_byte).await.expect("a connection within 5 s");
    assert_eq!(first_byte.expect("listener task"), 0x16);
    assert!(matches!(result, Err(SpeechError::Unavailable { provider: "deepgram", .. })));
}
