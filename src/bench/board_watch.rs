//! Watches the server's live board during `bench calls` as a supervisor's page does: one
//! WebSocket on `/console/ws/board`, counting the batches and rows it delivers against the call
//! events the server published.

use std::collections::HashMap;
use std::time::Instant;

use futures_util::StreamExt as _;
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, oneshot};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::Message;

use crate::call::CallEvent;

/// Counts of what the board delivered while the calls ran.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BoardFigures {
    pub seconds: f64,
    pub events_published: u64,
    /// Published events that change a board row: starts, state changes, turn timings, ends.
    pub row_changes_published: u64,
    pub messages: u64,
    pub rows_updated: u64,
    pub rows_removed: u64,
    /// The maximum number of rows the watcher's copy of the board held at once.
    pub max_rows: usize,
    /// Rows whose state in the watcher's copy differs from the server's board at the end.
    pub rows_differing_at_end: usize,
}

impl BoardFigures {
    pub fn per_second(&self, count: u64) -> f64 {
        if self.seconds > 0.0 {
            count as f64 / self.seconds
        } else {
            0.0
        }
    }
}

pub struct BoardWatch {
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<(BoardFigures, HashMap<i64, String>)>>,
}

impl BoardWatch {
    /// Opens the board with the session `cookie` and starts counting `bus`'s events.
    pub async fn start(base_url: &str, cookie: &str, bus: &broadcast::Sender<CallEvent>) -> anyhow::Result<BoardWatch> {
        let url = format!("{}/console/ws/board", base_url.replace("http://", "ws://"));
        let mut request = url.into_client_request()?;
        request.headers_mut().insert("cookie", cookie.parse()?);
        let (mut socket, _) = tokio_tungstenite::connect_async(request).await?;
        let mut events = bus.subscribe();
        let (stop, mut stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let started = Instant::now();
            let mut figures = BoardFigures::default();
            let mut rows: HashMap<i64, String> = HashMap::new();
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    event = events.recv() => match event {
                        Ok(event) => {
                            figures.events_published += 1;
                            let row = matches!(
                                event,
                                CallEvent::Started { .. } | CallEvent::StateChanged { .. }
                                    | CallEvent::TurnTimings { .. } | CallEvent::Ended { .. }
                            );
                            figures.row_changes_published += u64::from(row);
                        }
                        Err(broadcast::error::RecvError::Lagged(missed)) => figures.events_published += missed,
                        Err(broadcast::error::RecvError::Closed) => {}
                    },
                    message = socket.next() => {
                        let Some(message) = message else { break };
                        let Message::Text(text) = message? else { continue };
                        let value: serde_json::Value = serde_json::from_str(&text)?;
                        figures.messages += 1;
                        if value["type"] == "snapshot" {
                            rows.clear();
                        }
                        for row in value["upserts"].as_array().into_iter().chain(value["calls"].as_array()).flatten() {
                            figures.rows_updated += 1;
                            let id = row["attempt_id"].as_i64().unwrap_or_default();
                            rows.insert(id, row["state"].as_str().unwrap_or_default().to_string());
                        }
                        for id in value["removed"].as_array().into_iter().flatten() {
                            figures.rows_removed += 1;
                            rows.remove(&id.as_i64().unwrap_or_default());
                        }
                        figures.max_rows = figures.max_rows.max(rows.len());
                    }
                }
            }
            figures.seconds = started.elapsed().as_secs_f64();
            Ok((figures, rows))
        });
        Ok(BoardWatch { stop, task })
    }

    /// Stops counting and compares the watcher's rows with `board`'s.
    pub async fn finish(self, board: &crate::console::Board) -> anyhow::Result<BoardFigures> {
        // Let the last batch arrive.
        tokio::time::sleep(std::time::Duration::from_millis(600)).await;
        let _ = self.stop.send(());
        let (mut figures, rows) = self.task.await??;
        let (_, calls) = board.snapshot();
        let server: HashMap<i64, String> = calls.into_iter().map(|call| (call.attempt_id.0, call.state)).collect();
        figures.rows_differing_at_end = server.iter().filter(|(id, state)| rows.get(id) != Some(state)).count()
            + rows.keys().filter(|id| !server.contains_key(id)).count();
        Ok(figures)
    }
}
