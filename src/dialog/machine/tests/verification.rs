use super::*;

#[test]
fn spoken_digits_verify() {
    let mut machine = machine();
    machine.on(Event::CallStarted);
    assert_eq!(step(&mut machine, heard(Intent::IdentityConfirm)), ["say:verify_identity"]);
    assert_eq!(machine.expecting(), Expecting::VerificationDigits);
    assert_eq!(step(&mut machine, spoken_digits("1234")), VERIFIED);
    assert!(machine.is_verified());
}

#[test]
fn whole_id_ending_in_the_digits_verifies() {
    let mut machine = machine();
    machine.on(Event::CallStarted);
    machine.on(heard(Intent::Affirm));
    assert_eq!(step(&mut machine, Event::Digits("99881234".into())), VERIFIED);
}

#[test]
fn wrong_digits_retry_then_fail() {
    let mut machine = machine();
    machine.on(Event::CallStarted);
    machine.on(heard(Intent::Affirm));
    assert_eq!(step(&mut machine, Event::Digits("4321".into())), ["say:verification_retry"]);
    assert_eq!(
        step(&mut machine, Event::Digits("0000".into())),
        ["say:verification_failed_goodbye", "dispose:verification_failed", "hangup"]
    );
    assert!(!machine.is_verified());
}

#[test]
fn malformed_id_on_file_never_verifies() {
    let mut machine = machine_where(|account| account.debtor.national_id_last4 = "12".into());
    machine.on(Event::CallStarted);
    machine.on(heard(Intent::Affirm));
    assert_eq!(step(&mut machine, Event::Digits("12".into())), ["say:verification_retry"]);
}

#[test]
fn declining_to_answer_counts_as_a_try() {
    let mut machine = machine();
    machine.on(Event::CallStarted);
    machine.on(heard(Intent::Affirm));
    assert_eq!(step(&mut machine, heard(Intent::Deny)), ["say:verification_retry"]);
}

/// A debtor of "Crédito Maguey", whose policy verifies by date of birth.
fn birth_date_machine() -> Machine {
    let mut machine = machine_where(|account| account.debt.creditor = "Crédito Maguey".into());
    machine.on(Event::CallStarted);
    assert_eq!(step(&mut machine, heard(Intent::Affirm)), ["say:verify_birth_date"]);
    assert_eq!(machine.expecting(), Expecting::BirthDate);
    machine
}

#[test]
fn spoken_birth_date_verifies() {
    let mut machine = birth_date_machine();
    let birth = NaiveDate::from_ymd_opt(1985, 3, 14).unwrap();
    assert_eq!(step(&mut machine, with_date(Intent::Unknown, birth))[0], "right_party_verified");
}

#[test]
fn keyed_birth_date_verifies() {
    let mut machine = birth_date_machine();
    assert_eq!(step(&mut machine, Event::Digits("14031985".into()))[0], "right_party_verified");
}

#[test]
fn wrong_birth_date_retries() {
    let mut machine = birth_date_machine();
    let wrong = NaiveDate::from_ymd_opt(1985, 4, 14).unwrap();
    assert_eq!(step(&mut machine, with_date(Intent::Unknown, wrong)), ["say:verification_retry"]);
}

#[test]
fn postal_code_verifies() {
    let mut machine = machine_where(|account| account.debt.creditor = "Financiera Ceiba".into());
    machine.on(Event::CallStarted);
    assert_eq!(step(&mut machine, heard(Intent::Affirm)), ["say:verify_postal_code"]);
    assert_eq!(step(&mut machine, Event::Digits("6700".into())), ["say:verification_retry"]);
    assert_eq!(step(&mut machine, spoken_digits("06700"))[0], "right_party_verified");
}

#[test]
fn wrong_person_then_wrong_number() {
    let mut machine = machine();
    machine.on(Event::CallStarted);
    let asked = machine.on(heard(Intent::WrongPerson));
    assert_eq!(names(&asked), ["say:third_party_ask_time"]);
    assert_eq!(texts(&asked), ["Entiendo. ¿Sabe en qué momento podemos encontrar a María?"]);
    assert_eq!(machine.expecting(), Expecting::CallbackTime);
    assert_eq!(
        step(&mut machine, heard(Intent::WrongPerson)),
        ["say:wrong_person_goodbye", "dispose:wrong_number", "hangup"]
    );
    assert!(!machine.is_verified());
}

#[test]
fn plain_no_at_greeting_asks_for_a_time() {
    let mut machine = machine();
    machine.on(Event::CallStarted);
    assert_eq!(step(&mut machine, heard(Intent::Deny)), ["say:third_party_ask_time"]);
}

#[test]
fn third_party_time_is_stored_as_callback() {
    let mut machine = machine();
    machine.on(Event::CallStarted);
    machine.on(heard(Intent::WrongPerson));
    let monday = date(12, 7);
    let actions = machine.on(with_date(Intent::Unknown, monday));
    assert_eq!(actions, [Action::StoreCallback { requested_for: Some(mexico_city(monday, 10)) }]);
    let ack = machine.on(Event::OutcomeStored { ok: true });
    assert_eq!(names(&ack), ["say:third_party_callback_ack", "dispose:third_party", "hangup"]);
    assert_eq!(texts(&ack), ["Muchas gracias. Volveremos a llamar el lunes 7 de diciembre. Hasta luego."]);
}

#[test]
fn third_party_without_time_is_third_party() {
    let mut machine = machine();
    machine.on(Event::CallStarted);
    machine.on(heard(Intent::WrongPerson));
    assert_eq!(
        step(&mut machine, heard(Intent::Unknown)),
        ["say:third_party_goodbye", "dispose:third_party", "hangup"]
    );
}

#[test]
fn third_party_silence_is_third_party() {
    let mut machine = machine();
    machine.on(Event::CallStarted);
    machine.on(heard(Intent::WrongPerson));
    machine.on(Event::Silence);
    machine.on(Event::Silence);
    assert_eq!(step(&mut machine, Event::Silence), ["say:no_response_goodbye", "dispose:third_party", "hangup"]);
}

#[test]
fn who_is_calling_then_asks_again() {
    let mut machine = machine();
    machine.on(Event::CallStarted);
    assert_eq!(step(&mut machine, heard(Intent::Greeting)), ["say:who_is_calling", "say:ask_identity"]);
}

#[test]
fn amount_question_before_verification_is_deferred() {
    let mut machine = machine();
    machine.on(Event::CallStarted);
    let actions = machine.on(heard(Intent::AskAmount));
    assert_eq!(names(&actions), ["say:verify_first", "say:ask_identity"]);
    assert_eq!(texts(&actions)[0], "Antes de darle cualquier información necesito confirmar su identidad.");
}

#[test]
fn already_paid_before_verification_is_taken_up_after() {
    let mut machine = machine();
    machine.on(Event::CallStarted);
    assert_eq!(step(&mut machine, heard(Intent::AlreadyPaid)), ["say:verify_identity"]);
    assert_eq!(
        step(&mut machine, Event::Digits("1234".into())),
        ["right_party_verified", "say:state_debt", "say:payments_only_to_creditor", "say:already_paid_ask_details"]
    );
}

#[test]
fn dispute_before_verification_is_stored_after() {
    let mut machine = machine();
    machine.on(Event::CallStarted);
    assert_eq!(step(&mut machine, heard(Intent::Dispute)), ["say:verify_identity"]);
    assert_eq!(
        step(&mut machine, Event::Digits("1234".into())),
        ["right_party_verified", "say:state_debt", "say:payments_only_to_creditor", "store_dispute"]
    );
    assert_eq!(
        step(&mut machine, Event::OutcomeStored { ok: true }),
        ["say:dispute_recorded", "dispose:disputed", "hangup"]
    );
}

#[test]
fn nothing_about_the_debt_before_verification() {
    let mut machine = machine();
    let mut before = texts(&machine.on(Event::CallStarted));
    for event in
        [heard(Intent::Greeting), heard(Intent::AskAmount), heard(Intent::Affirm), Event::Digits("0000".into())]
    {
        before.extend(texts(&machine.on(event)));
    }
    assert!(!machine.is_verified());
    for phrase in before {
        let lower = phrase.to_lowercase();
        for word in ["financiera aurora", "tarjeta", "cuatro mil", "4500", "deuda", "adeudo", "saldo"] {
            assert!(!lower.contains(word), "'{word}' before verification: {phrase}");
        }
    }
}
