//! A webhook receiver on 127.0.0.1 that replaces the server's callback endpoints in tests. It records
//! each POST with its form parameters and whether its `X-Twilio-Signature` is valid for the URL
//! it was sent to, and answers 204.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use tokio::net::TcpListener;

use cobranza::telephony::twilio::signature;

/// One callback as it arrived.
#[derive(Debug, Clone)]
pub struct ReceivedCallback {
    /// The path and query the callback was sent to, e.g. `/status`.
    pub path: String,
    pub params: Vec<(String, String)>,
    pub signature_valid: bool,
}

impl ReceivedCallback {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }
}

struct SinkState {
    base_url: String,
    auth_token: String,
    received: Mutex<Vec<ReceivedCallback>>,
}

/// The running receiver. `/status` and `/amd` accept callbacks.
pub struct CallbackSink {
    pub base_url: String,
    state: Arc<SinkState>,
}

impl CallbackSink {
    /// Starts a receiver that checks signatures against `auth_token`.
    pub async fn start(auth_token: &str) -> CallbackSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let base_url = format!("http://{}", listener.local_addr().expect("address"));
        let state = Arc::new(SinkState {
            base_url: base_url.clone(),
            auth_token: auth_token.to_string(),
            received: Mutex::new(Vec::new()),
        });
        let router =
            Router::new().route("/status", post(receive)).route("/amd", post(receive)).with_state(state.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        CallbackSink { base_url, state }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Returns the callbacks received so far, in arrival order.
    pub fn received(&self) -> Vec<ReceivedCallback> {
        self.state.received.lock().expect("sink lock").clone()
    }
}

async fn receive(
    State(state): State<Arc<SinkState>>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let params: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let path = uri.path_and_query().map_or(uri.path().to_string(), |pq| pq.as_str().to_string());
    let url = format!("{}{path}", state.base_url);
    let provided = headers.get("x-twilio-signature").and_then(|value| value.to_str().ok()).unwrap_or("");
    let signature_valid = signature::is_valid(&state.auth_token, &url, &params, provided);
    state.received.lock().expect("sink lock").push(ReceivedCallback { path, params, signature_valid });
    StatusCode::NO_CONTENT
}
