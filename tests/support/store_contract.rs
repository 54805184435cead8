//! The store contract: every behaviour the rest of cobranza relies on, written against
//! `&dyn Store` so each backend runs the same checks. `tests/store_sqlite.rs` runs them on
//! SQLite and `tests/store_postgres.rs` on PostgreSQL.
//!
//! Times written here have at most microsecond precision, the finest PostgreSQL's TIMESTAMPTZ
//! keeps. SQLite's nanosecond round trip is checked in `tests/store_sqlite.rs`.

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use cobranza::collections::import::{NewDebt, PortfolioRow};
use cobranza::collections::model::{
    Account, AttemptId, CallSid, Currency, DebtId, Debtor, DebtorId, Disposition, Installment, Money, PaymentClaim,
    Promise, Speaker, TranscriptLine,
};
use cobranza::collections::store::{Attempt, AttemptOutcome, Direction, ImportCounts, NewAttempt, Store, StoreError};
use cobranza::cost::{CostCategory, CostLine};

pub fn at(hour: u32, minute: u32, second: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, hour, minute, second).unwrap()
}

pub fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

pub fn debtor(id: &str, phone: &str) -> Debtor {
    Debtor {
        id: DebtorId(id.to_string()),
        full_name: "María Fernanda López Ruiz".to_string(),
        phone: phone.to_string(),
        country: "MX".to_string(),
        region: "Ciudad de México".to_string(),
        locale: "es-MX".to_string(),
        time_zone: Tz::America__Mexico_City,
        national_id_last4: "0427".to_string(),
        birth_date: day("1986-04-12"),
        postal_code: "06700".to_string(),
        call_consent: true,
        authorised_channels: vec!["voice".to_string(), "sms".to_string()],
    }
}

pub fn debt(account_ref: &str, balance: Money) -> NewDebt {
    NewDebt {
        creditor: "Banco Aurora".to_string(),
        product: "tarjeta de crédito".to_string(),
        account_ref: account_ref.to_string(),
        balance,
        days_past_due: 45,
    }
}

pub fn row(debtor_id: &str, account_ref: &str, balance: Money) -> PortfolioRow {
    PortfolioRow { debtor: debtor(debtor_id, "+525550100001"), debt: debt(account_ref, balance) }
}

/// Imports one debtor with one MXN debt and returns the debt's id.
pub async fn one_debt(store: &dyn Store) -> DebtId {
    store.import_portfolio(&[row("MX-0001", "BA-1", Money::new(450_000, Currency::Mxn))]).await.unwrap();
    store.accounts().await.unwrap()[0].debt.id
}

pub async fn outbound_at(store: &dyn Store, debt_id: DebtId, started_at: DateTime<Utc>) -> AttemptId {
    let attempt =
        NewAttempt { debt_id, phone: "+525550100001".to_string(), direction: Direction::Outbound, started_at };
    store.create_attempt(&attempt).await.unwrap()
}

pub async fn import_then_read_accounts(store: &dyn Store) {
    let rows = [
        row("MX-0002", "FC-7", Money::new(1_200_050, Currency::Mxn)),
        row("MX-0001", "BA-9", Money::new(450_000, Currency::Mxn)),
        row("MX-0001", "BA-1", Money::new(99, Currency::Mxn)),
        PortfolioRow {
            debtor: Debtor {
                country: "CL".to_string(),
                locale: "es-CL".to_string(),
                time_zone: Tz::America__Punta_Arenas,
                ..debtor("CL-0001", "+56225550103")
            },
            debt: debt("BAR-1", Money::new(450_000, Currency::Clp)),
        },
    ];
    let counts = store.import_portfolio(&rows).await.unwrap();
    assert_eq!(counts, ImportCounts { debtors: 3, debts: 4 });

    let accounts = store.accounts().await.unwrap();
    let order: Vec<(&str, &str)> =
        accounts.iter().map(|a| (a.debtor.id.0.as_str(), a.debt.account_ref.as_str())).collect();
    assert_eq!(order, vec![("CL-0001", "BAR-1"), ("MX-0001", "BA-1"), ("MX-0001", "BA-9"), ("MX-0002", "FC-7")]);

    let chile = &accounts[0];
    assert_eq!(chile.debtor.phone, "+56225550103");
    assert_eq!(chile.debtor.time_zone, Tz::America__Punta_Arenas);
    assert_eq!(chile.debt.balance, Money::new(450_000, Currency::Clp));

    let expected = Account {
        debtor: debtor("MX-0001", "+525550100001"),
        debt: cobranza::collections::model::Debt {
            id: accounts[2].debt.id,
            debtor_id: DebtorId("MX-0001".to_string()),
            creditor: "Banco Aurora".to_string(),
            product: "tarjeta de crédito".to_string(),
            account_ref: "BA-9".to_string(),
            balance: Money::new(450_000, Currency::Mxn),
            days_past_due: 45,
        },
    };
    assert_eq!(accounts[2], expected);
    assert_eq!(store.account_by_debt(expected.debt.id).await.unwrap(), Some(expected));

    let first = store.account_by_debtor(&DebtorId("MX-0001".to_string())).await.unwrap().unwrap();
    assert_eq!(first.debt.account_ref, "BA-1");
    assert_eq!(store.account_by_debtor(&DebtorId("XX-9".to_string())).await.unwrap(), None);
    assert_eq!(store.account_by_debt(DebtId(999_999)).await.unwrap(), None);
}

pub async fn reimport_updates_in_place(store: &dyn Store) {
    store.import_portfolio(&[row("MX-0001", "BA-1", Money::new(450_000, Currency::Mxn))]).await.unwrap();
    let before = store.accounts().await.unwrap();

    let mut changed = row("MX-0001", "BA-1", Money::new(300_000, Currency::Mxn));
    changed.debtor.phone = "+525550100099".to_string();
    changed.debtor.call_consent = false;
    changed.debt.days_past_due = 76;
    let counts = store.import_portfolio(&[changed]).await.unwrap();
    assert_eq!(counts, ImportCounts { debtors: 1, debts: 1 });

    let after = store.accounts().await.unwrap();
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].debt.id, before[0].debt.id);
    assert_eq!(after[0].debt.balance, Money::new(300_000, Currency::Mxn));
    assert_eq!(after[0].debt.days_past_due, 76);
    assert_eq!(after[0].debtor.phone, "+525550100099");
    assert!(!after[0].debtor.call_consent);
}

pub async fn attempt_lifecycle(store: &dyn Store) {
    let debt_id = one_debt(store).await;
    let id = outbound_at(store, debt_id, at(16, 0, 0)).await;

    let created = store.attempt(id).await.unwrap().unwrap();
    assert_eq!(
        created,
        Attempt {
            id,
            debt_id,
            debtor_id: DebtorId("MX-0001".to_string()),
            phone: "+525550100001".to_string(),
            direction: Direction::Outbound,
            call_sid: None,
            started_at: at(16, 0, 0),
            answered: false,
            ended_at: None,
            disposition: None,
            right_party_contact: false,
            recording_path: None,
            cost_micros: 0,
        }
    );

    let sid = CallSid("CA0123456789abcdef0123456789abcdef".to_string());
    store.set_call_sid(id, &sid).await.unwrap();
    let outcome = AttemptOutcome {
        disposition: Disposition::PromiseToPay,
        answered: true,
        right_party_contact: true,
        ended_at: at(16, 3, 27) + Duration::milliseconds(250),
        recording_path: Some("recordings/CA0123.wav".to_string()),
        costs: vec![
            CostLine {
                category: CostCategory::SpeechToText,
                provider: "deepgram".into(),
                quantity: 207_250,
                cost_micros: 26_597,
            },
            CostLine {
                category: CostCategory::Telephony,
                provider: "twilio".into(),
                quantity: 240,
                cost_micros: 56_000,
            },
        ],
    };
    store.finish_attempt(id, &outcome).await.unwrap();

    let finished = store.attempt(id).await.unwrap().unwrap();
    assert_eq!(finished.call_sid, Some(sid));
    assert!(finished.answered);
    assert!(finished.right_party_contact);
    assert_eq!(finished.disposition, Some(Disposition::PromiseToPay));
    assert_eq!(finished.ended_at, Some(at(16, 3, 27) + Duration::milliseconds(250)));
    assert_eq!(finished.recording_path.as_deref(), Some("recordings/CA0123.wav"));
    assert_eq!(finished.cost_micros, 82_597);
    assert_eq!(store.attempt_costs(id).await.unwrap(), outcome.costs);
    assert_eq!(store.attempt(AttemptId(999_999)).await.unwrap(), None);
}

pub async fn every_disposition_round_trips(store: &dyn Store) {
    let debt_id = one_debt(store).await;
    for (minute, disposition) in (0_u32..).zip(Disposition::ALL) {
        let id = outbound_at(store, debt_id, at(17, minute, 0)).await;
        let outcome = AttemptOutcome {
            disposition,
            answered: false,
            right_party_contact: false,
            ended_at: at(17, minute, 30),
            recording_path: None,
            costs: Vec::new(),
        };
        store.finish_attempt(id, &outcome).await.unwrap();
        assert_eq!(store.attempt(id).await.unwrap().unwrap().disposition, Some(disposition));
    }
}

pub async fn finish_attempt_only_once(store: &dyn Store) {
    let debt_id = one_debt(store).await;
    let id = outbound_at(store, debt_id, at(16, 0, 0)).await;
    let first = AttemptOutcome {
        disposition: Disposition::RefusedToPay,
        answered: true,
        right_party_contact: true,
        ended_at: at(16, 2, 0),
        recording_path: None,
        costs: Vec::new(),
    };
    store.finish_attempt(id, &first).await.unwrap();

    let second = AttemptOutcome { disposition: Disposition::HungUp, ..first.clone() };
    let error = store.finish_attempt(id, &second).await.unwrap_err();
    assert!(
        matches!(&error, StoreError::NotFound { what: "unfinished attempt", id: text } if *text == id.to_string()),
        "{error}"
    );
    assert_eq!(store.attempt(id).await.unwrap().unwrap().disposition, Some(Disposition::RefusedToPay));

    let missing = store.finish_attempt(AttemptId(999_999), &first).await.unwrap_err();
    assert!(matches!(missing, StoreError::NotFound { .. }), "{missing}");
}

pub async fn transcript_keeps_order(store: &dyn Store) {
    let debt_id = one_debt(store).await;
    let id = outbound_at(store, debt_id, at(16, 0, 0)).await;
    let other = outbound_at(store, debt_id, at(16, 30, 0)).await;
    // Lines arrive in speaking order; the second carries an earlier timestamp on purpose,
    // because order is the order of appending, not of `at`.
    let lines = vec![
        TranscriptLine { speaker: Speaker::Bot, text: "Hola, soy un asistente virtual.".to_string(), at: at(16, 0, 2) },
        TranscriptLine { speaker: Speaker::Debtor, text: "Sí, ¿quién habla?".to_string(), at: at(16, 0, 1) },
        TranscriptLine { speaker: Speaker::Bot, text: "Esta llamada es grabada.".to_string(), at: at(16, 0, 5) },
    ];
    for line in &lines {
        store.append_transcript(id, line).await.unwrap();
    }
    store.append_transcript(other, &lines[0]).await.unwrap();

    assert_eq!(store.transcript(id).await.unwrap(), lines);
    assert_eq!(store.transcript(other).await.unwrap(), vec![lines[0].clone()]);
    assert_eq!(store.transcript(AttemptId(999_999)).await.unwrap(), vec![]);
    let missing = store.append_transcript(AttemptId(999_999), &lines[0]).await.unwrap_err();
    assert!(matches!(missing, StoreError::NotFound { what: "attempt", .. }), "{missing}");
}

pub async fn promise_with_installments_round_trips(store: &dyn Store) {
    let debt_id = one_debt(store).await;
    let id = outbound_at(store, debt_id, at(16, 0, 0)).await;
    let plan = Promise {
        debt_id,
        amount: Money::new(450_000, Currency::Mxn),
        due_date: day("2026-03-09"),
        installments: vec![
            Installment { amount: Money::new(150_050, Currency::Mxn), due_date: day("2026-03-09") },
            Installment { amount: Money::new(149_975, Currency::Mxn), due_date: day("2026-04-09") },
            Installment { amount: Money::new(149_975, Currency::Mxn), due_date: day("2026-05-09") },
        ],
    };
    let single = Promise {
        debt_id,
        amount: Money::new(100_000, Currency::Mxn),
        due_date: day("2026-03-06"),
        installments: vec![],
    };
    let created_at = at(16, 2, 10) + Duration::microseconds(123_456);
    let plan_id = store.store_promise(id, &plan, created_at).await.unwrap();
    let single_id = store.store_promise(id, &single, at(16, 2, 30)).await.unwrap();
    assert_ne!(plan_id, single_id);

    let stored = store.promises_for_attempt(id).await.unwrap();
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0].id, plan_id);
    assert_eq!(stored[0].attempt_id, id);
    assert_eq!(stored[0].promise, plan);
    assert_eq!(stored[0].created_at, created_at);
    assert_eq!(stored[1].id, single_id);
    assert_eq!(stored[1].promise, single);

    let missing = store.store_promise(AttemptId(999_999), &single, at(16, 3, 0)).await.unwrap_err();
    assert!(matches!(missing, StoreError::NotFound { what: "attempt", .. }), "{missing}");
    let wrong_debt = Promise { debt_id: DebtId(999_999), ..single };
    let missing = store.store_promise(id, &wrong_debt, at(16, 3, 0)).await.unwrap_err();
    assert!(matches!(missing, StoreError::NotFound { what: "debt", .. }), "{missing}");
    assert_eq!(store.promises_for_attempt(id).await.unwrap().len(), 2);
}

pub async fn opt_out_is_idempotent(store: &dyn Store) {
    one_debt(store).await;
    let debtor = DebtorId("MX-0001".to_string());
    assert!(!store.opted_out(&debtor, "voice").await.unwrap());

    store.record_opt_out(&debtor, "voice", at(16, 0, 0)).await.unwrap();
    store.record_opt_out(&debtor, "voice", at(17, 0, 0)).await.unwrap();
    assert!(store.opted_out(&debtor, "voice").await.unwrap());
    assert!(!store.opted_out(&debtor, "sms").await.unwrap());

    let missing = store.record_opt_out(&DebtorId("XX-9".to_string()), "voice", at(16, 0, 0)).await.unwrap_err();
    assert!(matches!(missing, StoreError::NotFound { what: "debtor", .. }), "{missing}");
}

pub async fn claims_and_callbacks_need_attempt(store: &dyn Store) {
    let debt_id = one_debt(store).await;
    let id = outbound_at(store, debt_id, at(16, 0, 0)).await;
    let claim = PaymentClaim {
        debt_id,
        paid_on: Some(day("2026-02-27")),
        amount: Some(Money::new(450_000, Currency::Mxn)),
        channel: Some("OXXO".to_string()),
    };
    store.record_payment_claim(id, &claim, at(16, 1, 0)).await.unwrap();
    let vague = PaymentClaim { debt_id, paid_on: None, amount: None, channel: None };
    store.record_payment_claim(id, &vague, at(16, 1, 5)).await.unwrap();
    store.record_callback_request(id, Some(at(18, 0, 0)), at(16, 2, 0)).await.unwrap();
    store.record_callback_request(id, None, at(16, 2, 5)).await.unwrap();

    let missing = store.record_payment_claim(AttemptId(999_999), &claim, at(16, 3, 0)).await.unwrap_err();
    assert!(matches!(missing, StoreError::NotFound { what: "attempt", .. }), "{missing}");
    let missing = store.record_callback_request(AttemptId(999_999), None, at(16, 3, 0)).await.unwrap_err();
    assert!(matches!(missing, StoreError::NotFound { what: "attempt", .. }), "{missing}");
}

pub async fn unknown_ids_not_found(store: &dyn Store) {
    let attempt = NewAttempt {
        debt_id: DebtId(999_999),
        phone: "+525550100001".to_string(),
        direction: Direction::Inbound,
        started_at: at(16, 0, 0),
    };
    let error = store.create_attempt(&attempt).await.unwrap_err();
    assert_eq!(error.to_string(), "debt not found: 999999");
    let error = store.set_call_sid(AttemptId(999_999), &CallSid("CA1".to_string())).await.unwrap_err();
    assert_eq!(error.to_string(), "attempt not found: 999999");
}

pub async fn attempts_between_boundaries(store: &dyn Store) {
    let debt_id = one_debt(store).await;
    let from = at(10, 0, 0);
    let to = at(12, 0, 0);
    let just_before = from - Duration::nanoseconds(1);
    let last_inside = to - Duration::nanoseconds(1);
    // Created out of order, to show the result is sorted by start time.
    let inside_late = outbound_at(store, debt_id, last_inside).await;
    outbound_at(store, debt_id, just_before).await;
    let inside_first = outbound_at(store, debt_id, from).await;
    outbound_at(store, debt_id, to).await;
    let inbound = NewAttempt {
        debt_id,
        phone: "+525550100001".to_string(),
        direction: Direction::Inbound,
        started_at: at(11, 0, 0),
    };
    let inside_inbound = store.create_attempt(&inbound).await.unwrap();

    let found = store.attempts_between(from, to).await.unwrap();
    let ids: Vec<AttemptId> = found.iter().map(|attempt| attempt.id).collect();
    assert_eq!(ids, vec![inside_first, inside_inbound, inside_late]);
    assert_eq!(found[1].direction, Direction::Inbound);
    assert_eq!(store.attempts_between(to, to).await.unwrap(), vec![]);
}

pub async fn promises_between_boundaries(store: &dyn Store) {
    let debt_id = one_debt(store).await;
    let id = outbound_at(store, debt_id, at(9, 0, 0)).await;
    let promise = |amount_minor| Promise {
        debt_id,
        amount: Money::new(amount_minor, Currency::Mxn),
        due_date: day("2026-03-09"),
        installments: vec![],
    };
    let from = at(10, 0, 0);
    let to = at(12, 0, 0);
    store.store_promise(id, &promise(1), from - Duration::nanoseconds(1)).await.unwrap();
    store.store_promise(id, &promise(2), to - Duration::nanoseconds(1)).await.unwrap();
    store.store_promise(id, &promise(3), from).await.unwrap();
    store.store_promise(id, &promise(4), to).await.unwrap();

    let found = store.promises_between(from, to).await.unwrap();
    let amounts: Vec<i64> = found.iter().map(|stored| stored.promise.amount.amount_minor).collect();
    assert_eq!(amounts, vec![3, 2]);
}

/// Writes promises and transcript lines from 16 tasks at once. Run it on a multi-thread runtime.
pub async fn concurrent_writers_all_commit(store: Arc<dyn Store>) {
    let debt_id = one_debt(store.as_ref()).await;
    let id = outbound_at(store.as_ref(), debt_id, at(16, 0, 0)).await;

    let mut tasks = Vec::new();
    for n in 0..16_i64 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let promise = Promise {
                debt_id,
                amount: Money::new(100 + n, Currency::Mxn),
                due_date: day("2026-03-09"),
                installments: vec![],
            };
            store.store_promise(id, &promise, at(16, 1, 0)).await.unwrap();
            let line = TranscriptLine { speaker: Speaker::Debtor, text: format!("línea {n}"), at: at(16, 1, 0) };
            store.append_transcript(id, &line).await.unwrap();
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(store.promises_for_attempt(id).await.unwrap().len(), 16);
    let texts: Vec<String> = store.transcript(id).await.unwrap().into_iter().map(|line| line.text).collect();
    assert_eq!(texts.len(), 16);
    let mut sorted = texts.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 16, "each line is stored once: {texts:?}");
}
