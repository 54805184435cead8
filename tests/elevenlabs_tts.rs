//! The ElevenLabs text-to-speech client, over HTTP and WebSocket, against a fake ElevenLabs
//! server on 127.0.0.1.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::mpsc;

use cobranza::dialog::Language;
use cobranza::speech::tts::elevenlabs::{ElevenLabsSettings, ElevenLabsTransport, ElevenLabsTts};
use cobranza::speech::tts::{TextToSpeech, TtsStream};
use cobranza::speech::SpeechError;
use support::fake_elevenlabs::{
    error_body, expected_pcm, parts, render_ulaw, Behaviour, FakeElevenLabs, Transport, API_KEY, PARTS, VOICE_EN,
    VOICE_ES,
};

/// Builds a client for the fake, reading the key from `variable`, which each test names
/// differently because tests run in parallel in one process.
fn client(fake: &FakeElevenLabs, variable: &str, transport: ElevenLabsTransport) -> ElevenLabsTts {
    std::env::set_var(variable, API_KEY);
    let settings = ElevenLabsSettings {
        base_url: fake.base_url.clone(),
        voice_id_es: VOICE_ES.to_string(),
        voice_id_en: VOICE_EN.to_string(),
        api_key_variable: variable.to_string(),
        connect_timeout: Duration::from_secs(5),
        first_byte_timeout: Duration::from_secs(2),
        idle_timeout: Duration::from_secs(3),
        transport,
        ..ElevenLabsSettings::default()
    };
    ElevenLabsTts::new(settings).expect("the settings are valid")
}

/// Reads the stream to its end and returns the samples, the number of chunks and the error
/// that ended it, if any.
async fn drain(mut stream: TtsStream) -> (Vec<i16>, usize, Option<SpeechError>) {
    let mut samples = Vec::new();
    let mut chunks = 0;
    while let Some(chunk) = stream.recv().await {
        match chunk {
            Ok(pcm) => {
                samples.extend(pcm);
                chunks += 1;
            }
            Err(error) => {
                assert!(stream.recv().await.is_none(), "an error is the last item of the stream");
                return (samples, chunks, Some(error));
            }
        }
    }
    (samples, chunks, None)
}

fn query(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(key, value)| (key.to_string(), value.to_string())).collect()
}

fn concat(texts: &[&str]) -> Vec<i16> {
    texts.iter().flat_map(|text| expected_pcm(text)).collect()
}

// --- HTTP transport ---

#[tokio::test]
async fn http_sentences_stream_decoded_ulaw() {
    let fake = FakeElevenLabs::start(vec![]).await;
    let tts = client(&fake, "ELEVENLABS_KEY_HTTP_SENTENCES", ElevenLabsTransport::Http);

    let stream = tts.synthesize("Hola.  ¿Habla con María?", Language::Es).await.expect("speech starts");
    let (samples, chunks, error) = drain(stream).await;

    assert_eq!(error, None);
    assert_eq!(samples.len(), (5 + 17) * 80);
    assert_eq!(samples, concat(&["Hola.", "¿Habla con María?"]));
    assert!(chunks >= 2, "each sentence arrives in its own chunks, got {chunks}");

    let requests = fake.requests();
    assert_eq!(requests.len(), 2);
    for (request, text) in requests.iter().zip(["Hola.", "¿Habla con María?"]) {
        assert_eq!(request.transport, Transport::Http);
        assert_eq!(request.voice_id, VOICE_ES);
        assert_eq!(request.query, query(&[("output_format", "ulaw_8000")]));
        assert_eq!(request.api_key.as_deref(), Some(API_KEY));
        let expected = json!({ "text": text, "model_id": "eleven_flash_v2_5", "language_code": "es" });
        assert_eq!(request.body.as_ref(), Some(&expected));
    }
}

#[tokio::test]
async fn http_english_uses_english_voice() {
    let fake = FakeElevenLabs::start(vec![]).await;
    let tts = client(&fake, "ELEVENLABS_KEY_HTTP_ENGLISH", ElevenLabsTransport::Http);

    let (samples, _, error) = drain(tts.synthesize("Thank you", Language::En).await.unwrap()).await;

    assert_eq!(error, None);
    assert_eq!(samples, expected_pcm("Thank you"));
    let request = &fake.requests()[0];
    assert_eq!(request.voice_id, VOICE_EN);
    assert_eq!(request.body.as_ref().unwrap()["language_code"], json!("en"));
}

#[tokio::test]
async fn http_other_model_gets_no_language_code() {
    let fake = FakeElevenLabs::start(vec![]).await;
    std::env::set_var("ELEVENLABS_KEY_HTTP_MODEL", API_KEY);
    let settings = ElevenLabsSettings {
        base_url: fake.base_url.clone(),
        voice_id_es: VOICE_ES.to_string(),
        voice_id_en: VOICE_EN.to_string(),
        model_id: "eleven_multilingual_v2".to_string(),
        api_key_variable: "ELEVENLABS_KEY_HTTP_MODEL".to_string(),
        ..ElevenLabsSettings::default()
    };
    let tts = ElevenLabsTts::new(settings).unwrap();

    let (_, _, error) = drain(tts.synthesize("Hola.", Language::Es).await.unwrap()).await;

    assert_eq!(error, None);
    let expected = json!({ "text": "Hola.", "model_id": "eleven_multilingual_v2" });
    assert_eq!(fake.requests()[0].body.as_ref(), Some(&expected));
}

#[tokio::test]
async fn http_rate_limit_is_retryable_http_error() {
    let fake = FakeElevenLabs::start(vec![Behaviour::RateLimited { retry_after_seconds: 7 }]).await;
    let tts = client(&fake, "ELEVENLABS_KEY_HTTP_429", ElevenLabsTransport::Http);

    let error = tts.synthesize("Hola.", Language::Es).await.err().expect("the request is rejected");

    let message = "There are too many concurrent requests for this account. Please wait and try again. \
                   (too_many_concurrent_requests); ElevenLabs rate or concurrency limit reached; lower the \
                   simultaneous requests or raise the plan's limit";
    let expected = SpeechError::Http {
        provider: "elevenlabs",
        status: 429,
        message: message.to_string(),
        retry_after: Some(Duration::from_secs(7)),
    };
    assert_eq!(error, expected);
    assert!(error.is_retryable());
}

#[tokio::test]
async fn http_server_error_is_retryable() {
    let fake = FakeElevenLabs::start(vec![Behaviour::ServerError]).await;
    let tts = client(&fake, "ELEVENLABS_KEY_HTTP_500", ElevenLabsTransport::Http);

    let error = tts.synthesize("Hola.", Language::Es).await.err().expect("the request fails");

    let message = "An internal error occurred. (internal_error); ElevenLabs had a server error; retry later";
    assert_eq!(
        error,
        SpeechError::Http { provider: "elevenlabs", status: 500, message: message.to_string(), retry_after: None }
    );
    assert!(error.is_retryable());
}

#[tokio::test]
async fn http_plain_string_detail_is_message() {
    let body = json!({ "detail": "Voice settings are invalid." }).to_string();
    let fake = FakeElevenLabs::start(vec![Behaviour::Status { status: 400, body }]).await;
    let tts = client(&fake, "ELEVENLABS_KEY_HTTP_400", ElevenLabsTransport::Http);

    let error = tts.synthesize("Hola.", Language::Es).await.err().expect("the request is rejected");

    let message = "Voice settings are invalid.; check model_id 'eleven_flash_v2_5' and the text sent";
    assert_eq!(
        error,
        SpeechError::Http { provider: "elevenlabs", status: 400, message: message.to_string(), retry_after: None }
    );
    assert!(!error.is_retryable());
}

#[tokio::test]
async fn http_quota_exceeded_names_the_quota() {
    let body = error_body("quota_exceeded", "This request exceeds your quota.");
    let fake = FakeElevenLabs::start(vec![Behaviour::Status { status: 401, body }]).await;
    let tts = client(&fake, "ELEVENLABS_KEY_HTTP_QUOTA", ElevenLabsTransport::Http);

    let error = tts.synthesize("Hola.", Language::Es).await.err().expect("the request is rejected");

    let SpeechError::Http { status, message, .. } = &error else { panic!("expected an HTTP error, got {error:?}") };
    assert_eq!(*status, 401);
    assert_eq!(
        message,
        "This request exceeds your quota. (quota_exceeded); the account's character quota is used up; raise it or \
         use another provider"
    );
}

#[tokio::test]
async fn http_wrong_api_key_names_the_variable() {
    let fake = FakeElevenLabs::start(vec![]).await;
    std::env::set_var("ELEVENLABS_KEY_HTTP_WRONG", "not-the-key");
    let settings = ElevenLabsSettings {
        base_url: fake.base_url.clone(),
        voice_id_es: VOICE_ES.to_string(),
        voice_id_en: VOICE_EN.to_string(),
        api_key_variable: "ELEVENLABS_KEY_HTTP_WRONG".to_string(),
        ..ElevenLabsSettings::default()
    };
    let tts = ElevenLabsTts::new(settings).unwrap();

    let error = tts.synthesize("Hola.", Language::Es).await.err().expect("the key is rejected");

    let message =
        "Invalid API key (invalid_api_key); check the API key in ELEVENLABS_KEY_HTTP_WRONG and its permissions";
    assert_eq!(
        error,
        SpeechError::Http { provider: "elevenlabs", status: 401, message: message.to_string(), retry_after: None }
    );
}

#[tokio::test]
async fn http_mp3_body_is_rejected() {
    let fake = FakeElevenLabs::start(vec![Behaviour::WrongFormat]).await;
    let tts = client(&fake, "ELEVENLABS_KEY_HTTP_MP3", ElevenLabsTransport::Http);

    let error = tts.synthesize("Hola.", Language::Es).await.err().expect("MP3 is rejected");

    let reason = "audio arrived as MP3 (ID3 header) instead of raw µ-law; request output_format=ulaw_8000 as a \
                  query parameter of the URL";
    assert_eq!(error, SpeechError::Provider { provider: "elevenlabs", reason: reason.to_string() });
}

#[tokio::test]
async fn http_later_sentence_failure_ends_stream() {
    let fake = FakeElevenLabs::start(vec![Behaviour::Speak, Behaviour::RateLimited { retry_after_seconds: 2 }]).await;
    let tts = client(&fake, "ELEVENLABS_KEY_HTTP_SECOND", ElevenLabsTransport::Http);

    let stream = tts.synthesize("Hola. Gracias.", Language::Es).await.expect("the first sentence plays");
    let (samples, _, error) = drain(stream).await;

    assert_eq!(samples, expected_pcm("Hola."));
    let Some(SpeechError::Http { status, retry_after, .. }) = error else { panic!("expected a 429, got {error:?}") };
    assert_eq!(status, 429);
    assert_eq!(retry_after, Some(Duration::from_secs(2)));
    assert_eq!(fake.requests().len(), 2);
}

#[tokio::test]
async fn http_dropped_connection_ends_with_error() {
    let fake = FakeElevenLabs::start(vec![Behaviour::DropMidStream]).await;
    let tts = client(&fake, "ELEVENLABS_KEY_HTTP_DROP", ElevenLabsTransport::Http);

    let stream = tts.synthesize("Buenos días", Language::Es).await.expect("the first part arrives");
    let (samples, _, error) = drain(stream).await;

    let first_part = parts(&render_ulaw("Buenos días")).remove(0);
    assert_eq!(samples.len(), first_part.len());
    assert_eq!(samples, cobranza::audio::mulaw::decode_slice(&first_part));
    let Some(SpeechError::Provider { provider, reason }) = error else {
        panic!("expected a provider error, got {error:?}")
    };
    assert_eq!(provider, "elevenlabs");
    assert!(
        reason.starts_with(&format!("the connection dropped after {} bytes of audio: ", first_part.len())),
        "{reason}"
    );
}

#[tokio::test(start_paused = true)]
async fn http_slow_first_byte_times_out() {
    let fake = FakeElevenLabs::start(vec![Behaviour::SlowFirstByte(Duration::from_secs(60))]).await;
    let tts = client(&fake, "ELEVENLABS_KEY_HTTP_SLOW", ElevenLabsTransport::Http);

    let error = tts.synthesize("Hola.", Language::Es).await.err().expect("the first byte is late");

    let expected = SpeechError::Timeout { provider: "elevenlabs", stage: "first byte", after: Duration::from_secs(2) };
    assert_eq!(error, expected);
    assert!(error.is_retryable());
}

#[tokio::test(start_paused = true)]
async fn http_stalled_body_times_out_after_audio() {
    let fake = FakeElevenLabs::start(vec![Behaviour::Stall]).await;
    let tts = client(&fake, "ELEVENLABS_KEY_HTTP_STALL", ElevenLabsTransport::Http);

    let stream = tts.synthesize("Buenos días", Language::Es).await.expect("the first part arrives");
    let (samples, _, error) = drain(stream).await;

    let first_part = parts(&render_ulaw("Buenos días")).remove(0);
    assert_eq!(samples, cobranza::audio::mulaw::decode_slice(&first_part));
    let expected = SpeechError::Timeout { provider: "elevenlabs", stage: "next chunk", after: Duration::from_secs(3) };
    assert_eq!(error, Some(expected));
}

#[tokio::test]
async fn empty_text_sends_no_request() {
    let fake = FakeElevenLabs::start(vec![]).await;
    let tts = client(&fake, "ELEVENLABS_KEY_EMPTY", ElevenLabsTransport::Http);

    let (samples, chunks, error) = drain(tts.synthesize("  \n ", Language::Es).await.unwrap()).await;

    assert_eq!(samples.len(), 0);
    assert_eq!(chunks, 0);
    assert_eq!(error, None);
    assert_eq!(fake.requests().len(), 0);
}

// --- Construction ---

#[test]
fn missing_api_key_names_the_variable() {
    let settings = ElevenLabsSettings {
        voice_id_es: VOICE_ES.to_string(),
        voice_id_en: VOICE_EN.to_string(),
        api_key_variable: "ELEVENLABS_KEY_NEVER_SET".to_string(),
        ..ElevenLabsSettings::default()
    };

    let error = ElevenLabsTts::new(settings).err().expect("the key is missing");

    let reason = "environment variable ELEVENLABS_KEY_NEVER_SET is missing or empty; set it to the ElevenLabs API key";
    assert_eq!(error, SpeechError::Unavailable { provider: "elevenlabs", reason: reason.to_string() });
}

#[test]
fn empty_voice_id_is_rejected() {
    std::env::set_var("ELEVENLABS_KEY_NO_VOICE", API_KEY);
    let settings = ElevenLabsSettings {
        voice_id_es: VOICE_ES.to_string(),
        api_key_variable: "ELEVENLABS_KEY_NO_VOICE".to_string(),
        ..ElevenLabsSettings::default()
    };

    let error = ElevenLabsTts::new(settings).err().expect("voice_id_en is empty");

    let reason = "voice_id_en is empty; set it to an ElevenLabs voice id";
    assert_eq!(error, SpeechError::Unavailable { provider: "elevenlabs", reason: reason.to_string() });
}

#[test]
fn debug_output_hides_the_api_key() {
    std::env::set_var("ELEVENLABS_KEY_DEBUG", "sk-very-secret-value");
    let settings = ElevenLabsSettings {
        voice_id_es: VOICE_ES.to_string(),
        voice_id_en: VOICE_EN.to_string(),
        api_key_variable: "ELEVENLABS_KEY_DEBUG".to_string(),
        ..ElevenLabsSettings::default()
    };

    let debug = format!("{:?}", ElevenLabsTts::new(settings).unwrap());

    assert!(!debug.contains("sk-very-secret-value"), "{debug}");
    assert!(debug.contains("ApiKey(<redacted>)"), "{debug}");
}

#[test]
fn urls_follow_the_base_scheme() {
    std::env::set_var("ELEVENLABS_KEY_URLS", API_KEY);
    let settings = ElevenLabsSettings {
        voice_id_es: VOICE_ES.to_string(),
        voice_id_en: VOICE_EN.to_string(),
        api_key_variable: "ELEVENLABS_KEY_URLS".to_string(),
        ..ElevenLabsSettings::default()
    };
    let tts = ElevenLabsTts::new(settings).unwrap();

    assert_eq!(
        tts.stream_url(VOICE_ES).as_str(),
        "https://api.elevenlabs.io/v1/text-to-speech/voice-es-0001/stream?output_format=ulaw_8000"
    );
    assert_eq!(
        tts.stream_input_url(Language::En).as_str(),
        "wss://api.elevenlabs.io/v1/text-to-speech/voice-en-0001/stream-input?model_id=eleven_flash_v2_5\
         &output_format=ulaw_8000&language_code=en"
    );
}

// --- WebSocket transport ---

fn initial_message() -> Value {
    json!({
        "text": " ",
        "voice_settings": { "stability": 0.5, "similarity_boost": 0.75, "style": 0, "use_speaker_boost": true, "speed": 1.0 },
        "generation_config": { "chunk_length_schedule": [120, 160, 250, 290] },
    })
}

#[tokio::test]
async fn websocket_sentences_stream_until_final() {
    let fake = FakeElevenLabs::start(vec![]).await;
    let tts = client(&fake, "ELEVENLABS_KEY_WS_SENTENCES", ElevenLabsTransport::WebSocket);

    let stream = tts.synthesize("Hola. ¿Habla con María?", Language::Es).await.expect("speech starts");
    let (samples, chunks, error) = drain(stream).await;

    assert_eq!(error, None);
    assert_eq!(samples, concat(&["Hola.", "¿Habla con María?"]));
    assert_eq!(chunks, 2 * PARTS);

    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.transport, Transport::WebSocket);
    assert_eq!(request.voice_id, VOICE_ES);
    assert_eq!(request.api_key.as_deref(), Some(API_KEY));
    let expected_query =
        query(&[("model_id", "eleven_flash_v2_5"), ("output_format", "ulaw_8000"), ("language_code", "es")]);
    assert_eq!(request.query, expected_query);
    let expected_messages = vec![
        initial_message(),
        json!({ "text": "Hola. ", "flush": true }),
        json!({ "text": "¿Habla con María? ", "flush": true }),
        json!({ "text": "" }),
    ];
    assert_eq!(request.messages, expected_messages);
}

#[tokio::test]
async fn websocket_pieces_become_whole_words() {
    let fake = FakeElevenLabs::start(vec![]).await;
    let tts = client(&fake, "ELEVENLABS_KEY_WS_PIECES", ElevenLabsTransport::Http);
    let (piece_sender, pieces) = mpsc::channel(8);

    let stream = tts.stream_pieces(pieces, Language::Es).await.expect("the socket opens");
    for piece in ["Ho", "la, ¿có", "mo está? Bie", "n"] {
        piece_sender.send(piece.to_string()).await.unwrap();
    }
    drop(piece_sender);
    let (samples, _, error) = drain(stream).await;

    assert_eq!(error, None);
    assert_eq!(samples, concat(&["Hola, ¿cómo está?", "Bien"]));
    let expected_messages = vec![
        initial_message(),
        json!({ "text": "Hola, " }),
        json!({ "text": "¿cómo está? ", "flush": true }),
        json!({ "text": "Bien ", "flush": true }),
        json!({ "text": "" }),
    ];
    assert_eq!(fake.requests()[0].messages, expected_messages);
}

#[tokio::test]
async fn websocket_rate_limit_is_http_error() {
    let fake = FakeElevenLabs::start(vec![Behaviour::RateLimited { retry_after_seconds: 4 }]).await;
    let tts = client(&fake, "ELEVENLABS_KEY_WS_429", ElevenLabsTransport::WebSocket);

    let error = tts.synthesize("Hola.", Language::Es).await.err().expect("the upgrade is rejected");

    let SpeechError::Http { status, message, retry_after, .. } = &error else {
        panic!("expected HTTP 429, got {error:?}")
    };
    assert_eq!(*status, 429);
    assert_eq!(*retry_after, Some(Duration::from_secs(4)));
    assert!(
        message.contains("(too_many_concurrent_requests); ElevenLabs rate or concurrency limit reached"),
        "{message}"
    );
    assert!(error.is_retryable());
}

#[tokio::test]
async fn websocket_bad_base64_is_reported() {
    let fake = FakeElevenLabs::start(vec![Behaviour::BadBase64]).await;
    let tts = client(&fake, "ELEVENLABS_KEY_WS_BASE64", ElevenLabsTransport::WebSocket);

    let error = tts.synthesize("Hola.", Language::Es).await.err().expect("the audio is malformed");

    let SpeechError::Provider { reason, .. } = &error else { panic!("expected a provider error, got {error:?}") };
    assert!(reason.starts_with("the audio field is not valid base64 ("), "{reason}");
    assert!(reason.ends_with("): %%not-base64%%"), "{reason}");
}

#[tokio::test]
async fn websocket_non_json_message_is_reported() {
    let fake = FakeElevenLabs::start(vec![Behaviour::NotJson]).await;
    let tts = client(&fake, "ELEVENLABS_KEY_WS_JSON", ElevenLabsTransport::WebSocket);

    let error = tts.synthesize("Hola.", Language::Es).await.err().expect("the message is malformed");

    let SpeechError::Provider { reason, .. } = &error else { panic!("expected a provider error, got {error:?}") };
    assert!(reason.starts_with("ElevenLabs sent a message that is not a JSON object ("), "{reason}");
    assert!(reason.ends_with("): <html>502 Bad Gateway</html>"), "{reason}");
}

#[tokio::test]
async fn websocket_mp3_audio_is_rejected() {
    let fake = FakeElevenLabs::start(vec![Behaviour::WrongFormat]).await;
    let tts = client(&fake, "ELEVENLABS_KEY_WS_MP3", ElevenLabsTransport::WebSocket);

    let error = tts.synthesize("Hola.", Language::Es).await.err().expect("MP3 is rejected");

    let reason = "audio arrived as MP3 (ID3 header) instead of raw µ-law; request output_format=ulaw_8000 as a \
                  query parameter of the URL";
    assert_eq!(error, SpeechError::Provider { provider: "elevenlabs", reason: reason.to_string() });
}

#[tokio::test]
async fn websocket_policy_close_reports_reason() {
    let reason = "This request exceeds your quota.";
    let fake = FakeElevenLabs::start(vec![Behaviour::PolicyClose(reason.to_string())]).await;
    let tts = client(&fake, "ELEVENLABS_KEY_WS_CLOSE", ElevenLabsTransport::WebSocket);

    let error = tts.synthesize("Hola.", Language::Es).await.err().expect("the stream is closed");

    let expected = "ElevenLabs closed the stream before the final message (close code 1008: This request exceeds \
                    your quota.) after 0 bytes of audio";
    assert_eq!(error, SpeechError::Provider { provider: "elevenlabs", reason: expected.to_string() });
}

#[tokio::test]
async fn websocket_drop_after_audio_ends_with_error() {
    let fake = FakeElevenLabs::start(vec![Behaviour::DropMidStream]).await;
    let tts = client(&fake, "ELEVENLABS_KEY_WS_DROP", ElevenLabsTransport::WebSocket);

    let stream = tts.synthesize("Buenos días", Language::Es).await.expect("the first part arrives");
    let (samples, chunks, error) = drain(stream).await;

    let first_part = parts(&render_ulaw("Buenos días")).remove(0);
    assert_eq!(chunks, 1);
    assert_eq!(samples, cobranza::audio::mulaw::decode_slice(&first_part));
    let Some(SpeechError::Provider { reason, .. }) = error else { panic!("expected a provider error, got {error:?}") };
    assert!(
        reason.starts_with(&format!("the connection dropped after {} bytes of audio: ", first_part.len())),
        "{reason}"
    );
}

#[tokio::test(start_paused = true)]
async fn websocket_slow_first_audio_times_out() {
    let fake = FakeElevenLabs::start(vec![Behaviour::SlowFirstByte(Duration::from_secs(60))]).await;
    let tts = client(&fake, "ELEVENLABS_KEY_WS_SLOW", ElevenLabsTransport::WebSocket);

    let error = tts.synthesize("Hola.", Language::Es).await.err().expect("the first audio is late");

    let expected = SpeechError::Timeout { provider: "elevenlabs", stage: "first byte", after: Duration::from_secs(2) };
    assert_eq!(error, expected);
}

#[tokio::test(start_paused = true)]
async fn websocket_stall_after_audio_times_out() {
    let fake = FakeElevenLabs::start(vec![Behaviour::Stall]).await;
    let tts = client(&fake, "ELEVENLABS_KEY_WS_STALL", ElevenLabsTransport::WebSocket);

    let stream = tts.synthesize("Buenos días", Language::Es).await.expect("the first part arrives");
    let (samples, _, error) = drain(stream).await;

    let first_part = parts(&render_ulaw("Buenos días")).remove(0);
    assert_eq!(samples, cobranza::audio::mulaw::decode_slice(&first_part));
    let expected = SpeechError::Timeout { provider: "elevenlabs", stage: "next chunk", after: Duration::from_secs(3) };
    assert_eq!(error, Some(expected));
}
