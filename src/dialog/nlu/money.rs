//! Amounts in speech, both ways: [`find_amount`] reads what the caller offered ("cuatro mil
//! quinientos pesos", "$4,500.00", "la mitad", "el total"), and [`spoken_money`] writes an
//! amount as the bot says it.

use super::numbers::{spell_before_noun, NumberSpan};
use super::text::Words;
use super::Dialect;
use crate::collections::model::{Currency, Money};
use crate::dialog::{AmountMention, Language};

/// Finds the amount the caller offered. A number followed by a currency word or after `$` wins.
/// Next, when `bare_numbers_count` is true because the bot asked for an amount, comes the first
/// number that `is_free` allows (not part of a date or an installment plan). "La mitad" and "el
/// total" count only after those.
pub(crate) fn find_amount(
    words: &Words,
    numbers: &[NumberSpan],
    is_free: impl Fn(&NumberSpan) -> bool,
    money: MoneyContext,
    bare_numbers_count: bool,
) -> Option<AmountMention> {
    let candidates: Vec<&NumberSpan> = numbers.iter().filter(|span| is_free(span)).collect();

    let named = candidates.iter().find_map(|span| named_amount(words, span, money));
    if let Some(found) = named.or_else(|| half_unit(words, money)) {
        return Some(AmountMention::Exact(found));
    }
    if bare_numbers_count {
        let bare = candidates.iter().find(|span| !span.is_article && span.hundredths > 0 && !is_percent(words, span));
        if let Some(span) = bare {
            return Some(AmountMention::Exact(to_money(span.hundredths, money.currency)));
        }
    }
    if is_half(words) {
        return Some(AmountMention::Half);
    }
    if is_full_balance(words) {
        return Some(AmountMention::FullBalance);
    }
    None
}

/// The debt's currency and the caller's country, which decide what "pesos" and "lucas" mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MoneyContext {
    pub currency: Currency,
    pub dialect: Dialect,
}

/// Reads the number at `span` as money: with its currency word when one follows ("20 lucas"),
/// else in the debt's currency.
pub(crate) fn money_at(words: &Words, span: &NumberSpan, money: MoneyContext) -> Option<Money> {
    named_amount(words, span, money).or_else(|| Some(to_money(span.hundredths, money.currency)))
}

/// A number with a currency after it ("500 pesos", "un millón de pesos", "cinco lucas", "un palo
/// y medio") or a dollar sign before it, with any cents said after the currency.
fn named_amount(words: &Words, span: &NumberSpan, money: MoneyContext) -> Option<Money> {
    let debt_currency = money.currency;
    if words.get(span.end).is_some_and(is_cent_word) {
        let cents = span.whole()?;
        return Some(Money::new(cents_in(debt_currency, cents), debt_currency));
    }
    let tokens = words.tokens();
    let dollar_sign = span.start > 0 && tokens[span.start - 1] == "$";
    let mut unit_index = span.end;
    if words.get(unit_index) == Some("de") && span.hundredths % 100_000_000 == 0 {
        unit_index += 1;
    }
    let unit = words.get(unit_index).and_then(|token| currency_word(token, money.dialect));
    if unit.is_some() && says_none_at_all(words, span) {
        return None;
    }

    let (currency, multiplier) = match (unit, dollar_sign) {
        (Some(unit), _) => (unit.currency(debt_currency), unit.multiplier()),
        // "$" is how pesos are written in Mexico, Colombia, Chile and Argentina too.
        (None, true) => (debt_currency, 1),
        (None, false) => return None,
    };
    let mut hundredths = span.hundredths.checked_mul(multiplier)?;
    // "un palo y medio", "luca y media": half of the slang unit more.
    if multiplier > 1 && words.get(unit_index + 1) == Some("y") && is_half_word(words.get(unit_index + 2)) {
        hundredths = hundredths.checked_add(multiplier * 50)?;
    }
    let mut found = to_money(hundredths, currency);
    if unit.is_some() {
        if let Some(cents) = cents_after(words, unit_index + 1) {
            found.amount_minor = found.amount_minor.checked_add(cents_in(currency, cents))?;
        }
    }
    Some(found)
}

/// "No tengo ni un peso", "no voy a poner un peso": a single unit after these words means
/// nothing at all, not an amount.
fn says_none_at_all(words: &Words, span: &NumberSpan) -> bool {
    const NOTHING_LEADS: [&[&str]; 5] =
        [&["ni"], &["no", "tengo"], &["no", "voy", "a", "poner"], &["no", "voy", "a", "dar"], &["no", "doy"]];
    if !span.is_article {
        return false;
    }
    let before = &words.tokens()[..span.start];
    NOTHING_LEADS.iter().any(|lead| before.ends_with(&lead.iter().map(|word| word.to_string()).collect::<Vec<_>>()))
}

/// "medio palo" (half a million), "media luca" (five hundred): half of a slang unit.
fn half_unit(words: &Words, money: MoneyContext) -> Option<Money> {
    let tokens = words.tokens();
    tokens.windows(2).find_map(|pair| {
        if !is_half_word(Some(pair[0].as_str())) {
            return None;
        }
        let unit = currency_word(&pair[1], money.dialect)?;
        let multiplier = unit.multiplier();
        (multiplier > 1).then(|| to_money(multiplier * 50, unit.currency(money.currency)))
    })
}

fn is_half_word(token: Option<&str>) -> bool {
    matches!(token, Some("medio" | "media"))
}

/// "con cincuenta (centavos)", "y cincuenta centavos", "and fifty cents" after the currency word.
fn cents_after(words: &Words, index: usize) -> Option<i64> {
    let link = words.get(index)?;
    if !matches!(link, "con" | "y" | "and") {
        return None;
    }
    let tokens = &words.tokens()[index + 1..];
    let span = super::numbers::find_numbers(tokens).into_iter().next().filter(|span| span.start == 0)?;
    let cents = span.whole()?;
    let named_cents = tokens.get(span.end).is_some_and(|unit| is_cent_word(unit));
    // "y cincuenta" without "centavos" is as likely the start of another number as cents.
    let is_cents = (1..100).contains(&cents) && (named_cents || link == "con");
    is_cents.then_some(cents)
}

fn is_cent_word(token: &str) -> bool {
    matches!(token, "centavos" | "centavo" | "centimos" | "centimo" | "cents" | "cent")
}

fn cents_in(currency: Currency, cents: i64) -> i64 {
    match currency.exponent() {
        0 => 0,
        _ => cents * currency.minor_per_major() / 100,
    }
}

/// Converts a value in hundredths of a major unit into the currency's minor unit, dropping
/// fractions the currency cannot hold (a peso chileno has no cents).
fn to_money(hundredths: i64, currency: Currency) -> Money {
    let per_major = currency.minor_per_major();
    let minor = hundredths / 100 * per_major + hundredths % 100 * per_major / 100;
    Money::new(minor, currency)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CurrencyWord {
    Pesos,
    Soles,
    Dollars,
    Reales,
    /// A thousand pesos: "luca" in Colombia, Chile and Argentina.
    Lucas,
    /// A million pesos: "palo" in Colombia, Chile and Argentina.
    Palos,
    /// A thousand dollars: "three grand".
    Grand,
}

impl CurrencyWord {
    /// Returns the currency meant: "pesos" is the debt's currency when that is a peso.
    fn currency(self, debt_currency: Currency) -> Currency {
        let is_peso = matches!(debt_currency, Currency::Mxn | Currency::Cop | Currency::Clp | Currency::Ars);
        match self {
            CurrencyWord::Pesos | CurrencyWord::Lucas | CurrencyWord::Palos if is_peso => debt_currency,
            CurrencyWord::Pesos | CurrencyWord::Lucas | CurrencyWord::Palos => Currency::Mxn,
            CurrencyWord::Soles => Currency::Pen,
            CurrencyWord::Dollars | CurrencyWord::Grand => Currency::Usd,
            CurrencyWord::Reales => Currency::Brl,
        }
    }

    fn multiplier(self) -> i64 {
        match self {
            CurrencyWord::Lucas | CurrencyWord::Grand => 1_000,
            CurrencyWord::Palos => 1_000_000,
            _ => 1,
        }
    }
}

/// Reads a currency word, slang included where the caller's country uses it: "lucas" are
/// thousands of pesos in Colombia, Chile and Argentina but soles in Peru, "mangos" are
/// Argentine pesos and "varos" Mexican ones. Elsewhere slang is not a currency.
fn currency_word(token: &str, dialect: Dialect) -> Option<CurrencyWord> {
    let thousands_slang = matches!(dialect, Dialect::Colombia | Dialect::Chile | Dialect::Argentina);
    let word = match token {
        "peso" | "pesos" | "mxn" | "cop" | "clp" | "ars" => CurrencyWord::Pesos,
        "varo" | "varos" if dialect == Dialect::Mexico => CurrencyWord::Pesos,
        "mango" | "mangos" if dialect == Dialect::Argentina => CurrencyWord::Pesos,
        "sol" | "soles" | "pen" => CurrencyWord::Soles,
        "luca" | "lucas" | "luquita" | "luquitas" if dialect == Dialect::Peru => CurrencyWord::Soles,
        "dolar" | "dolares" | "dollar" | "dollars" | "bucks" | "usd" => CurrencyWord::Dollars,
        "grand" | "grands" => CurrencyWord::Grand,
        "real" | "reales" | "reais" | "brl" => CurrencyWord::Reales,
        "luca" | "lucas" | "luquita" | "luquitas" if thousands_slang => CurrencyWord::Lucas,
        "palo" | "palos" if thousands_slang => CurrencyWord::Palos,
        _ => return None,
    };
    Some(word)
}

fn is_percent(words: &Words, span: &NumberSpan) -> bool {
    matches!(words.get(span.end), Some("%" | "percent" | "porciento"))
        || (words.get(span.end) == Some("por") && words.get(span.end + 1) == Some("ciento"))
}

fn is_half(words: &Words) -> bool {
    words.contains_any(&[
        "mitad",
        "half",
        "50 %",
        "cincuenta por ciento",
        "50 por ciento",
        "fifty percent",
        "50 percent",
    ])
}

fn is_full_balance(words: &Words) -> bool {
    // A bare "todo" is not an amount: "sí, es todo", "todo esto" are common answers.
    words.contains_any(&[
        "pagar todo",
        "pago todo",
        "pagarlo todo",
        "todo el saldo",
        "todo junto",
        "toda la deuda",
        "el total",
        "la totalidad",
        "completo",
        "completa",
        "lo que debo",
        "lo que le debo",
        "full balance",
        "full amount",
        "in full",
        "the whole",
        "the total",
        "everything",
        "all of it",
        "the balance",
        "whole balance",
        "entire balance",
    ]) && !words.contains_any(&["todo bien", "sobre todo"])
}

/// Writes an amount as the bot says it: "cuatro mil quinientos pesos con cincuenta centavos",
/// "un millón de pesos", "veintiún soles"; "four thousand five hundred dollars and fifty cents".
pub fn spoken_money(m: Money, lang: Language) -> String {
    let negative = m.amount_minor < 0;
    let major = m.major_part().abs();
    let minor = m.minor_part().abs();
    let (unit_one, unit_many) = unit_names(m.currency, lang);
    let (cent_one, cent_many) = cent_names(m.currency, lang);

    let major_words = match lang {
        Language::Es => spell_before_noun(major, lang),
        Language::En => super::numbers::spell_number(major, lang),
    };
    let unit = if major == 1 { unit_one } else { unit_many };
    // "un millón de pesos", but "un millón doscientos mil pesos".
    let of = if lang == Language::Es && major >= 1_000_000 && major % 1_000_000 == 0 { "de " } else { "" };
    let mut spoken = format!("{major_words} {of}{unit}");

    if minor != 0 {
        let cent_words = match lang {
            Language::Es => spell_before_noun(minor, lang),
            Language::En => super::numbers::spell_number(minor, lang),
        };
        let cent = if minor == 1 { cent_one } else { cent_many };
        spoken = match (lang, major) {
            (_, 0) => format!("{cent_words} {cent}"),
            (Language::Es, _) => format!("{spoken} con {cent_words} {cent}"),
            (Language::En, _) => format!("{spoken} and {cent_words} {cent}"),
        };
    }
    if negative {
        let minus = if lang == Language::Es { "menos" } else { "minus" };
        spoken = format!("{minus} {spoken}");
    }
    spoken
}

fn unit_names(currency: Currency, lang: Language) -> (&'static str, &'static str) {
    match (currency, lang) {
        (Currency::Mxn | Currency::Cop | Currency::Clp | Currency::Ars, _) => ("peso", "pesos"),
        (Currency::Pen, _) => ("sol", "soles"),
        (Currency::Usd, Language::Es) => ("dólar", "dólares"),
        (Currency::Usd, Language::En) => ("dollar", "dollars"),
        (Currency::Brl, Language::Es) => ("real", "reales"),
        (Currency::Brl, Language::En) => ("real", "reais"),
    }
}

fn cent_names(currency: Currency, lang: Language) -> (&'static str, &'static str) {
    match (currency, lang) {
        (Currency::Pen, Language::Es) => ("céntimo", "céntimos"),
        (Currency::Usd, Language::En) => ("cent", "cents"),
        (_, Language::Es) => ("centavo", "centavos"),
        (Currency::Pen, Language::En) => ("céntimo", "céntimos"),
        (_, Language::En) => ("centavo", "centavos"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialog::nlu::numbers::find_numbers;
    use proptest::prelude::*;

    fn amount(text: &str, currency: Currency, bare: bool) -> Option<AmountMention> {
        amount_in(text, currency, dialect_of(currency), bare)
    }

    fn amount_in(text: &str, currency: Currency, dialect: Dialect, bare: bool) -> Option<AmountMention> {
        let words = Words::new(text);
        let numbers = find_numbers(words.tokens());
        find_amount(&words, &numbers, |_| true, MoneyContext { currency, dialect }, bare)
    }

    fn dialect_of(currency: Currency) -> Dialect {
        match currency {
            Currency::Mxn => Dialect::Mexico,
            Currency::Cop => Dialect::Colombia,
            Currency::Pen => Dialect::Peru,
            Currency::Clp => Dialect::Chile,
            Currency::Ars => Dialect::Argentina,
            Currency::Usd => Dialect::UnitedStates,
            Currency::Brl => Dialect::Neutral,
        }
    }

    fn exact(minor: i64, currency: Currency) -> Option<AmountMention> {
        Some(AmountMention::Exact(Money::new(minor, currency)))
    }

    #[test]
    fn amounts_with_currency_words() {
        assert_eq!(amount("cuatro mil quinientos pesos", Currency::Mxn, false), exact(450_000, Currency::Mxn));
        assert_eq!(amount("$4,500.00", Currency::Mxn, false), exact(450_000, Currency::Mxn));
        assert_eq!(amount("4.500 pesos", Currency::Cop, false), exact(450_000, Currency::Cop));
        assert_eq!(amount("un millón de pesos", Currency::Cop, false), exact(100_000_000, Currency::Cop));
        assert_eq!(amount("quinientos soles", Currency::Pen, false), exact(50_000, Currency::Pen));
        assert_eq!(amount("fifteen hundred dollars", Currency::Usd, false), exact(150_000, Currency::Usd));
        assert_eq!(amount("cinco lucas", Currency::Clp, false), exact(5_000, Currency::Clp));
    }

    #[test]
    fn cents_after_the_currency() {
        let said = "cuatro mil quinientos pesos con cincuenta centavos";
        assert_eq!(amount(said, Currency::Mxn, false), exact(450_050, Currency::Mxn));
        let said = "two thousand dollars and fifty cents";
        assert_eq!(amount(said, Currency::Usd, false), exact(200_050, Currency::Usd));
    }

    #[test]
    fn foreign_currency_is_kept() {
        assert_eq!(amount("100 dólares", Currency::Mxn, false), exact(10_000, Currency::Usd));
    }

    #[test]
    fn bare_numbers_only_when_asked() {
        assert_eq!(amount("puedo dar 1500", Currency::Mxn, false), None);
        assert_eq!(amount("puedo dar 1500", Currency::Mxn, true), exact(150_000, Currency::Mxn));
        assert_eq!(amount("una parte", Currency::Mxn, true), None);
    }

    #[test]
    fn half_and_full_balance() {
        assert_eq!(amount("la mitad", Currency::Mxn, true), Some(AmountMention::Half));
        assert_eq!(amount("el 50 %", Currency::Mxn, true), Some(AmountMention::Half));
        assert_eq!(amount("voy a pagar el total", Currency::Mxn, true), Some(AmountMention::FullBalance));
        assert_eq!(amount("the full balance", Currency::Usd, true), Some(AmountMention::FullBalance));
        assert_eq!(amount("todo bien", Currency::Mxn, true), None);
        assert_eq!(amount("sí, está bien, es todo esto", Currency::Mxn, true), None);
        assert_eq!(amount("voy a pagar todo", Currency::Mxn, true), Some(AmountMention::FullBalance));
    }

    #[test]
    fn exact_amount_beats_half() {
        let said = "puedo pagar la mitad, dos mil doscientos cincuenta pesos";
        assert_eq!(amount(said, Currency::Mxn, true), exact(225_000, Currency::Mxn));
    }

    #[test]
    fn slang_units_follow_the_country() {
        assert_eq!(amount("dos palos", Currency::Cop, false), exact(200_000_000, Currency::Cop));
        assert_eq!(amount("cincuenta lucas", Currency::Cop, false), exact(5_000_000, Currency::Cop));
        assert_eq!(amount("cien lucas", Currency::Pen, false), exact(10_000, Currency::Pen));
        assert_eq!(amount("15 mil mangos", Currency::Ars, false), exact(1_500_000, Currency::Ars));
        assert_eq!(amount("800 varos", Currency::Mxn, false), exact(80_000, Currency::Mxn));
        assert_eq!(amount("cinco lucas", Currency::Mxn, false), None);
        assert_eq!(amount("5 luquitas", Currency::Clp, false), exact(5_000, Currency::Clp));
        assert_eq!(amount("15 mangos", Currency::Clp, false), None);
    }

    #[test]
    fn halves_of_slang_units() {
        assert_eq!(amount("medio palo", Currency::Clp, false), exact(500_000, Currency::Clp));
        assert_eq!(amount("media luca", Currency::Clp, false), exact(500, Currency::Clp));
        assert_eq!(amount("un palo y medio", Currency::Cop, false), exact(150_000_000, Currency::Cop));
        assert_eq!(amount("una luca y media", Currency::Ars, false), exact(150_000, Currency::Ars));
    }

    #[test]
    fn not_a_single_peso_is_no_amount() {
        assert_eq!(amount("no tengo ni un peso", Currency::Mxn, true), None);
        assert_eq!(amount("no tengo un mango", Currency::Ars, true), None);
        assert_eq!(amount("no tengo ni una luca", Currency::Clp, true), None);
        assert_eq!(amount("no voy a poner un peso", Currency::Ars, true), None);
        assert_eq!(amount("le debo un peso", Currency::Mxn, false), exact(100, Currency::Mxn));
    }

    #[test]
    fn grand_is_a_thousand_dollars() {
        assert_eq!(amount("three grand on friday", Currency::Usd, false), exact(300_000, Currency::Usd));
        assert_eq!(amount("2 grand", Currency::Usd, false), exact(200_000, Currency::Usd));
    }

    #[test]
    fn clp_has_no_cents() {
        assert_eq!(amount("$4.500", Currency::Clp, false), exact(4_500, Currency::Clp));
    }

    #[test]
    fn spoken_amounts() {
        let cases = [
            (Money::new(450_000, Currency::Mxn), Language::Es, "cuatro mil quinientos pesos"),
            (Money::new(450_050, Currency::Mxn), Language::Es, "cuatro mil quinientos pesos con cincuenta centavos"),
            (Money::new(2_100, Currency::Pen), Language::Es, "veintiún soles"),
            (Money::new(100, Currency::Mxn), Language::Es, "un peso"),
            (Money::new(1_000_000, Currency::Clp), Language::Es, "un millón de pesos"),
            (Money::new(1_200_000, Currency::Clp), Language::Es, "un millón doscientos mil pesos"),
            (Money::new(150_000, Currency::Usd), Language::Es, "mil quinientos dólares"),
            (Money::new(10_001, Currency::Pen), Language::Es, "cien soles con un céntimo"),
            (Money::new(50, Currency::Mxn), Language::Es, "cincuenta centavos"),
            (
                Money::new(450_025, Currency::Usd),
                Language::En,
                "four thousand five hundred dollars and twenty-five cents",
            ),
            (Money::new(100, Currency::Usd), Language::En, "one dollar"),
            (Money::new(450_000, Currency::Mxn), Language::En, "four thousand five hundred pesos"),
        ];
        for (money, lang, spoken) in cases {
            assert_eq!(spoken_money(money, lang), spoken, "{money}");
        }
    }

    fn currency() -> impl Strategy<Value = Currency> {
        prop::sample::select(vec![
            Currency::Mxn,
            Currency::Cop,
            Currency::Pen,
            Currency::Clp,
            Currency::Usd,
            Currency::Ars,
        ])
    }

    proptest! {
        #[test]
        fn spoken_money_reads_back(minor in 1i64..1_000_000_000, currency in currency()) {
            let money = Money::new(minor, currency);
            for lang in [Language::Es, Language::En] {
                let spoken = spoken_money(money, lang);
                prop_assert_eq!(amount(&spoken, currency, false), Some(AmountMention::Exact(money)), "{}", spoken);
            }
        }
    }
}
