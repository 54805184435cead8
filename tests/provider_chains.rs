//! The fallback chains. A failed speech-to-text provider hands the turns without a transcript to
//! the next one, and a failed text-to-speech provider hands the sentence to the next one. Circuit
//! breakers skip a provider that keeps failing, and each call's usage lands on its own meter.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::mpsc;

use cobranza::cost::{self, CallMeter, CostCategory, CostLine, Price};
use cobranza::dialog::Language;
use cobranza::resilience::{GuardSettings, ProviderGuard};
use cobranza::speech::stt::chain::{Billing, FallbackStt, SttProvider};
use cobranza::speech::stt::{SpeechToText, SttEvent, SttInput, SttStream};
use cobranza::speech::tts::chain::{FallbackTts, TtsProvider};
use cobranza::speech::tts::espeak::{EspeakTts, EspeakVoice};
use cobranza::speech::tts::{TextToSpeech, TtsStream};
use cobranza::speech::SpeechError;

/// How a speech-to-text stand-in behaves.
#[derive(Clone, Copy, PartialEq)]
enum Ears {
    /// Answers each Finalize with the number of audio samples of the turn.
    Counting,
    /// Answers the first Finalize with an error.
    FailsFirstTurn,
    /// Ends its stream at the first Finalize without answering, as a dropped socket does.
    DropsAtFinalize,
    /// Cannot be opened.
    WontOpen,
}

/// A speech-to-text stand-in that records every input it receives.
struct StandInStt {
    ears: Ears,
    inputs: Arc<Mutex<Vec<SttInput>>>,
    opened: Arc<Mutex<u32>>,
}

impl StandInStt {
    fn new(ears: Ears) -> Arc<StandInStt> {
        Arc::new(StandInStt { ears, inputs: Arc::default(), opened: Arc::default() })
    }

    fn audio_samples(&self) -> usize {
        self.inputs
            .lock()
            .unwrap()
            .iter()
            .map(|input| match input {
                SttInput::Audio(pcm) => pcm.len(),
                _ => 0,
            })
            .sum()
    }

    fn kinds(&self) -> Vec<&'static str> {
        self.inputs
            .lock()
            .unwrap()
            .iter()
            .map(|input| match input {
                SttInput::Audio(_) => "audio",
                SttInput::SpeechStarted => "speech_started",
                SttInput::Finalize => "finalize",
            })
            .collect()
    }
}

#[async_trait]
impl SpeechToText for StandInStt {
    async fn open(&self, _language: Language) -> Result<SttStream, SpeechError> {
        if self.ears == Ears::WontOpen {
            return Err(SpeechError::Unavailable { provider: "stand-in", reason: "connection refused".into() });
        }
        *self.opened.lock().unwrap() += 1;
        let (input, mut inputs) = mpsc::channel::<SttInput>(64);
        let (events_sender, events) = mpsc::channel(16);
        let record = Arc::clone(&self.inputs);
        let ears = self.ears;
        tokio::spawn(async move {
            let mut samples = 0;
            let mut turns = 0;
            while let Some(received) = inputs.recv().await {
                record.lock().unwrap().push(received.clone());
                match received {
                    SttInput::Audio(pcm) => samples += pcm.len(),
                    SttInput::SpeechStarted => {}
                    SttInput::Finalize => {
                        turns += 1;
                        let event = match ears {
                            Ears::FailsFirstTurn if turns == 1 => SttEvent::Error(SpeechError::Http {
                                provider: "stand-in",
                                status: 500,
                                message: "internal error".into(),
                                retry_after: None,
                            }),
                            Ears::DropsAtFinalize => return,
                            _ => SttEvent::Final { text: format!("{samples} samples") },
                        };
                        samples = 0;
                        if events_sender.send(event).await.is_err() {
                            return;
                        }
                    }
                }
            }
        });
        Ok(SttStream { input, events })
    }
}

fn guard(name: &str) -> Arc<ProviderGuard> {
    Arc::new(ProviderGuard::new(name, GuardSettings { attempts: 1, ..GuardSettings::default() }))
}

fn stt_provider(name: &str, stt: &Arc<StandInStt>, billing: Billing) -> SttProvider {
    SttProvider {
        name: name.to_string(),
        stt: Arc::clone(stt) as Arc<dyn SpeechToText>,
        guard: guard(name),
        price: Price::per_minute(0.006),
        billing,
    }
}

/// Sends one turn: 200 ms before speech, 1 s of speech, then the end of the turn.
async fn send_turn(stream: &SttStream) {
    stream.input.send(SttInput::Audio(vec![0; 1_600])).await.unwrap();
    stream.input.send(SttInput::SpeechStarted).await.unwrap();
    for _ in 0..10 {
        stream.input.send(SttInput::Audio(vec![500; 800])).await.unwrap();
    }
    stream.input.send(SttInput::Finalize).await.unwrap();
}

async fn next_event(stream: &mut SttStream) -> SttEvent {
    tokio::time::timeout(Duration::from_secs(10), stream.events.recv())
        .await
        .expect("an event in time")
        .expect("stream open")
}

#[tokio::test]
async fn failed_turn_replayed_to_next_provider() {
    let first = StandInStt::new(Ears::FailsFirstTurn);
    let second = StandInStt::new(Ears::Counting);
    let chain = FallbackStt::new(vec![
        stt_provider("first", &first, Billing::Streamed),
        stt_provider("second", &second, Billing::PerTurn),
    ]);
    let mut stream = chain.open(Language::Es).await.unwrap();
    send_turn(&stream).await;

    // The second provider heard the whole turn: the 200 ms before speech and the 1 s of it.
    assert_eq!(next_event(&mut stream).await, SttEvent::Final { text: "9600 samples".into() });
    assert_eq!(first.audio_samples(), 9_600);
    assert_eq!(second.audio_samples(), 9_600);
    assert_eq!(second.kinds().first(), Some(&"audio"));
    assert_eq!(second.kinds()[1], "speech_started");
    assert_eq!(second.kinds().last(), Some(&"finalize"));

    // The next turn goes to the second provider only.
    send_turn(&stream).await;
    assert_eq!(next_event(&mut stream).await, SttEvent::Final { text: "9600 samples".into() });
    assert_eq!(first.audio_samples(), 9_600);
    assert_eq!(*second.opened.lock().unwrap(), 1);
}

#[tokio::test(start_paused = true)]
async fn server_error_retried_once_then_next() {
    let first = StandInStt::new(Ears::FailsFirstTurn);
    let second = StandInStt::new(Ears::Counting);
    let retrying = Arc::new(ProviderGuard::new("first", GuardSettings { attempts: 2, ..GuardSettings::default() }));
    let chain = FallbackStt::new(vec![
        SttProvider { guard: retrying, ..stt_provider("first", &first, Billing::PerTurn) },
        stt_provider("second", &second, Billing::PerTurn),
    ]);
    let mut stream = chain.open(Language::Es).await.unwrap();
    send_turn(&stream).await;
    // HTTP 500 is worth a second try: a new stream of the same provider hears the whole turn,
    // fails again, and the next provider answers.
    assert_eq!(next_event(&mut stream).await, SttEvent::Final { text: "9600 samples".into() });
    assert_eq!(*first.opened.lock().unwrap(), 2);
    assert_eq!(first.audio_samples(), 2 * 9_600);
    assert_eq!(*second.opened.lock().unwrap(), 1);
    assert_eq!(second.audio_samples(), 9_600);
}

#[tokio::test]
async fn dropped_stream_loses_no_turn() {
    let first = StandInStt::new(Ears::DropsAtFinalize);
    let second = StandInStt::new(Ears::Counting);
    let chain = FallbackStt::new(vec![
        stt_provider("first", &first, Billing::Streamed),
        stt_provider("second", &second, Billing::PerTurn),
    ]);
    let mut stream = chain.open(Language::Es).await.unwrap();
    send_turn(&stream).await;
    assert_eq!(next_event(&mut stream).await, SttEvent::Final { text: "9600 samples".into() });
}

#[tokio::test]
async fn provider_that_wont_open_is_skipped() {
    let first = StandInStt::new(Ears::WontOpen);
    let second = StandInStt::new(Ears::Counting);
    let chain = FallbackStt::new(vec![
        stt_provider("first", &first, Billing::Streamed),
        stt_provider("second", &second, Billing::PerTurn),
    ]);
    let mut stream = chain.open(Language::Es).await.unwrap();
    send_turn(&stream).await;
    assert_eq!(next_event(&mut stream).await, SttEvent::Final { text: "9600 samples".into() });
}

#[tokio::test]
async fn every_provider_down_reports_unavailable_once() {
    let first = StandInStt::new(Ears::DropsAtFinalize);
    let second = StandInStt::new(Ears::WontOpen);
    let chain = FallbackStt::new(vec![
        stt_provider("first", &first, Billing::Streamed),
        stt_provider("second", &second, Billing::PerTurn),
    ]);
    let mut stream = chain.open(Language::Es).await.unwrap();
    send_turn(&stream).await;
    let SttEvent::Unavailable { reason } = next_event(&mut stream).await else {
        panic!("expected the chain to report itself unavailable");
    };
    assert_eq!(
        reason,
        "every speech-to-text provider failed (first: its stream ended; second: stand-in is not running: connection refused)"
    );
    // Later turns are taken in and dropped; nothing more is reported.
    send_turn(&stream).await;
    assert!(tokio::time::timeout(Duration::from_millis(200), stream.events.recv()).await.is_err());
}

#[tokio::test]
async fn open_breaker_skips_provider_for_next_calls() {
    let first = StandInStt::new(Ears::DropsAtFinalize);
    let second = StandInStt::new(Ears::Counting);
    let breaker = Arc::new(ProviderGuard::new(
        "first",
        GuardSettings { breaker_failures: 1, breaker_cooldown_ms: 60_000, attempts: 1, ..GuardSettings::default() },
    ));
    let chain = FallbackStt::new(vec![
        SttProvider { guard: breaker, ..stt_provider("first", &first, Billing::Streamed) },
        stt_provider("second", &second, Billing::PerTurn),
    ]);
    let mut call = chain.open(Language::Es).await.unwrap();
    send_turn(&call).await;
    next_event(&mut call).await;
    assert_eq!(*first.opened.lock().unwrap(), 1);

    // One failure opened the breaker: the next call does not try the first provider.
    let mut next_call = chain.open(Language::Es).await.unwrap();
    send_turn(&next_call).await;
    next_event(&mut next_call).await;
    assert_eq!(*first.opened.lock().unwrap(), 1);
    assert_eq!(*second.opened.lock().unwrap(), 2);
}

#[tokio::test]
async fn meter_bills_streamed_and_per_turn_audio() {
    let first = StandInStt::new(Ears::FailsFirstTurn);
    let second = StandInStt::new(Ears::Counting);
    let chain = FallbackStt::new(vec![
        stt_provider("first", &first, Billing::Streamed),
        stt_provider("second", &second, Billing::PerTurn),
    ]);
    let meter = CallMeter::new();
    let mut stream = cost::metered(meter.clone(), chain.open(Language::Es)).await.unwrap();
    send_turn(&stream).await;
    next_event(&mut stream).await;
    // Streamed: all 1.2 s sent. Per turn: the 1 s of speech and the 600 ms pre-roll.
    assert_eq!(
        meter.lines(),
        vec![
            CostLine {
                category: CostCategory::SpeechToText,
                provider: "first".into(),
                quantity: 1_200,
                cost_micros: 120
            },
            CostLine {
                category: CostCategory::SpeechToText,
                provider: "second".into(),
                quantity: 1_600,
                cost_micros: 160
            },
        ]
    );
}

/// How a text-to-speech stand-in behaves.
#[derive(Clone, Copy, PartialEq)]
enum Voice {
    /// 100 samples per character, in two chunks.
    Speaks,
    /// Fails before any audio.
    Fails,
    /// Sends 50 samples, then fails.
    FailsMidSentence,
    /// Sends nothing for a minute.
    Stalls,
}

struct StandInTts {
    voice: Voice,
    requests: Arc<Mutex<Vec<String>>>,
}

impl StandInTts {
    fn new(voice: Voice) -> Arc<StandInTts> {
        Arc::new(StandInTts { voice, requests: Arc::default() })
    }
}

#[async_trait]
impl TextToSpeech for StandInTts {
    async fn synthesize(&self, text: &str, _language: Language) -> Result<TtsStream, SpeechError> {
        self.requests.lock().unwrap().push(text.to_string());
        let (sender, stream) = mpsc::channel(4);
        let samples = text.chars().count() * 100;
        let voice = self.voice;
        tokio::spawn(async move {
            let failure = || SpeechError::Http {
                provider: "stand-in",
                status: 500,
                message: "internal error".into(),
                retry_after: None,
            };
            match voice {
                Voice::Speaks => {
                    let _ = sender.send(Ok(vec![1; samples / 2])).await;
                    let _ = sender.send(Ok(vec![1; samples - samples / 2])).await;
                }
                Voice::Fails => {
                    let _ = sender.send(Err(failure())).await;
                }
                Voice::FailsMidSentence => {
                    let _ = sender.send(Ok(vec![2; 50])).await;
                    let _ = sender.send(Err(failure())).await;
                }
                Voice::Stalls => {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                }
            }
        });
        Ok(stream)
    }
}

fn tts_provider(name: &str, tts: Arc<dyn TextToSpeech>) -> TtsProvider {
    TtsProvider {
        name: name.to_string(),
        tts,
        guard: guard(name),
        price: Price::per_million(50.0),
        first_byte_timeout: Duration::from_millis(800),
    }
}

async fn collect(mut stream: TtsStream) -> Result<Vec<i16>, SpeechError> {
    let mut pcm = Vec::new();
    while let Some(chunk) = stream.recv().await {
        pcm.extend(chunk?);
    }
    Ok(pcm)
}

fn bot_voice() -> EspeakVoice {
    EspeakVoice { voice: "es-419".into(), rate: 150, pitch: 45, word_gap: 1 }
}

#[tokio::test]
async fn failed_provider_hands_sentences_to_espeak() {
    let failing = StandInTts::new(Voice::Fails);
    let espeak = Arc::new(EspeakTts::new(bot_voice(), bot_voice()));
    let chain = FallbackTts::new(vec![tts_provider("cloud", failing.clone()), tts_provider("espeak", espeak.clone())]);
    let text = "Hola. ¿Hablo con María López?";
    let spoken = collect(chain.synthesize(text, Language::Es).await.unwrap()).await.unwrap();

    // Exactly what espeak-ng renders for the two sentences, one after the other.
    let mut expected = espeak.render("Hola.", &bot_voice()).await.unwrap().as_ref().clone();
    expected.extend(espeak.render("¿Hablo con María López?", &bot_voice()).await.unwrap().iter());
    assert!(expected.len() > 8_000, "espeak-ng spoke {} samples", expected.len());
    assert_eq!(spoken, expected);
    assert_eq!(*failing.requests.lock().unwrap(), ["Hola.", "¿Hablo con María López?"]);
}

#[tokio::test]
async fn mid_sentence_failure_repeats_whole_sentence() {
    let failing = StandInTts::new(Voice::FailsMidSentence);
    let backup = StandInTts::new(Voice::Speaks);
    let chain = FallbackTts::new(vec![tts_provider("cloud", failing), tts_provider("backup", backup.clone())]);
    let spoken = collect(chain.synthesize("Son cuatro mil pesos.", Language::Es).await.unwrap()).await.unwrap();
    // 50 samples from the first provider, then the whole sentence (21 characters) again.
    assert_eq!(spoken.len(), 50 + 2_100);
    assert_eq!(&spoken[..50], &[2; 50]);
    assert_eq!(*backup.requests.lock().unwrap(), ["Son cuatro mil pesos."]);
}

#[tokio::test(start_paused = true)]
async fn stalled_provider_times_out_to_next() {
    let stalled = StandInTts::new(Voice::Stalls);
    let backup = StandInTts::new(Voice::Speaks);
    let chain = FallbackTts::new(vec![tts_provider("cloud", stalled), tts_provider("backup", backup)]);
    let started = tokio::time::Instant::now();
    let mut stream = chain.synthesize("Hola.", Language::Es).await.unwrap();
    let first = stream.recv().await.unwrap().unwrap();
    assert_eq!(first.len(), 250);
    assert_eq!(started.elapsed(), Duration::from_millis(800));
}

#[tokio::test]
async fn every_voice_down_ends_with_error() {
    let chain = FallbackTts::new(vec![
        tts_provider("cloud", StandInTts::new(Voice::Fails)),
        tts_provider("backup", StandInTts::new(Voice::Fails)),
    ]);
    let error = collect(chain.synthesize("Hola.", Language::Es).await.unwrap()).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "text-to-speech is not running: every text-to-speech provider failed for a sentence \
         (cloud: stand-in returned HTTP 500: internal error; backup: stand-in returned HTTP 500: internal error)"
    );
}

#[tokio::test]
async fn meter_counts_characters_per_provider() {
    let chain = FallbackTts::new(vec![
        tts_provider("cloud", StandInTts::new(Voice::Fails)),
        tts_provider("backup", StandInTts::new(Voice::Speaks)),
    ]);
    let meter = CallMeter::new();
    let stream = cost::metered(meter.clone(), chain.synthesize("Hola. Gracias.", Language::Es)).await.unwrap();
    collect(stream).await.unwrap();
    // "Hola." and "Gracias." are 13 characters at $50 a million, billed only where spoken.
    assert_eq!(
        meter.lines(),
        vec![CostLine {
            category: CostCategory::TextToSpeech,
            provider: "backup".into(),
            quantity: 13,
            cost_micros: 650
        }]
    );
}
