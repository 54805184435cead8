//! Promise settlement: which promises and installments the creditor's payments kept, and which
//! were broken. A pure function of its inputs, so the order in which payments and promises were
//! imported never changes the result.

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};

use super::{Payment, PromiseStatus};
use crate::collections::model::{Currency, DebtId, PromiseId};
use crate::collections::store::StoredPromise;

/// A promise's status and what payments covered of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromiseSettlement {
    pub promise_id: PromiseId,
    pub status: PromiseStatus,
    /// The amount payments covered, in the promise's minor unit: the sum over its installments.
    pub kept_minor: i64,
    /// The date the status stopped being open; `None` while it is open.
    pub settled_on: Option<NaiveDate>,
    /// One entry per installment, in installment order; empty for a single-payment promise.
    pub installments: Vec<InstallmentSettlement>,
}

/// An installment's status and what payments covered of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallmentSettlement {
    /// The installment's position in its plan, from 1.
    pub seq: i64,
    pub status: PromiseStatus,
    pub kept_minor: i64,
    pub settled_on: Option<NaiveDate>,
}

/// One amount due on one date: an installment, or a promise without installments.
#[derive(Debug, Clone)]
struct Unit {
    promise: usize,
    /// 0 for a promise without installments.
    seq: i64,
    promise_id: PromiseId,
    currency: Currency,
    amount_minor: i64,
    due_date: NaiveDate,
    /// The last date a payment still counts for this unit: the due date plus the grace days.
    grace_end: NaiveDate,
    created_on: NaiveDate,
    kept_minor: i64,
    /// The date of the payment that covered the unit in full.
    covered_on: Option<NaiveDate>,
}

impl Unit {
    fn remainder(&self) -> i64 {
        self.amount_minor - self.kept_minor
    }

    /// Tells whether a payment dated `paid_on` may go to this unit: the promise existed by then
    /// and the grace period had not ended.
    fn accepts(&self, paid_on: NaiveDate, currency: Currency) -> bool {
        self.remainder() > 0 && self.currency == currency && self.created_on <= paid_on && paid_on <= self.grace_end
    }

    fn settlement(&self, as_of: NaiveDate) -> (PromiseStatus, Option<NaiveDate>) {
        if let Some(covered_on) = self.covered_on {
            let status = if covered_on <= self.due_date { PromiseStatus::Kept } else { PromiseStatus::KeptLate };
            return (status, Some(covered_on));
        }
        if self.grace_end < as_of {
            let status = if self.kept_minor > 0 { PromiseStatus::PartlyKept } else { PromiseStatus::Broken };
            return (status, self.grace_end.checked_add_days(Days::new(1)));
        }
        (PromiseStatus::Open, None)
    }
}

/// Settles promises against payments as of `as_of`, and returns one settlement per promise in
/// promise id order.
///
/// Payments count only for promises of their own debt and currency, and only when dated on or
/// before `as_of`. A unit is an installment, or a promise without installments. Each debt's
/// payments, in date order (then reference), go to the earliest unit that can take them, by due
/// date, then promise id, then installment. A unit can take a payment while it is not covered,
/// if its promise was created on or before the payment date and its due date plus `grace_days`
/// is on or after it. What exceeds that unit's remainder goes on to the next such unit, and what
/// is left after the last one is not promise money.
///
/// A covered unit is `kept` when the covering payment is dated on or before the due date and
/// `kept_late` otherwise. A unit not covered once its grace period has passed before `as_of` is
/// `partly_kept` when something was paid and `broken` when nothing was, settled the day after the
/// grace period. Any other unit is `open`.
///
/// A promise is broken when any unit is, else open when any unit is, else partly kept, kept late
/// or kept, in that order. A broken promise is settled on the date its first unit broke, because
/// it stays broken whatever later installments do. Any other settled promise is settled on its
/// last unit's date.
pub fn settle(
    promises: &[StoredPromise],
    payments: &[Payment],
    grace_days: u32,
    as_of: NaiveDate,
) -> Vec<PromiseSettlement> {
    let mut units_by_debt: BTreeMap<DebtId, Vec<Unit>> = BTreeMap::new();
    for (index, stored) in promises.iter().enumerate() {
        units_by_debt.entry(stored.promise.debt_id).or_default().extend(units_of(index, stored, grace_days));
    }
    let mut payments_by_debt: BTreeMap<DebtId, Vec<&Payment>> = BTreeMap::new();
    for payment in payments.iter().filter(|payment| payment.paid_on <= as_of) {
        payments_by_debt.entry(payment.debt_id).or_default().push(payment);
    }

    let mut settled_units: Vec<Unit> = Vec::new();
    for (debt_id, mut units) in units_by_debt {
        units.sort_by_key(|unit| (unit.due_date, unit.promise_id, unit.seq));
        let mut debt_payments = payments_by_debt.remove(&debt_id).unwrap_or_default();
        // The amount and currency break ties only between payments sharing a reference, which
        // the store never holds, so that any input order gives the same allocation.
        debt_payments.sort_by(|a, b| {
            (a.paid_on, &a.payment_ref, a.amount.amount_minor, a.amount.currency.code()).cmp(&(
                b.paid_on,
                &b.payment_ref,
                b.amount.amount_minor,
                b.amount.currency.code(),
            ))
        });
        for payment in debt_payments {
            allocate(&mut units, payment);
        }
        settled_units.extend(units);
    }

    let mut settlements: Vec<PromiseSettlement> = promises
        .iter()
        .enumerate()
        .map(|(index, stored)| promise_settlement(index, stored, &settled_units, as_of))
        .collect();
    settlements.sort_by_key(|settlement| settlement.promise_id);
    settlements
}

fn units_of(index: usize, stored: &StoredPromise, grace_days: u32) -> Vec<Unit> {
    let promise = &stored.promise;
    let unit = |seq: i64, amount: crate::collections::model::Money, due_date: NaiveDate| Unit {
        promise: index,
        seq,
        promise_id: stored.id,
        currency: amount.currency,
        amount_minor: amount.amount_minor,
        due_date,
        grace_end: due_date.checked_add_days(Days::new(u64::from(grace_days))).unwrap_or(NaiveDate::MAX),
        created_on: stored.created_at.date_naive(),
        kept_minor: 0,
        covered_on: None,
    };
    if promise.installments.is_empty() {
        return vec![unit(0, promise.amount, promise.due_date)];
    }
    (1_i64..)
        .zip(&promise.installments)
        .map(|(seq, installment)| unit(seq, installment.amount, installment.due_date))
        .collect()
}

/// Spreads one payment over the units that accept it, earliest first.
fn allocate(units: &mut [Unit], payment: &Payment) {
    let mut left = payment.amount.amount_minor;
    for unit in units.iter_mut() {
        if left <= 0 {
            break;
        }
        if !unit.accepts(payment.paid_on, payment.amount.currency) {
            continue;
        }
        let taken = left.min(unit.remainder());
        unit.kept_minor += taken;
        left -= taken;
        if unit.remainder() == 0 {
            unit.covered_on = Some(payment.paid_on);
        }
    }
}

fn promise_settlement(index: usize, stored: &StoredPromise, units: &[Unit], as_of: NaiveDate) -> PromiseSettlement {
    let mut own: Vec<&Unit> = units.iter().filter(|unit| unit.promise == index).collect();
    own.sort_by_key(|unit| unit.seq);
    let unit_settlements: Vec<(i64, i64, PromiseStatus, Option<NaiveDate>)> = own
        .iter()
        .map(|unit| {
            let (status, settled_on) = unit.settlement(as_of);
            (unit.seq, unit.kept_minor, status, settled_on)
        })
        .collect();

    let has = |wanted: PromiseStatus| unit_settlements.iter().any(|(_, _, status, _)| *status == wanted);
    let status = if has(PromiseStatus::Broken) {
        PromiseStatus::Broken
    } else if has(PromiseStatus::Open) {
        PromiseStatus::Open
    } else if has(PromiseStatus::PartlyKept) {
        PromiseStatus::PartlyKept
    } else if has(PromiseStatus::KeptLate) {
        PromiseStatus::KeptLate
    } else {
        PromiseStatus::Kept
    };
    let settled_on = match status {
        PromiseStatus::Open => None,
        PromiseStatus::Broken => unit_settlements
            .iter()
            .filter(|(_, _, status, _)| *status == PromiseStatus::Broken)
            .filter_map(|(_, _, _, settled_on)| *settled_on)
            .min(),
        _ => unit_settlements.iter().filter_map(|(_, _, _, settled_on)| *settled_on).max(),
    };

    let installments = if stored.promise.installments.is_empty() {
        Vec::new()
    } else {
        unit_settlements
            .iter()
            .map(|&(seq, kept_minor, status, settled_on)| InstallmentSettlement { seq, status, kept_minor, settled_on })
            .collect()
    };
    PromiseSettlement {
        promise_id: stored.id,
        status,
        kept_minor: unit_settlements.iter().map(|(_, kept_minor, _, _)| kept_minor).sum(),
        settled_on,
        installments,
    }
}

#[cfg(test)]
mod tests;
