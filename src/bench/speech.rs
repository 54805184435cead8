//! Instant stand-ins for speech engines, so the bench measures only cobranza's own work. Each
//! does to the audio what a local engine's adapter does around the engine (resampling with the
//! crate's stateful resampler, buffering a caller turn) and skips the engine itself.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokio::sync::mpsc;

use crate::audio::frames::FRAME_BYTES;
use crate::audio::resample::Resampler;
use crate::dialog::Language;
use crate::speech::stt::{SpeechToText, SttEvent, SttInput, SttStream, TurnAudio};
use crate::speech::tts::{sentences, TextToSpeech, TtsStream};
use crate::speech::SpeechError;

/// The rate Whisper takes, which the speech-to-text stand-in resamples to.
const STT_RATE: u32 = 16_000;
/// The rate espeak-ng writes, which the text-to-speech stand-in resamples from.
const TTS_RATE: u32 = 22_050;
/// One period of the stand-in voice: a 441 Hz tone at 22 050 Hz repeats every 50 samples.
const TONE_PERIOD: usize = 50;
const TONE_AMPLITUDE: f64 = 4_000.0;

/// Speech-to-text that keeps the caller's turn as the Whisper adapter does ([`TurnAudio`]) and
/// resamples it to 16 kHz at each end of turn, then returns an empty transcript at once.
pub struct InstantStt;

#[async_trait]
impl SpeechToText for InstantStt {
    async fn open(&self, _language: Language) -> Result<SttStream, SpeechError> {
        let (input, mut inputs) = mpsc::channel(512);
        let (events_sender, events) = mpsc::channel(16);
        tokio::spawn(async move {
            let mut turn = TurnAudio::new();
            while let Some(input) = inputs.recv().await {
                match input {
                    SttInput::Audio(pcm) => turn.push(&pcm),
                    SttInput::SpeechStarted => turn.speech_started(),
                    SttInput::Finalize => {
                        let event = match turn.take_f32(STT_RATE) {
                            Ok(_) => SttEvent::Final { text: String::new() },
                            Err(error) => SttEvent::Error(SpeechError::Provider {
                                provider: "bench stand-in",
                                reason: error.to_string(),
                            }),
                        };
                        if events_sender.send(event).await.is_err() {
                            return;
                        }
                    }
                }
            }
        });
        Ok(SttStream { input, events })
    }
}

/// Text-to-speech that renders, at once, a tone at 22 050 Hz resampled to 8 kHz, one chunk per
/// sentence as the espeak-ng adapter sends them. A phrase lasts `ms_per_char` per character, so
/// its length is known from its text alone.
///
/// Like the espeak-ng adapter it keeps the sentences it rendered, since prompts repeat.
pub struct InstantTts {
    ms_per_char: u64,
    tone: Vec<i16>,
    /// Outbound frames each phrase text was rendered to.
    frames_by_text: Mutex<HashMap<String, u32>>,
    /// Rendered sentences, as the espeak-ng adapter keeps them.
    rendered: Mutex<HashMap<String, Arc<Vec<i16>>>>,
}

impl InstantTts {
    pub fn new(ms_per_char: u64) -> Arc<InstantTts> {
        let tone = (0..TONE_PERIOD)
            .map(|index| {
                let phase = index as f64 / TONE_PERIOD as f64 * std::f64::consts::TAU;
                (phase.sin() * TONE_AMPLITUDE) as i16
            })
            .collect();
        Arc::new(InstantTts {
            ms_per_char,
            tone,
            frames_by_text: Mutex::new(HashMap::new()),
            rendered: Mutex::new(HashMap::new()),
        })
    }

    /// Returns how many 20 ms frames `text` was rendered to, or `None` if it never was. A
    /// fallback chain renders a phrase sentence by sentence, so a phrase not rendered whole
    /// counts as the sum of its sentences.
    pub fn rendered_frames(&self, text: &str) -> Option<u32> {
        let frames = self.frames_by_text.lock().expect("frames lock");
        if let Some(whole) = frames.get(text) {
            return Some(*whole);
        }
        sentences(text).into_iter().map(|sentence| frames.get(sentence).copied()).sum()
    }

    fn render_sentence(&self, sentence: &str) -> Result<Vec<i16>, SpeechError> {
        let length_ms = sentence.chars().count() as u64 * self.ms_per_char;
        let length = (length_ms * u64::from(TTS_RATE) / 1000) as usize;
        let source: Vec<i16> = self.tone.iter().copied().cycle().take(length).collect();
        let mut resampler = Resampler::new(TTS_RATE, 8_000)
            .map_err(|error| SpeechError::Provider { provider: "bench stand-in", reason: error.to_string() })?;
        let mut pcm = resampler.process(&source);
        pcm.extend(resampler.flush());
        Ok(pcm)
    }
}

#[async_trait]
impl TextToSpeech for InstantTts {
    async fn synthesize(&self, text: &str, _language: Language) -> Result<TtsStream, SpeechError> {
        let pieces = sentences(text);
        let (sender, stream) = mpsc::channel(pieces.len().max(1));
        let mut frames = 0;
        for sentence in pieces {
            let cached = self.rendered.lock().expect("rendered lock").get(sentence).cloned();
            let pcm = match cached {
                Some(pcm) => pcm,
                None => {
                    let pcm = Arc::new(self.render_sentence(sentence)?);
                    self.rendered.lock().expect("rendered lock").insert(sentence.to_string(), Arc::clone(&pcm));
                    pcm
                }
            };
            // The call cuts each chunk into whole frames, padding the last one.
            frames += pcm.len().div_ceil(FRAME_BYTES) as u32;
            sender.send(Ok(pcm.as_ref().clone())).await.expect("the channel has room for every sentence");
        }
        self.frames_by_text.lock().expect("frames lock").insert(text.to_string(), frames);
        Ok(stream)
    }
}
