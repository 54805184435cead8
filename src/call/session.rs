//! The call session: one task per call that turns carrier events into dialog events and dialog
//! actions into speech, store writes and, at the end, a hang-up.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::{sleep_until, Instant};
use tracing::{debug, info, warn};

use super::mouth::{self, Mouth, MouthReport, Phrase};
use super::{CallEvent, CallServices};
use crate::audio::mulaw;
use crate::audio::recording::CallRecorder;
use crate::audio::vad::{VadConfig, VadEvent, VoiceActivityDetector};
use crate::collections::model::{mask_phone, Account, Disposition, Speaker, TranscriptLine};
use crate::collections::{Attempt, AttemptOutcome, StoreError};
use crate::dialog::nlu::Expecting;
use crate::dialog::{Action, CallContext, Event, Language, Machine, Script, Utterance};
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
}

/// The outcome of one call, for the caller of [`run_call`].
#[derive(Debug, Clone)]
pub struct CallReport {
    pub disposition: Disposition,
    pub right_party_contact: bool,
    pub recording_path: Option<String>,
}

/// A phrase sent or queued whose mark has not come back yet.
struct PendingPhrase {
    mark: String,
    utterance: Utterance,
    /// Text-to-speech failed, so the caller never heard it even when its mark returns.
    failed: bool,
}

/// Runs one call to its end: returns when the bot hung up or the caller did.
pub async fn run_call(
    services: CallServices,
    start: StreamStart,
    attempt: Attempt,
    mut inbound: mpsc::Receiver<Inbound>,
    outbound: mpsc::Sender<Outbound>,
) -> Result<CallReport, CallError> {
    let account = services.store.account_by_debt(attempt.debt_id).await?.ok_or(CallError::NoAccount(attempt.id.0))?;
    let language = Language::from_locale(&account.debtor.locale);
    let script = Script::embedded(&account.debtor.locale)
        .map_err(|e| CallError::Script { locale: account.debtor.locale.clone(), reason: e.to_string() })?;
    // NOTE: the speech-to-text language stays the debtor's locale even when the dialog switches
    // language mid-call.
    let stt = services.stt.open(language).await?;
    info!(
        attempt_id = %attempt.id,
        call_sid = %start.call_sid,
        phone = %mask_phone(&account.debtor.phone),
        "call started"
    );
    let _ = services.bus.send(CallEvent::Started { attempt_id: attempt.id, call_sid: start.call_sid.clone() });

    let mut session = Session::new(services, attempt, account, script, stt, outbound);
    session.act(vec![Event::CallStarted]).await;
    session.run(&mut inbound).await;
    Ok(session.finish().await)
}

struct Session {
    services: CallServices,
    attempt: Attempt,
    account: Account,
    machine: Machine,
    stt: SttStream,
    vad: VoiceActivityDetector,
    recorder: Arc<Mutex<CallRecorder>>,
    mouth: Mouth,
    outbound: mpsc::Sender<Outbound>,

    pending: VecDeque<PendingPhrase>,
    phrase_count: u64,
    last_sent_mark: Option<String>,
    caller_samples: u64,
    caller_speaking: bool,
    digits: String,
    digits_deadline: Option<Instant>,
    reply_deadline: Option<Instant>,
    hangup_deadline: Option<Instant>,
    call_deadline: Instant,
    hanging_up: bool,
    caller_hung_up: bool,
    right_party: bool,
}

impl Session {
    fn new(
        services: CallServices,
        attempt: Attempt,
        account: Account,
        script: Script,
        stt: SttStream,
        outbound: mpsc::Sender<Outbound>,
    ) -> Session {
        let config = Arc::clone(&services.config);
        let today = services.clock.now().with_timezone(&account.debtor.time_zone).date_naive();
        let context = CallContext {
            account: account.clone(),
            today,
            agency: config.agency.name.clone(),
            bot_name: config.agency.bot_name.clone(),
            settings: config.dialog,
        };
        let vad_config =
            VadConfig { end_of_turn_silence_ms: config.call.end_of_turn_silence_ms, ..VadConfig::default() };
        let recorder = Arc::new(Mutex::new(CallRecorder::new()));
        let stream_start = Instant::now();
        let mouth = mouth::spawn(
            Arc::clone(&services.tts),
            outbound.clone(),
            Arc::clone(&recorder),
            stream_start,
            config.call.pacing_lead(),
        );
        Session {
            machine: Machine::new(context, script),
            vad: VoiceActivityDetector::new(vad_config, 8_000),
            call_deadline: stream_start + config.call.max_call(),
            services,
            attempt,
            account,
            stt,
            recorder,
            mouth,
            outbound,
            pending: VecDeque::new(),
            phrase_count: 0,
            last_sent_mark: None,
            caller_samples: 0,
            caller_speaking: false,
            digits: String::new(),
            digits_deadline: None,
            reply_deadline: None,
            hangup_deadline: None,
            hanging_up: false,
            caller_hung_up: false,
            right_party: false,
        }
    }

    async fn run(&mut self, inbound: &mut mpsc::Receiver<Inbound>) {
        let far = Instant::now() + Duration::from_secs(86_400);
        loop {
            if self.hanging_up && self.pending.is_empty() {
                return;
            }
            tokio::select! {
                message = inbound.recv() => match message {
                    Some(Inbound::Stop) | None => {
                        self.caller_hung_up = true;
                        self.act(vec![Event::CallerHungUp]).await;
                        return;
                    }
                    Some(message) => self.on_carrier(message).await,
                },
                Some(event) = self.stt.events.recv() => self.on_transcript(event).await,
                Some(report) = self.mouth.reports.recv() => self.on_mouth(report),
                _ = sleep_until(self.reply_deadline.unwrap_or(far)), if self.reply_deadline.is_some() => {
                    self.reply_deadline = None;
                    self.act(vec![Event::Silence]).await;
                }
                _ = sleep_until(self.digits_deadline.unwrap_or(far)), if self.digits_deadline.is_some() => {
                    self.flush_digits().await;
                }
                _ = sleep_until(self.hangup_deadline.unwrap_or(far)), if self.hangup_deadline.is_some() => {
                    warn!(attempt_id = %self.attempt.id, pending = self.pending.len(), "goodbye mark did not come back in time");
                    return;
                }
                _ = sleep_until(self.call_deadline) => {
                    // NOTE: the stream is closed without a goodbye, because the dialog has no
                    // maximum-length prompt yet.
                    warn!(attempt_id = %self.attempt.id, "maximum call length reached");
                    return;
                }
            }
        }
    }

    async fn on_carrier(&mut self, message: Inbound) {
        match message {
            Inbound::Audio { timestamp_ms, mulaw } => self.on_audio(timestamp_ms, &mulaw).await,
            Inbound::Dtmf(digit) => {
                self.reply_deadline = None;
                if digit == '#' {
                    self.flush_digits().await;
                } else {
                    self.digits.push(digit);
                    self.digits_deadline = Some(Instant::now() + self.services.config.call.dtmf_inter_digit());
                }
            }
            Inbound::MarkPlayed(name) => self.on_mark(&name).await,
            Inbound::Stop => {}
        }
    }

    async fn on_audio(&mut self, timestamp_ms: Option<u64>, bytes: &[u8]) {
        let pcm = mulaw::decode_slice(bytes);
        // A timestamp past the longest possible call is not to be trusted: the audio goes right
        // after the previous chunk instead of growing the recording without bound.
        let longest_ms = self.services.config.call.max_call().as_millis() as u64 + 60_000;
        let at = match timestamp_ms {
            Some(ms) if ms <= longest_ms => ms * 8,
            _ => self.caller_samples,
        };
        self.recorder.lock().expect("recorder lock").caller(at, &pcm);
        self.caller_samples = at + pcm.len() as u64;

        for event in self.vad.push(&pcm) {
            match event {
                VadEvent::SpeechStarted { .. } => {
                    self.caller_speaking = true;
                    self.reply_deadline = None;
                    if self.may_barge_in() {
                        self.barge_in().await;
                    }
                }
                VadEvent::SpeechEnded { .. } => {
                    self.caller_speaking = false;
                    let _ = self.stt.input.send(SttInput::Finalize).await;
                }
            }
        }
        if self.stt.input.send(SttInput::Audio(pcm)).await.is_err() {
            warn!(attempt_id = %self.attempt.id, "speech-to-text stream closed");
        }
    }

    async fn on_transcript(&mut self, event: SttEvent) {
        let text = match event {
            SttEvent::Final { text } => text,
            SttEvent::Partial { .. } => return,
            SttEvent::Error(error) => {
                warn!(attempt_id = %self.attempt.id, %error, "speech-to-text failed for a turn");
                String::new()
            }
        };
        if self.hanging_up {
            return;
        }
        if !text.is_empty() {
            // Identity digits are personal data: the transcript keeps how many, not which.
            let line = if self.machine.expecting() == Expecting::VerificationDigits {
                text.chars().map(|c| if c.is_ascii_digit() { '•' } else { c }).collect()
            } else {
                text.clone()
            };
            self.write_transcript(Speaker::Debtor, &line).await;
        }
        let context = self.machine.interpret_context();
        let interpretation = self.services.interpreter.interpret(&text, &context).await;
        self.act(vec![Event::Heard { text, interpretation }]).await;
    }

    async fn flush_digits(&mut self) {
        self.digits_deadline = None;
        if self.digits.is_empty() {
            return;
        }
        let digits = std::mem::take(&mut self.digits);
        self.write_transcript(Speaker::Debtor, &format!("[DTMF {}]", "•".repeat(digits.len()))).await;
        self.act(vec![Event::Digits(digits)]).await;
    }

    fn on_mouth(&mut self, report: MouthReport) {
        let mark = match report {
            MouthReport::Sent { mark } => {
                debug!(attempt_id = %self.attempt.id, %mark, "phrase sent");
                mark
            }
            MouthReport::Failed { mark, reason } => {
                warn!(attempt_id = %self.attempt.id, %mark, %reason, "a phrase could not be spoken");
                if let Some(phrase) = self.pending.iter_mut().find(|phrase| phrase.mark == mark) {
                    phrase.failed = true;
                }
                mark
            }
        };
        self.last_sent_mark = Some(mark);
        self.start_goodbye_wait_if_sent();
    }

    /// Starts the bounded wait for the goodbye's mark once the goodbye's last frame is sent,
    /// however long the phrase is.
    fn start_goodbye_wait_if_sent(&mut self) {
        let last_sent = self.pending.back().is_some_and(|phrase| Some(&phrase.mark) == self.last_sent_mark.as_ref());
        if self.hanging_up && last_sent && self.hangup_deadline.is_none() {
            self.hangup_deadline = Some(Instant::now() + self.services.config.call.goodbye_wait());
        }
    }

    /// Tells whether the caller's speech now would cut the bot: something is still playing, the bot
    /// is not saying goodbye, and nothing pending is an uninterruptible prompt.
    fn may_barge_in(&self) -> bool {
        let protected = &self.services.config.call.uninterruptible_prompts;
        !self.pending.is_empty()
            && !self.hanging_up
            && !self.pending.iter().any(|phrase| protected.contains(&phrase.utterance.key))
    }

    /// The caller spoke over the bot: the bot stops, and what it had not played yet is dropped
    /// on both sides. Cleared phrases never enter the transcript, and their echoed marks are
    /// ignored because they are no longer pending.
    // NOTE: any voice interrupts, backchannels ("ajá") included, and the dialog does not learn
    // which phrase was cut.
    async fn barge_in(&mut self) {
        self.mouth.interrupt();
        let _ = self.outbound.send(Outbound::Clear).await;
        self.recorder.lock().expect("recorder lock").cut_bot_after(self.caller_samples);
        let cut = self.pending.len();
        self.pending.clear();
        info!(attempt_id = %self.attempt.id, phrases = cut, "caller spoke over the bot; playback cleared");
    }

    /// Handles a returned mark: the phrase was played. Only then does it enter the transcript and
    /// start the wait for the caller's reply.
    async fn on_mark(&mut self, name: &str) {
        let Some(position) = self.pending.iter().position(|p| p.mark == name) else {
            return;
        };
        // Marks come back in order, so every phrase before this one was played too.
        let played: Vec<PendingPhrase> = self.pending.drain(..=position).collect();
        for phrase in played.iter().filter(|phrase| !phrase.failed) {
            self.write_transcript(Speaker::Bot, &phrase.utterance.text).await;
        }
        let last = played.last().expect("drained at least one");
        if self.pending.is_empty() && last.utterance.expects_reply && !self.caller_speaking && !self.hanging_up {
            self.reply_deadline = Some(Instant::now() + self.services.config.call.reply_timeout());
        }
    }

    /// Feeds events to the machine and carries out its actions, feeding back the results of
    /// store writes until nothing is left to do.
    async fn act(&mut self, events: Vec<Event>) {
        let mut queue: VecDeque<Event> = events.into();
        while let Some(event) = queue.pop_front() {
            let actions = self.machine.on(event);
            let _ = self
                .services
                .bus
                .send(CallEvent::StateChanged { attempt_id: self.attempt.id, state: self.machine.state().to_string() });
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
        let id = self.attempt.id;
        match action {
            Action::Say(utterance) => {
                self.say(utterance);
                None
            }
            Action::StorePromise(promise) => {
                // Write before you speak: the confirmation is only said after this returns Ok.
                let result = store.store_promise(id, &promise, now).await;
                if let Err(error) = &result {
                    warn!(attempt_id = %id, %error, "promise could not be stored; it will not be confirmed");
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
                let debtor = self.account.debtor.id.clone();
                Some(self.stored(store.record_opt_out(&debtor, &channel, now).await, "opt-out"))
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
                // The session returns once every pending mark is back, or when the wait that
                // starts after the last phrase is sent runs out.
                self.hanging_up = true;
                self.reply_deadline = None;
                self.start_goodbye_wait_if_sent();
                None
            }
        }
    }

    fn stored(&self, result: Result<(), StoreError>, what: &str) -> Event {
        if let Err(error) = &result {
            warn!(attempt_id = %self.attempt.id, %error, what, "outcome could not be stored");
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
        let _ = self.mouth.phrases.send(phrase);
        self.pending.push_back(PendingPhrase { mark, utterance, failed: false });
    }

    async fn write_transcript(&self, speaker: Speaker, text: &str) {
        let line = TranscriptLine { speaker, text: text.to_string(), at: self.services.clock.now() };
        if let Err(error) = self.services.store.append_transcript(self.attempt.id, &line).await {
            warn!(attempt_id = %self.attempt.id, %error, "transcript line could not be stored");
        }
        let _ = self.services.bus.send(CallEvent::Transcript { attempt_id: self.attempt.id, line });
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
        let outcome = AttemptOutcome {
            disposition,
            answered: true,
            right_party_contact: self.right_party,
            ended_at: self.services.clock.now(),
            recording_path: recording_path.clone(),
        };
        if let Err(error) = self.services.store.finish_attempt(self.attempt.id, &outcome).await {
            warn!(attempt_id = %self.attempt.id, %error, "call outcome could not be stored");
        }
        info!(attempt_id = %self.attempt.id, %disposition, right_party = self.right_party, "call ended");
        let _ = self.services.bus.send(CallEvent::Ended { attempt_id: self.attempt.id, disposition });
        if !self.caller_hung_up {
            let _ = self.outbound.send(Outbound::Hangup).await;
        }
        CallReport { disposition, right_party_contact: self.right_party, recording_path }
    }

    fn flush_digits_silently(&mut self) {
        self.digits.clear();
        self.digits_deadline = None;
    }

    fn write_recording(&self) -> Option<String> {
        let dir = self.services.data_dir.join(&self.services.config.call.recordings_dir);
        let path = dir.join(format!("attempt-{}.wav", self.attempt.id));
        let written = std::fs::create_dir_all(&dir)
            .map_err(|e| e.to_string())
            .and_then(|()| self.recorder.lock().expect("recorder lock").write_wav(&path).map_err(|e| e.to_string()));
        match written {
            Ok(()) => Some(path.display().to_string()),
            Err(error) => {
                warn!(attempt_id = %self.attempt.id, path = %path.display(), %error, "recording could not be written");
                None
            }
        }
    }
}
