//! One call: the session wires the carrier stream to the ears (speech-to-text), the turn
//! decisions, the brain (the dialog machine), the mouth (text-to-speech, paced frames, marks)
//! and the tape (the stereo recording), and publishes what happens on the event bus.

mod mouth;
pub mod playout;
mod session;

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::clock::Clock;
use crate::collections::model::{Account, AttemptId, Disposition, Promise, TranscriptLine};
use crate::collections::{Direction, InboundCallId, Store};
use crate::config::Config;
use crate::dialog::Interpreter;
use crate::speech::stt::SpeechToText;
use crate::speech::tts::TextToSpeech;

pub use session::{run_call, run_call_on, run_unidentified_call_on, CallError, CallReport};

/// Everything a call needs from outside itself; shared by all calls of a process.
#[derive(Clone)]
pub struct CallServices {
    pub store: Arc<dyn Store>,
    pub stt: Arc<dyn SpeechToText>,
    pub tts: Arc<dyn TextToSpeech>,
    pub interpreter: Arc<dyn Interpreter>,
    pub clock: Arc<Clock>,
    pub config: Arc<Config>,
    /// Recordings are written under `data_dir/<call.recordings_dir>`.
    pub data_dir: PathBuf,
    pub bus: broadcast::Sender<CallEvent>,
}

/// The store row a call writes its transcript and outcome to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallRecord {
    Attempt(AttemptId),
    /// A call that came in unidentified, until its caller is matched to a debt and it gets an
    /// attempt.
    InboundCall(InboundCallId),
}

impl std::fmt::Display for CallRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallRecord::Attempt(id) => write!(f, "attempt {id}"),
            CallRecord::InboundCall(id) => write!(f, "inbound call {id}"),
        }
    }
}

/// Events that calls publish for supervisors, the demo and the store's listeners. A call that
/// came in unidentified publishes nothing until its caller is matched and it has an attempt.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CallEvent {
    Started {
        attempt_id: AttemptId,
        call_sid: String,
        summary: CallSummary,
    },
    Transcript {
        attempt_id: AttemptId,
        line: TranscriptLine,
    },
    /// Text of the caller's current turn as recognised so far. The turn's final line replaces
    /// it.
    Interim {
        attempt_id: AttemptId,
        text: String,
    },
    /// A promise the call stored (before the bot confirmed it).
    PromiseStored {
        attempt_id: AttemptId,
        promise: Promise,
    },
    StateChanged {
        attempt_id: AttemptId,
        state: String,
    },
    Ended {
        attempt_id: AttemptId,
        disposition: Disposition,
    },
    /// How long the bot took to reply to one caller turn.
    TurnTimings {
        attempt_id: AttemptId,
        timings: TurnTimings,
    },
}

/// The debtor of a live call, masked as the supervisors' board shows it to every role: the
/// debtor's initials and the phone's last four digits, never the whole name or number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallSummary {
    pub debtor: String,
    pub phone: String,
    pub country: String,
    pub campaign: Option<String>,
    pub direction: Direction,
    pub started_at: DateTime<Utc>,
}

impl CallSummary {
    pub fn new(account: &Account, campaign: Option<String>, direction: Direction, started_at: DateTime<Utc>) -> Self {
        CallSummary {
            debtor: initials(&account.debtor.full_name),
            phone: phone_tail(&account.debtor.phone),
            country: account.debtor.country.clone(),
            campaign,
            direction,
            started_at,
        }
    }
}

/// "María José Pérez" → "M. J. P.".
pub fn initials(full_name: &str) -> String {
    let letters: Vec<String> =
        full_name.split_whitespace().filter_map(|word| word.chars().next()).map(|first| format!("{first}.")).collect();
    letters.join(" ")
}

/// "+525512345678" → "•••5678".
pub fn phone_tail(phone: &str) -> String {
    let digits: Vec<char> = phone.chars().filter(char::is_ascii_digit).collect();
    let tail: String = digits[digits.len().saturating_sub(4)..].iter().collect();
    format!("•••{tail}")
}

/// The stages of the bot's reply to one caller turn, in milliseconds from the end of the
/// caller's speech; `None` for a stage the turn did not reach (no audio after a failed
/// synthesis, say).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TurnTimings {
    pub final_transcript_ms: Option<u64>,
    pub decision_ms: Option<u64>,
    pub first_audio_ms: Option<u64>,
    pub first_frame_ms: Option<u64>,
    /// The reply's first phrase had played: the carrier echoed its mark.
    pub first_mark_ms: Option<u64>,
}

/// A new event bus with room for bursts from many calls.
pub fn event_bus() -> broadcast::Sender<CallEvent> {
    broadcast::channel(4096).0
}
