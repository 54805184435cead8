//! A fake of Twilio's calls API on loopback, for the demo and the tests. It speaks Twilio's wire
//! protocol: the REST endpoints with Basic auth and Twilio's error JSON, signed call-progress and
//! answering-machine-detection callbacks, and, for an answered call, the signed voice webhook and
//! media stream that the carrier simulator runs with the callee's persona.
//!
//! Every call it places is recorded in a call log ([`TwilioFake::call_log`], `GET /fake/calls`)
//! with what was dialled and when, so a checker can judge contact policy from the carrier's side.

mod api;
pub mod callbacks;
pub mod callee;
pub mod cps;
mod driver;
pub mod log;
mod params;
mod state;

use std::io;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::routing::{get, post};
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tracing::info;

pub use self::callbacks::Reorder;
pub use self::callee::{Callee, CalleeBook, CalleeKind, PersonaVoices};
pub use self::log::{CallLogEntry, CallbackKind, SentCallback, StreamRecord, TwimlUpdate};
use self::state::{CallTable, FakeState};
use crate::clock::Clock;

/// Settings of the fake carrier: the account, the calls-per-second limit, timings and callback order.
#[derive(Clone)]
pub struct FakeSettings {
    pub account_sid: String,
    /// Checks the REST requests' Basic auth and signs every callback, webhook and stream upgrade.
    pub auth_token: String,
    /// Calls started per second; calls created faster wait in a queue, as on Twilio. 0 turns the
    /// limit off.
    pub calls_per_second: u32,
    /// How long a phone rings before a person or machine answers or the line reports busy.
    pub ring_time: Duration,
    /// How long answering machine detection takes to report `human`, or `machine_start` with
    /// `MachineDetection=Enable`. With `DetectMessageEnd` a machine is reported when its beep ends.
    pub amd_time: Duration,
    /// Out-of-order delivery of call-progress callbacks; `None` delivers them in order.
    pub reorder: Option<Reorder>,
    pub voices: PersonaVoices,
}

impl FakeSettings {
    /// Settings with Twilio's default of one call per second, a 2 s ring and a 2.5 s detection.
    pub fn new(account_sid: &str, auth_token: &str, voices: PersonaVoices) -> FakeSettings {
        FakeSettings {
            account_sid: account_sid.to_string(),
            auth_token: auth_token.to_string(),
            calls_per_second: 1,
            ring_time: Duration::from_secs(2),
            amd_time: Duration::from_millis(2_500),
            reorder: None,
            voices,
        }
    }
}

/// The running fake. Dropping it leaves the server running until the runtime ends; call
/// [`TwilioFake::stop`] to end it.
pub struct TwilioFake {
    base_url: String,
    state: Arc<FakeState>,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<io::Result<()>>,
}

impl TwilioFake {
    /// Starts the fake on a free loopback port. `book` decides who answers each dialled number;
    /// `clock` times the call log.
    pub async fn start(settings: FakeSettings, book: CalleeBook, clock: Arc<Clock>) -> io::Result<TwilioFake> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .build()
            .map_err(|error| io::Error::other(error.to_string()))?;
        let state = Arc::new(FakeState {
            cps: Mutex::new(cps::CpsQueue::new(settings.calls_per_second)),
            settings,
            book,
            clock,
            http,
            calls: Mutex::new(CallTable::default()),
            rate_limited_creates: AtomicU32::new(0),
            create_requests: AtomicU32::new(0),
            calls_created: AtomicU64::new(0),
            finished: Notify::new(),
        });
        let router = Router::new()
            .route("/2010-04-01/Accounts/{account}/Calls.json", post(api::create_call))
            .route("/2010-04-01/Accounts/{account}/Calls/{call}", post(api::update_call))
            .route("/fake/calls", get(api::call_log))
            .with_state(state.clone());

        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        info!(%base_url, "Twilio fake listening");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
        });
        Ok(TwilioFake { base_url, state, stop, task })
    }

    /// Returns the API base URL to give the REST client, e.g. `http://127.0.0.1:41234`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Returns the call log in creation order.
    pub fn call_log(&self) -> Vec<CallLogEntry> {
        self.state.calls.lock().expect("calls lock").entries.clone()
    }

    /// Answers the next `count` create-call requests with HTTP 429 and Twilio code 20429.
    pub fn rate_limit_next_creates(&self, count: u32) {
        self.state.rate_limited_creates.store(count, Ordering::SeqCst);
    }

    /// Returns how many create-call requests arrived, rejected ones included.
    pub fn create_requests(&self) -> u32 {
        self.state.create_requests.load(Ordering::SeqCst)
    }

    /// Waits until the call has ended and every callback of it was sent, and returns its entry.
    /// Returns `None` for a sid the fake never created.
    pub async fn wait_until_finished(&self, sid: &str) -> Option<CallLogEntry> {
        loop {
            let finished = self.state.finished.notified();
            {
                let mut calls = self.state.calls.lock().expect("calls lock");
                let done = calls.is_finished(sid);
                let entry = calls.get_mut(sid)?;
                if done {
                    return Some(entry.clone());
                }
            }
            finished.await;
        }
    }

    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}
