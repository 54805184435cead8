//! Process-wide counters and histograms, served in the Prometheus text format at `GET /metrics`.
//!
//! Values live in atomics, so recording from a media path costs a few nanoseconds and never
//! waits for a lock.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::LazyLock;
use std::time::Duration;

/// Upper bounds of the turn-latency buckets, in seconds.
const TURN_BUCKETS: [f64; 13] = [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0];

/// The stages of a turn, each measured from the end of the caller's speech.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnStage {
    /// The final transcript arrived.
    FinalTranscript,
    /// The dialog chose the bot's reply.
    Decision,
    /// Text-to-speech returned the first audio of the reply.
    FirstAudio,
    /// The first frame of the reply went to the carrier.
    FirstFrame,
    /// The carrier echoed the reply's first mark: its first phrase had played.
    FirstMark,
}

impl TurnStage {
    pub const ALL: [TurnStage; 5] = [
        TurnStage::FinalTranscript,
        TurnStage::Decision,
        TurnStage::FirstAudio,
        TurnStage::FirstFrame,
        TurnStage::FirstMark,
    ];

    pub fn label(self) -> &'static str {
        match self {
            TurnStage::FinalTranscript => "final_transcript",
            TurnStage::Decision => "decision",
            TurnStage::FirstAudio => "first_audio",
            TurnStage::FirstFrame => "first_frame",
            TurnStage::FirstMark => "first_mark",
        }
    }
}

/// An outside provider that can fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    SpeechToText,
    TextToSpeech,
    Store,
}

impl Provider {
    const ALL: [Provider; 3] = [Provider::SpeechToText, Provider::TextToSpeech, Provider::Store];

    fn label(self) -> &'static str {
        match self {
            Provider::SpeechToText => "stt",
            Provider::TextToSpeech => "tts",
            Provider::Store => "store",
        }
    }
}

/// A cumulative histogram with fixed buckets.
struct Histogram {
    buckets: Vec<AtomicU64>,
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    fn new() -> Self {
        Histogram {
            buckets: TURN_BUCKETS.iter().map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            sum_micros: AtomicU64::new(0),
        }
    }

    fn observe(&self, value: Duration) {
        let seconds = value.as_secs_f64();
        if let Some(index) = TURN_BUCKETS.iter().position(|bound| seconds <= *bound) {
            self.buckets[index].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(value.as_micros() as u64, Ordering::Relaxed);
    }
}

/// Every metric of the process.
pub struct Metrics {
    active_calls: AtomicI64,
    calls: AtomicU64,
    barge_ins: AtomicU64,
    backchannels: AtomicU64,
    fillers: AtomicU64,
    provider_errors: [AtomicU64; 3],
    turn_stages: [Histogram; 5],
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| Metrics {
    active_calls: AtomicI64::new(0),
    calls: AtomicU64::new(0),
    barge_ins: AtomicU64::new(0),
    backchannels: AtomicU64::new(0),
    fillers: AtomicU64::new(0),
    provider_errors: Default::default(),
    turn_stages: std::array::from_fn(|_| Histogram::new()),
});

/// Returns the process's metrics.
pub fn metrics() -> &'static Metrics {
    &METRICS
}

/// Counts a call as active until dropped, so a call that ends by any path is counted out.
pub struct ActiveCall(());

impl Drop for ActiveCall {
    fn drop(&mut self) {
        METRICS.active_calls.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Metrics {
    pub fn call_started(&self) -> ActiveCall {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.active_calls.fetch_add(1, Ordering::Relaxed);
        ActiveCall(())
    }

    pub fn active_calls(&self) -> i64 {
        self.active_calls.load(Ordering::Relaxed)
    }

    pub fn barge_in(&self) {
        self.barge_ins.fetch_add(1, Ordering::Relaxed);
    }

    pub fn filler(&self) {
        self.fillers.fetch_add(1, Ordering::Relaxed);
    }

    pub fn backchannel(&self) {
        self.backchannels.fetch_add(1, Ordering::Relaxed);
    }

    pub fn provider_error(&self, provider: Provider) {
        self.provider_errors[provider as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn turn_stage(&self, stage: TurnStage, since_speech_end: Duration) {
        self.turn_stages[stage as usize].observe(since_speech_end);
    }

    /// Renders every metric in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let counter = |out: &mut String, name: &str, help: &str, value: u64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}");
        };
        let _ = writeln!(
            out,
            "# HELP cobranza_active_calls Calls whose media stream is open.\n# TYPE cobranza_active_calls gauge\ncobranza_active_calls {}",
            self.active_calls()
        );
        counter(&mut out, "cobranza_calls_total", "Calls started.", self.calls.load(Ordering::Relaxed));
        counter(
            &mut out,
            "cobranza_barge_ins_total",
            "Times a caller cut the bot off.",
            self.barge_ins.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "cobranza_backchannels_total",
            "Times caller speech over the bot was only a backchannel or noise, and the bot went on.",
            self.backchannels.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "cobranza_fillers_total",
            "Times the caller heard a filler because the bot's reply was late.",
            self.fillers.load(Ordering::Relaxed),
        );
        let _ = writeln!(
            out,
            "# HELP cobranza_provider_errors_total Failed requests to outside providers.\n# TYPE cobranza_provider_errors_total counter"
        );
        for provider in Provider::ALL {
            let value = self.provider_errors[provider as usize].load(Ordering::Relaxed);
            let _ = writeln!(out, "cobranza_provider_errors_total{{provider=\"{}\"}} {value}", provider.label());
        }
        let name = "cobranza_turn_stage_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Time from the end of the caller's speech to each stage of the bot's reply.\n# TYPE {name} histogram"
        );
        for stage in TurnStage::ALL {
            let histogram = &self.turn_stages[stage as usize];
            let label = stage.label();
            let mut cumulative = 0;
            for (bound, bucket) in TURN_BUCKETS.iter().zip(&histogram.buckets) {
                cumulative += bucket.load(Ordering::Relaxed);
                let _ = writeln!(out, "{name}_bucket{{stage=\"{label}\",le=\"{bound}\"}} {cumulative}");
            }
            let count = histogram.count.load(Ordering::Relaxed);
            let sum = histogram.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
            let _ = writeln!(out, "{name}_bucket{{stage=\"{label}\",le=\"+Inf\"}} {count}");
            let _ = writeln!(out, "{name}_sum{{stage=\"{label}\"}} {sum}");
            let _ = writeln!(out, "{name}_count{{stage=\"{label}\"}} {count}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_counts_bucket_values() {
        let histogram = Histogram::new();
        histogram.observe(Duration::from_millis(80));
        histogram.observe(Duration::from_millis(1_200));
        histogram.observe(Duration::from_secs(60));
        let counts: Vec<u64> = histogram.buckets.iter().map(|b| b.load(Ordering::Relaxed)).collect();
        assert_eq!(counts, [0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0]);
        assert_eq!(histogram.count.load(Ordering::Relaxed), 3);
        assert_eq!(histogram.sum_micros.load(Ordering::Relaxed), 61_280_000);
    }

    #[test]
    fn exposition_names_stages_and_providers() {
        let text = metrics().render();
        for stage in TurnStage::ALL {
            assert!(text.contains(&format!("cobranza_turn_stage_seconds_count{{stage=\"{}\"}}", stage.label())));
        }
        assert!(text.contains("cobranza_provider_errors_total{provider=\"tts\"}"));
        assert!(text.contains("# TYPE cobranza_active_calls gauge"));
    }
}
