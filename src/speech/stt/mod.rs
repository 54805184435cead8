//! Speech-to-text: audio frames in, partial and final transcripts out.

pub mod whisper;

use async_trait::async_trait;
use tokio::sync::mpsc;

use super::SpeechError;
use crate::dialog::Language;

/// What the call session sends to a speech-to-text stream.
#[derive(Debug, Clone, PartialEq)]
pub enum SttInput {
    /// Caller audio, 16-bit PCM mono at 8 kHz, sent continuously (silence included).
    Audio(Vec<i16>),
    /// The turn is over: produce the final transcript of what was said since the last one.
    Finalize,
}

/// What a speech-to-text stream reports.
#[derive(Debug, Clone, PartialEq)]
pub enum SttEvent {
    /// Text that may still change.
    Partial { text: String },
    /// The transcript of one caller turn, answering one [`SttInput::Finalize`]. Empty when
    /// nothing intelligible was said.
    Final { text: String },
    /// The provider failed for this turn; the session decides how to recover.
    Error(SpeechError),
}

/// One call's speech-to-text session: dropping `input` ends it.
pub struct SttStream {
    pub input: mpsc::Sender<SttInput>,
    pub events: mpsc::Receiver<SttEvent>,
}

/// A speech-to-text provider.
#[async_trait]
pub trait SpeechToText: Send + Sync {
    async fn open(&self, language: Language) -> Result<SttStream, SpeechError>;
}
