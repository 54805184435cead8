//! The store contract: every behaviour the rest of cobranza relies on, written against
//! `&dyn Store` so each backend runs the same checks. `tests/store_sqlite.rs` runs them on
//! SQLite and `tests/store_postgres.rs` on PostgreSQL.
//!
//! Times written here have at most microsecond precision, the finest PostgreSQL's TIMESTAMPTZ
//! keeps. SQLite's nanosecond round trip is checked in `tests/store_sqlite.rs`.

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use cobranza::collections::history::{
    import_do_not_call_file, import_history_dir, import_payments_file, DebtSnapshot, DoNotCallEntry,
    HistoryImportSettings, Loaded, PromiseStatus, SettleScope, SettledPromise,
};
use cobranza::collections::import::{ImportMode, NewDebt, PortfolioRow};
use cobranza::collections::inbound::{InboundCall, InboundCallId, InboundCallOutcome, NewInboundCall};
use cobranza::collections::model::{
    Account, AttemptId, CallSid, Currency, DebtId, Debtor, DebtorId, Disposition, Installment, Money, PaymentClaim,
    Promise, PromiseId, Speaker, TranscriptLine,
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
            campaign: None,
            segment: None,
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

// History: payments, settlement, do-not-call, snapshots and the history import.

/// Builds the settings of a history import run at `now` that imports nothing when a row is invalid.
pub fn history_settings(now: DateTime<Utc>) -> HistoryImportSettings {
    HistoryImportSettings { mode: ImportMode::AllOrNothing, now, grace_days: 3 }
}

fn noon(date: &str) -> DateTime<Utc> {
    Utc.from_utc_datetime(&day(date).and_hms_opt(12, 0, 0).unwrap())
}

fn write_csv(dir: &tempfile::TempDir, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

const PAYMENTS_HEADER: &str = "payment_ref,account_ref,paid_on,amount,currency,channel\n";

/// Imports one debtor with one MXN debt per account reference and returns the debts' ids in
/// the same order.
async fn debts_named(store: &dyn Store, account_refs: &[&str]) -> Vec<DebtId> {
    let rows: Vec<PortfolioRow> = account_refs
        .iter()
        .map(|account_ref| row("MX-0001", account_ref, Money::new(900_000, Currency::Mxn)))
        .collect();
    store.import_portfolio_as_of(&rows, day("2026-03-01")).await.unwrap();
    let refs = store.debt_refs().await.unwrap();
    account_refs
        .iter()
        .map(|account_ref| refs.iter().find(|debt| debt.account_ref == *account_ref).unwrap().debt_id)
        .collect()
}

/// Stores a single-payment MXN promise made at noon on `created` and returns its id.
async fn promise_on(store: &dyn Store, debt_id: DebtId, amount_minor: i64, due: &str, created: &str) -> PromiseId {
    let attempt = outbound_at(store, debt_id, noon(created) - Duration::minutes(5)).await;
    let promise =
        Promise { debt_id, amount: Money::new(amount_minor, Currency::Mxn), due_date: day(due), installments: vec![] };
    store.store_promise(attempt, &promise, noon(created)).await.unwrap()
}

async fn settlement_of(store: &dyn Store, debt_id: DebtId, id: PromiseId) -> (PromiseStatus, i64, Option<NaiveDate>) {
    let promises = store.settled_promises_of_debt(debt_id).await.unwrap();
    let settled = promises.iter().find(|settled| settled.stored.id == id).unwrap();
    (settled.settlement.status, settled.settlement.kept_minor, settled.settlement.settled_on)
}

pub async fn payments_reimport_stores_once(store: &dyn Store) {
    let debt_id = one_debt(store).await;
    let dir = tempfile::tempdir().unwrap();
    let file = write_csv(
        &dir,
        "payments.csv",
        &format!("{PAYMENTS_HEADER}P-1,BA-1,2026-03-05,1500.00,MXN,OXXO\nP-2,BA-1,2026-03-06,500.50,MXN,\n"),
    );

    let first = import_payments_file(store, &file, history_settings(noon("2026-03-10"))).await.unwrap();
    assert_eq!((first.imported, first.already_stored), (2, 0));
    let second = import_payments_file(store, &file, history_settings(noon("2026-03-11"))).await.unwrap();
    assert_eq!((second.imported, second.already_stored), (0, 2));
    assert_eq!(
        second.to_string(),
        format!("{}: imported 0 payments (2 already stored)\nsettled 0 promises; 0 changed status", file.display())
    );

    let stored = store.payments_of_debt(debt_id).await.unwrap();
    let summary: Vec<(&str, NaiveDate, i64, &str)> = stored
        .iter()
        .map(|payment| {
            (payment.payment_ref.as_str(), payment.paid_on, payment.amount.amount_minor, payment.channel.as_str())
        })
        .collect();
    assert_eq!(summary, vec![("P-1", day("2026-03-05"), 150_000, "OXXO"), ("P-2", day("2026-03-06"), 50_050, "")]);
    let by_ref = store.payments_with_refs(&["P-2".to_string(), "P-9".to_string()]).await.unwrap();
    assert_eq!(by_ref.len(), 1);
    assert_eq!(by_ref[0].account_ref, "BA-1");
    assert_eq!(by_ref[0].imported_at, noon("2026-03-10"));
}

pub async fn payment_ref_reuse_names_both(store: &dyn Store) {
    one_debt(store).await;
    let dir = tempfile::tempdir().unwrap();
    let first = write_csv(&dir, "first.csv", &format!("{PAYMENTS_HEADER}P-1,BA-1,2026-03-05,1500.00,MXN,OXXO\n"));
    import_payments_file(store, &first, history_settings(noon("2026-03-10"))).await.unwrap();

    let changed = write_csv(&dir, "changed.csv", &format!("{PAYMENTS_HEADER}P-1,BA-1,2026-03-06,1200.00,MXN,OXXO\n"));
    let error = import_payments_file(store, &changed, history_settings(noon("2026-03-10"))).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "{}: 1 row is invalid, so nothing was imported; fix the rows or pass --valid-rows-only\n\
             {} line 2, column payment_ref: payment_ref 'P-1' is already stored as 1500.00 MXN on account_ref \
             'BA-1' paid on 2026-03-05 by OXXO, but this line has 1200.00 MXN on account_ref 'BA-1' paid on \
             2026-03-06 by OXXO: give this payment its own payment_ref, or correct the line",
            changed.display(),
            changed.display()
        )
    );
}

pub async fn payments_settle_promises(store: &dyn Store) {
    let debts = debts_named(store, &["ON-TIME", "PARTIAL", "LATE", "BROKEN", "SPILL"]).await;
    let on_time = promise_on(store, debts[0], 100_000, "2026-03-10", "2026-03-02").await;
    let partial = promise_on(store, debts[1], 100_000, "2026-03-10", "2026-03-02").await;
    let late = promise_on(store, debts[2], 100_000, "2026-03-10", "2026-03-02").await;
    let broken = promise_on(store, debts[3], 100_000, "2026-03-10", "2026-03-02").await;
    let spill_first = promise_on(store, debts[4], 100_000, "2026-03-10", "2026-03-02").await;
    let spill_second = promise_on(store, debts[4], 50_000, "2026-03-20", "2026-03-03").await;

    let dir = tempfile::tempdir().unwrap();
    let file = write_csv(
        &dir,
        "payments.csv",
        &format!(
            "{PAYMENTS_HEADER}\
             T-1,ON-TIME,2026-03-10,1000.00,MXN,OXXO\n\
             R-1,PARTIAL,2026-03-08,400.00,MXN,OXXO\n\
             L-1,LATE,2026-03-13,1000.00,MXN,OXXO\n\
             B-1,BROKEN,2026-03-14,1000.00,MXN,OXXO\n\
             S-1,SPILL,2026-03-09,1300.00,MXN,OXXO\n"
        ),
    );
    let report = import_payments_file(store, &file, history_settings(noon("2026-03-15"))).await.unwrap();
    assert_eq!(report.imported, 5);
    assert_eq!(report.settlement.promises, 6);
    let changed: Vec<(PromiseStatus, usize)> = report.settlement.changed.clone().into_iter().collect();
    assert_eq!(
        changed,
        vec![
            (PromiseStatus::Kept, 2),
            (PromiseStatus::KeptLate, 1),
            (PromiseStatus::PartlyKept, 1),
            (PromiseStatus::Broken, 1)
        ]
    );

    assert_eq!(settlement_of(store, debts[0], on_time).await, (PromiseStatus::Kept, 100_000, Some(day("2026-03-10"))));
    assert_eq!(
        settlement_of(store, debts[1], partial).await,
        (PromiseStatus::PartlyKept, 40_000, Some(day("2026-03-14")))
    );
    assert_eq!(settlement_of(store, debts[2], late).await, (PromiseStatus::KeptLate, 100_000, Some(day("2026-03-13"))));
    assert_eq!(settlement_of(store, debts[3], broken).await, (PromiseStatus::Broken, 0, Some(day("2026-03-14"))));
    assert_eq!(
        settlement_of(store, debts[4], spill_first).await,
        (PromiseStatus::Kept, 100_000, Some(day("2026-03-09")))
    );
    assert_eq!(settlement_of(store, debts[4], spill_second).await, (PromiseStatus::Open, 30_000, None));

    // The nightly sweep past the second promise's grace period settles it as partly kept.
    let sweep = store.settle_promises(SettleScope::AllDebts, 3, day("2026-03-24")).await.unwrap();
    assert_eq!(sweep.changed.into_iter().collect::<Vec<_>>(), vec![(PromiseStatus::PartlyKept, 1)]);
    assert_eq!(
        settlement_of(store, debts[4], spill_second).await,
        (PromiseStatus::PartlyKept, 30_000, Some(day("2026-03-24")))
    );
    let again = store.settle_promises(SettleScope::AllDebts, 3, day("2026-03-24")).await.unwrap();
    assert_eq!(again.changed_total(), 0);

    let broken_list =
        store.promises_with_status(PromiseStatus::Broken, day("2026-03-14"), day("2026-03-14")).await.unwrap();
    let ids: Vec<PromiseId> = broken_list.iter().map(|settled| settled.stored.id).collect();
    assert_eq!(ids, vec![broken]);
    assert_eq!(broken_list[0].stored.promise.debt_id, debts[3]);
    let none = store.promises_with_status(PromiseStatus::Broken, day("2026-03-15"), day("2026-03-31")).await.unwrap();
    assert_eq!(none, vec![]);
    let partly =
        store.promises_with_status(PromiseStatus::PartlyKept, day("2026-03-01"), day("2026-03-31")).await.unwrap();
    let ids: Vec<PromiseId> = partly.iter().map(|settled| settled.stored.id).collect();
    assert_eq!(ids, vec![partial, spill_second]);
}

pub async fn plan_installments_settle_stored(store: &dyn Store) {
    let debt_id = one_debt(store).await;
    let attempt = outbound_at(store, debt_id, at(16, 0, 0)).await;
    let plan = Promise {
        debt_id,
        amount: Money::new(300_000, Currency::Mxn),
        due_date: day("2026-03-09"),
        installments: vec![
            Installment { amount: Money::new(100_000, Currency::Mxn), due_date: day("2026-03-09") },
            Installment { amount: Money::new(100_000, Currency::Mxn), due_date: day("2026-04-09") },
            Installment { amount: Money::new(100_000, Currency::Mxn), due_date: day("2026-05-09") },
        ],
    };
    let id = store.store_promise(attempt, &plan, at(16, 2, 0)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = write_csv(
        &dir,
        "payments.csv",
        &format!("{PAYMENTS_HEADER}I-1,BA-1,2026-03-09,1000.00,MXN,OXXO\nI-2,BA-1,2026-04-11,600.00,MXN,OXXO\n"),
    );
    import_payments_file(store, &file, history_settings(noon("2026-04-20"))).await.unwrap();

    let settled = store.settled_promises_of_debt(debt_id).await.unwrap();
    assert_eq!(settled.len(), 1);
    assert_eq!(settled[0].stored.promise, plan);
    let units: Vec<(i64, PromiseStatus, i64, Option<NaiveDate>)> = settled[0]
        .settlement
        .installments
        .iter()
        .map(|unit| (unit.seq, unit.status, unit.kept_minor, unit.settled_on))
        .collect();
    assert_eq!(
        units,
        vec![
            (1, PromiseStatus::Kept, 100_000, Some(day("2026-03-09"))),
            (2, PromiseStatus::PartlyKept, 60_000, Some(day("2026-04-13"))),
            (3, PromiseStatus::Open, 0, None),
        ]
    );
    assert_eq!(settlement_of(store, debt_id, id).await, (PromiseStatus::Open, 160_000, None));
    // Once the third installment's grace period has passed unpaid, the plan is broken from then.
    let sweep = store.settle_promises(SettleScope::AllDebts, 3, day("2026-05-13")).await.unwrap();
    assert_eq!(sweep.changed.into_iter().collect::<Vec<_>>(), vec![(PromiseStatus::Broken, 1)]);
    assert_eq!(settlement_of(store, debt_id, id).await, (PromiseStatus::Broken, 160_000, Some(day("2026-05-13"))));
}

pub async fn do_not_call_list_round_trips(store: &dyn Store) {
    let dir = tempfile::tempdir().unwrap();
    let file = write_csv(
        &dir,
        "dnc.csv",
        "phone,reason,added_on\n+525550100001,solicitud del deudor,2026-02-01\n+12125550101,,2026-02-03\n",
    );
    let report = import_do_not_call_file(store, &file, history_settings(noon("2026-03-01"))).await.unwrap();
    assert_eq!(report.added, 2);
    assert_eq!(
        report.to_string(),
        format!("{}: added 2 numbers to the do-not-call list (0 already on it)", file.display())
    );

    assert!(store.on_do_not_call("+525550100001").await.unwrap());
    assert!(store.on_do_not_call("+12125550101").await.unwrap());
    assert!(!store.on_do_not_call("+525550100002").await.unwrap());

    let later = write_csv(&dir, "later.csv", "phone,reason,added_on\n+525550100001,otra razón,2026-03-01\n");
    let again = import_do_not_call_file(store, &later, history_settings(noon("2026-03-02"))).await.unwrap();
    assert_eq!(again.added, 0);
    let source = file.display().to_string();
    assert_eq!(
        store.do_not_call_list().await.unwrap(),
        vec![
            DoNotCallEntry {
                phone: "+12125550101".into(),
                reason: String::new(),
                source: source.clone(),
                added_on: day("2026-02-03")
            },
            DoNotCallEntry {
                phone: "+525550100001".into(),
                reason: "solicitud del deudor".into(),
                source,
                added_on: day("2026-02-01"),
            },
        ]
    );
}

pub async fn snapshots_latest_per_debt(store: &dyn Store) {
    let mut first = row("MX-0001", "BA-1", Money::new(450_000, Currency::Mxn));
    let second = row("MX-0001", "BA-2", Money::new(90_000, Currency::Mxn));
    store.import_portfolio_as_of(&[first.clone(), second], day("2026-01-31")).await.unwrap();
    first.debt.days_past_due = 75;
    first.debt.balance = Money::new(400_000, Currency::Mxn);
    store.import_portfolio_as_of(&[first.clone()], day("2026-02-28")).await.unwrap();
    // The same date again replaces that date's snapshot.
    first.debt.days_past_due = 76;
    store.import_portfolio_as_of(&[first], day("2026-02-28")).await.unwrap();
    let refs = store.debt_refs().await.unwrap();
    let (ba1, ba2) = (refs[0].debt_id, refs[1].debt_id);
    let snapshot = |debt_id, as_of: &str, days_past_due, balance_minor| DebtSnapshot {
        debt_id,
        as_of: day(as_of),
        days_past_due,
        balance: Money::new(balance_minor, Currency::Mxn),
    };
    let written = store.write_snapshots(&[snapshot(ba2, "2026-03-31", 0, 0)]).await.unwrap();
    assert_eq!(written, 1);

    assert_eq!(
        store.snapshots_as_of(day("2026-03-30")).await.unwrap(),
        vec![snapshot(ba1, "2026-02-28", 76, 400_000), snapshot(ba2, "2026-01-31", 45, 90_000)]
    );
    assert_eq!(
        store.snapshots_as_of(day("2026-03-31")).await.unwrap(),
        vec![snapshot(ba1, "2026-02-28", 76, 400_000), snapshot(ba2, "2026-03-31", 0, 0)]
    );
    assert_eq!(store.snapshots_as_of(day("2026-01-30")).await.unwrap(), vec![]);
    assert_eq!(
        store.snapshots_between(day("2026-01-31"), day("2026-02-28")).await.unwrap(),
        vec![
            snapshot(ba1, "2026-01-31", 45, 450_000),
            snapshot(ba2, "2026-01-31", 45, 90_000),
            snapshot(ba1, "2026-02-28", 76, 400_000)
        ]
    );
}

pub const HISTORY_SMALL: &str = "tests/fixtures/history-small";

pub async fn history_import_small_fixture(store: &dyn Store) {
    let now = noon("2026-04-01");
    let report =
        import_history_dir(store, std::path::Path::new(HISTORY_SMALL), None, history_settings(now)).await.unwrap();
    assert_eq!(report.as_of, day("2026-03-31"));
    assert_eq!(report.portfolio_as_of, day("2026-03-31"));
    assert_eq!(report.portfolio, ImportCounts { debtors: 3, debts: 4 });
    assert_eq!(report.snapshots, 4);
    assert_eq!(report.attempts, Loaded { added: 6, already_stored: 0 });
    assert_eq!(report.promises, Loaded { added: 5, already_stored: 0 });
    assert_eq!(report.payments, Loaded { added: 5, already_stored: 0 });
    assert_eq!(report.do_not_call, Loaded { added: 2, already_stored: 0 });
    assert_eq!(report.settlement.promises, 5);
    assert_eq!(
        report.settlement.changed.clone().into_iter().collect::<Vec<_>>(),
        vec![
            (PromiseStatus::Kept, 1),
            (PromiseStatus::KeptLate, 1),
            (PromiseStatus::PartlyKept, 1),
            (PromiseStatus::Broken, 1)
        ]
    );

    let refs = store.debt_refs().await.unwrap();
    let debt = |account_ref: &str| refs.iter().find(|debt| debt.account_ref == account_ref).unwrap().debt_id;
    let statuses = |settled: Vec<SettledPromise>| -> Vec<(PromiseStatus, i64, Option<NaiveDate>)> {
        settled.iter().map(|s| (s.settlement.status, s.settlement.kept_minor, s.settlement.settled_on)).collect()
    };
    assert_eq!(
        statuses(store.settled_promises_of_debt(debt("HS-MX-1")).await.unwrap()),
        vec![(PromiseStatus::Kept, 300_000, Some(day("2026-03-09"))), (PromiseStatus::Open, 200_000, None)]
    );
    assert_eq!(
        statuses(store.settled_promises_of_debt(debt("HS-MX-2")).await.unwrap()),
        vec![(PromiseStatus::KeptLate, 300_000, Some(day("2026-03-12")))]
    );
    assert_eq!(
        statuses(store.settled_promises_of_debt(debt("HS-CO-1")).await.unwrap()),
        vec![(PromiseStatus::PartlyKept, 50_000_000, Some(day("2026-03-17")))]
    );
    assert_eq!(
        statuses(store.settled_promises_of_debt(debt("HS-CL-1")).await.unwrap()),
        vec![(PromiseStatus::Broken, 0, Some(day("2026-03-20")))]
    );

    let attempts = store.attempts_with_call_sids(&["HS-A-5".to_string()]).await.unwrap();
    let stored = store.attempt(attempts[0].attempt_id).await.unwrap().unwrap();
    assert_eq!(stored.call_sid, Some(CallSid("HS-A-5".to_string())));
    assert_eq!(stored.debt_id, debt("HS-CL-1"));
    assert_eq!(stored.debtor_id, DebtorId("CL-0101".to_string()));
    assert_eq!(stored.disposition, Some(Disposition::NoResponse));
    assert_eq!(stored.ended_at, None);
    assert!(!stored.answered);
    assert_eq!(stored.cost_micros, 1_000);
    assert_eq!(store.attempts_between(noon("2026-03-01"), noon("2026-04-01")).await.unwrap().len(), 6);

    let latest: Vec<(DebtId, NaiveDate, u32)> = store
        .snapshots_as_of(day("2026-03-31"))
        .await
        .unwrap()
        .iter()
        .map(|snapshot| (snapshot.debt_id, snapshot.as_of, snapshot.days_past_due))
        .collect();
    let mut expected = vec![
        (debt("HS-MX-1"), day("2026-03-31"), 40),
        (debt("HS-MX-2"), day("2026-03-31"), 15),
        (debt("HS-CO-1"), day("2026-03-31"), 75),
        (debt("HS-CL-1"), day("2026-03-31"), 95),
    ];
    expected.sort();
    assert_eq!(latest, expected);
    assert_eq!(store.snapshots_between(day("2026-01-01"), day("2026-03-30")).await.unwrap().len(), 3);
    assert!(store.on_do_not_call("+56225550201").await.unwrap());

    let again =
        import_history_dir(store, std::path::Path::new(HISTORY_SMALL), None, history_settings(now)).await.unwrap();
    assert_eq!(again.attempts, Loaded { added: 0, already_stored: 6 });
    assert_eq!(again.promises, Loaded { added: 0, already_stored: 5 });
    assert_eq!(again.payments, Loaded { added: 0, already_stored: 5 });
    assert_eq!(again.do_not_call, Loaded { added: 0, already_stored: 2 });
    assert_eq!(again.settlement.changed_total(), 0);
    assert_eq!(store.attempts_between(noon("2026-03-01"), noon("2026-04-01")).await.unwrap().len(), 6);
}

pub async fn history_invalid_row_imports_nothing(store: &dyn Store) {
    let dir = tempfile::tempdir().unwrap();
    for name in ["portfolio.csv", "attempts.csv", "promises.csv"] {
        std::fs::copy(std::path::Path::new(HISTORY_SMALL).join(name), dir.path().join(name)).unwrap();
    }
    let promises = std::fs::read_to_string(dir.path().join("promises.csv")).unwrap();
    std::fs::write(dir.path().join("promises.csv"), promises.replace("HS-A-4,450000,CLP", "HS-A-4,450000,MXN"))
        .unwrap();

    let error = import_history_dir(store, dir.path(), None, history_settings(noon("2026-04-01"))).await.unwrap_err();
    let file = dir.path().join("promises.csv").display().to_string();
    assert_eq!(
        error.to_string(),
        format!(
            "{}: 1 row is invalid, so nothing was imported; fix the rows or pass --valid-rows-only\n\
             {file} line 5, column currency: currency 'MXN' differs from CLP, the currency of account_ref \
             'HS-CL-1': write amounts in the debt's currency",
            dir.path().display()
        )
    );
    assert_eq!(store.accounts().await.unwrap(), vec![]);

    let settings = HistoryImportSettings { mode: ImportMode::ValidRowsOnly, ..history_settings(noon("2026-04-01")) };
    let report = import_history_dir(store, dir.path(), Some(day("2026-03-31")), settings).await.unwrap();
    assert_eq!(report.promises, Loaded { added: 4, already_stored: 0 });
    assert_eq!(report.rejected.len(), 1);
    assert_eq!(report.portfolio_as_of, day("2026-03-31"));
}

/// Checks that a debt's newest snapshot sets its figures, whichever order snapshots arrive in.
pub async fn latest_snapshot_sets_debt_figures(store: &dyn Store) {
    let placed = row("MX-0001", "BA-1", Money::new(450_000, Currency::Mxn));
    store.import_portfolio_as_of(&[placed], day("2026-08-01")).await.unwrap();
    let debt_id = store.accounts().await.unwrap()[0].debt.id;
    let snapshot = |as_of: &str, days_past_due, balance_minor| DebtSnapshot {
        debt_id,
        as_of: day(as_of),
        days_past_due,
        balance: Money::new(balance_minor, Currency::Mxn),
    };
    store.write_snapshots(&[snapshot("2026-09-01", 20, 500_000), snapshot("2026-11-01", 0, 0)]).await.unwrap();
    let debt = store.account_by_debt(debt_id).await.unwrap().unwrap().debt;
    assert_eq!(debt.days_past_due, 0);
    assert_eq!(debt.balance, Money::new(0, Currency::Mxn));

    // An older snapshot arriving later leaves the newest figures in place.
    store.write_snapshots(&[snapshot("2026-10-01", 50, 450_000)]).await.unwrap();
    let debt = store.account_by_debt(debt_id).await.unwrap().unwrap().debt;
    assert_eq!(debt.days_past_due, 0);
    assert_eq!(debt.balance, Money::new(0, Currency::Mxn));
}

/// Scoring reads only what happened before its date, and the label from the window after it.
pub async fn debt_history_reads_before_as_of(store: &dyn Store) {
    use cobranza::collections::history::Payment;
    use cobranza::scoring::store::DebtHistory;

    let first = row("MX-0001", "A-1", Money::new(900_000, Currency::Mxn));
    let second = row("MX-0001", "A-2", Money::new(90_000, Currency::Mxn));
    store.import_portfolio_as_of(&[first], day("2026-08-01")).await.unwrap();
    // A-2 is placed after the scoring date, so it is not scored then.
    store.import_portfolio_as_of(&[second], day("2026-10-15")).await.unwrap();
    let refs = store.debt_refs().await.unwrap();
    let (debt, other) = (refs[0].debt_id, refs[1].debt_id);
    let snapshot = |debt_id, as_of: &str, days_past_due, balance_minor| DebtSnapshot {
        debt_id,
        as_of: day(as_of),
        days_past_due,
        balance: Money::new(balance_minor, Currency::Mxn),
    };
    store
        .write_snapshots(&[
            snapshot(debt, "2026-09-01", 20, 500_000),
            snapshot(debt, "2026-10-01", 50, 450_000),
            snapshot(debt, "2026-11-01", 0, 0),
            snapshot(other, "2026-11-01", 10, 90_000),
        ])
        .await
        .unwrap();

    let contact = |at: DateTime<Utc>, right_party: bool| async move {
        let id = outbound_at(store, debt, at).await;
        let outcome = AttemptOutcome {
            disposition: if right_party { Disposition::RightPartyNoCommitment } else { Disposition::NoResponse },
            answered: right_party,
            right_party_contact: right_party,
            ended_at: at + Duration::minutes(2),
            recording_path: None,
            costs: vec![],
        };
        store.finish_attempt(id, &outcome).await.unwrap();
    };
    contact(Utc.with_ymd_and_hms(2026, 9, 10, 16, 0, 0).unwrap(), true).await;
    contact(Utc.with_ymd_and_hms(2026, 9, 20, 23, 30, 0).unwrap(), true).await;
    contact(Utc.with_ymd_and_hms(2026, 9, 25, 18, 0, 0).unwrap(), false).await;
    contact(Utc.with_ymd_and_hms(2026, 10, 5, 18, 0, 0).unwrap(), true).await;

    let payment = |payment_ref: &str, paid_on: &str, amount_minor| Payment {
        payment_ref: payment_ref.to_string(),
        debt_id: debt,
        paid_on: day(paid_on),
        amount: Money::new(amount_minor, Currency::Mxn),
        channel: "OXXO".to_string(),
    };
    store
        .insert_payments(
            &[
                payment("P-1", "2026-08-15", 10_000),
                payment("P-2", "2026-09-15", 20_000),
                payment("P-3", "2026-10-10", 30_000),
                payment("P-4", "2026-10-31", 5_000),
                payment("P-5", "2026-11-15", 70_000),
            ],
            noon("2026-11-30"),
        )
        .await
        .unwrap();

    let as_of = day("2026-10-01");
    let histories = store.debt_histories(as_of, 30, None).await.unwrap();
    assert_eq!(histories.len(), 1);
    assert_eq!(
        histories[0],
        DebtHistory {
            debtor_id: DebtorId("MX-0001".to_string()),
            time_zone: Tz::America__Mexico_City,
            product: "tarjeta de crédito".to_string(),
            currency: Currency::Mxn,
            days_past_due: 50,
            balance_minor: 450_000,
            attempts: 3,
            right_party_contacts: 2,
            last_right_party_contact: Some(Utc.with_ymd_and_hms(2026, 9, 20, 23, 30, 0).unwrap()),
            payments: 2,
            last_payment: Some(day("2026-09-15")),
            promises_kept: 0,
            promises_broken: 0,
            // October 1 to 30: the payment of October 31 is the window's day 31.
            paid_in_window_minor: 30_000,
        }
    );

    let rows = cobranza::scoring::model::debtor_rows(
        &histories,
        as_of,
        &cobranza::config::Config::embedded().currencies,
    );
    assert_eq!(rows.len(), 1);
    let features = &rows[0].features;
    // 23:30 UTC is 17:30 in Mexico City, which keeps UTC-6 all year since 2022.
    assert_eq!(features.contact_hour, Some(17));
    assert_eq!(features.days_since_contact, Some(10));
    assert_eq!(features.days_since_payment, Some(16));
    assert_eq!(features.balance, 4_500.0 * 0.055);

    let one = store.debt_histories(as_of, 30, Some(&DebtorId("MX-0001".to_string()))).await.unwrap();
    assert_eq!(one, histories);
    let nobody = store.debt_histories(as_of, 30, Some(&DebtorId("XX-1".to_string()))).await.unwrap();
    assert_eq!(nobody, vec![]);
    // By November the second debt is placed.
    assert_eq!(store.debt_histories(day("2026-11-01"), 30, None).await.unwrap().len(), 2);
}

/// Scores replace a debtor's earlier score, and the queue orders by expected value.
pub async fn scores_round_trip_in_queue_order(store: &dyn Store) {
    use cobranza::scoring::store::{DebtorScore, StoredModel};

    let rows = [
        row("MX-0001", "BA-1", Money::new(450_000, Currency::Mxn)),
        PortfolioRow { debtor: debtor("MX-0002", "+525550100002"), debt: debt("BA-2", Money::new(90_000, Currency::Mxn)) },
        PortfolioRow { debtor: debtor("MX-0003", "+525550100003"), debt: debt("BA-3", Money::new(90_000, Currency::Mxn)) },
    ];
    store.import_portfolio(&rows).await.unwrap();
    let score = |id: &str, value: f64| DebtorScore {
        debtor_id: DebtorId(id.to_string()),
        model_version: "ptp30-20261101".to_string(),
        scored_at: at(16, 0, 0),
        as_of: day("2026-12-01"),
        probability: 0.25,
        points: 512,
        expected_value_usd: value,
        segment: "medium_risk.mid.small".to_string(),
        strategy: "mid_plans".to_string(),
        top_reasons: vec!["days_past_due".to_string(), "payments".to_string()],
    };
    store.save_scores(&[score("MX-0001", 12.5), score("MX-0002", 40.0), score("MX-0003", 12.5)]).await.unwrap();
    // Rescoring MX-0002 replaces its row.
    store.save_scores(&[score("MX-0002", 3.0)]).await.unwrap();

    let queue = store.dial_queue(10).await.unwrap();
    let order: Vec<(&str, f64)> = queue.iter().map(|s| (s.debtor_id.0.as_str(), s.expected_value_usd)).collect();
    assert_eq!(order, vec![("MX-0001", 12.5), ("MX-0003", 12.5), ("MX-0002", 3.0)]);
    assert_eq!(queue[0], score("MX-0001", 12.5));
    assert_eq!(store.dial_queue(1).await.unwrap().len(), 1);
    assert_eq!(store.debtor_score(&DebtorId("MX-0002".to_string())).await.unwrap(), Some(score("MX-0002", 3.0)));
    assert_eq!(store.debtor_score(&DebtorId("XX-1".to_string())).await.unwrap(), None);

    // A full rescoring drops the debtors it left out.
    // A debtor in every characteristic's best bin has no reasons, stored as none.
    let bare = DebtorScore { top_reasons: vec![], ..score("MX-0003", 7.0) };
    store.replace_all_scores(&[bare.clone(), score("MX-0002", 9.0)]).await.unwrap();
    let queue = store.dial_queue(10).await.unwrap();
    let order: Vec<(&str, f64)> = queue.iter().map(|s| (s.debtor_id.0.as_str(), s.expected_value_usd)).collect();
    assert_eq!(order, vec![("MX-0002", 9.0), ("MX-0003", 7.0)]);
    assert_eq!(queue[1], bare);
    assert_eq!(store.debtor_score(&DebtorId("MX-0001".to_string())).await.unwrap(), None);

    assert_eq!(store.latest_model().await.unwrap(), None);
    let model = |version: &str, trained_at| StoredModel {
        version: version.to_string(),
        trained_at,
        model: "{}".to_string(),
        validation: "{\"auc\":0.79}".to_string(),
    };
    store.save_model(&model("ptp30-20261001", at(9, 0, 0))).await.unwrap();
    store.save_model(&model("ptp30-20261101", at(10, 0, 0))).await.unwrap();
    assert_eq!(store.latest_model().await.unwrap(), Some(model("ptp30-20261101", at(10, 0, 0))));
    // Saving a version again replaces it.
    store.save_model(&model("ptp30-20261001", at(11, 0, 0))).await.unwrap();
    assert_eq!(store.latest_model().await.unwrap(), Some(model("ptp30-20261001", at(11, 0, 0))));
}

pub async fn phone_shared_by_debtors_matches_none(store: &dyn Store) {
    let mut own = row("CO-0001", "BC-5", Money::new(185_000_000, Currency::Cop));
    own.debtor.phone = "+576045550101".to_string();
    let rows = [
        row("MX-0001", "BA-1", Money::new(450_000, Currency::Mxn)),
        row("MX-0001", "BA-2", Money::new(99, Currency::Mxn)),
        row("MX-0002", "FC-7", Money::new(1_200_050, Currency::Mxn)),
        own,
    ];
    store.import_portfolio(&rows).await.unwrap();

    // MX-0001 and MX-0002 both have +525550100001 on file.
    assert_eq!(store.account_by_phone("+525550100001").await.unwrap(), None);
    let colombian = store.account_by_phone("+576045550101").await.unwrap().expect("one debtor has the number");
    assert_eq!(colombian.debtor.id, DebtorId("CO-0001".to_string()));
    assert_eq!(colombian.debt.account_ref, "BC-5");
    assert_eq!(store.account_by_phone("+15005550006").await.unwrap(), None);
}

pub async fn reference_digits_match_one_debt(store: &dyn Store) {
    let rows = [
        row("MX-0001", "BA-TC-100001", Money::new(450_000, Currency::Mxn)),
        row("MX-0002", "FC-200002", Money::new(99, Currency::Mxn)),
        row("MX-0003", "GX-200002", Money::new(100, Currency::Mxn)),
    ];
    store.import_portfolio(&rows).await.unwrap();

    let found = store.account_by_reference_digits("100001").await.unwrap().expect("one debt matches");
    assert_eq!(found.debt.account_ref, "BA-TC-100001");
    assert_eq!(found.debtor.id, DebtorId("MX-0001".to_string()));
    // Two debts have the digits 200002: neither is guessed.
    assert_eq!(store.account_by_reference_digits("200002").await.unwrap(), None);
    // The text ends in 00001, but the reference's digits are 100001.
    assert_eq!(store.account_by_reference_digits("00001").await.unwrap(), None);
    assert_eq!(store.account_by_reference_digits("999").await.unwrap(), None);
    assert_eq!(store.account_by_reference_digits("").await.unwrap(), None);
    assert_eq!(store.account_by_reference_digits("%1").await.unwrap(), None);
}

fn inbound_line(speaker: Speaker, text: &str, second: u32) -> TranscriptLine {
    TranscriptLine { speaker, text: text.to_string(), at: at(18, 0, second) }
}

pub async fn inbound_call_identified_once(store: &dyn Store) {
    let debt_id = one_debt(store).await;
    let call = NewInboundCall {
        call_sid: CallSid("CA00000000000000000000000000000001".to_string()),
        phone: Some("+15005550006".to_string()),
        started_at: at(18, 0, 0),
    };
    let id = store.create_inbound_call(&call).await.unwrap();
    assert_eq!(store.create_inbound_call(&call).await.unwrap(), id, "a repeated webhook gets the same row");
    assert_eq!(
        store.inbound_call(id).await.unwrap(),
        Some(InboundCall {
            id,
            call_sid: call.call_sid.clone(),
            phone: Some("+15005550006".to_string()),
            started_at: at(18, 0, 0),
            attempt_id: None,
            ended_at: None,
            disposition: None,
            recording_path: None,
            cost_micros: 0,
        })
    );

    let lines = vec![
        inbound_line(Speaker::Bot, "Gracias por comunicarse.", 1),
        inbound_line(Speaker::Debtor, "[DTMF ••••••]", 9),
    ];
    for line in &lines {
        store.append_inbound_transcript(id, line).await.unwrap();
    }
    assert_eq!(store.inbound_transcript(id).await.unwrap(), lines);

    let attempt = NewAttempt {
        debt_id,
        phone: "+15005550006".to_string(),
        direction: Direction::Inbound,
        started_at: at(18, 0, 0),
    };
    let attempt_id = store.identify_inbound_call(id, &attempt).await.unwrap();
    let stored = store.attempt(attempt_id).await.unwrap().expect("attempt created");
    assert_eq!(stored.debt_id, debt_id);
    assert_eq!(stored.direction, Direction::Inbound);
    assert_eq!(stored.phone, "+15005550006");
    assert_eq!(stored.started_at, at(18, 0, 0));
    assert_eq!(stored.call_sid, Some(call.call_sid.clone()));
    assert_eq!(stored.ended_at, None);
    assert_eq!(store.transcript(attempt_id).await.unwrap(), lines);
    assert_eq!(store.inbound_call(id).await.unwrap().unwrap().attempt_id, Some(attempt_id));

    // The attempt's transcript goes on after the copied lines.
    let next = inbound_line(Speaker::Bot, "Para proteger sus datos...", 12);
    store.append_transcript(attempt_id, &next).await.unwrap();
    assert_eq!(store.transcript(attempt_id).await.unwrap().len(), 3);

    let again = store.identify_inbound_call(id, &attempt).await.unwrap_err();
    assert!(matches!(again, StoreError::NotFound { what: "unidentified inbound call", .. }), "{again}");
    let outcome = InboundCallOutcome {
        disposition: Disposition::UnidentifiedCaller,
        ended_at: at(18, 2, 0),
        recording_path: None,
        cost_micros: 0,
    };
    let finished = store.finish_inbound_call(id, &outcome).await.unwrap_err();
    assert!(matches!(finished, StoreError::NotFound { what: "unidentified inbound call", .. }), "{finished}");
}

pub async fn unidentified_call_finishes_once(store: &dyn Store) {
    let debt_id = one_debt(store).await;
    let call = NewInboundCall {
        call_sid: CallSid("CA00000000000000000000000000000002".to_string()),
        phone: None,
        started_at: at(19, 0, 0),
    };
    let id = store.create_inbound_call(&call).await.unwrap();
    let outcome = InboundCallOutcome {
        disposition: Disposition::UnidentifiedCaller,
        ended_at: at(19, 1, 30),
        recording_path: Some("recordings/inbound-call-1.wav".to_string()),
        cost_micros: 14_000,
    };
    store.finish_inbound_call(id, &outcome).await.unwrap();
    let stored = store.inbound_call(id).await.unwrap().expect("stored");
    assert_eq!(stored.phone, None);
    assert_eq!(stored.attempt_id, None);
    assert_eq!(stored.disposition, Some(Disposition::UnidentifiedCaller));
    assert_eq!(stored.ended_at, Some(at(19, 1, 30)));
    assert_eq!(stored.recording_path.as_deref(), Some("recordings/inbound-call-1.wav"));
    assert_eq!(stored.cost_micros, 14_000);

    let second = InboundCallOutcome { disposition: Disposition::HungUp, ..outcome.clone() };
    let error = store.finish_inbound_call(id, &second).await.unwrap_err();
    assert!(matches!(error, StoreError::NotFound { what: "unidentified inbound call", .. }), "{error}");
    assert_eq!(store.inbound_call(id).await.unwrap().unwrap().disposition, Some(Disposition::UnidentifiedCaller));
    let attempt = NewAttempt { debt_id, phone: String::new(), direction: Direction::Inbound, started_at: at(19, 0, 0) };
    let late = store.identify_inbound_call(id, &attempt).await.unwrap_err();
    assert!(matches!(late, StoreError::NotFound { what: "unidentified inbound call", .. }), "{late}");

    // Nothing was dialled and nobody was reached: the KPI attempts do not see the call.
    assert_eq!(store.attempts_between(at(0, 0, 0), at(23, 59, 59)).await.unwrap(), vec![]);
    assert_eq!(store.inbound_call(InboundCallId(999_999)).await.unwrap(), None);
    let line = inbound_line(Speaker::Bot, "Hola", 1);
    let missing = store.append_inbound_transcript(InboundCallId(999_999), &line).await.unwrap_err();
    assert!(matches!(missing, StoreError::NotFound { what: "inbound call", .. }), "{missing}");
}
