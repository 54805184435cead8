//! The collections vocabulary shared by every stage of a call: money, identifiers, debtors,
//! debts, promises to pay and dispositions.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// An ISO 4217 currency that cobranza collects in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Currency {
    Mxn,
    Cop,
    Pen,
    Clp,
    Usd,
    Ars,
    Brl,
}

impl Currency {
    /// Digits after the decimal point in the ISO 4217 minor unit (CLP has none).
    pub fn exponent(self) -> u32 {
        match self {
            Currency::Clp => 0,
            _ => 2,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Currency::Mxn => "MXN",
            Currency::Cop => "COP",
            Currency::Pen => "PEN",
            Currency::Clp => "CLP",
            Currency::Usd => "USD",
            Currency::Ars => "ARS",
            Currency::Brl => "BRL",
        }
    }

    /// Minor units in one major unit: 100 for MXN, 1 for CLP.
    pub fn minor_per_major(self) -> i64 {
        10_i64.pow(self.exponent())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = MoneyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "MXN" => Ok(Currency::Mxn),
            "COP" => Ok(Currency::Cop),
            "PEN" => Ok(Currency::Pen),
            "CLP" => Ok(Currency::Clp),
            "USD" => Ok(Currency::Usd),
            "ARS" => Ok(Currency::Ars),
            "BRL" => Ok(Currency::Brl),
            _ => Err(MoneyError::UnknownCurrency(s.to_string())),
        }
    }
}

/// The error for an amount or currency that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("unknown currency '{0}': use one of MXN, COP, PEN, CLP, USD, ARS, BRL")]
    UnknownCurrency(String),
    #[error("amount '{0}' is not a decimal number with a dot (for example 12500.50)")]
    NotANumber(String),
    #[error("amount '{amount}' has more decimals than {currency} allows ({exponent})")]
    TooManyDecimals { amount: String, currency: Currency, exponent: u32 },
    #[error("amount '{0}' is too large")]
    Overflow(String),
}

/// An amount in the currency's minor unit: never a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    pub amount_minor: i64,
    pub currency: Currency,
}

impl Money {
    pub fn new(amount_minor: i64, currency: Currency) -> Self {
        Money { amount_minor, currency }
    }

    /// Builds an amount from whole major units (pesos, dollars).
    pub fn from_major(major: i64, currency: Currency) -> Self {
        Money { amount_minor: major * currency.minor_per_major(), currency }
    }

    /// Parses a CSV amount such as `12500.50` (a dot, no thousands separators).
    pub fn parse_decimal(text: &str, currency: Currency) -> Result<Self, MoneyError> {
        let trimmed = text.trim();
        let not_a_number = || MoneyError::NotANumber(text.to_string());
        let (negative, digits) = match trimmed.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, trimmed),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) {
            return Err(not_a_number());
        }
        if digits.contains('.') && fraction.is_empty() {
            return Err(not_a_number());
        }

        let exponent = currency.exponent();
        let significant = fraction.trim_end_matches('0');
        if significant.len() > exponent as usize {
            return Err(MoneyError::TooManyDecimals { amount: text.to_string(), currency, exponent });
        }
        let overflow = || MoneyError::Overflow(text.to_string());
        let whole: i64 = whole.parse().map_err(|_| overflow())?;
        let mut fraction_minor: i64 = 0;
        for position in 0..exponent as usize {
            let digit = significant.as_bytes().get(position).map_or(0, |b| i64::from(b - b'0'));
            fraction_minor = fraction_minor * 10 + digit;
        }
        let amount = whole
            .checked_mul(currency.minor_per_major())
            .and_then(|minor| minor.checked_add(fraction_minor))
            .ok_or_else(overflow)?;
        Ok(Money { amount_minor: if negative { -amount } else { amount }, currency })
    }

    /// Whole major units, rounded down (what a voice says first).
    pub fn major_part(self) -> i64 {
        self.amount_minor / self.currency.minor_per_major()
    }

    /// Returns the minor part left after the major units (centavos, cents).
    pub fn minor_part(self) -> i64 {
        self.amount_minor % self.currency.minor_per_major()
    }

    /// Formats the amount as a CSV decimal with a dot, e.g. `12500.50` (`2500` for CLP).
    pub fn to_decimal_string(self) -> String {
        let exponent = self.currency.exponent() as usize;
        let sign = if self.amount_minor < 0 { "-" } else { "" };
        let absolute = self.amount_minor.unsigned_abs();
        if exponent == 0 {
            return format!("{sign}{absolute}");
        }
        let per_major = self.currency.minor_per_major() as u64;
        format!("{sign}{}.{:0width$}", absolute / per_major, absolute % per_major, width = exponent)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.to_decimal_string(), self.currency)
    }
}

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

string_id!(
    /// The creditor's or agency's identifier for a debtor, as in the portfolio CSV.
    DebtorId
);
string_id!(
    /// Twilio's identifier of a call (`CA…`).
    CallSid
);

/// The store's identifier of one call attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AttemptId(pub i64);

impl fmt::Display for AttemptId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The store's identifier of a debt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DebtId(pub i64);

/// The store's identifier of a promise to pay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PromiseId(pub i64);

/// A person who owes, with what the bot needs to reach and verify them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Debtor {
    pub id: DebtorId,
    pub full_name: String,
    /// E.164, e.g. `+5215512345678`.
    pub phone: String,
    /// ISO 3166-1 alpha-2, e.g. `MX`.
    pub country: String,
    pub region: String,
    /// BCP 47, e.g. `es-MX`, `en-US`.
    pub locale: String,
    pub time_zone: chrono_tz::Tz,
    pub national_id_last4: String,
    pub birth_date: NaiveDate,
    pub postal_code: String,
    pub call_consent: bool,
    /// Channels the debtor authorised, e.g. `["voice", "sms"]`.
    pub authorised_channels: Vec<String>,
}

impl Debtor {
    /// Returns the given name used to greet the debtor ("María" of "María López Pérez").
    pub fn first_name(&self) -> &str {
        self.full_name.split_whitespace().next().unwrap_or(&self.full_name)
    }
}

/// One debt of a debtor with one creditor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Debt {
    pub id: DebtId,
    pub debtor_id: DebtorId,
    pub creditor: String,
    pub product: String,
    pub account_ref: String,
    pub balance: Money,
    pub days_past_due: u32,
}

/// A debtor with the debt a call is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub debtor: Debtor,
    pub debt: Debt,
}

/// One dated part of an installment plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Installment {
    pub amount: Money,
    pub due_date: NaiveDate,
}

/// A debtor's commitment to pay: one promise per agreement, with installments when it is a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Promise {
    pub debt_id: DebtId,
    /// The total promised (the sum of the installments when there are any).
    pub amount: Money,
    /// The date of the single payment, or of the first installment.
    pub due_date: NaiveDate,
    pub installments: Vec<Installment>,
}

/// A debtor's statement that the debt was already paid, kept for reconciliation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentClaim {
    pub debt_id: DebtId,
    pub paid_on: Option<NaiveDate>,
    pub amount: Option<Money>,
    pub channel: Option<String>,
}

/// The outcome of a call: exactly one per attempt. README.md and README.es.md list the same
/// names in a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    /// Identity verified and a promise to pay stored.
    PromiseToPay,
    /// Identity verified, the debtor said the debt is paid; flagged for reconciliation.
    AlreadyPaid,
    /// Identity verified, the debtor declined every option and asked for no help.
    RefusedToPay,
    /// Identity verified, the debtor does not recognise the debt; collection of it stops while
    /// it is reviewed.
    Disputed,
    /// Identity verified, the debtor cannot pay because of hardship or vulnerability; stored for
    /// a person to follow up.
    Hardship,
    /// The debtor (or whoever answered) asked to be called at another time, or by a person.
    CallbackRequested,
    /// Someone who knows the debtor answered; nothing about the debt was said.
    ThirdParty,
    /// Whoever answered does not know the debtor; nothing about the debt was said.
    WrongNumber,
    /// Identity verification failed; nothing about the debt was said.
    VerificationFailed,
    /// Identity verified but the conversation ended without an outcome.
    RightPartyNoCommitment,
    /// The caller stayed silent until the bot gave up.
    NoResponse,
    /// The caller spoke, but the bot ended the call before verification because it did not
    /// understand the answers.
    NotUnderstood,
    /// The caller hung up before the conversation reached an outcome.
    HungUp,
    /// The debtor asked not to be contacted again on a channel.
    StopContact,
    /// The call was handed to a person.
    Transferred,
    /// An answering machine took the call and the bot left the jurisdiction's limited-content
    /// message.
    VoicemailLeft,
    /// The caller was abusive and the bot ended the call politely.
    Abusive,
    /// Storing the outcome failed, so the bot did not confirm it.
    StoreFailed,
    /// The call failed on the media path (stream error, provider error).
    TechnicalFailure,
    /// Every speech-to-text provider failed during the call, so the bot offered a callback on the
    /// keypad. A callback request is stored when the caller pressed for one.
    SpeechUnavailable,
    /// The carrier reported the line busy; nobody answered.
    Busy,
    /// The phone rang until the carrier's ring timeout; nobody answered.
    NoAnswer,
    /// The carrier could not place the call (invalid number, network error, rejected request).
    CallFailed,
    /// An inbound caller matched no single debt, by number or by account number, so the bot
    /// gave only the agency's number. Stored on the inbound call and never on an attempt, which
    /// exists only once a caller is matched. So for the KPIs it is neither a dial nor a contact
    /// nor a right-party contact.
    UnidentifiedCaller,
}

impl Disposition {
    pub const ALL: [Disposition; 24] = [
        Disposition::PromiseToPay,
        Disposition::AlreadyPaid,
        Disposition::RefusedToPay,
        Disposition::Disputed,
        Disposition::Hardship,
        Disposition::CallbackRequested,
        Disposition::ThirdParty,
        Disposition::WrongNumber,
        Disposition::VerificationFailed,
        Disposition::RightPartyNoCommitment,
        Disposition::NoResponse,
        Disposition::NotUnderstood,
        Disposition::HungUp,
        Disposition::StopContact,
        Disposition::Transferred,
        Disposition::VoicemailLeft,
        Disposition::Abusive,
        Disposition::StoreFailed,
        Disposition::TechnicalFailure,
        Disposition::SpeechUnavailable,
        Disposition::Busy,
        Disposition::NoAnswer,
        Disposition::CallFailed,
        Disposition::UnidentifiedCaller,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Disposition::PromiseToPay => "promise_to_pay",
            Disposition::AlreadyPaid => "already_paid",
            Disposition::RefusedToPay => "refused_to_pay",
            Disposition::Disputed => "disputed",
            Disposition::Hardship => "hardship",
            Disposition::CallbackRequested => "callback_requested",
            Disposition::ThirdParty => "third_party",
            Disposition::WrongNumber => "wrong_number",
            Disposition::VerificationFailed => "verification_failed",
            Disposition::RightPartyNoCommitment => "right_party_no_commitment",
            Disposition::NoResponse => "no_response",
            Disposition::NotUnderstood => "not_understood",
            Disposition::HungUp => "hung_up",
            Disposition::StopContact => "stop_contact",
            Disposition::Transferred => "transferred",
            Disposition::VoicemailLeft => "voicemail_left",
            Disposition::Abusive => "abusive",
            Disposition::StoreFailed => "store_failed",
            Disposition::TechnicalFailure => "technical_failure",
            Disposition::SpeechUnavailable => "speech_unavailable",
            Disposition::Busy => "busy",
            Disposition::NoAnswer => "no_answer",
            Disposition::CallFailed => "call_failed",
            Disposition::UnidentifiedCaller => "unidentified_caller",
        }
    }
}

impl fmt::Display for Disposition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Disposition {
    type Err = String;

    /// Parses a name of [`Disposition::ALL`]. `wrong_party`, the name stores written before
    /// wrong numbers and third parties were told apart, reads as `wrong_number`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "wrong_party" {
            return Ok(Disposition::WrongNumber);
        }
        Disposition::ALL.into_iter().find(|d| d.as_str() == s).ok_or_else(|| {
            let names: Vec<&str> = Disposition::ALL.iter().map(|d| d.as_str()).collect();
            format!("unknown disposition '{s}'; expected one of {}", names.join(", "))
        })
    }
}

/// The speaker of a transcript line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Speaker {
    Bot,
    Debtor,
}

impl Speaker {
    pub fn as_str(self) -> &'static str {
        match self {
            Speaker::Bot => "bot",
            Speaker::Debtor => "debtor",
        }
    }
}

/// One line of a call's transcript.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranscriptLine {
    pub speaker: Speaker,
    pub text: String,
    pub at: DateTime<Utc>,
}

/// Masks a phone number for logs: `+52•••••5678` keeps the country code and last four digits.
pub fn mask_phone(phone: &str) -> String {
    let digits: Vec<char> = phone.chars().filter(|c| c.is_ascii_digit()).collect();
    if digits.len() <= 4 {
        return "•".repeat(digits.len());
    }
    let prefix: String =
        if phone.starts_with('+') { format!("+{}", digits.iter().take(2).collect::<String>()) } else { String::new() };
    let last4: String = digits[digits.len() - 4..].iter().collect();
    format!("{prefix}•••••{last4}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disposition_names_round_trip() {
        for disposition in Disposition::ALL {
            assert_eq!(disposition.as_str().parse::<Disposition>(), Ok(disposition));
            let json = serde_json::to_string(&disposition).expect("serializes");
            assert_eq!(json, format!("\"{}\"", disposition.as_str()));
        }
    }

    #[test]
    fn old_wrong_party_reads_as_wrong_number() {
        assert_eq!("wrong_party".parse::<Disposition>(), Ok(Disposition::WrongNumber));
    }

    #[test]
    fn unknown_disposition_lists_names() {
        let error = "voicemail".parse::<Disposition>().unwrap_err();
        assert!(error.starts_with("unknown disposition 'voicemail'; expected one of promise_to_pay, "), "{error}");
    }

    #[test]
    fn readmes_list_every_disposition() {
        let readmes =
            [("README.md", include_str!("../../README.md")), ("README.es.md", include_str!("../../README.es.md"))];
        for (name, readme) in readmes {
            for disposition in Disposition::ALL {
                let row = format!("| `{disposition}` |");
                assert!(readme.contains(&row), "{name} has no table row for {disposition}");
            }
        }
    }
}
