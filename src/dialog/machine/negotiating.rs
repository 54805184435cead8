//! The offer ladder in the conversation: the anchor, the debtor's own number after a "no",
//! fitting it into the highest rung that contains it, lower rungs one at a time, and the
//! read-back before the promise is stored.

use chrono::NaiveDate;

use super::{Ask, Machine, Pending, State, Terms};
use crate::collections::model::Money;
use crate::dialog::negotiation::{Counter, Fit, Offer, Rung};
use crate::dialog::nlu::{Intent, Interpretation};
use crate::dialog::script::Prompt;
use crate::dialog::{Action, AmountMention};

/// The reason an answer's terms could not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Problem {
    /// Zero, above the balance, or in another currency.
    Amount,
    /// Before today.
    Date,
}

impl Machine {
    /// Proposes the first rung: the whole balance by the latest date the policy allows.
    pub(super) fn open_ladder(&mut self) -> Vec<Action> {
        match self.limits.next_proposal(None) {
            Some(offer) => self.propose(offer),
            None => self.offer_hardship(false),
        }
    }

    pub(super) fn offer_prompt(&self, offer: &Offer) -> Prompt {
        if self.last_counter.is_some() && offer.rung != Rung::FullPayment {
            return Prompt::OfferCounter;
        }
        match offer.rung {
            Rung::FullPayment => Prompt::OfferFullPayment,
            Rung::ShortPlan => Prompt::OfferShortPlan,
            Rung::Settlement => Prompt::OfferSettlement,
            Rung::SettlementPlan => Prompt::OfferSettlementPlan,
            Rung::LongPlan => Prompt::OfferLongPlan,
            Rung::Partial => Prompt::OfferCounter,
        }
    }

    fn propose(&mut self, offer: Offer) -> Vec<Action> {
        let prompt = self.offer_prompt(&offer);
        self.state = State::Offering(offer);
        vec![self.say(prompt, true)]
    }

    pub(super) fn hear_offer_response(&mut self, offer: Offer, heard: &Interpretation, text: &str) -> Vec<Action> {
        if let Some(actions) = self.hear_debtor_anytime(heard, text) {
            return actions;
        }
        if heard.amount.is_some() || heard.installments.is_some() {
            return self.hear_counter(heard, text);
        }
        match heard.intent {
            Intent::Affirm | Intent::PromiseToPay | Intent::IdentityConfirm => self.accept(offer, heard.date),
            Intent::Deny | Intent::Negotiate | Intent::CannotPay => self.decline(&offer),
            // "El viernes" in answer to "¿puede pagar el total a más tardar…?" names the day.
            Intent::Unknown if heard.date.is_some() => self.accept(offer, heard.date),
            _ => self.clarify(Some(Prompt::NotUnderstood)),
        }
    }

    /// The debtor took the offer. A plan keeps its dates; a single payment "by" a date needs the
    /// day, unless the answer gave it.
    fn accept(&mut self, offer: Offer, date: Option<NaiveDate>) -> Vec<Action> {
        self.clarifications = 0;
        if offer.is_plan() {
            return self.read_back(offer);
        }
        match date {
            Some(date) => self.take_offer_date(offer, date),
            None => {
                self.state = State::AskingOfferDate(offer);
                vec![self.say(Prompt::AskDate, true)]
            }
        }
    }

    pub(super) fn hear_offer_date(&mut self, offer: Offer, heard: &Interpretation, text: &str) -> Vec<Action> {
        if let Some(actions) = self.hear_debtor_anytime(heard, text) {
            return actions;
        }
        if heard.amount.is_some() || heard.installments.is_some() {
            return self.hear_counter(heard, text);
        }
        if let Some(date) = heard.date {
            return self.take_offer_date(offer, date);
        }
        match heard.intent {
            Intent::Deny | Intent::Negotiate | Intent::CannotPay => self.decline(&offer),
            _ => self.clarify(Some(Prompt::NotUnderstood)),
        }
    }

    fn take_offer_date(&mut self, offer: Offer, date: NaiveDate) -> Vec<Action> {
        if date < self.ctx.today {
            self.state = State::AskingOfferDate(offer);
            return self.clarify(None);
        }
        if date > self.limits.latest_first_date {
            self.state = State::AskingOfferDate(offer);
            return self.clarify(Some(Prompt::DateTooLate));
        }
        let dated = offer.on(date);
        if !self.limits.permits(&dated) {
            self.state = State::AskingOfferDate(offer);
            return self.clarify(Some(Prompt::DateTooLate));
        }
        self.read_back(dated)
    }

    /// Records a "no" to `offer`. The first "no" asks for the debtor's own terms instead of
    /// bidding against the bot's own offer, and later ones go one rung down.
    fn decline(&mut self, offer: &Offer) -> Vec<Action> {
        self.mark_declined(offer);
        if !self.counter_asked {
            self.counter_asked = true;
            self.state = State::Gathering { asked: Ask::Payment, terms: Terms::default() };
            return vec![self.say(Prompt::AskPayment, true)];
        }
        self.propose_next()
    }

    fn mark_declined(&mut self, offer: &Offer) {
        self.declined = Some(self.declined.map_or(offer.rung, |declined| declined.max(offer.rung)));
        if !self.declined_schedules.contains(&offer.schedule) {
            self.declined_schedules.push(offer.schedule.clone());
        }
    }

    /// Tells whether `offer` comes to the same payments as terms the debtor declined: such an
    /// offer's rung counts as declined too, so the debtor never hears the same terms again. A
    /// payment of the whole balance the debtor names fits whatever was declined, so it is never
    /// skipped; that also ends the loops over the rungs.
    fn skips_declined(&mut self, offer: &Offer) -> bool {
        let below_declined = self.declined.is_none_or(|declined| offer.rung > declined);
        if !below_declined || !self.declined_schedules.contains(&offer.schedule) {
            return false;
        }
        self.declined = Some(offer.rung);
        true
    }

    /// Fits `counter` below the declined rungs, skipping rungs whose terms were declined.
    fn fit_undeclined(&mut self, counter: &Counter) -> Fit {
        loop {
            match self.limits.fit(counter, self.declined) {
                Fit::Offer(offer) if self.skips_declined(&offer) => continue,
                fit => return fit,
            }
        }
    }

    /// Returns the bot's first proposal below the declined rungs whose terms were not declined.
    fn next_undeclined_proposal(&mut self) -> Option<Offer> {
        loop {
            let offer = self.limits.next_proposal(self.declined)?;
            if !self.skips_declined(&offer) {
                return Some(offer);
            }
        }
    }

    /// Offers the next rung below the declined ones. The debtor's own terms are fitted again
    /// when they gave some, else the bot proposes. After the last rung comes the hardship route.
    fn propose_next(&mut self) -> Vec<Action> {
        if let Some(counter) = self.last_counter {
            if let Fit::Offer(offer) = self.fit_undeclined(&counter) {
                return self.offer_fitted(offer, counter);
            }
        }
        self.last_counter = None;
        match self.next_undeclined_proposal() {
            Some(offer) => self.propose(offer),
            None => self.offer_hardship(false),
        }
    }

    /// Takes a counter-offer made in answer to an offer or a date question. A smaller amount
    /// than a single payment declines it. A plan is declined by any amount: "no, nomás los
    /// siete mil" repeats its first payment to refuse the rest. Only a plain yes that names the
    /// plan's first payment takes the plan.
    fn hear_counter(&mut self, heard: &Interpretation, text: &str) -> Vec<Action> {
        self.counter_asked = true;
        if let State::Offering(offer) | State::AskingOfferDate(offer) = self.state.clone() {
            let amount = heard.amount.and_then(|mention| self.resolve_amount(mention));
            if offer.is_plan() && heard.intent == Intent::Affirm && amount == Some(offer.schedule[0].amount) {
                return self.accept(offer, None);
            }
            let declines = match offer.is_plan() {
                false => {
                    offer.rung == Rung::FullPayment
                        && amount.is_none_or(|amount| amount.amount_minor < offer.total.amount_minor)
                }
                true => heard.amount.is_some(),
            };
            if declines {
                self.mark_declined(&offer);
            }
        }
        self.hear_terms(Ask::Payment, Terms::default(), heard, text)
    }

    pub(super) fn hear_terms(&mut self, asked: Ask, terms: Terms, heard: &Interpretation, text: &str) -> Vec<Action> {
        if let Some(actions) = self.hear_debtor_anytime(heard, text) {
            return actions;
        }
        let no_terms = heard.amount.is_none() && heard.date.is_none() && heard.installments.is_none();
        if no_terms && matches!(heard.intent, Intent::Deny | Intent::CannotPay | Intent::Negotiate) {
            // The debtor cannot name a number: the bot goes one rung down.
            return self.propose_next();
        }

        let (merged, problem) = self.merge_terms(terms, heard);
        if let Some(problem) = problem {
            let (asked, lead) = match problem {
                Problem::Amount => (Ask::Amount, Some(Prompt::AmountInvalid)),
                Problem::Date => (Ask::Date, None),
            };
            self.state = State::Gathering { asked, terms: merged };
            return self.clarify(lead);
        }
        if merged == terms {
            // Nothing usable: a bare "sí" re-asks the question; anything else was not understood.
            let lead = match heard.intent {
                Intent::Affirm | Intent::PromiseToPay => None,
                _ => Some(Prompt::NotUnderstood),
            };
            self.state = State::Gathering { asked, terms };
            return self.clarify(lead);
        }
        self.continue_terms(merged)
    }

    /// Adds what the caller said to the terms so far. An amount outside (0, balance] or a date
    /// before today is dropped and reported.
    fn merge_terms(&self, mut terms: Terms, heard: &Interpretation) -> (Terms, Option<Problem>) {
        let mut problem = None;
        if let Some(mention) = heard.amount {
            match self.resolve_amount(mention) {
                Some(amount) => terms.amount = Some(amount),
                None => {
                    terms.amount = None;
                    problem = Some(Problem::Amount);
                }
            }
        }
        if let Some(date) = heard.date {
            if date >= self.ctx.today {
                terms.date = Some(date);
            } else {
                terms.date = None;
                problem = problem.or(Some(Problem::Date));
            }
        }
        if let Some(count) = heard.installments.filter(|count| *count >= 1) {
            terms.installments = Some(count);
        }
        (terms, problem)
    }

    /// Asks for what is missing, or fits the terms once they are complete.
    fn continue_terms(&mut self, terms: Terms) -> Vec<Action> {
        let has_size = terms.amount.is_some() || terms.installments.is_some();
        let (asked, prompt) = match (has_size, terms.date) {
            (true, Some(date)) => {
                let counter = Counter { amount: terms.amount, date, installments: terms.installments };
                return self.fit_counter(counter, terms);
            }
            (true, None) => (Ask::Date, Prompt::AskDate),
            (false, _) => (Ask::Amount, Prompt::AskAmount),
        };
        self.state = State::Gathering { asked, terms };
        vec![self.say(prompt, true)]
    }

    fn fit_counter(&mut self, counter: Counter, terms: Terms) -> Vec<Action> {
        if counter.installments.is_some_and(|count| count > self.limits.max_installments) {
            self.last_counter = None;
            let mut actions = vec![self.say(Prompt::TooManyInstallments, false)];
            actions.extend(self.propose_next());
            return actions;
        }
        match self.fit_undeclined(&counter) {
            Fit::Offer(offer) => {
                self.last_counter = Some(counter);
                self.offer_fitted(offer, counter)
            }
            Fit::DateTooLate => {
                self.state = State::Gathering { asked: Ask::Date, terms: Terms { date: None, ..terms } };
                self.clarify(Some(Prompt::DateTooLate))
            }
            Fit::BelowMinimum => {
                self.last_counter = None;
                let mut actions = vec![self.say(Prompt::AmountTooLow, false)];
                actions.extend(self.propose_next());
                actions
            }
            Fit::NoOption => {
                self.last_counter = None;
                self.propose_next()
            }
        }
    }

    /// Reads the debtor's own single payment straight back; a plan the bot built around their
    /// number is proposed first.
    fn offer_fitted(&mut self, offer: Offer, counter: Counter) -> Vec<Action> {
        let as_said = !offer.is_plan()
            && counter.amount.is_none_or(|amount| amount == offer.total || offer.rung == Rung::FullPayment);
        if as_said {
            return self.read_back(offer);
        }
        self.propose(offer)
    }

    fn read_back(&mut self, offer: Offer) -> Vec<Action> {
        let prompt = super::read_back_prompt(&offer);
        self.state = State::ReadingBack(offer);
        vec![self.say(prompt, true)]
    }

    pub(super) fn hear_read_back(&mut self, offer: Offer, heard: &Interpretation, text: &str) -> Vec<Action> {
        if let Some(actions) = self.hear_debtor_anytime(heard, text) {
            return actions;
        }
        let corrects = heard.amount.is_some()
            || heard.installments.is_some()
            || heard.date.is_some_and(|date| date != offer.first_date());
        if corrects {
            // "No, mejor el lunes" corrects the terms: they are fitted and read again. A
            // correction counts towards the clarifications, so a caller cannot loop forever.
            self.clarifications += 1;
            if self.clarifications > self.ctx.settings.max_clarifications {
                return self.finish(&[Prompt::Goodbye], self.unresolved());
            }
            let terms = read_back_terms(&offer);
            let (merged, problem) = self.merge_terms(terms, heard);
            if let Some(problem) = problem {
                let asked = if problem == Problem::Amount { Ask::Amount } else { Ask::Date };
                self.state = State::Gathering { asked, terms: merged };
                let lead = (problem == Problem::Amount).then_some(Prompt::AmountInvalid);
                return self.clarify(lead);
            }
            return self.continue_terms(merged);
        }

        match heard.intent {
            Intent::Affirm | Intent::PromiseToPay | Intent::IdentityConfirm => {
                let promise = offer.to_promise(self.ctx.account.debt.id);
                self.store(Action::StorePromise(promise), Pending::Promise(offer))
            }
            // A plain "no" (or key 2) corrects the terms read back: they are kept, so a new day
            // alone keeps the amount, as a spoken correction does.
            Intent::Deny => {
                self.counter_asked = true;
                self.state = State::Gathering { asked: Ask::Payment, terms: read_back_terms(&offer) };
                self.clarify(None)
            }
            Intent::CannotPay | Intent::Negotiate => self.decline(&offer),
            _ => self.clarify(Some(Prompt::NotUnderstood)),
        }
    }

    /// Resolves a mention to an amount, if it is in the debt's currency, above zero and at most
    /// the balance.
    pub(super) fn resolve_amount(&self, mention: AmountMention) -> Option<Money> {
        let balance = self.ctx.account.debt.balance;
        let amount = match mention {
            AmountMention::Exact(amount) => amount,
            AmountMention::FullBalance => balance,
            AmountMention::Half => half(balance),
        };
        let in_range = amount.amount_minor > 0 && amount.amount_minor <= balance.amount_minor;
        (amount.currency == balance.currency && in_range).then_some(amount)
    }
}

/// Returns the terms of a read-back as the debtor would correct them: the single payment, or a
/// plan's first payment, and its date.
fn read_back_terms(offer: &Offer) -> Terms {
    let amount = if offer.is_plan() { offer.schedule[0].amount } else { offer.total };
    Terms { amount: Some(amount), date: Some(offer.first_date()), installments: None }
}

/// Half an amount, rounded half up to the minor unit.
pub(super) fn half(amount: Money) -> Money {
    let minor = amount.amount_minor;
    Money::new(minor / 2 + minor % 2, amount.currency)
}
