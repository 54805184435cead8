//! The call session on its own channels, with a scripted caller: a
//! promise is stored before its confirmation is sent, and a failed write is never confirmed.
//! These check order, not timing, so they run on the real clock (the store pool's timeouts do
//! not work on a paused one); a keyed answer ends with `#` so nothing waits for a timer.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use tokio::sync::mpsc;

use cobranza::call::{event_bus, run_call, CallServices};
use cobranza::clock::Clock;
use cobranza::collections::history;
use cobranza::collections::import::{parse_portfolio_bytes, PortfolioRow};
use cobranza::collections::model::*;
use cobranza::collections::sqlite::SqliteStore;
use cobranza::collections::store::ImportCounts;
use cobranza::collections::{Attempt, AttemptOutcome, NewAttempt, Store, StoreError, StoredPromise};
use cobranza::config::Config;
use cobranza::demo::{SAMPLE_PORTFOLIO, SAMPLE_PORTFOLIO_NAME};
use cobranza::dialog::{Language, RuleInterpreter};
use cobranza::kpi::compliance::{CheckCounts, CheckScope, ComplianceFilter, ComplianceStore, LedgerCounts};
use cobranza::kpi::store::{KpiRow, KpiStatement, KpiStore};
use cobranza::policy::ContactPolicy;
use cobranza::speech::tts::{TextToSpeech, TtsStream};
use cobranza::speech::SpeechError;
use cobranza::telephony::{Inbound, Outbound, StreamStart};

mod support;
use support::ScriptedStt;

/// Text-to-speech that renders every phrase as 200 ms of a tone.
struct ToneTts;

#[async_trait]
impl TextToSpeech for ToneTts {
    async fn synthesize(&self, _text: &str, _language: Language) -> Result<TtsStream, SpeechError> {
        let (sender, stream) = mpsc::channel(1);
        let tone: Vec<i16> = (0..1600).map(|i| ((i as f64 * 0.3).sin() * 6000.0) as i16).collect();
        sender.send(Ok(tone)).await.expect("receiver alive");
        Ok(stream)
    }
}

/// How the wrapped store treats promise writes.
enum PromiseWrites {
    /// Each write takes this long before it reaches SQLite, like a slow disk: a session that
    /// spoke before the write returned would send its confirmation in that window.
    Slow(Duration),
    Fail,
}

/// The SQLite store with slow or failing promise writes.
struct WrappedStore(SqliteStore, PromiseWrites);

#[async_trait]
impl ComplianceStore for WrappedStore {
    async fn compliance_counts(
        &self,
        policy: &ContactPolicy,
        filter: &ComplianceFilter,
    ) -> Result<LedgerCounts, StoreError> {
        self.0.compliance_counts(policy, filter).await
    }

    async fn check_compliance(&self, policy: &ContactPolicy, scope: CheckScope) -> Result<CheckCounts, StoreError> {
        self.0.check_compliance(policy, scope).await
    }
}

cobranza::delegate_campaign_store!(WrappedStore);

#[async_trait]
impl KpiStore for WrappedStore {
    async fn kpi_rows(&self, statement: &KpiStatement) -> Result<Vec<KpiRow>, StoreError> {
        self.0.kpi_rows(statement).await
    }
}

#[async_trait]
impl Store for WrappedStore {
    async fn import_portfolio(&self, rows: &[PortfolioRow]) -> Result<ImportCounts, StoreError> {
        self.0.import_portfolio(rows).await
    }
    async fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        self.0.accounts().await
    }
    async fn account_by_debtor(&self, id: &DebtorId) -> Result<Option<Account>, StoreError> {
        self.0.account_by_debtor(id).await
    }
    async fn account_by_debt(&self, id: DebtId) -> Result<Option<Account>, StoreError> {
        self.0.account_by_debt(id).await
    }
    async fn account_by_phone(&self, phone: &str) -> Result<Option<Account>, StoreError> {
        self.0.account_by_phone(phone).await
    }
    async fn create_attempt(&self, attempt: &NewAttempt) -> Result<AttemptId, StoreError> {
        self.0.create_attempt(attempt).await
    }
    async fn attempt(&self, id: AttemptId) -> Result<Option<Attempt>, StoreError> {
        self.0.attempt(id).await
    }
    async fn set_call_sid(&self, id: AttemptId, sid: &CallSid) -> Result<(), StoreError> {
        self.0.set_call_sid(id, sid).await
    }
    async fn append_transcript(&self, id: AttemptId, line: &TranscriptLine) -> Result<(), StoreError> {
        self.0.append_transcript(id, line).await
    }
    async fn transcript(&self, id: AttemptId) -> Result<Vec<TranscriptLine>, StoreError> {
        self.0.transcript(id).await
    }
    async fn store_promise(
        &self,
        id: AttemptId,
        promise: &Promise,
        at: DateTime<Utc>,
    ) -> Result<PromiseId, StoreError> {
        match self.1 {
            PromiseWrites::Slow(delay) => {
                tokio::time::sleep(delay).await;
                self.0.store_promise(id, promise, at).await
            }
            PromiseWrites::Fail => Err(StoreError::Corrupt("disk full".into())),
        }
    }
    async fn promises_for_attempt(&self, id: AttemptId) -> Result<Vec<StoredPromise>, StoreError> {
        self.0.promises_for_attempt(id).await
    }
    async fn record_payment_claim(
        &self,
        id: AttemptId,
        claim: &PaymentClaim,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.0.record_payment_claim(id, claim, at).await
    }
    async fn record_callback_request(
        &self,
        id: AttemptId,
        when: Option<DateTime<Utc>>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.0.record_callback_request(id, when, at).await
    }
    async fn record_opt_out(&self, id: &DebtorId, channel: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.0.record_opt_out(id, channel, at).await
    }
    async fn record_dispute(&self, id: AttemptId, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.0.record_dispute(id, at).await
    }
    async fn disputed(&self, debt: DebtId) -> Result<bool, StoreError> {
        self.0.disputed(debt).await
    }
    async fn record_hardship(&self, id: AttemptId, person: bool, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.0.record_hardship(id, person, at).await
    }
    async fn opted_out(&self, id: &DebtorId, channel: &str) -> Result<bool, StoreError> {
        self.0.opted_out(id, channel).await
    }
    async fn finish_attempt(&self, id: AttemptId, outcome: &AttemptOutcome) -> Result<(), StoreError> {
        self.0.finish_attempt(id, outcome).await
    }
    async fn attempt_costs(&self, id: AttemptId) -> Result<Vec<cobranza::cost::CostLine>, StoreError> {
        self.0.attempt_costs(id).await
    }
    async fn attempts_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Attempt>, StoreError> {
        self.0.attempts_between(from, to).await
    }
    async fn promises_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<StoredPromise>, StoreError> {
        self.0.promises_between(from, to).await
    }
}

cobranza::delegate_inbound_store!(WrappedStore);

/// History reads and writes go to SQLite unchanged.
#[async_trait]
impl history::HistoryStore for WrappedStore {
    async fn import_portfolio_as_of(
        &self,
        rows: &[PortfolioRow],
        as_of: chrono::NaiveDate,
    ) -> Result<ImportCounts, StoreError> {
        self.0.import_portfolio_as_of(rows, as_of).await
    }
    async fn debt_refs(&self) -> Result<Vec<history::DebtRef>, StoreError> {
        self.0.debt_refs().await
    }
    async fn payments_with_refs(&self, refs: &[String]) -> Result<Vec<history::StoredPayment>, StoreError> {
        self.0.payments_with_refs(refs).await
    }
    async fn insert_payments(&self, payments: &[history::Payment], at: DateTime<Utc>) -> Result<usize, StoreError> {
        self.0.insert_payments(payments, at).await
    }
    async fn payments_of_debt(&self, debt: DebtId) -> Result<Vec<history::Payment>, StoreError> {
        self.0.payments_of_debt(debt).await
    }
    async fn add_do_not_call(&self, entries: &[history::DoNotCallEntry]) -> Result<usize, StoreError> {
        self.0.add_do_not_call(entries).await
    }
    async fn on_do_not_call(&self, phone: &str) -> Result<bool, StoreError> {
        self.0.on_do_not_call(phone).await
    }
    async fn do_not_call_list(&self) -> Result<Vec<history::DoNotCallEntry>, StoreError> {
        self.0.do_not_call_list().await
    }
    async fn write_snapshots(&self, snapshots: &[history::DebtSnapshot]) -> Result<usize, StoreError> {
        self.0.write_snapshots(snapshots).await
    }
    async fn snapshots_as_of(&self, day: chrono::NaiveDate) -> Result<Vec<history::DebtSnapshot>, StoreError> {
        self.0.snapshots_as_of(day).await
    }
    async fn snapshots_between(
        &self,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> Result<Vec<history::DebtSnapshot>, StoreError> {
        self.0.snapshots_between(from, to).await
    }
    async fn insert_history_attempts(&self, attempts: &[history::HistoryAttempt]) -> Result<usize, StoreError> {
        self.0.insert_history_attempts(attempts).await
    }
    async fn attempts_with_call_sids(&self, sids: &[String]) -> Result<Vec<history::AttemptRef>, StoreError> {
        self.0.attempts_with_call_sids(sids).await
    }
    async fn insert_history_promises(&self, promises: &[history::HistoryPromise]) -> Result<usize, StoreError> {
        self.0.insert_history_promises(promises).await
    }
    async fn settle_promises(
        &self,
        scope: history::SettleScope<'_>,
        grace_days: u32,
        as_of: chrono::NaiveDate,
    ) -> Result<history::SettlementCounts, StoreError> {
        self.0.settle_promises(scope, grace_days, as_of).await
    }
    async fn promises_with_status(
        &self,
        status: history::PromiseStatus,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> Result<Vec<history::SettledPromise>, StoreError> {
        self.0.promises_with_status(status, from, to).await
    }
    async fn settled_promises_of_debt(&self, debt: DebtId) -> Result<Vec<history::SettledPromise>, StoreError> {
        self.0.settled_promises_of_debt(debt).await
    }
}

/// What the scripted caller does after the bot's phrase with a given prompt key.
enum CallerTurn {
    Say(&'static str),
    Keys(&'static str),
}

fn cooperative_caller(key: &str) -> Option<CallerTurn> {
    match key {
        "greeting" => Some(CallerTurn::Say("Sí, soy yo.")),
        "verify_identity" => Some(CallerTurn::Keys("1234#")),
        "offer_full_payment" => Some(CallerTurn::Say("Voy a pagar el total, cuatro mil quinientos pesos, el viernes.")),
        "read_back" => Some(CallerTurn::Say("Sí, es correcto.")),
        _ => None,
    }
}

/// One outbound message as the carrier saw it, with the promises stored at that moment.
#[derive(Debug)]
struct Observed {
    message: Outbound,
    promises_stored: usize,
}

struct CallRun {
    observed: Vec<Observed>,
    attempt: Attempt,
}

/// Sends the caller's spoken turn: 400 ms of a loud tone, then a second of silence so the
/// voice activity detector ends the turn.
async fn speak(inbound: &mpsc::Sender<Inbound>, stream_ms: &mut u64) {
    for frame in 0..70 {
        let mulaw: Vec<u8> = if frame < 20 {
            (0..160).map(|i| cobranza::audio::mulaw::encode(((i as f64 * 0.7).sin() * 9000.0) as i16)).collect()
        } else {
            vec![0xFF; 160]
        };
        inbound.send(Inbound::Audio { timestamp_ms: Some(*stream_ms), mulaw }).await.expect("session alive");
        *stream_ms += 20;
    }
}

/// Where an impatient caller talks over the bot instead of waiting for its question.
#[derive(Clone, Copy, PartialEq)]
enum SpeakOver {
    Nothing,
    /// Answers "sí, soy yo" as soon as the greeting starts.
    Greeting,
    /// Gives the payment offer as soon as the bot starts stating the balance.
    Balance,
}

/// The services of a call whose caller's words reach `heard`, with tone speech and the rules.
fn scripted_services(
    store: &Arc<dyn Store>,
    heard: &Arc<Mutex<VecDeque<String>>>,
    now: DateTime<Utc>,
    data_dir: &std::path::Path,
) -> CallServices {
    CallServices {
        store: Arc::clone(store),
        stt: Arc::new(ScriptedStt { turns: Arc::clone(heard) }),
        tts: Arc::new(ToneTts),
        interpreter: Arc::new(RuleInterpreter),
        clock: Clock::starting_at(now),
        config: Arc::new(Config::embedded()),
        data_dir: data_dir.to_path_buf(),
        bus: event_bus(),
    }
}

fn stream_start() -> StreamStart {
    StreamStart {
        stream_sid: "MZ1".into(),
        call_sid: "CA1".into(),
        account_sid: "AC1".into(),
        custom_parameters: Default::default(),
    }
}

async fn run_scripted_call(store: Arc<dyn Store>, sqlite: &SqliteStore) -> CallRun {
    run_caller(store, sqlite, SpeakOver::Nothing).await
}

async fn run_caller(store: Arc<dyn Store>, sqlite: &SqliteStore, speak_over: SpeakOver) -> CallRun {
    let dir = tempfile::tempdir().expect("tempdir");
    let portfolio = parse_portfolio_bytes(SAMPLE_PORTFOLIO_NAME, SAMPLE_PORTFOLIO).expect("fixture parses");
    store.import_portfolio(&portfolio.rows).await.expect("fixture imports");
    let account = store.account_by_debtor(&DebtorId("MX-0001".into())).await.expect("read").expect("MX-0001");
    let now = Utc.with_ymd_and_hms(2026, 12, 2, 16, 0, 0).single().expect("instant");
    let attempt_id = store.create_attempt(&NewAttempt::outbound(&account, now)).await.expect("attempt");
    let attempt = store.attempt(attempt_id).await.expect("read").expect("attempt");

    // What the caller says reaches the scripted speech-to-text as they say it.
    let heard = Arc::new(Mutex::new(VecDeque::new()));
    let services = scripted_services(&store, &heard, now, dir.path());
    let start = stream_start();
    let (inbound, inbound_receiver) = mpsc::channel(4096);
    let (outbound_sender, mut outbound) = mpsc::channel(4096);
    let call = tokio::spawn(run_call(services, start, attempt, inbound_receiver, outbound_sender));

    let mut observed = Vec::new();
    let mut stream_ms = 0;
    let mut keyed_identity = false;
    let mut greeted = false;
    while let Some(message) = outbound.recv().await {
        let audio = matches!(message, Outbound::Audio(_));
        if speak_over == SpeakOver::Greeting && audio && !greeted {
            greeted = true;
            heard.lock().expect("lock").push_back("Sí, soy yo.".to_string());
            speak(&inbound, &mut stream_ms).await;
        }
        if speak_over == SpeakOver::Balance && audio && keyed_identity {
            keyed_identity = false;
            let offer = "Voy a pagar el total, cuatro mil quinientos pesos, el viernes.";
            heard.lock().expect("lock").push_back(offer.to_string());
            speak(&inbound, &mut stream_ms).await;
        }
        let promises_stored = sqlite.promises_for_attempt(attempt_id).await.expect("read").len();
        observed.push(Observed { message: message.clone(), promises_stored });
        match message {
            Outbound::Mark(name) => {
                inbound.send(Inbound::MarkPlayed(name.clone())).await.expect("session alive");
                let key = name.split_once(':').map_or("", |(_, key)| key);
                let answered_already = speak_over == SpeakOver::Greeting && key == "greeting";
                match cooperative_caller(key).filter(|_| !answered_already) {
                    Some(CallerTurn::Say(text)) => {
                        heard.lock().expect("lock").push_back(text.to_string());
                        speak(&inbound, &mut stream_ms).await;
                    }
                    Some(CallerTurn::Keys(keys)) => {
                        for key in keys.chars() {
                            inbound.send(Inbound::Dtmf(key)).await.expect("session alive");
                        }
                        keyed_identity = true;
                    }
                    None => {}
                }
            }
            Outbound::Hangup => break,
            Outbound::Audio(_) | Outbound::Clear => {}
        }
    }
    call.await.expect("call task").expect("call runs");
    let attempt = sqlite.attempt(attempt_id).await.expect("read").expect("attempt");
    CallRun { observed, attempt }
}

fn marks(run: &CallRun) -> Vec<String> {
    run.observed
        .iter()
        .filter_map(|o| match &o.message {
            Outbound::Mark(name) => Some(name.split_once(':').map_or(name.clone(), |(_, key)| key.to_string())),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promise_stored_before_confirmation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite = SqliteStore::open(&dir.path().join("cobranza.db")).await.expect("store");
    let slow = WrappedStore(
        SqliteStore::open(&dir.path().join("cobranza.db")).await.expect("store"),
        PromiseWrites::Slow(Duration::from_millis(300)),
    );
    let run = run_scripted_call(Arc::new(slow), &sqlite).await;

    let keys = marks(&run);
    assert!(keys.contains(&"promise_confirmed".to_string()), "{keys:?}");
    // Every frame after the read-back's mark belongs to phrases said after the caller agreed:
    // each one must find the promise already stored.
    let read_back = run
        .observed
        .iter()
        .position(|o| matches!(&o.message, Outbound::Mark(name) if name.ends_with(":read_back")))
        .expect("read-back was said");
    let after: Vec<&Observed> =
        run.observed[read_back + 1..].iter().filter(|o| matches!(o.message, Outbound::Audio(_))).collect();
    assert!(!after.is_empty());
    assert!(after.iter().all(|o| o.promises_stored == 1));
    assert_eq!(run.attempt.disposition, Some(Disposition::PromiseToPay));
    assert!(run.attempt.right_party_contact);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_promise_write_is_never_confirmed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite = SqliteStore::open(&dir.path().join("cobranza.db")).await.expect("store");
    let failing =
        WrappedStore(SqliteStore::open(&dir.path().join("cobranza.db")).await.expect("store"), PromiseWrites::Fail);
    let run = run_scripted_call(Arc::new(failing), &sqlite).await;

    let keys = marks(&run);
    assert!(!keys.contains(&"promise_confirmed".to_string()), "{keys:?}");
    assert!(keys.contains(&"promise_store_failed".to_string()), "{keys:?}");
    assert_eq!(run.attempt.disposition, Some(Disposition::StoreFailed));
    assert!(sqlite.promises_for_attempt(run.attempt.id).await.expect("read").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bot_line_recorded_on_mark_echo() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite = SqliteStore::open(&dir.path().join("cobranza.db")).await.expect("store");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("cobranza.db")).await.expect("store"));
    let run = run_scripted_call(store, &sqlite).await;

    let transcript = sqlite.transcript(run.attempt.id).await.expect("read");
    let speakers: Vec<Speaker> = transcript.iter().map(|line| line.speaker).collect();
    assert_eq!(speakers.first(), Some(&Speaker::Bot));
    let debtor_lines: Vec<&str> =
        transcript.iter().filter(|l| l.speaker == Speaker::Debtor).map(|l| l.text.as_str()).collect();
    assert_eq!(
        debtor_lines,
        vec![
            "Sí, soy yo.",
            "[DTMF ••••]",
            "Voy a pagar el total, cuatro mil quinientos pesos, el viernes.",
            "Sí, es correcto."
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn speaking_over_bot_clears_playback() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite = SqliteStore::open(&dir.path().join("cobranza.db")).await.expect("store");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("cobranza.db")).await.expect("store"));
    let run = run_caller(store, &sqlite, SpeakOver::Balance).await;

    let clears = run.observed.iter().filter(|o| o.message == Outbound::Clear).count();
    assert_eq!(clears, 1);
    let keys = marks(&run);
    assert!(!keys.contains(&"state_debt".to_string()), "{keys:?}");
    assert!(!keys.contains(&"offer_full_payment".to_string()), "{keys:?}");
    assert!(keys.contains(&"promise_confirmed".to_string()), "{keys:?}");
    assert_eq!(run.attempt.disposition, Some(Disposition::PromiseToPay));

    // The cleared balance statement was never heard, so it is not in the transcript.
    let transcript = sqlite.transcript(run.attempt.id).await.expect("read");
    assert!(transcript.iter().all(|line| !line.text.contains("saldo") && !line.text.contains("adeudo de")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn greeting_is_not_interruptible() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite = SqliteStore::open(&dir.path().join("cobranza.db")).await.expect("store");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("cobranza.db")).await.expect("store"));
    let run = run_caller(store, &sqlite, SpeakOver::Greeting).await;

    assert_eq!(run.observed.iter().filter(|o| o.message == Outbound::Clear).count(), 0);
    assert_eq!(marks(&run).first().map(String::as_str), Some("greeting"));
    let transcript = sqlite.transcript(run.attempt.id).await.expect("read");
    assert!(transcript.iter().any(|line| line.speaker == Speaker::Bot && line.text.contains("asistente virtual")));
    assert_eq!(run.attempt.disposition, Some(Disposition::PromiseToPay));
}

#[async_trait]
impl cobranza::scoring::store::ScoreStore for WrappedStore {
    async fn debt_histories(
        &self,
        as_of: chrono::NaiveDate,
        window_days: u32,
        debtor: Option<&DebtorId>,
    ) -> Result<Vec<cobranza::scoring::store::DebtHistory>, StoreError> {
        self.0.debt_histories(as_of, window_days, debtor).await
    }
    async fn save_model(&self, model: &cobranza::scoring::store::StoredModel) -> Result<(), StoreError> {
        self.0.save_model(model).await
    }
    async fn latest_model(&self) -> Result<Option<cobranza::scoring::store::StoredModel>, StoreError> {
        self.0.latest_model().await
    }
    async fn save_scores(&self, scores: &[cobranza::scoring::store::DebtorScore]) -> Result<(), StoreError> {
        self.0.save_scores(scores).await
    }
    async fn replace_all_scores(&self, scores: &[cobranza::scoring::store::DebtorScore]) -> Result<(), StoreError> {
        self.0.replace_all_scores(scores).await
    }
    async fn debtor_score(
        &self,
        debtor_id: &DebtorId,
    ) -> Result<Option<cobranza::scoring::store::DebtorScore>, StoreError> {
        self.0.debtor_score(debtor_id).await
    }
    async fn dial_queue(&self, limit: u32) -> Result<Vec<cobranza::scoring::store::DebtorScore>, StoreError> {
        self.0.dial_queue(limit).await
    }
}

/// Runs the cooperative caller's first turns on a campaign attempt in `segment` and returns the
/// prompt keys of the bot's phrases up to its first offer.
async fn first_offer_in_segment(segment: &str) -> Vec<String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("cobranza.db");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).await.expect("store"));
    let portfolio = parse_portfolio_bytes(SAMPLE_PORTFOLIO_NAME, SAMPLE_PORTFOLIO).expect("fixture parses");
    store.import_portfolio(&portfolio.rows).await.expect("fixture imports");
    let account = store.account_by_debtor(&DebtorId("MX-0001".into())).await.expect("read").expect("MX-0001");
    let now = Utc.with_ymd_and_hms(2026, 12, 2, 16, 0, 0).single().expect("instant");
    let attempt_id = store.create_attempt(&NewAttempt::outbound(&account, now)).await.expect("attempt");
    // The dialer writes the segment with a campaign's attempt; this test writes it directly.
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display())).await.expect("pool");
    sqlx::query("UPDATE attempts SET segment = $1 WHERE id = $2")
        .bind(segment)
        .bind(attempt_id.0)
        .execute(&pool)
        .await
        .expect("segment written");
    let attempt = store.attempt(attempt_id).await.expect("read").expect("attempt");
    assert_eq!(attempt.segment.as_deref(), Some(segment));

    let heard = Arc::new(Mutex::new(VecDeque::new()));
    let services = scripted_services(&store, &heard, now, dir.path());
    let start = stream_start();
    let (inbound, inbound_receiver) = mpsc::channel(4096);
    let (outbound_sender, mut outbound) = mpsc::channel(4096);
    let call = tokio::spawn(run_call(services, start, attempt, inbound_receiver, outbound_sender));

    let mut keys = Vec::new();
    let mut stream_ms = 0;
    while let Some(message) = outbound.recv().await {
        let Outbound::Mark(name) = message else { continue };
        inbound.send(Inbound::MarkPlayed(name.clone())).await.expect("session alive");
        let key = name.split_once(':').map_or("", |(_, key)| key).to_string();
        keys.push(key.clone());
        if key.starts_with("offer_") {
            break;
        }
        match cooperative_caller(&key) {
            Some(CallerTurn::Say(text)) => {
                heard.lock().expect("lock").push_back(text.to_string());
                speak(&inbound, &mut stream_ms).await;
            }
            Some(CallerTurn::Keys(digits)) => {
                for digit in digits.chars() {
                    inbound.send(Inbound::Dtmf(digit)).await.expect("session alive");
                }
            }
            None => {}
        }
    }
    // The caller hangs up after the offer.
    drop(inbound);
    let _ = call.await.expect("call task");
    keys
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn segment_strategy_sets_first_offer() {
    // Recovery for small balances offers a settlement or a partial payment, never the full
    // balance first.
    let keys = first_offer_in_segment("high_risk.recovery.small").await;
    assert_eq!(keys.last().map(String::as_str), Some("offer_settlement"), "{keys:?}");
    // An early reminder starts from the full balance.
    let keys = first_offer_in_segment("low_risk.early.small").await;
    assert_eq!(keys.last().map(String::as_str), Some("offer_full_payment"), "{keys:?}");
}
