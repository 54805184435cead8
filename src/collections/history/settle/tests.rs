use chrono::{NaiveDate, TimeZone, Utc};
use proptest::prelude::*;

use super::*;
use crate::collections::model::{AttemptId, Installment, Money, Promise};

const GRACE: u32 = 3;

fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

fn mxn(amount_minor: i64) -> Money {
    Money::new(amount_minor, Currency::Mxn)
}

/// Builds a single-payment promise of debt 1, created at noon UTC on `created`.
fn promise(id: i64, amount_minor: i64, due: &str, created: &str) -> StoredPromise {
    let created = day(created);
    StoredPromise {
        id: PromiseId(id),
        attempt_id: AttemptId(1),
        promise: Promise { debt_id: DebtId(1), amount: mxn(amount_minor), due_date: day(due), installments: vec![] },
        created_at: Utc.from_utc_datetime(&created.and_hms_opt(12, 0, 0).unwrap()),
    }
}

fn plan(id: i64, installments: &[(i64, &str)], created: &str) -> StoredPromise {
    let installments: Vec<Installment> = installments
        .iter()
        .map(|&(amount_minor, due)| Installment { amount: mxn(amount_minor), due_date: day(due) })
        .collect();
    let mut stored = promise(
        id,
        installments.iter().map(|i| i.amount.amount_minor).sum(),
        installments[0].due_date.to_string().as_str(),
        created,
    );
    stored.promise.installments = installments;
    stored
}

fn payment(payment_ref: &str, paid_on: &str, amount_minor: i64) -> Payment {
    Payment {
        payment_ref: payment_ref.to_string(),
        debt_id: DebtId(1),
        paid_on: day(paid_on),
        amount: mxn(amount_minor),
        channel: "OXXO".to_string(),
    }
}

fn summary(settlement: &PromiseSettlement) -> (PromiseStatus, i64, Option<NaiveDate>) {
    (settlement.status, settlement.kept_minor, settlement.settled_on)
}

#[test]
fn payment_on_due_date_keeps() {
    let settled = settle(
        &[promise(1, 10_000, "2026-03-10", "2026-03-01")],
        &[payment("P1", "2026-03-10", 10_000)],
        GRACE,
        day("2026-04-01"),
    );
    assert_eq!(summary(&settled[0]), (PromiseStatus::Kept, 10_000, Some(day("2026-03-10"))));
    assert_eq!(settled[0].installments, vec![]);
}

#[test]
fn payment_within_grace_keeps_late() {
    let settled = settle(
        &[promise(1, 10_000, "2026-03-10", "2026-03-01")],
        &[payment("P1", "2026-03-13", 10_000)],
        GRACE,
        day("2026-04-01"),
    );
    assert_eq!(summary(&settled[0]), (PromiseStatus::KeptLate, 10_000, Some(day("2026-03-13"))));
}

#[test]
fn payment_after_grace_breaks() {
    let settled = settle(
        &[promise(1, 10_000, "2026-03-10", "2026-03-01")],
        &[payment("P1", "2026-03-14", 10_000)],
        GRACE,
        day("2026-04-01"),
    );
    assert_eq!(summary(&settled[0]), (PromiseStatus::Broken, 0, Some(day("2026-03-14"))));
}

#[test]
fn partial_payment_partly_keeps() {
    let settled = settle(
        &[promise(1, 10_000, "2026-03-10", "2026-03-01")],
        &[payment("P1", "2026-03-05", 4_000)],
        GRACE,
        day("2026-04-01"),
    );
    assert_eq!(summary(&settled[0]), (PromiseStatus::PartlyKept, 4_000, Some(day("2026-03-14"))));
}

#[test]
fn open_until_grace_passes() {
    let promises = [promise(1, 10_000, "2026-03-10", "2026-03-01")];
    let payments = [payment("P1", "2026-03-05", 4_000)];
    assert_eq!(summary(&settle(&promises, &payments, GRACE, day("2026-03-13"))[0]), (PromiseStatus::Open, 4_000, None));
    assert_eq!(summary(&settle(&promises, &payments, GRACE, day("2026-03-14"))[0]).0, PromiseStatus::PartlyKept);
}

#[test]
fn payment_before_promise_not_counted() {
    let settled = settle(
        &[promise(1, 10_000, "2026-03-10", "2026-03-06")],
        &[payment("P1", "2026-03-05", 10_000)],
        GRACE,
        day("2026-04-01"),
    );
    assert_eq!(summary(&settled[0]), (PromiseStatus::Broken, 0, Some(day("2026-03-14"))));
}

#[test]
fn payments_after_as_of_ignored() {
    let settled = settle(
        &[promise(1, 10_000, "2026-03-10", "2026-03-01")],
        &[payment("P1", "2026-03-09", 10_000)],
        GRACE,
        day("2026-03-08"),
    );
    assert_eq!(summary(&settled[0]), (PromiseStatus::Open, 0, None));
}

#[test]
fn large_payment_spills_to_next_promise() {
    let promises = [promise(1, 10_000, "2026-03-10", "2026-03-01"), promise(2, 5_000, "2026-03-20", "2026-03-02")];
    let settled = settle(&promises, &[payment("P1", "2026-03-09", 18_000)], GRACE, day("2026-04-01"));
    assert_eq!(summary(&settled[0]), (PromiseStatus::Kept, 10_000, Some(day("2026-03-09"))));
    assert_eq!(summary(&settled[1]), (PromiseStatus::Kept, 5_000, Some(day("2026-03-09"))));
}

#[test]
fn spill_skips_promise_made_later() {
    let promises = [promise(1, 10_000, "2026-03-10", "2026-03-01"), promise(2, 5_000, "2026-03-20", "2026-03-12")];
    let settled = settle(&promises, &[payment("P1", "2026-03-09", 18_000)], GRACE, day("2026-04-01"));
    assert_eq!(summary(&settled[0]), (PromiseStatus::Kept, 10_000, Some(day("2026-03-09"))));
    assert_eq!(summary(&settled[1]), (PromiseStatus::Broken, 0, Some(day("2026-03-24"))));
}

#[test]
fn plan_installments_settle_separately() {
    let promises = [plan(1, &[(3_000, "2026-03-10"), (3_000, "2026-04-10"), (3_000, "2026-05-10")], "2026-03-01")];
    let payments = [payment("P1", "2026-03-10", 3_000), payment("P2", "2026-04-12", 2_000)];
    let settled = settle(&promises, &payments, GRACE, day("2026-04-20"));
    let installments: Vec<(i64, PromiseStatus, i64, Option<NaiveDate>)> =
        settled[0].installments.iter().map(|i| (i.seq, i.status, i.kept_minor, i.settled_on)).collect();
    assert_eq!(
        installments,
        vec![
            (1, PromiseStatus::Kept, 3_000, Some(day("2026-03-10"))),
            (2, PromiseStatus::PartlyKept, 2_000, Some(day("2026-04-14"))),
            (3, PromiseStatus::Open, 0, None),
        ]
    );
    assert_eq!(summary(&settled[0]), (PromiseStatus::Open, 5_000, None));
}

#[test]
fn broken_installment_breaks_plan() {
    let promises = [plan(1, &[(3_000, "2026-03-10"), (3_000, "2026-04-10")], "2026-03-01")];
    let payments = [payment("P1", "2026-04-10", 3_000)];
    let settled = settle(&promises, &payments, GRACE, day("2026-03-20"));
    assert_eq!(summary(&settled[0]), (PromiseStatus::Broken, 0, Some(day("2026-03-14"))));

    // The April payment cannot save the broken first installment: it keeps the second one, and
    // the plan stays broken from the date its first installment broke.
    let later = settle(&promises, &payments, GRACE, day("2026-05-01"));
    assert_eq!(summary(&later[0]), (PromiseStatus::Broken, 3_000, Some(day("2026-03-14"))));
    assert_eq!(later[0].installments[1].status, PromiseStatus::Kept);
}

#[test]
fn plan_kept_late_settles_on_last() {
    let promises = [plan(1, &[(3_000, "2026-03-10"), (3_000, "2026-04-10")], "2026-03-01")];
    let payments = [payment("P1", "2026-03-11", 3_000), payment("P2", "2026-04-02", 3_000)];
    let settled = settle(&promises, &payments, GRACE, day("2026-05-01"));
    assert_eq!(summary(&settled[0]), (PromiseStatus::KeptLate, 6_000, Some(day("2026-04-02"))));
}

#[test]
fn other_debt_and_currency_ignored() {
    let mut other_debt = payment("P1", "2026-03-09", 10_000);
    other_debt.debt_id = DebtId(2);
    let mut other_currency = payment("P2", "2026-03-09", 10_000);
    other_currency.amount = Money::new(10_000, Currency::Usd);
    let settled = settle(
        &[promise(1, 10_000, "2026-03-10", "2026-03-01")],
        &[other_debt, other_currency],
        GRACE,
        day("2026-04-01"),
    );
    assert_eq!(summary(&settled[0]), (PromiseStatus::Broken, 0, Some(day("2026-03-14"))));
}

#[test]
fn grace_zero_breaks_next_day() {
    let settled = settle(
        &[promise(1, 10_000, "2026-03-10", "2026-03-01")],
        &[payment("P1", "2026-03-11", 10_000)],
        0,
        day("2026-04-01"),
    );
    assert_eq!(summary(&settled[0]), (PromiseStatus::Broken, 0, Some(day("2026-03-11"))));
}

// Property tests over small random histories of one debt.

const BASE: &str = "2026-03-01";

fn offset(days: u64) -> NaiveDate {
    day(BASE).checked_add_days(Days::new(days)).unwrap()
}

prop_compose! {
    fn any_promise(id: i64)(
        created in 0_u64..30,
        lead in 0_u64..20,
        amounts in prop::collection::vec(1_i64..5_000, 0..4),
        single in 1_i64..10_000,
        gaps in prop::collection::vec(1_u64..40, 4),
    ) -> StoredPromise {
        let mut stored = promise(id, single, &offset(created + lead).to_string(), &offset(created).to_string());
        let mut due = offset(created + lead);
        for (amount_minor, gap) in amounts.iter().zip(&gaps) {
            stored.promise.installments.push(Installment { amount: mxn(*amount_minor), due_date: due });
            due = due.checked_add_days(Days::new(*gap)).unwrap();
        }
        if !stored.promise.installments.is_empty() {
            stored.promise.amount = mxn(amounts.iter().sum());
            stored.promise.due_date = stored.promise.installments[0].due_date;
        }
        stored
    }
}

fn any_promises() -> impl Strategy<Value = Vec<StoredPromise>> {
    (0_usize..4).prop_flat_map(|count| (0..count).map(|i| any_promise(i as i64 + 1)).collect::<Vec<_>>())
}

fn any_payments() -> impl Strategy<Value = Vec<Payment>> {
    prop::collection::vec((0_u64..120, 1_i64..8_000), 0..6).prop_map(|payments| {
        payments
            .into_iter()
            .enumerate()
            .map(|(i, (days, amount_minor))| payment(&format!("P{i}"), &offset(days).to_string(), amount_minor))
            .collect()
    })
}

/// Generates a history and the same history with promises and payments in another order.
fn history_twice() -> impl Strategy<Value = ((Vec<StoredPromise>, Vec<Payment>), (Vec<StoredPromise>, Vec<Payment>))> {
    (any_promises(), any_payments()).prop_flat_map(|(promises, payments)| {
        let original = (promises.clone(), payments.clone());
        (Just(original), (Just(promises).prop_shuffle(), Just(payments).prop_shuffle()))
    })
}

proptest! {
    #[test]
    fn kept_never_exceeds_payments(
        promises in any_promises(), payments in any_payments(), grace in 0_u32..6, as_of in 0_u64..150,
    ) {
        let settled = settle(&promises, &payments, grace, offset(as_of));
        let kept: i64 = settled.iter().map(|settlement| settlement.kept_minor).sum();
        let paid: i64 = payments.iter().map(|payment| payment.amount.amount_minor).sum();
        prop_assert!(kept <= paid, "kept {kept} of {paid} paid");
    }

    #[test]
    fn input_order_never_matters(
        ((promises, payments), (shuffled_promises, shuffled_payments)) in history_twice(),
        grace in 0_u32..6,
        as_of in 0_u64..150,
    ) {
        let settled = settle(&promises, &payments, grace, offset(as_of));
        let reordered = settle(&shuffled_promises, &shuffled_payments, grace, offset(as_of));
        prop_assert_eq!(settled, reordered);
    }

    #[test]
    fn kept_iff_window_covers_it(
        amount_minor in 1_i64..10_000,
        created in 0_u64..30,
        lead in 0_u64..20,
        payments in any_payments(),
        grace in 0_u32..6,
        as_of in 0_u64..150,
    ) {
        let stored = promise(1, amount_minor, &offset(created + lead).to_string(), &offset(created).to_string());
        let window_end = stored.promise.due_date.checked_add_days(Days::new(u64::from(grace))).unwrap().min(offset(as_of));
        let in_window: i64 = payments
            .iter()
            .filter(|payment| offset(created) <= payment.paid_on && payment.paid_on <= window_end)
            .map(|payment| payment.amount.amount_minor)
            .sum();
        let settled = settle(&[stored], &payments, grace, offset(as_of));
        let kept = matches!(settled[0].status, PromiseStatus::Kept | PromiseStatus::KeptLate);
        prop_assert_eq!(kept, in_window >= amount_minor, "paid {} in the window for {}", in_window, amount_minor);
    }

    #[test]
    fn later_as_of_only_settles_open(
        promises in any_promises(),
        payments in any_payments(),
        grace in 0_u32..6,
        earlier in 0_u64..150,
        days_later in 0_u64..60,
    ) {
        let before = settle(&promises, &payments, grace, offset(earlier));
        let after = settle(&promises, &payments, grace, offset(earlier + days_later));
        for (first, second) in before.iter().zip(&after) {
            if first.status != PromiseStatus::Open {
                prop_assert_eq!(first.status, second.status);
                prop_assert_eq!(first.settled_on, second.settled_on);
            }
            for (unit, later_unit) in first.installments.iter().zip(&second.installments) {
                if unit.status != PromiseStatus::Open {
                    prop_assert_eq!(unit, later_unit);
                }
            }
        }
    }
}
