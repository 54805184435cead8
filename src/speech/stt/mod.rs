//! Speech-to-text: audio frames in, partial and final transcripts out.

pub mod chain;
pub mod deepgram;
pub mod openai;
pub mod whisper;

use std::collections::VecDeque;

use async_trait::async_trait;
use tokio::sync::mpsc;

use super::SpeechError;
use crate::audio::resample::{ResampleError, Resampler};
use crate::audio::CALL_SAMPLE_RATE;
use crate::dialog::Language;

/// What the call session sends to a speech-to-text stream.
#[derive(Debug, Clone, PartialEq)]
pub enum SttInput {
    /// Caller audio, 16-bit PCM mono at 8 kHz, sent continuously (silence included).
    Audio(Vec<i16>),
    /// Local voice activity detection heard the caller start speaking. Engines that transcribe
    /// whole turns keep audio from a short while before this and drop what is older.
    SpeechStarted,
    /// The turn is over: produce the final transcript of what was said since the last one.
    Finalize,
}

/// What a speech-to-text stream reports.
#[derive(Debug, Clone, PartialEq)]
pub enum SttEvent {
    /// Text that may still change.
    Partial { text: String },
    /// The transcript of one caller turn, answering one [`SttInput::Finalize`]. Empty when
    /// nothing intelligible was said.
    Final { text: String },
    /// The provider failed for this turn; the session decides how to recover.
    Error(SpeechError),
    /// No provider can transcribe for the rest of the call; no more events follow.
    Unavailable { reason: String },
}

/// One call's speech-to-text session: dropping `input` ends it.
pub struct SttStream {
    pub input: mpsc::Sender<SttInput>,
    pub events: mpsc::Receiver<SttEvent>,
}

/// A speech-to-text provider.
#[async_trait]
pub trait SpeechToText: Send + Sync {
    async fn open(&self, language: Language) -> Result<SttStream, SpeechError>;
}

/// Audio kept from before the caller's speech was detected, so the first word is whole: 600 ms.
pub(crate) const PRE_ROLL_SAMPLES: usize = CALL_SAMPLE_RATE as usize * 6 / 10;

/// Longest turn kept, at 8 kHz: 28 s, under Whisper's 30 s window.
pub const MAX_TURN_SAMPLES: usize = 28 * CALL_SAMPLE_RATE as usize;

/// The caller audio of one turn, for engines that transcribe whole turns. Until speech starts it
/// keeps only a short pre-roll, so a silent caller costs a few kilobytes, not a growing buffer.
#[derive(Debug, Default)]
pub struct TurnAudio {
    samples: VecDeque<i16>,
    speaking: bool,
}

impl TurnAudio {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds 8 kHz caller audio, dropping the oldest beyond the pre-roll (before speech) or the
    /// longest turn (during it).
    pub fn push(&mut self, pcm: &[i16]) {
        self.samples.extend(pcm);
        let limit = if self.speaking { MAX_TURN_SAMPLES } else { PRE_ROLL_SAMPLES };
        let excess = self.samples.len().saturating_sub(limit);
        self.samples.drain(..excess);
    }

    /// Marks the start of speech: from now on the turn grows up to its limit.
    pub fn speech_started(&mut self) {
        self.speaking = true;
    }

    pub fn len(&self) -> usize {
        self.samples.len()
    }

    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// Tells whether speech started in this turn, so a turn of pre-roll alone can be skipped.
    pub fn has_speech(&self) -> bool {
        self.speaking
    }

    /// Takes the turn's 8 kHz samples as they were pushed, and starts the next one.
    pub fn take_pcm(&mut self) -> Vec<i16> {
        self.speaking = false;
        std::mem::take(&mut self.samples).into()
    }

    /// Takes the turn resampled to `rate_hz` as f32 in [-1, 1], and starts the next one.
    pub fn take_f32(&mut self, rate_hz: u32) -> Result<Vec<f32>, ResampleError> {
        let mut resampler = Resampler::new(CALL_SAMPLE_RATE, rate_hz)?;
        let mut output = Vec::with_capacity(self.samples.len() * rate_hz as usize / CALL_SAMPLE_RATE as usize + 64);
        let (front, back) = self.samples.as_slices();
        resampler.process_f32_into(front, &mut output);
        resampler.process_f32_into(back, &mut output);
        output.extend(resampler.flush_f32());
        self.samples.clear();
        self.speaking = false;
        Ok(output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_keeps_only_the_pre_roll() {
        let mut turn = TurnAudio::new();
        for _ in 0..500 {
            turn.push(&[0; 160]);
        }
        assert_eq!(turn.len(), PRE_ROLL_SAMPLES);
    }

    #[test]
    fn speech_grows_to_the_longest_turn() {
        let mut turn = TurnAudio::new();
        turn.push(&[1; 8_000]);
        turn.speech_started();
        turn.push(&[2; 8_000]);
        assert_eq!(turn.len(), PRE_ROLL_SAMPLES + 8_000);
        turn.push(&vec![3; MAX_TURN_SAMPLES]);
        assert_eq!(turn.len(), MAX_TURN_SAMPLES);
    }

    #[test]
    fn taking_pcm_keeps_samples_and_starts_over() {
        let mut turn = TurnAudio::new();
        turn.push(&vec![1; PRE_ROLL_SAMPLES + 100]);
        turn.speech_started();
        turn.push(&[2, 3]);
        assert!(turn.has_speech());

        let mut expected = vec![1; PRE_ROLL_SAMPLES];
        expected.extend([2, 3]);
        assert_eq!(turn.take_pcm(), expected);
        assert!(turn.is_empty());
        assert!(!turn.has_speech());
    }

    #[test]
    fn taking_resamples_and_starts_over() {
        let mut turn = TurnAudio::new();
        turn.speech_started();
        turn.push(&[1_000; 8_000]);
        let taken = turn.take_f32(16_000).expect("valid rates");
        assert_eq!(taken.len(), 16_000);
        assert!(turn.is_empty());
        turn.push(&[0; 8_000]);
        assert_eq!(turn.len(), PRE_ROLL_SAMPLES);
    }
}
