//! A fake OpenAI-compatible `/v1/audio/speech` server on 127.0.0.1. It checks the key and the
//! body fields, records each request and follows a scripted behaviour per request.
//!
//! Audio is a 440 Hz tone as 24 kHz 16-bit little-endian PCM, [`SAMPLES_PER_CHARACTER`]
//! samples per character of the input, sent in writes of [`WRITE_BYTES`] bytes so that chunk
//! edges split samples.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};

/// The only API key the fake accepts.
pub const API_KEY: &str = "test-openai-key";

/// Samples of audio per character of input: 10 ms at 24 kHz.
pub const SAMPLES_PER_CHARACTER: usize = 240;

/// Size of each body write. It is odd, so every other write ends inside a sample.
pub const WRITE_BYTES: usize = 1001;

/// What the fake does with one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Behaviour {
    /// Streams the audio in writes of [`WRITE_BYTES`].
    Speak,
    /// HTTP 429 with OpenAI's error body and `Retry-After`.
    RateLimited { retry_after_seconds: u64 },
    /// HTTP 500 with OpenAI's error body.
    ServerError,
    /// The audio followed by one stray byte.
    OddTrailingByte,
    /// A WAV file (a `RIFF` header) instead of raw PCM.
    WrongFormat,
    /// Waits this long before the response headers.
    SlowFirstByte(Duration),
    /// Sends the first write, then nothing for an hour.
    Stall,
    /// Sends the first write, then cuts the connection.
    DropMidStream,
}

/// One request as the fake received it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub authorization: Option<String>,
    pub body: Value,
}

#[derive(Clone)]
struct FakeState {
    behaviours: Arc<Mutex<VecDeque<Behaviour>>>,
    requests: Arc<Mutex<Vec<RecordedRequest>>>,
}

/// A running fake server.
pub struct FakeOpenAiSpeech {
    /// Server root, for example `http://127.0.0.1:40123`.
    pub base_url: String,
    requests: Arc<Mutex<Vec<RecordedRequest>>>,
    server: tokio::task::JoinHandle<()>,
}

impl FakeOpenAiSpeech {
    /// Starts the fake: request `n` follows `behaviours[n]`, later ones [`Behaviour::Speak`].
    pub async fn start(behaviours: Vec<Behaviour>) -> FakeOpenAiSpeech {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let state = FakeState { behaviours: Arc::new(Mutex::new(behaviours.into())), requests: Arc::clone(&requests) };
        let app = Router::new().route("/v1/audio/speech", post(speech)).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the fake OpenAI speech server");
        let address = listener.local_addr().expect("fake OpenAI speech address");
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("fake OpenAI speech server failed");
        });
        FakeOpenAiSpeech { base_url: format!("http://{address}"), requests, server }
    }

    /// Returns the requests received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for FakeOpenAiSpeech {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Returns the 24 kHz samples the fake renders for `input`.
pub fn render_pcm(input: &str) -> Vec<i16> {
    let len = input.chars().count() * SAMPLES_PER_CHARACTER;
    (0..len).map(|n| (8_000.0 * (2.0 * std::f64::consts::PI * 440.0 * n as f64 / 24_000.0).sin()) as i16).collect()
}

/// Returns the body bytes of [`render_pcm`].
pub fn render_bytes(input: &str) -> Vec<u8> {
    render_pcm(input).iter().flat_map(|sample| sample.to_le_bytes()).collect()
}

/// Returns an OpenAI error body: `{"error": {"message", "type", "param", "code"}}`.
pub fn error_body(message: &str, error_type: &str, code: Option<&str>) -> String {
    json!({ "error": { "message": message, "type": error_type, "param": null, "code": code } }).to_string()
}

fn error_response(status: u16, body: String, retry_after_seconds: Option<u64>) -> Response {
    let mut response =
        Response::builder().status(StatusCode::from_u16(status).unwrap()).header("content-type", "application/json");
    if let Some(seconds) = retry_after_seconds {
        response = response.header("retry-after", seconds.to_string());
    }
    response.body(Body::from(body)).unwrap()
}

/// Checks the body: `model`, `input` and `voice` strings, and only fields the endpoint takes.
fn check_body(body: &Bytes) -> Result<Value, Response> {
    let invalid = |message: &str| error_response(400, error_body(message, "invalid_request_error", None), None);
    let value: Value = serde_json::from_slice(body).map_err(|_| invalid("We could not parse the JSON body."))?;
    let Some(fields) = value.as_object() else {
        return Err(invalid("The body must be a JSON object."));
    };
    for required in ["model", "input", "voice"] {
        if !fields.get(required).is_some_and(Value::is_string) {
            return Err(invalid(&format!("Missing required parameter: '{required}'.")));
        }
    }
    let allowed = ["model", "input", "voice", "response_format", "speed", "instructions"];
    if let Some(field) = fields.keys().find(|key| !allowed.contains(&key.as_str())) {
        return Err(invalid(&format!("Unrecognized request argument supplied: {field}")));
    }
    Ok(value)
}

async fn speech(State(state): State<FakeState>, headers: HeaderMap, body: Bytes) -> Response {
    let authorization = headers.get("authorization").and_then(|value| value.to_str().ok()).map(str::to_string);
    if authorization.as_deref() != Some(&format!("Bearer {API_KEY}")) {
        let body = error_body("Incorrect API key provided.", "invalid_request_error", Some("invalid_api_key"));
        return error_response(401, body, None);
    }
    let value = match check_body(&body) {
        Ok(value) => value,
        Err(response) => return response,
    };
    let input = value["input"].as_str().unwrap_or_default().to_string();
    let format = value.get("response_format").and_then(Value::as_str).map(str::to_string);
    state.requests.lock().unwrap().push(RecordedRequest { authorization, body: value });

    let mut behaviour = state.behaviours.lock().unwrap().pop_front().unwrap_or(Behaviour::Speak);
    if let Behaviour::SlowFirstByte(delay) = behaviour {
        tokio::time::sleep(delay).await;
        behaviour = Behaviour::Speak;
    }
    match behaviour {
        Behaviour::RateLimited { retry_after_seconds } => {
            let message = "Rate limit reached for requests per minute. Please try again in 20s.";
            let body = error_body(message, "requests", Some("rate_limit_exceeded"));
            return error_response(429, body, Some(retry_after_seconds));
        }
        Behaviour::ServerError => {
            let body = error_body("The server had an error while processing your request.", "server_error", None);
            return error_response(500, body, None);
        }
        _ => {}
    }

    if format.as_deref() != Some("pcm") || behaviour == Behaviour::WrongFormat {
        return audio_response(wav_bytes(&input), Ending::Close);
    }
    let mut audio = render_bytes(&input);
    match behaviour {
        Behaviour::OddTrailingByte => {
            audio.push(0x42);
            audio_response(audio, Ending::Close)
        }
        Behaviour::Stall => audio_response(audio[..WRITE_BYTES].to_vec(), Ending::Stall),
        Behaviour::DropMidStream => audio_response(audio[..WRITE_BYTES].to_vec(), Ending::Abort),
        _ => audio_response(audio, Ending::Close),
    }
}

/// Builds a WAV file of the rendered audio, as a server that ignores `response_format` might send.
fn wav_bytes(input: &str) -> Vec<u8> {
    let data = render_bytes(input);
    let mut bytes = b"RIFF".to_vec();
    bytes.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    bytes.extend_from_slice(b"WAVEfmt ");
    bytes.extend_from_slice(&16u32.to_le_bytes());
    bytes.extend_from_slice(&1u16.to_le_bytes());
    bytes.extend_from_slice(&1u16.to_le_bytes());
    bytes.extend_from_slice(&24_000u32.to_le_bytes());
    bytes.extend_from_slice(&48_000u32.to_le_bytes());
    bytes.extend_from_slice(&2u16.to_le_bytes());
    bytes.extend_from_slice(&16u16.to_le_bytes());
    bytes.extend_from_slice(b"data");
    bytes.extend_from_slice(&(data.len() as u32).to_le_bytes());
    bytes.extend_from_slice(&data);
    bytes
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

/// Streams `audio` in writes of [`WRITE_BYTES`] with a millisecond between them, so each is
/// flushed on its own.
fn audio_response(audio: Vec<u8>, ending: Ending) -> Response {
    let writes: VecDeque<Vec<u8>> = audio.chunks(WRITE_BYTES).map(<[u8]>::to_vec).collect();
    let body = futures_util::stream::unfold((writes, false), move |(mut writes, ended)| async move {
        if ended {
            return None;
        }
        if let Some(write) = writes.pop_front() {
            tokio::time::sleep(Duration::from_millis(1)).await;
            return Some((Ok::<Bytes, io::Error>(Bytes::from(write)), (writes, false)));
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
                Some((Err(io::Error::other("the fake cuts the connection")), (writes, true)))
            }
        }
    });
    Response::builder().status(200).header("content-type", "audio/pcm").body(Body::from_stream(body)).unwrap()
}
