//! An [`Interpreter`] that asks an LLM for the caller's intent through one forced tool call, and
//! falls back to the [`RuleInterpreter`] whenever the model cannot be used.
//!
//! The rules always read the turn first. While the bot asks for identity data (verification
//! digits, date of birth) the model is not called, so those answers never leave the process.
//! Otherwise the model's intent and reply replace the rules', and its slots fill only the slots
//! the rules left empty.

mod slots;
mod tool;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Datelike;
use tokio::time::timeout;

use crate::dialog::nlu::{
    ConversationLine, Dialect, Expecting, InterpretContext, Interpretation, Interpreter, RuleInterpreter,
};
use crate::dialog::Language;
use crate::llm::{ChatClient, ChatRequest, LlmError, Message, ToolChoice, Usage};
use crate::resilience::ProviderGuard;

use tool::TOOL_NAME;

const SYSTEM_PROMPT: &str = include_str!("../../prompts/llm/system.md");

/// Limits of an [`LlmInterpreter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LlmInterpreterSettings {
    /// Budget for the whole request, from sending it to the end of the stream. Past it the rules'
    /// reading is used, so a slow model delays a turn by at most this much.
    pub deadline: Duration,
    /// Conversation lines before the caller's turn sent as context, most recent kept.
    pub history_lines: usize,
}

impl Default for LlmInterpreterSettings {
    fn default() -> Self {
        LlmInterpreterSettings { deadline: Duration::from_millis(2500), history_lines: 6 }
    }
}

/// A callback that receives the token counts of each completed request, for cost metering.
pub type UsageObserver = Arc<dyn Fn(&Usage) + Send + Sync>;

/// Reads caller turns with an LLM, with the rule interpreter as the fallback and the source of
/// identity data.
pub struct LlmInterpreter {
    client: ChatClient,
    settings: LlmInterpreterSettings,
    rules: RuleInterpreter,
    usage_observer: Option<UsageObserver>,
    /// The model's circuit breaker and rate limit; while it turns requests away the rules read.
    guard: Option<Arc<ProviderGuard>>,
}

impl fmt::Debug for LlmInterpreter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LlmInterpreter")
            .field("client", &self.client)
            .field("settings", &self.settings)
            .field("usage_observer", &self.usage_observer.is_some())
            .finish()
    }
}

/// Reason the model's reading of a turn was not used. No message contains the model's output,
/// which may repeat the caller's words.
#[derive(Debug, thiserror::Error)]
enum InterpretError {
    #[error("{}", describe_client_error(.0))]
    Client(LlmError),

    #[error("the LLM reply did not complete within the deadline of {0:?}")]
    DeadlineExceeded(Duration),

    #[error("the LLM reply contains no call to {TOOL_NAME}")]
    NoToolCall,

    #[error("argument '{field}' of {TOOL_NAME} {reason}")]
    InvalidArgument { field: &'static str, reason: &'static str },

    #[error("the LLM returned an intent outside the list in the tool's schema")]
    UnknownIntent,
}

impl LlmInterpreter {
    pub fn new(client: ChatClient, settings: LlmInterpreterSettings) -> LlmInterpreter {
        LlmInterpreter { client, settings, rules: RuleInterpreter, usage_observer: None, guard: None }
    }

    /// Puts the model behind a circuit breaker and rate limit shared by every call.
    pub fn with_guard(self, guard: Arc<ProviderGuard>) -> Self {
        LlmInterpreter { guard: Some(guard), ..self }
    }

    /// Sets a callback that receives the token counts of every request that completed and
    /// reported usage, including requests whose tool call was then rejected.
    pub fn with_usage_observer(self, observer: Arc<dyn Fn(&Usage) + Send + Sync>) -> Self {
        LlmInterpreter { usage_observer: Some(observer), ..self }
    }

    /// Sends the turn to the model and reads its tool call.
    async fn ask_model(
        &self,
        text: &str,
        ctx: &InterpretContext,
        history: &[ConversationLine],
    ) -> Result<tool::ToolReading, InterpretError> {
        let request = self.request(text, ctx, history);
        let completion = timeout(self.settings.deadline, self.client.complete(&request))
            .await
            .map_err(|_| InterpretError::DeadlineExceeded(self.settings.deadline))?
            .map_err(InterpretError::Client)?;

        if let (Some(observer), Some(usage)) = (&self.usage_observer, completion.usage) {
            observer(&usage);
        }

        let call =
            completion.tool_calls.iter().find(|call| call.name == TOOL_NAME).ok_or(InterpretError::NoToolCall)?;
        tool::parse_arguments(&call.arguments)
    }

    fn request(&self, text: &str, ctx: &InterpretContext, history: &[ConversationLine]) -> ChatRequest {
        let recent = &history[history.len().saturating_sub(self.settings.history_lines)..];
        let mut messages = Vec::with_capacity(recent.len() + 2);
        messages.push(Message::System(system_prompt(ctx)));
        for line in recent {
            let message = if line.bot {
                Message::Assistant { content: Some(line.text.clone()), tool_calls: Vec::new() }
            } else {
                Message::User(line.text.clone())
            };
            messages.push(message);
        }
        messages.push(Message::User(text.to_string()));

        ChatRequest {
            messages,
            tools: vec![tool::definition()],
            tool_choice: ToolChoice::Function(TOOL_NAME.to_string()),
        }
    }
}

#[async_trait]
impl Interpreter for LlmInterpreter {
    async fn interpret(&self, text: &str, ctx: &InterpretContext) -> Interpretation {
        self.interpret_turn(text, ctx, &[]).await
    }

    async fn interpret_turn(&self, text: &str, ctx: &InterpretContext, history: &[ConversationLine]) -> Interpretation {
        let rules = self.rules.interpret_now(text, ctx);
        if matches!(ctx.expecting, Expecting::VerificationDigits | Expecting::BirthDate) {
            return rules;
        }

        if let Some(Err(rejection)) = self.guard.as_ref().map(|guard| guard.admit()) {
            tracing::info!(%rejection, "LLM skipped, using the rules' reading");
            return rules;
        }
        match self.ask_model(text, ctx, history).await {
            Ok(model) => {
                if let Some(guard) = &self.guard {
                    guard.succeeded();
                }
                slots::merge(rules, model, text, ctx)
            }
            Err(error) => {
                tracing::warn!(%error, expecting = ctx.expecting.as_str(), "LLM interpretation failed, using the rules' reading");
                if let Some(guard) = &self.guard {
                    guard.failed(&error);
                }
                rules
            }
        }
    }
}

/// Formats a client error without the model's output, which may repeat the caller's words, so the
/// invalid arguments and the malformed line are left out.
fn describe_client_error(error: &LlmError) -> String {
    match error {
        LlmError::InvalidToolArguments { name, reason, .. } => {
            format!("arguments of tool call '{name}' are not valid JSON ({reason})")
        }
        LlmError::MalformedChunk { reason, received, .. } => {
            format!("LLM server sent a malformed chunk ({reason}); {received}")
        }
        other => other.to_string(),
    }
}

/// Fills the placeholders of the system prompt with the call's facts.
fn system_prompt(ctx: &InterpretContext) -> String {
    let language = match ctx.language {
        Language::Es => "Spanish (es)",
        Language::En => "English (en)",
    };
    SYSTEM_PROMPT
        .replace("{language}", language)
        .replace("{country}", country_name(ctx.dialect))
        .replace("{currency}", ctx.currency.code())
        .replace("{today}", &ctx.today.format("%Y-%m-%d").to_string())
        .replace("{weekday}", weekday_name(ctx.today.weekday()))
        .replace("{expecting}", expected_answer(ctx.expecting))
}

fn country_name(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Mexico => "Mexico",
        Dialect::Colombia => "Colombia",
        Dialect::Peru => "Peru",
        Dialect::Chile => "Chile",
        Dialect::Argentina => "Argentina",
        Dialect::UnitedStates => "United States",
        Dialect::Neutral => "Latin America, country not known",
    }
}

fn weekday_name(weekday: chrono::Weekday) -> &'static str {
    match weekday {
        chrono::Weekday::Mon => "Monday",
        chrono::Weekday::Tue => "Tuesday",
        chrono::Weekday::Wed => "Wednesday",
        chrono::Weekday::Thu => "Thursday",
        chrono::Weekday::Fri => "Friday",
        chrono::Weekday::Sat => "Saturday",
        chrono::Weekday::Sun => "Sunday",
    }
}

/// Describes the bot's last question for the system prompt.
fn expected_answer(expecting: Expecting) -> &'static str {
    match expecting {
        Expecting::Identity => "whether the caller is the debtor",
        Expecting::VerificationDigits => "digits that verify the debtor's identity",
        Expecting::BirthDate => "the debtor's date of birth",
        Expecting::OfferResponse => "whether the caller accepts the payment terms the bot proposed",
        Expecting::Installments => "how many installments the caller wants",
        Expecting::CallbackTime => "when the caller can be called again",
        Expecting::PaymentOffer => "how much the caller can pay and on what date",
        Expecting::PromiseConfirmation => "whether the payment promise the bot read back is correct",
        Expecting::Date => "the date on which the caller will pay",
        Expecting::Amount => "how much the caller can pay",
        Expecting::PaymentDetails => "when and how much the caller already paid",
        Expecting::Other => "nothing specific",
    }
}
