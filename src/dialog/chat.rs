//! `cobranza chat`: one conversation as text with the real machine, interpreter, policy,
//! jurisdiction and store, so a person (or a test) can play the debtor without audio.
//!
//! Each caller line is one turn: a line `#1234` is keypad digits, an empty line or `...` is
//! silence, anything else is speech. End of input is the caller hanging up. The bot's phrases
//! are the lines it returns; store actions are carried out on the store before the machine
//! hears their result, as in a real call, so a confirmation is only said after a write
//! succeeded.

use std::io::{BufRead, Write};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use serde::Serialize;

use super::jurisdiction::{Jurisdiction, JurisdictionError};
use super::nlu::RuleInterpreter;
use super::policy::PolicyBook;
use super::script::{Script, LOCALES};
use super::{Action, CallContext, DialogSettings, Event, Machine};
use crate::collections::model::{Account, AttemptId, DebtorId, Disposition, Money, PaymentClaim, Promise};
use crate::collections::{AttemptOutcome, NewAttempt, Store, StoreError};

/// The settings of one chat, apart from the store.
#[derive(Debug, Clone)]
pub struct ChatSetup {
    pub debtor: DebtorId,
    /// Overrides the debtor's locale (the prompts and the interpreter's dialect).
    pub locale: Option<String>,
    /// The debtor's local date of the call; today in the debtor's time zone when `None`.
    pub today: Option<NaiveDate>,
    /// The debtor's local time of the call; 10:00 when a date is given, else now.
    pub time_of_day: Option<NaiveTime>,
    pub agency: String,
    pub bot_name: String,
    pub settings: DialogSettings,
    pub policy: PolicyBook,
    /// A folder of jurisdiction files (`MX.toml` ...); the compiled-in ones when `None`.
    pub jurisdictions_dir: Option<std::path::PathBuf>,
    /// Changes to the stored account for this conversation only (balance, stage, creditor).
    pub overrides: AccountOverrides,
    /// A number to transfer requests for a person to, over the policy's.
    pub transfer_to: Option<String>,
}

/// Changes to the account a conversation runs on, kept out of the store.
#[derive(Debug, Clone, Default)]
pub struct AccountOverrides {
    /// A decimal with a dot in the debt's currency, as in the portfolio CSV (`4500.00`).
    pub balance: Option<String>,
    pub days_past_due: Option<u32>,
    pub creditor: Option<String>,
}

/// A chat that cannot start. Each message names the value and what to do.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error("debtor '{0}' is not in the store: import a portfolio with `cobranza import FILE.csv`, or check the id")]
    UnknownDebtor(String),
    #[error("unknown locale '{given}': use one of {known}")]
    UnknownLocale { given: String, known: String },
    #[error("jurisdiction of debtor '{debtor}': {source}")]
    Jurisdiction { debtor: String, source: JurisdictionError },
    #[error("balance '{given}': {reason}")]
    InvalidBalance { given: String, reason: String },
    #[error("the store failed: {0}")]
    Store(#[from] StoreError),
    #[error("writing the conversation failed: {0}")]
    Output(#[from] std::io::Error),
}

/// The outcome of a chat, printed as one JSON line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChatOutcome {
    pub disposition: Disposition,
    pub right_party_contact: bool,
    pub promise: Option<PromiseJson>,
    /// The callback stored, when the call ended with one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback: Option<CallbackJson>,
    #[serde(skip)]
    pub record: Record,
}

/// A stored callback as the chat prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallbackJson {
    /// The debtor's local date and time of the callback; `null` for "later" with no day.
    pub local_time: Option<NaiveDateTime>,
}

/// A promise as the chat prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PromiseJson {
    pub amount_minor: i64,
    pub currency: String,
    pub due_date: NaiveDate,
    pub installments: Vec<InstallmentJson>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstallmentJson {
    pub amount_minor: i64,
    pub due_date: NaiveDate,
}

impl PromiseJson {
    fn from_promise(promise: &Promise) -> PromiseJson {
        PromiseJson {
            amount_minor: promise.amount.amount_minor,
            currency: promise.amount.currency.code().to_string(),
            due_date: promise.due_date,
            installments: promise
                .installments
                .iter()
                .map(|part| InstallmentJson { amount_minor: part.amount.amount_minor, due_date: part.due_date })
                .collect(),
        }
    }
}

/// Everything the store was asked to keep during the chat, successful or not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    pub promise: Option<Promise>,
    pub payment_claim: Option<PaymentClaim>,
    /// The callback's local time, `Some(None)` for "later" with no time.
    pub callback: Option<Option<NaiveDateTime>>,
    pub opt_out_channel: Option<String>,
    pub dispute: bool,
    pub hardship_person_callback: Option<bool>,
    pub transfer_to: Option<String>,
}

/// One conversation in progress.
pub struct ChatSession {
    store: Arc<dyn Store>,
    machine: Machine,
    account: Account,
    attempt: AttemptId,
    interpreter: RuleInterpreter,
    /// When the call started, in UTC, for the store's timestamps.
    started_at: DateTime<Utc>,
    right_party: bool,
    ended: bool,
    record: Record,
}

impl ChatSession {
    /// Looks the debtor up, builds the call's context and creates the attempt in the store.
    pub async fn open(store: Arc<dyn Store>, setup: ChatSetup) -> Result<ChatSession, ChatError> {
        let mut account = store
            .account_by_debtor(&setup.debtor)
            .await?
            .ok_or_else(|| ChatError::UnknownDebtor(setup.debtor.0.clone()))?;
        if let Some(locale) = &setup.locale {
            account.debtor.locale = known_locale(locale)?;
        }
        apply_overrides(&mut account, &setup.overrides)?;

        let zone = account.debtor.time_zone;
        let now_local = Utc::now().with_timezone(&zone).naive_local();
        let today = setup.today.unwrap_or(now_local.date());
        let default_time =
            if setup.today.is_some() { NaiveTime::from_hms_opt(10, 0, 0) } else { Some(now_local.time()) };
        let time_of_day = setup.time_of_day.or(default_time).unwrap_or(NaiveTime::MIN);
        let started_at = zone
            .from_local_datetime(&today.and_time(time_of_day))
            .earliest()
            .map_or_else(|| today.and_time(time_of_day).and_utc(), |local| local.with_timezone(&Utc));

        let jurisdiction = match &setup.jurisdictions_dir {
            Some(dir) => Jurisdiction::load(dir, &account.debtor.country),
            None => Jurisdiction::embedded(&account.debtor.country),
        }
        .map_err(|source| ChatError::Jurisdiction { debtor: account.debtor.id.0.clone(), source })?;
        let script = Script::embedded(&account.debtor.locale).map_err(|_| ChatError::UnknownLocale {
            given: account.debtor.locale.clone(),
            known: LOCALES.join(", "),
        })?;
        let mut context = CallContext::with(
            account.clone(),
            today,
            time_of_day,
            &setup.agency,
            &setup.bot_name,
            setup.settings,
            &setup.policy,
            jurisdiction,
        )
        .expect("building a context from loaded parts cannot fail");
        if setup.transfer_to.is_some() {
            context.policy.transfer_to = setup.transfer_to.clone();
        }

        let attempt = store.create_attempt(&NewAttempt::outbound(&account, started_at)).await?;
        Ok(ChatSession {
            store,
            machine: Machine::new(context, script),
            account,
            attempt,
            interpreter: RuleInterpreter,
            started_at,
            right_party: false,
            ended: false,
            record: Record::default(),
        })
    }

    /// Starts the call: returns the greeting.
    pub async fn start(&mut self) -> Vec<String> {
        self.act(Event::CallStarted).await
    }

    /// Plays one caller line (`#digits`, silence, or speech) and returns the bot's phrases.
    pub async fn caller(&mut self, line: &str) -> Vec<String> {
        let line = line.trim();
        let event = if line.is_empty() || line == "..." {
            Event::Silence
        } else if let Some(digits) = line.strip_prefix('#') {
            Event::Digits(digits.trim().to_string())
        } else {
            let context = self.machine.interpret_context();
            let interpretation = self.interpreter.interpret_now(line, &context);
            Event::Heard { text: line.to_string(), interpretation }
        };
        self.act(event).await
    }

    /// Feeds any event, as the session would (an answering machine, the maximum call length).
    pub async fn event(&mut self, event: Event) -> Vec<String> {
        self.act(event).await
    }

    /// Hangs up as the caller.
    pub async fn hang_up(&mut self) {
        self.act(Event::CallerHungUp).await;
    }

    /// Tells whether the bot ended the call (or the caller hung up).
    pub fn ended(&self) -> bool {
        self.ended || self.machine.disposition().is_some()
    }

    pub fn machine(&self) -> &Machine {
        &self.machine
    }

    pub fn attempt(&self) -> AttemptId {
        self.attempt
    }

    /// Writes the attempt's outcome and returns it. A chat cut short is a hang-up.
    pub async fn finish(mut self) -> Result<ChatOutcome, ChatError> {
        if self.machine.disposition().is_none() {
            self.hang_up().await;
        }
        let disposition = self.machine.disposition().unwrap_or(Disposition::HungUp);
        let outcome = AttemptOutcome {
            disposition,
            answered: true,
            right_party_contact: self.right_party,
            ended_at: self.started_at,
            recording_path: None,
            costs: Vec::new(),
        };
        self.store.finish_attempt(self.attempt, &outcome).await?;
        let stored = self.store.promises_for_attempt(self.attempt).await?;
        Ok(ChatOutcome {
            disposition,
            right_party_contact: self.right_party,
            promise: stored.first().map(|stored| PromiseJson::from_promise(&stored.promise)),
            // A failed write stored nothing, so it prints no callback.
            callback: match disposition {
                Disposition::StoreFailed => None,
                _ => self.record.callback.map(|local_time| CallbackJson { local_time }),
            },
            record: self.record,
        })
    }

    /// Runs one event and every store result it leads to; returns the phrases said.
    async fn act(&mut self, event: Event) -> Vec<String> {
        let mut said = Vec::new();
        let mut queue = std::collections::VecDeque::from([event]);
        while let Some(event) = queue.pop_front() {
            for action in self.machine.on(event) {
                if let Some(result) = self.execute(action, &mut said).await {
                    queue.push_back(result);
                }
            }
        }
        said
    }

    async fn execute(&mut self, action: Action, said: &mut Vec<String>) -> Option<Event> {
        let store = Arc::clone(&self.store);
        let (id, at) = (self.attempt, self.started_at);
        let zone = self.account.debtor.time_zone;
        let result = match action {
            Action::Say(utterance) => {
                said.push(utterance.text);
                return None;
            }
            Action::StorePromise(promise) => {
                self.record.promise = Some(promise.clone());
                let ok = store.store_promise(id, &promise, at).await.is_ok();
                return Some(Event::PromiseStored { ok });
            }
            Action::StorePaymentClaim(claim) => {
                self.record.payment_claim = Some(claim.clone());
                store.record_payment_claim(id, &claim, at).await
            }
            Action::StoreCallback { requested_for } => {
                self.record.callback = Some(requested_for.map(|utc| utc.with_timezone(&zone).naive_local()));
                store.record_callback_request(id, requested_for, at).await
            }
            Action::StoreOptOut { channel } => {
                self.record.opt_out_channel = Some(channel.clone());
                store.record_opt_out(&self.account.debtor.id, &channel, at).await
            }
            Action::StoreDispute => {
                self.record.dispute = true;
                store.record_dispute(id, at).await
            }
            Action::StoreHardship { person_callback } => {
                self.record.hardship_person_callback = Some(person_callback);
                store.record_hardship(id, person_callback, at).await
            }
            Action::Transfer { to } => {
                self.record.transfer_to = Some(to);
                return None;
            }
            // Only the identification of an unknown caller asks for a lookup, and a chat always
            // starts from a debtor's account.
            Action::FindAccount { .. } => return None,
            Action::RightPartyVerified => {
                self.right_party = true;
                return None;
            }
            Action::Dispose(_) => return None,
            Action::Hangup => {
                self.ended = true;
                return None;
            }
        };
        Some(Event::OutcomeStored { ok: result.is_ok() })
    }
}

/// Runs a whole chat: bot lines to `output`, caller lines from `input`, and at the end one JSON
/// line with the outcome.
pub async fn run(
    store: Arc<dyn Store>,
    setup: ChatSetup,
    input: impl BufRead,
    mut output: impl Write,
) -> Result<ChatOutcome, ChatError> {
    let mut chat = ChatSession::open(store, setup).await?;
    for line in chat.start().await {
        writeln!(output, "{line}")?;
    }
    let mut lines = input.lines();
    while !chat.ended() {
        let Some(line) = lines.next() else {
            break;
        };
        for said in chat.caller(&line?).await {
            writeln!(output, "{said}")?;
        }
        output.flush()?;
    }
    let outcome = chat.finish().await?;
    let json = serde_json::to_string(&outcome).map_err(std::io::Error::other)?;
    writeln!(output, "{json}")?;
    Ok(outcome)
}

/// Normalises a locale tag and checks that it has prompts.
fn known_locale(locale: &str) -> Result<String, ChatError> {
    let unknown = || ChatError::UnknownLocale { given: locale.to_string(), known: LOCALES.join(", ") };
    let script = Script::embedded(locale).map_err(|_| unknown())?;
    if !LOCALES.contains(&script.locale()) {
        return Err(unknown());
    }
    Ok(script.locale().to_string())
}

fn apply_overrides(account: &mut Account, overrides: &AccountOverrides) -> Result<(), ChatError> {
    if let Some(balance) = &overrides.balance {
        let currency = account.debt.balance.currency;
        account.debt.balance = Money::parse_decimal(balance, currency)
            .map_err(|error| ChatError::InvalidBalance { given: balance.clone(), reason: error.to_string() })?;
    }
    if let Some(days) = overrides.days_past_due {
        account.debt.days_past_due = days;
    }
    if let Some(creditor) = &overrides.creditor {
        account.debt.creditor = creditor.clone();
    }
    Ok(())
}

#[cfg(test)]
mod tests;
