//! One simulated call through the real server: signed TwiML webhook, signed media WebSocket,
//! real espeak-ng voices on both sides and real Whisper in between.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{NaiveDate, TimeZone, Utc};

use cobranza::clock::Clock;
use cobranza::collections::import::parse_portfolio_bytes;
use cobranza::collections::model::{Currency, DebtorId, Disposition, Speaker};
use cobranza::collections::sqlite::SqliteStore;
use cobranza::collections::{NewAttempt, Store};
use cobranza::config::Config;
use cobranza::demo::{EmbeddedServer, SAMPLE_PORTFOLIO, SAMPLE_PORTFOLIO_NAME};
use cobranza::speech::stt::whisper::{WhisperPool, WhisperSettings, WhisperStt};
use cobranza::telephony::simulator::{self, persona};

fn config() -> Config {
    let mut config = Config::embedded();
    config.speech.whisper_model_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/whisper-base");
    config
}

/// Root mean square of one channel of an interleaved stereo recording.
fn channel_rms(samples: &[i16], channel: usize) -> f64 {
    let values: Vec<f64> = samples.iter().skip(channel).step_by(2).map(|&s| f64::from(s)).collect();
    (values.iter().map(|v| v * v).sum::<f64>() / values.len() as f64).sqrt()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cooperative_call_stores_the_spoken_promise() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(SqliteStore::open(&dir.path().join("cobranza.db")).await.expect("store opens"));
    let portfolio = parse_portfolio_bytes(SAMPLE_PORTFOLIO_NAME, SAMPLE_PORTFOLIO).expect("fixture parses");
    store.import_portfolio(&portfolio.rows).await.expect("fixture imports");

    // Wednesday 2 December 2026, 10:00 in Mexico City.
    let now = Utc.with_ymd_and_hms(2026, 12, 2, 16, 0, 0).single().expect("valid instant");
    let clock = Clock::starting_at(now);
    let config = Arc::new(config());
    let whisper =
        WhisperPool::load(&WhisperSettings::from_config(&config)).expect("run scripts/setup to fetch the model");
    let server = EmbeddedServer::start(
        store.clone(),
        Arc::new(WhisperStt::new(whisper)),
        config.clone(),
        clock.clone(),
        dir.path().to_path_buf(),
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

    // The call's outcome is stored before the stream closes; wait for its event to be sure.
    loop {
        match events.recv().await.expect("bus open") {
            cobranza::call::CallEvent::Ended { attempt_id: ended, .. } if ended == attempt_id => break,
            _ => {}
        }
    }
    server.stop().await;

    let attempt = store.attempt(attempt_id).await.expect("read").expect("attempt");
    assert_eq!(attempt.disposition, Some(Disposition::PromiseToPay));
    assert!(attempt.right_party_contact);

    let promises = store.promises_for_attempt(attempt_id).await.expect("read");
    assert_eq!(promises.len(), 1);
    assert_eq!(promises[0].promise.amount.amount_minor, 450_000);
    assert_eq!(promises[0].promise.amount.currency, Currency::Mxn);
    assert_eq!(promises[0].promise.due_date, NaiveDate::from_ymd_opt(2026, 12, 4).expect("Friday"));

    assert_eq!(report.heard_prompts.first().map(String::as_str), Some("greeting"));
    assert!(report.heard_prompts.iter().any(|key| key == "promise_confirmed"), "{:?}", report.heard_prompts);
    assert!(!report.persona_hung_up);

    let transcript = store.transcript(attempt_id).await.expect("read");
    let first = &transcript[0];
    assert_eq!(first.speaker, Speaker::Bot);
    assert!(first.text.contains("asistente virtual"), "{}", first.text);
    assert!(transcript.iter().any(|line| line.speaker == Speaker::Debtor && !line.text.is_empty()));

    let recording = attempt.recording_path.expect("recording written");
    let mut reader = hound::WavReader::open(&recording).expect("recording is a WAV file");
    let spec = reader.spec();
    assert_eq!((spec.channels, spec.sample_rate, spec.bits_per_sample), (2, 8_000, 16));
    let samples: Vec<i16> = reader.samples::<i16>().collect::<Result<_, _>>().expect("samples");
    assert!(channel_rms(&samples, 0) > 100.0, "the debtor's channel is silent");
    assert!(channel_rms(&samples, 1) > 100.0, "the bot's channel is silent");
}
