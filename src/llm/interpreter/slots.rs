//! Merges the model's reading with the rule interpreter's: the model sets the intent and the
//! reply, and fills only the slots the rules left empty, with values checked against the call.

use chrono::{Days, NaiveDate, NaiveTime};

use crate::collections::model::{Currency, Money};
use crate::dialog::nlu::{mentions_number, Expecting, Intent, InterpretContext, Interpretation, RuleInterpreter};
use crate::dialog::AmountMention;

use super::tool::{AmountKind, ToolReading};

/// Largest amount accepted from the model, in minor units. The interpreter does not know the
/// balance, so this bound only rejects absurd values. The dialog checks amounts against the debt.
const MAX_AMOUNT_MINOR: i64 = 1_000_000_000;
/// Latest promise or callback date accepted from the model, in days after today.
const MAX_DAYS_AHEAD: u64 = 366;
const MAX_INSTALLMENTS: f64 = 60.0;
const MAX_REPLY_CHARS: usize = 240;

/// Builds the turn's reading from the rules' reading and the model's. `digits` always come from
/// the rules, so identity data never depends on the model.
///
/// Limitation: where the rules read a lone "uno" at a read-back as the option key and so no
/// amount, an amount the model reports still fills the empty slot.
///
/// With a plain yes or no, an exact amount from the model is taken only when the caller's words
/// contain a number, so a model that copies the read-back's amount into "sí" changes no terms.
/// Other intents keep the model's amount, which may come from the history ("lo que le comenté").
pub(super) fn merge(rules: Interpretation, model: ToolReading, text: &str, ctx: &InterpretContext) -> Interpretation {
    let intent = model.intent;
    // A date on which the caller says something was paid points back, and any other date ahead.
    let looks_back = intent == Intent::AlreadyPaid || ctx.expecting == Expecting::PaymentDetails;

    Interpretation {
        intent,
        amount: rules.amount.or_else(|| amount(&model, text, ctx.currency)),
        date: rules.date.or_else(|| date(model.date.as_deref(), ctx.today, looks_back)),
        installments: rules.installments.or_else(|| installments(model.installments)),
        digits: rules.digits,
        time: rules.time.or_else(|| time(model.time.as_deref())),
        language: rules.language.or(model.language),
        reply: model.reply.and_then(|text| reply(text, ctx)),
    }
}

fn amount(model: &ToolReading, text: &str, currency: Currency) -> Option<AmountMention> {
    let yes_or_no = matches!(model.intent, Intent::Affirm | Intent::Deny);
    match (model.amount_kind, model.amount) {
        (Some(AmountKind::FullBalance), _) => Some(AmountMention::FullBalance),
        (Some(AmountKind::Half), _) => Some(AmountMention::Half),
        (Some(AmountKind::Exact) | None, Some(_)) if yes_or_no && !mentions_number(text) => {
            tracing::debug!("LLM amount dropped: a plain yes or no with no number in the caller's words");
            None
        }
        (Some(AmountKind::Exact) | None, Some(major)) => {
            let minor = minor_units(major, currency);
            if minor.is_none() {
                tracing::debug!(currency = %currency, "LLM amount dropped: not positive, too large or finer than the minor unit");
            }
            minor.map(|minor| AmountMention::Exact(Money::new(minor, currency)))
        }
        (Some(AmountKind::Exact) | None, None) => None,
    }
}

/// Converts an amount in major units to minor units of `currency`. Returns `None` for an amount
/// that is not positive, exceeds [`MAX_AMOUNT_MINOR`] or has more decimals than the currency.
fn minor_units(major: f64, currency: Currency) -> Option<i64> {
    if !major.is_finite() || major <= 0.0 {
        return None;
    }
    let scaled = major * currency.minor_per_major() as f64;
    let rounded = scaled.round();
    // The tolerance absorbs binary rounding (19.99 × 100 = 1998.9999…) but not a third decimal.
    if (scaled - rounded).abs() > 1e-3 || rounded < 1.0 || rounded > MAX_AMOUNT_MINOR as f64 {
        return None;
    }
    Some(rounded as i64)
}

fn date(text: Option<&str>, today: NaiveDate, looks_back: bool) -> Option<NaiveDate> {
    let text = text?;
    let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") else {
        tracing::debug!("LLM date dropped: not in YYYY-MM-DD form");
        return None;
    };
    let in_range = if looks_back {
        date <= today
    } else {
        let latest = today.checked_add_days(Days::new(MAX_DAYS_AHEAD))?;
        date >= today && date <= latest
    };
    if !in_range {
        tracing::debug!(looks_back, "LLM date dropped: outside the accepted range");
        return None;
    }
    Some(date)
}

fn installments(count: Option<f64>) -> Option<u32> {
    let count = count?;
    if count.fract() != 0.0 || !(1.0..=MAX_INSTALLMENTS).contains(&count) {
        tracing::debug!("LLM installment count dropped: not a whole number from 1 to 60");
        return None;
    }
    Some(count as u32)
}

fn time(text: Option<&str>) -> Option<NaiveTime> {
    let text = text?;
    // chrono accepts a one-digit hour for %H, so "9:30" is read as 09:30.
    let time = NaiveTime::parse_from_str(text, "%H:%M").ok();
    if time.is_none() {
        tracing::debug!("LLM time dropped: not a valid HH:MM");
    }
    time
}

/// Keeps a reply that is short and carries no figure. The dialog speaks it as it is, so a digit,
/// a currency or percent sign, or an amount, date or installment count in words ("quinientos
/// pesos", "el viernes") could state terms the policy did not set.
fn reply(text: String, ctx: &InterpretContext) -> Option<String> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let too_long = text.chars().count() > MAX_REPLY_CHARS;
    let has_figure = text.chars().any(|c| c.is_ascii_digit() || matches!(c, '$' | '%' | '€'));
    // The rules' grammars read numbers and dates written as words, as a caller would say them.
    let terms = RuleInterpreter.interpret_now(text, ctx);
    let has_terms = terms.amount.is_some() || terms.date.is_some() || terms.installments.is_some();
    if too_long || has_figure || has_terms {
        tracing::debug!(too_long, has_figure, has_terms, "LLM reply dropped");
        return None;
    }
    Some(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialog::nlu::Dialect;
    use crate::dialog::Language;

    fn ctx() -> InterpretContext {
        InterpretContext {
            language: Language::Es,
            dialect: Dialect::Mexico,
            currency: Currency::Mxn,
            today: NaiveDate::from_ymd_opt(2025, 3, 12).unwrap(),
            expecting: Expecting::OfferResponse,
        }
    }

    fn model_reading(intent: Intent, amount: Option<f64>) -> ToolReading {
        ToolReading {
            intent,
            amount,
            amount_kind: amount.map(|_| AmountKind::Exact),
            date: None,
            installments: None,
            time: None,
            language: None,
            reply: None,
        }
    }

    #[test]
    fn amount_without_spoken_number_is_dropped() {
        let ctx = InterpretContext { expecting: Expecting::PromiseConfirmation, ..ctx() };
        let text = "sí, está bien";
        let rules = RuleInterpreter.interpret_now(text, &ctx);

        let merged = merge(rules, model_reading(Intent::Affirm, Some(2_000.0)), text, &ctx);

        assert_eq!(merged.intent, Intent::Affirm);
        assert_eq!(merged.amount, None);
    }

    #[test]
    fn amount_from_history_is_kept() {
        let text = "pues mire lo que le comenté";
        let rules = RuleInterpreter.interpret_now(text, &ctx());

        let merged = merge(rules, model_reading(Intent::PromiseToPay, Some(500.0)), text, &ctx());

        assert_eq!(merged.amount, Some(AmountMention::Exact(Money::new(50_000, Currency::Mxn))));
    }

    #[test]
    fn reply_with_spelled_amount_is_dropped() {
        assert_eq!(reply("Con gusto, puede pagar quinientos pesos".to_string(), &ctx()), None);
    }

    #[test]
    fn reply_with_spelled_date_is_dropped() {
        assert_eq!(reply("Le esperamos el pago el viernes quince".to_string(), &ctx()), None);
    }

    #[test]
    fn reply_with_installments_is_dropped() {
        assert_eq!(reply("Puede pagarlo en tres cuotas".to_string(), &ctx()), None);
    }

    #[test]
    fn reply_without_terms_is_kept() {
        let text = "Le llamamos por una cuenta pendiente a su nombre.";
        assert_eq!(reply(text.to_string(), &ctx()), Some(text.to_string()));
    }
}
