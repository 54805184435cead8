//! Understanding what the caller said: the intent, and any amount, date, installments or
//! identity digits in it. [`RuleInterpreter`] reads Spanish (Mexico, Colombia, Peru, Chile,
//! Argentina) and English (United States) with fixed phrases; it is built for Whisper transcripts
//! of phone audio, so accents, punctuation and case are optional, fillers ("este", "o sea") are
//! skipped and numbers may come as digits or words.
//!
//! The same modules write what the bot says: [`spell_number`], [`spoken_money`] and
//! [`spoken_date`].

mod backchannel;
mod birth;
pub mod cli;
mod contact;
mod dates;
mod en;
mod es;
mod installments;
mod intent;
mod money;
mod numbers;
mod option;
mod refusal;
mod text;
mod times;

use async_trait::async_trait;
use chrono::{NaiveDate, NaiveTime};

use crate::collections::model::{Currency, Money};
use crate::dialog::{AmountMention, Language};

pub use backchannel::is_backchannel;
pub use dates::spoken_date;
pub use money::spoken_money;
pub use numbers::spell_number;

use dates::Direction;
use text::Words;

/// The interpreter's reading of one caller turn.
#[derive(Debug, Clone, PartialEq)]
pub struct Interpretation {
    pub intent: Intent,
    /// An amount the caller offered or mentioned.
    pub amount: Option<AmountMention>,
    /// A date resolved against the call's date: never before it for a payment to come, never
    /// after it for a payment the caller says was made.
    pub date: Option<NaiveDate>,
    /// The number of installments the caller asked for or accepted ("en tres cuotas"). An amount
    /// said per installment ("en 3 cuotas de 500") is multiplied out into `amount` (1500), a
    /// total. Without a count, an amount per period ("cien soles mensuales") is reported as it
    /// is, one installment's worth, while "cuotas de 500" is not reported.
    pub installments: Option<u32>,
    /// Digits for the identity check, read only when the bot asked for them. A date of birth,
    /// asked with [`Expecting::BirthDate`], comes in `date`. At a read-back or an offer, a lone
    /// option number ("uno", "marco dos") comes here as the key "1" or "2".
    pub digits: Option<String>,
    /// A time of day the caller named for a callback ("a las 3 de la tarde" is 15:00). An hour
    /// from 1 to 7 without a part of day is p.m., and a part of day alone is a fixed hour
    /// (morning 10:00, afternoon 15:00, evening 19:00). Not read while verifying identity.
    pub time: Option<NaiveTime>,
    /// The caller's language, when the words leave no doubt.
    pub language: Option<Language>,
    /// A short answer to an off-script question, phrased by an LLM interpreter. It never carries
    /// an amount, a date or a disclosure: the dialog drops a reply that contains a digit.
    pub reply: Option<String>,
}

impl Interpretation {
    /// Builds a reading with only an intent.
    pub fn intent(intent: Intent) -> Interpretation {
        Interpretation {
            intent,
            amount: None,
            date: None,
            installments: None,
            digits: None,
            time: None,
            language: None,
            reply: None,
        }
    }
}

/// The meaning of a caller's turn. The names (`as_str`) are the ones `cobranza understand` prints
/// and the labelled corpus uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Intent {
    /// A plain yes: "sí", "correcto", "de acuerdo", "yes".
    Affirm,
    /// A plain no: "no", "incorrecto", "nope".
    Deny,
    /// The debtor says they are the person asked for: "sí, soy yo", "con ella habla", "speaking".
    IdentityConfirm,
    /// Whoever answered is not the debtor: "número equivocado", "no vive aquí", "wrong number".
    WrongPerson,
    /// An offer to pay, with or without the amount and date.
    PromiseToPay,
    /// "¿Cuánto debo?", "how much is it?"
    AskAmount,
    /// "Ya pagué", "I already paid".
    AlreadyPaid,
    /// The caller denies owing the debt: "no debo nada", "esa deuda no es mía".
    Dispute,
    /// A situation that keeps the caller from paying: job loss, illness, a death in the family.
    Hardship,
    /// "Llámeme más tarde", "estoy ocupado", "call me tomorrow".
    CallbackRequest,
    /// "No me vuelvan a llamar", "stop calling me".
    StopContact,
    /// "Quiero hablar con una persona", "let me talk to a human".
    AskHuman,
    /// The caller asks for other terms: a discount, installments, "es mucho".
    Negotiate,
    /// "No puedo pagar", "no tengo dinero", "no voy a pagar".
    CannotPay,
    /// "¿Cómo?", "repita por favor", "what did you say?"
    AskRepeat,
    /// "Hola", "¿bueno?", "¿quién habla?"
    Greeting,
    /// Insults and threats.
    Abusive,
    /// "Adiós", "tengo que colgar", "bye".
    Goodbye,
    Unknown,
}

impl Intent {
    pub const ALL: [Intent; 19] = [
        Intent::Affirm,
        Intent::Deny,
        Intent::IdentityConfirm,
        Intent::WrongPerson,
        Intent::PromiseToPay,
        Intent::AskAmount,
        Intent::AlreadyPaid,
        Intent::Dispute,
        Intent::Hardship,
        Intent::CallbackRequest,
        Intent::StopContact,
        Intent::AskHuman,
        Intent::Negotiate,
        Intent::CannotPay,
        Intent::AskRepeat,
        Intent::Greeting,
        Intent::Abusive,
        Intent::Goodbye,
        Intent::Unknown,
    ];

    /// Returns the snake_case name: `promise_to_pay`, `ask_human`.
    pub fn as_str(self) -> &'static str {
        match self {
            Intent::Affirm => "affirm",
            Intent::Deny => "deny",
            Intent::IdentityConfirm => "identity_confirm",
            Intent::WrongPerson => "wrong_person",
            Intent::PromiseToPay => "promise_to_pay",
            Intent::AskAmount => "ask_amount",
            Intent::AlreadyPaid => "already_paid",
            Intent::Dispute => "dispute",
            Intent::Hardship => "hardship",
            Intent::CallbackRequest => "callback_request",
            Intent::StopContact => "stop_contact",
            Intent::AskHuman => "ask_human",
            Intent::Negotiate => "negotiate",
            Intent::CannotPay => "cannot_pay",
            Intent::AskRepeat => "ask_repeat",
            Intent::Greeting => "greeting",
            Intent::Abusive => "abusive",
            Intent::Goodbye => "goodbye",
            Intent::Unknown => "unknown",
        }
    }
}

impl std::str::FromStr for Intent {
    type Err = String;

    fn from_str(name: &str) -> Result<Intent, String> {
        Intent::ALL.into_iter().find(|intent| intent.as_str() == name).ok_or_else(|| {
            let names: Vec<&str> = Intent::ALL.iter().map(|intent| intent.as_str()).collect();
            format!("unknown intent '{name}'; expected one of {}", names.join(", "))
        })
    }
}

/// The question the bot asked last, so that "sí" or "el 15" is read as an answer to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Expecting {
    /// "¿Hablo con María López?"
    Identity,
    /// Digits that identify or verify the caller: an account number, the last digits of the
    /// national id, or the postal code.
    VerificationDigits,
    /// The debtor's date of birth, to verify them: dates point back, and years are read whole
    /// ("quince de marzo del ochenta y cinco").
    BirthDate,
    /// The bot proposed terms from the offer ladder: a yes takes them, a number is a
    /// counter-offer.
    OfferResponse,
    /// "¿En cuántas cuotas?": a bare number is a count of installments, not an amount.
    Installments,
    /// "¿Cuándo le podemos llamar?": a day, and maybe a time of day.
    CallbackTime,
    /// "¿Cuánto puede pagar y en qué fecha?"
    PaymentOffer,
    /// The read-back of a promise: "¿es correcto?"
    PromiseConfirmation,
    Date,
    Amount,
    /// When and how much the caller already paid: dates point back.
    PaymentDetails,
    Other,
}

impl Expecting {
    pub const ALL: [Expecting; 12] = [
        Expecting::Identity,
        Expecting::VerificationDigits,
        Expecting::BirthDate,
        Expecting::OfferResponse,
        Expecting::Installments,
        Expecting::CallbackTime,
        Expecting::PaymentOffer,
        Expecting::PromiseConfirmation,
        Expecting::Date,
        Expecting::Amount,
        Expecting::PaymentDetails,
        Expecting::Other,
    ];

    /// Maps a question prompt (the `key` of an [`crate::dialog::Utterance`] that expects a reply)
    /// to what it asks for. Prompts that ask nothing specific give `Other`.
    pub fn from_prompt_key(key: &str) -> Expecting {
        match key {
            "greeting" | "inbound_greeting" | "ask_identity" => Expecting::Identity,
            "verify_identity" | "verification_retry" | "ask_account_reference" | "account_reference_retry" => {
                Expecting::VerificationDigits
            }
            "ask_payment" => Expecting::PaymentOffer,
            "ask_amount" => Expecting::Amount,
            "ask_date" => Expecting::Date,
            "read_back" => Expecting::PromiseConfirmation,
            "already_paid_ask_details" => Expecting::PaymentDetails,
            _ => Expecting::Other,
        }
    }

    /// Returns the snake_case name the labelled corpus uses: `verification_digits`, `birth_date`.
    pub fn as_str(self) -> &'static str {
        match self {
            Expecting::Identity => "identity",
            Expecting::VerificationDigits => "verification_digits",
            Expecting::BirthDate => "birth_date",
            Expecting::OfferResponse => "offer_response",
            Expecting::Installments => "installments",
            Expecting::CallbackTime => "callback_time",
            Expecting::PaymentOffer => "payment_offer",
            Expecting::PromiseConfirmation => "promise_confirmation",
            Expecting::Date => "date",
            Expecting::Amount => "amount",
            Expecting::PaymentDetails => "payment_details",
            Expecting::Other => "other",
        }
    }
}

impl std::str::FromStr for Expecting {
    type Err = String;

    fn from_str(name: &str) -> Result<Expecting, String> {
        Expecting::ALL.into_iter().find(|expecting| expecting.as_str() == name).ok_or_else(|| {
            let names: Vec<&str> = Expecting::ALL.iter().map(|expecting| expecting.as_str()).collect();
            format!("unknown question kind '{name}'; expected one of {}", names.join(", "))
        })
    }
}

/// The country variant of the caller's language, from the debtor's locale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    Mexico,
    Colombia,
    Peru,
    Chile,
    Argentina,
    UnitedStates,
    /// A locale without its own variant (`es-419`, `es`): Mexican and Peruvian number format.
    Neutral,
}

impl Dialect {
    /// Reads the region of a BCP 47 locale: `es-CO` is Colombia, `en-US` the United States.
    pub fn from_locale(locale: &str) -> Dialect {
        let region = locale.split(['-', '_']).nth(1).unwrap_or("").to_ascii_uppercase();
        match region.as_str() {
            "MX" => Dialect::Mexico,
            "CO" => Dialect::Colombia,
            "PE" => Dialect::Peru,
            "CL" => Dialect::Chile,
            "AR" => Dialect::Argentina,
            "US" => Dialect::UnitedStates,
            _ => Dialect::Neutral,
        }
    }
}

/// The call facts the interpreter reads a turn against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InterpretContext {
    pub language: Language,
    /// The debtor's country: its number separators ("1.500" is fifteen hundred in Colombia) and
    /// slang ("lucas" in Chile and Argentina).
    pub dialect: Dialect,
    /// The debt's currency: "pesos" and a bare number mean this currency.
    pub currency: Currency,
    /// The debtor's local date, against which "mañana" and "el viernes" resolve.
    pub today: NaiveDate,
    pub expecting: Expecting,
}

/// One line of the conversation before the turn being read, for interpreters that use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationLine {
    /// True for the bot's lines, false for the caller's.
    pub bot: bool,
    pub text: String,
}

/// Reads a caller's turn. Implementations: [`RuleInterpreter`] (embedded) and an LLM-backed one
/// over an OpenAI-compatible server.
#[async_trait]
pub trait Interpreter: Send + Sync {
    async fn interpret(&self, text: &str, ctx: &InterpretContext) -> Interpretation;

    /// Reads a turn knowing the conversation so far, oldest line first. Interpreters that read
    /// each turn alone keep this default.
    async fn interpret_turn(
        &self,
        text: &str,
        ctx: &InterpretContext,
        _history: &[ConversationLine],
    ) -> Interpretation {
        self.interpret(text, ctx).await
    }
}

/// Returns whether `text` contains a number, in figures or in words ("quinientos").
pub(crate) fn mentions_number(text: &str) -> bool {
    !numbers::find_numbers(Words::new(text).tokens()).is_empty()
}

/// The embedded interpreter: fixed phrases and number and date grammars, no network.
#[derive(Debug, Clone, Copy, Default)]
pub struct RuleInterpreter;

impl RuleInterpreter {
    /// Interprets `text` at once; the [`Interpreter`] implementation calls this.
    pub fn interpret_now(&self, text: &str, ctx: &InterpretContext) -> Interpretation {
        let heard_words = Words::new(text);
        let heard_numbers = numbers::find_numbers(heard_words.tokens());
        let time_span = match ctx.expecting {
            Expecting::BirthDate | Expecting::VerificationDigits => None,
            _ => {
                let about_a_call = ctx.expecting == Expecting::CallbackTime || intent::asks_for_a_call(&heard_words);
                times::find_time(&heard_words, &heard_numbers, about_a_call)
            }
        };
        // The words of a time ("a las 3") are hidden from the amount, date and installment
        // grammars: "a las 3" is neither 3 pesos nor the 3rd.
        let (words, numbers) = match time_span {
            Some(span) => {
                let masked = heard_words.masked(span.start, span.end);
                let numbers = numbers::find_numbers(masked.tokens());
                (masked, numbers)
            }
            None => (heard_words.clone(), heard_numbers),
        };
        let time = time_span.map(|span| span.time);

        let date_span = match ctx.expecting {
            Expecting::BirthDate => None,
            _ => self.payment_date(&words, &numbers, ctx),
        };
        let birth_date = match ctx.expecting {
            Expecting::BirthDate => birth::find_birth_date(&words, &numbers, ctx.today, ctx.dialect),
            _ => None,
        };
        let plan = installments::find_plan(&words, &numbers, ctx.expecting == Expecting::Installments);
        // "En doce meses" read as a count of installments is no date as well.
        let date_span = date_span.filter(|span| {
            !plan.count.is_some_and(|counted| counted.number.start >= span.start && counted.number.start < span.end)
        });
        // "Marque 1 para confirmar y 2 para corregir": a lone "uno" there is the key, not one peso.
        let option_key = match ctx.expecting {
            Expecting::PromiseConfirmation | Expecting::OfferResponse => option::option_key(&words, &numbers),
            _ => None,
        };
        // The key is the whole answer: "el uno" there is no date either.
        let date_span = date_span.filter(|_| option_key.is_none());
        let amount = match option_key {
            Some(_) => None,
            None => self.amount(&words, &numbers, date_span.as_ref(), &plan, ctx),
        };
        let date = date_span.map(|span| span.date).or(birth_date);

        let digits = match ctx.expecting {
            Expecting::VerificationDigits => numbers::spoken_digits(words.tokens()),
            _ => option_key.map(str::to_string),
        };
        let found = intent::Found {
            amount: amount.is_some(),
            date: date.is_some(),
            installments: plan.is_mentioned(),
            time: time.is_some(),
        };
        let intent = match ctx.expecting {
            // A date of birth is an answer, not an offer to pay on that day.
            Expecting::BirthDate => intent::classify(&heard_words, ctx.expecting, intent::Found::default()),
            _ => intent::classify(&heard_words, ctx.expecting, found),
        };
        let language = intent::detect_language(&heard_words);
        let installments = plan.count.map(|counted| counted.count);
        Interpretation { intent, amount, date, installments, digits, time, language, reply: None }
    }

    /// Finds a date to pay or to call on. It points back when the caller says it was paid.
    fn payment_date(
        &self,
        words: &Words,
        numbers: &[numbers::NumberSpan],
        ctx: &InterpretContext,
    ) -> Option<dates::DateSpan> {
        let looks_back = ctx.expecting == Expecting::PaymentDetails
            || intent::says_already_paid(words)
            || intent::mentions_past_payment(words);
        let direction = if looks_back { Direction::Past } else { Direction::Future };
        dates::find_date(words, numbers, ctx.today, direction).or_else(|| self.bare_day(words, numbers, ctx, direction))
    }

    /// Finds the amount offered: a total said outright, or the installment amount times the count.
    fn amount(
        &self,
        words: &Words,
        numbers: &[numbers::NumberSpan],
        date: Option<&dates::DateSpan>,
        plan: &installments::Plan,
        ctx: &InterpretContext,
    ) -> Option<AmountMention> {
        let money = money::MoneyContext { currency: ctx.currency, dialect: ctx.dialect };
        if let (Some(counted), Some(each)) = (plan.count, plan.each) {
            let each = money::money_at(words, &each, money)?;
            let total = each.amount_minor.checked_mul(i64::from(counted.count))?;
            return Some(AmountMention::Exact(Money::new(total, each.currency)));
        }
        let outside_date =
            |span: &numbers::NumberSpan| date.is_none_or(|date| span.end <= date.start || span.start >= date.end);
        // "Cien soles mensuales" without a count: the amount of one installment, kept so that the
        // dialog can weigh it against the minimum installment. "El 15 de cada mes" is a day.
        let per_period = plan
            .each
            .filter(|each| plan.count.is_none() && outside_date(each) && installments::is_per_period(words, each));
        if let Some(each) = per_period {
            return money::money_at(words, &each, money).map(AmountMention::Exact);
        }

        let bare_numbers_are_amounts = matches!(
            ctx.expecting,
            Expecting::Amount
                | Expecting::PaymentOffer
                | Expecting::PromiseConfirmation
                | Expecting::PaymentDetails
                | Expecting::OfferResponse
        ) || intent::offers_payment(words)
            || intent::says_already_paid(words)
            || intent::mentions_past_payment(words);
        let is_free = |span: &numbers::NumberSpan| {
            outside_date(span) && !plan.uses(span) && !installments::counts_periods(words, span)
        };
        let found = money::find_amount(words, numbers, is_free, money, bare_numbers_are_amounts);
        // "No puedo pagar todo" names the whole balance only to refuse it.
        found
            .filter(|mention| !(matches!(mention, AmountMention::FullBalance) && refusal::refuses_whole_balance(words)))
    }

    /// A lone number from 1 to 31 answers "¿en qué fecha?" as a day of the month.
    fn bare_day(
        &self,
        words: &Words,
        numbers: &[numbers::NumberSpan],
        ctx: &InterpretContext,
        direction: Direction,
    ) -> Option<dates::DateSpan> {
        if ctx.expecting != Expecting::Date || numbers.len() != 1 {
            return None;
        }
        dates::day_alone(words, &numbers[0], ctx.today, direction)
    }
}

/// Lists the channels a stop-contact request names: `whatsapp`, `email`, `sms` or `voice`, most
/// specific first ("no me manden mensajes por WhatsApp" gives `["whatsapp"]`). Returns an empty
/// list when `text` is no stop-contact request or names no channel ("no me molesten"), so the
/// caller picks the default. [`Interpretation`] has no field for the channel, so the dialog reads
/// it from the caller's words with this function.
pub fn stop_contact_channels(text: &str) -> Vec<&'static str> {
    let words = Words::new(text);
    if !intent::asks_to_stop_contact(&words) {
        return Vec::new();
    }
    contact::channels_named(&words)
}

#[async_trait]
impl Interpreter for RuleInterpreter {
    async fn interpret(&self, text: &str, ctx: &InterpretContext) -> Interpretation {
        self.interpret_now(text, ctx)
    }
}

#[cfg(test)]
mod tests;
