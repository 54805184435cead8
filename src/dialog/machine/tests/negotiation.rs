use super::*;
use crate::collections::model::Installment;

fn part(major: i64, due_date: NaiveDate) -> Installment {
    Installment { amount: pesos_money(major), due_date }
}

#[test]
fn anchor_is_full_balance_by_latest_date() {
    let mut machine = machine();
    machine.on(Event::CallStarted);
    machine.on(heard(Intent::Affirm));
    let actions = machine.on(Event::Digits("1234".into()));
    assert_eq!(
        texts(&actions)[2],
        "¿Puede pagar el total, cuatro mil quinientos pesos, a más tardar el jueves 17 de diciembre?"
    );
    assert_eq!(machine.expecting(), Expecting::OfferResponse);
}

#[test]
fn yes_to_anchor_asks_the_day() {
    let mut machine = verified();
    assert_eq!(step(&mut machine, heard(Intent::Affirm)), ["say:ask_date"]);
    let read_back = machine.on(with_date(Intent::Unknown, date(12, 4)));
    assert_eq!(
        texts(&read_back),
        ["Entonces, usted paga cuatro mil quinientos pesos el viernes 4 de diciembre. ¿Es correcto? Diga sí, o marque 1 para confirmar y 2 para corregir."]
    );
    let stored = machine.on(Event::Digits("1".into()));
    let promise = stored_promise(&stored).expect("promise stored");
    assert_eq!(
        promise,
        Promise { debt_id: DebtId(7), amount: pesos_money(4_500), due_date: date(12, 4), installments: vec![] }
    );
}

#[test]
fn yes_with_day_reads_back() {
    let mut machine = verified();
    assert_eq!(step(&mut machine, with_date(Intent::Affirm, date(12, 11))), ["say:read_back"]);
}

#[test]
fn bare_day_answers_the_anchor() {
    let mut machine = verified();
    assert_eq!(step(&mut machine, with_date(Intent::Unknown, date(12, 4))), ["say:read_back"]);
}

#[test]
fn anchor_day_after_latest_is_refused() {
    let mut machine = verified();
    machine.on(heard(Intent::Affirm));
    let actions = machine.on(with_date(Intent::Unknown, date(12, 18)));
    assert_eq!(names(&actions), ["say:date_too_late", "say:ask_date"]);
    assert_eq!(texts(&actions)[0], "La fecha más lejana que puedo aceptar es el jueves 17 de diciembre.");
}

#[test]
fn first_no_asks_for_debtor_terms() {
    let mut machine = verified();
    let actions = machine.on(heard(Intent::Deny));
    assert_eq!(names(&actions), ["say:ask_payment"]);
    assert_eq!(texts(&actions), ["Entiendo. ¿Cuánto podría pagar y en qué fecha?"]);
}

#[test]
fn cannot_pay_at_anchor_asks_for_terms() {
    let mut machine = verified();
    assert_eq!(step(&mut machine, heard(Intent::CannotPay)), ["say:ask_payment"]);
}

#[test]
fn full_balance_counter_is_read_back() {
    let mut machine = verified();
    assert_eq!(step(&mut machine, offer(Some(AmountMention::FullBalance), Some(date(12, 4)))), ["say:read_back"]);
}

#[test]
fn counter_fits_short_plan_from_debtor_payment() {
    let mut machine = asked_for_terms();
    let proposal = machine.on(offer(pesos(2_000), Some(date(12, 4))));
    assert_eq!(names(&proposal), ["say:offer_counter"]);
    assert_eq!(
        texts(&proposal),
        ["Con lo que me dice, le propongo pagar cuatro mil quinientos pesos así: un primer pago de dos mil pesos el viernes 4 de diciembre y dos pagos de mil doscientos cincuenta pesos, el domingo 3 de enero de 2027 y el martes 2 de febrero de 2027. ¿Le parece bien?"]
    );
    assert_eq!(step(&mut machine, heard(Intent::Affirm)), ["say:read_back_plan"]);
    let stored = machine.on(heard(Intent::Affirm));
    let promise = stored_promise(&stored).expect("promise stored");
    assert_eq!(promise.amount, pesos_money(4_500));
    assert_eq!(promise.due_date, date(12, 4));
    assert_eq!(
        promise.installments,
        [part(2_000, date(12, 4)), part(1_250, next_year(1, 3)), part(1_250, next_year(2, 2))]
    );
    let confirmed = machine.on(Event::PromiseStored { ok: true });
    assert_eq!(names(&confirmed), ["say:promise_confirmed_plan", "say:goodbye", "dispose:promise_to_pay", "hangup"]);
}

#[test]
fn counter_at_anchor_skips_the_question() {
    let mut machine = verified();
    assert_eq!(step(&mut machine, offer(pesos(2_000), Some(date(12, 4)))), ["say:offer_counter"]);
}

#[test]
fn counter_near_balance_is_a_settlement() {
    let mut machine = asked_for_terms();
    assert_eq!(step(&mut machine, offer(pesos(4_100), Some(date(12, 4)))), ["say:read_back"]);
    let promise = stored_promise(&machine.on(heard(Intent::Affirm))).expect("promise");
    assert_eq!(promise.amount, pesos_money(4_100));
    assert!(promise.installments.is_empty());
}

#[test]
fn small_counter_becomes_long_plan() {
    let mut machine = asked_for_terms();
    assert_eq!(step(&mut machine, offer(pesos(1_000), Some(date(12, 4)))), ["say:offer_counter"]);
    machine.on(heard(Intent::Affirm));
    let promise = stored_promise(&machine.on(heard(Intent::Affirm))).expect("promise");
    assert_eq!(
        promise.installments,
        [
            part(1_000, date(12, 4)),
            part(875, next_year(1, 3)),
            part(875, next_year(2, 2)),
            part(875, next_year(3, 4)),
            part(875, next_year(4, 3)),
        ]
    );
}

#[test]
fn counter_below_minimum_names_it() {
    let mut machine = asked_for_terms();
    let actions = machine.on(offer(pesos(500), Some(date(12, 4))));
    assert_eq!(names(&actions), ["say:amount_too_low", "say:offer_short_plan"]);
    assert_eq!(
        texts(&actions)[0],
        "Con ese monto no puedo registrar un acuerdo: cada pago tiene que ser de al menos setecientos veinte pesos."
    );
}

#[test]
fn counter_beyond_plans_is_partial_payment() {
    let mut machine = asked_for_terms();
    let read_back = machine.on(offer(pesos(730), Some(date(12, 4))));
    assert_eq!(names(&read_back), ["say:read_back_partial"]);
    assert_eq!(
        texts(&read_back),
        ["Entonces, usted paga setecientos treinta pesos el viernes 4 de diciembre, como pago parcial: quedan pendientes tres mil setecientos setenta pesos. ¿Es correcto? Diga sí, o marque 1 para confirmar y 2 para corregir."]
    );
    let promise = stored_promise(&machine.on(heard(Intent::Affirm))).expect("promise");
    assert_eq!(promise.amount, pesos_money(730));
    let confirmed = machine.on(Event::PromiseStored { ok: true });
    assert_eq!(
        texts(&confirmed)[0],
        "Listo. Quedó registrado su compromiso de pagar setecientos treinta pesos el viernes 4 de diciembre, como pago parcial. Quedan pendientes tres mil setecientos setenta pesos. Gracias."
    );
}

#[test]
fn key_two_at_read_back_keeps_the_amount() {
    let mut machine = asked_for_terms();
    assert_eq!(step(&mut machine, offer(pesos(4_500), Some(date(12, 4)))), ["say:read_back"]);
    assert_eq!(step(&mut machine, Event::Digits("2".into())), ["say:ask_payment"]);
    assert_eq!(step(&mut machine, with_date(Intent::Unknown, date(12, 7))), ["say:read_back"]);
    let promise = stored_promise(&machine.on(Event::Digits("1".into()))).expect("promise");
    assert_eq!(promise.amount, pesos_money(4_500));
    assert_eq!(promise.due_date, date(12, 7));
}

#[test]
fn counter_to_a_plan_declines_it() {
    let mut machine = asked_for_terms();
    let plan = machine.on(offer(pesos(2_000), Some(date(12, 4))));
    assert_eq!(names(&plan), ["say:offer_counter"]);
    let same_amount = Interpretation { amount: pesos(2_000), ..Interpretation::intent(Intent::Deny) };
    assert_eq!(step(&mut machine, Event::Heard { text: String::new(), interpretation: same_amount }), ["say:ask_date"]);
    let next = machine.on(with_date(Intent::Unknown, date(12, 4)));
    assert_ne!(texts(&next), texts(&plan));
    assert_eq!(
        texts(&next),
        ["Con lo que me dice, le propongo pagar cuatro mil doscientos setenta y cinco pesos así: tres pagos, dos mil pesos el viernes 4 de diciembre, mil ciento treinta y siete pesos el domingo 3 de enero de 2027 y mil ciento treinta y ocho pesos el martes 2 de febrero de 2027. ¿Le parece bien?"]
    );
}

#[test]
fn rung_with_declined_schedule_is_skipped() {
    let mut machine = asked_for_terms();
    let plan = machine.on(offer(pesos(2_000), Some(date(12, 4))));
    assert_eq!(names(&plan), ["say:offer_counter"]);
    // The settlement plan is next. Below it the long plan comes to the first plan's payments
    // again, so it is skipped for the partial payment.
    let settlement_plan = machine.on(heard(Intent::Deny));
    assert_eq!(names(&settlement_plan), ["say:offer_counter"]);
    assert_ne!(texts(&settlement_plan), texts(&plan));
    assert_eq!(step(&mut machine, heard(Intent::Deny)), ["say:read_back_partial"]);
}

#[test]
fn amount_then_date_asked_in_turn() {
    let mut machine = asked_for_terms();
    assert_eq!(step(&mut machine, offer(pesos(2_000), None)), ["say:ask_date"]);
    assert_eq!(step(&mut machine, with_date(Intent::Unknown, date(12, 4))), ["say:offer_counter"]);
}

#[test]
fn date_alone_asks_amount() {
    let mut machine = asked_for_terms();
    assert_eq!(step(&mut machine, offer(None, Some(date(12, 4)))), ["say:ask_amount"]);
}

#[test]
fn installment_count_fits_a_plan() {
    let mut machine = asked_for_terms();
    let interpretation =
        Interpretation { installments: Some(3), date: Some(date(12, 4)), ..Interpretation::intent(Intent::Negotiate) };
    assert_eq!(step(&mut machine, Event::Heard { text: String::new(), interpretation }), ["say:offer_counter"]);
    machine.on(heard(Intent::Affirm));
    let promise = stored_promise(&machine.on(heard(Intent::Affirm))).expect("promise");
    assert_eq!(
        promise.installments,
        [part(1_500, date(12, 4)), part(1_500, next_year(1, 3)), part(1_500, next_year(2, 2))]
    );
}

#[test]
fn counter_date_after_latest_is_asked_again() {
    let mut machine = asked_for_terms();
    assert_eq!(step(&mut machine, offer(pesos(2_000), Some(date(12, 20)))), ["say:date_too_late", "say:ask_date"]);
}

#[test]
fn amount_above_balance_is_clarified() {
    let mut machine = asked_for_terms();
    assert_eq!(step(&mut machine, offer(pesos(9_000), Some(date(12, 4)))), ["say:amount_invalid", "say:ask_amount"]);
}

#[test]
fn amount_in_another_currency_is_clarified() {
    let mut machine = asked_for_terms();
    let dollars = Some(AmountMention::Exact(Money::from_major(100, Currency::Usd)));
    assert_eq!(step(&mut machine, offer(dollars, Some(date(12, 4)))), ["say:amount_invalid", "say:ask_amount"]);
}

#[test]
fn date_before_today_is_asked_again() {
    let mut machine = asked_for_terms();
    assert_eq!(step(&mut machine, offer(pesos(2_000), Some(date(11, 30)))), ["say:ask_date"]);
}

#[test]
fn half_rounds_up_to_the_minor_unit() {
    let mut machine = machine_where(|account| account.debt.balance = Money::new(450_001, Currency::Mxn));
    machine.on(Event::CallStarted);
    machine.on(heard(Intent::Affirm));
    machine.on(Event::Digits("1234".into()));
    machine.on(heard(Intent::Deny));
    machine.on(offer(Some(AmountMention::Half), Some(date(12, 4))));
    machine.on(heard(Intent::Affirm));
    let promise = stored_promise(&machine.on(heard(Intent::Affirm))).expect("promise");
    assert_eq!(promise.installments[0].amount, Money::new(225_001, Currency::Mxn));
}

#[test]
fn ladder_goes_down_one_rung_per_no() {
    let mut machine = asked_for_terms();
    let mut offers = Vec::new();
    for _ in 0..5 {
        offers.extend(names(&machine.on(heard(Intent::Deny))));
    }
    assert_eq!(
        offers,
        [
            "say:offer_short_plan",
            "say:offer_settlement",
            "say:offer_settlement_plan",
            "say:offer_long_plan",
            "say:hardship_offer"
        ]
    );
    assert_eq!(step(&mut machine, heard(Intent::Deny)), ["say:refused_goodbye", "dispose:refused_to_pay", "hangup"]);
}

#[test]
fn ladder_offers_are_worded() {
    let mut machine = asked_for_terms();
    let said: Vec<String> = (0..4).flat_map(|_| texts(&machine.on(heard(Intent::Deny)))).collect();
    assert_eq!(
        said,
        [
            "También puede pagar el total en tres pagos de mil quinientos pesos, el miércoles 9 de diciembre, el viernes 8 de enero de 2027 y el domingo 7 de febrero de 2027. ¿Le parece bien?",
            "Puedo ofrecerle un descuento: si paga cuatro mil doscientos setenta y cinco pesos a más tardar el jueves 17 de diciembre, queda saldado su saldo de cuatro mil quinientos pesos. ¿Puede hacerlo?",
            "También puede saldarlo con cuatro mil doscientos setenta y cinco pesos, en tres pagos de mil cuatrocientos veinticinco pesos, el miércoles 9 de diciembre, el viernes 8 de enero de 2027 y el domingo 7 de febrero de 2027. ¿Le parece bien?",
            "Puede pagar el total en un plan más largo: seis pagos de setecientos cincuenta pesos, el miércoles 9 de diciembre, el viernes 8 de enero de 2027, el domingo 7 de febrero de 2027, el martes 9 de marzo de 2027, el jueves 8 de abril de 2027 y el sábado 8 de mayo de 2027. ¿Le parece bien?",
        ]
    );
}

#[test]
fn early_stage_offers_no_discount() {
    let mut machine = verified_from(machine_where(|account| account.debt.days_past_due = 10));
    machine.on(heard(Intent::Deny));
    let offers: Vec<String> = (0..3).flat_map(|_| names(&machine.on(heard(Intent::Deny)))).collect();
    assert_eq!(offers, ["say:offer_short_plan", "say:offer_long_plan", "say:hardship_offer"]);
}

#[test]
fn settlement_accepted_asks_the_day() {
    let mut machine = asked_for_terms();
    machine.on(heard(Intent::Deny));
    machine.on(heard(Intent::Deny));
    assert_eq!(step(&mut machine, heard(Intent::Affirm)), ["say:ask_date"]);
    machine.on(with_date(Intent::Unknown, date(12, 10)));
    let promise = stored_promise(&machine.on(heard(Intent::Affirm))).expect("promise");
    assert_eq!(promise.amount, pesos_money(4_275));
    assert_eq!(promise.due_date, date(12, 10));
}

#[test]
fn declined_counter_plan_is_fitted_lower() {
    let mut machine = asked_for_terms();
    machine.on(offer(pesos(2_000), Some(date(12, 4))));
    assert_eq!(step(&mut machine, heard(Intent::Deny)), ["say:offer_counter"]);
    machine.on(heard(Intent::Affirm));
    let promise = stored_promise(&machine.on(heard(Intent::Affirm))).expect("promise");
    assert_eq!(promise.amount, pesos_money(4_275));
    assert_eq!(
        promise.installments,
        [part(2_000, date(12, 4)), part(1_137, next_year(1, 3)), part(1_138, next_year(2, 2))]
    );
}

#[test]
fn correction_at_read_back_reads_back_again() {
    let mut machine = verified();
    machine.on(offer(Some(AmountMention::FullBalance), Some(date(12, 4))));
    assert_eq!(step(&mut machine, offer(None, Some(date(12, 7)))), ["say:read_back"]);
    let promise = stored_promise(&machine.on(heard(Intent::Affirm))).expect("promise");
    assert_eq!(promise.due_date, date(12, 7));
}

#[test]
fn deny_at_read_back_asks_for_terms() {
    let mut machine = verified();
    machine.on(offer(Some(AmountMention::FullBalance), Some(date(12, 4))));
    assert_eq!(step(&mut machine, heard(Intent::Deny)), ["say:ask_payment"]);
}

#[test]
fn promise_is_stored_before_it_is_confirmed() {
    let mut machine = verified();
    machine.on(offer(Some(AmountMention::FullBalance), Some(date(12, 4))));
    let actions = machine.on(heard(Intent::Affirm));
    assert_eq!(names(&actions), ["store_promise"]);
    assert_eq!(machine.state(), "storing_promise");
    assert!(machine.on(heard(Intent::Affirm)).is_empty(), "nothing is said while the store writes");
    let confirmed = machine.on(Event::PromiseStored { ok: true });
    assert_eq!(
        texts(&confirmed),
        [
            "Listo. Quedó registrado su compromiso de pagar cuatro mil quinientos pesos el viernes 4 de diciembre. Gracias.",
            "Gracias por su tiempo. Hasta luego."
        ]
    );
}

#[test]
fn failed_promise_store_is_not_confirmed() {
    let mut machine = verified();
    machine.on(offer(Some(AmountMention::FullBalance), Some(date(12, 4))));
    machine.on(heard(Intent::Affirm));
    assert_eq!(
        step(&mut machine, Event::PromiseStored { ok: false }),
        ["say:promise_store_failed", "dispose:store_failed", "hangup"]
    );
}

#[test]
fn balance_question_is_answered() {
    let mut machine = verified();
    let actions = machine.on(heard(Intent::AskAmount));
    assert_eq!(names(&actions), ["say:state_balance", "say:offer_full_payment"]);
    assert_eq!(
        texts(&actions)[0],
        "Su saldo pendiente con Financiera Aurora es de cuatro mil quinientos pesos, con 45 días de atraso."
    );
}

#[test]
fn keypad_two_at_offer_declines() {
    let mut machine = verified();
    assert_eq!(step(&mut machine, Event::Digits("2".into())), ["say:ask_payment"]);
}

#[test]
fn yes_naming_the_first_payment_takes_the_plan() {
    let mut machine = asked_for_terms();
    assert_eq!(step(&mut machine, offer(pesos(2_000), Some(date(12, 4)))), ["say:offer_counter"]);
    let yes = Interpretation { amount: pesos(2_000), ..Interpretation::intent(Intent::Affirm) };
    assert_eq!(step(&mut machine, Event::Heard { text: String::new(), interpretation: yes }), ["say:read_back_plan"]);
}
