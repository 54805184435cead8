//! A fake OpenAI-compatible transcription server on 127.0.0.1 for the speech-to-text client
//! tests. It parses each multipart upload strictly, records it as an [`Upload`], and replies with
//! the next scripted [`Reply`].
//!
//! An upload that breaks the format (an unknown or repeated field, a file that is not an 8 kHz
//! mono 16-bit WAV, a wrong key) gets `400` or `401` with an OpenAI-shaped error body naming the
//! problem, and is recorded in [`FakeTranscription::rejections`].
#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::{self, Cursor};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use futures_util::StreamExt;
use serde_json::json;
use tokio::sync::Notify;

/// The only API key the fake accepts.
pub const API_KEY: &str = "sk-test-transcription";

/// Form fields the transcription endpoint accepts.
const KNOWN_FIELDS: [&str; 6] = ["file", "model", "language", "prompt", "response_format", "temperature"];

/// The fake's response to one upload.
#[derive(Debug, Clone)]
pub enum Reply {
    /// `200` with `{"text": ...}`, written as two body chunks.
    Text(String),
    /// `200` with this body as it is.
    Raw(String),
    /// `200` whose body is the cut-off JSON `{"txt":`.
    Malformed,
    /// `429` with an OpenAI error body and `Retry-After` in seconds.
    RateLimited { retry_after_secs: u64 },
    /// `500` with an OpenAI error body.
    ServerError,
    /// This status with an OpenAI error body of this message and type.
    Status { status: u16, message: &'static str, error_type: &'static str },
    /// `200` headers and the first half of a JSON body, then the connection is aborted.
    DropMidBody,
    /// Waits this long before sending any byte of `reply`.
    Delayed { delay: Duration, reply: Box<Reply> },
    /// Waits until the test calls `notify_one` on the gate, then sends `reply`.
    Held { gate: Arc<Notify>, reply: Box<Reply> },
}

/// One accepted upload, as the fake parsed it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Upload {
    pub path: String,
    pub authorization: String,
    /// Form field names in the order they arrived.
    pub fields: Vec<String>,
    pub model: String,
    pub language: Option<String>,
    pub response_format: Option<String>,
    pub prompt: Option<String>,
    pub filename: String,
    pub file_content_type: String,
    /// The WAV file's samples, checked to be 8 kHz mono 16-bit.
    pub samples: Vec<i16>,
}

#[derive(Clone)]
struct FakeState {
    replies: Arc<Mutex<VecDeque<Reply>>>,
    uploads: Arc<Mutex<Vec<Upload>>>,
    rejections: Arc<Mutex<Vec<String>>>,
}

/// A running fake transcription server. Dropping it stops the server.
pub struct FakeTranscription {
    /// Server root, for example `http://127.0.0.1:40123`.
    pub base_url: String,
    uploads: Arc<Mutex<Vec<Upload>>>,
    rejections: Arc<Mutex<Vec<String>>>,
    server: tokio::task::JoinHandle<()>,
}

impl FakeTranscription {
    /// Starts the server. Upload `n` gets `replies[n]` and later uploads get a `500`.
    pub async fn start(replies: Vec<Reply>) -> FakeTranscription {
        let state = FakeState {
            replies: Arc::new(Mutex::new(replies.into())),
            uploads: Arc::new(Mutex::new(Vec::new())),
            rejections: Arc::new(Mutex::new(Vec::new())),
        };
        let uploads = Arc::clone(&state.uploads);
        let rejections = Arc::clone(&state.rejections);
        let app = Router::new()
            .route("/v1/audio/transcriptions", post(transcriptions))
            // OpenAI's upload limit is 25 MB.
            .layer(DefaultBodyLimit::max(25 * 1024 * 1024))
            .with_state(state);

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let address = listener.local_addr().expect("local address");
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("fake transcription server failed");
        });
        FakeTranscription { base_url: format!("http://{address}"), uploads, rejections, server }
    }

    /// Returns the accepted uploads, in order.
    pub fn uploads(&self) -> Vec<Upload> {
        self.uploads.lock().expect("uploads lock").clone()
    }

    /// Returns why each rejected request was rejected, in order.
    pub fn rejections(&self) -> Vec<String> {
        self.rejections.lock().expect("rejections lock").clone()
    }
}

impl Drop for FakeTranscription {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Returns an OpenAI-shaped error body.
pub fn error_body(message: &str, error_type: &str) -> String {
    json!({ "error": { "message": message, "type": error_type, "param": null, "code": null } }).to_string()
}

async fn transcriptions(State(state): State<FakeState>, headers: HeaderMap, body: Bytes) -> Response {
    let authorization = header(&headers, "authorization");
    if authorization != format!("Bearer {API_KEY}") {
        let message = "Incorrect API key provided";
        state.rejections.lock().expect("rejections lock").push(message.to_string());
        return error_response(401, message, "invalid_request_error", None);
    }

    let mut upload = match parse_upload(&header(&headers, "content-type"), &body) {
        Ok(upload) => upload,
        Err(problem) => {
            state.rejections.lock().expect("rejections lock").push(problem.clone());
            return error_response(400, &problem, "invalid_request_error", None);
        }
    };
    upload.path = "/v1/audio/transcriptions".to_string();
    upload.authorization = authorization;
    state.uploads.lock().expect("uploads lock").push(upload);

    let reply = state.replies.lock().expect("replies lock").pop_front();
    match reply {
        Some(reply) => respond(reply).await,
        None => error_response(500, "the fake has no scripted reply left", "server_error", None),
    }
}

fn header(headers: &HeaderMap, name: &str) -> String {
    headers.get(name).and_then(|value| value.to_str().ok()).unwrap_or_default().to_string()
}

async fn respond(reply: Reply) -> Response {
    let mut next = reply;
    let reply = loop {
        next = match next {
            Reply::Delayed { delay, reply } => {
                tokio::time::sleep(delay).await;
                *reply
            }
            Reply::Held { gate, reply } => {
                gate.notified().await;
                *reply
            }
            ready => break ready,
        };
    };

    match reply {
        Reply::Text(text) => {
            let body = json!({ "text": text }).to_string();
            let (head, tail) = body.split_at(body.len() / 2);
            chunked_json(vec![Ok(head.to_string()), Ok(tail.to_string())])
        }
        Reply::Raw(body) => json_response(200, body),
        Reply::Malformed => json_response(200, r#"{"txt":"#.to_string()),
        Reply::RateLimited { retry_after_secs } => {
            error_response(429, "Rate limit reached for requests per minute", "requests", Some(retry_after_secs))
        }
        Reply::ServerError => {
            error_response(500, "The server had an error while processing your request", "server_error", None)
        }
        Reply::Status { status, message, error_type } => error_response(status, message, error_type, None),
        Reply::DropMidBody => chunked_json(vec![
            Ok(r#"{"text": "quiero pa"#.to_string()),
            Err(io::Error::other("the fake drops the connection")),
        ]),
        Reply::Delayed { .. } | Reply::Held { .. } => unreachable!("waits are unwrapped above"),
    }
}

/// Builds a `200` JSON response whose body is sent as separate chunks with a yield between them,
/// so each one goes out as its own write. An `Err` item aborts the connection there.
fn chunked_json(chunks: Vec<io::Result<String>>) -> Response {
    let chunks = futures_util::stream::iter(chunks).then(|chunk| async move {
        tokio::task::yield_now().await;
        chunk.map(Bytes::from)
    });
    Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(Body::from_stream(chunks))
        .expect("valid response")
}

fn json_response(status: u16, body: String) -> Response {
    Response::builder()
        .status(StatusCode::from_u16(status).expect("valid status"))
        .header("content-type", "application/json")
        .body(Body::from(body))
        .expect("valid response")
}

fn error_response(status: u16, message: &str, error_type: &str, retry_after_secs: Option<u64>) -> Response {
    let mut response = Response::builder()
        .status(StatusCode::from_u16(status).expect("valid status"))
        .header("content-type", "application/json");
    if let Some(seconds) = retry_after_secs {
        response = response.header("retry-after", seconds.to_string());
    }
    response.body(Body::from(error_body(message, error_type))).expect("valid response")
}

/// One part of a `multipart/form-data` body.
struct FormPart {
    name: String,
    filename: Option<String>,
    content_type: Option<String>,
    data: Vec<u8>,
}

/// Checks the form fields and the WAV file of an upload.
fn parse_upload(content_type: &str, body: &[u8]) -> Result<Upload, String> {
    let boundary = content_type
        .strip_prefix("multipart/form-data; boundary=")
        .ok_or_else(|| format!("content type {content_type:?} is not multipart/form-data with a boundary"))?;
    let parts = parse_multipart(body, boundary)?;

    let mut upload = Upload::default();
    for part in &parts {
        if !KNOWN_FIELDS.contains(&part.name.as_str()) {
            return Err(format!("unknown field {:?}", part.name));
        }
        if upload.fields.contains(&part.name) {
            return Err(format!("field {:?} appears twice", part.name));
        }
        upload.fields.push(part.name.clone());
        if part.name != "file" && (part.filename.is_some() || part.content_type.is_some()) {
            return Err(format!("text field {:?} has a filename or content type", part.name));
        }
        let text = || String::from_utf8(part.data.clone()).map_err(|_| format!("field {:?} is not UTF-8", part.name));
        match part.name.as_str() {
            "file" => {
                upload.filename = part.filename.clone().ok_or("the file field has no filename")?;
                upload.file_content_type = part.content_type.clone().ok_or("the file field has no content type")?;
                upload.samples = parse_wav(&part.data)?;
            }
            "model" => upload.model = text()?,
            "language" => upload.language = Some(text()?),
            "response_format" => upload.response_format = Some(text()?),
            "prompt" => upload.prompt = Some(text()?),
            _ => {}
        }
    }
    if !upload.fields.iter().any(|name| name == "file") {
        return Err("the file field is missing".to_string());
    }
    if upload.model.is_empty() {
        return Err("the model field is missing or empty".to_string());
    }
    Ok(upload)
}

/// Splits a multipart body at its boundary lines (RFC 7578): `--boundary CRLF` before each
/// part, `CRLF --boundary` after it, and `--` after the last boundary.
fn parse_multipart(body: &[u8], boundary: &str) -> Result<Vec<FormPart>, String> {
    let opening = format!("--{boundary}");
    let separator = format!("\r\n--{boundary}");
    let mut rest = body.strip_prefix(opening.as_bytes()).ok_or("the body does not start with the boundary")?;
    let mut parts = Vec::new();

    loop {
        if let Some(after_close) = rest.strip_prefix(b"--") {
            if !after_close.is_empty() && after_close != b"\r\n" {
                return Err("bytes follow the closing boundary".to_string());
            }
            return Ok(parts);
        }
        rest = rest.strip_prefix(b"\r\n").ok_or("a boundary is not followed by CRLF")?;
        let end = find(rest, separator.as_bytes()).ok_or("a part is not closed by a boundary")?;
        parts.push(parse_part(&rest[..end])?);
        rest = &rest[end + separator.len()..];
    }
}

fn parse_part(part: &[u8]) -> Result<FormPart, String> {
    let header_end = find(part, b"\r\n\r\n").ok_or("a part has no blank line after its headers")?;
    let headers = std::str::from_utf8(&part[..header_end]).map_err(|_| "part headers are not UTF-8")?;
    let mut parsed =
        FormPart { name: String::new(), filename: None, content_type: None, data: part[header_end + 4..].to_vec() };
    let mut disposition = None;

    for line in headers.split("\r\n") {
        let (name, value) = line.split_once(':').ok_or_else(|| format!("part header {line:?} has no colon"))?;
        match name.trim().to_ascii_lowercase().as_str() {
            "content-disposition" => disposition = Some(value.trim().to_string()),
            "content-type" => parsed.content_type = Some(value.trim().to_string()),
            other => return Err(format!("unexpected part header {other:?}")),
        }
    }

    let disposition = disposition.ok_or("a part has no Content-Disposition")?;
    let mut attributes = disposition.split(';').map(str::trim);
    if attributes.next() != Some("form-data") {
        return Err(format!("Content-Disposition {disposition:?} is not form-data"));
    }
    for attribute in attributes {
        let (key, value) = attribute.split_once('=').ok_or_else(|| format!("attribute {attribute:?} has no value"))?;
        let value = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')).ok_or("attribute value is not quoted")?;
        match key {
            "name" => parsed.name = value.to_string(),
            "filename" => parsed.filename = Some(value.to_string()),
            other => return Err(format!("unexpected Content-Disposition attribute {other:?}")),
        }
    }
    if parsed.name.is_empty() {
        return Err(format!("Content-Disposition {disposition:?} has no name"));
    }
    Ok(parsed)
}

/// Reads a WAV file and checks it is 8 kHz mono 16-bit integer PCM.
fn parse_wav(data: &[u8]) -> Result<Vec<i16>, String> {
    let reader = hound::WavReader::new(Cursor::new(data)).map_err(|error| format!("the file is not WAV: {error}"))?;
    let spec = reader.spec();
    let expected = hound::WavSpec {
        channels: 1,
        sample_rate: 8_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    if spec != expected {
        return Err(format!("the WAV format is {spec:?}, expected {expected:?}"));
    }
    reader
        .into_samples::<i16>()
        .collect::<Result<Vec<i16>, _>>()
        .map_err(|error| format!("the WAV samples are unreadable: {error}"))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}
