//! espeak-ng, the embedded text-to-speech: no network, no keys, robotic but intelligible.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::process::Command;
use tokio::sync::mpsc;

use super::{sentences, TextToSpeech, TtsStream};
use crate::audio::resample::Resampler;
use crate::dialog::Language;
use crate::speech::SpeechError;

/// An espeak-ng voice and how it speaks.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EspeakVoice {
    /// espeak-ng voice name, optionally with a variant: `es-419`, `en-us+f3`.
    pub voice: String,
    /// Words per minute.
    pub rate: u32,
    /// 0 to 99.
    pub pitch: u32,
    /// Extra pause between words, in units of 10 ms.
    pub word_gap: u32,
}

/// espeak-ng with one voice per language and a cache of rendered sentences (prompts repeat).
pub struct EspeakTts {
    spanish: EspeakVoice,
    english: EspeakVoice,
    cache: Mutex<HashMap<(EspeakVoice, String), Arc<Vec<i16>>>>,
}

const CACHE_LIMIT: usize = 2048;

impl EspeakTts {
    pub fn new(spanish: EspeakVoice, english: EspeakVoice) -> Self {
        EspeakTts { spanish, english, cache: Mutex::new(HashMap::new()) }
    }

    fn voice(&self, language: Language) -> &EspeakVoice {
        match language {
            Language::Es => &self.spanish,
            Language::En => &self.english,
        }
    }

    /// Renders one sentence to 8 kHz PCM, from the cache when it was rendered before.
    pub async fn render(&self, text: &str, voice: &EspeakVoice) -> Result<Arc<Vec<i16>>, SpeechError> {
        let key = (voice.clone(), text.to_string());
        if let Some(hit) = self.cache.lock().expect("cache lock").get(&key) {
            return Ok(Arc::clone(hit));
        }
        let pcm = Arc::new(render_uncached(text, voice).await?);
        let mut cache = self.cache.lock().expect("cache lock");
        if cache.len() >= CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(key, Arc::clone(&pcm));
        Ok(pcm)
    }
}

#[async_trait]
impl TextToSpeech for EspeakTts {
    async fn synthesize(&self, text: &str, language: Language) -> Result<TtsStream, SpeechError> {
        let (sender, stream) = mpsc::channel(8);
        let voice = self.voice(language).clone();
        // Render sentence by sentence so the first can play while the rest is rendered.
        for sentence in sentences(text) {
            let pcm = self.render(sentence, &voice).await;
            let failed = pcm.is_err();
            if sender.send(pcm.map(|pcm| pcm.as_ref().clone())).await.is_err() || failed {
                break;
            }
        }
        Ok(stream)
    }
}

fn espeak_error(reason: impl Into<String>) -> SpeechError {
    SpeechError::Provider { provider: "espeak-ng", reason: reason.into() }
}

async fn render_uncached(text: &str, voice: &EspeakVoice) -> Result<Vec<i16>, SpeechError> {
    let path: PathBuf = std::env::temp_dir().join(format!("cobranza-tts-{}.wav", uuid::Uuid::new_v4()));
    let output = Command::new("espeak-ng")
        .arg("-v")
        .arg(&voice.voice)
        .arg("-s")
        .arg(voice.rate.to_string())
        .arg("-p")
        .arg(voice.pitch.to_string())
        .arg("-g")
        .arg(voice.word_gap.to_string())
        .arg("-w")
        .arg(&path)
        .arg("--")
        .arg(text)
        .output()
        .await
        .map_err(|e| SpeechError::Unavailable {
            provider: "espeak-ng",
            reason: format!("{e}; install it with `apt-get install espeak-ng` (scripts/setup does)"),
        })?;
    if !output.status.success() {
        let _ = std::fs::remove_file(&path);
        return Err(espeak_error(String::from_utf8_lossy(&output.stderr).trim().to_string()));
    }
    let decoded = read_wav_as_8k(&path);
    let _ = std::fs::remove_file(&path);
    decoded
}

/// Reads a mono or stereo 16-bit WAV at any rate and returns mono 8 kHz PCM.
pub fn read_wav_as_8k(path: &std::path::Path) -> Result<Vec<i16>, SpeechError> {
    let mut reader = hound::WavReader::open(path).map_err(|e| espeak_error(format!("{}: {e}", path.display())))?;
    let spec = reader.spec();
    let samples: Vec<i16> = reader
        .samples::<i16>()
        .collect::<Result<_, _>>()
        .map_err(|e| espeak_error(format!("{}: {e}", path.display())))?;
    let mono: Vec<i16> = if spec.channels == 1 {
        samples
    } else {
        samples.chunks(usize::from(spec.channels)).map(|frame| frame[0]).collect()
    };
    let mut resampler = Resampler::new(spec.sample_rate, 8_000).map_err(|e| espeak_error(format!("resampler: {e}")))?;
    let mut pcm = resampler.process(&mono);
    pcm.extend(resampler.flush());
    Ok(pcm)
}
