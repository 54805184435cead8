//! A fake Deepgram streaming server on 127.0.0.1 for the speech-to-text client tests. Each
//! connection follows the next [`Script`] and is recorded in a [`ConnectionLog`].
#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

/// The only API key the fake accepts.
pub const API_KEY: &str = "test-key";

/// Turns one turn's µ-law audio, in the language the connection asked for, into its text.
#[derive(Clone)]
pub struct Transcriber(pub Arc<dyn Fn(Vec<u8>, String) -> BoxFuture<'static, String> + Send + Sync>);

impl std::fmt::Debug for Transcriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Transcriber")
    }
}

/// Maximum audio a transcriber gets for one turn: 15 s at 8 kHz.
const TRANSCRIBED_BYTES: usize = 120_000;

/// What the fake does on one connection.
#[derive(Debug, Clone, Default)]
pub struct Script {
    /// Answers each `Finalize` with a final result holding the transcript of the audio received
    /// since the previous one, as Deepgram does when asked to finalize.
    pub transcriber: Option<Transcriber>,
    /// Closes the connection without a reply at this `Finalize` (1 is the first).
    pub drop_at_finalize: Option<usize>,
    /// Rejects the upgrade with this HTTP status and a Deepgram-shaped JSON body.
    pub reject: Option<(u16, &'static str, &'static str)>,
    /// Waits this long before reading the upgrade request.
    pub upgrade_delay: Duration,
    /// Replies sent once the connection has received at least this many audio bytes, in order.
    pub after_audio: Vec<(usize, Reply)>,
    /// Messages sent in reply to each `Finalize`.
    pub finalize_replies: Vec<String>,
}

#[derive(Debug, Clone)]
pub enum Reply {
    Text(String),
    /// Closes the TCP connection without a WebSocket close frame.
    Drop,
}

/// What one connection received.
#[derive(Debug, Clone, Default)]
pub struct ConnectionLog {
    pub path: String,
    pub query: HashMap<String, String>,
    pub authorization: Option<String>,
    pub audio_bytes: usize,
    pub keepalives: usize,
    pub finalizes: usize,
    pub close_stream: bool,
    /// Every text message, in order.
    pub texts: Vec<String>,
}

pub struct FakeDeepgram {
    pub addr: SocketAddr,
    pub log: Arc<Mutex<Vec<ConnectionLog>>>,
    server: tokio::task::JoinHandle<()>,
}

impl FakeDeepgram {
    /// Starts the fake; connection `n` follows `scripts[n]`, later ones a default script.
    pub async fn start(scripts: Vec<Script>) -> FakeDeepgram {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the fake Deepgram");
        let addr = listener.local_addr().expect("fake Deepgram address");
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut scripts = VecDeque::from(scripts);
        let server_log = Arc::clone(&log);
        let server = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let script = scripts.pop_front().unwrap_or_default();
                tokio::spawn(serve(tcp, script, Arc::clone(&server_log)));
            }
        });
        FakeDeepgram { addr, log, server }
    }

    pub fn base_url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    pub fn connections(&self) -> Vec<ConnectionLog> {
        self.log.lock().expect("fake log lock").clone()
    }
}

impl Drop for FakeDeepgram {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Builds a `Results` message shaped like Deepgram's.
pub fn results(transcript: &str, is_final: bool, speech_final: bool, from_finalize: bool) -> String {
    json!({
        "type": "Results",
        "channel_index": [0, 1],
        "duration": 0.5,
        "start": 0.0,
        "is_final": is_final,
        "speech_final": speech_final,
        "from_finalize": from_finalize,
        "channel": {"alternatives": [{"transcript": transcript, "confidence": 0.98, "words": []}]},
        "metadata": {"request_id": "fake-request", "model_uuid": "fake-model"}
    })
    .to_string()
}

pub fn utterance_end() -> String {
    json!({"type": "UtteranceEnd", "channel": [0, 1], "last_word_end": 1.2}).to_string()
}

fn metadata() -> String {
    json!({
        "type": "Metadata",
        "transaction_key": "deprecated",
        "request_id": "fake-request",
        "sha256": "0",
        "created": "2026-01-01T00:00:00.000Z",
        "duration": 1.0,
        "channels": 1
    })
    .to_string()
}

fn error_response(status: u16, code: &str, message: &str) -> ErrorResponse {
    let body = json!({"err_code": code, "err_msg": message, "request_id": "fake-request"}).to_string();
    let mut response = ErrorResponse::new(Some(body));
    *response.status_mut() = StatusCode::from_u16(status).expect("valid status");
    response
}

/// Records the upgrade request and accepts it unless the path, query, key or script reject it.
fn check_upgrade(request: &Request, script: &Script, log: &mut ConnectionLog) -> Result<(), ErrorResponse> {
    log.path = request.uri().path().to_string();
    log.query = url::form_urlencoded::parse(request.uri().query().unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    log.authorization =
        request.headers().get("authorization").and_then(|value| value.to_str().ok()).map(str::to_string);

    if log.path != "/v1/listen" {
        return Err(error_response(404, "NOT_FOUND", "unknown path"));
    }
    if !log.query.contains_key("encoding") || !log.query.contains_key("sample_rate") {
        return Err(error_response(400, "Bad Request", "raw audio needs encoding and sample_rate"));
    }
    if log.authorization.as_deref() != Some(&format!("Token {API_KEY}")) {
        return Err(error_response(401, "INVALID_AUTH", "Invalid credentials."));
    }
    if let Some((status, code, message)) = script.reject {
        return Err(error_response(status, code, message));
    }
    Ok(())
}

async fn serve(tcp: TcpStream, script: Script, log: Arc<Mutex<Vec<ConnectionLog>>>) {
    let _ = tcp.set_nodelay(true);
    tokio::time::sleep(script.upgrade_delay).await;
    let index = {
        let mut log = log.lock().expect("fake log lock");
        log.push(ConnectionLog::default());
        log.len() - 1
    };
    let record = |update: &mut dyn FnMut(&mut ConnectionLog)| update(&mut log.lock().expect("fake log lock")[index]);

    let callback = |request: &Request, response: Response| {
        let mut result = Ok(());
        record(&mut |entry| result = check_upgrade(request, &script, entry));
        result.map(|()| response)
    };
    let Ok(mut socket) = tokio_tungstenite::accept_hdr_async(tcp, callback).await else {
        return;
    };

    let mut audio_bytes = 0;
    let mut turn_audio: VecDeque<u8> = VecDeque::new();
    let mut finalizes = 0;
    let mut pending = VecDeque::from(script.after_audio.clone());
    while let Some(Ok(message)) = socket.next().await {
        match message {
            Message::Binary(bytes) => {
                audio_bytes += bytes.len();
                record(&mut |entry| entry.audio_bytes = audio_bytes);
                if script.transcriber.is_some() {
                    turn_audio.extend(bytes.iter());
                    let excess = turn_audio.len().saturating_sub(TRANSCRIBED_BYTES);
                    turn_audio.drain(..excess);
                }
                while pending.front().is_some_and(|(threshold, _)| audio_bytes >= *threshold) {
                    match pending.pop_front().expect("checked above").1 {
                        Reply::Text(text) => {
                            let _ = socket.send(Message::Text(text.into())).await;
                        }
                        Reply::Drop => return,
                    }
                }
            }
            Message::Text(text) => {
                record(&mut |entry| entry.texts.push(text.to_string()));
                let kind = serde_json::from_str::<serde_json::Value>(&text)
                    .ok()
                    .and_then(|value| value["type"].as_str().map(str::to_string))
                    .unwrap_or_default();
                match kind.as_str() {
                    "KeepAlive" => record(&mut |entry| entry.keepalives += 1),
                    "Finalize" => {
                        record(&mut |entry| entry.finalizes += 1);
                        finalizes += 1;
                        if script.drop_at_finalize == Some(finalizes) {
                            return;
                        }
                        if let Some(transcriber) = &script.transcriber {
                            let language = log.lock().expect("fake log lock")[index]
                                .query
                                .get("language")
                                .cloned()
                                .unwrap_or_default();
                            let audio: Vec<u8> = turn_audio.drain(..).collect();
                            let text = (transcriber.0)(audio, language).await;
                            let _ = socket.send(Message::Text(results(&text, true, true, true).into())).await;
                        }
                        for reply in &script.finalize_replies {
                            let _ = socket.send(Message::Text(reply.clone().into())).await;
                        }
                    }
                    "CloseStream" => {
                        record(&mut |entry| entry.close_stream = true);
                        let _ = socket.send(Message::Text(metadata().into())).await;
                        let close = CloseFrame { code: CloseCode::Normal, reason: "".into() };
                        let _ = socket.send(Message::Close(Some(close))).await;
                    }
                    _ => {}
                }
            }
            Message::Close(_) => break,
            _ => {}
        }
    }
}

/// A transcriber that runs the embedded Whisper model on the turn, so the fake answers with
/// what was really said.
pub fn whisper(pool: cobranza::speech::stt::whisper::WhisperPool) -> Transcriber {
    Transcriber(Arc::new(move |mulaw: Vec<u8>, language: String| {
        let pool = pool.clone();
        Box::pin(async move {
            let pcm = cobranza::audio::mulaw::decode_slice(&mulaw);
            let mut resampler = cobranza::audio::resample::Resampler::new(8_000, 16_000).expect("valid rates");
            let mut samples = resampler.process_f32(&pcm);
            samples.extend(resampler.flush_f32());
            let language = match language.as_str() {
                "en" => cobranza::dialog::Language::En,
                _ => cobranza::dialog::Language::Es,
            };
            pool.transcribe(samples, language).await.unwrap_or_default()
        }) as BoxFuture<'static, String>
    }))
}
