//! Twilio Media Streams messages as they cross the WebSocket: JSON text frames, numbers that
//! arrive as strings, and events this version does not know.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serialize};

/// A message Twilio sends on a media stream.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "event", rename_all = "lowercase")]
pub enum StreamMessage {
    Connected {
        #[serde(default)]
        protocol: Option<String>,
        #[serde(default)]
        version: Option<String>,
    },
    Start {
        #[serde(rename = "sequenceNumber", default, deserialize_with = "opt_number")]
        sequence_number: Option<u64>,
        #[serde(rename = "streamSid")]
        stream_sid: String,
        start: StartInfo,
    },
    Media {
        #[serde(rename = "sequenceNumber", default, deserialize_with = "opt_number")]
        sequence_number: Option<u64>,
        #[serde(rename = "streamSid")]
        stream_sid: String,
        media: MediaInfo,
    },
    Dtmf {
        #[serde(rename = "sequenceNumber", default, deserialize_with = "opt_number")]
        sequence_number: Option<u64>,
        #[serde(rename = "streamSid")]
        stream_sid: String,
        dtmf: DtmfInfo,
    },
    Mark {
        #[serde(rename = "sequenceNumber", default, deserialize_with = "opt_number")]
        sequence_number: Option<u64>,
        #[serde(rename = "streamSid")]
        stream_sid: String,
        mark: MarkInfo,
    },
    Stop {
        #[serde(rename = "sequenceNumber", default, deserialize_with = "opt_number")]
        sequence_number: Option<u64>,
        #[serde(rename = "streamSid")]
        stream_sid: String,
        #[serde(default)]
        stop: Option<StopInfo>,
    },
    /// An event this version does not handle; it is ignored and the socket stays open.
    #[serde(other)]
    Unknown,
}

/// The `start` payload: who the call is and what the TwiML passed in `<Parameter>`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct StartInfo {
    #[serde(rename = "streamSid", default)]
    pub stream_sid: Option<String>,
    #[serde(rename = "accountSid")]
    pub account_sid: String,
    #[serde(rename = "callSid")]
    pub call_sid: String,
    #[serde(default)]
    pub tracks: Vec<String>,
    #[serde(rename = "customParameters", default)]
    pub custom_parameters: BTreeMap<String, String>,
    #[serde(rename = "mediaFormat")]
    pub media_format: MediaFormat,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MediaFormat {
    pub encoding: String,
    #[serde(rename = "sampleRate", deserialize_with = "number")]
    pub sample_rate: u64,
    #[serde(deserialize_with = "number")]
    pub channels: u64,
}

/// One chunk of caller audio: base64 μ-law with no header.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MediaInfo {
    #[serde(default)]
    pub track: Option<String>,
    #[serde(default, deserialize_with = "opt_number")]
    pub chunk: Option<u64>,
    /// Milliseconds since the stream began (stream time, not wall time).
    #[serde(default, deserialize_with = "opt_number")]
    pub timestamp: Option<u64>,
    pub payload: String,
}

impl MediaInfo {
    /// Decodes the payload into μ-law bytes.
    pub fn audio(&self) -> Result<Vec<u8>, base64::DecodeError> {
        BASE64.decode(self.payload.as_bytes())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DtmfInfo {
    #[serde(default)]
    pub track: Option<String>,
    pub digit: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MarkInfo {
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct StopInfo {
    #[serde(rename = "accountSid", default)]
    pub account_sid: Option<String>,
    #[serde(rename = "callSid", default)]
    pub call_sid: Option<String>,
}

/// The error for a text frame that is not a valid stream message.
#[derive(Debug, thiserror::Error)]
#[error("media stream message is not valid: {source}; message starts with {excerpt:?}")]
pub struct MessageError {
    source: serde_json::Error,
    excerpt: String,
}

impl StreamMessage {
    /// Parses one text frame. Unknown events parse as [`StreamMessage::Unknown`].
    pub fn parse(text: &str) -> Result<StreamMessage, MessageError> {
        serde_json::from_str(text).map_err(|source| MessageError { source, excerpt: text.chars().take(80).collect() })
    }
}

/// A message cobranza sends to Twilio on a bidirectional stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "lowercase")]
pub enum OutboundMessage {
    Media {
        #[serde(rename = "streamSid")]
        stream_sid: String,
        media: OutboundMedia,
    },
    Mark {
        #[serde(rename = "streamSid")]
        stream_sid: String,
        mark: MarkInfoOut,
    },
    Clear {
        #[serde(rename = "streamSid")]
        stream_sid: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboundMedia {
    /// Base64 (standard, padded) of raw μ-law 8 kHz mono.
    pub payload: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkInfoOut {
    pub name: String,
}

impl OutboundMessage {
    pub fn media(stream_sid: &str, mulaw: &[u8]) -> OutboundMessage {
        OutboundMessage::Media {
            stream_sid: stream_sid.to_string(),
            media: OutboundMedia { payload: BASE64.encode(mulaw) },
        }
    }

    pub fn mark(stream_sid: &str, name: &str) -> OutboundMessage {
        OutboundMessage::Mark { stream_sid: stream_sid.to_string(), mark: MarkInfoOut { name: name.to_string() } }
    }

    pub fn clear(stream_sid: &str) -> OutboundMessage {
        OutboundMessage::Clear { stream_sid: stream_sid.to_string() }
    }

    /// The JSON text of a media message, written directly: the stream's hot path, fifty times a
    /// second per call. Equal to `OutboundMessage::media(stream_sid, mulaw).to_json()`.
    pub fn media_json(stream_sid: &str, mulaw: &[u8]) -> String {
        let sid = serde_json::to_string(stream_sid).expect("a string always serializes");
        let mut text = String::with_capacity(48 + sid.len() + mulaw.len().div_ceil(3) * 4);
        text.push_str(r#"{"event":"media","streamSid":"#);
        text.push_str(&sid);
        text.push_str(r#","media":{"payload":""#);
        BASE64.encode_string(mulaw, &mut text);
        text.push_str(r#""}}"#);
        text
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("outbound messages always serialize")
    }
}

/// Accepts an integer sent either as a JSON string (`"42"`, what Twilio sends) or a number.
fn number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    deserializer.deserialize_any(WholeNumber)
}

/// Reads a whole number from a JSON string or number without buffering the value.
struct WholeNumber;

impl<'de> serde::de::Visitor<'de> for WholeNumber {
    type Value = u64;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("a whole number, as a string or a number")
    }

    fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<u64, E> {
        Ok(value)
    }

    fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<u64, E> {
        u64::try_from(value).map_err(|_| E::custom(format!("'{value}' is not a whole number")))
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<u64, E> {
        text.trim().parse().map_err(|_| E::custom(format!("'{text}' is not a whole number")))
    }
}

/// A `media` message read in one pass, borrowing its payload: the stream's hot path, fifty
/// times a second per call. Anything else is read by [`StreamMessage::parse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaFrame<'a> {
    pub timestamp: Option<u64>,
    pub payload: &'a str,
}

#[derive(Deserialize)]
struct MediaEnvelope<'a> {
    #[serde(borrow)]
    event: std::borrow::Cow<'a, str>,
    #[serde(rename = "streamSid", borrow, default)]
    stream_sid: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    media: Option<MediaFields<'a>>,
}

#[derive(Deserialize)]
struct MediaFields<'a> {
    #[serde(default, deserialize_with = "opt_number")]
    timestamp: Option<u64>,
    payload: &'a str,
}

impl<'a> MediaFrame<'a> {
    /// Reads `text` as a `media` message with a stream SID and a payload; `None` for any other
    /// message or shape, which [`StreamMessage::parse`] then reads or reports.
    pub fn parse(text: &'a str) -> Option<MediaFrame<'a>> {
        let envelope: MediaEnvelope<'a> = serde_json::from_str(text).ok()?;
        let media = envelope.media.filter(|_| envelope.event == "media" && envelope.stream_sid.is_some())?;
        Some(MediaFrame { timestamp: media.timestamp, payload: media.payload })
    }

    /// Decodes the payload into μ-law bytes.
    pub fn audio(&self) -> Result<Vec<u8>, base64::DecodeError> {
        BASE64.decode(self.payload.as_bytes())
    }
}

fn opt_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    number(deserializer).map(Some)
}
