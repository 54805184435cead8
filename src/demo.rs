//! `cobranza demo`: a fresh SQLite store, the sample portfolio scored, the server on loopback,
//! and a small campaign dialled through the Twilio fake, where the six personas answer their
//! debtors' phones; then each call's transcript, the dialer's decisions and the KPIs.

mod dialing;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Datelike, Duration, NaiveTime, Utc, Weekday};
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tracing::warn;

use crate::call::{CallEvent, CallServices};
use crate::clock::Clock;
use crate::collections::import::parse_portfolio_bytes;
use crate::collections::model::{Account, AttemptId, Currency, DebtorId, Money, Speaker};
use crate::collections::sqlite::SqliteStore;
use crate::collections::Store;
use crate::config::Config;
use crate::cost::{format_dollars, CostLine};
use crate::dialog::{Language, RuleInterpreter};
use crate::kpi::{self, KpiFilter, KpiReport, Kpis, UsdRates};
use crate::providers::Providers;
use crate::server::{self, AppState, TwilioSettings};
use crate::speech::stt::SpeechToText;
use crate::speech::tts::espeak::{EspeakTts, EspeakVoice};
use crate::telephony::simulator::persona::{self, IntendedPromise};
use crate::telephony::simulator::SimulatedCall;

/// The sample portfolio, compiled in so the demo runs from any directory.
pub const SAMPLE_PORTFOLIO: &[u8] = include_bytes!("../fixtures/portfolio.csv");
pub const SAMPLE_PORTFOLIO_NAME: &str = "fixtures/portfolio.csv";

/// Options of one demo run.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub data_dir: PathBuf,
    pub now: DateTime<Utc>,
    pub config: Config,
}

/// Picks the demo's default "now": 16:00 UTC on today's date, or the next Monday on a weekend.
/// That is 10:00 in Mexico City, 11:00 in Bogotá and Lima, 13:00 in Santiago and 08:00 to 11:00
/// across the United States: inside every sample debtor's calling hours.
pub fn default_now(today: chrono::NaiveDate) -> DateTime<Utc> {
    let day = match today.weekday() {
        Weekday::Sat => today + Duration::days(2),
        Weekday::Sun => today + Duration::days(1),
        _ => today,
    };
    day.and_time(NaiveTime::from_hms_opt(16, 0, 0).expect("valid time")).and_utc()
}

/// One call as written to `summary.json`.
#[derive(Debug, Clone, Serialize)]
pub struct CallSummary {
    pub persona: String,
    pub debtor_id: DebtorId,
    /// `None` when the dialer did not call the debtor.
    pub attempt_id: Option<AttemptId>,
    pub disposition: Option<String>,
    pub right_party_contact: bool,
    pub promise: Option<PromiseSummary>,
    /// The promise the persona meant to make, stated in words during the call.
    pub intended_promise: Option<IntendedPromise>,
    pub transcript: Vec<LineSummary>,
    pub recording: Option<String>,
    /// The call's cost in millionths of a dollar, and its lines per provider.
    pub cost_micros: u64,
    pub costs: Vec<CostLine>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PromiseSummary {
    pub amount_minor: i64,
    pub currency: String,
    pub due_date: chrono::NaiveDate,
}

impl PromiseSummary {
    /// The amount as a decimal with its currency, e.g. `4500.00 MXN`.
    pub fn money(&self) -> String {
        match self.currency.parse::<Currency>() {
            Ok(currency) => Money::new(self.amount_minor, currency).to_string(),
            Err(_) => format!("{} {} (minor units)", self.amount_minor, self.currency),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct LineSummary {
    pub speaker: Speaker,
    pub text: String,
}

/// The whole run, as written to `summary.json`.
#[derive(Debug, Clone, Serialize)]
pub struct DemoSummary {
    pub now: DateTime<Utc>,
    pub wall_seconds: f64,
    pub calls: Vec<CallSummary>,
    pub kpis: Kpis,
    /// The whole report the summary prints, as `cobranza kpi` would.
    #[serde(skip)]
    pub kpi_report: KpiReport,
}

/// Runs the demo to completion, or until `cancel` resolves (Ctrl-C).
pub async fn run(options: DemoOptions, cancel: impl std::future::Future<Output = ()>) -> anyhow::Result<DemoSummary> {
    let started = Instant::now();
    let store = Arc::new(fresh_store(&options.data_dir).await?);
    let portfolio = parse_portfolio_bytes(SAMPLE_PORTFOLIO_NAME, SAMPLE_PORTFOLIO)?;
    if !portfolio.rejected.is_empty() {
        anyhow::bail!("the sample portfolio has invalid rows: {}", portfolio.rejected[0]);
    }
    let counts = store.import_portfolio(&portfolio.rows).await?;
    println!("Imported {} debtors and {} debts from {SAMPLE_PORTFOLIO_NAME}.", counts.debtors, counts.debts);

    let clock = Clock::starting_at(options.now);
    let config = Arc::new(options.config.clone());
    let providers = crate::providers::build(&config)?;
    let server =
        EmbeddedServer::start_with(store.clone(), providers, config.clone(), clock.clone(), options.data_dir.clone())
            .await?;
    let bus = server.bus.clone();

    let personas = personas(store.as_ref(), &clock).await?;
    let fake = dialing::start_fake(store.as_ref(), &server, &personas, &config, clock.clone()).await?;
    println!(
        "Campaign `demo` at {} UTC: the six personas' debtors and five more, dialled by priority through \
         the Twilio fake.\n",
        options.now.format("%Y-%m-%d %H:%M")
    );
    let printer = tokio::spawn(print_calls_as_they_end(bus.subscribe(), store.clone()));
    let dialled = tokio::select! {
        dialled = dialing::run_campaign(store.clone(), &server, &fake, &config, clock.clone()) => Some(dialled?),
        () = cancel => {
            println!("\nInterrupted: hanging up the calls in progress.");
            None
        }
    };
    fake.stop().await;
    // Calls end a moment after their stream closes; the printer shows each as it ends.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    printer.abort();
    server.stop().await;

    let attempts = dialled.unwrap_or_default();
    let summary = summarise(store.as_ref(), &personas, &attempts, options.now, &options.config, started).await?;
    std::fs::write(options.data_dir.join("summary.json"), serde_json::to_string_pretty(&summary)?)?;
    print_summary(&summary);
    println!("\nWrote {}", options.data_dir.join("summary.json").display());
    Ok(summary)
}

/// `stt` with espeak-ng and the rule interpreter: the embedded providers of a call.
pub fn embedded_providers(stt: Arc<dyn SpeechToText>, config: &Config) -> Providers {
    let espeak = Arc::new(EspeakTts::new(config.speech.voice_es.clone(), config.speech.voice_en.clone()));
    Providers {
        stt,
        tts: espeak.clone(),
        interpreter: Arc::new(RuleInterpreter),
        espeak,
        stt_names: Vec::new(),
        tts_names: Vec::new(),
    }
}

/// The server on a loopback port with a fresh auth token, wired as `cobranza serve` wires it.
pub struct EmbeddedServer {
    pub base_url: String,
    pub twilio: TwilioSettings,
    pub bus: broadcast::Sender<CallEvent>,
    /// The bot's espeak-ng, shared with the simulator for its cache.
    pub voice: Arc<EspeakTts>,
    /// The supervisor console, when the server was started with one.
    pub console: Option<Arc<crate::console::Console>>,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl EmbeddedServer {
    /// Starts the server with `stt`, espeak-ng and the rule interpreter.
    pub async fn start(
        store: Arc<dyn Store>,
        stt: Arc<dyn SpeechToText>,
        config: Arc<Config>,
        clock: Arc<Clock>,
        data_dir: PathBuf,
    ) -> anyhow::Result<EmbeddedServer> {
        EmbeddedServer::start_with(store, embedded_providers(stt, &config), config, clock, data_dir).await
    }

    /// Starts the server with the given providers, as `cobranza serve` wires them.
    pub async fn start_with(
        store: Arc<dyn Store>,
        providers: Providers,
        config: Arc<Config>,
        clock: Arc<Clock>,
        data_dir: PathBuf,
    ) -> anyhow::Result<EmbeddedServer> {
        EmbeddedServer::launch(store, None, providers, config, clock, data_dir).await
    }

    /// Starts the server with the supervisor console on `console_store`, as `cobranza serve`
    /// wires it; `node` names the server on the board.
    pub async fn start_with_console(
        store: Arc<dyn Store>,
        console_store: Arc<dyn crate::console::ConsoleStore>,
        node: &str,
        providers: Providers,
        config: Arc<Config>,
        clock: Arc<Clock>,
        data_dir: PathBuf,
    ) -> anyhow::Result<EmbeddedServer> {
        EmbeddedServer::launch(store, Some((console_store, node)), providers, config, clock, data_dir).await
    }

    async fn launch(
        store: Arc<dyn Store>,
        console_store: Option<(Arc<dyn crate::console::ConsoleStore>, &str)>,
        providers: Providers,
        config: Arc<Config>,
        clock: Arc<Clock>,
        data_dir: PathBuf,
    ) -> anyhow::Result<EmbeddedServer> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let twilio = TwilioSettings {
            account_sid: format!("AC{}", uuid::Uuid::new_v4().simple()),
            auth_token: uuid::Uuid::new_v4().simple().to_string(),
            public_base_url: base_url.clone(),
        };
        let voice = providers.espeak;
        let bus = crate::call::event_bus();
        let console_clock = clock.clone();
        let services = CallServices {
            store,
            stt: providers.stt,
            tts: providers.tts,
            interpreter: providers.interpreter,
            clock,
            config,
            data_dir,
            bus: bus.clone(),
        };
        let console_settings = services.config.console.clone();
        let services_config = services.config.clone();
        let mut state = AppState::new(services, twilio.clone());
        let console = console_store.map(|(console_store, node)| {
            let board = crate::console::Board::new(node);
            board.follow(bus.subscribe());
            crate::console::record_turns(console_store.clone(), console_clock.clone(), bus.subscribe());
            let console = crate::console::Console::new(console_store, board, console_settings, &base_url);
            let rest = crate::telephony::twilio::rest::TwilioRest::new(
                &services_config.dialer.twilio_api_base_url,
                &twilio.account_sid,
                &twilio.auth_token,
            );
            Arc::new(match rest {
                Ok(rest) => console.with_twilio(rest),
                Err(_) => console,
            })
        });
        if let Some(console) = &console {
            state = state.with_console(console.clone());
        }
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(server::serve(listener, state, async {
            let _ = stopped.await;
        }));
        Ok(EmbeddedServer { base_url, twilio, bus, voice, console, stop, task })
    }

    /// Builds a simulated call to this server for the attempt, played by `persona`.
    pub fn simulated_call(
        &self,
        attempt_id: AttemptId,
        account: &Account,
        persona: persona::Persona,
        config: &Config,
    ) -> SimulatedCall {
        let voice = persona_voice(config, persona.language);
        SimulatedCall {
            server_url: self.base_url.clone(),
            account_sid: self.twilio.account_sid.clone(),
            auth_token: self.twilio.auth_token.clone(),
            attempt_id: Some(attempt_id.0),
            from: "+15005550006".to_string(),
            to: account.debtor.phone.clone(),
            persona,
            voice: self.voice.clone(),
            persona_voice: voice,
        }
    }

    /// Builds a simulated inbound call to this server from the number `from`, played by
    /// `persona`: the server finds the caller by that number or asks who is calling.
    pub fn simulated_inbound_call(&self, from: &str, persona: persona::Persona, config: &Config) -> SimulatedCall {
        let voice = persona_voice(config, persona.language);
        SimulatedCall {
            server_url: self.base_url.clone(),
            account_sid: self.twilio.account_sid.clone(),
            auth_token: self.twilio.auth_token.clone(),
            attempt_id: None,
            from: from.to_string(),
            to: "+15005550006".to_string(),
            persona,
            voice: self.voice.clone(),
            persona_voice: voice,
        }
    }

    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// Returns the personas' voice.
pub fn persona_voice(config: &Config, language: Language) -> EspeakVoice {
    // Slower, higher and with longer gaps than the bot: easier for Whisper, and clearly another
    // speaker on the recording.
    let bot = match language {
        Language::Es => &config.speech.voice_es,
        Language::En => &config.speech.voice_en,
    };
    EspeakVoice { voice: bot.voice.clone(), rate: 125, pitch: 70, word_gap: 4 }
}

/// Marks a directory whose store the demo created, and may therefore empty again.
const DEMO_MARKER: &str = ".cobranza-demo";

async fn fresh_store(data_dir: &Path) -> anyhow::Result<SqliteStore> {
    let store_path = data_dir.join("cobranza.db");
    if store_path.exists() && !data_dir.join(DEMO_MARKER).exists() {
        anyhow::bail!(
            "{} holds a store that the demo did not create, and the demo starts from an empty one: \
             pass --data-dir with a new directory (COBRANZA_DATA_DIR applies to the demo too)",
            data_dir.display()
        );
    }
    std::fs::create_dir_all(data_dir)?;
    std::fs::write(data_dir.join(DEMO_MARKER), "created by cobranza demo; the next demo run empties this directory\n")?;
    for name in ["cobranza.db", "cobranza.db-wal", "cobranza.db-shm", "summary.json"] {
        let path = data_dir.join(name);
        if path.exists() {
            std::fs::remove_file(&path)?;
        }
    }
    let recordings = data_dir.join("recordings");
    if recordings.exists() {
        std::fs::remove_dir_all(&recordings)?;
    }
    Ok(SqliteStore::open(&data_dir.join("cobranza.db")).await?)
}

/// A persona and the sample debtor it plays.
pub(crate) struct PlannedPersona {
    pub(crate) account: Account,
    pub(crate) persona: persona::Persona,
}

/// The sample debtor each persona plays. The negotiator's debtor owes 10,000 MXN so that its
/// offer of half is "cinco mil pesos", which Whisper base hears reliably in espeak-ng's voice.
pub const PERSONA_DEBTORS: [(&str, &str); 6] = [
    ("cooperative", "MX-0001"),
    ("negotiator", "MX-0002"),
    ("wrong_person", "PE-0001"),
    ("already_paid", "CL-0001"),
    ("call_later", "CO-0001"),
    ("silent", "CO-0002"),
];

/// Pairs each persona with its debtor.
async fn personas(store: &dyn Store, clock: &Clock) -> anyhow::Result<Vec<PlannedPersona>> {
    let mut personas = Vec::new();
    for (name, debtor_id) in PERSONA_DEBTORS {
        let account = store
            .account_by_debtor(&DebtorId(debtor_id.to_string()))
            .await?
            .ok_or_else(|| anyhow::anyhow!("debtor {debtor_id} is not in the sample portfolio"))?;
        let today = clock.now().with_timezone(&account.debtor.time_zone).date_naive();
        let persona = persona::build(name, &account, today).expect("every listed persona builds");
        personas.push(PlannedPersona { account, persona });
    }
    Ok(personas)
}

/// Prints each call's transcript as it ends, until aborted.
async fn print_calls_as_they_end(mut events: broadcast::Receiver<CallEvent>, store: Arc<SqliteStore>) {
    loop {
        let event = match events.recv().await {
            Ok(event) => event,
            Err(broadcast::error::RecvError::Lagged(_)) => continue,
            Err(broadcast::error::RecvError::Closed) => return,
        };
        let CallEvent::Ended { attempt_id, disposition } = event else { continue };
        let transcript = store.transcript(attempt_id).await.unwrap_or_default();
        println!("── call {attempt_id} ended: {disposition}");
        for line in transcript {
            let who = match line.speaker {
                Speaker::Bot => "bot   ",
                Speaker::Debtor => "debtor",
            };
            println!("   {who} │ {}", line.text);
        }
        println!();
    }
}

async fn summarise(
    store: &dyn Store,
    personas: &[PlannedPersona],
    attempts: &HashMap<DebtorId, AttemptId>,
    now: DateTime<Utc>,
    config: &Config,
    started: Instant,
) -> anyhow::Result<DemoSummary> {
    let mut summaries = Vec::new();
    for planned in personas {
        let Some(&attempt_id) = attempts.get(&planned.account.debtor.id) else {
            summaries.push(CallSummary {
                persona: planned.persona.name.to_string(),
                debtor_id: planned.account.debtor.id.clone(),
                attempt_id: None,
                disposition: None,
                right_party_contact: false,
                promise: None,
                intended_promise: planned.persona.intended_promise.clone(),
                transcript: Vec::new(),
                recording: None,
                cost_micros: 0,
                costs: Vec::new(),
                error: Some("the dialer did not call this debtor".to_string()),
            });
            continue;
        };
        let attempt = store.attempt(attempt_id).await?;
        let promise = store.promises_for_attempt(attempt_id).await?.into_iter().next().map(|stored| PromiseSummary {
            amount_minor: stored.promise.amount.amount_minor,
            currency: stored.promise.amount.currency.code().to_string(),
            due_date: stored.promise.due_date,
        });
        let transcript = store
            .transcript(attempt_id)
            .await?
            .into_iter()
            .map(|line| LineSummary { speaker: line.speaker, text: line.text })
            .collect();
        let costs = store.attempt_costs(attempt_id).await?;
        let error = match attempt.as_ref().and_then(|attempt| attempt.ended_at) {
            Some(_) => None,
            None => {
                warn!(%attempt_id, "demo call had not ended when the demo stopped");
                Some("interrupted".to_string())
            }
        };
        summaries.push(CallSummary {
            persona: planned.persona.name.to_string(),
            debtor_id: planned.account.debtor.id.clone(),
            attempt_id: Some(attempt_id),
            disposition: attempt.as_ref().and_then(|a| a.disposition).map(|d| d.as_str().to_string()),
            right_party_contact: attempt.as_ref().is_some_and(|a| a.right_party_contact),
            promise,
            intended_promise: planned.persona.intended_promise.clone(),
            transcript,
            cost_micros: attempt.as_ref().map_or(0, |a| a.cost_micros),
            costs,
            recording: attempt.and_then(|a| a.recording_path),
            error,
        });
    }

    let kpi_report = kpi_report(store, now, config).await?;
    Ok(DemoSummary {
        now,
        wall_seconds: started.elapsed().as_secs_f64(),
        calls: summaries,
        kpis: kpi_report.kpis.clone(),
        kpi_report,
    })
}

/// Returns the UTC days the demo's KPIs cover: the day before `now` to the day after, so every
/// demo call counts whatever the hour.
pub fn kpi_filter(now: DateTime<Utc>) -> KpiFilter {
    KpiFilter::days(now.date_naive() - Duration::days(1), now.date_naive() + Duration::days(1))
}

/// Computes the demo's KPI report, the one `cobranza kpi` prints for [`kpi_filter`]'s days on
/// the demo's store with the same configuration.
pub async fn kpi_report(store: &dyn Store, now: DateTime<Utc>, config: &Config) -> anyhow::Result<KpiReport> {
    let policy = crate::policy::ContactPolicy::embedded()?;
    Ok(kpi::report_with_compliance(store, &kpi_filter(now), None, &UsdRates::from_config(config), &policy).await?)
}

fn print_summary(summary: &DemoSummary) {
    println!("════ Summary ({:.0} s)", summary.wall_seconds);
    for call in &summary.calls {
        let promise = call
            .promise
            .as_ref()
            .map_or(String::from("no promise"), |p| format!("promise {} due {}", p.money(), p.due_date));
        let check = match (&call.promise, &call.intended_promise) {
            (Some(stored), Some(intended))
                if stored.amount_minor == intended.amount_minor
                    && stored.currency == intended.currency
                    && stored.due_date == intended.due_date =>
            {
                " (as the persona said)".to_string()
            }
            (_, Some(intended)) => {
                format!(" (the persona said {} {} due {})", intended.amount_minor, intended.currency, intended.due_date)
            }
            _ => String::new(),
        };
        println!(
            "  {:<13} {:<8} {:<26} {:>8}  {promise}{check}",
            call.persona,
            call.debtor_id,
            call.disposition.as_deref().unwrap_or("(none)"),
            format_dollars(call.cost_micros),
        );
        if let Some(error) = &call.error {
            println!("  {:<13} simulated call failed: {error}", "");
        }
    }
    println!("{}", summary.kpi_report);
}
