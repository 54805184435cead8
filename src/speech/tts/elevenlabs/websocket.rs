//! The `stream-input` WebSocket transport: text goes out as it arrives, base64 µ-law audio
//! comes back until a message with `isFinal`.

use base64::Engine as _;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::text_pieces::{TextMessage, TextPieces};
use super::{wrong_format, ElevenLabsTts, PROVIDER};
use crate::audio::mulaw;
use crate::dialog::Language;
use crate::speech::tts::streaming::{container_format, AudioSink, ErrorResponse, Timeouts};
use crate::speech::SpeechError;

pub(super) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens the socket for one phrase in `language`.
pub(super) async fn connect(tts: &ElevenLabsTts, language: Language) -> Result<Socket, SpeechError> {
    let url = tts.stream_input_url(language);
    let mut request = url.as_str().into_client_request().map_err(|error| SpeechError::Unavailable {
        provider: PROVIDER,
        reason: format!("invalid ElevenLabs WebSocket URL {url}: {error}"),
    })?;
    let key = HeaderValue::from_str(tts.api_key.secret()).map_err(|_| SpeechError::Unavailable {
        provider: PROVIDER,
        reason: format!(
            "the API key in {} contains characters not allowed in an HTTP header",
            tts.settings.api_key_variable
        ),
    })?;
    request.headers_mut().insert("xi-api-key", key);

    // Nagle's algorithm would hold back the small text messages.
    let connecting = tokio_tungstenite::connect_async_with_config(request, None, true);
    match tokio::time::timeout(tts.settings.connect_timeout, connecting).await {
        Ok(Ok((socket, _response))) => Ok(socket),
        Ok(Err(error)) => Err(upgrade_error(tts, language, error)),
        Err(_) => {
            Err(SpeechError::Timeout { provider: PROVIDER, stage: "connect", after: tts.settings.connect_timeout })
        }
    }
}

/// Turns a failed upgrade into the same errors as a failed HTTP request.
fn upgrade_error(tts: &ElevenLabsTts, language: Language, error: tungstenite::Error) -> SpeechError {
    let tungstenite::Error::Http(response) = error else {
        return SpeechError::Unavailable {
            provider: PROVIDER,
            reason: format!(
                "opening the WebSocket failed: {}; check base_url and the network",
                crate::http::error_chain(&error)
            ),
        };
    };
    let body = response.body().as_deref().map(String::from_utf8_lossy).unwrap_or_default().into_owned();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok())
        .map(std::time::Duration::from_secs);
    let error = ErrorResponse { status: response.status().as_u16(), retry_after, body };
    tts.http_error(error, tts.voice_id(language))
}

/// Sends the pieces and forwards the audio until `isFinal`, then closes the socket.
pub(super) async fn run(mut socket: Socket, pieces: mpsc::Receiver<String>, mut sink: AudioSink, timeouts: Timeouts) {
    let outcome = Phrase::new(timeouts).pump(&mut socket, pieces, &mut sink).await;
    match outcome {
        Ok(()) => sink.finish(),
        Err(Stop::CallerGone) => {}
        Err(Stop::Failed(error)) => {
            tracing::debug!(%error, "elevenlabs stream failed");
            sink.fail(error).await;
        }
    }
    let _ = tokio::time::timeout(timeouts.idle, socket.close(None)).await;
}

/// The reason a phrase stopped before `isFinal`.
enum Stop {
    /// The caller dropped the stream, as on a barge-in.
    CallerGone,
    Failed(SpeechError),
}

impl From<SpeechError> for Stop {
    fn from(error: SpeechError) -> Stop {
        Stop::Failed(error)
    }
}

/// A message from ElevenLabs. Only the fields used here are parsed.
#[derive(Debug, Deserialize)]
struct ServerMessage {
    #[serde(default)]
    audio: Option<String>,
    #[serde(default, rename = "isFinal")]
    is_final: Option<bool>,
    #[serde(default)]
    error: Option<Value>,
    #[serde(default)]
    message: Option<String>,
}

/// The state of one phrase on the socket.
struct Phrase {
    timeouts: Timeouts,
    text: TextPieces,
    input_ended: bool,
    characters_sent: usize,
    /// Set when the first flush or the end of input is sent: audio is owed from then on.
    first_byte_deadline: Option<Instant>,
    audio_bytes: usize,
    last_activity: Instant,
}

impl Phrase {
    fn new(timeouts: Timeouts) -> Phrase {
        Phrase {
            timeouts,
            text: TextPieces::default(),
            input_ended: false,
            characters_sent: 0,
            first_byte_deadline: None,
            audio_bytes: 0,
            last_activity: Instant::now(),
        }
    }

    async fn pump(
        &mut self,
        socket: &mut Socket,
        mut pieces: mpsc::Receiver<String>,
        sink: &mut AudioSink,
    ) -> Result<(), Stop> {
        send(socket, initial_message()).await?;

        loop {
            let deadline = self.deadline();
            tokio::select! {
                piece = pieces.recv(), if !self.input_ended => match piece {
                    Some(piece) => {
                        let messages = self.text.push(&piece);
                        self.send_text(socket, messages).await?;
                    }
                    None => self.end_input(socket).await?,
                },
                message = socket.next() => {
                    if self.on_message(message, sink).await? {
                        return Ok(());
                    }
                }
                _ = sleep_until(deadline) => {
                    let (_, stage, after) = deadline.expect("the sleep ends only with a deadline");
                    return Err(SpeechError::Timeout { provider: PROVIDER, stage, after }.into());
                }
            }
        }
    }

    /// Returns the timeout that applies now. Before the first audio it is the first-byte
    /// deadline, armed once ElevenLabs was asked to render. After it, the next-chunk timeout
    /// applies once the input ended. While text still arrives, a silence may only mean that
    /// ElevenLabs is waiting for more text.
    // Limitation: while pieces still arrive, a server that stops sending audio is noticed only
    // after the input ends.
    fn deadline(&self) -> Option<(Instant, &'static str, std::time::Duration)> {
        if self.audio_bytes == 0 {
            return self.first_byte_deadline.map(|deadline| (deadline, "first byte", self.timeouts.first_byte));
        }
        self.input_ended.then(|| (self.last_activity + self.timeouts.idle, "next chunk", self.timeouts.idle))
    }

    async fn send_text(&mut self, socket: &mut Socket, messages: Vec<TextMessage>) -> Result<(), Stop> {
        for message in messages {
            let mut body = json!({ "text": message.text });
            if message.flush {
                body["flush"] = json!(true);
                self.arm_first_byte_deadline();
            }
            self.characters_sent += message.text.chars().count();
            send(socket, Message::Text(body.to_string().into())).await?;
        }
        Ok(())
    }

    /// Sends the rest of the text and the empty text that ends the input.
    async fn end_input(&mut self, socket: &mut Socket) -> Result<(), Stop> {
        let rest = self.text.finish().into_iter().collect();
        self.send_text(socket, rest).await?;
        send(socket, Message::Text(json!({ "text": "" }).to_string().into())).await?;
        self.input_ended = true;
        self.arm_first_byte_deadline();
        self.last_activity = Instant::now();
        Ok(())
    }

    fn arm_first_byte_deadline(&mut self) {
        if self.first_byte_deadline.is_none() {
            self.first_byte_deadline = Some(Instant::now() + self.timeouts.first_byte);
        }
    }

    /// Handles one socket event. Returns true once the phrase is complete.
    async fn on_message(
        &mut self,
        message: Option<Result<Message, tungstenite::Error>>,
        sink: &mut AudioSink,
    ) -> Result<bool, Stop> {
        let message = match message {
            Some(Ok(message)) => message,
            Some(Err(error)) => return Err(self.dropped(&crate::http::error_chain(&error)).into()),
            None => return Err(self.dropped("the socket ended without a close frame").into()),
        };
        match message {
            Message::Text(text) => self.on_text(&text, sink).await,
            Message::Close(frame) => {
                // A phrase without any text has no audio to wait for.
                if self.input_ended && self.characters_sent == 0 {
                    return Ok(true);
                }
                let reason =
                    frame.map(|frame| format!("close code {}: {}", frame.code, frame.reason)).unwrap_or_default();
                Err(provider_error(format!(
                    "ElevenLabs closed the stream before the final message ({reason}) after {} bytes of audio",
                    self.audio_bytes
                ))
                .into())
            }
            Message::Binary(bytes) => Err(provider_error(format!(
                "ElevenLabs sent a binary message of {} bytes where JSON text was expected",
                bytes.len()
            ))
            .into()),
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => Ok(false),
        }
    }

    async fn on_text(&mut self, text: &str, sink: &mut AudioSink) -> Result<bool, Stop> {
        let message: ServerMessage = serde_json::from_str(text).map_err(|error| {
            provider_error(format!("ElevenLabs sent a message that is not a JSON object ({error}): {}", excerpt(text)))
        })?;
        if let Some(error) = message.error.filter(|error| !error.is_null()) {
            let error = error.as_str().map_or_else(|| error.to_string(), str::to_string);
            let detail = message.message.map(|message| format!(": {message}")).unwrap_or_default();
            return Err(provider_error(format!("ElevenLabs reported an error: {error}{detail}")).into());
        }

        if let Some(audio) = message.audio.filter(|audio| !audio.is_empty()) {
            let bytes = base64::engine::general_purpose::STANDARD.decode(audio.as_bytes()).map_err(|error| {
                provider_error(format!("the audio field is not valid base64 ({error}): {}", excerpt(&audio)))
            })?;
            if self.audio_bytes == 0 {
                if let Some(format) = container_format(&bytes) {
                    return Err(wrong_format(format).into());
                }
            }
            self.audio_bytes += bytes.len();
            self.last_activity = Instant::now();
            if !sink.audio(mulaw::decode_slice(&bytes)).await {
                return Err(Stop::CallerGone);
            }
        }
        Ok(message.is_final == Some(true))
    }

    fn dropped(&self, reason: &str) -> SpeechError {
        provider_error(format!("the connection dropped after {} bytes of audio: {reason}", self.audio_bytes))
    }
}

/// Builds the first message: a single space, the voice settings and the buffering schedule.
fn initial_message() -> Message {
    let message = json!({
        "text": " ",
        "voice_settings": {
            "stability": 0.5,
            "similarity_boost": 0.75,
            "style": 0,
            "use_speaker_boost": true,
            "speed": 1.0,
        },
        "generation_config": { "chunk_length_schedule": [120, 160, 250, 290] },
    });
    Message::Text(message.to_string().into())
}

async fn send(socket: &mut Socket, message: Message) -> Result<(), SpeechError> {
    socket.send(message).await.map_err(|error| provider_error(format!("sending to ElevenLabs failed: {error}")))
}

async fn sleep_until(deadline: Option<(Instant, &'static str, std::time::Duration)>) {
    match deadline {
        Some((instant, _, _)) => tokio::time::sleep_until(instant).await,
        None => std::future::pending().await,
    }
}

fn provider_error(reason: String) -> SpeechError {
    SpeechError::Provider { provider: PROVIDER, reason }
}

/// Returns the start of a malformed message, enough to recognise it in an error.
fn excerpt(text: &str) -> String {
    let mut excerpt: String = text.chars().take(80).collect();
    if excerpt.len() < text.len() {
        excerpt.push('…');
    }
    excerpt
}
