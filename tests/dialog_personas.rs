//! Whole conversations as text: each persona's words go through the rule-based interpreter into
//! the dialog machine, and the test checks the exact prompts, actions, promise and disposition.

use chrono::{NaiveDate, NaiveTime};

use cobranza::collections::model::{
    Account, Currency, Debt, DebtId, Debtor, DebtorId, Disposition, Installment, Money, PaymentClaim, Promise,
};
use cobranza::dialog::nlu::{Interpreter, RuleInterpreter};
use cobranza::dialog::{Action, CallContext, DialogSettings, Event, Machine, Script};

/// Wednesday 2 December 2026.
fn today() -> NaiveDate {
    date(12, 2)
}

fn date(month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, month, day).expect("valid date")
}

const CREDITOR: &str = "Financiera Aurora";
const PRODUCT: &str = "tarjeta de crédito";

fn account(locale: &str, currency: Currency) -> Account {
    Account {
        debtor: Debtor {
            id: DebtorId("D-1001".into()),
            full_name: "María López Pérez".into(),
            phone: "+5215512345678".into(),
            country: "MX".into(),
            region: "CMX".into(),
            locale: locale.into(),
            time_zone: chrono_tz::America::Mexico_City,
            national_id_last4: "1234".into(),
            birth_date: NaiveDate::from_ymd_opt(1985, 3, 14).expect("valid date"),
            postal_code: "06700".into(),
            call_consent: true,
            authorised_channels: vec!["voice".into()],
        },
        debt: Debt {
            id: DebtId(42),
            debtor_id: DebtorId("D-1001".into()),
            creditor: CREDITOR.into(),
            product: PRODUCT.into(),
            account_ref: "TC-0001".into(),
            balance: Money::from_major(4_500, currency),
            days_past_due: 45,
        },
    }
}

/// One call driven as text, keeping every action for the checks at the end.
struct Call {
    machine: Machine,
    actions: Vec<Action>,
}

impl Call {
    fn new(locale: &str, currency: Currency) -> Call {
        let mut account = account(locale, currency);
        if currency == Currency::Usd {
            account.debtor.country = "US".into();
            account.debtor.time_zone = chrono_tz::America::New_York;
        }
        let ctx = CallContext::embedded(
            account,
            today(),
            NaiveTime::from_hms_opt(10, 0, 0).expect("valid time"),
            "Cobranzas del Centro",
            "Sofía",
            DialogSettings::default(),
        )
        .expect("context");
        let script = Script::embedded(locale).expect("embedded script");
        Call { machine: Machine::new(ctx, script), actions: Vec::new() }
    }

    fn spanish() -> Call {
        Call::new("es-MX", Currency::Mxn)
    }

    fn event(&mut self, event: Event) -> Vec<String> {
        let actions = self.machine.on(event);
        let names = names(&actions);
        self.actions.extend(actions);
        names
    }

    async fn hear(&mut self, text: &str) -> Vec<String> {
        let interpreter: &dyn Interpreter = &RuleInterpreter;
        let interpretation = interpreter.interpret(text, &self.machine.interpret_context()).await;
        self.event(Event::Heard { text: text.to_string(), interpretation })
    }

    fn promise(&self) -> Option<&Promise> {
        self.actions.iter().find_map(|action| match action {
            Action::StorePromise(promise) => Some(promise),
            _ => None,
        })
    }

    fn phrases(&self) -> Vec<&str> {
        self.actions
            .iter()
            .filter_map(|action| match action {
                Action::Say(utterance) => Some(utterance.text.as_str()),
                _ => None,
            })
            .collect()
    }

    /// What the bot said before the debtor's identity was verified.
    fn phrases_before_verification(&self) -> Vec<&str> {
        self.actions
            .iter()
            .take_while(|action| **action != Action::RightPartyVerified)
            .filter_map(|action| match action {
                Action::Say(utterance) => Some(utterance.text.as_str()),
                _ => None,
            })
            .collect()
    }
}

fn names(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .map(|action| match action {
            Action::Say(utterance) => format!("say:{}", utterance.key),
            Action::StorePromise(_) => "store_promise".to_string(),
            Action::StorePaymentClaim(_) => "store_payment_claim".to_string(),
            Action::StoreCallback { .. } => "store_callback".to_string(),
            Action::StoreOptOut { .. } => "store_opt_out".to_string(),
            Action::StoreDispute => "store_dispute".to_string(),
            Action::StoreHardship { .. } => "store_hardship".to_string(),
            Action::Transfer { .. } => "transfer".to_string(),
            Action::FindAccount { digits } => format!("find_account:{digits}"),
            Action::RightPartyVerified => "right_party_verified".to_string(),
            Action::Dispose(disposition) => format!("dispose:{disposition}"),
            Action::Hangup => "hangup".to_string(),
        })
        .collect()
}

/// A Mexican debtor hears the debt, that payments go only to the creditor, and the first offer.
const VERIFIED: [&str; 4] =
    ["right_party_verified", "say:state_debt", "say:payments_only_to_creditor", "say:offer_full_payment"];

/// Runs the cooperative persona up to the point where the promise is out to the store.
async fn cooperative_until_stored() -> Call {
    let mut call = Call::spanish();
    assert_eq!(call.event(Event::CallStarted), ["say:greeting"]);
    assert_eq!(call.hear("Sí, soy yo.").await, ["say:verify_identity"]);
    assert_eq!(call.event(Event::Digits("1234".into())), VERIFIED);
    assert_eq!(call.hear("Sí, voy a pagar el total, cuatro mil quinientos pesos, el viernes").await, ["say:read_back"]);
    assert_eq!(call.hear("sí, es correcto").await, ["store_promise"]);
    call
}

#[tokio::test]
async fn cooperative_promises_full_balance_friday() {
    let mut call = cooperative_until_stored().await;
    assert_eq!(
        call.event(Event::PromiseStored { ok: true }),
        ["say:promise_confirmed", "say:goodbye", "dispose:promise_to_pay", "hangup"]
    );

    let promise = call.promise().expect("a promise");
    assert_eq!(promise.debt_id, DebtId(42));
    assert_eq!(promise.amount.amount_minor, 450_000);
    assert_eq!(promise.amount.currency, Currency::Mxn);
    assert_eq!(promise.due_date, date(12, 4));
    assert!(promise.installments.is_empty());
    assert_eq!(call.machine.disposition(), Some(Disposition::PromiseToPay));
    assert!(call.phrases().contains(&"Listo. Quedó registrado su compromiso de pagar cuatro mil quinientos pesos el viernes 4 de diciembre. Gracias."));
}

#[tokio::test]
async fn store_failure_never_confirms() {
    let mut call = cooperative_until_stored().await;
    assert_eq!(
        call.event(Event::PromiseStored { ok: false }),
        ["say:promise_store_failed", "dispose:store_failed", "hangup"]
    );
    assert_eq!(call.machine.disposition(), Some(Disposition::StoreFailed));
    for phrase in call.phrases() {
        assert!(!phrase.contains("Quedó registrado"), "confirmed after a failed store: {phrase}");
    }
}

fn pesos(major: i64, due_date: NaiveDate) -> Installment {
    Installment { amount: Money::from_major(major, Currency::Mxn), due_date }
}

#[tokio::test]
async fn negotiator_half_next_monday_becomes_a_plan() {
    let mut call = Call::spanish();
    call.event(Event::CallStarted);
    assert_eq!(call.hear("Sí, con ella habla.").await, ["say:verify_identity"]);
    assert_eq!(call.hear("uno dos tres cuatro").await, VERIFIED);
    assert_eq!(
        call.hear("No puedo pagar todo. Puedo pagar dos mil doscientos cincuenta pesos el próximo lunes.").await,
        ["say:offer_counter"]
    );
    assert_eq!(call.hear("Sí, está bien, de acuerdo.").await, ["say:read_back_plan"]);
    assert_eq!(call.hear("Sí, es correcto.").await, ["store_promise"]);
    assert_eq!(
        call.event(Event::PromiseStored { ok: true }),
        ["say:promise_confirmed_plan", "say:goodbye", "dispose:promise_to_pay", "hangup"]
    );

    let promise = call.promise().expect("a promise");
    assert_eq!(promise.amount.amount_minor, 450_000);
    assert_eq!(promise.due_date, date(12, 7));
    let next_year = |month, day| NaiveDate::from_ymd_opt(2027, month, day).expect("valid date");
    assert_eq!(promise.installments, [pesos(2_250, date(12, 7)), pesos(2_250, next_year(1, 6))]);
}

#[tokio::test]
async fn negotiator_gives_terms_one_at_a_time() {
    let mut call = Call::spanish();
    call.event(Event::CallStarted);
    call.hear("sí").await;
    call.event(Event::Digits("1234".into()));
    assert_eq!(call.hear("no").await, ["say:ask_payment"]);
    assert_eq!(call.hear("puedo pagar la mitad").await, ["say:ask_date"]);
    assert_eq!(call.hear("el 15").await, ["say:offer_counter"]);
    assert_eq!(call.hear("de acuerdo").await, ["say:read_back_plan"]);
    assert_eq!(call.hear("correcto").await, ["store_promise"]);

    let promise = call.promise().expect("a promise");
    assert_eq!(promise.amount.amount_minor, 450_000);
    assert_eq!(promise.installments[0], pesos(2_250, date(12, 15)));
}

#[tokio::test]
async fn wrong_person_hears_nothing_about_the_debt() {
    let mut call = Call::spanish();
    call.event(Event::CallStarted);
    assert_eq!(call.hear("No, se equivocó.").await, ["say:third_party_ask_time"]);
    assert_eq!(
        call.hear("No. Aquí no vive esa persona, es un número equivocado.").await,
        ["say:wrong_person_goodbye", "dispose:wrong_number", "hangup"]
    );
    assert_eq!(call.machine.disposition(), Some(Disposition::WrongNumber));
    assert!(!call.machine.is_verified());
}

#[tokio::test]
async fn already_paid_is_recorded_with_its_date() {
    let mut call = Call::spanish();
    call.event(Event::CallStarted);
    call.hear("Sí, soy yo.").await;
    assert_eq!(call.hear("1234").await, VERIFIED);
    assert_eq!(call.hear("Ya lo pagué la semana pasada.").await, ["say:already_paid_ask_details"]);
    assert_eq!(call.hear("Pagué en el banco el lunes pasado.").await, ["store_payment_claim"]);
    assert_eq!(
        call.event(Event::OutcomeStored { ok: true }),
        ["say:already_paid_recorded", "dispose:already_paid", "hangup"]
    );

    let claim = call.actions.iter().find_map(|action| match action {
        Action::StorePaymentClaim(claim) => Some(claim.clone()),
        _ => None,
    });
    let expected =
        PaymentClaim { debt_id: DebtId(42), paid_on: Some(date(11, 30)), amount: None, channel: Some("bank".into()) };
    assert_eq!(claim, Some(expected));
    assert!(call.promise().is_none());
}

#[tokio::test]
async fn call_me_later_before_verification() {
    let mut call = Call::spanish();
    call.event(Event::CallStarted);
    assert_eq!(call.hear("Ahora no puedo hablar. Llámeme más tarde, por favor.").await, ["store_callback"]);
    assert_eq!(
        call.event(Event::OutcomeStored { ok: true }),
        ["say:callback_ack", "dispose:callback_requested", "hangup"]
    );
    assert!(call.actions.contains(&Action::StoreCallback { requested_for: None }));
    assert_eq!(call.machine.disposition(), Some(Disposition::CallbackRequested));
}

#[tokio::test]
async fn silent_caller_is_no_response() {
    let mut call = Call::spanish();
    call.event(Event::CallStarted);
    assert_eq!(call.event(Event::Silence), ["say:reprompt", "say:ask_identity"]);
    assert_eq!(call.event(Event::Silence), ["say:reprompt", "say:ask_identity"]);
    assert_eq!(call.event(Event::Silence), ["say:no_response_goodbye", "dispose:no_response", "hangup"]);
    assert_eq!(call.machine.disposition(), Some(Disposition::NoResponse));
}

#[tokio::test]
async fn stop_contact_is_stored_then_acknowledged() {
    let mut call = Call::spanish();
    call.event(Event::CallStarted);
    call.hear("Sí, soy yo.").await;
    call.event(Event::Digits("1234".into()));
    assert_eq!(call.hear("No me vuelvan a llamar").await, ["store_opt_out"]);
    assert_eq!(call.event(Event::OutcomeStored { ok: true }), ["say:opt_out_ack", "dispose:stop_contact", "hangup"]);
}

#[tokio::test]
async fn english_cooperative_promises_in_dollars() {
    let mut call = Call::new("en-US", Currency::Usd);
    assert_eq!(call.event(Event::CallStarted), ["say:greeting"]);
    assert_eq!(call.hear("Yes, speaking.").await, ["say:verify_identity"]);
    assert_eq!(
        call.event(Event::Digits("1234".into())),
        ["right_party_verified", "say:debt_collector_notice", "say:state_debt", "say:offer_full_payment"]
    );
    assert_eq!(
        call.hear("I will pay the full balance, four thousand five hundred dollars, on Friday.").await,
        ["say:read_back"]
    );
    assert_eq!(call.hear("Yes, that is correct.").await, ["store_promise"]);
    assert_eq!(
        call.event(Event::PromiseStored { ok: true }),
        ["say:promise_confirmed", "say:goodbye", "dispose:promise_to_pay", "hangup"]
    );

    let promise = call.promise().expect("a promise");
    assert_eq!(promise.amount.amount_minor, 450_000);
    assert_eq!(promise.amount.currency, Currency::Usd);
    assert_eq!(promise.due_date, date(12, 4));
    assert!(call
        .phrases()
        .contains(&"So you will pay four thousand five hundred dollars on Friday, December 4. Is that correct? Say yes, or press 1 to confirm and 2 to change it."));
}

/// Runs the personas that end before or during verification and returns their calls.
async fn unverified_calls() -> Vec<Call> {
    let mut calls = Vec::new();

    let mut wrong_person = Call::spanish();
    wrong_person.event(Event::CallStarted);
    wrong_person.hear("No vive aquí").await;
    wrong_person.hear("No, número equivocado").await;
    calls.push(wrong_person);

    let mut later = Call::spanish();
    later.event(Event::CallStarted);
    later.hear("estoy ocupado").await;
    later.event(Event::OutcomeStored { ok: true });
    calls.push(later);

    let mut silent = Call::spanish();
    silent.event(Event::CallStarted);
    for _ in 0..3 {
        silent.event(Event::Silence);
    }
    calls.push(silent);

    let mut wrong_digits = Call::spanish();
    wrong_digits.event(Event::CallStarted);
    wrong_digits.hear("¿Quién habla?").await;
    wrong_digits.hear("sí, soy yo").await;
    wrong_digits.hear("cinco cinco cinco cinco").await;
    wrong_digits.event(Event::Digits("0000".into()));
    calls.push(wrong_digits);

    let mut confused = Call::spanish();
    confused.event(Event::CallStarted);
    for _ in 0..3 {
        confused.hear("¿bueno?").await;
    }
    calls.push(confused);

    let mut english_wrong = Call::new("en-US", Currency::Usd);
    english_wrong.event(Event::CallStarted);
    english_wrong.hear("Who is this?").await;
    english_wrong.hear("Wrong number").await;
    english_wrong.hear("Wrong number").await;
    calls.push(english_wrong);

    calls
}

#[tokio::test]
async fn nothing_about_the_debt_before_verification() {
    let forbidden = [
        "4500",
        "4,500",
        "4.500",
        "cuatro mil quinientos",
        "four thousand five hundred",
        "financiera aurora",
        "tarjeta de crédito",
        "deuda",
        "adeudo",
        "debt",
        "saldo",
        "balance",
        "pago",
        "payment",
    ];
    let calls = unverified_calls().await;
    for call in &calls {
        assert!(call.machine.disposition().is_some(), "every call ends with a disposition");
        assert!(!call.machine.is_verified());
        for phrase in call.phrases_before_verification() {
            let phrase = phrase.to_lowercase();
            for word in forbidden {
                assert!(!phrase.contains(word), "'{word}' said before verification: {phrase}");
            }
        }
    }
    let dispositions: Vec<_> = calls.iter().filter_map(|call| call.machine.disposition()).collect();
    assert_eq!(
        dispositions,
        [
            Disposition::WrongNumber,
            Disposition::CallbackRequested,
            Disposition::NoResponse,
            Disposition::VerificationFailed,
            Disposition::NotUnderstood,
            Disposition::WrongNumber,
        ]
    );
}
