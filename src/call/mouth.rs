//! The mouth: renders phrases with text-to-speech, sends them as fixed 20 ms μ-law frames
//! scheduled from an absolute clock a short lead ahead of playout, and ends each phrase with a
//! mark so playback can be confirmed.
//!
//! The session steers it through one control value: the generation (bumped by an interruption,
//! which drops every phrase queued under the old one, stops the phrase playing before its next
//! frame and abandons its synthesis) and a pause flag (held while the bot checks whether the
//! caller really meant to interrupt).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc::error::TryRecvError;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tracing::warn;

use super::playout::Playout;
use crate::audio::frames::{into_frames, FRAME_BYTES};
use crate::audio::mulaw;
use crate::audio::recording::CallRecorder;
use crate::cost::CallMeter;
use crate::dialog::Language;
use crate::speech::tts::TextToSpeech;
use crate::telephony::Outbound;

/// 8 kHz samples per millisecond of the stream timeline.
pub const SAMPLES_PER_MS: u64 = 8;

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
    /// The first synthesized audio of the phrase arrived.
    Synthesized { mark: String, at: Instant },
    /// The first frame of the phrase went to the carrier.
    FirstFrame { mark: String, at: Instant },
    /// All frames of the phrase and its mark were handed to the carrier.
    Sent { mark: String },
    /// Text-to-speech failed; the phrase was not played and its mark was still sent so the
    /// session does not wait for it.
    Failed { mark: String, reason: String },
}

/// The session's control over the mouth: the current generation and the pause flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Control {
    generation: u64,
    paused: bool,
}

pub struct Mouth {
    pub phrases: mpsc::UnboundedSender<Phrase>,
    pub reports: mpsc::UnboundedReceiver<MouthReport>,
    control: watch::Sender<Control>,
    task: tokio::task::JoinHandle<()>,
}

impl Mouth {
    /// The generation to stamp on phrases queued now.
    pub fn generation(&self) -> u64 {
        self.control.borrow().generation
    }

    /// Drops every phrase queued so far, stops the one playing before its next frame and
    /// abandons its synthesis. The caller of this sends the carrier a `clear` for the frames
    /// already sent.
    pub fn interrupt(&self) {
        self.control.send_modify(|control| {
            control.generation += 1;
            control.paused = false;
        });
    }

    /// Stops sending frames until [`Mouth::resume`]. The audio the carrier already has still plays.
    pub fn pause(&self) {
        self.control.send_modify(|control| control.paused = true);
    }

    /// Goes on from the first frame not sent.
    pub fn resume(&self) {
        self.control.send_modify(|control| control.paused = false);
    }

    /// Stops speaking at once: queued phrases and the rest of the current one are dropped.
    pub fn stop(&self) {
        self.task.abort();
    }
}

impl Drop for Mouth {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The parts the mouth shares with its session.
pub struct MouthParts {
    pub tts: Arc<dyn TextToSpeech>,
    pub outbound: mpsc::Sender<Outbound>,
    pub recorder: Arc<Mutex<CallRecorder>>,
    pub playout: Arc<Mutex<Playout>>,
    /// The instant stream time zero.
    pub stream_start: Instant,
    /// How far ahead of its playout time a frame is sent.
    pub lead: Duration,
    /// The call's cost meter, which text-to-speech providers record characters on.
    pub meter: CallMeter,
}

/// Starts the mouth task of one call.
pub fn spawn(parts: MouthParts) -> Mouth {
    let (phrases, mut queue) = mpsc::unbounded_channel::<Phrase>();
    let (report_sender, reports) = mpsc::unbounded_channel();
    let (control, control_receiver) = watch::channel(Control { generation: 0, paused: false });
    let meter = parts.meter.clone();
    let task = tokio::spawn(crate::cost::metered(meter, async move {
        let mut speaker = Speaker {
            timeline: Timeline { stream_start: parts.stream_start, lead: parts.lead, next_sample: 0 },
            parts,
            control: control_receiver,
            reports: report_sender,
        };
        let mut last_generation = 0;
        while let Some(phrase) = queue.recv().await {
            if phrase.generation != speaker.control.borrow().generation {
                continue;
            }
            if phrase.generation != last_generation {
                // A clear dropped what was scheduled ahead, also when nothing was playing: the
                // first phrase after it starts now.
                last_generation = phrase.generation;
                speaker.timeline.next_sample = speaker.timeline.now_sample();
            }
            let report = match speaker.play(&phrase).await {
                Ok(()) => MouthReport::Sent { mark: phrase.mark.clone() },
                Err(PlayError::CarrierGone) => return,
                Err(PlayError::Interrupted) => {
                    // What was scheduled ahead was cleared: the next phrase starts now.
                    speaker.timeline.next_sample = speaker.timeline.now_sample();
                    continue;
                }
                Err(PlayError::Tts(reason)) => {
                    warn!(mark = %phrase.mark, %reason, "text-to-speech failed; phrase skipped");
                    speaker.parts.playout.lock().expect("playout lock").failed(&phrase.mark);
                    MouthReport::Failed { mark: phrase.mark.clone(), reason }
                }
            };
            if speaker.parts.outbound.send(Outbound::Mark(phrase.mark.clone())).await.is_err() {
                return;
            }
            let _ = speaker.reports.send(report);
        }
    }));
    Mouth { phrases, reports, control, task }
}

/// Where the next outbound frame sits on the call's playout timeline.
struct Timeline {
    stream_start: Instant,
    lead: Duration,
    /// Stream-time position, in 8 kHz samples, of the next frame to send.
    next_sample: u64,
}

/// Returns the position of the stream timeline now, in 8 kHz samples since `stream_start`.
pub fn stream_sample_now(stream_start: Instant) -> u64 {
    Instant::now().saturating_duration_since(stream_start).as_millis() as u64 * SAMPLES_PER_MS
}

impl Timeline {
    fn now_sample(&self) -> u64 {
        stream_sample_now(self.stream_start)
    }

    /// Moves the next frame to now when the timeline fell behind (after silence or a pause), so
    /// audio never plays in the past. Returns the samples skipped.
    fn catch_up(&mut self) -> u64 {
        let now = self.now_sample();
        let skipped = now.saturating_sub(self.next_sample);
        self.next_sample += skipped;
        skipped
    }

    /// When the next frame must go out: its playout time less the lead. Computed from the stream
    /// start every time, so a late wake-up delays one frame and never the ones after it.
    fn deadline(&self) -> Instant {
        let playout = Duration::from_millis(self.next_sample / SAMPLES_PER_MS);
        self.stream_start + playout.saturating_sub(self.lead)
    }
}

enum PlayError {
    CarrierGone,
    Interrupted,
    Tts(String),
}

struct Speaker {
    parts: MouthParts,
    timeline: Timeline,
    control: watch::Receiver<Control>,
    reports: mpsc::UnboundedSender<MouthReport>,
}

impl Speaker {
    async fn play(&mut self, phrase: &Phrase) -> Result<(), PlayError> {
        let generation = phrase.generation;
        let tts = Arc::clone(&self.parts.tts);
        let mut stream = tokio::select! {
            stream = tts.synthesize(&phrase.text, phrase.language) => stream.map_err(|e| PlayError::Tts(e.to_string()))?,
            () = interrupted(&mut self.control, generation) => return Err(PlayError::Interrupted),
        };
        let mut first_chunk = true;
        let mut first_frame = true;
        let mut next = tokio::select! {
            chunk = stream.recv() => chunk,
            () = interrupted(&mut self.control, generation) => return Err(PlayError::Interrupted),
        };
        while let Some(chunk) = next {
            let pcm = chunk.map_err(|e| PlayError::Tts(e.to_string()))?;
            if first_chunk {
                first_chunk = false;
                let _ = self.reports.send(MouthReport::Synthesized { mark: phrase.mark.clone(), at: Instant::now() });
            }
            // Looking at what follows shows whether this chunk ends the phrase, so the ledger has
            // the phrase's length while it plays.
            let following = stream.try_recv();
            let last = matches!(following, Err(TryRecvError::Disconnected));
            self.parts.playout.lock().expect("playout lock").synthesized(&phrase.mark, pcm.len() as u64, last);

            let encoded = mulaw::encode_slice(&pcm);
            for (frame, samples) in into_frames(&encoded).into_iter().zip(pcm.chunks(FRAME_BYTES)) {
                self.wait_for_deadline(phrase, first_frame).await?;
                let permit = self.parts.outbound.reserve().await.map_err(|_| PlayError::CarrierGone)?;
                {
                    // The control stays read-locked while the frame is queued, and an interruption
                    // write-locks it before the session queues its `clear`: so a frame of the
                    // old generation is queued before that `clear` or not at all.
                    let control = self.control.borrow();
                    if control.generation != phrase.generation {
                        return Err(PlayError::Interrupted);
                    }
                    permit.send(Outbound::Audio(frame.to_vec()));
                }
                let at = self.timeline.next_sample;
                self.parts.recorder.lock().expect("recorder lock").bot(at, samples);
                self.parts.playout.lock().expect("playout lock").sent(&phrase.mark, at, FRAME_BYTES as u64);
                self.timeline.next_sample += FRAME_BYTES as u64;
                if first_frame {
                    first_frame = false;
                    let _ =
                        self.reports.send(MouthReport::FirstFrame { mark: phrase.mark.clone(), at: Instant::now() });
                }
            }
            next = match following {
                Ok(chunk) => Some(chunk),
                Err(TryRecvError::Disconnected) => None,
                Err(TryRecvError::Empty) => tokio::select! {
                    chunk = stream.recv() => chunk,
                    () = interrupted(&mut self.control, generation) => return Err(PlayError::Interrupted),
                },
            };
        }
        self.parts.playout.lock().expect("playout lock").synthesized(&phrase.mark, 0, true);
        Ok(())
    }

    /// Waits until the next frame is due, holding it while playback is paused. After a pause the
    /// timeline restarts at now, and the silence left inside the phrase is recorded. The control
    /// is read before and after the sleep, not watched during it: a pause or an interruption
    /// takes effect at the next frame, and no frame of an old generation is sent.
    async fn wait_for_deadline(&mut self, phrase: &Phrase, first_frame: bool) -> Result<(), PlayError> {
        loop {
            let control = *self.control.borrow_and_update();
            if control.generation != phrase.generation {
                return Err(PlayError::Interrupted);
            }
            if control.paused {
                if self.control.changed().await.is_err() {
                    return Err(PlayError::CarrierGone);
                }
                continue;
            }
            let skipped = self.timeline.catch_up();
            if skipped > 0 && !first_frame {
                self.parts.playout.lock().expect("playout lock").paused(&phrase.mark, skipped);
            }
            tokio::time::sleep_until(self.timeline.deadline()).await;
            let control = *self.control.borrow();
            if control.generation != phrase.generation {
                return Err(PlayError::Interrupted);
            }
            if !control.paused {
                return Ok(());
            }
        }
    }
}

/// Completes when the generation moves past `generation`.
async fn interrupted(control: &mut watch::Receiver<Control>, generation: u64) {
    loop {
        if control.borrow_and_update().generation != generation {
            return;
        }
        if control.changed().await.is_err() {
            // The session is gone; the mouth task is aborted with it.
            std::future::pending::<()>().await;
        }
    }
}
