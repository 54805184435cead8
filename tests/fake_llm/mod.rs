//! A fake OpenAI-compatible chat-completions server on 127.0.0.1 that replays scripted replies.
//!
//! It rejects requests to another path (404), without the expected `Authorization: Bearer` key
//! (401) or without `"stream": true` (400), and records every accepted request body.
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

/// How a scripted event stream ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The body ends normally after the last write.
    Close,
    /// The connection is aborted after the last write, so the chunked body never completes.
    Abort,
}

/// One scripted reply.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A `200 text/event-stream` body sent as these separate writes, a millisecond apart.
    Events { writes: Vec<Vec<u8>>, ending: Ending },
    /// An error status with a body and an optional `Retry-After` in seconds.
    Status { status: u16, retry_after: Option<u64>, body: String },
    /// The same reply after waiting this long before sending any byte.
    Delayed { delay: Duration, reply: Box<Reply> },
    /// Response headers at once, then these writes, then silence for `pause` before closing.
    Stall { writes: Vec<Vec<u8>>, pause: Duration },
}

/// Builds the reply to a request from its JSON body, for fakes that answer what they are asked.
pub type Responder = Arc<dyn Fn(&Value) -> Reply + Send + Sync>;

#[derive(Clone)]
struct FakeState {
    api_key: String,
    replies: Arc<Mutex<VecDeque<Reply>>>,
    responder: Option<Responder>,
    requests: Arc<Mutex<Vec<Value>>>,
}

/// A running fake server.
pub struct FakeLlm {
    /// Server root, for example `http://127.0.0.1:40123`.
    pub base_url: String,
    requests: Arc<Mutex<Vec<Value>>>,
}

impl FakeLlm {
    /// Starts the server, which accepts `api_key` and replies to requests with `replies` in order.
    pub async fn start(api_key: &str, replies: Vec<Reply>) -> FakeLlm {
        FakeLlm::serve(api_key, replies, None).await
    }

    /// Starts the server, which answers every request with what `responder` builds from it.
    pub async fn answering(api_key: &str, responder: Responder) -> FakeLlm {
        FakeLlm::serve(api_key, Vec::new(), Some(responder)).await
    }

    async fn serve(api_key: &str, replies: Vec<Reply>, responder: Option<Responder>) -> FakeLlm {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let state = FakeState {
            api_key: api_key.to_string(),
            replies: Arc::new(Mutex::new(replies.into())),
            responder,
            requests: requests.clone(),
        };
        let app = Router::new().route("/v1/chat/completions", post(chat_completions)).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let address = listener.local_addr().expect("local address");
        tokio::spawn(async move {
            axum::serve(listener, app).await.expect("fake LLM server failed");
        });
        FakeLlm { base_url: format!("http://{address}"), requests }
    }

    /// Returns the JSON bodies of the accepted requests, in order.
    pub fn requests(&self) -> Vec<Value> {
        self.requests.lock().unwrap().clone()
    }
}

async fn chat_completions(State(state): State<FakeState>, headers: HeaderMap, body: Bytes) -> Response {
    let expected = format!("Bearer {}", state.api_key);
    let authorization = headers.get("authorization").and_then(|value| value.to_str().ok());
    if authorization != Some(expected.as_str()) {
        return error_response(401, None, "Incorrect API key provided", "invalid_request_error");
    }
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return error_response(400, None, "request body is not JSON", "invalid_request_error");
    };
    if request["stream"] != json!(true) {
        return error_response(400, None, "this fake only streams: set stream to true", "invalid_request_error");
    }
    let computed = state.responder.as_ref().map(|responder| responder(&request));
    state.requests.lock().unwrap().push(request);

    let reply = computed.or_else(|| state.replies.lock().unwrap().pop_front());
    match reply {
        Some(reply) => respond(reply).await,
        None => error_response(500, None, "the fake has no scripted reply left", "server_error"),
    }
}

async fn respond(reply: Reply) -> Response {
    let mut reply = reply;
    while let Reply::Delayed { delay, reply: inner } = reply {
        tokio::time::sleep(delay).await;
        reply = *inner;
    }
    match reply {
        Reply::Events { writes, ending } => event_stream(writes, ending, Duration::ZERO),
        Reply::Stall { writes, pause } => event_stream(writes, Ending::Close, pause),
        Reply::Status { status, retry_after, body } => {
            let mut response = Response::builder()
                .status(StatusCode::from_u16(status).expect("valid status"))
                .header("content-type", "application/json");
            if let Some(seconds) = retry_after {
                response = response.header("retry-after", seconds.to_string());
            }
            response.body(Body::from(body)).unwrap()
        }
        Reply::Delayed { .. } => unreachable!("delays are unwrapped above"),
    }
}

/// Streams the writes with a short sleep between them, so each one is flushed as its own TCP
/// write and the client usually reads them in separate chunks.
fn event_stream(writes: Vec<Vec<u8>>, ending: Ending, pause_before_close: Duration) -> Response {
    let items: VecDeque<Vec<u8>> = writes.into();
    let body = futures_util::stream::unfold((items, false), move |(mut items, ended)| async move {
        if ended {
            return None;
        }
        if let Some(write) = items.pop_front() {
            tokio::time::sleep(Duration::from_millis(1)).await;
            return Some((Ok::<Bytes, io::Error>(Bytes::from(write)), (items, false)));
        }
        tokio::time::sleep(pause_before_close).await;
        match ending {
            Ending::Close => None,
            Ending::Abort => Some((Err(io::Error::other("fake aborts the connection")), (items, true))),
        }
    });
    Response::builder().status(200).header("content-type", "text/event-stream").body(Body::from_stream(body)).unwrap()
}

fn error_response(status: u16, retry_after: Option<u64>, message: &str, error_type: &str) -> Response {
    let body = error_body(message, error_type);
    let mut response =
        Response::builder().status(StatusCode::from_u16(status).unwrap()).header("content-type", "application/json");
    if let Some(seconds) = retry_after {
        response = response.header("retry-after", seconds.to_string());
    }
    response.body(Body::from(body)).unwrap()
}

/// Returns an OpenAI-shaped error body.
pub fn error_body(message: &str, error_type: &str) -> String {
    json!({ "error": { "message": message, "type": error_type, "param": null, "code": null } }).to_string()
}

/// Returns one `data:` event for a chunk with this delta and finish reason.
pub fn chunk(delta: Value, finish_reason: Option<&str>) -> Vec<u8> {
    let chunk = json!({
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": "fake-model",
        "choices": [{ "index": 0, "delta": delta, "finish_reason": finish_reason }],
    });
    format!("data: {chunk}\n\n").into_bytes()
}

/// Returns one `data:` event with a content delta.
pub fn content(text: &str) -> Vec<u8> {
    chunk(json!({ "content": text }), None)
}

/// Returns the final usage event, which has no choices.
pub fn usage(prompt_tokens: u64, completion_tokens: u64) -> Vec<u8> {
    let chunk = json!({
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": "fake-model",
        "choices": [],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    });
    format!("data: {chunk}\n\n").into_bytes()
}

/// Returns the closing `data: [DONE]` event.
pub fn done() -> Vec<u8> {
    b"data: [DONE]\n\n".to_vec()
}

/// Joins events and cuts the bytes into writes of `size` bytes, so events and lines are split
/// across TCP writes.
pub fn split_into_writes(events: &[Vec<u8>], size: usize) -> Vec<Vec<u8>> {
    let joined: Vec<u8> = events.concat();
    joined.chunks(size).map(<[u8]>::to_vec).collect()
}
