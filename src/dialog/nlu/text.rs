//! Normalised words of a transcript: lower case, accents and punctuation dropped, so "¿Sí, soy
//! yo?" and "si soy yo" read the same. Separators inside numbers ("4.500", "$4,500.00") survive.

/// A transcript as a list of plain words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Words {
    tokens: Vec<String>,
    /// The tokens joined by single spaces, with a space at both ends, for phrase matching.
    padded: String,
    /// The transcript contains a question mark: "¿ah?" asks to repeat where "ah..." does not.
    is_question: bool,
}

impl Words {
    pub(crate) fn new(text: &str) -> Words {
        let tokens: Vec<String> = split_tokens(text).into_iter().map(strip_ordinal_suffix).collect();
        let padded = format!(" {} ", tokens.join(" "));
        Words { tokens, padded, is_question: text.contains('?') }
    }

    pub(crate) fn is_question(&self) -> bool {
        self.is_question
    }

    pub(crate) fn tokens(&self) -> &[String] {
        &self.tokens
    }

    pub(crate) fn get(&self, index: usize) -> Option<&str> {
        self.tokens.get(index).map(String::as_str)
    }

    pub(crate) fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Returns a copy with the tokens from `start` to `end` replaced by "_", a word no grammar
    /// reads, so that indices stay the same and no number or date is read there.
    pub(crate) fn masked(&self, start: usize, end: usize) -> Words {
        let tokens: Vec<String> = self
            .tokens
            .iter()
            .enumerate()
            .map(|(index, token)| match (start..end).contains(&index) {
                true => "_".to_string(),
                false => token.clone(),
            })
            .collect();
        let padded = format!(" {} ", tokens.join(" "));
        Words { tokens, padded, is_question: self.is_question }
    }

    /// Tells whether `phrase` occurs as whole words. A phrase ending in `*` matches any word
    /// that starts with its last word ("ocupad*" matches "ocupado" and "ocupada").
    pub(crate) fn contains(&self, phrase: &str) -> bool {
        self.find(phrase).is_some()
    }

    /// Tells whether `phrase` occurs with no negation ("no", "not", "never") right before it.
    pub(crate) fn contains_affirmed(&self, phrase: &str) -> bool {
        let mut from = 0;
        while let Some(at) = self.find_from(phrase, from) {
            let before = self.padded[..at].split_whitespace().last();
            if !before.is_some_and(is_negation) {
                return true;
            }
            from = at + 1;
        }
        false
    }

    /// Tells whether `phrase` occurs where the nearest word before it, after skipping any of
    /// `skipped`, is not one of `cues`: "pagué" counts in "ya lo pagué" but not in "que le pague".
    pub(crate) fn contains_without_cue(&self, phrase: &str, cues: &[&str], skipped: &[&str]) -> bool {
        let mut from = 0;
        while let Some(at) = self.find_from(phrase, from) {
            let before = self.padded[..at].split_whitespace().rev().find(|word| !skipped.contains(word));
            if !before.is_some_and(|word| cues.contains(&word)) {
                return true;
            }
            from = at + 1;
        }
        false
    }

    pub(crate) fn contains_any(&self, phrases: &[&str]) -> bool {
        phrases.iter().any(|phrase| self.contains(phrase))
    }

    fn find(&self, phrase: &str) -> Option<usize> {
        self.find_from(phrase, 0)
    }

    /// Byte offset in `padded` of the space before the first match at or after `from`.
    fn find_from(&self, phrase: &str, from: usize) -> Option<usize> {
        let needle = match phrase.strip_suffix('*') {
            Some(stem) => format!(" {stem}"),
            None => format!(" {phrase} "),
        };
        self.padded.get(from..)?.find(&needle).map(|at| at + from)
    }
}

fn is_negation(word: &str) -> bool {
    matches!(word, "no" | "nunca" | "tampoco" | "not" | "never" | "cant" | "wont" | "dont")
}

fn split_tokens(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().flat_map(char::to_lowercase).map(fold_accent).collect();
    let mut tokens = Vec::new();
    let mut current = String::new();
    let flush = |current: &mut String, tokens: &mut Vec<String>| {
        if !current.is_empty() {
            tokens.push(std::mem::take(current));
        }
    };

    for (index, &c) in chars.iter().enumerate() {
        let previous_is_digit = index > 0 && chars[index - 1].is_ascii_digit();
        let next_is_digit = chars.get(index + 1).is_some_and(char::is_ascii_digit);
        match c {
            'a'..='z' | '0'..='9' => current.push(c),
            // A separator inside a number stays: "4.500", "4,500.00".
            '.' | ',' if previous_is_digit && next_is_digit => current.push(c),
            // A clock time stays one word: "17:30".
            ':' if previous_is_digit && next_is_digit => current.push(c),
            // Contractions become one word: "don't" reads "dont".
            '\'' | '’' => {}
            '$' | '%' => {
                flush(&mut current, &mut tokens);
                tokens.push(c.to_string());
            }
            _ => flush(&mut current, &mut tokens),
        }
    }
    flush(&mut current, &mut tokens);
    tokens
}

fn fold_accent(c: char) -> char {
    match c {
        'á' | 'à' | 'ä' | 'â' | 'ã' => 'a',
        'é' | 'è' | 'ë' | 'ê' => 'e',
        'í' | 'ì' | 'ï' | 'î' => 'i',
        'ó' | 'ò' | 'ö' | 'ô' | 'õ' => 'o',
        'ú' | 'ù' | 'ü' | 'û' => 'u',
        'ñ' => 'n',
        'ç' => 'c',
        other => other,
    }
}

/// Turns "15th", "1st", "1ro" and "2do" into their digits; other tokens pass unchanged.
fn strip_ordinal_suffix(token: String) -> String {
    let digits_end = token.find(|c: char| !c.is_ascii_digit()).unwrap_or(token.len());
    if digits_end == 0 || digits_end == token.len() {
        return token;
    }
    let suffix = &token[digits_end..];
    if matches!(suffix, "st" | "nd" | "rd" | "th" | "ro" | "er" | "ero" | "do" | "to" | "vo" | "mo" | "no" | "o") {
        return token[..digits_end].to_string();
    }
    token
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(text: &str) -> Vec<String> {
        Words::new(text).tokens().to_vec()
    }

    #[test]
    fn accents_case_and_punctuation_are_dropped() {
        assert_eq!(tokens("¿Sí, SOY yo? ¡Mañana!"), ["si", "soy", "yo", "manana"]);
    }

    #[test]
    fn separators_inside_numbers_survive() {
        assert_eq!(tokens("$4,500.00 pesos, 4.500."), ["$", "4,500.00", "pesos", "4.500"]);
    }

    #[test]
    fn clock_time_stays_one_word() {
        assert_eq!(tokens("a las 17:30."), ["a", "las", "17:30"]);
    }

    #[test]
    fn ordinal_suffixes_are_stripped() {
        assert_eq!(tokens("December 15th, el 1ro"), ["december", "15", "el", "1"]);
    }

    #[test]
    fn contractions_join() {
        assert_eq!(tokens("I don't know, I'm busy"), ["i", "dont", "know", "im", "busy"]);
    }

    #[test]
    fn phrases_match_whole_words_only() {
        let words = Words::new("Estoy ocupada, no puedo");
        assert!(words.contains("estoy ocupad*"));
        assert!(words.contains("no puedo"));
        assert!(!words.contains("puedo pagar"));
        assert!(!Words::new("sino").contains("si"));
    }

    #[test]
    fn negated_phrase_is_not_affirmed() {
        assert!(!Words::new("no voy a pagar").contains_affirmed("voy a pagar"));
        assert!(Words::new("no puedo todo pero puedo pagar la mitad").contains_affirmed("puedo pagar"));
    }
}
