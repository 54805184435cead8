//! The conversation of one call as a pure state machine: the session feeds it [`Event`]s and
//! carries out the [`Action`]s it returns. It reads no clock and does no I/O, so every
//! conversation can be tested as text.
//!
//! The path of a call: greeting (virtual assistant, agency, recording; nothing about the debt) →
//! "¿hablo con…?" → verification by the portfolio's method → the jurisdiction's notices and the
//! debt → the offer ladder → read-back → store the promise → confirm only once the store says it
//! is written. Around that path: a third party or a wrong number, a payment already made, a
//! dispute, hardship, callbacks, stop-contact requests, a person, voicemail and the maximum
//! call length.
//!
//! Rules every path keeps:
//! - nothing about the debt is said before [`Action::RightPartyVerified`];
//! - an outcome is stored before it is confirmed, and a failed store is never confirmed;
//! - every offer and promise is inside the creditor's policy ([`Limits::permits`]);
//! - exactly one [`Action::Dispose`] per call, before [`Action::Hangup`]; after it, events
//!   produce no actions.

mod negotiating;
mod outcomes;
mod verification;

use chrono::{NaiveDate, NaiveDateTime};

use super::inbound::CallerMatch;
use super::jurisdiction::Placed;
use super::negotiation::{Counter, Limits, Offer, Rung};
use super::nlu::{
    spell_number, spoken_date, spoken_money, Dialect, Expecting, Intent, InterpretContext, Interpretation,
};
use super::policy::VerificationMethod;
use super::script::{locale_for_country, Prompt, PromptValues, Script};
use super::spoken::{
    channel_name, product_name_in, spoken_callback_day, spoken_callback_time, spoken_phone, spoken_schedule,
};
use super::{Action, CallContext, Event, Language, Utterance};
use crate::collections::model::{Disposition, Installment, Money};

/// The conversation's position: which question is open, or what the machine waits for.
#[derive(Debug, Clone, PartialEq)]
enum State {
    NotStarted,
    /// The greeting asked whether the debtor is on the line.
    ConfirmingIdentity,
    /// Someone else answered; the bot asked when the debtor can be reached.
    AskingThirdPartyTime,
    /// The bot asked for the portfolio's verification data.
    Verifying,
    /// The bot proposed terms and waits for a yes, a no or a counter-offer.
    Offering(Offer),
    /// The bot asked the debtor for their own terms; `asked` is the open question.
    Gathering {
        asked: Ask,
        terms: Terms,
    },
    /// The debtor took a single payment "by" a date; the bot asked which day.
    AskingOfferDate(Offer),
    /// The bot read the terms back and waits for a yes.
    ReadingBack(Offer),
    /// The caller said the debt is paid; the bot asked when, how much and how.
    AskingPaymentDetails,
    /// The bot offered that a person call back about the debtor's situation.
    OfferingHardship,
    /// Speech recognition failed for good; the bot offered a callback on the keypad.
    OfferingKeypadCallback,
    /// A store action is out: nothing is said until its result arrives.
    Storing(Pending),
    Ended,
}

/// The open question while the debtor names their own terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ask {
    Payment,
    Amount,
    Date,
}

/// The debtor's own terms as far as they gave them, each checked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Terms {
    amount: Option<Money>,
    date: Option<NaiveDate>,
    installments: Option<u32>,
}

/// The store action the machine waits for.
#[derive(Debug, Clone, PartialEq)]
enum Pending {
    Promise(Offer),
    PaymentClaim,
    /// `closed_day` is true when the day asked for allows no calls at all.
    Callback {
        kind: CallbackKind,
        placed: Option<Placed>,
        when: CallbackWhen,
        closed_day: bool,
    },
    OptOut {
        channel: String,
    },
    Dispute,
    Hardship {
        person_callback: bool,
    },
    /// A callback the caller asked for on the keypad after speech recognition failed.
    KeypadCallback,
}

/// What the caller named for a callback, which decides what the bot says back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CallbackWhen {
    /// No day and no time: "llámeme después".
    Unnamed,
    /// A day without a time, placed at the machine's default hour: only the day is said back.
    Day,
    /// "Later today", placed an hour from now: the bot chose the hour.
    LaterToday,
    /// A time of day, with or without a day: the hour is said back.
    Time,
}

/// The kind of caller a callback is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CallbackKind {
    /// The person who answered, asking to be called at another time.
    Caller,
    /// The caller asked for a person and no transfer is configured.
    ByPerson,
    /// Someone other than the debtor said when the debtor can be reached.
    ThirdParty,
}

/// The dialog of one call. See the module documentation for the rules it keeps.
#[derive(Debug, Clone)]
pub struct Machine {
    ctx: CallContext,
    /// The offer limits of this debt on the day of the call.
    limits: Limits,
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
    /// not hear.
    unheard_read_back: bool,
    /// The lowest rung the debtor declined: offers come only from below it.
    declined: Option<Rung>,
    /// The schedules the debtor declined, so a lower rung that comes to the same payments is
    /// skipped rather than proposed again.
    declined_schedules: Vec<Vec<Installment>>,
    /// The debtor was asked to name their own terms after a "no".
    counter_asked: bool,
    /// The debtor's last complete terms, fitted again below a rung they then declined.
    last_counter: Option<Counter>,
    /// Something the debtor said before verification that the bot takes up right after it (a
    /// dispute, a payment already made, hardship), with the words said.
    held: Option<(Interpretation, String)>,
    /// Whoever answered is not the debtor.
    third_party: bool,
    /// The debtor told of hardship, so declining a person's call still records it.
    hardship_declared: bool,
    /// How the debtor said they paid, kept until the payment claim is stored.
    payment_channel: Option<&'static str>,
    /// How the caller of a call nobody dialled was matched to the debt; `None` when the bot
    /// placed the call.
    caller_match: Option<CallerMatch>,
}

impl Machine {
    pub fn new(ctx: CallContext, script: Script) -> Machine {
        let limits = Limits::new(&ctx.policy, ctx.account.debt.balance, ctx.today);
        Machine {
            ctx,
            limits,
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
            declined: None,
            declined_schedules: Vec::new(),
            counter_asked: false,
            last_counter: None,
            held: None,
            third_party: false,
            hardship_declared: false,
            payment_channel: None,
            caller_match: None,
        }
    }

    /// Builds the dialog of a call the debtor placed, matched to the debt by `matched`. A caller
    /// matched by phone hears the inbound greeting, which never says the bot is calling them, and
    /// then the outbound identity question. A caller matched by account number already heard the
    /// opening notice, so the bot asks at once for the verification data.
    pub fn answering(ctx: CallContext, script: Script, matched: CallerMatch) -> Machine {
        Machine { caller_match: Some(matched), ..Machine::new(ctx, script) }
    }

    /// Advances the conversation by one event and returns what the session must do, in order.
    pub fn on(&mut self, event: Event) -> Vec<Action> {
        if self.state == State::Ended {
            return Vec::new();
        }
        match event {
            Event::CallStarted => self.start(),
            Event::Heard { text, interpretation } => {
                let actions = self.hear(interpretation, &text);
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
            Event::AnsweringMachine => self.answering_machine(),
            Event::MaxDurationReached => self.max_duration_reached(),
            Event::SpeechUnavailable => self.speech_unavailable(),
            // Only an identification asks for a lookup.
            Event::AccountNotFound => Vec::new(),
        }
    }

    /// Returns the state's name, for logs and the supervisor console.
    pub fn state(&self) -> &str {
        match &self.state {
            State::NotStarted => "not_started",
            State::ConfirmingIdentity => "confirming_identity",
            State::AskingThirdPartyTime => "asking_third_party_time",
            State::Verifying => "verifying",
            State::Offering(_) => "offering",
            State::Gathering { asked: Ask::Payment, .. } => "asking_payment",
            State::Gathering { asked: Ask::Amount, .. } => "asking_amount",
            State::Gathering { asked: Ask::Date, .. } => "asking_date",
            State::AskingOfferDate(_) => "asking_offer_date",
            State::ReadingBack(_) => "reading_back",
            State::AskingPaymentDetails => "asking_payment_details",
            State::OfferingHardship => "offering_hardship",
            State::OfferingKeypadCallback => "offering_keypad_callback",
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

    /// Returns the offer limits of this call's debt.
    /// Narrows the bot's proposals to a segment strategy's offers; see
    /// [`Limits::restrict_proposals`].
    pub fn restrict_offers(&mut self, rungs: &[crate::dialog::negotiation::Rung]) -> bool {
        self.limits.restrict_proposals(rungs)
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Returns what the bot's open question asks for, for the interpreter.
    pub fn expecting(&self) -> Expecting {
        match self.state {
            State::ConfirmingIdentity => Expecting::Identity,
            State::AskingThirdPartyTime => Expecting::CallbackTime,
            State::Verifying => match self.ctx.policy.verification {
                VerificationMethod::BirthDate => Expecting::BirthDate,
                VerificationMethod::NationalIdLast4 | VerificationMethod::PostalCode => Expecting::VerificationDigits,
            },
            State::Offering(_) | State::OfferingHardship => Expecting::OfferResponse,
            State::Gathering { asked: Ask::Payment, .. } => Expecting::PaymentOffer,
            State::Gathering { asked: Ask::Amount, .. } => Expecting::Amount,
            State::Gathering { asked: Ask::Date, .. } | State::AskingOfferDate(_) => Expecting::Date,
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
        let greeting = match self.caller_match {
            None => Prompt::Greeting,
            Some(CallerMatch::Phone) => Prompt::InboundGreeting,
            Some(CallerMatch::AccountReference) => return self.ask_verification(),
        };
        self.state = State::ConfirmingIdentity;
        vec![self.say(greeting, true)]
    }

    /// Remembers what the caller missed of a cut phrase. Only what is needed later is kept: the
    /// opening notice, and the promise's terms.
    fn playback_cut(&mut self, key: &str) -> Vec<Action> {
        match Prompt::from_key(key) {
            Some(Prompt::Greeting | Prompt::InboundGreeting | Prompt::Disclosure) => self.disclosure_owed = true,
            Some(Prompt::ReadBack | Prompt::ReadBackPlan | Prompt::ReadBackPartial) => self.unheard_read_back = true,
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
        let agrees = matches!(heard.intent, Intent::Affirm | Intent::PromiseToPay | Intent::IdentityConfirm);
        if !(self.unheard_read_back && agrees && heard.amount.is_none() && heard.date.is_none()) {
            return None;
        }
        self.unheard_read_back = false;
        let question = self.question()?;
        Some(vec![self.say(question, true)])
    }

    fn hear(&mut self, heard: Interpretation, text: &str) -> Vec<Action> {
        if matches!(self.state, State::NotStarted | State::Storing(_) | State::OfferingKeypadCallback) {
            return Vec::new();
        }
        self.silences = 0;
        self.follow_language(heard.language);
        // A spoken "uno" or "dos" at a read-back or an offer answers "marque 1 … 2".
        let answers_keypad = matches!(self.state, State::ReadingBack(_) | State::Offering(_) | State::OfferingHardship);
        if let (true, Some(key)) = (answers_keypad, heard.digits.as_deref()) {
            return self.keypad(key);
        }
        if let Some(actions) = self.repeat_unheard_read_back(&heard) {
            return actions;
        }

        // Requests the bot honours whatever it asked.
        match heard.intent {
            Intent::StopContact => return self.store_opt_out(text),
            Intent::AskHuman => return self.ask_human(),
            Intent::Abusive => return self.finish(&[Prompt::AbusiveGoodbye], Disposition::Abusive),
            Intent::Goodbye => return self.finish(&[Prompt::Goodbye], self.caller_left()),
            Intent::AskRepeat => return self.repeat_question(),
            Intent::Greeting => return self.clarify(Some(Prompt::WhoIsCalling)),
            Intent::Unknown if heard.reply.as_deref().is_some_and(reply_is_safe) => {
                let reply = heard.reply.clone().unwrap_or_default();
                return self.answer_off_script(reply);
            }
            Intent::CallbackRequest if self.state != State::AskingThirdPartyTime => {
                return self.request_callback(heard.date, heard.time, CallbackKind::Caller)
            }
            _ => {}
        }

        match self.state.clone() {
            State::ConfirmingIdentity => self.hear_identity(heard, text),
            State::AskingThirdPartyTime => self.hear_third_party_time(&heard),
            State::Verifying => self.hear_verification(&heard, text),
            State::Offering(offer) => self.hear_offer_response(offer, &heard, text),
            State::Gathering { asked, terms } => self.hear_terms(asked, terms, &heard, text),
            State::AskingOfferDate(offer) => self.hear_offer_date(offer, &heard, text),
            State::ReadingBack(offer) => self.hear_read_back(offer, &heard, text),
            State::AskingPaymentDetails => self.store_payment_claim(&heard, text),
            State::OfferingHardship => self.hear_hardship_answer(&heard, text),
            State::NotStarted | State::Storing(_) | State::OfferingKeypadCallback | State::Ended => Vec::new(),
        }
    }

    /// Handles what a verified debtor may say in answer to any negotiation question: a payment
    /// already made, a dispute, hardship, or "how much is it?". Returns `None` for anything else.
    fn hear_debtor_anytime(&mut self, heard: &Interpretation, text: &str) -> Option<Vec<Action>> {
        let actions = match heard.intent {
            Intent::AlreadyPaid => self.hear_already_paid(heard, text),
            Intent::Dispute => self.store(Action::StoreDispute, Pending::Dispute),
            Intent::Hardship => self.offer_hardship(true),
            Intent::AskAmount => {
                let question = self.question()?;
                vec![self.say(Prompt::StateBalance, false), self.say(question, true)]
            }
            _ => return None,
        };
        Some(actions)
    }

    fn keypad(&mut self, digits: &str) -> Vec<Action> {
        match &self.state {
            State::Verifying => {
                self.silences = 0;
                self.check_verification(Some(digits), None)
            }
            // "Press 1 to confirm, 2 to change it"; a yes or no to an offer works the same way.
            State::ReadingBack(_) | State::Offering(_) | State::OfferingHardship => match digits {
                "1" => self.hear(Interpretation::intent(Intent::Affirm), ""),
                "2" => self.hear(Interpretation::intent(Intent::Deny), ""),
                _ => self.clarify(Some(Prompt::NotUnderstood)),
            },
            State::OfferingKeypadCallback => self.keypad_callback_answer(digits),
            _ => Vec::new(),
        }
    }

    fn silence(&mut self) -> Vec<Action> {
        let Some(question) = self.question() else {
            return Vec::new();
        };
        // The caller already said it is paid: store that rather than lose it.
        if self.state == State::AskingPaymentDetails {
            return self.store_payment_claim(&Interpretation::intent(Intent::Unknown), "");
        }
        self.silences += 1;
        if self.silences > self.ctx.settings.max_reprompts {
            let disposition = match self.state {
                State::OfferingKeypadCallback => Disposition::SpeechUnavailable,
                _ => self.unresolved(),
            };
            return self.finish(&[Prompt::NoResponseGoodbye], disposition);
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

    /// Says the open question again, as asked: not counted as a failure to understand.
    fn repeat_question(&mut self) -> Vec<Action> {
        match self.question() {
            Some(question) => vec![self.say(question, true)],
            None => Vec::new(),
        }
    }

    /// Says `lead` (if any) and asks the open question again, or ends the call politely once the
    /// caller was not understood more than the configured number of times.
    fn clarify(&mut self, lead: Option<Prompt>) -> Vec<Action> {
        let Some(question) = self.question() else {
            return Vec::new();
        };
        self.clarifications += 1;
        if self.clarifications > self.ctx.settings.max_clarifications {
            return self.finish(&[Prompt::Goodbye], self.not_understood());
        }
        let mut actions: Vec<Action> = lead.into_iter().map(|lead| self.say(lead, false)).collect();
        actions.push(self.say(question, true));
        actions
    }

    /// Says the interpreter's short answer to an off-script question, then asks the open
    /// question again. It counts as a clarification, so a caller who only asks off-script
    /// questions still reaches the end of the call.
    fn answer_off_script(&mut self, reply: String) -> Vec<Action> {
        let mut actions = self.clarify(None);
        if matches!(actions.last(), Some(Action::Say(utterance)) if utterance.expects_reply) {
            let answer =
                Utterance { key: OFF_SCRIPT_KEY.to_string(), text: reply, expects_reply: false, protected: false };
            actions.insert(0, Action::Say(answer));
        }
        actions
    }

    /// Returns the phrase the session speaks when a reply is late.
    pub fn filler(&self) -> Utterance {
        self.utterance(Prompt::Filler, false)
    }

    /// Returns the prompt that asks the open question again.
    fn question(&self) -> Option<Prompt> {
        let prompt = match &self.state {
            State::ConfirmingIdentity => Prompt::AskIdentity,
            State::AskingThirdPartyTime => Prompt::ThirdPartyAskTime,
            State::Verifying => self.verification_prompt(),
            State::Offering(offer) => self.offer_prompt(offer),
            State::Gathering { asked: Ask::Payment, .. } => Prompt::AskPayment,
            State::Gathering { asked: Ask::Amount, .. } => Prompt::AskAmount,
            State::Gathering { asked: Ask::Date, .. } | State::AskingOfferDate(_) => Prompt::AskDate,
            State::ReadingBack(offer) => read_back_prompt(offer),
            State::AskingPaymentDetails => Prompt::AlreadyPaidAskDetails,
            State::OfferingHardship => Prompt::HardshipOffer,
            State::OfferingKeypadCallback => Prompt::SpeechUnavailableOffer,
            State::NotStarted | State::Storing(_) | State::Ended => return None,
        };
        Some(prompt)
    }

    /// Returns the disposition of a call that ends without an outcome.
    fn unresolved(&self) -> Disposition {
        if self.verified {
            Disposition::RightPartyNoCommitment
        } else if self.third_party {
            Disposition::ThirdParty
        } else {
            Disposition::NoResponse
        }
    }

    /// Returns the disposition of a call the caller ended with a goodbye: before verification that
    /// is a hang-up, since the caller spoke but gave no outcome.
    fn caller_left(&self) -> Disposition {
        match self.unresolved() {
            Disposition::NoResponse => Disposition::HungUp,
            disposition => disposition,
        }
    }

    /// Returns the disposition of a call the bot ends because it did not understand the caller.
    /// `no_response` stays for callers who said nothing.
    fn not_understood(&self) -> Disposition {
        match self.unresolved() {
            Disposition::NoResponse => Disposition::NotUnderstood,
            disposition => disposition,
        }
    }

    fn store(&mut self, action: Action, pending: Pending) -> Vec<Action> {
        self.state = State::Storing(pending);
        vec![action]
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
        Action::Say(self.utterance(prompt, expects_reply))
    }

    fn utterance(&self, prompt: Prompt, expects_reply: bool) -> Utterance {
        let script = self.active_script();
        let text = script.render(prompt, &self.prompt_values());
        let protected = script.is_protected(prompt);
        Utterance { key: prompt.key().to_string(), text, expects_reply, protected }
    }

    fn prompt_values(&self) -> PromptValues {
        let language = self.language();
        let today = self.ctx.today;
        let account = &self.ctx.account;
        let voicemail = &self.ctx.jurisdiction.voicemail;
        let mut values = PromptValues {
            first_name: account.debtor.first_name().to_string(),
            full_name: account.debtor.full_name.clone(),
            agency: self.ctx.agency.clone(),
            bot_name: self.ctx.bot_name.clone(),
            creditor: account.debt.creditor.clone(),
            product: match self.switched {
                Some(_) => product_name_in(&account.debt.product, language),
                None => account.debt.product.clone(),
            },
            balance: spoken_money(account.debt.balance, language),
            days_past_due: account.debt.days_past_due.to_string(),
            minimum: spoken_money(self.limits.min_installment, language),
            max_installments: spell_number(i64::from(self.limits.max_installments), language),
            latest_date: spoken_date(self.limits.latest_first_date, today, language),
            voicemail_business: voicemail.business_name.clone(),
            voicemail_person: voicemail.person_name.clone(),
            callback_number: spoken_phone(&voicemail.callback_number, language),
            ..PromptValues::default()
        };
        match &self.state {
            State::Offering(offer)
            | State::AskingOfferDate(offer)
            | State::ReadingBack(offer)
            | State::Storing(Pending::Promise(offer)) => {
                values.amount = spoken_money(offer.total, language);
                values.date = spoken_date(offer.first_date(), today, language);
                values.schedule = spoken_schedule(&offer.schedule, today, language);
                if offer.rung == Rung::Partial {
                    let owed = account.debt.balance.amount_minor - offer.total.amount_minor;
                    values.remaining = spoken_money(Money::new(owed, offer.total.currency), language);
                }
            }
            // A callback for a day without a time is placed at the machine's default hour: only
            // the day is said, never as if the caller had agreed to that hour. A time the caller
            // named, and a moved callback, are said with the hour.
            State::Storing(Pending::Callback { placed: Some(placed), when, .. }) => {
                values.callback_time = match placed.moved || *when == CallbackWhen::Time {
                    true => spoken_callback_time(placed.at, today, language),
                    false => spoken_callback_day(placed.at.date(), today, language),
                };
            }
            State::Storing(Pending::OptOut { channel }) => values.channel = channel_name(channel, language),
            _ => {}
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
        // The country's own wording: a debtor in Peru who switches to English is asked for
        // their DNI, not a Social Security number.
        let locale = locale_for_country(language, &self.ctx.account.debtor.country);
        // The embedded scripts are checked by tests; if one failed to load the bot keeps its
        // language rather than go silent.
        self.switched = Script::embedded(&locale).ok();
    }

    /// Returns the debtor's local time when the call started.
    fn call_started_local(&self) -> NaiveDateTime {
        self.ctx.today.and_time(self.ctx.time_of_day)
    }
}

/// Returns the read-back of `offer`: a plan lists its schedule, and a partial payment says what
/// stays owed, so the debtor does not take it for closing the debt.
/// The mark key of an interpreter's answer to an off-script question.
pub const OFF_SCRIPT_KEY: &str = "off_script_reply";

/// Maximum length of an off-script reply the bot speaks, in characters.
const OFF_SCRIPT_MAX_CHARS: usize = 240;

/// Tells whether an interpreter's off-script answer may be said: short, and with no digit or
/// money or percent sign, since amounts, dates and discounts come only from the prompts.
fn reply_is_safe(reply: &str) -> bool {
    let reply = reply.trim();
    !reply.is_empty()
        && reply.chars().count() <= OFF_SCRIPT_MAX_CHARS
        && !reply.chars().any(|c| c.is_ascii_digit() || matches!(c, '$' | '%' | '€' | '£'))
}

fn read_back_prompt(offer: &Offer) -> Prompt {
    match offer.rung {
        _ if offer.is_plan() => Prompt::ReadBackPlan,
        Rung::Partial => Prompt::ReadBackPartial,
        _ => Prompt::ReadBack,
    }
}

#[cfg(test)]
mod tests;
