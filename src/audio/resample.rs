//! Sample-rate conversion at a speech engine's edge, one stateful converter per direction per
//! call.
//!
//! A converter must live as long as its stream: a new one per chunk restarts the filter and the
//! fractional phase, which the caller hears as clicks and warble.

use rubato::{FftFixedInOut, Resampler as _};

/// Input block length the converter aims for, in milliseconds. Shorter blocks cost more FFTs,
/// longer ones add latency.
const TARGET_BLOCK_MS: u64 = 20;

/// Highest sample rate accepted, in Hz. Rates can come from a provider's WAV header, and an
/// absurd one would make rubato plan an FFT of that many points.
pub const MAX_RATE_HZ: u32 = 384_000;

/// Errors building a [`Resampler`].
#[derive(Debug, thiserror::Error)]
pub enum ResampleError {
    #[error("invalid sample rate conversion from {from_hz} Hz to {to_hz} Hz: both rates must be between 1 and {MAX_RATE_HZ} Hz, so pass the rates the audio really has")]
    InvalidRate { from_hz: u32, to_hz: u32 },

    #[error("rubato rejected the conversion from {from_hz} Hz to {to_hz} Hz: {source}")]
    Construction {
        from_hz: u32,
        to_hz: u32,
        #[source]
        source: rubato::ResamplerConstructionError,
    },
}

/// Converts a mono PCM stream from one sample rate to another, fed in chunks of any length.
///
/// It promises that the output does not depend on how the input was chunked, and that it is not
/// delayed: output sample `k` is the signal at input time `k / to_hz` seconds. [`flush`] ends
/// the stream so the total output is `input_len × to_hz / from_hz` samples, rounded to nearest.
/// Output is i16 ([`process`]) or f32 in [-1, 1] ([`process_f32`], what Whisper takes), and
/// both kinds may be mixed on one stream.
///
/// [`process`]: Resampler::process
/// [`process_f32`]: Resampler::process_f32
/// [`flush`]: Resampler::flush
pub struct Resampler {
    from_hz: u32,
    to_hz: u32,
    /// `None` when both rates are equal and samples pass through unchanged.
    converter: Option<Converter>,
}

/// The rubato state of a real conversion, with the block buffers reused for every block.
struct Converter {
    rubato: FftFixedInOut<f32>,
    /// Input samples waiting for a full block, scaled to [-1, 1].
    pending: Vec<f32>,
    block_in: usize,
    block_out: Vec<Vec<f32>>,
    /// Output samples still to drop because they come before input time zero.
    delay_left: usize,
    from_hz: u64,
    to_hz: u64,
    samples_in: u64,
    samples_out: u64,
}

impl Resampler {
    pub fn new(from_hz: u32, to_hz: u32) -> Result<Resampler, ResampleError> {
        let valid = 1..=MAX_RATE_HZ;
        if !valid.contains(&from_hz) || !valid.contains(&to_hz) {
            return Err(ResampleError::InvalidRate { from_hz, to_hz });
        }

        let converter = if from_hz == to_hz { None } else { Some(Converter::new(from_hz, to_hz)?) };
        Ok(Resampler { from_hz, to_hz, converter })
    }

    pub fn from_hz(&self) -> u32 {
        self.from_hz
    }

    pub fn to_hz(&self) -> u32 {
        self.to_hz
    }

    /// Converts `input` and returns the output that is ready. Samples short of a full block wait
    /// in the converter for the next call or for [`flush`](Resampler::flush).
    pub fn process(&mut self, input: &[i16]) -> Vec<i16> {
        let mut output = Vec::with_capacity(self.expected_len(input.len()));
        self.process_into(input, &mut output);
        output
    }

    /// Like [`process`](Resampler::process), appending to a buffer the caller reuses.
    pub fn process_into(&mut self, input: &[i16], output: &mut Vec<i16>) {
        match &mut self.converter {
            None => output.extend_from_slice(input),
            Some(converter) => converter.push(input, |sample| output.push(to_i16(sample))),
        }
    }

    /// Ends the stream: emits the samples still inside the converter and leaves it ready for a
    /// new stream that starts at time zero.
    pub fn flush(&mut self) -> Vec<i16> {
        let mut output = Vec::new();
        if let Some(converter) = &mut self.converter {
            converter.finish(|sample| output.push(to_i16(sample)));
        }
        output
    }

    /// Like [`process`](Resampler::process), with samples as f32 in [-1, 1].
    pub fn process_f32(&mut self, input: &[i16]) -> Vec<f32> {
        let mut output = Vec::with_capacity(self.expected_len(input.len()));
        self.process_f32_into(input, &mut output);
        output
    }

    /// Like [`process_f32`](Resampler::process_f32), appending to a buffer the caller reuses.
    pub fn process_f32_into(&mut self, input: &[i16], output: &mut Vec<f32>) {
        match &mut self.converter {
            None => output.extend(input.iter().map(|&sample| to_f32(sample))),
            Some(converter) => converter.push(input, |sample| output.push(sample.clamp(-1.0, 1.0))),
        }
    }

    /// Like [`flush`](Resampler::flush), with samples as f32 in [-1, 1].
    pub fn flush_f32(&mut self) -> Vec<f32> {
        let mut output = Vec::new();
        if let Some(converter) = &mut self.converter {
            converter.finish(|sample| output.push(sample.clamp(-1.0, 1.0)));
        }
        output
    }

    fn expected_len(&self, input_len: usize) -> usize {
        (input_len as u64 * self.to_hz as u64 / self.from_hz as u64) as usize + 1
    }
}

impl Converter {
    fn new(from_hz: u32, to_hz: u32) -> Result<Converter, ResampleError> {
        let block_in = block_len(from_hz, to_hz);
        let rubato = FftFixedInOut::<f32>::new(from_hz as usize, to_hz as usize, block_in, 1)
            .map_err(|source| ResampleError::Construction { from_hz, to_hz, source })?;

        // rubato rounds the block to whole FFT units, so read the sizes back from it.
        let block_in = rubato.input_frames_next();
        let block_out = rubato.output_buffer_allocate(true);
        let delay_left = rubato.output_delay();
        Ok(Converter {
            rubato,
            pending: Vec::with_capacity(block_in),
            block_in,
            block_out,
            delay_left,
            from_hz: from_hz as u64,
            to_hz: to_hz as u64,
            samples_in: 0,
            samples_out: 0,
        })
    }

    fn push(&mut self, input: &[i16], mut emit: impl FnMut(f32)) {
        self.samples_in += input.len() as u64;

        let mut rest = input;
        while !rest.is_empty() {
            let take = (self.block_in - self.pending.len()).min(rest.len());
            let (head, tail) = rest.split_at(take);
            self.pending.extend(head.iter().map(|&sample| to_f32(sample)));
            rest = tail;

            if self.pending.len() == self.block_in {
                self.convert_block(&mut emit, u64::MAX);
            }
        }
    }

    fn finish(&mut self, mut emit: impl FnMut(f32)) {
        let total_out = (self.samples_in * self.to_hz + self.from_hz / 2) / self.from_hz;

        // Zero blocks push the tail of the signal out of the filter.
        while self.samples_out < total_out {
            self.pending.resize(self.block_in, 0.0);
            self.convert_block(&mut emit, total_out);
        }

        self.rubato.reset();
        self.pending.clear();
        self.delay_left = self.rubato.output_delay();
        self.samples_in = 0;
        self.samples_out = 0;
    }

    /// Converts the full block in `pending` and emits its output, dropping the filter delay and
    /// stopping at `limit` samples emitted in total.
    fn convert_block(&mut self, emit: &mut impl FnMut(f32), limit: u64) {
        let input = [self.pending.as_slice()];
        let (_, produced) = self
            .rubato
            .process_into_buffer(&input, &mut self.block_out, None)
            .expect("block buffers are sized by rubato itself");
        self.pending.clear();

        let skip = self.delay_left.min(produced);
        self.delay_left -= skip;
        for &sample in &self.block_out[0][skip..produced] {
            if self.samples_out >= limit {
                break;
            }
            emit(sample);
            self.samples_out += 1;
        }
    }
}

/// Picks the input block length: about [`TARGET_BLOCK_MS`], made of an even number of the
/// smallest blocks that map to whole output samples. An even count puts the centre of rubato's
/// filter on a whole output sample, so dropping `output_delay()` samples aligns time exactly.
// NOTE: rates with few common factors need long units and so add latency. From 8001 Hz the
// block is 2 × 8001 samples, two seconds. The rates engines use (8, 16, 22.05, 24, 44.1 and
// 48 kHz) all give blocks of 20 to 40 ms.
fn block_len(from_hz: u32, to_hz: u32) -> usize {
    let unit = (from_hz / gcd(from_hz, to_hz)) as usize;
    let target = (from_hz as u64 * TARGET_BLOCK_MS / 1000).max(1) as usize;
    let units = target.div_ceil(unit);
    let even_units = units + units % 2;
    even_units * unit
}

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

fn to_f32(sample: i16) -> f32 {
    sample as f32 / 32_768.0
}

fn to_i16(sample: f32) -> i16 {
    (sample * 32_768.0).round().clamp(i16::MIN as f32, i16::MAX as f32) as i16
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    fn sine(rate_hz: u32, freq_hz: f64, amplitude: f64, len: usize) -> Vec<i16> {
        (0..len).map(|n| (amplitude * (2.0 * PI * freq_hz * n as f64 / rate_hz as f64).sin()).round() as i16).collect()
    }

    fn resample_whole(from_hz: u32, to_hz: u32, input: &[i16]) -> Vec<i16> {
        let mut resampler = Resampler::new(from_hz, to_hz).unwrap();
        let mut output = resampler.process(input);
        output.extend(resampler.flush());
        output
    }

    fn resample_chunked(from_hz: u32, to_hz: u32, input: &[i16], chunk: usize) -> Vec<i16> {
        let mut resampler = Resampler::new(from_hz, to_hz).unwrap();
        let mut output = Vec::new();
        for piece in input.chunks(chunk) {
            output.extend(resampler.process(piece));
        }
        output.extend(resampler.flush());
        output
    }

    fn zero_crossings(samples: &[i16]) -> usize {
        let signs: Vec<bool> = samples.iter().filter(|&&s| s != 0).map(|&s| s > 0).collect();
        signs.windows(2).filter(|pair| pair[0] != pair[1]).count()
    }

    /// Largest difference from the ideal sine at the output rate, away from both ends where the
    /// filter input includes the zeros around the signal. One sample of misalignment gives thousands.
    fn max_phase_error(output: &[i16], to_hz: u32, freq_hz: f64, amplitude: f64) -> f64 {
        let margin = to_hz as usize / 20;
        let expected = sine(to_hz, freq_hz, amplitude, output.len());
        output[margin..output.len() - margin]
            .iter()
            .zip(&expected[margin..])
            .map(|(&got, &want)| (got as f64 - want as f64).abs())
            .fold(0.0, f64::max)
    }

    #[test]
    fn chunked_equals_whole_8k_to_16k() {
        let input = sine(8_000, 440.0, 10_000.0, 8_000);
        assert_eq!(resample_chunked(8_000, 16_000, &input, 160), resample_whole(8_000, 16_000, &input));
    }

    #[test]
    fn chunked_equals_whole_22050_to_8k() {
        let input = sine(22_050, 440.0, 10_000.0, 22_050);
        let chunk = 441; // 20 ms at 22050 Hz
        assert_eq!(resample_chunked(22_050, 8_000, &input, chunk), resample_whole(22_050, 8_000, &input));
        assert_eq!(resample_chunked(22_050, 8_000, &input, 160), resample_whole(22_050, 8_000, &input));
    }

    #[test]
    fn chunked_equals_whole_24k_to_8k() {
        let input = sine(24_000, 440.0, 10_000.0, 24_000);
        assert_eq!(resample_chunked(24_000, 8_000, &input, 480), resample_whole(24_000, 8_000, &input));
        assert_eq!(resample_chunked(24_000, 8_000, &input, 160), resample_whole(24_000, 8_000, &input));
    }

    #[test]
    fn odd_chunks_equal_whole() {
        let input = sine(8_000, 300.0, 12_000.0, 4_001);
        for chunk in [1, 7, 159, 161, 1_000] {
            assert_eq!(
                resample_chunked(8_000, 16_000, &input, chunk),
                resample_whole(8_000, 16_000, &input),
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn output_length_follows_ratio() {
        let cases: [(u32, u32, usize, usize); 5] = [
            (8_000, 16_000, 8_000, 16_000),
            (8_000, 16_000, 123, 246),
            (24_000, 8_000, 4_800, 1_600),
            (22_050, 8_000, 22_050, 8_000),
            (22_050, 8_000, 1_000, 363), // 362.81 rounds to 363
        ];
        for (from_hz, to_hz, input_len, output_len) in cases {
            let input = vec![100; input_len];
            assert_eq!(resample_whole(from_hz, to_hz, &input).len(), output_len, "{from_hz}->{to_hz} of {input_len}");
        }
    }

    #[test]
    fn sine_keeps_frequency_and_amplitude() {
        let amplitude = 10_000.0;
        let input = sine(8_000, 1_000.0, amplitude, 8_000);
        let output = resample_whole(8_000, 16_000, &input);

        assert_eq!(output.len(), 16_000);
        let crossings = zero_crossings(&output) as i64;
        assert!((crossings - 1_999).abs() <= 1, "{crossings} zero crossings");

        let middle = &output[1_600..14_400];
        let peak = middle.iter().map(|&s| (s as f64).abs()).fold(0.0, f64::max);
        assert!((peak - amplitude).abs() <= amplitude * 0.05, "peak {peak}");
    }

    #[test]
    fn output_is_not_delayed_8k_to_16k() {
        // 730 Hz, because rubato's 10 ms delay is a whole number of 1 kHz periods and would hide.
        let input = sine(8_000, 730.0, 10_000.0, 8_000);
        let output = resample_whole(8_000, 16_000, &input);
        let error = max_phase_error(&output, 16_000, 730.0, 10_000.0);
        assert!(error <= 4.0, "error {error}");
    }

    #[test]
    fn output_is_not_delayed_22050_to_8k() {
        let input = sine(22_050, 440.0, 10_000.0, 22_050);
        let output = resample_whole(22_050, 8_000, &input);
        let error = max_phase_error(&output, 8_000, 440.0, 10_000.0);
        assert!(error <= 4.0, "error {error}");
    }

    #[test]
    fn output_is_not_delayed_24k_to_8k() {
        let input = sine(24_000, 440.0, 10_000.0, 24_000);
        let output = resample_whole(24_000, 8_000, &input);
        let error = max_phase_error(&output, 8_000, 440.0, 10_000.0);
        assert!(error <= 4.0, "error {error}");
    }

    #[test]
    fn downsampling_removes_aliases() {
        // 5 kHz is above the 4 kHz Nyquist frequency of the output, so it must be filtered out
        // rather than fold back to 3 kHz.
        let input = sine(24_000, 5_000.0, 10_000.0, 24_000);
        let output = resample_whole(24_000, 8_000, &input);
        let peak = output[800..7_200].iter().map(|&s| (s as i32).abs()).max().unwrap();
        assert!(peak <= 4, "peak {peak}");
    }

    #[test]
    fn same_rate_passes_through() {
        let input = sine(8_000, 440.0, 10_000.0, 333);
        let mut resampler = Resampler::new(8_000, 8_000).unwrap();
        assert_eq!(resampler.process(&input), input);
        assert_eq!(resampler.flush(), Vec::<i16>::new());
        assert_eq!(resampler.process_f32(&[16_384, -32_768]), vec![0.5, -1.0]);
    }

    #[test]
    fn f32_output_matches_i16_output() {
        let input = sine(8_000, 700.0, 20_000.0, 3_000);
        let mut as_i16 = Resampler::new(8_000, 16_000).unwrap();
        let mut as_f32 = Resampler::new(8_000, 16_000).unwrap();

        let mut wide = as_i16.process(&input);
        wide.extend(as_i16.flush());
        let mut float = as_f32.process_f32(&input);
        float.extend(as_f32.flush_f32());

        assert_eq!(float.len(), wide.len());
        for (&f, &i) in float.iter().zip(&wide) {
            assert!((-1.0..=1.0).contains(&f));
            assert_eq!(to_i16(f), i);
        }
    }

    #[test]
    fn full_scale_input_stays_in_range() {
        // A square wave overshoots after filtering (Gibbs), so the output must be clamped.
        let input: Vec<i16> = (0..8_000).map(|n| if (n / 20) % 2 == 0 { i16::MAX } else { i16::MIN }).collect();
        let mut resampler = Resampler::new(8_000, 16_000).unwrap();
        let output = resampler.process_f32(&input);
        assert!(output.iter().all(|sample| (-1.0..=1.0).contains(sample)));
    }

    #[test]
    fn flush_starts_a_new_stream() {
        let input = sine(8_000, 440.0, 10_000.0, 1_000);
        let mut resampler = Resampler::new(8_000, 16_000).unwrap();
        let mut first = resampler.process(&input);
        first.extend(resampler.flush());
        let mut second = resampler.process(&input);
        second.extend(resampler.flush());
        assert_eq!(first, second);
    }

    #[test]
    fn invalid_rates_are_rejected() {
        let error = Resampler::new(0, 8_000).err().unwrap();
        assert!(matches!(error, ResampleError::InvalidRate { from_hz: 0, to_hz: 8_000 }));
        assert!(error.to_string().contains("from 0 Hz to 8000 Hz"), "{error}");
        assert!(Resampler::new(8_000, 0).is_err());
        assert!(Resampler::new(8_000, MAX_RATE_HZ + 1).is_err());
        assert!(Resampler::new(u32::MAX, 8_000).is_err());
        assert!(Resampler::new(MAX_RATE_HZ, 8_000).is_ok());
    }

    #[test]
    fn block_len_is_even_whole_units() {
        assert_eq!(block_len(8_000, 16_000), 160);
        assert_eq!(block_len(24_000, 8_000), 480);
        assert_eq!(block_len(22_050, 8_000), 882);
        assert_eq!(block_len(16_000, 8_000), 320);
        assert_eq!(block_len(48_000, 8_000), 960);
        assert_eq!(block_len(44_100, 8_000), 882);
        assert_eq!(block_len(8_001, 8_000), 16_002);
    }
}
