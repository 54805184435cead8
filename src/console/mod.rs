//! The supervisor console at `/console`: the live board of calls, each call's transcript and
//! audio as it happens, history, promises, campaigns, KPIs and debtors, behind users with roles.
//! The page is one set of static files served from the binary; everything it shows comes from
//! the JSON and WebSocket endpoints here.

mod api;
mod assets;
mod auth;
pub mod board;
pub mod cli;
pub mod notify;
pub mod store;
mod ws;

use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;

use crate::config::ConsoleConfig;
use crate::server::AppState;
use crate::telephony::twilio::rest::TwilioRest;

pub use auth::{hash_password, token_hash as session_token_hash, verify_password, MIN_PASSWORD_CHARS};
pub use board::{Board, LiveCall};
pub use store::ConsoleStore;

/// Everything the console needs besides the call services.
pub struct Console {
    pub store: Arc<dyn ConsoleStore>,
    pub board: Arc<Board>,
    pub settings: ConsoleConfig,
    /// Session cookies carry `Secure` when the console is reached over TLS.
    pub secure_cookies: bool,
    /// Moves live calls to a person; `None` when no REST client is configured.
    pub twilio: Option<TwilioRest>,
}

impl Console {
    pub fn new(
        store: Arc<dyn ConsoleStore>,
        board: Arc<Board>,
        settings: ConsoleConfig,
        public_base_url: &str,
    ) -> Console {
        Console { store, board, settings, secure_cookies: public_base_url.starts_with("https://"), twilio: None }
    }

    pub fn with_twilio(mut self, twilio: TwilioRest) -> Console {
        self.twilio = Some(twilio);
        self
    }
}

/// Stores the turn timings of this node's calls as they happen, for the call view and the
/// history. Each node stores its own calls', so no turn is stored twice.
pub fn record_turns(
    store: Arc<dyn ConsoleStore>,
    clock: Arc<crate::clock::Clock>,
    mut bus: tokio::sync::broadcast::Receiver<crate::call::CallEvent>,
) -> tokio::task::JoinHandle<()> {
    use tokio::sync::broadcast::error::RecvError;
    tokio::spawn(async move {
        loop {
            match bus.recv().await {
                Ok(crate::call::CallEvent::TurnTimings { attempt_id, timings }) => {
                    if let Err(failure) = store.append_turn(attempt_id, clock.now(), &timings).await {
                        tracing::warn!(%attempt_id, error = %failure, "a turn's timings could not be stored");
                    }
                }
                Ok(_) => {}
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "turn timings were missed: the bus overflowed")
                }
                Err(RecvError::Closed) => return,
            }
        }
    })
}

/// Returns the console's routes; each returns 404 when the server runs without a console.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/console", get(assets::index))
        .route("/console/", get(assets::index))
        .route("/console/assets/{*path}", get(assets::file))
        .route("/console/api/login", post(auth::login))
        .route("/console/api/logout", post(auth::logout))
        .route("/console/api/me", get(auth::me))
        .route("/console/api/me/language", post(auth::set_language))
        .route("/console/api/live", get(api::live))
        .route("/console/api/calls", get(api::search_calls))
        .route("/console/api/calls/{id}", get(api::call))
        .route("/console/api/calls/{id}/recording", get(api::recording))
        .route("/console/api/calls/{id}/transfer", post(api::transfer))
        .route("/console/api/calls/{id}/end", post(api::end_call))
        .route("/console/api/promises", get(api::promises))
        .route("/console/api/campaigns", get(api::campaigns))
        .route("/console/api/campaigns/{name}/{action}", post(api::campaign_action))
        .route("/console/api/kpis", get(api::kpis))
        .route("/console/api/debtors/{id}", get(api::debtor))
        .route("/console/api/audit", get(api::audit_log))
        .route("/console/ws/board", get(ws::board))
        .route("/console/ws/calls/{id}", get(ws::call))
        .route("/console/ws/calls/{id}/audio", get(ws::listen))
}
