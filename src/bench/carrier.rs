//! The simulated carriers of `cobranza bench calls`, run in a child process so their work stays
//! out of the server's CPU and memory figures.
//!
//! The child reads a [`CarrierPlan`] as JSON on standard input, opens every stream, and writes
//! [`CarrierLine`]s as JSON lines on standard output: [`CarrierLine::Window`] once every stream
//! has started (or failed), then [`CarrierLine::Report`] when all have ended.

use std::io::{Read as _, Write as _};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::time::Instant;
use tracing::{info, warn};

use super::lateness::LatenessSummary;
use super::process;
use super::stream::{self, StreamContext, StreamEnd, StreamOutcome};
use crate::audio::frames::{FRAME_BYTES, FRAME_MS};
use crate::audio::mulaw;

/// WebSocket handshakes in flight at once while the streams ramp up.
const CONCURRENT_HANDSHAKES: usize = 64;
/// Distinct caller noise frames, sent in turn.
const NOISE_FRAMES: usize = 8;
/// Peak amplitude of the caller noise: about -63 dBFS RMS, well under the voice activity
/// detector's -55 dBFS floor for speech, so it never detects a turn.
const NOISE_PEAK: i32 = 40;

/// The work the bench gives the carrier process.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CarrierPlan {
    /// The server's media stream URL, e.g. `ws://127.0.0.1:40123/twilio/media`. Must be loopback.
    pub stream_url: String,
    pub account_sid: String,
    /// Signs the WebSocket upgrade. Passed on standard input so it never shows in a process list.
    pub auth_token: String,
    /// How long every stream runs once all have started.
    pub window_seconds: u64,
    /// Shortest silence after a mark that counts as a gap between talk spurts: the bot's reply
    /// timeout.
    pub min_gap_ms: u64,
    pub streams: Vec<PlannedStream>,
}

/// One stream to open, with the single-use token the server minted for its attempt.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlannedStream {
    pub attempt_id: i64,
    pub token: String,
    pub call_sid: String,
    pub stream_sid: String,
}

/// A line the carrier process writes on standard output.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum CarrierLine {
    /// Every stream has started or failed; all run until `ends_at_unix_ms`.
    Window { started: usize, failed: usize, ramp_seconds: f64, ends_at_unix_ms: u64 },
    /// Every stream has ended.
    Report(CarrierReport),
}

/// Measurements of the carrier process over all its streams.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CarrierReport {
    pub streams_started: usize,
    /// Streams that ran to the end of the window and sent `stop`.
    pub streams_completed: usize,
    /// Streams the server closed before the window ended.
    pub streams_closed_by_server: usize,
    pub streams_failed: usize,
    pub first_failure: Option<String>,
    pub ramp_seconds: f64,
    /// Seconds every started stream was up, added together.
    pub stream_seconds: f64,
    /// Seconds of bot audio the streams played before they ended, added together.
    pub bot_audio_seconds: f64,
    pub media_sent: u64,
    /// Lateness of caller frames against their schedule, which shows the carrier's own timing.
    pub media_send_lateness: LatenessSummary,
    pub frames_received: u64,
    pub late_frames: u64,
    pub marks_received: u64,
    pub marks_echoed: u64,
    pub clears_received: u64,
    pub invalid_messages: u64,
    /// Bot frames against a perfect 20 ms cadence within each talk spurt, by when they reached
    /// the socket.
    pub frame_lateness: LatenessSummary,
    /// The same by when the stream tasks read them.
    pub seen_frame_lateness: LatenessSummary,
    /// Frames received after the last mark of a stream: phrases cut off by the hang-up.
    pub unconfirmed_frames: u64,
    pub streams: Vec<StreamPhrases>,
}

/// The frames of each phrase a stream played, for the bench to compare with what was rendered.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StreamPhrases {
    pub attempt_id: i64,
    pub completed: bool,
    /// `clear` messages the stream received.
    pub clears: u64,
    pub played_phrase_frames: Vec<u32>,
}

/// Runs the carrier process: reads the plan on standard input, runs every stream, and writes
/// its lines on standard output.
pub async fn run() -> anyhow::Result<()> {
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input).context("reading the carrier plan from standard input failed")?;
    let plan: CarrierPlan = serde_json::from_str(&input).context("the carrier plan on standard input is not valid")?;
    check_loopback(&plan.stream_url)?;
    let limit = process::raise_open_file_limit().context("raising the open-file limit failed")?;
    if (limit.soft as usize) < plan.streams.len() + 64 {
        anyhow::bail!(
            "the open-file limit is {} but {} streams need more: raise it with `ulimit -n`",
            limit.soft,
            plan.streams.len()
        );
    }

    let window = Duration::from_secs(plan.window_seconds);
    let count = plan.streams.len();
    let streams = plan.streams.clone();
    let context = Arc::new(StreamContext {
        plan,
        noise_payloads: noise_payloads(),
        handshakes: Semaphore::new(CONCURRENT_HANDSHAKES),
    });
    let (started_sender, mut started) = mpsc::unbounded_channel();
    let (window_end_sender, window_end) = watch::channel(None);

    let ramp_start = Instant::now();
    let tasks: Vec<_> = streams
        .into_iter()
        .map(|planned| {
            tokio::spawn(stream::run(planned, Arc::clone(&context), started_sender.clone(), window_end.clone()))
        })
        .collect();
    drop(started_sender);

    // Each stream reports once, then keeps its sender until it ends, so count the reports.
    let (mut started_count, mut failed_count) = (0, 0);
    while started_count + failed_count < count {
        match started.recv().await {
            Some(true) => started_count += 1,
            Some(false) => failed_count += 1,
            None => break,
        }
    }
    let ramp = ramp_start.elapsed();
    let ends_at = Instant::now() + window;
    let _ = window_end_sender.send(Some(ends_at));
    info!(started = started_count, failed = failed_count, ramp_ms = ramp.as_millis() as u64, "streams started");
    write_line(&CarrierLine::Window {
        started: started_count,
        failed: failed_count,
        ramp_seconds: ramp.as_secs_f64(),
        ends_at_unix_ms: unix_ms(SystemTime::now() + window),
    })?;

    let mut outcomes = Vec::with_capacity(count);
    for task in tasks {
        match task.await {
            Ok(outcome) => outcomes.push(outcome),
            Err(error) => warn!(%error, "a carrier stream task failed"),
        }
    }
    let mut report = summarise(outcomes);
    report.ramp_seconds = ramp.as_secs_f64();
    write_line(&CarrierLine::Report(report))?;
    drop(window_end_sender);
    Ok(())
}

/// Adds up the outcomes of every stream.
fn summarise(outcomes: Vec<StreamOutcome>) -> CarrierReport {
    let mut report = CarrierReport::default();
    let mut frame_lateness = Vec::new();
    let mut seen_frame_lateness = Vec::new();
    let mut send_lateness = Vec::new();
    for outcome in outcomes {
        match &outcome.end {
            StreamEnd::Completed => report.streams_completed += 1,
            StreamEnd::ClosedByServer => report.streams_closed_by_server += 1,
            StreamEnd::Failed(reason) => {
                report.streams_failed += 1;
                report.first_failure.get_or_insert_with(|| reason.clone());
                continue;
            }
        }
        report.streams_started += 1;
        let playout = outcome.playout;
        report.media_sent += outcome.media_sent;
        report.stream_seconds += outcome.seconds_up;
        report.frames_received += playout.frames_received;
        report.late_frames += playout.late_frames;
        report.marks_received += playout.marks_received;
        report.marks_echoed += playout.marks_echoed;
        report.clears_received += playout.clears_received;
        report.invalid_messages += outcome.invalid_messages;
        report.unconfirmed_frames += u64::from(playout.unconfirmed_frames);
        let received_audio = playout.frames_received as f64 * FRAME_MS as f64 / 1000.0;
        report.bot_audio_seconds += received_audio - playout.unplayed_at_end.as_secs_f64();
        frame_lateness.extend(playout.lateness_micros);
        seen_frame_lateness.extend(playout.seen_lateness_micros);
        send_lateness.extend(outcome.send_lateness_micros);
        report.streams.push(StreamPhrases {
            attempt_id: outcome.attempt_id,
            completed: outcome.end == StreamEnd::Completed,
            clears: playout.clears_received,
            played_phrase_frames: playout.played_phrase_frames,
        });
    }
    report.frame_lateness = LatenessSummary::from_micros(frame_lateness);
    report.seen_frame_lateness = LatenessSummary::from_micros(seen_frame_lateness);
    report.media_send_lateness = LatenessSummary::from_micros(send_lateness);
    report
}

/// Base64 payloads of 160-byte μ-law frames of low-level noise, from a fixed seed.
fn noise_payloads() -> Vec<String> {
    let mut state: u32 = 0x2545_f491;
    (0..NOISE_FRAMES)
        .map(|_| {
            let frame: Vec<i16> = (0..FRAME_BYTES)
                .map(|_| {
                    // Numerical Recipes' linear congruential generator: enough for noise.
                    state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    ((state >> 16) as i32 % (2 * NOISE_PEAK + 1) - NOISE_PEAK) as i16
                })
                .collect();
            BASE64.encode(mulaw::encode_slice(&frame))
        })
        .collect()
}

/// Rejects a stream URL that is not on this machine: the bench only ever calls its own server.
fn check_loopback(stream_url: &str) -> anyhow::Result<()> {
    let url = url::Url::parse(stream_url).with_context(|| format!("stream URL {stream_url} is not a valid URL"))?;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(address)) => address.is_loopback(),
        Some(url::Host::Ipv6(address)) => address.is_loopback(),
        Some(url::Host::Domain(name)) => name == "localhost",
        None => false,
    };
    if !loopback {
        anyhow::bail!(
            "stream URL {stream_url} is not a loopback address; the bench only calls a server on this machine"
        );
    }
    Ok(())
}

fn write_line(line: &CarrierLine) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    serde_json::to_writer(&mut stdout, line)?;
    stdout.write_all(b"\n")?;
    stdout.flush()?;
    Ok(())
}

/// Milliseconds since the Unix epoch, the clock both processes share.
pub fn unix_ms(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |since| since.as_millis() as u64)
}
