//! The media path of one call on tokio's paused clock: marks, `clear`, barge-in, backchannels,
//! protected disclosures, the heard part of a cut phrase, idle reprompts and the goodbye.
//!
//! The session runs on its own channels against a simulated carrier that plays frames in real
//! time (20 ms each), echoes a mark when the audio queued before it has played, and on `clear`
//! drops its buffer and echoes every pending mark at once, as Twilio does. Store reads and writes
//! go to memory so no thread outside the runtime keeps the paused clock from advancing.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use tokio::sync::mpsc;
use tokio::time::Instant;

use cobranza::call::{event_bus, run_call, CallEvent, CallServices};
use cobranza::clock::Clock;
use cobranza::collections::history;
use cobranza::collections::import::{parse_portfolio_bytes, PortfolioRow};
use cobranza::collections::model::*;
use cobranza::collections::sqlite::SqliteStore;
use cobranza::collections::store::ImportCounts;
use cobranza::collections::{Attempt, AttemptOutcome, NewAttempt, Store, StoreError, StoredPromise};
use cobranza::config::Config;
use cobranza::demo::{SAMPLE_PORTFOLIO, SAMPLE_PORTFOLIO_NAME};
use cobranza::dialog::nlu::InterpretContext;
use cobranza::dialog::{Interpretation, Interpreter, Language, RuleInterpreter};
use cobranza::kpi::compliance::{CheckCounts, CheckScope, ComplianceFilter, ComplianceStore, LedgerCounts};
use cobranza::policy::ContactPolicy;
use cobranza::kpi::store::{KpiRow, KpiStatement, KpiStore};
use cobranza::speech::stt::{SpeechToText, SttEvent, SttInput, SttStream};
use cobranza::speech::tts::{TextToSpeech, TtsStream};
use cobranza::speech::SpeechError;
use cobranza::telephony::{Inbound, Outbound, StreamStart};

mod fake_llm;
mod support;
use cobranza::llm::{ChatClient, ChatSettings, LlmInterpreter, LlmInterpreterSettings};
use fake_llm::{Ending, FakeLlm, Reply};
use support::{ScriptedStt, NO_TRANSCRIPT};

/// Samples of speech per character of text: 10 ms, so a phrase's length follows from its text.
const SAMPLES_PER_CHAR: usize = 80;

/// Text-to-speech that renders each character as `samples_per_char` of a quiet tone.
struct ToneTts {
    samples_per_char: usize,
}

#[async_trait]
impl TextToSpeech for ToneTts {
    async fn synthesize(&self, text: &str, _language: Language) -> Result<TtsStream, SpeechError> {
        let (sender, stream) = mpsc::channel(1);
        let samples = text.chars().count() * self.samples_per_char;
        let tone: Vec<i16> = (0..samples).map(|i| ((i as f64 * 0.3).sin() * 3000.0) as i16).collect();
        sender.send(Ok(tone)).await.expect("receiver alive");
        Ok(stream)
    }
}

/// The store as these tests need it: the account read once from SQLite, writes kept in memory.
struct MemoryStore {
    account: Account,
    transcript: Mutex<Vec<TranscriptLine>>,
    outcome: Mutex<Option<AttemptOutcome>>,
    promises: Mutex<Vec<Promise>>,
}

fn unused() -> StoreError {
    StoreError::Corrupt("not used by the media tests".into())
}

#[async_trait]
impl ComplianceStore for MemoryStore {
    async fn compliance_counts(
        &self,
        _policy: &ContactPolicy,
        _filter: &ComplianceFilter,
    ) -> Result<LedgerCounts, StoreError> {
        Err(unused())
    }

    async fn check_compliance(&self, _policy: &ContactPolicy, _scope: CheckScope) -> Result<CheckCounts, StoreError> {
        Err(unused())
    }
}

/// The media tests place no campaign calls.
#[async_trait]
impl cobranza::campaign::store::CampaignStore for MemoryStore {
    async fn create_campaign(
        &self,
        _name: &str,
        _settings: &cobranza::campaign::CampaignSettings,
        _at: DateTime<Utc>,
    ) -> Result<cobranza::campaign::Campaign, StoreError> {
        Err(unused())
    }
    async fn campaign(&self, _name: &str) -> Result<Option<cobranza::campaign::Campaign>, StoreError> {
        Err(unused())
    }
    async fn campaigns(&self) -> Result<Vec<cobranza::campaign::Campaign>, StoreError> {
        Err(unused())
    }
    async fn set_campaign_status(
        &self,
        _name: &str,
        _status: cobranza::campaign::CampaignStatus,
        _at: DateTime<Utc>,
    ) -> Result<cobranza::campaign::Campaign, StoreError> {
        Err(unused())
    }
    async fn enrol_targets(
        &self,
        _campaign: &str,
        _targets: &[cobranza::campaign::store::NewTarget],
    ) -> Result<usize, StoreError> {
        Err(unused())
    }
    async fn follow_up_broken_promises(
        &self,
        _campaign: &str,
        _delay: chrono::Duration,
        _now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        Err(unused())
    }
    async fn claim_targets(
        &self,
        _claim: &cobranza::campaign::store::Claim<'_>,
    ) -> Result<Vec<cobranza::campaign::store::Claimed>, StoreError> {
        Err(unused())
    }
    async fn active_leases(&self, _campaign: &str) -> Result<u32, StoreError> {
        Err(unused())
    }
    async fn renew_leases(&self, _node: &str, _until: DateTime<Utc>) -> Result<u64, StoreError> {
        Err(unused())
    }
    async fn ended_leases(&self, _now: DateTime<Utc>) -> Result<Vec<cobranza::campaign::store::EndedLease>, StoreError> {
        Err(unused())
    }
    async fn release_lease(
        &self,
        _lease: &cobranza::campaign::store::EndedLease,
        _next: Option<DateTime<Utc>>,
        _now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Err(unused())
    }
    async fn record_call_progress(
        &self,
        _event: &cobranza::campaign::store::CallProgressEvent,
    ) -> Result<Option<(AttemptId, String)>, StoreError> {
        Err(unused())
    }
    async fn record_answered_by(&self, _call_sid: &str, _answered_by: &str) -> Result<Option<AttemptId>, StoreError> {
        Err(unused())
    }
    async fn carrier_report(
        &self,
        _attempt_id: AttemptId,
    ) -> Result<Option<cobranza::campaign::store::CarrierReport>, StoreError> {
        Err(unused())
    }
    async fn campaign_target(
        &self,
        _campaign: &str,
        _debt_id: cobranza::collections::model::DebtId,
    ) -> Result<Option<cobranza::campaign::store::StoredTarget>, StoreError> {
        Err(unused())
    }
    async fn campaign_progress(
        &self,
        _campaign: &str,
        _now: DateTime<Utc>,
    ) -> Result<cobranza::campaign::CampaignProgress, StoreError> {
        Err(unused())
    }
    async fn policy_skips(
        &self,
        _from: DateTime<Utc>,
        _to: DateTime<Utc>,
        _campaign: Option<&str>,
    ) -> Result<Vec<(String, u64)>, StoreError> {
        Err(unused())
    }
}

#[async_trait]
impl KpiStore for MemoryStore {
    async fn kpi_rows(&self, _statement: &KpiStatement) -> Result<Vec<KpiRow>, StoreError> {
        Err(unused())
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn import_portfolio(&self, _rows: &[PortfolioRow]) -> Result<ImportCounts, StoreError> {
        Err(unused())
    }
    async fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        Ok(vec![self.account.clone()])
    }
    async fn account_by_debtor(&self, _id: &DebtorId) -> Result<Option<Account>, StoreError> {
        Ok(Some(self.account.clone()))
    }
    async fn account_by_debt(&self, _id: DebtId) -> Result<Option<Account>, StoreError> {
        Ok(Some(self.account.clone()))
    }
    async fn account_by_phone(&self, _phone: &str) -> Result<Option<Account>, StoreError> {
        Ok(Some(self.account.clone()))
    }
    async fn create_attempt(&self, _attempt: &NewAttempt) -> Result<AttemptId, StoreError> {
        Err(unused())
    }
    async fn attempt(&self, _id: AttemptId) -> Result<Option<Attempt>, StoreError> {
        Err(unused())
    }
    async fn set_call_sid(&self, _id: AttemptId, _sid: &CallSid) -> Result<(), StoreError> {
        Ok(())
    }
    async fn append_transcript(&self, _id: AttemptId, line: &TranscriptLine) -> Result<(), StoreError> {
        self.transcript.lock().expect("lock").push(line.clone());
        Ok(())
    }
    async fn transcript(&self, _id: AttemptId) -> Result<Vec<TranscriptLine>, StoreError> {
        Ok(self.transcript.lock().expect("lock").clone())
    }
    async fn store_promise(
        &self,
        _id: AttemptId,
        promise: &Promise,
        _at: DateTime<Utc>,
    ) -> Result<PromiseId, StoreError> {
        let mut promises = self.promises.lock().expect("lock");
        promises.push(promise.clone());
        Ok(PromiseId(promises.len() as i64))
    }
    async fn promises_for_attempt(&self, _id: AttemptId) -> Result<Vec<StoredPromise>, StoreError> {
        Err(unused())
    }
    async fn record_payment_claim(
        &self,
        _id: AttemptId,
        _c: &PaymentClaim,
        _at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        Ok(())
    }
    async fn record_callback_request(
        &self,
        _id: AttemptId,
        _when: Option<DateTime<Utc>>,
        _at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        Ok(())
    }
    async fn record_opt_out(&self, _id: &DebtorId, _channel: &str, _at: DateTime<Utc>) -> Result<(), StoreError> {
        Ok(())
    }
    async fn record_dispute(&self, _id: AttemptId, _at: DateTime<Utc>) -> Result<(), StoreError> {
        Ok(())
    }
    async fn disputed(&self, _debt: DebtId) -> Result<bool, StoreError> {
        Ok(false)
    }
    async fn record_hardship(&self, _id: AttemptId, _person: bool, _at: DateTime<Utc>) -> Result<(), StoreError> {
        Ok(())
    }
    async fn opted_out(&self, _id: &DebtorId, _channel: &str) -> Result<bool, StoreError> {
        Ok(false)
    }
    async fn finish_attempt(&self, _id: AttemptId, outcome: &AttemptOutcome) -> Result<(), StoreError> {
        *self.outcome.lock().expect("lock") = Some(outcome.clone());
        Ok(())
    }
    async fn attempt_costs(&self, _id: AttemptId) -> Result<Vec<cobranza::cost::CostLine>, StoreError> {
        Ok(self.outcome.lock().expect("lock").as_ref().map(|outcome| outcome.costs.clone()).unwrap_or_default())
    }
    async fn attempts_between(&self, _from: DateTime<Utc>, _to: DateTime<Utc>) -> Result<Vec<Attempt>, StoreError> {
        Err(unused())
    }
    async fn promises_between(&self, _f: DateTime<Utc>, _t: DateTime<Utc>) -> Result<Vec<StoredPromise>, StoreError> {
        Err(unused())
    }
}

/// The media tests have no unidentified inbound calls.
#[async_trait]
impl cobranza::collections::InboundStore for MemoryStore {
    async fn account_by_reference_digits(&self, _digits: &str) -> Result<Option<Account>, StoreError> {
        Err(unused())
    }
    async fn create_inbound_call(
        &self,
        _call: &cobranza::collections::NewInboundCall,
    ) -> Result<cobranza::collections::InboundCallId, StoreError> {
        Err(unused())
    }
    async fn inbound_call(
        &self,
        _id: cobranza::collections::InboundCallId,
    ) -> Result<Option<cobranza::collections::InboundCall>, StoreError> {
        Err(unused())
    }
    async fn append_inbound_transcript(
        &self,
        _id: cobranza::collections::InboundCallId,
        _line: &TranscriptLine,
    ) -> Result<(), StoreError> {
        Err(unused())
    }
    async fn inbound_transcript(
        &self,
        _id: cobranza::collections::InboundCallId,
    ) -> Result<Vec<TranscriptLine>, StoreError> {
        Err(unused())
    }
    async fn identify_inbound_call(
        &self,
        _id: cobranza::collections::InboundCallId,
        _attempt: &NewAttempt,
    ) -> Result<AttemptId, StoreError> {
        Err(unused())
    }
    async fn finish_inbound_call(
        &self,
        _id: cobranza::collections::InboundCallId,
        _outcome: &cobranza::collections::InboundCallOutcome,
    ) -> Result<(), StoreError> {
        Err(unused())
    }
}

/// The media tests read and write no history.
#[async_trait]
impl history::HistoryStore for MemoryStore {
    async fn import_portfolio_as_of(
        &self,
        _rows: &[PortfolioRow],
        _as_of: chrono::NaiveDate,
    ) -> Result<ImportCounts, StoreError> {
        Err(unused())
    }
    async fn debt_refs(&self) -> Result<Vec<history::DebtRef>, StoreError> {
        Err(unused())
    }
    async fn payments_with_refs(&self, _refs: &[String]) -> Result<Vec<history::StoredPayment>, StoreError> {
        Err(unused())
    }
    async fn insert_payments(&self, _payments: &[history::Payment], _at: DateTime<Utc>) -> Result<usize, StoreError> {
        Err(unused())
    }
    async fn payments_of_debt(&self, _debt: DebtId) -> Result<Vec<history::Payment>, StoreError> {
        Err(unused())
    }
    async fn add_do_not_call(&self, _entries: &[history::DoNotCallEntry]) -> Result<usize, StoreError> {
        Err(unused())
    }
    async fn on_do_not_call(&self, _phone: &str) -> Result<bool, StoreError> {
        Err(unused())
    }
    async fn do_not_call_list(&self) -> Result<Vec<history::DoNotCallEntry>, StoreError> {
        Err(unused())
    }
    async fn write_snapshots(&self, _snapshots: &[history::DebtSnapshot]) -> Result<usize, StoreError> {
        Err(unused())
    }
    async fn snapshots_as_of(&self, _day: chrono::NaiveDate) -> Result<Vec<history::DebtSnapshot>, StoreError> {
        Err(unused())
    }
    async fn snapshots_between(
        &self,
        _from: chrono::NaiveDate,
        _to: chrono::NaiveDate,
    ) -> Result<Vec<history::DebtSnapshot>, StoreError> {
        Err(unused())
    }
    async fn insert_history_attempts(&self, _attempts: &[history::HistoryAttempt]) -> Result<usize, StoreError> {
        Err(unused())
    }
    async fn attempts_with_call_sids(&self, _sids: &[String]) -> Result<Vec<history::AttemptRef>, StoreError> {
        Err(unused())
    }
    async fn insert_history_promises(&self, _promises: &[history::HistoryPromise]) -> Result<usize, StoreError> {
        Err(unused())
    }
    async fn settle_promises(
        &self,
        _scope: history::SettleScope<'_>,
        _grace_days: u32,
        _as_of: chrono::NaiveDate,
    ) -> Result<history::SettlementCounts, StoreError> {
        Err(unused())
    }
    async fn promises_with_status(
        &self,
        _status: history::PromiseStatus,
        _from: chrono::NaiveDate,
        _to: chrono::NaiveDate,
    ) -> Result<Vec<history::SettledPromise>, StoreError> {
        Err(unused())
    }
    async fn settled_promises_of_debt(&self, _debt: DebtId) -> Result<Vec<history::SettledPromise>, StoreError> {
        Err(unused())
    }
}

/// What the simulated carrier saw or did, at a time since the call started.
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Sent(Outbound),
    Echoed(String),
}

type Log = Arc<Mutex<Vec<(Duration, Seen)>>>;

/// The carrier's side: plays each frame for 20 ms after whatever it already holds, echoes marks
/// when their audio has played, and on `clear` drops its buffer and echoes pending marks at once.
async fn carrier(mut outbound: mpsc::Receiver<Outbound>, inbound: mpsc::Sender<Inbound>, log: Log, start: Instant) {
    let far = Instant::now() + Duration::from_secs(86_400);
    let mut playing_until = Instant::now();
    let mut marks: VecDeque<(String, Instant)> = VecDeque::new();
    loop {
        let next_echo = marks.front().map(|(_, at)| *at);
        tokio::select! {
            message = outbound.recv() => {
                let Some(message) = message else { return };
                let now = Instant::now();
                log.lock().expect("lock").push((now - start, Seen::Sent(message.clone())));
                match message {
                    Outbound::Audio(_) => playing_until = playing_until.max(now) + Duration::from_millis(20),
                    Outbound::Mark(name) => marks.push_back((name, playing_until.max(now))),
                    Outbound::Clear => {
                        playing_until = now;
                        for (name, _) in marks.drain(..) {
                            log.lock().expect("lock").push((now - start, Seen::Echoed(name.clone())));
                            let _ = inbound.send(Inbound::MarkPlayed(name)).await;
                        }
                    }
                    Outbound::Hangup => return,
                }
            }
            () = tokio::time::sleep_until(next_echo.unwrap_or(far)), if next_echo.is_some() => {
                let (name, _) = marks.pop_front().expect("a mark is due");
                log.lock().expect("lock").push((Instant::now() - start, Seen::Echoed(name.clone())));
                let _ = inbound.send(Inbound::MarkPlayed(name)).await;
            }
        }
    }
}

/// One call under test, driven by a caller that sends a 20 ms frame of audio at a time.
struct Call {
    inbound: mpsc::Sender<Inbound>,
    heard: Arc<Mutex<VecDeque<String>>>,
    log: Log,
    store: Arc<MemoryStore>,
    events: tokio::sync::broadcast::Receiver<CallEvent>,
    task: tokio::task::JoinHandle<()>,
    stream_ms: u64,
    start: Instant,
}

/// Reads MX-0001's account and a new attempt from a real SQLite store. It runs on a runtime of
/// its own on another thread, because the store's pool needs the real clock.
fn fixture() -> (Account, Attempt, tempfile::TempDir) {
    std::thread::spawn(|| {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        runtime.block_on(async {
            let dir = tempfile::tempdir().expect("tempdir");
            let sqlite = SqliteStore::open(&dir.path().join("cobranza.db")).await.expect("store");
            let portfolio = parse_portfolio_bytes(SAMPLE_PORTFOLIO_NAME, SAMPLE_PORTFOLIO).expect("fixture parses");
            sqlite.import_portfolio(&portfolio.rows).await.expect("fixture imports");
            let account = sqlite.account_by_debtor(&DebtorId("MX-0001".into())).await.expect("read").expect("MX-0001");
            let attempt_id =
                sqlite.create_attempt(&NewAttempt::outbound(&account, call_time())).await.expect("attempt");
            let attempt = sqlite.attempt(attempt_id).await.expect("read").expect("attempt");
            (account, attempt, dir)
        })
    })
    .join()
    .expect("fixture thread")
}

fn call_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 2, 16, 0, 0).single().expect("instant")
}

/// Starts a call to MX-0001 with the embedded configuration changed by `configure`. Tests run on
/// a runtime started paused, so every timer fires on the exact millisecond it was set for.
async fn start_call(configure: impl FnOnce(&mut Config)) -> Call {
    start_call_speaking(SAMPLES_PER_CHAR, configure).await
}

/// Starts a call as [`start_call`] does, with text-to-speech rendering `samples_per_char`
/// samples for each character.
async fn start_call_speaking(samples_per_char: usize, configure: impl FnOnce(&mut Config)) -> Call {
    start_call_with(Parts { samples_per_char, ..Parts::default() }, configure).await
}

/// The stand-ins a call under test runs with.
struct Parts {
    samples_per_char: usize,
    interpreter: Arc<dyn Interpreter>,
    /// Speech-to-text: the scripted one reading [`Call::say`]'s text when `None`.
    stt: Option<Arc<dyn SpeechToText>>,
}

impl Default for Parts {
    fn default() -> Self {
        Parts { samples_per_char: SAMPLES_PER_CHAR, interpreter: Arc::new(RuleInterpreter), stt: None }
    }
}

async fn start_call_with(parts: Parts, configure: impl FnOnce(&mut Config)) -> Call {
    let Parts { samples_per_char, interpreter, stt } = parts;
    let (account, attempt, dir) = fixture();
    let now = call_time();
    let store = Arc::new(MemoryStore {
        account,
        transcript: Mutex::new(Vec::new()),
        outcome: Mutex::new(None),
        promises: Mutex::new(Vec::new()),
    });
    let mut config = Config::embedded();
    configure(&mut config);
    let heard = Arc::new(Mutex::new(VecDeque::new()));
    let bus = event_bus();
    let events = bus.subscribe();
    let services = CallServices {
        store: Arc::clone(&store) as Arc<dyn Store>,
        stt: stt.unwrap_or_else(|| Arc::new(ScriptedStt { turns: Arc::clone(&heard) })),
        tts: Arc::new(ToneTts { samples_per_char }),
        interpreter,
        clock: Clock::starting_at(now),
        config: Arc::new(config),
        data_dir: dir.keep(),
        bus,
    };
    let start = StreamStart {
        stream_sid: "MZ1".into(),
        call_sid: "CA1".into(),
        account_sid: "AC1".into(),
        custom_parameters: Default::default(),
    };
    let (inbound, inbound_receiver) = mpsc::channel(4096);
    let (outbound_sender, outbound) = mpsc::channel(4096);
    let log: Log = Arc::new(Mutex::new(Vec::new()));
    let started = Instant::now();
    tokio::spawn(carrier(outbound, inbound.clone(), Arc::clone(&log), started));
    let task = tokio::spawn(async move {
        run_call(services, start, attempt, inbound_receiver, outbound_sender).await.expect("call runs");
    });
    Call { inbound, heard, log, store, events, task, stream_ms: 0, start: started }
}

const SILENCE: u8 = 0xFF;

impl Call {
    /// Sends `ms` of caller audio, loud or silent, one 20 ms frame at a time in real time.
    async fn audio(&mut self, ms: u64, loud: bool) {
        for _ in 0..ms / 20 {
            let mulaw: Vec<u8> = if loud {
                (0..160).map(|i| cobranza::audio::mulaw::encode(((i as f64 * 0.7).sin() * 9000.0) as i16)).collect()
            } else {
                vec![SILENCE; 160]
            };
            let frame = Inbound::Audio { timestamp_ms: Some(self.stream_ms), mulaw };
            if self.inbound.send(frame).await.is_err() {
                return;
            }
            self.stream_ms += 20;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The caller speaks for `ms`; speech-to-text will hear `text`.
    async fn say(&mut self, text: &str, ms: u64) {
        self.heard.lock().expect("lock").push_back(text.to_string());
        self.audio(ms, true).await;
    }

    /// Sends silence until `condition` holds on the carrier's log; panics after `limit_ms`.
    async fn until(&mut self, limit_ms: u64, condition: impl Fn(&[(Duration, Seen)]) -> bool) {
        for _ in 0..limit_ms / 20 {
            if condition(&self.log.lock().expect("lock")) {
                return;
            }
            self.audio(20, false).await;
        }
        panic!("condition not met in {limit_ms} ms; carrier saw {:?}", self.summary());
    }

    /// Sends silence until the phrase after the `marks`-th mark has sent a few frames.
    async fn until_phrase_playing(&mut self, marks: usize) {
        self.until(30_000, move |log| frames_after_mark_count(log, marks) > 5).await;
    }

    /// Sends silence until the carrier echoed the mark of the phrase with this prompt key.
    async fn until_echoed(&mut self, key: &str) {
        let suffix = format!(":{key}");
        self.until(60_000, move |log| {
            log.iter().any(|(_, seen)| matches!(seen, Seen::Echoed(n) if n.ends_with(&suffix)))
        })
        .await;
    }

    /// Sends silence until the session ended, then returns what the store holds.
    async fn end(&mut self) -> (Vec<TranscriptLine>, AttemptOutcome) {
        for _ in 0..30_000 / 20 {
            if self.task.is_finished() {
                break;
            }
            self.audio(20, false).await;
        }
        assert!(self.task.is_finished(), "the call did not end; carrier saw {:?}", self.summary());
        let transcript = self.store.transcript.lock().expect("lock").clone();
        let outcome = self.store.outcome.lock().expect("lock").clone().expect("outcome stored");
        (transcript, outcome)
    }

    fn marks_sent(&self) -> Vec<String> {
        self.log
            .lock()
            .expect("lock")
            .iter()
            .filter_map(|(_, seen)| match seen {
                Seen::Sent(Outbound::Mark(name)) => Some(name.clone()),
                _ => None,
            })
            .collect()
    }

    fn clears(&self) -> usize {
        self.log.lock().expect("lock").iter().filter(|(_, seen)| *seen == Seen::Sent(Outbound::Clear)).count()
    }

    /// The carrier's log without audio frames, for failure messages.
    fn summary(&self) -> Vec<(u128, Seen)> {
        self.log
            .lock()
            .expect("lock")
            .iter()
            .filter(|(_, seen)| !matches!(seen, Seen::Sent(Outbound::Audio(_))))
            .map(|(at, seen)| (at.as_millis(), seen.clone()))
            .collect()
    }

    /// When the carrier saw `seen` first, in milliseconds since the call started.
    fn first_time(&self, matches: impl Fn(&Seen) -> bool) -> Option<u128> {
        self.log.lock().expect("lock").iter().find(|(_, seen)| matches(seen)).map(|(at, _)| at.as_millis())
    }

    fn elapsed_ms(&self) -> u128 {
        (Instant::now() - self.start).as_millis()
    }
}

/// Audio frames the carrier got after the `n`-th mark it got (all of them for `n` = 0).
fn frames_after_mark_count(log: &[(Duration, Seen)], n: usize) -> usize {
    let mut marks = 0;
    let mut frames = 0;
    for (_, seen) in log {
        match seen {
            Seen::Sent(Outbound::Mark(_)) => marks += 1,
            Seen::Sent(Outbound::Audio(_)) if marks == n => frames += 1,
            _ => {}
        }
    }
    frames
}

fn bot_lines(transcript: &[TranscriptLine]) -> Vec<String> {
    transcript.iter().filter(|line| line.speaker == Speaker::Bot).map(|line| line.text.clone()).collect()
}

fn debtor_lines(transcript: &[TranscriptLine]) -> Vec<String> {
    transcript.iter().filter(|line| line.speaker == Speaker::Debtor).map(|line| line.text.clone()).collect()
}

const GREETING: &str = "Hola, le saluda Sofía, asistente virtual de Servicios Andinos. Esta llamada es grabada. ¿Hablo con María Fernanda López Ruiz?";
const VERIFY: &str = "Gracias. Para proteger sus datos, dígame los últimos cuatro dígitos de su identificación oficial. También puede marcarlos en el teclado.";

/// Plays the greeting through and answers it, so the identity question is the next phrase.
async fn answer_greeting(call: &mut Call) {
    call.audio(200, false).await;
    call.until_echoed("greeting").await;
    call.say("Sí, soy yo.", 400).await;
    call.until_phrase_playing(1).await;
}

#[tokio::test(start_paused = true)]
async fn cleared_mark_echo_not_heard() {
    // A lead of 3 s puts the whole identity question and its mark at the carrier at once, so the
    // clear makes the carrier echo a mark whose audio did not play.
    let mut call = start_call(|config| config.call.pacing_lead_ms = 3_000).await;
    answer_greeting(&mut call).await;
    // 800 ms of speech over the identity question: an interruption.
    call.say("espere un momento", 800).await;
    call.until(2_000, |log| log.iter().any(|(_, s)| matches!(s, Seen::Echoed(n) if n == "2:verify_identity"))).await;
    assert_eq!(call.clears(), 1);
    let clear_at = call.first_time(|s| *s == Seen::Sent(Outbound::Clear)).expect("clear sent");
    let echo_at = call.first_time(|s| *s == Seen::Echoed("2:verify_identity".into())).expect("echoed");
    assert_eq!(echo_at, clear_at, "the carrier echoes pending marks at the clear");

    call.inbound.send(Inbound::Stop).await.expect("session alive");
    let (transcript, _) = call.end().await;
    let bot = bot_lines(&transcript);
    assert_eq!(bot[0], GREETING);
    assert!(!bot.contains(&VERIFY.to_string()), "{bot:?}");
}

#[tokio::test(start_paused = true)]
async fn cut_phrase_transcript_ends_at_clear() {
    let mut call = start_call(|_| {}).await;
    answer_greeting(&mut call).await;
    let started = call.elapsed_ms();
    call.say("espere un momento", 800).await;
    let clear_at = call.first_time(|s| *s == Seen::Sent(Outbound::Clear)).expect("clear sent");
    call.inbound.send(Inbound::Stop).await.expect("session alive");
    let (transcript, _) = call.end().await;

    // The identity question started playing before `started`; the clear went out 600 ms of
    // speech (plus the detector's 120 ms) later. At 10 ms a character, the words that fit in
    // the played time are the ones heard.
    assert!(clear_at > started);
    let bot = bot_lines(&transcript);
    assert_eq!(bot.len(), 2, "{bot:?}");
    // The bot paused 120 ms into the caller's speech, when the detector was sure of it; the
    // carrier still played the 120 ms it held. That is 260 ms of the question, 26 characters.
    assert_eq!(bot[1], "Gracias. Para proteger sus…");
}

#[tokio::test(start_paused = true)]
async fn clear_sent_with_empty_bot_queue() {
    // A lead of 3 s: the mouth hands the carrier a whole phrase at once, so it has nothing left
    // while the carrier is still playing it.
    let mut call = start_call(|config| config.call.pacing_lead_ms = 3_000).await;
    answer_greeting(&mut call).await;
    call.until(3_000, |log| matches!(log.last(), Some((_, Seen::Sent(Outbound::Mark(n)))) if n == "2:verify_identity"))
        .await;
    let echoed = call.first_time(|s| *s == Seen::Echoed("2:verify_identity".into()));
    assert_eq!(echoed, None, "still playing");
    call.say("espere un momento", 800).await;
    assert_eq!(call.clears(), 1);
    call.inbound.send(Inbound::Stop).await.expect("session alive");
    call.end().await;
}

#[tokio::test(start_paused = true)]
async fn backchannel_does_not_interrupt() {
    let mut call = start_call(|_| {}).await;
    answer_greeting(&mut call).await;
    call.say("ajá", 300).await;
    call.until_echoed("verify_identity").await;
    assert_eq!(call.clears(), 0);
    // Every frame of the question reached the carrier: 10 ms a character, in 20 ms frames.
    let frames = frames_after_mark_count(&call.log.lock().expect("lock"), 1);
    assert_eq!(frames, (VERIFY.chars().count() * SAMPLES_PER_CHAR).div_ceil(160));
    call.inbound.send(Inbound::Stop).await.expect("session alive");
    let (transcript, _) = call.end().await;
    assert_eq!(bot_lines(&transcript), [GREETING, VERIFY]);
    assert_eq!(debtor_lines(&transcript), ["Sí, soy yo.", "ajá"]);
}

#[tokio::test(start_paused = true)]
async fn short_question_interrupts() {
    let mut call = start_call(|_| {}).await;
    answer_greeting(&mut call).await;
    // As short as a backchannel, but it says something.
    call.say("¿quién habla?", 300).await;
    call.until(3_000, |log| log.iter().any(|(_, s)| *s == Seen::Sent(Outbound::Clear))).await;
    call.until_echoed("who_is_calling").await;
    assert_eq!(call.clears(), 1);
    call.inbound.send(Inbound::Stop).await.expect("session alive");
    let (transcript, _) = call.end().await;
    assert!(!bot_lines(&transcript).contains(&VERIFY.to_string()));
}

#[tokio::test(start_paused = true)]
async fn protected_disclosure_not_cut() {
    let mut call = start_call(|_| {}).await;
    call.audio(200, false).await;
    call.say("¿bueno? ¿quién es?", 1_000).await;
    call.until_echoed("greeting").await;
    assert_eq!(call.clears(), 0);
    call.inbound.send(Inbound::Stop).await.expect("session alive");
    let (transcript, _) = call.end().await;
    assert_eq!(bot_lines(&transcript)[0], GREETING);
}

#[tokio::test(start_paused = true)]
async fn cut_greeting_repeats_disclosure() {
    let mut call = start_call(|config| config.call.protect_disclosures = false).await;
    call.audio(200, false).await;
    call.say("sí, soy yo", 1_000).await;
    call.until_echoed("verify_identity").await;
    assert_eq!(call.clears(), 1);
    // The greeting was cut before its mark went out; the notice comes before the next question.
    assert_eq!(call.marks_sent(), ["2:disclosure", "3:verify_identity"]);
    call.inbound.send(Inbound::Stop).await.expect("session alive");
    let (transcript, _) = call.end().await;
    let bot = bot_lines(&transcript);
    assert_eq!(bot.len(), 3, "{bot:?}");
    assert!(bot[0].starts_with("Hola, le saluda"), "{bot:?}");
    assert!(bot[0].ends_with('…'), "{bot:?}");
    assert_eq!(
        bot[1],
        "Le recuerdo que soy Sofía, asistente virtual de Servicios Andinos, y que esta llamada es grabada."
    );
    assert_eq!(bot[2], VERIFY);
}

#[tokio::test(start_paused = true)]
async fn reprompt_counts_from_mark_echo() {
    let mut call = start_call(|config| config.call.reply_timeout_ms = 5_000).await;
    call.audio(200, false).await;
    call.until_echoed("greeting").await;
    call.until(10_000, |log| log.iter().any(|(_, s)| matches!(s, Seen::Sent(Outbound::Mark(n)) if n == "2:reprompt")))
        .await;
    let echoed = call.first_time(|s| *s == Seen::Echoed("1:greeting".into())).expect("echoed");
    let marks_before_reprompt = 1;
    let log = call.log.lock().expect("lock").clone();
    let reprompt_audio = log
        .iter()
        .scan(0, |marks, (at, seen)| {
            if matches!(seen, Seen::Sent(Outbound::Mark(_))) {
                *marks += 1;
            }
            Some((*marks, at, seen.clone()))
        })
        .find(|(marks, _, seen)| *marks == marks_before_reprompt && matches!(seen, Seen::Sent(Outbound::Audio(_))))
        .map(|(_, at, _)| at.as_millis())
        .expect("reprompt audio");
    assert_eq!(reprompt_audio - echoed, 5_000);
    call.inbound.send(Inbound::Stop).await.expect("session alive");
    call.end().await;
}

#[tokio::test(start_paused = true)]
async fn goodbye_plays_before_hangup() {
    let mut call = start_call(|config| {
        config.call.reply_timeout_ms = 1_000;
        config.dialog.max_reprompts = 0;
    })
    .await;
    let (transcript, outcome) = call.end().await;
    let goodbye_echo = call
        .first_time(|s| matches!(s, Seen::Echoed(n) if n.ends_with(":no_response_goodbye")))
        .expect("goodbye played");
    let hangup = call.first_time(|s| *s == Seen::Sent(Outbound::Hangup)).expect("hung up");
    assert!(hangup >= goodbye_echo);
    assert_eq!(outcome.disposition, Disposition::NoResponse);
    assert_eq!(
        bot_lines(&transcript).last().map(String::as_str),
        Some("No logro escucharle. Le llamaremos en otro momento. Hasta luego.")
    );
}

#[tokio::test(start_paused = true)]
async fn spoken_and_keyed_digits_join() {
    let mut call = start_call(|_| {}).await;
    answer_greeting(&mut call).await;
    call.until_echoed("verify_identity").await;
    // MX-0001's last four are 1234: two said, two keyed.
    call.say("uno dos", 500).await;
    call.audio(800, false).await;
    for digit in ['3', '4'] {
        call.inbound.send(Inbound::Dtmf(digit)).await.expect("session alive");
    }
    call.until_echoed("offer_full_payment").await;
    call.inbound.send(Inbound::Stop).await.expect("session alive");
    let (transcript, outcome) = call.end().await;
    assert!(outcome.right_party_contact);
    assert_eq!(debtor_lines(&transcript), ["Sí, soy yo.", "[••]", "[DTMF ••]"]);
}

#[tokio::test(start_paused = true)]
async fn turn_timings_reported() {
    let mut call = start_call(|_| {}).await;
    answer_greeting(&mut call).await;
    call.until_echoed("verify_identity").await;
    call.inbound.send(Inbound::Stop).await.expect("session alive");
    call.end().await;
    let mut timings = Vec::new();
    while let Ok(event) = call.events.try_recv() {
        if let CallEvent::TurnTimings { timings: turn, .. } = event {
            timings.push(turn);
        }
    }
    assert_eq!(timings.len(), 1);
    let turn = timings[0];
    // Speech-to-text, the dialog and text-to-speech answer at once here; the first frame goes
    // out at once and the mark comes back when the whole question has played (1 380 ms).
    assert_eq!(turn.final_transcript_ms, Some(0));
    assert_eq!(turn.decision_ms, Some(0));
    assert_eq!(turn.first_audio_ms, Some(0));
    assert_eq!(turn.first_frame_ms, Some(0));
    assert_eq!(turn.first_mark_ms, Some((VERIFY.chars().count() as u64 * 10).div_ceil(20) * 20));
}

#[tokio::test(start_paused = true)]
async fn odd_inbound_chunk_sizes_are_heard() {
    let mut call = start_call(|_| {}).await;
    call.audio(200, false).await;
    call.until_echoed("greeting").await;
    // The carrier does not promise 160-byte chunks: 400 ms of speech in 57-byte pieces.
    call.heard.lock().expect("lock").push_back("Sí, soy yo.".to_string());
    let loud: Vec<u8> =
        (0..3_200).map(|i| cobranza::audio::mulaw::encode(((i as f64 * 0.7).sin() * 9000.0) as i16)).collect();
    let mut sent = 0;
    for piece in loud.chunks(57) {
        let frame = Inbound::Audio { timestamp_ms: Some(call.stream_ms + sent / 8), mulaw: piece.to_vec() };
        call.inbound.send(frame).await.expect("session alive");
        sent += piece.len() as u64;
        tokio::time::sleep(Duration::from_micros(7_125)).await;
    }
    call.stream_ms += 400;
    call.until_echoed("verify_identity").await;
    call.inbound.send(Inbound::Stop).await.expect("session alive");
    let (transcript, _) = call.end().await;
    assert_eq!(debtor_lines(&transcript), ["Sí, soy yo."]);
    assert_eq!(bot_lines(&transcript), [GREETING, VERIFY]);
}

fn mark_sent_with_suffix(log: &[(Duration, Seen)], suffix: &str) -> bool {
    log.iter().any(|(_, seen)| matches!(seen, Seen::Sent(Outbound::Mark(n)) if n.ends_with(suffix)))
}

/// Sends silence for up to `limit_ms`, stopping early once a mark ending in `suffix` was sent.
/// Returns whether it was.
async fn wait_for_mark(call: &mut Call, limit_ms: u64, suffix: &str) -> bool {
    for _ in 0..limit_ms / 20 {
        if mark_sent_with_suffix(&call.log.lock().expect("lock"), suffix) {
            return true;
        }
        call.audio(20, false).await;
    }
    false
}

#[tokio::test(start_paused = true)]
async fn stray_key_keeps_reprompts() {
    // Control: with no key press the reprompt comes 2 s after the greeting's mark is echoed.
    let mut control = start_call(|config| config.call.reply_timeout_ms = 2_000).await;
    control.audio(200, false).await;
    control.until_echoed("greeting").await;
    assert!(wait_for_mark(&mut control, 4_000, ":reprompt").await, "control: {:?}", control.summary());
    control.inbound.send(Inbound::Stop).await.expect("session alive");
    control.end().await;

    // A key press while the bot waits for "¿Hablo con…?": the machine ignores the keypad in this
    // state and says nothing, so the wait for a reply starts again.
    let mut call = start_call(|config| config.call.reply_timeout_ms = 2_000).await;
    call.audio(200, false).await;
    call.until_echoed("greeting").await;
    call.inbound.send(Inbound::Dtmf('5')).await.expect("session alive");
    let reprompted = wait_for_mark(&mut call, 20_000, ":reprompt").await;
    let summary = call.summary();
    call.inbound.send(Inbound::Stop).await.expect("session alive");
    call.end().await;
    assert!(reprompted, "no reprompt 20 s after a stray key; carrier saw {summary:?}");
}

#[tokio::test(start_paused = true)]
async fn missing_transcript_resumes_bot() {
    let mut call = start_call(|_| {}).await;
    answer_greeting(&mut call).await;
    // 300 ms over the identity question: too short to cut it, so the bot pauses and waits for the
    // transcript to tell a backchannel from an interruption. The transcript never comes.
    call.say(NO_TRANSCRIPT, 300).await;
    let resumed = wait_for_mark(&mut call, 30_000, ":verify_identity").await;
    let summary = call.summary();
    call.inbound.send(Inbound::Stop).await.expect("session alive");
    call.end().await;
    assert!(resumed, "the identity question never finished within 30 s; carrier saw {summary:?}");
}

#[tokio::test(start_paused = true)]
async fn backchannel_at_question_end_reprompts() {
    // A lead of 400 ms models the default 120 ms lead plus the network round trip of the mark,
    // which is the window between the last frame going out and the echo coming back.
    let mut call = start_call(|config| {
        config.call.pacing_lead_ms = 400;
        config.call.reply_timeout_ms = 3_000;
    })
    .await;
    answer_greeting(&mut call).await;
    call.until(5_000, |log| matches!(log.last(), Some((_, Seen::Sent(Outbound::Mark(n)))) if n == "2:verify_identity"))
        .await;
    // "Ajá" as the question ends: speech starts before the echo and its end of turn comes after.
    call.say("ajá", 300).await;
    let reprompted = wait_for_mark(&mut call, 20_000, ":reprompt").await;
    let summary = call.summary();
    call.inbound.send(Inbound::Stop).await.expect("session alive");
    let (transcript, _) = call.end().await;
    assert_eq!(debtor_lines(&transcript), ["Sí, soy yo.", "ajá"]);
    assert!(reprompted, "no reprompt 20 s after the question ended; carrier saw {summary:?}");
}

/// Splits a stereo recording into its caller (left) and bot (right) channels.
fn read_recording(path: &str) -> (Vec<i16>, Vec<i16>) {
    let mut reader = hound::WavReader::open(path).expect("recording readable");
    let samples: Vec<i16> = reader.samples::<i16>().map(|sample| sample.expect("sample")).collect();
    let caller = samples.iter().step_by(2).copied().collect();
    let bot = samples.iter().skip(1).step_by(2).copied().collect();
    (caller, bot)
}

/// Mean absolute sample value of `channel` between two times in milliseconds.
fn loudness(channel: &[i16], from_ms: usize, to_ms: usize) -> f64 {
    let part = &channel[(from_ms * 8).min(channel.len())..(to_ms * 8).min(channel.len())];
    part.iter().map(|sample| f64::from(*sample).abs()).sum::<f64>() / part.len().max(1) as f64
}

#[tokio::test(start_paused = true)]
async fn reply_after_idle_clear_starts_at_clear() {
    // A lead of 3 s sends the whole identity question (1.4 s) at once, so the mouth is idle when
    // the caller cuts it. The carrier starts the reply at the clear, so the recording should too.
    let mut call = start_call(|config| {
        config.call.pacing_lead_ms = 3_000;
        config.call.end_of_turn_silence_ms = 200;
    })
    .await;
    answer_greeting(&mut call).await;
    call.say("¿quién habla?", 300).await;
    call.until(3_000, |log| log.iter().any(|(_, seen)| *seen == Seen::Sent(Outbound::Clear))).await;
    assert!(wait_for_mark(&mut call, 5_000, ":who_is_calling").await, "{:?}", call.summary());
    let clear_at = call.first_time(|seen| *seen == Seen::Sent(Outbound::Clear)).expect("clear sent") as usize;
    let reply_frame_at = call
        .log
        .lock()
        .expect("lock")
        .iter()
        .find(|(at, seen)| at.as_millis() as usize >= clear_at && matches!(seen, Seen::Sent(Outbound::Audio(_))))
        .map(|(at, _)| at.as_millis() as usize)
        .expect("reply audio sent");
    call.inbound.send(Inbound::Stop).await.expect("session alive");
    let (_, outcome) = call.end().await;

    assert_eq!(reply_frame_at, clear_at, "the reply's first frame goes out with the clear");
    let (_, bot) = read_recording(&outcome.recording_path.expect("recording written"));
    let reply_level = loudness(&bot, clear_at + 20, clear_at + 300);
    assert!(reply_level > 500.0, "bot channel after the clear at {clear_at} ms has mean level {reply_level}");
}

#[tokio::test(start_paused = true)]
async fn caller_recorded_with_long_lead() {
    // Speech at 40 ms a character makes the greeting 5 s long. With a lead of 2.5 s the bot's
    // channel runs 2.5 s ahead of the caller's, past the recorder's 2 s window.
    let mut call = start_call_speaking(320, |config| config.call.pacing_lead_ms = 2_500).await;
    call.audio(1_000, false).await;
    let spoke_from = call.stream_ms as usize;
    call.say("Sí, soy yo.", 400).await;
    call.until_echoed("greeting").await;
    call.inbound.send(Inbound::Stop).await.expect("session alive");
    let (_, outcome) = call.end().await;

    let (caller, _) = read_recording(&outcome.recording_path.expect("recording written"));
    let speech_level = loudness(&caller, spoke_from, spoke_from + 400);
    assert!(speech_level > 1_000.0, "caller channel at {spoke_from} ms has mean level {speech_level}");
}

#[tokio::test(start_paused = true)]
async fn key_over_read_back_reads_again() {
    let mut call = start_call(|_| {}).await;
    answer_greeting(&mut call).await;
    call.until_echoed("verify_identity").await;
    for digit in "1234#".chars() {
        call.inbound.send(Inbound::Dtmf(digit)).await.expect("session alive");
    }
    call.until_echoed("offer_full_payment").await;
    call.say("Voy a pagar cuatro mil quinientos pesos el viernes.", 600).await;
    call.until_phrase_playing(5).await;
    // "1" pressed as the read-back starts: it cuts the read-back, which is read again.
    call.inbound.send(Inbound::Dtmf('1')).await.expect("session alive");
    assert!(wait_for_mark(&mut call, 20_000, "7:read_back").await, "{:?}", call.summary());
    assert_eq!(call.clears(), 1);
    assert!(call.store.promises.lock().expect("lock").is_empty());
    call.inbound.send(Inbound::Stop).await.expect("session alive");
    call.end().await;
}

#[tokio::test(start_paused = true)]
async fn maximum_call_length_says_goodbye() {
    let mut call = start_call(|config| {
        config.call.max_call_seconds = 30;
        config.call.reply_timeout_ms = 60_000;
    })
    .await;
    answer_greeting(&mut call).await;
    call.until_echoed("verify_identity").await;
    call.until_echoed("time_limit_goodbye").await;
    let (transcript, outcome) = call.end().await;
    assert_eq!(outcome.disposition, Disposition::NoResponse);
    assert_eq!(
        bot_lines(&transcript).last().map(String::as_str),
        Some("Tenemos que terminar la llamada por ahora. Para continuar, puede comunicarse con Servicios Andinos. Hasta luego.")
    );
    let hangup = call.first_time(|s| *s == Seen::Sent(Outbound::Hangup)).expect("hung up");
    assert!(hangup >= 30_000, "hung up at {hangup} ms");
}

/// An interpreter that takes `delay` before reading the turn with the rules.
struct SlowInterpreter {
    delay: Duration,
}

#[async_trait]
impl Interpreter for SlowInterpreter {
    async fn interpret(&self, text: &str, ctx: &InterpretContext) -> Interpretation {
        tokio::time::sleep(self.delay).await;
        RuleInterpreter.interpret_now(text, ctx)
    }
}

/// When the carrier got its first audio frame after `after_ms`.
fn first_frame_after(call: &Call, after_ms: u128) -> Option<u128> {
    call.first_time_after(after_ms, |seen| matches!(seen, Seen::Sent(Outbound::Audio(_))))
}

impl Call {
    fn first_time_after(&self, after_ms: u128, matches: impl Fn(&Seen) -> bool) -> Option<u128> {
        self.log
            .lock()
            .expect("lock")
            .iter()
            .find(|(at, seen)| at.as_millis() > after_ms && matches(seen))
            .map(|(at, _)| at.as_millis())
    }
}

#[tokio::test(start_paused = true)]
async fn late_reading_gets_filler_in_time() {
    let slow = Arc::new(SlowInterpreter { delay: Duration::from_secs(1) });
    let mut call = start_call_with(Parts { interpreter: slow, ..Parts::default() }, |_| {}).await;
    call.audio(200, false).await;
    call.until_echoed("greeting").await;
    call.say("Sí, soy yo.", 400).await;
    let speech_ended = call.elapsed_ms();
    call.until_echoed("verify_identity").await;

    // The detector ends the turn 680 ms after the last speech frame was sent. 500 ms later the
    // reply is still being read, so the filler starts 1.18 s after the caller stopped: under
    // the 1.5 s of dead air allowed.
    let filler_frame = first_frame_after(&call, speech_ended).expect("the filler played");
    assert_eq!(filler_frame - speech_ended, 1_180);
    let marks = call.marks_sent();
    assert_eq!(marks, ["1:greeting", "2:filler", "3:verify_identity"]);
    call.inbound.send(Inbound::Stop).await.expect("session alive");
    let (transcript, _) = call.end().await;
    assert_eq!(bot_lines(&transcript)[1], "Un momento, por favor.");
}

#[tokio::test(start_paused = true)]
async fn prompt_reading_needs_no_filler() {
    let mut call = start_call(|_| {}).await;
    answer_greeting(&mut call).await;
    call.until_echoed("verify_identity").await;
    assert_eq!(call.marks_sent(), ["1:greeting", "2:verify_identity"]);
    call.inbound.send(Inbound::Stop).await.expect("session alive");
    call.end().await;
}

#[tokio::test(start_paused = true)]
async fn long_wait_repeats_filler_once() {
    // The filler plays for 220 ms; 500 ms after it the reply is still late, so a second one
    // plays. Two is the most a turn gets.
    let slow = Arc::new(SlowInterpreter { delay: Duration::from_secs(6) });
    let mut call = start_call_with(Parts { interpreter: slow, ..Parts::default() }, |_| {}).await;
    call.audio(200, false).await;
    call.until_echoed("greeting").await;
    call.say("Sí, soy yo.", 400).await;
    call.until_echoed("verify_identity").await;
    assert_eq!(call.marks_sent(), ["1:greeting", "2:filler", "3:filler", "4:verify_identity"]);
    call.inbound.send(Inbound::Stop).await.expect("session alive");
    call.end().await;
}

/// Speech-to-text whose providers all failed by the first end of turn.
struct LostStt;

#[async_trait]
impl SpeechToText for LostStt {
    async fn open(&self, _language: Language) -> Result<SttStream, SpeechError> {
        let (input, mut inputs) = mpsc::channel(4096);
        let (events_sender, events) = mpsc::channel(4);
        tokio::spawn(async move {
            let mut reported = false;
            while let Some(input) = inputs.recv().await {
                if input == SttInput::Finalize && !reported {
                    reported = true;
                    let reason = "every speech-to-text provider failed (deepgram: its stream ended)".to_string();
                    let _ = events_sender.send(SttEvent::Unavailable { reason }).await;
                }
            }
        });
        Ok(SttStream { input, events })
    }
}

#[tokio::test(start_paused = true)]
async fn lost_speech_moves_to_keypad_callback() {
    let mut call = start_call_with(Parts { stt: Some(Arc::new(LostStt)), ..Parts::default() }, |_| {}).await;
    call.audio(200, false).await;
    call.until_echoed("greeting").await;
    call.say("Sí, soy yo.", 400).await;
    call.until_echoed("speech_unavailable_offer").await;
    call.inbound.send(Inbound::Dtmf('1')).await.expect("session alive");
    call.until_echoed("speech_unavailable_callback_ack").await;
    let (transcript, outcome) = call.end().await;

    assert_eq!(outcome.disposition, Disposition::SpeechUnavailable);
    assert!(!outcome.right_party_contact);
    let bot = bot_lines(&transcript);
    assert_eq!(
        bot[1],
        "Disculpe, tenemos un problema técnico y no puedo escucharle. Si desea que le llamemos más tarde, marque 1. \
         Para terminar la llamada, marque 2."
    );
    assert_eq!(bot[2], "Gracias. Le llamaremos más tarde. Hasta luego.");
    assert_eq!(debtor_lines(&transcript), ["[DTMF •]"]);
}

#[tokio::test(start_paused = true)]
async fn call_cost_stored_with_outcome() {
    let mut call = start_call(|config| config.costs.telephony_per_minute = 0.014).await;
    answer_greeting(&mut call).await;
    call.inbound.send(Inbound::Stop).await.expect("session alive");
    let (_, outcome) = call.end().await;
    // A call of a few seconds is billed one minute by the carrier; the stand-ins cost nothing.
    assert_eq!(
        outcome.costs,
        vec![cobranza::cost::CostLine {
            category: cobranza::cost::CostCategory::Telephony,
            provider: "twilio".into(),
            quantity: 60,
            cost_micros: 14_000
        }]
    );
}

#[tokio::test(start_paused = true)]
async fn stalled_llm_gets_filler_then_rules() {
    // The model's server takes 15 s to answer; the interpreter gives it 2.5 s.
    let stalled = Reply::Delayed {
        delay: Duration::from_secs(15),
        reply: Box::new(Reply::Events { writes: vec![fake_llm::done()], ending: Ending::Close }),
    };
    let fake = FakeLlm::start("test-key", vec![stalled]).await;
    std::env::set_var("COBRANZA_TEST_LLM_KEY_STALL", "test-key");
    let client = ChatClient::new(ChatSettings {
        base_url: fake.base_url.clone(),
        model: "fake-model".into(),
        api_key_variable: "COBRANZA_TEST_LLM_KEY_STALL".into(),
        connect_timeout: Duration::from_secs(1),
        first_byte_timeout: Duration::from_secs(20),
        idle_timeout: Duration::from_secs(20),
    })
    .expect("client");
    let llm = LlmInterpreter::new(
        client,
        LlmInterpreterSettings { deadline: Duration::from_millis(2_500), history_lines: 6 },
    );
    let mut call = start_call_with(Parts { interpreter: Arc::new(llm), ..Parts::default() }, |_| {}).await;
    call.audio(200, false).await;
    call.until_echoed("greeting").await;
    call.say("Sí, soy yo.", 400).await;
    let speech_ended = call.elapsed_ms();
    call.until_echoed("verify_identity").await;

    // The filler starts 1.18 s after the caller stopped and plays again while the model is
    // silent; at its 2.5 s deadline the rules read the turn and the bot asks for the digits.
    let filler_frame = first_frame_after(&call, speech_ended).expect("the filler played");
    assert_eq!(filler_frame - speech_ended, 1_180);
    assert_eq!(call.marks_sent(), ["1:greeting", "2:filler", "3:filler", "4:verify_identity"]);
    let second_filler_sent =
        call.first_time(|seen| *seen == Seen::Sent(Outbound::Mark("3:filler".into()))).expect("second filler");
    let reply_frame = first_frame_after(&call, second_filler_sent).expect("the reply played");
    assert_eq!(reply_frame - speech_ended, 680 + 2_500);
    assert_eq!(fake.requests().len(), 1);
    call.inbound.send(Inbound::Stop).await.expect("session alive");
    call.end().await;
}

#[async_trait]
impl cobranza::scoring::store::ScoreStore for MemoryStore {
    async fn debt_histories(
        &self,
        _as_of: chrono::NaiveDate,
        _window_days: u32,
        _debtor: Option<&DebtorId>,
    ) -> Result<Vec<cobranza::scoring::store::DebtHistory>, StoreError> {
        Err(unused())
    }
    async fn save_model(&self, _model: &cobranza::scoring::store::StoredModel) -> Result<(), StoreError> {
        Err(unused())
    }
    async fn latest_model(&self) -> Result<Option<cobranza::scoring::store::StoredModel>, StoreError> {
        Err(unused())
    }
    async fn save_scores(&self, _scores: &[cobranza::scoring::store::DebtorScore]) -> Result<(), StoreError> {
        Err(unused())
    }
    async fn replace_all_scores(&self, _scores: &[cobranza::scoring::store::DebtorScore]) -> Result<(), StoreError> {
        Err(unused())
    }
    async fn debtor_score(&self, _debtor_id: &DebtorId) -> Result<Option<cobranza::scoring::store::DebtorScore>, StoreError> {
        Err(unused())
    }
    async fn dial_queue(&self, _limit: u32) -> Result<Vec<cobranza::scoring::store::DebtorScore>, StoreError> {
        Err(unused())
    }
}
