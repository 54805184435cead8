//! Text-to-speech on any OpenAI-compatible `/v1/audio/speech` server, in raw PCM.
//!
//! With `response_format: "pcm"` the body is 24 kHz, 16-bit little-endian mono samples with no
//! header, streamed in chunks whose edges may split a sample. Each phrase is one request whose
//! body goes through one stateful 24 kHz → 8 kHz resampler. Each call makes one attempt; retries
//! and fallback belong to the caller.

use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::AUTHORIZATION;
use serde_json::{json, Value};
use tokio::time::Instant;
use url::Url;

use super::streaming::{
    self, audio_channel, container_format, ApiKey, AudioBody, AudioSink, ErrorResponse, Timeouts, CONTAINER_PREFIX_LEN,
};
use super::{TextToSpeech, TtsStream};
use crate::audio::resample::Resampler;
use crate::audio::CALL_SAMPLE_RATE;
use crate::dialog::Language;
use crate::http::openai_endpoint;
use crate::speech::SpeechError;

const PROVIDER: &str = "openai-tts";

/// Sample rate of the `pcm` response format, in Hz.
pub const PCM_SAMPLE_RATE: u32 = 24_000;

/// Longest `input` the OpenAI speech endpoint takes, in characters.
pub const MAX_INPUT_CHARACTERS: usize = 4096;

/// Server, model, voices, API key variable and timeouts of an [`OpenAiTts`].
#[derive(Debug, Clone)]
pub struct OpenAiTtsSettings {
    /// Server root such as `https://api.openai.com`. A trailing `/v1` is accepted too.
    pub base_url: String,
    pub model: String,
    /// Voice used for Spanish.
    pub voice_es: String,
    /// Voice used for English.
    pub voice_en: String,
    /// Name of the environment variable that contains the API key.
    pub api_key_variable: String,
    /// Maximum wait for the TCP and TLS handshakes.
    pub connect_timeout: Duration,
    /// Maximum wait from sending the request to the first byte of audio, connecting included.
    pub first_byte_timeout: Duration,
    /// Maximum silence between two chunks of audio.
    pub idle_timeout: Duration,
}

impl Default for OpenAiTtsSettings {
    fn default() -> Self {
        OpenAiTtsSettings {
            base_url: "https://api.openai.com".to_string(),
            model: "tts-1".to_string(),
            voice_es: "nova".to_string(),
            voice_en: "alloy".to_string(),
            api_key_variable: "COBRANZA_OPENAI_API_KEY".to_string(),
            connect_timeout: Duration::from_secs(3),
            first_byte_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(5),
        }
    }
}

/// Text-to-speech on an OpenAI-compatible server. Cloning is cheap and shares the HTTP
/// connection pool.
#[derive(Debug, Clone)]
pub struct OpenAiTts {
    settings: OpenAiTtsSettings,
    endpoint: Url,
    api_key: ApiKey,
    http: reqwest::Client,
}

/// Counts the characters sent for `text`, which is what OpenAI bills: the text without
/// leading and trailing whitespace.
pub fn characters_billed(text: &str) -> u64 {
    text.trim().chars().count() as u64
}

impl OpenAiTts {
    /// Builds a client, reading the API key from the environment variable the settings name.
    pub fn new(settings: OpenAiTtsSettings) -> Result<OpenAiTts, SpeechError> {
        let endpoint = speech_endpoint(&settings.base_url)?;
        let api_key = ApiKey::from_env(PROVIDER, "OpenAI", &settings.api_key_variable)?;
        let http = streaming::http_client(PROVIDER, settings.connect_timeout)?;
        Ok(OpenAiTts { settings, endpoint, api_key, http })
    }

    /// Returns the URL requests go to.
    pub fn endpoint(&self) -> &Url {
        &self.endpoint
    }

    fn voice(&self, language: Language) -> &str {
        match language {
            Language::Es => &self.settings.voice_es,
            Language::En => &self.settings.voice_en,
        }
    }

    fn timeouts(&self) -> Timeouts {
        Timeouts {
            connect: self.settings.connect_timeout,
            first_byte: self.settings.first_byte_timeout,
            idle: self.settings.idle_timeout,
        }
    }

    /// Requests the phrase and sends its audio, resampled to 8 kHz, to the sink. Returns false
    /// when the caller dropped the stream.
    async fn stream_phrase(&self, input: &str, voice: &str, sink: &mut AudioSink) -> Result<bool, SpeechError> {
        let body = json!({ "model": self.settings.model, "input": input, "voice": voice, "response_format": "pcm" });
        tracing::debug!(model = %self.settings.model, voice, characters = input.chars().count(), "requesting openai speech");

        let deadline = Instant::now() + self.settings.first_byte_timeout;
        let request = self
            .http
            .post(self.endpoint.clone())
            .header(AUTHORIZATION, format!("Bearer {}", self.api_key.secret()))
            .json(&body);
        let response = streaming::send(PROVIDER, request, deadline, self.timeouts()).await?;
        if !response.status().is_success() {
            let error = streaming::read_error_response(response, self.settings.idle_timeout).await;
            return Err(self.http_error(error));
        }

        let mut body = AudioBody::new(PROVIDER, response, deadline, self.timeouts());
        let first = body.read_prefix(CONTAINER_PREFIX_LEN).await?;
        if let Some(format) = container_format(&first) {
            return Err(SpeechError::Provider {
                provider: PROVIDER,
                reason: format!(
                    "audio arrived as {format} instead of raw PCM; the server ignored response_format \"pcm\", \
                     so use a server that supports it"
                ),
            });
        }

        let mut decoder = PcmDecoder::new()?;
        if !sink.audio(decoder.push(&first)).await {
            return Ok(false);
        }
        while let Some(chunk) = body.next_chunk().await? {
            if !sink.audio(decoder.push(&chunk)).await {
                return Ok(false);
            }
        }

        // The tail of the resampler is sent before reporting an odd byte, because the samples
        // before it are sound.
        let (tail, odd_byte) = decoder.finish();
        if !sink.audio(tail).await {
            return Ok(false);
        }
        if odd_byte.is_some() {
            return Err(SpeechError::Provider {
                provider: PROVIDER,
                reason: format!(
                    "the PCM body ended with an odd byte after {} bytes: 16-bit samples need 2 bytes each",
                    body.received
                ),
            });
        }
        Ok(true)
    }

    /// Turns an error response into [`SpeechError::Http`] with the server's message and the fix.
    fn http_error(&self, error: ErrorResponse) -> SpeechError {
        let ErrorResponse { status, retry_after, body } = error;
        let details = serde_json::from_str::<Value>(&body).ok().and_then(|value| value.get("error").cloned());
        let field =
            |name: &str| details.as_ref().and_then(|error| error.get(name)).and_then(Value::as_str).map(str::to_string);
        let message = field("message").unwrap_or_else(|| streaming::raw_body_message(&body));
        let labels: Vec<String> = [("type", field("type")), ("code", field("code"))]
            .into_iter()
            .filter_map(|(name, value)| value.map(|value| format!("{name} {value}")))
            .collect();

        let fix = match status {
            401 | 403 => format!("check the API key in {}", self.settings.api_key_variable),
            404 => format!("check base_url and model '{}'", self.settings.model),
            400 | 422 => format!("check model '{}', the voices and the input", self.settings.model),
            429 => "rate limit or quota reached; retry after the delay or raise the limit".to_string(),
            500..=599 => "the server had an error; retry later".to_string(),
            _ => "check base_url and the request".to_string(),
        };
        let message = if labels.is_empty() {
            format!("{message}; {fix}")
        } else {
            format!("{message} ({}); {fix}", labels.join(", "))
        };
        tracing::warn!(status, retry_after = ?retry_after, "openai speech request rejected");
        SpeechError::Http { provider: PROVIDER, status, message, retry_after }
    }
}

#[async_trait]
impl TextToSpeech for OpenAiTts {
    /// Returns once the first audio is on the stream, so a failure before any audio is the
    /// `Err` here. A later failure ends the stream with an `Err` chunk.
    async fn synthesize(&self, text: &str, language: Language) -> Result<TtsStream, SpeechError> {
        let input = text.trim();
        let characters = input.chars().count();
        if characters > MAX_INPUT_CHARACTERS {
            return Err(SpeechError::Provider {
                provider: PROVIDER,
                reason: format!(
                    "the phrase has {characters} characters but the speech endpoint takes at most \
                     {MAX_INPUT_CHARACTERS}; split it into shorter phrases"
                ),
            });
        }

        let (sink, pending) = audio_channel();
        if input.is_empty() {
            sink.finish();
            return pending.first_chunk(PROVIDER).await;
        }
        tokio::spawn(speak(self.clone(), input.to_string(), self.voice(language).to_string(), sink));
        pending.first_chunk(PROVIDER).await
    }
}

async fn speak(tts: OpenAiTts, input: String, voice: String, mut sink: AudioSink) {
    match tts.stream_phrase(&input, &voice, &mut sink).await {
        Ok(true) => sink.finish(),
        Ok(false) => {}
        Err(error) => sink.fail(error).await,
    }
}

/// Joins little-endian byte pairs into samples across chunk edges and resamples them to 8 kHz.
struct PcmDecoder {
    resampler: Resampler,
    /// The first byte of a sample whose second byte is in the next chunk.
    odd_byte: Option<u8>,
}

impl PcmDecoder {
    fn new() -> Result<PcmDecoder, SpeechError> {
        let resampler = Resampler::new(PCM_SAMPLE_RATE, CALL_SAMPLE_RATE)
            .map_err(|error| SpeechError::Provider { provider: PROVIDER, reason: format!("resampler: {error}") })?;
        Ok(PcmDecoder { resampler, odd_byte: None })
    }

    /// Decodes a chunk and returns the 8 kHz samples that are ready.
    fn push(&mut self, bytes: &[u8]) -> Vec<i16> {
        let mut samples = Vec::with_capacity(bytes.len() / 2 + 1);
        let mut rest = bytes;
        if let Some(low) = self.odd_byte.take() {
            match rest.split_first() {
                Some((&high, tail)) => {
                    samples.push(i16::from_le_bytes([low, high]));
                    rest = tail;
                }
                None => self.odd_byte = Some(low),
            }
        }

        let pairs = rest.chunks_exact(2);
        if let [odd] = pairs.remainder() {
            self.odd_byte = Some(*odd);
        }
        samples.extend(pairs.map(|pair| i16::from_le_bytes([pair[0], pair[1]])));
        self.resampler.process(&samples)
    }

    /// Ends the phrase: returns the resampler's last samples and the unpaired byte, if any.
    fn finish(&mut self) -> (Vec<i16>, Option<u8>) {
        (self.resampler.flush(), self.odd_byte.take())
    }
}

/// Builds `{base}/v1/audio/speech`, accepting a base that already ends in `/v1`.
fn speech_endpoint(base_url: &str) -> Result<Url, SpeechError> {
    openai_endpoint(base_url, "audio/speech").map_err(|reason| SpeechError::Unavailable {
        provider: PROVIDER,
        reason: format!("invalid OpenAI base_url '{base_url}': {reason}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes_of(samples: &[i16]) -> Vec<u8> {
        samples.iter().flat_map(|sample| sample.to_le_bytes()).collect()
    }

    fn resample_whole(samples: &[i16]) -> Vec<i16> {
        let mut resampler = Resampler::new(PCM_SAMPLE_RATE, CALL_SAMPLE_RATE).unwrap();
        let mut output = resampler.process(samples);
        output.extend(resampler.flush());
        output
    }

    #[test]
    fn decoder_joins_samples_split_across_chunks() {
        let samples: Vec<i16> = (0..4_800).map(|n| ((n * 37) % 20_000 - 10_000) as i16).collect();
        let bytes = bytes_of(&samples);

        let mut decoder = PcmDecoder::new().unwrap();
        let mut output = Vec::new();
        for chunk in bytes.chunks(1_001) {
            output.extend(decoder.push(chunk));
        }
        let (tail, odd_byte) = decoder.finish();
        output.extend(tail);

        assert_eq!(odd_byte, None);
        assert_eq!(output.len(), 1_600);
        assert_eq!(output, resample_whole(&samples));
    }

    #[test]
    fn decoder_keeps_single_byte_chunks() {
        let samples: Vec<i16> = vec![-2, 513, i16::MIN, i16::MAX];
        let mut decoder = PcmDecoder::new().unwrap();
        let mut output = Vec::new();
        for byte in bytes_of(&samples) {
            output.extend(decoder.push(&[byte]));
        }
        output.extend(decoder.push(&[0x7F]));

        let (tail, odd_byte) = decoder.finish();
        output.extend(tail);
        assert_eq!(odd_byte, Some(0x7F));
        assert_eq!(output, resample_whole(&samples));
    }

    #[test]
    fn speech_endpoint_accepts_v1_suffix() {
        let expected = "http://127.0.0.1:9000/v1/audio/speech";
        assert_eq!(speech_endpoint("http://127.0.0.1:9000").unwrap().as_str(), expected);
        assert_eq!(speech_endpoint("http://127.0.0.1:9000/v1/").unwrap().as_str(), expected);
        assert!(speech_endpoint("ftp://127.0.0.1").is_err());
    }

    #[test]
    fn characters_billed_counts_trimmed_input() {
        assert_eq!(characters_billed("  Buenos días.\n"), 12);
    }
}
