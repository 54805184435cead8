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
    axum::serve(listener, router(state)).with_graceful_shutdown(shutdown).await
}
