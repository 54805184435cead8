//! cobranza: a voicebot that runs debt-collection phone calls over the Twilio Media Streams
//! protocol, negotiates inside the creditor's policy and records promises to pay.
//!
//! Modules follow the stages of a call: `telephony` carries the stream, `audio` converts and
//! paces it, `speech` turns it into text and back, `dialog` decides what to say, `call` wires one
//! call together, and `collections` stores what happened.

pub mod api;
pub mod audio;
pub mod bench;
pub mod call;
pub mod campaign;
pub mod clock;
pub mod collections;
pub mod config;
pub mod console;
pub mod cost;
pub mod demo;
pub mod dialog;
pub mod http;
pub mod kpi;
pub mod llm;
pub mod logging;
pub mod metrics;
pub mod policy;
pub mod providers;
pub mod resilience;
pub mod scoring;
pub mod server;
pub mod speech;
pub mod synthetic;
pub mod telephony;
