//! The fake's call log: what each create-call request asked for, what the fake actually dialled
//! and when, and what it sent back. A compliance checker reads this log, so it records the
//! carrier's side of every call and nothing the server meant to do.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::callee::CalleeKind;
use crate::telephony::simulator::StreamEnd;
use crate::telephony::twilio::status::CallStatus;

/// One call the fake accepted.
#[derive(Debug, Clone, Serialize)]
pub struct CallLogEntry {
    pub sid: String,
    /// The dialled number, as the request's `To` gave it.
    pub to: String,
    /// Every form parameter of the create-call request, in the order received, repeats kept.
    pub params: Vec<(String, String)>,
    /// When the create-call request arrived, on the fake's clock.
    pub requested_at: DateTime<Utc>,
    /// When the call left the calls-per-second queue and started dialling; `None` for a call
    /// canceled while queued.
    pub started_at: Option<DateTime<Utc>>,
    pub answered_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    /// The call's current status; final once `ended_at` is set.
    pub status: CallStatus,
    /// The callee the book gave for `to`; `None` until the call starts.
    pub callee: Option<CalleeKind>,
    /// Callbacks in the order sent, which may differ from their sequence numbers.
    pub callbacks: Vec<SentCallback>,
    /// TwiML that replaced the call's instructions, in the order received.
    pub twiml_updates: Vec<TwimlUpdate>,
    /// What happened on the media stream of an answered call.
    pub stream: Option<StreamRecord>,
}

impl CallLogEntry {
    /// Returns the first value of a create-call parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }

    /// Returns the call-progress callbacks in the order sent.
    pub fn progress_callbacks(&self) -> impl Iterator<Item = &SentCallback> {
        self.callbacks.iter().filter(|callback| callback.kind == CallbackKind::CallProgress)
    }
}

/// The callback URL of the create-call request that a callback went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CallbackKind {
    /// `StatusCallback`.
    CallProgress,
    /// `AsyncAmdStatusCallback`.
    Amd,
}

/// One signed callback POST and the server's response.
#[derive(Debug, Clone, Serialize)]
pub struct SentCallback {
    pub kind: CallbackKind,
    pub url: String,
    pub params: Vec<(String, String)>,
    pub sent_at: DateTime<Utc>,
    /// The HTTP status the server answered with, or `None` when the request failed.
    pub response_status: Option<u16>,
    /// The reason the request failed, when it did.
    pub error: Option<String>,
}

impl SentCallback {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }

    /// Returns `SequenceNumber` of a call-progress callback.
    pub fn sequence_number(&self) -> Option<u32> {
        self.param("SequenceNumber").and_then(|value| value.parse().ok())
    }
}

/// TwiML received through a call update.
#[derive(Debug, Clone, Serialize)]
pub struct TwimlUpdate {
    pub received_at: DateTime<Utc>,
    pub twiml: String,
}

/// The media stream of an answered call, from the carrier's side.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StreamRecord {
    /// Prompt keys of the bot phrases that played in full, in order.
    pub heard_prompts: Vec<String>,
    /// What the persona said or keyed, in order.
    pub persona_turns: Vec<String>,
    pub ended_by: Option<StreamEnd>,
    /// The reason the TwiML could not be fetched or the stream could not run, when that happened.
    pub error: Option<String>,
}
