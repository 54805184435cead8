//! The carrier side of a call. Every carrier adapter turns its wire protocol into the same small
//! vocabulary: [`Inbound`] events for the call session and [`Outbound`] commands from it.

pub mod simulator;
pub mod twilio;
pub mod twilio_fake;

use std::collections::BTreeMap;

/// Who the stream belongs to, from the carrier's `start` message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamStart {
    pub stream_sid: String,
    pub call_sid: String,
    pub account_sid: String,
    /// What the call's TwiML passed in `<Parameter>`.
    pub custom_parameters: BTreeMap<String, String>,
}

/// Something the carrier reports during a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    /// Caller audio as μ-law 8 kHz, placed at `timestamp_ms` of stream time when the carrier
    /// says so.
    Audio { timestamp_ms: Option<u64>, mulaw: Vec<u8> },
    /// One keypad digit.
    Dtmf(char),
    /// The carrier echoed a mark: everything queued before it played, or was cleared.
    MarkPlayed(String),
    /// The carrier's answering-machine detection decided a machine took the call.
    AnsweringMachine,
    /// A supervisor asked the bot to close the call politely.
    EndPolitely,
    /// The stream ended: the caller hung up or the carrier stopped it.
    Stop,
}

/// Something the call session asks the carrier to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outbound {
    /// One frame of bot audio as μ-law 8 kHz.
    Audio(Vec<u8>),
    /// Ask to be told when everything queued so far has played.
    Mark(String),
    /// Drop everything still queued for playback.
    Clear,
    /// End the call by closing the stream.
    Hangup,
}
