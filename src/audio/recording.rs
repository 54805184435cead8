//! The call recording: a stereo 8 kHz WAV with the caller on the left channel and the bot on
//! the right, both placed on one timeline.
//!
//! The timeline is measured in samples since the media stream started. The bot's channel contains
//! what the caller could hear: audio as sent, cut where a `clear` took effect.

use std::path::{Path, PathBuf};

use super::CALL_SAMPLE_RATE;

/// Maximum recording length in samples: 4 hours at 8 kHz. Writes past it are dropped, so a wrong
/// timestamp cannot make one call allocate without bound.
pub const MAX_DURATION_SAMPLES: u64 = 4 * 3_600 * CALL_SAMPLE_RATE as u64;

/// Errors writing a recording.
#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    #[error("failed to write call recording {path}: {source}. Check that its directory exists and is writable")]
    Write {
        path: PathBuf,
        #[source]
        source: hound::Error,
    },
}

/// Both sides of one call on one timeline.
///
/// Each side is written at the sample position where it played. Gaps read as silence, and a
/// later write over the same position replaces the earlier one. A recorder made with
/// [`CallRecorder::create`] streams to its file and keeps only the last [`WINDOW_SAMPLES`] in
/// memory, where a `clear` can still cut the bot's side; one made with [`CallRecorder::new`] keeps
/// everything until [`CallRecorder::write_wav`].
#[derive(Default)]
pub struct CallRecorder {
    /// Samples from `base` on; earlier ones are in the file.
    caller: Vec<i16>,
    bot: Vec<i16>,
    base: u64,
    /// Samples kept in memory when streaming; see [`CallRecorder::create_with_window`].
    window: u64,
    file: Option<Spill>,
    /// Whether a write was already truncated at [`MAX_DURATION_SAMPLES`], to log it once.
    overflow_logged: bool,
    /// Whether a write that came too late for the file was already logged.
    late_logged: bool,
}

/// How much of the recent recording stays in memory: two seconds, far more than the pacing lead
/// a `clear` can reach back into and the jitter of caller timestamps.
pub const WINDOW_SAMPLES: u64 = 2 * CALL_SAMPLE_RATE as u64;

/// Samples moved to the file at a time once the window is full: half a second.
const SPILL_SAMPLES: u64 = CALL_SAMPLE_RATE as u64 / 2;

struct Spill {
    path: PathBuf,
    writer: hound::WavWriter<std::io::BufWriter<std::fs::File>>,
}

fn wav_spec() -> hound::WavSpec {
    hound::WavSpec {
        channels: 2,
        sample_rate: CALL_SAMPLE_RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    }
}

impl CallRecorder {
    /// A recorder that keeps the whole call in memory.
    pub fn new() -> Self {
        Self::default()
    }

    /// Creates a recorder that streams to a new WAV file at `path`. [`CallRecorder::finish`]
    /// completes it.
    pub fn create(path: &Path) -> Result<Self, RecordingError> {
        Self::create_with_window(path, WINDOW_SAMPLES)
    }

    /// Like [`CallRecorder::create`], keeping `window` samples in memory: at least the bot's
    /// pacing lead plus the time caller audio may arrive late.
    pub fn create_with_window(path: &Path, window: u64) -> Result<Self, RecordingError> {
        let writer = hound::WavWriter::create(path, wav_spec())
            .map_err(|source| RecordingError::Write { path: path.to_path_buf(), source })?;
        let file = Some(Spill { path: path.to_path_buf(), writer });
        Ok(CallRecorder { file, window: window.max(WINDOW_SAMPLES), ..Self::default() })
    }

    /// Writes caller audio starting at sample `at_sample` of the timeline.
    pub fn caller(&mut self, at_sample: u64, pcm: &[i16]) {
        let fitting = self.clip_to_limit(at_sample, pcm);
        if let Some((at, fitting)) = self.after_base(at_sample, fitting) {
            write_at(&mut self.caller, at, fitting);
        }
        self.spill_old();
    }

    /// Writes bot audio starting at sample `at_sample` of the timeline.
    pub fn bot(&mut self, at_sample: u64, pcm: &[i16]) {
        let fitting = self.clip_to_limit(at_sample, pcm);
        if let Some((at, fitting)) = self.after_base(at_sample, fitting) {
            write_at(&mut self.bot, at, fitting);
        }
        self.spill_old();
    }

    /// Removes the bot audio from `at_sample` on, because a `clear` stopped its playout there.
    /// Bot audio written later, at or after that point, is kept as usual.
    pub fn cut_bot_after(&mut self, at_sample: u64) {
        let keep = usize::try_from(at_sample.saturating_sub(self.base)).unwrap_or(usize::MAX);
        self.bot.truncate(keep);
    }

    /// Length of the recording in samples per channel: up to the last sample of either side.
    pub fn duration_samples(&self) -> u64 {
        self.base + self.caller.len().max(self.bot.len()) as u64
    }

    /// Writes the recording as a 16-bit stereo WAV at 8 kHz, caller left and bot right.
    pub fn write_wav(&self, path: &Path) -> Result<(), RecordingError> {
        let error = |source| RecordingError::Write { path: path.to_path_buf(), source };
        let mut writer = hound::WavWriter::create(path, wav_spec()).map_err(error)?;
        write_frames(&mut writer, &self.caller, &self.bot, self.caller.len().max(self.bot.len())).map_err(error)?;
        writer.finalize().map_err(error)
    }

    /// Completes the recording and returns its path. A streaming recorder writes the samples
    /// still in memory and closes its file, and one kept in memory is written to `path`.
    pub fn finish(&mut self, path: &Path) -> Result<PathBuf, RecordingError> {
        let Some(mut spill) = self.file.take() else {
            self.write_wav(path)?;
            return Ok(path.to_path_buf());
        };
        let error = |source| RecordingError::Write { path: spill.path.clone(), source };
        let length = self.caller.len().max(self.bot.len());
        write_frames(&mut spill.writer, &self.caller, &self.bot, length).map_err(error)?;
        self.base += length as u64;
        self.caller.clear();
        self.bot.clear();
        spill.writer.finalize().map_err(|source| RecordingError::Write { path: spill.path.clone(), source })?;
        Ok(spill.path)
    }

    /// The part of a write that falls after what was already moved to the file, as a position in
    /// memory; `None` when all of it came too late.
    fn after_base<'a>(&mut self, at_sample: u64, pcm: &'a [i16]) -> Option<(u64, &'a [i16])> {
        let skip = self.base.saturating_sub(at_sample);
        if skip > 0 && !self.late_logged && !pcm.is_empty() {
            self.late_logged = true;
            tracing::warn!(
                at_sample,
                written_up_to = self.base,
                "audio for a part of the recording already on disk was dropped"
            );
        }
        let rest = pcm.get(skip as usize..).filter(|rest| !rest.is_empty())?;
        Some((at_sample + skip - self.base, rest))
    }

    /// Returns the part of `pcm` that fits before [`MAX_DURATION_SAMPLES`].
    fn clip_to_limit<'a>(&mut self, at_sample: u64, pcm: &'a [i16]) -> &'a [i16] {
        let room = MAX_DURATION_SAMPLES.saturating_sub(at_sample);
        if (pcm.len() as u64) <= room {
            return pcm;
        }
        if !self.overflow_logged {
            self.overflow_logged = true;
            tracing::warn!(
                at_sample,
                samples = pcm.len(),
                limit = MAX_DURATION_SAMPLES,
                "recording reached its maximum length, so audio past it is dropped"
            );
        }
        &pcm[..room as usize]
    }

    /// Moves audio older than the window to the file.
    fn spill_old(&mut self) {
        let Some(spill) = self.file.as_mut() else { return };
        let held = self.caller.len().max(self.bot.len()) as u64;
        if held < self.window + SPILL_SAMPLES {
            return;
        }
        let count = (held - self.window) as usize;
        if let Err(source) = write_frames(&mut spill.writer, &self.caller, &self.bot, count) {
            tracing::warn!(path = %spill.path.display(), %source, "recording could not be written; the call goes on without it");
            self.file = None;
        }
        self.caller.drain(..count.min(self.caller.len()));
        self.bot.drain(..count.min(self.bot.len()));
        self.base += count as u64;
    }
}

impl std::fmt::Debug for CallRecorder {
    /// Shows lengths rather than the samples, which run to millions.
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("CallRecorder")
            .field("base", &self.base)
            .field("caller_samples", &self.caller.len())
            .field("bot_samples", &self.bot.len())
            .field("streaming", &self.file.is_some())
            .finish()
    }
}

/// Writes `pcm` into `channel` at `at_sample`, filling any gap before it with silence.
fn write_at(channel: &mut Vec<i16>, at_sample: u64, pcm: &[i16]) {
    if pcm.is_empty() {
        return;
    }
    let start = at_sample as usize;
    let end = start + pcm.len();
    if channel.len() < end {
        channel.resize(end, 0);
    }
    channel[start..end].copy_from_slice(pcm);
}

fn sample_at(channel: &[i16], index: usize) -> i16 {
    channel.get(index).copied().unwrap_or(0)
}

/// Writes the first `count` samples of both channels as stereo frames.
fn write_frames<W: std::io::Write + std::io::Seek>(
    writer: &mut hound::WavWriter<W>,
    caller: &[i16],
    bot: &[i16],
    count: usize,
) -> Result<(), hound::Error> {
    let mut frames = writer.get_i16_writer(2 * count as u32);
    for index in 0..count {
        frames.write_sample(sample_at(caller, index));
        frames.write_sample(sample_at(bot, index));
    }
    frames.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_channels(path: &Path) -> (hound::WavSpec, Vec<i16>, Vec<i16>) {
        let mut reader = hound::WavReader::open(path).unwrap();
        let spec = reader.spec();
        let samples: Vec<i16> = reader.samples::<i16>().map(|sample| sample.unwrap()).collect();
        let left = samples.iter().step_by(2).copied().collect();
        let right = samples.iter().skip(1).step_by(2).copied().collect();
        (spec, left, right)
    }

    fn round_trip(recorder: &CallRecorder) -> (hound::WavSpec, Vec<i16>, Vec<i16>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("call.wav");
        recorder.write_wav(&path).unwrap();
        read_channels(&path)
    }

    #[test]
    fn wav_format_is_stereo_8k_16_bit() {
        let mut recorder = CallRecorder::new();
        recorder.caller(0, &[1, 2]);
        let (spec, _, _) = round_trip(&recorder);
        assert_eq!(spec.channels, 2);
        assert_eq!(spec.sample_rate, 8_000);
        assert_eq!(spec.bits_per_sample, 16);
        assert_eq!(spec.sample_format, hound::SampleFormat::Int);
    }

    #[test]
    fn sides_land_on_their_channels() {
        let mut recorder = CallRecorder::new();
        recorder.caller(0, &[1, 2, 3]);
        recorder.bot(0, &[-1, -2, -3]);
        let (_, left, right) = round_trip(&recorder);
        assert_eq!(left, vec![1, 2, 3]);
        assert_eq!(right, vec![-1, -2, -3]);
    }

    #[test]
    fn gaps_are_silence() {
        let mut recorder = CallRecorder::new();
        recorder.caller(2, &[10, 11]);
        recorder.caller(6, &[12]);
        recorder.bot(1, &[-5]);
        assert_eq!(recorder.duration_samples(), 7);
        let (_, left, right) = round_trip(&recorder);
        assert_eq!(left, vec![0, 0, 10, 11, 0, 0, 12]);
        assert_eq!(right, vec![0, -5, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn cut_removes_bot_audio_after_clear() {
        let mut recorder = CallRecorder::new();
        recorder.caller(0, &[1; 8]);
        recorder.bot(0, &[7; 6]);
        recorder.cut_bot_after(3);
        let (_, left, right) = round_trip(&recorder);
        assert_eq!(left, vec![1; 8]);
        assert_eq!(right, vec![7, 7, 7, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn bot_audio_after_cut_is_kept() {
        let mut recorder = CallRecorder::new();
        recorder.bot(0, &[7; 6]);
        recorder.cut_bot_after(2);
        recorder.bot(4, &[8, 9]);
        let (_, left, right) = round_trip(&recorder);
        assert_eq!(left, vec![0; 6]);
        assert_eq!(right, vec![7, 7, 0, 0, 8, 9]);
    }

    #[test]
    fn cut_shortens_duration() {
        let mut recorder = CallRecorder::new();
        recorder.caller(0, &[1; 4]);
        recorder.bot(0, &[7; 10]);
        recorder.cut_bot_after(6);
        assert_eq!(recorder.duration_samples(), 6);
        recorder.cut_bot_after(2);
        assert_eq!(recorder.duration_samples(), 4);
    }

    #[test]
    fn cut_past_the_end_changes_nothing() {
        let mut recorder = CallRecorder::new();
        recorder.bot(0, &[7; 3]);
        recorder.cut_bot_after(10);
        let (_, _, right) = round_trip(&recorder);
        assert_eq!(right, vec![7, 7, 7]);
    }

    #[test]
    fn later_write_replaces_overlap() {
        let mut recorder = CallRecorder::new();
        recorder.caller(0, &[1, 1, 1, 1]);
        recorder.caller(2, &[2, 2, 2]);
        let (_, left, _) = round_trip(&recorder);
        assert_eq!(left, vec![1, 1, 2, 2, 2]);
    }

    #[test]
    fn writes_past_the_limit_are_dropped() {
        let mut recorder = CallRecorder::new();
        recorder.caller(MAX_DURATION_SAMPLES - 2, &[1, 2, 3, 4]);
        recorder.bot(MAX_DURATION_SAMPLES + 5, &[1]);
        assert_eq!(recorder.duration_samples(), MAX_DURATION_SAMPLES);
    }

    #[test]
    fn empty_recording_writes_empty_wav() {
        let (spec, left, right) = round_trip(&CallRecorder::new());
        assert_eq!(spec.channels, 2);
        assert!(left.is_empty());
        assert!(right.is_empty());
    }

    #[test]
    fn streamed_recording_matches_memory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("streamed.wav");
        let mut streamed = CallRecorder::create(&path).unwrap();
        let mut kept = CallRecorder::new();
        // Ten seconds of 20 ms frames: the caller on every frame, the bot a frame ahead, cut once.
        for frame in 0..500u64 {
            let at = frame * 160;
            let caller: Vec<i16> = (0..160).map(|i| (frame as i16).wrapping_mul(7).wrapping_add(i)).collect();
            let bot: Vec<i16> = (0..160).map(|i| -(frame as i16).wrapping_add(i)).collect();
            for recorder in [&mut streamed, &mut kept] {
                recorder.caller(at, &caller);
                recorder.bot(at + 160, &bot);
                if frame == 300 {
                    recorder.cut_bot_after(at + 80);
                }
            }
        }
        assert!(streamed.caller.len() as u64 <= WINDOW_SAMPLES + SPILL_SAMPLES);
        assert_eq!(streamed.duration_samples(), kept.duration_samples());
        assert_eq!(streamed.finish(&path).unwrap(), path);
        let memory_path = dir.path().join("kept.wav");
        kept.write_wav(&memory_path).unwrap();
        assert_eq!(read_channels(&path), read_channels(&memory_path));
    }

    #[test]
    fn audio_behind_spill_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("call.wav");
        let mut recorder = CallRecorder::create(&path).unwrap();
        recorder.caller(0, &vec![1; (WINDOW_SAMPLES + SPILL_SAMPLES) as usize]);
        assert_eq!(recorder.base, SPILL_SAMPLES);
        recorder.caller(0, &[9; 10]);
        recorder.cut_bot_after(0);
        recorder.finish(&path).unwrap();
        let (_, left, right) = read_channels(&path);
        assert_eq!(left, vec![1; (WINDOW_SAMPLES + SPILL_SAMPLES) as usize]);
        assert_eq!(right, vec![0; (WINDOW_SAMPLES + SPILL_SAMPLES) as usize]);
    }

    #[test]
    fn missing_directory_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent").join("call.wav");
        let error = CallRecorder::new().write_wav(&path).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("absent/call.wav"), "{message}");
        assert!(message.contains("Check that its directory exists"), "{message}");
    }
}
