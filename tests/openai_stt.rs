//! The OpenAI-compatible transcription client against a fake transcription server on 127.0.0.1.

mod support;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use cobranza::dialog::Language;
use cobranza::speech::stt::openai::{audio_seconds, OpenAiStt, OpenAiSttSettings};
use cobranza::speech::stt::{SpeechToText, SttEvent, SttInput, SttStream};
use cobranza::speech::SpeechError;
use support::fake_transcription::{FakeTranscription, Reply, Upload, API_KEY};

/// Samples of audio before `SpeechStarted` that a turn keeps: 600 ms at 8 kHz.
const PRE_ROLL_SAMPLES: usize = 4_800;

/// Builds settings for the fake whose API key is read from a variable unique to the test, so
/// tests running in parallel never share one.
fn settings(fake: &FakeTranscription, variable: &str) -> OpenAiSttSettings {
    std::env::set_var(variable, API_KEY);
    OpenAiSttSettings {
        base_url: fake.base_url.clone(),
        api_key_variable: variable.to_string(),
        connect_timeout: Duration::from_secs(5),
        response_timeout: Duration::from_secs(10),
        ..OpenAiSttSettings::default()
    }
}

async fn open(fake: &FakeTranscription, variable: &str) -> SttStream {
    let stt = OpenAiStt::new(settings(fake, variable)).expect("valid settings");
    stt.open(Language::Es).await.expect("open never fails")
}

async fn send(stream: &SttStream, input: SttInput) {
    stream.input.send(input).await.expect("the stream takes input");
}

/// Sends one caller turn: `before` as audio before speech starts, then `speech`, then the end of
/// the turn.
async fn speak(stream: &SttStream, before: &[i16], speech: &[i16]) {
    send(stream, SttInput::Audio(before.to_vec())).await;
    send(stream, SttInput::SpeechStarted).await;
    for chunk in speech.chunks(160) {
        send(stream, SttInput::Audio(chunk.to_vec())).await;
    }
    send(stream, SttInput::Finalize).await;
}

async fn next_event(stream: &mut SttStream) -> SttEvent {
    tokio::time::timeout(Duration::from_secs(10), stream.events.recv())
        .await
        .expect("an event within 10 s")
        .expect("the stream is still open")
}

async fn next_error(stream: &mut SttStream) -> SpeechError {
    match next_event(stream).await {
        SttEvent::Error(error) => error,
        other => panic!("expected an error, got {other:?}"),
    }
}

fn final_text(text: &str) -> SttEvent {
    SttEvent::Final { text: text.to_string() }
}

/// Distinct samples, so a dropped, repeated or reordered sample changes the upload.
fn ramp(start: i16, len: usize) -> Vec<i16> {
    (0..len).map(|i| start.wrapping_add(i as i16)).collect()
}

/// Returns what a turn uploads: the last 600 ms of `before`, then `speech`.
fn turn_samples(before: &[i16], speech: &[i16]) -> Vec<i16> {
    let kept = &before[before.len().saturating_sub(PRE_ROLL_SAMPLES)..];
    [kept, speech].concat()
}

fn provider_reason(error: SpeechError) -> String {
    match error {
        SpeechError::Provider { provider, reason } => {
            assert_eq!(provider, "openai-stt");
            reason
        }
        other => panic!("expected a provider error, got {other:?}"),
    }
}

#[tokio::test]
async fn turn_uploads_pre_roll_and_speech() {
    let fake = FakeTranscription::start(vec![Reply::Text("  Sí,   soy yo. ".to_string())]).await;
    let mut stream = open(&fake, "COBRANZA_TEST_STT_KEY_UPLOAD").await;
    let before = ramp(-20_000, 8_000);
    let speech = ramp(1_000, 4_000);

    speak(&stream, &before, &speech).await;

    assert_eq!(next_event(&mut stream).await, final_text("Sí, soy yo."));
    assert_eq!(fake.rejections(), Vec::<String>::new());
    let uploads = fake.uploads();
    assert_eq!(uploads.len(), 1);
    let expected = Upload {
        path: "/v1/audio/transcriptions".to_string(),
        authorization: format!("Bearer {API_KEY}"),
        fields: vec!["file".into(), "model".into(), "language".into(), "response_format".into()],
        model: "whisper-1".to_string(),
        language: Some("es".to_string()),
        response_format: Some("json".to_string()),
        prompt: None,
        filename: "turn.wav".to_string(),
        file_content_type: "audio/wav".to_string(),
        samples: turn_samples(&before, &speech),
    };
    assert_eq!(uploads[0].samples.len(), PRE_ROLL_SAMPLES + 4_000);
    assert_eq!(uploads[0], expected);
}

#[tokio::test]
async fn one_shot_sends_prompt_and_language() {
    let fake = FakeTranscription::start(vec![Reply::Text("I can pay on Friday".to_string())]).await;
    let mut settings = settings(&fake, "COBRANZA_TEST_STT_KEY_ONE_SHOT");
    settings.model = "gpt-4o-mini-transcribe".to_string();
    settings.prompt = Some("Cobranza, promise to pay, Friday".to_string());
    let stt = OpenAiStt::new(settings).expect("valid settings");
    let pcm = ramp(0, 12_000);

    let text = stt.transcribe(&pcm, Language::En).await.expect("transcribed");

    assert_eq!(text, "I can pay on Friday");
    let uploads = fake.uploads();
    assert_eq!(uploads.len(), 1);
    assert_eq!(uploads[0].fields, ["file", "model", "language", "response_format", "prompt"]);
    assert_eq!(uploads[0].model, "gpt-4o-mini-transcribe");
    assert_eq!(uploads[0].language.as_deref(), Some("en"));
    assert_eq!(uploads[0].prompt.as_deref(), Some("Cobranza, promise to pay, Friday"));
    assert_eq!(uploads[0].samples, pcm);
    assert_eq!(audio_seconds(pcm.len()), 1.5);
}

#[tokio::test]
async fn one_shot_skips_empty_audio() {
    let fake = FakeTranscription::start(vec![]).await;
    let stt = OpenAiStt::new(settings(&fake, "COBRANZA_TEST_STT_KEY_EMPTY")).expect("valid settings");

    assert_eq!(stt.transcribe(&[], Language::Es).await, Ok(String::new()));
    assert_eq!(fake.uploads().len(), 0);
}

#[tokio::test]
async fn turn_without_speech_sends_nothing() {
    let fake = FakeTranscription::start(vec![Reply::Text("aló".to_string())]).await;
    let mut stream = open(&fake, "COBRANZA_TEST_STT_KEY_SILENT").await;
    let silence = ramp(-30_000, 6_000);

    send(&stream, SttInput::Audio(silence.clone())).await;
    send(&stream, SttInput::Finalize).await;
    assert_eq!(next_event(&mut stream).await, final_text(""));
    assert_eq!(fake.uploads().len(), 0);

    // The pre-roll survives the empty turn, so the next turn still starts 600 ms early.
    let speech = ramp(5_000, 1_600);
    speak(&stream, &[], &speech).await;
    assert_eq!(next_event(&mut stream).await, final_text("aló"));
    let uploads = fake.uploads();
    assert_eq!(uploads.len(), 1);
    assert_eq!(uploads[0].samples, turn_samples(&silence, &speech));
}

#[tokio::test]
async fn silence_hallucination_becomes_empty() {
    let reply = Reply::Text("Subtítulos realizados por la comunidad de Amara.org".to_string());
    let fake = FakeTranscription::start(vec![reply]).await;
    let mut stream = open(&fake, "COBRANZA_TEST_STT_KEY_HALLUCINATION").await;

    speak(&stream, &[], &ramp(0, 800)).await;

    assert_eq!(next_event(&mut stream).await, final_text(""));
    assert_eq!(fake.uploads().len(), 1);
}

#[tokio::test]
async fn rate_limit_reports_message_and_delay() {
    let fake = FakeTranscription::start(vec![Reply::RateLimited { retry_after_secs: 7 }]).await;
    let mut stream = open(&fake, "COBRANZA_TEST_STT_KEY_RATE_LIMIT").await;

    speak(&stream, &[], &ramp(0, 800)).await;

    let error = next_error(&mut stream).await;
    let expected = SpeechError::Http {
        provider: "openai-stt",
        status: 429,
        message: "Rate limit reached for requests per minute (requests); rate limit or quota reached; retry after \
                  the delay the server gives"
            .to_string(),
        retry_after: Some(Duration::from_secs(7)),
    };
    assert_eq!(error, expected);
    assert!(error.is_retryable());
}

#[tokio::test]
async fn server_error_is_retryable_http() {
    let fake = FakeTranscription::start(vec![Reply::ServerError]).await;
    let mut stream = open(&fake, "COBRANZA_TEST_STT_KEY_SERVER_ERROR").await;

    speak(&stream, &[], &ramp(0, 800)).await;

    let error = next_error(&mut stream).await;
    let expected = SpeechError::Http {
        provider: "openai-stt",
        status: 500,
        message: "The server had an error while processing your request (server_error); server error; retry later"
            .to_string(),
        retry_after: None,
    };
    assert_eq!(error, expected);
    assert!(error.is_retryable());
}

#[tokio::test]
async fn wrong_key_names_the_key_variable() {
    let fake = FakeTranscription::start(vec![Reply::Text("never sent".to_string())]).await;
    let settings = settings(&fake, "COBRANZA_TEST_STT_KEY_WRONG");
    std::env::set_var("COBRANZA_TEST_STT_KEY_WRONG", "sk-wrong");
    let mut stream = OpenAiStt::new(settings).expect("valid settings").open(Language::Es).await.expect("open");

    speak(&stream, &[], &ramp(0, 800)).await;

    let error = next_error(&mut stream).await;
    let expected = SpeechError::Http {
        provider: "openai-stt",
        status: 401,
        message: "Incorrect API key provided (invalid_request_error); check the API key in \
                  COBRANZA_TEST_STT_KEY_WRONG"
            .to_string(),
        retry_after: None,
    };
    assert_eq!(error, expected);
    assert!(!error.is_retryable());
    assert_eq!(fake.rejections(), ["Incorrect API key provided"]);
}

#[tokio::test]
async fn oversized_turn_names_the_upload_limit() {
    let reply = Reply::Status {
        status: 413,
        message: "Maximum content size limit (26214400) exceeded",
        error_type: "invalid_request_error",
    };
    let fake = FakeTranscription::start(vec![reply]).await;
    let mut stream = open(&fake, "COBRANZA_TEST_STT_KEY_TOO_LARGE").await;

    speak(&stream, &[], &ramp(0, 800)).await;

    let error = next_error(&mut stream).await;
    let expected = SpeechError::Http {
        provider: "openai-stt",
        status: 413,
        message: "Maximum content size limit (26214400) exceeded (invalid_request_error); the turn is too long \
                  for the server's upload limit"
            .to_string(),
        retry_after: None,
    };
    assert_eq!(error, expected);
    assert!(!error.is_retryable());
}

#[tokio::test]
async fn malformed_body_quotes_the_response() {
    let fake = FakeTranscription::start(vec![Reply::Malformed]).await;
    let mut stream = open(&fake, "COBRANZA_TEST_STT_KEY_MALFORMED").await;

    speak(&stream, &[], &ramp(0, 800)).await;

    let parse_error = serde_json::from_str::<serde_json::Value>(r#"{"txt":"#).expect_err("cut-off JSON");
    let reason = provider_reason(next_error(&mut stream).await);
    assert_eq!(reason, format!(r#"the response is not JSON ({parse_error}): {{"txt":"#));
}

#[tokio::test]
async fn missing_text_field_is_named() {
    let fake = FakeTranscription::start(vec![Reply::Raw(r#"{"transcript":"hola"}"#.to_string())]).await;
    let mut stream = open(&fake, "COBRANZA_TEST_STT_KEY_NO_TEXT").await;

    speak(&stream, &[], &ramp(0, 800)).await;

    let reason = provider_reason(next_error(&mut stream).await);
    assert_eq!(reason, r#"the response has no "text" string field: {"transcript":"hola"}"#);
}

#[tokio::test]
async fn unexpected_body_is_quoted_to_200_chars() {
    let page = format!("<html>{}</html>", "x".repeat(500));
    let fake = FakeTranscription::start(vec![Reply::Raw(page.clone())]).await;
    let stt = OpenAiStt::new(settings(&fake, "COBRANZA_TEST_STT_KEY_HTML")).expect("valid settings");

    let error = stt.transcribe(&ramp(0, 800), Language::Es).await.expect_err("HTML is not a transcript");

    let reason = provider_reason(error);
    let quoted: String = page.chars().take(200).collect();
    assert!(reason.starts_with("the response is not JSON ("), "{reason}");
    assert!(reason.ends_with(&format!("): {quoted}")), "{reason}");
}

#[tokio::test]
async fn dropped_body_reports_the_cause() {
    let fake = FakeTranscription::start(vec![Reply::DropMidBody]).await;
    let mut stream = open(&fake, "COBRANZA_TEST_STT_KEY_DROPPED").await;

    speak(&stream, &[], &ramp(0, 800)).await;

    let reason = provider_reason(next_error(&mut stream).await);
    assert!(reason.starts_with("the connection dropped after "), "{reason}");
    // The byte count depends on how the fake's first chunk was split on the way, so only the
    // cause is compared whole.
    let cause = " bytes of the response body: error decoding response body: error reading a body from connection: \
                 unexpected EOF during chunk size line";
    assert!(reason.ends_with(cause), "{reason}");
}

#[tokio::test(start_paused = true)]
async fn slow_first_byte_times_out() {
    let reply = Reply::Delayed { delay: Duration::from_secs(60), reply: Box::new(Reply::Text("tarde".to_string())) };
    let fake = FakeTranscription::start(vec![reply]).await;
    let mut settings = settings(&fake, "COBRANZA_TEST_STT_KEY_SLOW");
    settings.response_timeout = Duration::from_secs(2);
    let stt = OpenAiStt::new(settings).expect("valid settings");

    let error = stt.transcribe(&ramp(0, 800), Language::Es).await.expect_err("the fake answers too late");

    let expected = SpeechError::Timeout { provider: "openai-stt", stage: "first byte", after: Duration::from_secs(2) };
    assert_eq!(error, expected);
    assert!(error.is_retryable());
}

#[tokio::test(start_paused = true)]
async fn slow_first_byte_within_timeout_succeeds() {
    let reply = Reply::Delayed { delay: Duration::from_secs(1), reply: Box::new(Reply::Text("a tiempo".to_string())) };
    let fake = FakeTranscription::start(vec![reply]).await;
    let mut settings = settings(&fake, "COBRANZA_TEST_STT_KEY_SLOW_OK");
    settings.response_timeout = Duration::from_secs(2);
    let stt = OpenAiStt::new(settings).expect("valid settings");

    let text = stt.transcribe(&ramp(0, 800), Language::Es).await;

    assert_eq!(text, Ok("a tiempo".to_string()));
}

#[tokio::test]
async fn stream_continues_after_a_timeout() {
    let slow = Reply::Delayed { delay: Duration::from_secs(30), reply: Box::new(Reply::Text("tarde".to_string())) };
    let fake = FakeTranscription::start(vec![slow, Reply::Text("sigo aquí".to_string())]).await;
    let mut settings = settings(&fake, "COBRANZA_TEST_STT_KEY_AFTER_TIMEOUT");
    settings.response_timeout = Duration::from_millis(300);
    let mut stream = OpenAiStt::new(settings).expect("valid settings").open(Language::Es).await.expect("open");

    speak(&stream, &[], &ramp(0, 800)).await;
    speak(&stream, &[], &ramp(0, 1_600)).await;

    let expected =
        SpeechError::Timeout { provider: "openai-stt", stage: "first byte", after: Duration::from_millis(300) };
    assert_eq!(next_error(&mut stream).await, expected);
    assert_eq!(next_event(&mut stream).await, final_text("sigo aquí"));
    assert_eq!(fake.uploads()[1].samples.len(), 1_600);
}

#[tokio::test]
async fn finals_stay_in_order_across_failure() {
    let replies = vec![Reply::Text("uno".to_string()), Reply::ServerError, Reply::Text("tres".to_string())];
    let fake = FakeTranscription::start(replies).await;
    let mut stream = open(&fake, "COBRANZA_TEST_STT_KEY_ORDER").await;

    // All three turns end before the first transcript comes back.
    speak(&stream, &[], &ramp(100, 800)).await;
    speak(&stream, &[], &ramp(200, 1_600)).await;
    speak(&stream, &[], &ramp(300, 2_400)).await;

    assert_eq!(next_event(&mut stream).await, final_text("uno"));
    let SpeechError::Http { status, .. } = next_error(&mut stream).await else { panic!("expected an HTTP error") };
    assert_eq!(status, 500);
    assert_eq!(next_event(&mut stream).await, final_text("tres"));
    let uploads = fake.uploads();
    assert_eq!(uploads.len(), 3);
    assert_eq!(uploads[0].samples, ramp(100, 800));
    assert_eq!(uploads[1].samples, ramp(200, 1_600));
    assert_eq!(uploads[2].samples, ramp(300, 2_400));
}

#[tokio::test]
async fn slow_request_does_not_block_audio() {
    let gate = Arc::new(Notify::new());
    let held = Reply::Held { gate: Arc::clone(&gate), reply: Box::new(Reply::Text("uno".to_string())) };
    let fake = FakeTranscription::start(vec![held, Reply::Text("dos".to_string())]).await;
    let mut stream = open(&fake, "COBRANZA_TEST_STT_KEY_HELD").await;

    speak(&stream, &[], &ramp(0, 800)).await;

    // 2 000 chunks are four times the input channel's capacity of 512, so they fit only if the
    // stream keeps reading while the first request waits at the gate.
    let before = ramp(-10_000, 2_000 * 160);
    let intake = async {
        for chunk in before.chunks(160) {
            send(&stream, SttInput::Audio(chunk.to_vec())).await;
        }
        speak(&stream, &[], &ramp(7_000, 800)).await;
    };
    tokio::time::timeout(Duration::from_secs(10), intake).await.expect("audio is taken while a request waits");
    assert!(stream.events.try_recv().is_err(), "no transcript before the gate opens");

    gate.notify_one();
    assert_eq!(next_event(&mut stream).await, final_text("uno"));
    assert_eq!(next_event(&mut stream).await, final_text("dos"));
    let uploads = fake.uploads();
    assert_eq!(uploads.len(), 2);
    assert_eq!(uploads[1].samples, turn_samples(&before, &ramp(7_000, 800)));
}

#[tokio::test]
async fn base_url_ending_in_v1_works() {
    let fake = FakeTranscription::start(vec![Reply::Text("hola".to_string())]).await;
    let mut settings = settings(&fake, "COBRANZA_TEST_STT_KEY_V1");
    settings.base_url = format!("{}/v1/", fake.base_url);
    let stt = OpenAiStt::new(settings).expect("valid settings");

    assert_eq!(stt.endpoint().as_str(), format!("{}/v1/audio/transcriptions", fake.base_url));
    assert_eq!(stt.transcribe(&ramp(0, 800), Language::Es).await, Ok("hola".to_string()));
}

#[tokio::test]
async fn closing_input_ends_the_events() {
    let fake = FakeTranscription::start(vec![Reply::Text("adiós".to_string())]).await;
    let mut stream = open(&fake, "COBRANZA_TEST_STT_KEY_CLOSE").await;

    speak(&stream, &[], &ramp(0, 800)).await;
    drop(stream.input);

    // The turn ended before the input closed, so its transcript still arrives.
    assert_eq!(stream.events.recv().await, Some(final_text("adiós")));
    assert_eq!(stream.events.recv().await, None);
}

#[tokio::test]
async fn closed_port_reports_unavailable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let address = listener.local_addr().expect("local address");
    drop(listener);
    std::env::set_var("COBRANZA_TEST_STT_KEY_CLOSED_PORT", API_KEY);
    let settings = OpenAiSttSettings {
        base_url: format!("http://{address}"),
        api_key_variable: "COBRANZA_TEST_STT_KEY_CLOSED_PORT".to_string(),
        ..OpenAiSttSettings::default()
    };
    let stt = OpenAiStt::new(settings).expect("valid settings");

    let error = stt.transcribe(&ramp(0, 800), Language::Es).await.expect_err("nothing listens");

    let SpeechError::Unavailable { provider, reason } = &error else { panic!("expected unavailable, got {error:?}") };
    assert_eq!(*provider, "openai-stt");
    let prefix = format!("connecting to http://{address}/v1/audio/transcriptions failed: ");
    assert!(reason.starts_with(&prefix), "{reason}");
    assert!(reason.ends_with("; check base_url and that the server is running"), "{reason}");
    assert!(!error.is_retryable());
}

#[test]
fn missing_key_fails_construction() {
    let settings = OpenAiSttSettings {
        base_url: "http://127.0.0.1:9".to_string(),
        api_key_variable: "COBRANZA_TEST_STT_KEY_NEVER_SET".to_string(),
        ..OpenAiSttSettings::default()
    };

    let error = OpenAiStt::new(settings).expect_err("no key");

    let expected = SpeechError::Unavailable {
        provider: "openai-stt",
        reason: "environment variable COBRANZA_TEST_STT_KEY_NEVER_SET is missing or empty; set it to the API key"
            .to_string(),
    };
    assert_eq!(error, expected);
}

#[test]
fn debug_output_hides_the_key() {
    std::env::set_var("COBRANZA_TEST_STT_KEY_DEBUG", "sk-secret-0123456789");
    let settings = OpenAiSttSettings {
        base_url: "http://127.0.0.1:9".to_string(),
        api_key_variable: "COBRANZA_TEST_STT_KEY_DEBUG".to_string(),
        ..OpenAiSttSettings::default()
    };

    let stt = OpenAiStt::new(settings).expect("valid settings");

    let debug = format!("{stt:?}");
    assert_eq!(
        debug,
        r#"OpenAiStt { endpoint: "http://127.0.0.1:9/v1/audio/transcriptions", model: "whisper-1", .. }"#
    );
}
