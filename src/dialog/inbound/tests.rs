use chrono::NaiveTime;

use super::*;
use crate::collections::model::{Account, Debt, DebtId, Debtor, DebtorId, Money};
use crate::dialog::{CallContext, Jurisdiction, PolicyBook};

/// Wednesday.
fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 2).unwrap()
}

fn account() -> Account {
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
            account_ref: "TC-100001".into(),
            balance: Money::from_major(4_500, Currency::Mxn),
            days_past_due: 45,
        },
    }
}

/// Builds the dialog of a call the debtor placed, matched as `matched` says, at 11:00 on
/// [`today`].
fn answering(matched: CallerMatch) -> Machine {
    let account = account();
    let jurisdiction = Jurisdiction::embedded(&account.debtor.country).expect("jurisdiction");
    let script = Script::embedded(&account.debtor.locale).expect("script");
    let ctx = CallContext::with(
        account,
        today(),
        NaiveTime::from_hms_opt(11, 0, 0).unwrap(),
        "Cobranzas del Centro",
        "Sofía",
        DialogSettings::default(),
        &PolicyBook::embedded().expect("policy"),
        jurisdiction,
    )
    .expect("context");
    Machine::answering(ctx, script, matched)
}

fn identification() -> Identification {
    Identification::new(
        Script::embedded("es-MX").expect("script"),
        "MX",
        "Cobranzas del Centro",
        "Sofía",
        "+52 55 5010 0000",
        DialogSettings::default(),
        today(),
    )
}

fn heard(intent: Intent) -> Event {
    Event::Heard { text: String::new(), interpretation: Interpretation::intent(intent) }
}

fn spoken_digits(digits: &str) -> Event {
    let interpretation = Interpretation { digits: Some(digits.to_string()), ..Interpretation::intent(Intent::Unknown) };
    Event::Heard { text: digits.to_string(), interpretation }
}

fn names(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .map(|action| match action {
            Action::Say(utterance) => format!("say:{}", utterance.key),
            Action::FindAccount { digits } => format!("find_account:{digits}"),
            Action::RightPartyVerified => "right_party_verified".to_string(),
            Action::Dispose(disposition) => format!("dispose:{disposition}"),
            Action::Hangup => "hangup".to_string(),
            other => format!("{other:?}"),
        })
        .collect()
}

fn texts(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|action| match action {
            Action::Say(utterance) => Some(utterance.text.clone()),
            _ => None,
        })
        .collect()
}

fn step(identification: &mut Identification, event: Event) -> Vec<String> {
    names(&identification.on(event))
}

/// The names, creditor and amounts of [`account`], none of which a caller who is not identified
/// may hear.
const PRIVATE_WORDS: [&str; 6] = ["María", "López", "Financiera", "Aurora", "4500", "cuatro mil"];

fn assert_reveals_nothing(texts: &[String]) {
    for text in texts {
        for word in PRIVATE_WORDS {
            assert!(!text.contains(word), "'{text}' says '{word}'");
        }
    }
}

#[test]
fn unidentified_greeting_then_account_question() {
    let mut identification = identification();
    let actions = identification.on(Event::CallStarted);
    assert_eq!(names(&actions), ["say:unidentified_greeting", "say:ask_account_reference"]);
    assert_eq!(
        texts(&actions),
        [
            "Gracias por comunicarse con Cobranzas del Centro. Le atiende Sofía, asistente virtual. Esta llamada es \
             grabada.",
            "Para ayudarle, dígame su número de cuenta, o márquelo en el teclado y termine con la tecla numeral.",
        ]
    );
    let Action::Say(greeting) = &actions[0] else { panic!("{actions:?}") };
    assert!(greeting.protected);
    assert!(!greeting.expects_reply);
    let Action::Say(question) = &actions[1] else { panic!("{actions:?}") };
    assert!(question.expects_reply);
    assert_eq!(identification.expecting(), Expecting::VerificationDigits);
    assert_eq!(identification.state(), "asking_account_reference");
}

#[test]
fn keyed_reference_is_looked_up() {
    let mut identification = identification();
    identification.on(Event::CallStarted);
    assert_eq!(step(&mut identification, Event::Digits("100001".into())), ["find_account:100001"]);
    assert_eq!(identification.state(), "looking_up_account");
    // Nothing is said or heard while the lookup is out.
    assert_eq!(step(&mut identification, Event::Silence), Vec::<String>::new());
    assert_eq!(step(&mut identification, Event::Digits("5".into())), Vec::<String>::new());
}

#[test]
fn spoken_reference_is_looked_up() {
    let mut identification = identification();
    identification.on(Event::CallStarted);
    assert_eq!(step(&mut identification, spoken_digits("100001")), ["find_account:100001"]);
}

#[test]
fn two_misses_end_with_safe_script() {
    let mut identification = identification();
    identification.on(Event::CallStarted);
    identification.on(Event::Digits("999".into()));
    assert_eq!(step(&mut identification, Event::AccountNotFound), ["say:account_reference_retry"]);
    assert_eq!(identification.state(), "asking_account_reference");
    assert_eq!(step(&mut identification, Event::Digits("998".into())), ["find_account:998"]);
    let actions = identification.on(Event::AccountNotFound);
    assert_eq!(names(&actions), ["say:unidentified_goodbye", "dispose:unidentified_caller", "hangup"]);
    assert_eq!(
        texts(&actions),
        ["No pude encontrar su cuenta. Para recibir ayuda, comuníquese con Cobranzas del Centro al cinco dos, \
          cinco cinco, cinco cero uno cero, cero cero cero cero. Gracias por llamar. Hasta luego."]
    );
    assert_eq!(identification.disposition(), Some(Disposition::UnidentifiedCaller));
    assert_eq!(identification.on(Event::Digits("100001".into())), Vec::new());
}

#[test]
fn silence_reprompts_then_safe_script() {
    let mut identification = identification();
    identification.on(Event::CallStarted);
    assert_eq!(step(&mut identification, Event::Silence), ["say:reprompt", "say:ask_account_reference"]);
    assert_eq!(step(&mut identification, Event::Silence), ["say:reprompt", "say:ask_account_reference"]);
    assert_eq!(
        step(&mut identification, Event::Silence),
        ["say:unidentified_goodbye", "dispose:unidentified_caller", "hangup"]
    );
}

#[test]
fn declining_twice_ends_with_safe_script() {
    let mut identification = identification();
    identification.on(Event::CallStarted);
    assert_eq!(step(&mut identification, heard(Intent::Deny)), ["say:ask_account_reference"]);
    assert_eq!(
        step(&mut identification, heard(Intent::Deny)),
        ["say:unidentified_goodbye", "dispose:unidentified_caller", "hangup"]
    );
}

#[test]
fn unclear_answers_end_with_safe_script() {
    let mut identification = identification();
    identification.on(Event::CallStarted);
    for _ in 0..2 {
        assert_eq!(
            step(&mut identification, heard(Intent::Unknown)),
            ["say:not_understood", "say:ask_account_reference"]
        );
    }
    assert_eq!(
        step(&mut identification, heard(Intent::Unknown)),
        ["say:unidentified_goodbye", "dispose:unidentified_caller", "hangup"]
    );
}

#[test]
fn person_request_gets_the_agency_number() {
    let mut identification = identification();
    identification.on(Event::CallStarted);
    assert_eq!(
        step(&mut identification, heard(Intent::AskHuman)),
        ["say:unidentified_goodbye", "dispose:unidentified_caller", "hangup"]
    );
}

#[test]
fn hang_up_while_asking_is_hung_up() {
    let mut identification = identification();
    identification.on(Event::CallStarted);
    assert_eq!(step(&mut identification, Event::CallerHungUp), ["dispose:hung_up"]);
    assert_eq!(identification.disposition(), Some(Disposition::HungUp));
}

#[test]
fn cut_greeting_owes_the_notice() {
    let mut identification = identification();
    identification.on(Event::CallStarted);
    let cut = Event::PlaybackCut { key: "unidentified_greeting".into(), heard_text: "Gracias".into() };
    assert_eq!(step(&mut identification, cut), Vec::<String>::new());
    assert_eq!(
        step(&mut identification, heard(Intent::Unknown)),
        ["say:disclosure", "say:not_understood", "say:ask_account_reference"]
    );
}

#[test]
fn english_caller_hears_english() {
    let mut identification = identification();
    identification.on(Event::CallStarted);
    let english = Interpretation { language: Some(Language::En), ..Interpretation::intent(Intent::Unknown) };
    let actions = identification.on(Event::Heard { text: "Hello?".into(), interpretation: english });
    assert_eq!(
        texts(&actions)[1],
        "To help you, please say your account number, or enter it on your keypad followed by the pound key."
    );
    assert_eq!(identification.language(), Language::En);
}

#[test]
fn identification_reveals_nothing() {
    let mut identification = identification();
    let mut said = texts(&identification.on(Event::CallStarted));
    for event in [heard(Intent::Greeting), heard(Intent::Unknown), Event::Silence, Event::Digits("1".into())] {
        said.extend(texts(&identification.on(event)));
    }
    said.extend(texts(&identification.on(Event::AccountNotFound)));
    said.extend(texts(&identification.on(heard(Intent::Deny))));
    assert_reveals_nothing(&said);
}

#[test]
fn known_number_greets_without_calling() {
    let mut machine = answering(CallerMatch::Phone);
    let actions = machine.on(Event::CallStarted);
    assert_eq!(names(&actions), ["say:inbound_greeting"]);
    assert_eq!(
        texts(&actions),
        ["Gracias por comunicarse con Cobranzas del Centro. Le atiende Sofía, asistente virtual. Esta llamada es \
          grabada. ¿Hablo con María López Pérez?"]
    );
    assert_eq!(machine.expecting(), Expecting::Identity);
}

#[test]
fn known_number_verifies_before_the_debt() {
    let mut machine = answering(CallerMatch::Phone);
    machine.on(Event::CallStarted);
    assert_eq!(names(&machine.on(heard(Intent::AskAmount))), ["say:verify_first", "say:ask_identity"]);
    assert_eq!(names(&machine.on(heard(Intent::Affirm))), ["say:verify_identity"]);
    let actions = machine.on(Event::Digits("1234".into()));
    assert_eq!(
        names(&actions),
        ["right_party_verified", "say:state_debt_inbound", "say:payments_only_to_creditor", "say:offer_full_payment"]
    );
    assert_eq!(
        texts(&actions)[0],
        "Gracias, María. Le atiendo en nombre de Financiera Aurora por su tarjeta de crédito. Tiene un adeudo de \
         cuatro mil quinientos pesos, con 45 días de atraso."
    );
}

#[test]
fn reference_match_asks_verification_first() {
    let mut machine = answering(CallerMatch::AccountReference);
    let actions = machine.on(Event::CallStarted);
    assert_eq!(names(&actions), ["say:verify_identity"]);
    assert_reveals_nothing(&texts(&actions));
    assert_eq!(machine.expecting(), Expecting::VerificationDigits);
    assert_eq!(machine.on(Event::Digits("1234".into()))[0], Action::RightPartyVerified);
}

#[test]
fn reference_match_failing_verification_reveals_nothing() {
    let mut machine = answering(CallerMatch::AccountReference);
    let mut said = texts(&machine.on(Event::CallStarted));
    let retry = machine.on(Event::Digits("0000".into()));
    assert_eq!(names(&retry), ["say:verification_retry"]);
    said.extend(texts(&retry));
    let failed = machine.on(Event::Digits("1111".into()));
    assert_eq!(names(&failed), ["say:verification_failed_goodbye", "dispose:verification_failed", "hangup"]);
    said.extend(texts(&failed));
    assert_reveals_nothing(&said);
}

#[test]
fn reference_match_third_party_never_hears_the_name() {
    let mut machine = answering(CallerMatch::AccountReference);
    machine.on(Event::CallStarted);
    let actions = machine.on(heard(Intent::WrongPerson));
    assert_eq!(names(&actions), ["say:third_party_goodbye", "dispose:third_party", "hangup"]);
    assert_reveals_nothing(&texts(&actions));
}

#[test]
fn conversation_hands_over_to_the_debt() {
    let mut conversation = Conversation::Identifying(Box::new(identification()));
    conversation.on(Event::CallStarted);
    assert_eq!(names(&conversation.on(Event::Digits("100001".into()))), ["find_account:100001"]);
    conversation.identified(answering(CallerMatch::AccountReference));
    assert_eq!(conversation.state(), "not_started");
    assert_eq!(names(&conversation.on(Event::CallStarted)), ["say:verify_identity"]);
    assert_eq!(conversation.state(), "verifying");
    assert_eq!(conversation.disposition(), None);
}
