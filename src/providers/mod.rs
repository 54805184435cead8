//! The speech and language providers a process uses, built from configuration: a fallback chain
//! for speech-to-text and one for text-to-speech, each provider behind its own circuit breaker,
//! retry policy and rate limit, and the interpreter (the rules, or an LLM with the rules as
//! fallback). Keys come only from the environment variables the configuration names.

mod build;
mod settings;

pub use build::{build, ProviderError, Providers};
pub use settings::*;
