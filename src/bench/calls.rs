//! `cobranza bench calls`: starts the server under test in this process, has a child process
//! open the simulated carrier streams, and measures this process while every call is up.

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{ChildStdout, Command};
use tokio::time::Instant;
use tracing::info;

use super::carrier::{unix_ms, CarrierLine, CarrierPlan, CarrierReport};
use super::phrases::{check_phrases, PhraseCheck};
use super::process;
use super::report::{AudioFigures, BenchReport, BenchSettings, CarrierFigures, ServerFigures};
use super::target::TargetServer;
use crate::collections::model::AttemptId;
use crate::collections::Store;
use crate::config::Config;

/// How long before the carriers hang up the server takes its end-of-window measurement.
const END_MARGIN: Duration = Duration::from_millis(100);
/// Maximum wait for the server to store every outcome after the carriers hang up.
const TEARDOWN_TIMEOUT: Duration = Duration::from_secs(300);
/// File descriptors kept for the store, recordings and the process itself.
const SPARE_FILES: u64 = 256;

/// Options of one `cobranza bench calls` run.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Calls held at once.
    pub concurrent: usize,
    /// How long all calls run together: the measurement window.
    pub seconds: u64,
    /// The configuration the calls start from. The bench overrides the keys that would end a
    /// silent caller's call early.
    pub config: Config,
    /// The `cobranza` executable, run as `cobranza bench carrier` for the simulated carriers.
    pub carrier_program: PathBuf,
    /// Length of stand-in speech per character of a phrase.
    pub tts_ms_per_char: u64,
}

/// Runs the bench and returns its figures.
pub async fn run(options: BenchOptions) -> anyhow::Result<BenchReport> {
    let wall_start = Instant::now();
    check_open_file_limit(options.concurrent)?;
    let target =
        TargetServer::start(options.concurrent, options.seconds, options.config.clone(), options.tts_ms_per_char)
            .await?;

    let rss_before = process::resident_bytes()?;
    let cpu_before = process::cpu_time()?;
    info!(calls = options.concurrent, seconds = options.seconds, "starting the simulated carriers");
    let watch = super::board_watch::BoardWatch::start(&target.base_url, &target.console_cookie, &target.bus).await?;
    let measured = run_carriers(&options.carrier_program, &target.plan).await?;

    let outcomes_stored = wait_for_outcomes(target.store.as_ref(), &target.attempts).await?;
    let board = watch.finish(&target.board).await?;
    let teardown = measured.window_end.elapsed();
    let cpu_total = process::cpu_time()?.saturating_sub(cpu_before);
    let phrases = check_phrases(target.store.as_ref(), &target.tts, &measured.report).await?;
    let settings = BenchSettings {
        tts_ms_per_char: options.tts_ms_per_char,
        reply_timeout_ms: target.config.call.reply_timeout_ms,
        pacing_lead_ms: target.config.call.pacing_lead_ms,
    };
    target.stop().await;

    let carrier = &measured.report;
    let completed = carrier
        .streams
        .iter()
        .filter(|stream| stream.completed && outcomes_stored.contains(&AttemptId(stream.attempt_id)))
        .count();
    Ok(BenchReport {
        concurrent: options.concurrent,
        seconds: options.seconds,
        wall_seconds: wall_start.elapsed().as_secs_f64(),
        ramp_seconds: carrier.ramp_seconds,
        window_seconds: measured.window().as_secs_f64(),
        teardown_seconds: teardown.as_secs_f64(),
        calls_started: carrier.streams_started,
        calls_completed: completed,
        calls_ended_early: carrier.streams_closed_by_server,
        calls_failed: carrier.streams_failed,
        first_failure: carrier.first_failure.clone(),
        server: server_figures(&measured, options.concurrent, rss_before, cpu_total),
        audio: audio_figures(carrier, &phrases),
        carrier: CarrierFigures {
            cpu_seconds: measured.carrier_cpu.as_secs_f64(),
            media_sent: carrier.media_sent,
            media_send_lateness: carrier.media_send_lateness,
            invalid_messages: carrier.invalid_messages,
        },
        settings,
        board: Some(board),
    })
}

/// Raises the open-file limit and fails when it is still too low for `calls` sockets.
fn check_open_file_limit(calls: usize) -> anyhow::Result<()> {
    let limit = process::raise_open_file_limit().context("raising the open-file limit failed")?;
    let needed = calls as u64 + SPARE_FILES;
    if limit.soft < needed {
        anyhow::bail!(
            "the open-file limit is {} but {calls} calls need at least {needed}: raise it with `ulimit -n`",
            limit.soft
        );
    }
    Ok(())
}

/// The carrier's report with what the server measured on itself while every call was up.
struct Measured {
    report: CarrierReport,
    window_start: Instant,
    window_end: Instant,
    cpu_at_start: Duration,
    cpu_at_end: Duration,
    rss_at_start: u64,
    rss_at_end: u64,
    /// CPU time of the whole carrier process.
    carrier_cpu: Duration,
}

impl Measured {
    fn window(&self) -> Duration {
        self.window_end.duration_since(self.window_start)
    }
}

/// Runs the carrier process and measures this process over the window it announces.
async fn run_carriers(program: &std::path::Path, plan: &CarrierPlan) -> anyhow::Result<Measured> {
    let children_cpu_before = process::children_cpu_time()?;
    let mut child = Command::new(program)
        .args(["bench", "carrier"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting the carrier process {} failed", program.display()))?;
    let mut stdin = child.stdin.take().context("the carrier process has no standard input")?;
    stdin.write_all(&serde_json::to_vec(plan)?).await.context("sending the plan to the carrier process failed")?;
    drop(stdin);
    let stdout = child.stdout.take().context("the carrier process has no standard output")?;
    let mut lines = BufReader::new(stdout).lines();

    let CarrierLine::Window { started, failed, ramp_seconds, ends_at_unix_ms } = next_line(&mut lines).await? else {
        anyhow::bail!("the carrier process reported before announcing its window");
    };
    let window_start = Instant::now();
    let cpu_at_start = process::cpu_time()?;
    let rss_at_start = process::resident_bytes()?;
    info!(started, failed, ramp_seconds, "every stream started; measuring");

    // The end comes as wall-clock time, the clock both processes share.
    let until_end = Duration::from_millis(ends_at_unix_ms.saturating_sub(unix_ms(SystemTime::now())));
    tokio::time::sleep(until_end.saturating_sub(END_MARGIN)).await;
    let window_end = Instant::now();
    let cpu_at_end = process::cpu_time()?;
    let rss_at_end = process::resident_bytes()?;

    let CarrierLine::Report(report) = next_line(&mut lines).await? else {
        anyhow::bail!("the carrier process announced a second window instead of its report");
    };
    let status = child.wait().await?;
    anyhow::ensure!(status.success(), "the carrier process failed: {status}");
    let carrier_cpu = process::children_cpu_time()?.saturating_sub(children_cpu_before);
    Ok(Measured { report, window_start, window_end, cpu_at_start, cpu_at_end, rss_at_start, rss_at_end, carrier_cpu })
}

async fn next_line(lines: &mut Lines<BufReader<ChildStdout>>) -> anyhow::Result<CarrierLine> {
    let line = lines
        .next_line()
        .await
        .context("reading the carrier process's output failed")?
        .context("the carrier process ended early; its errors are above")?;
    serde_json::from_str(&line).with_context(|| format!("the carrier process wrote an invalid line: {line}"))
}

/// Waits until the server has stored the outcome of every attempt, or the teardown timeout
/// passes, and returns the attempts whose outcome is stored.
async fn wait_for_outcomes(store: &dyn Store, attempts: &[AttemptId]) -> anyhow::Result<HashSet<AttemptId>> {
    let started = Instant::now();
    let from = chrono::Utc::now() - chrono::Duration::days(1);
    loop {
        let to = chrono::Utc::now() + chrono::Duration::days(1);
        let ended: HashSet<AttemptId> = store
            .attempts_between(from, to)
            .await?
            .into_iter()
            .filter(|attempt| attempt.ended_at.is_some())
            .map(|attempt| attempt.id)
            .collect();
        if attempts.iter().all(|id| ended.contains(id)) || started.elapsed() > TEARDOWN_TIMEOUT {
            return Ok(ended);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn server_figures(measured: &Measured, calls: usize, rss_before: u64, cpu_total: Duration) -> ServerFigures {
    let calls = calls as f64;
    let window = measured.window().as_secs_f64();
    let cpu_in_window = measured.cpu_at_end.saturating_sub(measured.cpu_at_start).as_secs_f64();
    let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
    let kib_difference = |later: u64, earlier: u64| (later as f64 - earlier as f64) / 1024.0;
    ServerFigures {
        cpu_seconds_in_window: cpu_in_window,
        cpu_ms_per_call_second: ratio(cpu_in_window * 1000.0, calls * window),
        cores_busy: ratio(cpu_in_window, window),
        cpu_seconds_total: cpu_total.as_secs_f64(),
        rss_before_calls_mib: mib(rss_before),
        rss_at_window_start_mib: mib(measured.rss_at_start),
        rss_at_window_end_mib: mib(measured.rss_at_end),
        rss_per_call_kib: ratio(kib_difference(measured.rss_at_end, rss_before), calls),
        rss_growth_per_call_second_kib: ratio(
            kib_difference(measured.rss_at_end, measured.rss_at_start),
            calls * window,
        ),
    }
}

fn audio_figures(carrier: &CarrierReport, phrases: &PhraseCheck) -> AudioFigures {
    AudioFigures {
        frames_received: carrier.frames_received,
        bot_talk_share: ratio(carrier.bot_audio_seconds, carrier.stream_seconds),
        marks_echoed: carrier.marks_echoed,
        clears_received: carrier.clears_received,
        late_frames: carrier.late_frames,
        lost_frames: phrases.lost_frames,
        extra_frames: phrases.extra_frames,
        phrases_checked: phrases.checked,
        phrases_unmatched: phrases.unmatched,
        calls_not_checked: phrases.calls_not_checked,
        unconfirmed_frames: carrier.unconfirmed_frames,
        frame_lateness: carrier.frame_lateness,
        seen_frame_lateness: carrier.seen_frame_lateness,
    }
}

/// Divides, returning 0 for an empty denominator.
fn ratio(amount: f64, denominator: f64) -> f64 {
    if denominator > 0.0 {
        amount / denominator
    } else {
        0.0
    }
}
