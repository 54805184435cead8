//! ElevenLabs text-to-speech in G.711 µ-law at 8 kHz (`output_format=ulaw_8000`), which needs
//! only decoding to become call audio.
//!
//! Two transports: the HTTP streaming endpoint, one request per sentence so the first sentence
//! plays while the next renders, and the `stream-input` WebSocket, which also takes text that
//! arrives in pieces, such as an LLM's streamed reply ([`ElevenLabsTts::stream_pieces`]).
//!
//! Each call makes one attempt. Retries, fallback and rate limiting belong to the caller.

mod text_pieces;
mod websocket;

use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::CONTENT_TYPE;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio::time::Instant;
use url::Url;

use super::streaming::{
    self, audio_channel, container_format, ApiKey, AudioBody, AudioSink, ErrorResponse, Timeouts, CONTAINER_PREFIX_LEN,
};
use super::{sentences, TextToSpeech, TtsStream};
use crate::audio::mulaw;
use crate::dialog::Language;
use crate::speech::SpeechError;

const PROVIDER: &str = "elevenlabs";

/// The only output format the client requests: µ-law at the call's own 8 kHz rate.
const OUTPUT_FORMAT: &str = "ulaw_8000";

/// The connection used to reach ElevenLabs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ElevenLabsTransport {
    /// `POST /v1/text-to-speech/{voice_id}/stream`, one request per sentence.
    #[default]
    Http,
    /// `/v1/text-to-speech/{voice_id}/stream-input`, one WebSocket per phrase.
    WebSocket,
}

/// Server, voices, model, API key variable, timeouts and transport of an [`ElevenLabsTts`].
#[derive(Debug, Clone)]
pub struct ElevenLabsSettings {
    /// Scheme and host such as `https://api.elevenlabs.io`. The WebSocket transport uses `wss://`
    /// for an `https://` base and `ws://` for an `http://` one.
    pub base_url: String,
    /// Voice id used for Spanish.
    pub voice_id_es: String,
    /// Voice id used for English.
    pub voice_id_en: String,
    pub model_id: String,
    /// Name of the environment variable that contains the API key.
    pub api_key_variable: String,
    /// Maximum wait for the TCP, TLS and (for the WebSocket) upgrade handshakes.
    pub connect_timeout: Duration,
    /// Maximum wait from sending a sentence to its first audio, connecting included.
    pub first_byte_timeout: Duration,
    /// Maximum silence between two chunks of audio.
    pub idle_timeout: Duration,
    pub transport: ElevenLabsTransport,
}

impl Default for ElevenLabsSettings {
    /// Production host and model. The voice ids are left empty because they belong to an
    /// account, and [`ElevenLabsTts::new`] rejects empty ones.
    fn default() -> Self {
        ElevenLabsSettings {
            base_url: "https://api.elevenlabs.io".to_string(),
            voice_id_es: String::new(),
            voice_id_en: String::new(),
            model_id: "eleven_flash_v2_5".to_string(),
            api_key_variable: "COBRANZA_ELEVENLABS_API_KEY".to_string(),
            connect_timeout: Duration::from_secs(3),
            first_byte_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(5),
            transport: ElevenLabsTransport::Http,
        }
    }
}

/// Text-to-speech on ElevenLabs. Cloning is cheap and shares the HTTP connection pool.
#[derive(Debug, Clone)]
pub struct ElevenLabsTts {
    settings: ElevenLabsSettings,
    base_url: Url,
    api_key: ApiKey,
    http: reqwest::Client,
}

/// Counts the characters ElevenLabs bills for `text` when the client speaks it: the text of
/// each sentence, without the whitespace between sentences.
// NOTE: the WebSocket transport also sends one space after each piece and a single space to
// open the stream. This count assumes ElevenLabs does not bill that whitespace.
pub fn characters_billed(text: &str) -> u64 {
    sentences(text).iter().map(|sentence| sentence.chars().count() as u64).sum()
}

impl ElevenLabsTts {
    /// Builds a client, reading the API key from the environment variable the settings name.
    pub fn new(settings: ElevenLabsSettings) -> Result<ElevenLabsTts, SpeechError> {
        let base_url = parse_base_url(&settings.base_url)?;
        for (field, voice_id) in [("voice_id_es", &settings.voice_id_es), ("voice_id_en", &settings.voice_id_en)] {
            if voice_id.trim().is_empty() {
                return Err(SpeechError::Unavailable {
                    provider: PROVIDER,
                    reason: format!("{field} is empty; set it to an ElevenLabs voice id"),
                });
            }
        }
        let api_key = ApiKey::from_env(PROVIDER, "ElevenLabs", &settings.api_key_variable)?;
        let http = streaming::http_client(PROVIDER, settings.connect_timeout)?;
        Ok(ElevenLabsTts { settings, base_url, api_key, http })
    }

    /// Speaks text that arrives in pieces over the WebSocket transport, whatever transport the
    /// settings choose, because only the WebSocket takes text before the phrase is complete.
    ///
    /// Returns once the socket is open. Pieces may split words and sentences anywhere; closing
    /// `pieces` ends the phrase. Every failure after the socket opened is sent on the stream.
    pub async fn stream_pieces(
        &self,
        pieces: mpsc::Receiver<String>,
        language: Language,
    ) -> Result<TtsStream, SpeechError> {
        let socket = websocket::connect(self, language).await?;
        let (sink, pending) = audio_channel();
        tokio::spawn(websocket::run(socket, pieces, sink, self.timeouts()));
        Ok(pending.into_stream())
    }

    /// Builds the HTTP streaming URL for a voice.
    pub fn stream_url(&self, voice_id: &str) -> Url {
        let mut url = self.endpoint(voice_id, "stream");
        url.query_pairs_mut().append_pair("output_format", OUTPUT_FORMAT);
        url
    }

    /// Builds the `stream-input` WebSocket URL for a language, with `wss` for an `https` base
    /// URL and `ws` for an `http` one.
    pub fn stream_input_url(&self, language: Language) -> Url {
        let mut url = self.endpoint(self.voice_id(language), "stream-input");
        let scheme = if self.base_url.scheme() == "https" { "wss" } else { "ws" };
        url.set_scheme(scheme).expect("http and https URLs can take a ws scheme");
        url.query_pairs_mut()
            .append_pair("model_id", &self.settings.model_id)
            .append_pair("output_format", OUTPUT_FORMAT);
        if let Some(code) = self.language_code(language) {
            url.query_pairs_mut().append_pair("language_code", code);
        }
        url
    }

    fn endpoint(&self, voice_id: &str, last_segment: &str) -> Url {
        let mut url = self.base_url.clone();
        url.path_segments_mut().expect("the base URL was checked to be http or https").pop_if_empty().extend([
            "v1",
            "text-to-speech",
            voice_id,
            last_segment,
        ]);
        url
    }

    fn voice_id(&self, language: Language) -> &str {
        match language {
            Language::Es => &self.settings.voice_id_es,
            Language::En => &self.settings.voice_id_en,
        }
    }

    /// Returns the language to enforce, for the models that take one.
    // NOTE: only the v2.5 models (Flash and Turbo) are known to enforce a language, so other
    // models get no `language_code`. Whether they would accept one is unverified.
    fn language_code(&self, language: Language) -> Option<&'static str> {
        self.settings.model_id.ends_with("_v2_5").then(|| language.code())
    }

    fn timeouts(&self) -> Timeouts {
        Timeouts {
            connect: self.settings.connect_timeout,
            first_byte: self.settings.first_byte_timeout,
            idle: self.settings.idle_timeout,
        }
    }

    /// Sends one sentence and checks the status and the first bytes of its audio.
    async fn open_sentence(&self, sentence: &str, language: Language) -> Result<SentenceAudio, SpeechError> {
        let voice_id = self.voice_id(language);
        let mut body = json!({ "text": sentence, "model_id": self.settings.model_id });
        if let Some(code) = self.language_code(language) {
            body["language_code"] = json!(code);
        }
        tracing::debug!(voice_id, characters = sentence.chars().count(), "requesting elevenlabs speech");

        let deadline = Instant::now() + self.settings.first_byte_timeout;
        let request = self.http.post(self.stream_url(voice_id)).header("xi-api-key", self.api_key.secret()).json(&body);
        let response = streaming::send(PROVIDER, request, deadline, self.timeouts()).await?;
        if !response.status().is_success() {
            let error = streaming::read_error_response(response, self.settings.idle_timeout).await;
            return Err(self.http_error(error, voice_id));
        }

        let content_type =
            response.headers().get(CONTENT_TYPE).and_then(|value| value.to_str().ok()).map(str::to_string);
        let mut body = AudioBody::new(PROVIDER, response, deadline, self.timeouts());
        let first = body.read_prefix(CONTAINER_PREFIX_LEN).await?;
        let container = container_format(&first).or_else(|| {
            content_type.as_deref().filter(|value| value.starts_with("audio/mpeg")).map(|_| "MP3 (audio/mpeg)")
        });
        if let Some(format) = container {
            return Err(wrong_format(format));
        }
        Ok(SentenceAudio { body, first })
    }

    /// Turns an error response into [`SpeechError::Http`] with ElevenLabs' message and the fix.
    fn http_error(&self, error: ErrorResponse, voice_id: &str) -> SpeechError {
        let ErrorResponse { status, retry_after, body } = error;
        let detail = ErrorDetail::parse(&body);
        let fix = match (status, detail.status.as_deref()) {
            (401, Some("quota_exceeded")) => "the account's character quota is used up; raise it or use another provider".to_string(),
            (401 | 403, _) => format!("check the API key in {} and its permissions", self.settings.api_key_variable),
            (404, _) => format!("check that voice id '{voice_id}' exists in this ElevenLabs account"),
            (400 | 422, _) => format!("check model_id '{}' and the text sent", self.settings.model_id),
            (429, _) => "ElevenLabs rate or concurrency limit reached; lower the simultaneous requests or raise the plan's limit".to_string(),
            (500..=599, _) => "ElevenLabs had a server error; retry later".to_string(),
            _ => "check base_url and the request".to_string(),
        };
        let message = match &detail.status {
            Some(code) => format!("{} ({code}); {fix}", detail.message),
            None => format!("{}; {fix}", detail.message),
        };
        tracing::warn!(status, code = ?detail.status, retry_after = ?retry_after, "elevenlabs request rejected");
        SpeechError::Http { provider: PROVIDER, status, message, retry_after }
    }
}

#[async_trait]
impl TextToSpeech for ElevenLabsTts {
    /// Returns once the first audio is on the stream, so a failure before any audio is the
    /// `Err` here. A later failure ends the stream with an `Err` chunk.
    async fn synthesize(&self, text: &str, language: Language) -> Result<TtsStream, SpeechError> {
        let sentences: Vec<String> = sentences(text).into_iter().map(str::to_string).collect();
        let (sink, pending) = audio_channel();
        if sentences.is_empty() {
            sink.finish();
            return pending.first_chunk(PROVIDER).await;
        }

        match self.settings.transport {
            ElevenLabsTransport::Http => {
                tokio::spawn(speak_sentences(self.clone(), sentences, language, sink));
            }
            ElevenLabsTransport::WebSocket => {
                let socket = websocket::connect(self, language).await?;
                let (piece_sender, pieces) = mpsc::channel(sentences.len());
                for sentence in sentences {
                    piece_sender.try_send(format!("{sentence} ")).expect("the channel has room for every sentence");
                }
                drop(piece_sender);
                tokio::spawn(websocket::run(socket, pieces, sink, self.timeouts()));
            }
        }
        pending.first_chunk(PROVIDER).await
    }
}

/// The audio of one sentence: the bytes read to check its format, then the rest of the body.
struct SentenceAudio {
    body: AudioBody,
    first: Vec<u8>,
}

/// Renders the sentences one request at a time, in order, and sends their audio to the sink.
async fn speak_sentences(tts: ElevenLabsTts, sentences: Vec<String>, language: Language, mut sink: AudioSink) {
    for sentence in &sentences {
        if sink.is_closed() {
            return;
        }
        let audio = match tts.open_sentence(sentence, language).await {
            Ok(audio) => audio,
            Err(error) => return sink.fail(error).await,
        };
        match forward_sentence(audio, &mut sink).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(error) => return sink.fail(error).await,
        }
    }
    sink.finish();
}

/// Decodes a sentence's µ-law body chunk by chunk. Returns false when the caller dropped the
/// stream.
async fn forward_sentence(audio: SentenceAudio, sink: &mut AudioSink) -> Result<bool, SpeechError> {
    let SentenceAudio { mut body, first } = audio;
    if !sink.audio(mulaw::decode_slice(&first)).await {
        return Ok(false);
    }
    while let Some(chunk) = body.next_chunk().await? {
        if !sink.audio(mulaw::decode_slice(&chunk)).await {
            return Ok(false);
        }
    }
    Ok(true)
}

fn wrong_format(format: &str) -> SpeechError {
    SpeechError::Provider {
        provider: PROVIDER,
        reason: format!(
            "audio arrived as {format} instead of raw µ-law; request output_format={OUTPUT_FORMAT} \
             as a query parameter of the URL"
        ),
    }
}

fn parse_base_url(base_url: &str) -> Result<Url, SpeechError> {
    let invalid = |reason: String| SpeechError::Unavailable {
        provider: PROVIDER,
        reason: format!("invalid ElevenLabs base_url '{base_url}': {reason}"),
    };
    let url = Url::parse(base_url).map_err(|error| invalid(error.to_string()))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(invalid(format!("scheme '{}' is not http or https", url.scheme())));
    }
    if url.cannot_be_a_base() {
        return Err(invalid("it cannot take a path".to_string()));
    }
    Ok(url)
}

/// The message and status code of an ElevenLabs error body. ElevenLabs sends
/// `{"detail": {"status": ..., "message": ...}}`, a plain string `detail`, or a list of
/// validation errors with `msg` fields.
#[derive(Debug, PartialEq, Eq)]
struct ErrorDetail {
    status: Option<String>,
    message: String,
}

impl ErrorDetail {
    fn parse(body: &str) -> ErrorDetail {
        let detail = serde_json::from_str::<Value>(body).ok().and_then(|value| value.get("detail").cloned());
        match detail {
            Some(Value::Object(fields)) => ErrorDetail {
                status: fields.get("status").and_then(Value::as_str).map(str::to_string),
                message: fields
                    .get("message")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .unwrap_or_else(|| streaming::raw_body_message(body)),
            },
            Some(Value::String(message)) => ErrorDetail { status: None, message },
            Some(Value::Array(errors)) => {
                let messages: Vec<String> = errors.iter().map(validation_message).collect();
                ErrorDetail { status: None, message: messages.join("; ") }
            }
            _ => ErrorDetail { status: None, message: streaming::raw_body_message(body) },
        }
    }
}

/// Formats one validation error as `location: message`, such as `body.text: Field required`.
fn validation_message(error: &Value) -> String {
    let message = error.get("msg").and_then(Value::as_str).unwrap_or("invalid request");
    let location: Vec<String> = error
        .get("loc")
        .and_then(Value::as_array)
        .map(|parts| parts.iter().map(|part| part.as_str().map_or_else(|| part.to_string(), str::to_string)).collect())
        .unwrap_or_default();
    if location.is_empty() {
        message.to_string()
    } else {
        format!("{}: {message}", location.join("."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_detail_reads_object_string_and_list() {
        let object = r#"{"detail":{"status":"too_many_concurrent_requests","message":"Too many requests."}}"#;
        assert_eq!(
            ErrorDetail::parse(object),
            ErrorDetail { status: Some("too_many_concurrent_requests".into()), message: "Too many requests.".into() }
        );
        assert_eq!(
            ErrorDetail::parse(r#"{"detail":"Not Found"}"#),
            ErrorDetail { status: None, message: "Not Found".into() }
        );
        let list = r#"{"detail":[{"loc":["body","text"],"msg":"Field required","type":"missing"}]}"#;
        assert_eq!(ErrorDetail::parse(list), ErrorDetail { status: None, message: "body.text: Field required".into() });
        assert_eq!(
            ErrorDetail::parse("upstream timeout"),
            ErrorDetail { status: None, message: "upstream timeout".into() }
        );
        assert_eq!(ErrorDetail::parse(""), ErrorDetail { status: None, message: "(empty body)".into() });
    }

    #[test]
    fn characters_billed_counts_sentence_text() {
        assert_eq!(characters_billed("Hola.  ¿Cómo está?"), 16);
        assert_eq!(characters_billed("   "), 0);
    }
}
