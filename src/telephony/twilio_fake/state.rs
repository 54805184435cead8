//! State shared by the fake's handlers and call drivers: settings, the callee book, the clock
//! and the table of calls with their log entries.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64};
use std::sync::{Arc, Mutex};

use tokio::sync::{watch, Notify};

use super::callee::CalleeBook;
use super::cps::CpsQueue;
use super::log::CallLogEntry;
use super::FakeSettings;
use crate::clock::Clock;

/// A request to end or redirect a live call, from a call update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum EndRequest {
    /// `Status=completed`: hang up whatever state the call is in.
    HangUp,
    /// `Status=canceled`: end a call that is queued or ringing.
    Cancel,
    /// `Twiml=`: stop the media stream and run this TwiML instead.
    Twiml,
}

pub(super) struct FakeState {
    pub settings: FakeSettings,
    pub book: CalleeBook,
    pub clock: Arc<Clock>,
    /// Sends callbacks; Twilio gives a webhook 15 s.
    pub http: reqwest::Client,
    pub cps: Mutex<CpsQueue>,
    pub calls: Mutex<CallTable>,
    /// Number of upcoming create-call requests to reject with HTTP 429.
    pub rate_limited_creates: AtomicU32,
    /// Create-call requests received, rejected ones included.
    pub create_requests: AtomicU32,
    /// Numbers the calls in creation order, to seed each call's reordering.
    pub calls_created: AtomicU64,
    /// Wakes the tasks waiting for a call to finish.
    pub finished: Notify,
}

/// The calls the fake created, in creation order.
#[derive(Default)]
pub(super) struct CallTable {
    pub entries: Vec<CallLogEntry>,
    index: HashMap<String, usize>,
    /// The end signal of each call whose driver still runs.
    live: HashMap<String, watch::Sender<Option<EndRequest>>>,
    done: std::collections::HashSet<String>,
}

impl CallTable {
    /// Adds a call and returns the receiver its driver watches for end requests.
    pub fn insert(&mut self, entry: CallLogEntry) -> watch::Receiver<Option<EndRequest>> {
        let (sender, receiver) = watch::channel(None);
        self.index.insert(entry.sid.clone(), self.entries.len());
        self.live.insert(entry.sid.clone(), sender);
        self.entries.push(entry);
        receiver
    }

    pub fn get_mut(&mut self, sid: &str) -> Option<&mut CallLogEntry> {
        let index = *self.index.get(sid)?;
        self.entries.get_mut(index)
    }

    /// Passes an end request to a live call's driver; false when the call already ended.
    pub fn request_end(&self, sid: &str, request: EndRequest) -> bool {
        self.live.get(sid).is_some_and(|sender| sender.send(Some(request)).is_ok())
    }

    /// Marks the call ended: later updates find no live call.
    pub fn end(&mut self, sid: &str) {
        self.live.remove(sid);
    }

    /// Marks the driver done: every callback of the call has been sent.
    pub fn finish(&mut self, sid: &str) {
        self.live.remove(sid);
        self.done.insert(sid.to_string());
    }

    pub fn is_finished(&self, sid: &str) -> bool {
        self.done.contains(sid)
    }
}

impl FakeState {
    /// Changes the log entry of `sid` under the lock; `None` for an unknown sid.
    pub fn update<R>(&self, sid: &str, change: impl FnOnce(&mut CallLogEntry) -> R) -> Option<R> {
        self.calls.lock().expect("calls lock").get_mut(sid).map(change)
    }
}
