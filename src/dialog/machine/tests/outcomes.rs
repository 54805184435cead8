use super::*;
use crate::collections::model::PaymentClaim;

#[test]
fn dated_payment_claim_stored_with_channel() {
    let mut machine = verified();
    assert_eq!(step(&mut machine, heard(Intent::AlreadyPaid)), ["say:already_paid_ask_details"]);
    let interpretation = Interpretation { date: Some(date(11, 30)), ..Interpretation::intent(Intent::Unknown) };
    let actions = machine.on(Event::Heard { text: "Pagué en el banco el lunes pasado".into(), interpretation });
    let claim =
        PaymentClaim { debt_id: DebtId(7), paid_on: Some(date(11, 30)), amount: None, channel: Some("bank".into()) };
    assert_eq!(actions, [Action::StorePaymentClaim(claim)]);
    assert_eq!(
        step(&mut machine, Event::OutcomeStored { ok: true }),
        ["say:already_paid_recorded", "dispose:already_paid", "hangup"]
    );
}

#[test]
fn payment_claim_with_amount_stored_at_once() {
    let mut machine = verified();
    let interpretation = Interpretation {
        amount: pesos(4_500),
        date: Some(date(11, 28)),
        ..Interpretation::intent(Intent::AlreadyPaid)
    };
    let actions = machine.on(Event::Heard { text: "ya pagué por transferencia".into(), interpretation });
    let claim = PaymentClaim {
        debt_id: DebtId(7),
        paid_on: Some(date(11, 28)),
        amount: Some(pesos_money(4_500)),
        channel: Some("transfer".into()),
    };
    assert_eq!(actions, [Action::StorePaymentClaim(claim)]);
}

#[test]
fn silence_after_payment_question_still_stores_the_claim() {
    let mut machine = verified();
    machine.on(heard(Intent::AlreadyPaid));
    assert_eq!(step(&mut machine, Event::Silence), ["store_payment_claim"]);
}

#[test]
fn failed_outcome_store_is_not_confirmed() {
    let mut machine = verified();
    machine.on(heard(Intent::Dispute));
    assert_eq!(
        step(&mut machine, Event::OutcomeStored { ok: false }),
        ["say:outcome_store_failed", "dispose:store_failed", "hangup"]
    );
}

#[test]
fn dispute_stops_collecting() {
    let mut machine = verified();
    assert_eq!(step(&mut machine, heard(Intent::Dispute)), ["store_dispute"]);
    let actions = machine.on(Event::OutcomeStored { ok: true });
    assert_eq!(names(&actions), ["say:dispute_recorded", "dispose:disputed", "hangup"]);
    assert_eq!(
        texts(&actions),
        ["Entendido. Registré que usted no reconoce esta deuda con Financiera Aurora. Dejamos de cobrarla mientras se revisa, y le contactarán con el resultado. Hasta luego."]
    );
}

#[test]
fn hardship_offers_a_person() {
    let mut machine = verified();
    assert_eq!(step(&mut machine, heard(Intent::Hardship)), ["say:hardship_offer"]);
    assert_eq!(step(&mut machine, heard(Intent::Affirm)), ["store_hardship:true"]);
    assert_eq!(
        step(&mut machine, Event::OutcomeStored { ok: true }),
        ["say:hardship_callback_ack", "dispose:hardship", "hangup"]
    );
}

#[test]
fn hardship_without_a_person_is_noted() {
    let mut machine = verified();
    machine.on(heard(Intent::Hardship));
    assert_eq!(step(&mut machine, heard(Intent::Deny)), ["store_hardship:false"]);
    assert_eq!(
        step(&mut machine, Event::OutcomeStored { ok: true }),
        ["say:hardship_noted", "dispose:hardship", "hangup"]
    );
}

#[test]
fn hardship_then_a_number_is_fitted() {
    let mut machine = verified();
    machine.on(heard(Intent::Hardship));
    assert_eq!(step(&mut machine, offer(pesos(1_000), Some(date(12, 4)))), ["say:offer_counter"]);
}

#[test]
fn named_day_callback_at_ten_local() {
    let mut machine = machine();
    machine.on(Event::CallStarted);
    let monday = date(12, 7);
    let actions = machine.on(with_date(Intent::CallbackRequest, monday));
    assert_eq!(actions, [Action::StoreCallback { requested_for: Some(mexico_city(monday, 10)) }]);
    let ack = machine.on(Event::OutcomeStored { ok: true });
    assert_eq!(names(&ack), ["say:callback_ack_dated", "dispose:callback_requested", "hangup"]);
    assert_eq!(
        texts(&ack),
        ["Con gusto. Le llamamos el lunes 7 de diciembre, dentro del horario permitido para llamar. Hasta luego."]
    );
}

#[test]
fn callback_later_without_day() {
    let mut machine = machine();
    machine.on(Event::CallStarted);
    assert_eq!(machine.on(heard(Intent::CallbackRequest)), [Action::StoreCallback { requested_for: None }]);
    assert_eq!(
        step(&mut machine, Event::OutcomeStored { ok: true }),
        ["say:callback_ack", "dispose:callback_requested", "hangup"]
    );
}

#[test]
fn callback_on_closed_day_is_moved_and_said() {
    let mut machine = machine_where(|account| {
        account.debtor.country = "CO".into();
        account.debtor.locale = "es-CO".into();
        account.debtor.time_zone = chrono_tz::America::Bogota;
        account.debt.balance = Money::from_major(1_850_000, Currency::Cop);
    });
    machine.on(Event::CallStarted);
    // Sunday: no calls in Colombia; Saturday's last hour is nearer than Monday's opening.
    let actions = machine.on(with_date(Intent::CallbackRequest, date(12, 6)));
    let saturday_two_pm = chrono_tz::America::Bogota
        .from_local_datetime(&date(12, 5).and_hms_opt(14, 0, 0).unwrap())
        .unwrap()
        .with_timezone(&Utc);
    assert_eq!(actions, [Action::StoreCallback { requested_for: Some(saturday_two_pm) }]);
    let ack = machine.on(Event::OutcomeStored { ok: true });
    assert_eq!(names(&ack), ["say:callback_moved_day", "dispose:callback_requested", "hangup"]);
    assert_eq!(
        texts(&ack),
        ["Ese día no podemos llamarle; le llamamos el sábado 5 de diciembre a las dos de la tarde, que es lo más cercano que se permite. Hasta luego."]
    );
}

#[test]
fn callback_today_is_an_hour_from_now() {
    let mut machine = machine();
    machine.on(Event::CallStarted);
    let actions = machine.on(with_date(Intent::CallbackRequest, today()));
    assert_eq!(actions, [Action::StoreCallback { requested_for: Some(mexico_city(today(), 12)) }]);
}

#[test]
fn opt_out_before_verification_is_voice() {
    let mut machine = machine();
    machine.on(Event::CallStarted);
    assert_eq!(step(&mut machine, heard_text(Intent::StopContact, "no me vuelvan a llamar")), ["store_opt_out:voice"]);
    let ack = machine.on(Event::OutcomeStored { ok: true });
    assert_eq!(names(&ack), ["say:opt_out_ack", "dispose:stop_contact", "hangup"]);
    assert_eq!(
        texts(&ack),
        ["Entendido. Registré su solicitud y no volveremos a contactarle por llamadas telefónicas. Hasta luego."]
    );
}

#[test]
fn opt_out_names_its_channel() {
    let mut machine = verified();
    assert_eq!(
        step(&mut machine, heard_text(Intent::StopContact, "Ya no me manden mensajes de texto")),
        ["store_opt_out:sms"]
    );
}

#[test]
fn request_for_a_person_is_a_callback() {
    let mut machine = verified();
    assert_eq!(machine.on(heard(Intent::AskHuman)), [Action::StoreCallback { requested_for: None }]);
    assert_eq!(
        step(&mut machine, Event::OutcomeStored { ok: true }),
        ["say:human_callback", "dispose:callback_requested", "hangup"]
    );
}

#[test]
fn request_for_a_person_transfers_when_configured() {
    let mut machine = machine();
    machine.ctx.policy.transfer_to = Some("+525550000000".into());
    machine.on(Event::CallStarted);
    assert_eq!(
        step(&mut machine, heard(Intent::AskHuman)),
        ["say:transfer_notice", "transfer:+525550000000", "dispose:transferred", "hangup"]
    );
    assert_eq!(machine.disposition(), Some(Disposition::Transferred));
}

#[test]
fn voicemail_leaves_limited_message() {
    let mut machine = machine();
    machine.on(Event::CallStarted);
    let actions = machine.on(Event::AnsweringMachine);
    assert_eq!(names(&actions), ["say:voicemail", "dispose:voicemail_left", "hangup"]);
    assert_eq!(
        texts(&actions),
        ["Hola, le llama Laura Gómez, de Servicios Andinos. Por favor, devuélvanos la llamada al cinco dos, cinco cinco, cinco cero uno cero, cero cero cero cero. Gracias."]
    );
}

#[test]
fn voicemail_after_verification_is_ignored() {
    let mut machine = verified();
    assert!(machine.on(Event::AnsweringMachine).is_empty());
}

#[test]
fn payment_channel_takes_the_most_specific_word() {
    let cases = [
        ("lo deposité en el OXXO el sábado", "store"),
        ("ya pagué por Nequi el viernes", "app"),
        ("pagué con Daviplata", "app"),
        ("ya pagué por Yape ayer", "app"),
        ("le pagué por Plin", "app"),
        ("pagué por Mercado Pago", "app"),
        ("pagué en el banco", "bank"),
        ("lo deposité en el banco", "deposit"),
    ];
    for (text, channel) in cases {
        let mut machine = verified();
        let interpretation = Interpretation { date: Some(date(11, 28)), ..Interpretation::intent(Intent::AlreadyPaid) };
        let actions = machine.on(Event::Heard { text: text.into(), interpretation });
        let [Action::StorePaymentClaim(claim)] = actions.as_slice() else {
            panic!("{text}: no claim stored: {actions:?}");
        };
        assert_eq!(claim.channel.as_deref(), Some(channel), "{text}");
    }
}

#[test]
fn payment_channel_word_never_matches_inside_a_word() {
    let mut machine = verified();
    let interpretation = Interpretation { date: Some(date(11, 28)), ..Interpretation::intent(Intent::AlreadyPaid) };
    let actions = machine.on(Event::Heard { text: "pagué por disciplina".into(), interpretation });
    let [Action::StorePaymentClaim(claim)] = actions.as_slice() else {
        panic!("no claim stored: {actions:?}");
    };
    assert_eq!(claim.channel, None);
}

#[test]
fn moved_english_callback_ends_with_one_period() {
    let mut machine = machine_where(|account| {
        account.debtor.country = "CO".into();
        account.debtor.locale = "en-US".into();
        account.debtor.time_zone = chrono_tz::America::Bogota;
        account.debt.balance = Money::from_major(1_850_000, Currency::Cop);
    });
    machine.on(Event::CallStarted);
    machine.on(with_date(Intent::CallbackRequest, date(12, 6)));
    let ack = machine.on(Event::OutcomeStored { ok: true });
    assert_eq!(
        texts(&ack),
        ["We can't call on that day, so we'll call you on Saturday, December 5 at 2 p.m., the closest time we're allowed. Goodbye."]
    );
}
