//! Two `cobranza serve` processes on one PostgreSQL schema run one campaign against the Twilio
//! fake, and one of them is killed mid-campaign. Every check reads the fake's call log, the
//! carrier's side of each call, and the attempt rows, never the dialer's own decisions.
//!
//! Everything runs on loopback. The fake and a stand-in transcription server run in this test
//! process and the two nodes are its children. The store is a schema of its own at
//! `COBRANZA_TEST_DATABASE_URL` (by default the local server at 127.0.0.1:5432).

mod support;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use sqlx::{Connection, Row};

use cobranza::campaign::settings::CampaignSettings;
use cobranza::campaign::store::{CampaignStatus, CampaignStore as _};
use cobranza::clock::Clock;
use cobranza::collections::import::parse_portfolio_bytes_as_of;
use cobranza::collections::model::DebtorId;
use cobranza::collections::postgres::PostgresStore;
use cobranza::collections::Store;
use cobranza::config::Config;
use cobranza::telephony::simulator::persona;
use cobranza::telephony::twilio_fake::{
    CallLogEntry, Callee, CalleeBook, CalleeKind, FakeSettings, PersonaVoices, TwilioFake,
};

use support::fake_transcription::{FakeTranscription, Reply, API_KEY};

const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
const ACCOUNT: &str = "AC00000000000000000000000000000a11";
const TOKEN: &str = "multi-node-auth-token";
const CAMPAIGN: &str = "reminders";
const COLOMBIAN_DEBTORS: usize = 40;
const MEXICAN_DEBTORS: usize = 10;
/// A lease outlives its node's last renewal by this long.
const LEASE_SECONDS: i64 = 4;
/// An answering machine's greeting: long enough that a stream caught in it is still open when
/// the node that holds it is killed.
const MACHINE_GREETING_MS: u64 = 10_000;
/// The whole campaign, kill included, must settle within this long.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(150);

fn database_url() -> String {
    std::env::var("COBRANZA_TEST_DATABASE_URL")
        .ok()
        .filter(|url| !url.is_empty())
        .unwrap_or(DEFAULT_DATABASE_URL.into())
}

/// Monday 7 December 2026, 16:00 UTC: 11:00 in Bogotá and 10:00 in Mexico City.
fn campaign_start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 7, 16, 0, 0).unwrap()
}

fn colombian_phone(index: usize) -> String {
    format!("+57601555{index:04}")
}

fn mexican_phone(index: usize) -> String {
    format!("+52555010{index:04}")
}

/// Writes the portfolio: `CO-00`.. in Bogotá, whose law allows one contact a day, and `MX-00`..
/// in Mexico City, which has no numeric cap.
fn portfolio_csv() -> String {
    let mut csv = String::from(
        "debtor_id,full_name,phone,country,region,locale,time_zone,national_id_last4,birth_date,postal_code,\
         creditor,product,account_ref,balance,currency,days_past_due,call_consent,authorised_channels\n",
    );
    for index in 0..MEXICAN_DEBTORS {
        csv.push_str(&format!(
            "MX-{index:02},Deudora {index},{},MX,Ciudad de México,es-MX,America/Mexico_City,1234,1980-01-01,06700,\
             Banco Aurora,tarjeta,MX-REF-{index:02},{}.00,MXN,40,true,voice\n",
            mexican_phone(index),
            1_000 + index
        ));
    }
    for index in 0..COLOMBIAN_DEBTORS {
        csv.push_str(&format!(
            "CO-{index:02},Deudor {index},{},CO,Bogotá D.C.,es-CO,America/Bogota,1234,1980-01-01,110111,\
             Banco Cordillera,tarjeta,CO-REF-{index:02},{}.00,COP,40,true,voice\n",
            colombian_phone(index),
            500_000 + index * 1_000
        ));
    }
    csv
}

/// Who answers each number. Most calls end fast (busy, no answer, unreachable) so the campaign
/// moves; a quarter of the Colombians are answering machines that keep their stream open, and
/// five are people. The Mexicans never answer, so only their retry limit stops the calls.
fn callee_for(country: &str, index: usize) -> CalleeKind {
    match (country, index % 4) {
        ("MX", _) if index % 2 == 0 => CalleeKind::NoAnswer,
        ("MX", _) => CalleeKind::Busy,
        (_, 0) => CalleeKind::Machine { greeting_ms: MACHINE_GREETING_MS },
        (_, 1) => CalleeKind::NoAnswer,
        (_, 2) => CalleeKind::Busy,
        _ if index % 8 == 3 => CalleeKind::Person { persona: "cooperative".into() },
        _ => CalleeKind::Failed,
    }
}

/// Builds the callee book the fake dials through, with each person's persona.
async fn callee_book(store: &PostgresStore) -> CalleeBook {
    let mut callees: HashMap<String, Callee> = HashMap::new();
    let people =
        [("CO", COLOMBIAN_DEBTORS, colombian_phone as fn(usize) -> String), ("MX", MEXICAN_DEBTORS, mexican_phone)];
    for (country, count, phone) in people {
        for index in 0..count {
            let callee = match callee_for(country, index) {
                CalleeKind::Busy => Callee::Busy,
                CalleeKind::NoAnswer => Callee::NoAnswer,
                CalleeKind::Failed => Callee::Failed,
                CalleeKind::Machine { greeting_ms } => Callee::Machine { greeting_ms },
                CalleeKind::Person { persona: name } => {
                    let debtor = DebtorId(format!("{country}-{index:02}"));
                    let account = store.account_by_debtor(&debtor).await.unwrap().expect("debtor imported");
                    let today = campaign_start().with_timezone(&account.debtor.time_zone).date_naive();
                    Callee::Person(persona::build(&name, &account, today).expect("known persona"))
                }
            };
            callees.insert(phone(index), callee);
        }
    }
    Arc::new(move |to: &str| callees.get(to).cloned().unwrap_or(Callee::Failed))
}

/// Retries after no answer, busy and failure are due at once, so only the contact policy's caps
/// and the retry limit of 3 tries hold a debtor back.
fn campaign_settings() -> CampaignSettings {
    let settings: CampaignSettings = toml::from_str(
        r#"
        caller_id = "+15005550006"
        max_concurrent_calls = 12
        calls_per_second = 5
        answering_machine_detection = true
        [filter]
        countries = ["CO", "MX"]
        [retry]
        max_tries = 3
        no_answer = { first_minutes = 0, factor = 1, max_tries = 3 }
        busy = { first_minutes = 0, factor = 1, max_tries = 3 }
        failed = { first_minutes = 0, factor = 1, max_tries = 3 }
        "#,
    )
    .unwrap();
    cobranza::campaign::settings::validate(&settings).unwrap();
    settings
}

/// The PostgreSQL schema of this test run, dropped before the run and after a passing one.
struct Schema {
    name: String,
}

impl Schema {
    async fn fresh() -> Schema {
        let schema = Schema { name: format!("multi_node_{}", std::process::id()) };
        schema.drop_all().await;
        schema
    }

    async fn drop_all(&self) {
        let url = database_url();
        let mut connection = sqlx::PgConnection::connect(&url).await.unwrap_or_else(|error| {
            panic!("connecting to PostgreSQL at {url} failed: {error}; start it or set COBRANZA_TEST_DATABASE_URL")
        });
        sqlx::query(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name)).execute(&mut connection).await.unwrap();
    }

    /// Returns the store URL both nodes connect to.
    fn url(&self) -> String {
        let base = database_url();
        let separator = if base.contains('?') { '&' } else { '?' };
        format!("{base}{separator}schema={}", self.name)
    }
}

/// One `cobranza serve` child process. Dropping it kills the process, so a failing test leaves
/// nothing running; a panicking test also prints the end of the node's log.
struct Node {
    name: &'static str,
    port: u16,
    child: Child,
    log_path: PathBuf,
}

impl Node {
    fn spawn(name: &'static str, dir: &Path, schema: &Schema, fake: &TwilioFake, speech: &FakeTranscription) -> Node {
        let port = free_port();
        let data_dir = dir.join(name);
        std::fs::create_dir_all(&data_dir).unwrap();
        let config_path = data_dir.join("config.toml");
        let config = format!(
            r#"
            [server]
            listen = "127.0.0.1:{port}"
            public_base_url = "http://127.0.0.1:{port}"
            [call]
            reply_timeout_ms = 1000
            max_call_seconds = 40
            [speech]
            stt = ["openai"]
            [providers.openai_stt]
            base_url = "{speech_url}"
            [dialer]
            tick_ms = 200
            lease_seconds = {LEASE_SECONDS}
            placement_margin_seconds = 60
            twilio_api_base_url = "{fake_url}"
            ring_timeout_seconds = 8
            time_limit_seconds = 120
            "#,
            speech_url = speech.base_url,
            fake_url = fake.base_url(),
        );
        std::fs::write(&config_path, config).unwrap();
        let log_path = data_dir.join("serve.log");
        let log = std::fs::File::create(&log_path).unwrap();

        let mut command = Command::new(env!("CARGO_BIN_EXE_cobranza"));
        for (variable, _) in std::env::vars() {
            if variable.starts_with("COBRANZA_") {
                command.env_remove(variable);
            }
        }
        let child = command
            .arg("--config")
            .arg(&config_path)
            .arg("--data-dir")
            .arg(&data_dir)
            .arg("--database-url")
            .arg(schema.url())
            .arg("serve")
            .arg("--now")
            .arg(campaign_start().to_rfc3339())
            .env("COBRANZA_TWILIO_ACCOUNT_SID", ACCOUNT)
            .env("COBRANZA_TWILIO_AUTH_TOKEN", TOKEN)
            .env("COBRANZA_NODE_NAME", name)
            .env("COBRANZA_OPENAI_API_KEY", API_KEY)
            .env("RUST_LOG", "cobranza=info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("cobranza serve starts");
        Node { name, port, child, log_path }
    }

    /// Waits until the node answers `/health`, failing when it exits first.
    async fn wait_until_ready(&mut self) {
        let url = format!("http://127.0.0.1:{}/health", self.port);
        for _ in 0..300 {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("{} exited with {status} before serving", self.name);
            }
            if reqwest::get(&url).await.is_ok_and(|response| response.status().is_success()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{} did not answer {url} within 30 s", self.name);
    }

    /// Kills the process with SIGKILL and waits until it is gone.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.log_path).unwrap_or_default();
            let lines: Vec<&str> = log.lines().collect();
            let tail = lines[lines.len().saturating_sub(40)..].join("\n");
            let _ = writeln!(
                std::io::stderr(),
                "--- last lines of {} ({}) ---\n{tail}",
                self.name,
                self.log_path.display()
            );
        }
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Returns the attempt id and the node port in a call's TwiML `Url`.
fn attempt_and_port(entry: &CallLogEntry) -> (i64, u16) {
    let url = url::Url::parse(entry.param("Url").expect("every call has a Url")).unwrap();
    let attempt = url.query_pairs().find(|(name, _)| name == "attempt").map(|(_, id)| id.parse().unwrap());
    (attempt.unwrap_or_else(|| panic!("Url {url} has no attempt")), url.port().unwrap())
}

/// One attempt row as the store has it.
#[derive(Debug)]
struct AttemptRow {
    id: i64,
    debtor_id: String,
    phone: String,
    ended: bool,
    disposition: Option<String>,
}

async fn attempt_rows(store: &PostgresStore) -> Vec<AttemptRow> {
    let rows = sqlx::query(
        "SELECT id, debtor_id, phone, ended_at IS NOT NULL AS ended, disposition FROM attempts ORDER BY id",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    rows.iter()
        .map(|row| AttemptRow {
            id: row.get("id"),
            debtor_id: row.get("debtor_id"),
            phone: row.get("phone"),
            ended: row.get("ended"),
            disposition: row.get("disposition"),
        })
        .collect()
}

/// Counts the dial leases `node` still holds.
async fn leases_of(store: &PostgresStore, node: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM dial_leases WHERE node = $1")
        .bind(node)
        .fetch_one(store.pool())
        .await
        .unwrap()
}

/// Tells whether the campaign has nothing left to do today: no lease, no open attempt, no
/// target due, and no call still up at the fake.
async fn campaign_settled(store: &PostgresStore, fake: &TwilioFake) -> bool {
    let leases: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM dial_leases").fetch_one(store.pool()).await.unwrap();
    let open: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM attempts WHERE ended_at IS NULL")
        .fetch_one(store.pool())
        .await
        .unwrap();
    // Every waiting target's next try is at least an hour away once the day's work is done.
    let due_soon: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM campaign_targets WHERE state = 'dialing' OR (state = 'waiting' AND due_at < $1)",
    )
    .bind(campaign_start() + chrono::Duration::hours(1))
    .fetch_one(store.pool())
    .await
    .unwrap();
    let calls_up = fake.call_log().iter().any(|entry| entry.ended_at.is_none());
    leases == 0 && open == 0 && due_soon == 0 && !calls_up
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_campaign_and_survive_a_kill() {
    let schema = Schema::fresh().await;
    let store = PostgresStore::connect_in_schema(&database_url(), &schema.name).await.unwrap();
    let parsed =
        parse_portfolio_bytes_as_of("multi_node.csv", portfolio_csv().as_bytes(), campaign_start().date_naive())
            .unwrap();
    assert!(parsed.rejected.is_empty(), "{:?}", parsed.rejected);
    store.import_portfolio(&parsed.rows).await.unwrap();
    let settings = campaign_settings();
    store.create_campaign(CAMPAIGN, &settings, campaign_start()).await.unwrap();
    let rates = cobranza::kpi::UsdRates::new(Default::default());
    let enrolled =
        cobranza::campaign::enrol::enrol(&store, CAMPAIGN, &settings.filter, &rates, campaign_start()).await.unwrap();
    assert_eq!(enrolled, COLOMBIAN_DEBTORS + MEXICAN_DEBTORS);
    store.set_campaign_status(CAMPAIGN, CampaignStatus::Running, campaign_start()).await.unwrap();

    let speech = FakeTranscription::start(vec![Reply::Text(String::new()); 2_000]).await;
    let mut fake_settings = FakeSettings::new(ACCOUNT, TOKEN, PersonaVoices::from_config(&Config::embedded()));
    fake_settings.calls_per_second = 0;
    fake_settings.ring_time = Duration::from_millis(500);
    fake_settings.amd_time = Duration::from_millis(1_000);
    let fake_clock = Clock::starting_at(campaign_start());
    let fake = TwilioFake::start(fake_settings, callee_book(&store).await, fake_clock.clone()).await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let mut doomed = Node::spawn("node-a", dir.path(), &schema, &fake, &speech);
    let mut survivor = Node::spawn("node-b", dir.path(), &schema, &fake, &speech);
    doomed.wait_until_ready().await;
    survivor.wait_until_ready().await;

    // Kill node A while it has a machine call answered under 4 s ago, whose stream is surely
    // still open because the greeting lasts 10 s, and a Mexican call still ringing. The ring
    // timeout (8 s) outlasts the lease (4 s), so node B takes that lease while the fake still
    // rings the call, and must hang it up before it dials the number again.
    let started_waiting = tokio::time::Instant::now();
    let open_at_kill: Vec<CallLogEntry> = loop {
        assert!(started_waiting.elapsed() < Duration::from_secs(60), "node A never held a machine call");
        let now = fake_clock.now();
        let in_greeting: Vec<CallLogEntry> = fake
            .call_log()
            .into_iter()
            .filter(|entry| {
                attempt_and_port(entry).1 == doomed.port
                    && entry.ended_at.is_none()
                    && matches!(entry.callee, Some(CalleeKind::Machine { .. }))
                    && entry.answered_at.is_some_and(|answered| now - answered < chrono::Duration::seconds(4))
            })
            .collect();
        let mexican_ringing = fake.call_log().iter().any(|entry| {
            attempt_and_port(entry).1 == doomed.port
                && entry.to.starts_with("+52")
                && entry.started_at.is_some()
                && entry.answered_at.is_none()
                && entry.ended_at.is_none()
        });
        if !in_greeting.is_empty() && mexican_ringing {
            doomed.kill();
            break in_greeting;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let killed_at = fake_clock.now();

    let started_settling = tokio::time::Instant::now();
    while !campaign_settled(&store, &fake).await {
        assert!(started_settling.elapsed() < SETTLE_TIMEOUT, "the campaign did not settle within {SETTLE_TIMEOUT:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let log = fake.call_log();
    let attempts = attempt_rows(&store).await;
    let attempts_by_id: HashMap<i64, &AttemptRow> = attempts.iter().map(|row| (row.id, row)).collect();

    // 1. Every call has its own attempt, a stored row for the number dialled, and both nodes dialled.
    let placed: Vec<(i64, u16)> = log.iter().map(attempt_and_port).collect();
    let unique: BTreeSet<i64> = placed.iter().map(|(attempt, _)| *attempt).collect();
    assert_eq!(unique.len(), log.len(), "an attempt was dialled twice: {placed:?}");
    for (entry, (attempt, _)) in log.iter().zip(&placed) {
        let row =
            attempts_by_id.get(attempt).unwrap_or_else(|| panic!("call {} has no attempt row {attempt}", entry.sid));
        assert_eq!(row.phone, entry.to, "attempt {attempt}");
    }
    let calls_by_a = placed.iter().filter(|(_, port)| *port == doomed.port).count();
    let calls_by_b = placed.iter().filter(|(_, port)| *port == survivor.port).count();
    assert!(calls_by_a > 0, "node A placed no call");
    assert!(calls_by_b > 0, "node B placed no call");
    assert_eq!(calls_by_a + calls_by_b, log.len());

    // No number was dialled while an earlier call to it was still up.
    let mut calls_by_number: BTreeMap<&str, Vec<&CallLogEntry>> = BTreeMap::new();
    for entry in &log {
        calls_by_number.entry(entry.to.as_str()).or_default().push(entry);
    }
    for (number, calls) in &calls_by_number {
        for pair in calls.windows(2) {
            let earlier_end = pair[0].ended_at.expect("every call ended");
            assert!(
                pair[1].requested_at >= earlier_end,
                "{number}: call {} was requested at {} while call {} was up until {earlier_end}",
                pair[1].sid,
                pair[1].requested_at,
                pair[0].sid
            );
        }
    }

    // 2. No Colombian number got two calls within 24 hours, judged from the carrier's log alone.
    for index in 0..COLOMBIAN_DEBTORS {
        let number = colombian_phone(index);
        let calls = calls_by_number.get(number.as_str()).cloned().unwrap_or_default();
        for pair in calls.windows(2) {
            let gap = pair[1].requested_at - pair[0].requested_at;
            assert!(gap >= chrono::Duration::hours(24), "{number} was called twice {gap} apart");
        }
        let attempts_of_debtor = attempts.iter().filter(|row| row.debtor_id == format!("CO-{index:02}")).count();
        assert_eq!(attempts_of_debtor, 1, "CO-{index:02}");
    }
    // The retry policy wanted the busy, unanswered and unreachable Colombians again at once;
    // only the daily cap held them back, until the next day. Each has one debt, so the cap per
    // debt is the one that refuses first.
    let capped: Vec<(String, String, DateTime<Utc>)> = sqlx::query_as(
        "SELECT debtor_id, COALESCE(last_refusal, ''), due_at FROM campaign_targets
         WHERE debtor_id LIKE 'CO-%' ORDER BY debtor_id",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    for (debtor_id, refusal, due_at) in &capped {
        let index: usize = debtor_id[3..].parse().unwrap();
        if matches!(callee_for("CO", index), CalleeKind::Busy | CalleeKind::NoAnswer | CalleeKind::Failed) {
            assert_eq!(refusal, "cap_per_debt", "{debtor_id}");
            assert!(*due_at >= campaign_start() + chrono::Duration::hours(23), "{debtor_id} due again at {due_at}");
        }
    }
    // The Mexicans, with no cap, were dialled until the retry limit: 3 tries each.
    for index in 0..MEXICAN_DEBTORS {
        let number = mexican_phone(index);
        let tries = attempts.iter().filter(|row| row.phone == number).count();
        assert_eq!(tries, 3, "MX-{index:02}");
    }

    // 3. The kill lost no attempt: every row ended with a disposition, node A's open calls as
    // technical failures that node B settled, and node B went on dialling.
    for row in &attempts {
        assert!(row.ended, "attempt {} never ended", row.id);
        assert!(row.disposition.is_some(), "attempt {} has no disposition", row.id);
    }
    for entry in &open_at_kill {
        let (attempt, _) = attempt_and_port(entry);
        assert_eq!(attempts_by_id[&attempt].disposition.as_deref(), Some("technical_failure"), "call {}", entry.sid);
    }
    let placed_ids: BTreeSet<i64> = unique;
    for row in &attempts {
        let technical = row.disposition.as_deref() == Some("technical_failure");
        let by_a = placed.iter().any(|(attempt, port)| *attempt == row.id && *port == doomed.port);
        if technical {
            assert!(by_a || !placed_ids.contains(&row.id), "attempt {} of node B failed technically", row.id);
        }
        if !placed_ids.contains(&row.id) {
            assert!(technical, "attempt {} never reached the carrier but ended {:?}", row.id, row.disposition);
        }
    }
    assert_eq!(leases_of(&store, "node-a").await, 0);
    let after_kill = log.iter().filter(|entry| entry.requested_at > killed_at).count();
    assert!(after_kill > 0, "no call was placed after node A died");
    assert!(log
        .iter()
        .filter(|entry| entry.requested_at > killed_at)
        .all(|entry| attempt_and_port(entry).1 == survivor.port));

    drop(doomed);
    drop(survivor);
    fake.stop().await;
    schema.drop_all().await;
}
