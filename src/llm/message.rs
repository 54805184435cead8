//! Messages, tools and the completed reply of a chat completion.

use serde::Serialize;
use serde_json::{json, Value};

/// One message of the conversation sent to the model.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    System(String),
    User(String),
    /// A reply of the model: its text, the tool calls it made, or both.
    Assistant {
        content: Option<String>,
        tool_calls: Vec<ToolCall>,
    },
    /// The result of one tool call, sent back after the assistant message that made it.
    Tool {
        tool_call_id: String,
        content: String,
    },
}

impl Message {
    /// Builds the wire form of this message.
    pub(crate) fn to_json(&self) -> Value {
        match self {
            Message::System(content) => json!({ "role": "system", "content": content }),
            Message::User(content) => json!({ "role": "user", "content": content }),
            Message::Assistant { content, tool_calls } => {
                let mut message = json!({ "role": "assistant", "content": content });
                if !tool_calls.is_empty() {
                    let calls: Vec<Value> = tool_calls.iter().map(ToolCall::to_json).collect();
                    message["tool_calls"] = Value::Array(calls);
                }
                message
            }
            Message::Tool { tool_call_id, content } => {
                json!({ "role": "tool", "tool_call_id": tool_call_id, "content": content })
            }
        }
    }
}

/// A function the model may call, with its parameters as a JSON Schema object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolDefinition {
    pub name: String,
    pub description: String,
    pub parameters: Value,
}

impl ToolDefinition {
    pub(crate) fn to_json(&self) -> Value {
        json!({ "type": "function", "function": self })
    }
}

/// Whether and which tool the model must call.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ToolChoice {
    #[default]
    Auto,
    None,
    Required,
    /// The model must call the function with this name.
    Function(String),
}

impl ToolChoice {
    pub(crate) fn to_json(&self) -> Value {
        match self {
            ToolChoice::Auto => json!("auto"),
            ToolChoice::None => json!("none"),
            ToolChoice::Required => json!("required"),
            ToolChoice::Function(name) => json!({ "type": "function", "function": { "name": name } }),
        }
    }
}

/// A completed tool call with its arguments parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    pub arguments: Value,
}

impl ToolCall {
    fn to_json(&self) -> Value {
        // The API expects the arguments as a JSON string, not an object.
        json!({
            "id": self.id,
            "type": "function",
            "function": { "name": self.name, "arguments": self.arguments.to_string() },
        })
    }
}

/// Reason the model stopped, from the `finish_reason` of the last choice chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FinishReason {
    Stop,
    Length,
    ToolCalls,
    ContentFilter,
    /// A value outside the OpenAI set, kept as sent.
    Other(String),
}

impl FinishReason {
    pub(crate) fn parse(value: &str) -> FinishReason {
        match value {
            "stop" => FinishReason::Stop,
            "length" => FinishReason::Length,
            "tool_calls" => FinishReason::ToolCalls,
            "content_filter" => FinishReason::ContentFilter,
            other => FinishReason::Other(other.to_string()),
        }
    }
}

/// Token counts the server reported for one completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

/// The reply of the model once the stream reached `[DONE]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatCompletion {
    pub content: String,
    /// Tool calls in `index` order.
    pub tool_calls: Vec<ToolCall>,
    /// `None` when the server sent no `finish_reason`.
    pub finish_reason: Option<FinishReason>,
    /// `None` when the server sent no usage chunk.
    pub usage: Option<Usage>,
}
