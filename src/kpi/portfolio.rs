//! The portfolio KPIs, read from debt snapshots and payments: recovery per placement cohort,
//! roll rates between aging buckets and the aging distribution.

use std::fmt;

use chrono::{Duration, NaiveDate};
use serde::Serialize;

use super::figures::{money_list, sum_per_currency};
use super::sql::RECOVERY_HORIZON_DAYS;
use super::store::{AgingTotals, CohortTotals, Month, RollTotals};
use super::{CurrencyRate, Rate};
use crate::collections::model::{Currency, Money};

/// Days-past-due buckets of the aging distribution, as collectors stage a portfolio: label,
/// first day and last day.
pub const AGING_BUCKETS: [(&str, u32, u32); 8] = [
    ("current", 0, 0),
    ("1-30", 1, 30),
    ("31-60", 31, 60),
    ("61-90", 61, 90),
    ("91-120", 91, 120),
    ("121-150", 121, 150),
    ("151-180", 151, 180),
    ("181+", 181, u32::MAX),
];

/// One bucket of the aging distribution: how many debts are that late, and their balance in
/// each currency.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgingBucket {
    pub label: &'static str,
    pub debts: u64,
    pub balance: Vec<Money>,
}

/// Returns every bucket of [`AGING_BUCKETS`] in order, with the store's totals.
pub fn aging(totals: &[AgingTotals]) -> Vec<AgingBucket> {
    AGING_BUCKETS
        .iter()
        .enumerate()
        .map(|(index, (label, _, _))| {
            let rows: Vec<&AgingTotals> = totals.iter().filter(|row| row.bucket == index).collect();
            AgingBucket {
                label,
                debts: rows.iter().map(|row| row.debts).sum(),
                balance: sum_per_currency(rows.iter().map(|row| (row.currency, row.balance_minor))),
            }
        })
        .collect()
}

impl fmt::Display for AgingBucket {
    /// Writes `  31-60 days: 2 debts, 9000.00 MXN`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let balance = if self.balance.is_empty() { String::new() } else { format!(", {}", money_list(&self.balance)) };
        write!(f, "{:>7} days: {} debts{balance}", self.label, self.debts)
    }
}

/// The amount a cohort collected within one horizon of its placement.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HorizonRecovery {
    pub days: u32,
    pub collected: Money,
    /// collected ÷ placed, in the currency's minor unit.
    pub rate: Rate,
    /// Whether the horizon had passed by the range's last day for every debt of the cohort.
    /// Payments after the last day are not counted, so an incomplete horizon can still grow.
    pub complete: bool,
}

/// The recovery of the debts placed in one month, in one currency. A debt is placed on the date
/// of its first snapshot, at that snapshot's balance. Its horizon of N days counts the payments
/// in its currency from the placement date to N − 1 days after it, up to the range's last day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CohortRecovery {
    pub month: Month,
    pub currency: Currency,
    pub debts: u64,
    pub placed: Money,
    pub horizons: Vec<HorizonRecovery>,
}

/// Computes each cohort's recovery from the store's totals, for a range ending on `to`.
pub fn recovery(cohorts: &[CohortTotals], to: NaiveDate) -> Vec<CohortRecovery> {
    let mut cohorts: Vec<&CohortTotals> = cohorts.iter().collect();
    cohorts.sort_by_key(|cohort| (cohort.month, cohort.currency.code()));
    cohorts
        .into_iter()
        .map(|cohort| {
            let money = |minor: u64| Money::new(i64::try_from(minor).unwrap_or(i64::MAX), cohort.currency);
            let horizons = RECOVERY_HORIZON_DAYS
                .iter()
                .zip(cohort.collected_minor)
                .map(|(&days, collected)| HorizonRecovery {
                    days,
                    collected: money(collected),
                    rate: Rate::new(collected, cohort.placed_minor, "placed"),
                    complete: cohort.month.last_day() + Duration::days(i64::from(days) - 1) <= to,
                })
                .collect();
            CohortRecovery {
                month: cohort.month,
                currency: cohort.currency,
                debts: cohort.debts,
                placed: money(cohort.placed_minor),
                horizons,
            }
        })
        .collect()
}

impl fmt::Display for CohortRecovery {
    /// Writes `2026-01, 3 debts, 12000.00 MXN placed: 30 days 10.0% (1200.00 MXN), ...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}, {} debts, {} placed:", self.month, self.debts, self.placed)?;
        for (index, horizon) in self.horizons.iter().enumerate() {
            let separator = if index == 0 { " " } else { ", " };
            let value = match horizon.rate.value {
                Some(value) => format!("{:.1}%", value * 100.0),
                None => "n/a".to_string(),
            };
            let pending = if horizon.complete { "" } else { ", not yet elapsed" };
            write!(f, "{separator}{} days {value} ({}{pending})", horizon.days, horizon.collected)?;
        }
        Ok(())
    }
}

/// The movement of debts from one aging bucket to the next over a pair of consecutive months. Each
/// debt is read from its latest snapshot in each month, on or before the range's last day. A
/// debt without a snapshot in the later month counts in the denominator only.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RollRate {
    pub from_month: Month,
    pub to_month: Month,
    pub from_bucket: &'static str,
    pub to_bucket: &'static str,
    /// debts in `to_bucket` in `to_month`, among those in `from_bucket` in `from_month` ÷
    /// debts in `from_bucket` in `from_month`.
    pub debts: Rate,
    /// Per currency, the later balance of the debts that rolled ÷ the earlier balance of the
    /// debts in `from_bucket`.
    pub balance: Vec<CurrencyRate>,
}

/// Returns the roll rates of every pair of consecutive months from `from` to `to` and every
/// bucket but the last, with the store's totals (zero where it has none).
pub fn roll_rates(totals: &[RollTotals], from: NaiveDate, to: NaiveDate) -> Vec<RollRate> {
    let mut rates = Vec::new();
    let last = Month::of(to);
    let mut month = Month::of(from);
    while month < last {
        for bucket in 0..AGING_BUCKETS.len() - 1 {
            let rows: Vec<&RollTotals> =
                totals.iter().filter(|row| row.month == month && row.bucket == bucket).collect();
            let mut balance: Vec<CurrencyRate> = rows
                .iter()
                .map(|row| CurrencyRate {
                    currency: row.currency,
                    rate: Rate::new(row.rolled_balance_minor, row.balance_minor, "in the bucket"),
                })
                .collect();
            balance.sort_by_key(|rate| rate.currency.code());
            rates.push(RollRate {
                from_month: month,
                to_month: month.next(),
                from_bucket: AGING_BUCKETS[bucket].0,
                to_bucket: AGING_BUCKETS[bucket + 1].0,
                debts: Rate::new(
                    rows.iter().map(|row| row.rolled_debts).sum(),
                    rows.iter().map(|row| row.debts).sum(),
                    "debts in the bucket",
                ),
                balance,
            });
        }
        month = month.next();
    }
    rates
}

impl fmt::Display for RollRate {
    /// Writes `2026-01 to 2026-02, current to 1-30: 33.3% (1 of 3 debts in the bucket); MXN ...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} to {}, {} to {}: {}",
            self.from_month, self.to_month, self.from_bucket, self.to_bucket, self.debts
        )?;
        for rate in &self.balance {
            write!(f, "; {} {rate}", rate.currency)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn aging_lists_every_bucket() {
        let totals = [
            AgingTotals { bucket: 0, currency: Currency::Mxn, debts: 2, balance_minor: 1_000 },
            AgingTotals { bucket: 7, currency: Currency::Clp, debts: 1, balance_minor: 900 },
            AgingTotals { bucket: 7, currency: Currency::Mxn, debts: 1, balance_minor: 50 },
        ];
        let buckets = aging(&totals);
        let labels: Vec<&str> = buckets.iter().map(|bucket| bucket.label).collect();
        assert_eq!(labels, ["current", "1-30", "31-60", "61-90", "91-120", "121-150", "151-180", "181+"]);
        assert_eq!(buckets[0].debts, 2);
        assert_eq!(buckets[1].debts, 0);
        assert_eq!(buckets[7].balance, vec![Money::new(900, Currency::Clp), Money::new(50, Currency::Mxn)]);
        assert_eq!(buckets[7].to_string(), "   181+ days: 2 debts, 900 CLP, 0.50 MXN");
    }

    #[test]
    fn horizon_complete_after_last_placement() {
        let cohort = CohortTotals {
            month: Month { year: 2026, month: 1 },
            currency: Currency::Mxn,
            debts: 2,
            placed_minor: 100_000,
            collected_minor: [10_000, 25_000, 25_000],
        };
        // A debt placed on 31 January has its 30 days end on 1 March (31 January + 29 days).
        let early = recovery(std::slice::from_ref(&cohort), day("2026-02-28"));
        assert!(!early[0].horizons[0].complete);
        let recovered = recovery(&[cohort], day("2026-03-01"));
        assert!(recovered[0].horizons[0].complete);
        assert!(!recovered[0].horizons[1].complete);
        assert_eq!(recovered[0].horizons[1].rate.value, Some(0.25));
        assert_eq!(
            recovered[0].to_string(),
            "2026-01, 2 debts, 1000.00 MXN placed: 30 days 10.0% (100.00 MXN), 90 days 25.0% (250.00 MXN, \
             not yet elapsed), 180 days 25.0% (250.00 MXN, not yet elapsed)"
        );
    }

    #[test]
    fn roll_rates_cover_month_pairs() {
        let totals = [RollTotals {
            month: Month { year: 2026, month: 2 },
            bucket: 1,
            currency: Currency::Mxn,
            debts: 4,
            balance_minor: 40_000,
            rolled_debts: 1,
            rolled_balance_minor: 12_000,
        }];
        let rates = roll_rates(&totals, day("2026-01-15"), day("2026-03-02"));
        assert_eq!(rates.len(), 14);
        assert_eq!(rates[0].debts.denominator, 0);
        let february = &rates[7 + 1];
        assert_eq!(february.from_month, Month { year: 2026, month: 2 });
        assert_eq!(february.to_bucket, "31-60");
        assert_eq!(february.debts.value, Some(0.25));
        assert_eq!(
            february.to_string(),
            "2026-02 to 2026-03, 1-30 to 31-60: 25.0% (1 of 4 debts in the bucket); MXN 30.0% (120.00 of 400.00 MXN \
             in the bucket)"
        );
        assert!(roll_rates(&totals, day("2026-02-01"), day("2026-02-28")).is_empty());
    }
}
