//! Backchannels: the short sounds a listener makes to show they are following ("ajá", "mhm",
//! "ok", "uh-huh"). Said over the bot, they are not a request to stop talking.

use super::text::Words;

/// Words that, alone or together, only signal listening. "Sí" belongs here only because the
/// check is made while the bot is talking, not in answer to a question.
const LISTENING_WORDS: &[&str] = &[
    "aja", "aha", "ajam", "uju", "ujum", "mhm", "mm", "mmm", "hm", "hmm", "um", "uh", "si", "ok", "okay", "oka",
    "vale", "claro", "ya", "bueno", "entiendo", "uh-huh", "uhhuh", "yeah", "yes", "yep", "right", "sure", "alright",
    "huh",
];

/// Longest backchannel, in words: "sí, sí, claro" is one; a sentence is not.
const MAX_WORDS: usize = 3;

/// Tells whether `text` is only a backchannel (or nothing at all: noise that produced no words).
pub fn is_backchannel(text: &str) -> bool {
    let words = Words::new(text);
    words.len() <= MAX_WORDS && words.tokens().iter().all(|word| LISTENING_WORDS.contains(&word.as_str()))
}

#[cfg(test)]
mod tests {
    use super::is_backchannel;

    #[test]
    fn listening_sounds_are_backchannels() {
        for text in ["ajá", "Ajá.", "mhm", "Sí, sí.", "ok", "claro", "uh-huh", "Sí, claro.", "Yeah, right.", ""] {
            assert!(is_backchannel(text), "{text:?}");
        }
    }

    #[test]
    fn answers_are_not_backchannels() {
        for text in
            ["no", "espere", "ya pagué", "sí, ya pagué todo", "¿quién habla?", "wait", "ok ok ok ok", "sí puedo pagar"]
        {
            assert!(!is_backchannel(text), "{text:?}");
        }
    }
}
