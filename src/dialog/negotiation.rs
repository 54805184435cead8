//! The offer ladder as plain functions over one debt's limits: what the bot proposes on each
//! rung, and how a number the debtor names is fitted into the highest rung that contains it.
//!
//! Every offer built here is checked by [`Limits::permits`] before it is returned, so the
//! machine can only propose or store terms inside the creditor's policy.

use chrono::{Duration, NaiveDate};

use super::policy::DebtPolicy;
use crate::collections::model::{DebtId, Installment, Money, Promise};

/// A rung of the offer ladder, highest (best for the creditor) first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rung {
    /// The whole balance in one payment.
    FullPayment,
    /// The whole balance in a few installments.
    ShortPlan,
    /// Less than the balance, at an authorised discount, in one payment.
    Settlement,
    /// The discounted amount in a few installments.
    SettlementPlan,
    /// The whole balance in up to the stage's maximum number of installments.
    LongPlan,
    /// A payment of part of the balance with no plan for the rest, where the stage allows it.
    Partial,
}

impl Rung {
    pub const LADDER: [Rung; 6] =
        [Rung::FullPayment, Rung::ShortPlan, Rung::Settlement, Rung::SettlementPlan, Rung::LongPlan, Rung::Partial];

    pub fn as_str(self) -> &'static str {
        match self {
            Rung::FullPayment => "full_payment",
            Rung::ShortPlan => "short_plan",
            Rung::Settlement => "settlement",
            Rung::SettlementPlan => "settlement_plan",
            Rung::LongPlan => "long_plan",
            Rung::Partial => "partial",
        }
    }

    /// Tells whether the rung forgives part of the balance.
    pub fn is_settlement(self) -> bool {
        matches!(self, Rung::Settlement | Rung::SettlementPlan)
    }
}

/// Terms on one rung: a total and the dated payments that add up to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    pub rung: Rung,
    pub total: Money,
    /// One entry for a single payment; never empty, dates ascending, amounts summing to `total`.
    pub schedule: Vec<Installment>,
}

impl Offer {
    fn single(rung: Rung, amount: Money, date: NaiveDate) -> Offer {
        Offer { rung, total: amount, schedule: vec![Installment { amount, due_date: date }] }
    }

    pub fn is_plan(&self) -> bool {
        self.schedule.len() > 1
    }

    /// Returns the date of the single payment, or of the first installment.
    pub fn first_date(&self) -> NaiveDate {
        self.schedule[0].due_date
    }

    /// Returns the same single payment on another date. A plan keeps its dates.
    pub fn on(&self, date: NaiveDate) -> Offer {
        match self.is_plan() {
            true => self.clone(),
            false => Offer::single(self.rung, self.total, date),
        }
    }

    /// Converts the offer into the promise the store keeps: a plan's installments are listed, a
    /// single payment has none.
    pub fn to_promise(&self, debt_id: DebtId) -> Promise {
        let installments = if self.is_plan() { self.schedule.clone() } else { Vec::new() };
        Promise { debt_id, amount: self.total, due_date: self.first_date(), installments }
    }
}

/// The debtor's proposal: an amount, the date of the (first) payment, and maybe a number of
/// installments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter {
    pub amount: Option<Money>,
    pub date: NaiveDate,
    pub installments: Option<u32>,
}

/// The result of fitting a counter-offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fit {
    Offer(Offer),
    /// The date is after the latest date a promise may have.
    DateTooLate,
    /// The amount is below the smallest installment.
    BelowMinimum,
    /// No rung left contains what the debtor proposed.
    NoOption,
}

/// One debt's limits, resolved to amounts and dates for the day of the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    pub balance: Money,
    pub today: NaiveDate,
    /// The amount of the settlement the bot proposes (the stage's offered discount).
    pub settlement_total: Money,
    /// The smallest total a settlement may have (the stage's maximum discount).
    pub min_total: Money,
    /// The smallest installment; never above the balance.
    pub min_installment: Money,
    pub short_installments: u32,
    pub max_installments: u32,
    pub interval_days: u32,
    /// The first payment of a plan the bot proposes.
    pub first_payment_date: NaiveDate,
    /// The latest date of a single payment or of a plan's first installment.
    pub latest_first_date: NaiveDate,
    /// The latest date of any installment.
    pub last_date: NaiveDate,
    pub accept_partial: bool,
    /// The rungs the bot may propose, ladder order: all of them unless a strategy narrowed
    /// them. What the debtor proposes is fitted on every rung the policy allows.
    pub proposals: Vec<Rung>,
}

impl Limits {
    pub fn new(policy: &DebtPolicy, balance: Money, today: NaiveDate) -> Limits {
        let stage = &policy.stage;
        let days = |count: u32| today + Duration::days(i64::from(count));
        let discounted = |percent: u32| percent_of(balance, 100 - percent.min(100));
        let min_total = discounted(stage.max_discount_percent);
        // The proposed settlement is rounded up to whole units, so it is easy to say and never
        // below the policy's floor.
        let settlement_total = Money::new(
            round_up_to_major(discounted(stage.offer_discount_percent)).amount_minor.min(balance.amount_minor),
            balance.currency,
        );
        let by_percent = round_up_to_major(percent_of(balance, stage.min_installment_percent));
        let floor = policy.minimum_installment.amount_minor.max(by_percent.amount_minor);
        Limits {
            balance,
            today,
            settlement_total,
            min_total,
            min_installment: Money::new(floor.min(balance.amount_minor), balance.currency),
            short_installments: stage.short_plan_installments,
            max_installments: stage.max_installments,
            interval_days: stage.installment_interval_days,
            first_payment_date: days(stage.first_payment_days),
            latest_first_date: days(stage.latest_promise_days),
            last_date: days(stage.max_term_days),
            accept_partial: stage.accept_partial_payment,
            proposals: Rung::LADDER.to_vec(),
        }
    }

    /// Narrows the bot's proposals to `rungs`, a segment strategy's offers. When none of them has
    /// anything to propose for this debt, the whole ladder stays, so the bot still has an offer;
    /// returns whether the narrowing took effect.
    pub fn restrict_proposals(&mut self, rungs: &[Rung]) -> bool {
        let all = std::mem::replace(&mut self.proposals, rungs.to_vec());
        if self.next_proposal(None).is_some() {
            return true;
        }
        self.proposals = all;
        false
    }

    /// Returns the bot's own proposal on `rung`, or `None` when the rung has nothing to offer
    /// this debt (no discount authorised, installments below the minimum). A single payment is
    /// proposed "by" the latest date; the debtor then picks the day.
    pub fn proposal(&self, rung: Rung) -> Option<Offer> {
        if !self.proposals.contains(&rung) {
            return None;
        }
        self.policy_proposal(rung)
    }

    /// Returns the proposal on `rung` that the policy alone allows, whatever the strategy.
    fn policy_proposal(&self, rung: Rung) -> Option<Offer> {
        let offer = match rung {
            Rung::FullPayment => Some(Offer::single(rung, self.balance, self.latest_first_date)),
            Rung::ShortPlan => self.even_plan(rung, self.balance, self.short_installments),
            Rung::Settlement => (self.settlement_total.amount_minor < self.balance.amount_minor)
                .then(|| Offer::single(rung, self.settlement_total, self.latest_first_date)),
            Rung::SettlementPlan => (self.settlement_total.amount_minor < self.balance.amount_minor)
                .then(|| self.even_plan(rung, self.settlement_total, self.short_installments))
                .flatten(),
            Rung::LongPlan => {
                let count = self.max_installments.min(self.installments_until(self.first_payment_date, self.last_date));
                let short = self.policy_proposal(Rung::ShortPlan).map_or(1, |plan| plan.schedule.len() as u32);
                self.even_plan(rung, self.balance, count).filter(|plan| plan.schedule.len() as u32 > short)
            }
            Rung::Partial => None,
        };
        offer.filter(|offer| self.permits(offer))
    }

    /// Returns the first proposal on a rung below `below` (all rungs when `None`).
    pub fn next_proposal(&self, below: Option<Rung>) -> Option<Offer> {
        Rung::LADDER
            .into_iter()
            .filter(|rung| below.is_none_or(|below| *rung > below))
            .find_map(|rung| self.proposal(rung))
    }

    /// Fits what the debtor proposed into the highest rung below `below` that contains it: their
    /// amount is the single payment, or the first installment with the rest in installments no
    /// larger than it. A payment of the whole balance always fits.
    pub fn fit(&self, counter: &Counter, below: Option<Rung>) -> Fit {
        if counter.date > self.latest_first_date {
            return Fit::DateTooLate;
        }
        let allowed = |rung: Rung| below.is_none_or(|below| rung > below);

        let amount = match (counter.amount, counter.installments) {
            (Some(amount), _) if amount.amount_minor >= self.balance.amount_minor => {
                return self.checked(Offer::single(Rung::FullPayment, self.balance, counter.date));
            }
            (Some(amount), _) => amount,
            (None, Some(count)) => return self.fit_count(count, counter.date, allowed),
            (None, None) => return Fit::NoOption,
        };
        if amount.amount_minor < self.min_installment.amount_minor {
            return Fit::BelowMinimum;
        }

        let date = counter.date;
        let candidates = [
            (Rung::ShortPlan, self.plan_from(Rung::ShortPlan, self.balance, amount, date, self.short_installments)),
            (
                Rung::Settlement,
                (amount.amount_minor >= self.min_total.amount_minor)
                    .then(|| Offer::single(Rung::Settlement, amount, date)),
            ),
            (
                Rung::SettlementPlan,
                (amount.amount_minor < self.settlement_total.amount_minor)
                    .then(|| {
                        self.plan_from(
                            Rung::SettlementPlan,
                            self.settlement_total,
                            amount,
                            date,
                            self.short_installments,
                        )
                    })
                    .flatten(),
            ),
            (Rung::LongPlan, self.plan_from(Rung::LongPlan, self.balance, amount, date, self.max_installments)),
            (Rung::Partial, self.accept_partial.then(|| Offer::single(Rung::Partial, amount, date))),
        ];
        candidates
            .into_iter()
            .filter(|(rung, _)| allowed(*rung))
            .filter_map(|(_, offer)| offer)
            .find(|offer| self.permits(offer))
            .map_or(Fit::NoOption, Fit::Offer)
    }

    /// Fits "en N cuotas": the whole balance in that many even installments from `date`.
    fn fit_count(&self, count: u32, date: NaiveDate, allowed: impl Fn(Rung) -> bool) -> Fit {
        let rung = if count <= self.short_installments { Rung::ShortPlan } else { Rung::LongPlan };
        if count < 2 || !allowed(rung) {
            return Fit::NoOption;
        }
        let amounts = split_even(self.balance, count);
        let schedule = self.dated(&amounts, date);
        self.checked(Offer { rung, total: self.balance, schedule })
    }

    fn checked(&self, offer: Offer) -> Fit {
        match self.permits(&offer) {
            true => Fit::Offer(offer),
            false => Fit::NoOption,
        }
    }

    /// Tells whether an offer keeps every limit. Amounts are above zero and add up to the total,
    /// and the total is no lower than the deepest discount allows. Installments are no smaller
    /// than the minimum and no more than the maximum. The first date is between today and the
    /// latest promise date, and the last is within the term.
    pub fn permits(&self, offer: &Offer) -> bool {
        let Some(first) = offer.schedule.first() else {
            return false;
        };
        let Some(last) = offer.schedule.last() else {
            return false;
        };
        let currency = self.balance.currency;
        let sum: i64 = offer.schedule.iter().map(|part| part.amount.amount_minor).sum();
        let same_currency =
            offer.total.currency == currency && offer.schedule.iter().all(|part| part.amount.currency == currency);
        let amounts_positive = offer.schedule.iter().all(|part| part.amount.amount_minor > 0);
        let dates_ascending = offer.schedule.windows(2).all(|pair| pair[0].due_date < pair[1].due_date);
        let total = offer.total.amount_minor;
        let total_in_range = match offer.rung {
            Rung::FullPayment | Rung::ShortPlan | Rung::LongPlan => total == self.balance.amount_minor,
            Rung::Settlement | Rung::SettlementPlan => {
                total >= self.min_total.amount_minor && total < self.balance.amount_minor
            }
            Rung::Partial => {
                self.accept_partial && total >= self.min_installment.amount_minor && total < self.balance.amount_minor
            }
        };
        let installments_ok = !offer.is_plan()
            || offer.schedule.iter().all(|part| part.amount.amount_minor >= self.min_installment.amount_minor);
        same_currency
            && amounts_positive
            && sum == total
            && total_in_range
            && dates_ascending
            && offer.schedule.len() as u32 <= self.max_installments
            && installments_ok
            && first.due_date >= self.today
            && first.due_date <= self.latest_first_date
            && last.due_date <= self.last_date
    }

    /// Builds the bot's even plan of `total` in up to `count` installments from the proposal
    /// date, with fewer installments when `count` would make them smaller than the minimum.
    fn even_plan(&self, rung: Rung, total: Money, count: u32) -> Option<Offer> {
        let most_by_size = (total.amount_minor / self.min_installment.amount_minor.max(1)) as u32;
        let count = count.min(most_by_size);
        if count < 2 {
            return None;
        }
        let amounts = split_even(total, count);
        let schedule = self.dated(&amounts, self.first_payment_date);
        Some(Offer { rung, total, schedule })
    }

    /// Builds a plan of `total` that starts with the debtor's `first` payment on `date` and pays
    /// the rest in installments no larger than it, in at most `most` installments in all.
    fn plan_from(&self, rung: Rung, total: Money, first: Money, date: NaiveDate, most: u32) -> Option<Offer> {
        let rest = total.amount_minor - first.amount_minor;
        if rest <= 0 {
            return None;
        }
        let count = ceil_div(rest, first.amount_minor.max(1));
        if count + 1 > i64::from(most) {
            return None;
        }
        let mut amounts = vec![first];
        amounts.extend(split_even(Money::new(rest, total.currency), count as u32));
        let schedule = self.dated(&amounts, date);
        Some(Offer { rung, total, schedule })
    }

    fn dated(&self, amounts: &[Money], first_date: NaiveDate) -> Vec<Installment> {
        amounts
            .iter()
            .zip(0_i64..)
            .map(|(amount, index)| Installment {
                amount: *amount,
                due_date: first_date + Duration::days(index * i64::from(self.interval_days)),
            })
            .collect()
    }

    /// Counts the installment dates from `first` to `last`, one interval apart.
    fn installments_until(&self, first: NaiveDate, last: NaiveDate) -> u32 {
        let span = (last - first).num_days().max(0);
        1 + (span / i64::from(self.interval_days.max(1))) as u32
    }
}

/// Splits `total` into `count` installments in whole major units where it can, with what is
/// left over on the last one.
pub fn split_even(total: Money, count: u32) -> Vec<Money> {
    let count = i64::from(count.max(1));
    let unit = total.currency.minor_per_major();
    let mut each = total.amount_minor / count;
    if each >= unit {
        each -= each % unit;
    }
    let last = total.amount_minor - each * (count - 1);
    let mut parts = vec![Money::new(each, total.currency); (count - 1) as usize];
    parts.push(Money::new(last, total.currency));
    parts
}

/// `percent`% of an amount, rounded up to the minor unit.
fn percent_of(amount: Money, percent: u32) -> Money {
    let minor = (i128::from(amount.amount_minor) * i128::from(percent)).div_euclid(100)
        + i128::from((i128::from(amount.amount_minor) * i128::from(percent)).rem_euclid(100) != 0);
    Money::new(minor as i64, amount.currency)
}

fn round_up_to_major(amount: Money) -> Money {
    let unit = amount.currency.minor_per_major();
    Money::new(ceil_div(amount.amount_minor, unit) * unit, amount.currency)
}

/// Divides two non-negative numbers, rounding up.
fn ceil_div(numerator: i64, denominator: i64) -> i64 {
    (numerator + denominator - 1) / denominator
}

#[cfg(test)]
mod tests;
