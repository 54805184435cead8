//! What the caller meant, from fixed phrases in Spanish and English checked in a priority order:
//! a stop-contact request beats everything, a reason ("me quedé sin trabajo") beats the refusal
//! it explains, and a plain "sí" only counts when nothing more specific was said.

use super::text::Words;
use super::{contact, en, es, refusal, Expecting, Intent};
use crate::dialog::Language;

/// The phrases of one language, one list per intent. Phrases are normalised words (lower case,
/// no accents, no apostrophes); a trailing `*` matches any ending of the last word.
pub(super) struct Lexicon {
    pub stop_contact: &'static [&'static str],
    /// Insults and threats. Kept short: enough to end a call politely, not a catalogue.
    pub abusive: &'static [&'static str],
    pub ask_for_human: &'static [&'static str],
    pub dispute: &'static [&'static str],
    /// Phrases that mean "wrong person" whatever the bot asked.
    pub wrong_person: &'static [&'static str],
    /// Phrases that mean "wrong person" only as an answer to the identity question ("no está",
    /// "se equivocó"); elsewhere they are as likely about an amount or a date.
    pub wrong_person_at_identity: &'static [&'static str],
    pub already_paid: &'static [&'static str],
    /// Past-tense payment verbs ("pagué", "deposité", "I sent"). They mean the payment was made
    /// only with an amount or a date in the same turn, or as an answer about a payment made,
    /// and not after "que", "cuando" or a negation ("quiere que le deposite el viernes").
    pub paid_verbs: &'static [&'static str],
    /// A debt paid off, said with its object ("esa deuda la cancelé", "lo liquidé"): a payment
    /// made with or without an amount or date, under the same cue check as `paid_verbs`, since
    /// "cuando lo cancele" is a subjunctive spelled the same once accents are dropped.
    pub paid_off: &'static [&'static str],
    /// Job loss, illness, a death in the family: the reason behind not paying.
    pub hardship: &'static [&'static str],
    /// Requests for other terms: a discount, installments, more time, "es mucho".
    pub negotiate: &'static [&'static str],
    pub refuse_to_pay: &'static [&'static str],
    /// Requests to call later that win over a payment phrase ("estoy ocupado").
    pub call_later: &'static [&'static str],
    /// Words that only mean "later" when no payment was mentioned ("le pago más tarde" is a
    /// promise).
    pub call_later_weak: &'static [&'static str],
    pub ask_amount: &'static [&'static str],
    /// Payment verbs; a negation right before one ("no voy a pagar") cancels it.
    pub promise: &'static [&'static str],
    pub ask_repeat: &'static [&'static str],
    /// Words that ask to repeat when they are all the caller said ("¿cómo?", "¿mande?").
    pub ask_repeat_alone: &'static [&'static str],
    pub goodbye: &'static [&'static str],
    pub who_is_calling: &'static [&'static str],
    /// The debtor says they are the person asked for ("soy yo", "speaking").
    pub identity_confirm: &'static [&'static str],
    /// First words that make an answer a "no".
    pub deny_openers: &'static [&'static str],
    pub deny: &'static [&'static str],
    /// Phrases starting with "no" that are not a "no" ("no sé", "no le entendí").
    pub not_deny: &'static [&'static str],
    /// First words that make an answer a "yes".
    pub affirm_openers: &'static [&'static str],
    pub affirm: &'static [&'static str],
    /// Words of a greeting; an answer made only of them is a greeting ("hola, buenas tardes").
    pub greeting_words: &'static [&'static str],
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

/// Words people say before or around their answer on the phone ("Bueno, sí...", "este... no",
/// "o sea"); the answer's first word is the first one after them.
const FILLERS: &[&str] = &[
    "bueno", "hola", "alo", "pues", "mire", "mira", "oiga", "oye", "eh", "ehh", "ehm", "ah", "ay", "uy", "este", "o",
    "sea", "buenos", "buenas", "dias", "tardes", "che", "well", "hello", "oh", "um", "uh", "like", "so",
];

fn content_words(words: &Words) -> impl Iterator<Item = &str> {
    words.tokens().iter().map(String::as_str).filter(|token| !FILLERS.contains(token))
}

fn opens_with(words: &Words, pick: fn(&Lexicon) -> &'static [&'static str]) -> bool {
    let Some(first) = content_words(words).next() else {
        return false;
    };
    LEXICONS.iter().any(|lexicon| pick(lexicon).contains(&first))
}

/// Tells whether the caller says the payment was already made, before dates are resolved, so
/// that "el lunes" then means the last Monday.
pub(super) fn says_already_paid(words: &Words) -> bool {
    let paid_off = LEXICONS.iter().any(|lexicon| {
        lexicon.paid_off.iter().any(|phrase| words.contains_without_cue(phrase, NOT_PAST_CUES, &["ya"]))
    });
    said(words, |l| l.already_paid) || paid_off
}

/// Tells whether the caller asks to stop calls or messages, on every channel or on one.
pub(super) fn asks_to_stop_contact(words: &Words) -> bool {
    said(words, |l| l.stop_contact) || contact::asks_to_stop_writing(words)
}

/// Words before a past-tense payment verb that make it a subjunctive, a condition or a negation
/// ("que le pague", "cuando deposite", "no pagué", "if I sent"), so no payment was made.
const NOT_PAST_CUES: &[&str] = &["que", "cuando", "apenas", "cuanto", "no", "nunca", "not", "never", "if", "when"];

/// Object pronouns that sit between a cue and the verb: "que le pague", "cuando lo deposite".
const CLITICS: &[&str] = &["lo", "la", "los", "las", "le", "les", "se", "me", "te", "ya"];

/// Tells whether the caller used a past-tense payment verb ("pagué 1,200 el martes", "I sent
/// 250 on Monday"), so dates in the turn point back.
pub(super) fn mentions_past_payment(words: &Words) -> bool {
    LEXICONS.iter().any(|lexicon| {
        lexicon.paid_verbs.iter().any(|phrase| words.contains_without_cue(phrase, NOT_PAST_CUES, CLITICS))
    })
}

/// Tells whether the caller used a payment verb that is not negated.
pub(super) fn offers_payment(words: &Words) -> bool {
    said_affirmed(words, |l| l.promise)
}

/// Tells whether the turn mentions a phone call ("call me", "llámeme", "márqueme"), so that a
/// time in it is when to call back.
pub(super) fn asks_for_a_call(words: &Words) -> bool {
    words.contains_any(&["call*", "llam*", "marc*", "marqu*", "reach me", "try me"])
}

/// The slots found in the turn, as far as the intent depends on them.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Found {
    pub amount: bool,
    pub date: bool,
    /// A count of installments or an amount per installment.
    pub installments: bool,
    /// A time of day.
    pub time: bool,
}

/// Picks the intent from the words, the question the bot asked and the slots found. The first
/// match wins, in this order: stop contact, abuse, ask for a human, wrong person, dispute,
/// already paid, an offer with an amount or date, a count answering "¿en cuántas cuotas?",
/// hardship, negotiation, cannot pay, call later, ask amount and any other offer. After those
/// come a first name at the identity question, "bueno" to open terms, and then the short
/// answers (repeat, goodbye, greeting, identity, no, yes).
pub(super) fn classify(words: &Words, expecting: Expecting, found: Found) -> Intent {
    let at_identity = matches!(expecting, Expecting::Identity | Expecting::VerificationDigits);
    let asked_for_terms = matches!(
        expecting,
        Expecting::PaymentOffer
            | Expecting::Amount
            | Expecting::Date
            | Expecting::OfferResponse
            | Expecting::Installments
    );
    let has_terms = found.amount || found.date;

    if asks_to_stop_contact(words) {
        return Intent::StopContact;
    }
    if said(words, |l| l.abusive) {
        return Intent::Abusive;
    }
    if said(words, |l| l.ask_for_human) {
        return Intent::AskHuman;
    }
    if said(words, |l| l.wrong_person) || (at_identity && said(words, |l| l.wrong_person_at_identity)) {
        return Intent::WrongPerson;
    }
    if said(words, |l| l.dispute) {
        return Intent::Dispute;
    }
    let paid_with_details = has_terms || expecting == Expecting::PaymentDetails;
    if says_already_paid(words) || (paid_with_details && mentions_past_payment(words)) {
        return Intent::AlreadyPaid;
    }
    // "No puedo pagar todo, pero puedo pagar la mitad el viernes" is an offer.
    if offers_payment(words) && has_terms {
        return Intent::PromiseToPay;
    }
    if expecting == Expecting::Installments && found.installments {
        return Intent::PromiseToPay;
    }
    if said(words, |l| l.hardship) {
        return Intent::Hardship;
    }
    if said(words, |l| l.negotiate) || found.installments {
        return Intent::Negotiate;
    }
    // "No puedo pagar todo" says no to the whole balance and offers nothing instead.
    let bare_refusal = asked_for_terms && refusal::is_bare_refusal(words);
    if said(words, |l| l.refuse_to_pay) || refusal::refuses_whole_balance(words) || bare_refusal {
        return Intent::CannotPay;
    }
    let names_when = found.date || found.time;
    let callback_time = (expecting == Expecting::CallbackTime && names_when) || (found.time && asks_for_a_call(words));
    if said(words, |l| l.call_later) || callback_time {
        return Intent::CallbackRequest;
    }
    if said(words, |l| l.ask_amount) {
        return Intent::AskAmount;
    }
    // An amount with a date ("$45.990 el viernes") is an offer whatever the bot asked.
    if offers_payment(words) || (has_terms && asked_for_terms) || (found.amount && found.date) {
        return Intent::PromiseToPay;
    }
    if expecting == Expecting::Identity && introduces_self(words) {
        return Intent::IdentityConfirm;
    }
    // "Bueno" is a greeting when a Mexican call starts, and an "OK" to terms the bot proposed.
    let terms_open = matches!(expecting, Expecting::OfferResponse | Expecting::PromiseConfirmation);
    if terms_open && is_plain_bueno(words) {
        return Intent::Affirm;
    }
    classify_short_answer(words)
}

/// Words that follow "this is", "soy" or "habla" without being a name: "this is his wife", "soy
/// su hermana", "this is ridiculous".
const NOT_A_NAME: &[&str] = &[
    "he",
    "she",
    "him",
    "her",
    "his",
    "me",
    "it",
    "not",
    "a",
    "an",
    "the",
    "my",
    "your",
    "their",
    "about",
    "regarding",
    "wrong",
    "who",
    "what",
    "ridiculous",
    "crazy",
    "insane",
    "harassment",
    "su",
    "sus",
    "el",
    "la",
    "un",
    "una",
    "yo",
    "de",
    "del",
    "otra",
    "otro",
    "quien",
];

/// "This is Robert", "yes this is maria speaking", "soy Carmen", "habla Jorge": the caller gives
/// a first name in answer to "¿Hablo con…?". The name is not checked against the debtor's, which
/// the interpreter does not know.
fn introduces_self(words: &Words) -> bool {
    let tokens: Vec<&str> = content_words(words)
        .skip_while(|word| matches!(*word, "yes" | "yeah" | "yep" | "si" | "hi"))
        .filter(|word| *word != "speaking")
        .collect();
    let name = match tokens.as_slice() {
        ["this", "is", name] | ["this", "is", name, _] | ["its", name] => name,
        ["soy", name] | ["soy", name, _] | ["habla", name] | ["habla", name, _] => name,
        _ => return false,
    };
    !NOT_A_NAME.contains(name) && !name.chars().all(|c| c.is_ascii_digit())
}

/// Tells whether the answer is only "bueno" and fillers, not asked as a question ("¿bueno?"
/// checks that the line works).
fn is_plain_bueno(words: &Words) -> bool {
    let tokens = words.tokens();
    !words.is_question()
        && tokens.iter().any(|token| token == "bueno")
        && tokens.iter().all(|token| matches!(token.as_str(), "bueno" | "pues" | "ya" | "entonces" | "ok"))
}

/// The answers left once nothing about the debt was said: repeat requests, goodbyes, greetings,
/// yes and no.
fn classify_short_answer(words: &Words) -> Intent {
    if asks_to_repeat(words) {
        return Intent::AskRepeat;
    }
    if said(words, |l| l.goodbye) {
        return Intent::Goodbye;
    }
    if said(words, |l| l.call_later_weak) {
        return Intent::CallbackRequest;
    }
    if said(words, |l| l.who_is_calling) {
        return Intent::Greeting;
    }
    if said_affirmed(words, |l| l.identity_confirm) {
        return Intent::IdentityConfirm;
    }
    if is_denial(words) {
        return Intent::Deny;
    }
    if opens_with(words, |l| l.affirm_openers) || said(words, |l| l.affirm) {
        return Intent::Affirm;
    }
    if is_greeting_only(words) {
        return Intent::Greeting;
    }
    Intent::Unknown
}

/// "¿Cómo?", "repita", "sorry, what?", and a lone "¿ah?" said as a question.
fn asks_to_repeat(words: &Words) -> bool {
    if said(words, |l| l.ask_repeat) {
        return true;
    }
    let tokens = words.tokens();
    let is_alone = |word: &str| LEXICONS.iter().any(|lexicon| lexicon.ask_repeat_alone.contains(&word));
    match tokens {
        [only] if is_alone(only) => true,
        [only] => words.is_question() && matches!(only.as_str(), "ah" | "eh" | "ha" | "mm" | "hm"),
        _ => false,
    }
}

/// Tells whether the turn is made only of greeting words: "¿bueno?", "aló", "hola, buenas tardes", "hello?".
fn is_greeting_only(words: &Words) -> bool {
    let is_greeting_word =
        |token: &String| LEXICONS.iter().any(|lexicon| lexicon.greeting_words.contains(&token.as_str()));
    !words.tokens().is_empty() && words.tokens().iter().all(is_greeting_word)
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
    if let Some(requested) = requested_language(words) {
        return Some(requested);
    }
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

/// Returns the language the caller asks for by name: "can we do this in English?", "¿habla
/// español?".
fn requested_language(words: &Words) -> Option<Language> {
    const ENGLISH: &[&str] = &[
        "in english",
        "speak english",
        "english please",
        "en ingles",
        "hablar ingles",
        "habla ingles",
        "hablas ingles",
    ];
    const SPANISH: &[&str] =
        &["in spanish", "speak spanish", "en espanol", "hablar espanol", "habla espanol", "hablas espanol"];
    match (words.contains_any(ENGLISH), words.contains_any(SPANISH)) {
        (true, false) => Some(Language::En),
        (false, true) => Some(Language::Es),
        _ => None,
    }
}
