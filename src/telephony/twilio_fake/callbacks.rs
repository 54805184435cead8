//! Callbacks the fake sends: signed form POSTs, recorded in the call log in the order sent.
//! Call-progress callbacks may be delivered out of order on purpose, as Twilio's can arrive.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tracing::warn;

use super::log::{CallbackKind, SentCallback};
use super::state::FakeState;
use crate::collections::model::mask_phone;
use crate::telephony::twilio::rest::API_VERSION;
use crate::telephony::twilio::signature;
use crate::telephony::twilio::status::CallStatus;
use crate::telephony::twilio::webhooks::SIGNATURE_HEADER;

/// Delivers callbacks out of order: each call-progress callback is held back with
/// `probability` and sent right after the next one, so `completed` can arrive before `answered`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reorder {
    /// Seeds each call's choices together with the call's creation number.
    pub seed: u64,
    pub probability: f64,
}

/// The call-progress events a request can subscribe to with `StatusCallbackEvent`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ProgressEvent {
    Initiated,
    Ringing,
    Answered,
    /// Sent for every final status, not only `completed`.
    Completed,
}

impl ProgressEvent {
    pub const NAMES: [&'static str; 4] = ["initiated", "ringing", "answered", "completed"];

    fn name(self) -> &'static str {
        match self {
            ProgressEvent::Initiated => "initiated",
            ProgressEvent::Ringing => "ringing",
            ProgressEvent::Answered => "answered",
            ProgressEvent::Completed => "completed",
        }
    }
}

/// The call-progress callbacks of one call: numbers them in the order the events happened and
/// delivers them one at a time, possibly out of order.
pub(super) struct ProgressOutbox {
    url: Option<String>,
    events: Vec<String>,
    /// `CallSid`, `AccountSid`, `From`, `To`, `Direction`, `ApiVersion`.
    call_fields: Vec<(String, String)>,
    next_sequence: u32,
    held_back: Option<Vec<(String, String)>>,
    reorder: Option<(StdRng, f64)>,
}

impl ProgressOutbox {
    /// Creates an outbox for callbacks to `url`. With no events listed, Twilio sends only `completed`.
    pub fn new(
        url: Option<String>,
        events: Vec<String>,
        call_fields: Vec<(String, String)>,
        reorder: Option<Reorder>,
        call_number: u64,
    ) -> ProgressOutbox {
        let events = if events.is_empty() { vec!["completed".to_string()] } else { events };
        let reorder =
            reorder.map(|settings| (StdRng::seed_from_u64(settings.seed ^ call_number), settings.probability));
        ProgressOutbox { url, events, call_fields, next_sequence: 0, held_back: None, reorder }
    }

    /// Reports `status` for `event` if the request subscribed to it. `call_duration` goes with
    /// final statuses.
    pub async fn report(
        &mut self,
        state: &FakeState,
        event: ProgressEvent,
        status: CallStatus,
        call_duration: Option<u64>,
    ) {
        let Some(url) = self.url.clone() else { return };
        if !self.events.iter().any(|subscribed| subscribed == event.name()) {
            return;
        }

        let mut params = self.call_fields.clone();
        params.extend([
            ("CallStatus".to_string(), status.as_str().to_string()),
            ("SequenceNumber".to_string(), self.next_sequence.to_string()),
            ("CallbackSource".to_string(), "call-progress-events".to_string()),
            ("Timestamp".to_string(), state.clock.now().to_rfc2822()),
        ]);
        if let Some(seconds) = call_duration {
            params.push(("CallDuration".to_string(), seconds.to_string()));
        }
        self.next_sequence += 1;

        if let Some(held_back) = self.held_back.take() {
            send(state, CallbackKind::CallProgress, &url, params).await;
            send(state, CallbackKind::CallProgress, &url, held_back).await;
        } else if self.should_hold(status) {
            self.held_back = Some(params);
        } else {
            send(state, CallbackKind::CallProgress, &url, params).await;
        }
    }

    /// Sends a callback still held back, once the call has nothing more to report.
    pub async fn flush(&mut self, state: &FakeState) {
        if let (Some(url), Some(held_back)) = (self.url.clone(), self.held_back.take()) {
            send(state, CallbackKind::CallProgress, &url, held_back).await;
        }
    }

    fn should_hold(&mut self, status: CallStatus) -> bool {
        match &mut self.reorder {
            Some((rng, probability)) if !status.is_final() => rng.gen_bool(probability.clamp(0.0, 1.0)),
            _ => false,
        }
    }
}

/// Returns the fields every callback about a call carries.
pub(super) fn call_fields(call_sid: &str, account_sid: &str, from: &str, to: &str) -> Vec<(String, String)> {
    [
        ("CallSid", call_sid),
        ("AccountSid", account_sid),
        ("From", from),
        ("To", to),
        ("Direction", "outbound-api"),
        ("ApiVersion", API_VERSION),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_string(), value.to_string()))
    .collect()
}

/// POSTs one callback signed with the account's auth token and records it in the call log,
/// first as sent and then with the server's response.
pub(super) async fn send(state: &FakeState, kind: CallbackKind, url: &str, params: Vec<(String, String)>) {
    let call_sid =
        params.iter().find(|(name, _)| name == "CallSid").map(|(_, value)| value.clone()).unwrap_or_default();
    let signed = signature::compute(&state.settings.auth_token, url, &params);
    let record = SentCallback {
        kind,
        url: url.to_string(),
        params: params.clone(),
        sent_at: state.clock.now(),
        response_status: None,
        error: None,
    };
    let position = state.update(&call_sid, |entry| {
        entry.callbacks.push(record);
        entry.callbacks.len() - 1
    });

    let result = state.http.post(url).header(SIGNATURE_HEADER, signed).form(&params).send().await;
    let (response_status, error) = match result {
        Ok(response) => (Some(response.status().as_u16()), None),
        Err(error) => {
            let to = params.iter().find(|(name, _)| name == "To").map_or("", |(_, value)| value.as_str());
            let reason = crate::http::error_chain(&error);
            warn!(%call_sid, to = %mask_phone(to), %url, error = %reason, "callback could not be delivered");
            (None, Some(reason))
        }
    };
    if let Some(position) = position {
        state.update(&call_sid, |entry| {
            let callback = &mut entry.callbacks[position];
            callback.response_status = response_status;
            callback.error = error;
        });
    }
}
