//! Callbacks at a time of day the caller named: where they are placed and what the bot says.

use super::*;

/// A caller's callback request with a time of day, and a day when given.
fn with_time(date: Option<NaiveDate>, hour: u32, minute: u32) -> Event {
    let interpretation = Interpretation {
        date,
        time: NaiveTime::from_hms_opt(hour, minute, 0),
        ..Interpretation::intent(Intent::CallbackRequest)
    };
    Event::Heard { text: String::new(), interpretation }
}

fn utc(date: NaiveDate, hour: u32, minute: u32) -> chrono::DateTime<Utc> {
    Utc.from_utc_datetime(&date.and_hms_opt(hour, minute, 0).unwrap())
}

fn colombian_debtor(locale: &'static str) -> Machine {
    machine_where(|account| {
        account.debtor.country = "CO".into();
        account.debtor.locale = locale.into();
        account.debtor.time_zone = chrono_tz::America::Bogota;
        account.debt.balance = Money::from_major(1_850_000, Currency::Cop);
    })
}

#[test]
fn time_on_named_day_is_stored_and_said() {
    let mut machine = machine();
    machine.on(Event::CallStarted);
    let actions = machine.on(with_time(Some(date(12, 5)), 16, 0));
    // Mexico City is UTC-6 in December.
    assert_eq!(actions, [Action::StoreCallback { requested_for: Some(utc(date(12, 5), 22, 0)) }]);
    let ack = machine.on(Event::OutcomeStored { ok: true });
    assert_eq!(names(&ack), ["say:callback_ack_timed", "dispose:callback_requested", "hangup"]);
    assert_eq!(texts(&ack), ["Con gusto. Le llamamos el sábado 5 de diciembre a las cuatro de la tarde. Hasta luego."]);
}

#[test]
fn time_alone_still_ahead_is_today() {
    let mut machine = machine();
    machine.on(Event::CallStarted);
    let actions = machine.on(with_time(None, 17, 0));
    assert_eq!(actions, [Action::StoreCallback { requested_for: Some(utc(today(), 23, 0)) }]);
}

#[test]
fn time_alone_already_past_is_tomorrow() {
    // The call starts at 11:00, so 09:00 today is past.
    let mut machine = machine();
    machine.on(Event::CallStarted);
    let actions = machine.on(with_time(None, 9, 0));
    assert_eq!(actions, [Action::StoreCallback { requested_for: Some(utc(date(12, 3), 15, 0)) }]);
    let ack = machine.on(Event::OutcomeStored { ok: true });
    assert_eq!(texts(&ack), ["Con gusto. Le llamamos el jueves 3 de diciembre a las nueve de la mañana. Hasta luego."]);
}

#[test]
fn noon_and_one_oclock_in_spanish_words() {
    let mut at_noon = machine();
    at_noon.on(Event::CallStarted);
    at_noon.on(with_time(Some(date(12, 4)), 12, 0));
    let ack = at_noon.on(Event::OutcomeStored { ok: true });
    assert_eq!(texts(&ack), ["Con gusto. Le llamamos el viernes 4 de diciembre a las doce del día. Hasta luego."]);

    let mut at_one = machine();
    at_one.on(Event::CallStarted);
    at_one.on(with_time(Some(date(12, 4)), 13, 0));
    let ack = at_one.on(Event::OutcomeStored { ok: true });
    assert_eq!(texts(&ack), ["Con gusto. Le llamamos el viernes 4 de diciembre a la una de la tarde. Hasta luego."]);
}

#[test]
fn time_after_hours_moves_and_says_the_hour() {
    // Colombia allows Saturday calls from 08:00 to 15:00: 17:00 moves to 14:00, the last hour.
    let mut machine = colombian_debtor("es-CO");
    machine.on(Event::CallStarted);
    let actions = machine.on(with_time(Some(date(12, 5)), 17, 0));
    // Bogotá is UTC-5.
    assert_eq!(actions, [Action::StoreCallback { requested_for: Some(utc(date(12, 5), 19, 0)) }]);
    let ack = machine.on(Event::OutcomeStored { ok: true });
    assert_eq!(names(&ack), ["say:callback_moved", "dispose:callback_requested", "hangup"]);
    assert_eq!(
        texts(&ack),
        ["A esa hora no podemos llamarle; le llamamos el sábado 5 de diciembre a las dos de la tarde, que es lo más cercano que se permite. Hasta luego."]
    );
}

#[test]
fn english_time_has_one_period() {
    let mut machine = colombian_debtor("en-US");
    machine.on(Event::CallStarted);
    machine.on(with_time(Some(date(12, 4)), 16, 0));
    let ack = machine.on(Event::OutcomeStored { ok: true });
    assert_eq!(texts(&ack), ["Of course. We'll call you on Friday, December 4 at 4 p.m. Goodbye."]);
}

#[test]
fn third_party_time_is_stored() {
    let mut machine = machine();
    machine.on(Event::CallStarted);
    machine.on(heard(Intent::WrongPerson));
    let actions = machine.on(with_time(Some(date(12, 3)), 18, 30));
    assert_eq!(actions, [Action::StoreCallback { requested_for: Some(utc(date(12, 4), 0, 30)) }]);
    let ack = machine.on(Event::OutcomeStored { ok: true });
    assert_eq!(names(&ack), ["say:third_party_callback_ack", "dispose:third_party", "hangup"]);
    assert_eq!(
        texts(&ack),
        ["Muchas gracias. Volveremos a llamar el jueves 3 de diciembre a las seis y media de la tarde. Hasta luego."]
    );
}
