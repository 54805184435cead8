//! Throughput of the caller's media path on one core: μ-law decoding, voice activity detection
//! and resampling to 16 kHz for Whisper, frame by frame over 10 minutes of audio.
//!
//! Run with `cargo bench --bench audio`. It prints figures and checks nothing.

use std::f64::consts::PI;
use std::hint::black_box;
use std::time::{Duration, Instant};

use cobranza::audio::frames::{into_frames, FRAME_BYTES, FRAME_MS};
use cobranza::audio::mulaw;
use cobranza::audio::resample::Resampler;
use cobranza::audio::vad::{VadConfig, VoiceActivityDetector};

const RATE: u32 = 8_000;
const MINUTES: u64 = 10;

/// Ten minutes of a caller alternating 3 s of voiced speech and 2 s of line noise, as μ-law.
fn caller_audio() -> Vec<u8> {
    let mut noise_state = 7u64;
    let pcm: Vec<i16> = (0..MINUTES * 60 * RATE as u64)
        .map(|n| {
            let t = n as f64 / RATE as f64;
            noise_state = noise_state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let noise = ((noise_state >> 40) as f64 / (1u64 << 24) as f64 - 0.5) * 40.0;
            let voiced = t % 5.0 < 3.0;
            let speech = if voiced {
                let buzz: f64 = (1..=8).map(|k| (2.0 * PI * 130.0 * k as f64 * t).sin() / k as f64).sum();
                4_000.0 * (0.6 + 0.4 * (2.0 * PI * 4.0 * t).cos()) * buzz
            } else {
                0.0
            };
            (speech + noise).round() as i16
        })
        .collect();
    mulaw::encode_slice(&pcm)
}

struct StageTimes {
    decode: Duration,
    vad: Duration,
    resample: Duration,
}

fn run(frames: &[[u8; FRAME_BYTES]]) -> (StageTimes, usize) {
    let mut vad = VoiceActivityDetector::new(VadConfig::default(), RATE);
    let mut to_whisper = Resampler::new(RATE, 16_000).expect("8 kHz to 16 kHz is a valid conversion");
    let mut pcm = Vec::with_capacity(FRAME_BYTES);
    let mut whisper_input = Vec::with_capacity(2 * FRAME_BYTES);
    let mut times = StageTimes { decode: Duration::ZERO, vad: Duration::ZERO, resample: Duration::ZERO };
    let mut events = 0;

    for frame in frames {
        let started = Instant::now();
        pcm.clear();
        mulaw::decode_into(black_box(frame), &mut pcm);
        let decoded = Instant::now();
        events += vad.push(&pcm).len();
        let detected = Instant::now();
        whisper_input.clear();
        to_whisper.process_f32_into(&pcm, &mut whisper_input);
        black_box(&whisper_input);
        let resampled = Instant::now();

        times.decode += decoded - started;
        times.vad += detected - decoded;
        times.resample += resampled - detected;
    }
    (times, events)
}

fn per_frame(total: Duration, frames: usize) -> f64 {
    total.as_secs_f64() * 1e6 / frames as f64
}

fn main() {
    let frames = into_frames(&caller_audio());
    let audio_seconds = frames.len() as f64 * FRAME_MS as f64 / 1000.0;

    // The first pass warms caches and the FFT plans; the second is measured.
    run(&frames);
    let started = Instant::now();
    let (times, events) = run(&frames);
    let elapsed = started.elapsed();

    let frames_per_second = frames.len() as f64 / elapsed.as_secs_f64();
    println!("caller media path, {} frames ({audio_seconds:.0} s of audio), one core", frames.len());
    println!("  decode    {:>8.2} µs/frame", per_frame(times.decode, frames.len()));
    println!("  vad       {:>8.2} µs/frame ({events} events)", per_frame(times.vad, frames.len()));
    println!("  resample  {:>8.2} µs/frame (8 kHz to 16 kHz, f32)", per_frame(times.resample, frames.len()));
    println!("  total     {:>8.2} µs/frame", per_frame(elapsed, frames.len()));
    // Each caller sends 50 frames a second. This counts this path alone, so it is an upper
    // bound on callers per core, not a capacity figure.
    println!(
        "  {frames_per_second:.0} frames/s per core, the caller path of {:.0} calls at most",
        frames_per_second / 50.0
    );
}
