//! `cobranza bench calls`: the lateness and percentile math, the simulated carrier's playout
//! buffer, and short runs of the whole bench against the real server on loopback.

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cobranza::bench::carrier::{CarrierPlan, PlannedStream};
use cobranza::bench::lateness::{percentile, spurt_lateness, LatenessSummary};
use cobranza::bench::playout::Playout;
use cobranza::bench::{self, BenchOptions, BenchReport};
use cobranza::config::Config;

const COBRANZA: &str = env!("CARGO_BIN_EXE_cobranza");

fn ms(values: &[u64]) -> Vec<Duration> {
    values.iter().map(|&value| Duration::from_millis(value)).collect()
}

#[test]
fn percentile_is_nearest_rank() {
    let hundred: Vec<u32> = (1..=100).collect();
    assert_eq!(percentile(&hundred, 50), Some(50));
    assert_eq!(percentile(&hundred, 99), Some(99));
    assert_eq!(percentile(&hundred, 100), Some(100));
    assert_eq!(percentile(&hundred, 1), Some(1));

    let ten: Vec<u32> = (1..=10).map(|value| value * 10).collect();
    assert_eq!(percentile(&ten, 50), Some(50));
    assert_eq!(percentile(&ten, 99), Some(100));
    assert_eq!(percentile(&ten, 1), Some(10));
}

#[test]
fn percentile_of_one_or_none() {
    assert_eq!(percentile(&[7_u32], 1), Some(7));
    assert_eq!(percentile(&[7_u32], 99), Some(7));
    assert_eq!(percentile::<u32>(&[], 50), None);
}

#[test]
fn perfect_cadence_is_never_late() {
    assert_eq!(spurt_lateness(&ms(&[0, 20, 40, 60])), ms(&[0, 0, 0, 0]));
}

#[test]
fn late_frame_is_late_by_its_delay() {
    assert_eq!(spurt_lateness(&ms(&[0, 20, 45, 60])), ms(&[0, 0, 5, 0]));
}

#[test]
fn lateness_ignores_the_origin() {
    assert_eq!(spurt_lateness(&ms(&[1000, 1020, 1045])), ms(&[0, 0, 5]));
}

#[test]
fn early_frame_sets_the_cadence() {
    // Frame 2 came 10 ms ahead of the others, so the cadence it keeps makes them 10 ms late.
    assert_eq!(spurt_lateness(&ms(&[0, 20, 30, 60])), ms(&[0, 10, 0, 10]));
}

#[test]
fn lead_burst_at_spurt_start_is_on_time() {
    // A 120 ms lead sends seven frames at once when a spurt starts, then one every 20 ms.
    let arrivals = ms(&[0, 0, 0, 0, 0, 0, 0, 20, 40, 60]);
    assert_eq!(spurt_lateness(&arrivals), ms(&[0; 10]));
}

#[test]
fn lead_burst_then_stall_is_late() {
    let arrivals = ms(&[0, 0, 0, 0, 0, 0, 0, 20, 70, 80]);
    assert_eq!(spurt_lateness(&arrivals), ms(&[0, 0, 0, 0, 0, 0, 0, 0, 30, 20]));
}

#[test]
fn empty_spurt_has_no_lateness() {
    assert!(spurt_lateness(&[]).is_empty());
}

#[test]
fn summary_reports_milliseconds() {
    let summary = LatenessSummary::from_micros(vec![3_000, 1_000, 2_000, 100_000]);
    assert_eq!(summary.frames, 4);
    assert_eq!(summary.p50_ms, 2.0);
    assert_eq!(summary.p99_ms, 100.0);
    assert_eq!(summary.max_ms, 100.0);
}

#[test]
fn summary_of_nothing_is_zero() {
    let summary = LatenessSummary::from_micros(Vec::new());
    assert_eq!(summary, LatenessSummary { frames: 0, p50_ms: 0.0, p99_ms: 0.0, max_ms: 0.0 });
}

/// Builds a playout whose gaps between spurts last at least 300 ms, and returns it with its
/// time zero.
fn playout() -> (Playout, Instant) {
    (Playout::new(Duration::from_millis(300)), Instant::now())
}

fn at(origin: Instant, millis: u64) -> Instant {
    origin + Duration::from_millis(millis)
}

#[test]
fn mark_is_due_when_its_audio_has_played() {
    let (mut playout, t0) = playout();
    playout.frame(160, at(t0, 0), at(t0, 0));
    playout.frame(160, at(t0, 0), at(t0, 0));
    playout.frame(160, at(t0, 20), at(t0, 20));
    playout.mark("1:greeting".to_string(), at(t0, 21));

    assert_eq!(playout.next_due(), Some(at(t0, 60)));
    assert!(playout.played_marks(at(t0, 59)).is_empty());
    let played = playout.played_marks(at(t0, 60));
    assert_eq!(played.len(), 1);
    assert_eq!(played[0].name, "1:greeting");
    assert_eq!(played[0].frames, 3);

    let totals = playout.finish(at(t0, 60));
    assert_eq!(totals.frames_received, 3);
    assert_eq!(totals.late_frames, 0);
    assert_eq!(totals.marks_echoed, 1);
    assert_eq!(totals.played_phrase_frames, vec![3]);
    assert_eq!(totals.unconfirmed_frames, 0);
    assert_eq!(totals.unplayed_at_end, Duration::ZERO);
}

#[test]
fn mark_without_audio_is_due_at_once() {
    let (mut playout, t0) = playout();
    playout.mark("1:reprompt".to_string(), at(t0, 5));
    assert_eq!(playout.next_due(), Some(at(t0, 5)));
}

#[test]
fn frame_after_underrun_in_phrase_is_late() {
    let (mut playout, t0) = playout();
    playout.frame(160, at(t0, 0), at(t0, 0));
    playout.frame(160, at(t0, 25), at(t0, 25));
    playout.frame(160, at(t0, 45), at(t0, 45));
    let totals = playout.finish(at(t0, 45));
    assert_eq!(totals.late_frames, 1);
    assert_eq!(totals.lateness_micros, vec![0, 5_000, 5_000]);
    assert_eq!(totals.unplayed_at_end, Duration::from_millis(20));
}

#[test]
fn lateness_is_timed_at_the_socket_and_as_read() {
    let (mut playout, t0) = playout();
    // The frames reach the socket on cadence, but a busy carrier reads the second one 15 ms late.
    playout.frame(160, at(t0, 0), at(t0, 1));
    playout.frame(160, at(t0, 20), at(t0, 36));
    playout.frame(160, at(t0, 40), at(t0, 41));
    let totals = playout.finish(at(t0, 60));
    assert_eq!(totals.late_frames, 0);
    assert_eq!(totals.lateness_micros, vec![0, 0, 0]);
    assert_eq!(totals.seen_lateness_micros, vec![0, 15_000, 0]);
}

#[test]
fn long_silence_after_mark_starts_a_spurt() {
    let (mut playout, t0) = playout();
    playout.frame(160, at(t0, 0), at(t0, 0));
    playout.mark("1:ask_identity".to_string(), at(t0, 1));
    playout.played_marks(at(t0, 20));
    playout.frame(160, at(t0, 320), at(t0, 320));
    playout.frame(160, at(t0, 345), at(t0, 345));
    let totals = playout.finish(at(t0, 345));
    assert_eq!(totals.late_frames, 1);
    assert_eq!(totals.lateness_micros, vec![0, 0, 5_000]);
}

#[test]
fn short_silence_after_mark_is_underrun() {
    let (mut playout, t0) = playout();
    playout.frame(160, at(t0, 0), at(t0, 0));
    playout.mark("1:reprompt".to_string(), at(t0, 1));
    playout.frame(160, at(t0, 100), at(t0, 100));
    let totals = playout.finish(at(t0, 100));
    assert_eq!(totals.late_frames, 1);
    assert_eq!(totals.lateness_micros, vec![0, 80_000]);
}

#[test]
fn clear_releases_marks_unplayed() {
    let (mut playout, t0) = playout();
    for _ in 0..10 {
        playout.frame(160, at(t0, 0), at(t0, 0));
    }
    playout.mark("1:greeting".to_string(), at(t0, 1));
    playout.frame(160, at(t0, 2), at(t0, 2));
    playout.mark("2:ask_identity".to_string(), at(t0, 3));

    assert_eq!(playout.clear(), vec!["1:greeting".to_string(), "2:ask_identity".to_string()]);
    assert_eq!(playout.next_due(), None);
    playout.frame(160, at(t0, 50), at(t0, 50));
    let totals = playout.finish(at(t0, 60));
    assert_eq!(totals.marks_echoed, 2);
    assert_eq!(totals.clears_received, 1);
    assert!(totals.played_phrase_frames.is_empty());
    assert_eq!(totals.late_frames, 0);
    assert_eq!(totals.unconfirmed_frames, 1);
    assert_eq!(totals.unplayed_at_end, Duration::from_millis(10));
}

fn short_run(concurrent: usize, seconds: u64, tts_ms_per_char: u64) -> BenchOptions {
    BenchOptions { concurrent, seconds, config: Config::embedded(), carrier_program: COBRANZA.into(), tts_ms_per_char }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_calls_complete_without_lost_frames() {
    // At 5 ms per character the opening phrase plays in well under a second, so every call has
    // played phrases to check.
    let report = bench::run(short_run(3, 3, 5)).await.expect("bench runs");

    assert_eq!(report.concurrent, 3);
    assert_eq!(report.calls_started, 3);
    assert_eq!(report.calls_completed, 3);
    assert_eq!(report.calls_ended_early, 0);
    assert_eq!(report.calls_failed, 0);
    assert_eq!(report.first_failure, None);
    assert!(report.audio.phrases_checked >= 3, "{report}");
    assert_eq!(report.audio.lost_frames, 0, "{report}");
    assert_eq!(report.audio.extra_frames, 0, "{report}");
    assert_eq!(report.audio.phrases_unmatched, 0, "{report}");
    assert_eq!(report.audio.clears_received, 0, "{report}");
    assert_eq!(report.carrier.invalid_messages, 0, "{report}");
    assert!(report.audio.marks_echoed >= report.audio.phrases_checked, "{report}");
    assert_eq!(report.audio.frame_lateness.frames, report.audio.frames_received, "{report}");
    assert_eq!(report.settings.tts_ms_per_char, 5);
}

#[test]
fn command_prints_one_json_report() {
    let output = Command::new(COBRANZA)
        .args(["bench", "calls", "--concurrent", "3", "--seconds", "2", "--json"])
        .output()
        .expect("cobranza runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8(output.stdout).expect("UTF-8 output");
    assert_eq!(stdout.lines().count(), 1, "{stdout}");

    let json: serde_json::Value = serde_json::from_str(&stdout).expect("valid JSON");
    assert_eq!(json["concurrent"], 3);
    assert_eq!(json["seconds"], 2);
    assert_eq!(json["calls_started"], 3);
    assert_eq!(json["calls_completed"], 3);
    assert_eq!(json["audio"]["lost_frames"], 0);
    for figure in ["cpu_ms_per_call_second", "cores_busy", "rss_per_call_kib", "rss_before_calls_mib"] {
        assert!(json["server"][figure].is_number(), "server.{figure} missing: {stdout}");
    }
    for figure in ["p50_ms", "p99_ms", "max_ms", "frames"] {
        assert!(json["audio"]["frame_lateness"][figure].is_number(), "frame_lateness.{figure} missing: {stdout}");
    }
    for figure in ["frames_received", "marks_echoed", "late_frames"] {
        assert!(json["audio"][figure].is_number(), "audio.{figure} missing: {stdout}");
    }
    assert!(json["wall_seconds"].is_number());

    let report: BenchReport = serde_json::from_str(&stdout).expect("JSON reads back as a report");
    assert_eq!(report.settings.tts_ms_per_char, bench::DEFAULT_TTS_MS_PER_CHAR);
}

#[test]
fn carrier_rejects_a_remote_server() {
    let plan = CarrierPlan {
        stream_url: "wss://calls.example.com/twilio/media".to_string(),
        account_sid: "ACtest".to_string(),
        auth_token: "token".to_string(),
        window_seconds: 1,
        min_gap_ms: 300,
        streams: vec![PlannedStream {
            attempt_id: 1,
            token: "t".to_string(),
            call_sid: "CAtest".to_string(),
            stream_sid: "MZtest".to_string(),
        }],
    };
    let mut child = Command::new(COBRANZA)
        .args(["bench", "carrier"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cobranza runs");
    child.stdin.take().expect("stdin").write_all(&serde_json::to_vec(&plan).expect("plan")).expect("plan sent");
    let output = child.wait_with_output().expect("carrier ends");

    assert!(!output.status.success());
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("is not a loopback address"), "{stderr}");
}
