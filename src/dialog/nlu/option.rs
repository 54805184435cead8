//! Keypad options spoken: "uno", "el uno", "marco 1", "option two". The read-back and the
//! offers say "marque 1 para confirmar y 2 para corregir", so a caller who says the number
//! means the key, not an amount of one peso.

use super::numbers::NumberSpan;
use super::text::Words;

/// Words a caller puts around an option number without changing it.
const OPTION_WORDS: &[&str] = &[
    "el", "la", "opcion", "numero", "marco", "marca", "marcar", "presiono", "oprimo", "tecla", "digito", "option",
    "number", "press", "pressing", "i", "choose", "pick", "key",
];

/// Returns the option key ("1" or "2") when the whole turn is a single option number and
/// nothing else, such as "uno", "el dos" or "press one". A number with a currency or any other
/// word ("uno cincuenta", "dos mil", "1 peso") is no option.
pub(crate) fn option_key(words: &Words, numbers: &[NumberSpan]) -> Option<&'static str> {
    let [span] = numbers else {
        return None;
    };
    let others_are_option_words = words
        .tokens()
        .iter()
        .enumerate()
        .filter(|(index, _)| *index < span.start || *index >= span.end)
        .all(|(_, token)| OPTION_WORDS.contains(&token.as_str()));
    if !others_are_option_words {
        return None;
    }
    match span.hundredths {
        100 => Some("1"),
        200 => Some("2"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialog::nlu::numbers::find_numbers;

    fn key(text: &str) -> Option<&'static str> {
        let words = Words::new(text);
        let numbers = find_numbers(words.tokens());
        option_key(&words, &numbers)
    }

    #[test]
    fn spoken_option_numbers_are_keys() {
        assert_eq!(key("uno"), Some("1"));
        assert_eq!(key("1"), Some("1"));
        assert_eq!(key("el uno"), Some("1"));
        assert_eq!(key("marco uno"), Some("1"));
        assert_eq!(key("Opción 1."), Some("1"));
        assert_eq!(key("one"), Some("1"));
        assert_eq!(key("press one"), Some("1"));
        assert_eq!(key("dos"), Some("2"));
        assert_eq!(key("el 2"), Some("2"));
        assert_eq!(key("two"), Some("2"));
    }

    #[test]
    fn amounts_and_other_numbers_are_no_keys() {
        assert_eq!(key("uno cincuenta"), None);
        assert_eq!(key("quinientos"), None);
        assert_eq!(key("dos mil"), None);
        assert_eq!(key("1 peso"), None);
        assert_eq!(key("tres"), None);
        assert_eq!(key("uno y dos"), None);
    }
}
