//! The mouth: renders phrases with text-to-speech, sends them as fixed 20 ms μ-law frames paced
//! from an absolute clock, and ends each phrase with a mark so playback can be confirmed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::warn;

use crate::audio::frames::{into_frames, Pacer, FRAME_BYTES};
use crate::audio::mulaw;
use crate::audio::recording::CallRecorder;
use crate::dialog::Language;
use crate::speech::tts::TextToSpeech;
use crate::telephony::Outbound;

const SAMPLES_PER_MS: u64 = 8;

/// A phrase for the mouth to play, named by the mark that will confirm it.
pub struct Phrase {
    pub mark: String,
    pub text: String,
    pub language: Language,
    /// The mouth's generation when the phrase was queued; an interruption ends it.
    pub generation: u64,
}

/// What the mouth reports back to the session.
#[derive(Debug)]
pub enum MouthReport {
    /// All frames of the phrase and its mark were handed to the carrier.
    Sent { mark: String },
    /// Text-to-speech failed; the phrase was not played and its mark was still sent so the
    /// session does not wait for it.
    Failed { mark: String, reason: String },
}

pub struct Mouth {
    pub phrases: mpsc::UnboundedSender<Phrase>,
    pub reports: mpsc::UnboundedReceiver<MouthReport>,
    task: tokio::task::JoinHandle<()>,
    generation: Arc<AtomicU64>,
}

impl Mouth {
    /// The generation to stamp on phrases queued now.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Drops every phrase queued so far and stops the one playing before its next frame. The
    /// caller of this sends the carrier a `clear` for the frames already sent.
    pub fn interrupt(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Stops speaking at once: queued phrases and the rest of the current one are dropped.
    pub fn stop(&self) {
        self.task.abort();
    }
}

/// Starts the mouth task of one call. `stream_start` is the instant stream time zero.
pub fn spawn(
    tts: Arc<dyn TextToSpeech>,
    outbound: mpsc::Sender<Outbound>,
    recorder: Arc<Mutex<CallRecorder>>,
    stream_start: Instant,
    lead: Duration,
) -> Mouth {
    let (phrases, mut queue) = mpsc::unbounded_channel::<Phrase>();
    let (report_sender, reports) = mpsc::unbounded_channel();
    let generation = Arc::new(AtomicU64::new(0));
    let current = Arc::clone(&generation);
    let task = tokio::spawn(async move {
        let mut timeline = Timeline { stream_start, lead, next_sample: 0 };
        while let Some(phrase) = queue.recv().await {
            if phrase.generation != current.load(Ordering::SeqCst) {
                continue;
            }
            let report = match play(&*tts, &phrase, &outbound, &recorder, &mut timeline, &current).await {
                Ok(()) => MouthReport::Sent { mark: phrase.mark.clone() },
                Err(PlayError::CarrierGone) => return,
                Err(PlayError::Interrupted) => {
                    // What was scheduled ahead was cleared: the next phrase starts now.
                    timeline.next_sample = timeline.now_sample();
                    continue;
                }
                Err(PlayError::Tts(reason)) => {
                    warn!(mark = %phrase.mark, %reason, "text-to-speech failed; phrase skipped");
                    MouthReport::Failed { mark: phrase.mark.clone(), reason }
                }
            };
            if outbound.send(Outbound::Mark(phrase.mark.clone())).await.is_err() {
                return;
            }
            let _ = report_sender.send(report);
        }
    });
    Mouth { phrases, reports, task, generation }
}

/// Where the next outbound frame sits on the call's playout timeline.
struct Timeline {
    stream_start: Instant,
    lead: Duration,
    /// Stream-time position, in 8 kHz samples, of the next frame to send.
    next_sample: u64,
}

impl Timeline {
    /// Starts a phrase no earlier than now: audio never plays in the past.
    fn begin_phrase(&mut self) {
        self.next_sample = self.next_sample.max(self.now_sample());
    }

    fn now_sample(&self) -> u64 {
        Instant::now().saturating_duration_since(self.stream_start).as_millis() as u64 * SAMPLES_PER_MS
    }

    fn pacer(&self) -> Pacer {
        let offset = Duration::from_millis(self.next_sample / SAMPLES_PER_MS);
        Pacer::new(self.stream_start + offset, self.lead)
    }
}

enum PlayError {
    CarrierGone,
    Interrupted,
    Tts(String),
}

async fn play(
    tts: &dyn TextToSpeech,
    phrase: &Phrase,
    outbound: &mpsc::Sender<Outbound>,
    recorder: &Mutex<CallRecorder>,
    timeline: &mut Timeline,
    current: &AtomicU64,
) -> Result<(), PlayError> {
    let mut stream = tts.synthesize(&phrase.text, phrase.language).await.map_err(|e| PlayError::Tts(e.to_string()))?;
    timeline.begin_phrase();
    while let Some(chunk) = stream.recv().await {
        let pcm = chunk.map_err(|e| PlayError::Tts(e.to_string()))?;
        recorder.lock().expect("recorder lock").bot(timeline.next_sample, &pcm);

        let pacer = timeline.pacer();
        for (index, frame) in into_frames(&mulaw::encode_slice(&pcm)).into_iter().enumerate() {
            tokio::time::sleep_until(pacer.deadline(index as u64)).await;
            if current.load(Ordering::SeqCst) != phrase.generation {
                return Err(PlayError::Interrupted);
            }
            outbound.send(Outbound::Audio(frame.to_vec())).await.map_err(|_| PlayError::CarrierGone)?;
            timeline.next_sample += FRAME_BYTES as u64;
        }
    }
    Ok(())
}
