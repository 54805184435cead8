//! The fake's HTTP API: Twilio's create-call and update-call endpoints with Basic auth and
//! Twilio's error JSON, and `GET /fake/calls` for the call log.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine as _;
use serde_json::json;
use tracing::info;

use super::driver::{self, PlacedCall};
use super::log::{CallLogEntry, TwimlUpdate};
use super::params::CallParams;
use super::state::{EndRequest, FakeState};
use crate::collections::model::mask_phone;
use crate::telephony::twilio::rest::API_VERSION;
use crate::telephony::twilio::rest_error::{CODE_AUTHENTICATE, CODE_NOT_FOUND, CODE_TOO_MANY_REQUESTS};
use crate::telephony::twilio::status::CallStatus;

/// Twilio's code for a request to the calls resource that it cannot act on.
const CODE_CALLS_RESOURCE: u32 = 21200;

/// An error answered as Twilio's error JSON.
struct ApiError {
    status: StatusCode,
    code: u32,
    message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        info!(status = self.status.as_u16(), code = self.code, message = %self.message, "fake Twilio API rejected a request");
        let body = json!({
            "code": self.code,
            "message": self.message,
            "more_info": format!("https://www.twilio.com/docs/errors/{}", self.code),
            "status": self.status.as_u16(),
        });
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, "Basic realm=\"Twilio API\"".parse().expect("ascii"));
        }
        response
    }
}

/// `POST /2010-04-01/Accounts/{AccountSid}/Calls.json`
pub(super) async fn create_call(
    State(state): State<Arc<FakeState>>,
    Path(account_sid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    state.create_requests.fetch_add(1, Ordering::SeqCst);
    if let Err(rejection) = authenticate(&state, &account_sid, &headers) {
        return rejection.into_response();
    }
    let rate_limited =
        state.rate_limited_creates.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| left.checked_sub(1)).is_ok();
    if rate_limited {
        return ApiError {
            status: StatusCode::TOO_MANY_REQUESTS,
            code: CODE_TOO_MANY_REQUESTS,
            message: "Too many concurrent requests".to_string(),
        }
        .into_response();
    }

    let form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let params = match CallParams::parse(&form) {
        Ok(params) => params,
        Err(error) => {
            return ApiError { status: StatusCode::BAD_REQUEST, code: error.code, message: error.message }
                .into_response()
        }
    };

    let sid = format!("CA{}", uuid::Uuid::new_v4().simple());
    let entry = CallLogEntry {
        sid: sid.clone(),
        to: params.to.clone(),
        params: form,
        requested_at: state.clock.now(),
        started_at: None,
        answered_at: None,
        ended_at: None,
        status: CallStatus::Queued,
        callee: None,
        callbacks: Vec::new(),
        twiml_updates: Vec::new(),
        stream: None,
    };
    let resource = call_resource(&state, &entry);
    let number = state.calls_created.fetch_add(1, Ordering::SeqCst);
    let end = state.calls.lock().expect("calls lock").insert(entry);
    info!(call_sid = %sid, to = %mask_phone(&params.to), "fake carrier queued a call");
    tokio::spawn(driver::drive(state.clone(), PlacedCall { sid, number, params, end }));
    (StatusCode::CREATED, Json(resource)).into_response()
}

/// `POST /2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json` with `Status` or `Twiml`.
pub(super) async fn update_call(
    State(state): State<Arc<FakeState>>,
    Path((account_sid, file)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(rejection) = authenticate(&state, &account_sid, &headers) {
        return rejection.into_response();
    }
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let value = |name: &str| form.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone());
    let sid = file.strip_suffix(".json").unwrap_or_default().to_string();

    let mut calls = state.calls.lock().expect("calls lock");
    let not_found = || ApiError {
        status: StatusCode::NOT_FOUND,
        code: CODE_NOT_FOUND,
        message: format!("The requested resource /{API_VERSION}/Accounts/{account_sid}/Calls/{file} was not found"),
    };
    let Some(entry) = calls.get_mut(&sid) else { return not_found().into_response() };
    if entry.status.is_final() {
        return not_found().into_response();
    }
    let status = entry.status;
    let answered = status == CallStatus::InProgress;

    let request = match (value("Status").as_deref(), value("Twiml")) {
        (Some("completed"), _) => Some(EndRequest::HangUp),
        // Twilio ignores a cancel once the call is answered.
        (Some("canceled"), _) => (!answered).then_some(EndRequest::Cancel),
        (Some(other), _) => {
            return ApiError {
                status: StatusCode::BAD_REQUEST,
                code: CODE_CALLS_RESOURCE,
                message: format!("Status '{other}' is not completed or canceled"),
            }
            .into_response()
        }
        (None, Some(twiml)) => {
            entry.twiml_updates.push(TwimlUpdate { received_at: state.clock.now(), twiml });
            // Before the answer the new TwiML waits for it; during the call it stops the stream.
            answered.then_some(EndRequest::Twiml)
        }
        (None, None) => {
            return ApiError {
                status: StatusCode::BAD_REQUEST,
                code: CODE_CALLS_RESOURCE,
                message: "the update has neither Status nor Twiml; this fake takes one of them".to_string(),
            }
            .into_response()
        }
    };
    let resource = call_resource(&state, entry);
    if let Some(request) = request {
        info!(call_sid = %sid, ?request, %status, "fake carrier received a call update");
        calls.request_end(&sid, request);
    }
    (StatusCode::OK, Json(resource)).into_response()
}

/// `GET /fake/calls`: the call log as JSON.
pub(super) async fn call_log(State(state): State<Arc<FakeState>>) -> Response {
    let entries = state.calls.lock().expect("calls lock").entries.clone();
    Json(entries).into_response()
}

/// Checks Basic auth: the user must be the account in the path and the password its auth token.
fn authenticate(state: &FakeState, account_sid: &str, headers: &HeaderMap) -> Result<(), ApiError> {
    let credentials = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Basic "))
        .and_then(|encoded| base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok())
        .and_then(|decoded| String::from_utf8(decoded).ok());
    let expected = format!("{}:{}", state.settings.account_sid, state.settings.auth_token);
    let accepted = account_sid == state.settings.account_sid
        && credentials.is_some_and(|given| {
            use subtle::ConstantTimeEq as _;
            bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
        });
    if accepted {
        Ok(())
    } else {
        Err(ApiError { status: StatusCode::UNAUTHORIZED, code: CODE_AUTHENTICATE, message: "Authenticate".to_string() })
    }
}

/// Builds Twilio's call resource JSON for the call's current state.
fn call_resource(state: &FakeState, entry: &CallLogEntry) -> serde_json::Value {
    let account_sid = &state.settings.account_sid;
    json!({
        "sid": entry.sid,
        "account_sid": account_sid,
        "to": entry.to,
        "from": entry.param("From"),
        "status": entry.status.as_str(),
        "direction": "outbound-api",
        "api_version": API_VERSION,
        "date_created": entry.requested_at.to_rfc2822(),
        "start_time": entry.started_at.map(|at| at.to_rfc2822()),
        "end_time": entry.ended_at.map(|at| at.to_rfc2822()),
        "uri": format!("/{API_VERSION}/Accounts/{account_sid}/Calls/{}.json", entry.sid),
    })
}
