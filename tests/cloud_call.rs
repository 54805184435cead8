//! Whole simulated calls through the real server with the cloud providers' production clients
//! pointed at loopback fakes that speak their wire protocols. The fakes transcribe with the
//! embedded Whisper model, so what the bot hears is what the persona really said.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{NaiveDate, TimeZone, Utc};

use cobranza::call::CallEvent;
use cobranza::clock::Clock;
use cobranza::collections::import::parse_portfolio_bytes;
use cobranza::collections::model::{AttemptId, DebtorId, Disposition, Speaker};
use cobranza::collections::sqlite::SqliteStore;
use cobranza::collections::{NewAttempt, Store};
use cobranza::config::Config;
use cobranza::cost::CostCategory;
use cobranza::demo::{EmbeddedServer, SAMPLE_PORTFOLIO, SAMPLE_PORTFOLIO_NAME};
use cobranza::providers::{self, InterpreterName, SttName, TtsName};
use cobranza::speech::stt::whisper::{WhisperPool, WhisperSettings};
use cobranza::telephony::simulator::{self, persona};

#[path = "support/fake_deepgram.rs"]
mod fake_deepgram;
mod fake_llm;
mod support;
use fake_deepgram::{FakeDeepgram, Script};
use fake_llm::{chunk, done, usage, Ending, FakeLlm, Reply};
use serde_json::{json, Value};
use support::fake_elevenlabs::{self, Behaviour, FakeElevenLabs};

/// Sets an API key variable. Each test uses its own variables, so tests running at once never
/// share one.
fn set_key(variable: &str, value: &str) {
    std::env::set_var(variable, value);
}

fn base_config() -> Config {
    let mut config = Config::embedded();
    config.speech.whisper_model_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/whisper-base");
    config
}

fn whisper(config: &Config) -> WhisperPool {
    WhisperPool::load(&WhisperSettings::from_config(config)).expect("run scripts/setup to fetch the model")
}

/// A store with the sample portfolio, the server with `config`'s providers, and what a call
/// to debtor MX-0001 left behind once the cooperative persona finished it.
struct Finished {
    store: Arc<SqliteStore>,
    attempt_id: AttemptId,
    heard_prompts: Vec<String>,
    _dir: tempfile::TempDir,
}

async fn cooperative_call(config: Config) -> Finished {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(SqliteStore::open(&dir.path().join("cobranza.db")).await.expect("store opens"));
    let portfolio = parse_portfolio_bytes(SAMPLE_PORTFOLIO_NAME, SAMPLE_PORTFOLIO).expect("fixture parses");
    store.import_portfolio(&portfolio.rows).await.expect("fixture imports");

    // Wednesday 2 December 2026, 10:00 in Mexico City.
    let now = Utc.with_ymd_and_hms(2026, 12, 2, 16, 0, 0).single().expect("valid instant");
    let config = Arc::new(config);
    let providers = providers::build(&config).expect("providers build");
    let server = EmbeddedServer::start_with(
        store.clone(),
        providers,
        config.clone(),
        Clock::starting_at(now),
        dir.path().into(),
    )
    .await
    .expect("server starts");

    let account = store.account_by_debtor(&DebtorId("MX-0001".into())).await.expect("read").expect("debtor MX-0001");
    let attempt_id = store.create_attempt(&NewAttempt::outbound(&account, now)).await.expect("attempt created");
    let today = NaiveDate::from_ymd_opt(2026, 12, 2).expect("date");
    let cooperative = persona::build("cooperative", &account, today).expect("persona");
    let mut events = server.bus.subscribe();
    let report = simulator::run(server.simulated_call(attempt_id, &account, cooperative, &config))
        .await
        .expect("simulated call runs");
    loop {
        match events.recv().await.expect("bus open") {
            CallEvent::Ended { attempt_id: ended, .. } if ended == attempt_id => break,
            _ => {}
        }
    }
    server.stop().await;
    Finished { store, attempt_id, heard_prompts: report.heard_prompts, _dir: dir }
}

/// Checks the promise the cooperative persona states: 4,500 MXN on Friday 4 December.
async fn assert_promise_stored(finished: &Finished) {
    let attempt = finished.store.attempt(finished.attempt_id).await.expect("read").expect("attempt");
    assert_eq!(attempt.disposition, Some(Disposition::PromiseToPay), "heard {:?}", finished.heard_prompts);
    let promises = finished.store.promises_for_attempt(finished.attempt_id).await.expect("read");
    assert_eq!(promises.len(), 1);
    assert_eq!(promises[0].promise.amount.amount_minor, 450_000);
    assert_eq!(promises[0].promise.due_date, NaiveDate::from_ymd_opt(2026, 12, 4).expect("Friday"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deepgram_drop_moves_turn_to_next_provider() {
    let mut config = base_config();
    let transcriber = fake_deepgram::whisper(whisper(&config));
    // The first connection drops at the second end of turn without answering it; the client's
    // reconnect is refused, so the turn must reach the next provider whole.
    let deepgram = FakeDeepgram::start(vec![
        Script { transcriber: Some(transcriber), drop_at_finalize: Some(2), ..Script::default() },
        Script { reject: Some((500, "INTERNAL_SERVER_ERROR", "Internal error.")), ..Script::default() },
    ])
    .await;
    set_key("COBRANZA_TEST_DEEPGRAM_KEY_DROP", fake_deepgram::API_KEY);
    config.speech.stt = vec![SttName::Deepgram, SttName::Whisper];
    config.providers.deepgram.base_url = deepgram.base_url();
    config.providers.deepgram.api_key_variable = "COBRANZA_TEST_DEEPGRAM_KEY_DROP".into();

    let finished = cooperative_call(config).await;
    assert_promise_stored(&finished).await;

    let connections = deepgram.connections();
    assert_eq!(connections.len(), 2, "one call, one refused reconnect");
    assert_eq!(connections[0].finalizes, 2);
    assert_eq!(connections[0].query.get("encoding").map(String::as_str), Some("mulaw"));

    // The turn the drop cut off was the offer, and the promise it carried was heard.
    let transcript = finished.store.transcript(finished.attempt_id).await.expect("read");
    let debtor: Vec<&str> =
        transcript.iter().filter(|line| line.speaker == Speaker::Debtor).map(|line| line.text.as_str()).collect();
    assert_eq!(debtor.len(), 4, "{debtor:?}");
    assert!(debtor[2].contains("pagar"), "{debtor:?}");
    assert!(debtor[2].contains("viernes"), "{debtor:?}");

    // Speech was billed to both providers of the chain.
    let costs = finished.store.attempt_costs(finished.attempt_id).await.expect("read");
    let stt: Vec<&str> = costs
        .iter()
        .filter(|line| line.category == CostCategory::SpeechToText)
        .map(|line| line.provider.as_str())
        .collect();
    assert_eq!(stt, ["deepgram", "whisper"]);
}

/// Answers as a stand-in model: picks the intent from a few key words of the caller's last message and
/// leaves every slot empty, so amounts and dates come from the rules. It streams the tool call
/// in fragments and reports token usage, as OpenAI-compatible servers do.
fn keyword_model(request: &Value) -> Reply {
    let last = request["messages"]
        .as_array()
        .and_then(|messages| messages.last())
        .and_then(|message| message["content"].as_str())
        .unwrap_or_default()
        .to_lowercase();
    let intent = if last.contains("soy yo") {
        "identity_confirm"
    } else if last.contains("pagar") {
        "promise_to_pay"
    } else if ["correcto", "está bien", "sí"].iter().any(|yes| last.contains(yes)) {
        "affirm"
    } else {
        "unknown"
    };
    let arguments = json!({"intent": intent, "amount": null, "date": null}).to_string();
    let (head, tail) = arguments.split_at(arguments.len() / 2);
    let opening = json!({"role": "assistant", "tool_calls": [{"index": 0, "id": "call_1", "type": "function",
        "function": {"name": "report_interpretation", "arguments": ""}}]});
    let writes = vec![
        chunk(opening, None),
        chunk(json!({"tool_calls": [{"index": 0, "function": {"arguments": head}}]}), None),
        chunk(json!({"tool_calls": [{"index": 0, "function": {"arguments": tail}}]}), None),
        chunk(json!({}), Some("tool_calls")),
        usage(400, 30),
        done(),
    ];
    Reply::Events { writes, ending: Ending::Close }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloud_providers_call_stores_promise() {
    let mut config = base_config();
    let deepgram = FakeDeepgram::start(vec![Script {
        transcriber: Some(fake_deepgram::whisper(whisper(&config))),
        ..Script::default()
    }])
    .await;
    let llm = FakeLlm::answering("llm-key", Arc::new(keyword_model)).await;
    // The greeting's second sentence fails twice, the retry included: espeak-ng says it.
    let elevenlabs =
        FakeElevenLabs::start(vec![Behaviour::Speak, Behaviour::ServerError, Behaviour::ServerError]).await;
    set_key("COBRANZA_TEST_ELEVENLABS_KEY_CLOUD", fake_elevenlabs::API_KEY);
    config.speech.tts = vec![TtsName::Elevenlabs, TtsName::Espeak];
    config.providers.elevenlabs.base_url = elevenlabs.base_url.clone();
    config.providers.elevenlabs.voice_id_es = fake_elevenlabs::VOICE_ES.into();
    config.providers.elevenlabs.voice_id_en = fake_elevenlabs::VOICE_EN.into();
    config.providers.elevenlabs.api_key_variable = "COBRANZA_TEST_ELEVENLABS_KEY_CLOUD".into();
    set_key("COBRANZA_TEST_DEEPGRAM_KEY_CLOUD", fake_deepgram::API_KEY);
    set_key("COBRANZA_TEST_LLM_KEY_CLOUD", "llm-key");
    config.speech.stt = vec![SttName::Deepgram];
    config.providers.deepgram.base_url = deepgram.base_url();
    config.providers.deepgram.api_key_variable = "COBRANZA_TEST_DEEPGRAM_KEY_CLOUD".into();
    config.speech.interpreter = InterpreterName::Llm;
    config.providers.llm.base_url = llm.base_url.clone();
    config.providers.llm.api_key_variable = "COBRANZA_TEST_LLM_KEY_CLOUD".into();

    let finished = cooperative_call(config).await;
    assert_promise_stored(&finished).await;

    // Identity and the two negotiation answers went to the model; the keyed digits did not.
    let requests = llm.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[0]["tools"][0]["function"]["name"], "report_interpretation");
    assert_eq!(deepgram.connections().len(), 1);
    assert_eq!(deepgram.connections()[0].finalizes, 3);

    // Every sentence went to ElevenLabs as µ-law 8 kHz; the one it failed twice went to espeak-ng.
    let spoken = elevenlabs.requests();
    assert!(spoken.len() > 10, "{} requests", spoken.len());
    for request in &spoken {
        assert_eq!(request.query.get("output_format").map(String::as_str), Some("ulaw_8000"));
        assert_eq!(request.api_key.as_deref(), Some(fake_elevenlabs::API_KEY));
        assert_eq!(request.voice_id, fake_elevenlabs::VOICE_ES);
    }
    assert_eq!(spoken[1].body.as_ref().map(|body| body["text"].clone()), Some(json!("Esta llamada es grabada.")));
    assert_eq!(spoken[2].body, spoken[1].body);

    // Each provider's usage is stored with the attempt, priced from the configuration.
    let costs = finished.store.attempt_costs(finished.attempt_id).await.expect("read");
    let line = |category: CostCategory| costs.iter().find(|line| line.category == category).expect("cost line");
    assert_eq!(line(CostCategory::LlmInput).quantity, 3 * 400);
    assert_eq!(line(CostCategory::LlmInput).cost_micros, 180);
    assert_eq!(line(CostCategory::LlmOutput).quantity, 3 * 30);
    assert_eq!(line(CostCategory::LlmOutput).cost_micros, 54);
    assert_eq!(line(CostCategory::SpeechToText).provider, "deepgram");
    assert!(line(CostCategory::SpeechToText).quantity > 20_000, "{costs:?}");
    assert_eq!(line(CostCategory::Telephony).quantity % 60, 0);
    let voice: Vec<(&str, u64)> = costs
        .iter()
        .filter(|line| line.category == CostCategory::TextToSpeech)
        .map(|line| (line.provider.as_str(), line.quantity))
        .collect();
    assert_eq!(voice.len(), 2, "{voice:?}");
    assert_eq!(voice[1], ("espeak", "Esta llamada es grabada.".chars().count() as u64));
    assert_eq!(voice[0].0, "elevenlabs");
    let attempt = finished.store.attempt(finished.attempt_id).await.expect("read").expect("attempt");
    assert_eq!(attempt.cost_micros, costs.iter().map(|line| line.cost_micros).sum::<u64>());
}
