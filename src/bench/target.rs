//! The server under test: the real router on a loopback port, with a fresh SQLite store in a
//! temporary directory, the sample portfolio, one attempt per call, the real dialog and instant
//! speech stand-ins.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;

use super::carrier::{CarrierPlan, PlannedStream};
use super::speech::{InstantStt, InstantTts};
use crate::call::{event_bus, CallServices};
use crate::clock::Clock;
use crate::collections::import::parse_portfolio_bytes;
use crate::collections::model::AttemptId;
use crate::collections::sqlite::SqliteStore;
use crate::collections::{NewAttempt, Store};
use crate::config::Config;
use crate::cost::Price;
use crate::demo::{SAMPLE_PORTFOLIO, SAMPLE_PORTFOLIO_NAME};
use crate::dialog::RuleInterpreter;
use crate::resilience::{GuardSettings, ProviderGuard};
use crate::server::{self, AppState, TwilioSettings};
use crate::speech::stt::chain::{Billing, FallbackStt, SttProvider};
use crate::speech::tts::chain::{FallbackTts, TtsProvider};

/// Silence after the bot's question before it reprompts. Short, so the bot talks most of the
/// time: a reprompt and the question take about 4 s at the default speech length.
const REPLY_TIMEOUT_MS: u64 = 300;
/// Time allowed for every stream to start, added to each call's maximum length.
const MAX_RAMP_SECONDS: u64 = 600;
/// Maximum wait for the server to finish its open streams when it stops.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// The running server under test and what the bench needs from it.
pub struct TargetServer {
    pub store: Arc<SqliteStore>,
    pub tts: Arc<InstantTts>,
    pub config: Arc<Config>,
    pub attempts: Vec<AttemptId>,
    /// The carriers' plan, with one single-use stream token per attempt.
    pub plan: CarrierPlan,
    /// The server's base URL, and a console session cookie for watching its live board.
    pub base_url: String,
    pub console_cookie: String,
    pub board: Arc<crate::console::Board>,
    pub bus: tokio::sync::broadcast::Sender<crate::call::CallEvent>,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    /// Holds the store and the recordings; removed when the server is dropped.
    _data_dir: tempfile::TempDir,
}

impl TargetServer {
    /// Starts the server for `calls` calls whose carriers run for `window_seconds` once all have
    /// started. `config` is overridden where it would end a silent caller's call early.
    pub async fn start(
        calls: usize,
        window_seconds: u64,
        config: Config,
        tts_ms_per_char: u64,
    ) -> anyhow::Result<TargetServer> {
        let data_dir = tempfile::Builder::new()
            .prefix("cobranza-bench-")
            .tempdir()
            .context("creating a temporary directory failed")?;
        let store = Arc::new(SqliteStore::open(&data_dir.path().join("cobranza.db")).await?);
        let portfolio = parse_portfolio_bytes(SAMPLE_PORTFOLIO_NAME, SAMPLE_PORTFOLIO)?;
        if let Some(problem) = portfolio.rejected.first() {
            anyhow::bail!("the sample portfolio has invalid rows: {problem}");
        }
        store.import_portfolio(&portfolio.rows).await?;
        let clock = Clock::system();
        let attempts = create_attempts(store.as_ref(), &clock, calls).await?;

        let config = Arc::new(steady_load_config(config, window_seconds));
        let tts = InstantTts::new(tts_ms_per_char);
        // The stand-ins sit in one-provider chains, so the bench pays for the fallback relay
        // and the cost metering as production calls do.
        let guard =
            || Arc::new(ProviderGuard::new("stand-in", GuardSettings { attempts: 1, ..GuardSettings::default() }));
        let stt = FallbackStt::new(vec![SttProvider {
            name: "stand-in".into(),
            stt: Arc::new(InstantStt),
            guard: guard(),
            price: Price::FREE,
            billing: Billing::Streamed,
        }]);
        let chained_tts = FallbackTts::new(vec![TtsProvider {
            name: "stand-in".into(),
            tts: tts.clone(),
            guard: guard(),
            price: Price::FREE,
            first_byte_timeout: std::time::Duration::from_secs(5),
        }]);
        let services = CallServices {
            store: store.clone(),
            stt: Arc::new(stt),
            tts: Arc::new(chained_tts),
            interpreter: Arc::new(RuleInterpreter),
            clock,
            config: Arc::clone(&config),
            data_dir: data_dir.path().to_path_buf(),
            bus: event_bus(),
        };
        let bus = services.bus.clone();
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let twilio = TwilioSettings {
            account_sid: format!("AC{}", uuid::Uuid::new_v4().simple()),
            auth_token: uuid::Uuid::new_v4().simple().to_string(),
            public_base_url: format!("http://{}", listener.local_addr()?),
        };
        let base_url = twilio.public_base_url.clone();
        let console_cookie = console_session(store.as_ref()).await?;
        let board = crate::console::Board::new("bench");
        board.follow(bus.subscribe());
        let console = crate::console::Console::new(store.clone(), board.clone(), config.console.clone(), &base_url);
        let state = AppState::new(services, twilio.clone()).with_console(Arc::new(console));
        let plan = CarrierPlan {
            stream_url: format!("{}/twilio/media", twilio.stream_base_url()),
            account_sid: twilio.account_sid.clone(),
            auth_token: twilio.auth_token.clone(),
            window_seconds,
            min_gap_ms: config.call.reply_timeout_ms,
            streams: attempts.iter().map(|&attempt| planned_stream(&state, attempt)).collect(),
        };

        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(server::serve(listener, state, async move {
            let _ = stopped.await;
        }));
        Ok(TargetServer {
            store,
            tts,
            config,
            attempts,
            plan,
            base_url,
            console_cookie,
            board,
            bus,
            stop,
            task,
            _data_dir: data_dir,
        })
    }

    /// Stops the server, waiting a bounded time for open streams, and removes its directory.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = tokio::time::timeout(STOP_TIMEOUT, self.task).await;
    }
}

/// Creates a supervisor and a session for the bench's board watcher; returns its cookie.
async fn console_session(store: &SqliteStore) -> anyhow::Result<String> {
    use crate::console::store::{ConsoleStore, NewSession, NewUser, Role};
    let now = chrono::Utc::now();
    let password_hash = crate::console::hash_password(&uuid::Uuid::new_v4().to_string()).map_err(anyhow::Error::msg)?;
    store
        .create_user(&NewUser { username: "bench".into(), role: Role::Supervisor, password_hash, created_at: now })
        .await?;
    let token = uuid::Uuid::new_v4().simple().to_string();
    let session = NewSession {
        token_hash: crate::console::session_token_hash(&token),
        username: "bench".into(),
        csrf_token: uuid::Uuid::new_v4().simple().to_string(),
        created_at: now,
        expires_at: now + chrono::Duration::hours(12),
    };
    store.create_session(&session).await?;
    Ok(format!("cobranza_session={token}"))
}

/// Mints the stream token `/twilio/voice` would put in the call's TwiML, with the call's ids.
fn planned_stream(state: &AppState, attempt: AttemptId) -> PlannedStream {
    PlannedStream {
        attempt_id: attempt.0,
        token: state.mint_stream_token(crate::call::CallRecord::Attempt(attempt)),
        call_sid: format!("CA{}", uuid::Uuid::new_v4().simple()),
        stream_sid: format!("MZ{}", uuid::Uuid::new_v4().simple()),
    }
}

/// Sets the keys that keep a silent caller on the line for the whole window, with the bot
/// talking most of the time.
fn steady_load_config(mut config: Config, window_seconds: u64) -> Config {
    config.call.reply_timeout_ms = REPLY_TIMEOUT_MS;
    config.call.max_call_seconds = window_seconds + MAX_RAMP_SECONDS;
    config.call.recordings_dir = PathBuf::from("recordings");
    config.dialog.max_reprompts = u32::MAX;
    config
}

/// Creates one outbound attempt per call, cycling through the portfolio's debts.
async fn create_attempts(store: &dyn Store, clock: &Clock, count: usize) -> anyhow::Result<Vec<AttemptId>> {
    let accounts = store.accounts().await?;
    anyhow::ensure!(!accounts.is_empty(), "the sample portfolio imported no debts");
    let mut attempts = Vec::with_capacity(count);
    for account in accounts.iter().cycle().take(count) {
        attempts.push(store.create_attempt(&NewAttempt::outbound(account, clock.now())).await?);
    }
    Ok(attempts)
}
