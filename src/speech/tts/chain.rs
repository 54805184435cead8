//! A fallback chain of text-to-speech providers. Each sentence goes to the first provider that
//! takes it and sends its first audio within the first-byte timeout. A provider that fails
//! before or during a sentence hands the whole sentence to the next one, so the caller never
//! misses part of an amount or a date.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::mpsc;
use tracing::{info, warn};

use super::{sentences, TextToSpeech, TtsStream};
use crate::cost::{CallMeter, CostCategory, Price};
use crate::dialog::Language;
use crate::metrics::{metrics, Provider};
use crate::resilience::ProviderGuard;
use crate::speech::SpeechError;

/// One provider of the chain.
#[derive(Clone)]
pub struct TtsProvider {
    /// The configuration name: `elevenlabs`, `openai`, `espeak`.
    pub name: String,
    pub tts: Arc<dyn TextToSpeech>,
    pub guard: Arc<ProviderGuard>,
    /// Price per character sent.
    pub price: Price,
    /// Maximum wait for the first audio of a sentence before the next provider is tried.
    pub first_byte_timeout: Duration,
}

/// Text-to-speech over a chain of providers, tried in order for every sentence.
#[derive(Clone)]
pub struct FallbackTts {
    providers: Arc<Vec<TtsProvider>>,
}

impl FallbackTts {
    pub fn new(providers: Vec<TtsProvider>) -> FallbackTts {
        FallbackTts { providers: Arc::new(providers) }
    }
}

#[async_trait]
impl TextToSpeech for FallbackTts {
    async fn synthesize(&self, text: &str, language: Language) -> Result<TtsStream, SpeechError> {
        let (sender, stream) = mpsc::channel(16);
        let providers = Arc::clone(&self.providers);
        let pieces: Vec<String> = sentences(text).into_iter().map(str::to_string).collect();
        let meter = crate::cost::current();
        tokio::spawn(async move {
            for sentence in pieces {
                if speak_sentence(&providers, &sentence, language, meter.as_ref(), &sender).await.is_err() {
                    return;
                }
            }
        });
        Ok(stream)
    }
}

/// The sentence could not be delivered: every provider failed, or the listener went away.
struct Stopped;

async fn speak_sentence(
    providers: &[TtsProvider],
    sentence: &str,
    language: Language,
    meter: Option<&CallMeter>,
    sender: &mpsc::Sender<Result<Vec<i16>, SpeechError>>,
) -> Result<(), Stopped> {
    let mut failures = Vec::new();
    for (index, provider) in providers.iter().enumerate() {
        if let Err(rejection) = provider.guard.admit() {
            info!(provider = %provider.name, %rejection, "text-to-speech provider skipped");
            failures.push(format!("{}: {rejection}", provider.name));
            continue;
        }
        let started = provider
            .guard
            .run(
                || first_audio(provider, sentence, language),
                |error: &SpeechError| {
                    error.is_retryable().then(|| match error {
                        SpeechError::Http { retry_after, .. } => *retry_after,
                        _ => None,
                    })
                },
            )
            .await;
        let (first, mut stream) = match started {
            Ok(started) => started,
            Err(error) => {
                failed(provider, &error, &mut failures);
                continue;
            }
        };
        if let Some(meter) = meter {
            meter.record(CostCategory::TextToSpeech, &provider.name, sentence.chars().count() as u64, provider.price);
        }
        if index > 0 {
            info!(provider = %provider.name, "sentence spoken by a fallback text-to-speech provider");
        }
        let mut chunk = first;
        loop {
            if let Some(pcm) = chunk {
                if sender.send(Ok(pcm)).await.is_err() {
                    return Err(Stopped);
                }
            }
            match stream.recv().await {
                None => return Ok(()),
                Some(Ok(pcm)) => chunk = Some(pcm),
                Some(Err(error)) => {
                    // Part of the sentence played, so the next provider renders all of it again.
                    provider.guard.failed(&error);
                    failed(provider, &error, &mut failures);
                    break;
                }
            }
        }
    }
    let reason = format!("every text-to-speech provider failed for a sentence ({})", failures.join("; "));
    let _ = sender.send(Err(SpeechError::Unavailable { provider: "text-to-speech", reason })).await;
    Err(Stopped)
}

fn failed(provider: &TtsProvider, error: &SpeechError, failures: &mut Vec<String>) {
    metrics().provider_error(Provider::TextToSpeech);
    warn!(provider = %provider.name, %error, "text-to-speech provider failed; trying the next");
    failures.push(format!("{}: {error}", provider.name));
}

/// Starts the sentence and waits for its first chunk, within the provider's first-byte timeout.
/// A provider that ends the sentence without audio gives `None`.
async fn first_audio(
    provider: &TtsProvider,
    sentence: &str,
    language: Language,
) -> Result<(Option<Vec<i16>>, TtsStream), SpeechError> {
    let attempt = async {
        let mut stream = provider.tts.synthesize(sentence, language).await?;
        match stream.recv().await {
            Some(Ok(pcm)) => Ok((Some(pcm), stream)),
            Some(Err(error)) => Err(error),
            None => Ok((None, stream)),
        }
    };
    match tokio::time::timeout(provider.first_byte_timeout, attempt).await {
        Ok(result) => result,
        Err(_) => Err(SpeechError::Timeout {
            provider: "text-to-speech",
            stage: "first byte",
            after: provider.first_byte_timeout,
        }),
    }
}
