//! The figures of one `cobranza bench calls` run, as JSON or as a table.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::lateness::LatenessSummary;

/// The result of one run: how the server held `concurrent` calls for `seconds`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchReport {
    pub concurrent: usize,
    pub seconds: u64,
    pub wall_seconds: f64,
    /// From the first stream opening until every stream had started.
    pub ramp_seconds: f64,
    /// The measured part of the window, in which every call was up.
    pub window_seconds: f64,
    /// From the end of the window until the server had stored every call's outcome.
    pub teardown_seconds: f64,
    pub calls_started: usize,
    /// Calls that lasted the whole window, were hung up by the carrier, and whose outcome the
    /// server stored.
    pub calls_completed: usize,
    /// Calls the server ended before the window did.
    pub calls_ended_early: usize,
    pub calls_failed: usize,
    pub first_failure: Option<String>,
    pub server: ServerFigures,
    pub audio: AudioFigures,
    pub carrier: CarrierFigures,
    pub settings: BenchSettings,
    /// Counts of what the console's live board delivered to one watching page.
    #[serde(default)]
    pub board: Option<super::board_watch::BoardFigures>,
}

/// Resource use of the server process, measured on itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServerFigures {
    pub cpu_seconds_in_window: f64,
    /// CPU time in the window divided by calls × window length.
    pub cpu_ms_per_call_second: f64,
    /// CPU time in the window divided by its length: how many cores the calls kept busy.
    pub cores_busy: f64,
    /// CPU time from just before the first call until every outcome was stored.
    pub cpu_seconds_total: f64,
    pub rss_before_calls_mib: f64,
    pub rss_at_window_start_mib: f64,
    pub rss_at_window_end_mib: f64,
    /// Resident memory at the end of the window less that before the calls, per call.
    pub rss_per_call_kib: f64,
    /// Growth rate of each call's resident memory during the window.
    pub rss_growth_per_call_second_kib: f64,
}

/// The bot's audio as the simulated carriers received it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AudioFigures {
    pub frames_received: u64,
    /// Share of the calls' time the bot's audio played.
    pub bot_talk_share: f64,
    pub marks_echoed: u64,
    pub clears_received: u64,
    /// Frames that arrived after the carrier's playout buffer ran dry inside a talk spurt.
    pub late_frames: u64,
    /// Frames of played phrases that the server rendered but the carrier never received.
    pub lost_frames: u64,
    /// Frames of played phrases beyond what the server rendered for them.
    pub extra_frames: u64,
    /// Played phrases whose frames were compared with what the server rendered.
    pub phrases_checked: u64,
    /// Played phrases that could not be paired with a line of the bot's transcript, or the
    /// reverse.
    pub phrases_unmatched: u64,
    /// Calls left out of the phrase check because they received a `clear`.
    pub calls_not_checked: u64,
    /// Frames of phrases still being sent when the calls were hung up, left out of the check.
    pub unconfirmed_frames: u64,
    /// Bot frames against a perfect 20 ms cadence within each talk spurt, timed by when they
    /// reached the carrier's socket (the kernel's receive time).
    pub frame_lateness: LatenessSummary,
    /// The same, timed by when the carrier process read them: this adds the carriers' own
    /// scheduling delay on a machine they share with the server.
    #[serde(default)]
    pub seen_frame_lateness: LatenessSummary,
}

/// The simulated carriers' own figures, to tell whether they kept up.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CarrierFigures {
    /// CPU time of the whole carrier process, which shares the machine with the server.
    pub cpu_seconds: f64,
    pub media_sent: u64,
    /// Lateness of caller frames against their 20 ms schedule.
    pub media_send_lateness: LatenessSummary,
    /// Server messages that were not valid Media Streams messages for their stream.
    pub invalid_messages: u64,
}

/// The settings the run used.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchSettings {
    /// Length of stand-in speech per character of a phrase.
    pub tts_ms_per_char: u64,
    pub reply_timeout_ms: u64,
    pub pacing_lead_ms: u64,
}

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let server = &self.server;
        let audio = &self.audio;
        let carrier = &self.carrier;
        let lateness = &audio.frame_lateness;
        let seen = &audio.seen_frame_lateness;
        let send = &carrier.media_send_lateness;
        writeln!(f, "cobranza bench calls: {} concurrent calls, {} s window", self.concurrent, self.seconds)?;
        let rows = [
            (
                "calls",
                format!(
                    "{} started, {} completed, {} ended early, {} failed",
                    self.calls_started, self.calls_completed, self.calls_ended_early, self.calls_failed
                ),
            ),
            (
                "time",
                format!(
                    "ramp {:.1} s, window {:.1} s measured, teardown {:.1} s, wall {:.1} s",
                    self.ramp_seconds, self.window_seconds, self.teardown_seconds, self.wall_seconds
                ),
            ),
            (
                "server CPU",
                format!(
                    "{:.3} ms per call-second ({:.2} cores busy; {:.1} s in the window, {:.1} s in all)",
                    server.cpu_ms_per_call_second, server.cores_busy, server.cpu_seconds_in_window, server.cpu_seconds_total
                ),
            ),
            (
                "server memory",
                format!(
                    "{:.0} KiB per call (RSS {:.1} MiB before the calls, {:.1} MiB at window start, {:.1} MiB at its end; \
                     {:.1} KiB per call-second growth)",
                    server.rss_per_call_kib,
                    server.rss_before_calls_mib,
                    server.rss_at_window_start_mib,
                    server.rss_at_window_end_mib,
                    server.rss_growth_per_call_second_kib
                ),
            ),
            (
                "bot audio",
                format!(
                    "{} frames ({:.0} % of call time), {} marks echoed, {} clears; {} late, {} lost, {} extra \
                     ({} phrases checked, {} unmatched, {} frames unconfirmed)",
                    audio.frames_received,
                    audio.bot_talk_share * 100.0,
                    audio.marks_echoed,
                    audio.clears_received,
                    audio.late_frames,
                    audio.lost_frames,
                    audio.extra_frames,
                    audio.phrases_checked,
                    audio.phrases_unmatched,
                    audio.unconfirmed_frames
                ),
            ),
            (
                "frame lateness",
                format!(
                    "p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms over {} frames, at the carriers' sockets",
                    lateness.p50_ms, lateness.p99_ms, lateness.max_ms, lateness.frames
                ),
            ),
            (
                "",
                format!(
                    "p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms as the carrier processes read them",
                    seen.p50_ms, seen.p99_ms, seen.max_ms
                ),
            ),
            (
                "carrier",
                format!(
                    "{:.1} s CPU, {} caller frames sent, send lateness p99 {:.2} ms, max {:.2} ms; \
                     {} invalid messages",
                    carrier.cpu_seconds,
                    carrier.media_sent, send.p99_ms, send.max_ms, carrier.invalid_messages
                ),
            ),
            (
                "settings",
                format!(
                    "stand-in speech {} ms per character, reply timeout {} ms, pacing lead {} ms",
                    self.settings.tts_ms_per_char, self.settings.reply_timeout_ms, self.settings.pacing_lead_ms
                ),
            ),
        ];
        for (label, value) in rows {
            writeln!(f, "  {label:<15} {value}")?;
        }
        if let Some(board) = &self.board {
            writeln!(
                f,
                "  {:<15} {:.0} events/s published ({:.0}/s change a row); the page got {:.1} batches/s with                  {:.0} rows/s, at most {} rows, {} differing at the end",
                "live board",
                board.per_second(board.events_published),
                board.per_second(board.row_changes_published),
                board.per_second(board.messages),
                board.per_second(board.rows_updated),
                board.max_rows,
                board.rows_differing_at_end
            )?;
        }
        if let Some(failure) = &self.first_failure {
            writeln!(f, "  {:<15} {failure}", "first failure")?;
        }
        Ok(())
    }
}
