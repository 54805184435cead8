//! The errors of Twilio's REST API, read from the error JSON Twilio sends with every failure
//! (`code`, `message`, `more_info`, `status`), with a next step for each kind.

use std::time::Duration;

use serde::Deserialize;

/// Twilio's code for a resource it does not have: for a call, an unknown sid or a call that ended.
pub const CODE_NOT_FOUND: u32 = 20404;
/// Twilio's code for too many concurrent requests on the account.
pub const CODE_TOO_MANY_REQUESTS: u32 = 20429;
/// Twilio's code for a request whose credentials it did not accept.
pub const CODE_AUTHENTICATE: u32 = 20003;

/// The error of a Twilio REST request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TwilioError {
    /// Twilio answered with an error status. `code` is Twilio's own error code, when the body
    /// carried one.
    #[error("Twilio rejected the request with HTTP {status}{}: {message}; {}", code_suffix(*code), next_step(*status, *code))]
    Api { status: u16, code: Option<u32>, message: String },
    #[error("Twilio did not answer the request to {operation} within {after:?}; it may have taken effect, so check the call before retrying")]
    Timeout { operation: &'static str, after: Duration },
    #[error("Twilio could not be reached to {operation}: {reason}; check the network and the API base URL")]
    Transport { operation: &'static str, reason: String },
    #[error("Twilio's answer to the request to {operation} could not be read: {reason}")]
    InvalidResponse { operation: &'static str, reason: String },
    #[error(
        "Twilio API base URL '{url}' is invalid: {reason}; use an http or https URL such as https://api.twilio.com"
    )]
    InvalidBaseUrl { url: String, reason: String },
    #[error("TwiML of {length} characters is longer than the {max} Twilio accepts inline; pass a Url that serves it")]
    TwimlTooLong { length: usize, max: usize },
}

impl TwilioError {
    /// True for Twilio's answer that the call is unknown or already ended.
    pub fn is_not_found(&self) -> bool {
        matches!(self, TwilioError::Api { status: 404, code: Some(CODE_NOT_FOUND), .. })
    }

    /// Builds the error for a failed response from its status and body. A body that is not
    /// Twilio's error JSON (from a proxy, say) becomes the message as it is, cut to 200 characters.
    pub fn from_response(status: u16, body: &str) -> TwilioError {
        match serde_json::from_str::<ErrorBody>(body) {
            Ok(parsed) => TwilioError::Api {
                status,
                code: parsed.code,
                message: parsed.message.unwrap_or_else(|| "no message".to_string()),
            },
            Err(_) => TwilioError::Api { status, code: None, message: body.chars().take(200).collect() },
        }
    }
}

/// Twilio's error JSON. `status` repeats the HTTP status and `more_info` links Twilio's page for
/// the code; neither adds to what the error keeps.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    code: Option<u32>,
    message: Option<String>,
}

fn code_suffix(code: Option<u32>) -> String {
    code.map_or(String::new(), |code| format!(" (Twilio error {code})"))
}

fn next_step(status: u16, code: Option<u32>) -> String {
    match (status, code) {
        (401, _) | (_, Some(CODE_AUTHENTICATE)) => {
            "check COBRANZA_TWILIO_ACCOUNT_SID and COBRANZA_TWILIO_AUTH_TOKEN: the token must belong to that account"
                .to_string()
        }
        (404, _) => "the call sid is unknown to this account, or the call already ended".to_string(),
        (429, _) => "Twilio still limited the account's concurrent requests after every retry; lower the dialer's \
                     concurrency or retry later"
            .to_string(),
        (400, _) => "fix the parameter the message names".to_string(),
        (500..=599, _) => "Twilio failed internally; retry later".to_string(),
        (_, Some(code)) => format!("look up Twilio error {code}"),
        (_, None) => "check the API base URL".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_json_becomes_api_error() {
        let body = r#"{"code": 21201, "message": "No 'To' number is specified", "more_info": "https://www.twilio.com/docs/errors/21201", "status": 400}"#;
        let error = TwilioError::from_response(400, body);
        assert_eq!(
            error,
            TwilioError::Api { status: 400, code: Some(21201), message: "No 'To' number is specified".into() }
        );
        assert_eq!(
            error.to_string(),
            "Twilio rejected the request with HTTP 400 (Twilio error 21201): No 'To' number is specified; fix the \
             parameter the message names"
        );
    }

    #[test]
    fn unauthorised_names_the_credentials() {
        let error = TwilioError::from_response(401, r#"{"code": 20003, "message": "Authenticate", "status": 401}"#);
        assert_eq!(
            error.to_string(),
            "Twilio rejected the request with HTTP 401 (Twilio error 20003): Authenticate; check \
             COBRANZA_TWILIO_ACCOUNT_SID and COBRANZA_TWILIO_AUTH_TOKEN: the token must belong to that account"
        );
    }

    #[test]
    fn body_that_is_not_json_is_kept_short() {
        let body = "x".repeat(500);
        let error = TwilioError::from_response(502, &body);
        assert_eq!(error, TwilioError::Api { status: 502, code: None, message: "x".repeat(200) });
        assert!(error.to_string().ends_with("; Twilio failed internally; retry later"));
    }

    #[test]
    fn not_found_needs_code_20404() {
        assert!(TwilioError::from_response(404, r#"{"code": 20404, "message": "Not found"}"#).is_not_found());
        assert!(!TwilioError::from_response(404, "Not Found").is_not_found());
    }
}
