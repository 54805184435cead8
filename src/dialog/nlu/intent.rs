//! What the caller meant, from fixed phrases in Spanish and English checked in a priority order:
//! a stop-contact request beats everything, and a plain "sí" only counts when nothing more
//! specific was said.

use super::text::Words;
use super::{en, es, Expecting, Intent};
use crate::dialog::Language;

/// The phrases of one language, one list per intent. Phrases are normalised words (lower case,
/// no accents, no apostrophes); a trailing `*` matches any ending of the last word.
pub(super) struct Lexicon {
    pub stop_contact: &'static [&'static str],
    pub ask_for_human: &'static [&'static str],
    pub dispute: &'static [&'static str],
    /// Phrases that mean "wrong person" whatever the bot asked.
    pub wrong_person: &'static [&'static str],
    /// Phrases that mean "wrong person" only as an answer to the identity question ("no está",
    /// "se equivocó"); elsewhere they are as likely about an amount or a date.
    pub wrong_person_at_identity: &'static [&'static str],
    pub already_paid: &'static [&'static str],
    pub refuse_to_pay: &'static [&'static str],
    /// Requests to call later that win over a payment phrase ("estoy ocupado").
    pub call_later: &'static [&'static str],
    /// Words that only mean "later" when no payment was mentioned ("le pago más tarde" is a
    /// promise).
    pub call_later_weak: &'static [&'static str],
    /// Payment verbs; a negation right before one ("no voy a pagar") cancels it.
    pub promise: &'static [&'static str],
    /// First words that make an answer a "no".
    pub deny_openers: &'static [&'static str],
    pub deny: &'static [&'static str],
    /// Phrases starting with "no" that are not a "no" ("no sé", "no le entendí").
    pub not_deny: &'static [&'static str],
    /// First words that make an answer a "yes".
    pub affirm_openers: &'static [&'static str],
    pub affirm: &'static [&'static str],
    pub who_is_calling: &'static [&'static str],
    /// Common words of the language, for telling which language the caller speaks.
    pub markers: &'static [&'static str],
}

const LEXICONS: [&Lexicon; 2] = [&es::LEXICON, &en::LEXICON];

/// Tells whether the caller said a phrase of `pick` in either language.
fn said(words: &Words, pick: fn(&Lexicon) -> &'static [&'static str]) -> bool {
    LEXICONS.iter().any(|lexicon| words.contains_any(pick(lexicon)))
}

fn said_affirmed(words: &Words, pick: fn(&Lexicon) -> &'static [&'static str]) -> bool {
    LEXICONS.iter().any(|lexicon| pick(lexicon).iter().any(|phrase| words.contains_affirmed(phrase)))
}

/// Words people say before their answer on the phone ("Bueno, sí...", "Hola, no..."); the
/// answer's first word is the first one after them.
const FILLERS: [&str; 18] = [
    "bueno", "hola", "alo", "pues", "mire", "oiga", "eh", "ah", "ay", "este", "buenos", "buenas", "dias", "tardes",
    "well", "hello", "oh", "um",
];

fn opens_with(words: &Words, pick: fn(&Lexicon) -> &'static [&'static str]) -> bool {
    let first = words.tokens().iter().map(String::as_str).find(|token| !FILLERS.contains(token));
    let Some(first) = first else {
        return false;
    };
    LEXICONS.iter().any(|lexicon| pick(lexicon).contains(&first))
}

/// Tells whether the caller says the payment was already made, before dates are resolved, so
/// that "el lunes" then means the last Monday.
pub(super) fn says_already_paid(words: &Words) -> bool {
    said(words, |l| l.already_paid)
}

/// Tells whether the caller used a payment verb that is not negated.
pub(super) fn offers_payment(words: &Words) -> bool {
    said_affirmed(words, |l| l.promise)
}

/// Picks the intent. `has_terms` is true when an amount or a date was found.
pub(super) fn classify(words: &Words, expecting: Expecting, has_terms: bool) -> Intent {
    let at_identity = matches!(expecting, Expecting::Identity | Expecting::VerificationDigits);
    let asked_for_terms = matches!(expecting, Expecting::PaymentOffer | Expecting::Amount | Expecting::Date);

    if said(words, |l| l.stop_contact) {
        return Intent::StopContact;
    }
    if said(words, |l| l.ask_for_human) {
        return Intent::AskHuman;
    }
    if said(words, |l| l.dispute) {
        return Intent::Dispute;
    }
    if said(words, |l| l.wrong_person) || (at_identity && said(words, |l| l.wrong_person_at_identity)) {
        return Intent::WrongPerson;
    }
    if says_already_paid(words) {
        return Intent::AlreadyPaid;
    }
    // "No puedo pagar todo, pero puedo pagar la mitad el viernes" is an offer.
    if offers_payment(words) && has_terms {
        return Intent::PromiseToPay;
    }
    if said(words, |l| l.refuse_to_pay) {
        return Intent::CannotPay;
    }
    if said(words, |l| l.call_later) {
        return Intent::CallbackRequest;
    }
    if offers_payment(words) || (has_terms && asked_for_terms) {
        return Intent::PromiseToPay;
    }
    if said(words, |l| l.call_later_weak) {
        return Intent::CallbackRequest;
    }
    if is_denial(words) {
        return Intent::Deny;
    }
    if opens_with(words, |l| l.affirm_openers) || said(words, |l| l.affirm) {
        return Intent::Affirm;
    }
    if said(words, |l| l.who_is_calling) {
        return Intent::Greeting;
    }
    Intent::Unknown
}

fn is_denial(words: &Words) -> bool {
    // "No, se equivocó" starts like "no sé" but is a denial.
    let mistaken = words.contains("se equivoc*");
    if said(words, |l| l.not_deny) && !mistaken {
        return false;
    }
    opens_with(words, |l| l.deny_openers) || said(words, |l| l.deny)
}

/// Detects the caller's language when the words leave no doubt: common words of one language
/// and none of the other.
pub(super) fn detect_language(words: &Words) -> Option<Language> {
    let count =
        |lexicon: &Lexicon| words.tokens().iter().filter(|token| lexicon.markers.contains(&token.as_str())).count();
    let spanish = count(&es::LEXICON);
    let english = count(&en::LEXICON);
    let first = words.get(0).unwrap_or("");
    if english > 0 && spanish == 0 && (english >= 2 || matches!(first, "yes" | "yeah" | "yep")) {
        return Some(Language::En);
    }
    if spanish > 0 && english == 0 && (spanish >= 2 || first == "si") {
        return Some(Language::Es);
    }
    None
}
