//! Call events between nodes through PostgreSQL `LISTEN/NOTIFY`: each node publishes its own
//! calls' events and applies every other node's to its board, so a supervisor on any node sees
//! every call.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::sync::broadcast;

use super::Board;
use crate::call::CallEvent;

/// The notification channel; one per database, so the payload names the schema too.
const CHANNEL: &str = "cobranza_call_events";
/// PostgreSQL refuses payloads of 8000 bytes or more; longer transcript lines are shortened.
const MAX_PAYLOAD_BYTES: usize = 7_900;
const MAX_LINE_CHARS: usize = 1_000;

#[derive(Serialize, Deserialize)]
struct Envelope {
    /// The schema the nodes share: nodes of other schemas in the same database ignore it.
    scope: String,
    node: String,
    event: CallEvent,
}

/// Starts publishing this node's events from `bus` and applying other nodes' events to `board`.
pub fn bridge(pool: PgPool, scope: String, board: Arc<Board>, bus: broadcast::Receiver<CallEvent>) {
    tokio::spawn(publish(pool.clone(), scope.clone(), board.node().to_string(), bus));
    tokio::spawn(listen(pool, scope, board));
}

async fn publish(pool: PgPool, scope: String, node: String, mut bus: broadcast::Receiver<CallEvent>) {
    loop {
        let event = match bus.recv().await {
            Ok(event) => event,
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                tracing::warn!(missed, "call events were not sent to the other nodes: the bus overflowed");
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        let Some(payload) = payload(&scope, &node, event) else { continue };
        if let Err(failure) = sqlx::query("SELECT pg_notify($1, $2)").bind(CHANNEL).bind(&payload).execute(&pool).await
        {
            tracing::warn!(error = %failure, "a call event could not be sent to the other nodes");
        }
    }
}

/// Builds the notification text of an event, with a long transcript line shortened to fit.
fn payload(scope: &str, node: &str, mut event: CallEvent) -> Option<String> {
    if let CallEvent::Transcript { line, .. } = &mut event {
        if line.text.chars().count() > MAX_LINE_CHARS {
            line.text = line.text.chars().take(MAX_LINE_CHARS).collect::<String>() + "…";
        }
    }
    if let CallEvent::Interim { text, .. } = &mut event {
        if text.chars().count() > MAX_LINE_CHARS {
            *text = text.chars().take(MAX_LINE_CHARS).collect();
        }
    }
    let envelope = Envelope { scope: scope.to_string(), node: node.to_string(), event };
    let text = serde_json::to_string(&envelope).ok()?;
    if text.len() > MAX_PAYLOAD_BYTES {
        tracing::warn!(bytes = text.len(), "a call event is too long for the other nodes and was not sent");
        return None;
    }
    Some(text)
}

async fn listen(pool: PgPool, scope: String, board: Arc<Board>) {
    loop {
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(listener) => listener,
            Err(failure) => {
                tracing::warn!(error = %failure, "cannot listen for other nodes' call events; retrying in 5 s");
                tokio::time::sleep(Duration::from_secs(5)).await;
                continue;
            }
        };
        if let Err(failure) = listener.listen(CHANNEL).await {
            tracing::warn!(error = %failure, "LISTEN failed; retrying in 5 s");
            tokio::time::sleep(Duration::from_secs(5)).await;
            continue;
        }
        tracing::info!("following other nodes' calls through PostgreSQL notifications");
        loop {
            // `recv` reconnects by itself; notifications sent while it was away are lost.
            let notification = match listener.recv().await {
                Ok(notification) => notification,
                Err(failure) => {
                    tracing::warn!(error = %failure, "lost the notifications of other nodes; reconnecting");
                    break;
                }
            };
            let envelope: Envelope = match serde_json::from_str(notification.payload()) {
                Ok(envelope) => envelope,
                Err(failure) => {
                    tracing::warn!(error = %failure, "ignored a call event from another node that does not parse");
                    continue;
                }
            };
            if envelope.scope == scope && envelope.node != board.node() {
                board.apply(&envelope.node, &envelope.event);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collections::model::{AttemptId, Speaker, TranscriptLine};

    #[test]
    fn a_long_transcript_line_is_shortened_to_fit_one_notification() {
        let line = TranscriptLine { speaker: Speaker::Debtor, text: "á".repeat(5_000), at: chrono::Utc::now() };
        let text = payload("public", "node-a", CallEvent::Transcript { attempt_id: AttemptId(3), line }).unwrap();
        assert!(text.len() < MAX_PAYLOAD_BYTES);
        let envelope: Envelope = serde_json::from_str(&text).unwrap();
        let CallEvent::Transcript { line, .. } = envelope.event else { panic!("not a transcript line") };
        assert_eq!(line.text.chars().count(), MAX_LINE_CHARS + 1);
        assert_eq!(envelope.node, "node-a");
    }
}
