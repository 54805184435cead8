//! Audio inside a call: 16-bit PCM, mono, 8 kHz, the phone's own rate.
//!
//! Each stage of the media path has one file here. [`mulaw`] converts at the carrier's edge and
//! [`resample`] at a speech engine's edge. [`vad`] finds where the caller speaks. [`frames`] cuts
//! outbound audio into 20 ms frames and paces them. [`recording`] places both sides of the call
//! on one timeline for the stereo recording.

pub mod frames;
pub mod mulaw;
pub mod recording;
pub mod resample;
pub mod vad;

/// Sample rate of all audio inside a call, in Hz.
pub const CALL_SAMPLE_RATE: u32 = 8_000;
