//! Whisper base run in-process by CTranslate2. One bounded worker pool serves every call: calls
//! queue for it, so a machine's cores are never oversubscribed.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info, warn};

use super::{SpeechToText, SttEvent, SttInput, SttStream, TurnAudio};
use crate::dialog::Language;
use crate::speech::SpeechError;

const WHISPER_RATE: u32 = 16_000;
/// Audio kept around the voiced part of a turn, so word onsets are not clipped.
const TRIM_MARGIN_SAMPLES: usize = WHISPER_RATE as usize / 5;

/// Settings of the Whisper worker pool.
#[derive(Debug, Clone)]
pub struct WhisperSettings {
    pub model_dir: PathBuf,
    /// Worker threads, each with its own copy of the model.
    pub workers: usize,
    /// CTranslate2 threads per worker.
    pub threads_per_worker: usize,
    /// Cap on generated tokens: Whisper sometimes loops on a number.
    pub max_tokens: usize,
    /// 1 decodes greedily; more tries several hypotheses, slower.
    pub beam_size: usize,
}

impl WhisperSettings {
    /// Reads the settings from `[speech]`. A relative model directory that does not exist here
    /// is looked up in the source tree the binary was built from, where `scripts/setup` puts it.
    pub fn from_config(config: &crate::config::Config) -> WhisperSettings {
        let configured = &config.speech.whisper_model_dir;
        let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).join(configured);
        let model_dir = if configured.is_relative() && !configured.exists() && built_from.exists() {
            built_from
        } else {
            configured.clone()
        };
        WhisperSettings {
            model_dir,
            workers: config.speech.whisper_workers,
            threads_per_worker: config.speech.whisper_threads_per_worker,
            max_tokens: config.speech.whisper_max_tokens,
            beam_size: config.speech.whisper_beam_size,
        }
    }
}

struct Job {
    samples: Vec<f32>,
    language: Language,
    reply: oneshot::Sender<Result<String, SpeechError>>,
}

/// The shared Whisper pool; cloning it shares the workers.
#[derive(Clone)]
pub struct WhisperPool {
    jobs: mpsc::Sender<Job>,
}

impl WhisperPool {
    /// Loads the model once per worker. Fails when the model directory is missing or invalid.
    pub fn load(settings: &WhisperSettings) -> Result<WhisperPool, SpeechError> {
        check_model_dir(&settings.model_dir)?;
        let (jobs, receiver) = mpsc::channel::<Job>(256);
        let receiver = Arc::new(std::sync::Mutex::new(receiver));
        for worker in 0..settings.workers.max(1) {
            let model = load_model(settings)?;
            let receiver = Arc::clone(&receiver);
            let options = ct2rs::WhisperOptions {
                beam_size: settings.beam_size.max(1),
                max_length: settings.max_tokens,
                ..Default::default()
            };
            std::thread::Builder::new()
                .name(format!("whisper-{worker}"))
                .spawn(move || run_worker(model, receiver, options))
                .map_err(|e| SpeechError::ModelLoad {
                    path: settings.model_dir.display().to_string(),
                    reason: e.to_string(),
                })?;
        }
        info!(model_dir = %settings.model_dir.display(), workers = settings.workers, "whisper pool ready");
        Ok(WhisperPool { jobs })
    }

    /// Transcribes 16 kHz samples in [-1, 1]; waits for a free worker.
    pub async fn transcribe(&self, samples: Vec<f32>, language: Language) -> Result<String, SpeechError> {
        let (reply, answer) = oneshot::channel();
        let unavailable = |reason: &str| SpeechError::Unavailable { provider: "whisper", reason: reason.to_string() };
        self.jobs.send(Job { samples, language, reply }).await.map_err(|_| unavailable("worker pool stopped"))?;
        answer.await.map_err(|_| unavailable("worker dropped the request"))?
    }
}

fn check_model_dir(dir: &Path) -> Result<(), SpeechError> {
    for file in ["model.bin", "config.json", "tokenizer.json", "preprocessor_config.json"] {
        if !dir.join(file).is_file() {
            return Err(SpeechError::ModelLoad {
                path: dir.display().to_string(),
                reason: format!("{file} is missing (set speech.whisper_model_dir to the model folder)"),
            });
        }
    }
    Ok(())
}

fn load_model(settings: &WhisperSettings) -> Result<ct2rs::Whisper, SpeechError> {
    let config = ct2rs::Config {
        compute_type: ct2rs::ComputeType::INT8,
        num_threads_per_replica: settings.threads_per_worker.max(1),
        ..Default::default()
    };
    ct2rs::Whisper::new(&settings.model_dir, config)
        .map_err(|e| SpeechError::ModelLoad { path: settings.model_dir.display().to_string(), reason: e.to_string() })
}

fn run_worker(model: ct2rs::Whisper, jobs: Arc<std::sync::Mutex<mpsc::Receiver<Job>>>, options: ct2rs::WhisperOptions) {
    loop {
        // Only one worker waits on the queue at a time; the lock is released before decoding.
        let job = match jobs.lock() {
            Ok(mut receiver) => receiver.blocking_recv(),
            Err(_) => None,
        };
        let Some(job) = job else { return };

        let started = Instant::now();
        let result = model
            .generate(&job.samples, Some(job.language.code()), false, &options)
            .map(|pieces| clean_transcript(&pieces.join(" ")))
            .map_err(|e| SpeechError::Provider { provider: "whisper", reason: e.to_string() });
        debug!(
            audio_ms = job.samples.len() as u64 * 1000 / u64::from(WHISPER_RATE),
            took_ms = started.elapsed().as_millis() as u64,
            "whisper transcribed a turn"
        );
        let _ = job.reply.send(result);
    }
}

/// Drops Whisper's known hallucinations on near-silence and tidies spacing.
pub(super) fn clean_transcript(raw: &str) -> String {
    let text = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    let lowered = text.to_lowercase();
    const HALLUCINATIONS: [&str; 6] =
        ["amara.org", "subtítulos", "suscríbete", "gracias por ver", "thank you for watching", "thanks for watching"];
    if HALLUCINATIONS.iter().any(|h| lowered.contains(h)) {
        return String::new();
    }
    text
}

/// Speech-to-text on the shared Whisper pool: buffers a caller turn and transcribes it whole on
/// [`SttInput::Finalize`], because Whisper is not a streaming model.
#[derive(Clone)]
pub struct WhisperStt {
    pool: WhisperPool,
}

impl WhisperStt {
    pub fn new(pool: WhisperPool) -> Self {
        WhisperStt { pool }
    }
}

#[async_trait]
impl SpeechToText for WhisperStt {
    async fn open(&self, language: Language) -> Result<SttStream, SpeechError> {
        let (input, inputs) = mpsc::channel(512);
        let (events_sender, events) = mpsc::channel(16);
        let pool = self.pool.clone();
        tokio::spawn(run_stream(pool, language, inputs, events_sender));
        Ok(SttStream { input, events })
    }
}

async fn run_stream(
    pool: WhisperPool,
    language: Language,
    mut inputs: mpsc::Receiver<SttInput>,
    events: mpsc::Sender<SttEvent>,
) {
    let mut turn = TurnAudio::new();

    while let Some(input) = inputs.recv().await {
        match input {
            SttInput::Audio(pcm) => turn.push(&pcm),
            SttInput::SpeechStarted => turn.speech_started(),
            SttInput::Finalize => {
                let samples = match turn.take_f32(WHISPER_RATE) {
                    Ok(samples) => samples,
                    Err(error) => {
                        let reason = format!("resampling the turn failed: {error}");
                        let _ =
                            events.send(SttEvent::Error(SpeechError::Provider { provider: "whisper", reason })).await;
                        return;
                    }
                };
                let voiced = trim_silence(&samples);
                let event = if voiced.is_empty() {
                    SttEvent::Final { text: String::new() }
                } else {
                    match pool.transcribe(voiced.to_vec(), language).await {
                        Ok(text) => SttEvent::Final { text },
                        Err(error) => {
                            warn!(%error, "whisper failed on a caller turn");
                            SttEvent::Error(error)
                        }
                    }
                };
                if events.send(event).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// The part of a turn between its first and last voiced 20 ms windows, with a margin; empty when
/// no window rises above the floor.
fn trim_silence(samples: &[f32]) -> &[f32] {
    const WINDOW: usize = WHISPER_RATE as usize / 50;
    const FLOOR_RMS: f32 = 0.01;
    let voiced = |window: &[f32]| {
        let energy: f32 = window.iter().map(|s| s * s).sum::<f32>() / window.len() as f32;
        energy.sqrt() > FLOOR_RMS
    };
    let windows: Vec<bool> = samples.chunks(WINDOW).map(voiced).collect();
    let Some(first) = windows.iter().position(|&v| v) else {
        return &[];
    };
    let last = windows.iter().rposition(|&v| v).unwrap_or(first);
    let start = (first * WINDOW).saturating_sub(TRIM_MARGIN_SAMPLES);
    let end = ((last + 1) * WINDOW + TRIM_MARGIN_SAMPLES).min(samples.len());
    &samples[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hallucination_on_silence_is_dropped() {
        assert_eq!(clean_transcript(" Subtítulos realizados por la comunidad de Amara.org"), "");
        assert_eq!(clean_transcript("  Sí,   soy yo. "), "Sí, soy yo.");
    }

    #[test]
    fn trim_keeps_voiced_part_with_margin() {
        let mut samples = vec![0.0_f32; 16_000];
        for s in &mut samples[8_000..8_320] {
            *s = 0.5;
        }
        let trimmed = trim_silence(&samples);
        assert_eq!(trimmed.len(), 320 + 2 * TRIM_MARGIN_SAMPLES);
        assert!(trim_silence(&vec![0.0; 16_000]).is_empty());
    }
}
