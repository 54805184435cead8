//! The conversation: a pure state machine (`Machine::on(Event) -> Vec<Action>`, no I/O), the
//! rule-based interpreter of what the caller said, and the script of what the bot says.
//!
//! The call session feeds the machine events (the caller said X, interpreted as Y; a promise was
//! stored; a timer fired) and carries out the actions it returns. Amounts, dates and disclosures
//! come from the machine and the templates in `prompts/`, never from the interpreter.

pub mod chat;
pub mod inbound;
pub mod jurisdiction;
pub mod machine;
pub mod negotiation;
pub mod nlu;
pub mod policy;
pub mod script;
pub mod spoken;

use std::sync::OnceLock;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

use crate::collections::model::{Account, Disposition, Money, PaymentClaim, Promise};

pub use inbound::{CallerMatch, Conversation, Identification};
pub use jurisdiction::Jurisdiction;
pub use machine::Machine;
pub use nlu::{ConversationLine, Intent, Interpretation, Interpreter, RuleInterpreter};
pub use policy::{DebtPolicy, PolicyBook};
pub use script::Script;

/// The language a call is held in. The portfolio locale picks the prompt set (`es-MX`, `en-US`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Es,
    En,
}

impl Language {
    pub fn from_locale(locale: &str) -> Language {
        if locale.to_ascii_lowercase().starts_with("en") {
            Language::En
        } else {
            Language::Es
        }
    }

    /// The ISO 639-1 code speech engines take as a hint.
    pub fn code(self) -> &'static str {
        match self {
            Language::Es => "es",
            Language::En => "en",
        }
    }
}

/// What the machine needs to know about the call it runs.
#[derive(Debug, Clone)]
pub struct CallContext {
    pub account: Account,
    /// The debtor's local date when the call started, for "el viernes" and "mañana".
    pub today: NaiveDate,
    /// The debtor's local time when the call started: a callback is never placed before it.
    pub time_of_day: NaiveTime,
    /// The collection agency named in the first sentence.
    pub agency: String,
    /// The virtual assistant's name.
    pub bot_name: String,
    pub settings: DialogSettings,
    /// The creditor's policy for this debt: verification, transfer and offer limits.
    pub policy: DebtPolicy,
    /// The rules of the debtor's country.
    pub jurisdiction: Jurisdiction,
}

/// An error building a call's context.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    #[error("policy: {0}")]
    Policy(#[from] policy::PolicyError),
    #[error("jurisdiction: {0}")]
    Jurisdiction(#[from] jurisdiction::JurisdictionError),
}

impl CallContext {
    /// Builds the context of a call from the compiled-in policy and the debtor's country file.
    pub fn embedded(
        account: Account,
        today: NaiveDate,
        time_of_day: NaiveTime,
        agency: &str,
        bot_name: &str,
        settings: DialogSettings,
    ) -> Result<CallContext, ContextError> {
        let jurisdiction = Jurisdiction::embedded(&account.debtor.country)?;
        CallContext::with(account, today, time_of_day, agency, bot_name, settings, embedded_policy()?, jurisdiction)
    }

    /// Builds the context of a call from a policy and a jurisdiction already loaded.
    #[allow(clippy::too_many_arguments)]
    pub fn with(
        account: Account,
        today: NaiveDate,
        time_of_day: NaiveTime,
        agency: &str,
        bot_name: &str,
        settings: DialogSettings,
        policies: &PolicyBook,
        jurisdiction: Jurisdiction,
    ) -> Result<CallContext, ContextError> {
        let debt = &account.debt;
        let policy = policies.for_debt(&debt.creditor, debt.balance.currency, debt.days_past_due);
        Ok(CallContext {
            account,
            today,
            time_of_day,
            agency: agency.to_string(),
            bot_name: bot_name.to_string(),
            settings,
            policy,
            jurisdiction,
        })
    }
}

/// Returns the compiled-in policy, parsed once.
fn embedded_policy() -> Result<&'static PolicyBook, policy::PolicyError> {
    static POLICY: OnceLock<PolicyBook> = OnceLock::new();
    if let Some(book) = POLICY.get() {
        return Ok(book);
    }
    let book = PolicyBook::embedded()?;
    Ok(POLICY.get_or_init(|| book))
}

/// Limits of a conversation, from configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DialogSettings {
    /// Reprompts after silence before the bot ends the call.
    pub max_reprompts: u32,
    /// Times the bot asks again when it did not understand an answer.
    pub max_clarifications: u32,
    /// Tries at the identity question before the bot ends without discussing the debt, and at the
    /// account number a caller the portfolio cannot match is asked for.
    pub max_verification_tries: u32,
}

impl Default for DialogSettings {
    fn default() -> Self {
        DialogSettings { max_reprompts: 2, max_clarifications: 2, max_verification_tries: 2 }
    }
}

/// Something that happened in the call, fed to the machine by the session.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The stream started: the bot speaks first.
    CallStarted,
    /// The caller finished a turn; `interpretation` is the interpreter's reading of `text`.
    Heard { text: String, interpretation: Interpretation },
    /// Keypad digits the caller pressed during one answer.
    Digits(String),
    /// The caller said nothing for the configured time after a question was heard in full.
    Silence,
    /// The result of an [`Action::StorePromise`]: only `true` lets the bot confirm it.
    PromiseStored { ok: bool },
    /// The result of any other store action (payment claim, dispute, hardship, callback,
    /// opt-out).
    OutcomeStored { ok: bool },
    /// The caller hung up.
    CallerHungUp,
    /// An answering machine took the call (the carrier's detection said so).
    AnsweringMachine,
    /// The call reached its maximum length: the bot closes politely.
    MaxDurationReached,
    /// A `clear` stopped a phrase before the caller heard all of it; `heard_text` holds the
    /// whole words that played (empty when none did).
    PlaybackCut { key: String, heard_text: String },
    /// Every speech-to-text provider failed: only the keypad reaches the bot from now on.
    SpeechUnavailable,
    /// The answer to an [`Action::FindAccount`] that matched no single debt.
    AccountNotFound,
}

/// A phrase for the bot to speak.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Utterance {
    /// The prompt it comes from (`greeting`, `ask_payment`, ...), carried in the phrase's mark.
    pub key: String,
    pub text: String,
    /// The caller is expected to answer it, so silence after it counts.
    pub expects_reply: bool,
    /// A legal disclosure the caller cannot talk over (listed as `protected` in `prompts/`).
    pub protected: bool,
}

/// Something the session must do for the machine.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Say(Utterance),
    /// Commit the promise to the store; the machine waits for [`Event::PromiseStored`].
    StorePromise(Promise),
    /// Commit the caller's statement that it was paid; answer with [`Event::OutcomeStored`].
    StorePaymentClaim(PaymentClaim),
    /// Commit a request to be called again; answer with [`Event::OutcomeStored`]. The time is
    /// inside the jurisdiction's calling hours.
    StoreCallback {
        requested_for: Option<DateTime<Utc>>,
    },
    /// Commit a stop-contact request for this channel (`voice`, `sms`, `whatsapp`, `email`);
    /// answer with [`Event::OutcomeStored`].
    StoreOptOut {
        channel: String,
    },
    /// Commit that the debtor disputes the call's debt, so collecting it stops; answer with
    /// [`Event::OutcomeStored`].
    StoreDispute,
    /// Commit the debtor's hardship for a person to follow up, and whether they asked that a
    /// person call them back; answer with [`Event::OutcomeStored`].
    StoreHardship {
        person_callback: bool,
    },
    /// Look up the one debt whose account reference has these digits, for a caller the portfolio
    /// could not match by number. A match replaces the [`Identification`] with a [`Machine`] for
    /// that debt; no match answers with [`Event::AccountNotFound`].
    FindAccount {
        digits: String,
    },
    /// Hand the call to a person at this number.
    Transfer {
        to: String,
    },
    /// The debtor's identity is verified: a right-party contact.
    RightPartyVerified,
    /// The call's disposition; exactly one per call.
    Dispose(Disposition),
    /// End the call once everything already said has been heard.
    Hangup,
}

/// An amount the caller mentioned, before the machine checks it against the debt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AmountMention {
    /// A number, in the debt's currency unless the caller named another.
    Exact(Money),
    /// "todo", "el total", "the full balance".
    FullBalance,
    /// "la mitad", "half".
    Half,
}
