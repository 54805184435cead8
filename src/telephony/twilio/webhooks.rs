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
use crate::collections::model::{AttemptId, CallSid};
use crate::server::AppState;

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

/// `POST /twilio/status`: call progress. Logged; the dialer orders and uses them.
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
    let field = |name: &str| params.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str()).to_string();
    info!(
        call_sid = %field("CallSid"),
        call_status = %field("CallStatus"),
        sequence_number = %field("SequenceNumber"),
        "call status callback"
    );
    StatusCode::NO_CONTENT.into_response()
}
