//! The supervisor console in Debian's Chromium, driven through chromedriver: log in, follow a
//! simulated call's transcript and audio live, read the KPIs, switch language, and the limits of
//! auditors and of requests without the CSRF token. Screenshots go to `artifacts/console/`.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{json, Value};

use cobranza::campaign::store::CampaignStore;
use cobranza::clock::Clock;
use cobranza::collections::model::DebtorId;
use cobranza::collections::sqlite::SqliteStore;
use cobranza::collections::{NewAttempt, Store};
use cobranza::config::Config;
use cobranza::console::store::{ConsoleStore, NewUser, Role};
use cobranza::demo::EmbeddedServer;
use cobranza::speech::stt::whisper::{WhisperPool, WhisperSettings, WhisperStt};
use cobranza::telephony::simulator::{self, persona};
use support::webdriver::Browser;

const COBRANZA: &str = env!("CARGO_BIN_EXE_cobranza");
const PASSWORD: &str = "contraseña-de-prueba-1";
/// Long enough for a page to load and react on a busy two-core machine; these are waits for a
/// condition, not timing assertions.
const WAIT: Duration = Duration::from_secs(60);

/// Wednesday 2 December 2026, 10:00 in Mexico City.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 2, 16, 0, 0).single().expect("valid instant")
}

fn artifacts() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("artifacts/console");
    std::fs::create_dir_all(&dir).expect("artifacts directory");
    dir
}

fn cobranza(data_dir: &Path, args: &[&str]) -> String {
    let output = Command::new(COBRANZA).arg("--data-dir").arg(data_dir).args(args).output().expect("cobranza runs");
    assert!(output.status.success(), "cobranza {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

/// A store with the sample portfolio, the shipped history and a running campaign, made once and
/// copied for each test.
fn template_store() -> &'static Path {
    static TEMPLATE: OnceLock<tempfile::TempDir> = OnceLock::new();
    TEMPLATE
        .get_or_init(|| {
            let dir = tempfile::tempdir().expect("tempdir");
            let root = Path::new(env!("CARGO_MANIFEST_DIR"));
            cobranza(
                dir.path(),
                &["import", root.join("fixtures/portfolio.csv").to_str().unwrap(), "--as-of", "2026-12-01"],
            );
            cobranza(dir.path(), &["import-history", root.join("fixtures/history").to_str().unwrap()]);
            let settings = root.join("config/campaigns/reminders.toml");
            cobranza(dir.path(), &["campaign", "create", "reminders", "--settings", settings.to_str().unwrap()]);
            cobranza(dir.path(), &["campaign", "start", "reminders"]);
            dir
        })
        .path()
}

struct Console {
    server: EmbeddedServer,
    store: Arc<SqliteStore>,
    data_dir: tempfile::TempDir,
    config: Arc<Config>,
}

impl Console {
    /// The server with the console over a copy of the template store, with one user per role.
    async fn start(stt: Option<Arc<dyn cobranza::speech::stt::SpeechToText>>) -> Console {
        let data_dir = tempfile::tempdir().expect("tempdir");
        // The store is the database file and, in WAL mode, its log beside it.
        for entry in std::fs::read_dir(template_store()).expect("template") {
            let path = entry.expect("entry").path();
            let name = path.file_name().expect("name").to_string_lossy().to_string();
            if name.starts_with("cobranza.db") {
                std::fs::copy(&path, data_dir.path().join(&name)).expect("copy store");
            }
        }
        let store = Arc::new(SqliteStore::open(&data_dir.path().join("cobranza.db")).await.expect("store opens"));
        for (username, role) in [("ana", Role::Supervisor), ("admin", Role::Admin), ("auditoria", Role::Auditor)] {
            let password_hash = cobranza::console::hash_password(PASSWORD).expect("hash");
            store
                .create_user(&NewUser { username: username.into(), role, password_hash, created_at: now() })
                .await
                .expect("user created");
        }
        let mut config = Config::embedded();
        config.speech.whisper_model_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/whisper-base");
        let config = Arc::new(config);
        let stt = stt.unwrap_or_else(|| Arc::new(support::Deaf));
        let providers = cobranza::demo::embedded_providers(stt, &config);
        let server = EmbeddedServer::start_with_console(
            store.clone(),
            store.clone(),
            "node-a",
            providers,
            config.clone(),
            Clock::starting_at(now()),
            data_dir.path().to_path_buf(),
        )
        .await
        .expect("server starts");
        Console { server, store, data_dir, config }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.base_url)
    }
}

async fn log_in(browser: &Browser, console: &Console, username: &str) -> anyhow::Result<()> {
    browser.goto(&console.url("/console")).await?;
    browser.wait_for("#login-username", WAIT).await?.send_keys(username).await?;
    browser.find("#login-password").await?.send_keys(PASSWORD).await?;
    browser.find("#login-submit").await?.click().await?;
    browser.wait_for_text("#whoami", username, WAIT).await?;
    Ok(())
}

/// Starts `script` in the page, which must end by setting `window.__outcome`, and returns that
/// value once it is set.
async fn in_page(browser: &Browser, what: &str, script: &str) -> anyhow::Result<Value> {
    browser.execute("window.__outcome = undefined;", &[]).await?;
    browser.execute(script, &[]).await?;
    Ok(browser.wait_until_script(what, WAIT, "window.__outcome").await?)
}

/// Posts to the console's API from the page, with or without the session's CSRF token.
async fn post_from_page(browser: &Browser, path: &str, with_token: bool) -> anyhow::Result<Value> {
    let script = format!(
        r#"(async () => {{
            const me = await (await fetch('/console/api/me')).json();
            const headers = {{'Content-Type': 'application/json'}};
            if ({with_token}) headers['X-CSRF-Token'] = me.csrf_token;
            const response = await fetch('{path}', {{method: 'POST', headers, body: '{{}}'}});
            window.__outcome = {{status: response.status, body: await response.text()}};
        }})();"#
    );
    in_page(browser, &format!("POST {path}"), &script).await
}

async fn campaign_status(console: &Console) -> String {
    let campaign = console.store.campaign("reminders").await.expect("read").expect("campaign reminders");
    campaign.status.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_refused_and_the_right_one_opens_the_board() -> anyhow::Result<()> {
    let console = Console::start(None).await;
    let browser = Browser::start(&artifacts()).await?;
    browser.goto(&console.url("/console")).await?;
    browser.wait_for("#login-username", WAIT).await?.send_keys("ana").await?;
    browser.find("#login-password").await?.send_keys("not the password").await?;
    browser.find("#login-submit").await?.click().await?;
    browser
        .wait_until_script("the login error", WAIT, "document.querySelector('#login-error').textContent.trim()")
        .await?;
    assert!(browser.find("#whoami").await.is_err() || !browser.find("#whoami").await?.is_displayed().await?);

    log_in(&browser, &console, "ana").await?;
    assert_eq!(browser.find("#page-title").await?.text().await?, "Llamadas en curso");
    let cookies = browser.cookies().await?;
    let session = cookies.iter().find(|cookie| cookie["name"] == "cobranza_session").expect("session cookie");
    assert_eq!(session["httpOnly"], json!(true));
    assert_eq!(session["sameSite"], json!("Strict"));
    let audit = console.store.audit_entries(10).await?;
    let actions: Vec<(&str, &str)> =
        audit.iter().map(|entry| (entry.username.as_str(), entry.action.as_str())).collect();
    assert_eq!(actions, [("ana", "login"), ("ana", "login_failed")]);
    browser.quit().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_follows_a_live_call_and_listens_in() -> anyhow::Result<()> {
    let whisper = WhisperPool::load(&WhisperSettings::from_config(&{
        let mut config = Config::embedded();
        config.speech.whisper_model_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/whisper-base");
        config
    }))
    .expect("run scripts/setup to fetch the model");
    let console = Console::start(Some(Arc::new(WhisperStt::new(whisper)))).await;
    let browser = Browser::start(&artifacts()).await?;
    log_in(&browser, &console, "ana").await?;

    let account = console.store.account_by_debtor(&DebtorId("MX-0001".into())).await?.expect("debtor MX-0001");
    let attempt_id = console.store.create_attempt(&NewAttempt::outbound(&account, now())).await?;
    let persona = persona::build("cooperative", &account, now().date_naive()).expect("persona");
    let call = console.server.simulated_call(attempt_id, &account, persona, &console.config);
    let mut events = console.server.bus.subscribe();
    let running = tokio::spawn(simulator::run(call));

    let row = format!("#board tr[data-attempt=\"{attempt_id}\"]");
    browser.wait_for(&row, WAIT).await?;
    browser.wait_for_text(&format!("{row} .c-phone"), "•••", WAIT).await?;
    browser.screenshot("board").await?;
    browser.find(&row).await?.click().await?;
    browser.wait_for("#transcript", WAIT).await?;

    // A bot line arrives while the call runs, and then another one.
    let lines = "document.querySelectorAll('#transcript .line:not(.interim)').length";
    let first = browser.wait_until_script("a first transcript line", WAIT, &format!("{lines} >= 1 && {lines}")).await?;
    let first = first.as_u64().expect("a count");
    browser.wait_until_script("a later transcript line", WAIT, &format!("{lines} > {first}")).await?;
    assert!(console.store.attempt(attempt_id).await?.expect("attempt").disposition.is_none(), "the call still runs");

    // Listen in: a test client on the same endpoint sees every frame the page can get.
    let cookies = browser.cookies().await?;
    let session = cookies.iter().find(|cookie| cookie["name"] == "cobranza_session").expect("session cookie");
    let cookie = format!("cobranza_session={}", session["value"].as_str().expect("cookie value"));
    let listener = tokio::spawn(collect_frames(console.url(&format!("/console/ws/calls/{attempt_id}/audio")), cookie));
    tokio::time::sleep(Duration::from_millis(500)).await;
    browser.find("#listen-button").await?.click().await?;
    browser
        .wait_until_script(
            "listen-in frames of both sides",
            WAIT,
            "window.cobranzaListen && cobranzaListen.callerFrames > 25 && cobranzaListen.botFrames > 25",
        )
        .await?;
    browser.screenshot("call-view").await?;
    let heard = browser
        .execute(
            "return {bytes: Array.from(cobranzaListen.lastBotBytes), samples: Array.from(cobranzaListen.lastBotSamples), \
             callerBytes: Array.from(cobranzaListen.lastCallerBytes), callerSamples: Array.from(cobranzaListen.lastCallerSamples)};",
            &[],
        )
        .await?;
    let numbers = |key: &str| -> Vec<i64> {
        heard[key].as_array().expect(key).iter().map(|v| v.as_i64().expect("number")).collect()
    };
    let (bot_bytes, bot_samples) = (numbers("bytes"), numbers("samples"));
    let (caller_bytes, caller_samples) = (numbers("callerBytes"), numbers("callerSamples"));
    for (bytes, samples) in [(&bot_bytes, &bot_samples), (&caller_bytes, &caller_samples)] {
        assert_eq!(bytes.len(), 160, "a frame is 20 ms of μ-law");
        let raw: Vec<u8> = bytes.iter().map(|&byte| byte as u8).collect();
        let decoded: Vec<i64> = cobranza::audio::mulaw::decode_slice(&raw).into_iter().map(i64::from).collect();
        assert_eq!(samples, &decoded, "the page decodes μ-law as G.711 does");
    }

    // The outcome, and the promise when the call got one, show as they happen.
    let shown_disposition = browser
        .wait_until_script(
            "the disposition",
            Duration::from_secs(180),
            "document.querySelector('#call-disposition').dataset.disposition",
        )
        .await?;
    running.await??;
    loop {
        if let cobranza::call::CallEvent::Ended { attempt_id: ended, .. } = events.recv().await? {
            if ended == attempt_id {
                break;
            }
        }
    }
    let frames = listener.await??;
    let raw: Vec<u8> = bot_bytes.iter().map(|&byte| byte as u8).collect();
    assert!(frames.iter().any(|frame| frame[0] == 1 && frame[1..] == raw[..]), "the page's bot frame crossed the call");
    let raw: Vec<u8> = caller_bytes.iter().map(|&byte| byte as u8).collect();
    assert!(
        frames.iter().any(|frame| frame[0] == 0 && frame[1..] == raw[..]),
        "the page's caller frame crossed the call"
    );

    let attempt = console.store.attempt(attempt_id).await?.expect("attempt");
    assert_eq!(shown_disposition, json!(attempt.disposition.expect("stored disposition").as_str()));
    let promises = console.store.promises_for_attempt(attempt_id).await?;
    let promise_text = browser.find("#call-promise").await?.text().await?;
    let promise_shown = browser.execute("return !document.querySelector('#call-promise .empty');", &[]).await?;
    assert_eq!(promise_shown, json!(!promises.is_empty()), "{promise_text}");
    if let Some(stored) = promises.first() {
        // es-419 writes MXN 4500 as "MXN 4,500.00".
        let whole = stored.promise.amount.amount_minor / 100;
        let grouped = format!("{},{:03}", whole / 1000, whole % 1000);
        assert!(promise_text.contains(&grouped), "{promise_text} shows {grouped}");
    }
    // Opened again from the history, the finished call shows each stored turn's timings.
    let turns = console.store.turns(attempt_id).await?;
    assert!(!turns.is_empty(), "the call's turns are stored");
    browser.goto(&console.url(&format!("/console#/history?debtor=MX-0001"))).await?;
    browser.wait_for(&format!("#history-results tr[data-attempt=\"{attempt_id}\"]"), WAIT).await?;
    browser.goto(&console.url(&format!("/console#/calls/{attempt_id}"))).await?;
    browser
        .wait_until_script(
            "one latency bar per stored turn",
            WAIT,
            &format!("document.querySelectorAll('#latency-strip .bar').length === {}", turns.len()),
        )
        .await?;
    let stored = console.store.transcript(attempt_id).await?;
    let shown = browser.execute(&format!("return {lines};"), &[]).await?;
    assert_eq!(shown.as_u64(), Some(stored.len() as u64), "every stored line is on the page");
    let audit = console.store.audit_entries(20).await?;
    assert!(
        audit.iter().any(|entry| entry.username == "ana"
            && entry.action == "listen_in"
            && entry.target == attempt_id.to_string()),
        "{audit:?}"
    );
    browser.quit().await?;
    Ok(())
}

/// Reads a listen-in socket as the page does, until the call ends.
async fn collect_frames(url: String, cookie: String) -> anyhow::Result<Vec<Vec<u8>>> {
    use futures_util::StreamExt as _;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
    use tokio_tungstenite::tungstenite::Message;
    let mut request = url.replace("http://", "ws://").into_client_request()?;
    request.headers_mut().insert("cookie", cookie.parse()?);
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await?;
    let mut frames = Vec::new();
    while let Some(message) = socket.next().await {
        match message? {
            Message::Binary(bytes) => frames.push(bytes.to_vec()),
            Message::Close(_) => break,
            _ => {}
        }
    }
    Ok(frames)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kpi_page_shows_the_figures_of_cobranza_kpi_json() -> anyhow::Result<()> {
    let console = Console::start(None).await;
    let printed: Value = serde_json::from_str(&cobranza(
        console.data_dir.path(),
        &["kpi", "--json", "--from", "2026-06-01", "--to", "2026-11-30", "--by", "day"],
    ))?;
    let browser = Browser::start(&artifacts()).await?;
    log_in(&browser, &console, "ana").await?;
    browser.goto(&console.url("/console#/kpis?from=2026-06-01&to=2026-11-30&by=day")).await?;
    browser
        .wait_until_script("the KPI figures", WAIT, "document.querySelectorAll('#kpi-page [data-kpi]').length > 20")
        .await?;
    browser.screenshot("kpis").await?;
    let shown = browser
        .execute(
            "return Array.from(document.querySelectorAll('#kpi-page [data-kpi]')).map(e => [e.dataset.kpi, e.dataset.value, e.dataset.country || null]);",
            &[],
        )
        .await?;
    let mut compared = Vec::new();
    let mut by_country: std::collections::BTreeMap<String, Value> = std::collections::BTreeMap::new();
    for entry in shown.as_array().expect("figures") {
        let (path, value) = (entry[0].as_str().expect("path"), entry[1].as_str().unwrap_or("null"));
        // A figure of one country's breakdown is checked against `cobranza kpi --country`.
        let report = match entry[2].as_str() {
            None => &printed,
            Some(country) => by_country.entry(country.to_string()).or_insert_with(|| {
                serde_json::from_str(&cobranza(
                    console.data_dir.path(),
                    &[
                        "kpi",
                        "--json",
                        "--from",
                        "2026-06-01",
                        "--to",
                        "2026-11-30",
                        "--by",
                        "day",
                        "--country",
                        country,
                    ],
                ))
                .expect("JSON")
            }),
        };
        let expected = path
            .split('.')
            .try_fold(report, |node, key| match key.parse::<usize>() {
                Ok(index) => node.get(index),
                Err(_) => node.get(key),
            })
            .unwrap_or_else(|| panic!("the page shows {path}, which `cobranza kpi --json` does not have"));
        let shown: Value =
            serde_json::from_str(value).unwrap_or_else(|_| panic!("{path}: data-value {value} is not JSON"));
        match (shown.as_f64(), expected.as_f64()) {
            (Some(shown), Some(expected)) => assert_eq!(shown, expected, "{path} {:?}", entry[2]),
            _ => assert_eq!(&shown, expected, "{path} {:?}", entry[2]),
        }
        compared.push(path.to_string());
    }
    for funnel in [
        "kpis.dials",
        "kpis.connects",
        "kpis.right_party_contacts",
        "kpis.promises",
        "kpis.promise_kept_rate.numerator",
    ] {
        assert!(compared.iter().any(|path| path == funnel), "the page shows {funnel}: {compared:?}");
    }
    assert!(printed["kpis"]["dials"].as_u64().unwrap_or_default() > 1_000, "the history has calls in the range");
    assert!(!by_country.is_empty(), "the page breaks the figures down by country");
    browser.quit().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_language_switch_is_remembered_per_user() -> anyhow::Result<()> {
    let console = Console::start(None).await;
    let browser = Browser::start(&artifacts()).await?;
    log_in(&browser, &console, "ana").await?;
    assert_eq!(browser.execute("return document.documentElement.lang;", &[]).await?, json!("es-419"));
    browser.find("#language-switch").await?.click().await?;
    browser.wait_for_text("#page-title", "Calls in progress", WAIT).await?;
    assert_eq!(browser.execute("return document.documentElement.lang;", &[]).await?, json!("en"));
    assert_eq!(console.store.user("ana").await?.expect("ana").language.as_str(), "en");

    // A new page of the same user opens in English; another user still gets Spanish.
    browser.goto(&console.url("/console#/campaigns")).await?;
    browser.wait_for_text("#page-title", "Campaigns", WAIT).await?;
    let other = Browser::start(&artifacts()).await?;
    log_in(&other, &console, "admin").await?;
    assert_eq!(other.find("#page-title").await?.text().await?, "Llamadas en curso");
    other.quit().await?;

    browser.find("#language-switch").await?.click().await?;
    browser.wait_for_text("#page-title", "Campañas", WAIT).await?;
    assert_eq!(console.store.user("ana").await?.expect("ana").language.as_str(), "es");
    browser.quit().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auditor_sees_masked_data_and_cannot_pause_a_campaign() -> anyhow::Result<()> {
    let console = Console::start(None).await;
    let browser = Browser::start(&artifacts()).await?;
    log_in(&browser, &console, "auditoria").await?;

    browser.goto(&console.url("/console#/campaigns")).await?;
    browser.wait_for("#campaigns tr[data-campaign=\"reminders\"]", WAIT).await?;
    let buttons = browser.find_all("#campaigns tr[data-campaign=\"reminders\"] button.pause").await?;
    for button in &buttons {
        assert!(!button.is_displayed().await?, "an auditor gets no pause button");
    }
    let refused = post_from_page(&browser, "/console/api/campaigns/reminders/pause", true).await?;
    assert_eq!(refused["status"], json!(403), "{refused}");
    assert_eq!(campaign_status(&console).await, "running");

    let account = console.store.account_by_debtor(&DebtorId("MX-0001".into())).await?.expect("debtor");
    browser.goto(&console.url("/console#/debtors/MX-0001")).await?;
    browser.wait_for("#debtor", WAIT).await?;
    let page = browser.wait_for_text("#debtor", "M.", WAIT).await?;
    assert!(!page.contains(&account.debtor.full_name), "the auditor sees no full name: {page}");
    assert!(!page.contains(&account.debtor.phone), "the auditor sees no whole phone number: {page}");
    assert!(!page.contains(&account.debtor.national_id_last4), "{page}");

    browser.goto(&console.url("/console#/history")).await?;
    browser.wait_for("#history-results tbody tr", WAIT).await?;
    let history = browser.find("#history-results").await?.text().await?;
    assert!(history.contains("•••"), "phones are masked: {history}");
    assert!(!history.contains("+52"), "no whole phone number: {history}");
    browser.quit().await?;

    // A supervisor pauses it from the same page, and the audit log says who.
    let browser = Browser::start(&artifacts()).await?;
    log_in(&browser, &console, "ana").await?;
    browser.goto(&console.url("/console#/campaigns")).await?;
    browser.wait_for("#campaigns tr[data-campaign=\"reminders\"] button.pause", WAIT).await?.click().await?;
    browser.wait_until_script("the campaign paused", WAIT, "document.querySelector('#campaigns tr[data-campaign=\"reminders\"] button.resume') && document.querySelector('#campaigns tr[data-campaign=\"reminders\"] button.resume').offsetParent !== null").await?;
    assert_eq!(campaign_status(&console).await, "paused");
    let audit = console.store.audit_entries(10).await?;
    assert_eq!(
        (audit[0].username.as_str(), audit[0].action.as_str(), audit[0].target.as_str()),
        ("ana", "campaign_pause", "reminders")
    );
    browser.quit().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_without_the_csrf_token_is_refused() -> anyhow::Result<()> {
    let console = Console::start(None).await;
    let browser = Browser::start(&artifacts()).await?;
    log_in(&browser, &console, "ana").await?;
    let refused = post_from_page(&browser, "/console/api/campaigns/reminders/pause", false).await?;
    assert_eq!(refused["status"], json!(403), "{refused}");
    assert!(refused["body"].as_str().unwrap_or_default().contains("X-CSRF-Token"), "{refused}");
    assert_eq!(campaign_status(&console).await, "running");
    let refused = post_from_page(&browser, "/console/api/me/language", false).await?;
    assert_eq!(refused["status"], json!(403), "{refused}");

    let accepted = post_from_page(&browser, "/console/api/campaigns/reminders/pause", true).await?;
    assert_eq!(accepted["status"], json!(200), "{accepted}");
    assert_eq!(campaign_status(&console).await, "paused");
    browser.quit().await?;
    Ok(())
}
