//! Configuration: `config/default.toml` is compiled in; a file passed with `--config` overrides
//! any of its keys. Secrets come only from `COBRANZA_*` environment variables.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::dialog::DialogSettings;
use crate::providers::{CostsConfig, InterpreterName, ProvidersConfig, SttName, TtsName};
use crate::scoring::settings::{CurrenciesConfig, ScoringConfig};
use crate::speech::tts::espeak::EspeakVoice;

const DEFAULT_TOML: &str = include_str!("../config/default.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub agency: AgencyConfig,
    pub inbound: InboundConfig,
    pub call: CallConfig,
    pub dialog: DialogSettings,
    pub speech: SpeechConfig,
    pub providers: ProvidersConfig,
    pub costs: CostsConfig,
    pub currencies: CurrenciesConfig,
    pub scoring: ScoringConfig,
    pub promises: PromisesConfig,
    pub dialer: DialerConfig,
    pub console: ConsoleConfig,
}

/// The supervisor console: see `[console]` in `config/default.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleConfig {
    pub enabled: bool,
    pub transfer_number: String,
    pub session_hours: u32,
    pub login_max_failures: u32,
    pub login_window_minutes: u32,
    pub board_batch_ms: u64,
}

/// How `cobranza serve` dials: see `[dialer]` in `config/default.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DialerConfig {
    pub enabled: bool,
    pub tick_ms: u64,
    pub lease_seconds: u32,
    pub placement_margin_seconds: u32,
    pub twilio_api_base_url: String,
    pub ring_timeout_seconds: u32,
    pub time_limit_seconds: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    pub listen: String,
    pub public_base_url: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgencyConfig {
    pub name: String,
    pub bot_name: String,
}

/// How the bot answers a caller the portfolio cannot match to one debtor.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InboundConfig {
    /// The locale of the prompts such a caller hears, e.g. `es-MX`.
    pub locale: String,
    /// The country (ISO 3166-1) whose `config/jurisdictions/<country>.toml` gives the agency's
    /// callback number that the caller hears when no account matches.
    pub country: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallConfig {
    pub end_of_turn_silence_ms: u32,
    pub reply_timeout_ms: u64,
    pub pacing_lead_ms: u64,
    pub dtmf_inter_digit_ms: u64,
    pub goodbye_wait_ms: u64,
    pub max_call_seconds: u64,
    /// Honor the `protected` list of `prompts/`: the caller cannot talk over those prompts.
    pub protect_disclosures: bool,
    /// Caller speech over the bot this long is an interruption whatever it says; shorter speech
    /// pauses the bot until its transcript shows whether it was only a backchannel.
    pub barge_in_min_speech_ms: u64,
    /// How long after the end of the caller's turn was detected the caller hears a filler when
    /// the reply is not ready.
    pub filler_after_ms: u64,
    pub recordings_dir: PathBuf,
}

impl CallConfig {
    pub fn reply_timeout(&self) -> Duration {
        Duration::from_millis(self.reply_timeout_ms)
    }
    pub fn pacing_lead(&self) -> Duration {
        Duration::from_millis(self.pacing_lead_ms)
    }
    pub fn dtmf_inter_digit(&self) -> Duration {
        Duration::from_millis(self.dtmf_inter_digit_ms)
    }
    pub fn goodbye_wait(&self) -> Duration {
        Duration::from_millis(self.goodbye_wait_ms)
    }
    pub fn barge_in_min_speech(&self) -> Duration {
        Duration::from_millis(self.barge_in_min_speech_ms)
    }
    pub fn max_call(&self) -> Duration {
        Duration::from_secs(self.max_call_seconds)
    }
    pub fn filler_after(&self) -> Duration {
        Duration::from_millis(self.filler_after_ms)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpeechConfig {
    /// Speech-to-text providers in the order tried.
    pub stt: Vec<SttName>,
    /// Text-to-speech providers in the order tried, sentence by sentence.
    pub tts: Vec<TtsName>,
    pub interpreter: InterpreterName,
    pub whisper_model_dir: PathBuf,
    pub whisper_workers: usize,
    pub whisper_threads_per_worker: usize,
    pub whisper_max_tokens: usize,
    pub whisper_beam_size: usize,
    pub voice_es: EspeakVoice,
    pub voice_en: EspeakVoice,
}

/// Settings for settling promises to pay against the creditor's payments.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromisesConfig {
    /// Days after a due date during which a payment still keeps the promise (as kept late).
    #[serde(deserialize_with = "grace_days_in_range")]
    pub grace_days: u32,
}

/// The largest `promises.grace_days` accepted. Sixty days covers a two-month payment cycle.
pub const MAX_GRACE_DAYS: u32 = 60;

fn grace_days_in_range<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    let days = i64::deserialize(deserializer)?;
    match u32::try_from(days) {
        Ok(days) if days <= MAX_GRACE_DAYS => Ok(days),
        _ => Err(serde::de::Error::custom(format!(
            "grace_days = {days} is out of range: use 0 to {MAX_GRACE_DAYS} days"
        ))),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("config file {path} is not valid: {message}")]
    Invalid { path: String, message: String },
}

impl Config {
    /// The compiled-in defaults.
    pub fn embedded() -> Config {
        toml::from_str(DEFAULT_TOML).expect("config/default.toml is valid")
    }

    /// The defaults with the keys of `path` laid over them.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let Some(path) = path else {
            return Ok(Config::embedded());
        };
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: shown.clone(), source })?;
        let invalid = |message: String| ConfigError::Invalid { path: shown.clone(), message };
        let mut merged: toml::Value = toml::from_str(DEFAULT_TOML).expect("config/default.toml is valid");
        let overrides: toml::Value = toml::from_str(&text).map_err(|e| invalid(e.to_string()))?;
        merge(&mut merged, overrides);
        let config: Config = merged.try_into().map_err(|e: toml::de::Error| invalid(e.to_string()))?;
        config.currencies.validate().and_then(|()| config.scoring.validate()).map_err(invalid)?;
        Ok(config)
    }
}

fn merge(base: &mut toml::Value, overrides: toml::Value) {
    match (base, overrides) {
        (toml::Value::Table(base), toml::Value::Table(overrides)) => {
            for (key, value) in overrides {
                match base.get_mut(&key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (base, value) => *base = value,
    }
}

/// Secrets read from the environment.
#[derive(Clone)]
pub struct Secrets {
    pub twilio_account_sid: String,
    pub twilio_auth_token: String,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets").field("twilio_account_sid", &self.twilio_account_sid).finish_non_exhaustive()
    }
}

impl Secrets {
    /// Reads `COBRANZA_TWILIO_ACCOUNT_SID` and `COBRANZA_TWILIO_AUTH_TOKEN`.
    pub fn from_env() -> Result<Secrets, String> {
        let read = |name: &str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.is_empty())
                .ok_or_else(|| format!("{name} is not set: export it with your Twilio account's value"))
        };
        Ok(Secrets {
            twilio_account_sid: read("COBRANZA_TWILIO_ACCOUNT_SID")?,
            twilio_auth_token: read("COBRANZA_TWILIO_AUTH_TOKEN")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn override_file_changes_only_its_keys() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("site.toml");
        std::fs::write(&path, "[agency]\nname = \"Recupera SA\"\n[call]\nreply_timeout_ms = 5000\n").expect("write");
        let config = Config::load(Some(&path)).expect("valid");
        assert_eq!(config.agency.name, "Recupera SA");
        assert_eq!(config.agency.bot_name, "Sofía");
        assert_eq!(config.call.reply_timeout_ms, 5000);
        assert_eq!(config.call.pacing_lead_ms, 120);
    }

    #[test]
    fn grace_days_default_three() {
        assert_eq!(Config::embedded().promises.grace_days, 3);
    }

    #[test]
    fn grace_days_out_of_range_rejected() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("site.toml");
        for (days, accepted) in [(0, true), (60, true), (61, false), (-1, false)] {
            std::fs::write(&path, format!("[promises]\ngrace_days = {days}\n")).expect("write");
            match Config::load(Some(&path)) {
                Ok(config) => {
                    assert!(accepted, "grace_days = {days} was accepted");
                    assert_eq!(i64::from(config.promises.grace_days), days);
                }
                Err(error) => {
                    assert!(!accepted, "grace_days = {days} was rejected: {error}");
                    let expected = format!("grace_days = {days} is out of range: use 0 to 60 days");
                    assert!(error.to_string().contains(&expected), "{error}");
                }
            }
        }
    }

    #[test]
    fn unknown_key_is_rejected() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("site.toml");
        std::fs::write(&path, "[sever]\nlisten = \"0.0.0.0:80\"\n").expect("write");
        let error = Config::load(Some(&path)).expect_err("typo rejected");
        assert!(error.to_string().contains("unknown field `sever`"), "{error}");
    }

    #[test]
    fn non_positive_usd_rate_is_rejected() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("site.toml");
        std::fs::write(&path, "[currencies.usd_per_unit]\nMXN = 0\n").expect("write");
        let error = Config::load(Some(&path)).expect_err("zero rate rejected");
        assert!(error.to_string().contains("currencies.usd_per_unit.MXN is 0"), "{error}");
    }

    #[test]
    fn usd_rates_read_currency_codes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("site.toml");
        std::fs::write(&path, "[currencies.usd_per_unit]\nMXN = 0.06\n").expect("write");
        let config = Config::load(Some(&path)).expect("valid");
        let rates = &config.currencies.usd_per_unit;
        assert_eq!(rates.get(&crate::collections::model::Currency::Mxn), Some(&0.06));
        assert_eq!(rates.get(&crate::collections::model::Currency::Usd), Some(&1.0));
    }
}
