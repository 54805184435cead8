use chrono::NaiveDate;

use super::*;
use crate::collections::model::Currency;
use crate::dialog::policy::{Stage, VerificationMethod};

fn day(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).unwrap()
}

/// Wednesday 2 December 2026.
fn today() -> NaiveDate {
    day(2026, 12, 2)
}

fn pesos(major: i64) -> Money {
    Money::from_major(major, Currency::Mxn)
}

fn stage() -> Stage {
    Stage {
        name: "mid".into(),
        from_days_past_due: 31,
        offer_discount_percent: 5,
        max_discount_percent: 10,
        short_plan_installments: 3,
        max_installments: 6,
        installment_interval_days: 30,
        max_term_days: 180,
        min_installment_percent: 16,
        first_payment_days: 7,
        latest_promise_days: 15,
        accept_partial_payment: true,
    }
}

fn limits_with(stage: Stage, balance: Money) -> Limits {
    let policy = DebtPolicy {
        verification: VerificationMethod::NationalIdLast4,
        transfer_to: None,
        stage,
        minimum_installment: pesos(200),
    };
    Limits::new(&policy, balance, today())
}

fn limits() -> Limits {
    limits_with(stage(), pesos(4_500))
}

fn counter(major: i64, date: NaiveDate) -> Counter {
    Counter { amount: Some(pesos(major)), date, installments: None }
}

fn amounts(offer: &Offer) -> Vec<i64> {
    offer.schedule.iter().map(|part| part.amount.major_part()).collect()
}

#[test]
fn limits_resolve_for_the_day() {
    let limits = limits();
    assert_eq!(limits.settlement_total, pesos(4_275));
    assert_eq!(limits.min_total, pesos(4_050));
    assert_eq!(limits.min_installment, pesos(720));
    assert_eq!(limits.first_payment_date, day(2026, 12, 9));
    assert_eq!(limits.latest_first_date, day(2026, 12, 17));
    assert_eq!(limits.last_date, day(2027, 5, 31));
}

#[test]
fn floor_beats_small_percentage() {
    let limits = limits_with(Stage { min_installment_percent: 1, ..stage() }, pesos(4_500));
    assert_eq!(limits.min_installment, pesos(200));
}

#[test]
fn proposals_follow_the_ladder() {
    let limits = limits();
    let offers: Vec<(Rung, i64, Vec<i64>)> = Rung::LADDER
        .into_iter()
        .filter_map(|rung| limits.proposal(rung))
        .map(|offer| (offer.rung, offer.total.major_part(), amounts(&offer)))
        .collect();
    assert_eq!(
        offers,
        [
            (Rung::FullPayment, 4_500, vec![4_500]),
            (Rung::ShortPlan, 4_500, vec![1_500, 1_500, 1_500]),
            (Rung::Settlement, 4_275, vec![4_275]),
            (Rung::SettlementPlan, 4_275, vec![1_425, 1_425, 1_425]),
            (Rung::LongPlan, 4_500, vec![750, 750, 750, 750, 750, 750]),
        ]
    );
}

#[test]
fn strategy_narrows_the_bot_proposals() {
    let mut limits = limits();
    assert!(limits.restrict_proposals(&[Rung::Settlement, Rung::LongPlan]));
    assert_eq!(limits.next_proposal(None).map(|offer| offer.rung), Some(Rung::Settlement));
    assert_eq!(limits.next_proposal(Some(Rung::Settlement)).map(|offer| offer.rung), Some(Rung::LongPlan));
    // The long plan keeps its six installments though the short plan is not offered.
    assert_eq!(limits.proposal(Rung::LongPlan).map(|offer| amounts(&offer)), Some(vec![750; 6]));
    assert_eq!(limits.proposal(Rung::FullPayment), None);
    // What the debtor proposes still fits any rung the policy allows.
    assert!(matches!(limits.fit(&counter(4_500, day(2026, 12, 10)), None), Fit::Offer(_)));
}

#[test]
fn strategy_with_nothing_to_offer_keeps_the_ladder() {
    let mut limits = limits_with(Stage { offer_discount_percent: 0, max_discount_percent: 0, ..stage() }, pesos(4_500));
    assert!(!limits.restrict_proposals(&[Rung::Settlement]));
    assert_eq!(limits.proposals, Rung::LADDER.to_vec());
    assert_eq!(limits.next_proposal(None).map(|offer| offer.rung), Some(Rung::FullPayment));
}

#[test]
fn no_discount_means_no_settlement() {
    let limits = limits_with(Stage { offer_discount_percent: 0, max_discount_percent: 0, ..stage() }, pesos(4_500));
    assert_eq!(limits.proposal(Rung::Settlement), None);
    assert_eq!(limits.proposal(Rung::SettlementPlan), None);
    assert_eq!(limits.next_proposal(Some(Rung::ShortPlan)).map(|offer| offer.rung), Some(Rung::LongPlan));
}

#[test]
fn short_plan_shrinks_to_the_minimum() {
    // 1,000 MXN with a 600 MXN floor cannot be split at all.
    let policy = DebtPolicy {
        verification: VerificationMethod::NationalIdLast4,
        transfer_to: None,
        stage: stage(),
        minimum_installment: pesos(600),
    };
    let limits = Limits::new(&policy, pesos(1_000), today());
    assert_eq!(limits.proposal(Rung::ShortPlan), None);
    assert_eq!(limits.proposal(Rung::LongPlan), None);
}

#[test]
fn full_amount_always_fits() {
    let fit = limits().fit(&counter(4_500, day(2026, 12, 4)), Some(Rung::LongPlan));
    let Fit::Offer(offer) = fit else { panic!("{fit:?}") };
    assert_eq!(offer.rung, Rung::FullPayment);
}

#[test]
fn counter_fits_highest_rung_containing_it() {
    let limits = limits();
    let cases = [
        (2_000, Rung::ShortPlan, vec![2_000, 1_250, 1_250]),
        (4_100, Rung::Settlement, vec![4_100]),
        (1_000, Rung::LongPlan, vec![1_000, 875, 875, 875, 875]),
        (730, Rung::Partial, vec![730]),
    ];
    for (amount, rung, parts) in cases {
        let fit = limits.fit(&counter(amount, day(2026, 12, 4)), Some(Rung::FullPayment));
        let Fit::Offer(offer) = fit else { panic!("{amount}: {fit:?}") };
        assert_eq!((offer.rung, amounts(&offer)), (rung, parts), "{amount}");
    }
}

#[test]
fn declined_rung_is_skipped() {
    let fit = limits().fit(&counter(2_000, day(2026, 12, 4)), Some(Rung::ShortPlan));
    let Fit::Offer(offer) = fit else { panic!("{fit:?}") };
    assert_eq!(offer.rung, Rung::SettlementPlan);
    assert_eq!(offer.total, pesos(4_275));
}

#[test]
fn too_late_and_too_small_are_named() {
    let limits = limits();
    assert_eq!(limits.fit(&counter(2_000, day(2026, 12, 18)), None), Fit::DateTooLate);
    assert_eq!(limits.fit(&counter(500, day(2026, 12, 4)), None), Fit::BelowMinimum);
}

#[test]
fn no_partial_when_stage_forbids() {
    let limits = limits_with(Stage { accept_partial_payment: false, ..stage() }, pesos(4_500));
    assert_eq!(limits.fit(&counter(730, day(2026, 12, 4)), Some(Rung::FullPayment)), Fit::NoOption);
}

#[test]
fn installment_count_fits_plan() {
    let limits = limits();
    let fit = limits.fit(&Counter { amount: None, date: day(2026, 12, 4), installments: Some(6) }, None);
    let Fit::Offer(offer) = fit else { panic!("{fit:?}") };
    assert_eq!((offer.rung, amounts(&offer)), (Rung::LongPlan, vec![750; 6]));
    let too_many = limits.fit(&Counter { amount: None, date: day(2026, 12, 4), installments: Some(7) }, None);
    assert_eq!(too_many, Fit::NoOption);
}

#[test]
fn permits_rejects_each_breach() {
    let limits = limits();
    let good = limits.proposal(Rung::ShortPlan).expect("short plan");
    assert!(limits.permits(&good));

    let mut deep = limits.proposal(Rung::Settlement).expect("settlement");
    deep.total = pesos(4_000);
    deep.schedule[0].amount = pesos(4_000);
    assert!(!limits.permits(&deep), "below the deepest discount");

    let mut uneven = good.clone();
    uneven.schedule[0].amount = pesos(1_400);
    assert!(!limits.permits(&uneven), "installments do not add up");

    let mut late = limits.proposal(Rung::FullPayment).expect("full");
    late.schedule[0].due_date = day(2026, 12, 18);
    assert!(!limits.permits(&late), "after the latest promise date");

    let mut past = limits.proposal(Rung::FullPayment).expect("full");
    past.schedule[0].due_date = day(2026, 12, 1);
    assert!(!limits.permits(&past), "before today");
}

#[test]
fn split_puts_remainder_last() {
    let parts: Vec<i64> =
        split_even(Money::new(1_000_000, Currency::Mxn), 3).iter().map(|part| part.amount_minor).collect();
    assert_eq!(parts, [333_300, 333_300, 333_400]);
    let pesos_chilenos: Vec<i64> =
        split_even(Money::new(450_000, Currency::Clp), 4).iter().map(|part| part.amount_minor).collect();
    assert_eq!(pesos_chilenos, [112_500, 112_500, 112_500, 112_500]);
}

#[test]
fn promise_of_a_single_payment_has_no_installments() {
    let offer = limits().proposal(Rung::FullPayment).expect("full").on(day(2026, 12, 4));
    let promise = offer.to_promise(DebtId(3));
    assert_eq!(
        promise,
        Promise { debt_id: DebtId(3), amount: pesos(4_500), due_date: day(2026, 12, 4), installments: vec![] }
    );
}
