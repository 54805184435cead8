//! Calls nobody dialled, placed through the real server by the carrier simulator: a signed voice
//! webhook with `Direction=inbound` and no attempt, the signed media WebSocket, espeak-ng on both
//! sides. Speech-to-text is scripted, since what is tested is who the bot lets in and what it says
//! before it knows who is calling, not how well it hears. A last test sends the webhook of a
//! withheld number alone.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};

use cobranza::call::CallEvent;
use cobranza::clock::Clock;
use cobranza::collections::import::parse_portfolio_bytes;
use cobranza::collections::model::{Currency, Disposition, Speaker, TranscriptLine};
use cobranza::collections::sqlite::SqliteStore;
use cobranza::collections::{Attempt, Direction, InboundCallId, InboundStore, Store};
use cobranza::config::Config;
use cobranza::demo::{EmbeddedServer, SAMPLE_PORTFOLIO, SAMPLE_PORTFOLIO_NAME};
use cobranza::dialog::Language;
use cobranza::telephony::simulator::persona::{Persona, Reply};
use cobranza::telephony::simulator::{self, SimulationReport};
use cobranza::telephony::twilio::{signature, twiml};

mod support;
use support::ScriptedStt;

/// Debtor MX-0001's number in the sample portfolio.
const KNOWN_NUMBER: &str = "+525550100001";
/// A number no debtor of the sample portfolio has.
const UNKNOWN_NUMBER: &str = "+15005550199";

/// Wednesday 2 December 2026, 10:00 in Mexico City.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 2, 16, 0, 0).single().expect("valid instant")
}

fn say(text: &str) -> Reply {
    Reply::Say(text.to_string())
}

fn persona(replies: Vec<(&'static str, Reply)>) -> Persona {
    Persona { name: "inbound_caller", language: Language::Es, replies, rephrasings: Vec::new(), intended_promise: None }
}

/// What one inbound call left in the store.
struct Finished {
    store: Arc<SqliteStore>,
    report: SimulationReport,
    /// The attempt the call created, if the caller was identified.
    attempt: Option<Attempt>,
    _dir: tempfile::TempDir,
}

/// Places one inbound call from `from`, played by `persona`, with `heard` as what speech-to-text
/// returns for the persona's spoken turns, in order.
async fn inbound_call(from: &str, persona: Persona, heard: &[&str]) -> Finished {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(SqliteStore::open(&dir.path().join("cobranza.db")).await.expect("store opens"));
    let portfolio = parse_portfolio_bytes(SAMPLE_PORTFOLIO_NAME, SAMPLE_PORTFOLIO).expect("fixture parses");
    store.import_portfolio(&portfolio.rows).await.expect("fixture imports");

    let turns: VecDeque<String> = heard.iter().map(|line| line.to_string()).collect();
    let stt = ScriptedStt { turns: Arc::new(Mutex::new(turns)) };
    let config = Arc::new(Config::embedded());
    let server = EmbeddedServer::start(
        store.clone(),
        Arc::new(stt),
        config.clone(),
        Clock::starting_at(now()),
        dir.path().into(),
    )
    .await
    .expect("server starts");

    let mut events = server.bus.subscribe();
    let report =
        simulator::run(server.simulated_inbound_call(from, persona, &config)).await.expect("simulated call runs");
    let attempts = store.attempts_between(now() - Duration::hours(1), now() + Duration::hours(1)).await.expect("read");
    let attempt = attempts
        .into_iter()
        .find(|attempt| attempt.call_sid.as_ref().map(|sid| sid.0.as_str()) == Some(&report.call_sid));
    if let Some(attempt) = &attempt {
        // The outcome is stored before the stream closes; the event makes sure of it.
        loop {
            match events.recv().await.expect("bus open") {
                CallEvent::Ended { attempt_id, .. } if attempt_id == attempt.id => break,
                _ => {}
            }
        }
    }
    server.stop().await;
    let attempt = match attempt {
        Some(attempt) => store.attempt(attempt.id).await.expect("read"),
        None => None,
    };
    Finished { store, report, attempt, _dir: dir }
}

fn bot_lines(transcript: &[TranscriptLine]) -> Vec<&str> {
    transcript.iter().filter(|line| line.speaker == Speaker::Bot).map(|line| line.text.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn known_number_verifies_then_promises() {
    let caller = persona(vec![
        ("inbound_greeting", say("Sí, soy yo.")),
        ("ask_identity", say("Sí, soy yo.")),
        ("verify_identity", Reply::Keys("1234".into())),
        ("offer_full_payment", say("Voy a pagar el total, cuatro mil quinientos pesos, el viernes.")),
        ("read_back", say("Sí, es correcto.")),
    ]);
    let heard = ["Sí, soy yo.", "Voy a pagar el total, cuatro mil quinientos pesos, el viernes.", "Sí, es correcto."];
    let finished = inbound_call(KNOWN_NUMBER, caller, &heard).await;

    let attempt = finished.attempt.expect("the known caller's call has an attempt");
    assert_eq!(attempt.direction, Direction::Inbound);
    assert_eq!(attempt.phone, KNOWN_NUMBER);
    assert_eq!(attempt.disposition, Some(Disposition::PromiseToPay), "heard {:?}", finished.report.heard_prompts);
    assert!(attempt.right_party_contact);
    let promises = finished.store.promises_for_attempt(attempt.id).await.expect("read");
    assert_eq!(promises.len(), 1);
    assert_eq!(promises[0].promise.amount.amount_minor, 450_000);
    assert_eq!(promises[0].promise.amount.currency, Currency::Mxn);
    assert_eq!(promises[0].promise.due_date, NaiveDate::from_ymd_opt(2026, 12, 4).expect("Friday"));

    let heard = &finished.report.heard_prompts;
    assert_eq!(heard.first().map(String::as_str), Some("inbound_greeting"));
    let verified = heard.iter().position(|key| key == "verify_identity").expect("asked to verify");
    let debt = heard.iter().position(|key| key == "state_debt_inbound").expect("stated the debt");
    assert!(verified < debt, "{heard:?}");
    assert!(!heard.iter().any(|key| key == "greeting" || key == "state_debt"), "{heard:?}");

    let transcript = finished.store.transcript(attempt.id).await.expect("read");
    let said = bot_lines(&transcript);
    assert!(said[0].starts_with("Gracias por comunicarse con Servicios Andinos."), "{said:?}");
    assert!(said.iter().any(|line| line.contains("Le atiendo en nombre de Banco Aurora")), "{said:?}");
    assert!(!said.iter().any(|line| line.contains("Le llamo")), "{said:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_number_keys_reference_then_verifies() {
    let caller = persona(vec![
        ("ask_account_reference", Reply::Keys("100001#".into())),
        ("verify_identity", Reply::Keys("1234".into())),
        ("offer_full_payment", say("Estoy ocupado. Llámeme más tarde, por favor.")),
    ]);
    let finished = inbound_call(UNKNOWN_NUMBER, caller, &["Estoy ocupado. Llámeme más tarde, por favor."]).await;

    let heard = &finished.report.heard_prompts;
    assert_eq!(heard[..3], ["unidentified_greeting", "ask_account_reference", "verify_identity"], "{heard:?}");
    let attempt = finished.attempt.expect("the identified caller's call has an attempt");
    assert_eq!(attempt.direction, Direction::Inbound);
    assert_eq!(attempt.phone, UNKNOWN_NUMBER);
    assert_eq!(attempt.debtor_id.0, "MX-0001");
    assert!(attempt.right_party_contact);
    assert_eq!(attempt.disposition, Some(Disposition::CallbackRequested), "heard {heard:?}");

    // The inbound call points to the attempt, which holds the whole call from the greeting on.
    let call = finished.store.inbound_call(InboundCallId(1)).await.expect("read").expect("inbound call stored");
    assert_eq!(call.attempt_id, Some(attempt.id));
    assert_eq!(call.phone.as_deref(), Some(UNKNOWN_NUMBER));
    assert_eq!(call.disposition, None);
    let transcript = finished.store.transcript(attempt.id).await.expect("read");
    assert!(transcript[0].text.starts_with("Gracias por comunicarse con Servicios Andinos."), "{transcript:?}");
    let keyed: Vec<&str> =
        transcript.iter().filter(|line| line.speaker == Speaker::Debtor).map(|line| line.text.as_str()).collect();
    assert_eq!(keyed[..2], ["[DTMF ••••••]", "[DTMF ••••]"], "{transcript:?}");
    // The debtor's name and creditor come only after the identity check.
    let said = bot_lines(&transcript);
    let first_named = said.iter().position(|line| line.contains("Banco Aurora")).expect("debt stated");
    let verification = said.iter().position(|line| line.contains("dígitos")).expect("verification asked");
    assert!(verification < first_named, "{said:?}");
    assert!(!said[..first_named].iter().any(|line| line.contains("María")), "{said:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_caller_without_reference_hears_only_the_agency() {
    let caller = persona(vec![
        ("ask_account_reference", Reply::Keys("999999#".into())),
        ("account_reference_retry", Reply::Keys("999998#".into())),
    ]);
    let finished = inbound_call(UNKNOWN_NUMBER, caller, &[]).await;

    assert_eq!(
        finished.report.heard_prompts,
        ["unidentified_greeting", "ask_account_reference", "account_reference_retry", "unidentified_goodbye"]
    );
    assert!(finished.attempt.is_none());
    let attempts = finished.store.attempts_between(now() - Duration::hours(1), now() + Duration::hours(1)).await;
    assert_eq!(attempts.expect("read"), Vec::new(), "an unidentified call is no attempt");

    let call = finished.store.inbound_call(InboundCallId(1)).await.expect("read").expect("inbound call stored");
    assert_eq!(call.disposition, Some(Disposition::UnidentifiedCaller));
    assert_eq!(call.attempt_id, None);
    assert_eq!(call.phone.as_deref(), Some(UNKNOWN_NUMBER));
    assert!(call.ended_at.is_some());
    let recording = call.recording_path.expect("recording written");
    assert!(recording.ends_with("inbound-call-1.wav"), "{recording}");
    assert!(std::path::Path::new(&recording).exists(), "{recording}");

    let transcript = finished.store.inbound_transcript(call.id).await.expect("read");
    let said = bot_lines(&transcript);
    assert_eq!(said.len(), 4, "{said:?}");
    assert_eq!(
        said[3],
        "No pude encontrar su cuenta. Para recibir ayuda, comuníquese con Servicios Andinos al cinco dos, cinco \
         cinco, cinco cero uno cero, cero cero cero cero. Gracias por llamar. Hasta luego."
    );
    let keyed: Vec<&str> =
        transcript.iter().filter(|line| line.speaker == Speaker::Debtor).map(|line| line.text.as_str()).collect();
    assert_eq!(keyed, ["[DTMF ••••••]", "[DTMF ••••••]"]);

    // No debtor's name, no creditor and no amount of the portfolio reached the caller. Names are
    // matched word by word, except the bot's own name, which two debtors also have.
    let accounts = finished.store.accounts().await.expect("read");
    let bot_name = Config::embedded().agency.bot_name.to_lowercase();
    for line in &transcript {
        let text = line.text.to_lowercase();
        let words: Vec<&str> = text.split(|c: char| !c.is_alphanumeric()).collect();
        for account in &accounts {
            let name = account.debtor.full_name.to_lowercase();
            for part in name.split_whitespace().filter(|part| **part != *bot_name) {
                assert!(!words.contains(&part), "'{}' names {part}", line.text);
            }
            assert!(!text.contains(&account.debt.creditor.to_lowercase()), "'{}' names the creditor", line.text);
        }
        for word in ["pesos", "saldo", "adeudo", "deuda", "$"] {
            assert!(!text.contains(word), "'{}' says '{word}'", line.text);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn withheld_number_is_bridged_unidentified() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(SqliteStore::open(&dir.path().join("cobranza.db")).await.expect("store opens"));
    let portfolio = parse_portfolio_bytes(SAMPLE_PORTFOLIO_NAME, SAMPLE_PORTFOLIO).expect("fixture parses");
    store.import_portfolio(&portfolio.rows).await.expect("fixture imports");
    let stt = ScriptedStt { turns: Arc::new(Mutex::new(VecDeque::new())) };
    let config = Arc::new(Config::embedded());
    let server =
        EmbeddedServer::start(store.clone(), Arc::new(stt), config, Clock::starting_at(now()), dir.path().into())
            .await
            .expect("server starts");

    // Twilio's webhook for a call from a withheld number, as it rings in.
    let url = format!("{}/twilio/voice", server.base_url);
    let params: Vec<(String, String)> = [
        ("CallSid", "CA00000000000000000000000000000009"),
        ("AccountSid", server.twilio.account_sid.as_str()),
        ("CallStatus", "ringing"),
        ("Direction", "inbound"),
        ("From", "anonymous"),
        ("To", "+15005550006"),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_string(), value.to_string()))
    .collect();
    let signed = signature::compute(&server.twilio.auth_token, &url, &params);
    let response = reqwest::Client::new()
        .post(&url)
        .header("x-twilio-signature", signed)
        .form(&params)
        .send()
        .await
        .expect("webhook answered");
    let body = response.text().await.expect("body");
    server.stop().await;

    let target = twiml::parse_stream_target(&body).expect("the call is bridged, not hung up");
    assert_eq!(target.parameters[0], ("inbound_call".to_string(), "1".to_string()));
    assert_eq!(target.parameters[1].0, "token");
    let call = store.inbound_call(InboundCallId(1)).await.expect("read").expect("inbound call stored");
    assert_eq!(call.call_sid.0, "CA00000000000000000000000000000009");
    assert_eq!(call.phone, None);
    assert_eq!(call.attempt_id, None);
    assert!(call.started_at >= now(), "the call starts on the server's clock: {}", call.started_at);
}
