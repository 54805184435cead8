//! A campaign's calls end to end in one process: the dialer with the production Twilio placer,
//! the Twilio fake on loopback (callbacks delivered out of order), and the real server with
//! instant speech stand-ins over SQLite, all on one clock. Each callee kind (busy, no answer,
//! failed, answering machine, person) is checked from both sides: the store's attempts and
//! targets, and the fake's own call log.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};

use cobranza::bench::speech::{InstantStt, InstantTts};
use cobranza::campaign::dialer::{DialDecision, Dialer, DialerSettings};
use cobranza::campaign::settings::CampaignSettings;
use cobranza::campaign::store::{CampaignStatus, CampaignStore, CarrierReport, StoredTarget, TargetState};
use cobranza::campaign::twilio_placer::TwilioPlacer;
use cobranza::clock::Clock;
use cobranza::collections::history::{PromiseStatus, SettleScope};
use cobranza::collections::import::parse_portfolio_bytes_as_of;
use cobranza::collections::model::{Account, AttemptId, CallSid, Currency, DebtorId, Disposition, Money, Promise};
use cobranza::collections::sqlite::SqliteStore;
use cobranza::collections::{Attempt, HistoryStore, NewAttempt, Store};
use cobranza::config::Config;
use cobranza::demo::EmbeddedServer;
use cobranza::dialog::RuleInterpreter;
use cobranza::policy::ContactPolicy;
use cobranza::providers::Providers;
use cobranza::telephony::simulator::{persona, StreamEnd};
use cobranza::telephony::twilio::rest::TwilioRest;
use cobranza::telephony::twilio::signature;
use cobranza::telephony::twilio::status::CallStatus;
use cobranza::telephony::twilio::webhooks::SIGNATURE_HEADER;
use cobranza::telephony::twilio_fake::{
    CallLogEntry, Callee, CalleeBook, CalleeKind, FakeSettings, PersonaVoices, Reorder, TwilioFake,
};

const CAMPAIGN: &str = "reminders";
const CALLER_ID: &str = "+15005550006";

/// The debtors of the campaign, each with the callee the fake puts at their number.
const DEBTORS: [(&str, &str, CalleeKind); 5] = [
    ("MX-BUSY", "+525550100011", CalleeKind::Busy),
    ("MX-NOANSWER", "+525550100012", CalleeKind::NoAnswer),
    ("MX-FAILED", "+525550100013", CalleeKind::Failed),
    ("MX-MACHINE", "+525550100014", CalleeKind::Machine { greeting_ms: 1_500 }),
    ("MX-PERSON", "+525550100015", CalleeKind::Person { persona: String::new() }),
];

/// Monday 7 December 2026, 16:00 UTC: 10:00 in Mexico City, inside the contact hours.
fn monday_afternoon() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 7, 16, 0, 0).single().expect("valid instant")
}

fn portfolio_csv() -> String {
    let mut csv = String::from(
        "debtor_id,full_name,phone,country,region,locale,time_zone,national_id_last4,birth_date,postal_code,\
         creditor,product,account_ref,balance,currency,days_past_due,call_consent,authorised_channels\n",
    );
    for (index, (debtor_id, phone, _)) in DEBTORS.iter().enumerate() {
        csv.push_str(&format!(
            "{debtor_id},Deudora {index},{phone},MX,Ciudad de México,es-MX,America/Mexico_City,1234,1980-01-01,\
             06700,Banco Aurora,tarjeta,REF-{index:02},{}.00,MXN,40,true,voice;sms\n",
            1_000 + index
        ));
    }
    csv
}

/// The real server over a fresh SQLite file, with instant speech stand-ins and the portfolio of
/// [`DEBTORS`].
struct Deployment {
    store: Arc<SqliteStore>,
    server: EmbeddedServer,
    config: Arc<Config>,
    clock: Arc<Clock>,
    _dir: tempfile::TempDir,
}

async fn deploy() -> Deployment {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(SqliteStore::open(&dir.path().join("cobranza.db")).await.expect("store opens"));
    let csv = portfolio_csv();
    let today = monday_afternoon().date_naive();
    let portfolio = parse_portfolio_bytes_as_of("campaign.csv", csv.as_bytes(), today).expect("portfolio parses");
    assert!(portfolio.rejected.is_empty(), "{:?}", portfolio.rejected);
    store.import_portfolio(&portfolio.rows).await.expect("portfolio imports");

    let mut config = Config::embedded();
    config.speech.whisper_model_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/whisper-base");
    config.call.reply_timeout_ms = 1_000;
    let config = Arc::new(config);

    let espeak = Arc::new(cobranza::speech::tts::espeak::EspeakTts::new(
        config.speech.voice_es.clone(),
        config.speech.voice_en.clone(),
    ));
    let providers = Providers {
        stt: Arc::new(InstantStt),
        tts: InstantTts::new(5),
        interpreter: Arc::new(RuleInterpreter),
        espeak,
        stt_names: Vec::new(),
        tts_names: Vec::new(),
    };
    let clock = Clock::starting_at(monday_afternoon());
    let server =
        EmbeddedServer::start_with(store.clone(), providers, config.clone(), clock.clone(), dir.path().to_path_buf())
            .await
            .expect("server starts");
    Deployment { store, server, config, clock, _dir: dir }
}

impl Deployment {
    async fn account(&self, debtor_id: &str) -> Account {
        let found = self.store.account_by_debtor(&DebtorId(debtor_id.into())).await.expect("account read");
        found.unwrap_or_else(|| panic!("debtor {debtor_id} is not in the portfolio"))
    }

    /// Starts the fake with a callee per debtor's number and seeded out-of-order callbacks.
    async fn fake(&self) -> TwilioFake {
        let today = monday_afternoon().date_naive();
        let person = self.account("MX-PERSON").await;
        let cooperative = persona::build("cooperative", &person, today).expect("cooperative persona");
        let callees: HashMap<&'static str, Callee> = DEBTORS
            .iter()
            .map(|(_, phone, kind)| {
                let callee = match kind {
                    CalleeKind::Busy => Callee::Busy,
                    CalleeKind::NoAnswer => Callee::NoAnswer,
                    CalleeKind::Failed => Callee::Failed,
                    CalleeKind::Machine { greeting_ms } => Callee::Machine { greeting_ms: *greeting_ms },
                    CalleeKind::Person { .. } => Callee::Person(cooperative.clone()),
                };
                (*phone, callee)
            })
            .collect();
        let book: CalleeBook = Arc::new(move |to: &str| callees.get(to).cloned().unwrap_or(Callee::Failed));

        let twilio = &self.server.twilio;
        let mut settings =
            FakeSettings::new(&twilio.account_sid, &twilio.auth_token, PersonaVoices::from_config(&self.config));
        settings.calls_per_second = 0;
        settings.ring_time = Duration::from_millis(100);
        settings.amd_time = Duration::from_millis(300);
        settings.reorder = Some(Reorder { seed: 3, probability: 0.5 });
        TwilioFake::start(settings, book, self.clock.clone()).await.expect("fake starts")
    }

    /// Builds a dialer that places calls through the production REST client at the fake.
    fn dialer(&self, fake: &TwilioFake) -> Dialer {
        let twilio = &self.server.twilio;
        let rest = TwilioRest::new(fake.base_url(), &twilio.account_sid, &twilio.auth_token).expect("valid base URL");
        let mut dialer_config = self.config.dialer.clone();
        // A number that never answers rings this long before the fake reports no-answer.
        dialer_config.ring_timeout_seconds = 2;
        let placer = Arc::new(TwilioPlacer::new(rest, &dialer_config));
        let policy = Arc::new(ContactPolicy::embedded().expect("embedded contact policy"));
        let settings = DialerSettings::new("node-e2e".to_string(), self.server.base_url.clone());
        Dialer::new(self.store.clone(), policy, placer, self.clock.clone(), settings)
    }

    async fn start_campaign(&self) -> CampaignSettings {
        let mut settings: CampaignSettings =
            toml::from_str(&format!("caller_id = \"{CALLER_ID}\"")).expect("campaign settings parse");
        settings.max_concurrent_calls = 5;
        settings.calls_per_second = 5;
        let now = self.clock.now();
        self.store.create_campaign(CAMPAIGN, &settings, now).await.expect("campaign created");
        let rates = cobranza::kpi::UsdRates::new(Default::default());
        let enrolled = cobranza::campaign::enrol::enrol(self.store.as_ref(), CAMPAIGN, &settings.filter, &rates, now)
            .await
            .expect("debts enrolled");
        assert_eq!(enrolled, DEBTORS.len());
        self.store.set_campaign_status(CAMPAIGN, CampaignStatus::Running, now).await.expect("campaign running");
        settings
    }

    async fn attempt(&self, attempt_id: AttemptId) -> Attempt {
        self.store.attempt(attempt_id).await.expect("attempt read").expect("attempt stored")
    }

    async fn target(&self, debtor_id: &str) -> StoredTarget {
        let debt_id = self.account(debtor_id).await.debt.id;
        self.store.campaign_target(CAMPAIGN, debt_id).await.expect("target read").expect("target enrolled")
    }
}

/// Ticks the dialer until it has dialled every debtor once, every attempt has ended and every
/// lease is released. Returns the attempt of each debtor.
async fn dial_everyone(deployment: &Deployment, dialer: &Dialer) -> HashMap<String, AttemptId> {
    let mut attempts = HashMap::new();
    loop {
        let report = dialer.tick().await.expect("dialer tick");
        for decision in report.decisions {
            match decision {
                DialDecision::Dialled { debtor_id, attempt_id, .. } => {
                    let first = attempts.insert(debtor_id.0.clone(), attempt_id);
                    assert_eq!(first, None, "{} was dialled twice", debtor_id.0);
                }
                other => panic!("every debtor should be dialled once, but the dialer decided {other:?}"),
            }
        }
        let leases = deployment.store.active_leases(CAMPAIGN).await.expect("leases read");
        let mut ended = 0;
        for attempt_id in attempts.values() {
            if deployment.attempt(*attempt_id).await.ended_at.is_some() {
                ended += 1;
            }
        }
        if attempts.len() == DEBTORS.len() && ended == DEBTORS.len() && leases == 0 {
            return attempts;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Returns the entry whose `Url` carries `attempt_id`.
fn entry_of(log: &[CallLogEntry], attempt_id: AttemptId) -> &CallLogEntry {
    let url_ends = format!("attempt={attempt_id}");
    let found = log.iter().find(|entry| entry.param("Url").is_some_and(|url| url.ends_with(&url_ends)));
    found.unwrap_or_else(|| panic!("the fake's log has no call for attempt {attempt_id}"))
}

fn attempt_in_url(entry: &CallLogEntry) -> AttemptId {
    let url = entry.param("Url").expect("every call has a Url");
    let (_, id) = url.rsplit_once("attempt=").unwrap_or_else(|| panic!("Url {url} names no attempt"));
    AttemptId(id.parse().unwrap_or_else(|_| panic!("Url {url} has an attempt id that is not a number")))
}

/// Returns the `CallStatus` of the call-progress callback with the highest `SequenceNumber`.
fn last_status_by_sequence(entry: &CallLogEntry) -> Option<String> {
    let last = entry.progress_callbacks().max_by_key(|callback| callback.sequence_number());
    last.and_then(|callback| callback.param("CallStatus")).map(str::to_string)
}

fn sent_out_of_order(entry: &CallLogEntry) -> bool {
    let sequence: Vec<Option<u32>> = entry.progress_callbacks().map(|callback| callback.sequence_number()).collect();
    sequence.windows(2).any(|pair| pair[0] > pair[1])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn campaign_calls_end_with_their_outcomes() {
    let deployment = deploy().await;
    let settings = deployment.start_campaign().await;
    let fake = deployment.fake().await;
    let dialer = deployment.dialer(&fake);

    let attempts = tokio::time::timeout(Duration::from_secs(45), dial_everyone(&deployment, &dialer))
        .await
        .expect("every call ends within 45 s");
    let mut log = Vec::new();
    for attempt_id in attempts.values() {
        let call_sid = deployment.attempt(*attempt_id).await.call_sid.expect("call sid stored");
        log.push(fake.wait_until_finished(&call_sid.0).await.expect("the fake placed the call"));
    }
    assert_eq!(fake.call_log().len(), DEBTORS.len());
    let store = deployment.store.clone();
    let base = deployment.server.base_url.clone();

    // 1. Each callee kind ends its attempt with its disposition.
    let busy = deployment.attempt(attempts["MX-BUSY"]).await;
    assert_eq!(busy.disposition, Some(Disposition::Busy));
    assert!(!busy.answered);
    let no_answer = deployment.attempt(attempts["MX-NOANSWER"]).await;
    assert_eq!(no_answer.disposition, Some(Disposition::NoAnswer));
    assert!(!no_answer.answered);
    let failed = deployment.attempt(attempts["MX-FAILED"]).await;
    assert_eq!(failed.disposition, Some(Disposition::CallFailed));
    assert!(!failed.answered);

    let machine = deployment.attempt(attempts["MX-MACHINE"]).await;
    assert_eq!(machine.disposition, Some(Disposition::VoicemailLeft));
    let machine_report = store.carrier_report(machine.id).await.expect("report read").expect("attempt stored");
    assert_eq!(machine_report.answered_by.as_deref(), Some("machine_end_beep"));
    let machine_call = entry_of(&log, machine.id);
    assert_eq!(machine_call.callee, Some(CalleeKind::Machine { greeting_ms: 1_500 }));
    let machine_stream = machine_call.stream.as_ref().expect("the machine's call streamed");
    assert_eq!(machine_stream.error, None);
    assert_eq!(machine_stream.ended_by, Some(StreamEnd::Server));
    assert_eq!(machine_stream.heard_prompts.last().map(String::as_str), Some("voicemail"));

    let person = deployment.attempt(attempts["MX-PERSON"]).await;
    assert!(person.answered);
    let person_report = store.carrier_report(person.id).await.expect("report read").expect("attempt stored");
    assert_eq!(person_report.answered_by.as_deref(), Some("human"));
    // The instant speech-to-text stand-in hears every answer as an empty transcript.
    assert_eq!(person.disposition, Some(Disposition::NotUnderstood));
    let person_call = entry_of(&log, person.id);
    assert_eq!(person_call.callee, Some(CalleeKind::Person { persona: "cooperative".into() }));
    assert_eq!(person_call.stream.as_ref().and_then(|stream| stream.ended_by), Some(StreamEnd::Server));

    // 2. Out-of-order callbacks leave the status of the highest sequence number.
    assert!(log.iter().any(sent_out_of_order), "seed 3 reordered no call's callbacks");
    for entry in &log {
        let attempt_id = attempt_in_url(entry);
        let report = store.carrier_report(attempt_id).await.expect("report read").expect("attempt stored");
        assert_eq!(report.call_status, last_status_by_sequence(entry), "attempt {attempt_id}");
        assert!(entry.progress_callbacks().all(|callback| callback.response_status == Some(204)), "{attempt_id}");
    }
    let final_statuses: HashMap<AttemptId, CallStatus> =
        log.iter().map(|entry| (attempt_in_url(entry), entry.status)).collect();
    assert_eq!(final_statuses[&busy.id], CallStatus::Busy);
    assert_eq!(final_statuses[&no_answer.id], CallStatus::NoAnswer);
    assert_eq!(final_statuses[&failed.id], CallStatus::Failed);
    assert_eq!(final_statuses[&machine.id], CallStatus::Completed);
    assert_eq!(final_statuses[&person.id], CallStatus::Completed);

    // 3. Every call was requested after its attempt row was written, with the campaign's caller
    // id, asynchronous detection and callbacks to this server.
    for entry in &log {
        let attempt_id = attempt_in_url(entry);
        let attempt = deployment.attempt(attempt_id).await;
        assert!(attempt.started_at <= entry.requested_at, "attempt {attempt_id} was written after its call");
        assert_eq!(attempt.call_sid, Some(CallSid(entry.sid.clone())), "attempt {attempt_id}");
        assert_eq!(attempt.phone, entry.to, "attempt {attempt_id}");
        assert_eq!(entry.param("From"), Some(CALLER_ID), "attempt {attempt_id}");
        assert_eq!(entry.param("AsyncAmd"), Some("true"), "attempt {attempt_id}");
        assert_eq!(entry.param("MachineDetection"), Some("DetectMessageEnd"), "attempt {attempt_id}");
        let voice = format!("{base}/twilio/voice?attempt={attempt_id}");
        assert_eq!(entry.param("Url"), Some(voice.as_str()), "attempt {attempt_id}");
        let status = format!("{base}/twilio/status?attempt={attempt_id}");
        assert_eq!(entry.param("StatusCallback"), Some(status.as_str()), "attempt {attempt_id}");
        let amd = format!("{base}/twilio/amd?attempt={attempt_id}");
        assert_eq!(entry.param("AsyncAmdStatusCallback"), Some(amd.as_str()), "attempt {attempt_id}");
    }

    // 4. Each target is due again after its outcome's backoff from the end of its first try.
    let retry = &settings.retry;
    let waits = [
        ("MX-BUSY", &busy, retry.busy.delay(1), "busy"),
        ("MX-NOANSWER", &no_answer, retry.no_answer.delay(1), "no_answer"),
        ("MX-FAILED", &failed, retry.failed.delay(1), "call_failed"),
        ("MX-MACHINE", &machine, retry.voicemail.delay(1), "voicemail_left"),
    ];
    for (debtor_id, attempt, wait, outcome) in waits {
        let target = deployment.target(debtor_id).await;
        let ended_at = attempt.ended_at.expect("attempt ended");
        assert_eq!(target.state, TargetState::Waiting, "{debtor_id}");
        assert_eq!(target.tries, 1, "{debtor_id}");
        assert_eq!(target.due_at, ended_at + wait, "{debtor_id}");
        assert_eq!(target.last_outcome.as_deref(), Some(outcome), "{debtor_id}");
    }
    assert_eq!(retry.busy.delay(1), chrono::Duration::minutes(30));
    assert_eq!(retry.no_answer.delay(1), chrono::Duration::minutes(180));

    // A promise the person made and then broke reopens their target for a follow-up call.
    let person_account = deployment.account("MX-PERSON").await;
    let promised_for = NaiveDate::from_ymd_opt(2026, 12, 8).expect("valid date");
    let promise = Promise {
        debt_id: person_account.debt.id,
        amount: Money::new(50_000, Currency::Mxn),
        due_date: promised_for,
        installments: Vec::new(),
    };
    store.store_promise(person.id, &promise, deployment.clock.now()).await.expect("promise stored");
    let settle_on = NaiveDate::from_ymd_opt(2026, 12, 10).expect("valid date");
    let debts = [person_account.debt.id];
    store.settle_promises(SettleScope::Debts(&debts), 0, settle_on).await.expect("promises settled");
    let settled = store.settled_promises_of_debt(person_account.debt.id).await.expect("promises read");
    assert_eq!(settled.len(), 1);
    assert_eq!(settled[0].settlement.status, PromiseStatus::Broken);
    let broken_on = settled[0].settlement.settled_on.expect("a broken promise has a settlement date");

    let report = dialer.tick().await.expect("dialer tick");
    assert_eq!(report.decisions, Vec::new());
    let follow_up = deployment.target("MX-PERSON").await;
    let delay = chrono::Duration::minutes(i64::from(retry.broken_promise_follow_up_minutes));
    assert_eq!(follow_up.state, TargetState::Waiting);
    assert_eq!(follow_up.due_at, broken_on.and_hms_opt(0, 0, 0).expect("midnight").and_utc() + delay);
    assert_eq!(follow_up.last_outcome.as_deref(), Some("broken_promise"));

    fake.stop().await;
    deployment.server.stop().await;
}

/// Posts a status callback for `attempt_id`, signed with `token` unless it is `None`.
async fn post_status(
    deployment: &Deployment,
    attempt_id: AttemptId,
    params: &[(&str, &str)],
    token: Option<&str>,
) -> reqwest::StatusCode {
    let url = format!("{}/twilio/status?attempt={attempt_id}", deployment.server.base_url);
    let form: Vec<(String, String)> =
        params.iter().map(|(name, value)| (name.to_string(), value.to_string())).collect();
    let mut request = reqwest::Client::new().post(&url).form(&form);
    if let Some(token) = token {
        request = request.header(SIGNATURE_HEADER, signature::compute(token, &url, &form));
    }
    request.send().await.expect("server reachable").status()
}

/// Writes an attempt for the busy debtor with a call sid, as the dialer would, and returns it.
async fn placed_attempt(deployment: &Deployment, call_sid: &str) -> AttemptId {
    let account = deployment.account("MX-BUSY").await;
    let new_attempt = NewAttempt::outbound(&account, monday_afternoon());
    let attempt_id = deployment.store.create_attempt(&new_attempt).await.expect("attempt stored");
    deployment.store.set_call_sid(attempt_id, &CallSid(call_sid.into())).await.expect("call sid stored");
    attempt_id
}

fn progress(call_sid: &'static str, status: &'static str, sequence: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![("CallSid", call_sid), ("AccountSid", "AC1"), ("CallStatus", status), ("SequenceNumber", sequence)]
}

const CALL_SID: &str = "CA0123456789abcdef0123456789abcdef";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_webhook_rejects_bad_callbacks() {
    let deployment = deploy().await;
    let attempt_id = placed_attempt(&deployment, CALL_SID).await;
    let token = deployment.server.twilio.auth_token.clone();

    let unsigned = post_status(&deployment, attempt_id, &progress(CALL_SID, "ringing", "1"), None).await;
    assert_eq!(unsigned, reqwest::StatusCode::FORBIDDEN);
    let wrong_token =
        post_status(&deployment, attempt_id, &progress(CALL_SID, "ringing", "1"), Some("not-the-token")).await;
    assert_eq!(wrong_token, reqwest::StatusCode::FORBIDDEN);
    let no_status = [("CallSid", CALL_SID), ("SequenceNumber", "1")];
    let missing = post_status(&deployment, attempt_id, &no_status, Some(&token)).await;
    assert_eq!(missing, reqwest::StatusCode::BAD_REQUEST);
    let bad_sequence =
        post_status(&deployment, attempt_id, &progress(CALL_SID, "ringing", "first"), Some(&token)).await;
    assert_eq!(bad_sequence, reqwest::StatusCode::BAD_REQUEST);

    let report = deployment.store.carrier_report(attempt_id).await.expect("report read");
    assert_eq!(report, Some(CarrierReport::default()));
    deployment.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_ringing_keeps_completed_status() {
    let deployment = deploy().await;
    let attempt_id = placed_attempt(&deployment, CALL_SID).await;
    let token = deployment.server.twilio.auth_token.clone();

    for (status, sequence) in [("initiated", "0"), ("completed", "3"), ("ringing", "1")] {
        let callback = progress(CALL_SID, status, sequence);
        let response = post_status(&deployment, attempt_id, &callback, Some(&token)).await;
        assert_eq!(response, reqwest::StatusCode::NO_CONTENT, "{status} {sequence}");
    }

    let report = deployment.store.carrier_report(attempt_id).await.expect("report read").expect("attempt stored");
    assert_eq!(report.call_status.as_deref(), Some("completed"));
    deployment.server.stop().await;
}
