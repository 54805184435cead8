//! Twilio's HTTP webhooks: `/twilio/voice` answers a call with TwiML that bridges it to the media
//! stream; `/twilio/status` takes call-progress callbacks. Every request must carry a valid
//! `X-Twilio-Signature`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use tracing::{info, warn};

use super::inbound::{self, Answer};
use super::{signature, twiml};
use crate::call::CallRecord;
use crate::campaign::store::CallProgressEvent;
use crate::collections::model::{AttemptId, CallSid, Disposition};
use crate::collections::{AttemptOutcome, StoreError};
use crate::server::AppState;
use crate::telephony::Inbound;

pub const SIGNATURE_HEADER: &str = "x-twilio-signature";

/// Checks the request's signature over the configured public URL and the form body.
pub(crate) fn verify(
    state: &AppState,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    params: &[(String, String)],
) -> Result<(), Response> {
    let path_and_query = uri.path_and_query().map_or(uri.path(), |pq| pq.as_str());
    let url = format!("{}{}", state.twilio.public_base_url.trim_end_matches('/'), path_and_query);
    let provided = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
    if signature::is_valid(&state.twilio.auth_token, &url, params, provided) {
        Ok(())
    } else {
        warn!(%url, "rejected a webhook with a missing or invalid X-Twilio-Signature");
        Err((StatusCode::FORBIDDEN, "invalid X-Twilio-Signature\n").into_response())
    }
}

/// Parses the form body, keeping repeated names, once its signature is checked.
fn verified_form(
    state: &AppState,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Vec<(String, String)>, Response> {
    let params: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
    verify(state, uri, headers, &params)?;
    Ok(params)
}

fn query_param(uri: &axum::http::Uri, name: &str) -> Option<String> {
    let query = uri.query()?;
    url::form_urlencoded::parse(query.as_bytes()).find(|(key, _)| key == name).map(|(_, value)| value.into_owned())
}

fn xml(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/xml")], body).into_response()
}

/// `POST /twilio/voice`: the call was answered (outbound, `?attempt=ID` in the URL we gave
/// Twilio) or is ringing in (inbound: found by the caller's number, or asked for an account
/// number when no single debtor has it).
pub async fn voice(
    State(state): State<Arc<AppState>>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = match verified_form(&state, &uri, &headers, &body) {
        Ok(params) => params,
        Err(rejection) => return rejection,
    };
    let fields: HashMap<&str, &str> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let call_sid = fields.get("CallSid").copied().unwrap_or_default().to_string();

    let attempt_id = match query_param(&uri, "attempt").map(|id| id.parse::<i64>()) {
        Some(Ok(id)) => Some(AttemptId(id)),
        Some(Err(_)) => {
            warn!(%call_sid, "voice webhook has an attempt parameter that is not a number");
            None
        }
        None => match inbound::answer(&state, &fields).await {
            Answer::Known(attempt_id) => Some(attempt_id),
            Answer::Unidentified(id) => return xml(inbound::bridge_unidentified(&state, id)),
            Answer::Failed => None,
        },
    };
    let Some(attempt_id) = attempt_id else {
        return xml(twiml::hangup());
    };
    match state.services.store.attempt(attempt_id).await {
        Ok(Some(attempt)) if attempt.ended_at.is_none() => {}
        Ok(Some(_)) => {
            warn!(%attempt_id, %call_sid, "voice webhook for an attempt that already ended; hanging up");
            return xml(twiml::hangup());
        }
        Ok(None) => {
            warn!(%attempt_id, %call_sid, "voice webhook for an attempt the store does not have; hanging up");
            return xml(twiml::hangup());
        }
        Err(error) => {
            warn!(%attempt_id, %error, "attempt could not be read; hanging up");
            return xml(twiml::hangup());
        }
    }
    if let Err(error) = state.services.store.set_call_sid(attempt_id, &CallSid(call_sid.clone())).await {
        warn!(%attempt_id, %error, "call sid could not be stored; hanging up");
        return xml(twiml::hangup());
    }

    let token = state.mint_stream_token(CallRecord::Attempt(attempt_id));
    let stream_url = format!("{}/twilio/media", state.twilio.stream_base_url());
    let attempt = attempt_id.to_string();
    info!(%attempt_id, %call_sid, "bridging call to the media stream");
    xml(twiml::connect_stream(&stream_url, &[("attempt", &attempt), ("token", &token)]))
}

/// `POST /twilio/status`: call progress. Callbacks may arrive out of order, so the store keeps
/// each by its `SequenceNumber` and the call's status is the one with the highest. A call that
/// ended unanswered (busy, no answer, failed, canceled) gets its outcome here, since no media
/// stream will write one.
pub async fn status(
    State(state): State<Arc<AppState>>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = match verified_form(&state, &uri, &headers, &body) {
        Ok(params) => params,
        Err(rejection) => return rejection,
    };
    let field = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let (Some(call_sid), Some(status)) = (field("CallSid"), field("CallStatus")) else {
        warn!("status callback without CallSid or CallStatus; ignored");
        return (StatusCode::BAD_REQUEST, "CallSid and CallStatus are required\n").into_response();
    };
    let Some(sequence) = field("SequenceNumber").and_then(|n| n.parse::<u32>().ok()) else {
        warn!(%call_sid, "status callback without a numeric SequenceNumber; ignored");
        return (StatusCode::BAD_REQUEST, "SequenceNumber must be a number\n").into_response();
    };
    let now = state.services.clock.now();
    let store = &state.services.store;

    // The callback can beat the REST response that tells the dialer the call's sid.
    if let Some(Ok(attempt_id)) = query_param(&uri, "attempt").map(|id| id.parse::<i64>()) {
        if let Ok(Some(attempt)) = store.attempt(AttemptId(attempt_id)).await {
            if attempt.call_sid.is_none() {
                let _ = store.set_call_sid(AttemptId(attempt_id), &CallSid(call_sid.to_string())).await;
            }
        }
    }

    let event = CallProgressEvent {
        call_sid: call_sid.to_string(),
        sequence,
        status: status.to_string(),
        duration_secs: field("CallDuration").and_then(|d| d.parse().ok()),
        received_at: now,
    };
    let (attempt_id, latest) = match store.record_call_progress(&event).await {
        Ok(Some(found)) => found,
        Ok(None) => {
            info!(%call_sid, call_status = %status, sequence, "status callback for a call without an attempt");
            return StatusCode::NO_CONTENT.into_response();
        }
        Err(error) => {
            warn!(%call_sid, %error, "status callback could not be stored; the carrier will retry");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    info!(%attempt_id, %call_sid, call_status = %status, sequence, latest = %latest, "call status callback");

    let unanswered = match latest.as_str() {
        "busy" => Some(Disposition::Busy),
        "no-answer" => Some(Disposition::NoAnswer),
        "failed" | "canceled" => Some(Disposition::CallFailed),
        _ => None,
    };
    if let Some(disposition) = unanswered {
        let outcome = AttemptOutcome {
            disposition,
            answered: false,
            right_party_contact: false,
            ended_at: now,
            recording_path: None,
            costs: Vec::new(),
        };
        match store.finish_attempt(attempt_id, &outcome).await {
            Ok(()) => info!(%attempt_id, %disposition, "unanswered call finished"),
            // A second terminal callback, or a stream that already wrote the outcome.
            Err(StoreError::NotFound { .. }) => {}
            Err(error) => warn!(%attempt_id, %error, "outcome of an unanswered call could not be stored"),
        }
    }
    StatusCode::NO_CONTENT.into_response()
}

/// `POST /twilio/amd`: the asynchronous answering-machine verdict. A machine gets the
/// jurisdiction's limited-content message from the call's own session, or a hang-up where the
/// jurisdiction prefers that; a person (or `unknown`) keeps talking to the bot.
pub async fn answering_machine(
    State(state): State<Arc<AppState>>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = match verified_form(&state, &uri, &headers, &body) {
        Ok(params) => params,
        Err(rejection) => return rejection,
    };
    let field = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let (Some(call_sid), Some(answered_by)) = (field("CallSid"), field("AnsweredBy")) else {
        warn!("answering-machine callback without CallSid or AnsweredBy; ignored");
        return (StatusCode::BAD_REQUEST, "CallSid and AnsweredBy are required\n").into_response();
    };
    if let Err(error) = state.services.store.record_answered_by(call_sid, answered_by).await {
        warn!(%call_sid, %error, "answering-machine verdict could not be stored");
    }
    let machine = answered_by.starts_with("machine") || answered_by == "fax";
    if machine && !state.send_to_live_call(call_sid, Inbound::AnsweringMachine).await {
        // NOTE: behind a load balancer the verdict can reach a node that does not hold the
        // stream; the session then treats the greeting as a silent caller.
        warn!(%call_sid, "answering machine detected for a call whose stream this node does not hold");
    }
    info!(%call_sid, %answered_by, "answering-machine verdict");
    StatusCode::NO_CONTENT.into_response()
}
