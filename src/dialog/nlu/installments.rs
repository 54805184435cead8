//! Installment plans in speech: how many ("en tres cuotas", "a seis meses", "in four payments")
//! and how much each ("cuotas de 500", "300 a month").

use super::numbers::NumberSpan;
use super::text::Words;

/// The installment terms found in one turn.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Plan {
    /// The number of installments and the tokens that said it.
    pub count: Option<Counted>,
    /// The number said as the amount of each installment ("cuotas de 500").
    pub each: Option<NumberSpan>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Counted {
    pub count: u32,
    pub number: NumberSpan,
}

impl Plan {
    /// Tells whether the caller talked about installments at all.
    pub(crate) fn is_mentioned(&self) -> bool {
        self.count.is_some() || self.each.is_some()
    }

    /// Tells whether the number at `span` belongs to the plan, so it is not read as a total.
    pub(crate) fn uses(&self, span: &NumberSpan) -> bool {
        let count = self.count.is_some_and(|counted| counted.number.start == span.start);
        let each = self.each.is_some_and(|each| each.start == span.start);
        count || each
    }
}

/// The maximum installment count read from "a seis meses" or a bare number: six years of
/// monthly payments, a judgement rather than a rule. A number said right before an installment
/// word ("100 cuotas") is a count whatever its size, and the policy decides whether it is allowed.
const MAX_INSTALLMENTS: i64 = 72;

/// Words that name installments after their count: "3 cuotas", "four payments".
const INSTALLMENT_WORDS: &[&str] = &[
    "cuota",
    "cuotas",
    "pagos",
    "parcialidades",
    "mensualidades",
    "partes",
    "abonos",
    "letras",
    "payments",
    "installments",
];

/// Periods that make an amount a per-installment one: "500 al mes", "300 a month".
const PER_PERIOD: &[&[&str]] = &[
    &["al", "mes"],
    &["mensuales"],
    &["por", "mes"],
    &["cada", "mes"],
    &["a", "la", "semana"],
    &["semanales"],
    &["por", "semana"],
    &["quincenales"],
    &["cada", "quincena"],
    &["a", "month"],
    &["per", "month"],
    &["each", "month"],
    &["every", "month"],
    &["a", "week"],
    &["per", "week"],
    &["every", "week"],
];

/// Words that put a turn about installments, so "en doce meses" there is a term of twelve
/// monthly payments rather than a date a year away: "¿me lo dejan en pagos? como en doce meses".
const PLAN_CONTEXT: &[&str] = &[
    "cuotas",
    "pagos",
    "pagitos",
    "plazos",
    "mensualidades",
    "parcialidades",
    "abonos",
    "diferir",
    "diferido",
    "financiar",
    "refinanciar",
    "payments",
    "installments",
    "plan",
];

/// Words said between a count and the installment word: "three monthly payments".
const PLAN_ADJECTIVES: &[&str] = &["monthly", "equal", "separate", "small", "smaller", "weekly", "biweekly"];

/// Finds the installment terms. With `bare_count`, because the bot asked "¿en cuántas cuotas?",
/// a lone small number ("tres", "en 6") is the count.
pub(crate) fn find_plan(words: &Words, numbers: &[NumberSpan], bare_count: bool) -> Plan {
    let about_plan = words.tokens().iter().any(|token| PLAN_CONTEXT.contains(&token.as_str()));
    let count = numbers.iter().find_map(|span| counted_at(words, span, about_plan));
    let each = numbers.iter().find(|span| is_each_installment(words, span)).copied();
    let count = count.or_else(|| bare_count.then(|| bare_count_in(numbers)).flatten());
    Plan { count, each }
}

/// "3 cuotas", "en tres pagos", "a seis meses", "over six months", "three monthly payments".
/// With `about_plan`, "en doce meses" and "in twelve months" count too.
fn counted_at(words: &Words, span: &NumberSpan, about_plan: bool) -> Option<Counted> {
    let unit = unit_after(words, span)?;
    if INSTALLMENT_WORDS.contains(&unit) {
        let whole = span.whole().filter(|whole| *whole >= 1 && !span.is_article)?;
        return Some(Counted { count: u32::try_from(whole).ok()?, number: *span });
    }
    let count = small_count(span)?;
    let before = span.start.checked_sub(1).and_then(|index| words.get(index));
    let months_before = if about_plan { &["a", "over", "en", "in"][..] } else { &["a", "over"][..] };
    // "en 6 meses" alone is a date; "a 6 meses" and "over six months" are a plan.
    let is_plan = matches!(unit, "meses" | "months") && before.is_some_and(|word| months_before.contains(&word));
    is_plan.then_some(Counted { count, number: *span })
}

/// Returns the word after the number at `span`, past one adjective ("three monthly payments").
fn unit_after<'a>(words: &'a Words, span: &NumberSpan) -> Option<&'a str> {
    let unit = words.get(span.end)?;
    match PLAN_ADJECTIVES.contains(&unit) {
        true => words.get(span.end + 1),
        false => Some(unit),
    }
}

/// Tells whether the number at `span` counts installments or months ("100 cuotas", "6 meses"),
/// so it is never an amount, even when it is no plan the interpreter reports.
pub(crate) fn counts_periods(words: &Words, span: &NumberSpan) -> bool {
    unit_after(words, span).is_some_and(|unit| INSTALLMENT_WORDS.contains(&unit) || matches!(unit, "meses" | "months"))
}

fn small_count(span: &NumberSpan) -> Option<u32> {
    let whole = span.whole()?;
    if span.is_article || !(1..=MAX_INSTALLMENTS).contains(&whole) {
        return None;
    }
    u32::try_from(whole).ok()
}

fn bare_count_in(numbers: &[NumberSpan]) -> Option<Counted> {
    let span = numbers.iter().find(|span| small_count(span).is_some())?;
    Some(Counted { count: small_count(span)?, number: *span })
}

/// "cuotas de 500", "pagos de 20 lucas", "payments of 200", "500 al mes", "300 a month".
fn is_each_installment(words: &Words, span: &NumberSpan) -> bool {
    if span.is_article || span.hundredths <= 0 {
        return false;
    }
    let before = |back: usize| span.start.checked_sub(back).and_then(|index| words.get(index));
    let after_plan_word = matches!(before(1), Some("de" | "of"))
        && before(2).is_some_and(|word| INSTALLMENT_WORDS.contains(&word) || matches!(word, "pago" | "abono"));
    after_plan_word || is_per_period(words, span)
}

/// "500 al mes", "cien soles mensuales", "300 a month": an amount said per period. The period may
/// follow a currency word.
pub(crate) fn is_per_period(words: &Words, span: &NumberSpan) -> bool {
    [span.end, span.end + 1].iter().any(|&from| {
        PER_PERIOD.iter().any(|period| period.iter().enumerate().all(|(at, word)| words.get(from + at) == Some(word)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialog::nlu::numbers::find_numbers;

    fn plan(text: &str, bare_count: bool) -> (Option<u32>, Option<i64>) {
        let words = Words::new(text);
        let numbers = find_numbers(words.tokens());
        let plan = find_plan(&words, &numbers, bare_count);
        (plan.count.map(|counted| counted.count), plan.each.map(|each| each.hundredths / 100))
    }

    #[test]
    fn counts_in_every_wording() {
        assert_eq!(plan("en tres cuotas", false), (Some(3), None));
        assert_eq!(plan("en 3 pagos", false), (Some(3), None));
        assert_eq!(plan("a seis meses sin intereses", false), (Some(6), None));
        assert_eq!(plan("in four payments", false), (Some(4), None));
        assert_eq!(plan("lo puedo diferir a 12 cuotas", false), (Some(12), None));
    }

    #[test]
    fn months_after_en_are_a_date_not_a_plan() {
        assert_eq!(plan("le pago en 6 meses", false), (None, None));
    }

    #[test]
    fn amount_per_installment() {
        assert_eq!(plan("cuotas de 500", false), (None, Some(500)));
        assert_eq!(plan("en 3 cuotas de 20 lucas", false), (Some(3), Some(20)));
        assert_eq!(plan("en tres cuotas de 200 mil", false), (Some(3), Some(200_000)));
        assert_eq!(plan("i can pay 300 a month", false), (None, Some(300)));
        assert_eq!(plan("500 pesos al mes", false), (None, Some(500)));
    }

    #[test]
    fn bare_number_counts_only_when_asked() {
        assert_eq!(plan("tres", true), (Some(3), None));
        assert_eq!(plan("en 6", true), (Some(6), None));
        assert_eq!(plan("tres", false), (None, None));
        assert_eq!(plan("500", true), (None, None));
    }

    #[test]
    fn large_number_before_installment_word_is_count() {
        assert_eq!(plan("500 pagos", false), (Some(500), None));
        assert_eq!(plan("quiero pagar en 100 cuotas empezando el viernes", false), (Some(100), None));
    }

    #[test]
    fn large_number_before_meses_is_no_count() {
        assert_eq!(plan("a 100 meses", false), (None, None));
    }
}
