//! Numbers in words and digits, both ways: [`spell_number`] writes what the bot says, and
//! [`find_numbers`] reads what the caller said ("cuatro mil quinientos", "4.500", "$4,500.00",
//! "fifteen hundred", "2 mil 500").

use crate::dialog::Language;

/// A number found in a transcript.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NumberSpan {
    /// Index of the first token.
    pub start: usize,
    /// Index one past the last token.
    pub end: usize,
    /// The value in hundredths, so "4,500.50" keeps its cents: 450050.
    pub hundredths: i64,
    /// The number is the single word "un", "una", "uno", "a" or "an", which is more often an
    /// article ("una semana", "un pago") than an amount.
    pub is_article: bool,
}

impl NumberSpan {
    pub(crate) fn whole(&self) -> Option<i64> {
        (self.hundredths % 100 == 0).then_some(self.hundredths / 100)
    }
}

/// Finds every number in `tokens`, left to right, each as long as the grammar allows, so "dos
/// tres" is two numbers and "dos mil trescientos" is one.
pub(crate) fn find_numbers(tokens: &[String]) -> Vec<NumberSpan> {
    let mut spans = Vec::new();
    let mut index = 0;
    while index < tokens.len() {
        match parse_number(tokens, index).map(|span| join_digit_groups(tokens, span)) {
            Some(span) => {
                index = span.end;
                spans.push(span);
            }
            None => index += 1,
        }
    }
    spans
}

/// Joins thousands groups that a recogniser wrote apart: "1 500" is 1500 and "1 500 000" is a
/// million and a half. Only a lone token of one to three plain digits starts such a number, and
/// each group after it has exactly three digits, so "12 34" stays two numbers.
fn join_digit_groups(tokens: &[String], span: NumberSpan) -> NumberSpan {
    let is_plain_digits = |token: &str, lengths: std::ops::RangeInclusive<usize>| {
        lengths.contains(&token.len()) && token.bytes().all(|b| b.is_ascii_digit())
    };
    if span.end != span.start + 1 || !is_plain_digits(&tokens[span.start], 1..=3) {
        return span;
    }
    let mut joined = span;
    while let Some(group) = tokens.get(joined.end).filter(|token| is_plain_digits(token, 3..=3)) {
        let Some(value) = group.parse::<i64>().ok().and_then(|group| {
            joined.hundredths.checked_mul(1_000)?.checked_add(group.checked_mul(100)?)
        }) else {
            break;
        };
        joined = NumberSpan { end: joined.end + 1, hundredths: value, is_article: false, ..joined };
    }
    if joined.end == span.end {
        return span;
    }
    // A scale word may still follow: "1 500 millones".
    match tokens.get(joined.end).and_then(|token| classify(token)) {
        Some(Word::Million) => scale(joined, 1_000_000),
        Some(Word::Thousand) => scale(joined, 1_000),
        _ => joined,
    }
}

fn scale(span: NumberSpan, factor: i64) -> NumberSpan {
    match span.hundredths.checked_mul(factor) {
        Some(hundredths) => NumberSpan { end: span.end + 1, hundredths, ..span },
        None => span,
    }
}

/// Reads the digits a caller gave for an identity check: "uno dos tres cuatro", "12 34",
/// "doce treinta y cuatro" and "1,234" all give "1234". Leading zeros written as digits stay.
pub(crate) fn spoken_digits(tokens: &[String]) -> Option<String> {
    let mut digits = String::new();
    let mut index = 0;
    while index < tokens.len() {
        let token = &tokens[index];
        if token.chars().any(|c| c.is_ascii_digit()) && parse_digit_token(token).is_some() {
            digits.extend(token.chars().filter(char::is_ascii_digit));
            index += 1;
            continue;
        }
        match parse_number(tokens, index) {
            Some(span) if !span.is_article || digits_context(tokens, index) => {
                if let Some(whole) = span.whole() {
                    digits.push_str(&whole.to_string());
                }
                index = span.end;
            }
            _ => index += 1,
        }
    }
    (!digits.is_empty()).then_some(digits)
}

/// "uno" said among other digits is a digit, not an article.
fn digits_context(tokens: &[String], index: usize) -> bool {
    let token = tokens[index].as_str();
    token == "uno" || token == "one" || index + 1 < tokens.len() && parse_number(tokens, index + 1).is_some()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Word {
    /// 0 to 9.
    Unit(i64),
    /// A complete value below 100 that takes no unit after it: "once", "veintidos", "fifteen".
    Fixed(i64),
    /// A multiple of ten that may take a unit after it: "treinta (y cuatro)", "twenty(-one)".
    Tens(i64),
    /// A Spanish hundreds word: "ciento", "quinientos". "cien" is 100 with nothing after it.
    Hundreds(i64),
    /// English "hundred", which multiplies what comes before it.
    Hundred,
    Thousand,
    Million,
    /// "y" or "and" between parts of one number.
    And,
    /// English "a" or "an" before a scale word: "a hundred", "a thousand".
    Article,
}

fn classify(token: &str) -> Option<Word> {
    let word = match token {
        "cero" | "zero" => Word::Unit(0),
        "un" | "uno" | "una" | "one" => Word::Unit(1),
        "dos" | "two" => Word::Unit(2),
        "tres" | "three" => Word::Unit(3),
        "cuatro" | "four" => Word::Unit(4),
        "cinco" | "five" => Word::Unit(5),
        "seis" | "six" => Word::Unit(6),
        "siete" | "seven" => Word::Unit(7),
        "ocho" | "eight" => Word::Unit(8),
        "nueve" | "nine" => Word::Unit(9),
        "diez" => Word::Tens(10),
        "ten" => Word::Fixed(10),
        "once" | "eleven" => Word::Fixed(11),
        "doce" | "twelve" => Word::Fixed(12),
        "trece" | "thirteen" => Word::Fixed(13),
        "catorce" | "fourteen" => Word::Fixed(14),
        "quince" | "fifteen" => Word::Fixed(15),
        "dieciseis" | "sixteen" => Word::Fixed(16),
        "diecisiete" | "seventeen" => Word::Fixed(17),
        "dieciocho" | "eighteen" => Word::Fixed(18),
        "diecinueve" | "nineteen" => Word::Fixed(19),
        "veinte" | "twenty" => Word::Tens(20),
        "veintiun" | "veintiuno" | "veintiuna" => Word::Fixed(21),
        "veintidos" => Word::Fixed(22),
        "veintitres" => Word::Fixed(23),
        "veinticuatro" => Word::Fixed(24),
        "veinticinco" => Word::Fixed(25),
        "veintiseis" => Word::Fixed(26),
        "veintisiete" => Word::Fixed(27),
        "veintiocho" => Word::Fixed(28),
        "veintinueve" => Word::Fixed(29),
        "treinta" | "thirty" => Word::Tens(30),
        "cuarenta" | "forty" | "fourty" => Word::Tens(40),
        "cincuenta" | "fifty" => Word::Tens(50),
        "sesenta" | "sixty" => Word::Tens(60),
        "setenta" | "seventy" => Word::Tens(70),
        "ochenta" | "eighty" => Word::Tens(80),
        "noventa" | "ninety" => Word::Tens(90),
        "cien" | "ciento" => Word::Hundreds(100),
        "doscientos" | "doscientas" => Word::Hundreds(200),
        "trescientos" | "trescientas" => Word::Hundreds(300),
        "cuatrocientos" | "cuatrocientas" => Word::Hundreds(400),
        "quinientos" | "quinientas" => Word::Hundreds(500),
        "seiscientos" | "seiscientas" => Word::Hundreds(600),
        "setecientos" | "setecientas" => Word::Hundreds(700),
        "ochocientos" | "ochocientas" => Word::Hundreds(800),
        "novecientos" | "novecientas" => Word::Hundreds(900),
        "hundred" => Word::Hundred,
        "mil" | "thousand" => Word::Thousand,
        "millon" | "millones" | "million" | "millions" => Word::Million,
        "y" | "and" => Word::And,
        "a" | "an" => Word::Article,
        _ => return None,
    };
    Some(word)
}

fn word_at(tokens: &[String], index: usize) -> Option<Word> {
    tokens.get(index).and_then(|token| classify(token))
}

/// Parses one complete number starting at `start`: `[count millón] [count mil] [group]`, where the
/// count of millions may itself hold thousands ("doscientos mil millones").
fn parse_number(tokens: &[String], start: usize) -> Option<NumberSpan> {
    // A number written in digits with a fraction or above 999 stands alone, unless a scale word
    // follows ("2.5 millones").
    if let Some(hundredths) = tokens.get(start).and_then(|token| parse_digit_token(token)) {
        if hundredths >= 100_000 || hundredths % 100 != 0 {
            return Some(scaled_digits(tokens, start, hundredths));
        }
    }

    let (mut total, mut position) = parse_below_million(tokens, start)?;
    if total > 0 && word_at(tokens, position) == Some(Word::Million) {
        total = total.checked_mul(1_000_000)?;
        position = skip_and(tokens, position + 1, parse_below_million);
        if let Some((rest, end)) = parse_below_million(tokens, position) {
            total = total.checked_add(rest)?;
            position = end;
        }
    }

    let is_article =
        position == start + 1 && matches!(tokens[start].as_str(), "un" | "uno" | "una" | "a" | "an" | "one");
    Some(NumberSpan { start, end: position, hundredths: total.checked_mul(100)?, is_article })
}

/// Parses `[group] mil [group]` or a lone group. "mil" alone is a thousand.
fn parse_below_million(tokens: &[String], start: usize) -> Option<(i64, usize)> {
    let group = parse_group(tokens, start);
    let after_group = group.map_or(start, |(_, end)| end);
    let count = group.map_or(1, |(value, _)| value);
    if count == 0 || word_at(tokens, after_group) != Some(Word::Thousand) {
        return group;
    }

    let mut value = count.checked_mul(1_000)?;
    let mut position = skip_and(tokens, after_group + 1, parse_group);
    if let Some((rest, end)) = parse_group(tokens, position) {
        value = value.checked_add(rest)?;
        position = end;
    }
    Some((value, position))
}

/// A parser of one part of a number: the value and the index after it.
type PartParser = fn(&[String], usize) -> Option<(i64, usize)>;

/// Skips a "y"/"and" at `position` when a number part follows it ("one thousand and five").
fn skip_and(tokens: &[String], position: usize, part: PartParser) -> usize {
    if word_at(tokens, position) == Some(Word::And) && part(tokens, position + 1).is_some() {
        position + 1
    } else {
        position
    }
}

fn scaled_digits(tokens: &[String], start: usize, hundredths: i64) -> NumberSpan {
    let scaled = match word_at(tokens, start + 1) {
        Some(Word::Million) => hundredths.checked_mul(1_000_000).map(|value| (value, start + 2)),
        Some(Word::Thousand) => hundredths.checked_mul(1_000).map(|value| (value, start + 2)),
        _ => None,
    };
    let (hundredths, end) = scaled.unwrap_or((hundredths, start + 1));
    NumberSpan { start, end, hundredths, is_article: false }
}

/// Parses a group below a thousand (or "fifteen hundred"), or a whole number in digits below a
/// thousand. Returns the value and the index after it.
fn parse_group(tokens: &[String], start: usize) -> Option<(i64, usize)> {
    if let Some(hundredths) = tokens.get(start).and_then(|token| parse_digit_token(token)) {
        return (hundredths % 100 == 0 && hundredths < 100_000).then_some((hundredths / 100, start + 1));
    }

    match word_at(tokens, start)? {
        Word::Hundreds(100) if tokens[start] == "cien" => Some((100, start + 1)),
        Word::Hundreds(hundreds) => match parse_below_hundred(tokens, start + 1) {
            Some((rest, end)) if rest > 0 => Some((hundreds + rest, end)),
            _ => Some((hundreds, start + 1)),
        },
        Word::Article => {
            let next = word_at(tokens, start + 1)?;
            match next {
                Word::Hundred => Some(english_hundreds(tokens, 1, start + 2)),
                Word::Thousand | Word::Million => Some((1, start + 1)),
                _ => None,
            }
        }
        _ => {
            let (value, end) = parse_below_hundred(tokens, start)?;
            if value > 0 && word_at(tokens, end) == Some(Word::Hundred) {
                return Some(english_hundreds(tokens, value, end + 1));
            }
            Some(english_short_hundreds(tokens, start, value, end).unwrap_or((value, end)))
        }
    }
}

/// Parses the rest of "N hundred [and] [M]", from the token after "hundred".
fn english_hundreds(tokens: &[String], multiplier: i64, after_hundred: usize) -> (i64, usize) {
    let mut position = after_hundred;
    if word_at(tokens, position) == Some(Word::And) && parse_below_hundred(tokens, position + 1).is_some() {
        position += 1;
    }
    match parse_below_hundred(tokens, position) {
        Some((rest, end)) if rest > 0 => (multiplier * 100 + rest, end),
        _ => (multiplier * 100, after_hundred),
    }
}

/// Reads the American way of saying prices without "hundred": "two fifty" is 250 and "four
/// ninety-nine" 499. Only an English unit word followed by an English tens word from twenty up
/// counts, so "one two" stays digits and "five nineteen" stays two numbers.
fn english_short_hundreds(tokens: &[String], start: usize, value: i64, end: usize) -> Option<(i64, usize)> {
    const ENGLISH_UNITS: [&str; 9] = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];
    const ENGLISH_TENS: [&str; 9] =
        ["twenty", "thirty", "forty", "fourty", "fifty", "sixty", "seventy", "eighty", "ninety"];
    let said_unit = end == start + 1 && ENGLISH_UNITS.contains(&tokens[start].as_str());
    if !said_unit || !tokens.get(end).is_some_and(|token| ENGLISH_TENS.contains(&token.as_str())) {
        return None;
    }
    let (rest, rest_end) = parse_below_hundred(tokens, end)?;
    let followed_by_scale = matches!(word_at(tokens, rest_end), Some(Word::Hundred | Word::Thousand | Word::Million));
    (!followed_by_scale).then_some((value * 100 + rest, rest_end))
}

fn parse_below_hundred(tokens: &[String], start: usize) -> Option<(i64, usize)> {
    match word_at(tokens, start)? {
        Word::Unit(unit) => Some((unit, start + 1)),
        Word::Fixed(value) => Some((value, start + 1)),
        Word::Tens(tens) => {
            // "treinta y cuatro", "diez y seis", and the English "twenty one".
            let unit_at = if word_at(tokens, start + 1) == Some(Word::And) { start + 2 } else { start + 1 };
            match word_at(tokens, unit_at) {
                Some(Word::Unit(unit)) if unit > 0 => Some((tens + unit, unit_at + 1)),
                _ => Some((tens, start + 1)),
            }
        }
        _ => None,
    }
}

/// Reads a number written in digits, in hundredths. "4500", "4.500" and "4,500" are 4500.
/// "4,500.50" and "4.500,50" keep their cents, and "12.5" is twelve and a half.
pub(crate) fn parse_digit_token(token: &str) -> Option<i64> {
    if token.is_empty() || !token.chars().all(|c| c.is_ascii_digit() || c == '.' || c == ',') {
        return None;
    }
    if !token.starts_with(|c: char| c.is_ascii_digit()) || !token.ends_with(|c: char| c.is_ascii_digit()) {
        return None;
    }

    let (whole, fraction) = split_decimal(token);
    let whole_digits: String = whole.chars().filter(char::is_ascii_digit).collect();
    let whole_value: i64 = whole_digits.parse().ok()?;
    let fraction_value: i64 = match fraction.len() {
        0 => 0,
        1 => fraction.parse::<i64>().ok()? * 10,
        _ => fraction.parse().ok()?,
    };
    whole_value.checked_mul(100)?.checked_add(fraction_value)
}

/// Splits off a decimal part. The last separator starts one when one or two digits follow it.
/// A separator followed by three digits groups thousands.
fn split_decimal(token: &str) -> (&str, &str) {
    let Some(last) = token.rfind(['.', ',']) else {
        return (token, "");
    };
    let separator = token.as_bytes()[last] as char;
    let other = if separator == '.' { ',' } else { '.' };
    let before = &token[..last];
    let after = &token[last + 1..];
    // "1.000.000" groups thousands with every dot; "4.500,50" switches to a decimal comma.
    let is_decimal = after.len() <= 2 && (!before.contains(separator) || before.contains(other));
    if is_decimal {
        (&token[..last], after)
    } else {
        (token, "")
    }
}

/// Writes `n` in words as a voice says it: "cuatro mil quinientos", "veintiún mil",
/// "un millón doscientos mil"; "four thousand five hundred" in English.
pub fn spell_number(n: i64, lang: Language) -> String {
    let magnitude = n.unsigned_abs();
    let words = match lang {
        Language::Es => spanish::spell(magnitude),
        Language::En => english::spell(magnitude),
    };
    if n >= 0 {
        return words;
    }
    match lang {
        Language::Es => format!("menos {words}"),
        Language::En => format!("minus {words}"),
    }
}

/// Spanish shortens "uno" to "un" before a noun: "veintiún pesos", "un peso", "treinta y un días".
pub(crate) fn spell_before_noun(n: i64, lang: Language) -> String {
    let words = spell_number(n, lang);
    if lang != Language::Es {
        return words;
    }
    if let Some(stem) = words.strip_suffix("veintiuno") {
        return format!("{stem}veintiún");
    }
    if let Some(stem) = words.strip_suffix("uno") {
        return format!("{stem}un");
    }
    words
}

mod spanish {
    const UNITS: [&str; 30] = [
        "cero",
        "uno",
        "dos",
        "tres",
        "cuatro",
        "cinco",
        "seis",
        "siete",
        "ocho",
        "nueve",
        "diez",
        "once",
        "doce",
        "trece",
        "catorce",
        "quince",
        "dieciséis",
        "diecisiete",
        "dieciocho",
        "diecinueve",
        "veinte",
        "veintiuno",
        "veintidós",
        "veintitrés",
        "veinticuatro",
        "veinticinco",
        "veintiséis",
        "veintisiete",
        "veintiocho",
        "veintinueve",
    ];
    const TENS: [&str; 10] =
        ["", "", "", "treinta", "cuarenta", "cincuenta", "sesenta", "setenta", "ochenta", "noventa"];
    const HUNDREDS: [&str; 10] = [
        "",
        "ciento",
        "doscientos",
        "trescientos",
        "cuatrocientos",
        "quinientos",
        "seiscientos",
        "setecientos",
        "ochocientos",
        "novecientos",
    ];
    /// Spanish counts in millions of millions: millón 10^6, billón 10^12, trillón 10^18.
    const SCALES: [(u64, &str, &str); 3] = [
        (1_000_000_000_000_000_000, "trillón", "trillones"),
        (1_000_000_000_000, "billón", "billones"),
        (1_000_000, "millón", "millones"),
    ];

    pub(super) fn spell(n: u64) -> String {
        if n == 0 {
            return UNITS[0].to_string();
        }
        let mut parts: Vec<String> = Vec::new();
        let mut rest = n;
        for (scale, singular, plural) in SCALES {
            let count = rest / scale;
            rest %= scale;
            match count {
                0 => {}
                1 => parts.push(format!("un {singular}")),
                _ => parts.push(format!("{} {plural}", apocope(&below_million(count)))),
            }
        }
        if rest > 0 {
            parts.push(below_million(rest));
        }
        parts.join(" ")
    }

    fn below_million(n: u64) -> String {
        let thousands = n / 1000;
        let rest = n % 1000;
        let mut parts = Vec::new();
        match thousands {
            0 => {}
            1 => parts.push("mil".to_string()),
            _ => parts.push(format!("{} mil", apocope(&below_thousand(thousands)))),
        }
        if rest > 0 {
            parts.push(below_thousand(rest));
        }
        parts.join(" ")
    }

    fn below_thousand(n: u64) -> String {
        if n == 100 {
            return "cien".to_string();
        }
        let hundreds = (n / 100) as usize;
        let rest = n % 100;
        let mut parts = Vec::new();
        if hundreds > 0 {
            parts.push(HUNDREDS[hundreds].to_string());
        }
        if rest > 0 {
            parts.push(below_hundred(rest));
        }
        parts.join(" ")
    }

    fn below_hundred(n: u64) -> String {
        if n < 30 {
            return UNITS[n as usize].to_string();
        }
        let tens = TENS[(n / 10) as usize];
        match n % 10 {
            0 => tens.to_string(),
            unit => format!("{tens} y {}", UNITS[unit as usize]),
        }
    }

    /// "uno" before "mil" or "millones" becomes "un" ("veintiún mil", "treinta y un millones").
    fn apocope(words: &str) -> String {
        if let Some(stem) = words.strip_suffix("veintiuno") {
            return format!("{stem}veintiún");
        }
        if let Some(stem) = words.strip_suffix("uno") {
            return format!("{stem}un");
        }
        words.to_string()
    }
}

mod english {
    const UNITS: [&str; 20] = [
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
    ];
    const TENS: [&str; 10] = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"];
    const SCALES: [(u64, &str); 6] = [
        (1_000_000_000_000_000_000, "quintillion"),
        (1_000_000_000_000_000, "quadrillion"),
        (1_000_000_000_000, "trillion"),
        (1_000_000_000, "billion"),
        (1_000_000, "million"),
        (1_000, "thousand"),
    ];

    pub(super) fn spell(n: u64) -> String {
        if n == 0 {
            return UNITS[0].to_string();
        }
        let mut parts = Vec::new();
        let mut rest = n;
        for (scale, name) in SCALES {
            let count = rest / scale;
            rest %= scale;
            if count > 0 {
                parts.push(format!("{} {name}", below_thousand(count)));
            }
        }
        if rest > 0 {
            parts.push(below_thousand(rest));
        }
        parts.join(" ")
    }

    fn below_thousand(n: u64) -> String {
        let hundreds = (n / 100) as usize;
        let rest = n % 100;
        let mut parts = Vec::new();
        if hundreds > 0 {
            parts.push(format!("{} hundred", UNITS[hundreds]));
        }
        if rest > 0 {
            parts.push(below_hundred(rest));
        }
        parts.join(" ")
    }

    fn below_hundred(n: u64) -> String {
        if n < 20 {
            return UNITS[n as usize].to_string();
        }
        let tens = TENS[(n / 10) as usize];
        match n % 10 {
            0 => tens.to_string(),
            unit => format!("{tens}-{}", UNITS[unit as usize]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialog::nlu::text::Words;
    use proptest::prelude::*;

    fn numbers(text: &str) -> Vec<i64> {
        find_numbers(Words::new(text).tokens()).iter().map(|span| span.hundredths / 100).collect()
    }

    fn hundredths(text: &str) -> Vec<i64> {
        find_numbers(Words::new(text).tokens()).iter().map(|span| span.hundredths).collect()
    }

    fn digits(text: &str) -> Option<String> {
        spoken_digits(Words::new(text).tokens())
    }

    #[test]
    fn spanish_spelling_of_landmarks() {
        let cases = [
            (0, "cero"),
            (1, "uno"),
            (16, "dieciséis"),
            (21, "veintiuno"),
            (100, "cien"),
            (101, "ciento uno"),
            (1_000, "mil"),
            (1_500, "mil quinientos"),
            (2_350, "dos mil trescientos cincuenta"),
            (4_500, "cuatro mil quinientos"),
            (21_000, "veintiún mil"),
            (31_000, "treinta y un mil"),
            (101_000, "ciento un mil"),
            (500_000, "quinientos mil"),
            (1_000_000, "un millón"),
            (1_200_000, "un millón doscientos mil"),
            (21_000_000, "veintiún millones"),
            (2_000_000_000_000, "dos billones"),
            (-5, "menos cinco"),
        ];
        for (n, words) in cases {
            assert_eq!(spell_number(n, Language::Es), words, "spelling {n}");
        }
    }

    #[test]
    fn english_spelling_of_landmarks() {
        let cases = [
            (0, "zero"),
            (21, "twenty-one"),
            (105, "one hundred five"),
            (1_500, "one thousand five hundred"),
            (4_500, "four thousand five hundred"),
            (1_200_000, "one million two hundred thousand"),
        ];
        for (n, words) in cases {
            assert_eq!(spell_number(n, Language::En), words, "spelling {n}");
        }
    }

    #[test]
    fn extreme_values_spell_without_overflow() {
        assert!(spell_number(i64::MIN, Language::Es).starts_with("menos nueve trillones"));
        assert!(spell_number(i64::MAX, Language::En).starts_with("nine quintillion"));
    }

    #[test]
    fn apocope_before_a_noun() {
        assert_eq!(spell_before_noun(1, Language::Es), "un");
        assert_eq!(spell_before_noun(21, Language::Es), "veintiún");
        assert_eq!(spell_before_noun(4_531, Language::Es), "cuatro mil quinientos treinta y un");
        assert_eq!(spell_before_noun(21, Language::En), "twenty-one");
    }

    #[test]
    fn spanish_words_parse() {
        assert_eq!(numbers("cuatro mil quinientos"), [4_500]);
        assert_eq!(numbers("mil quinientos"), [1_500]);
        assert_eq!(numbers("dos mil trescientos cincuenta"), [2_350]);
        assert_eq!(numbers("un millón"), [1_000_000]);
        assert_eq!(numbers("quinientos mil"), [500_000]);
        assert_eq!(numbers("veintiún mil"), [21_000]);
        assert_eq!(numbers("diez y seis"), [16]);
        assert_eq!(numbers("doscientas"), [200]);
    }

    #[test]
    fn english_words_parse() {
        assert_eq!(numbers("fifteen hundred"), [1_500]);
        assert_eq!(numbers("two thousand five hundred"), [2_500]);
        assert_eq!(numbers("a hundred and five"), [105]);
        assert_eq!(numbers("twenty-one"), [21]);
        assert_eq!(numbers("a thousand"), [1_000]);
    }

    #[test]
    fn digits_with_separators_parse() {
        assert_eq!(hundredths("4.500"), [450_000]);
        assert_eq!(hundredths("4,500"), [450_000]);
        assert_eq!(hundredths("$4,500.00"), [450_000]);
        assert_eq!(hundredths("4.500,50"), [450_050]);
        assert_eq!(hundredths("1.000.000"), [100_000_000]);
        assert_eq!(hundredths("12.5"), [1_250]);
        assert_eq!(hundredths("4500"), [450_000]);
    }

    #[test]
    fn digits_mix_with_scale_words() {
        assert_eq!(numbers("2 mil 500"), [2_500]);
        assert_eq!(numbers("1.5 millones"), [1_500_000]);
        assert_eq!(numbers("mil 200"), [1_200]);
    }

    #[test]
    fn american_prices_without_hundred() {
        assert_eq!(numbers("two fifty"), [250]);
        assert_eq!(numbers("four ninety nine"), [499]);
        assert_eq!(numbers("one two three four"), [1, 2, 3, 4]);
        assert_eq!(numbers("five nineteen"), [5, 19]);
        assert_eq!(numbers("dos cincuenta"), [2, 50]);
        assert_eq!(numbers("two thousand fifty"), [2_050]);
    }

    #[test]
    fn thousands_groups_written_apart_join() {
        assert_eq!(numbers("1 500"), [1_500]);
        assert_eq!(numbers("1 500 000 pesos"), [1_500_000]);
        assert_eq!(numbers("le doy 20 000"), [20_000]);
        assert_eq!(numbers("12 34"), [12, 34]);
        assert_eq!(numbers("15 03 1985"), [15, 3, 1_985]);
        assert_eq!(numbers("1234 500"), [1_234, 500]);
    }

    #[test]
    fn separate_numbers_stay_separate() {
        assert_eq!(numbers("dos tres"), [2, 3]);
        assert_eq!(numbers("doce treinta y cuatro"), [12, 34]);
        assert_eq!(numbers("cuatro mil quinientos y el viernes"), [4_500]);
        assert_eq!(numbers("cero cero"), [0, 0]);
    }

    #[test]
    fn identity_digits_read_in_every_form() {
        assert_eq!(digits("uno dos tres cuatro").as_deref(), Some("1234"));
        assert_eq!(digits("1234").as_deref(), Some("1234"));
        assert_eq!(digits("12 34").as_deref(), Some("1234"));
        assert_eq!(digits("1, 2, 3, 4.").as_deref(), Some("1234"));
        assert_eq!(digits("doce treinta y cuatro").as_deref(), Some("1234"));
        assert_eq!(digits("cero uno cero dos").as_deref(), Some("0102"));
        assert_eq!(digits("0102").as_deref(), Some("0102"));
        assert_eq!(digits("one two three four").as_deref(), Some("1234"));
        assert_eq!(digits("son uno, dos, tres, cuatro").as_deref(), Some("1234"));
        assert_eq!(digits("no me acuerdo"), None);
    }

    proptest! {
        #[test]
        fn spanish_words_round_trip(n in 0i64..10_000_000) {
            let words = spell_number(n, Language::Es);
            prop_assert_eq!(numbers(&words), vec![n], "words: {}", words);
        }

        #[test]
        fn english_words_round_trip(n in 0i64..10_000_000) {
            let words = spell_number(n, Language::En);
            prop_assert_eq!(numbers(&words), vec![n], "words: {}", words);
        }

        #[test]
        fn words_before_a_noun_round_trip(n in 1i64..10_000_000) {
            let words = format!("{} pesos", spell_before_noun(n, Language::Es));
            prop_assert_eq!(numbers(&words), vec![n], "words: {}", words);
        }

        #[test]
        fn grouped_digits_round_trip(n in 0i64..10_000_000) {
            let grouped = group_thousands(n, '.');
            prop_assert_eq!(numbers(&grouped), vec![n]);
            let grouped = group_thousands(n, ',');
            prop_assert_eq!(numbers(&grouped), vec![n]);
        }
    }

    fn group_thousands(n: i64, separator: char) -> String {
        let digits = n.to_string();
        let mut out = String::new();
        for (index, digit) in digits.chars().enumerate() {
            if index > 0 && (digits.len() - index).is_multiple_of(3) {
                out.push(separator);
            }
            out.push(digit);
        }
        out
    }
}
