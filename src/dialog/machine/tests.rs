use chrono::{NaiveDate, TimeZone, Utc};
use proptest::prelude::*;

use super::*;
use crate::collections::model::{Account, Currency, Debt, DebtId, Debtor, DebtorId};
use crate::dialog::nlu::spell_number;
use crate::dialog::DialogSettings;

/// Wednesday.
fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 2).unwrap()
}

fn date(m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, m, d).unwrap()
}

fn balance() -> Money {
    Money::from_major(4_500, Currency::Mxn)
}

fn account(balance: Money) -> Account {
    Account {
        debtor: Debtor {
            id: DebtorId("D-1".into()),
            full_name: "María López Pérez".into(),
            phone: "+5215512345678".into(),
            country: "MX".into(),
            region: "CMX".into(),
            locale: "es-MX".into(),
            time_zone: chrono_tz::America::Mexico_City,
            national_id_last4: "1234".into(),
            birth_date: NaiveDate::from_ymd_opt(1985, 3, 14).unwrap(),
            postal_code: "06700".into(),
            call_consent: true,
            authorised_channels: vec!["voice".into()],
        },
        debt: Debt {
            id: DebtId(7),
            debtor_id: DebtorId("D-1".into()),
            creditor: "Financiera Aurora".into(),
            product: "tarjeta de crédito".into(),
            account_ref: "TC-0001".into(),
            balance,
            days_past_due: 45,
        },
    }
}

fn machine_with(balance: Money) -> Machine {
    let ctx = CallContext {
        account: account(balance),
        today: today(),
        agency: "Cobranzas del Centro".into(),
        bot_name: "Sofía".into(),
        settings: DialogSettings::default(),
    };
    Machine::new(ctx, Script::embedded("es-MX").expect("es-MX script"))
}

fn machine() -> Machine {
    machine_with(balance())
}

fn heard(intent: Intent) -> Event {
    Event::Heard { text: String::new(), interpretation: Interpretation::intent(intent) }
}

fn offer(amount: Option<AmountMention>, date: Option<NaiveDate>) -> Event {
    let interpretation = Interpretation { amount, date, ..Interpretation::intent(Intent::PromiseToPay) };
    Event::Heard { text: String::new(), interpretation }
}

fn pesos(major: i64) -> Option<AmountMention> {
    Some(AmountMention::Exact(Money::from_major(major, Currency::Mxn)))
}

/// Names the actions briefly: `say:greeting`, `store_promise`, `dispose:wrong_party`, `hangup`.
fn names(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .map(|action| match action {
            Action::Say(utterance) => format!("say:{}", utterance.key),
            Action::StorePromise(_) => "store_promise".to_string(),
            Action::StorePaymentClaim(_) => "store_payment_claim".to_string(),
            Action::StoreCallback { .. } => "store_callback".to_string(),
            Action::StoreOptOut { .. } => "store_opt_out".to_string(),
            Action::RightPartyVerified => "right_party_verified".to_string(),
            Action::Dispose(disposition) => format!("dispose:{disposition}"),
            Action::Hangup => "hangup".to_string(),
        })
        .collect()
}

fn step(machine: &mut Machine, event: Event) -> Vec<String> {
    names(&machine.on(event))
}

/// Builds a machine that has verified the debtor and asked how much and when.
fn verified() -> Machine {
    let mut machine = machine();
    machine.on(Event::CallStarted);
    machine.on(heard(Intent::Affirm));
    machine.on(Event::Digits("1234".into()));
    assert_eq!(machine.state(), "asking_payment");
    machine
}

#[test]
fn greeting_expects_a_reply() {
    let mut machine = machine();
    let actions = machine.on(Event::CallStarted);
    let Some(Action::Say(greeting)) = actions.first() else {
        panic!("no greeting: {actions:?}");
    };
    assert_eq!(greeting.key, "greeting");
    assert!(greeting.expects_reply);
    assert_eq!(machine.expecting(), Expecting::Identity);
}

#[test]
fn spoken_digits_verify() {
    let mut machine = machine();
    machine.on(Event::CallStarted);
    machine.on(heard(Intent::Affirm));
    let digits = Interpretation { digits: Some("1234".into()), ..Interpretation::intent(Intent::Unknown) };
    let actions = step(&mut machine, Event::Heard { text: "uno dos tres cuatro".into(), interpretation: digits });
    assert_eq!(actions, ["right_party_verified", "say:state_debt", "say:ask_payment"]);
    assert!(machine.is_verified());
}

#[test]
fn whole_id_ending_in_the_digits_verifies() {
    let mut machine = machine();
    machine.on(Event::CallStarted);
    machine.on(heard(Intent::Affirm));
    assert_eq!(step(&mut machine, Event::Digits("87651234".into()))[0], "right_party_verified");
}

#[test]
fn wrong_digits_retry_then_fail() {
    let mut machine = machine();
    machine.on(Event::CallStarted);
    machine.on(heard(Intent::Affirm));
    assert_eq!(step(&mut machine, Event::Digits("9999".into())), ["say:verification_retry"]);
    assert_eq!(
        step(&mut machine, Event::Digits("123".into())),
        ["say:verification_failed_goodbye", "dispose:verification_failed", "hangup"]
    );
    assert_eq!(machine.disposition(), Some(Disposition::VerificationFailed));
    assert!(!machine.is_verified());
}

#[test]
fn malformed_id_on_file_never_verifies() {
    let mut machine = machine();
    machine.ctx.account.debtor.national_id_last4 = "23K".into();
    machine.on(Event::CallStarted);
    machine.on(heard(Intent::Affirm));
    assert_eq!(step(&mut machine, Event::Digits("0023".into())), ["say:verification_retry"]);
}

#[test]
fn wrong_person_at_greeting() {
    let mut machine = machine();
    machine.on(Event::CallStarted);
    let actions = step(&mut machine, heard(Intent::WrongPerson));
    assert_eq!(actions, ["say:wrong_person_goodbye", "dispose:wrong_party", "hangup"]);
}

#[test]
fn plain_no_at_greeting_is_wrong_party() {
    let mut machine = machine();
    machine.on(Event::CallStarted);
    assert_eq!(step(&mut machine, heard(Intent::Deny))[1], "dispose:wrong_party");
}

#[test]
fn who_is_calling_then_asks_again() {
    let mut machine = machine();
    machine.on(Event::CallStarted);
    assert_eq!(step(&mut machine, heard(Intent::Greeting)), ["say:who_is_calling", "say:ask_identity"]);
}

#[test]
fn unknown_answers_end_politely_before_verification() {
    let mut machine = machine();
    machine.on(Event::CallStarted);
    assert_eq!(step(&mut machine, heard(Intent::Unknown)), ["say:not_understood", "say:ask_identity"]);
    assert_eq!(step(&mut machine, heard(Intent::Unknown)), ["say:not_understood", "say:ask_identity"]);
    assert_eq!(step(&mut machine, heard(Intent::Unknown)), ["say:goodbye", "dispose:no_response", "hangup"]);
}

#[test]
fn unknown_answers_after_verification_are_no_commitment() {
    let mut machine = verified();
    assert_eq!(step(&mut machine, heard(Intent::Unknown)), ["say:not_understood", "say:ask_payment"]);
    machine.on(heard(Intent::Unknown));
    assert_eq!(step(&mut machine, heard(Intent::Unknown))[1], "dispose:right_party_no_commitment");
}

#[test]
fn silence_reprompts_then_gives_up() {
    let mut machine = machine();
    machine.on(Event::CallStarted);
    assert_eq!(step(&mut machine, Event::Silence), ["say:reprompt", "say:ask_identity"]);
    assert_eq!(step(&mut machine, Event::Silence), ["say:reprompt", "say:ask_identity"]);
    assert_eq!(step(&mut machine, Event::Silence), ["say:no_response_goodbye", "dispose:no_response", "hangup"]);
}

#[test]
fn answer_resets_silence_count() {
    let mut machine = machine();
    machine.on(Event::CallStarted);
    machine.on(Event::Silence);
    machine.on(Event::Silence);
    machine.on(heard(Intent::Affirm));
    assert_eq!(step(&mut machine, Event::Silence), ["say:reprompt", "say:verify_identity"]);
}

#[test]
fn silence_after_verification_is_no_commitment() {
    let mut machine = verified();
    machine.on(Event::Silence);
    machine.on(Event::Silence);
    assert_eq!(machine.on(Event::Silence)[1], Action::Dispose(Disposition::RightPartyNoCommitment));
}

#[test]
fn full_offer_is_read_back() {
    let mut machine = verified();
    let actions = machine.on(offer(Some(AmountMention::FullBalance), Some(date(12, 4))));
    let [Action::Say(read_back)] = actions.as_slice() else {
        panic!("expected one phrase: {actions:?}");
    };
    assert_eq!(read_back.key, "read_back");
    assert_eq!(
        read_back.text,
        "Entonces, usted paga cuatro mil quinientos pesos el viernes 4 de diciembre. ¿Es correcto? Diga sí, o marque 1 para confirmar y 2 para corregir."
    );
    assert!(read_back.expects_reply);
}

#[test]
fn missing_date_is_asked() {
    let mut machine = verified();
    assert_eq!(step(&mut machine, offer(pesos(2_000), None)), ["say:ask_date"]);
    assert_eq!(machine.expecting(), Expecting::Date);
    assert_eq!(step(&mut machine, offer(None, Some(date(12, 15)))), ["say:read_back"]);
}

#[test]
fn missing_amount_is_asked() {
    let mut machine = verified();
    assert_eq!(step(&mut machine, offer(None, Some(date(12, 15)))), ["say:ask_amount"]);
    assert_eq!(step(&mut machine, offer(Some(AmountMention::Half), None)), ["say:read_back"]);
}

#[test]
fn amount_above_balance_is_clarified() {
    let mut machine = verified();
    assert_eq!(step(&mut machine, offer(pesos(5_000), Some(date(12, 4)))), ["say:amount_invalid", "say:ask_amount"]);
    assert_eq!(step(&mut machine, offer(pesos(4_000), None)), ["say:read_back"]);
}

#[test]
fn zero_amount_is_clarified() {
    let mut machine = verified();
    assert_eq!(step(&mut machine, offer(pesos(0), None)), ["say:amount_invalid", "say:ask_amount"]);
}

#[test]
fn amount_in_another_currency_is_clarified() {
    let mut machine = verified();
    let dollars = Some(AmountMention::Exact(Money::from_major(100, Currency::Usd)));
    assert_eq!(step(&mut machine, offer(dollars, None)), ["say:amount_invalid", "say:ask_amount"]);
}

#[test]
fn date_before_today_is_asked_again() {
    let mut machine = verified();
    assert_eq!(step(&mut machine, offer(pesos(1_000), Some(date(12, 1)))), ["say:ask_date"]);
    assert_eq!(step(&mut machine, offer(None, Some(date(12, 2)))), ["say:read_back"]);
}

#[test]
fn half_rounds_up_to_the_minor_unit() {
    let mut machine = machine_with(Money::new(450_001, Currency::Mxn));
    machine.on(Event::CallStarted);
    machine.on(heard(Intent::Affirm));
    machine.on(Event::Digits("1234".into()));
    machine.on(offer(Some(AmountMention::Half), Some(date(12, 4))));
    let actions = machine.on(heard(Intent::Affirm));
    let [Action::StorePromise(promise)] = actions.as_slice() else {
        panic!("expected the promise: {actions:?}");
    };
    assert_eq!(promise.amount, Money::new(225_001, Currency::Mxn));
}

#[test]
fn promise_is_stored_before_it_is_confirmed() {
    let mut machine = verified();
    machine.on(offer(pesos(2_000), Some(date(12, 4))));
    let actions = machine.on(heard(Intent::Affirm));
    let expected = Promise {
        debt_id: DebtId(7),
        amount: Money::from_major(2_000, Currency::Mxn),
        due_date: date(12, 4),
        installments: Vec::new(),
    };
    assert_eq!(actions, [Action::StorePromise(expected)]);
    assert_eq!(step(&mut machine, heard(Intent::Affirm)), Vec::<String>::new());
    assert_eq!(step(&mut machine, Event::Silence), Vec::<String>::new());
    assert_eq!(
        step(&mut machine, Event::PromiseStored { ok: true }),
        ["say:promise_confirmed", "say:goodbye", "dispose:promise_to_pay", "hangup"]
    );
}

#[test]
fn failed_promise_store_is_not_confirmed() {
    let mut machine = verified();
    machine.on(offer(pesos(2_000), Some(date(12, 4))));
    machine.on(heard(Intent::Affirm));
    assert_eq!(
        step(&mut machine, Event::PromiseStored { ok: false }),
        ["say:promise_store_failed", "dispose:store_failed", "hangup"]
    );
}

#[test]
fn deny_at_read_back_asks_again() {
    let mut machine = verified();
    machine.on(offer(pesos(2_000), Some(date(12, 4))));
    assert_eq!(step(&mut machine, heard(Intent::Deny)), ["say:ask_payment"]);
}

#[test]
fn correction_at_read_back_reads_back_again() {
    let mut machine = verified();
    machine.on(offer(pesos(2_000), Some(date(12, 4))));
    let correction = Interpretation { date: Some(date(12, 7)), ..Interpretation::intent(Intent::Deny) };
    let actions = machine.on(Event::Heard { text: "no, el lunes".into(), interpretation: correction });
    let [Action::Say(read_back)] = actions.as_slice() else {
        panic!("expected a read-back: {actions:?}");
    };
    assert!(read_back.text.contains("el lunes 7 de diciembre"), "{}", read_back.text);
}

#[test]
fn refusal_ends_the_call() {
    let mut machine = verified();
    assert_eq!(
        step(&mut machine, heard(Intent::CannotPay)),
        ["say:refused_goodbye", "dispose:refused_to_pay", "hangup"]
    );
}

#[test]
fn dated_payment_claim_stored_at_once() {
    let mut machine = verified();
    let claim = Interpretation { date: Some(date(11, 30)), ..Interpretation::intent(Intent::AlreadyPaid) };
    let actions = machine.on(Event::Heard { text: "ya pagué el lunes".into(), interpretation: claim });
    let expected = PaymentClaim { debt_id: DebtId(7), paid_on: Some(date(11, 30)), amount: None, channel: None };
    assert_eq!(actions, [Action::StorePaymentClaim(expected)]);
    assert_eq!(
        step(&mut machine, Event::OutcomeStored { ok: true }),
        ["say:already_paid_recorded", "dispose:already_paid", "hangup"]
    );
}

#[test]
fn silence_after_payment_question_still_stores_the_claim() {
    let mut machine = verified();
    assert_eq!(step(&mut machine, heard(Intent::AlreadyPaid)), ["say:already_paid_ask_details"]);
    assert_eq!(step(&mut machine, Event::Silence), ["store_payment_claim"]);
}

#[test]
fn failed_outcome_store_is_not_confirmed() {
    let mut machine = verified();
    machine.on(heard(Intent::StopContact));
    assert_eq!(
        step(&mut machine, Event::OutcomeStored { ok: false }),
        ["say:outcome_store_failed", "dispose:store_failed", "hangup"]
    );
}

#[test]
fn opt_out_before_verification() {
    let mut machine = machine();
    machine.on(Event::CallStarted);
    assert_eq!(machine.on(heard(Intent::StopContact)), [Action::StoreOptOut { channel: "voice".into() }]);
    assert_eq!(
        step(&mut machine, Event::OutcomeStored { ok: true }),
        ["say:opt_out_ack", "dispose:stop_contact", "hangup"]
    );
}

#[test]
fn named_day_callback_at_ten_local() {
    let mut machine = machine();
    machine.on(Event::CallStarted);
    let later = Interpretation { date: Some(date(12, 3)), ..Interpretation::intent(Intent::CallbackRequest) };
    let actions = machine.on(Event::Heard { text: "llámeme mañana".into(), interpretation: later });
    // Mexico City is UTC-6 all year since 2022.
    let ten_local = Utc.with_ymd_and_hms(2026, 12, 3, 16, 0, 0).unwrap();
    assert_eq!(actions, [Action::StoreCallback { requested_for: Some(ten_local) }]);
    assert_eq!(
        step(&mut machine, Event::OutcomeStored { ok: true }),
        ["say:callback_ack", "dispose:callback_requested", "hangup"]
    );
}

#[test]
fn request_for_a_person_is_a_callback() {
    let mut machine = verified();
    assert_eq!(machine.on(heard(Intent::AskHuman)), [Action::StoreCallback { requested_for: None }]);
    assert_eq!(step(&mut machine, Event::OutcomeStored { ok: true })[0], "say:human_callback");
}

#[test]
fn caller_hang_up_disposes_once() {
    let mut machine = verified();
    assert_eq!(step(&mut machine, Event::CallerHungUp), ["dispose:hung_up"]);
    assert_eq!(step(&mut machine, Event::CallerHungUp), Vec::<String>::new());
    assert_eq!(step(&mut machine, heard(Intent::Affirm)), Vec::<String>::new());
    assert_eq!(machine.state(), "ended");
}

#[test]
fn hang_up_while_storing_waits_for_the_result() {
    let mut machine = verified();
    machine.on(offer(pesos(2_000), Some(date(12, 4))));
    machine.on(heard(Intent::Affirm));
    assert_eq!(step(&mut machine, Event::CallerHungUp), Vec::<String>::new());
    assert_eq!(step(&mut machine, Event::PromiseStored { ok: true }), ["dispose:promise_to_pay"]);
    assert_eq!(machine.disposition(), Some(Disposition::PromiseToPay));
}

#[test]
fn nothing_after_hangup() {
    let mut machine = machine();
    machine.on(Event::CallStarted);
    machine.on(heard(Intent::WrongPerson));
    for event in [Event::CallStarted, Event::Silence, Event::Digits("1234".into()), Event::CallerHungUp] {
        assert_eq!(machine.on(event), Vec::new());
    }
    assert_eq!(machine.disposition(), Some(Disposition::WrongParty));
}

#[test]
fn english_caller_switches_language() {
    let mut machine = machine();
    machine.on(Event::CallStarted);
    let english = Interpretation { language: Some(Language::En), ..Interpretation::intent(Intent::Affirm) };
    let actions = machine.on(Event::Heard { text: "Yes, this is she.".into(), interpretation: english });
    let [Action::Say(question)] = actions.as_slice() else {
        panic!("expected the id question: {actions:?}");
    };
    assert!(question.text.starts_with("Thank you. To protect your privacy"), "{}", question.text);
    assert_eq!(machine.language(), Language::En);
    assert_eq!(machine.interpret_context().language, Language::En);
}

#[test]
fn state_names_follow_the_call() {
    let mut machine = machine();
    assert_eq!(machine.state(), "not_started");
    machine.on(Event::CallStarted);
    assert_eq!(machine.state(), "confirming_identity");
    machine.on(heard(Intent::Affirm));
    assert_eq!(machine.state(), "verifying");
}

// Random conversations: whatever the caller does, the machine keeps its rules.

fn any_event() -> impl Strategy<Value = Event> {
    let intents = prop::sample::select(vec![
        Intent::Affirm,
        Intent::Deny,
        Intent::WrongPerson,
        Intent::PromiseToPay,
        Intent::CannotPay,
        Intent::AlreadyPaid,
        Intent::CallbackRequest,
        Intent::StopContact,
        Intent::AskHuman,
        Intent::Greeting,
        Intent::Dispute,
        Intent::Unknown,
    ]);
    let amounts = prop::option::of(prop_oneof![
        Just(AmountMention::FullBalance),
        Just(AmountMention::Half),
        (0i64..600_000).prop_map(|minor| AmountMention::Exact(Money::new(minor, Currency::Mxn))),
    ]);
    let dates = prop::option::of((-10i64..40).prop_map(|offset| today() + chrono::Duration::days(offset)));
    let digits = prop::option::of(prop::sample::select(vec!["1234".to_string(), "4321".to_string()]));
    let heard = (intents, amounts, dates, digits).prop_map(|(intent, amount, date, digits)| Event::Heard {
        text: String::new(),
        interpretation: Interpretation { intent, amount, date, installments: None, digits, language: None },
    });
    prop_oneof![
        6 => heard,
        1 => prop::sample::select(vec!["1234".to_string(), "0000".to_string()]).prop_map(Event::Digits),
        2 => Just(Event::Silence),
        1 => any::<bool>().prop_map(|ok| Event::PromiseStored { ok }),
        1 => any::<bool>().prop_map(|ok| Event::OutcomeStored { ok }),
        1 => Just(Event::CallerHungUp),
    ]
}

/// Phrases that disclose the debt to whoever answered.
fn disclosures() -> Vec<String> {
    let mut words: Vec<String> =
        ["financiera aurora", "tarjeta", "deuda", "adeudo", "saldo", "pago", "pagar", "4500", "4,500", "4.500"]
            .map(str::to_string)
            .to_vec();
    words.push(spell_number(4_500, Language::Es));
    words
}

proptest! {
    #[test]
    fn random_calls_keep_the_rules(events in prop::collection::vec(any_event(), 0..30)) {
        let mut machine = machine();
        let mut all = machine.on(Event::CallStarted);
        for event in events {
            all.extend(machine.on(event));
        }

        let disposals: Vec<usize> = all.iter().enumerate().filter(|(_, a)| matches!(a, Action::Dispose(_))).map(|(i, _)| i).collect();
        prop_assert!(disposals.len() <= 1, "{} dispositions: {:?}", disposals.len(), names(&all));
        if let Some(hangup) = all.iter().position(|a| *a == Action::Hangup) {
            prop_assert_eq!(hangup, all.len() - 1, "actions after hangup: {:?}", names(&all));
            prop_assert!(disposals.first().is_some_and(|d| *d < hangup), "hangup without disposition: {:?}", names(&all));
        }
        prop_assert_eq!(disposals.is_empty(), machine.disposition().is_none());

        let verified_at = all.iter().position(|a| *a == Action::RightPartyVerified).unwrap_or(all.len());
        for action in &all[..verified_at] {
            if let Action::Say(utterance) = action {
                let text = utterance.text.to_lowercase();
                for word in disclosures() {
                    prop_assert!(!text.contains(&word), "'{}' before verification in {}: {}", word, utterance.key, text);
                }
            }
            prop_assert!(!matches!(action, Action::StorePromise(_) | Action::StorePaymentClaim(_)), "{:?}", names(&all));
        }

        // A confirmation only ever follows a stored promise.
        let names = names(&all);
        if let Some(confirmed) = names.iter().position(|name| name == "say:promise_confirmed") {
            prop_assert!(names[..confirmed].contains(&"store_promise".to_string()));
        }
    }
}

fn cut(key: &str, heard_text: &str) -> Event {
    Event::PlaybackCut { key: key.into(), heard_text: heard_text.into() }
}

#[test]
fn yes_to_cut_read_back_reads_again() {
    let mut machine = verified();
    assert_eq!(step(&mut machine, offer(pesos(1_000), Some(date(12, 4)))), ["say:read_back"]);
    assert!(step(&mut machine, cut("read_back", "Entonces, usted paga")).is_empty());
    assert_eq!(step(&mut machine, heard(Intent::Affirm)), ["say:read_back"]);
    assert_eq!(machine.state(), "reading_back");
    // Heard whole the second time, the yes is taken.
    assert_eq!(step(&mut machine, heard(Intent::Affirm))[0], "store_promise");
}

#[test]
fn keypad_answers_read_back() {
    let mut machine = verified();
    step(&mut machine, offer(pesos(1_000), Some(date(12, 4))));
    assert_eq!(step(&mut machine, Event::Digits("2".into())), ["say:ask_payment"]);
    step(&mut machine, offer(pesos(1_000), Some(date(12, 4))));
    assert_eq!(step(&mut machine, Event::Digits("1".into()))[0], "store_promise");
}

#[test]
fn cut_greeting_owes_the_disclosure() {
    let mut machine = machine();
    machine.on(Event::CallStarted);
    assert!(step(&mut machine, cut("greeting", "Hola, le saluda")).is_empty());
    assert_eq!(step(&mut machine, heard(Intent::Affirm)), ["say:disclosure", "say:verify_identity"]);
    assert_eq!(
        step(&mut machine, Event::Digits("1234".into())),
        ["right_party_verified", "say:state_debt", "say:ask_payment"]
    );
}
