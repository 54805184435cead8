//! The `cobranza` command.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};
use tokio::net::TcpListener;

use cobranza::bench::{self, BenchOptions};
use cobranza::call::{event_bus, CallServices};
use cobranza::clock::Clock;
use cobranza::collections::history::{self, cli::HistoryCommand};
use cobranza::collections::import::{import_portfolio_file_as_of, ImportMode};
use cobranza::collections::model::DebtorId;
use cobranza::collections::postgres::redact_password;
use cobranza::collections::sqlite::SqliteStore;
use cobranza::collections::{self, NewAttempt, Store};
use cobranza::config::{Config, Secrets};
use cobranza::demo::{self, DemoOptions};
use cobranza::dialog::chat::{self, AccountOverrides, ChatError, ChatSetup};
use cobranza::dialog::PolicyBook;
use cobranza::server::{self, AppState, TwilioSettings};
use cobranza::speech::tts::espeak::EspeakTts;
use cobranza::telephony::simulator::{self, persona, SimulatedCall};

#[derive(Parser)]
#[command(name = "cobranza", version, about = "Voicebot for debt-collection calls over Twilio Media Streams")]
struct Cli {
    /// Directory of the SQLite store and recordings (default: ./data; data/demo for `demo`)
    #[arg(long, global = true, env = "COBRANZA_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// The store to use instead of the data directory's SQLite file: a postgres:// or
    /// postgresql:// URL (`?schema=NAME` keeps the tables in that schema), or the path of a SQLite
    /// file. `demo` always uses its own SQLite file.
    #[arg(long, global = true, env = "COBRANZA_DATABASE_URL", hide_env_values = true, value_name = "URL")]
    database_url: Option<String>,
    /// A TOML file whose keys override config/default.toml.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Import the sample portfolio, call one debtor per persona through the carrier simulator,
    /// and print transcripts, dispositions and KPIs.
    Demo {
        /// The instant the demo treats as now, in RFC 3339 (e.g. 2026-12-02T16:00:00Z); by default
        /// 16:00 UTC today, or on Monday at a weekend.
        #[arg(long, value_name = "RFC3339")]
        now: Option<DateTime<Utc>>,
    },
    /// Serve the Twilio webhooks and media stream, and dial the running campaigns. Needs
    /// COBRANZA_TWILIO_ACCOUNT_SID and COBRANZA_TWILIO_AUTH_TOKEN; COBRANZA_NODE_NAME names this
    /// node in its leases (by default the host name and process id).
    Serve {
        /// The instant the server treats as now when it starts, in RFC 3339; its clock runs on
        /// from there. For tests and rehearsals; by default the real time.
        #[arg(long, value_name = "RFC3339")]
        now: Option<DateTime<Utc>>,
    },
    /// Import a portfolio CSV (debtors and debts) into the store.
    Import {
        /// The portfolio CSV: one line per debt, with a header.
        file: PathBuf,
        /// Import the valid rows and list the rejected ones, instead of importing nothing when a
        /// row is invalid.
        #[arg(long)]
        valid_rows_only: bool,
        /// The date of the debts' snapshots, and the date birth dates must precede (YYYY-MM-DD);
        /// by default today in UTC. Importing twice with one date replaces that date's snapshots.
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
        as_of: Option<chrono::NaiveDate>,
    },
    #[command(flatten)]
    History(HistoryCommand),
    /// Place one simulated call to a running server, as Twilio would, playing a debtor persona.
    /// Signs with COBRANZA_TWILIO_AUTH_TOKEN.
    Simulate {
        /// The server's base URL.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        /// Debtor to call (a `debtor_id` from the portfolio).
        #[arg(long)]
        debtor: String,
        /// One of: cooperative, negotiator, wrong_person, already_paid, call_later, silent.
        #[arg(long, default_value = "cooperative")]
        persona: String,
    },
    /// Hold one conversation as text with the real dialog and store: bot lines on stdout, caller
    /// lines from stdin (`#1234` is keypad digits, an empty line or `...` is silence, end of input
    /// hangs up), then one JSON line with the disposition and any promise or callback stored.
    Chat {
        /// The debtor to talk as (a `debtor_id` already imported into the store).
        #[arg(long)]
        debtor: String,
        /// The prompts' locale, over the debtor's: es-MX, es-CO, es-PE, es-CL, es-AR, en-US, es-419, or English for a country: en-MX, en-CO, en-PE, en-CL, en-AR, en-419.
        #[arg(long)]
        locale: Option<String>,
        /// The debtor's local date of the call (YYYY-MM-DD), at 10:00; by default now.
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
        today: Option<chrono::NaiveDate>,
    },
    /// Print what the rule-based interpreter understands in each line of standard input, as one
    /// JSON object per line.
    Understand(cobranza::dialog::nlu::cli::UnderstandArgs),
    /// Create console users and change their passwords and roles.
    User {
        #[command(subcommand)]
        command: cobranza::console::cli::UserCommand,
    },
    /// Create, start, pause, stop and inspect outbound campaigns.
    Campaign {
        #[command(subcommand)]
        command: cobranza::campaign::cli::CampaignCommand,
    },
    /// Print the collections KPIs of a date range from the store, with each figure's
    /// denominator, and the portfolio's aging distribution.
    Kpi(cobranza::kpi::cli::KpiArgs),
    /// Check the outbound attempts not checked yet against the calling windows, holidays and
    /// caps, store the flags the compliance counters count, and print how many were flagged.
    ComplianceCheck(cobranza::kpi::compliance::check::CheckArgs),
    /// Train the propensity-to-pay model on the store's history, rescore every debtor and
    /// print the dial queue; or, with --explain, show what moved one debtor's score.
    Score(cobranza::scoring::cli::ScoreArgs),
    /// Write an invented, seeded collections history for the sample portfolio (portfolio,
    /// snapshots, attempts, promises, payments, do-not-call list) as CSV files.
    GenerateHistory {
        /// The sample portfolio the history starts from.
        #[arg(long, default_value = "fixtures/portfolio.csv")]
        sample: PathBuf,
        /// The directory to write the CSV files into.
        #[arg(long, default_value = "fixtures/history")]
        out: PathBuf,
        /// The random seed; the same seed writes the same files.
        #[arg(long, default_value_t = 20_261_201)]
        seed: u64,
        /// Invented debtors added to the sample's.
        #[arg(long, default_value_t = 3_000)]
        debtors: usize,
        /// The first day of the history (YYYY-MM-DD).
        #[arg(long, default_value = "2026-06-01", value_parser = parse_date)]
        start: chrono::NaiveDate,
        /// Months of history.
        #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u32).range(1..=36))]
        months: u32,
    },
    /// Measure what this machine can hold: load an in-process server with simulated calls.
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Hold simulated calls against an in-process server with instant speech stand-ins, and
    /// report its CPU time per call-second, memory per call and outbound audio timing.
    Calls {
        /// Number of calls held at once.
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        concurrent: u32,
        /// Seconds all calls stay up together: the measurement window.
        #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=86_400))]
        seconds: u64,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Seed a store with synthetic history and time the full KPI report over it. Takes the store
    /// from --database-url: a postgres:// URL, where it replaces the schema `bench_kpi`, or the
    /// path of a SQLite file that does not exist yet.
    Kpi {
        /// Attempts to seed, over 90 days; the bench also seeds one debtor and debt per 10.
        #[arg(long, default_value_t = 10_000_000, value_parser = clap::value_parser!(u64).range(10..=100_000_000))]
        attempts: u64,
        /// Timed runs of each report after one warm-up run; the median is reported.
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100))]
        runs: u32,
        /// Also print each query's PostgreSQL plan (EXPLAIN ANALYZE) for the full range.
        #[arg(long)]
        explain: bool,
        /// Time the store an earlier run seeded (schema bench_kpi, or the SQLite file) instead of
        /// seeding it again; --attempts is then ignored.
        #[arg(long)]
        reuse: bool,
    },
    /// Simulate a week of one campaign over an invented portfolio on a stopped clock, then audit
    /// the carrier's call log against the contact rules. Uses a temporary SQLite file, or the
    /// --database-url store (which must be empty).
    Week {
        /// Debtors to invent, spread over Mexico, Colombia, Peru, Chile, Argentina and the US.
        #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
        debtors: u64,
        /// The random seed; the same seed gives the same week.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Print one JSON object instead of the tables.
        #[arg(long)]
        json: bool,
    },
    /// The simulated carriers of `bench calls`, run as its child process: reads a plan as JSON on
    /// standard input and writes JSON lines on standard output.
    #[command(hide = true)]
    Carrier,
    /// Seed a store with a large portfolio and time rescoring it: reading histories, scoring,
    /// segmenting and writing the scores. Uses a temporary SQLite file, or the schema
    /// bench_score of the --database-url PostgreSQL database (dropped and recreated).
    Score {
        /// Debtors to seed and score.
        #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..=50_000_000))]
        debtors: u64,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // `understand` is a filter over standard input: no logs, no configuration, no runtime.
    if let Command::Understand(args) = &cli.command {
        return cobranza::dialog::nlu::cli::main(args);
    }
    // The demo and the bench print their own reports, so their logs start at warnings. The
    // bench's progress still shows.
    let default_filter = match cli.command {
        Command::Demo { .. } | Command::Chat { .. } | Command::Kpi(_) | Command::Score(_) => "cobranza=warn",
        Command::Bench { .. } => "cobranza=warn,cobranza::bench=info",
        _ => "cobranza=info",
    };
    tracing_subscriber::fmt()
        .with_env_filter(cobranza::logging::log_filter(
            &std::env::var("RUST_LOG").unwrap_or_else(|_| default_filter.to_string()),
        ))
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime starts");
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            // A chat that cannot start is a usage error, as a bad flag is.
            match error.downcast_ref::<ChatError>() {
                Some(ChatError::UnknownDebtor(_) | ChatError::UnknownLocale { .. }) => ExitCode::from(2),
                _ => ExitCode::FAILURE,
            }
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = Config::load(cli.config.as_deref())?;
    match cli.command {
        Command::Demo { now } => {
            let data_dir = cli.data_dir.unwrap_or_else(|| PathBuf::from("data/demo"));
            let now = now.unwrap_or_else(|| demo::default_now(Utc::now().date_naive()));
            let cancel = async {
                let _ = tokio::signal::ctrl_c().await;
            };
            demo::run(DemoOptions { data_dir, now, config }, cancel).await?;
            Ok(())
        }
        Command::Serve { now } => serve(config, cli.database_url, data_dir(cli.data_dir), now).await,
        Command::User { command } => {
            let opened = open_with_console(cli.database_url.as_deref(), &data_dir(cli.data_dir)).await?;
            cobranza::console::cli::run(opened.console.as_ref(), command, Utc::now()).await
        }
        Command::Import { file, valid_rows_only, as_of } => {
            let store = open_store(cli.database_url.as_deref(), &data_dir(cli.data_dir)).await?;
            let mode = if valid_rows_only { ImportMode::ValidRowsOnly } else { ImportMode::AllOrNothing };
            let as_of = as_of.unwrap_or_else(|| Utc::now().date_naive());
            let report = import_portfolio_file_as_of(store.as_ref(), &file, mode, as_of).await?;
            // Rebuilding the snapshot figures now spares the next KPI report that work.
            store.refresh_kpi_summaries().await?;
            println!("{report}");
            Ok(())
        }
        Command::History(command) => {
            let store = open_store(cli.database_url.as_deref(), &data_dir(cli.data_dir)).await?;
            println!("{}", history::cli::run(store.as_ref(), &command, config.promises, Utc::now()).await?);
            Ok(())
        }
        Command::Simulate { url, debtor, persona } => {
            simulate(config, cli.database_url, data_dir(cli.data_dir), url, debtor, persona).await
        }
        Command::Chat { debtor, locale, today } => {
            let store = open_store(cli.database_url.as_deref(), &data_dir(cli.data_dir)).await?;
            let setup = ChatSetup {
                debtor: DebtorId(debtor),
                locale,
                today,
                time_of_day: None,
                agency: config.agency.name.clone(),
                bot_name: config.agency.bot_name.clone(),
                settings: config.dialog,
                policy: PolicyBook::embedded()?,
                jurisdictions_dir: None,
                overrides: AccountOverrides::default(),
                transfer_to: None,
            };
            let stdin = std::io::stdin().lock();
            chat::run(store, setup, stdin, std::io::stdout().lock()).await?;
            Ok(())
        }
        Command::Bench { command: BenchCommand::Calls { concurrent, seconds, json } } => {
            bench_calls(config, concurrent as usize, seconds, json).await
        }
        Command::Bench { command: BenchCommand::Carrier } => bench::carrier::run().await,
        Command::Bench { command: BenchCommand::Week { debtors, seed, json } } => {
            let started = std::time::Instant::now();
            let (store, _scratch) = match cli.database_url.as_deref() {
                Some(location) => (open_store(Some(location), &data_dir(cli.data_dir)).await?, None),
                None => {
                    let scratch = tempfile::tempdir().context("creating a directory for the bench store failed")?;
                    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&scratch.path().join("week.db")).await?);
                    (store, Some(scratch))
                }
            };
            let report = bench::week::run(store, &bench::week::WeekOptions::new(debtors as usize, seed)).await?;
            if json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                print!("{report}");
                println!(
                    "
wall time: {:.1} s",
                    started.elapsed().as_secs_f64()
                );
            }
            anyhow::ensure!(
                report.violations.is_empty(),
                "the audit found {} policy violations",
                report.violations.len()
            );
            Ok(())
        }
        Command::Bench { command: BenchCommand::Score { debtors, json } } => {
            let report =
                bench::score::run(debtors, cli.database_url.as_deref(), &config.scoring, &config.currencies).await?;
            if json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                println!("{report}");
            }
            Ok(())
        }
        Command::Kpi(args) => {
            let filter = args.filter(Utc::now().date_naive())?;
            let store = open_store(cli.database_url.as_deref(), &data_dir(cli.data_dir)).await?;
            let rates = cobranza::kpi::UsdRates::from_config(&config);
            let policy = cobranza::policy::ContactPolicy::embedded()?;
            let report =
                cobranza::kpi::report_with_compliance(store.as_ref(), &filter, args.by, &rates, &policy).await?;
            println!("{}", cobranza::kpi::cli::render(&report, args.json)?);
            Ok(())
        }
        Command::Campaign { command } => {
            let store = open_store(cli.database_url.as_deref(), &data_dir(cli.data_dir)).await?;
            let rates = cobranza::kpi::UsdRates::from_config(&config);
            println!("{}", cobranza::campaign::cli::run(store.as_ref(), &command, &rates, Utc::now()).await?);
            Ok(())
        }
        Command::ComplianceCheck(args) => {
            let store = open_store(cli.database_url.as_deref(), &data_dir(cli.data_dir)).await?;
            println!("{}", cobranza::kpi::compliance::check::run(store.as_ref(), &args).await?);
            Ok(())
        }
        Command::Score(args) => {
            let store = open_store(cli.database_url.as_deref(), &data_dir(cli.data_dir)).await?;
            let text = cobranza::scoring::cli::run(store.as_ref(), &args, &config.scoring, &config.currencies).await?;
            println!("{text}");
            Ok(())
        }
        Command::GenerateHistory { sample, out, seed, debtors, start, months } => {
            let options = cobranza::synthetic::HistoryOptions { seed, invented_debtors: debtors, start, months };
            let parsed = cobranza::collections::import::parse_portfolio_as_of(&sample, start)?;
            if !parsed.rejected.is_empty() {
                let problems: Vec<String> = parsed.rejected.iter().map(ToString::to_string).collect();
                anyhow::bail!("the sample portfolio has invalid rows; fix them first:\n{}", problems.join("\n"));
            }
            let history = cobranza::synthetic::generate(&parsed.rows, &options);
            cobranza::synthetic::write_history(&history, &out)?;
            println!(
                "wrote {} debts, {} snapshots, {} attempts, {} promises, {} payments and {} do-not-call numbers to {}",
                history.portfolio.len(),
                history.snapshots.len(),
                history.attempts.len(),
                history.promises.len(),
                history.payments.len(),
                history.do_not_call.len(),
                out.display()
            );
            Ok(())
        }
        Command::Bench { command: BenchCommand::Kpi { attempts, runs, explain, reuse } } => {
            let location = cli.database_url.context(
                "bench kpi needs --database-url: a postgres:// URL, or the path of a SQLite file that does not exist yet",
            )?;
            let report =
                bench::kpi::run(bench::kpi::KpiBenchOptions { location, attempts, runs, explain, reuse, config })
                    .await?;
            print!("{report}");
            Ok(())
        }
        Command::Understand(_) => unreachable!("main() runs understand before the runtime starts"),
    }
}

async fn bench_calls(config: Config, concurrent: usize, seconds: u64, json: bool) -> anyhow::Result<()> {
    let carrier_program =
        std::env::current_exe().context("finding the cobranza executable to run the carriers failed")?;
    let report = bench::run(BenchOptions {
        concurrent,
        seconds,
        config,
        carrier_program,
        tts_ms_per_char: bench::DEFAULT_TTS_MS_PER_CHAR,
    })
    .await?;
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print!("{report}");
    }
    Ok(())
}

fn parse_date(text: &str) -> Result<chrono::NaiveDate, String> {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| format!("'{text}' is not a date: write it as YYYY-MM-DD, for example 2026-12-02"))
}

fn data_dir(flag: Option<PathBuf>) -> PathBuf {
    flag.unwrap_or_else(|| PathBuf::from("data"))
}

/// Opens the store as [`open_store`] does, with the console's tables.
async fn open_with_console(
    database_url: Option<&str>,
    data_dir: &std::path::Path,
) -> anyhow::Result<collections::OpenedStore> {
    let location = match database_url {
        Some(url) => url.to_string(),
        None => {
            std::fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
            data_dir.join("cobranza.db").display().to_string()
        }
    };
    collections::open_with_console(&location)
        .await
        .with_context(|| format!("opening the store at {}", redact_password(&location)))
}

/// Opens the store that `--database-url` names, or else the SQLite file in the data directory.
async fn open_store(database_url: Option<&str>, data_dir: &std::path::Path) -> anyhow::Result<Arc<dyn Store>> {
    if let Some(location) = database_url {
        return collections::open_store(location)
            .await
            .with_context(|| format!("opening the store at {}", redact_password(location)));
    }
    let path = data_dir.join("cobranza.db");
    let store = SqliteStore::open(&path).await.with_context(|| format!("opening the store at {}", path.display()))?;
    Ok(Arc::new(store))
}

async fn serve(
    config: Config,
    database_url: Option<String>,
    data_dir: PathBuf,
    now: Option<DateTime<Utc>>,
) -> anyhow::Result<()> {
    let secrets = Secrets::from_env().map_err(anyhow::Error::msg)?;
    let opened = open_with_console(database_url.as_deref(), &data_dir).await?;
    let store = opened.store.clone();
    let providers = cobranza::providers::build(&config)?;
    let listener = TcpListener::bind(&config.server.listen)
        .await
        .with_context(|| format!("binding {} (server.listen)", config.server.listen))?;
    let twilio = TwilioSettings {
        account_sid: secrets.twilio_account_sid.clone(),
        auth_token: secrets.twilio_auth_token.clone(),
        public_base_url: config.server.public_base_url.clone(),
    };
    let clock = now.map_or_else(Clock::system, Clock::starting_at);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let dialer = if config.dialer.enabled {
        Some(start_dialer(&config, &secrets, &store, &clock, stopped.clone())?)
    } else {
        None
    };

    let console_settings = config.console.clone();
    let rest = cobranza::telephony::twilio::rest::TwilioRest::new(
        &config.dialer.twilio_api_base_url,
        &secrets.twilio_account_sid,
        &secrets.twilio_auth_token,
    )
    .ok();
    let config = Arc::new(config);
    let bus = event_bus();
    let clock_for_console = clock.clone();
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
    let shutdown = async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    };
    let api_token = std::env::var("COBRANZA_API_TOKEN").ok();
    let public_base_url = twilio.public_base_url.clone();
    let mut state = AppState::with_api_token(services, twilio, api_token);
    if console_settings.enabled {
        let board = cobranza::console::Board::new(&node_name());
        board.follow(bus.subscribe());
        cobranza::console::record_turns(opened.console.clone(), clock_for_console.clone(), bus.subscribe());
        if let Some((pool, schema)) = opened.postgres.clone() {
            cobranza::console::notify::bridge(pool, schema, board.clone(), bus.subscribe());
        }
        let mut console =
            cobranza::console::Console::new(opened.console.clone(), board, console_settings, &public_base_url);
        if let Some(rest) = rest {
            console = console.with_twilio(rest);
        }
        state = state.with_console(Arc::new(console));
    }
    server::serve(listener, state, shutdown).await?;
    if let Some(dialer) = dialer {
        let _ = dialer.await;
    }
    Ok(())
}

/// This node's name in leases and on the console's board: COBRANZA_NODE_NAME, or else the host
/// name and process id.
fn node_name() -> String {
    std::env::var("COBRANZA_NODE_NAME").ok().filter(|name| !name.trim().is_empty()).unwrap_or_else(|| {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_else(|_| "node".to_string());
        format!("{}-{}", host.trim(), std::process::id())
    })
}

/// Waits for Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}

/// Starts this node's dialer, which places the running campaigns' calls through Twilio's REST
/// API until `stopped` turns true.
fn start_dialer(
    config: &Config,
    secrets: &Secrets,
    store: &Arc<dyn Store>,
    clock: &Arc<Clock>,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    use cobranza::campaign::{twilio_placer::TwilioPlacer, Dialer, DialerSettings};
    let rest = cobranza::telephony::twilio::rest::TwilioRest::new(
        &config.dialer.twilio_api_base_url,
        &secrets.twilio_account_sid,
        &secrets.twilio_auth_token,
    )
    .with_context(|| format!("dialer.twilio_api_base_url '{}'", config.dialer.twilio_api_base_url))?;
    let mut settings = DialerSettings::new(node_name(), config.server.public_base_url.clone());
    settings.tick = std::time::Duration::from_millis(config.dialer.tick_ms.max(10));
    settings.lease_for = chrono::Duration::seconds(i64::from(config.dialer.lease_seconds.max(1)));
    settings.placement_margin = chrono::Duration::seconds(i64::from(config.dialer.placement_margin_seconds));
    let dialer = Dialer::new(
        store.clone(),
        Arc::new(cobranza::policy::ContactPolicy::embedded()?),
        Arc::new(TwilioPlacer::new(rest, &config.dialer)),
        clock.clone(),
        settings,
    );
    Ok(tokio::spawn(async move {
        dialer
            .run(async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            })
            .await;
    }))
}

async fn simulate(
    config: Config,
    database_url: Option<String>,
    data_dir: PathBuf,
    url: String,
    debtor: String,
    persona_name: String,
) -> anyhow::Result<()> {
    let auth_token = std::env::var("COBRANZA_TWILIO_AUTH_TOKEN")
        .context("COBRANZA_TWILIO_AUTH_TOKEN is not set: export the token the server was started with")?;
    let store = open_store(database_url.as_deref(), &data_dir).await?;
    let account = store
        .account_by_debtor(&DebtorId(debtor.clone()))
        .await?
        .with_context(|| format!("debtor {debtor} is not in the store: import a portfolio first"))?;
    let clock = Clock::system();
    let today = clock.now().with_timezone(&account.debtor.time_zone).date_naive();
    let persona = persona::build(&persona_name, &account, today)
        .with_context(|| format!("unknown persona '{persona_name}': use one of {}", persona::PERSONAS.join(", ")))?;
    let attempt_id = store.create_attempt(&NewAttempt::outbound(&account, clock.now())).await?;
    let voice = Arc::new(EspeakTts::new(config.speech.voice_es.clone(), config.speech.voice_en.clone()));
    let persona_voice = demo::persona_voice(&config, persona.language);
    let report = simulator::run(SimulatedCall {
        server_url: url,
        account_sid: std::env::var("COBRANZA_TWILIO_ACCOUNT_SID").unwrap_or_else(|_| "ACsimulator".to_string()),
        auth_token,
        attempt_id: Some(attempt_id.0),
        from: "+15005550006".to_string(),
        to: account.debtor.phone.clone(),
        persona,
        voice,
        persona_voice,
    })
    .await?;
    println!("call {} (attempt {attempt_id}) ended", report.call_sid);
    println!("bot phrases heard: {}", report.heard_prompts.join(", "));
    println!("persona turns: {}", report.persona_turns.join(" | "));
    // The server stores the outcome as the stream closes; it may land a moment after.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    match store.attempt(attempt_id).await?.and_then(|attempt| attempt.disposition) {
        Some(disposition) => println!("disposition: {disposition}"),
        None => println!("disposition: not stored yet (check the server's log)"),
    }
    for stored in store.promises_for_attempt(attempt_id).await? {
        println!("promise: {} due {}", stored.promise.amount, stored.promise.due_date);
    }
    Ok(())
}
