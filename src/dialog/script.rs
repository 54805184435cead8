//! What the bot says, per locale, from `prompts/<locale>/script.toml`.
//!
//! Each language has a base file (`es-419` for Spanish, `en-US` for English) that contains every
//! prompt. A country file (`es-MX`, `es-CO`, `es-PE`, `es-CL`) contains only the prompts it words
//! differently. Templates use named placeholders such as `{full_name}` and `{balance}`. Loading
//! rejects unknown prompts and placeholders, and any placeholder that would name the creditor,
//! the debt or an amount in a prompt said before the debtor's identity is verified, and any such
//! prompt whose own words speak of a debt.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use crate::dialog::Language;

// The spoken forms live with the parsers that read them back; they are re-exported here because
// what the bot says is the script's concern.
pub use crate::dialog::nlu::{spell_number, spoken_date, spoken_money};

/// A phrase the bot can say: one key of `script.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Prompt {
    Greeting,
    Disclosure,
    /// The first sentence of a call the debtor placed from a number on file.
    InboundGreeting,
    /// The first sentence of a call from a number the portfolio cannot match to one debtor.
    UnidentifiedGreeting,
    AskAccountReference,
    AccountReferenceRetry,
    /// The end of a call whose caller was never identified: the agency's number and nothing else.
    UnidentifiedGoodbye,
    AskIdentity,
    WhoIsCalling,
    VerifyIdentity,
    VerifyBirthDate,
    VerifyPostalCode,
    VerificationRetry,
    VerificationFailedGoodbye,
    VerifyFirst,
    ThirdPartyAskTime,
    ThirdPartyCallbackAck,
    ThirdPartyGoodbye,
    WrongPersonGoodbye,
    DebtCollectorNotice,
    StateDebt,
    /// The debt, stated on a call the debtor placed.
    StateDebtInbound,
    PaymentsOnlyToCreditor,
    StateBalance,
    OfferFullPayment,
    OfferShortPlan,
    OfferSettlement,
    OfferSettlementPlan,
    OfferLongPlan,
    OfferCounter,
    AskPayment,
    AskAmount,
    AskDate,
    AmountInvalid,
    AmountTooLow,
    /// The debtor asked for more installments than the policy's maximum.
    TooManyInstallments,
    DateTooLate,
    ReadBack,
    ReadBackPlan,
    ReadBackPartial,
    PromiseConfirmed,
    PromiseConfirmedPlan,
    PromiseConfirmedPartial,
    PromiseStoreFailed,
    AlreadyPaidAskDetails,
    AlreadyPaidRecorded,
    DisputeRecorded,
    HardshipOffer,
    HardshipCallbackAck,
    HardshipNoted,
    RefusedGoodbye,
    OutcomeStoreFailed,
    CallbackAck,
    CallbackAckDated,
    /// A callback at the time of day the caller named, said with its hour.
    CallbackAckTimed,
    CallbackMoved,
    /// A callback for a day without calls, moved to another day.
    CallbackMovedDay,
    OptOutAck,
    HumanCallback,
    TransferNotice,
    Reprompt,
    NotUnderstood,
    Goodbye,
    NoResponseGoodbye,
    AbusiveGoodbye,
    TimeLimitGoodbye,
    Voicemail,
    /// Said by the session, not the machine, when a reply is late: the caller hears this rather
    /// than silence.
    Filler,
    /// Speech recognition is down for the rest of the call: a callback is offered on the keypad.
    SpeechUnavailableOffer,
    SpeechUnavailableCallbackAck,
}

impl Prompt {
    pub const ALL: [Prompt; 70] = [
        Prompt::Greeting,
        Prompt::Disclosure,
        Prompt::InboundGreeting,
        Prompt::UnidentifiedGreeting,
        Prompt::AskAccountReference,
        Prompt::AccountReferenceRetry,
        Prompt::UnidentifiedGoodbye,
        Prompt::AskIdentity,
        Prompt::WhoIsCalling,
        Prompt::VerifyIdentity,
        Prompt::VerifyBirthDate,
        Prompt::VerifyPostalCode,
        Prompt::VerificationRetry,
        Prompt::VerificationFailedGoodbye,
        Prompt::VerifyFirst,
        Prompt::ThirdPartyAskTime,
        Prompt::ThirdPartyCallbackAck,
        Prompt::ThirdPartyGoodbye,
        Prompt::WrongPersonGoodbye,
        Prompt::DebtCollectorNotice,
        Prompt::StateDebt,
        Prompt::StateDebtInbound,
        Prompt::PaymentsOnlyToCreditor,
        Prompt::StateBalance,
        Prompt::OfferFullPayment,
        Prompt::OfferShortPlan,
        Prompt::OfferSettlement,
        Prompt::OfferSettlementPlan,
        Prompt::OfferLongPlan,
        Prompt::OfferCounter,
        Prompt::AskPayment,
        Prompt::AskAmount,
        Prompt::AskDate,
        Prompt::AmountInvalid,
        Prompt::AmountTooLow,
        Prompt::TooManyInstallments,
        Prompt::DateTooLate,
        Prompt::ReadBack,
        Prompt::ReadBackPlan,
        Prompt::ReadBackPartial,
        Prompt::PromiseConfirmed,
        Prompt::PromiseConfirmedPlan,
        Prompt::PromiseConfirmedPartial,
        Prompt::PromiseStoreFailed,
        Prompt::AlreadyPaidAskDetails,
        Prompt::AlreadyPaidRecorded,
        Prompt::DisputeRecorded,
        Prompt::HardshipOffer,
        Prompt::HardshipCallbackAck,
        Prompt::HardshipNoted,
        Prompt::RefusedGoodbye,
        Prompt::OutcomeStoreFailed,
        Prompt::CallbackAck,
        Prompt::CallbackAckDated,
        Prompt::CallbackAckTimed,
        Prompt::CallbackMoved,
        Prompt::CallbackMovedDay,
        Prompt::OptOutAck,
        Prompt::HumanCallback,
        Prompt::TransferNotice,
        Prompt::Reprompt,
        Prompt::NotUnderstood,
        Prompt::Goodbye,
        Prompt::NoResponseGoodbye,
        Prompt::AbusiveGoodbye,
        Prompt::TimeLimitGoodbye,
        Prompt::Voicemail,
        Prompt::Filler,
        Prompt::SpeechUnavailableOffer,
        Prompt::SpeechUnavailableCallbackAck,
    ];

    /// Returns the key in `script.toml`, also carried in the phrase's mark.
    pub fn key(self) -> &'static str {
        match self {
            Prompt::Greeting => "greeting",
            Prompt::InboundGreeting => "inbound_greeting",
            Prompt::UnidentifiedGreeting => "unidentified_greeting",
            Prompt::AskAccountReference => "ask_account_reference",
            Prompt::AccountReferenceRetry => "account_reference_retry",
            Prompt::UnidentifiedGoodbye => "unidentified_goodbye",
            Prompt::Disclosure => "disclosure",
            Prompt::AskIdentity => "ask_identity",
            Prompt::WhoIsCalling => "who_is_calling",
            Prompt::VerifyIdentity => "verify_identity",
            Prompt::VerifyBirthDate => "verify_birth_date",
            Prompt::VerifyPostalCode => "verify_postal_code",
            Prompt::VerificationRetry => "verification_retry",
            Prompt::VerificationFailedGoodbye => "verification_failed_goodbye",
            Prompt::VerifyFirst => "verify_first",
            Prompt::ThirdPartyAskTime => "third_party_ask_time",
            Prompt::ThirdPartyCallbackAck => "third_party_callback_ack",
            Prompt::ThirdPartyGoodbye => "third_party_goodbye",
            Prompt::WrongPersonGoodbye => "wrong_person_goodbye",
            Prompt::DebtCollectorNotice => "debt_collector_notice",
            Prompt::StateDebt => "state_debt",
            Prompt::StateDebtInbound => "state_debt_inbound",
            Prompt::PaymentsOnlyToCreditor => "payments_only_to_creditor",
            Prompt::StateBalance => "state_balance",
            Prompt::OfferFullPayment => "offer_full_payment",
            Prompt::OfferShortPlan => "offer_short_plan",
            Prompt::OfferSettlement => "offer_settlement",
            Prompt::OfferSettlementPlan => "offer_settlement_plan",
            Prompt::OfferLongPlan => "offer_long_plan",
            Prompt::OfferCounter => "offer_counter",
            Prompt::AskPayment => "ask_payment",
            Prompt::AskAmount => "ask_amount",
            Prompt::AskDate => "ask_date",
            Prompt::AmountInvalid => "amount_invalid",
            Prompt::AmountTooLow => "amount_too_low",
            Prompt::TooManyInstallments => "too_many_installments",
            Prompt::DateTooLate => "date_too_late",
            Prompt::ReadBack => "read_back",
            Prompt::ReadBackPlan => "read_back_plan",
            Prompt::ReadBackPartial => "read_back_partial",
            Prompt::PromiseConfirmed => "promise_confirmed",
            Prompt::PromiseConfirmedPlan => "promise_confirmed_plan",
            Prompt::PromiseConfirmedPartial => "promise_confirmed_partial",
            Prompt::PromiseStoreFailed => "promise_store_failed",
            Prompt::AlreadyPaidAskDetails => "already_paid_ask_details",
            Prompt::AlreadyPaidRecorded => "already_paid_recorded",
            Prompt::DisputeRecorded => "dispute_recorded",
            Prompt::HardshipOffer => "hardship_offer",
            Prompt::HardshipCallbackAck => "hardship_callback_ack",
            Prompt::HardshipNoted => "hardship_noted",
            Prompt::RefusedGoodbye => "refused_goodbye",
            Prompt::OutcomeStoreFailed => "outcome_store_failed",
            Prompt::CallbackAck => "callback_ack",
            Prompt::CallbackAckDated => "callback_ack_dated",
            Prompt::CallbackAckTimed => "callback_ack_timed",
            Prompt::CallbackMoved => "callback_moved",
            Prompt::CallbackMovedDay => "callback_moved_day",
            Prompt::OptOutAck => "opt_out_ack",
            Prompt::HumanCallback => "human_callback",
            Prompt::TransferNotice => "transfer_notice",
            Prompt::Reprompt => "reprompt",
            Prompt::NotUnderstood => "not_understood",
            Prompt::Goodbye => "goodbye",
            Prompt::NoResponseGoodbye => "no_response_goodbye",
            Prompt::AbusiveGoodbye => "abusive_goodbye",
            Prompt::TimeLimitGoodbye => "time_limit_goodbye",
            Prompt::Voicemail => "voicemail",
            Prompt::Filler => "filler",
            Prompt::SpeechUnavailableOffer => "speech_unavailable_offer",
            Prompt::SpeechUnavailableCallbackAck => "speech_unavailable_callback_ack",
        }
    }

    pub fn from_key(key: &str) -> Option<Prompt> {
        Prompt::ALL.into_iter().find(|prompt| prompt.key() == key)
    }

    /// Tells whether the machine may say this prompt before the debtor's identity is verified,
    /// in which case it must not name the creditor, the product, the debt or any amount.
    pub fn said_before_verification(self) -> bool {
        !matches!(
            self,
            Prompt::DebtCollectorNotice
                | Prompt::StateDebt
                | Prompt::StateDebtInbound
                | Prompt::PaymentsOnlyToCreditor
                | Prompt::StateBalance
                | Prompt::OfferFullPayment
                | Prompt::OfferShortPlan
                | Prompt::OfferSettlement
                | Prompt::OfferSettlementPlan
                | Prompt::OfferLongPlan
                | Prompt::OfferCounter
                | Prompt::AskPayment
                | Prompt::AskAmount
                | Prompt::AskDate
                | Prompt::AmountInvalid
                | Prompt::AmountTooLow
                | Prompt::TooManyInstallments
                | Prompt::DateTooLate
                | Prompt::ReadBack
                | Prompt::ReadBackPlan
                | Prompt::ReadBackPartial
                | Prompt::PromiseConfirmed
                | Prompt::PromiseConfirmedPlan
                | Prompt::PromiseConfirmedPartial
                | Prompt::PromiseStoreFailed
                | Prompt::AlreadyPaidAskDetails
                | Prompt::AlreadyPaidRecorded
                | Prompt::DisputeRecorded
                | Prompt::HardshipOffer
                | Prompt::HardshipCallbackAck
                | Prompt::HardshipNoted
                | Prompt::RefusedGoodbye
        )
    }

    /// Tells whether the bot may say this prompt before it knows who is calling, so it has no
    /// debtor's values to fill it with: a caller the portfolio cannot match hears only these.
    pub fn said_before_identification(self) -> bool {
        matches!(
            self,
            Prompt::UnidentifiedGreeting
                | Prompt::AskAccountReference
                | Prompt::AccountReferenceRetry
                | Prompt::UnidentifiedGoodbye
                | Prompt::Disclosure
                | Prompt::WhoIsCalling
                | Prompt::Reprompt
                | Prompt::NotUnderstood
                | Prompt::Goodbye
                | Prompt::AbusiveGoodbye
                | Prompt::TimeLimitGoodbye
                | Prompt::Filler
        )
    }

    /// Tells whether the machine has an offer's or a promise's terms when it says this prompt.
    fn knows_offer(self) -> bool {
        matches!(
            self,
            Prompt::OfferFullPayment
                | Prompt::OfferShortPlan
                | Prompt::OfferSettlement
                | Prompt::OfferSettlementPlan
                | Prompt::OfferLongPlan
                | Prompt::OfferCounter
                | Prompt::ReadBack
                | Prompt::ReadBackPlan
                | Prompt::ReadBackPartial
                | Prompt::PromiseConfirmed
                | Prompt::PromiseConfirmedPlan
                | Prompt::PromiseConfirmedPartial
                | Prompt::PromiseStoreFailed
        )
    }

    fn knows_callback(self) -> bool {
        matches!(
            self,
            Prompt::CallbackAckDated
                | Prompt::CallbackAckTimed
                | Prompt::CallbackMoved
                | Prompt::CallbackMovedDay
                | Prompt::ThirdPartyCallbackAck
        )
    }

    fn check(self, placeholder: Placeholder) -> Result<(), &'static str> {
        if placeholder.reveals_debt() && self.said_before_verification() {
            return Err("this prompt can be said before identity verification, so it must not disclose the debt");
        }
        let names_nobody =
            matches!(placeholder, Placeholder::Agency | Placeholder::BotName | Placeholder::CallbackNumber);
        if self.said_before_identification() && !names_nobody {
            return Err("this prompt can be said before the caller is identified, so it may use only {agency}, \
                 {bot_name} and {callback_number}");
        }
        let allowed = match placeholder {
            Placeholder::Amount | Placeholder::Date | Placeholder::Schedule => self.knows_offer(),
            Placeholder::Remaining => matches!(self, Prompt::ReadBackPartial | Prompt::PromiseConfirmedPartial),
            Placeholder::LatestDate => self.knows_offer() || self == Prompt::DateTooLate,
            Placeholder::Minimum => self == Prompt::AmountTooLow,
            Placeholder::MaxInstallments => self == Prompt::TooManyInstallments,
            Placeholder::CallbackTime => self.knows_callback(),
            _ => true,
        };
        if !allowed {
            return Err("the machine has no value for it when it says this prompt");
        }
        Ok(())
    }
}

impl fmt::Display for Prompt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// Words a prompt said before verification must not contain, whatever fills it: they would tell
/// a third party that the call is about a debt.
const DEBT_WORDS: [&str; 7] = ["deuda", "adeudo", "saldo", "cobranza", "debt", "balance", "collect"];

/// A named value a template can use, written `{name}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Placeholder {
    FirstName,
    FullName,
    Agency,
    BotName,
    Creditor,
    Product,
    Balance,
    DaysPastDue,
    Amount,
    Date,
    Schedule,
    /// The balance left owing after a partial payment.
    Remaining,
    Minimum,
    /// The policy's maximum number of installments, in words.
    MaxInstallments,
    LatestDate,
    CallbackTime,
    Channel,
    VoicemailBusiness,
    VoicemailPerson,
    CallbackNumber,
}

impl Placeholder {
    const ALL: [Placeholder; 20] = [
        Placeholder::FirstName,
        Placeholder::FullName,
        Placeholder::Agency,
        Placeholder::BotName,
        Placeholder::Creditor,
        Placeholder::Product,
        Placeholder::Balance,
        Placeholder::DaysPastDue,
        Placeholder::Amount,
        Placeholder::Date,
        Placeholder::Schedule,
        Placeholder::Remaining,
        Placeholder::Minimum,
        Placeholder::MaxInstallments,
        Placeholder::LatestDate,
        Placeholder::CallbackTime,
        Placeholder::Channel,
        Placeholder::VoicemailBusiness,
        Placeholder::VoicemailPerson,
        Placeholder::CallbackNumber,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Placeholder::FirstName => "first_name",
            Placeholder::FullName => "full_name",
            Placeholder::Agency => "agency",
            Placeholder::BotName => "bot_name",
            Placeholder::Creditor => "creditor",
            Placeholder::Product => "product",
            Placeholder::Balance => "balance",
            Placeholder::DaysPastDue => "days_past_due",
            Placeholder::Amount => "amount",
            Placeholder::Date => "date",
            Placeholder::Schedule => "schedule",
            Placeholder::Remaining => "remaining",
            Placeholder::Minimum => "minimum",
            Placeholder::MaxInstallments => "max_installments",
            Placeholder::LatestDate => "latest_date",
            Placeholder::CallbackTime => "callback_time",
            Placeholder::Channel => "channel",
            Placeholder::VoicemailBusiness => "voicemail_business",
            Placeholder::VoicemailPerson => "voicemail_person",
            Placeholder::CallbackNumber => "callback_number",
        }
    }

    fn from_name(name: &str) -> Option<Placeholder> {
        Placeholder::ALL.into_iter().find(|placeholder| placeholder.name() == name)
    }

    fn reveals_debt(self) -> bool {
        matches!(
            self,
            Placeholder::Creditor
                | Placeholder::Product
                | Placeholder::Balance
                | Placeholder::DaysPastDue
                | Placeholder::Amount
                | Placeholder::Schedule
                | Placeholder::Remaining
                | Placeholder::Minimum
                | Placeholder::LatestDate
        )
    }
}

/// The values a prompt is filled with, already in words: the machine spells amounts, dates and
/// numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PromptValues {
    pub first_name: String,
    pub full_name: String,
    pub agency: String,
    pub bot_name: String,
    pub creditor: String,
    pub product: String,
    pub balance: String,
    pub days_past_due: String,
    pub amount: String,
    pub date: String,
    pub schedule: String,
    pub remaining: String,
    pub minimum: String,
    pub max_installments: String,
    pub latest_date: String,
    pub callback_time: String,
    pub channel: String,
    pub voicemail_business: String,
    pub voicemail_person: String,
    pub callback_number: String,
}

impl PromptValues {
    fn get(&self, placeholder: Placeholder) -> &str {
        match placeholder {
            Placeholder::FirstName => &self.first_name,
            Placeholder::FullName => &self.full_name,
            Placeholder::Agency => &self.agency,
            Placeholder::BotName => &self.bot_name,
            Placeholder::Creditor => &self.creditor,
            Placeholder::Product => &self.product,
            Placeholder::Balance => &self.balance,
            Placeholder::DaysPastDue => &self.days_past_due,
            Placeholder::Amount => &self.amount,
            Placeholder::Date => &self.date,
            Placeholder::Schedule => &self.schedule,
            Placeholder::Remaining => &self.remaining,
            Placeholder::Minimum => &self.minimum,
            Placeholder::MaxInstallments => &self.max_installments,
            Placeholder::LatestDate => &self.latest_date,
            Placeholder::CallbackTime => &self.callback_time,
            Placeholder::Channel => &self.channel,
            Placeholder::VoicemailBusiness => &self.voicemail_business,
            Placeholder::VoicemailPerson => &self.voicemail_person,
            Placeholder::CallbackNumber => &self.callback_number,
        }
    }
}

/// Error loading a script. Each variant names the file and, where it applies, the key.
#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    #[error("locale '{0}' is not a locale tag such as es-MX or en-US")]
    InvalidLocale(String),
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{file}: invalid TOML: {message}")]
    Toml { file: String, message: String },
    #[error("{file}: unknown prompt '{key}'; the prompts are: {known}")]
    UnknownPrompt { file: String, key: String, known: String },
    #[error("{file}: prompt '{key}' must be a text string")]
    NotText { file: String, key: String },
    #[error("{file}: prompt '{key}' is empty")]
    Empty { file: String, key: String },
    #[error("{file}: prompt '{key}' has an unclosed '{{'; write placeholders as {{name}}")]
    UnclosedBrace { file: String, key: String },
    #[error("{file}: prompt '{key}' uses unknown placeholder {{{placeholder}}}; the placeholders are: {known}")]
    UnknownPlaceholder { file: String, key: String, placeholder: String, known: String },
    #[error("{file}: prompt '{key}' can be said before identity verification, so it must not say '{word}'")]
    RevealsDebt { file: String, key: String, word: &'static str },
    #[error("{file}: prompt '{key}' must not use {{{placeholder}}}: {reason}")]
    PlaceholderNotAllowed { file: String, key: String, placeholder: String, reason: &'static str },
    #[error("{file}: 'protected' must be a list of prompt keys, e.g. protected = [\"greeting\"]")]
    ProtectedNotList { file: String },
    #[error("{file}: prompt '{key}' is missing; the base file of each language must hold every prompt")]
    MissingPrompt { file: String, key: String },
}

/// The prompts of one locale, checked and ready to fill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    locale: String,
    language: Language,
    templates: HashMap<Prompt, Template>,
    /// Prompts the caller cannot talk over (legal disclosures), from the file's `protected`.
    protected: HashSet<Prompt>,
}

impl Script {
    /// Loads `<prompts_dir>/<base>/script.toml` and, over it, `<prompts_dir>/<locale>/script.toml`.
    /// A locale without its own folder (say `es-AR`) speaks its language's base.
    pub fn load(prompts_dir: &Path, locale: &str) -> Result<Script, ScriptError> {
        let locale = canonical_locale(locale)?;
        let base = base_locale(&locale);
        let base_path = prompts_dir.join(base).join("script.toml");
        let base_text = read(&base_path)?;
        let overlay_path = prompts_dir.join(&locale).join("script.toml");
        let overlay_text = match locale != base && overlay_path.exists() {
            true => Some(read(&overlay_path)?),
            false => None,
        };

        let base_file = Source { name: base_path.display().to_string(), text: &base_text };
        let overlay = overlay_text.as_deref().map(|text| Source { name: overlay_path.display().to_string(), text });
        Script::build(locale, base_file, overlay)
    }

    /// Loads the same prompts as [`Script::load`] on the repository's `prompts/`, compiled into
    /// the binary, so tests and the binary need no prompts folder.
    pub fn embedded(locale: &str) -> Result<Script, ScriptError> {
        let locale = canonical_locale(locale)?;
        let base = base_locale(&locale);
        let source = |name: &str| {
            embedded_file(name).map(|text| Source { name: format!("prompts/{name}/script.toml (embedded)"), text })
        };
        let base_file = source(base).ok_or_else(|| ScriptError::Read {
            path: PathBuf::from(format!("prompts/{base}/script.toml")),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "not embedded"),
        })?;
        let overlay = if locale == base { None } else { source(&locale) };
        Script::build(locale, base_file, overlay)
    }

    pub fn locale(&self) -> &str {
        &self.locale
    }

    pub fn language(&self) -> Language {
        self.language
    }

    /// Fills a prompt's template with `values`.
    pub fn render(&self, prompt: Prompt, values: &PromptValues) -> String {
        // Every prompt is present: building the script fails otherwise.
        let Some(template) = self.templates.get(&prompt) else {
            return String::new();
        };
        let mut text = String::new();
        for part in &template.parts {
            match part {
                // A value that ends a sentence itself ("10 a.m.", "Cobranzas S.A.") takes the
                // template's own period: one period, not two.
                Part::Text(literal) if text.ends_with('.') && literal.starts_with('.') => text.push_str(&literal[1..]),
                Part::Text(literal) => text.push_str(literal),
                Part::Slot(placeholder) => text.push_str(values.get(*placeholder)),
            }
        }
        text
    }

    /// Tells whether the prompt is a protected disclosure that must be heard whole.
    pub fn is_protected(&self, prompt: Prompt) -> bool {
        self.protected.contains(&prompt)
    }

    fn build(locale: String, base: Source, overlay: Option<Source>) -> Result<Script, ScriptError> {
        let (mut templates, base_protected) = parse_file(&base)?;
        if let Some(missing) = Prompt::ALL.into_iter().find(|prompt| !templates.contains_key(prompt)) {
            return Err(ScriptError::MissingPrompt { file: base.name, key: missing.key().to_string() });
        }
        let mut protected = base_protected.unwrap_or_default();
        if let Some(overlay) = overlay {
            let (overlay_templates, overlay_protected) = parse_file(&overlay)?;
            templates.extend(overlay_templates);
            // A locale that lists its own protected prompts replaces the base's list.
            if let Some(list) = overlay_protected {
                protected = list;
            }
        }
        let language = Language::from_locale(&locale);
        Ok(Script { locale, language, templates, protected })
    }
}

struct Source<'a> {
    name: String,
    text: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Slot(Placeholder),
}

fn read(path: &Path) -> Result<String, ScriptError> {
    std::fs::read_to_string(path).map_err(|source| ScriptError::Read { path: path.to_path_buf(), source })
}

/// The templates of one file and, when it has the `protected` key, its protected prompts.
type ParsedFile = (HashMap<Prompt, Template>, Option<HashSet<Prompt>>);

fn parse_file(source: &Source) -> Result<ParsedFile, ScriptError> {
    let file = &source.name;
    let table: toml::Table = source.text.parse().map_err(|error: toml::de::Error| ScriptError::Toml {
        file: file.clone(),
        message: error.message().to_string(),
    })?;

    let mut templates = HashMap::new();
    let mut protected = None;
    for (key, value) in table {
        if key == PROTECTED_KEY {
            protected = Some(parse_protected(file, &value)?);
            continue;
        }
        let Some(prompt) = Prompt::from_key(&key) else {
            let known = Prompt::ALL.map(Prompt::key).join(", ");
            return Err(ScriptError::UnknownPrompt { file: file.clone(), key, known });
        };
        let Some(text) = value.as_str() else {
            return Err(ScriptError::NotText { file: file.clone(), key });
        };
        templates.insert(prompt, parse_template(file, prompt, text)?);
    }
    Ok((templates, protected))
}

/// The key listing the prompts the caller cannot talk over.
const PROTECTED_KEY: &str = "protected";

fn parse_protected(file: &str, value: &toml::Value) -> Result<HashSet<Prompt>, ScriptError> {
    let not_a_list = || ScriptError::ProtectedNotList { file: file.to_string() };
    let mut prompts = HashSet::new();
    for item in value.as_array().ok_or_else(not_a_list)? {
        let key = item.as_str().ok_or_else(not_a_list)?;
        let Some(prompt) = Prompt::from_key(key) else {
            let known = Prompt::ALL.map(Prompt::key).join(", ");
            return Err(ScriptError::UnknownPrompt { file: file.to_string(), key: key.to_string(), known });
        };
        prompts.insert(prompt);
    }
    Ok(prompts)
}

fn parse_template(file: &str, prompt: Prompt, text: &str) -> Result<Template, ScriptError> {
    let key = || prompt.key().to_string();
    if text.trim().is_empty() {
        return Err(ScriptError::Empty { file: file.to_string(), key: key() });
    }

    if prompt.said_before_verification() {
        let lower = text.to_lowercase();
        if let Some(word) = DEBT_WORDS.into_iter().find(|word| lower.contains(word)) {
            return Err(ScriptError::RevealsDebt { file: file.to_string(), key: key(), word });
        }
    }

    let mut parts = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            parts.push(Part::Text(rest[..open].to_string()));
        }
        let Some(close) = rest[open..].find('}') else {
            return Err(ScriptError::UnclosedBrace { file: file.to_string(), key: key() });
        };
        let name = &rest[open + 1..open + close];
        let Some(placeholder) = Placeholder::from_name(name) else {
            let known = Placeholder::ALL.map(Placeholder::name).join(", ");
            return Err(ScriptError::UnknownPlaceholder {
                file: file.to_string(),
                key: key(),
                placeholder: name.to_string(),
                known,
            });
        };
        if let Err(reason) = prompt.check(placeholder) {
            return Err(ScriptError::PlaceholderNotAllowed {
                file: file.to_string(),
                key: key(),
                placeholder: name.to_string(),
                reason,
            });
        }
        parts.push(Part::Slot(placeholder));
        rest = &rest[open + close + 1..];
    }
    if !rest.is_empty() {
        parts.push(Part::Text(rest.to_string()));
    }
    Ok(Template { parts })
}

/// Normalises a locale tag: `es_mx` and `ES-MX` become `es-MX`; `es-419` stays.
fn canonical_locale(locale: &str) -> Result<String, ScriptError> {
    let invalid = || ScriptError::InvalidLocale(locale.to_string());
    let mut parts = locale.trim().split(['-', '_']);
    let language =
        parts.next().filter(|part| (2..=3).contains(&part.len()) && part.chars().all(|c| c.is_ascii_alphabetic()));
    let language = language.ok_or_else(invalid)?.to_ascii_lowercase();
    let region = match parts.next() {
        None => None,
        Some(part) if part.len() == 2 && part.chars().all(|c| c.is_ascii_alphabetic()) => {
            Some(part.to_ascii_uppercase())
        }
        Some(part) if part.len() == 3 && part.chars().all(|c| c.is_ascii_digit()) => Some(part.to_string()),
        Some(_) => return Err(invalid()),
    };
    if parts.next().is_some() {
        return Err(invalid());
    }
    Ok(match region {
        Some(region) => format!("{language}-{region}"),
        None => language,
    })
}

/// Returns the locale whose file contains every prompt of the locale's language.
fn base_locale(locale: &str) -> &'static str {
    match Language::from_locale(locale) {
        Language::Es => "es-419",
        Language::En => "en-US",
    }
}

fn embedded_file(locale: &str) -> Option<&'static str> {
    let text = match locale {
        "es-419" => include_str!("../../prompts/es-419/script.toml"),
        "es-MX" => include_str!("../../prompts/es-MX/script.toml"),
        "es-CO" => include_str!("../../prompts/es-CO/script.toml"),
        "es-PE" => include_str!("../../prompts/es-PE/script.toml"),
        "es-CL" => include_str!("../../prompts/es-CL/script.toml"),
        "es-AR" => include_str!("../../prompts/es-AR/script.toml"),
        "en-US" => include_str!("../../prompts/en-US/script.toml"),
        "en-419" => include_str!("../../prompts/en-419/script.toml"),
        "en-MX" => include_str!("../../prompts/en-MX/script.toml"),
        "en-CO" => include_str!("../../prompts/en-CO/script.toml"),
        "en-PE" => include_str!("../../prompts/en-PE/script.toml"),
        "en-CL" => include_str!("../../prompts/en-CL/script.toml"),
        "en-AR" => include_str!("../../prompts/en-AR/script.toml"),
        _ => return None,
    };
    Some(text)
}

/// The locales with a folder under `prompts/`.
pub const LOCALES: [&str; 13] = [
    "es-419", "es-MX", "es-CO", "es-PE", "es-CL", "es-AR", "en-US", "en-419", "en-MX", "en-CO", "en-PE", "en-CL",
    "en-AR",
];

/// Returns the embedded locale a debtor of `country` (ISO 3166-1) hears in `language`: the
/// country's own file, else the language's Latin American file (`es-419`, or `en-419` outside
/// the United States, which asks for an ID number, not a Social Security number).
pub fn locale_for_country(language: Language, country: &str) -> String {
    let (code, region) = match language {
        Language::Es => ("es", "419"),
        Language::En if country.eq_ignore_ascii_case("US") => return "en-US".to_string(),
        Language::En => ("en", "419"),
    };
    let own = format!("{code}-{}", country.to_ascii_uppercase());
    match embedded_file(&own) {
        Some(_) => own,
        None => format!("{code}-{region}"),
    }
}

#[cfg(test)]
mod tests;
