//! The audio stages chained as a call uses them: the caller's μ-law frames through decoding,
//! voice activity detection and resampling for speech-to-text, the bot's speech through
//! resampling, encoding and framing, and both sides into the stereo recording.

use std::f64::consts::PI;
use std::path::Path;

use base64::Engine;
use cobranza::audio::frames::{into_frames, FRAME_BYTES};
use cobranza::audio::mulaw;
use cobranza::audio::recording::CallRecorder;
use cobranza::audio::resample::Resampler;
use cobranza::audio::vad::{VadConfig, VadEvent, VoiceActivityDetector};

const RATE: u32 = 8_000;

fn samples_at(rate_hz: u32, ms: u64) -> usize {
    (ms * rate_hz as u64 / 1000) as usize
}

/// Uniform white noise at `dbfs` RMS, from a fixed seed.
fn line_noise(ms: u64, dbfs: f64, seed: u64) -> Vec<i16> {
    let amplitude = 32_768.0 * 10f64.powf(dbfs / 20.0) * 3f64.sqrt();
    let mut state = seed;
    (0..samples_at(RATE, ms))
        .map(|_| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let uniform = (state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0;
            (uniform * amplitude).round() as i16
        })
        .collect()
}

/// Voiced speech stand-in at 8 kHz: a 120 Hz buzz with harmonics, its loudness swinging like
/// syllables at 4 Hz.
fn caller_speech(ms: u64) -> Vec<i16> {
    (0..samples_at(RATE, ms))
        .map(|n| {
            let t = n as f64 / RATE as f64;
            let buzz: f64 = (1..=12).map(|k| (2.0 * PI * 120.0 * k as f64 * t).sin() / k as f64).sum();
            let syllables = 0.55 + 0.45 * (2.0 * PI * 4.0 * t).cos();
            (5_000.0 * syllables * buzz).round() as i16
        })
        .collect()
}

/// Builds a stand-in for a text-to-speech engine's output at 22050 Hz: a 300 Hz tone.
fn tts_phrase(ms: u64) -> Vec<i16> {
    (0..samples_at(22_050, ms))
        .map(|n| (9_000.0 * (2.0 * PI * 300.0 * n as f64 / 22_050.0).sin()).round() as i16)
        .collect()
}

/// Encodes and frames audio, then sends every frame through base64 as a media message would.
fn over_the_wire(pcm: &[i16]) -> Vec<Vec<u8>> {
    let engine = base64::engine::general_purpose::STANDARD;
    into_frames(&mulaw::encode_slice(pcm)).iter().map(|frame| engine.decode(engine.encode(frame)).unwrap()).collect()
}

fn read_channels(path: &Path) -> (Vec<i16>, Vec<i16>) {
    let mut reader = hound::WavReader::open(path).unwrap();
    assert_eq!(reader.spec().channels, 2);
    assert_eq!(reader.spec().sample_rate, 8_000);
    let samples: Vec<i16> = reader.samples::<i16>().map(|sample| sample.unwrap()).collect();
    let left = samples.iter().step_by(2).copied().collect();
    let right = samples.iter().skip(1).step_by(2).copied().collect();
    (left, right)
}

#[test]
fn caller_frames_reach_vad_stt_and_recording() {
    let pcm = [line_noise(1_000, -62.0, 1), caller_speech(1_500), line_noise(1_500, -62.0, 2)].concat();
    let frames = over_the_wire(&pcm);
    assert_eq!(frames.len(), 200);

    let mut vad = VoiceActivityDetector::new(VadConfig::default(), RATE);
    let mut to_whisper = Resampler::new(RATE, 16_000).unwrap();
    let mut recorder = CallRecorder::new();
    let mut events = Vec::new();
    let mut whisper_input = Vec::new();
    let mut decoded = Vec::new();

    let mut frame_pcm = Vec::with_capacity(FRAME_BYTES);
    for (index, frame) in frames.iter().enumerate() {
        frame_pcm.clear();
        mulaw::decode_into(frame, &mut frame_pcm);
        events.extend(vad.push(&frame_pcm));
        to_whisper.process_f32_into(&frame_pcm, &mut whisper_input);
        recorder.caller((index * FRAME_BYTES) as u64, &frame_pcm);
        decoded.extend_from_slice(&frame_pcm);
    }
    whisper_input.extend(to_whisper.flush_f32());

    assert_eq!(
        events,
        vec![VadEvent::SpeechStarted { at_ms: 1_000 }, VadEvent::SpeechEnded { at_ms: 2_500, speech_ms: 1_500 },]
    );
    assert_eq!(whisper_input.len(), 64_000);
    assert!(whisper_input.iter().all(|sample| (-1.0..=1.0).contains(sample)));

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("call.wav");
    recorder.write_wav(&path).unwrap();
    let (left, right) = read_channels(&path);
    assert_eq!(left, decoded);
    assert_eq!(right, vec![0; 32_000]);
}

#[test]
fn tts_audio_becomes_phone_frames() {
    let phrase = tts_phrase(1_000);
    let mut to_phone = Resampler::new(22_050, RATE).unwrap();

    // HTTP bodies split anywhere, so feed the converter uneven pieces.
    let mut pcm = Vec::new();
    for piece in phrase.chunks(1_013) {
        pcm.extend(to_phone.process(piece));
    }
    pcm.extend(to_phone.flush());
    assert_eq!(pcm.len(), 8_000);

    let frames = into_frames(&mulaw::encode_slice(&pcm));
    assert_eq!(frames.len(), 50);

    // The tone keeps its level through both conversions: 9000 peak, within μ-law's step there.
    let peak = mulaw::decode_slice(&frames[25]).iter().map(|&s| (s as i32).abs()).max().unwrap();
    assert!((8_500..=9_500).contains(&peak), "peak {peak}");
}

#[test]
fn barge_in_cuts_the_bot_channel() {
    let bot_pcm = mulaw::decode_slice(&mulaw::encode_slice(&[1_000; 16_000]));
    let caller_pcm = [line_noise(1_000, -62.0, 3), caller_speech(600), line_noise(1_400, -62.0, 4)].concat();

    let mut recorder = CallRecorder::new();
    let mut vad = VoiceActivityDetector::new(VadConfig::default(), RATE);

    // The bot's two-second phrase was sent at the start of the stream.
    recorder.bot(0, &bot_pcm);

    // The caller talks over it, and the clear takes effect where the caller started.
    let mut barge_in_at = None;
    for (index, chunk) in caller_pcm.chunks(160).enumerate() {
        recorder.caller((index * 160) as u64, chunk);
        for event in vad.push(chunk) {
            if let VadEvent::SpeechStarted { at_ms } = event {
                barge_in_at.get_or_insert(at_ms * RATE as u64 / 1000);
            }
        }
    }
    let barge_in_at = barge_in_at.expect("the caller's speech was not detected");
    assert_eq!(barge_in_at, 8_000);
    recorder.cut_bot_after(barge_in_at);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("barge-in.wav");
    recorder.write_wav(&path).unwrap();
    let (left, right) = read_channels(&path);
    assert_eq!(left, caller_pcm);
    assert_eq!(&right[..8_000], &bot_pcm[..8_000]);
    assert_eq!(&right[8_000..], &vec![0; 16_000][..]);
}
