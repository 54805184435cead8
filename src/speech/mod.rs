//! Speech-to-text and text-to-speech behind small streaming traits, so a call session never
//! knows which provider it talks to.

pub mod stt;
pub mod tts;

use std::time::Duration;

/// Why a speech provider failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpeechError {
    #[error("speech model could not be loaded from {path}: {reason}; scripts/setup fetches it into models/")]
    ModelLoad { path: String, reason: String },
    #[error("{provider} failed: {reason}")]
    Provider { provider: &'static str, reason: String },
    #[error("{provider} is not running: {reason}")]
    Unavailable { provider: &'static str, reason: String },
    /// The provider answered with an HTTP error status; `message` is the error body's message
    /// followed by what to do about it.
    #[error("{provider} returned HTTP {status}: {message}")]
    Http { provider: &'static str, status: u16, message: String, retry_after: Option<Duration> },
    /// A stage of the request (`"connect"`, `"first byte"`, `"next chunk"`) took too long.
    #[error("{provider} timed out waiting for the {stage} after {after:?}")]
    Timeout { provider: &'static str, stage: &'static str, after: Duration },
}

impl SpeechError {
    /// Tells whether sending the same request again may succeed and is safe: a rate limit, a
    /// server error, or no answer before any audio or text arrived.
    pub fn is_retryable(&self) -> bool {
        match self {
            SpeechError::Http { status, .. } => *status == 408 || *status == 429 || *status >= 500,
            SpeechError::Timeout { stage, .. } => *stage == "connect" || *stage == "first byte",
            SpeechError::ModelLoad { .. } | SpeechError::Provider { .. } | SpeechError::Unavailable { .. } => false,
        }
    }
}
