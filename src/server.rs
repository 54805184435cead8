//! The axum router that mounts the Twilio webhooks, the media stream and the health check.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::routing::{get, post};
use axum::serve::ListenerExt as _;
use axum::Router;
use tokio::net::TcpListener;
use tracing::info;

use crate::call::{CallRecord, CallServices};
use crate::telephony::twilio::{media, webhooks};

/// The Twilio account the server answers for.
#[derive(Clone)]
pub struct TwilioSettings {
    pub account_sid: String,
    pub auth_token: String,
    /// The base URL Twilio reaches, e.g. `https://calls.example.com`; signatures cover it.
    pub public_base_url: String,
}

impl TwilioSettings {
    /// The WebSocket form of the public base URL (`https` → `wss`, `http` → `ws`).
    pub fn stream_base_url(&self) -> String {
        let base = self.public_base_url.trim_end_matches('/');
        if let Some(rest) = base.strip_prefix("https://") {
            format!("wss://{rest}")
        } else if let Some(rest) = base.strip_prefix("http://") {
            format!("ws://{rest}")
        } else {
            base.to_string()
        }
    }
}

/// State shared by every request.
pub struct AppState {
    pub services: CallServices,
    pub twilio: TwilioSettings,
    /// Single-use tokens minted by `/twilio/voice`, redeemed by the stream's `start`.
    stream_tokens: Mutex<HashMap<String, CallRecord>>,
    /// The calls whose media stream this process holds, by call sid, for carrier events that
    /// arrive over HTTP.
    live_calls: Mutex<HashMap<String, tokio::sync::mpsc::Sender<crate::telephony::Inbound>>>,
    /// Listen-in taps of the calls whose media stream this process holds, by call sid.
    listen_taps: Mutex<HashMap<String, ListenTap>>,
    /// The supervisor console; off when the store has none.
    pub console: Option<Arc<crate::console::Console>>,
    /// The bearer token of `/api/*`; the API is off without one.
    pub api_token: Option<String>,
    /// Today's KPI gauges of `/metrics`, cached between scrapes.
    kpi_gauges: crate::kpi::prometheus::KpiGauges,
}

impl AppState {
    pub fn new(services: CallServices, twilio: TwilioSettings) -> Arc<AppState> {
        AppState::with_api_token(services, twilio, None)
    }

    /// Builds the state with the JSON API on, behind `api_token` (an empty token turns it off).
    pub fn with_api_token(services: CallServices, twilio: TwilioSettings, api_token: Option<String>) -> Arc<AppState> {
        let api_token = api_token.filter(|token| !token.trim().is_empty());
        let kpi_gauges = crate::kpi::prometheus::KpiGauges::new(crate::kpi::prometheus::KPI_GAUGE_TTL);
        Arc::new(AppState {
            services,
            twilio,
            stream_tokens: Mutex::new(HashMap::new()),
            live_calls: Mutex::new(HashMap::new()),
            listen_taps: Mutex::new(HashMap::new()),
            console: None,
            api_token,
            kpi_gauges,
        })
    }

    pub(crate) fn mint_stream_token(&self, record: CallRecord) -> String {
        let token = uuid::Uuid::new_v4().simple().to_string();
        self.stream_tokens.lock().expect("token lock").insert(token.clone(), record);
        token
    }

    pub(crate) fn redeem_stream_token(&self, token: &str) -> Option<CallRecord> {
        self.stream_tokens.lock().expect("token lock").remove(token)
    }

    pub(crate) fn register_live_call(
        &self,
        call_sid: &str,
        events: tokio::sync::mpsc::Sender<crate::telephony::Inbound>,
    ) {
        self.live_calls.lock().expect("live call lock").insert(call_sid.to_string(), events);
    }

    pub(crate) fn unregister_live_call(&self, call_sid: &str) {
        self.live_calls.lock().expect("live call lock").remove(call_sid);
    }

    /// Turns the console on.
    pub fn with_console(mut self: Arc<Self>, console: Arc<crate::console::Console>) -> Arc<Self> {
        Arc::get_mut(&mut self).expect("the console is added before the state is shared").console = Some(console);
        self
    }

    pub(crate) fn open_listen_tap(&self, call_sid: &str) -> ListenTap {
        let tap = ListenTap(tokio::sync::broadcast::channel(LISTEN_TAP_FRAMES).0);
        self.listen_taps.lock().expect("listen tap lock").insert(call_sid.to_string(), tap.clone());
        tap
    }

    pub(crate) fn close_listen_tap(&self, call_sid: &str) {
        self.listen_taps.lock().expect("listen tap lock").remove(call_sid);
    }

    /// Subscribes to a call's audio; `None` when this process does not hold the call's stream.
    pub fn listen(&self, call_sid: &str) -> Option<tokio::sync::broadcast::Receiver<axum::body::Bytes>> {
        self.listen_taps.lock().expect("listen tap lock").get(call_sid).map(|tap| tap.0.subscribe())
    }

    /// Passes a carrier event to the call's session when this process holds its stream. Returns
    /// false when it does not.
    pub(crate) async fn send_to_live_call(&self, call_sid: &str, event: crate::telephony::Inbound) -> bool {
        let sender = self.live_calls.lock().expect("live call lock").get(call_sid).cloned();
        match sender {
            Some(sender) => sender.send(event).await.is_ok(),
            None => false,
        }
    }
}

/// Frames a listener may fall behind before it skips ahead: two seconds of both sides.
const LISTEN_TAP_FRAMES: usize = 200;

/// The side of the call a listen-in frame carries, sent as the frame's first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenSide {
    Caller = 0,
    Bot = 1,
}

/// The audio of one call for supervisors listening in: each message is the side's byte followed
/// by the μ-law frame. No frame is copied while no supervisor listens.
#[derive(Clone)]
pub(crate) struct ListenTap(tokio::sync::broadcast::Sender<axum::body::Bytes>);

impl ListenTap {
    pub(crate) fn send(&self, side: ListenSide, mulaw: &[u8]) {
        if self.0.receiver_count() == 0 {
            return;
        }
        let mut message = Vec::with_capacity(mulaw.len() + 1);
        message.push(side as u8);
        message.extend_from_slice(mulaw);
        let _ = self.0.send(message.into());
    }
}

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/twilio/voice", post(webhooks::voice))
        .route("/twilio/status", post(webhooks::status))
        .route("/twilio/amd", post(webhooks::answering_machine))
        .route("/twilio/media", get(media::upgrade))
        .route("/health", get(|| async { "ok\n" }))
        .route("/metrics", get(metrics_text))
        .route("/api/kpis", get(crate::api::kpis))
        .route("/api/campaigns", get(crate::campaign::api::list).post(crate::campaign::api::create))
        .route("/api/campaigns/{name}", get(crate::campaign::api::show))
        .route("/api/campaigns/{name}/{action}", post(crate::campaign::api::act))
        .merge(crate::console::routes())
        .with_state(state)
}

/// `GET /metrics`: the Prometheus text exposition. It carries counts and timings, no personal data:
/// the process's metrics, then today's KPI gauges per country.
async fn metrics_text(State(state): State<Arc<AppState>>) -> impl axum::response::IntoResponse {
    let today = state.services.clock.now().date_naive();
    let mut text = crate::metrics::metrics().render();
    text.push_str(&state.kpi_gauges.render(state.services.store.as_ref(), today).await);
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}

/// Serves until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    state: Arc<AppState>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let address = listener.local_addr()?;
    info!(%address, public_base_url = %state.twilio.public_base_url, "server listening");
    // Media frames are small writes 20 ms apart: with Nagle's algorithm a frame can wait for the
    // carrier's next packet to acknowledge the previous one, up to a frame late.
    let listener = listener.tap_io(|tcp| {
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::warn!(%error, "TCP_NODELAY could not be set on a connection; its audio may be delayed");
        }
    });
    // The console limits failed logins per client address.
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}
