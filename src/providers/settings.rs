//! The `[providers.*]` and `[costs]` sections of the configuration.

use std::time::Duration;

use serde::Deserialize;

use crate::resilience::GuardSettings;

/// A speech-to-text provider's name in `speech.stt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SttName {
    Deepgram,
    /// Any OpenAI-compatible `/v1/audio/transcriptions` server.
    Openai,
    /// The embedded Whisper model.
    Whisper,
}

/// A text-to-speech provider's name in `speech.tts`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TtsName {
    Elevenlabs,
    /// Any OpenAI-compatible `/v1/audio/speech` server.
    Openai,
    /// The embedded espeak-ng.
    Espeak,
}

/// The interpreter of the caller's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InterpreterName {
    /// The embedded rule interpreter.
    Rules,
    /// An OpenAI-compatible LLM, with the rules when it fails or is late.
    Llm,
}

impl SttName {
    pub fn as_str(self) -> &'static str {
        match self {
            SttName::Deepgram => "deepgram",
            SttName::Openai => "openai",
            SttName::Whisper => "whisper",
        }
    }
}

impl TtsName {
    pub fn as_str(self) -> &'static str {
        match self {
            TtsName::Elevenlabs => "elevenlabs",
            TtsName::Openai => "openai",
            TtsName::Espeak => "espeak",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvidersConfig {
    pub deepgram: DeepgramConfig,
    pub openai_stt: OpenAiSttConfig,
    pub whisper: LocalConfig,
    pub elevenlabs: ElevenLabsConfig,
    pub openai_tts: OpenAiTtsConfig,
    pub espeak: LocalConfig,
    pub llm: LlmConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeepgramConfig {
    pub base_url: String,
    pub model: String,
    pub api_key_variable: String,
    pub endpointing_ms: u32,
    pub utterance_end_ms: u32,
    pub connect_timeout_ms: u64,
    /// Dollars per minute of audio streamed.
    pub price_per_minute: f64,
    pub guard: GuardSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenAiSttConfig {
    pub base_url: String,
    pub model: String,
    pub api_key_variable: String,
    pub connect_timeout_ms: u64,
    pub response_timeout_ms: u64,
    /// Dollars per minute of audio uploaded.
    pub price_per_minute: f64,
    pub guard: GuardSettings,
}

/// An embedded provider: no key, no network.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalConfig {
    /// Dollars per minute of audio (Whisper) or per million characters (espeak-ng); 0 unless
    /// the machine's time is to be charged to calls.
    pub price: f64,
    /// Maximum wait for the first audio of a sentence (espeak-ng) before the next provider.
    pub first_byte_timeout_ms: u64,
    pub guard: GuardSettings,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ElevenLabsTransport {
    /// One streaming HTTP request per sentence.
    Http,
    /// The stream-input WebSocket, for text that arrives in pieces.
    Websocket,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ElevenLabsConfig {
    pub base_url: String,
    pub voice_id_es: String,
    pub voice_id_en: String,
    pub model_id: String,
    pub api_key_variable: String,
    pub transport: ElevenLabsTransport,
    pub connect_timeout_ms: u64,
    pub first_byte_timeout_ms: u64,
    pub idle_timeout_ms: u64,
    /// Dollars per million characters sent.
    pub price_per_million_characters: f64,
    pub guard: GuardSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenAiTtsConfig {
    pub base_url: String,
    pub model: String,
    pub voice_es: String,
    pub voice_en: String,
    pub api_key_variable: String,
    pub connect_timeout_ms: u64,
    pub first_byte_timeout_ms: u64,
    pub idle_timeout_ms: u64,
    /// Dollars per million characters sent.
    pub price_per_million_characters: f64,
    pub guard: GuardSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LlmConfig {
    pub base_url: String,
    pub model: String,
    pub api_key_variable: String,
    pub connect_timeout_ms: u64,
    pub first_byte_timeout_ms: u64,
    pub idle_timeout_ms: u64,
    /// The whole reading's budget; past it the rules read the turn.
    pub deadline_ms: u64,
    /// Conversation lines sent with each turn.
    pub history_lines: usize,
    pub price_per_million_input_tokens: f64,
    pub price_per_million_output_tokens: f64,
    pub guard: GuardSettings,
}

/// Prices that are not a provider's: the carrier's.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CostsConfig {
    /// The name cost lines give the carrier.
    pub carrier: String,
    /// Dollars per started minute of a call.
    pub telephony_per_minute: f64,
}

pub(crate) fn millis(ms: u64) -> Duration {
    Duration::from_millis(ms)
}
