//! Errors of the chat-completions client. Errors raised after the stream started carry what was
//! received up to that point, so a caller can still use or log the partial reply.

use std::fmt;
use std::time::Duration;

/// A tool call whose fragments were still arriving when the stream failed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartialToolCall {
    pub index: u32,
    pub id: Option<String>,
    pub name: Option<String>,
    /// Concatenated `arguments` fragments, possibly incomplete JSON.
    pub arguments: String,
}

/// Content and tool-call fragments received before a stream failed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartialCompletion {
    pub content: String,
    pub tool_calls: Vec<PartialToolCall>,
}

impl fmt::Display for PartialCompletion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} characters of content and {} tool calls received",
            self.content.chars().count(),
            self.tool_calls.len()
        )
    }
}

/// Failure of a chat-completion request.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("LLM API key is missing: set the environment variable {variable}")]
    MissingApiKey { variable: String },

    #[error("LLM base URL '{url}' is invalid: {reason}")]
    InvalidBaseUrl { url: String, reason: String },

    #[error("connecting to the LLM server at {url} failed: {reason}")]
    Connect { url: String, reason: String },

    #[error("connecting to the LLM server at {url} timed out after {timeout:?}")]
    ConnectTimeout { url: String, timeout: Duration },

    #[error("LLM server at {url} sent no response within the first-byte timeout of {timeout:?}")]
    FirstByteTimeout { url: String, timeout: Duration },

    #[error("LLM stream was idle for more than {timeout:?}; {received}")]
    IdleTimeout { timeout: Duration, received: PartialCompletion },

    #[error("LLM server returned HTTP {status}: {message}{}", retry_hint(.retry_after))]
    Http {
        status: u16,
        /// The `error.type` field of an OpenAI-shaped error body, when the server sent one.
        error_type: Option<String>,
        message: String,
        /// The `Retry-After` header in seconds, when present.
        retry_after: Option<Duration>,
    },

    #[error("LLM server sent a malformed chunk ({reason}) in line '{line}'; {received}")]
    MalformedChunk { line: String, reason: String, received: PartialCompletion },

    #[error("LLM server reported an error inside the stream: {message}; {received}")]
    StreamError { message: String, received: PartialCompletion },

    #[error("LLM stream ended before [DONE] ({reason}); {received}")]
    StreamEndedEarly { reason: String, received: PartialCompletion },

    #[error("tool call {index} is incomplete: {reason}")]
    IncompleteToolCall { index: u32, reason: String },

    #[error("arguments of tool call '{name}' are not valid JSON ({reason}): {arguments}")]
    InvalidToolArguments { name: String, arguments: String, reason: String },

    #[error("sending the request to the LLM server failed: {reason}")]
    Request { reason: String },
}

impl LlmError {
    /// Returns whether the same request may succeed if sent again later, as after a rate limit,
    /// a server error, a timeout or a dropped connection.
    pub fn is_retryable(&self) -> bool {
        match self {
            LlmError::Http { status, .. } => *status == 429 || *status >= 500,
            LlmError::Connect { .. }
            | LlmError::ConnectTimeout { .. }
            | LlmError::FirstByteTimeout { .. }
            | LlmError::IdleTimeout { .. }
            | LlmError::StreamEndedEarly { .. } => true,
            _ => false,
        }
    }
}

fn retry_hint(retry_after: &Option<Duration>) -> String {
    match retry_after {
        Some(delay) => format!(" (retry after {} s)", delay.as_secs()),
        None => String::new(),
    }
}
