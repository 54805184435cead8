//! A seeded generator of invented collections history: months of attempts, outcomes, promises,
//! payments and monthly delinquency snapshots for the sample portfolio and for invented debtors
//! like it, written in the formats `cobranza import-history` reads.
//!
//! The sample debtors are placed with the agency on the first day. Invented ones arrive on the
//! first of each month but the last, so the history has monthly placement cohorts.
//!
//! Every debtor has hidden traits drawn once: how reliable they are with money, how often they
//! answer and at which hours, and whether the number on file is theirs. The simulation then
//! walks day by day. Dials follow a cadence per delinquency stage inside 08:00 to 20:00 local
//! time, Monday to Saturday. A right-party contact may end in a promise, kept or broken
//! according to reliability. Payments also come unprompted, more often early in delinquency and
//! for smaller balances. So the history carries signal a model can learn (past promises kept,
//! payments, delinquency), and noise it cannot (the hidden traits themselves).
//!
//! The output depends only on the sample portfolio, the options and the `rand` version locked in
//! Cargo.lock: the same seed gives the same files byte for byte.

mod files;
mod simulate;

use std::collections::HashMap;

use chrono::NaiveDate;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

pub use files::write_history;
use simulate::{simulate_debtor, DebtorPlan};

use crate::collections::import::PortfolioRow;
use crate::collections::model::{Currency, DebtorId, Money};
use crate::scoring::segment::StrategyBook;

/// The generator's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryOptions {
    pub seed: u64,
    /// Invented debtors added to the sample portfolio's, modelled on them.
    pub invented_debtors: usize,
    /// The first day of the history; placements and snapshots fall on the first of each month
    /// from here.
    pub start: NaiveDate,
    pub months: u32,
}

impl Default for HistoryOptions {
    fn default() -> Self {
        HistoryOptions {
            seed: 20_261_201,
            invented_debtors: 3_000,
            start: NaiveDate::from_ymd_opt(2026, 6, 1).expect("valid date"),
            months: 6,
        }
    }
}

impl HistoryOptions {
    /// Returns the day after the last simulated day: the date of the last snapshot and of the
    /// portfolio's figures.
    pub fn end(&self) -> NaiveDate {
        self.start.checked_add_months(chrono::Months::new(self.months)).expect("end date in range")
    }
}

/// A debt's days past due and balance on a date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotRecord {
    pub account_ref: String,
    pub as_of: NaiveDate,
    pub days_past_due: u32,
    pub balance: Money,
}

/// One call and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecord {
    pub attempt_ref: String,
    pub account_ref: String,
    pub phone: String,
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub ended_at: chrono::DateTime<chrono::Utc>,
    pub answered: bool,
    pub right_party_contact: bool,
    pub disposition: crate::collections::model::Disposition,
    pub campaign: String,
    pub segment: String,
    pub cost_micros: u64,
}

/// A promise to pay obtained on a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromiseRecord {
    pub attempt_ref: String,
    pub amount: Money,
    pub due_date: NaiveDate,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// A payment the creditor received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRecord {
    pub payment_ref: String,
    pub account_ref: String,
    pub paid_on: NaiveDate,
    pub amount: Money,
    pub channel: &'static str,
}

/// A number put on the do-not-call list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoNotCallRecord {
    pub phone: String,
    pub reason: &'static str,
    pub added_on: NaiveDate,
}

/// The generated history, in file order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    /// The debtors and debts as they stand at the end of the history.
    pub portfolio: Vec<PortfolioRow>,
    pub snapshots: Vec<SnapshotRecord>,
    pub attempts: Vec<AttemptRecord>,
    pub promises: Vec<PromiseRecord>,
    pub payments: Vec<PaymentRecord>,
    pub do_not_call: Vec<DoNotCallRecord>,
}

/// Generates the history of the `sample` portfolio's debts and of `options.invented_debtors`
/// more debtors modelled on them (one debt each).
pub fn generate(sample: &[PortfolioRow], options: &HistoryOptions) -> History {
    let book = StrategyBook::embedded();
    let medians = median_balances(sample);
    let mut plans: Vec<DebtorPlan> = Vec::new();
    let mut rng = StdRng::seed_from_u64(options.seed);

    for row in sample {
        plans.push(DebtorPlan::from_sample(row.clone(), &mut rng));
    }
    let mut phones: std::collections::HashSet<String> = sample.iter().map(|row| row.debtor.phone.clone()).collect();
    let mut per_country: HashMap<String, usize> = HashMap::new();
    for index in 0..options.invented_debtors {
        let template = &sample[rng.gen_range(0..sample.len())];
        let number = per_country.entry(template.debtor.country.clone()).or_insert(0);
        *number += 1;
        let row = invent_debtor(template, sample, *number, index, &mut phones, &mut rng);
        plans.push(DebtorPlan::invented(row, options.months, &mut rng));
    }

    let mut history = History::default();
    for (index, plan) in plans.into_iter().enumerate() {
        // Each debtor gets its own stream, so adding debtors never changes the earlier ones.
        let mut debtor_rng = StdRng::seed_from_u64(options.seed ^ (index as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let median = medians[&plan.row.debt.balance.currency];
        simulate_debtor(plan, median, options, &book, &mut debtor_rng, &mut history);
    }
    history.attempts.sort_by(|a, b| (a.started_at, &a.attempt_ref).cmp(&(b.started_at, &b.attempt_ref)));
    history.payments.sort_by(|a, b| (a.paid_on, &a.payment_ref).cmp(&(b.paid_on, &b.payment_ref)));
    history.promises.sort_by(|a, b| (a.created_at, &a.attempt_ref).cmp(&(b.created_at, &b.attempt_ref)));
    history.snapshots.sort_by(|a, b| (a.as_of, &a.account_ref).cmp(&(b.as_of, &b.account_ref)));
    history.do_not_call.sort_by(|a, b| (a.added_on, &a.phone).cmp(&(b.added_on, &b.phone)));
    history
}

/// Computes the median sample balance per currency, in minor units: the scale of invented balances and
/// of the balance effect on paying.
fn median_balances(sample: &[PortfolioRow]) -> HashMap<Currency, i64> {
    let mut by_currency: HashMap<Currency, Vec<i64>> = HashMap::new();
    for row in sample {
        by_currency.entry(row.debt.balance.currency).or_default().push(row.debt.balance.amount_minor);
    }
    by_currency
        .into_iter()
        .map(|(currency, mut amounts)| {
            amounts.sort_unstable();
            (currency, amounts[amounts.len() / 2].max(1))
        })
        .collect()
}

const GIVEN_NAMES: [&str; 16] = [
    "Ana", "Carlos", "Lucía", "Jorge", "Valentina", "Andrés", "Camila", "Luis", "Sofía", "Diego", "Paula", "Miguel",
    "Daniela", "Javier", "Gabriela", "Ricardo",
];
const SURNAMES: [&str; 16] = [
    "García", "Rodríguez", "Martínez", "Hernández", "López", "González", "Pérez", "Sánchez", "Ramírez", "Torres",
    "Flores", "Rivera", "Gómez", "Díaz", "Vargas", "Castro",
];
const US_GIVEN_NAMES: [&str; 8] = ["James", "Mary", "Robert", "Linda", "Michael", "Susan", "David", "Karen"];
const US_SURNAMES: [&str; 8] = ["Smith", "Johnson", "Brown", "Miller", "Davis", "Wilson", "Moore", "Taylor"];

/// Invents a debtor in the template's country with one debt: a creditor and product seen in that
/// country, a balance around the country's median, and a fresh phone number.
fn invent_debtor(
    template: &PortfolioRow,
    sample: &[PortfolioRow],
    number: usize,
    index: usize,
    phones: &mut std::collections::HashSet<String>,
    rng: &mut StdRng,
) -> PortfolioRow {
    let country = &template.debtor.country;
    let peers: Vec<&PortfolioRow> = sample.iter().filter(|row| &row.debtor.country == country).collect();
    let product_source = peers[rng.gen_range(0..peers.len())];

    let mut debtor = template.debtor.clone();
    debtor.id = DebtorId(format!("{country}-G{number:05}"));
    debtor.full_name = if country == "US" {
        format!("{} {}", US_GIVEN_NAMES[rng.gen_range(0..8)], US_SURNAMES[rng.gen_range(0..8)])
    } else {
        format!(
            "{} {} {}",
            GIVEN_NAMES[rng.gen_range(0..16)],
            SURNAMES[rng.gen_range(0..16)],
            SURNAMES[rng.gen_range(0..16)]
        )
    };
    debtor.phone = loop {
        // Keep the template's country code and length and replace the last five digits.
        let prefix = &template.debtor.phone[..template.debtor.phone.len() - 5];
        let candidate = format!("{prefix}{:05}", rng.gen_range(20_000..100_000));
        if phones.insert(candidate.clone()) {
            break candidate;
        }
    };
    debtor.national_id_last4 = format!("{:04}", rng.gen_range(0..10_000));
    let year = rng.gen_range(1955..=2002);
    debtor.birth_date = NaiveDate::from_ymd_opt(year, rng.gen_range(1..=12), rng.gen_range(1..=28)).expect("valid date");

    let mut debt = product_source.debt.clone();
    debt.account_ref = format!("GEN-{country}-{:06}", index + 1);
    debt.balance = Money::new(0, debt.balance.currency);
    PortfolioRow { debtor, debt }
}

/// Draws from the standard normal distribution (Box-Muller).
fn standard_normal(rng: &mut StdRng) -> f64 {
    let u1: f64 = rng.gen_range(f64::EPSILON..1.0);
    let u2: f64 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

#[cfg(test)]
mod tests;
