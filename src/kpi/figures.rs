//! The call and promise KPIs, computed from the counts the store returns. Each rate is formed
//! here once, and its field's documentation gives its formula.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::portfolio::{CohortRecovery, RollRate};
use super::store::{AttemptCounts, PromiseOutcomes, PromiseTotals};
use super::usd::CostToCollect;
use super::{CostPer, CurrencyRate, Rate};
use crate::collections::model::{Currency, Money};
use crate::cost::format_dollars;

/// The KPIs of the calls and promises of a range, or of one day or hour of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallKpis {
    /// Outbound attempts, whatever their outcome.
    pub dials: u64,
    /// Inbound attempts. They count as contacts and right-party contacts but not as dials, so
    /// with many inbound calls the contact rates can exceed 100%.
    pub inbound_calls: u64,
    /// Dials answered by a person or a machine.
    pub connects: u64,
    /// Answered attempts in either direction where a live person spoke.
    pub contacts: u64,
    /// Attempts in either direction where the debtor's identity was verified.
    pub right_party_contacts: u64,
    /// Promises to pay created in the range.
    pub promises: u64,
    /// connects ÷ dials.
    pub connect_rate: Rate,
    /// contacts ÷ dials.
    pub contact_rate: Rate,
    /// right-party contacts ÷ dials.
    pub right_party_contact_rate: Rate,
    /// promises ÷ right-party contacts.
    pub promise_to_pay_rate: Rate,
    /// The promised total in each currency, sorted by currency code.
    pub amount_promised: Vec<Money>,
    /// The attempts' stored costs (speech, LLM, voice, telephony), in millionths of a dollar.
    pub total_cost_micros: u64,
    /// total cost ÷ calls, dials and inbound calls together.
    pub cost_per_call: CostPer,
    /// total cost ÷ promises.
    pub cost_per_promise: CostPer,
    /// Answered attempts that ended.
    pub handled_calls: u64,
    /// The summed length of the handled calls ÷ handled calls, in seconds (`None` without any).
    pub average_handle_seconds: Option<f64>,
}

impl CallKpis {
    /// Computes the figures of one group from its attempt counts and its promises per currency.
    pub fn from_counts(attempts: &AttemptCounts, promises: &[&PromiseTotals]) -> CallKpis {
        let promise_count: u64 = promises.iter().map(|totals| totals.promises).sum();
        let amounts = promises.iter().map(|totals| (totals.currency, totals.amount_minor));
        let cost = attempts.cost_micros;
        CallKpis {
            dials: attempts.dials,
            inbound_calls: attempts.inbound_calls,
            connects: attempts.connects,
            contacts: attempts.contacts,
            right_party_contacts: attempts.right_party_contacts,
            promises: promise_count,
            connect_rate: Rate::new(attempts.connects, attempts.dials, "dials"),
            contact_rate: Rate::new(attempts.contacts, attempts.dials, "dials"),
            right_party_contact_rate: Rate::new(attempts.right_party_contacts, attempts.dials, "dials"),
            promise_to_pay_rate: Rate::new(promise_count, attempts.right_party_contacts, "right-party contacts"),
            amount_promised: sum_per_currency(amounts),
            total_cost_micros: cost,
            cost_per_call: CostPer::new(cost, attempts.dials + attempts.inbound_calls, "calls"),
            cost_per_promise: CostPer::new(cost, promise_count, "promises"),
            handled_calls: attempts.handled_calls,
            average_handle_seconds: (attempts.handled_calls > 0)
                .then(|| attempts.handle_millis as f64 / 1000.0 / attempts.handled_calls as f64),
        }
    }
}

/// Sums amounts per currency and returns them sorted by currency code.
pub(crate) fn sum_per_currency(amounts: impl IntoIterator<Item = (Currency, u64)>) -> Vec<Money> {
    let mut totals: BTreeMap<&'static str, Money> = BTreeMap::new();
    for (currency, minor) in amounts {
        let minor = i64::try_from(minor).unwrap_or(i64::MAX);
        totals
            .entry(currency.code())
            .and_modify(|total| total.amount_minor = total.amount_minor.saturating_add(minor))
            .or_insert(Money::new(minor, currency));
    }
    totals.into_values().collect()
}

/// The promise-kept figures of the promises due in a range that are no longer open.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PromiseKept {
    /// promises kept in full (`kept` or `kept_late`) ÷ promises due in the range and settled.
    pub promise_kept_rate: Rate,
    /// Per currency, the amount payments covered ÷ the amount promised, over the same promises.
    pub promise_kept_amount_rate: Vec<CurrencyRate>,
    /// Promises due in the range whose status is `broken`.
    pub broken_promises: u64,
}

impl PromiseKept {
    pub fn from_outcomes(outcomes: &[PromiseOutcomes]) -> PromiseKept {
        let kept = outcomes.iter().map(|outcome| outcome.kept).sum();
        let settled = outcomes.iter().map(|outcome| outcome.settled).sum();
        let mut amount_rate: Vec<CurrencyRate> = outcomes
            .iter()
            .map(|outcome| CurrencyRate {
                currency: outcome.currency,
                rate: Rate::new(outcome.kept_minor, outcome.amount_minor, "promised"),
            })
            .collect();
        amount_rate.sort_by_key(|rate| rate.currency.code());
        PromiseKept {
            promise_kept_rate: Rate::new(kept, settled, "promises due and settled"),
            promise_kept_amount_rate: amount_rate,
            broken_promises: outcomes.iter().map(|outcome| outcome.broken).sum(),
        }
    }
}

/// The collections KPIs of one filter.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Kpis {
    #[serde(flatten)]
    pub calls: CallKpis,
    #[serde(flatten)]
    pub promise_kept: PromiseKept,
    /// Payments dated in the range, summed per currency and sorted by currency code.
    pub amount_collected: Vec<Money>,
    pub cost_to_collect: CostToCollect,
    /// Per placement month and currency, collected within each horizon ÷ placed.
    pub recovery: Vec<CohortRecovery>,
    /// Debts current (0 days past due) in their latest snapshot on or before the last day ÷
    /// debts past due in their latest snapshot on or before the first day.
    pub cure_rate: Rate,
    /// Per pair of consecutive months and aging bucket: debts that moved one bucket later ÷
    /// debts in the bucket, and the same by balance.
    pub roll_rates: Vec<RollRate>,
}

impl fmt::Display for CallKpis {
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
        writeln!(f, "amount promised: {}", money_list(&self.amount_promised))?;
        writeln!(f, "total cost {}", format_dollars(self.total_cost_micros))?;
        writeln!(f, "cost per call {}", self.cost_per_call)?;
        writeln!(f, "cost per promise {}", self.cost_per_promise)?;
        match self.average_handle_seconds {
            Some(seconds) => write!(f, "average handle time {seconds:.1} s ({} answered calls)", self.handled_calls),
            None => write!(f, "average handle time n/a (0 answered calls)"),
        }
    }
}

impl fmt::Display for Kpis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.calls)?;
        writeln!(f, "promise-kept rate {}", self.promise_kept.promise_kept_rate)?;
        let amount_rates: Vec<String> =
            self.promise_kept.promise_kept_amount_rate.iter().map(|rate| format!("{} {rate}", rate.currency)).collect();
        if amount_rates.is_empty() {
            writeln!(f, "promise-kept amount: none due")?;
        } else {
            writeln!(f, "promise-kept amount: {}", amount_rates.join(", "))?;
        }
        writeln!(f, "broken promises {}", self.promise_kept.broken_promises)?;
        writeln!(f, "amount collected: {}", money_list(&self.amount_collected))?;
        writeln!(f, "cost to collect {}", self.cost_to_collect)?;
        write!(f, "cure rate {}", self.cure_rate)?;
        if !self.recovery.is_empty() {
            write!(f, "\nrecovery by placement month:")?;
            for cohort in &self.recovery {
                write!(f, "\n  {cohort}")?;
            }
        }
        let rolls: Vec<&RollRate> = self.roll_rates.iter().filter(|roll| roll.debts.denominator > 0).collect();
        if !rolls.is_empty() {
            write!(f, "\nroll rates:")?;
            for roll in rolls {
                write!(f, "\n  {roll}")?;
            }
        }
        Ok(())
    }
}

/// Lists amounts as `250000 CLP, 4500.00 MXN`, or `none`.
pub(crate) fn money_list(amounts: &[Money]) -> String {
    if amounts.is_empty() {
        return "none".to_string();
    }
    amounts.iter().map(Money::to_string).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ten dials: 6 connects, 5 contacts, 4 right-party contacts with one inbound call among
    /// them, and two promises in two currencies.
    fn sample() -> (AttemptCounts, Vec<PromiseTotals>) {
        let attempts = AttemptCounts {
            group: None,
            dials: 10,
            inbound_calls: 1,
            connects: 6,
            contacts: 5,
            right_party_contacts: 4,
            handled_calls: 0,
            handle_millis: 0,
            cost_micros: 0,
        };
        let promise = |currency, amount_minor| PromiseTotals { group: None, currency, promises: 1, amount_minor };
        (attempts, vec![promise(Currency::Mxn, 450_000), promise(Currency::Clp, 250_000)])
    }

    fn call_kpis(attempts: &AttemptCounts, promises: &[PromiseTotals]) -> CallKpis {
        CallKpis::from_counts(attempts, &promises.iter().collect::<Vec<_>>())
    }

    #[test]
    fn rates_state_denominators() {
        let (attempts, promises) = sample();
        let kpis = call_kpis(&attempts, &promises);
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
    fn costs_divide_by_calls_and_promises() {
        let (mut attempts, promises) = sample();
        attempts.cost_micros = 55_000;
        let kpis = call_kpis(&attempts, &promises);
        assert_eq!(
            kpis.cost_per_call,
            CostPer { total_micros: 55_000, count: 11, count_name: "calls", micros: Some(5_000) }
        );
        assert_eq!(kpis.cost_per_promise.micros, Some(27_500));
        assert_eq!(call_kpis(&attempts, &[]).cost_per_promise.to_string(), "n/a (0 promises)");
    }

    #[test]
    fn handle_time_averages_milliseconds() {
        let (mut attempts, promises) = sample();
        attempts.handled_calls = 2;
        attempts.handle_millis = 240_000;
        assert_eq!(call_kpis(&attempts, &promises).average_handle_seconds, Some(120.0));
    }

    #[test]
    fn zero_denominators_have_no_value() {
        let kpis = call_kpis(&AttemptCounts::default(), &[]);
        for rate in [&kpis.connect_rate, &kpis.contact_rate, &kpis.right_party_contact_rate, &kpis.promise_to_pay_rate]
        {
            assert_eq!(rate.numerator, 0);
            assert_eq!(rate.denominator, 0);
            assert_eq!(rate.value, None);
        }
        assert_eq!(kpis.amount_promised, vec![]);
        assert_eq!(kpis.average_handle_seconds, None);
    }

    #[test]
    fn amounts_summed_per_currency() {
        let amounts =
            [(Currency::Usd, 250_000), (Currency::Mxn, 450_000), (Currency::Mxn, 120_050), (Currency::Clp, 300_000)];
        assert_eq!(
            sum_per_currency(amounts),
            vec![
                Money::new(300_000, Currency::Clp),
                Money::new(570_050, Currency::Mxn),
                Money::new(250_000, Currency::Usd),
            ]
        );
    }

    #[test]
    fn kept_rate_sums_currencies() {
        let outcome = |currency, settled, kept, broken, kept_minor, amount_minor| PromiseOutcomes {
            currency,
            settled,
            kept,
            broken,
            kept_minor,
            amount_minor,
        };
        let kept = PromiseKept::from_outcomes(&[
            outcome(Currency::Mxn, 3, 2, 1, 150_000, 250_000),
            outcome(Currency::Clp, 1, 0, 0, 4_000, 10_000),
        ]);
        assert_eq!(kept.promise_kept_rate.to_string(), "50.0% (2 of 4 promises due and settled)");
        assert_eq!(kept.broken_promises, 1);
        assert_eq!(kept.promise_kept_amount_rate[0].currency, Currency::Clp);
        assert_eq!(kept.promise_kept_amount_rate[0].rate.value, Some(0.4));
        assert_eq!(kept.promise_kept_amount_rate[1].to_string(), "60.0% (1500.00 of 2500.00 MXN promised)");
    }

    #[test]
    fn call_kpis_display() {
        let (attempts, promises) = sample();
        assert_eq!(
            call_kpis(&attempts, &promises).to_string(),
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
}
