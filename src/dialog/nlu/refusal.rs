//! Short refusals that the phrase lists cannot tell apart from other answers: a "no" to the
//! whole balance ("no puedo pagar todo", "todo junto no") and a bare "no tengo" or "I can't"
//! in answer to a payment question.

use super::text::Words;

/// Words that name the whole balance. "De contado" is paying it at once.
const WHOLE: &[&str] = &["todo", "toda", "total", "completo", "completa", "entero", "entera", "contado"];

/// Verbs of being able to pay: one of them must sit between the negation and "todo", so that
/// "no, todo bien" stays a plain "no".
const CAPACITY: &[&str] =
    &["puedo", "podria", "podre", "alcanza", "alcanzo", "alcanzaria", "tengo", "pago", "doy", "cubro", "junto", "voy"];

/// Words that may sit between the negation and "todo": "no me alcanza para todo", "no le
/// puedo pagar todo ahorita".
const BRIDGE: &[&str] = &[
    "me",
    "le",
    "les",
    "lo",
    "la",
    "se",
    "te",
    "a",
    "para",
    "con",
    "el",
    "de",
    "ahorita",
    "ahora",
    "pagar",
    "pagarle",
    "pagarles",
    "pagarlo",
    "dar",
    "darle",
    "darles",
    "cubrir",
    "juntar",
    "completar",
    "poder",
];

/// Words that may follow "todo" before a negation: "todo junto no", "todo de una vez no puedo".
const AFTER_WHOLE: &[&str] =
    &["junto", "completo", "completa", "de", "una", "vez", "golpe", "el", "saldo", "la", "deuda", "ahorita", "ahora"];

/// Words before "todo" that make a final "no" a tag question: "eso es todo, ¿no?".
const TAG_QUESTION_LEADS: &[&str] = &["es", "seria", "sea", "era", "fue"];

/// Tells whether the caller says they cannot pay the whole balance: a negated capacity verb
/// before "todo" ("no puedo pagar todo", "ahorita no puedo todo") or a "no" after it ("todo junto
/// no", "todo no puedo").
pub(super) fn refuses_whole_balance(words: &Words) -> bool {
    let tokens = words.tokens();
    tokens.iter().enumerate().filter(|(_, token)| WHOLE.contains(&token.as_str())).any(|(at, _)| {
        negated_before(&tokens[..at]) || negated_after(&tokens[at + 1..], tokens[..at].last(), words.is_question())
    })
}

fn negated_before(before: &[String]) -> bool {
    let mut saw_capacity = false;
    for word in before.iter().rev().take(5) {
        match word.as_str() {
            "no" | "ni" => return saw_capacity,
            word if CAPACITY.contains(&word) => saw_capacity = true,
            word if BRIDGE.contains(&word) => {}
            _ => return false,
        }
    }
    false
}

fn negated_after(after: &[String], lead: Option<&String>, is_question: bool) -> bool {
    let Some(at) = after.iter().position(|word| !AFTER_WHOLE.contains(&word.as_str())) else {
        return false;
    };
    if after[at] != "no" {
        return false;
    }
    let rest = &after[at + 1..];
    match rest.first().map(String::as_str) {
        Some(word) => CAPACITY.contains(&word) || BRIDGE.contains(&word),
        // "Todo junto no" ends the turn, unless it is a tag question ("¿es todo, no?").
        None => !is_question && !lead.is_some_and(|word| TAG_QUESTION_LEADS.contains(&word.as_str())),
    }
}

/// Hedges before a bare refusal: "no sé, no tengo", "sorry, I can't".
const HEDGES: &[&[&str]] = &[
    &["no", "se"],
    &["no", "lo", "se"],
    &["la", "verdad"],
    &["pues"],
    &["bueno"],
    &["mire"],
    &["ay"],
    &["no"],
    &["nope"],
    &["sorry"],
    &["well"],
    &["honestly"],
    &["i", "dont", "know"],
    &["i", "mean"],
];

/// Bare refusals that mean "I cannot pay" when they are the whole answer to a payment question.
const BARE_REFUSALS: &[&[&str]] = &[
    &["no", "tengo"],
    &["no", "tengo", "nada"],
    &["no", "hay"],
    &["no", "puedo"],
    &["no", "podria"],
    &["no", "le", "puedo"],
    &["i", "cant"],
    &["i", "cannot"],
    &["i", "can", "not"],
    &["i", "cant", "do", "that"],
    &["i", "cant", "do", "it"],
    &["i", "cant", "do", "this"],
    &["cant", "do", "it"],
    &["cant", "do", "that"],
    &["i", "cant", "right", "now"],
];

/// Words that may close a bare refusal: "no tengo ahorita", "I can't right now, sorry".
const CLOSING: &[&str] = &[
    "ahorita", "ahora", "orita", "por", "el", "momento", "en", "este", "pues", "la", "verdad", "now", "right", "today",
    "sorry", "anymore", "honestly", "senorita", "joven", "mijo", "mija",
];

/// Tells whether the whole answer is a bare refusal, after any hedges: "no sé, no tengo",
/// "pues ahorita no tengo", "i can't". Only meaningful as an answer to a payment question, where
/// "no tengo" cannot be about anything but money.
pub(super) fn is_bare_refusal(words: &Words) -> bool {
    let mut rest: &[String] = words.tokens();
    rest = skip_closing_or_hedges(rest);
    BARE_REFUSALS.iter().any(|refusal| {
        rest.len() >= refusal.len()
            && rest.iter().zip(refusal.iter()).all(|(token, word)| token == word)
            && rest[refusal.len()..].iter().all(|token| CLOSING.contains(&token.as_str()))
    })
}

/// Drops hedges and time words from the front, as long as what is left can still hold a refusal
/// ("no sé, no tengo" drops "no sé" but "no tengo" keeps its "no").
fn skip_closing_or_hedges(mut rest: &[String]) -> &[String] {
    loop {
        if BARE_REFUSALS.iter().any(|refusal| starts_with(rest, refusal)) {
            return rest;
        }
        let hedge = HEDGES.iter().find(|hedge| starts_with(rest, hedge));
        let skipped = match hedge {
            Some(hedge) => hedge.len(),
            None if rest.first().is_some_and(|word| CLOSING.contains(&word.as_str())) => 1,
            None => return rest,
        };
        rest = &rest[skipped..];
    }
}

fn starts_with(tokens: &[String], phrase: &[&str]) -> bool {
    tokens.len() >= phrase.len() && tokens.iter().zip(phrase.iter()).all(|(token, word)| token == word)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(text: &str) -> bool {
        refuses_whole_balance(&Words::new(text))
    }

    fn bare(text: &str) -> bool {
        is_bare_refusal(&Words::new(text))
    }

    #[test]
    fn negation_before_todo_refuses_the_balance() {
        assert!(whole("no puedo pagar todo"));
        assert!(whole("no, ahorita no puedo todo"));
        assert!(whole("no me alcanza para todo"));
        assert!(whole("no le puedo dar todo completo"));
    }

    #[test]
    fn negation_after_todo_refuses_the_balance() {
        assert!(whole("no, todo junto no"));
        assert!(whole("todo no puedo"));
        assert!(whole("todo completo no le puedo dar"));
        assert!(whole("de contado no"));
    }

    #[test]
    fn todo_without_a_refusal_is_not_one() {
        assert!(!whole("no, todo bien"));
        assert!(!whole("le pago todo el viernes"));
        assert!(!whole("eso es todo, ¿no?"));
        assert!(!whole("eso es todo no"));
    }

    #[test]
    fn bare_refusals_after_hedges() {
        assert!(bare("no sé, no tengo"));
        assert!(bare("pues ahorita no tengo"));
        assert!(bare("i can't"));
        assert!(bare("i cant"));
        assert!(bare("no, i can't do that"));
        assert!(bare("no puedo"));
    }

    #[test]
    fn longer_answers_are_not_bare_refusals() {
        assert!(!bare("no tengo la tarjeta aquí"));
        assert!(!bare("i can't hear you"));
        assert!(!bare("no sé"));
        assert!(!bare("no"));
    }
}
