//! Twilio: Media Streams messages, TwiML, webhook signatures, and the WebSocket and webhook
//! handlers the server mounts.

pub mod inbound;
pub mod media;
pub mod messages;
pub mod signature;
pub mod twiml;
pub mod webhooks;
