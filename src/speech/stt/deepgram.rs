//! Deepgram streaming speech-to-text over one WebSocket per call.
//!
//! The session hands over 8 kHz PCM ([`SttInput::Audio`]), which is encoded to G.711 µ-law here
//! and sent as binary frames. Deepgram's `is_final` pieces are joined into one turn, and exactly
//! one [`SttEvent::Final`] is sent for each [`SttInput::Finalize`], because the session counts
//! transcripts against the turns it closed.

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tracing::{debug, info, warn};

use super::{SpeechToText, SttEvent, SttInput, SttStream, MAX_TURN_SAMPLES};
use crate::audio::{mulaw, CALL_SAMPLE_RATE};
use crate::dialog::Language;
use crate::speech::SpeechError;

const PROVIDER: &str = "deepgram";

/// µ-law bytes kept from before local voice activity detection heard speech: 600 ms at 8 kHz,
/// one byte per sample.
const PRE_ROLL_BYTES: usize = CALL_SAMPLE_RATE as usize * 6 / 10;

/// Size of the binary frames used when a turn's audio is sent again after a reconnect: 100 ms.
const RESEND_FRAME_BYTES: usize = CALL_SAMPLE_RATE as usize / 10;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A Deepgram API key. Its `Debug` output is redacted so the key never reaches a log.
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> ApiKey {
        ApiKey(key.into())
    }

    /// Reads the key from the environment variable `name`; fails when it is missing or empty.
    pub fn from_env(name: &str) -> Result<ApiKey, SpeechError> {
        match std::env::var(name) {
            Ok(key) if !key.trim().is_empty() => Ok(ApiKey(key.trim().to_string())),
            _ => Err(SpeechError::Unavailable {
                provider: PROVIDER,
                reason: format!("environment variable {name} is missing or empty; set it to a Deepgram API key"),
            }),
        }
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// Settings of the Deepgram streaming connection.
#[derive(Debug, Clone)]
pub struct DeepgramSettings {
    /// Scheme and host, without a path: `wss://api.deepgram.com` in production.
    pub base_url: String,
    pub model: String,
    /// Silence, in milliseconds, after which Deepgram marks a result `speech_final`.
    pub endpointing_ms: u32,
    /// Gap, in milliseconds, after the last finalized word before Deepgram sends `UtteranceEnd`.
    pub utterance_end_ms: u32,
    /// How often a `KeepAlive` is sent while no audio flows. Deepgram closes a connection that
    /// gets neither audio nor `KeepAlive` for 10 s.
    pub keepalive_interval: Duration,
    /// Limit on the TCP connect, TLS and WebSocket upgrade together.
    pub connect_timeout: Duration,
    /// How long to wait for Deepgram's last results after `CloseStream`.
    pub close_timeout: Duration,
}

impl Default for DeepgramSettings {
    fn default() -> Self {
        DeepgramSettings {
            base_url: "wss://api.deepgram.com".to_string(),
            model: "nova-3".to_string(),
            endpointing_ms: 300,
            utterance_end_ms: 1000,
            keepalive_interval: Duration::from_secs(3),
            connect_timeout: Duration::from_secs(5),
            close_timeout: Duration::from_secs(2),
        }
    }
}

/// Speech-to-text on Deepgram's streaming API: one WebSocket per call.
#[derive(Debug, Clone)]
pub struct DeepgramStt {
    settings: DeepgramSettings,
    api_key: ApiKey,
}

impl DeepgramStt {
    pub fn new(settings: DeepgramSettings, api_key: ApiKey) -> Self {
        DeepgramStt { settings, api_key }
    }

    /// Builds the `/v1/listen` URL for one call in `language`.
    pub fn listen_url(&self, language: Language) -> Result<url::Url, SpeechError> {
        let base = self.settings.base_url.trim_end_matches('/');
        let mut url = url::Url::parse(&format!("{base}/v1/listen")).map_err(|e| SpeechError::Unavailable {
            provider: PROVIDER,
            reason: format!("invalid Deepgram base URL {:?}: {e}", self.settings.base_url),
        })?;
        url.query_pairs_mut()
            .append_pair("encoding", "mulaw")
            .append_pair("sample_rate", &CALL_SAMPLE_RATE.to_string())
            .append_pair("channels", "1")
            .append_pair("model", &self.settings.model)
            .append_pair("language", language.code())
            .append_pair("interim_results", "true")
            .append_pair("endpointing", &self.settings.endpointing_ms.to_string())
            .append_pair("utterance_end_ms", &self.settings.utterance_end_ms.to_string())
            .append_pair("vad_events", "true");
        Ok(url)
    }

    async fn connect(&self, url: &url::Url) -> Result<Socket, SpeechError> {
        let mut request = url.as_str().into_client_request().map_err(|e| SpeechError::Unavailable {
            provider: PROVIDER,
            reason: format!("invalid Deepgram URL {url}: {e}"),
        })?;
        let authorization =
            HeaderValue::from_str(&format!("Token {}", self.api_key.0)).map_err(|_| SpeechError::Unavailable {
                provider: PROVIDER,
                reason: "the Deepgram API key contains characters not allowed in an HTTP header".to_string(),
            })?;
        request.headers_mut().insert("Authorization", authorization);

        // Nagle's algorithm would hold back small audio frames waiting for ACKs.
        let connecting = tokio_tungstenite::connect_async_with_config(request, None, true);
        match tokio::time::timeout(self.settings.connect_timeout, connecting).await {
            Ok(Ok((socket, _response))) => Ok(socket),
            Ok(Err(error)) => Err(upgrade_error(error)),
            Err(_) => Err(SpeechError::Unavailable {
                provider: PROVIDER,
                reason: format!(
                    "connecting to {} timed out after {} ms; check the network or raise the connect timeout",
                    self.settings.base_url,
                    self.settings.connect_timeout.as_millis()
                ),
            }),
        }
    }
}

#[async_trait]
impl SpeechToText for DeepgramStt {
    /// Connects before returning, so a rejected key or an unreachable service fails the open.
    async fn open(&self, language: Language) -> Result<SttStream, SpeechError> {
        let url = self.listen_url(language)?;
        let socket = self.connect(&url).await?;
        info!(model = %self.settings.model, language = language.code(), "deepgram stream opened");

        let (input, inputs) = mpsc::channel(512);
        let (events_sender, events) = mpsc::channel(64);
        let connection = Connection { stt: self.clone(), url, socket };
        tokio::spawn(run_stream(connection, inputs, events_sender));
        Ok(SttStream { input, events })
    }
}

/// Turns a failed WebSocket upgrade into an error that names the HTTP status and the fix.
fn upgrade_error(error: tungstenite::Error) -> SpeechError {
    let tungstenite::Error::Http(response) = error else {
        return SpeechError::Unavailable { provider: PROVIDER, reason: format!("connection failed: {error}") };
    };
    let status = response.status().as_u16();
    let detail = response
        .body()
        .as_deref()
        .and_then(|body| serde_json::from_slice::<ErrorBody>(body).ok())
        .map(|body| format!(" ({}: {})", body.err_code, body.err_msg))
        .unwrap_or_default();
    let fix = match status {
        401 | 403 => "check the Deepgram API key and its permissions",
        429 => "too many requests or concurrent streams for this Deepgram project; retry later or raise the limit",
        500..=599 => "Deepgram had a server error; retry later",
        _ => "check the Deepgram base URL and the query parameters",
    };
    SpeechError::Provider { provider: PROVIDER, reason: format!("upgrade rejected with HTTP {status}{detail}; {fix}") }
}

/// The JSON body Deepgram sends with a rejected request.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    err_code: String,
    #[serde(default)]
    err_msg: String,
}

/// A message Deepgram sends on the stream. Only the fields used here are parsed.
#[derive(Debug, Deserialize)]
#[serde(tag = "type")]
enum ServerMessage {
    Results(ResultsMessage),
    UtteranceEnd {},
    SpeechStarted {},
    Metadata {
        #[serde(default)]
        request_id: String,
    },
    /// A message type added after this client was written.
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Deserialize)]
struct ResultsMessage {
    channel: ResultsChannel,
    #[serde(default)]
    is_final: bool,
    #[serde(default)]
    speech_final: bool,
    #[serde(default)]
    from_finalize: bool,
}

#[derive(Debug, Deserialize)]
struct ResultsChannel {
    alternatives: Vec<Alternative>,
}

#[derive(Debug, Deserialize)]
struct Alternative {
    transcript: String,
}

/// The caller's current turn: the µ-law audio to send again after a reconnect, and the
/// finalized pieces of its transcript.
#[derive(Debug, Default)]
struct Turn {
    /// Turns finished before this one.
    number: u64,
    audio: VecDeque<u8>,
    speaking: bool,
    pieces: Vec<String>,
    /// Deepgram ended the utterance (`speech_final` or `UtteranceEnd`) before the session closed
    /// the turn with a Finalize.
    utterance_ended: bool,
}

impl Turn {
    /// Adds audio, dropping the oldest beyond the pre-roll (before speech) or the longest turn.
    fn push_audio(&mut self, bytes: &[u8]) {
        self.audio.extend(bytes);
        let limit = if self.speaking { MAX_TURN_SAMPLES } else { PRE_ROLL_BYTES };
        let excess = self.audio.len().saturating_sub(limit);
        self.audio.drain(..excess);
    }

    fn text(&self) -> String {
        self.pieces.join(" ")
    }

    /// Takes the transcript and starts the next turn, which keeps the latest pre-roll.
    fn finish(&mut self) -> String {
        let text = self.text();
        self.pieces.clear();
        self.speaking = false;
        self.utterance_ended = false;
        self.number += 1;
        let excess = self.audio.len().saturating_sub(PRE_ROLL_BYTES);
        self.audio.drain(..excess);
        text
    }
}

struct Connection {
    stt: DeepgramStt,
    url: url::Url,
    socket: Socket,
}

/// The reason the stream loop stopped.
enum Stop {
    /// The session dropped its input: the stream was closed with `CloseStream`.
    Closed,
    /// The session dropped its events receiver.
    SessionGone,
    /// The socket failed or closed without being asked to.
    Dropped(String),
}

/// State of one call's stream, shared by the socket loop and its reconnect.
struct StreamState {
    turn: Turn,
    /// Finalize requests sent to Deepgram for which no Final has been sent to the session yet.
    finalizes_pending: usize,
    last_audio_at: Option<Instant>,
    malformed_messages: u64,
    events: mpsc::Sender<SttEvent>,
}

async fn run_stream(mut connection: Connection, mut inputs: mpsc::Receiver<SttInput>, events: mpsc::Sender<SttEvent>) {
    let mut state =
        StreamState { turn: Turn::default(), finalizes_pending: 0, last_audio_at: None, malformed_messages: 0, events };
    // The turn during which the last reconnect happened: a second drop in it ends the stream.
    let mut reconnected_in_turn = None;

    loop {
        let stop = pump(&mut connection, &mut inputs, &mut state).await;
        match stop {
            Stop::Closed | Stop::SessionGone => break,
            Stop::Dropped(reason) if reconnected_in_turn == Some(state.turn.number) => {
                warn!(%reason, "deepgram stream dropped again in the same turn; giving up");
                let reason = format!("stream dropped again after a reconnect: {reason}");
                let _ = state.events.send(SttEvent::Error(SpeechError::Provider { provider: PROVIDER, reason })).await;
                break;
            }
            Stop::Dropped(reason) => {
                warn!(%reason, resend_bytes = state.turn.audio.len(), "deepgram stream dropped; reconnecting once");
                reconnected_in_turn = Some(state.turn.number);
                match reconnect(&mut connection, &mut state).await {
                    Ok(()) => info!("deepgram stream reconnected"),
                    Err(error) => {
                        warn!(%error, "deepgram reconnect failed");
                        let _ = state.events.send(SttEvent::Error(error)).await;
                        break;
                    }
                }
            }
        }
    }
    if state.malformed_messages > 0 {
        warn!(count = state.malformed_messages, "deepgram sent malformed messages that were skipped");
    }
    debug!("deepgram stream ended");
}

/// Opens a new socket with the same URL and sends the unfinished turn's audio again. The turn's
/// finalized pieces are dropped, because Deepgram transcribes the resent audio anew.
async fn reconnect(connection: &mut Connection, state: &mut StreamState) -> Result<(), SpeechError> {
    connection.socket = connection.stt.connect(&connection.url).await?;
    state.turn.pieces.clear();
    state.turn.utterance_ended = false;

    let audio: Vec<u8> = state.turn.audio.iter().copied().collect();
    for frame in audio.chunks(RESEND_FRAME_BYTES) {
        send(&mut connection.socket, Message::Binary(frame.to_vec().into())).await?;
    }
    for _ in 0..state.finalizes_pending {
        send(&mut connection.socket, control("Finalize")).await?;
    }
    state.last_audio_at = Some(Instant::now());
    Ok(())
}

/// Moves audio and control messages to Deepgram and results back until the input ends or the
/// socket drops.
async fn pump(connection: &mut Connection, inputs: &mut mpsc::Receiver<SttInput>, state: &mut StreamState) -> Stop {
    let interval = connection.stt.settings.keepalive_interval;
    let mut keepalive = tokio::time::interval_at(Instant::now() + interval, interval);
    keepalive.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let socket = &mut connection.socket;

    loop {
        tokio::select! {
            input = inputs.recv() => {
                let Some(input) = input else {
                    return close(socket, state, connection.stt.settings.close_timeout).await;
                };
                if let Err(error) = forward_input(socket, state, input).await {
                    return Stop::Dropped(error.to_string());
                }
            }
            message = socket.next() => {
                let message = match message {
                    Some(Ok(message)) => message,
                    Some(Err(error)) => return Stop::Dropped(error.to_string()),
                    None => return Stop::Dropped("the socket ended without a close frame".to_string()),
                };
                match message {
                    Message::Text(text) => {
                        if !handle_text(state, &text).await {
                            return Stop::SessionGone;
                        }
                    }
                    Message::Close(frame) => {
                        let reason = frame.map(|f| format!("close code {}: {}", f.code, f.reason)).unwrap_or_default();
                        return Stop::Dropped(format!("Deepgram closed the stream ({reason})"));
                    }
                    _ => {}
                }
            }
            _ = keepalive.tick() => {
                let silent = state.last_audio_at.is_none_or(|at| at.elapsed() >= interval);
                if silent {
                    if let Err(error) = send(socket, control("KeepAlive")).await {
                        return Stop::Dropped(error.to_string());
                    }
                }
            }
        }
    }
}

async fn forward_input(socket: &mut Socket, state: &mut StreamState, input: SttInput) -> Result<(), SpeechError> {
    match input {
        SttInput::Audio(pcm) => {
            // A zero-length binary frame would close a Deepgram stream.
            if pcm.is_empty() {
                return Ok(());
            }
            let bytes = mulaw::encode_slice(&pcm);
            state.turn.push_audio(&bytes);
            state.last_audio_at = Some(Instant::now());
            send(socket, Message::Binary(bytes.into())).await
        }
        SttInput::SpeechStarted => {
            state.turn.speaking = true;
            Ok(())
        }
        SttInput::Finalize => {
            // Deepgram may already have ended the utterance, so the Final is sent at once. Late
            // words in Deepgram's reply to this Finalize go into the next turn.
            if state.turn.utterance_ended && state.finalizes_pending == 0 {
                let text = state.turn.finish();
                let _ = state.events.send(SttEvent::Final { text }).await;
                return send(socket, control("Finalize")).await;
            }
            state.finalizes_pending += 1;
            send(socket, control("Finalize")).await
        }
    }
}

/// Handles one text message from Deepgram. Returns false when the session no longer listens.
async fn handle_text(state: &mut StreamState, text: &str) -> bool {
    let message = match serde_json::from_str::<ServerMessage>(text) {
        Ok(message) => message,
        Err(error) => {
            state.malformed_messages += 1;
            if state.malformed_messages == 1 {
                warn!(%error, length = text.len(), "skipping a malformed deepgram message");
            }
            return true;
        }
    };

    let event = match message {
        ServerMessage::Results(results) => on_results(state, results),
        ServerMessage::UtteranceEnd {} => end_utterance(state),
        ServerMessage::SpeechStarted {} => None,
        ServerMessage::Metadata { request_id } => {
            debug!(%request_id, "deepgram metadata");
            None
        }
        ServerMessage::Unknown => None,
    };
    match event {
        Some(event) => state.events.send(event).await.is_ok(),
        None => true,
    }
}

fn on_results(state: &mut StreamState, results: ResultsMessage) -> Option<SttEvent> {
    let transcript = results.channel.alternatives.first().map(|a| a.transcript.trim()).unwrap_or_default();

    if !results.is_final {
        if transcript.is_empty() {
            return None;
        }
        let mut text = state.turn.text();
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(transcript);
        return Some(SttEvent::Partial { text });
    }

    if !transcript.is_empty() {
        state.turn.pieces.push(transcript.to_string());
    }
    if results.from_finalize && state.finalizes_pending > 0 {
        state.finalizes_pending -= 1;
        return Some(SttEvent::Final { text: state.turn.finish() });
    }
    if results.speech_final {
        return end_utterance(state);
    }
    (!transcript.is_empty()).then(|| SttEvent::Partial { text: state.turn.text() })
}

/// Ends the turn when the session has already sent Finalize. Otherwise it records that Deepgram
/// ended the utterance, so the next Finalize gets its Final at once.
fn end_utterance(state: &mut StreamState) -> Option<SttEvent> {
    if state.finalizes_pending > 0 {
        state.finalizes_pending -= 1;
        return Some(SttEvent::Final { text: state.turn.finish() });
    }
    if !state.turn.pieces.is_empty() {
        state.turn.utterance_ended = true;
    }
    None
}

/// Sends `CloseStream` and forwards Deepgram's last results until it closes the socket.
async fn close(socket: &mut Socket, state: &mut StreamState, timeout: Duration) -> Stop {
    if let Err(error) = send(socket, control("CloseStream")).await {
        debug!(%error, "deepgram socket was gone before CloseStream");
        return Stop::Closed;
    }
    let draining = async {
        while let Some(Ok(message)) = socket.next().await {
            match message {
                Message::Text(text) => {
                    if !handle_text(state, &text).await {
                        return;
                    }
                }
                Message::Close(_) => return,
                _ => {}
            }
        }
    };
    if tokio::time::timeout(timeout, draining).await.is_err() {
        debug!("deepgram did not close the stream in time after CloseStream");
    }
    let _ = socket.close(None).await;
    Stop::Closed
}

fn control(kind: &str) -> Message {
    Message::Text(format!(r#"{{"type":"{kind}"}}"#).into())
}

async fn send(socket: &mut Socket, message: Message) -> Result<(), SpeechError> {
    socket.send(message).await.map_err(|e| SpeechError::Unavailable {
        provider: PROVIDER,
        reason: format!("sending to Deepgram failed: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_url_carries_every_stream_parameter() {
        let stt = DeepgramStt::new(DeepgramSettings::default(), ApiKey::new("key"));

        let url = stt.listen_url(Language::Es).expect("the default base URL is valid");

        let expected = "wss://api.deepgram.com/v1/listen?encoding=mulaw&sample_rate=8000&channels=1&model=nova-3\
                        &language=es&interim_results=true&endpointing=300&utterance_end_ms=1000&vad_events=true";
        assert_eq!(url.as_str(), expected);
    }

    #[test]
    fn api_key_debug_is_redacted() {
        assert_eq!(format!("{:?}", ApiKey::new("secret-key")), "ApiKey(<redacted>)");
    }

    #[test]
    fn turn_keeps_only_pre_roll_before_speech() {
        let mut turn = Turn::default();
        turn.push_audio(&[0xFF; 8_000]);
        assert_eq!(turn.audio.len(), PRE_ROLL_BYTES);

        turn.speaking = true;
        turn.push_audio(&[0x7F; 8_000]);
        assert_eq!(turn.audio.len(), PRE_ROLL_BYTES + 8_000);

        turn.pieces.push("hola".to_string());
        assert_eq!(turn.finish(), "hola");
        assert_eq!(turn.audio.len(), PRE_ROLL_BYTES);
        assert_eq!(turn.number, 1);
    }
}
