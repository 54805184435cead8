//! Builds a chat completion from the chunks of a stream.

use serde_json::Value;

use super::error::{LlmError, PartialCompletion, PartialToolCall};
use super::message::{ChatCompletion, FinishReason, ToolCall, Usage};

/// The reply received so far, grown one chunk at a time.
#[derive(Debug, Default)]
pub struct Accumulator {
    received: PartialCompletion,
    finish_reason: Option<FinishReason>,
    usage: Option<Usage>,
}

impl Accumulator {
    /// Returns the content and tool-call fragments received so far.
    pub fn received(&self) -> PartialCompletion {
        self.received.clone()
    }

    /// Applies the JSON payload of one `data:` line and returns the content it added, if any.
    pub fn apply(&mut self, payload: &str) -> Result<Option<String>, LlmError> {
        let chunk: Value = serde_json::from_str(payload).map_err(|error| LlmError::MalformedChunk {
            line: payload.to_string(),
            reason: error.to_string(),
            received: self.received(),
        })?;
        if let Some(error) = chunk.get("error") {
            let message = error.get("message").and_then(Value::as_str).unwrap_or("no message");
            return Err(LlmError::StreamError { message: message.to_string(), received: self.received() });
        }

        if let Some(usage) = chunk.get("usage").filter(|usage| !usage.is_null()) {
            self.usage = Some(Usage {
                prompt_tokens: usage.get("prompt_tokens").and_then(Value::as_u64).unwrap_or(0),
                completion_tokens: usage.get("completion_tokens").and_then(Value::as_u64).unwrap_or(0),
            });
        }

        // Only the first choice is read, because the client never requests `n` > 1.
        let Some(choice) = first_choice(&chunk) else {
            return Ok(None);
        };
        if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
            self.finish_reason = Some(FinishReason::parse(reason));
        }
        let Some(delta) = choice.get("delta") else {
            return Ok(None);
        };
        if let Some(calls) = delta.get("tool_calls").and_then(Value::as_array) {
            for fragment in calls {
                self.apply_tool_call_fragment(fragment);
            }
        }
        match delta.get("content").and_then(Value::as_str) {
            Some(text) if !text.is_empty() => {
                self.received.content.push_str(text);
                Ok(Some(text.to_string()))
            }
            _ => Ok(None),
        }
    }

    /// Adds one `delta.tool_calls[]` item to the call it belongs to. Without `index`, as some
    /// servers send, a fragment with a new `id` starts a call and any other continues the last.
    fn apply_tool_call_fragment(&mut self, fragment: &Value) {
        let id = fragment.get("id").and_then(Value::as_str).filter(|id| !id.is_empty());
        let function = fragment.get("function");
        let name = function.and_then(|f| f.get("name")).and_then(Value::as_str);
        let arguments = function.and_then(|f| f.get("arguments")).and_then(Value::as_str);

        let calls = &mut self.received.tool_calls;
        let position = match fragment.get("index").and_then(Value::as_u64) {
            Some(index) => calls.iter().position(|call| u64::from(call.index) == index),
            None => {
                let last = calls.last();
                let starts_new = match (id, last) {
                    (_, None) => true,
                    (Some(id), Some(last)) => last.id.as_deref() != Some(id),
                    (None, Some(_)) => false,
                };
                if starts_new {
                    None
                } else {
                    Some(calls.len() - 1)
                }
            }
        };
        let position = position.unwrap_or_else(|| {
            let index =
                fragment.get("index").and_then(Value::as_u64).map(|index| index as u32).unwrap_or(calls.len() as u32);
            calls.push(PartialToolCall { index, ..PartialToolCall::default() });
            calls.len() - 1
        });

        let call = &mut calls[position];
        if call.id.is_none() {
            call.id = id.map(str::to_string);
        }
        // Some servers repeat the name in every fragment, so only the first one is kept.
        if call.name.is_none() {
            call.name = name.filter(|name| !name.is_empty()).map(str::to_string);
        }
        if let Some(arguments) = arguments {
            call.arguments.push_str(arguments);
        }
    }

    /// Completes the reply after `[DONE]`, parsing each tool call's arguments.
    pub fn finish(mut self) -> Result<ChatCompletion, LlmError> {
        self.received.tool_calls.sort_by_key(|call| call.index);
        let mut tool_calls = Vec::with_capacity(self.received.tool_calls.len());
        for call in self.received.tool_calls {
            tool_calls.push(complete_tool_call(call)?);
        }
        Ok(ChatCompletion {
            content: self.received.content,
            tool_calls,
            finish_reason: self.finish_reason,
            usage: self.usage,
        })
    }
}

fn first_choice(chunk: &Value) -> Option<&Value> {
    let choices = chunk.get("choices")?.as_array()?;
    choices.iter().find(|choice| choice.get("index").and_then(Value::as_u64).unwrap_or(0) == 0)
}

fn complete_tool_call(call: PartialToolCall) -> Result<ToolCall, LlmError> {
    let Some(id) = call.id else {
        return Err(LlmError::IncompleteToolCall { index: call.index, reason: "no id was sent".into() });
    };
    let Some(name) = call.name else {
        return Err(LlmError::IncompleteToolCall { index: call.index, reason: "no function name was sent".into() });
    };
    // A call without arguments is valid for a function that takes none.
    let text = if call.arguments.trim().is_empty() { "{}" } else { call.arguments.as_str() };
    let arguments = serde_json::from_str(text).map_err(|error| LlmError::InvalidToolArguments {
        name: name.clone(),
        arguments: call.arguments.clone(),
        reason: error.to_string(),
    })?;
    Ok(ToolCall { id, name, arguments })
}
