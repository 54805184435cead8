//! The live board: every call running on any node, as supervisors see it, kept from the calls'
//! events. Each change bumps a version, so a page is sent only the calls that changed since the
//! version it last saw.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::{broadcast, watch};

use crate::call::{CallEvent, TurnTimings};
use crate::collections::model::{AttemptId, Disposition};
use crate::collections::Direction;

/// How long an ended call stays on the board with its disposition.
const ENDED_LINGER: Duration = Duration::from_secs(5);
/// Removals remembered for pages that are behind; a page further behind gets a new snapshot.
const REMOVALS_KEPT: usize = 20_000;
/// Calls whose turn timings are kept in memory for the call view, most recent last.
const CALLS_WITH_TURNS: usize = 10_000;
/// Room for bursts of events on their way to the call views.
const VIEW_EVENTS: usize = 16_384;

/// One row of the board. Personal data is already masked: initials and the phone's last digits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LiveCall {
    pub attempt_id: AttemptId,
    pub call_sid: String,
    /// The node holding the call's media stream.
    pub node: String,
    pub debtor: String,
    pub phone: String,
    pub country: String,
    pub campaign: Option<String>,
    pub direction: Direction,
    pub state: String,
    pub started_at: DateTime<Utc>,
    /// The caller's wait for the bot's reply in the last turn, end of speech to first audio.
    pub last_latency_ms: Option<u64>,
    pub disposition: Option<Disposition>,
    #[serde(skip)]
    version: u64,
    #[serde(skip)]
    ended: Option<Instant>,
}

/// A call event and the node whose call published it.
#[derive(Debug, Clone)]
pub struct NodeEvent {
    pub node: String,
    pub event: CallEvent,
}

/// The rows changed and removed on the board after a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changes {
    pub version: u64,
    pub upserts: Vec<LiveCall>,
    pub removed: Vec<AttemptId>,
}

/// Each recent call's turn timings, oldest call first.
#[derive(Default)]
struct Turns {
    by_call: HashMap<AttemptId, Vec<TurnTimings>>,
    order: VecDeque<AttemptId>,
}

#[derive(Default)]
struct Rows {
    calls: HashMap<AttemptId, LiveCall>,
    removed: VecDeque<(u64, AttemptId)>,
    version: u64,
    /// Pages at or after this version get the list of rows removed since.
    removals_known_from: u64,
}

pub struct Board {
    node: String,
    rows: Mutex<Rows>,
    turns: Mutex<Turns>,
    version: watch::Sender<u64>,
    events: broadcast::Sender<Arc<NodeEvent>>,
}

impl Board {
    /// Creates the board of a node; `node` names it in the rows of its own calls.
    pub fn new(node: &str) -> Arc<Board> {
        Arc::new(Board {
            node: node.to_string(),
            rows: Mutex::new(Rows::default()),
            turns: Mutex::new(Turns::default()),
            version: watch::channel(0).0,
            events: broadcast::channel(VIEW_EVENTS).0,
        })
    }

    pub fn node(&self) -> &str {
        &self.node
    }

    /// Applies an event of a call running on `node` and passes it on to the call views.
    // NOTE: a node that dies mid-call never sends its calls' ends, so their rows stay on the
    // other nodes' boards until those restart.
    pub fn apply(&self, node: &str, event: &CallEvent) {
        if let CallEvent::TurnTimings { attempt_id, timings } = event {
            self.keep_turn(*attempt_id, *timings);
        }
        let changed = {
            let mut rows = self.rows.lock().expect("board lock");
            let version = rows.version + 1;
            let changed = match event {
                CallEvent::Started { attempt_id, call_sid, summary } => {
                    let call = LiveCall {
                        attempt_id: *attempt_id,
                        call_sid: call_sid.clone(),
                        node: node.to_string(),
                        debtor: summary.debtor.clone(),
                        phone: summary.phone.clone(),
                        country: summary.country.clone(),
                        campaign: summary.campaign.clone(),
                        direction: summary.direction,
                        state: "not_started".to_string(),
                        started_at: summary.started_at,
                        last_latency_ms: None,
                        disposition: None,
                        version,
                        ended: None,
                    };
                    rows.calls.insert(*attempt_id, call);
                    true
                }
                CallEvent::StateChanged { attempt_id, state } => rows.calls.get_mut(attempt_id).is_some_and(|call| {
                    call.state.clone_from(state);
                    call.version = version;
                    true
                }),
                CallEvent::TurnTimings { attempt_id, timings } => {
                    let latency = timings.first_frame_ms.or(timings.first_audio_ms);
                    rows.calls.get_mut(attempt_id).is_some_and(|call| {
                        call.last_latency_ms = latency;
                        call.version = version;
                        true
                    })
                }
                CallEvent::Ended { attempt_id, disposition } => rows.calls.get_mut(attempt_id).is_some_and(|call| {
                    call.disposition = Some(*disposition);
                    call.ended = Some(Instant::now());
                    call.version = version;
                    true
                }),
                CallEvent::Transcript { .. } | CallEvent::Interim { .. } | CallEvent::PromiseStored { .. } => false,
            };
            if changed {
                rows.version = version;
            }
            changed.then_some(version)
        };
        if let Some(version) = changed {
            self.version.send_replace(version);
        }
        // Events are copied for the call views only while one is open.
        if self.events.receiver_count() > 0 {
            let _ = self.events.send(Arc::new(NodeEvent { node: node.to_string(), event: event.clone() }));
        }
    }

    /// Takes ended calls off the board once they have shown their disposition for a while.
    pub fn sweep(&self, now: Instant) {
        let swept = {
            let mut rows = self.rows.lock().expect("board lock");
            let gone: Vec<AttemptId> = rows
                .calls
                .values()
                .filter(|call| call.ended.is_some_and(|ended| now.duration_since(ended) >= ENDED_LINGER))
                .map(|call| call.attempt_id)
                .collect();
            if gone.is_empty() {
                return;
            }
            rows.version += 1;
            let version = rows.version;
            for attempt_id in gone {
                rows.calls.remove(&attempt_id);
                rows.removed.push_back((version, attempt_id));
            }
            while rows.removed.len() > REMOVALS_KEPT {
                if let Some((version, _)) = rows.removed.pop_front() {
                    rows.removals_known_from = version;
                }
            }
            version
        };
        self.version.send_replace(swept);
    }

    /// Every call on the board and the version it reflects.
    pub fn snapshot(&self) -> (u64, Vec<LiveCall>) {
        let rows = self.rows.lock().expect("board lock");
        let mut calls: Vec<LiveCall> = rows.calls.values().cloned().collect();
        calls.sort_by_key(|call| (call.started_at, call.attempt_id));
        (rows.version, calls)
    }

    /// Returns the calls changed and removed after `version`. Returns `None` when the page is so
    /// far behind that the removals are forgotten, so it needs a new snapshot.
    pub fn changes_since(&self, version: u64) -> Option<Changes> {
        let rows = self.rows.lock().expect("board lock");
        if version < rows.removals_known_from {
            return None;
        }
        let upserts = rows.calls.values().filter(|call| call.version > version).cloned().collect();
        let removed = rows.removed.iter().rev().take_while(|(at, _)| *at > version).map(|(_, id)| *id).collect();
        Some(Changes { version: rows.version, upserts, removed })
    }

    fn keep_turn(&self, attempt_id: AttemptId, timings: TurnTimings) {
        let mut turns = self.turns.lock().expect("turns lock");
        if !turns.by_call.contains_key(&attempt_id) {
            turns.order.push_back(attempt_id);
            if turns.order.len() > CALLS_WITH_TURNS {
                if let Some(oldest) = turns.order.pop_front() {
                    turns.by_call.remove(&oldest);
                }
            }
        }
        turns.by_call.entry(attempt_id).or_default().push(timings);
    }

    /// Returns the turn timings of a recent call, first turn first; empty for a call this node has not
    /// followed since it started.
    pub fn turns(&self, attempt_id: AttemptId) -> Vec<TurnTimings> {
        self.turns.lock().expect("turns lock").by_call.get(&attempt_id).cloned().unwrap_or_default()
    }

    pub fn call(&self, attempt_id: AttemptId) -> Option<LiveCall> {
        self.rows.lock().expect("board lock").calls.get(&attempt_id).cloned()
    }

    pub fn len(&self) -> usize {
        self.rows.lock().expect("board lock").calls.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Wakes when the board changes.
    pub fn watch(&self) -> watch::Receiver<u64> {
        self.version.subscribe()
    }

    /// Subscribes to every call event applied from now on, for the call views.
    pub fn events(&self) -> broadcast::Receiver<Arc<NodeEvent>> {
        self.events.subscribe()
    }

    /// Applies this node's call events from the bus, and sweeps ended calls once a second.
    pub fn follow(self: &Arc<Self>, mut bus: broadcast::Receiver<CallEvent>) -> tokio::task::JoinHandle<()> {
        let board = Arc::clone(self);
        tokio::spawn(async move {
            let mut sweep = tokio::time::interval(Duration::from_secs(1));
            sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    received = bus.recv() => match received {
                        Ok(event) => board.apply(&board.node, &event),
                        Err(broadcast::error::RecvError::Lagged(missed)) => {
                            tracing::warn!(missed, "the live board fell behind the call events; some rows may be stale");
                        }
                        Err(broadcast::error::RecvError::Closed) => return,
                    },
                    _ = sweep.tick() => board.sweep(Instant::now()),
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::CallSummary;

    fn started(id: i64) -> CallEvent {
        CallEvent::Started {
            attempt_id: AttemptId(id),
            call_sid: format!("CA{id}"),
            summary: CallSummary {
                debtor: "M. P.".to_string(),
                phone: "•••5678".to_string(),
                country: "MX".to_string(),
                campaign: Some("march".to_string()),
                direction: Direction::Outbound,
                started_at: DateTime::parse_from_rfc3339("2026-12-05T16:00:00Z").unwrap().with_timezone(&Utc),
            },
        }
    }

    #[test]
    fn changes_carry_only_the_calls_changed_after_the_version_seen() {
        let board = Board::new("node-a");
        board.apply("node-a", &started(1));
        board.apply("node-b", &started(2));
        let (seen, calls) = board.snapshot();
        assert_eq!(seen, 2);
        assert_eq!(calls.iter().map(|call| call.node.as_str()).collect::<Vec<_>>(), ["node-a", "node-b"]);

        board.apply("node-b", &CallEvent::StateChanged { attempt_id: AttemptId(2), state: "negotiating".into() });
        let timings = TurnTimings {
            final_transcript_ms: Some(300),
            decision_ms: Some(310),
            first_audio_ms: Some(700),
            first_frame_ms: Some(720),
            first_mark_ms: None,
        };
        board.apply("node-b", &CallEvent::TurnTimings { attempt_id: AttemptId(2), timings });
        let changes = board.changes_since(seen).unwrap();
        assert_eq!(changes.version, 4);
        assert_eq!(changes.upserts.len(), 1);
        assert_eq!(changes.upserts[0].state, "negotiating");
        assert_eq!(changes.upserts[0].last_latency_ms, Some(720));
        assert!(changes.removed.is_empty());
        assert_eq!(board.changes_since(4).unwrap().upserts, Vec::new());
    }

    #[test]
    fn an_ended_call_shows_its_disposition_then_leaves_the_board() {
        let board = Board::new("node-a");
        board.apply("node-a", &started(7));
        board.apply("node-a", &CallEvent::Ended { attempt_id: AttemptId(7), disposition: Disposition::PromiseToPay });
        assert_eq!(board.call(AttemptId(7)).unwrap().disposition, Some(Disposition::PromiseToPay));
        board.sweep(Instant::now());
        assert_eq!(board.len(), 1, "an ended call lingers");
        board.sweep(Instant::now() + ENDED_LINGER);
        assert_eq!(board.len(), 0);
        let changes = board.changes_since(2).unwrap();
        assert_eq!(changes.removed, vec![AttemptId(7)]);
        assert_eq!(changes.version, 3);
    }

    #[test]
    fn events_of_calls_not_on_the_board_change_nothing() {
        let board = Board::new("node-a");
        board.apply("node-a", &CallEvent::StateChanged { attempt_id: AttemptId(9), state: "greeting".into() });
        assert_eq!(board.snapshot(), (0, Vec::new()));
    }
}
