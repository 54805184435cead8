//! The production Twilio REST client against the Twilio fake over loopback: what a created call
//! sends, Twilio's errors, retries of HTTP 429, hang-ups, the fake's signed and numbered
//! callbacks, its calls-per-second queue, and whole calls through the real server.

mod support;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};

use cobranza::bench::speech::{InstantStt, InstantTts};
use cobranza::call::CallEvent;
use cobranza::clock::Clock;
use cobranza::collections::import::parse_portfolio_bytes;
use cobranza::collections::model::{AttemptId, CallSid, DebtorId, Disposition};
use cobranza::collections::sqlite::SqliteStore;
use cobranza::collections::{NewAttempt, Store};
use cobranza::config::Config;
use cobranza::demo::{EmbeddedServer, SAMPLE_PORTFOLIO, SAMPLE_PORTFOLIO_NAME};
use cobranza::dialog::RuleInterpreter;
use cobranza::providers::Providers;
use cobranza::telephony::simulator::{persona, StreamEnd};
use cobranza::telephony::twilio::rest::{CallRequest, MachineDetection, RetryPolicy, TwilioError, TwilioRest};
use cobranza::telephony::twilio::signature;
use cobranza::telephony::twilio::status::{AmdResult, AnsweredBy, CallProgress, CallStatus};
use cobranza::telephony::twilio_fake::{
    CallbackKind, Callee, CalleeBook, CalleeKind, FakeSettings, PersonaVoices, Reorder, TwilioFake,
};

use support::callback_sink::CallbackSink;

const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
const TOKEN: &str = "fake-auth-token-0001";
const FROM: &str = "+15005550006";
const TO: &str = "+525512345678";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 2, 16, 0, 0).single().expect("valid instant")
}

fn settings() -> FakeSettings {
    let mut settings = FakeSettings::new(ACCOUNT, TOKEN, PersonaVoices::from_config(&Config::embedded()));
    settings.ring_time = Duration::from_millis(50);
    settings.calls_per_second = 0;
    settings
}

fn everyone(callee: Callee) -> CalleeBook {
    Arc::new(move |_to: &str| callee.clone())
}

async fn start_fake(settings: FakeSettings, book: CalleeBook) -> TwilioFake {
    TwilioFake::start(settings, book, Clock::starting_at(now())).await.expect("fake starts")
}

fn client(fake: &TwilioFake) -> TwilioRest {
    TwilioRest::new(fake.base_url(), ACCOUNT, TOKEN).expect("valid base URL")
}

fn request(to: &str, sink: &CallbackSink) -> CallRequest {
    CallRequest {
        to: to.to_string(),
        from: FROM.to_string(),
        url: "http://127.0.0.1:9/twilio/voice?attempt=41".to_string(),
        status_callback: sink.url("/status"),
        timeout_seconds: 25,
        time_limit_seconds: 900,
        machine_detection: Some(MachineDetection::DetectMessageEnd),
        amd_status_callback: Some(sink.url("/amd")),
    }
}

#[tokio::test(start_paused = true)]
async fn create_call_sends_every_parameter() {
    let sink = CallbackSink::start(TOKEN).await;
    let fake = start_fake(settings(), everyone(Callee::Busy)).await;
    let call = request(TO, &sink);

    let created = client(&fake).create_call(&call).await.expect("call created");

    assert!(created.sid.0.starts_with("CA"), "{}", created.sid);
    assert_eq!(created.status, CallStatus::Queued);
    let log = fake.call_log();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].sid, created.sid.0);
    assert_eq!(log[0].to, TO);
    assert_eq!(log[0].requested_at, now());
    let expected: Vec<(String, String)> = [
        ("To", TO),
        ("From", FROM),
        ("Url", "http://127.0.0.1:9/twilio/voice?attempt=41"),
        ("Method", "POST"),
        ("StatusCallback", sink.url("/status").as_str()),
        ("StatusCallbackEvent", "initiated"),
        ("StatusCallbackEvent", "ringing"),
        ("StatusCallbackEvent", "answered"),
        ("StatusCallbackEvent", "completed"),
        ("StatusCallbackMethod", "POST"),
        ("Timeout", "25"),
        ("TimeLimit", "900"),
        ("MachineDetection", "DetectMessageEnd"),
        ("AsyncAmd", "true"),
        ("AsyncAmdStatusCallback", sink.url("/amd").as_str()),
        ("AsyncAmdStatusCallbackMethod", "POST"),
    ]
    .iter()
    .map(|(name, value)| (name.to_string(), value.to_string()))
    .collect();
    assert_eq!(log[0].params, expected);
}

#[tokio::test]
async fn wrong_auth_token_is_unauthorised() {
    let sink = CallbackSink::start(TOKEN).await;
    let fake = start_fake(settings(), everyone(Callee::Busy)).await;
    let intruder = TwilioRest::new(fake.base_url(), ACCOUNT, "not-the-token").expect("valid base URL");

    let error = intruder.create_call(&request(TO, &sink)).await.expect_err("token rejected");

    assert_eq!(error, TwilioError::Api { status: 401, code: Some(20003), message: "Authenticate".into() });
    assert!(fake.call_log().is_empty());
}

#[tokio::test]
async fn missing_to_is_rejected_naming_it() {
    let sink = CallbackSink::start(TOKEN).await;
    let fake = start_fake(settings(), everyone(Callee::Busy)).await;

    let error = client(&fake).create_call(&request("", &sink)).await.expect_err("no To");

    assert_eq!(
        error,
        TwilioError::Api { status: 400, code: Some(21201), message: "No 'To' number is specified".into() }
    );
    assert!(fake.call_log().is_empty());
}

#[tokio::test(start_paused = true)]
async fn rate_limited_create_is_retried_with_backoff() {
    let sink = CallbackSink::start(TOKEN).await;
    let fake = start_fake(settings(), everyone(Callee::Busy)).await;
    fake.rate_limit_next_creates(3);
    let began = tokio::time::Instant::now();

    let created = client(&fake).create_call(&request(TO, &sink)).await.expect("created after retries");

    // 0.5 s, 1 s and 2 s: the default policy's first three waits.
    assert_eq!(began.elapsed(), Duration::from_millis(3_500));
    assert_eq!(fake.create_requests(), 4);
    assert_eq!(fake.call_log().len(), 1);
    assert_eq!(fake.call_log()[0].sid, created.sid.0);
}

#[tokio::test(start_paused = true)]
async fn rate_limit_outlasting_retries_returns_429() {
    let sink = CallbackSink::start(TOKEN).await;
    let fake = start_fake(settings(), everyone(Callee::Busy)).await;
    fake.rate_limit_next_creates(10);
    let policy = RetryPolicy { attempts: 3, first_wait: Duration::from_secs(1), max_wait: Duration::from_secs(10) };

    let error =
        client(&fake).with_retry(policy).create_call(&request(TO, &sink)).await.expect_err("still rate limited");

    assert_eq!(
        error,
        TwilioError::Api { status: 429, code: Some(20429), message: "Too many concurrent requests".into() }
    );
    assert_eq!(fake.create_requests(), 3);
    assert!(fake.call_log().is_empty());
}

#[tokio::test]
async fn unreachable_api_is_transport_error() {
    let sink = CallbackSink::start(TOKEN).await;
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let base_url = format!("http://{}", closed.local_addr().expect("address"));
    drop(closed);
    let twilio = TwilioRest::new(&base_url, ACCOUNT, TOKEN).expect("valid base URL");

    let error = twilio.create_call(&request(TO, &sink)).await.expect_err("nothing listens");

    let TwilioError::Transport { operation, reason } = &error else { panic!("not a transport error: {error:?}") };
    assert_eq!(*operation, "create a call");
    assert!(reason.contains(&base_url[7..]), "{reason}");
    assert!(!error.to_string().contains(TOKEN), "{error}");
}

#[tokio::test(start_paused = true)]
async fn silent_api_times_out() {
    let sink = CallbackSink::start(TOKEN).await;
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let base_url = format!("http://{}", silent.local_addr().expect("address"));
    tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            open.push(socket);
        }
    });
    let twilio = TwilioRest::new(&base_url, ACCOUNT, TOKEN).expect("valid base URL");

    let error = twilio.create_call(&request(TO, &sink)).await.expect_err("no answer");

    assert_eq!(error, TwilioError::Timeout { operation: "create a call", after: Duration::from_secs(15) });
}

#[tokio::test]
async fn hang_up_of_ended_call_is_ok() {
    let sink = CallbackSink::start(TOKEN).await;
    let fake = start_fake(settings(), everyone(Callee::Busy)).await;
    let twilio = client(&fake);
    let created = twilio.create_call(&request(TO, &sink)).await.expect("created");
    let entry = fake.wait_until_finished(&created.sid.0).await.expect("call known");
    assert_eq!(entry.status, CallStatus::Busy);

    assert_eq!(twilio.hang_up(&created.sid).await, Ok(()));
    assert_eq!(twilio.hang_up(&CallSid("CAffffffffffffffffffffffffffffffff".into())).await, Ok(()));
    let error = twilio.update_twiml(&created.sid, "<Response><Hangup/></Response>").await.expect_err("call ended");
    assert!(error.is_not_found(), "{error}");
}

#[tokio::test(start_paused = true)]
async fn hang_up_while_ringing_cancels_the_call() {
    let sink = CallbackSink::start(TOKEN).await;
    let fake = start_fake(settings(), everyone(Callee::NoAnswer)).await;
    let twilio = client(&fake);
    let created = twilio.create_call(&request(TO, &sink)).await.expect("created");
    tokio::time::sleep(Duration::from_secs(5)).await;

    twilio.hang_up(&created.sid).await.expect("hung up");

    let entry = fake.wait_until_finished(&created.sid.0).await.expect("call known");
    assert_eq!(entry.status, CallStatus::Canceled);
    assert_eq!(entry.answered_at, None);
    let statuses: Vec<&str> =
        entry.progress_callbacks().map(|callback| callback.param("CallStatus").unwrap_or("")).collect();
    assert_eq!(statuses, vec!["initiated", "ringing", "canceled"]);
}

#[tokio::test(start_paused = true)]
async fn no_answer_rings_for_the_timeout() {
    let sink = CallbackSink::start(TOKEN).await;
    let fake = start_fake(settings(), everyone(Callee::NoAnswer)).await;
    let created = client(&fake).create_call(&request(TO, &sink)).await.expect("created");

    let entry = fake.wait_until_finished(&created.sid.0).await.expect("call known");

    assert_eq!(entry.status, CallStatus::NoAnswer);
    assert_eq!(entry.callee, Some(CalleeKind::NoAnswer));
    let started = entry.started_at.expect("started");
    assert_eq!(entry.ended_at.expect("ended") - started, chrono::Duration::seconds(25));
}

#[tokio::test]
async fn failed_number_skips_ringing() {
    let sink = CallbackSink::start(TOKEN).await;
    let fake = start_fake(settings(), everyone(Callee::Failed)).await;
    let created = client(&fake).create_call(&request(TO, &sink)).await.expect("created");

    let entry = fake.wait_until_finished(&created.sid.0).await.expect("call known");

    assert_eq!(entry.status, CallStatus::Failed);
    let statuses: Vec<&str> =
        entry.progress_callbacks().map(|callback| callback.param("CallStatus").unwrap_or("")).collect();
    assert_eq!(statuses, vec!["initiated", "failed"]);
}

#[tokio::test]
async fn status_callbacks_arrive_signed_and_numbered() {
    let sink = CallbackSink::start(TOKEN).await;
    let fake = start_fake(settings(), everyone(Callee::Busy)).await;
    let created = client(&fake).create_call(&request(TO, &sink)).await.expect("created");
    fake.wait_until_finished(&created.sid.0).await.expect("call known");

    let received = sink.received();

    assert_eq!(received.len(), 3);
    for callback in &received {
        assert_eq!(callback.path, "/status");
        assert!(callback.signature_valid, "{:?}", callback.params);
        assert_eq!(callback.param("CallSid"), Some(created.sid.0.as_str()));
        assert_eq!(callback.param("AccountSid"), Some(ACCOUNT));
        assert_eq!(callback.param("From"), Some(FROM));
        assert_eq!(callback.param("To"), Some(TO));
        assert_eq!(callback.param("Direction"), Some("outbound-api"));
        assert_eq!(callback.param("ApiVersion"), Some("2010-04-01"));
        assert_eq!(callback.param("CallbackSource"), Some("call-progress-events"));
        assert!(callback.param("Timestamp").is_some_and(|stamp| DateTime::parse_from_rfc2822(stamp).is_ok()));
    }
    let progress: Vec<CallProgress> =
        received.iter().map(|callback| CallProgress::from_form(&callback.params).expect("parses")).collect();
    let summary: Vec<(u32, CallStatus, Option<u32>)> =
        progress.iter().map(|p| (p.sequence_number, p.status, p.call_duration)).collect();
    assert_eq!(
        summary,
        vec![(0, CallStatus::Initiated, None), (1, CallStatus::Ringing, None), (2, CallStatus::Busy, Some(0))]
    );
    let log = fake.call_log();
    assert!(log[0].callbacks.iter().all(|callback| callback.response_status == Some(204)));
}

#[tokio::test]
async fn signature_covers_the_exact_callback_url() {
    let sink = CallbackSink::start(TOKEN).await;
    let fake = start_fake(settings(), everyone(Callee::Failed)).await;
    let mut call = request(TO, &sink);
    call.status_callback = sink.url("/status?campaign=7&attempt=41");
    let created = client(&fake).create_call(&call).await.expect("created");
    fake.wait_until_finished(&created.sid.0).await.expect("call known");

    let received = sink.received();

    assert_eq!(received.len(), 2);
    assert!(received.iter().all(|callback| callback.signature_valid));
    assert!(received.iter().all(|callback| callback.path == "/status?campaign=7&attempt=41"));
    let without_query = sink.url("/status");
    let first = &fake.call_log()[0].callbacks[0];
    let signed = signature::compute(TOKEN, &first.url, &first.params);
    assert!(!signature::is_valid(TOKEN, &without_query, &first.params, &signed));
}

#[tokio::test]
async fn reordered_callbacks_keep_every_sequence_number() {
    let sink = CallbackSink::start(TOKEN).await;
    let mut settings = settings();
    settings.reorder = Some(Reorder { seed: 7, probability: 0.5 });
    let fake = start_fake(settings, everyone(Callee::Busy)).await;
    let twilio = client(&fake);
    let mut sids = Vec::new();
    for _ in 0..8 {
        sids.push(twilio.create_call(&request(TO, &sink)).await.expect("created").sid.0);
    }
    for sid in &sids {
        fake.wait_until_finished(sid).await.expect("call known");
    }

    let received = sink.received();
    let mut reordered_calls = 0;
    for sid in &sids {
        let arrived: Vec<u32> = received
            .iter()
            .filter(|callback| callback.param("CallSid") == Some(sid.as_str()))
            .map(|callback| CallProgress::from_form(&callback.params).expect("parses").sequence_number)
            .collect();
        let unique: BTreeSet<u32> = arrived.iter().copied().collect();
        assert_eq!(arrived.len(), 3, "{sid}: {arrived:?}");
        assert_eq!(unique, BTreeSet::from([0, 1, 2]), "{sid}: {arrived:?}");
        if arrived != vec![0, 1, 2] {
            reordered_calls += 1;
        }
    }
    assert!(reordered_calls > 0, "seed 7 reordered no call");
    assert!(reordered_calls < sids.len(), "seed 7 reordered every call");
}

#[tokio::test(start_paused = true)]
async fn calls_above_cps_are_queued() {
    let sink = CallbackSink::start(TOKEN).await;
    let mut settings = settings();
    settings.calls_per_second = 2;
    let fake = start_fake(settings, everyone(Callee::Failed)).await;
    let twilio = client(&fake);
    let mut sids = Vec::new();
    for _ in 0..3 {
        sids.push(twilio.create_call(&request(TO, &sink)).await.expect("created").sid.0);
    }
    for sid in &sids {
        fake.wait_until_finished(sid).await.expect("call known");
    }

    let log = fake.call_log();
    let requested: Vec<DateTime<Utc>> = log.iter().map(|entry| entry.requested_at).collect();
    let started: Vec<DateTime<Utc>> = log.iter().map(|entry| entry.started_at.expect("started")).collect();
    assert_eq!(requested, vec![now(), now(), now()]);
    assert_eq!(
        started,
        vec![now(), now() + chrono::Duration::milliseconds(500), now() + chrono::Duration::milliseconds(1_000)]
    );
}

#[tokio::test]
async fn call_log_is_served_as_json() {
    let sink = CallbackSink::start(TOKEN).await;
    let fake = start_fake(settings(), everyone(Callee::Busy)).await;
    let created = client(&fake).create_call(&request(TO, &sink)).await.expect("created");
    fake.wait_until_finished(&created.sid.0).await.expect("call known");

    let body: serde_json::Value = reqwest::get(format!("{}/fake/calls", fake.base_url()))
        .await
        .expect("log served")
        .json()
        .await
        .expect("log is JSON");

    let calls = body.as_array().expect("a list of calls");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0]["sid"], created.sid.0.as_str());
    assert_eq!(calls[0]["to"], TO);
    assert_eq!(calls[0]["status"], "busy");
    assert_eq!(calls[0]["callee"]["kind"], "busy");
    assert_eq!(calls[0]["params"][0], serde_json::json!(["To", TO]));
    assert_eq!(calls[0]["callbacks"].as_array().map(Vec::len), Some(3));
    assert_eq!(calls[0]["callbacks"][2]["params"].as_array().map(Vec::len), Some(11));
}

// Whole calls through the real server.

/// The real server with the sample portfolio, instant speech stand-ins and a short reply timeout.
struct Deployment {
    store: Arc<SqliteStore>,
    server: EmbeddedServer,
    config: Arc<Config>,
    _dir: tempfile::TempDir,
}

async fn deploy() -> Deployment {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(SqliteStore::open(&dir.path().join("cobranza.db")).await.expect("store opens"));
    let portfolio = parse_portfolio_bytes(SAMPLE_PORTFOLIO_NAME, SAMPLE_PORTFOLIO).expect("fixture parses");
    store.import_portfolio(&portfolio.rows).await.expect("fixture imports");

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
    let server = EmbeddedServer::start_with(
        store.clone(),
        providers,
        config.clone(),
        Clock::starting_at(now()),
        dir.path().to_path_buf(),
    )
    .await
    .expect("server starts");
    Deployment { store, server, config, _dir: dir }
}

impl Deployment {
    async fn fake(&self, book: CalleeBook) -> TwilioFake {
        let twilio = &self.server.twilio;
        let mut settings =
            FakeSettings::new(&twilio.account_sid, &twilio.auth_token, PersonaVoices::from_config(&self.config));
        settings.ring_time = Duration::from_millis(100);
        settings.amd_time = Duration::from_millis(300);
        TwilioFake::start(settings, book, Clock::starting_at(now())).await.expect("fake starts")
    }

    fn client(&self, fake: &TwilioFake) -> TwilioRest {
        let twilio = &self.server.twilio;
        TwilioRest::new(fake.base_url(), &twilio.account_sid, &twilio.auth_token).expect("valid base URL")
    }

    fn request(&self, attempt_id: AttemptId, to: &str, sink: &CallbackSink) -> CallRequest {
        let base = &self.server.base_url;
        CallRequest {
            to: to.to_string(),
            from: FROM.to_string(),
            url: format!("{base}/twilio/voice?attempt={attempt_id}"),
            status_callback: format!("{base}/twilio/status"),
            timeout_seconds: 30,
            time_limit_seconds: 600,
            machine_detection: Some(MachineDetection::DetectMessageEnd),
            amd_status_callback: Some(sink.url("/amd")),
        }
    }

    async fn wait_for_end(events: &mut tokio::sync::broadcast::Receiver<CallEvent>, attempt_id: AttemptId) {
        loop {
            match events.recv().await.expect("bus open") {
                CallEvent::Ended { attempt_id: ended, .. } if ended == attempt_id => return,
                _ => {}
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fake_places_call_through_real_server() {
    let deployment = deploy().await;
    let store = deployment.store.clone();
    let account = store.account_by_debtor(&DebtorId("MX-0001".into())).await.expect("read").expect("MX-0001");
    let today = NaiveDate::from_ymd_opt(2026, 12, 2).expect("date");
    let cooperative = persona::build("cooperative", &account, today).expect("persona");
    let fake = deployment.fake(everyone(Callee::Person(cooperative))).await;
    let sink = CallbackSink::start(&deployment.server.twilio.auth_token).await;
    let attempt_id = store.create_attempt(&NewAttempt::outbound(&account, now())).await.expect("attempt");
    let twilio = deployment.client(&fake);
    let mut events = deployment.server.bus.subscribe();

    let created =
        twilio.create_call(&deployment.request(attempt_id, &account.debtor.phone, &sink)).await.expect("created");
    Deployment::wait_for_end(&mut events, attempt_id).await;
    let entry = fake.wait_until_finished(&created.sid.0).await.expect("call known");

    let attempt = store.attempt(attempt_id).await.expect("read").expect("attempt");
    assert_eq!(attempt.call_sid, Some(created.sid.clone()));
    // The instant speech-to-text stand-in hears every answer as an empty transcript.
    assert_eq!(attempt.disposition, Some(Disposition::NotUnderstood));
    assert_eq!(entry.to, account.debtor.phone);
    assert_eq!(entry.status, CallStatus::Completed);
    assert_eq!(entry.callee, Some(CalleeKind::Person { persona: "cooperative".into() }));
    let stream = entry.stream.as_ref().expect("stream ran");
    assert_eq!(stream.error, None);
    assert_eq!(stream.ended_by, Some(StreamEnd::Server));
    assert_eq!(stream.heard_prompts.first().map(String::as_str), Some("greeting"));

    // The server's own signature check accepted every call-progress callback.
    let progress: Vec<CallProgress> =
        entry.progress_callbacks().map(|callback| CallProgress::from_form(&callback.params).expect("parses")).collect();
    let statuses: Vec<(u32, CallStatus)> = progress.iter().map(|p| (p.sequence_number, p.status)).collect();
    assert_eq!(
        statuses,
        vec![
            (0, CallStatus::Initiated),
            (1, CallStatus::Ringing),
            (2, CallStatus::InProgress),
            (3, CallStatus::Completed)
        ]
    );
    assert!(entry.progress_callbacks().all(|callback| callback.response_status == Some(204)));
    let answered = entry.answered_at.expect("answered");
    let milliseconds = (entry.ended_at.expect("ended") - answered).num_milliseconds();
    let seconds = ((milliseconds + 500) / 1_000) as u32;
    assert_eq!(progress[3].call_duration, Some(seconds));

    let amd: Vec<AmdResult> = sink
        .received()
        .iter()
        .filter(|callback| callback.path == "/amd")
        .inspect(|callback| assert!(callback.signature_valid))
        .map(|callback| AmdResult::from_form(&callback.params).expect("parses"))
        .collect();
    assert_eq!(
        amd,
        vec![AmdResult {
            call_sid: created.sid.clone(),
            answered_by: AnsweredBy::Human,
            machine_detection_duration_ms: Some(300)
        }]
    );
    fake.stop().await;
    deployment.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_limit_ends_the_stream() {
    let deployment = deploy().await;
    let store = deployment.store.clone();
    let account = store.account_by_debtor(&DebtorId("MX-0001".into())).await.expect("read").expect("MX-0001");
    let fake = deployment.fake(everyone(Callee::Machine { greeting_ms: 5_000 })).await;
    let sink = CallbackSink::start(&deployment.server.twilio.auth_token).await;
    let attempt_id = store.create_attempt(&NewAttempt::outbound(&account, now())).await.expect("attempt");
    let twilio = deployment.client(&fake);
    let mut call = deployment.request(attempt_id, &account.debtor.phone, &sink);
    call.time_limit_seconds = 2;

    let created = twilio.create_call(&call).await.expect("created");
    let entry = fake.wait_until_finished(&created.sid.0).await.expect("call known");

    assert_eq!(entry.status, CallStatus::Completed);
    assert_eq!(entry.stream.as_ref().and_then(|stream| stream.ended_by), Some(StreamEnd::Carrier));
    let lasted = entry.ended_at.expect("ended") - entry.answered_at.expect("answered");
    let seconds = ((lasted.num_milliseconds() + 500) / 1_000).to_string();
    let duration = entry.progress_callbacks().last().and_then(|callback| callback.param("CallDuration"));
    assert_eq!(duration, Some(seconds.as_str()));
    // The verdict would come 5.5 s after the answer, 3.5 s after the call ended: none is sent.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(sink.received().is_empty());
    fake.stop().await;
    deployment.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twiml_update_ends_machine_stream() {
    let deployment = deploy().await;
    let store = deployment.store.clone();
    let account = store.account_by_debtor(&DebtorId("MX-0001".into())).await.expect("read").expect("MX-0001");
    let fake = deployment.fake(everyone(Callee::Machine { greeting_ms: 1_500 })).await;
    let sink = CallbackSink::start(&deployment.server.twilio.auth_token).await;
    let attempt_id = store.create_attempt(&NewAttempt::outbound(&account, now())).await.expect("attempt");
    let twilio = deployment.client(&fake);
    let mut events = deployment.server.bus.subscribe();

    let created =
        twilio.create_call(&deployment.request(attempt_id, &account.debtor.phone, &sink)).await.expect("created");
    let verdict = loop {
        if let Some(callback) = sink.received().into_iter().find(|callback| callback.path == "/amd") {
            break AmdResult::from_form(&callback.params).expect("parses");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(verdict.answered_by, AnsweredBy::MachineEndBeep);
    assert!(verdict.answered_by.is_machine());
    assert_eq!(verdict.machine_detection_duration_ms, Some(2_000));
    let message = "<Response><Say language=\"es-MX\">Le llamamos de Servicios Andinos.</Say><Hangup/></Response>";
    twilio.update_twiml(&created.sid, message).await.expect("TwiML replaced");
    Deployment::wait_for_end(&mut events, attempt_id).await;
    let entry = fake.wait_until_finished(&created.sid.0).await.expect("call known");

    assert_eq!(entry.status, CallStatus::Completed);
    assert_eq!(entry.callee, Some(CalleeKind::Machine { greeting_ms: 1_500 }));
    assert_eq!(entry.twiml_updates.len(), 1);
    assert_eq!(entry.twiml_updates[0].twiml, message);
    assert_eq!(entry.stream.as_ref().and_then(|stream| stream.ended_by), Some(StreamEnd::Carrier));
    let kinds: Vec<CallbackKind> = entry.callbacks.iter().map(|callback| callback.kind).collect();
    assert_eq!(kinds.iter().filter(|kind| **kind == CallbackKind::Amd).count(), 1);
    let attempt = store.attempt(attempt_id).await.expect("read").expect("attempt");
    assert!(attempt.ended_at.is_some());
    fake.stop().await;
    deployment.server.stop().await;
}
