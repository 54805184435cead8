//! Streaming client for OpenAI-compatible `/v1/chat/completions` servers, with tool calls.
//!
//! The client sends `stream: true` and builds the reply from the server-sent events: content
//! deltas are appended and passed on as they arrive, tool-call fragments are joined by `index`,
//! and the arguments are parsed as JSON once the stream reached `data: [DONE]`.

mod accumulate;
mod error;
mod interpreter;
mod message;
mod sse;

use std::fmt;
use std::time::Duration;

use reqwest::header::AUTHORIZATION;
use serde_json::{json, Value};
use tokio::time::timeout;
use url::Url;

use crate::http::{error_chain, openai_endpoint, retry_after};
use accumulate::Accumulator;
pub use error::{LlmError, PartialCompletion, PartialToolCall};
pub use interpreter::{LlmInterpreter, LlmInterpreterSettings, UsageObserver};
pub use message::{ChatCompletion, FinishReason, Message, ToolCall, ToolChoice, ToolDefinition, Usage};
use sse::{SseLine, SseLineSplitter};

/// Server address, model, API key variable and timeouts of a [`ChatClient`].
#[derive(Debug, Clone)]
pub struct ChatSettings {
    /// Server root such as `http://127.0.0.1:8080`. A trailing `/v1` is accepted too.
    pub base_url: String,
    pub model: String,
    /// Name of the environment variable that contains the API key.
    pub api_key_variable: String,
    /// Maximum time to open the TCP (and TLS) connection.
    pub connect_timeout: Duration,
    /// Maximum time from sending the request to receiving the response headers, connecting
    /// included.
    pub first_byte_timeout: Duration,
    /// Maximum silence between two chunks of the response body.
    pub idle_timeout: Duration,
}

/// One chat-completion request.
#[derive(Debug, Clone, Default)]
pub struct ChatRequest {
    pub messages: Vec<Message>,
    pub tools: Vec<ToolDefinition>,
    /// Sent only when `tools` is not empty.
    pub tool_choice: ToolChoice,
}

/// Characters of a server's error message kept in [`LlmError::Http`].
const ERROR_MESSAGE_CHARS: usize = 500;

/// A client for one model on one OpenAI-compatible server.
pub struct ChatClient {
    http: reqwest::Client,
    endpoint: Url,
    api_key: String,
    settings: ChatSettings,
}

impl fmt::Debug for ChatClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The API key is left out of the Debug output, so logging the client does not expose it.
        f.debug_struct("ChatClient")
            .field("endpoint", &self.endpoint.as_str())
            .field("model", &self.settings.model)
            .finish_non_exhaustive()
    }
}

impl ChatClient {
    /// Builds a client, reading the API key from the environment variable the settings name.
    pub fn new(settings: ChatSettings) -> Result<ChatClient, LlmError> {
        let api_key = std::env::var(&settings.api_key_variable)
            .ok()
            .filter(|key| !key.trim().is_empty())
            .ok_or_else(|| LlmError::MissingApiKey { variable: settings.api_key_variable.clone() })?;
        let endpoint = chat_endpoint(&settings.base_url)?;

        // Limitation: proxy environment variables are ignored, so a server reachable only
        // through a proxy cannot be used.
        let http = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .map_err(|error| LlmError::Request { reason: error.to_string() })?;

        Ok(ChatClient { http, endpoint, api_key, settings })
    }

    /// Sends the request and returns the whole reply once the stream reached `[DONE]`.
    pub async fn complete(&self, request: &ChatRequest) -> Result<ChatCompletion, LlmError> {
        self.stream(request, |_| {}).await
    }

    /// Sends the request, passes each content delta to `on_content` as it arrives, and returns
    /// the whole reply once the stream reached `[DONE]`.
    pub async fn stream(
        &self,
        request: &ChatRequest,
        mut on_content: impl FnMut(&str),
    ) -> Result<ChatCompletion, LlmError> {
        let mut response = self.send(request).await?;
        let mut splitter = SseLineSplitter::default();
        let mut accumulator = Accumulator::default();

        loop {
            let chunk = match timeout(self.settings.idle_timeout, response.chunk()).await {
                Err(_) => {
                    return Err(LlmError::IdleTimeout {
                        timeout: self.settings.idle_timeout,
                        received: accumulator.received(),
                    })
                }
                Ok(Err(error)) => {
                    return Err(LlmError::StreamEndedEarly {
                        reason: error_chain(&error),
                        received: accumulator.received(),
                    })
                }
                Ok(Ok(chunk)) => chunk,
            };

            let lines = match &chunk {
                Some(bytes) => splitter.push(bytes),
                None => splitter.finish().into_iter().collect(),
            };
            for line in lines {
                match line {
                    SseLine::Done => {
                        let completion = accumulator.finish()?;
                        tracing::debug!(
                            model = %self.settings.model,
                            finish_reason = ?completion.finish_reason,
                            usage = ?completion.usage,
                            tool_calls = completion.tool_calls.len(),
                            "chat completion finished"
                        );
                        return Ok(completion);
                    }
                    SseLine::Data(payload) => {
                        if let Some(text) = accumulator.apply(&payload)? {
                            on_content(&text);
                        }
                    }
                }
            }

            if chunk.is_none() {
                return Err(LlmError::StreamEndedEarly {
                    reason: "the server closed the connection".into(),
                    received: accumulator.received(),
                });
            }
        }
    }

    /// Posts the request and waits for response headers with a success status.
    async fn send(&self, request: &ChatRequest) -> Result<reqwest::Response, LlmError> {
        let body = self.request_body(request);
        tracing::debug!(
            endpoint = %self.endpoint,
            model = %self.settings.model,
            messages = request.messages.len(),
            tools = request.tools.len(),
            "sending chat completion request"
        );
        let pending = self
            .http
            .post(self.endpoint.clone())
            .header(AUTHORIZATION, format!("Bearer {}", self.api_key))
            .json(&body)
            .send();

        let response = match timeout(self.settings.first_byte_timeout, pending).await {
            Err(_) => {
                return Err(LlmError::FirstByteTimeout {
                    url: self.endpoint.to_string(),
                    timeout: self.settings.first_byte_timeout,
                })
            }
            Ok(Err(error)) => return Err(self.send_error(&error)),
            Ok(Ok(response)) => response,
        };

        if response.status().is_success() {
            return Ok(response);
        }
        Err(self.http_error(response).await)
    }

    fn request_body(&self, request: &ChatRequest) -> Value {
        let messages: Vec<Value> = request.messages.iter().map(Message::to_json).collect();
        let mut body = json!({
            "model": self.settings.model,
            "messages": messages,
            "stream": true,
            "stream_options": { "include_usage": true },
        });
        if !request.tools.is_empty() {
            let tools: Vec<Value> = request.tools.iter().map(ToolDefinition::to_json).collect();
            body["tools"] = Value::Array(tools);
            body["tool_choice"] = request.tool_choice.to_json();
        }
        body
    }

    fn send_error(&self, error: &reqwest::Error) -> LlmError {
        let url = self.endpoint.to_string();
        if error.is_connect() && error.is_timeout() {
            return LlmError::ConnectTimeout { url, timeout: self.settings.connect_timeout };
        }
        if error.is_connect() {
            return LlmError::Connect { url, reason: error_chain(error) };
        }
        LlmError::Request { reason: error_chain(error) }
    }

    /// Reads an error response, taking the message from an OpenAI-shaped `{"error": {...}}`
    /// body when there is one and from the raw body otherwise.
    async fn http_error(&self, response: reqwest::Response) -> LlmError {
        let status = response.status().as_u16();
        let retry_after = retry_after(response.headers());
        let body = match timeout(self.settings.idle_timeout, response.text()).await {
            Ok(Ok(body)) => body,
            Ok(Err(error)) => format!("(the error body could not be read: {error})"),
            Err(_) => "(the error body did not arrive in time)".to_string(),
        };

        let error = serde_json::from_str::<Value>(&body).ok().and_then(|value| value.get("error").cloned());
        // Both forms are cut to ERROR_MESSAGE_CHARS, because the message goes into log lines.
        let message = error
            .as_ref()
            .and_then(|error| error.get("message"))
            .and_then(Value::as_str)
            .map(|message| message.chars().take(ERROR_MESSAGE_CHARS).collect())
            .unwrap_or_else(|| match body.trim() {
                "" => "(empty body)".to_string(),
                text => text.chars().take(ERROR_MESSAGE_CHARS).collect(),
            });
        let error_type = error.as_ref().and_then(|error| error.get("type")).and_then(Value::as_str).map(str::to_string);

        tracing::warn!(status, error_type = ?error_type, retry_after = ?retry_after, "chat completion request rejected");
        LlmError::Http { status, error_type, message, retry_after }
    }
}

/// Builds `{base}/v1/chat/completions`, accepting a base that already ends in `/v1`.
fn chat_endpoint(base_url: &str) -> Result<Url, LlmError> {
    openai_endpoint(base_url, "chat/completions")
        .map_err(|reason| LlmError::InvalidBaseUrl { url: base_url.to_string(), reason })
}
