//! The call session: one task per call that turns carrier events into dialog events and dialog
//! actions into speech, store writes and, at the end, a hang-up.

mod unidentified;

pub use unidentified::run_unidentified_call_on;

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use tokio::sync::mpsc;
use tokio::time::{sleep_until, Instant};
use tracing::{debug, info, warn};

use super::mouth::{self, Mouth, MouthParts, MouthReport, Phrase, SAMPLES_PER_MS};
use super::playout::{CutPhrase, Playout, QueuedPhrase};
use super::{CallEvent, CallRecord, CallServices, CallSummary, TurnTimings};
use crate::audio::mulaw;
use crate::audio::recording::{CallRecorder, WINDOW_SAMPLES};
use crate::audio::vad::{VadConfig, VadEvent, VoiceActivityDetector};
use crate::collections::model::{mask_phone, Account, Disposition, Speaker, TranscriptLine};
use crate::collections::{Attempt, AttemptOutcome, Direction, InboundCall, StoreError};
use crate::cost::{self, CallMeter, CostCategory};
use crate::dialog::nlu::{is_backchannel, Expecting};
use crate::dialog::script::Prompt;
use crate::dialog::{
    Action, CallContext, CallerMatch, Conversation, ConversationLine, Event, Interpretation, Language, Machine, Script,
    Utterance,
};
use crate::metrics::{metrics, Provider, TurnStage};
use crate::speech::stt::{SttEvent, SttInput, SttStream};
use crate::speech::SpeechError;
use crate::telephony::{Inbound, Outbound, StreamStart};

/// The reasons a call could not be run at all.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("attempt {0} has no debt in the store")]
    NoAccount(i64),
    #[error("prompts for locale {locale}: {reason}")]
    Script { locale: String, reason: String },
    #[error("speech-to-text could not start: {0}")]
    Speech(#[from] SpeechError),
    #[error("dialog for debtor {debtor}: {reason}")]
    Dialog { debtor: String, reason: String },
    #[error("config [inbound]: {0}")]
    Inbound(String),
}

/// The outcome of one call, for the caller of [`run_call`].
#[derive(Debug, Clone)]
pub struct CallReport {
    pub disposition: Disposition,
    pub right_party_contact: bool,
    pub recording_path: Option<String>,
    /// The call's cost, in millionths of a dollar.
    pub cost_micros: u64,
}

/// A caller turn being interpreted, which the session waits for without blocking the call.
struct Reading {
    text: String,
    expecting: Expecting,
    /// Only polled through `Mutex::get_mut`, which takes no lock: the mutex makes the session
    /// `Sync`, as the server's tasks need, around a future that is only `Send`.
    interpretation: Mutex<Pin<Box<dyn Future<Output = Interpretation> + Send>>>,
}

/// Waits for the turn being interpreted; never completes when there is none.
async fn next_reading(slot: &mut Option<Reading>) -> (String, Expecting, Interpretation) {
    let Some(reading) = slot else {
        return std::future::pending().await;
    };
    let interpretation = reading.interpretation.get_mut().expect("reading lock").as_mut().await;
    let reading = slot.take().expect("checked above");
    (reading.text, reading.expecting, interpretation)
}

/// Caller speech that started while the bot was talking, and what is known of it so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Overlap {
    None,
    /// The bot is paused while the caller speaks.
    Speaking,
    /// The caller stopped before the speech counted as an interruption; its transcript decides
    /// whether the bot goes on. Without one by `until`, the bot goes on anyway.
    AwaitingTranscript {
        until: Instant,
    },
}

/// Whether the call goes on after a deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Continue {
    Go,
    Stop,
}

/// One digit of a reply, with when and how the caller gave it.
struct AnswerDigit {
    at: Instant,
    digit: char,
    keyed: bool,
}

/// When each stage of the bot's reply to one caller turn happened.
struct Turn {
    speech_ended: Instant,
    final_transcript: Option<Instant>,
    decision: Option<Instant>,
    /// The mark of the reply's first phrase, which the other stages are matched on.
    first_mark: Option<String>,
    first_audio: Option<Instant>,
    first_frame: Option<Instant>,
}

impl Turn {
    fn since_speech(&self, at: Option<Instant>) -> Option<u64> {
        at.map(|at| at.saturating_duration_since(self.speech_ended).as_millis() as u64)
    }
}

/// Runs one call to its end: returns when the bot hung up or the caller did.
pub async fn run_call(
    services: CallServices,
    start: StreamStart,
    attempt: Attempt,
    mut inbound: mpsc::Receiver<Inbound>,
    outbound: mpsc::Sender<Outbound>,
) -> Result<CallReport, CallError> {
    let events = futures_util::stream::poll_fn(move |context| inbound.poll_recv(context));
    run_call_on(services, start, attempt, events, outbound).await
}

/// Runs one call whose carrier events come from `inbound`, polled by the call's own task: the
/// media stream hands each parsed frame straight to the session, with no task in between.
pub async fn run_call_on(
    services: CallServices,
    start: StreamStart,
    attempt: Attempt,
    inbound: impl Stream<Item = Inbound> + Unpin + Send,
    outbound: mpsc::Sender<Outbound>,
) -> Result<CallReport, CallError> {
    let account = services.store.account_by_debt(attempt.debt_id).await?.ok_or(CallError::NoAccount(attempt.id.0))?;
    let language = Language::from_locale(&account.debtor.locale);
    // An inbound attempt that reaches here was matched by the caller's number in the voice webhook.
    let matched = (attempt.direction == Direction::Inbound).then_some(CallerMatch::Phone);
    let mut machine = debtor_machine(&services, &account, matched)?;
    apply_campaign_strategy(&services, &attempt, &mut machine).await;
    // NOTE: the speech-to-text language stays the debtor's locale even when the dialog switches
    // language mid-call.
    // The meter is in scope while speech-to-text opens, so a provider chain records to it.
    let meter = CallMeter::new();
    let stt = cost::metered(meter.clone(), services.stt.open(language)).await?;
    let _active = metrics().call_started();
    info!(
        attempt_id = %attempt.id,
        call_sid = %start.call_sid,
        phone = %mask_phone(&account.debtor.phone),
        "call started"
    );
    let summary = CallSummary::new(&account, attempt.campaign.clone(), attempt.direction, services.clock.now());
    let _ = services.bus.send(CallEvent::Started { attempt_id: attempt.id, call_sid: start.call_sid.clone(), summary });

    let record = CallRecord::Attempt(attempt.id);
    let conversation = Conversation::Debtor(Box::new(machine));
    let parts = SessionParts { record, account: Some(account), inbound_call: None, conversation, stt, outbound, meter };
    run_session(services, parts, inbound).await
}

/// Narrows the offers of a campaign call to its segment's strategy, or to the strategy the
/// campaign names for that segment. A call without a segment keeps the whole ladder.
async fn apply_campaign_strategy(services: &CallServices, attempt: &Attempt, machine: &mut Machine) {
    let Some(segment) = &attempt.segment else {
        return;
    };
    let named = match &attempt.campaign {
        Some(campaign) => match services.store.campaign(campaign).await {
            Ok(found) => found.and_then(|campaign| campaign.settings.strategies.get(segment).cloned()),
            Err(error) => {
                warn!(attempt_id = %attempt.id, %error, "campaign could not be read; the segment's own strategy applies");
                None
            }
        },
        None => None,
    };
    match crate::campaign::strategy::for_call(crate::campaign::strategy::embedded_book(), segment, named.as_deref()) {
        Ok(strategy) => {
            let narrowed = machine.restrict_offers(&strategy.offers);
            info!(attempt_id = %attempt.id, %segment, strategy = %strategy.name, narrowed, "segment strategy set the offers");
        }
        Err(error) => warn!(attempt_id = %attempt.id, %error, "segment strategy not applied; the whole ladder stays"),
    }
}

/// Builds the dialog of `account`'s debt as of the debtor's local time now. `matched` says how
/// the caller of a call nobody dialled was matched, and is `None` for a call the bot placed.
fn debtor_machine(
    services: &CallServices,
    account: &Account,
    matched: Option<CallerMatch>,
) -> Result<Machine, CallError> {
    let script = Script::embedded(&account.debtor.locale)
        .map_err(|e| CallError::Script { locale: account.debtor.locale.clone(), reason: e.to_string() })?;
    let local = services.clock.now().with_timezone(&account.debtor.time_zone).naive_local();
    let config = &services.config;
    let context = CallContext::embedded(
        account.clone(),
        local.date(),
        local.time(),
        &config.agency.name,
        &config.agency.bot_name,
        config.dialog,
    )
    .map_err(|error| CallError::Dialog { debtor: account.debtor.id.0.clone(), reason: error.to_string() })?;
    Ok(match matched {
        None => Machine::new(context, script),
        Some(matched) => Machine::answering(context, script, matched),
    })
}

/// The parts a session starts from, besides the services every call shares.
struct SessionParts {
    record: CallRecord,
    account: Option<Account>,
    inbound_call: Option<InboundCall>,
    conversation: Conversation,
    stt: SttStream,
    outbound: mpsc::Sender<Outbound>,
    meter: CallMeter,
}

/// Runs a session from its first phrase to its end and returns the call's report.
async fn run_session(
    services: CallServices,
    parts: SessionParts,
    mut inbound: impl Stream<Item = Inbound> + Unpin + Send,
) -> Result<CallReport, CallError> {
    let meter = parts.meter.clone();
    cost::metered(meter, async move {
        let mut session = Session::new(services, parts);
        session.act(vec![Event::CallStarted]).await;
        session.run(&mut inbound).await;
        Ok(session.finish().await)
    })
    .await
}

struct Session {
    services: CallServices,
    /// The row the transcript and outcome go to: the attempt, or the inbound call until its
    /// caller is identified.
    record: CallRecord,
    /// The debtor the call is about; `None` until an unidentified caller is matched to a debt.
    account: Option<Account>,
    /// The row of a call that came in unidentified, kept after the caller is matched.
    inbound_call: Option<InboundCall>,
    machine: Conversation,
    stt: SttStream,
    vad: VoiceActivityDetector,
    recorder: Arc<Mutex<CallRecorder>>,
    mouth: Mouth,
    outbound: mpsc::Sender<Outbound>,
    playout: Arc<Mutex<Playout>>,
    stream_start: Instant,
    /// The recording's file, named after the row the call started with.
    recording_file: std::path::PathBuf,

    phrase_count: u64,
    last_sent_mark: Option<String>,
    caller_samples: u64,
    /// Caller audio not yet handed to speech-to-text.
    stt_audio: Vec<i16>,
    /// How far the carrier's stream time is ahead of the session's, in samples.
    carrier_offset: Option<u64>,
    caller_speaking: bool,
    speech_started_at: Instant,
    overlap: Overlap,
    /// Finalize requests sent to speech-to-text whose transcript has not come back.
    transcripts_due: u32,
    turn: Option<Turn>,
    /// Digits of the reply in progress, keyed or spoken, in the order they were given.
    digits: Vec<AnswerDigit>,
    digits_deadline: Option<Instant>,
    reply_deadline: Option<Instant>,
    /// The bot's last phrase asked something and played whole: silence now counts.
    awaiting_reply: bool,
    /// When speech-to-text was last asked for a transcript.
    last_finalize: Instant,
    hangup_deadline: Option<Instant>,
    call_deadline: Instant,
    /// The maximum call length passed and the dialog was told; the next deadline ends the call.
    time_up: bool,
    hanging_up: bool,
    caller_hung_up: bool,
    right_party: bool,

    /// The caller turn being interpreted, and the turns heard meanwhile, in order.
    reading: Option<Reading>,
    unread: VecDeque<String>,
    /// When the caller hears a filler if the reply is still not ready.
    filler_deadline: Option<Instant>,
    fillers_this_turn: u32,
    /// The last lines of the conversation, for interpreters that read a turn in context.
    history: VecDeque<ConversationLine>,
    /// Every speech-to-text provider failed: only keys reach the bot now.
    speech_lost: bool,
    meter: CallMeter,
}

impl Session {
    fn new(services: CallServices, parts: SessionParts) -> Session {
        let SessionParts { record, account, inbound_call, conversation, stt, outbound, meter } = parts;
        let config = Arc::clone(&services.config);
        let vad_config =
            VadConfig { end_of_turn_silence_ms: config.call.end_of_turn_silence_ms, ..VadConfig::default() };
        let recording_file = recording_path(&services, record);
        let recorder = Arc::new(Mutex::new(open_recorder(&recording_file, &services)));
        let playout = Arc::new(Mutex::new(Playout::new()));
        let stream_start = Instant::now();
        let mouth = mouth::spawn(MouthParts {
            tts: Arc::clone(&services.tts),
            outbound: outbound.clone(),
            recorder: Arc::clone(&recorder),
            playout: Arc::clone(&playout),
            stream_start,
            lead: config.call.pacing_lead(),
            meter: meter.clone(),
        });
        Session {
            machine: conversation,
            vad: VoiceActivityDetector::new(vad_config, 8_000),
            call_deadline: stream_start + config.call.max_call(),
            time_up: false,
            services,
            record,
            account,
            inbound_call,
            stt,
            recorder,
            mouth,
            outbound,
            playout,
            stream_start,
            recording_file,
            phrase_count: 0,
            last_sent_mark: None,
            caller_samples: 0,
            stt_audio: Vec::with_capacity(STT_CHUNK_SAMPLES + 320),
            carrier_offset: None,
            caller_speaking: false,
            speech_started_at: stream_start,
            overlap: Overlap::None,
            transcripts_due: 0,
            turn: None,
            digits: Vec::new(),
            digits_deadline: None,
            reply_deadline: None,
            awaiting_reply: false,
            last_finalize: stream_start,
            hangup_deadline: None,
            hanging_up: false,
            caller_hung_up: false,
            right_party: false,
            reading: None,
            unread: VecDeque::new(),
            filler_deadline: None,
            fillers_this_turn: 0,
            history: VecDeque::with_capacity(HISTORY_LINES + 1),
            speech_lost: false,
            meter,
        }
    }

    async fn run(&mut self, inbound: &mut (impl Stream<Item = Inbound> + Unpin)) {
        // One timer for the nearest deadline, reset only when that changes: the loop turns fifty
        // times a second, and a fresh timer per deadline per turn would be registered each time.
        let timer = sleep_until(self.next_deadline());
        tokio::pin!(timer);
        loop {
            if self.hanging_up && self.playout().is_empty() {
                return;
            }
            self.arm_reply_timer();
            let deadline = self.next_deadline();
            if timer.deadline() != deadline {
                timer.as_mut().reset(deadline);
            }
            tokio::select! {
                message = inbound.next() => match message {
                    Some(Inbound::Stop) | None => {
                        self.caller_hung_up = true;
                        self.act(vec![Event::CallerHungUp]).await;
                        return;
                    }
                    Some(message) => self.on_carrier(message).await,
                },
                Some(event) = self.stt.events.recv() => self.on_transcript(event).await,
                (text, expecting, interpretation) = next_reading(&mut self.reading) => {
                    self.on_reading(text, expecting, interpretation).await;
                }
                Some(report) = self.mouth.reports.recv() => self.on_mouth(report),
                () = &mut timer => {
                    if self.on_deadline().await == Continue::Stop {
                        return;
                    }
                }
            }
        }
    }

    /// Starts the wait for the caller's reply when the bot's last question has played and nothing
    /// is under way: no speech, no transcript or digits pending, no overlap being checked. After an
    /// "ajá", a key the dialog ignores or a turn it did not reply to, the wait starts again.
    fn arm_reply_timer(&mut self) {
        let idle = self.awaiting_reply
            && self.reply_deadline.is_none()
            && !self.caller_speaking
            && !self.hanging_up
            && self.overlap == Overlap::None
            && self.digits.is_empty()
            && !self.transcript_pending()
            && self.reading.is_none()
            && self.playout().is_empty();
        if idle {
            self.reply_deadline = Some(Instant::now() + self.services.config.call.reply_timeout());
        }
    }

    /// Returns whether a transcript requested from speech-to-text may still come. A provider
    /// that never replies delays nothing for longer than [`TRANSCRIPT_WAIT`].
    fn transcript_pending(&self) -> bool {
        self.transcripts_due > 0 && self.last_finalize.elapsed() < TRANSCRIPT_WAIT
    }

    /// Returns the earliest of the call's deadlines. The call's maximum length is always one of them.
    fn next_deadline(&self) -> Instant {
        let overlap_deadline = match self.overlap {
            Overlap::AwaitingTranscript { until } => Some(until),
            Overlap::None | Overlap::Speaking => None,
        };
        [self.digits_deadline, self.reply_deadline, self.hangup_deadline, overlap_deadline, self.filler_deadline]
            .into_iter()
            .flatten()
            .fold(self.call_deadline, Instant::min)
    }

    /// Handles every deadline that has passed and returns whether the call goes on.
    async fn on_deadline(&mut self) -> Continue {
        let now = Instant::now();
        let passed = |deadline: Option<Instant>| deadline.is_some_and(|at| at <= now);
        if passed(self.hangup_deadline) {
            let pending = self.playout().len();
            warn!(call = %self.record, pending, "goodbye mark did not come back in time");
            return Continue::Stop;
        }
        if self.call_deadline <= now {
            if self.time_up {
                return Continue::Stop;
            }
            // The dialog says its closing line; the goodbye wait bounds how long that may take.
            warn!(call = %self.record, "maximum call length reached");
            self.time_up = true;
            self.call_deadline = now + self.services.config.call.goodbye_wait();
            self.act(vec![Event::MaxDurationReached]).await;
            if !self.hanging_up {
                return Continue::Stop;
            }
        }
        if matches!(self.overlap, Overlap::AwaitingTranscript { until } if until <= now) {
            warn!(call = %self.record, "no transcript came for speech over the bot; resuming");
            self.overlap = Overlap::None;
            self.mouth.resume();
        }
        if passed(self.filler_deadline) {
            self.filler_deadline = None;
            self.say_filler_if_waiting();
        }
        if passed(self.digits_deadline) {
            self.digits_deadline = None;
            self.flush_digits().await;
        }
        if passed(self.reply_deadline) {
            self.reply_deadline = None;
            self.act(vec![Event::Silence]).await;
        }
        Continue::Go
    }

    async fn on_carrier(&mut self, message: Inbound) {
        match message {
            Inbound::Audio { timestamp_ms, mulaw } => self.on_audio(timestamp_ms, &mulaw).await,
            Inbound::Dtmf(digit) => {
                self.reply_deadline = None;
                // A key press over the bot cuts it as speech does, so "1" pressed before the
                // read-back's amount and date played cannot confirm them.
                if self.may_barge_in() {
                    self.barge_in().await;
                }
                if digit == '#' {
                    self.flush_digits().await;
                } else {
                    self.digits.push(AnswerDigit { at: Instant::now(), digit, keyed: true });
                    self.digits_deadline = Some(Instant::now() + self.services.config.call.dtmf_inter_digit());
                }
            }
            Inbound::MarkPlayed(name) => self.on_mark(&name).await,
            Inbound::AnsweringMachine => {
                // The bot may be mid-sentence in a greeting meant for a person.
                if self.may_barge_in() {
                    self.barge_in().await;
                }
                self.act(vec![Event::AnsweringMachine]).await;
            }
            Inbound::EndPolitely => {
                // A supervisor ended the call: the bot closes as it does at the time limit.
                if self.may_barge_in() {
                    self.barge_in().await;
                }
                self.act(vec![Event::MaxDurationReached]).await;
            }
            Inbound::Stop => {}
        }
    }

    async fn on_audio(&mut self, timestamp_ms: Option<u64>, bytes: &[u8]) {
        let pcm = mulaw::decode_slice(bytes);
        // A timestamp past the longest possible call is not to be trusted: the audio goes right
        // after the previous chunk instead of growing the recording without bound.
        let longest_ms = self.services.config.call.max_call().as_millis() as u64 + 60_000;
        let at = match timestamp_ms {
            Some(ms) if ms <= longest_ms => {
                // The carrier's stream time started before this session did: the first chunk
                // fixes the offset that places caller audio on the session's own timeline, where
                // the bot's audio is.
                let carrier_sample = ms * SAMPLES_PER_MS;
                let offset = *self.carrier_offset.get_or_insert(carrier_sample.saturating_sub(self.now_sample()));
                carrier_sample.saturating_sub(offset)
            }
            _ => self.caller_samples,
        };
        self.recorder.lock().expect("recorder lock").caller(at, &pcm);
        self.caller_samples = at + pcm.len() as u64;
        self.stt_audio.extend_from_slice(&pcm);

        for event in self.vad.push(&pcm) {
            match event {
                VadEvent::SpeechStarted { .. } => {
                    self.caller_speaking = true;
                    self.filler_deadline = None;
                    self.speech_started_at = Instant::now();
                    self.send_stt_audio().await;
                    let _ = self.stt.input.send(SttInput::SpeechStarted).await;
                    self.reply_deadline = None;
                    // Without speech recognition, speech cannot be distinguished from noise, so only keys cut
                    // the bot.
                    if !self.speech_lost && self.may_barge_in() {
                        // Wait and see: the bot keeps its next frame back while the caller speaks.
                        self.mouth.pause();
                        self.overlap = Overlap::Speaking;
                    }
                }
                // NOTE: only the local detector ends a turn. A provider's own endpointing
                // (Deepgram's `speech_final`, `UtteranceEnd`) makes the transcript ready when this
                // fires, but does not end the turn sooner.
                VadEvent::SpeechEnded { .. } => {
                    self.caller_speaking = false;
                    if self.overlap == Overlap::Speaking {
                        self.overlap = Overlap::AwaitingTranscript { until: Instant::now() + TRANSCRIPT_WAIT };
                    }
                    if self.speech_lost {
                        continue;
                    }
                    self.turn = Some(Turn {
                        speech_ended: Instant::now(),
                        final_transcript: None,
                        decision: None,
                        first_mark: None,
                        first_audio: None,
                        first_frame: None,
                    });
                    self.fillers_this_turn = 0;
                    self.filler_deadline = Some(Instant::now() + self.services.config.call.filler_after());
                    self.transcripts_due += 1;
                    self.last_finalize = Instant::now();
                    self.send_stt_audio().await;
                    let _ = self.stt.input.send(SttInput::Finalize).await;
                }
            }
        }
        if self.overlap == Overlap::Speaking {
            let long_enough = self.services.config.call.barge_in_min_speech().as_millis() as u64;
            if self.vad.speech_so_far_ms().is_some_and(|speech| speech >= long_enough) {
                self.barge_in().await;
            }
        }
        if self.stt_audio.len() >= STT_CHUNK_SAMPLES {
            self.send_stt_audio().await;
        }
    }

    /// Hands the caller audio gathered so far to speech-to-text.
    async fn send_stt_audio(&mut self) {
        if self.stt_audio.is_empty() {
            return;
        }
        let chunk = std::mem::replace(&mut self.stt_audio, Vec::with_capacity(STT_CHUNK_SAMPLES + 320));
        if self.stt.input.send(SttInput::Audio(chunk)).await.is_err() {
            warn!(call = %self.record, "speech-to-text stream closed");
        }
    }

    async fn on_transcript(&mut self, event: SttEvent) {
        let text = match event {
            SttEvent::Final { text } => text,
            SttEvent::Partial { text } => {
                // While the caller gives identity digits or a birth date, supervisors get only an
                // ellipsis, because the transcript keeps only the number of digits.
                if !text.trim().is_empty() {
                    let text =
                        if matches!(self.machine.expecting(), Expecting::VerificationDigits | Expecting::BirthDate) {
                            "…".to_string()
                        } else {
                            text
                        };
                    self.publish(|attempt_id| CallEvent::Interim { attempt_id, text });
                }
                return;
            }
            SttEvent::Error(error) => {
                metrics().provider_error(Provider::SpeechToText);
                warn!(call = %self.record, %error, "speech-to-text failed for a turn");
                String::new()
            }
            SttEvent::Unavailable { reason } => {
                self.on_speech_lost(&reason).await;
                return;
            }
        };
        self.transcripts_due = self.transcripts_due.saturating_sub(1);
        if let Some(turn) = &mut self.turn {
            turn.final_transcript = Some(Instant::now());
        }
        if self.hanging_up {
            return;
        }
        if matches!(self.overlap, Overlap::AwaitingTranscript { .. }) {
            self.overlap = Overlap::None;
            if is_backchannel(&text) {
                // "Ajá" or noise over the bot: it goes on where it stopped.
                metrics().backchannel();
                self.mouth.resume();
                self.turn = None;
                if !text.is_empty() {
                    self.write_transcript(Speaker::Debtor, &text).await;
                }
                return;
            }
            self.barge_in().await;
        }
        self.read_turn(text);
    }

    /// Starts interpreting a caller turn, or queues it behind the turn being interpreted. The
    /// call goes on meanwhile: a slow interpreter delays the reply, never the audio.
    fn read_turn(&mut self, text: String) {
        if self.reading.is_some() {
            self.unread.push_back(text);
            return;
        }
        let context = self.machine.interpret_context();
        let history: Vec<ConversationLine> = self.history.iter().cloned().collect();
        let interpreter = Arc::clone(&self.services.interpreter);
        let words = text.clone();
        let interpretation = Box::pin(async move { interpreter.interpret_turn(&words, &context, &history).await });
        self.reading = Some(Reading { text, expecting: context.expecting, interpretation: Mutex::new(interpretation) });
    }

    /// Acts on an interpreted turn, then starts on the next one heard meanwhile.
    async fn on_reading(&mut self, text: String, expecting: Expecting, interpretation: Interpretation) {
        if !self.hanging_up {
            self.act_on_reading(text, expecting, interpretation).await;
        }
        if let Some(next) = self.unread.pop_front() {
            self.read_turn(next);
        }
    }

    async fn act_on_reading(&mut self, text: String, expecting: Expecting, interpretation: Interpretation) {
        if expecting == Expecting::VerificationDigits {
            if let Some(spoken) = interpretation.digits.as_deref().filter(|_| !text.is_empty()) {
                // Digits may come partly spoken and partly keyed: they join one answer. The
                // transcript keeps how many were said, not which (spoken as words or figures).
                self.write_transcript(Speaker::Debtor, &format!("[{}]", "•".repeat(spoken.len()))).await;
                let at = self.speech_started_at;
                self.digits.extend(spoken.chars().map(|digit| AnswerDigit { at, digit, keyed: false }));
                self.digits.sort_by_key(|digit| digit.at);
                if self.digits.len() >= VERIFICATION_DIGITS {
                    self.flush_digits().await;
                } else {
                    self.digits_deadline = Some(Instant::now() + self.services.config.call.dtmf_inter_digit());
                }
                return;
            }
        }
        self.hear(text, interpretation).await;
    }

    /// Says the filler when the caller finished a turn and the reply is not ready: the transcript
    /// or its reading is late and the bot is not already speaking. At most twice a turn.
    fn say_filler_if_waiting(&mut self) {
        let waiting = self.transcript_pending() || self.reading.is_some();
        if !waiting || self.hanging_up || self.caller_speaking || !self.playout().is_empty() {
            return;
        }
        if self.fillers_this_turn >= MAX_FILLERS_PER_TURN {
            return;
        }
        self.fillers_this_turn += 1;
        metrics().filler();
        info!(call = %self.record, "reply is late; saying the filler");
        let filler = self.machine.filler();
        let awaiting_reply = self.awaiting_reply;
        self.say(filler);
        self.awaiting_reply = awaiting_reply;
    }

    /// Handles the loss of every speech-to-text provider: turns still waiting for a transcript are dropped,
    /// a paused bot goes on, and the dialog moves to the keypad.
    async fn on_speech_lost(&mut self, reason: &str) {
        if self.speech_lost {
            return;
        }
        self.speech_lost = true;
        metrics().provider_error(Provider::SpeechToText);
        warn!(call = %self.record, %reason, "speech-to-text lost for the rest of the call; moving to the keypad");
        self.transcripts_due = 0;
        self.filler_deadline = None;
        if self.overlap != Overlap::None {
            self.overlap = Overlap::None;
            self.mouth.resume();
        }
        if !self.hanging_up {
            self.act(vec![Event::SpeechUnavailable]).await;
        }
    }

    async fn hear(&mut self, text: String, interpretation: crate::dialog::Interpretation) {
        if !text.is_empty() {
            // Identity digits are personal data: the transcript keeps how many, not which.
            let line = if matches!(self.machine.expecting(), Expecting::VerificationDigits | Expecting::BirthDate) {
                mask_digits(&text)
            } else {
                text.clone()
            };
            self.write_transcript(Speaker::Debtor, &line).await;
        }
        self.act(vec![Event::Heard { text, interpretation }]).await;
    }

    /// Hands the answer's digits to the dialog, unless the caller may still be saying some.
    async fn flush_digits(&mut self) {
        if self.digits.is_empty() {
            self.digits_deadline = None;
            return;
        }
        if self.caller_speaking || self.transcript_pending() || self.reading.is_some() {
            self.digits_deadline = Some(Instant::now() + self.services.config.call.dtmf_inter_digit());
            return;
        }
        self.digits_deadline = None;
        let answer = std::mem::take(&mut self.digits);
        let keyed = answer.iter().filter(|digit| digit.keyed).count();
        if keyed > 0 {
            self.write_transcript(Speaker::Debtor, &format!("[DTMF {}]", "•".repeat(keyed))).await;
        }
        self.act(vec![Event::Digits(answer.into_iter().map(|digit| digit.digit).collect())]).await;
    }

    fn on_mouth(&mut self, report: MouthReport) {
        let mark = match report {
            MouthReport::Synthesized { mark, at } => {
                if let Some(turn) = self.turn_replying_with(&mark) {
                    turn.first_audio.get_or_insert(at);
                }
                return;
            }
            MouthReport::FirstFrame { mark, at } => {
                if let Some(turn) = self.turn_replying_with(&mark) {
                    turn.first_frame.get_or_insert(at);
                }
                return;
            }
            MouthReport::Sent { mark } => {
                debug!(call = %self.record, %mark, "phrase sent");
                mark
            }
            MouthReport::Failed { mark, reason } => {
                metrics().provider_error(Provider::TextToSpeech);
                warn!(call = %self.record, %mark, %reason, "a phrase could not be spoken");
                mark
            }
        };
        self.last_sent_mark = Some(mark);
        self.start_goodbye_wait_if_sent();
    }

    /// Returns the turn whose reply starts with the phrase `mark`, if one is being timed.
    fn turn_replying_with(&mut self, mark: &str) -> Option<&mut Turn> {
        self.turn.as_mut().filter(|turn| turn.first_mark.as_deref() == Some(mark))
    }

    fn playout(&self) -> std::sync::MutexGuard<'_, Playout> {
        self.playout.lock().expect("playout lock")
    }

    fn now_sample(&self) -> u64 {
        mouth::stream_sample_now(self.stream_start)
    }

    /// Starts the bounded wait for the goodbye's mark once the goodbye's last frame is sent,
    /// however long the phrase is.
    fn start_goodbye_wait_if_sent(&mut self) {
        let last_sent = self.playout().last().is_some_and(|phrase| Some(&phrase.mark) == self.last_sent_mark.as_ref());
        if self.hanging_up && last_sent && self.hangup_deadline.is_none() {
            self.hangup_deadline = Some(Instant::now() + self.services.config.call.goodbye_wait());
        }
    }

    /// Tells whether the caller's speech now may cut the bot: its audio is still playing (a mark is
    /// not back), the bot is not saying goodbye, and no protected disclosure is pending.
    fn may_barge_in(&self) -> bool {
        let protect = self.services.config.call.protect_disclosures;
        let playout = self.playout();
        playout.audible()
            && !self.hanging_up
            && self.overlap == Overlap::None
            && !(protect && playout.phrases().any(|phrase| phrase.utterance.protected))
    }

    /// Stops the bot because the caller spoke over it: the carrier gets a `clear` for its buffer,
    /// and what the caller heard is written down. `clear` goes out even when the mouth has
    /// nothing left, since the carrier may still be playing what was sent.
    async fn barge_in(&mut self) {
        self.overlap = Overlap::None;
        self.mouth.interrupt();
        self.send_or_give_up(Outbound::Clear).await;
        let now_sample = self.now_sample();
        self.recorder.lock().expect("recorder lock").cut_bot_after(now_sample);
        let (played, cut) = self.playout().clear(now_sample);
        metrics().barge_in();
        info!(call = %self.record, cut = cut.len(), "caller spoke over the bot; playback cleared");
        self.heard(&played).await;
        let mut events = Vec::new();
        for CutPhrase { utterance, heard_text, .. } in cut {
            if !heard_text.is_empty() {
                self.write_transcript(Speaker::Bot, &format!("{heard_text}…")).await;
            }
            events.push(Event::PlaybackCut { key: utterance.key, heard_text });
        }
        self.act(events).await;
    }

    /// Queues a command for the carrier, giving up after [`CARRIER_WAIT`] when the carrier has
    /// stopped reading and the queue is full, so the call can still end.
    async fn send_or_give_up(&self, command: Outbound) {
        match tokio::time::timeout(CARRIER_WAIT, self.outbound.send(command)).await {
            Ok(_) => {}
            Err(_) => warn!(call = %self.record, "carrier stopped reading; a command was dropped"),
        }
    }

    /// Writes phrases the caller heard whole into the transcript.
    async fn heard(&mut self, played: &[QueuedPhrase]) {
        for phrase in played.iter().filter(|phrase| !phrase.failed) {
            self.write_transcript(Speaker::Bot, &phrase.utterance.text).await;
        }
    }

    /// Handles a returned mark: the phrase was played. Only then does it enter the transcript and
    /// start the wait for the caller's reply. An echo of a cleared or unknown mark finds nothing.
    async fn on_mark(&mut self, name: &str) {
        let played = self.playout().echoed(name);
        let Some(last) = played.last() else {
            debug!(call = %self.record, mark = name, "echo of a cleared or unknown mark ignored");
            return;
        };
        self.heard(&played).await;
        self.turn_mark_echoed(name);
        let filler_played = played.iter().any(|phrase| phrase.utterance.key == Prompt::Filler.key());
        if filler_played && (self.transcript_pending() || self.reading.is_some()) {
            // Still no reply: another filler if the wait goes on.
            self.filler_deadline = Some(Instant::now() + self.services.config.call.filler_after());
        }
        // A filler expects no reply, and the question before it is still open.
        if self.playout().is_empty() && last.utterance.key != Prompt::Filler.key() {
            self.awaiting_reply = last.utterance.expects_reply;
        }
    }

    /// Closes the turn whose reply's first phrase just played, publishing its timings.
    fn turn_mark_echoed(&mut self, name: &str) {
        if !self.turn.as_ref().is_some_and(|turn| turn.first_mark.as_deref() == Some(name)) {
            return;
        }
        let turn = self.turn.take().expect("checked above");
        let echoed = Some(Instant::now());
        let stages = [
            (TurnStage::FinalTranscript, turn.final_transcript),
            (TurnStage::Decision, turn.decision),
            (TurnStage::FirstAudio, turn.first_audio),
            (TurnStage::FirstFrame, turn.first_frame),
            (TurnStage::FirstMark, echoed),
        ];
        for (stage, at) in stages {
            if let Some(at) = at {
                metrics().turn_stage(stage, at.saturating_duration_since(turn.speech_ended));
            }
        }
        let timings = TurnTimings {
            final_transcript_ms: turn.since_speech(turn.final_transcript),
            decision_ms: turn.since_speech(turn.decision),
            first_audio_ms: turn.since_speech(turn.first_audio),
            first_frame_ms: turn.since_speech(turn.first_frame),
            first_mark_ms: turn.since_speech(echoed),
        };
        self.publish(|attempt_id| CallEvent::TurnTimings { attempt_id, timings });
    }

    /// Feeds events to the machine and carries out its actions, feeding back the results of
    /// store writes until nothing is left to do.
    async fn act(&mut self, events: Vec<Event>) {
        let phrases_before = self.phrase_count;
        self.act_on(events).await;
        if self.phrase_count > phrases_before {
            // The reply is on its way: no filler for this turn.
            self.filler_deadline = None;
            let first_mark =
                self.playout().phrases().find(|p| mark_number(&p.mark) > phrases_before).map(|p| p.mark.clone());
            if let Some(turn) =
                self.turn.as_mut().filter(|turn| turn.final_transcript.is_some() && turn.decision.is_none())
            {
                turn.decision = Some(Instant::now());
                turn.first_mark = first_mark;
            }
        }
    }

    async fn act_on(&mut self, events: Vec<Event>) {
        let mut queue: VecDeque<Event> = events.into();
        while let Some(event) = queue.pop_front() {
            let actions = self.machine.on(event);
            let state = self.machine.state().to_string();
            self.publish(|attempt_id| CallEvent::StateChanged { attempt_id, state });
            for action in actions {
                if let Some(result) = self.execute(action).await {
                    queue.push_back(result);
                }
            }
        }
    }

    async fn execute(&mut self, action: Action) -> Option<Event> {
        let now = self.services.clock.now();
        let store = Arc::clone(&self.services.store);
        let CallRecord::Attempt(id) = self.record else {
            return self.execute_unidentified(action).await;
        };
        match action {
            Action::Say(utterance) => {
                self.say(utterance);
                None
            }
            Action::StorePromise(promise) => {
                // Write before you speak: the confirmation is only said after this returns Ok.
                let result = store.store_promise(id, &promise, now).await;
                match &result {
                    Ok(_) => self.publish(|attempt_id| CallEvent::PromiseStored { attempt_id, promise }),
                    Err(error) => {
                        metrics().provider_error(Provider::Store);
                        warn!(attempt_id = %id, %error, "promise could not be stored; it will not be confirmed");
                    }
                }
                Some(Event::PromiseStored { ok: result.is_ok() })
            }
            Action::StorePaymentClaim(claim) => {
                Some(self.stored(store.record_payment_claim(id, &claim, now).await, "payment claim"))
            }
            Action::StoreCallback { requested_for } => {
                Some(self.stored(store.record_callback_request(id, requested_for, now).await, "callback request"))
            }
            Action::StoreOptOut { channel } => {
                let Some(debtor) = self.account.as_ref().map(|account| account.debtor.id.clone()) else {
                    return Some(self.stored(
                        Err(StoreError::NotFound { what: "debtor of attempt", id: id.to_string() }),
                        "opt-out",
                    ));
                };
                Some(self.stored(store.record_opt_out(&debtor, &channel, now).await, "opt-out"))
            }
            Action::StoreDispute => Some(self.stored(store.record_dispute(id, now).await, "dispute")),
            Action::StoreHardship { person_callback } => {
                Some(self.stored(store.record_hardship(id, person_callback, now).await, "hardship"))
            }
            Action::Transfer { to } => {
                // Limitation: the session cannot hand a stream to a person yet. A transfer
                // therefore ends the call after the notice, so set no `transfer_to` until it can.
                warn!(attempt_id = %id, to = %mask_phone(&to), "transfer requested but not supported by the session");
                None
            }
            Action::RightPartyVerified => {
                self.right_party = true;
                None
            }
            Action::Dispose(disposition) => {
                info!(attempt_id = %id, %disposition, "disposition set");
                None
            }
            Action::Hangup => {
                self.begin_hangup();
                None
            }
            // Only an identification asks for a lookup, and it runs before the call has an attempt.
            Action::FindAccount { .. } => None,
        }
    }

    /// Starts ending the call: the session returns once every pending mark is back, or when the
    /// wait that starts after the last phrase is sent runs out.
    fn begin_hangup(&mut self) {
        self.hanging_up = true;
        self.reply_deadline = None;
        self.start_goodbye_wait_if_sent();
    }

    fn stored(&self, result: Result<(), StoreError>, what: &str) -> Event {
        if let Err(error) = &result {
            metrics().provider_error(Provider::Store);
            warn!(call = %self.record, %error, what, "outcome could not be stored");
        }
        Event::OutcomeStored { ok: result.is_ok() }
    }

    fn say(&mut self, utterance: Utterance) {
        self.phrase_count += 1;
        let mark = format!("{}:{}", self.phrase_count, utterance.key);
        let phrase = Phrase {
            mark: mark.clone(),
            text: utterance.text.clone(),
            language: self.machine.language(),
            generation: self.mouth.generation(),
        };
        self.awaiting_reply = false;
        // The ledger learns of the phrase before the mouth can report on it.
        self.playout().queue(mark, utterance);
        let _ = self.mouth.phrases.send(phrase);
    }

    async fn write_transcript(&mut self, speaker: Speaker, text: &str) {
        if self.history.len() == HISTORY_LINES {
            self.history.pop_front();
        }
        self.history.push_back(ConversationLine { bot: speaker == Speaker::Bot, text: text.to_string() });
        let line = TranscriptLine { speaker, text: text.to_string(), at: self.services.clock.now() };
        let stored = match self.record {
            CallRecord::Attempt(id) => self.services.store.append_transcript(id, &line).await,
            CallRecord::InboundCall(id) => self.services.store.append_inbound_transcript(id, &line).await,
        };
        if let Err(error) = stored {
            metrics().provider_error(Provider::Store);
            warn!(call = %self.record, %error, "transcript line could not be stored");
        }
        self.publish(|attempt_id| CallEvent::Transcript { attempt_id, line });
    }

    /// Stores the outcome and the recording, then closes the stream unless the caller already
    /// hung up.
    async fn finish(mut self) -> CallReport {
        self.mouth.stop();
        self.flush_digits_silently();
        let disposition = match self.machine.disposition() {
            Some(disposition) => disposition,
            None if self.caller_hung_up => Disposition::HungUp,
            None => Disposition::TechnicalFailure,
        };
        let recording_path = self.write_recording();
        self.meter_telephony();
        let costs = self.meter.lines();
        let cost_micros = cost::total_micros(&costs);
        let outcome = AttemptOutcome {
            disposition,
            answered: true,
            right_party_contact: self.right_party,
            ended_at: self.services.clock.now(),
            recording_path: recording_path.clone(),
            costs,
        };
        let stored = match self.record {
            CallRecord::Attempt(id) => self.services.store.finish_attempt(id, &outcome).await,
            CallRecord::InboundCall(id) => self.finish_unidentified(id, &outcome).await,
        };
        if let Err(error) = stored {
            warn!(call = %self.record, %error, "call outcome could not be stored");
        }
        info!(call = %self.record, %disposition, right_party = self.right_party, "call ended");
        self.publish(|attempt_id| CallEvent::Ended { attempt_id, disposition });
        if !self.caller_hung_up {
            self.send_or_give_up(Outbound::Hangup).await;
        }
        CallReport { disposition, right_party_contact: self.right_party, recording_path, cost_micros }
    }

    /// Records the carrier's time: calls are billed by the started minute.
    fn meter_telephony(&self) {
        let prices = &self.services.config.costs;
        let seconds = self.stream_start.elapsed().as_secs_f64();
        let billed_seconds = (seconds / 60.0).ceil().max(1.0) as u64 * 60;
        let price = cost::Price { micros: cost::dollars_to_micros(prices.telephony_per_minute), per: 60 };
        self.meter.record(CostCategory::Telephony, &prices.carrier, billed_seconds, price);
    }

    fn flush_digits_silently(&mut self) {
        self.digits.clear();
        self.digits_deadline = None;
    }

    fn write_recording(&self) -> Option<String> {
        match self.recorder.lock().expect("recorder lock").finish(&self.recording_file) {
            Ok(path) => Some(path.display().to_string()),
            Err(error) => {
                warn!(call = %self.record, %error, "recording could not be written");
                None
            }
        }
    }
}

fn recording_path(services: &CallServices, record: CallRecord) -> std::path::PathBuf {
    let name = match record {
        CallRecord::Attempt(id) => format!("attempt-{id}.wav"),
        CallRecord::InboundCall(id) => format!("inbound-call-{id}.wav"),
    };
    services.data_dir.join(&services.config.call.recordings_dir).join(name)
}

/// Opens a recorder that streams to the call's WAV file, so a long call does not grow in memory.
/// When the file cannot be created, the recording is kept in memory and written at the end.
fn open_recorder(path: &std::path::Path, services: &CallServices) -> CallRecorder {
    let created = match path.parent() {
        Some(dir) => std::fs::create_dir_all(dir).map_err(|e| e.to_string()),
        None => Ok(()),
    }
    .and_then(|()| {
        // The bot's audio is written as it is sent, up to the pacing lead ahead of the caller's.
        let lead = services.config.call.pacing_lead().as_millis() as u64 * SAMPLES_PER_MS;
        CallRecorder::create_with_window(path, WINDOW_SAMPLES + lead).map_err(|e| e.to_string())
    });
    created.unwrap_or_else(|error| {
        warn!(path = %path.display(), %error, "recording file could not be created; keeping the recording in memory");
        CallRecorder::new()
    })
}

/// Maximum wait for room in the carrier's queue before a command is dropped.
const CARRIER_WAIT: Duration = Duration::from_secs(2);

/// Longest wait for a transcript before the session stops holding the bot or digits for it.
const TRANSCRIPT_WAIT: Duration = Duration::from_secs(5);

/// Caller audio goes to speech-to-text in 100 ms chunks, and at once when speech starts or ends:
/// one hand-over per five carrier frames instead of one per frame.
const STT_CHUNK_SAMPLES: usize = 800;

/// Conversation lines kept for interpreters that read a turn in context.
const HISTORY_LINES: usize = 12;

/// Maximum fillers while one reply is late. A longer wait is bounded by the transcript wait.
const MAX_FILLERS_PER_TURN: u32 = 2;

/// Digits the identity check asks for.
const VERIFICATION_DIGITS: usize = 4;

/// Identity digits are personal data: the transcript keeps how many, not which.
fn mask_digits(text: &str) -> String {
    text.chars().map(|c| if c.is_ascii_digit() { '•' } else { c }).collect()
}

/// The sequence number a mark name starts with (`"7:ask_payment"` is 7).
fn mark_number(mark: &str) -> u64 {
    mark.split(':').next().and_then(|number| number.parse().ok()).unwrap_or(0)
}
