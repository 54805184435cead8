mod callbacks;
mod degraded;
mod negotiation;
mod outcomes;
mod properties;
mod verification;

use chrono::{NaiveDate, NaiveTime, TimeZone, Utc};

use super::*;
use crate::collections::model::{Account, Currency, Debt, DebtId, Debtor, DebtorId, Promise};
use crate::dialog::{AmountMention, DialogSettings, Jurisdiction, PolicyBook};

/// Wednesday.
fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 2).unwrap()
}

fn date(m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, m, d).unwrap()
}

fn next_year(m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2027, m, d).unwrap()
}

fn pesos_money(major: i64) -> Money {
    Money::from_major(major, Currency::Mxn)
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
            account_ref: "TC-0001".into(),
            balance: pesos_money(4_500),
            days_past_due: 45,
        },
    }
}

/// Builds a machine for `account` at 11:00 on [`today`], with the embedded policy and the
/// account country's rules.
fn machine_for(account: Account) -> Machine {
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
    Machine::new(ctx, script)
}

/// A Mexican debtor owing 4,500 MXN, 45 days past due: the `mid` stage (5% offered, 10% at
/// most, 3 short installments, 6 at most, 30 days apart, minimum 720 MXN, first payment in 7
/// days, latest 15 days).
fn machine() -> Machine {
    machine_for(account())
}

fn machine_where(change: impl FnOnce(&mut Account)) -> Machine {
    let mut account = account();
    change(&mut account);
    machine_for(account)
}

fn heard(intent: Intent) -> Event {
    Event::Heard { text: String::new(), interpretation: Interpretation::intent(intent) }
}

fn heard_text(intent: Intent, text: &str) -> Event {
    Event::Heard { text: text.to_string(), interpretation: Interpretation::intent(intent) }
}

fn with_date(intent: Intent, date: NaiveDate) -> Event {
    let interpretation = Interpretation { date: Some(date), ..Interpretation::intent(intent) };
    Event::Heard { text: String::new(), interpretation }
}

fn offer(amount: Option<AmountMention>, date: Option<NaiveDate>) -> Event {
    let interpretation = Interpretation { amount, date, ..Interpretation::intent(Intent::PromiseToPay) };
    Event::Heard { text: String::new(), interpretation }
}

fn pesos(major: i64) -> Option<AmountMention> {
    Some(AmountMention::Exact(pesos_money(major)))
}

fn spoken_digits(digits: &str) -> Event {
    let interpretation = Interpretation { digits: Some(digits.to_string()), ..Interpretation::intent(Intent::Unknown) };
    Event::Heard { text: digits.to_string(), interpretation }
}

/// Names the actions briefly: `say:greeting`, `store_promise`, `dispose:wrong_number`, `hangup`.
fn names(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .map(|action| match action {
            Action::Say(utterance) => format!("say:{}", utterance.key),
            Action::StorePromise(_) => "store_promise".to_string(),
            Action::StorePaymentClaim(_) => "store_payment_claim".to_string(),
            Action::StoreCallback { .. } => "store_callback".to_string(),
            Action::StoreOptOut { channel } => format!("store_opt_out:{channel}"),
            Action::StoreDispute => "store_dispute".to_string(),
            Action::StoreHardship { person_callback } => format!("store_hardship:{person_callback}"),
            Action::Transfer { to } => format!("transfer:{to}"),
            Action::FindAccount { digits } => format!("find_account:{digits}"),
            Action::RightPartyVerified => "right_party_verified".to_string(),
            Action::Dispose(disposition) => format!("dispose:{disposition}"),
            Action::Hangup => "hangup".to_string(),
        })
        .collect()
}

fn step(machine: &mut Machine, event: Event) -> Vec<String> {
    names(&machine.on(event))
}

/// Returns the text of each phrase among `actions`.
fn texts(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|action| match action {
            Action::Say(utterance) => Some(utterance.text.clone()),
            _ => None,
        })
        .collect()
}

fn stored_promise(actions: &[Action]) -> Option<Promise> {
    actions.iter().find_map(|action| match action {
        Action::StorePromise(promise) => Some(promise.clone()),
        _ => None,
    })
}

/// The phrases a Mexican debtor hears right after verification.
const VERIFIED: [&str; 4] =
    ["right_party_verified", "say:state_debt", "say:payments_only_to_creditor", "say:offer_full_payment"];

/// Builds a machine that has verified the debtor and proposed the full balance.
fn verified() -> Machine {
    verified_from(machine())
}

fn verified_from(mut machine: Machine) -> Machine {
    machine.on(Event::CallStarted);
    machine.on(heard(Intent::Affirm));
    machine.on(Event::Digits("1234".into()));
    assert_eq!(machine.state(), "offering");
    machine
}

/// Builds a verified machine that declined the anchor and was asked for its own terms.
fn asked_for_terms() -> Machine {
    let mut machine = verified();
    assert_eq!(step(&mut machine, heard(Intent::Deny)), ["say:ask_payment"]);
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
    assert!(greeting.protected);
    assert_eq!(machine.expecting(), Expecting::Identity);
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
    assert_eq!(
        step(&mut machine, Event::Silence),
        ["say:no_response_goodbye", "dispose:right_party_no_commitment", "hangup"]
    );
}

#[test]
fn ask_repeat_is_not_a_failure() {
    let mut machine = verified();
    for _ in 0..4 {
        assert_eq!(step(&mut machine, heard(Intent::AskRepeat)), ["say:offer_full_payment"]);
    }
    assert_eq!(step(&mut machine, heard(Intent::Unknown)), ["say:not_understood", "say:offer_full_payment"]);
}

#[test]
fn unknown_answers_end_politely_before_verification() {
    let mut machine = machine();
    machine.on(Event::CallStarted);
    assert_eq!(step(&mut machine, heard(Intent::Unknown)), ["say:not_understood", "say:ask_identity"]);
    assert_eq!(step(&mut machine, heard(Intent::Unknown)), ["say:not_understood", "say:ask_identity"]);
    assert_eq!(step(&mut machine, heard(Intent::Unknown)), ["say:goodbye", "dispose:not_understood", "hangup"]);
}

#[test]
fn caller_hang_up_disposes_once() {
    let mut machine = verified();
    assert_eq!(step(&mut machine, Event::CallerHungUp), ["dispose:hung_up"]);
    assert!(machine.on(Event::CallerHungUp).is_empty());
    assert_eq!(machine.disposition(), Some(Disposition::HungUp));
}

#[test]
fn nothing_after_hangup() {
    let mut machine = machine();
    machine.on(Event::CallStarted);
    machine.on(heard(Intent::Abusive));
    for event in [Event::Silence, heard(Intent::Affirm), Event::Digits("1".into()), Event::CallerHungUp] {
        assert!(machine.on(event).is_empty());
    }
}

#[test]
fn abusive_caller_ends_politely() {
    let mut machine = machine();
    machine.on(Event::CallStarted);
    let actions = machine.on(heard(Intent::Abusive));
    assert_eq!(names(&actions), ["say:abusive_goodbye", "dispose:abusive", "hangup"]);
    assert_eq!(
        texts(&actions),
        ["Voy a terminar esta llamada. Si quiere retomarla, puede comunicarse con Cobranzas del Centro. Hasta luego."]
    );
}

#[test]
fn goodbye_before_verification_is_hang_up() {
    let mut machine = machine();
    step(&mut machine, Event::CallStarted);
    assert_eq!(step(&mut machine, heard(Intent::Goodbye)), ["say:goodbye", "dispose:hung_up", "hangup"]);
}

#[test]
fn goodbye_after_verification_is_no_commitment() {
    let mut machine = verified();
    assert_eq!(
        step(&mut machine, heard(Intent::Goodbye)),
        ["say:goodbye", "dispose:right_party_no_commitment", "hangup"]
    );
}

#[test]
fn english_caller_switches_language() {
    let mut machine = machine();
    machine.on(Event::CallStarted);
    let interpretation = Interpretation { language: Some(Language::En), ..Interpretation::intent(Intent::Affirm) };
    let actions = machine.on(Event::Heard { text: "yes it's me".into(), interpretation });
    assert_eq!(machine.language(), Language::En);
    assert_eq!(
        texts(&actions),
        ["Thank you. To protect your privacy, please say the last four digits of your official ID, your INE, or enter them on your keypad."]
    );
}

#[test]
fn state_names_follow_the_call() {
    let mut machine = machine();
    assert_eq!(machine.state(), "not_started");
    machine.on(Event::CallStarted);
    assert_eq!(machine.state(), "confirming_identity");
    machine.on(heard(Intent::Affirm));
    assert_eq!(machine.state(), "verifying");
    machine.on(Event::Digits("1234".into()));
    assert_eq!(machine.state(), "offering");
    machine.on(heard(Intent::Affirm));
    assert_eq!(machine.state(), "asking_offer_date");
    machine.on(with_date(Intent::Unknown, date(12, 4)));
    assert_eq!(machine.state(), "reading_back");
    machine.on(heard(Intent::Affirm));
    assert_eq!(machine.state(), "storing_promise");
    machine.on(Event::PromiseStored { ok: true });
    assert_eq!(machine.state(), "ended");
}

#[test]
fn cut_greeting_is_repeated_before_next_phrase() {
    let mut machine = machine();
    machine.on(Event::CallStarted);
    machine.on(Event::PlaybackCut { key: "greeting".into(), heard_text: "Hola".into() });
    assert_eq!(step(&mut machine, heard(Intent::Affirm)), ["say:disclosure", "say:verify_identity"]);
}

#[test]
fn yes_to_cut_read_back_reads_again() {
    let mut machine = verified();
    machine.on(offer(Some(AmountMention::FullBalance), Some(date(12, 4))));
    machine.on(Event::PlaybackCut { key: "read_back".into(), heard_text: "Entonces".into() });
    assert_eq!(step(&mut machine, heard(Intent::Affirm)), ["say:read_back"]);
    assert_eq!(step(&mut machine, heard(Intent::Affirm)), ["store_promise"]);
}

#[test]
fn us_debtor_hears_debt_collector_notice() {
    let mut machine = machine_where(|account| {
        account.debtor.country = "US".into();
        account.debtor.locale = "en-US".into();
        account.debtor.time_zone = chrono_tz::America::New_York;
        account.debt.balance = Money::from_major(4_500, Currency::Usd);
    });
    machine.on(Event::CallStarted);
    machine.on(heard(Intent::Affirm));
    let actions = machine.on(Event::Digits("1234".into()));
    assert_eq!(
        names(&actions),
        ["right_party_verified", "say:debt_collector_notice", "say:state_debt", "say:offer_full_payment"]
    );
    let Action::Say(notice) = &actions[1] else { panic!("{actions:?}") };
    assert!(notice.protected);
    assert_eq!(
        notice.text,
        "This is a debt collector attempting to collect a debt, and any information obtained will be used for that purpose."
    );
}

#[test]
fn mexico_says_payments_go_only_to_creditor() {
    let mut machine = machine();
    machine.on(Event::CallStarted);
    machine.on(heard(Intent::Affirm));
    let actions = machine.on(Event::Digits("1234".into()));
    assert_eq!(names(&actions), VERIFIED);
    assert_eq!(
        texts(&actions)[1],
        "Le recuerdo que los pagos se hacen solo a Financiera Aurora, por sus canales oficiales; Cobranzas del Centro no recibe pagos."
    );
}

#[test]
fn colombia_never_asks_why() {
    let mut machine = machine_where(|account| {
        account.debtor.country = "CO".into();
        account.debtor.locale = "es-CO".into();
        account.debtor.time_zone = chrono_tz::America::Bogota;
        account.debt.balance = Money::from_major(1_850_000, Currency::Cop);
    });
    let mut said = texts(&machine.on(Event::CallStarted));
    for event in [
        heard(Intent::Affirm),
        Event::Digits("1234".into()),
        heard(Intent::CannotPay),
        heard(Intent::CannotPay),
        heard(Intent::Deny),
        heard(Intent::Hardship),
        heard(Intent::Affirm),
        Event::OutcomeStored { ok: true },
    ] {
        said.extend(texts(&machine.on(event)));
    }
    assert_eq!(machine.disposition(), Some(Disposition::Hardship));
    for phrase in &said {
        let lower = phrase.to_lowercase();
        assert!(!lower.contains("por qué") && !lower.contains("motivo") && !lower.contains("razón"), "{phrase}");
    }
    let script = Script::embedded("es-CO").expect("es-CO");
    let values = PromptValues::default();
    for prompt in Prompt::ALL {
        assert!(!script.render(prompt, &values).to_lowercase().contains("por qué"), "{prompt}");
    }
}

#[test]
fn max_duration_closes_with_a_line() {
    let mut machine = verified();
    let actions = machine.on(Event::MaxDurationReached);
    assert_eq!(names(&actions), ["say:time_limit_goodbye", "dispose:right_party_no_commitment", "hangup"]);
}

#[test]
fn max_duration_while_storing_waits_for_result() {
    let mut machine = verified();
    machine.on(offer(Some(AmountMention::FullBalance), Some(date(12, 4))));
    machine.on(heard(Intent::Affirm));
    assert!(machine.on(Event::MaxDurationReached).is_empty());
    assert_eq!(
        step(&mut machine, Event::PromiseStored { ok: true }),
        ["say:promise_confirmed", "say:goodbye", "dispose:promise_to_pay", "hangup"]
    );
}

#[test]
fn hang_up_while_storing_waits_for_the_result() {
    let mut machine = verified();
    machine.on(offer(Some(AmountMention::FullBalance), Some(date(12, 4))));
    machine.on(heard(Intent::Affirm));
    assert!(machine.on(Event::CallerHungUp).is_empty());
    assert_eq!(step(&mut machine, Event::PromiseStored { ok: true }), ["dispose:promise_to_pay"]);
}

/// Converts a local Mexico City time to UTC.
fn mexico_city(date: NaiveDate, hour: u32) -> chrono::DateTime<Utc> {
    chrono_tz::America::Mexico_City
        .from_local_datetime(&date.and_hms_opt(hour, 0, 0).unwrap())
        .unwrap()
        .with_timezone(&Utc)
}
