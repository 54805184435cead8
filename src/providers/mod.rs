//! The speech and language providers a process uses, built from configuration. Speech-to-text
//! and text-to-speech are fallback chains, with each provider behind its own circuit breaker,
//! retry policy and rate limit. The interpreter is the rules, or an LLM with the rules as
//! fallback. Keys come only from the environment variables the configuration names.

mod build;
mod settings;

pub use build::{build, ProviderError, Providers};
pub use settings::*;
