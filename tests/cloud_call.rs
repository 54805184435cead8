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
use cobranza::providers::{self, SttName};
use cobranza::speech::stt::whisper::{WhisperPool, WhisperSettings};
use cobranza::telephony::simulator::{self, persona};

#[path = "support/fake_deepgram.rs"]
mod fake_deepgram;
use fake_deepgram::{FakeDeepgram, Script};

/// Each test names its own key variables, so tests running at once never share one.
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
    assert!(debtor[2].contains("pagar") && debtor[2].contains("viernes"), "{debtor:?}");

    // Speech was billed to both providers of the chain.
    let costs = finished.store.attempt_costs(finished.attempt_id).await.expect("read");
    let stt: Vec<&str> = costs
        .iter()
        .filter(|line| line.category == CostCategory::SpeechToText)
        .map(|line| line.provider.as_str())
        .collect();
    assert_eq!(stt, ["deepgram", "whisper"]);
}
