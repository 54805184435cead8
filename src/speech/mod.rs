//! Speech-to-text and text-to-speech behind small streaming traits, so a call session never
//! knows which provider it talks to.

pub mod stt;
pub mod tts;

/// Why a speech provider failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpeechError {
    #[error("speech model could not be loaded from {path}: {reason}; scripts/setup fetches it into models/")]
    ModelLoad { path: String, reason: String },
    #[error("{provider} failed: {reason}")]
    Provider { provider: &'static str, reason: String },
    #[error("{provider} is not running: {reason}")]
    Unavailable { provider: &'static str, reason: String },
}
