//! Hard cases for the provider chains and clients: several turns waiting at a failover, a
//! provider that fails while a turn is replayed to it, the last provider failing mid-call, and a
//! model server whose error message is very long. Every server is a stand-in or a loopback fake.

#[path = "support/fake_deepgram.rs"]
mod fake_deepgram;
mod fake_llm;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::mpsc;

use cobranza::cost::{self, CallMeter, CostCategory, Price};
use cobranza::dialog::Language;
use cobranza::llm::{ChatClient, ChatRequest, ChatSettings, LlmError, Message};
use cobranza::resilience::{GuardSettings, ProviderGuard};
use cobranza::speech::stt::chain::{Billing, FallbackStt, SttProvider};
use cobranza::speech::stt::deepgram::{ApiKey, DeepgramSettings, DeepgramStt};
use cobranza::speech::stt::{SpeechToText, SttEvent, SttInput, SttStream};
use cobranza::speech::SpeechError;
use fake_deepgram::{FakeDeepgram, Script, API_KEY as DEEPGRAM_API_KEY};
use fake_llm::{error_body, FakeLlm, Reply};

/// What a stand-in stream does at each Finalize, in order; past the end of the script it
/// answers with the number of audio samples heard since the previous Finalize.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Step {
    Answer,
    /// Sends nothing for this turn and keeps the stream open.
    Ignore,
    /// Ends the stream, as a dropped socket does.
    Drop,
}

/// How a stand-in behaves when the chain opens it.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Opening {
    Open,
    /// Opens, then stops reading input at once, so the replay cannot be delivered.
    ClosesInput,
}

/// A speech-to-text stand-in that follows a script and counts what it heard.
struct ScriptedStt {
    opening: Opening,
    script: Vec<Step>,
    finals: Arc<Mutex<Vec<String>>>,
    opened: Arc<Mutex<u32>>,
}

impl ScriptedStt {
    fn new(opening: Opening, script: &[Step]) -> Arc<ScriptedStt> {
        Arc::new(ScriptedStt { opening, script: script.to_vec(), finals: Arc::default(), opened: Arc::default() })
    }

    fn opened(&self) -> u32 {
        *self.opened.lock().unwrap()
    }
}

#[async_trait]
impl SpeechToText for ScriptedStt {
    async fn open(&self, _language: Language) -> Result<SttStream, SpeechError> {
        *self.opened.lock().unwrap() += 1;
        let (input, mut inputs) = mpsc::channel::<SttInput>(4);
        let (events_sender, events) = mpsc::channel(16);
        if self.opening == Opening::ClosesInput {
            drop(inputs);
            return Ok(SttStream { input, events });
        }
        let mut script: VecDeque<Step> = self.script.iter().copied().collect();
        let finals = Arc::clone(&self.finals);
        tokio::spawn(async move {
            let mut samples = 0;
            while let Some(received) = inputs.recv().await {
                match received {
                    SttInput::Audio(pcm) => samples += pcm.len(),
                    SttInput::SpeechStarted => {}
                    SttInput::Finalize => {
                        let text = format!("{samples} samples");
                        samples = 0;
                        match script.pop_front().unwrap_or(Step::Answer) {
                            Step::Answer => {
                                finals.lock().unwrap().push(text.clone());
                                if events_sender.send(SttEvent::Final { text }).await.is_err() {
                                    return;
                                }
                            }
                            Step::Ignore => {}
                            Step::Drop => return,
                        }
                    }
                }
            }
        });
        Ok(SttStream { input, events })
    }
}

fn provider(name: &str, stt: &Arc<ScriptedStt>, billing: Billing) -> SttProvider {
    SttProvider {
        name: name.to_string(),
        stt: Arc::clone(stt) as Arc<dyn SpeechToText>,
        guard: Arc::new(ProviderGuard::new(name, GuardSettings { attempts: 1, ..GuardSettings::default() })),
        price: Price::per_minute(0.006),
        billing,
    }
}

/// Sends one turn: 200 ms before speech, `speech_ms` of speech in 100 ms chunks, and the end of
/// the turn.
async fn send_turn(stream: &SttStream, speech_ms: usize) {
    stream.input.send(SttInput::Audio(vec![0; 1_600])).await.unwrap();
    stream.input.send(SttInput::SpeechStarted).await.unwrap();
    for _ in 0..speech_ms / 100 {
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

fn final_text(text: &str) -> SttEvent {
    SttEvent::Final { text: text.to_string() }
}

/// Returns the metered milliseconds of speech-to-text for one provider.
fn metered_ms(meter: &CallMeter, name: &str) -> u64 {
    meter
        .lines()
        .iter()
        .filter(|line| line.category == CostCategory::SpeechToText && line.provider == name)
        .map(|line| line.quantity)
        .sum()
}

#[tokio::test]
async fn replayed_turns_billed_at_own_length() {
    // The first provider keeps both turns unanswered, then its stream drops at the second.
    let first = ScriptedStt::new(Opening::Open, &[Step::Ignore, Step::Drop]);
    let second = ScriptedStt::new(Opening::Open, &[]);
    let chain = FallbackStt::new(vec![
        provider("first", &first, Billing::Streamed),
        provider("second", &second, Billing::PerTurn),
    ]);
    let meter = CallMeter::new();

    let mut stream = cost::metered(meter.clone(), chain.open(Language::Es)).await.unwrap();
    send_turn(&stream, 1_000).await;
    send_turn(&stream, 3_000).await;

    // Each turn reaches the second provider with its own audio: 200 ms before speech, then speech.
    assert_eq!(next_event(&mut stream).await, final_text("9600 samples"));
    assert_eq!(next_event(&mut stream).await, final_text("25600 samples"));
    assert_eq!(second.opened(), 1);
    // Per-turn billing counts each turn's speech and its 600 ms pre-roll: 1.6 s and 3.6 s.
    assert_eq!(metered_ms(&meter, "second"), 1_600 + 3_600);
}

#[tokio::test]
async fn provider_failing_during_replay_is_skipped() {
    let first = ScriptedStt::new(Opening::Open, &[Step::Drop]);
    let second = ScriptedStt::new(Opening::ClosesInput, &[]);
    let third = ScriptedStt::new(Opening::Open, &[]);
    let chain = FallbackStt::new(vec![
        provider("first", &first, Billing::Streamed),
        provider("second", &second, Billing::Streamed),
        provider("third", &third, Billing::PerTurn),
    ]);

    let mut stream = chain.open(Language::Es).await.unwrap();
    send_turn(&stream, 1_000).await;

    assert_eq!(next_event(&mut stream).await, final_text("9600 samples"));
    assert_eq!(second.opened(), 1);
    assert_eq!(third.opened(), 1);
}

#[tokio::test]
async fn last_provider_drop_reports_unavailable() {
    let first = ScriptedStt::new(Opening::Open, &[Step::Drop]);
    let last = ScriptedStt::new(Opening::Open, &[Step::Answer, Step::Drop]);
    let chain =
        FallbackStt::new(vec![provider("first", &first, Billing::Streamed), provider("last", &last, Billing::PerTurn)]);

    let mut stream = chain.open(Language::Es).await.unwrap();
    send_turn(&stream, 1_000).await;
    assert_eq!(next_event(&mut stream).await, final_text("9600 samples"));

    send_turn(&stream, 1_000).await;
    let SttEvent::Unavailable { reason } = next_event(&mut stream).await else {
        panic!("expected the chain to report itself unavailable");
    };
    assert_eq!(reason, "every speech-to-text provider failed (first: its stream ended; last: its stream ended)");
    assert_eq!(first.opened(), 1, "a provider that failed in this call is not tried again");
}

const API_KEY: &str = "sk-attack-test-7";

fn chat_client(fake: &FakeLlm, variable: &str) -> ChatClient {
    std::env::set_var(variable, API_KEY);
    let settings = ChatSettings {
        base_url: fake.base_url.clone(),
        model: "fake-model".to_string(),
        api_key_variable: variable.to_string(),
        connect_timeout: Duration::from_secs(30),
        first_byte_timeout: Duration::from_secs(30),
        idle_timeout: Duration::from_secs(30),
    };
    ChatClient::new(settings).expect("client")
}

fn short_request() -> ChatRequest {
    ChatRequest { messages: vec![Message::User("hola".into())], ..ChatRequest::default() }
}

#[tokio::test]
async fn long_llm_error_message_is_cut() {
    let long_message = "x".repeat(100_000);
    let reply = Reply::Status { status: 500, retry_after: None, body: error_body(&long_message, "server_error") };
    let fake = FakeLlm::start(API_KEY, vec![reply]).await;
    let client = chat_client(&fake, "ATTACK_LLM_KEY_LONG_ERROR");

    let error = client.complete(&short_request()).await.unwrap_err();

    let LlmError::Http { status, message, .. } = &error else {
        panic!("expected Http, got {error:?}");
    };
    assert_eq!(*status, 500);
    assert_eq!(message.chars().count(), 500);
}

#[tokio::test]
async fn html_llm_error_body_is_quoted() {
    let body = "<html><body><h1>502 Bad Gateway</h1></body></html>".to_string();
    let reply = Reply::Status { status: 502, retry_after: None, body: body.clone() };
    let fake = FakeLlm::start(API_KEY, vec![reply]).await;
    let client = chat_client(&fake, "ATTACK_LLM_KEY_HTML_ERROR");

    let error = client.complete(&short_request()).await.unwrap_err();

    let LlmError::Http { status, message, error_type, .. } = &error else {
        panic!("expected Http, got {error:?}");
    };
    assert_eq!(*status, 502);
    assert_eq!(message, &body);
    assert_eq!(error_type, &None);
    assert!(error.is_retryable());
}

/// A log writer that appends to a buffer shared by the whole test binary.
#[derive(Clone, Default)]
struct SharedLog(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for SharedLog {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn deepgram_key_absent_from_trace_log() {
    // The subscriber is set up as `cobranza`'s main does it, with RUST_LOG=trace. Records of
    // crates that log through `log`, such as tungstenite, reach it as well.
    let log = SharedLog::default();
    let writer = log.clone();
    tracing_subscriber::fmt()
        .with_env_filter(cobranza::logging::log_filter("trace"))
        .with_writer(move || writer.clone())
        .init();
    let fake = FakeDeepgram::start(vec![Script::default()]).await;
    let settings = DeepgramSettings { base_url: fake.base_url(), ..DeepgramSettings::default() };

    let stream = DeepgramStt::new(settings, ApiKey::new(DEEPGRAM_API_KEY)).open(Language::Es).await.unwrap();
    drop(stream);

    let text = String::from_utf8_lossy(&log.0.lock().unwrap()).to_string();
    assert!(text.contains("deepgram"), "the log captured nothing: {text}");
    assert!(!text.contains(DEEPGRAM_API_KEY), "the API key is in the log: {text}");
}
