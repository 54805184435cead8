//! A fallback chain of speech-to-text providers for one call. The first provider that opens
//! serves the call. When it fails (an error for a turn, a dropped stream), the next one takes over
//! with the audio of every turn not yet transcribed, so the caller's words are not lost.
//!
//! When no provider is left the chain reports [`SttEvent::Unavailable`] once, and the session
//! carries on without speech.

use std::collections::VecDeque;
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::mpsc;
use tracing::{info, warn};

use super::{SpeechToText, SttEvent, SttInput, SttStream, MAX_TURN_SAMPLES, PRE_ROLL_SAMPLES};
use crate::audio::CALL_SAMPLE_RATE;
use crate::cost::{CallMeter, CostCategory, Price};
use crate::dialog::Language;
use crate::metrics::{metrics, Provider};
use crate::resilience::{jittered, ProviderGuard};
use crate::speech::SpeechError;

/// The audio a provider bills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Billing {
    /// Every second streamed, silence included (Deepgram's live streaming).
    Streamed,
    /// Only the audio uploaded per turn: the speech and its pre-roll.
    PerTurn,
}

/// One provider of the chain.
#[derive(Clone)]
pub struct SttProvider {
    /// The configuration name: `deepgram`, `openai`, `whisper`.
    pub name: String,
    pub stt: Arc<dyn SpeechToText>,
    pub guard: Arc<ProviderGuard>,
    pub price: Price,
    pub billing: Billing,
}

/// Speech-to-text over a chain of providers, tried in order.
#[derive(Clone)]
pub struct FallbackStt {
    providers: Arc<Vec<SttProvider>>,
}

impl FallbackStt {
    pub fn new(providers: Vec<SttProvider>) -> FallbackStt {
        FallbackStt { providers: Arc::new(providers) }
    }

    pub fn provider_names(&self) -> Vec<String> {
        self.providers.iter().map(|provider| provider.name.clone()).collect()
    }
}

/// The session's input queue has room for this many 100 ms chunks, so a provider that takes a few
/// seconds to open during a failover does not stall the session.
const INPUT_QUEUE: usize = 512;

#[async_trait]
impl SpeechToText for FallbackStt {
    async fn open(&self, language: Language) -> Result<SttStream, SpeechError> {
        let (input, inputs) = mpsc::channel(INPUT_QUEUE);
        let (events_sender, events) = mpsc::channel(64);
        let mut relay = Relay {
            providers: Arc::clone(&self.providers),
            language,
            active: None,
            pending: Pending::default(),
            failures: Vec::new(),
            meter: crate::cost::current(),
            events: events_sender,
            unavailable: false,
            attempts_at_turn: 1,
        };
        relay.fail_over(0).await;
        tokio::spawn(relay.run(inputs));
        Ok(SttStream { input, events })
    }
}

/// The inputs since the last transcript the session received: what a new provider must hear.
#[derive(Default)]
struct Pending {
    inputs: VecDeque<SttInput>,
    finalizes: usize,
    speaking: bool,
    /// Samples of the turn in progress counted since speech started, for per-turn billing.
    turn_samples: u64,
    /// Samples billed per turn for each finished turn still waiting for its transcript, oldest
    /// first, so a replay bills each turn for its own length.
    turn_lengths: VecDeque<u64>,
}

impl Pending {
    fn push(&mut self, input: &SttInput) {
        match input {
            SttInput::Audio(pcm) => {
                if self.speaking {
                    self.turn_samples += pcm.len() as u64;
                }
            }
            SttInput::SpeechStarted => {
                self.speaking = true;
                self.turn_samples = PRE_ROLL_SAMPLES as u64;
            }
            SttInput::Finalize => {
                self.speaking = false;
                self.finalizes += 1;
                self.turn_lengths.push_back(self.turn_samples);
            }
        }
        self.inputs.push_back(input.clone());
        self.trim();
    }

    /// Keeps only what a new provider needs: before speech and with no turn waiting, the
    /// pre-roll; otherwise at most two longest turns of audio.
    fn trim(&mut self) {
        let limit = if self.finalizes == 0 && !self.speaking { PRE_ROLL_SAMPLES } else { 2 * MAX_TURN_SAMPLES };
        let mut samples: usize = self.inputs.iter().map(audio_len).sum();
        while samples > limit {
            let Some(index) = self.inputs.iter().position(|input| matches!(input, SttInput::Audio(_))) else { break };
            let oldest = audio_len(&self.inputs[index]);
            if samples - oldest < limit {
                break;
            }
            samples -= oldest;
            self.inputs.remove(index);
        }
    }

    /// Forgets the inputs of the turn the transcript answered.
    fn answered(&mut self) {
        while let Some(input) = self.inputs.pop_front() {
            if input == SttInput::Finalize {
                self.finalizes = self.finalizes.saturating_sub(1);
                self.turn_lengths.pop_front();
                return;
            }
        }
    }
}

fn audio_len(input: &SttInput) -> usize {
    match input {
        SttInput::Audio(pcm) => pcm.len(),
        SttInput::SpeechStarted | SttInput::Finalize => 0,
    }
}

fn samples_to_ms(samples: u64) -> u64 {
    samples * 1000 / u64::from(CALL_SAMPLE_RATE)
}

struct Relay {
    providers: Arc<Vec<SttProvider>>,
    language: Language,
    /// The provider's index in the chain and its open stream.
    active: Option<(usize, SttStream)>,
    pending: Pending,
    failures: Vec<String>,
    meter: Option<CallMeter>,
    events: mpsc::Sender<SttEvent>,
    unavailable: bool,
    /// Attempts the active provider has had at the oldest unanswered turn.
    attempts_at_turn: u32,
}

impl Relay {
    async fn run(mut self, mut inputs: mpsc::Receiver<SttInput>) {
        loop {
            let event = async {
                match &mut self.active {
                    Some((_, stream)) => stream.events.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                input = inputs.recv() => match input {
                    Some(input) => self.on_input(input).await,
                    // The session ended the call: dropping the active stream closes it.
                    None => return,
                },
                event = event => {
                    if self.on_event(event).await.is_err() {
                        return;
                    }
                }
            }
        }
    }

    async fn on_input(&mut self, input: SttInput) {
        self.pending.push(&input);
        let Some((index, stream)) = &self.active else { return };
        let index = *index;
        let turn_samples = self.pending.turn_lengths.back().copied().unwrap_or(0);
        self.meter_input(index, &input, turn_samples);
        if stream.input.send(input).await.is_err() {
            self.provider_failed(index, "its stream closed".to_string());
            self.fail_over(index + 1).await;
        }
    }

    /// Passes a provider's event on; returns Err when the session is gone.
    async fn on_event(&mut self, event: Option<SttEvent>) -> Result<(), ()> {
        let Some((index, _)) = &self.active else { return Ok(()) };
        let index = *index;
        match event {
            Some(SttEvent::Final { text }) => {
                self.pending.answered();
                self.attempts_at_turn = 1;
                self.providers[index].guard.succeeded();
                self.events.send(SttEvent::Final { text }).await.map_err(drop)
            }
            Some(SttEvent::Partial { text }) => self.events.send(SttEvent::Partial { text }).await.map_err(drop),
            Some(SttEvent::Error(error)) => {
                let settings = self.providers[index].guard.settings();
                self.provider_failed(index, error.to_string());
                if error.is_retryable() && self.attempts_at_turn < settings.attempts {
                    // A rate limit or a server error: the same provider hears the turn again.
                    self.attempts_at_turn += 1;
                    tokio::time::sleep(jittered(settings.retry_base_ms, self.attempts_at_turn - 1)).await;
                    self.fail_over(index).await;
                } else {
                    self.attempts_at_turn = 1;
                    self.fail_over(index + 1).await;
                }
                Ok(())
            }
            Some(SttEvent::Unavailable { reason }) => {
                self.provider_failed(index, reason);
                self.fail_over(index + 1).await;
                Ok(())
            }
            None => {
                self.provider_failed(index, "its stream ended".to_string());
                self.fail_over(index + 1).await;
                Ok(())
            }
        }
    }

    fn provider_failed(&mut self, index: usize, reason: String) {
        let provider = &self.providers[index];
        metrics().provider_error(Provider::SpeechToText);
        warn!(provider = %provider.name, %reason, "speech-to-text provider failed during the call");
        provider.guard.failed(&reason);
        self.failures.push(format!("{}: {reason}", provider.name));
        self.active = None;
    }

    /// Opens the first usable provider from `start` on and hands it every input not yet
    /// answered. With none left, reports the chain unavailable.
    async fn fail_over(&mut self, start: usize) {
        self.active = None;
        for index in start..self.providers.len() {
            let provider = &self.providers[index];
            if let Err(rejection) = provider.guard.admit() {
                info!(provider = %provider.name, %rejection, "speech-to-text provider skipped");
                self.failures.push(format!("{}: {rejection}", provider.name));
                continue;
            }
            let stream = match provider.stt.open(self.language).await {
                Ok(stream) => stream,
                Err(error) => {
                    self.provider_failed(index, error.to_string());
                    continue;
                }
            };
            let replay: Vec<SttInput> = self.pending.inputs.iter().cloned().collect();
            let mut turn_lengths = self.pending.turn_lengths.clone().into_iter();
            let mut delivered = true;
            for input in replay {
                let turn_samples = match input {
                    SttInput::Finalize => turn_lengths.next().unwrap_or(0),
                    SttInput::Audio(_) | SttInput::SpeechStarted => 0,
                };
                self.meter_input(index, &input, turn_samples);
                if stream.input.send(input).await.is_err() {
                    delivered = false;
                    break;
                }
            }
            if !delivered {
                self.provider_failed(index, "its stream closed while the turn was replayed".to_string());
                continue;
            }
            if start > 0 {
                info!(provider = %provider.name, turns = self.pending.finalizes, "speech-to-text moved to the next provider");
            }
            self.active = Some((index, stream));
            return;
        }
        if !self.unavailable {
            self.unavailable = true;
            let reason = if self.failures.is_empty() {
                "no speech-to-text provider is configured".to_string()
            } else {
                format!("every speech-to-text provider failed ({})", self.failures.join("; "))
            };
            warn!(%reason, "speech-to-text unavailable for the rest of the call");
            let _ = self.events.send(SttEvent::Unavailable { reason }).await;
        }
    }

    /// Meters one input for the provider at `index`. `turn_samples` is the billed length of the
    /// turn a Finalize ends, and is ignored for other inputs.
    fn meter_input(&self, index: usize, input: &SttInput, turn_samples: u64) {
        let Some(meter) = &self.meter else { return };
        let provider = &self.providers[index];
        let samples = match (provider.billing, input) {
            (Billing::Streamed, SttInput::Audio(pcm)) => pcm.len() as u64,
            (Billing::PerTurn, SttInput::Finalize) => turn_samples,
            _ => 0,
        };
        meter.record(CostCategory::SpeechToText, &provider.name, samples_to_ms(samples), provider.price);
    }
}
