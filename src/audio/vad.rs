//! Voice activity detection on the caller's audio: where a turn starts, and where it ends.
//!
//! The detector compares each frame's level with an adaptive noise floor. The floor falls
//! quickly when the line gets quieter and rises slowly when it gets louder, so steady line noise
//! becomes the floor within seconds while a talker's pauses keep pulling it back down. Time is
//! counted in samples pushed, never read from a clock, so the same audio gives the same events.

/// Level reported for a frame of digital silence, in dBFS. Also the lowest level a frame can have.
const SILENCE_DBFS: f32 = -100.0;

/// Tuning of a [`VoiceActivityDetector`]. Levels are in dBFS (0 dB is a full-scale square wave).
#[derive(Debug, Clone, PartialEq)]
pub struct VadConfig {
    /// Analysis frame length in milliseconds.
    pub frame_ms: u32,
    /// Quiet time after speech that ends the caller's turn, in milliseconds.
    pub end_of_turn_silence_ms: u32,
    /// Shortest loud run that counts as speech, in milliseconds. Clicks and pops are shorter.
    pub min_speech_ms: u32,
    /// How far above the noise floor a frame must be to start speech, in dB.
    pub threshold_db_over_floor: f32,
    /// How much lower than the start threshold a frame may be and still continue speech, in dB.
    pub hysteresis_db: f32,
    /// Lowest level that can be speech whatever the floor, so near-silent hiss after digital
    /// silence is not taken for a talker.
    pub min_speech_dbfs: f32,
    /// Highest noise floor the first frame may set, so a call that opens with speech still
    /// detects it. Steady noise louder than this reads as speech until the floor rises to it.
    pub max_initial_floor_dbfs: f32,
    /// Time constant of the floor rising towards a louder level, in milliseconds.
    pub floor_rise_ms: u32,
    /// Time constant of the floor falling towards a quieter level, in milliseconds.
    pub floor_fall_ms: u32,
}

impl Default for VadConfig {
    fn default() -> Self {
        VadConfig {
            frame_ms: 20,
            end_of_turn_silence_ms: 700,
            min_speech_ms: 120,
            threshold_db_over_floor: 12.0,
            hysteresis_db: 4.0,
            min_speech_dbfs: -55.0,
            max_initial_floor_dbfs: -48.0,
            floor_rise_ms: 2_500,
            floor_fall_ms: 40,
        }
    }
}

/// A change in whether the caller is speaking. Times are milliseconds since the first sample
/// pushed, at frame resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VadEvent {
    /// Speech began at `at_ms`. It is reported `min_speech_ms` later, once the run is long
    /// enough to be speech.
    SpeechStarted { at_ms: u64 },
    /// The turn ended: speech stopped at `at_ms` after lasting `speech_ms`. It is reported
    /// `end_of_turn_silence_ms` later, once the quiet is long enough to end the turn.
    SpeechEnded { at_ms: u64, speech_ms: u64 },
}

/// An energy-based voice activity detector with an adaptive noise floor, one per call.
///
/// It accepts audio in chunks of any length and reports the same events however the audio is
/// chunked. It does no allocation per frame.
#[derive(Debug)]
pub struct VoiceActivityDetector {
    config: VadConfig,
    sample_rate: u64,
    frame_len: usize,
    min_speech_frames: u32,
    end_of_turn_frames: u32,
    rise_alpha: f32,
    fall_alpha: f32,

    /// Sum of squares of the samples of the frame being filled.
    frame_energy: f64,
    frame_filled: usize,
    frames_done: u64,
    /// `None` until the first frame sets it.
    floor_dbfs: Option<f32>,
    state: State,
}

#[derive(Debug, Clone, Copy)]
enum State {
    /// No speech. `run_start` and `run_frames` describe the loud run in progress, if any.
    Quiet { run_start: u64, run_frames: u32 },
    /// Speech since `start`, last loud frame ending at `last_loud_end`, quiet for `quiet_frames`.
    Speaking { start: u64, last_loud_end: u64, quiet_frames: u32 },
}

impl VoiceActivityDetector {
    /// Builds a detector for audio at `sample_rate` Hz.
    ///
    /// # Panics
    /// If `sample_rate` is zero or `config.frame_ms` is shorter than one sample. Both come from
    /// code, never from the caller's audio.
    pub fn new(config: VadConfig, sample_rate: u32) -> Self {
        let frame_len = (sample_rate as u64 * config.frame_ms as u64 / 1000) as usize;
        assert!(
            frame_len > 0,
            "VAD frame of {} ms at {} Hz has no samples; use a positive rate and a longer frame",
            config.frame_ms,
            sample_rate
        );

        let frames_for = |ms: u32| ms.div_ceil(config.frame_ms).max(1);
        VoiceActivityDetector {
            sample_rate: sample_rate as u64,
            frame_len,
            min_speech_frames: frames_for(config.min_speech_ms),
            end_of_turn_frames: frames_for(config.end_of_turn_silence_ms),
            rise_alpha: smoothing_alpha(config.frame_ms, config.floor_rise_ms),
            fall_alpha: smoothing_alpha(config.frame_ms, config.floor_fall_ms),
            config,
            frame_energy: 0.0,
            frame_filled: 0,
            frames_done: 0,
            floor_dbfs: None,
            state: State::Quiet { run_start: 0, run_frames: 0 },
        }
    }

    /// Analyses `pcm` and returns the events it completes, oldest first.
    pub fn push(&mut self, pcm: &[i16]) -> Vec<VadEvent> {
        let mut events = Vec::new();
        for &sample in pcm {
            self.frame_energy += sample as f64 * sample as f64;
            self.frame_filled += 1;
            if self.frame_filled == self.frame_len {
                let level = level_dbfs(self.frame_energy, self.frame_len);
                self.frame_energy = 0.0;
                self.frame_filled = 0;
                if let Some(event) = self.on_frame(level) {
                    events.push(event);
                }
            }
        }
        events
    }

    /// Returns whether the caller is inside a turn: after `SpeechStarted` and before `SpeechEnded`.
    pub fn is_speaking(&self) -> bool {
        matches!(self.state, State::Speaking { .. })
    }

    /// Returns the current noise floor in dBFS, `None` before the first full frame.
    /// Returns how long the current turn has been speech, from its start to its last loud frame
    /// (trailing quiet not counted); `None` outside a turn.
    pub fn speech_so_far_ms(&self) -> Option<u64> {
        match self.state {
            State::Speaking { start, last_loud_end, .. } => Some(self.to_ms(last_loud_end) - self.to_ms(start)),
            State::Quiet { .. } => None,
        }
    }

    pub fn noise_floor_dbfs(&self) -> Option<f32> {
        self.floor_dbfs
    }

    /// Returns the milliseconds of audio analysed, in whole frames.
    pub fn elapsed_ms(&self) -> u64 {
        self.to_ms(self.frames_done * self.frame_len as u64)
    }

    pub fn config(&self) -> &VadConfig {
        &self.config
    }

    fn on_frame(&mut self, level: f32) -> Option<VadEvent> {
        let frame_start = self.frames_done * self.frame_len as u64;
        let frame_end = frame_start + self.frame_len as u64;
        self.frames_done += 1;

        // The first frame sets the floor, because a call starts with line noise far more often
        // than with speech. The cap keeps an opening word detectable.
        let floor = *self.floor_dbfs.get_or_insert(level.min(self.config.max_initial_floor_dbfs));
        let loud = self.is_loud(level, floor);
        self.adapt_floor(level, floor);

        match self.state {
            State::Quiet { run_start, run_frames } => {
                if !loud {
                    self.state = State::Quiet { run_start: 0, run_frames: 0 };
                    return None;
                }
                let (run_start, run_frames) =
                    if run_frames == 0 { (frame_start, 1) } else { (run_start, run_frames + 1) };
                if run_frames < self.min_speech_frames {
                    self.state = State::Quiet { run_start, run_frames };
                    return None;
                }
                self.state = State::Speaking { start: run_start, last_loud_end: frame_end, quiet_frames: 0 };
                Some(VadEvent::SpeechStarted { at_ms: self.to_ms(run_start) })
            }
            State::Speaking { start, last_loud_end, quiet_frames } => {
                if loud {
                    self.state = State::Speaking { start, last_loud_end: frame_end, quiet_frames: 0 };
                    return None;
                }
                let quiet_frames = quiet_frames + 1;
                if quiet_frames < self.end_of_turn_frames {
                    self.state = State::Speaking { start, last_loud_end, quiet_frames };
                    return None;
                }
                self.state = State::Quiet { run_start: 0, run_frames: 0 };
                let at_ms = self.to_ms(last_loud_end);
                Some(VadEvent::SpeechEnded { at_ms, speech_ms: at_ms - self.to_ms(start) })
            }
        }
    }

    fn is_loud(&self, level: f32, floor: f32) -> bool {
        let over_floor = match self.state {
            State::Speaking { .. } => self.config.threshold_db_over_floor - self.config.hysteresis_db,
            State::Quiet { .. } => self.config.threshold_db_over_floor,
        };
        level > floor + over_floor && level > self.config.min_speech_dbfs
    }

    fn adapt_floor(&mut self, level: f32, floor: f32) {
        let alpha = if level < floor { self.fall_alpha } else { self.rise_alpha };
        self.floor_dbfs = Some(floor + (level - floor) * alpha);
    }

    fn to_ms(&self, samples: u64) -> u64 {
        samples * 1000 / self.sample_rate
    }
}

/// Root-mean-square level of a frame in dBFS, where a full-scale square wave is 0 dBFS.
fn level_dbfs(energy: f64, len: usize) -> f32 {
    let mean_square = energy / len as f64 / (32_768.0 * 32_768.0);
    if mean_square <= 0.0 {
        return SILENCE_DBFS;
    }
    ((10.0 * mean_square.log10()) as f32).max(SILENCE_DBFS)
}

/// Per-frame weight of a one-pole smoother with the given time constant.
fn smoothing_alpha(frame_ms: u32, time_constant_ms: u32) -> f32 {
    if time_constant_ms == 0 {
        return 1.0;
    }
    1.0 - (-(frame_ms as f32) / time_constant_ms as f32).exp()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::mulaw;
    use std::f64::consts::PI;

    const RATE: u32 = 8_000;

    fn samples(ms: u64) -> usize {
        (ms * RATE as u64 / 1000) as usize
    }

    fn silence(ms: u64) -> Vec<i16> {
        vec![0; samples(ms)]
    }

    /// Uniform white noise at `dbfs` RMS, from a fixed seed so every run is the same.
    fn noise(ms: u64, dbfs: f64, seed: u64) -> Vec<i16> {
        let amplitude = 32_768.0 * 10f64.powf(dbfs / 20.0) * 3f64.sqrt();
        let mut state = seed;
        (0..samples(ms))
            .map(|_| {
                state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                let uniform = (state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0;
                (uniform * amplitude).round() as i16
            })
            .collect()
    }

    fn tone(ms: u64, freq_hz: f64, amplitude: f64) -> Vec<i16> {
        (0..samples(ms))
            .map(|n| (amplitude * (2.0 * PI * freq_hz * n as f64 / RATE as f64).sin()).round() as i16)
            .collect()
    }

    /// Voiced speech stand-in: a 140 Hz buzz with ten harmonics, its loudness swinging like
    /// syllables at 4 Hz.
    fn speech_like(ms: u64) -> Vec<i16> {
        (0..samples(ms))
            .map(|n| {
                let t = n as f64 / RATE as f64;
                let buzz: f64 = (1..=10).map(|k| (2.0 * PI * 140.0 * k as f64 * t).sin() / k as f64).sum();
                let syllables = 0.6 + 0.4 * (2.0 * PI * 4.0 * t).cos();
                (4_000.0 * syllables * buzz).round() as i16
            })
            .collect()
    }

    fn concat(parts: &[Vec<i16>]) -> Vec<i16> {
        parts.concat()
    }

    fn detect(pcm: &[i16], chunk: usize) -> Vec<VadEvent> {
        let mut vad = VoiceActivityDetector::new(VadConfig::default(), RATE);
        pcm.chunks(chunk).flat_map(|piece| vad.push(piece)).collect()
    }

    fn burst_after_line_noise() -> Vec<i16> {
        concat(&[noise(1_000, -70.0, 1), tone(1_000, 440.0, 8_000.0), noise(2_000, -70.0, 2)])
    }

    #[test]
    fn tone_burst_is_one_turn() {
        let events = detect(&burst_after_line_noise(), 160);
        assert_eq!(
            events,
            vec![VadEvent::SpeechStarted { at_ms: 1_000 }, VadEvent::SpeechEnded { at_ms: 2_000, speech_ms: 1_000 },]
        );
    }

    #[test]
    fn tone_burst_in_digital_silence() {
        let pcm = concat(&[silence(500), tone(740, 300.0, 3_000.0), silence(1_000)]);
        let events = detect(&pcm, 160);
        assert_eq!(
            events,
            vec![VadEvent::SpeechStarted { at_ms: 500 }, VadEvent::SpeechEnded { at_ms: 1_240, speech_ms: 740 },]
        );
    }

    #[test]
    fn events_ignore_chunking() {
        let pcm = burst_after_line_noise();
        let whole = detect(&pcm, pcm.len());
        for chunk in [1, 37, 160, 333] {
            assert_eq!(detect(&pcm, chunk), whole, "chunk {chunk}");
        }
    }

    #[test]
    fn events_fire_when_due() {
        let pcm = burst_after_line_noise();
        let mut vad = VoiceActivityDetector::new(VadConfig::default(), RATE);

        // Speech is confirmed after min_speech_ms of tone.
        assert_eq!(vad.push(&pcm[..samples(1_100)]), vec![]);
        assert!(!vad.is_speaking());
        assert_eq!(vad.push(&pcm[samples(1_100)..samples(1_120)]), vec![VadEvent::SpeechStarted { at_ms: 1_000 }]);
        assert!(vad.is_speaking());

        // The turn ends after end_of_turn_silence_ms of quiet.
        assert_eq!(vad.push(&pcm[samples(1_120)..samples(2_680)]), vec![]);
        assert!(vad.is_speaking());
        assert_eq!(
            vad.push(&pcm[samples(2_680)..samples(2_700)]),
            vec![VadEvent::SpeechEnded { at_ms: 2_000, speech_ms: 1_000 }]
        );
        assert!(!vad.is_speaking());
        assert_eq!(vad.elapsed_ms(), 2_700);
    }

    #[test]
    fn steady_noise_is_not_speech() {
        let pcm = noise(5_000, -40.0, 3);
        let mut vad = VoiceActivityDetector::new(VadConfig::default(), RATE);
        assert_eq!(vad.push(&pcm), vec![]);
        assert!(!vad.is_speaking());

        let floor = vad.noise_floor_dbfs().unwrap();
        assert!((floor - -40.0).abs() < 2.0, "floor {floor}");
    }

    #[test]
    fn floor_rises_to_noise_that_starts_later() {
        let pcm = concat(&[noise(1_000, -70.0, 4), noise(12_000, -40.0, 5)]);
        let events = detect(&pcm, 160);

        assert_eq!(events.len(), 2, "{events:?}");
        assert_eq!(events[0], VadEvent::SpeechStarted { at_ms: 1_000 });
        let VadEvent::SpeechEnded { at_ms, .. } = events[1] else {
            panic!("second event is not an end: {events:?}");
        };
        assert!(at_ms < 5_000, "noise was speech until {at_ms} ms");
    }

    #[test]
    fn short_click_is_not_speech() {
        let pcm = concat(&[noise(1_000, -70.0, 6), tone(60, 1_000.0, 20_000.0), noise(1_000, -70.0, 7)]);
        assert_eq!(detect(&pcm, 160), vec![]);
    }

    #[test]
    fn min_speech_run_is_speech() {
        let pcm = concat(&[noise(1_000, -70.0, 6), tone(120, 1_000.0, 20_000.0), noise(1_000, -70.0, 7)]);
        assert_eq!(
            detect(&pcm, 160),
            vec![VadEvent::SpeechStarted { at_ms: 1_000 }, VadEvent::SpeechEnded { at_ms: 1_120, speech_ms: 120 },]
        );
    }

    #[test]
    fn short_pause_keeps_the_turn() {
        let pcm = concat(&[
            noise(1_000, -70.0, 8),
            tone(400, 440.0, 8_000.0),
            noise(500, -70.0, 9),
            tone(400, 440.0, 8_000.0),
            noise(1_000, -70.0, 10),
        ]);
        assert_eq!(
            detect(&pcm, 160),
            vec![VadEvent::SpeechStarted { at_ms: 1_000 }, VadEvent::SpeechEnded { at_ms: 2_300, speech_ms: 1_300 },]
        );
    }

    #[test]
    fn long_pause_ends_the_turn() {
        let pcm = concat(&[
            noise(1_000, -70.0, 11),
            tone(400, 440.0, 8_000.0),
            noise(800, -70.0, 12),
            tone(400, 440.0, 8_000.0),
            noise(1_000, -70.0, 13),
        ]);
        assert_eq!(
            detect(&pcm, 160),
            vec![
                VadEvent::SpeechStarted { at_ms: 1_000 },
                VadEvent::SpeechEnded { at_ms: 1_400, speech_ms: 400 },
                VadEvent::SpeechStarted { at_ms: 2_200 },
                VadEvent::SpeechEnded { at_ms: 2_600, speech_ms: 400 },
            ]
        );
    }

    #[test]
    fn mulaw_speech_is_one_turn() {
        let pcm = concat(&[noise(1_000, -65.0, 14), speech_like(1_500), noise(1_500, -65.0, 15)]);
        let decoded = mulaw::decode_slice(&mulaw::encode_slice(&pcm));
        assert_eq!(
            detect(&decoded, 160),
            vec![VadEvent::SpeechStarted { at_ms: 1_000 }, VadEvent::SpeechEnded { at_ms: 2_500, speech_ms: 1_500 },]
        );
    }

    #[test]
    fn speech_from_the_first_frame() {
        let pcm = concat(&[speech_like(1_500), noise(1_000, -65.0, 17)]);
        assert_eq!(
            detect(&pcm, 160),
            vec![VadEvent::SpeechStarted { at_ms: 0 }, VadEvent::SpeechEnded { at_ms: 1_500, speech_ms: 1_500 },]
        );
    }

    #[test]
    fn faint_hiss_after_digital_silence_is_not_speech() {
        let pcm = concat(&[silence(1_000), noise(2_000, -60.0, 16)]);
        assert_eq!(detect(&pcm, 160), vec![]);
    }

    #[test]
    fn wideband_frames_keep_millisecond_times() {
        let pcm = concat(&[silence(1_000), tone(1_000, 440.0, 8_000.0), silence(2_000)]);
        // The same samples read as 16 kHz audio last half as long.
        let mut vad = VoiceActivityDetector::new(VadConfig::default(), 16_000);
        assert_eq!(
            vad.push(&pcm),
            vec![VadEvent::SpeechStarted { at_ms: 500 }, VadEvent::SpeechEnded { at_ms: 1_000, speech_ms: 500 },]
        );
    }

    #[test]
    fn level_of_full_scale_sine() {
        let pcm = tone(20, 400.0, 32_767.0);
        let energy: f64 = pcm.iter().map(|&s| s as f64 * s as f64).sum();
        let level = level_dbfs(energy, pcm.len());
        assert!((level - -3.01).abs() < 0.01, "level {level}");
        assert_eq!(level_dbfs(0.0, 160), SILENCE_DBFS);
    }
}
