//! A fake ElevenLabs text-to-speech server on 127.0.0.1 with the HTTP streaming endpoint and
//! the `stream-input` WebSocket. It checks the path, query, key and message shapes, records
//! each request and follows a scripted behaviour per request.
//!
//! Audio is a 440 Hz tone encoded as real µ-law, [`SAMPLES_PER_CHARACTER`] samples per
//! character of the text, so a test can compute exactly what it should hear.
#![allow(dead_code)]

use std::collections::{BTreeMap, VecDeque};
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use base64::Engine as _;
use serde_json::{json, Value};

use cobranza::audio::mulaw;

/// The only API key the fake accepts.
pub const API_KEY: &str = "test-elevenlabs-key";
pub const VOICE_ES: &str = "voice-es-0001";
pub const VOICE_EN: &str = "voice-en-0001";

/// Samples of audio per character of text: 10 ms at 8 kHz.
pub const SAMPLES_PER_CHARACTER: usize = 80;

/// How many writes (HTTP) or audio messages (WebSocket) carry one rendered text.
pub const PARTS: usize = 3;

/// What the fake does with one HTTP request or one WebSocket connection.
#[derive(Debug, Clone, PartialEq)]
pub enum Behaviour {
    /// Renders the audio in [`PARTS`] pieces.
    Speak,
    /// HTTP 429 with ElevenLabs' error body and `Retry-After`.
    RateLimited { retry_after_seconds: u64 },
    /// HTTP 500 with ElevenLabs' error body.
    ServerError,
    /// This status and raw body.
    Status { status: u16, body: String },
    /// MP3 audio (an `ID3` header) instead of µ-law, as when `output_format` is ignored.
    WrongFormat,
    /// WebSocket only: a text message that is not JSON in place of the first audio.
    NotJson,
    /// WebSocket only: an audio field that is not base64 in place of the first audio.
    BadBase64,
    /// Waits this long before the response headers (HTTP) or the first audio (WebSocket).
    SlowFirstByte(Duration),
    /// Sends the first part of the audio, then nothing for an hour.
    Stall,
    /// Sends the first part of the audio, then cuts the connection.
    DropMidStream,
    /// WebSocket only: closes with code 1008 and this reason instead of sending audio.
    PolicyClose(String),
}

/// Which endpoint a request used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Http,
    WebSocket,
}

/// One request as the fake received it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub transport: Transport,
    pub voice_id: String,
    pub query: BTreeMap<String, String>,
    pub api_key: Option<String>,
    /// The JSON body of an HTTP request.
    pub body: Option<Value>,
    /// The text messages of a WebSocket connection, in order.
    pub messages: Vec<Value>,
}

#[derive(Clone)]
struct FakeState {
    behaviours: Arc<Mutex<VecDeque<Behaviour>>>,
    requests: Arc<Mutex<Vec<RecordedRequest>>>,
}

impl FakeState {
    fn next_behaviour(&self) -> Behaviour {
        self.behaviours.lock().unwrap().pop_front().unwrap_or(Behaviour::Speak)
    }

    /// Records a request and returns its index.
    fn record(&self, request: RecordedRequest) -> usize {
        let mut requests = self.requests.lock().unwrap();
        requests.push(request);
        requests.len() - 1
    }
}

/// A running fake server.
pub struct FakeElevenLabs {
    /// Server root, for example `http://127.0.0.1:40123`.
    pub base_url: String,
    requests: Arc<Mutex<Vec<RecordedRequest>>>,
    server: tokio::task::JoinHandle<()>,
}

impl FakeElevenLabs {
    /// Starts the fake: request `n` (HTTP or WebSocket) follows `behaviours[n]`, later ones
    /// [`Behaviour::Speak`].
    pub async fn start(behaviours: Vec<Behaviour>) -> FakeElevenLabs {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let state = FakeState { behaviours: Arc::new(Mutex::new(behaviours.into())), requests: Arc::clone(&requests) };
        let app = Router::new()
            .route("/v1/text-to-speech/{voice_id}/stream", post(http_stream))
            .route("/v1/text-to-speech/{voice_id}/stream-input", get(websocket_stream))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the fake ElevenLabs");
        let address = listener.local_addr().expect("fake ElevenLabs address");
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("fake ElevenLabs failed");
        });
        FakeElevenLabs { base_url: format!("http://{address}"), requests, server }
    }

    /// Returns the requests received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for FakeElevenLabs {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Returns the µ-law audio the fake renders for `text`: a 440 Hz tone of
/// [`SAMPLES_PER_CHARACTER`] samples per character of the trimmed text.
pub fn render_ulaw(text: &str) -> Vec<u8> {
    let len = text.trim().chars().count() * SAMPLES_PER_CHARACTER;
    let tone = (0..len).map(|n| (8_000.0 * (2.0 * std::f64::consts::PI * 440.0 * n as f64 / 8_000.0).sin()) as i16);
    tone.map(mulaw::encode).collect()
}

/// Returns the PCM a client should produce from [`render_ulaw`] of `text`.
pub fn expected_pcm(text: &str) -> Vec<i16> {
    mulaw::decode_slice(&render_ulaw(text))
}

/// Returns an ElevenLabs error body: `{"detail": {"status": ..., "message": ...}}`.
pub fn error_body(status: &str, message: &str) -> String {
    json!({ "detail": { "status": status, "message": message } }).to_string()
}

/// Splits audio into [`PARTS`] nearly equal parts.
pub fn parts(audio: &[u8]) -> Vec<Vec<u8>> {
    let size = audio.len().div_ceil(PARTS).max(1);
    audio.chunks(size).map(<[u8]>::to_vec).collect()
}

/// Returns the start of an MP3 stream: an ID3v2 header and a few frame bytes.
fn mp3_bytes() -> Vec<u8> {
    let mut bytes = b"ID3\x04\x00\x00\x00\x00\x00\x0a".to_vec();
    bytes.extend_from_slice(&[0xFF, 0xFB, 0x90, 0x64, 0x00, 0x00, 0x00, 0x00]);
    bytes
}

fn error_response(status: u16, body: String, retry_after_seconds: Option<u64>) -> Response {
    let mut response =
        Response::builder().status(StatusCode::from_u16(status).unwrap()).header("content-type", "application/json");
    if let Some(seconds) = retry_after_seconds {
        response = response.header("retry-after", seconds.to_string());
    }
    response.body(Body::from(body)).unwrap()
}

/// Checks the API key and the voice, the parts both endpoints share.
fn check_key_and_voice(headers: &HeaderMap, voice_id: &str) -> Result<(), Response> {
    let key = headers.get("xi-api-key").and_then(|value| value.to_str().ok());
    if key != Some(API_KEY) {
        let body = error_body("invalid_api_key", "Invalid API key");
        return Err(error_response(401, body, None));
    }
    if voice_id != VOICE_ES && voice_id != VOICE_EN {
        let body = error_body("voice_not_found", &format!("A voice with the voice_id {voice_id} was not found."));
        return Err(error_response(404, body, None));
    }
    Ok(())
}

/// Builds the response of a behaviour that is an error status, or returns `None` for the
/// others.
fn scripted_error(behaviour: &Behaviour) -> Option<Response> {
    match behaviour {
        Behaviour::RateLimited { retry_after_seconds } => {
            let body = error_body(
                "too_many_concurrent_requests",
                "There are too many concurrent requests for this account. Please wait and try again.",
            );
            Some(error_response(429, body, Some(*retry_after_seconds)))
        }
        Behaviour::ServerError => {
            Some(error_response(500, error_body("internal_error", "An internal error occurred."), None))
        }
        Behaviour::Status { status, body } => Some(error_response(*status, body.clone(), None)),
        _ => None,
    }
}

/// Checks a request body: `text` and `model_id` strings, an optional `language_code`, and
/// nothing else the client should send.
fn check_body(body: &Bytes) -> Result<Value, Response> {
    let invalid = |location: &str, message: &str| {
        let body = json!({ "detail": [{ "loc": ["body", location], "msg": message, "type": "value_error" }] });
        error_response(422, body.to_string(), None)
    };
    let value: Value = serde_json::from_slice(body).map_err(|_| invalid("body", "Invalid JSON"))?;
    let Some(fields) = value.as_object() else {
        return Err(invalid("body", "Input should be an object"));
    };
    if !fields.get("text").and_then(Value::as_str).is_some_and(|text| !text.trim().is_empty()) {
        return Err(invalid("text", "Field required"));
    }
    if !fields.get("model_id").is_some_and(Value::is_string) {
        return Err(invalid("model_id", "Field required"));
    }
    if let Some(field) = fields.keys().find(|key| !matches!(key.as_str(), "text" | "model_id" | "language_code")) {
        return Err(invalid(field, "Extra inputs are not permitted"));
    }
    Ok(value)
}

async fn http_stream(
    State(state): State<FakeState>,
    Path(voice_id): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let api_key = headers.get("xi-api-key").and_then(|value| value.to_str().ok()).map(str::to_string);
    let checked = check_key_and_voice(&headers, &voice_id).and_then(|()| check_body(&body));
    let value = match checked {
        Ok(value) => value,
        Err(response) => return response,
    };
    let text = value["text"].as_str().unwrap_or_default().to_string();
    state.record(RecordedRequest {
        transport: Transport::Http,
        voice_id,
        query: query.clone(),
        api_key,
        body: Some(value),
        messages: Vec::new(),
    });

    let mut behaviour = state.next_behaviour();
    if let Behaviour::SlowFirstByte(delay) = behaviour {
        tokio::time::sleep(delay).await;
        behaviour = Behaviour::Speak;
    }
    if let Some(response) = scripted_error(&behaviour) {
        return response;
    }

    // ElevenLabs sends MP3 when output_format is missing, which is the mistake the client
    // must catch.
    let format = query.get("output_format").map(String::as_str);
    if behaviour == Behaviour::WrongFormat || format.is_none() {
        return audio_response("audio/mpeg", vec![mp3_bytes()], Ending::Close);
    }
    if format != Some("ulaw_8000") {
        let body = error_body("invalid_output_format", "This fake renders only ulaw_8000.");
        return error_response(400, body, None);
    }

    let audio = parts(&render_ulaw(&text));
    match behaviour {
        Behaviour::Stall => audio_response("audio/basic", audio[..1].to_vec(), Ending::Stall),
        Behaviour::DropMidStream => audio_response("audio/basic", audio[..1].to_vec(), Ending::Abort),
        _ => audio_response("audio/basic", audio, Ending::Close),
    }
}

/// How a streamed body ends after its last write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    Close,
    /// Silence for an hour before closing.
    Stall,
    /// The connection is cut, so the chunked body never completes.
    Abort,
}

/// Streams the writes with a millisecond between them, so each is flushed on its own.
fn audio_response(content_type: &str, writes: Vec<Vec<u8>>, ending: Ending) -> Response {
    let items: VecDeque<Vec<u8>> = writes.into();
    let body = futures_util::stream::unfold((items, false), move |(mut items, ended)| async move {
        if ended {
            return None;
        }
        if let Some(write) = items.pop_front() {
            tokio::time::sleep(Duration::from_millis(1)).await;
            return Some((Ok::<Bytes, io::Error>(Bytes::from(write)), (items, false)));
        }
        match ending {
            Ending::Close => None,
            Ending::Stall => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                None
            }
            Ending::Abort => {
                // Without a pause, hyper closed the connection before sending the last write.
                tokio::time::sleep(Duration::from_millis(1)).await;
                Some((Err(io::Error::other("the fake cuts the connection")), (items, true)))
            }
        }
    });
    Response::builder().status(200).header("content-type", content_type).body(Body::from_stream(body)).unwrap()
}

async fn websocket_stream(
    State(state): State<FakeState>,
    Path(voice_id): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    if let Err(response) = check_key_and_voice(&headers, &voice_id) {
        return response;
    }
    if !query.contains_key("model_id") || query.get("output_format").map(String::as_str) != Some("ulaw_8000") {
        let body = error_body("invalid_request", "This fake needs model_id and output_format=ulaw_8000.");
        return error_response(400, body, None);
    }
    let index = state.record(RecordedRequest {
        transport: Transport::WebSocket,
        voice_id,
        query,
        api_key: headers.get("xi-api-key").and_then(|value| value.to_str().ok()).map(str::to_string),
        body: None,
        messages: Vec::new(),
    });

    let behaviour = state.next_behaviour();
    if let Some(response) = scripted_error(&behaviour) {
        return response;
    }
    upgrade.on_upgrade(move |socket| speak_socket(socket, state, index, behaviour))
}

/// Why the fake stopped a socket.
enum SocketEnd {
    /// The phrase is complete or the client left.
    Done,
    /// The fake cut the connection without a close frame.
    Dropped,
}

async fn speak_socket(mut socket: WebSocket, state: FakeState, index: usize, behaviour: Behaviour) {
    let mut session = SocketSession { state, index, behaviour, buffer: String::new(), audio_sent: false };
    match session.serve(&mut socket).await {
        SocketEnd::Done => {}
        // Dropping the socket closes the TCP connection without a close frame.
        SocketEnd::Dropped => drop(socket),
    }
}

struct SocketSession {
    state: FakeState,
    index: usize,
    behaviour: Behaviour,
    /// Text received since the last render.
    buffer: String,
    audio_sent: bool,
}

impl SocketSession {
    async fn serve(&mut self, socket: &mut WebSocket) -> SocketEnd {
        let mut first = true;
        while let Some(Ok(message)) = socket.recv().await {
            let Message::Text(text) = message else {
                continue;
            };
            let Ok(value) = serde_json::from_str::<Value>(&text) else {
                return policy_close(socket, "Invalid message: not JSON").await;
            };
            self.state.requests.lock().unwrap()[self.index].messages.push(value.clone());
            let Some(text) = value.get("text").and_then(Value::as_str).map(str::to_string) else {
                return policy_close(socket, "Invalid message: text is required").await;
            };

            if first {
                first = false;
                if text != " " || !value["voice_settings"].is_object() || !value["generation_config"].is_object() {
                    return policy_close(socket, "The first message must be a single space with settings").await;
                }
                continue;
            }
            if text.is_empty() {
                if let Some(end) = self.render(socket).await {
                    return end;
                }
                let _ = socket.send(Message::Text(json!({ "isFinal": true }).to_string().into())).await;
                let _ = socket.send(Message::Close(None)).await;
                return SocketEnd::Done;
            }
            if !text.ends_with(' ') {
                return policy_close(socket, "Each text must end with a space").await;
            }
            self.buffer.push_str(&text);
            if value["flush"] == json!(true) {
                if let Some(end) = self.render(socket).await {
                    return end;
                }
            }
        }
        SocketEnd::Done
    }

    /// Renders the buffered text, applying the behaviour to the first audio. Returns how the
    /// socket ends when the behaviour ends it.
    async fn render(&mut self, socket: &mut WebSocket) -> Option<SocketEnd> {
        let text = std::mem::take(&mut self.buffer);
        if text.trim().is_empty() {
            return None;
        }
        let audio = parts(&render_ulaw(&text));
        if !self.audio_sent {
            self.audio_sent = true;
            if let Some(end) = self.first_audio(socket, &audio).await {
                return Some(end);
            }
        }
        for part in &audio {
            if socket.send(audio_message(part)).await.is_err() {
                return Some(SocketEnd::Done);
            }
        }
        None
    }

    async fn first_audio(&mut self, socket: &mut WebSocket, audio: &[Vec<u8>]) -> Option<SocketEnd> {
        match self.behaviour.clone() {
            Behaviour::SlowFirstByte(delay) => {
                tokio::time::sleep(delay).await;
                None
            }
            Behaviour::NotJson => {
                let _ = socket.send(Message::Text("<html>502 Bad Gateway</html>".into())).await;
                Some(SocketEnd::Done)
            }
            Behaviour::BadBase64 => {
                let message = json!({ "audio": "%%not-base64%%", "isFinal": null });
                let _ = socket.send(Message::Text(message.to_string().into())).await;
                Some(SocketEnd::Done)
            }
            Behaviour::WrongFormat => {
                let _ = socket.send(audio_message(&mp3_bytes())).await;
                Some(SocketEnd::Done)
            }
            Behaviour::Stall => {
                let _ = socket.send(audio_message(&audio[0])).await;
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Some(SocketEnd::Done)
            }
            Behaviour::DropMidStream => {
                let _ = socket.send(audio_message(&audio[0])).await;
                Some(SocketEnd::Dropped)
            }
            Behaviour::PolicyClose(reason) => Some(policy_close(socket, &reason).await),
            _ => None,
        }
    }
}

/// Builds an audio message shaped like ElevenLabs': base64 audio with alignment data.
fn audio_message(audio: &[u8]) -> Message {
    let message = json!({
        "audio": base64::engine::general_purpose::STANDARD.encode(audio),
        "isFinal": null,
        "normalizedAlignment": { "chars": [], "charStartTimesMs": [], "charDurationsMs": [] },
        "alignment": { "chars": [], "charStartTimesMs": [], "charDurationsMs": [] },
    });
    Message::Text(message.to_string().into())
}

async fn policy_close(socket: &mut WebSocket, reason: &str) -> SocketEnd {
    let frame = CloseFrame { code: 1008, reason: reason.to_string().into() };
    let _ = socket.send(Message::Close(Some(frame))).await;
    SocketEnd::Done
}
