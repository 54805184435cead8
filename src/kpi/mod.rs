//! The collections KPIs, computed in one place so the demo summary, `cobranza kpi`, the API and
//! the console show the same figures.
//!
//! Formulas, over the attempts and promises passed in:
//!
//! | figure | counts |
//! |---|---|
//! | dials | outbound attempts, whatever their outcome |
//! | inbound calls | inbound attempts |
//! | connects | outbound attempts that were answered, by a person or a machine |
//! | contacts | attempts in either direction that were answered and whose disposition is neither `no_response`, `voicemail_left` nor `technical_failure`, nor `hung_up` before the debtor was verified (the store cannot tell whether anyone spoke) |
//! | right-party contacts | attempts in either direction where the debtor's identity was verified |
//! | promises | promises to pay passed in |
//!
//! | rate | formula |
//! |---|---|
//! | connect rate | connects ÷ dials |
//! | contact rate | contacts ÷ dials |
//! | right-party contact rate | right-party contacts ÷ dials |
//! | promise-to-pay rate | promises ÷ right-party contacts |
//!
//! | cost | formula |
//! |---|---|
//! | total cost | the stored cost of every attempt passed in (speech, LLM, voice, telephony) |
//! | cost per call | total cost ÷ attempts, dials and inbound calls together |
//! | cost per promise | total cost ÷ promises |
//! | average handle time | the summed length of answered attempts that ended ÷ those attempts |
//!
//! Inbound calls count as contacts and right-party contacts but not as dials, so with many
//! inbound calls the contact and right-party contact rates can exceed 100%. Every rate carries
//! its numerator, its denominator and the denominator's name, and has no value when the
//! denominator is zero.

pub mod cli;
pub mod compliance;

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::collections::model::{Disposition, Money};
use crate::collections::store::{Attempt, Direction, StoredPromise};
use crate::cost::format_dollars;

/// A ratio that states what it divides by.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rate {
    pub numerator: u64,
    pub denominator: u64,
    /// The name of what the denominator counts, e.g. "dials".
    pub denominator_name: &'static str,
    /// `numerator ÷ denominator` as a fraction (0.25 is 25%), or `None` when the denominator is 0.
    pub value: Option<f64>,
}

impl Rate {
    pub fn new(numerator: u64, denominator: u64, denominator_name: &'static str) -> Rate {
        let value = (denominator > 0).then(|| numerator as f64 / denominator as f64);
        Rate { numerator, denominator, denominator_name, value }
    }
}

impl fmt::Display for Rate {
    /// Writes `45.0% (9 of 20 dials)`, or `n/a (0 dials)` without a denominator.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.value {
            Some(value) => write!(
                f,
                "{:.1}% ({} of {} {})",
                value * 100.0,
                self.numerator,
                self.denominator,
                self.denominator_name
            ),
            None => write!(f, "n/a (0 {})", self.denominator_name),
        }
    }
}

/// The collections KPIs over one set of attempts and promises.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Kpis {
    pub dials: u64,
    pub inbound_calls: u64,
    pub connects: u64,
    pub contacts: u64,
    pub right_party_contacts: u64,
    pub promises: u64,
    pub connect_rate: Rate,
    pub contact_rate: Rate,
    pub right_party_contact_rate: Rate,
    pub promise_to_pay_rate: Rate,
    /// The promised total in each currency, sorted by currency code.
    pub amount_promised: Vec<Money>,
    /// The attempts' stored costs, in millionths of a dollar.
    pub total_cost_micros: u64,
    pub cost_per_call: CostPer,
    pub cost_per_promise: CostPer,
    /// The answered attempts that ended, and their mean length in seconds (`None` without any).
    pub handled_calls: u64,
    pub average_handle_seconds: Option<f64>,
}

/// A cost divided by a count, which states what it divides by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CostPer {
    pub total_micros: u64,
    pub count: u64,
    /// The name of what the count counts, e.g. "promises".
    pub count_name: &'static str,
    /// `total ÷ count` in millionths of a dollar, rounded to the nearest; `None` when the count is 0.
    pub micros: Option<u64>,
}

impl CostPer {
    pub fn new(total_micros: u64, count: u64, count_name: &'static str) -> CostPer {
        let micros = (count > 0).then(|| (total_micros + count / 2) / count);
        CostPer { total_micros, count, count_name, micros }
    }
}

impl fmt::Display for CostPer {
    /// Writes `$0.0123 (8 calls)`, or `n/a (0 promises)` without a count.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.micros {
            Some(micros) => write!(f, "{} ({} {})", format_dollars(micros), self.count, self.count_name),
            None => write!(f, "n/a (0 {})", self.count_name),
        }
    }
}

impl fmt::Display for Kpis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "dials {}, inbound calls {}, connects {}, contacts {}, right-party contacts {}, promises {}",
            self.dials, self.inbound_calls, self.connects, self.contacts, self.right_party_contacts, self.promises
        )?;
        writeln!(f, "connect rate {}", self.connect_rate)?;
        writeln!(f, "contact rate {}", self.contact_rate)?;
        writeln!(f, "right-party contact rate {}", self.right_party_contact_rate)?;
        writeln!(f, "promise-to-pay rate {}", self.promise_to_pay_rate)?;
        let amounts: Vec<String> = self.amount_promised.iter().map(Money::to_string).collect();
        if amounts.is_empty() {
            writeln!(f, "amount promised: none")?;
        } else {
            writeln!(f, "amount promised: {}", amounts.join(", "))?;
        }
        writeln!(f, "total cost {}", format_dollars(self.total_cost_micros))?;
        writeln!(f, "cost per call {}", self.cost_per_call)?;
        writeln!(f, "cost per promise {}", self.cost_per_promise)?;
        match self.average_handle_seconds {
            Some(seconds) => write!(f, "average handle time {seconds:.1} s ({} answered calls)", self.handled_calls),
            None => write!(f, "average handle time n/a (0 answered calls)"),
        }
    }
}

/// Computes the KPIs over `attempts` and `promises` as given. Callers choose the window, for
/// example with `Store::attempts_between` and `Store::promises_between` over the same period.
pub fn compute(attempts: &[Attempt], promises: &[StoredPromise]) -> Kpis {
    let outbound = || attempts.iter().filter(|attempt| attempt.direction == Direction::Outbound);
    let dials = count(outbound());
    let inbound_calls = count(attempts.iter().filter(|attempt| attempt.direction == Direction::Inbound));
    let connects = count(outbound().filter(|attempt| attempt.answered));
    let contacts = count(attempts.iter().filter(|attempt| is_contact(attempt)));
    let right_party_contacts = count(attempts.iter().filter(|attempt| attempt.right_party_contact));
    let promise_count = promises.len() as u64;
    let total_cost_micros: u64 = attempts.iter().map(|attempt| attempt.cost_micros).sum();
    let handle_seconds: Vec<f64> = attempts
        .iter()
        .filter(|attempt| attempt.answered)
        .filter_map(|attempt| {
            attempt.ended_at.map(|ended| (ended - attempt.started_at).num_milliseconds() as f64 / 1000.0)
        })
        .collect();
    let handled_calls = handle_seconds.len() as u64;

    Kpis {
        dials,
        inbound_calls,
        connects,
        contacts,
        right_party_contacts,
        promises: promise_count,
        connect_rate: Rate::new(connects, dials, "dials"),
        contact_rate: Rate::new(contacts, dials, "dials"),
        right_party_contact_rate: Rate::new(right_party_contacts, dials, "dials"),
        promise_to_pay_rate: Rate::new(promise_count, right_party_contacts, "right-party contacts"),
        amount_promised: amount_promised(promises),
        total_cost_micros,
        cost_per_call: CostPer::new(total_cost_micros, dials + inbound_calls, "calls"),
        cost_per_promise: CostPer::new(total_cost_micros, promise_count, "promises"),
        handled_calls,
        average_handle_seconds: (handled_calls > 0).then(|| handle_seconds.iter().sum::<f64>() / handled_calls as f64),
    }
}

/// Days-past-due buckets of the aging distribution, as collectors stage a portfolio.
pub const AGING_BUCKETS: [(&str, u32, u32); 5] =
    [("1-30", 1, 30), ("31-60", 31, 60), ("61-90", 61, 90), ("91-180", 91, 180), ("181+", 181, u32::MAX)];

/// One bucket of the aging distribution: how many debts are that late, and their balance in
/// each currency. Debts not yet past due (0 days) are in no bucket.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgingBucket {
    pub label: &'static str,
    pub debts: u64,
    pub balance: Vec<Money>,
}

/// Counts the debts of `accounts` per days-past-due bucket, with their balances.
pub fn aging(accounts: &[crate::collections::model::Account]) -> Vec<AgingBucket> {
    AGING_BUCKETS
        .iter()
        .map(|&(label, from, to)| {
            let mut totals: BTreeMap<&'static str, Money> = BTreeMap::new();
            let mut debts = 0;
            for account in accounts.iter().filter(|a| (from..=to).contains(&a.debt.days_past_due)) {
                debts += 1;
                let balance = account.debt.balance;
                totals
                    .entry(balance.currency.code())
                    .and_modify(|total| total.amount_minor += balance.amount_minor)
                    .or_insert(balance);
            }
            AgingBucket { label, debts, balance: totals.into_values().collect() }
        })
        .collect()
}

/// Reports whether a live person spoke on the call.
// NOTE: a voicemail greeting that the carrier's answering-machine detection missed counts as a
// contact; the dialog disposes detected ones as `voicemail_left` (or `no_response`).
fn is_contact(attempt: &Attempt) -> bool {
    let silent = match attempt.disposition {
        Some(Disposition::NoResponse | Disposition::VoicemailLeft | Disposition::TechnicalFailure) => true,
        Some(Disposition::HungUp) => !attempt.right_party_contact,
        _ => false,
    };
    attempt.answered && !silent
}

fn count<'a>(attempts: impl Iterator<Item = &'a Attempt>) -> u64 {
    attempts.count() as u64
}

fn amount_promised(promises: &[StoredPromise]) -> Vec<Money> {
    let mut totals: BTreeMap<&'static str, Money> = BTreeMap::new();
    for stored in promises {
        let amount = stored.promise.amount;
        totals
            .entry(amount.currency.code())
            .and_modify(|total| total.amount_minor += amount.amount_minor)
            .or_insert(amount);
    }
    totals.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collections::model::{AttemptId, Currency, DebtId, DebtorId, Promise, PromiseId};
    use chrono::{NaiveDate, TimeZone, Utc};

    fn attempt(direction: Direction, answered: bool, disposition: Option<Disposition>, rpc: bool) -> Attempt {
        Attempt {
            id: AttemptId(1),
            debt_id: DebtId(1),
            debtor_id: DebtorId("MX-0001".to_string()),
            phone: "+525550100001".to_string(),
            direction,
            call_sid: None,
            started_at: Utc.with_ymd_and_hms(2026, 3, 2, 16, 0, 0).unwrap(),
            answered,
            ended_at: None,
            disposition,
            right_party_contact: rpc,
            recording_path: None,
            cost_micros: 0,
        }
    }

    fn outbound(answered: bool, disposition: Disposition, rpc: bool) -> Attempt {
        attempt(Direction::Outbound, answered, Some(disposition), rpc)
    }

    fn promise(amount_minor: i64, currency: Currency) -> StoredPromise {
        StoredPromise {
            id: PromiseId(1),
            attempt_id: AttemptId(1),
            promise: Promise {
                debt_id: DebtId(1),
                amount: Money::new(amount_minor, currency),
                due_date: NaiveDate::from_ymd_opt(2026, 3, 9).unwrap(),
                installments: vec![],
            },
            created_at: Utc.with_ymd_and_hms(2026, 3, 2, 16, 5, 0).unwrap(),
        }
    }

    /// Ten dials: 4 unanswered, 1 answered in silence, 1 failed on the media path, 1 wrong
    /// party, and 3 verified debtors of whom 2 promised. One inbound call from a verified debtor.
    fn sample_attempts() -> Vec<Attempt> {
        let mut attempts = vec![outbound(false, Disposition::NoResponse, false); 4];
        attempts.push(outbound(true, Disposition::NoResponse, false));
        attempts.push(outbound(true, Disposition::TechnicalFailure, false));
        attempts.push(outbound(true, Disposition::WrongNumber, false));
        attempts.push(outbound(true, Disposition::PromiseToPay, true));
        attempts.push(outbound(true, Disposition::PromiseToPay, true));
        attempts.push(outbound(true, Disposition::RefusedToPay, true));
        attempts.push(attempt(Direction::Inbound, true, Some(Disposition::CallbackRequested), true));
        attempts
    }

    #[test]
    fn counts_per_formula() {
        let kpis = compute(&sample_attempts(), &[promise(450_000, Currency::Mxn), promise(250_000, Currency::Clp)]);
        assert_eq!(kpis.dials, 10);
        assert_eq!(kpis.inbound_calls, 1);
        assert_eq!(kpis.connects, 6);
        assert_eq!(kpis.contacts, 5);
        assert_eq!(kpis.right_party_contacts, 4);
        assert_eq!(kpis.promises, 2);
    }

    #[test]
    fn costs_divide_by_calls_and_promises() {
        let mut attempts = sample_attempts();
        for (index, attempt) in attempts.iter_mut().enumerate() {
            attempt.cost_micros = 1_000 * index as u64;
        }
        // 0 + 1,000 + ... + 10,000 = 55,000 over 11 calls and 2 promises.
        let kpis = compute(&attempts, &[promise(450_000, Currency::Mxn), promise(250_000, Currency::Clp)]);
        assert_eq!(kpis.total_cost_micros, 55_000);
        assert_eq!(
            kpis.cost_per_call,
            CostPer { total_micros: 55_000, count: 11, count_name: "calls", micros: Some(5_000) }
        );
        assert_eq!(kpis.cost_per_promise.micros, Some(27_500));
        assert_eq!(kpis.cost_per_promise.to_string(), "$0.0275 (2 promises)");
        assert_eq!(compute(&attempts, &[]).cost_per_promise.to_string(), "n/a (0 promises)");
    }

    #[test]
    fn not_understood_is_contact_without_right_party() {
        let attempts =
            [outbound(true, Disposition::NotUnderstood, false), outbound(true, Disposition::NoResponse, false)];
        let kpis = compute(&attempts, &[]);
        assert_eq!(kpis.connects, 2);
        assert_eq!(kpis.contacts, 1);
        assert_eq!(kpis.right_party_contacts, 0);
    }

    #[test]
    fn rates_state_denominators() {
        let kpis = compute(&sample_attempts(), &[promise(450_000, Currency::Mxn), promise(250_000, Currency::Clp)]);
        assert_eq!(
            kpis.connect_rate,
            Rate { numerator: 6, denominator: 10, denominator_name: "dials", value: Some(0.6) }
        );
        assert_eq!(
            kpis.contact_rate,
            Rate { numerator: 5, denominator: 10, denominator_name: "dials", value: Some(0.5) }
        );
        assert_eq!(
            kpis.right_party_contact_rate,
            Rate { numerator: 4, denominator: 10, denominator_name: "dials", value: Some(0.4) }
        );
        assert_eq!(
            kpis.promise_to_pay_rate,
            Rate { numerator: 2, denominator: 4, denominator_name: "right-party contacts", value: Some(0.5) }
        );
    }

    #[test]
    fn hang_up_before_verification_is_not_contact() {
        let silent = outbound(true, Disposition::HungUp, false);
        let verified = outbound(true, Disposition::HungUp, true);
        assert_eq!(compute(&[silent], &[]).contacts, 0);
        assert_eq!(compute(&[verified], &[]).contacts, 1);
    }

    #[test]
    fn inbound_is_contact_not_dial() {
        let inbound = attempt(Direction::Inbound, true, Some(Disposition::PromiseToPay), true);
        let kpis = compute(&[inbound], &[promise(100, Currency::Usd)]);
        assert_eq!(kpis.dials, 0);
        assert_eq!(kpis.connects, 0);
        assert_eq!(kpis.contacts, 1);
        assert_eq!(kpis.right_party_contacts, 1);
        assert_eq!(kpis.contact_rate.value, None);
        assert_eq!(kpis.promise_to_pay_rate.value, Some(1.0));
    }

    #[test]
    fn answered_call_in_progress_is_contact() {
        let kpis = compute(&[attempt(Direction::Outbound, true, None, false)], &[]);
        assert_eq!(kpis.contacts, 1);
    }

    #[test]
    fn zero_denominators_have_no_value() {
        let kpis = compute(&[], &[]);
        for rate in [&kpis.connect_rate, &kpis.contact_rate, &kpis.right_party_contact_rate, &kpis.promise_to_pay_rate]
        {
            assert_eq!(rate.numerator, 0);
            assert_eq!(rate.denominator, 0);
            assert_eq!(rate.value, None);
        }
        assert_eq!(kpis.amount_promised, vec![]);
    }

    #[test]
    fn amounts_summed_per_currency() {
        let promises = [
            promise(250_000, Currency::Usd),
            promise(450_000, Currency::Mxn),
            promise(120_050, Currency::Mxn),
            promise(300_000, Currency::Clp),
        ];
        let kpis = compute(&[], &promises);
        assert_eq!(
            kpis.amount_promised,
            vec![
                Money::new(300_000, Currency::Clp),
                Money::new(570_050, Currency::Mxn),
                Money::new(250_000, Currency::Usd),
            ]
        );
    }

    #[test]
    fn rate_display() {
        assert_eq!(Rate::new(1, 3, "dials").to_string(), "33.3% (1 of 3 dials)");
        assert_eq!(Rate::new(0, 0, "right-party contacts").to_string(), "n/a (0 right-party contacts)");
    }

    #[test]
    fn kpis_display() {
        let kpis = compute(&sample_attempts(), &[promise(450_000, Currency::Mxn), promise(250_000, Currency::Clp)]);
        assert_eq!(
            kpis.to_string(),
            "dials 10, inbound calls 1, connects 6, contacts 5, right-party contacts 4, promises 2\n\
             connect rate 60.0% (6 of 10 dials)\n\
             contact rate 50.0% (5 of 10 dials)\n\
             right-party contact rate 40.0% (4 of 10 dials)\n\
             promise-to-pay rate 50.0% (2 of 4 right-party contacts)\n\
             amount promised: 250000 CLP, 4500.00 MXN\n\
             total cost $0.0000\n\
             cost per call $0.0000 (11 calls)\n\
             cost per promise $0.0000 (2 promises)\n\
             average handle time n/a (0 answered calls)"
        );
    }

    #[test]
    fn voicemail_is_a_connect_not_a_contact() {
        let kpis = compute(&[outbound(true, Disposition::VoicemailLeft, false)], &[]);
        assert_eq!(kpis.connects, 1);
        assert_eq!(kpis.contacts, 0);
    }
}
