//! Twilio: Media Streams messages, TwiML, webhook signatures, the REST client for calls, the
//! call-progress callbacks, and the WebSocket and webhook handlers the server mounts.

pub mod inbound;
pub mod media;
pub mod messages;
pub mod rest;
pub mod rest_error;
pub mod signature;
pub mod status;
pub mod twiml;
pub mod webhooks;
