//! What the dialog does when a provider is degraded: speech recognition lost for good, and an
//! LLM interpreter's answers to off-script questions.

use super::*;

fn with_reply(reply: &str) -> Event {
    let interpretation = Interpretation { reply: Some(reply.to_string()), ..Interpretation::intent(Intent::Unknown) };
    Event::Heard { text: "¿y ustedes de dónde sacaron mi número?".into(), interpretation }
}

#[test]
fn lost_speech_offers_keypad_callback() {
    let mut machine = machine();
    machine.on(Event::CallStarted);
    assert_eq!(step(&mut machine, Event::SpeechUnavailable), ["say:speech_unavailable_offer"]);
    assert_eq!(machine.state(), "offering_keypad_callback");
    assert_eq!(step(&mut machine, Event::Digits("1".into())), ["store_callback"]);
    assert_eq!(
        step(&mut machine, Event::OutcomeStored { ok: true }),
        ["say:speech_unavailable_callback_ack", "dispose:speech_unavailable", "hangup"]
    );
}

#[test]
fn keypad_callback_stores_no_time() {
    let mut machine = verified();
    machine.on(Event::SpeechUnavailable);
    let actions = machine.on(Event::Digits("1".into()));
    assert_eq!(actions, [Action::StoreCallback { requested_for: None }]);
}

#[test]
fn key_two_ends_without_callback() {
    let mut machine = verified();
    machine.on(Event::SpeechUnavailable);
    assert_eq!(step(&mut machine, Event::Digits("2".into())), ["say:goodbye", "dispose:speech_unavailable", "hangup"]);
}

#[test]
fn keypad_offer_repeats_then_gives_up() {
    let mut machine = verified();
    machine.on(Event::SpeechUnavailable);
    assert_eq!(step(&mut machine, Event::Digits("7".into())), ["say:speech_unavailable_offer"]);
    assert_eq!(step(&mut machine, Event::Silence), ["say:reprompt", "say:speech_unavailable_offer"]);
    assert_eq!(step(&mut machine, Event::Digits("9".into())), ["say:speech_unavailable_offer"]);
    assert_eq!(step(&mut machine, Event::Digits("0".into())), ["say:goodbye", "dispose:speech_unavailable", "hangup"]);
}

#[test]
fn silence_after_keypad_offer_is_speech_unavailable() {
    let mut machine = machine();
    machine.on(Event::CallStarted);
    machine.on(Event::SpeechUnavailable);
    machine.on(Event::Silence);
    machine.on(Event::Silence);
    assert_eq!(step(&mut machine, Event::Silence), ["say:no_response_goodbye", "dispose:speech_unavailable", "hangup"]);
}

#[test]
fn speech_heard_after_loss_is_ignored() {
    let mut machine = verified();
    machine.on(Event::SpeechUnavailable);
    assert!(machine.on(heard(Intent::Affirm)).is_empty());
    assert!(machine.on(Event::SpeechUnavailable).is_empty(), "offered once");
}

#[test]
fn lost_speech_while_storing_waits_for_result() {
    let mut machine = asked_for_terms();
    machine.on(offer(pesos(4_500), Some(date(12, 4))));
    machine.on(heard(Intent::Affirm));
    assert_eq!(machine.state(), "storing_promise");
    assert!(machine.on(Event::SpeechUnavailable).is_empty());
    assert_eq!(
        step(&mut machine, Event::PromiseStored { ok: true }),
        ["say:promise_confirmed", "say:goodbye", "dispose:promise_to_pay", "hangup"]
    );
}

#[test]
fn off_script_reply_said_before_question() {
    let mut machine = verified();
    let actions = machine.on(with_reply("Su número está en el contrato que firmó con el acreedor."));
    assert_eq!(names(&actions), ["say:off_script_reply", "say:offer_full_payment"]);
    assert_eq!(texts(&actions)[0], "Su número está en el contrato que firmó con el acreedor.");
    let Action::Say(reply) = &actions[0] else { unreachable!() };
    assert!(!reply.expects_reply);
    assert!(!reply.protected);
}

#[test]
fn reply_with_figures_is_dropped() {
    for unsafe_reply in ["Puede pagar 500 pesos.", "Le damos un 10% de descuento.", "Son $4,500."] {
        let mut machine = verified();
        assert_eq!(
            step(&mut machine, with_reply(unsafe_reply)),
            ["say:not_understood", "say:offer_full_payment"],
            "{unsafe_reply}"
        );
    }
}

#[test]
fn long_reply_is_dropped() {
    let mut machine = verified();
    let long = "Entiendo su pregunta. ".repeat(12);
    assert_eq!(step(&mut machine, with_reply(&long)), ["say:not_understood", "say:offer_full_payment"]);
}

#[test]
fn off_script_replies_count_as_clarifications() {
    let mut machine = machine();
    machine.on(Event::CallStarted);
    let reply = "Le llamamos de parte de la agencia.";
    assert_eq!(step(&mut machine, with_reply(reply)), ["say:off_script_reply", "say:ask_identity"]);
    assert_eq!(step(&mut machine, with_reply(reply)), ["say:off_script_reply", "say:ask_identity"]);
    assert_eq!(step(&mut machine, with_reply(reply)), ["say:goodbye", "dispose:not_understood", "hangup"]);
}

#[test]
fn filler_is_a_short_unprotected_phrase() {
    let filler = machine().filler();
    assert_eq!(filler.key, "filler");
    assert_eq!(filler.text, "Un momento, por favor.");
    assert!(!filler.expects_reply);
    assert!(!filler.protected);
}
