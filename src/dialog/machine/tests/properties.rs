//! Properties over random debtors, valid policies and random caller behaviour: every offer and
//! promise inside the policy, nothing about the debt before verification, exactly one
//! disposition and nothing said after the hang-up.

use chrono::Duration;
use proptest::prelude::*;

use super::*;
use crate::collections::model::Installment;
use crate::dialog::nlu::spoken_money;
use crate::dialog::policy::{DebtPolicy, Stage, VerificationMethod};

/// A debtor's country with what goes with it.
#[derive(Debug, Clone, Copy)]
struct Country {
    code: &'static str,
    locale: &'static str,
    currency: Currency,
    zone: chrono_tz::Tz,
}

const COUNTRIES: [Country; 6] = [
    Country { code: "MX", locale: "es-MX", currency: Currency::Mxn, zone: chrono_tz::America::Mexico_City },
    Country { code: "CO", locale: "es-CO", currency: Currency::Cop, zone: chrono_tz::America::Bogota },
    Country { code: "PE", locale: "es-PE", currency: Currency::Pen, zone: chrono_tz::America::Lima },
    Country { code: "CL", locale: "es-CL", currency: Currency::Clp, zone: chrono_tz::America::Santiago },
    Country { code: "AR", locale: "es-AR", currency: Currency::Ars, zone: chrono_tz::America::Argentina::Buenos_Aires },
    Country { code: "US", locale: "en-US", currency: Currency::Usd, zone: chrono_tz::America::New_York },
];

const CREDITORS: [&str; 3] = ["Banco Aurora", "Financiera Cumbre", "Caja Qhapaq"];
const PRODUCTS: [&str; 3] = ["tarjeta de crédito", "préstamo personal", "microcrédito"];

#[derive(Debug, Clone)]
struct Debt {
    country: Country,
    balance_minor: i64,
    days_past_due: u32,
    creditor: &'static str,
    product: &'static str,
}

fn any_debt() -> impl Strategy<Value = Debt> {
    (0..COUNTRIES.len(), 10_000_i64..2_000_000_000, 0_u32..400, 0..CREDITORS.len(), 0..PRODUCTS.len()).prop_map(
        |(country, balance_minor, days_past_due, creditor, product)| Debt {
            country: COUNTRIES[country],
            balance_minor,
            days_past_due,
            creditor: CREDITORS[creditor],
            product: PRODUCTS[product],
        },
    )
}

/// A stage that passes validation, with a floor in major units and a verification method.
fn any_policy() -> impl Strategy<Value = (Stage, i64, VerificationMethod)> {
    (
        (0_u32..=90, 0_u32..=100, 2_u32..=4, 0_u32..=20, 1_u32..=45),
        (0_u32..=10, 0_u32..=30, 1_u32..=50, 0_u32..=400, any::<bool>()),
        (1_i64..=500, 0_usize..3),
    )
        .prop_map(|((max_discount, offer_share, short, extra_installments, interval), rest, (floor, method))| {
            let (first, latest_extra, min_percent, extra_term, partial) = rest;
            let stage = Stage {
                name: "random".into(),
                from_days_past_due: 0,
                offer_discount_percent: max_discount * offer_share / 100,
                max_discount_percent: max_discount,
                short_plan_installments: short,
                max_installments: short + extra_installments,
                installment_interval_days: interval,
                max_term_days: first + interval * (short - 1) + extra_term,
                min_installment_percent: min_percent,
                first_payment_days: first,
                latest_promise_days: first + latest_extra,
                accept_partial_payment: partial,
            };
            let method =
                [VerificationMethod::NationalIdLast4, VerificationMethod::BirthDate, VerificationMethod::PostalCode]
                    [method];
            (stage, floor, method)
        })
}

/// One thing the caller does.
#[derive(Debug, Clone)]
enum Move {
    Say {
        intent: Intent,
        amount: Option<Amount>,
        date_offset: Option<i64>,
        installments: Option<u32>,
    },
    /// The right verification answer, spoken or keyed.
    Verify {
        keyed: bool,
    },
    Digits(String),
    Silence,
    Cut(&'static str),
    AnsweringMachine,
    MaxDuration,
    HangUp,
}

#[derive(Debug, Clone, Copy)]
enum Amount {
    /// A share of the balance, in thousandths.
    Share(i64),
    Full,
    Half,
    OtherCurrency,
}

fn any_amount() -> impl Strategy<Value = Amount> {
    prop_oneof![
        4 => (1_i64..=1_200).prop_map(Amount::Share),
        1 => Just(Amount::Full),
        1 => Just(Amount::Half),
        1 => Just(Amount::OtherCurrency),
    ]
}

fn any_move() -> impl Strategy<Value = Move> {
    let said = (
        (0..Intent::ALL.len()).prop_map(|index| Intent::ALL[index]),
        prop::option::weighted(0.5, any_amount()),
        prop::option::weighted(0.5, -5_i64..60),
        prop::option::weighted(0.2, 1_u32..14),
    )
        .prop_map(|(intent, amount, date_offset, installments)| Move::Say {
            intent,
            amount,
            date_offset,
            installments,
        });
    prop_oneof![
        12 => said,
        3 => any::<bool>().prop_map(|keyed| Move::Verify { keyed }),
        1 => "[0-9]{1,8}".prop_map(Move::Digits),
        2 => Just(Move::Silence),
        1 => prop::sample::select(vec!["greeting", "read_back", "read_back_plan", "state_debt"]).prop_map(Move::Cut),
        1 => Just(Move::AnsweringMachine),
        1 => Just(Move::MaxDuration),
        1 => Just(Move::HangUp),
    ]
}

/// A call usually starts with "yes" and the right answer, so most calls reach the ladder.
fn any_call() -> impl Strategy<Value = Vec<Move>> {
    (any::<bool>(), prop::collection::vec(any_move(), 0..25)).prop_map(|(opens, rest)| {
        let mut moves = Vec::new();
        if opens {
            moves.push(Move::Say { intent: Intent::Affirm, amount: None, date_offset: None, installments: None });
            moves.push(Move::Verify { keyed: true });
        }
        moves.extend(rest);
        moves
    })
}

fn build(debt: &Debt, stage: &Stage, floor: i64, method: VerificationMethod) -> Machine {
    let country = debt.country;
    let balance = Money::new(debt.balance_minor, country.currency);
    let mut account = account();
    account.debtor.country = country.code.into();
    account.debtor.locale = country.locale.into();
    account.debtor.time_zone = country.zone;
    account.debt.balance = balance;
    account.debt.days_past_due = debt.days_past_due;
    account.debt.creditor = debt.creditor.into();
    account.debt.product = debt.product.into();
    let mut machine = machine_for(account);
    machine.ctx.policy = DebtPolicy {
        verification: method,
        transfer_to: None,
        stage: stage.clone(),
        minimum_installment: Money::from_major(floor, country.currency),
    };
    machine.limits = Limits::new(&machine.ctx.policy, balance, today());
    machine
}

fn event_for(machine: &Machine, step: &Move, currency: Currency, balance: i64) -> Event {
    match step {
        Move::Say { intent, amount, date_offset, installments } => {
            let amount = amount.map(|amount| match amount {
                Amount::Share(thousandths) => {
                    AmountMention::Exact(Money::new((balance * thousandths / 1_000).max(1), currency))
                }
                Amount::Full => AmountMention::FullBalance,
                Amount::Half => AmountMention::Half,
                Amount::OtherCurrency => {
                    let other = if currency == Currency::Usd { Currency::Mxn } else { Currency::Usd };
                    AmountMention::Exact(Money::new(balance / 2, other))
                }
            });
            let interpretation = Interpretation {
                intent: *intent,
                amount,
                date: date_offset.map(|days| today() + Duration::days(days)),
                installments: *installments,
                digits: None,
                time: None,
                language: None,
                reply: None,
            };
            Event::Heard { text: String::new(), interpretation }
        }
        Move::Verify { keyed } => {
            let debtor = &machine.ctx.account.debtor;
            let answer = match machine.ctx.policy.verification {
                VerificationMethod::NationalIdLast4 => debtor.national_id_last4.clone(),
                VerificationMethod::PostalCode => debtor.postal_code.clone(),
                VerificationMethod::BirthDate => debtor.birth_date.format("%d%m%Y").to_string(),
            };
            match keyed {
                true => Event::Digits(answer),
                false => {
                    let interpretation =
                        Interpretation { digits: Some(answer.clone()), ..Interpretation::intent(Intent::Unknown) };
                    Event::Heard { text: answer, interpretation }
                }
            }
        }
        Move::Digits(digits) => Event::Digits(digits.clone()),
        Move::Silence => Event::Silence,
        Move::Cut(key) => Event::PlaybackCut { key: key.to_string(), heard_text: String::new() },
        Move::AnsweringMachine => Event::AnsweringMachine,
        Move::MaxDuration => Event::MaxDurationReached,
        Move::HangUp => Event::CallerHungUp,
    }
}

/// Checks terms against the stage's numbers directly, not through `Limits`.
fn assert_within_policy(total: Money, schedule: &[Installment], balance: Money, stage: &Stage, floor: Money) {
    let today = today();
    let balance_minor = i128::from(balance.amount_minor);
    let total_minor = i128::from(total.amount_minor);
    let parts: Vec<i128> = schedule.iter().map(|part| i128::from(part.amount.amount_minor)).collect();
    let min_installment = (i128::from(floor.amount_minor))
        .max(balance_minor * i128::from(stage.min_installment_percent) / 100)
        .min(balance_minor);
    let lowest_settlement = (balance_minor * i128::from(100 - stage.max_discount_percent) + 99) / 100;

    assert!(total_minor > 0, "total {total}");
    assert!(parts.iter().all(|part| *part > 0), "{schedule:?}");
    assert_eq!(parts.iter().sum::<i128>(), total_minor, "installments add up to the total");
    assert!(schedule.iter().all(|part| part.amount.currency == balance.currency));
    assert!(total_minor <= balance_minor, "total {total} above balance {balance}");
    let partial = stage.accept_partial_payment && schedule.len() == 1 && total_minor >= min_installment;
    assert!(total_minor >= lowest_settlement || partial, "total {total} below the deepest discount of {balance}");
    assert!(schedule.len() as u32 <= stage.max_installments, "{} installments", schedule.len());
    if schedule.len() > 1 {
        assert!(parts.iter().all(|part| *part >= min_installment), "installment below {min_installment}: {schedule:?}");
    }
    let first = schedule[0].due_date;
    let last = schedule[schedule.len() - 1].due_date;
    assert!(first >= today, "first payment {first} before today");
    assert!(first <= today + Duration::days(i64::from(stage.latest_promise_days)), "first payment {first} too late");
    assert!(last <= today + Duration::days(i64::from(stage.max_term_days)), "last payment {last} after the term");
}

fn debt_words(machine: &Machine) -> Vec<String> {
    let debt = &machine.ctx.account.debt;
    let mut words = vec![
        debt.creditor.to_lowercase(),
        debt.product.to_lowercase(),
        spoken_money(debt.balance, Language::Es).to_lowercase(),
        spoken_money(debt.balance, Language::En).to_lowercase(),
        "deuda".into(),
        "adeudo".into(),
        "debt".into(),
        "saldo".into(),
        "balance".into(),
    ];
    let major = debt.balance.major_part().to_string();
    if major.len() >= 3 {
        words.push(major);
    }
    words
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn random_calls_keep_the_rules(debt in any_debt(), (stage, floor, method) in any_policy(), moves in any_call(), store_ok in any::<bool>()) {
        let mut machine = build(&debt, &stage, floor, method);
        let balance = machine.ctx.account.debt.balance;
        let floor = Money::from_major(floor, balance.currency);
        let forbidden = debt_words(&machine);

        let mut actions = machine.on(Event::CallStarted);
        for step in &moves {
            let event = event_for(&machine, step, balance.currency, balance.amount_minor);
            let mut produced = machine.on(event);
            // The store answers every write at once, as the session does.
            let result = produced.iter().find_map(|action| match action {
                Action::StorePromise(_) => Some(Event::PromiseStored { ok: store_ok }),
                Action::StorePaymentClaim(_)
                | Action::StoreCallback { .. }
                | Action::StoreOptOut { .. }
                | Action::StoreDispute
                | Action::StoreHardship { .. } => Some(Event::OutcomeStored { ok: store_ok }),
                _ => None,
            });
            if let State::Offering(offer) | State::AskingOfferDate(offer) | State::ReadingBack(offer) = &machine.state {
                assert_within_policy(offer.total, &offer.schedule, balance, &stage, floor);
            }
            if let Some(result) = result {
                produced.extend(machine.on(result));
            }
            actions.extend(produced);
        }
        actions.extend(machine.on(Event::CallerHungUp));

        // (a) Every promise stored is inside the policy.
        for action in &actions {
            if let Action::StorePromise(promise) = action {
                let schedule = match promise.installments.is_empty() {
                    true => vec![Installment { amount: promise.amount, due_date: promise.due_date }],
                    false => promise.installments.clone(),
                };
                prop_assert_eq!(promise.due_date, schedule[0].due_date);
                assert_within_policy(promise.amount, &schedule, balance, &stage, floor);
            }
        }

        // (b) Nothing about the debt before the right-party contact.
        for action in actions.iter().take_while(|action| **action != Action::RightPartyVerified) {
            if let Action::Say(utterance) = action {
                let text = utterance.text.to_lowercase();
                for word in &forbidden {
                    prop_assert!(!text.contains(word.as_str()), "'{}' said before verification: {}", word, utterance.text);
                }
            }
        }

        // (c) Exactly one disposition, and nothing said after the hang-up.
        let dispositions = actions.iter().filter(|action| matches!(action, Action::Dispose(_))).count();
        prop_assert_eq!(dispositions, 1, "{:?}", actions);
        if let Some(hangup) = actions.iter().position(|action| *action == Action::Hangup) {
            prop_assert!(actions[hangup + 1..].iter().all(|action| !matches!(action, Action::Say(_))), "{:?}", actions);
            let dispose = actions.iter().position(|action| matches!(action, Action::Dispose(_)));
            prop_assert!(dispose.is_some_and(|dispose| dispose < hangup));
        }
    }
}
