//! Debtor personas for the carrier simulator. A persona answers the bot's questions from what it
//! knows of its own debt, always stating amounts and dates in words.

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use serde::Serialize;

use crate::collections::model::{Account, Money};
use crate::dialog::script::spoken_money;
use crate::dialog::Language;

/// A persona's response when the bot finishes a phrase with a given prompt key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Say(String),
    /// Presses these keys, one after another.
    Keys(String),
    HangUp,
}

/// The promise a persona means to make, to check what the bot stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IntendedPromise {
    pub amount_minor: i64,
    pub currency: String,
    pub due_date: NaiveDate,
}

/// A scripted debtor.
#[derive(Debug, Clone)]
pub struct Persona {
    pub name: &'static str,
    pub language: Language,
    /// Replies by prompt key; keys not listed get silence.
    pub replies: Vec<(&'static str, Reply)>,
    /// Other wordings for when the bot asks the same question again, used in order.
    pub rephrasings: Vec<(&'static str, Vec<Reply>)>,
    pub intended_promise: Option<IntendedPromise>,
}

impl Persona {
    /// The reply to the `times_asked`-th time (0 for the first) the bot ended on `prompt_key`: a
    /// person asked again says it another way.
    pub fn reply_to(&self, prompt_key: &str, times_asked: usize) -> Option<&Reply> {
        let first = self.replies.iter().find(|(key, _)| *key == prompt_key).map(|(_, reply)| reply)?;
        if times_asked == 0 {
            return Some(first);
        }
        let others =
            self.rephrasings.iter().find(|(key, _)| *key == prompt_key).map(|(_, r)| r.as_slice()).unwrap_or(&[]);
        Some(others.get(times_asked - 1).or(others.last()).unwrap_or(first))
    }
}

/// The persona names the simulator knows, in the order the demo runs them.
pub const PERSONAS: [&str; 6] = ["cooperative", "negotiator", "wrong_person", "already_paid", "call_later", "silent"];

/// Finds the next `weekday` strictly after `today`.
pub fn next_weekday(today: NaiveDate, weekday: Weekday) -> NaiveDate {
    let ahead = (7 + weekday.num_days_from_monday() as i64 - today.weekday().num_days_from_monday() as i64) % 7;
    today + Duration::days(if ahead == 0 { 7 } else { ahead })
}

/// Builds the named persona for the debtor of `account`, whose local date is `today`.
pub fn build(name: &str, account: &Account, today: NaiveDate) -> Option<Persona> {
    let balance = account.debt.balance;
    let english = Language::from_locale(&account.debtor.locale) == Language::En;
    let digits = account.debtor.national_id_last4.clone();
    let say = |es: &str, en: &str| Reply::Say(if english { en } else { es }.to_string());
    let words = |money: Money| spoken_money(money, if english { Language::En } else { Language::Es });
    let promise = |amount: Money, due_date: NaiveDate| IntendedPromise {
        amount_minor: amount.amount_minor,
        currency: amount.currency.code().to_string(),
        due_date,
    };
    let identity = say("Buenos días. Sí, soy yo.", "Good morning. Yes, speaking.");
    let confirm_identity = ("greeting", identity.clone());
    let confirm_identity_again = ("ask_identity", identity);
    let keys = ("verify_identity", Reply::Keys(digits.clone()));
    let keys_again = ("verification_retry", Reply::Keys(digits));
    let agree = ("read_back", say("Bueno, sí, está bien, es correcto.", "Yes, that's right."));

    let (replies, rephrasings, intended_promise): (Vec<(&'static str, Reply)>, Vec<(&'static str, Vec<Reply>)>, _) =
        match name {
            "cooperative" => {
                let friday = next_weekday(today, Weekday::Fri);
                let offer = say(
                    &format!("Voy a pagar el total, {}, el viernes.", words(balance)),
                    &format!("I will pay the full balance, {}, on Friday.", words(balance)),
                );
                let replies = vec![
                    confirm_identity,
                    confirm_identity_again,
                    keys,
                    keys_again,
                    ("offer_full_payment", offer.clone()),
                    ("ask_payment", offer.clone()),
                    ("ask_amount", offer),
                    ("ask_date", say("El viernes.", "On Friday.")),
                    agree,
                ];
                let rephrasings = vec![("ask_identity", vec![say("Sí, soy yo, dígame.", "Yes, it's me.")])];
                (replies, rephrasings, Some(promise(balance, friday)))
            }
            "negotiator" => {
                // Half now; the bot fits the rest into a plan of the whole balance that starts
                // with that payment, and the persona takes it.
                let monday = next_weekday(today, Weekday::Mon);
                let half = Money::new(balance.amount_minor / 2, balance.currency);
                let offer = say(
                    &format!("No puedo pagar todo. Puedo pagar {} el próximo lunes.", words(half)),
                    &format!("I can't pay it all. I can pay {} next Monday.", words(half)),
                );
                let identity = say("Buenos días. Sí, con ella habla.", "Good morning. Yes, this is she.");
                let take_plan = say("Sí, está bien, de acuerdo.", "Yes, that works.");
                let replies = vec![
                    ("greeting", identity.clone()),
                    ("ask_identity", identity),
                    keys,
                    keys_again,
                    ("offer_full_payment", offer.clone()),
                    ("ask_payment", offer.clone()),
                    ("ask_amount", offer),
                    ("ask_date", say("El próximo lunes.", "Next Monday.")),
                    ("offer_counter", take_plan),
                    agree,
                    ("read_back_plan", say("Bueno, sí, está bien, es correcto.", "Yes, that's right.")),
                ];
                let rephrasings = vec![("ask_identity", vec![say("Sí, soy yo, dígame.", "Yes, it's me.")])];
                (replies, rephrasings, Some(promise(balance, monday)))
            }
            "wrong_person" => {
                let wrong = say("No, está equivocado. Aquí no vive esa persona.", "No, you have the wrong number.");
                let nobody = say(
                    "No. Aquí no vive esa persona, es un número equivocado.",
                    "No, nobody by that name lives here.",
                );
                let replies =
                    vec![("greeting", wrong.clone()), ("ask_identity", wrong), ("third_party_ask_time", nobody)];
                let rephrasings = vec![("ask_identity", vec![say("No, se equivocó de número.", "Wrong number.")])];
                (replies, rephrasings, None)
            }
            "already_paid" => {
                let paid = say("Nosotros ya pagamos la semana pasada.", "I already paid last week.");
                let replies = vec![
                    confirm_identity,
                    confirm_identity_again,
                    keys,
                    keys_again,
                    ("offer_full_payment", paid.clone()),
                    ("ask_payment", paid.clone()),
                    ("ask_amount", paid),
                    ("already_paid_ask_details", say("El lunes pasado, en el banco.", "Last Monday, at the bank.")),
                ];
                let paid_again = vec![
                    say("Ya terminé de pagar la deuda.", "I told you, I already paid."),
                    say("Ya pagué la semana pasada.", "I paid already."),
                ];
                let rephrasings = vec![
                    ("offer_full_payment", paid_again.clone()),
                    ("ask_payment", paid_again.clone()),
                    ("ask_amount", paid_again),
                ];
                (replies, rephrasings, None)
            }
            "call_later" => {
                let later = say(
                    "Ahora no puedo hablar. Llámeme más tarde, por favor.",
                    "I can't talk now. Please call me later.",
                );
                let replies = vec![("greeting", later.clone()), ("ask_identity", later)];
                let rephrasings = vec![("ask_identity", vec![say("Ahora no puedo hablar.", "I can't talk now.")])];
                (replies, rephrasings, None)
            }
            "silent" => (vec![("reprompt", Reply::HangUp)], Vec::new(), None),
            _ => return None,
        };
    Some(Persona {
        name: PERSONAS.iter().find(|p| **p == name).copied()?,
        language: if english { Language::En } else { Language::Es },
        replies,
        rephrasings,
        intended_promise,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_weekday_is_strictly_after_today() {
        let wednesday = NaiveDate::from_ymd_opt(2026, 12, 2).expect("date");
        assert_eq!(next_weekday(wednesday, Weekday::Fri), NaiveDate::from_ymd_opt(2026, 12, 4).expect("date"));
        assert_eq!(next_weekday(wednesday, Weekday::Mon), NaiveDate::from_ymd_opt(2026, 12, 7).expect("date"));
        assert_eq!(next_weekday(wednesday, Weekday::Wed), NaiveDate::from_ymd_opt(2026, 12, 9).expect("date"));
    }
}
