//! Speech-to-text on any OpenAI-compatible `/v1/audio/transcriptions` server: each caller turn
//! is buffered and uploaded as one WAV file on [`SttInput::Finalize`].
//!
//! The turn is sent as 8 kHz mono 16-bit WAV without resampling, because the WAV header states
//! the rate and the server converts the file for its model.
//!
//! Each turn gets exactly one request and a failure is reported as it happened, because retries,
//! fallback to another provider and rate limiting belong to the layer that wraps providers.

use std::fmt;
use std::io::Cursor;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use reqwest::multipart::{Form, Part};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::time::timeout;
use tracing::{debug, info, warn};
use url::Url;

use super::whisper::clean_transcript;
use super::{SpeechToText, SttEvent, SttInput, SttStream, TurnAudio};
use crate::audio::CALL_SAMPLE_RATE;
use crate::dialog::Language;
use crate::http::{error_chain, openai_endpoint, retry_after};
use crate::speech::SpeechError;

const PROVIDER: &str = "openai-stt";

/// Maximum size of a response body. A transcript of the longest turn (28 s) is well under 1 KiB,
/// so a larger body means `base_url` points at something other than a transcription server.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// Characters of an unexpected response body quoted in an error message.
const QUOTED_CHARS: usize = 200;

/// Server address, model, API key variable and timeouts of an [`OpenAiStt`].
#[derive(Debug, Clone)]
pub struct OpenAiSttSettings {
    /// Server root such as `https://api.openai.com`. A trailing `/v1` is accepted too.
    pub base_url: String,
    /// `whisper-1`, `gpt-4o-transcribe`, or the name a compatible server gives its model.
    pub model: String,
    /// Name of the environment variable that contains the API key.
    pub api_key_variable: String,
    /// Maximum time to open the TCP (and TLS) connection.
    pub connect_timeout: Duration,
    /// Maximum time from sending a turn to receiving the response headers, connecting and
    /// uploading included, and then between two chunks of the response body.
    pub response_timeout: Duration,
    /// Text sent as `prompt` with every turn, such as names and terms the caller is likely to say.
    pub prompt: Option<String>,
}

impl Default for OpenAiSttSettings {
    fn default() -> Self {
        OpenAiSttSettings {
            base_url: "https://api.openai.com".to_string(),
            model: "whisper-1".to_string(),
            api_key_variable: "COBRANZA_OPENAI_API_KEY".to_string(),
            connect_timeout: Duration::from_secs(5),
            // NOTE: an estimate, not a measurement: room for uploading and transcribing a 28 s
            // turn on a loaded server.
            response_timeout: Duration::from_secs(15),
            prompt: None,
        }
    }
}

/// Speech-to-text on an OpenAI-compatible transcription server, one upload per caller turn.
/// Clones share the HTTP connection pool.
#[derive(Clone)]
pub struct OpenAiStt {
    http: reqwest::Client,
    endpoint: Url,
    api_key: String,
    settings: OpenAiSttSettings,
}

impl fmt::Debug for OpenAiStt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The API key is left out, so logging the client does not expose it.
        f.debug_struct("OpenAiStt")
            .field("endpoint", &self.endpoint.as_str())
            .field("model", &self.settings.model)
            .finish_non_exhaustive()
    }
}

impl OpenAiStt {
    /// Builds a client, reading the API key from the environment variable the settings name.
    /// Fails when the variable is missing or empty, or when `base_url` is not an http(s) URL.
    pub fn new(settings: OpenAiSttSettings) -> Result<OpenAiStt, SpeechError> {
        let api_key = read_api_key(&settings.api_key_variable)?;
        let endpoint = transcriptions_endpoint(&settings.base_url)?;

        // Limitation: proxy environment variables are ignored, so a server reachable only
        // through a proxy cannot be used.
        let http = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .map_err(|error| unavailable(format!("the HTTP client could not be built: {}", error_chain(&error))))?;

        Ok(OpenAiStt { http, endpoint, api_key, settings })
    }

    /// Returns the `/v1/audio/transcriptions` URL that turns are posted to.
    pub fn endpoint(&self) -> &Url {
        &self.endpoint
    }

    /// Uploads 8 kHz mono PCM as one WAV file and returns its transcript. Empty audio returns an
    /// empty transcript without a request.
    pub async fn transcribe(&self, pcm_8k: &[i16], language: Language) -> Result<String, SpeechError> {
        if pcm_8k.is_empty() {
            return Ok(String::new());
        }
        let started = Instant::now();
        let form = self.form(encode_wav(pcm_8k)?, language);
        let response = self.send(form).await?;
        let body = self.read_body(response).await?;
        let text = parse_transcript(&body)?;

        debug!(
            model = %self.settings.model,
            language = language.code(),
            audio_seconds = audio_seconds(pcm_8k.len()),
            took_ms = started.elapsed().as_millis() as u64,
            characters = text.chars().count(),
            "turn transcribed"
        );
        Ok(text)
    }

    fn form(&self, wav: Vec<u8>, language: Language) -> Form {
        let file =
            Part::bytes(wav).file_name("turn.wav").mime_str("audio/wav").expect("audio/wav is a valid MIME type");
        let form = Form::new()
            .part("file", file)
            .text("model", self.settings.model.clone())
            .text("language", language.code())
            .text("response_format", "json");
        match &self.settings.prompt {
            Some(prompt) => form.text("prompt", prompt.clone()),
            None => form,
        }
    }

    /// Posts the upload and waits for response headers with a success status.
    async fn send(&self, form: Form) -> Result<reqwest::Response, SpeechError> {
        let pending = self.http.post(self.endpoint.clone()).bearer_auth(&self.api_key).multipart(form).send();
        let response = match timeout(self.settings.response_timeout, pending).await {
            Err(_) => {
                return Err(SpeechError::Timeout {
                    provider: PROVIDER,
                    stage: "first byte",
                    after: self.settings.response_timeout,
                })
            }
            Ok(Err(error)) => return Err(self.send_error(&error)),
            Ok(Ok(response)) => response,
        };

        if response.status().is_success() {
            return Ok(response);
        }
        Err(self.http_error(response).await)
    }

    fn send_error(&self, error: &reqwest::Error) -> SpeechError {
        if error.is_connect() && error.is_timeout() {
            return SpeechError::Timeout { provider: PROVIDER, stage: "connect", after: self.settings.connect_timeout };
        }
        if error.is_connect() {
            return unavailable(format!(
                "connecting to {} failed: {}; check base_url and that the server is running",
                self.endpoint,
                error_chain(error)
            ));
        }
        provider_error(format!("sending the turn to {} failed: {}", self.endpoint, error_chain(error)))
    }

    /// Reads the response body, allowing `response_timeout` between two chunks.
    async fn read_body(&self, mut response: reqwest::Response) -> Result<Vec<u8>, SpeechError> {
        let mut body = Vec::new();
        loop {
            let chunk = match timeout(self.settings.response_timeout, response.chunk()).await {
                Err(_) => {
                    return Err(SpeechError::Timeout {
                        provider: PROVIDER,
                        stage: "next chunk",
                        after: self.settings.response_timeout,
                    })
                }
                Ok(Err(error)) => {
                    return Err(provider_error(format!(
                        "the connection dropped after {} bytes of the response body: {}",
                        body.len(),
                        error_chain(&error)
                    )))
                }
                Ok(Ok(None)) => return Ok(body),
                Ok(Ok(Some(chunk))) => chunk,
            };
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(provider_error(format!(
                    "the response body exceeds {MAX_RESPONSE_BYTES} bytes; check that base_url points at a \
                     transcription server"
                )));
            }
            body.extend_from_slice(&chunk);
        }
    }

    /// Turns an error status into [`SpeechError::Http`] with the server's message and the fix.
    async fn http_error(&self, response: reqwest::Response) -> SpeechError {
        let status = response.status().as_u16();
        let retry_after = retry_after(response.headers());
        let message = match self.read_body(response).await {
            Ok(body) => error_message(&body),
            Err(error) => format!("(the error body could not be read: {error})"),
        };
        let fix = self.fix_for(status);
        SpeechError::Http { provider: PROVIDER, status, message: format!("{message}; {fix}"), retry_after }
    }

    fn fix_for(&self, status: u16) -> String {
        match status {
            401 | 403 => format!("check the API key in {}", self.settings.api_key_variable),
            404 => format!("check base_url and that the server serves model {}", self.settings.model),
            413 => "the turn is too long for the server's upload limit".to_string(),
            429 => "rate limit or quota reached; retry after the delay the server gives".to_string(),
            500..=599 => "server error; retry later".to_string(),
            _ => "check the model, language and prompt settings".to_string(),
        }
    }
}

#[async_trait]
impl SpeechToText for OpenAiStt {
    /// Opens no connection: the first request of the call does, so an unreachable server or a
    /// rejected key shows up as an [`SttEvent::Error`] on the first turn.
    async fn open(&self, language: Language) -> Result<SttStream, SpeechError> {
        let (input, inputs) = mpsc::channel(512);
        let (events_sender, events) = mpsc::channel(16);
        // Unbounded, so a slow request never stops the audio intake. A turn is at most 448 KB
        // and the caller finishes at most a few per second, so the queue stays small.
        let (turns_sender, turns) = mpsc::unbounded_channel();
        tokio::spawn(collect_turns(inputs, turns_sender));
        tokio::spawn(transcribe_turns(self.clone(), language, turns, events_sender));
        info!(endpoint = %self.endpoint, model = %self.settings.model, language = language.code(), "openai-stt stream opened");
        Ok(SttStream { input, events })
    }
}

/// Buffers caller audio and queues each finished turn for [`transcribe_turns`], so audio keeps
/// flowing in while a request runs. A turn in which no speech started is queued empty.
async fn collect_turns(mut inputs: mpsc::Receiver<SttInput>, turns: mpsc::UnboundedSender<Vec<i16>>) {
    let mut turn = TurnAudio::new();
    while let Some(input) = inputs.recv().await {
        match input {
            SttInput::Audio(pcm) => turn.push(&pcm),
            SttInput::SpeechStarted => turn.speech_started(),
            SttInput::Finalize => {
                // Without speech the pre-roll stays, since the next turn may start at once.
                let samples = if turn.has_speech() { turn.take_pcm() } else { Vec::new() };
                if turns.send(samples).is_err() {
                    return;
                }
            }
        }
    }
}

/// Transcribes queued turns one at a time, so the events come out in the order of the
/// [`SttInput::Finalize`]s, one per turn.
async fn transcribe_turns(
    stt: OpenAiStt,
    language: Language,
    mut turns: mpsc::UnboundedReceiver<Vec<i16>>,
    events: mpsc::Sender<SttEvent>,
) {
    let mut turn_number = 0_u64;
    while let Some(samples) = turns.recv().await {
        turn_number += 1;
        let event = match stt.transcribe(&samples, language).await {
            Ok(text) => SttEvent::Final { text },
            Err(error) => {
                warn!(turn = turn_number, retryable = error.is_retryable(), %error, "openai-stt failed on a caller turn");
                SttEvent::Error(error)
            }
        };
        if events.send(event).await.is_err() {
            return;
        }
    }
}

/// Duration of `samples` at the call's 8 kHz, in seconds, for metering transcription cost.
pub fn audio_seconds(samples: usize) -> f64 {
    samples as f64 / f64::from(CALL_SAMPLE_RATE)
}

/// Writes the samples as a WAV file: 8 kHz, mono, 16-bit signed integers.
fn encode_wav(pcm: &[i16]) -> Result<Vec<u8>, SpeechError> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: CALL_SAMPLE_RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let wav_error = |error: hound::Error| provider_error(format!("writing the turn as WAV failed: {error}"));

    let mut file = Cursor::new(Vec::with_capacity(44 + pcm.len() * 2));
    let mut writer = hound::WavWriter::new(&mut file, spec).map_err(wav_error)?;
    for &sample in pcm {
        writer.write_sample(sample).map_err(wav_error)?;
    }
    writer.finalize().map_err(wav_error)?;
    Ok(file.into_inner())
}

/// Reads `text` from a `{"text": ...}` body and removes Whisper's known phrases on silence.
fn parse_transcript(body: &[u8]) -> Result<String, SpeechError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|error| provider_error(format!("the response is not JSON ({error}): {}", quote(body))))?;
    match value.get("text").and_then(Value::as_str) {
        Some(text) => Ok(clean_transcript(text)),
        None => Err(provider_error(format!("the response has no \"text\" string field: {}", quote(body)))),
    }
}

/// Takes the message of an OpenAI-shaped `{"error": {"message", "type"}}` body, with the type in
/// brackets, or quotes the raw body when it has another shape.
fn error_message(body: &[u8]) -> String {
    let error = serde_json::from_slice::<Value>(body).ok().and_then(|value| value.get("error").cloned());
    let message = error.as_ref().and_then(|error| error.get("message")).and_then(Value::as_str);
    let error_type = error.as_ref().and_then(|error| error.get("type")).and_then(Value::as_str);
    match (message, error_type) {
        (Some(message), Some(error_type)) => format!("{message} ({error_type})"),
        (Some(message), None) => message.to_string(),
        (None, _) => quote(body),
    }
}

/// Returns the first [`QUOTED_CHARS`] characters of a body for an error message, or `(empty body)`.
fn quote(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    match text.trim() {
        "" => "(empty body)".to_string(),
        text => text.chars().take(QUOTED_CHARS).collect(),
    }
}

fn read_api_key(variable: &str) -> Result<String, SpeechError> {
    match std::env::var(variable) {
        Ok(key) if !key.trim().is_empty() => Ok(key.trim().to_string()),
        _ => Err(unavailable(format!("environment variable {variable} is missing or empty; set it to the API key"))),
    }
}

/// Builds `{base}/v1/audio/transcriptions`, accepting a base that already ends in `/v1`.
fn transcriptions_endpoint(base_url: &str) -> Result<Url, SpeechError> {
    openai_endpoint(base_url, "audio/transcriptions")
        .map_err(|reason| unavailable(format!("base URL {base_url:?} is invalid: {reason}")))
}

fn provider_error(reason: String) -> SpeechError {
    SpeechError::Provider { provider: PROVIDER, reason }
}

fn unavailable(reason: String) -> SpeechError {
    SpeechError::Unavailable { provider: PROVIDER, reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_accepts_base_with_or_without_v1() {
        for base in
            ["http://127.0.0.1:9000", "http://127.0.0.1:9000/", "http://127.0.0.1:9000/v1", "http://127.0.0.1:9000/v1/"]
        {
            let endpoint = transcriptions_endpoint(base).expect("valid base URL");
            assert_eq!(endpoint.as_str(), "http://127.0.0.1:9000/v1/audio/transcriptions", "base {base}");
        }
    }

    #[test]
    fn endpoint_rejects_other_schemes() {
        let error = transcriptions_endpoint("ftp://127.0.0.1/").expect_err("ftp is not http");
        assert_eq!(
            error,
            unavailable("base URL \"ftp://127.0.0.1/\" is invalid: scheme 'ftp' is not http or https".to_string())
        );
    }

    #[test]
    fn wav_is_8_khz_mono_16_bit() {
        let wav = encode_wav(&[0, 1, -1, i16::MAX, i16::MIN]).expect("encodes");
        let mut reader = hound::WavReader::new(Cursor::new(wav)).expect("a WAV file");
        let spec = reader.spec();
        assert_eq!(spec.sample_rate, 8_000);
        assert_eq!(spec.channels, 1);
        assert_eq!(spec.bits_per_sample, 16);
        assert_eq!(spec.sample_format, hound::SampleFormat::Int);
        let samples: Vec<i16> = reader.samples::<i16>().map(|sample| sample.expect("sample")).collect();
        assert_eq!(samples, vec![0, 1, -1, i16::MAX, i16::MIN]);
    }

    #[test]
    fn error_message_prefers_the_openai_shape() {
        let shaped = br#"{"error":{"message":"Invalid file format.","type":"invalid_request_error"}}"#;
        assert_eq!(error_message(shaped), "Invalid file format. (invalid_request_error)");
        assert_eq!(error_message(br#"{"error":{"message":"no type"}}"#), "no type");
        assert_eq!(error_message(b"Bad Gateway"), "Bad Gateway");
        assert_eq!(error_message(b"  "), "(empty body)");
    }

    #[test]
    fn quote_keeps_the_first_200_characters() {
        let body = "é".repeat(300);
        assert_eq!(quote(body.as_bytes()), "é".repeat(200));
    }

    #[test]
    fn audio_seconds_counts_8_khz_samples() {
        assert_eq!(audio_seconds(0), 0.0);
        assert_eq!(audio_seconds(4_000), 0.5);
        assert_eq!(audio_seconds(8_000 * 28), 28.0);
    }
}
