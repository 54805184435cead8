//! The conversation of one call as a pure state machine: the session feeds it [`Event`]s and
//! carries out the [`Action`]s it returns. It reads no clock and does no I/O, so every
//! conversation can be tested as text.
//!
//! The path of a call: greeting (no debt, no creditor, no amount) → "¿hablo con…?" → last four
//! digits of the national id → the debt → "¿cuánto puede pagar y en qué fecha?" → read-back →
//! store the promise → confirm only once the store says it is written.
//!
//! Rules every path keeps:
//! - nothing about the debt is said before [`Action::RightPartyVerified`];
//! - an outcome (promise, payment claim, callback, opt-out) is stored before it is confirmed, and
//!   a failed store is never confirmed;
//! - exactly one [`Action::Dispose`] per call, before [`Action::Hangup`]; after it, events
//!   produce no actions.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};

use super::nlu::{spoken_date, spoken_money, Dialect, Expecting, Intent, InterpretContext, Interpretation};
use super::script::{Prompt, PromptValues, Script};
use super::{Action, AmountMention, CallContext, Event, Language, Utterance};
use crate::collections::model::{Disposition, Money, PaymentClaim, Promise};

/// Local hour at which a callback for a named day is placed.
// Limitation: the caller's time of day ("a las cinco") is not read, so a callback asked for
// "mañana a las cinco" is stored for 10:00 of that day.
const CALLBACK_HOUR: u32 = 10;

/// The conversation's position: which question is open, or what the machine waits for.
#[derive(Debug, Clone, PartialEq)]
enum State {
    NotStarted,
    /// The greeting asked whether the debtor is on the line.
    ConfirmingIdentity,
    /// The bot asked for the last four digits of the national id.
    Verifying,
    /// Collecting a promise's amount and date; `asked` is the open question.
    Negotiating {
        asked: Ask,
        terms: Terms,
    },
    /// The bot read the promise back and waits for a yes.
    ReadingBack(Promise),
    /// The caller said the debt is paid; the bot asked when and how much.
    AskingPaymentDetails,
    /// A store action is out: nothing is said until its result arrives.
    Storing(Pending),
    Ended,
}

/// The open question while negotiating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ask {
    Payment,
    Amount,
    Date,
}

/// The amount and date of a promise as far as the caller gave them, both checked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Terms {
    amount: Option<Money>,
    date: Option<NaiveDate>,
}

/// The store action the machine waits for.
#[derive(Debug, Clone, PartialEq)]
enum Pending {
    Promise(Promise),
    PaymentClaim,
    Callback { by_person: bool },
    OptOut,
}

/// The dialog of one call. See the module documentation for the rules it keeps.
#[derive(Debug, Clone)]
pub struct Machine {
    ctx: CallContext,
    /// The prompts of the debtor's locale.
    script: Script,
    /// The other language's prompts, once the caller switched language.
    switched: Option<Script>,
    state: State,
    verified: bool,
    verification_failures: u32,
    /// Answers not understood (or not usable) since the conversation last moved forward.
    clarifications: u32,
    /// Silences in a row.
    silences: u32,
    disposition: Option<Disposition>,
    /// The caller hung up while a store was out: the result still decides the disposition.
    caller_gone: bool,
    /// The opening notice was cut before the caller heard it, so the bot repeats it before
    /// going on.
    disclosure_owed: bool,
    /// The read-back of the promise was cut: a bare "yes" cannot accept terms the caller did
    /// not hear. (A cut balance statement needs no such care: the read-back repeats the amount.)
    unheard_read_back: bool,
}

impl Machine {
    pub fn new(ctx: CallContext, script: Script) -> Machine {
        Machine {
            ctx,
            script,
            switched: None,
            state: State::NotStarted,
            verified: false,
            verification_failures: 0,
            clarifications: 0,
            silences: 0,
            disposition: None,
            caller_gone: false,
            disclosure_owed: false,
            unheard_read_back: false,
        }
    }

    /// Advances the conversation by one event and returns what the session must do, in order.
    pub fn on(&mut self, event: Event) -> Vec<Action> {
        if self.state == State::Ended {
            return Vec::new();
        }
        match event {
            Event::CallStarted => self.start(),
            Event::Heard { interpretation, .. } => {
                let actions = self.hear(interpretation);
                self.with_owed_disclosure(actions)
            }
            Event::Digits(digits) => {
                let actions = self.keypad(&digits);
                self.with_owed_disclosure(actions)
            }
            Event::PlaybackCut { key, .. } => self.playback_cut(&key),
            Event::Silence => self.silence(),
            Event::PromiseStored { ok } => self.promise_stored(ok),
            Event::OutcomeStored { ok } => self.outcome_stored(ok),
            Event::CallerHungUp => self.caller_hung_up(),
        }
    }

    /// Returns the state's name, for logs and the supervisor console.
    pub fn state(&self) -> &str {
        match self.state {
            State::NotStarted => "not_started",
            State::ConfirmingIdentity => "confirming_identity",
            State::Verifying => "verifying",
            State::Negotiating { asked: Ask::Payment, .. } => "asking_payment",
            State::Negotiating { asked: Ask::Amount, .. } => "asking_amount",
            State::Negotiating { asked: Ask::Date, .. } => "asking_date",
            State::ReadingBack(_) => "reading_back",
            State::AskingPaymentDetails => "asking_payment_details",
            State::Storing(Pending::Promise(_)) => "storing_promise",
            State::Storing(_) => "storing_outcome",
            State::Ended => "ended",
        }
    }

    /// Returns the call's disposition, once decided.
    pub fn disposition(&self) -> Option<Disposition> {
        self.disposition
    }

    /// Tells whether the debtor's identity was verified (a right-party contact).
    pub fn is_verified(&self) -> bool {
        self.verified
    }

    /// Returns the language the bot speaks now: the locale's, or the caller's after a switch.
    pub fn language(&self) -> Language {
        self.active_script().language()
    }

    /// Returns what the bot's open question asks for, for the interpreter.
    pub fn expecting(&self) -> Expecting {
        match self.state {
            State::ConfirmingIdentity => Expecting::Identity,
            State::Verifying => Expecting::VerificationDigits,
            State::Negotiating { asked: Ask::Payment, .. } => Expecting::PaymentOffer,
            State::Negotiating { asked: Ask::Amount, .. } => Expecting::Amount,
            State::Negotiating { asked: Ask::Date, .. } => Expecting::Date,
            State::ReadingBack(_) => Expecting::PromiseConfirmation,
            State::AskingPaymentDetails => Expecting::PaymentDetails,
            _ => Expecting::Other,
        }
    }

    /// Builds the context the interpreter needs to read the caller's next turn.
    pub fn interpret_context(&self) -> InterpretContext {
        InterpretContext {
            language: self.language(),
            dialect: Dialect::from_locale(&self.ctx.account.debtor.locale),
            currency: self.ctx.account.debt.balance.currency,
            today: self.ctx.today,
            expecting: self.expecting(),
        }
    }

    fn start(&mut self) -> Vec<Action> {
        if self.state != State::NotStarted {
            return Vec::new();
        }
        self.state = State::ConfirmingIdentity;
        vec![self.say(Prompt::Greeting, true)]
    }

    /// Remembers what the caller missed of a cut phrase. Only what is needed later is kept: the
    /// opening notice, and the promise's terms.
    fn playback_cut(&mut self, key: &str) -> Vec<Action> {
        match Prompt::from_key(key) {
            Some(Prompt::Greeting | Prompt::Disclosure) => self.disclosure_owed = true,
            Some(Prompt::ReadBack) => self.unheard_read_back = true,
            _ => {}
        }
        Vec::new()
    }

    /// Puts the opening notice before the bot's next phrase when the caller never heard it whole.
    fn with_owed_disclosure(&mut self, mut actions: Vec<Action>) -> Vec<Action> {
        let speaks = actions.iter().any(|action| matches!(action, Action::Say(_)));
        if self.disclosure_owed && speaks {
            self.disclosure_owed = false;
            actions.insert(0, self.say(Prompt::Disclosure, false));
        }
        actions
    }

    /// The caller said yes to a read-back that was cut before they heard it whole: the bot reads
    /// it again instead of taking the yes. Returns `None` when the answer does not lean on it.
    fn repeat_unheard_read_back(&mut self, heard: &Interpretation) -> Option<Vec<Action>> {
        if self.unheard_read_back && !matches!(self.state, State::ReadingBack(_)) {
            self.unheard_read_back = false;
        }
        let agrees = matches!(heard.intent, Intent::Affirm | Intent::PromiseToPay);
        if !(self.unheard_read_back && agrees && heard.amount.is_none() && heard.date.is_none()) {
            return None;
        }
        self.unheard_read_back = false;
        Some(vec![self.say(Prompt::ReadBack, true)])
    }

    fn hear(&mut self, heard: Interpretation) -> Vec<Action> {
        if matches!(self.state, State::NotStarted | State::Storing(_)) {
            return Vec::new();
        }
        self.silences = 0;
        self.follow_language(heard.language);
        if let Some(actions) = self.repeat_unheard_read_back(&heard) {
            return actions;
        }

        // Requests that end the conversation whatever the bot asked.
        match heard.intent {
            Intent::StopContact => {
                return self.store(Action::StoreOptOut { channel: "voice".to_string() }, Pending::OptOut)
            }
            Intent::AskHuman | Intent::Dispute => return self.request_callback(None, true),
            Intent::CallbackRequest => return self.request_callback(heard.date, false),
            Intent::Greeting => return self.clarify(Some(Prompt::WhoIsCalling)),
            _ => {}
        }

        match self.state.clone() {
            State::ConfirmingIdentity => self.hear_identity(&heard),
            State::Verifying => self.hear_verification(&heard),
            State::Negotiating { asked, terms } => self.hear_offer(asked, terms, &heard),
            State::ReadingBack(promise) => self.hear_read_back(promise, &heard),
            State::AskingPaymentDetails => self.store_payment_claim(&heard),
            State::NotStarted | State::Storing(_) | State::Ended => Vec::new(),
        }
    }

    fn hear_identity(&mut self, heard: &Interpretation) -> Vec<Action> {
        match heard.intent {
            // Only the debtor talks about paying: treat it as a yes and verify.
            Intent::Affirm | Intent::PromiseToPay | Intent::AlreadyPaid | Intent::CannotPay => {
                self.state = State::Verifying;
                self.clarifications = 0;
                vec![self.say(Prompt::VerifyIdentity, true)]
            }
            Intent::WrongPerson | Intent::Deny => self.finish(&[Prompt::WrongPersonGoodbye], Disposition::WrongParty),
            _ => self.clarify(Some(Prompt::NotUnderstood)),
        }
    }

    fn hear_verification(&mut self, heard: &Interpretation) -> Vec<Action> {
        if let Some(digits) = &heard.digits {
            return self.check_digits(digits);
        }
        match heard.intent {
            Intent::WrongPerson => self.finish(&[Prompt::WrongPersonGoodbye], Disposition::WrongParty),
            // Declining to give the digits counts as a failed try.
            Intent::Deny => self.reject_digits(),
            _ => self.clarify(Some(Prompt::NotUnderstood)),
        }
    }

    fn keypad(&mut self, digits: &str) -> Vec<Action> {
        match &self.state {
            State::Verifying => {
                self.silences = 0;
                self.check_digits(digits)
            }
            // "Press 1 to confirm, 2 to change it."
            State::ReadingBack(_) => match digits {
                "1" => self.hear(Interpretation::intent(Intent::Affirm)),
                "2" => self.hear(Interpretation::intent(Intent::Deny)),
                _ => self.clarify(Some(Prompt::NotUnderstood)),
            },
            _ => Vec::new(),
        }
    }

    /// Compares the last four digits given with the debtor's; extra leading digits (a whole id)
    /// are ignored.
    fn check_digits(&mut self, given: &str) -> Vec<Action> {
        let given: String = given.chars().filter(char::is_ascii_digit).collect();
        let expected = self.ctx.account.debtor.national_id_last4.trim();
        let matches = given.len() >= 4 && expected.len() == 4 && given[given.len() - 4..] == *expected;
        if !matches {
            return self.reject_digits();
        }

        self.verified = true;
        self.clarifications = 0;
        self.state = State::Negotiating { asked: Ask::Payment, terms: Terms::default() };
        vec![Action::RightPartyVerified, self.say(Prompt::StateDebt, false), self.say(Prompt::AskPayment, true)]
    }

    fn reject_digits(&mut self) -> Vec<Action> {
        self.verification_failures += 1;
        if self.verification_failures >= self.ctx.settings.max_verification_tries {
            return self.finish(&[Prompt::VerificationFailedGoodbye], Disposition::VerificationFailed);
        }
        vec![self.say(Prompt::VerificationRetry, true)]
    }

    fn hear_offer(&mut self, asked: Ask, terms: Terms, heard: &Interpretation) -> Vec<Action> {
        match heard.intent {
            Intent::AlreadyPaid => return self.hear_already_paid(heard),
            Intent::CannotPay => return self.finish(&[Prompt::RefusedGoodbye], Disposition::RefusedToPay),
            _ => {}
        }

        let (merged, problem) = self.merge_terms(terms, heard);
        if let Some(problem) = problem {
            return self.ask_again(problem, merged);
        }
        if merged == terms {
            // Nothing usable: a bare "sí" re-asks the question; anything else was not understood.
            let lead = match heard.intent {
                Intent::Affirm | Intent::PromiseToPay => None,
                _ => Some(Prompt::NotUnderstood),
            };
            self.state = State::Negotiating { asked, terms };
            return self.clarify(lead);
        }
        self.continue_offer(merged)
    }

    /// Adds what the caller said to the terms so far. An amount outside (0, balance] or a date
    /// before today is dropped and reported as the question to ask again.
    fn merge_terms(&self, mut terms: Terms, heard: &Interpretation) -> (Terms, Option<Ask>) {
        let mut problem = None;
        if let Some(mention) = heard.amount {
            match self.resolve_amount(mention) {
                Some(amount) => terms.amount = Some(amount),
                None => {
                    terms.amount = None;
                    problem = Some(Ask::Amount);
                }
            }
        }
        if let Some(date) = heard.date {
            if date >= self.ctx.today {
                terms.date = Some(date);
            } else {
                terms.date = None;
                problem = problem.or(Some(Ask::Date));
            }
        }
        (terms, problem)
    }

    fn ask_again(&mut self, problem: Ask, terms: Terms) -> Vec<Action> {
        self.state = State::Negotiating { asked: problem, terms };
        let lead = match problem {
            Ask::Amount => Some(Prompt::AmountInvalid),
            Ask::Date | Ask::Payment => None,
        };
        self.clarify(lead)
    }

    /// Asks for what is missing, or reads the promise back once both terms are known.
    fn continue_offer(&mut self, terms: Terms) -> Vec<Action> {
        let (asked, prompt) = match (terms.amount, terms.date) {
            (Some(amount), Some(due_date)) => {
                let promise = Promise { debt_id: self.ctx.account.debt.id, amount, due_date, installments: Vec::new() };
                self.state = State::ReadingBack(promise);
                return vec![self.say(Prompt::ReadBack, true)];
            }
            (Some(_), None) => (Ask::Date, Prompt::AskDate),
            (None, _) => (Ask::Amount, Prompt::AskAmount),
        };
        self.state = State::Negotiating { asked, terms };
        vec![self.say(prompt, true)]
    }

    /// Resolves a mention to an amount, if it is in the debt's currency, above zero and at most
    /// the balance.
    fn resolve_amount(&self, mention: AmountMention) -> Option<Money> {
        let balance = self.ctx.account.debt.balance;
        let amount = match mention {
            AmountMention::Exact(amount) => amount,
            AmountMention::FullBalance => balance,
            AmountMention::Half => half(balance),
        };
        let in_range = amount.amount_minor > 0 && amount.amount_minor <= balance.amount_minor;
        (amount.currency == balance.currency && in_range).then_some(amount)
    }

    fn hear_read_back(&mut self, promise: Promise, heard: &Interpretation) -> Vec<Action> {
        match heard.intent {
            Intent::AlreadyPaid => return self.hear_already_paid(heard),
            Intent::CannotPay => return self.finish(&[Prompt::RefusedGoodbye], Disposition::RefusedToPay),
            _ => {}
        }

        let read = Terms { amount: Some(promise.amount), date: Some(promise.due_date) };
        let (merged, problem) = self.merge_terms(read, heard);
        if let Some(problem) = problem {
            return self.ask_again(problem, merged);
        }
        // "No, mejor el lunes" corrects the promise: read it back again.
        if merged != read {
            return self.correct_offer(merged);
        }

        match heard.intent {
            Intent::Affirm | Intent::PromiseToPay => {
                self.store(Action::StorePromise(promise.clone()), Pending::Promise(promise))
            }
            Intent::Deny => {
                self.state = State::Negotiating { asked: Ask::Payment, terms: Terms::default() };
                self.clarify(None)
            }
            _ => self.clarify(Some(Prompt::NotUnderstood)),
        }
    }

    /// Reads a corrected promise back. A correction counts towards the clarifications, so a
    /// caller cannot loop forever.
    fn correct_offer(&mut self, terms: Terms) -> Vec<Action> {
        self.clarifications += 1;
        if self.clarifications > self.ctx.settings.max_clarifications {
            return self.finish(&[Prompt::Goodbye], self.unresolved());
        }
        self.continue_offer(terms)
    }

    fn hear_already_paid(&mut self, heard: &Interpretation) -> Vec<Action> {
        if heard.date.is_some() || heard.amount.is_some() {
            return self.store_payment_claim(heard);
        }
        self.state = State::AskingPaymentDetails;
        vec![self.say(Prompt::AlreadyPaidAskDetails, true)]
    }

    /// Stores the caller's statement that it is paid, with the date and amount if given.
    fn store_payment_claim(&mut self, heard: &Interpretation) -> Vec<Action> {
        let balance = self.ctx.account.debt.balance;
        let amount = heard.amount.map(|mention| match mention {
            AmountMention::Exact(amount) => amount,
            AmountMention::FullBalance => balance,
            AmountMention::Half => half(balance),
        });
        let paid_on = heard.date.filter(|date| *date <= self.ctx.today);
        let claim = PaymentClaim { debt_id: self.ctx.account.debt.id, paid_on, amount, channel: None };
        self.store(Action::StorePaymentClaim(claim), Pending::PaymentClaim)
    }

    fn request_callback(&mut self, date: Option<NaiveDate>, by_person: bool) -> Vec<Action> {
        let requested_for = date.filter(|date| *date >= self.ctx.today).and_then(|date| self.local_time(date));
        self.store(Action::StoreCallback { requested_for }, Pending::Callback { by_person })
    }

    /// Converts [`CALLBACK_HOUR`] on `date` in the debtor's time zone to UTC.
    fn local_time(&self, date: NaiveDate) -> Option<DateTime<Utc>> {
        let local = date.and_hms_opt(CALLBACK_HOUR, 0, 0)?;
        let zoned = self.ctx.account.debtor.time_zone.from_local_datetime(&local).earliest()?;
        Some(zoned.with_timezone(&Utc))
    }

    fn store(&mut self, action: Action, pending: Pending) -> Vec<Action> {
        self.state = State::Storing(pending);
        vec![action]
    }

    fn promise_stored(&mut self, ok: bool) -> Vec<Action> {
        if !matches!(self.state, State::Storing(Pending::Promise(_))) {
            return Vec::new();
        }
        match ok {
            true => self.finish(&[Prompt::PromiseConfirmed, Prompt::Goodbye], Disposition::PromiseToPay),
            false => self.finish(&[Prompt::PromiseStoreFailed], Disposition::StoreFailed),
        }
    }

    fn outcome_stored(&mut self, ok: bool) -> Vec<Action> {
        let State::Storing(pending) = &self.state else {
            return Vec::new();
        };
        let (prompt, disposition) = match pending {
            Pending::Promise(_) => return Vec::new(),
            Pending::PaymentClaim => (Prompt::AlreadyPaidRecorded, Disposition::AlreadyPaid),
            Pending::Callback { by_person: true } => (Prompt::HumanCallback, Disposition::CallbackRequested),
            Pending::Callback { by_person: false } => (Prompt::CallbackAck, Disposition::CallbackRequested),
            Pending::OptOut => (Prompt::OptOutAck, Disposition::StopContact),
        };
        match ok {
            true => self.finish(&[prompt], disposition),
            false => self.finish(&[Prompt::OutcomeStoreFailed], Disposition::StoreFailed),
        }
    }

    fn silence(&mut self) -> Vec<Action> {
        let Some(question) = self.question() else {
            return Vec::new();
        };
        // The caller already said it is paid: store that rather than lose it.
        if self.state == State::AskingPaymentDetails {
            return self.store_payment_claim(&Interpretation::intent(Intent::Unknown));
        }
        self.silences += 1;
        if self.silences > self.ctx.settings.max_reprompts {
            return self.finish(&[Prompt::NoResponseGoodbye], self.unresolved());
        }
        vec![self.say(Prompt::Reprompt, false), self.say(question, true)]
    }

    fn caller_hung_up(&mut self) -> Vec<Action> {
        // The store result still decides how the call ended: a promise written as the caller
        // hung up is a promise.
        if matches!(self.state, State::Storing(_)) {
            self.caller_gone = true;
            return Vec::new();
        }
        self.state = State::Ended;
        if self.disposition.is_some() {
            return Vec::new();
        }
        self.disposition = Some(Disposition::HungUp);
        vec![Action::Dispose(Disposition::HungUp)]
    }

    /// Says `lead` (if any) and asks the open question again, or ends the call politely once the
    /// caller was not understood more than the configured number of times.
    fn clarify(&mut self, lead: Option<Prompt>) -> Vec<Action> {
        let Some(question) = self.question() else {
            return Vec::new();
        };
        self.clarifications += 1;
        if self.clarifications > self.ctx.settings.max_clarifications {
            return self.finish(&[Prompt::Goodbye], self.unresolved());
        }
        let mut actions: Vec<Action> = lead.into_iter().map(|lead| self.say(lead, false)).collect();
        actions.push(self.say(question, true));
        actions
    }

    /// Returns the prompt that asks the open question again.
    fn question(&self) -> Option<Prompt> {
        let prompt = match self.state {
            State::ConfirmingIdentity => Prompt::AskIdentity,
            State::Verifying => Prompt::VerifyIdentity,
            State::Negotiating { asked: Ask::Payment, .. } => Prompt::AskPayment,
            State::Negotiating { asked: Ask::Amount, .. } => Prompt::AskAmount,
            State::Negotiating { asked: Ask::Date, .. } => Prompt::AskDate,
            State::ReadingBack(_) => Prompt::ReadBack,
            State::AskingPaymentDetails => Prompt::AlreadyPaidAskDetails,
            State::NotStarted | State::Storing(_) | State::Ended => return None,
        };
        Some(prompt)
    }

    /// Returns the disposition of a call that ends without an outcome.
    fn unresolved(&self) -> Disposition {
        match self.verified {
            true => Disposition::RightPartyNoCommitment,
            false => Disposition::NoResponse,
        }
    }

    /// Says the closing prompts, disposes and hangs up. After the caller hung up only the
    /// disposition is left to give.
    fn finish(&mut self, prompts: &[Prompt], disposition: Disposition) -> Vec<Action> {
        let mut actions = Vec::new();
        if !self.caller_gone {
            actions.extend(prompts.iter().map(|prompt| self.say(*prompt, false)));
        }
        actions.push(Action::Dispose(disposition));
        if !self.caller_gone {
            actions.push(Action::Hangup);
        }
        self.disposition = Some(disposition);
        self.state = State::Ended;
        actions
    }

    fn say(&self, prompt: Prompt, expects_reply: bool) -> Action {
        let script = self.active_script();
        let text = script.render(prompt, &self.prompt_values());
        let protected = script.is_protected(prompt);
        Action::Say(Utterance { key: prompt.key().to_string(), text, expects_reply, protected })
    }

    fn prompt_values(&self) -> PromptValues {
        let language = self.language();
        let account = &self.ctx.account;
        let mut values = PromptValues {
            first_name: account.debtor.first_name().to_string(),
            full_name: account.debtor.full_name.clone(),
            agency: self.ctx.agency.clone(),
            bot_name: self.ctx.bot_name.clone(),
            creditor: account.debt.creditor.clone(),
            product: account.debt.product.clone(),
            balance: spoken_money(account.debt.balance, language),
            days_past_due: account.debt.days_past_due.to_string(),
            ..PromptValues::default()
        };
        if let State::ReadingBack(promise) | State::Storing(Pending::Promise(promise)) = &self.state {
            values.amount = spoken_money(promise.amount, language);
            values.date = spoken_date(promise.due_date, self.ctx.today, language);
        }
        values
    }

    fn active_script(&self) -> &Script {
        self.switched.as_ref().unwrap_or(&self.script)
    }

    /// Speaks the caller's language from the next phrase on, when the interpreter is sure of it.
    fn follow_language(&mut self, heard: Option<Language>) {
        let Some(language) = heard else {
            return;
        };
        if language == self.language() {
            return;
        }
        if language == self.script.language() {
            self.switched = None;
            return;
        }
        let base = match language {
            Language::Es => "es-419",
            Language::En => "en-US",
        };
        // The embedded scripts are checked by tests; if one failed to load the bot keeps its
        // language rather than go silent.
        self.switched = Script::embedded(base).ok();
    }
}

/// Half an amount, rounded half up to the minor unit.
fn half(amount: Money) -> Money {
    let minor = amount.amount_minor;
    Money::new(minor / 2 + minor % 2, amount.currency)
}

#[cfg(test)]
mod tests;
