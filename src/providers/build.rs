//! Builds the provider chains named in `speech.stt`, `speech.tts` and `speech.interpreter`.

use std::sync::Arc;

use tracing::info;

use super::settings::{millis, ElevenLabsTransport, InterpreterName, SttName, TtsName};
use crate::config::Config;
use crate::cost::{self, CostCategory, Price};
use crate::dialog::{Interpreter, RuleInterpreter};
use crate::llm::{ChatClient, ChatSettings, LlmInterpreter, LlmInterpreterSettings, Usage};
use crate::resilience::ProviderGuard;
use crate::speech::stt::chain::{Billing, FallbackStt, SttProvider};
use crate::speech::stt::deepgram::{ApiKey, DeepgramSettings, DeepgramStt};
use crate::speech::stt::openai::{OpenAiStt, OpenAiSttSettings};
use crate::speech::stt::whisper::{WhisperPool, WhisperSettings, WhisperStt};
use crate::speech::stt::SpeechToText;
use crate::speech::tts::chain::{FallbackTts, TtsProvider};
use crate::speech::tts::elevenlabs::{self, ElevenLabsSettings, ElevenLabsTts};
use crate::speech::tts::espeak::EspeakTts;
use crate::speech::tts::openai::{OpenAiTts, OpenAiTtsSettings};
use crate::speech::tts::TextToSpeech;
use crate::speech::SpeechError;

/// The providers every call of a process shares.
#[derive(Clone)]
pub struct Providers {
    pub stt: Arc<dyn SpeechToText>,
    pub tts: Arc<dyn TextToSpeech>,
    pub interpreter: Arc<dyn Interpreter>,
    /// espeak-ng, kept apart too: the carrier simulator speaks its personas with it.
    pub espeak: Arc<EspeakTts>,
    /// The chains' provider names in order, for the start-up log.
    pub stt_names: Vec<String>,
    pub tts_names: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("speech.stt names no provider: list at least one of deepgram, openai, whisper")]
    NoSpeechToText,
    #[error("speech.tts names no provider: list at least one of elevenlabs, openai, espeak")]
    NoTextToSpeech,
    #[error("{provider} could not be set up: {reason}")]
    Setup { provider: &'static str, reason: String },
}

fn setup(provider: &'static str) -> impl Fn(String) -> ProviderError {
    move |reason| ProviderError::Setup { provider, reason }
}

/// Builds the chains from configuration. Keys are read from the environment now, so a missing
/// key fails at start-up, not during a call.
pub fn build(config: &Config) -> Result<Providers, ProviderError> {
    let espeak = Arc::new(EspeakTts::new(config.speech.voice_es.clone(), config.speech.voice_en.clone()));
    let stt = build_stt(config)?;
    let tts = build_tts(config, &espeak)?;
    let interpreter = build_interpreter(config)?;
    let stt_names = stt.provider_names();
    let tts_names = config.speech.tts.iter().map(|name| name.as_str().to_string()).collect();
    info!(stt = ?stt_names, tts = ?tts_names, interpreter = ?config.speech.interpreter, "speech providers ready");
    Ok(Providers { stt: Arc::new(stt), tts: Arc::new(tts), interpreter, espeak, stt_names, tts_names })
}

fn build_stt(config: &Config) -> Result<FallbackStt, ProviderError> {
    if config.speech.stt.is_empty() {
        return Err(ProviderError::NoSpeechToText);
    }
    let providers = &config.providers;
    let mut chain = Vec::new();
    for name in &config.speech.stt {
        let provider = match name {
            SttName::Deepgram => {
                let settings = &providers.deepgram;
                let key = ApiKey::from_env(&settings.api_key_variable).map_err(|e| setup("deepgram")(e.to_string()))?;
                let client = DeepgramStt::new(
                    DeepgramSettings {
                        base_url: settings.base_url.clone(),
                        model: settings.model.clone(),
                        endpointing_ms: settings.endpointing_ms,
                        utterance_end_ms: settings.utterance_end_ms,
                        connect_timeout: millis(settings.connect_timeout_ms),
                        ..DeepgramSettings::default()
                    },
                    key,
                );
                SttProvider {
                    name: name.as_str().to_string(),
                    stt: Arc::new(client),
                    guard: Arc::new(ProviderGuard::new(name.as_str(), settings.guard)),
                    price: Price::per_minute(settings.price_per_minute),
                    billing: Billing::Streamed,
                }
            }
            SttName::Openai => openai_stt(config)?,
            SttName::Whisper => {
                let pool = WhisperPool::load(&WhisperSettings::from_config(config))
                    .map_err(|e: SpeechError| setup("whisper")(e.to_string()))?;
                SttProvider {
                    name: name.as_str().to_string(),
                    stt: Arc::new(WhisperStt::new(pool)),
                    guard: Arc::new(ProviderGuard::new(name.as_str(), providers.whisper.guard)),
                    price: Price::per_minute(providers.whisper.price),
                    billing: Billing::PerTurn,
                }
            }
        };
        chain.push(provider);
    }
    Ok(FallbackStt::new(chain))
}

fn build_tts(config: &Config, espeak: &Arc<EspeakTts>) -> Result<FallbackTts, ProviderError> {
    if config.speech.tts.is_empty() {
        return Err(ProviderError::NoTextToSpeech);
    }
    let providers = &config.providers;
    let mut chain = Vec::new();
    for name in &config.speech.tts {
        let provider = match name {
            TtsName::Elevenlabs => elevenlabs_tts(config)?,
            TtsName::Openai => openai_tts(config)?,
            TtsName::Espeak => TtsProvider {
                name: name.as_str().to_string(),
                tts: Arc::clone(espeak) as Arc<dyn TextToSpeech>,
                guard: Arc::new(ProviderGuard::new(name.as_str(), providers.espeak.guard)),
                price: Price::per_million(providers.espeak.price),
                first_byte_timeout: millis(providers.espeak.first_byte_timeout_ms),
            },
        };
        chain.push(provider);
    }
    Ok(FallbackTts::new(chain))
}

fn build_interpreter(config: &Config) -> Result<Arc<dyn Interpreter>, ProviderError> {
    match config.speech.interpreter {
        InterpreterName::Rules => Ok(Arc::new(RuleInterpreter)),
        InterpreterName::Llm => llm_interpreter(config),
    }
}

fn openai_stt(config: &Config) -> Result<SttProvider, ProviderError> {
    let settings = &config.providers.openai_stt;
    let client = OpenAiStt::new(OpenAiSttSettings {
        base_url: settings.base_url.clone(),
        model: settings.model.clone(),
        api_key_variable: settings.api_key_variable.clone(),
        connect_timeout: millis(settings.connect_timeout_ms),
        response_timeout: millis(settings.response_timeout_ms),
        prompt: None,
    })
    .map_err(|e| setup("openai speech-to-text")(e.to_string()))?;
    Ok(SttProvider {
        name: SttName::Openai.as_str().to_string(),
        stt: Arc::new(client),
        guard: Arc::new(ProviderGuard::new(SttName::Openai.as_str(), settings.guard)),
        price: Price::per_minute(settings.price_per_minute),
        billing: Billing::PerTurn,
    })
}

fn elevenlabs_tts(config: &Config) -> Result<TtsProvider, ProviderError> {
    let settings = &config.providers.elevenlabs;
    let transport = match settings.transport {
        ElevenLabsTransport::Http => elevenlabs::ElevenLabsTransport::Http,
        ElevenLabsTransport::Websocket => elevenlabs::ElevenLabsTransport::WebSocket,
    };
    let client = ElevenLabsTts::new(ElevenLabsSettings {
        base_url: settings.base_url.clone(),
        voice_id_es: settings.voice_id_es.clone(),
        voice_id_en: settings.voice_id_en.clone(),
        model_id: settings.model_id.clone(),
        api_key_variable: settings.api_key_variable.clone(),
        connect_timeout: millis(settings.connect_timeout_ms),
        first_byte_timeout: millis(settings.first_byte_timeout_ms),
        idle_timeout: millis(settings.idle_timeout_ms),
        transport,
    })
    .map_err(|e| setup("elevenlabs")(e.to_string()))?;
    Ok(TtsProvider {
        name: TtsName::Elevenlabs.as_str().to_string(),
        tts: Arc::new(client),
        guard: Arc::new(ProviderGuard::new(TtsName::Elevenlabs.as_str(), settings.guard)),
        price: Price::per_million(settings.price_per_million_characters),
        // The client's own limits cover connecting and the first byte; the chain adds both.
        first_byte_timeout: millis(settings.connect_timeout_ms + settings.first_byte_timeout_ms),
    })
}

fn openai_tts(config: &Config) -> Result<TtsProvider, ProviderError> {
    let settings = &config.providers.openai_tts;
    let client = OpenAiTts::new(OpenAiTtsSettings {
        base_url: settings.base_url.clone(),
        model: settings.model.clone(),
        voice_es: settings.voice_es.clone(),
        voice_en: settings.voice_en.clone(),
        api_key_variable: settings.api_key_variable.clone(),
        connect_timeout: millis(settings.connect_timeout_ms),
        first_byte_timeout: millis(settings.first_byte_timeout_ms),
        idle_timeout: millis(settings.idle_timeout_ms),
    })
    .map_err(|e| setup("openai text-to-speech")(e.to_string()))?;
    Ok(TtsProvider {
        name: TtsName::Openai.as_str().to_string(),
        tts: Arc::new(client),
        guard: Arc::new(ProviderGuard::new(TtsName::Openai.as_str(), settings.guard)),
        price: Price::per_million(settings.price_per_million_characters),
        first_byte_timeout: millis(settings.connect_timeout_ms + settings.first_byte_timeout_ms),
    })
}

fn llm_interpreter(config: &Config) -> Result<Arc<dyn Interpreter>, ProviderError> {
    let settings = &config.providers.llm;
    let client = ChatClient::new(ChatSettings {
        base_url: settings.base_url.clone(),
        model: settings.model.clone(),
        api_key_variable: settings.api_key_variable.clone(),
        connect_timeout: millis(settings.connect_timeout_ms),
        first_byte_timeout: millis(settings.first_byte_timeout_ms),
        idle_timeout: millis(settings.idle_timeout_ms),
    })
    .map_err(|e| setup("llm")(e.to_string()))?;
    let input_price = Price::per_million(settings.price_per_million_input_tokens);
    let output_price = Price::per_million(settings.price_per_million_output_tokens);
    // Called in the call's own task, where its meter is in scope.
    let observer = Arc::new(move |usage: &Usage| {
        cost::record(CostCategory::LlmInput, "llm", usage.prompt_tokens, input_price);
        cost::record(CostCategory::LlmOutput, "llm", usage.completion_tokens, output_price);
    });
    let interpreter = LlmInterpreter::new(
        client,
        LlmInterpreterSettings { deadline: millis(settings.deadline_ms), history_lines: settings.history_lines },
    )
    .with_usage_observer(observer)
    .with_guard(Arc::new(ProviderGuard::new("llm", settings.guard)));
    Ok(Arc::new(interpreter))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a configuration whose speech-to-text needs no model files: Deepgram with a key set.
    fn cloud_config(variable: &str) -> Config {
        std::env::set_var(variable, "test-key");
        let mut config = Config::embedded();
        config.speech.stt = vec![SttName::Deepgram];
        config.providers.deepgram.api_key_variable = variable.to_string();
        config
    }

    fn error_of(config: &Config) -> String {
        match build(config) {
            Ok(_) => panic!("the configuration was accepted"),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn embedded_defaults_need_no_keys() {
        let config = Config::embedded();
        assert_eq!(config.speech.stt, [SttName::Whisper]);
        assert_eq!(config.speech.tts, [TtsName::Espeak]);
        assert_eq!(config.speech.interpreter, InterpreterName::Rules);
    }

    #[test]
    fn missing_key_names_its_variable() {
        let mut config = Config::embedded();
        config.speech.stt = vec![SttName::Deepgram];
        config.providers.deepgram.api_key_variable = "COBRANZA_TEST_UNSET_DEEPGRAM_KEY".into();
        assert_eq!(
            error_of(&config),
            "deepgram could not be set up: deepgram is not running: environment variable \
             COBRANZA_TEST_UNSET_DEEPGRAM_KEY is missing or empty; set it to a Deepgram API key"
        );
    }

    #[test]
    fn empty_chains_are_rejected() {
        let mut config = cloud_config("COBRANZA_TEST_DEEPGRAM_KEY_EMPTY");
        config.speech.tts = Vec::new();
        assert_eq!(error_of(&config), "speech.tts names no provider: list at least one of elevenlabs, openai, espeak");
        config.speech.stt = Vec::new();
        assert_eq!(error_of(&config), "speech.stt names no provider: list at least one of deepgram, openai, whisper");
    }

    #[test]
    fn elevenlabs_needs_voice_ids() {
        let mut config = cloud_config("COBRANZA_TEST_DEEPGRAM_KEY_VOICE");
        std::env::set_var("COBRANZA_TEST_ELEVENLABS_KEY_VOICE", "test-key");
        config.speech.tts = vec![TtsName::Elevenlabs];
        config.providers.elevenlabs.api_key_variable = "COBRANZA_TEST_ELEVENLABS_KEY_VOICE".into();
        let error = error_of(&config);
        assert!(error.starts_with("elevenlabs could not be set up: "), "{error}");
        assert!(error.contains("voice"), "{error}");
    }

    #[test]
    fn cloud_chain_builds_without_network() {
        let mut config = cloud_config("COBRANZA_TEST_DEEPGRAM_KEY_CHAIN");
        std::env::set_var("COBRANZA_TEST_OPENAI_KEY_CHAIN", "test-key");
        config.speech.stt = vec![SttName::Deepgram, SttName::Openai];
        config.speech.tts = vec![TtsName::Openai, TtsName::Espeak];
        config.speech.interpreter = InterpreterName::Llm;
        config.providers.openai_stt.api_key_variable = "COBRANZA_TEST_OPENAI_KEY_CHAIN".into();
        config.providers.openai_tts.api_key_variable = "COBRANZA_TEST_OPENAI_KEY_CHAIN".into();
        config.providers.llm.api_key_variable = "COBRANZA_TEST_OPENAI_KEY_CHAIN".into();
        let providers = build(&config).expect("builds");
        assert_eq!(providers.stt_names, ["deepgram", "openai"]);
        assert_eq!(providers.tts_names, ["openai", "espeak"]);
    }
}
