//! Calls nobody dialled. A caller whose number is on file for one debtor goes straight to that
//! debtor's [`Machine`]. Any other caller first meets an [`Identification`]: the opening notice,
//! then a request for an account number, looked up at most twice. A match hands the call to the
//! debt's [`Machine`], which verifies the caller before it says anything about the debt. No match
//! ends with the agency's number and nothing else.
//!
//! A caller is never matched by national id: the portfolio keeps only its last four digits,
//! which many debtors share.

use chrono::NaiveDate;

use super::machine::Machine;
use super::nlu::{Dialect, Expecting, Intent, InterpretContext, Interpretation};
use super::script::{locale_for_country, Prompt, PromptValues, Script};
use super::spoken::spoken_phone;
use super::{Action, DialogSettings, Event, Language, Utterance};
use crate::collections::model::{Currency, Disposition};

/// How the caller of a call nobody dialled was matched to a debt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallerMatch {
    /// The caller's number is on file for exactly one debtor.
    Phone,
    /// The caller gave an account number. Nothing proves they are the debtor, so the bot neither
    /// greets them by the debtor's name nor names the debtor to them before verification.
    AccountReference,
}

/// The identification's progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    NotStarted,
    /// The bot asked for the account number.
    AskingReference,
    /// A lookup is out: nothing is said until its result arrives.
    LookingUp,
    Ended,
}

/// The opening of a call from a number the portfolio cannot match to one debtor. It has no
/// debtor, so it speaks only prompts that [`Prompt::said_before_identification`] allows.
#[derive(Debug, Clone)]
pub struct Identification {
    script: Script,
    /// The other language's prompts, once the caller switched language.
    switched: Option<Script>,
    /// The country whose wording a switch of language picks, as `locale_for_country` reads it.
    country: String,
    agency: String,
    bot_name: String,
    /// The agency's number in E.164 or with spaces between groups, said in the closing script.
    callback_number: String,
    settings: DialogSettings,
    today: NaiveDate,
    step: Step,
    failed_lookups: u32,
    clarifications: u32,
    silences: u32,
    /// The greeting was cut before the caller heard the notice whole.
    disclosure_owed: bool,
    disposition: Option<Disposition>,
}

/// The currency an [`Identification`] hands the interpreter. It asks only for digits, so no
/// amount it hears is ever used.
const NO_DEBT_CURRENCY: Currency = Currency::Usd;

impl Identification {
    /// Builds the identification of a caller who hears `script`'s locale, in `country` (ISO 3166-1),
    /// on the local date `today`.
    pub fn new(
        script: Script,
        country: &str,
        agency: &str,
        bot_name: &str,
        callback_number: &str,
        settings: DialogSettings,
        today: NaiveDate,
    ) -> Identification {
        Identification {
            script,
            switched: None,
            country: country.to_string(),
            agency: agency.to_string(),
            bot_name: bot_name.to_string(),
            callback_number: callback_number.to_string(),
            settings,
            today,
            step: Step::NotStarted,
            failed_lookups: 0,
            clarifications: 0,
            silences: 0,
            disclosure_owed: false,
            disposition: None,
        }
    }

    /// Advances the identification by one event and returns what the session must do, in order.
    pub fn on(&mut self, event: Event) -> Vec<Action> {
        if self.step == Step::Ended {
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
            Event::AccountNotFound => self.not_found(),
            Event::Silence => self.silence(),
            Event::PlaybackCut { key, .. } => {
                if Prompt::from_key(&key) == Some(Prompt::UnidentifiedGreeting) {
                    self.disclosure_owed = true;
                }
                Vec::new()
            }
            Event::CallerHungUp => self.caller_hung_up(),
            Event::MaxDurationReached if self.step == Step::AskingReference => {
                self.finish(Prompt::TimeLimitGoodbye, Disposition::UnidentifiedCaller)
            }
            // The open question already offers the keypad, which still works.
            Event::SpeechUnavailable
            | Event::MaxDurationReached
            | Event::PromiseStored { .. }
            | Event::OutcomeStored { .. }
            | Event::AnsweringMachine => Vec::new(),
        }
    }

    /// Returns the step's name, for logs and the supervisor console.
    pub fn state(&self) -> &str {
        match self.step {
            Step::NotStarted => "not_started",
            Step::AskingReference => "asking_account_reference",
            Step::LookingUp => "looking_up_account",
            Step::Ended => "ended",
        }
    }

    /// Returns the call's disposition, once the identification ended it.
    pub fn disposition(&self) -> Option<Disposition> {
        self.disposition
    }

    /// Returns the language the bot speaks now: the script's, or the caller's after a switch.
    pub fn language(&self) -> Language {
        self.active_script().language()
    }

    /// Returns what the open question asks for: the account number is digits.
    pub fn expecting(&self) -> Expecting {
        match self.step {
            Step::AskingReference => Expecting::VerificationDigits,
            Step::NotStarted | Step::LookingUp | Step::Ended => Expecting::Other,
        }
    }

    /// Builds the context the interpreter needs to read the caller's next turn.
    pub fn interpret_context(&self) -> InterpretContext {
        InterpretContext {
            language: self.language(),
            dialect: Dialect::from_locale(self.active_script().locale()),
            currency: NO_DEBT_CURRENCY,
            today: self.today,
            expecting: self.expecting(),
        }
    }

    /// Returns the phrase the session speaks when a reply is late.
    pub fn filler(&self) -> Utterance {
        self.utterance(Prompt::Filler, false)
    }

    fn start(&mut self) -> Vec<Action> {
        if self.step != Step::NotStarted {
            return Vec::new();
        }
        self.step = Step::AskingReference;
        vec![self.say(Prompt::UnidentifiedGreeting, false), self.say(Prompt::AskAccountReference, true)]
    }

    fn hear(&mut self, heard: Interpretation) -> Vec<Action> {
        if self.step != Step::AskingReference {
            return Vec::new();
        }
        self.silences = 0;
        self.follow_language(heard.language);
        if let Some(digits) = heard.digits.as_deref() {
            return self.keypad(digits);
        }
        match heard.intent {
            Intent::Abusive => self.finish(Prompt::AbusiveGoodbye, Disposition::Abusive),
            Intent::Goodbye => self.finish(Prompt::Goodbye, Disposition::UnidentifiedCaller),
            Intent::AskRepeat => vec![self.say(Prompt::AskAccountReference, true)],
            Intent::Greeting => self.clarify(Some(Prompt::WhoIsCalling)),
            // A person, a callback or a stop-contact request needs a debtor to act on: the agency's
            // number lets the caller ask for it themselves.
            Intent::AskHuman | Intent::CallbackRequest | Intent::StopContact => {
                self.finish(Prompt::UnidentifiedGoodbye, Disposition::UnidentifiedCaller)
            }
            // Declining to give the number counts as a failed try, as at verification.
            Intent::Deny | Intent::WrongPerson => self.failed_try(Prompt::AskAccountReference),
            _ => self.clarify(Some(Prompt::NotUnderstood)),
        }
    }

    fn keypad(&mut self, keyed: &str) -> Vec<Action> {
        if self.step != Step::AskingReference {
            return Vec::new();
        }
        self.silences = 0;
        let digits: String = keyed.chars().filter(char::is_ascii_digit).collect();
        if digits.is_empty() {
            return self.clarify(Some(Prompt::NotUnderstood));
        }
        self.step = Step::LookingUp;
        vec![Action::FindAccount { digits }]
    }

    fn not_found(&mut self) -> Vec<Action> {
        if self.step != Step::LookingUp {
            return Vec::new();
        }
        self.step = Step::AskingReference;
        self.failed_try(Prompt::AccountReferenceRetry)
    }

    /// Counts a try that identified nobody and asks again with `retry`, or ends the call once the
    /// caller used every try.
    fn failed_try(&mut self, retry: Prompt) -> Vec<Action> {
        self.failed_lookups += 1;
        self.clarifications = 0;
        if self.failed_lookups >= self.settings.max_verification_tries {
            return self.finish(Prompt::UnidentifiedGoodbye, Disposition::UnidentifiedCaller);
        }
        vec![self.say(retry, true)]
    }

    fn silence(&mut self) -> Vec<Action> {
        if self.step != Step::AskingReference {
            return Vec::new();
        }
        self.silences += 1;
        if self.silences > self.settings.max_reprompts {
            return self.finish(Prompt::UnidentifiedGoodbye, Disposition::UnidentifiedCaller);
        }
        vec![self.say(Prompt::Reprompt, false), self.say(Prompt::AskAccountReference, true)]
    }

    /// Says `lead` and asks for the account number again, or ends the call once the caller was
    /// not understood more than the configured number of times.
    fn clarify(&mut self, lead: Option<Prompt>) -> Vec<Action> {
        self.clarifications += 1;
        if self.clarifications > self.settings.max_clarifications {
            return self.finish(Prompt::UnidentifiedGoodbye, Disposition::UnidentifiedCaller);
        }
        let mut actions: Vec<Action> = lead.into_iter().map(|lead| self.say(lead, false)).collect();
        actions.push(self.say(Prompt::AskAccountReference, true));
        actions
    }

    fn caller_hung_up(&mut self) -> Vec<Action> {
        self.step = Step::Ended;
        if self.disposition.is_some() {
            return Vec::new();
        }
        self.disposition = Some(Disposition::HungUp);
        vec![Action::Dispose(Disposition::HungUp)]
    }

    fn finish(&mut self, prompt: Prompt, disposition: Disposition) -> Vec<Action> {
        self.step = Step::Ended;
        self.disposition = Some(disposition);
        vec![self.say(prompt, false), Action::Dispose(disposition), Action::Hangup]
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

    /// Speaks the caller's language from the next phrase on, when the interpreter is sure of it.
    fn follow_language(&mut self, heard: Option<Language>) {
        let Some(language) = heard.filter(|language| *language != self.language()) else {
            return;
        };
        if language == self.script.language() {
            self.switched = None;
            return;
        }
        // The embedded scripts are checked by tests; if one failed to load the bot keeps its
        // language rather than go silent.
        self.switched = Script::embedded(&locale_for_country(language, &self.country)).ok();
    }

    fn active_script(&self) -> &Script {
        self.switched.as_ref().unwrap_or(&self.script)
    }

    fn say(&self, prompt: Prompt, expects_reply: bool) -> Action {
        Action::Say(self.utterance(prompt, expects_reply))
    }

    fn utterance(&self, prompt: Prompt, expects_reply: bool) -> Utterance {
        let script = self.active_script();
        let values = PromptValues {
            agency: self.agency.clone(),
            bot_name: self.bot_name.clone(),
            callback_number: spoken_phone(&self.callback_number, script.language()),
            ..PromptValues::default()
        };
        let text = script.render(prompt, &values);
        Utterance { key: prompt.key().to_string(), text, expects_reply, protected: script.is_protected(prompt) }
    }
}

/// The dialog of one call: a debtor's [`Machine`], or first the [`Identification`] of a caller the
/// portfolio could not match. The session drives either through the same methods.
#[derive(Debug, Clone)]
pub enum Conversation {
    Identifying(Box<Identification>),
    Debtor(Box<Machine>),
}

impl Conversation {
    /// Advances the dialog by one event and returns what the session must do, in order.
    pub fn on(&mut self, event: Event) -> Vec<Action> {
        match self {
            Conversation::Identifying(identification) => identification.on(event),
            Conversation::Debtor(machine) => machine.on(event),
        }
    }

    /// Hands the call to the dialog of the debt the caller was matched to. [`Event::CallStarted`]
    /// then starts that dialog.
    pub fn identified(&mut self, machine: Machine) {
        *self = Conversation::Debtor(Box::new(machine));
    }

    /// Returns the state's name, for logs and the supervisor console.
    pub fn state(&self) -> &str {
        match self {
            Conversation::Identifying(identification) => identification.state(),
            Conversation::Debtor(machine) => machine.state(),
        }
    }

    /// Returns the call's disposition, once decided.
    pub fn disposition(&self) -> Option<Disposition> {
        match self {
            Conversation::Identifying(identification) => identification.disposition(),
            Conversation::Debtor(machine) => machine.disposition(),
        }
    }

    /// Returns the language the bot speaks now.
    pub fn language(&self) -> Language {
        match self {
            Conversation::Identifying(identification) => identification.language(),
            Conversation::Debtor(machine) => machine.language(),
        }
    }

    /// Returns what the bot's open question asks for, for the interpreter.
    pub fn expecting(&self) -> Expecting {
        match self {
            Conversation::Identifying(identification) => identification.expecting(),
            Conversation::Debtor(machine) => machine.expecting(),
        }
    }

    /// Builds the context the interpreter needs to read the caller's next turn.
    pub fn interpret_context(&self) -> InterpretContext {
        match self {
            Conversation::Identifying(identification) => identification.interpret_context(),
            Conversation::Debtor(machine) => machine.interpret_context(),
        }
    }

    /// Returns the phrase the session speaks when a reply is late.
    pub fn filler(&self) -> Utterance {
        match self {
            Conversation::Identifying(identification) => identification.filler(),
            Conversation::Debtor(machine) => machine.filler(),
        }
    }
}

#[cfg(test)]
mod tests;
