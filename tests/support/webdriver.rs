//! A minimal W3C WebDriver client for browser tests. Each [`Browser`] runs its own chromedriver
//! on a free loopback port and one headless Chromium session with a fresh profile, so tests can
//! run in parallel.
//!
//! Chromium starts with its background services off (updates, sync, metrics, Safe Browsing,
//! media router, proxy detection), and its host resolver fails every name except `localhost`
//! and `127.0.0.1`. Pages should load from servers the test starts on 127.0.0.1.
//!
//! NOTE: chromedriver 156 and Chromium still connect a UDP socket to 2001:4860:4860::8888 to
//! learn whether IPv6 is routable. Connecting a UDP socket sends no packet, and strace showed
//! no data sent to any address other than loopback.
#![allow(dead_code)]

use std::future::Future;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use base64::Engine as _;
use reqwest::Method;
use serde_json::{json, Value};
use tempfile::TempDir;
use tokio::process::{Child, Command};
use tokio::time::sleep;

/// Debian's `chromium-driver` package installs the driver here.
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// Debian's `chromium` package installs the browser here.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// Pause between two checks of a waited-for condition.
const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// How long chromedriver may take before `/status` returns `ready: true`.
const DRIVER_START_TIMEOUT: Duration = Duration::from_secs(30);
/// Upper bound for one WebDriver command. It is longer than the page load and script
/// timeouts below, so chromedriver reports those itself.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(90);
const PAGE_LOAD_TIMEOUT_MS: u64 = 60_000;
const SCRIPT_TIMEOUT_MS: u64 = 30_000;
/// How many times [`Browser::start`] tries a new port when chromedriver exits at once, which
/// happens when another process took the port between our probe and chromedriver's bind.
const DRIVER_START_ATTEMPTS: usize = 3;

/// The page languages, matching the `--lang` switch in [`CHROMIUM_ARGS`].
const ACCEPT_LANGUAGES: &str = "es-419,es";

/// The JSON key of a web element reference, fixed by the W3C WebDriver specification.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Error codes after which a wait checks again instead of failing, because the page may still be
/// rendering or may have replaced the element between two commands.
const RETRYABLE_ERRORS: &[&str] = &[
    "no such element",
    "stale element reference",
    "element not interactable",
    "element click intercepted",
    "javascript error",
];

/// Chromium switches. The first seven set up a headless browser for tests, and the rest turn
/// off first-run setup and the browser's own network traffic.
const CHROMIUM_ARGS: &[&str] = &[
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
    "--autoplay-policy=no-user-gesture-required",
    "--lang=es-419",
    "--no-first-run",
    "--no-default-browser-check",
    "--no-pings",
    "--no-proxy-server",
    "--disable-background-networking",
    "--disable-sync",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-breakpad",
    "--metrics-recording-only",
    "--disable-features=MediaRouter,DialMediaRouteProvider,OptimizationHints,Translate,AutofillServerCommunication",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
];

/// A failed WebDriver operation, with the action that failed and what the driver reported.
#[derive(Debug, thiserror::Error)]
pub enum WebDriverError {
    #[error("chromedriver failed to start: {0}")]
    Start(String),
    #[error("chromedriver exited with {status} right after starting on port {port}. Its output:\n{log}")]
    DriverExited { port: u16, status: String, log: String },
    #[error("{action}: request to chromedriver failed: {source}")]
    Transport {
        action: String,
        #[source]
        source: reqwest::Error,
    },
    /// An error response from chromedriver. `error` is the W3C error code, e.g. `invalid selector`.
    #[error("{action}: {error}: {message}")]
    Command { action: String, error: String, message: String },
    #[error("{action}: unexpected response from chromedriver: {detail}")]
    Protocol { action: String, detail: String },
    #[error("no element matches CSS selector `{selector}` on {url}")]
    NoSuchElement { selector: String, url: String },
    #[error("timed out after {timeout:?} waiting for {condition}, last seen: {last_seen}")]
    Timeout { condition: String, timeout: Duration, last_seen: String },
    #[error("invalid screenshot name {0:?}: use only letters, digits, '-' and '_'")]
    InvalidName(String),
    #[error("failed to write {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl WebDriverError {
    /// Returns true when a wait should check again after this error instead of failing at once.
    fn is_retryable(&self) -> bool {
        match self {
            WebDriverError::NoSuchElement { .. } => true,
            WebDriverError::Command { error, .. } => RETRYABLE_ERRORS.contains(&error.as_str()),
            _ => false,
        }
    }
}

/// The outcome of one check in [`Browser::wait_until`] whose condition does not hold yet.
#[derive(Debug)]
pub enum NotYet {
    /// What the check saw instead, reported in the timeout error.
    Seen(String),
    /// A failed command. The wait checks again after the errors in [`RETRYABLE_ERRORS`] and
    /// returns any other error at once.
    Failed(WebDriverError),
}

impl From<WebDriverError> for NotYet {
    fn from(error: WebDriverError) -> Self {
        NotYet::Failed(error)
    }
}

/// The HTTP client and URL of one WebDriver session, shared by a browser and its elements.
#[derive(Clone)]
struct Session {
    http: reqwest::Client,
    /// `http://127.0.0.1:PORT/session/ID`
    url: String,
}

impl Session {
    /// Sends one command to a path under the session URL and returns the response's `value`.
    async fn command(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        action: &str,
    ) -> Result<Value, WebDriverError> {
        send_command(&self.http, method, &format!("{}{path}", self.url), body, action).await
    }
}

/// Sends one WebDriver command and returns the `value` of a success response. POST commands
/// need a JSON body even when they take no parameters, so callers pass `Some(json!({}))`.
async fn send_command(
    http: &reqwest::Client,
    method: Method,
    url: &str,
    body: Option<Value>,
    action: &str,
) -> Result<Value, WebDriverError> {
    let mut request = http.request(method, url);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let transport = |source| WebDriverError::Transport { action: action.to_owned(), source };
    let response = request.send().await.map_err(transport)?;
    let status = response.status();
    let text = response.text().await.map_err(transport)?;
    let mut parsed: Value = serde_json::from_str(&text).map_err(|_| WebDriverError::Protocol {
        action: action.to_owned(),
        detail: format!("HTTP {status} with a body that is not JSON: {text:?}"),
    })?;
    let value = parsed.get_mut("value").map(Value::take).unwrap_or(Value::Null);

    if status.is_success() {
        return Ok(value);
    }
    let error = value["error"].as_str().unwrap_or("unknown error").to_owned();
    let message = value["message"].as_str().unwrap_or(&text);
    // chromedriver starts most messages with the error code, which the error shows already, and
    // ends them with a line naming the browser version, which is in the chromedriver log.
    let message = message.strip_prefix(&format!("{error}: ")).unwrap_or(message);
    let message = message.split("\n  (Session info:").next().unwrap_or(message).to_owned();
    Err(WebDriverError::Command { action: action.to_owned(), error, message })
}

/// A headless Chromium driven through its own chromedriver process.
///
/// Call [`Browser::quit`] at the end of a test. A browser dropped without `quit`, as when a
/// test panics, kills chromedriver and Chromium with SIGKILL and keeps the chromedriver log.
pub struct Browser {
    session: Session,
    artifacts: PathBuf,
    /// Declared before `profile` so that the processes are killed before the profile is removed.
    driver: Driver,
    profile: TempDir,
}

impl Browser {
    /// Starts chromedriver on a free port of 127.0.0.1 and opens a session. Screenshots and
    /// chromedriver's log go to `artifacts`, which is created if missing.
    pub async fn start(artifacts: &Path) -> Result<Browser, WebDriverError> {
        std::fs::create_dir_all(artifacts)
            .map_err(|source| WebDriverError::Io { path: artifacts.to_owned(), source })?;
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(COMMAND_TIMEOUT)
            .build()
            .map_err(|source| WebDriverError::Transport { action: "build the HTTP client".into(), source })?;

        let mut attempt = 1;
        let driver = loop {
            match Driver::start(&http, artifacts).await {
                Ok(driver) => break driver,
                Err(WebDriverError::DriverExited { .. }) if attempt < DRIVER_START_ATTEMPTS => attempt += 1,
                Err(error) => return Err(error),
            }
        };
        let (session, profile) = open_session(http, &driver.url).await?;
        Ok(Browser { session, artifacts: artifacts.to_owned(), driver, profile })
    }

    /// Loads `url` and returns when the page has loaded.
    pub async fn goto(&self, url: &str) -> Result<(), WebDriverError> {
        self.session.command(Method::POST, "/url", Some(json!({ "url": url })), &format!("open {url}")).await?;
        Ok(())
    }

    /// Returns the URL of the current page.
    pub async fn url(&self) -> Result<String, WebDriverError> {
        let value = self.session.command(Method::GET, "/url", None, "read the current URL").await?;
        expect_string(value, "read the current URL")
    }

    /// Returns the first element that matches the CSS selector, or
    /// [`WebDriverError::NoSuchElement`] at once when none does.
    pub async fn find(&self, css: &str) -> Result<Element, WebDriverError> {
        let action = format!("find `{css}`");
        let body = json!({ "using": "css selector", "value": css });
        match self.session.command(Method::POST, "/element", Some(body), &action).await {
            Ok(value) => Element::from_reference(&self.session, &value, css.to_owned(), &action),
            Err(WebDriverError::Command { error, .. }) if error == "no such element" => {
                let url = self.url().await.unwrap_or_else(|error| format!("an unknown page ({error})"));
                Err(WebDriverError::NoSuchElement { selector: css.to_owned(), url })
            }
            Err(error) => Err(error),
        }
    }

    /// Returns every element that matches the CSS selector, in document order.
    pub async fn find_all(&self, css: &str) -> Result<Vec<Element>, WebDriverError> {
        let action = format!("find all `{css}`");
        let body = json!({ "using": "css selector", "value": css });
        let value = self.session.command(Method::POST, "/elements", Some(body), &action).await?;
        let Value::Array(references) = value else {
            return Err(WebDriverError::Protocol { action, detail: format!("expected an array, got {value}") });
        };
        references
            .iter()
            .enumerate()
            .map(|(index, reference)| {
                Element::from_reference(&self.session, reference, format!("{css} (match {index})"), &action)
            })
            .collect()
    }

    /// Runs `script` as the body of a synchronous JavaScript function with `args` as
    /// `arguments`, and returns what it returns. Pass [`Element::reference`] to hand an
    /// element to the script.
    pub async fn execute(&self, script: &str, args: &[Value]) -> Result<Value, WebDriverError> {
        let body = json!({ "script": script, "args": args });
        let action = format!("run script `{}`", abbreviate(script));
        self.session.command(Method::POST, "/execute/sync", Some(body), &action).await
    }

    /// Waits until an element matches the CSS selector and returns it. The element may still be
    /// hidden. To wait for visibility, call [`Element::is_displayed`] inside [`Browser::wait_until`].
    pub async fn wait_for(&self, css: &str, timeout: Duration) -> Result<Element, WebDriverError> {
        self.wait_until(&format!("an element matching `{css}`"), timeout, || async move { Ok(self.find(css).await?) })
            .await
    }

    /// Waits until the first element matching the CSS selector has text that contains
    /// `contains`, and returns its whole text.
    pub async fn wait_for_text(&self, css: &str, contains: &str, timeout: Duration) -> Result<String, WebDriverError> {
        let condition = format!("`{css}` to contain {contains:?}");
        self.wait_until(&condition, timeout, || async move {
            let text = self.find(css).await?.text().await?;
            if text.contains(contains) {
                Ok(text)
            } else {
                Err(NotYet::Seen(format!("text {text:?}")))
            }
        })
        .await
    }

    /// Runs `check` every [`POLL_INTERVAL`] until it returns `Ok`, and returns that value.
    ///
    /// `check` returns [`NotYet::Seen`] with what it saw when its condition does not hold yet.
    /// A `?` on a WebDriver call inside `check` turns its error into [`NotYet::Failed`]. After
    /// `timeout`, the error names `condition` and the last thing seen.
    pub async fn wait_until<T, F, Fut>(
        &self,
        condition: &str,
        timeout: Duration,
        mut check: F,
    ) -> Result<T, WebDriverError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, NotYet>>,
    {
        let deadline = Instant::now() + timeout;
        loop {
            let last_seen = match check().await {
                Ok(value) => return Ok(value),
                Err(NotYet::Seen(seen)) => seen,
                Err(NotYet::Failed(error)) if error.is_retryable() => error.to_string(),
                Err(NotYet::Failed(error)) => return Err(error),
            };
            if Instant::now() >= deadline {
                return Err(WebDriverError::Timeout { condition: condition.to_owned(), timeout, last_seen });
            }
            sleep(POLL_INTERVAL).await;
        }
    }

    /// Waits until the JavaScript expression is truthy and returns its value.
    pub async fn wait_until_script(
        &self,
        condition: &str,
        timeout: Duration,
        expression: &str,
    ) -> Result<Value, WebDriverError> {
        let script = format!("return ({expression});");
        let script = script.as_str();
        self.wait_until(condition, timeout, || async move {
            let value = self.execute(script, &[]).await?;
            if is_truthy(&value) {
                Ok(value)
            } else {
                Err(NotYet::Seen(format!("`{expression}` returned {value}")))
            }
        })
        .await
    }

    /// Saves a PNG of the viewport as `artifacts/NAME.png` and returns its path. `name` may
    /// contain only ASCII letters, digits, `-` and `_`.
    pub async fn screenshot(&self, name: &str) -> Result<PathBuf, WebDriverError> {
        let valid = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid {
            return Err(WebDriverError::InvalidName(name.to_owned()));
        }
        let action = format!("take screenshot {name}");
        let value = self.session.command(Method::GET, "/screenshot", None, &action).await?;
        let encoded = expect_string(value, &action)?;
        let png = base64::engine::general_purpose::STANDARD.decode(encoded).map_err(|error| {
            WebDriverError::Protocol { action, detail: format!("screenshot is not base64: {error}") }
        })?;

        let path = self.artifacts.join(format!("{name}.png"));
        tokio::fs::write(&path, png).await.map_err(|source| WebDriverError::Io { path: path.clone(), source })?;
        Ok(path)
    }

    /// Returns the cookies visible to the current page as W3C cookie objects (`name`, `value`,
    /// `path`, `domain`, `httpOnly`, ...).
    pub async fn cookies(&self) -> Result<Vec<Value>, WebDriverError> {
        let action = "read cookies";
        match self.session.command(Method::GET, "/cookie", None, action).await? {
            Value::Array(cookies) => Ok(cookies),
            other => Err(WebDriverError::Protocol {
                action: action.into(),
                detail: format!("expected an array, got {other}"),
            }),
        }
    }

    /// Closes the session, then stops chromedriver and anything Chromium left running. The
    /// processes are stopped even when closing the session fails, and that error is returned.
    /// After a clean close the chromedriver log is deleted.
    pub async fn quit(mut self) -> Result<(), WebDriverError> {
        let closed = self.session.command(Method::DELETE, "", None, "close the session").await;
        self.driver.stop().await;
        if closed.is_ok() {
            let _ = std::fs::remove_file(&self.driver.log_path);
        }
        closed.map(drop)
    }
}

/// A chromedriver process in its own process group. Chromium and its helper processes join
/// that group, so killing the group on drop stops all of them.
struct Driver {
    process: Child,
    /// `http://127.0.0.1:PORT`
    url: String,
    /// chromedriver's standard output and error, at log level INFO.
    log_path: PathBuf,
}

impl Driver {
    /// Picks a free port, spawns chromedriver on it and waits until `/status` reports it ready.
    async fn start(http: &reqwest::Client, artifacts: &Path) -> Result<Driver, WebDriverError> {
        let port = free_port()?;
        let log_path = artifacts.join(format!("chromedriver-{port}.log"));
        let log_error = |source| WebDriverError::Io { path: log_path.clone(), source };
        let log = std::fs::File::create(&log_path).map_err(log_error)?;
        let log_for_stderr = log.try_clone().map_err(log_error)?;

        // Without `--allowed-ips`, chromedriver listens on loopback only. With it, chromedriver
        // 156 listens on every interface and filters callers by address, so the flag is left out.
        let process = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .arg("--log-level=INFO")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_for_stderr)
            .kill_on_drop(true)
            .process_group(0)
            .spawn()
            .map_err(|error| {
                WebDriverError::Start(format!(
                    "failed to run {CHROMEDRIVER} (install Debian's chromium-driver): {error}"
                ))
            })?;
        let mut driver = Driver { process, url: format!("http://127.0.0.1:{port}"), log_path };

        let deadline = Instant::now() + DRIVER_START_TIMEOUT;
        loop {
            if let Ok(Some(status)) = driver.process.try_wait() {
                let log = std::fs::read_to_string(&driver.log_path).unwrap_or_default();
                return Err(WebDriverError::DriverExited { port, status: status.to_string(), log });
            }
            let status_url = format!("{}/status", driver.url);
            let status = send_command(http, Method::GET, &status_url, None, "read chromedriver status").await;
            if status.is_ok_and(|status| status["ready"] == Value::Bool(true)) {
                return Ok(driver);
            }
            if Instant::now() >= deadline {
                return Err(WebDriverError::Start(format!(
                    "chromedriver on port {port} was not ready after {DRIVER_START_TIMEOUT:?}, see {}",
                    driver.log_path.display()
                )));
            }
            sleep(POLL_INTERVAL).await;
        }
    }

    /// Kills the process group and reaps chromedriver.
    async fn stop(&mut self) {
        self.kill();
        let _ = self.process.wait().await;
    }

    /// Sends SIGKILL to the process group, unless chromedriver has been reaped already.
    fn kill(&mut self) {
        let Some(pid) = self.process.id() else { return };
        // SAFETY: kill(2) only sends a signal. The group id is chromedriver's pid because it was
        // spawned with `process_group(0)`. That pid cannot be reused while `id()` returns it,
        // because `Child` has not reaped the process yet.
        unsafe {
            libc::kill(-(pid as libc::pid_t), libc::SIGKILL);
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Returns a port that was free on 127.0.0.1 a moment ago. Another process may take it before
/// chromedriver binds it, so [`Browser::start`] retries with a new port.
fn free_port() -> Result<u16, WebDriverError> {
    let no_port = |error| WebDriverError::Start(format!("no free port on 127.0.0.1: {error}"));
    let probe = TcpListener::bind("127.0.0.1:0").map_err(no_port)?;
    Ok(probe.local_addr().map_err(no_port)?.port())
}

/// Creates a Chromium session with a fresh profile, and returns it with the profile directory.
async fn open_session(http: reqwest::Client, driver_url: &str) -> Result<(Session, TempDir), WebDriverError> {
    let profile = tempfile::Builder::new()
        .prefix("cobranza-chromium-")
        .tempdir()
        .map_err(|source| WebDriverError::Io { path: std::env::temp_dir(), source })?;
    let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|arg| arg.to_string()).collect();
    args.push(format!("--user-data-dir={}", profile.path().display()));
    let capabilities = json!({
        "capabilities": {
            "alwaysMatch": {
                "browserName": "chrome",
                "pageLoadStrategy": "normal",
                "timeouts": { "pageLoad": PAGE_LOAD_TIMEOUT_MS, "script": SCRIPT_TIMEOUT_MS, "implicit": 0 },
                "goog:chromeOptions": {
                    "binary": CHROMIUM,
                    "args": args,
                    // Headless Chromium takes `navigator.language` and `Accept-Language` from this
                    // preference, not from `--lang`.
                    "prefs": { "intl": { "accept_languages": ACCEPT_LANGUAGES } },
                },
            }
        }
    });

    let action = "open a Chromium session";
    let value = send_command(&http, Method::POST, &format!("{driver_url}/session"), Some(capabilities), action).await?;
    let Some(session_id) = value["sessionId"].as_str() else {
        return Err(WebDriverError::Protocol { action: action.into(), detail: format!("no sessionId in {value}") });
    };
    Ok((Session { http, url: format!("{driver_url}/session/{session_id}") }, profile))
}

/// An element on the current page. It goes stale when the page replaces or removes it, and
/// its commands then fail with the `stale element reference` error.
#[derive(Clone)]
pub struct Element {
    session: Session,
    id: String,
    /// The selector that found the element, named in errors.
    selector: String,
}

impl std::fmt::Debug for Element {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Element({})", self.selector)
    }
}

impl Element {
    fn from_reference(
        session: &Session,
        reference: &Value,
        selector: String,
        action: &str,
    ) -> Result<Element, WebDriverError> {
        let Some(id) = reference[ELEMENT_KEY].as_str() else {
            return Err(WebDriverError::Protocol {
                action: action.to_owned(),
                detail: format!("expected a web element reference, got {reference}"),
            });
        };
        Ok(Element { session: session.clone(), id: id.to_owned(), selector })
    }

    /// Returns the W3C web element reference, to pass the element to [`Browser::execute`].
    pub fn reference(&self) -> Value {
        json!({ ELEMENT_KEY: self.id })
    }

    /// Clicks the centre of the element after scrolling it into view.
    pub async fn click(&self) -> Result<(), WebDriverError> {
        self.post("/click", json!({}), "click").await
    }

    /// Types `text` into the element, after what it already contains.
    pub async fn send_keys(&self, text: &str) -> Result<(), WebDriverError> {
        self.post("/value", json!({ "text": text }), "type into").await
    }

    /// Empties an input, text area or editable element.
    pub async fn clear(&self) -> Result<(), WebDriverError> {
        self.post("/clear", json!({}), "clear").await
    }

    /// Returns the rendered text, as a user would see it.
    pub async fn text(&self) -> Result<String, WebDriverError> {
        let action = format!("read the text of `{}`", self.selector);
        let value = self.get("/text", &action).await?;
        expect_string(value, &action)
    }

    /// Returns the HTML attribute `name`, or `None` when the element does not have it.
    pub async fn attribute(&self, name: &str) -> Result<Option<String>, WebDriverError> {
        let action = format!("read attribute {name} of `{}`", self.selector);
        match self.get(&format!("/attribute/{name}"), &action).await? {
            Value::Null => Ok(None),
            Value::String(value) => Ok(Some(value)),
            other => {
                Err(WebDriverError::Protocol { action, detail: format!("expected a string or null, got {other}") })
            }
        }
    }

    /// Returns the DOM property `name` (e.g. `value` or `checked`), `null` when it is undefined.
    pub async fn property(&self, name: &str) -> Result<Value, WebDriverError> {
        self.get(&format!("/property/{name}"), &format!("read property {name} of `{}`", self.selector)).await
    }

    /// Returns whether the element is visible, by the displayedness rules of the WebDriver spec.
    pub async fn is_displayed(&self) -> Result<bool, WebDriverError> {
        let action = format!("check whether `{}` is displayed", self.selector);
        match self.get("/displayed", &action).await? {
            Value::Bool(displayed) => Ok(displayed),
            other => Err(WebDriverError::Protocol { action, detail: format!("expected a boolean, got {other}") }),
        }
    }

    async fn post(&self, path: &str, body: Value, verb: &str) -> Result<(), WebDriverError> {
        let action = format!("{verb} `{}`", self.selector);
        self.session.command(Method::POST, &format!("/element/{}{path}", self.id), Some(body), &action).await?;
        Ok(())
    }

    async fn get(&self, path: &str, action: &str) -> Result<Value, WebDriverError> {
        self.session.command(Method::GET, &format!("/element/{}{path}", self.id), None, action).await
    }
}

/// Shortens a script to its first line and at most 80 characters, to name it in an error.
fn abbreviate(script: &str) -> String {
    const MAX_CHARS: usize = 80;
    let first_line = script.trim().lines().next().unwrap_or_default();
    if first_line.chars().count() <= MAX_CHARS && first_line.len() == script.trim().len() {
        return first_line.to_owned();
    }
    let mut short: String = first_line.chars().take(MAX_CHARS).collect();
    short.push_str("...");
    short
}

fn expect_string(value: Value, action: &str) -> Result<String, WebDriverError> {
    match value {
        Value::String(text) => Ok(text),
        other => Err(WebDriverError::Protocol {
            action: action.to_owned(),
            detail: format!("expected a string, got {other}"),
        }),
    }
}

/// Applies JavaScript truthiness to a value returned by a script. WebDriver returns `undefined`
/// and `NaN` as `null`, so every falsy JavaScript value maps to a falsy JSON value here.
fn is_truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(flag) => *flag,
        Value::Number(number) => number.as_f64().is_some_and(|n| n != 0.0),
        Value::String(text) => !text.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}
