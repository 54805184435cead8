//! The console's WebSockets: the live board in batches of changes, one call's events as they
//! happen, and listen-in audio. Each upgrade needs a session cookie and, when the browser sends
//! an Origin, one that names this server.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};
use tokio::sync::broadcast::error::RecvError;

use super::auth::{audit, console, Viewer};
use super::Console;
use crate::api::error;
use crate::call::CallEvent;
use crate::collections::model::AttemptId;
use crate::server::AppState;

/// A page that reads slower than this loses its socket rather than holding memory.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// How often an open socket checks that its session still exists and still allows it: a
/// logout, a disabled user or a role taken away closes it within this time.
const SESSION_CHECK: Duration = Duration::from_secs(5);

/// The session that opened a socket, checked again every [`SESSION_CHECK`].
struct Holder {
    state: Arc<AppState>,
    token_hash: String,
    /// Only admins and supervisors may keep it open (listen-in).
    actors_only: bool,
}

impl Holder {
    fn new(state: &Arc<AppState>, viewer: &Viewer, actors_only: bool) -> Holder {
        Holder { state: Arc::clone(state), token_hash: viewer.token_hash.clone(), actors_only }
    }

    async fn still_allowed(&self) -> bool {
        let Some(console) = self.state.console.as_ref() else { return false };
        match console.store.session(&self.token_hash, self.state.services.clock.now()).await {
            Ok(Some(session)) => !(self.actors_only && session.user.role == super::store::Role::Auditor),
            Ok(None) => false,
            // A store that fails for a moment does not cut supervisors off.
            Err(_) => true,
        }
    }
}

fn session_checks() -> tokio::time::Interval {
    let mut checks = tokio::time::interval_at(tokio::time::Instant::now() + SESSION_CHECK, SESSION_CHECK);
    checks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    checks
}

async fn close_for_session(socket: &mut WebSocket) {
    let close = CloseFrame { code: 1008, reason: "the session ended or no longer allows this".into() };
    let _ = socket.send(Message::Close(Some(close))).await;
}

/// Refuses an upgrade sent by a page of another site (cross-site WebSocket hijacking).
fn same_origin(state: &AppState, headers: &HeaderMap) -> Result<(), Response> {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|value| value.to_str().ok()) else {
        return Ok(());
    };
    let host = headers.get(header::HOST).and_then(|value| value.to_str().ok()).unwrap_or_default();
    // The page is served from the public base URL, or straight from this address.
    let public = state.twilio.public_base_url.trim_end_matches('/');
    let secure = state.console.as_ref().is_some_and(|console| console.secure_cookies);
    let direct = format!("{}://{host}", if secure { "https" } else { "http" });
    if !host.is_empty() && (origin == direct || origin == public) {
        return Ok(());
    }
    tracing::warn!(origin, host, "console WebSocket rejected: the page came from another origin");
    Err(error(StatusCode::FORBIDDEN, "this WebSocket only opens from the console's own pages"))
}

async fn send_json(socket: &mut WebSocket, value: &Value) -> bool {
    let text = value.to_string();
    matches!(tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Text(text.into()))).await, Ok(Ok(())))
}

/// `GET /console/ws/board`.
pub(super) async fn board(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    if let Err(response) = same_origin(&state, &headers) {
        return response;
    }
    let console = match console(&state) {
        Ok(console) => Arc::clone(console),
        Err(response) => return response,
    };
    let holder = Holder::new(&state, &viewer, false);
    upgrade.on_upgrade(move |socket| follow_board(console, holder, socket))
}

/// Sends a snapshot, then at most one batch of changed rows per `board_batch_ms`.
async fn follow_board(console: Arc<Console>, holder: Holder, mut socket: WebSocket) {
    let board = &console.board;
    let batch = Duration::from_millis(console.settings.board_batch_ms.max(20));
    let mut changed = board.watch();
    let (mut seen, calls) = board.snapshot();
    let now = || holder.state.services.clock.now();
    if !send_json(&mut socket, &json!({ "type": "snapshot", "calls": calls, "now": now() })).await {
        return;
    }
    let mut checks = session_checks();
    loop {
        tokio::select! {
            result = changed.changed() => if result.is_err() { return },
            _ = checks.tick() => {
                if !holder.still_allowed().await {
                    return close_for_session(&mut socket).await;
                }
                continue;
            }
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                Some(Ok(_)) => continue,
            },
        }
        // Changes that come close together leave in one message.
        tokio::time::sleep(batch).await;
        changed.borrow_and_update();
        let message = match board.changes_since(seen) {
            Some(changes) if changes.upserts.is_empty() && changes.removed.is_empty() => continue,
            Some(changes) => {
                seen = changes.version;
                json!({ "type": "changes", "upserts": changes.upserts, "removed": changes.removed, "now": now() })
            }
            None => {
                let (version, calls) = board.snapshot();
                seen = version;
                json!({ "type": "snapshot", "calls": calls, "now": now() })
            }
        };
        if !send_json(&mut socket, &message).await {
            return;
        }
    }
}

fn parse_attempt(id: &str) -> Result<AttemptId, Response> {
    id.parse::<i64>()
        .map(AttemptId)
        .map_err(|_| error(StatusCode::BAD_REQUEST, &format!("'{id}' is not a call number")))
}

/// `GET /console/ws/calls/{id}`: the call's transcript so far, then its events as they happen.
pub(super) async fn call(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<String>,
    upgrade: WebSocketUpgrade,
) -> Response {
    if let Err(response) = same_origin(&state, &headers) {
        return response;
    }
    let attempt_id = match parse_attempt(&id) {
        Ok(attempt_id) => attempt_id,
        Err(response) => return response,
    };
    let console = match console(&state) {
        Ok(console) => Arc::clone(console),
        Err(response) => return response,
    };
    let full_name = match state.services.store.attempt(attempt_id).await {
        Ok(Some(attempt)) => match state.services.store.account_by_debt(attempt.debt_id).await {
            Ok(account) => account.map(|account| account.debtor.full_name).unwrap_or_default(),
            Err(failure) => return super::auth::store_unavailable(&failure),
        },
        Ok(None) => return error(StatusCode::NOT_FOUND, &format!("no call number {attempt_id}")),
        Err(failure) => return super::auth::store_unavailable(&failure),
    };
    let masked_name = viewer.is_auditor().then_some(full_name);
    let holder = Holder::new(&state, &viewer, false);
    let state = Arc::clone(&state);
    upgrade.on_upgrade(move |socket| follow_call(state, console, holder, attempt_id, masked_name, socket))
}

fn line_json(line: &crate::collections::model::TranscriptLine, masked_name: &Option<String>) -> Value {
    let text = match masked_name {
        Some(name) => super::api::mask_name_in(&line.text, name),
        None => line.text.clone(),
    };
    json!({ "speaker": line.speaker, "text": text, "at": line.at, "cut": line.text.ends_with('…') })
}

async fn follow_call(
    state: Arc<AppState>,
    console: Arc<Console>,
    holder: Holder,
    attempt_id: AttemptId,
    masked_name: Option<String>,
    mut socket: WebSocket,
) {
    // Subscribe before reading the stored lines, so no line falls between the two.
    let mut events = console.board.events();
    let stored = state.services.store.transcript(attempt_id).await.unwrap_or_default();
    let already: HashSet<(String, String)> =
        stored.iter().map(|line| (line.at.to_rfc3339(), line.text.clone())).collect();
    let live = console.board.call(attempt_id);
    let first = json!({
        "type": "history",
        "transcript": stored.iter().map(|line| line_json(line, &masked_name)).collect::<Vec<_>>(),
        "call": live,
        "turns": console.board.turns(attempt_id),
    });
    if !send_json(&mut socket, &first).await {
        return;
    }
    if live.as_ref().is_none_or(|call| call.disposition.is_some()) {
        let disposition = state.services.store.attempt(attempt_id).await.ok().flatten().and_then(|a| a.disposition);
        let _ = send_json(&mut socket, &json!({ "type": "ended", "disposition": disposition })).await;
        return;
    }
    let mut checks = session_checks();
    loop {
        let received = tokio::select! {
            received = events.recv() => received,
            _ = checks.tick() => {
                if !holder.still_allowed().await {
                    return close_for_session(&mut socket).await;
                }
                continue;
            }
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                Some(Ok(_)) => continue,
            },
        };
        let event = match received {
            Ok(event) => event,
            Err(RecvError::Lagged(missed)) => {
                tracing::warn!(%attempt_id, missed, "a call view fell behind the call events");
                continue;
            }
            Err(RecvError::Closed) => return,
        };
        let (message, last) = match &event.event {
            CallEvent::Transcript { attempt_id: id, line } if *id == attempt_id => {
                if already.contains(&(line.at.to_rfc3339(), line.text.clone())) {
                    continue;
                }
                (json!({ "type": "line", "line": line_json(line, &masked_name) }), false)
            }
            CallEvent::Interim { attempt_id: id, text } if *id == attempt_id => {
                let text = match &masked_name {
                    Some(name) => super::api::mask_name_in(text, name),
                    None => text.clone(),
                };
                (json!({ "type": "interim", "text": text }), false)
            }
            CallEvent::StateChanged { attempt_id: id, state } if *id == attempt_id => {
                (json!({ "type": "state", "state": state }), false)
            }
            CallEvent::TurnTimings { attempt_id: id, timings } if *id == attempt_id => {
                (json!({ "type": "turn", "timings": timings }), false)
            }
            CallEvent::PromiseStored { attempt_id: id, promise } if *id == attempt_id => {
                (json!({ "type": "promise", "promise": promise }), false)
            }
            CallEvent::Ended { attempt_id: id, disposition } if *id == attempt_id => {
                (json!({ "type": "ended", "disposition": disposition }), true)
            }
            _ => continue,
        };
        if !send_json(&mut socket, &message).await || last {
            return;
        }
    }
}

/// `GET /console/ws/calls/{id}/audio`: both sides of the call as they cross this node, each
/// binary message the side's byte (0 caller, 1 bot) and a μ-law frame. Admins and supervisors
/// only; every listen-in is audited.
pub(super) async fn listen(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<String>,
    upgrade: WebSocketUpgrade,
) -> Response {
    if let Err(response) = same_origin(&state, &headers) {
        return response;
    }
    if viewer.is_auditor() {
        return error(StatusCode::FORBIDDEN, "auditors cannot listen in to calls");
    }
    let attempt_id = match parse_attempt(&id) {
        Ok(attempt_id) => attempt_id,
        Err(response) => return response,
    };
    let console = match console(&state) {
        Ok(console) => console,
        Err(response) => return response,
    };
    let Some(call) = console.board.call(attempt_id).filter(|call| call.disposition.is_none()) else {
        return error(StatusCode::CONFLICT, &format!("call {attempt_id} is not running"));
    };
    let Some(mut frames) = state.listen(&call.call_sid) else {
        return error(
            StatusCode::CONFLICT,
            &format!("call {attempt_id} runs on node {}: listen in from that node's console", call.node),
        );
    };
    audit(&state, &viewer.user.username, "listen_in", &attempt_id.to_string(), "").await;
    let holder = Holder::new(&state, &viewer, true);
    upgrade.on_upgrade(move |mut socket| async move {
        let mut checks = session_checks();
        loop {
            let frame = tokio::select! {
                frame = frames.recv() => frame,
                _ = checks.tick() => {
                    if !holder.still_allowed().await {
                        return close_for_session(&mut socket).await;
                    }
                    continue;
                }
                incoming = socket.recv() => match incoming {
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                    Some(Ok(_)) => continue,
                },
            };
            match frame {
                Ok(frame) => {
                    let sent = tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Binary(frame))).await;
                    if !matches!(sent, Ok(Ok(()))) {
                        return;
                    }
                }
                // A slow page skips ahead rather than falling further behind the call.
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => {
                    let _ = send_json(&mut socket, &json!({ "type": "ended" })).await;
                    let close = CloseFrame { code: 1000, reason: "call ended".into() };
                    let _ = socket.send(Message::Close(Some(close))).await;
                    return;
                }
            }
        }
    })
}
