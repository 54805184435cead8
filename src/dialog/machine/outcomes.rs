//! The ends of a call: stored outcomes (payment claims, disputes, hardship, callbacks, stop-contact
//! requests), a person, voicemail and the maximum call length. Each store is confirmed only
//! after its result comes back.

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};

use super::negotiating::half;
use super::{CallbackKind, CallbackWhen, Machine, Pending, State};
use crate::collections::model::{Disposition, PaymentClaim};
use crate::dialog::jurisdiction::Placed;
use crate::dialog::negotiation::Rung;
use crate::dialog::nlu::{stop_contact_channels, Intent, Interpretation};
use crate::dialog::script::Prompt;
use crate::dialog::{Action, AmountMention};

/// Local hour at which a callback for a named day without a time is placed.
const CALLBACK_HOUR: u32 = 10;

/// Words that name how a payment was made, and the channel stored with the claim, the most
/// specific first: a store chain or a payment app names the place, so "deposité en el OXXO" is a
/// store payment, not a bank deposit. Nequi and Daviplata are Colombian payment apps, Yape and
/// Plin Peruvian, Mercado Pago Argentine.
const PAYMENT_CHANNEL_WORDS: [(&str, &str); 20] = [
    ("oxxo", "store"),
    ("nequi", "app"),
    ("daviplata", "app"),
    ("yape", "app"),
    ("plin", "app"),
    ("mercado pago", "app"),
    ("mercadopago", "app"),
    ("transferencia", "transfer"),
    ("transfer", "transfer"),
    ("deposit", "deposit"),
    ("tienda", "store"),
    ("store", "store"),
    ("efectivo", "cash"),
    ("cash", "cash"),
    ("tarjeta", "card"),
    ("card", "card"),
    ("aplicacion", "app"),
    ("app", "app"),
    ("banco", "bank"),
    ("bank", "bank"),
];

impl Machine {
    pub(super) fn hear_already_paid(&mut self, heard: &Interpretation, text: &str) -> Vec<Action> {
        self.payment_channel = find_word(text, &PAYMENT_CHANNEL_WORDS);
        if heard.date.is_some() || heard.amount.is_some() {
            return self.store_payment_claim(heard, text);
        }
        self.state = State::AskingPaymentDetails;
        vec![self.say(Prompt::AlreadyPaidAskDetails, true)]
    }

    /// Stores the caller's statement that it is paid, with the date, amount and channel if given,
    /// for reconciliation.
    pub(super) fn store_payment_claim(&mut self, heard: &Interpretation, text: &str) -> Vec<Action> {
        let balance = self.ctx.account.debt.balance;
        let amount = heard.amount.map(|mention| match mention {
            AmountMention::Exact(amount) => amount,
            AmountMention::FullBalance => balance,
            AmountMention::Half => half(balance),
        });
        let paid_on = heard.date.filter(|date| *date <= self.ctx.today);
        let channel = find_word(text, &PAYMENT_CHANNEL_WORDS).or(self.payment_channel).map(str::to_string);
        let claim = PaymentClaim { debt_id: self.ctx.account.debt.id, paid_on, amount, channel };
        self.store(Action::StorePaymentClaim(claim), Pending::PaymentClaim)
    }

    /// Stores a callback. A time the caller named is placed on the day named, or today when it
    /// is still ahead, else tomorrow. A day alone is placed at [`CALLBACK_HOUR`] (or an hour from
    /// now, today). The request moves inside the jurisdiction's calling hours when it falls
    /// outside them.
    pub(super) fn request_callback(
        &mut self,
        date: Option<NaiveDate>,
        time: Option<NaiveTime>,
        kind: CallbackKind,
    ) -> Vec<Action> {
        let now = self.call_started_local();
        let (requested, when) = self.callback_request(date, time, now);
        let calling_hours = self.ctx.jurisdiction.calling_hours(&self.ctx.account.debtor.region);
        let placed = requested.and_then(|requested| calling_hours.place(requested, now));
        let requested_for = placed.and_then(|placed| {
            let zoned = self.ctx.account.debtor.time_zone.from_local_datetime(&placed.at).earliest()?;
            Some(zoned.with_timezone(&chrono::Utc))
        });
        let closed_day = requested.is_some_and(|at| !calling_hours.allows_day(at.date()));
        let pending = Pending::Callback { kind, placed, when, closed_day };
        self.store(Action::StoreCallback { requested_for }, pending)
    }

    /// Returns the local time the caller asked for, before calling hours apply. A day already
    /// past names no time.
    fn callback_request(
        &self,
        date: Option<NaiveDate>,
        time: Option<NaiveTime>,
        now: NaiveDateTime,
    ) -> (Option<NaiveDateTime>, CallbackWhen) {
        let today = self.ctx.today;
        match (date, time) {
            (Some(date), _) if date < today => (None, CallbackWhen::Unnamed),
            (Some(date), Some(time)) => (Some(date.and_time(time)), CallbackWhen::Time),
            (Some(date), None) if date == today => (Some(now + Duration::hours(1)), CallbackWhen::LaterToday),
            (Some(date), None) => (date.and_hms_opt(CALLBACK_HOUR, 0, 0), CallbackWhen::Day),
            (None, Some(time)) => {
                let today_at = today.and_time(time);
                let at = match today_at > now {
                    true => today_at,
                    false => today_at + Duration::days(1),
                };
                (Some(at), CallbackWhen::Time)
            }
            (None, None) => (None, CallbackWhen::Unnamed),
        }
    }

    pub(super) fn store_opt_out(&mut self, text: &str) -> Vec<Action> {
        // A request that names no channel ("no me molesten") is about this one: calls.
        let channel = stop_contact_channels(text).first().copied().unwrap_or("voice").to_string();
        self.store(Action::StoreOptOut { channel: channel.clone() }, Pending::OptOut { channel })
    }

    /// Hands the call to a person when the portfolio has a number for it, else stores a
    /// callback by a person.
    pub(super) fn ask_human(&mut self) -> Vec<Action> {
        match self.ctx.policy.transfer_to.clone() {
            Some(to) => {
                let notice = self.say(Prompt::TransferNotice, false);
                self.disposition = Some(Disposition::Transferred);
                self.state = State::Ended;
                vec![notice, Action::Transfer { to }, Action::Dispose(Disposition::Transferred), Action::Hangup]
            }
            None => self.request_callback(None, None, CallbackKind::ByPerson),
        }
    }

    /// Offers that a person call back about the debtor's situation: the hardship route, also the
    /// last rung of the ladder. `declared` is true when the debtor told of hardship.
    pub(super) fn offer_hardship(&mut self, declared: bool) -> Vec<Action> {
        self.hardship_declared |= declared;
        self.state = State::OfferingHardship;
        vec![self.say(Prompt::HardshipOffer, true)]
    }

    pub(super) fn hear_hardship_answer(&mut self, heard: &Interpretation, text: &str) -> Vec<Action> {
        if heard.amount.is_some() {
            // A number after all: fitted like any counter-offer.
            return self.hear_terms(super::Ask::Payment, super::Terms::default(), heard, text);
        }
        match heard.intent {
            Intent::Affirm | Intent::IdentityConfirm | Intent::PromiseToPay => {
                self.store(Action::StoreHardship { person_callback: true }, Pending::Hardship { person_callback: true })
            }
            Intent::Deny | Intent::CannotPay if self.hardship_declared => self
                .store(Action::StoreHardship { person_callback: false }, Pending::Hardship { person_callback: false }),
            Intent::Deny | Intent::CannotPay => self.finish(&[Prompt::RefusedGoodbye], Disposition::RefusedToPay),
            Intent::AlreadyPaid => self.hear_already_paid(heard, text),
            Intent::Dispute => self.store(Action::StoreDispute, Pending::Dispute),
            Intent::Hardship => {
                self.hardship_declared = true;
                self.clarify(None)
            }
            _ => self.clarify(Some(Prompt::NotUnderstood)),
        }
    }

    pub(super) fn promise_stored(&mut self, ok: bool) -> Vec<Action> {
        let State::Storing(Pending::Promise(offer)) = &self.state else {
            return Vec::new();
        };
        let confirmed = match offer.rung {
            _ if offer.is_plan() => Prompt::PromiseConfirmedPlan,
            Rung::Partial => Prompt::PromiseConfirmedPartial,
            _ => Prompt::PromiseConfirmed,
        };
        match ok {
            true => self.finish(&[confirmed, Prompt::Goodbye], Disposition::PromiseToPay),
            false => self.finish(&[Prompt::PromiseStoreFailed], Disposition::StoreFailed),
        }
    }

    pub(super) fn outcome_stored(&mut self, ok: bool) -> Vec<Action> {
        let State::Storing(pending) = &self.state else {
            return Vec::new();
        };
        let (prompt, disposition) = match pending {
            Pending::Promise(_) => return Vec::new(),
            Pending::PaymentClaim => (Prompt::AlreadyPaidRecorded, Disposition::AlreadyPaid),
            Pending::Dispute => (Prompt::DisputeRecorded, Disposition::Disputed),
            Pending::Hardship { person_callback: true } => (Prompt::HardshipCallbackAck, Disposition::Hardship),
            Pending::Hardship { person_callback: false } => (Prompt::HardshipNoted, Disposition::Hardship),
            Pending::OptOut { .. } => (Prompt::OptOutAck, Disposition::StopContact),
            Pending::Callback { kind, placed, when, closed_day } => {
                callback_outcome(*kind, *placed, *when, *closed_day)
            }
            Pending::KeypadCallback => (Prompt::SpeechUnavailableCallbackAck, Disposition::SpeechUnavailable),
        };
        match ok {
            true => self.finish(&[prompt], disposition),
            false => self.finish(&[Prompt::OutcomeStoreFailed], Disposition::StoreFailed),
        }
    }

    /// An answering machine took the call: the jurisdiction's limited-content message, which
    /// names no debt, then the end. Once a person spoke, a late detection is ignored.
    pub(super) fn answering_machine(&mut self) -> Vec<Action> {
        if !matches!(self.state, State::NotStarted | State::ConfirmingIdentity) || self.verified {
            return Vec::new();
        }
        if !self.ctx.jurisdiction.voicemail.leave_message {
            return self.finish(&[], Disposition::NoResponse);
        }
        self.finish(&[Prompt::Voicemail], Disposition::VoicemailLeft)
    }

    /// Speech recognition failed for the rest of the call: the bot offers a callback on the
    /// keypad, which reveals nothing about the debt, so it fits before verification too. A store
    /// result on its way still ends the call as it would have.
    pub(super) fn speech_unavailable(&mut self) -> Vec<Action> {
        if matches!(self.state, State::NotStarted | State::Storing(_) | State::OfferingKeypadCallback) {
            return Vec::new();
        }
        self.state = State::OfferingKeypadCallback;
        self.silences = 0;
        self.clarifications = 0;
        vec![self.say(Prompt::SpeechUnavailableOffer, true)]
    }

    /// The caller's key after the keypad callback offer: 1 stores a callback, 2 ends the call.
    pub(super) fn keypad_callback_answer(&mut self, digits: &str) -> Vec<Action> {
        self.silences = 0;
        match digits {
            "1" => self.store(Action::StoreCallback { requested_for: None }, Pending::KeypadCallback),
            "2" => self.finish(&[Prompt::Goodbye], Disposition::SpeechUnavailable),
            _ => {
                self.clarifications += 1;
                if self.clarifications > self.ctx.settings.max_clarifications {
                    return self.finish(&[Prompt::Goodbye], Disposition::SpeechUnavailable);
                }
                vec![self.say(Prompt::SpeechUnavailableOffer, true)]
            }
        }
    }

    /// Ends a call that reached its maximum length with a closing line and the disposition it
    /// earned so far. A store result still on its way decides the disposition itself.
    pub(super) fn max_duration_reached(&mut self) -> Vec<Action> {
        if matches!(self.state, State::Storing(_) | State::NotStarted) {
            return Vec::new();
        }
        self.finish(&[Prompt::TimeLimitGoodbye], self.unresolved())
    }
}

/// Picks what the bot says once a callback is stored. A request moved off a day without calls
/// names the day as the reason ("ese día no podemos llamarle"), any other moved request the hour.
fn callback_outcome(
    kind: CallbackKind,
    placed: Option<Placed>,
    when: CallbackWhen,
    closed_day: bool,
) -> (Prompt, Disposition) {
    let prompt = match (kind, placed) {
        (CallbackKind::ThirdParty, Some(_)) => Prompt::ThirdPartyCallbackAck,
        (CallbackKind::ThirdParty, None) => Prompt::ThirdPartyGoodbye,
        (CallbackKind::ByPerson, _) => Prompt::HumanCallback,
        (CallbackKind::Caller, None) => Prompt::CallbackAck,
        (CallbackKind::Caller, Some(placed)) if placed.moved && closed_day => Prompt::CallbackMovedDay,
        (CallbackKind::Caller, Some(placed)) if placed.moved => Prompt::CallbackMoved,
        (CallbackKind::Caller, Some(_)) if when == CallbackWhen::Time => Prompt::CallbackAckTimed,
        (CallbackKind::Caller, Some(_)) => Prompt::CallbackAckDated,
    };
    let disposition = match kind {
        CallbackKind::ThirdParty => Disposition::ThirdParty,
        CallbackKind::Caller | CallbackKind::ByPerson => Disposition::CallbackRequested,
    };
    (prompt, disposition)
}

/// Returns the value of the first entry of `table` whose word starts a word of `text`, ignoring
/// case and accents. A table word may be a stem ("llam" for "llámeme") but never matches inside
/// a word, so "plin" does not match "disciplina".
fn find_word(text: &str, table: &[(&'static str, &'static str)]) -> Option<&'static str> {
    let folded: String = text
        .to_lowercase()
        .chars()
        .map(|c| match c {
            'á' => 'a',
            'é' => 'e',
            'í' => 'i',
            'ó' => 'o',
            'ú' | 'ü' => 'u',
            other => other,
        })
        .collect();
    table.iter().find(|(word, _)| starts_a_word(&folded, word)).map(|(_, value)| *value)
}

fn starts_a_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(at, _)| text[..at].chars().next_back().is_none_or(|c| !c.is_alphanumeric()))
}
