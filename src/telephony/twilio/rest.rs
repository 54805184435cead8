//! The client of Twilio's REST API for calls: place a call, hang it up, replace its TwiML.
//!
//! Requests use HTTP Basic auth with the account sid and auth token and form bodies, as Twilio's
//! API version 2010-04-01 takes them. An HTTP 429 is retried with exponential backoff on tokio's
//! clock; every other failure returns at once, because creating a call is not safe to repeat.

use std::time::Duration;

use serde::Deserialize;
use tracing::{debug, info};
use url::Url;

pub use super::rest_error::TwilioError;
use super::status::CallStatus;
use crate::collections::model::{mask_phone, CallSid};

/// Where Twilio's REST API lives in production.
pub const DEFAULT_API_BASE_URL: &str = "https://api.twilio.com";
/// The API version every calls URL starts with.
pub const API_VERSION: &str = "2010-04-01";
/// The longest TwiML Twilio takes inline, in characters.
pub const MAX_INLINE_TWIML: usize = 4000;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// The call-progress events the client asks Twilio to report.
pub const STATUS_CALLBACK_EVENTS: [&str; 4] = ["initiated", "ringing", "answered", "completed"];

/// How Twilio should decide whether a person or a machine answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MachineDetection {
    /// Report a machine as soon as it is detected (`machine_start`).
    Enable,
    /// Wait for a machine's greeting to end, so a message can follow the beep.
    DetectMessageEnd,
}

impl MachineDetection {
    pub fn as_str(self) -> &'static str {
        match self {
            MachineDetection::Enable => "Enable",
            MachineDetection::DetectMessageEnd => "DetectMessageEnd",
        }
    }
}

/// One outbound call to place. Every callback is a POST; detection runs asynchronously, so the
/// TwiML at `url` starts the moment the call is answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRequest {
    /// The number to dial, E.164.
    pub to: String,
    /// The caller id: a Twilio number or a verified one, E.164.
    pub from: String,
    /// The voice webhook Twilio fetches the call's TwiML from once it is answered.
    pub url: String,
    /// Where call-progress callbacks go (initiated, ringing, answered, completed).
    pub status_callback: String,
    /// Seconds the phone may ring before the call ends as `no-answer`.
    pub timeout_seconds: u32,
    /// Maximum seconds the call may last once answered.
    pub time_limit_seconds: u32,
    /// How Twilio tells a person from a machine, asynchronously; `None` asks for no detection.
    pub machine_detection: Option<MachineDetection>,
    /// Where the answering machine detection verdict goes; needed with `machine_detection`.
    pub amd_status_callback: Option<String>,
}

impl CallRequest {
    /// Returns the form parameters of the create-call request, in the order sent.
    pub fn form(&self) -> Vec<(String, String)> {
        let mut form: Vec<(&str, String)> = vec![
            ("To", self.to.clone()),
            ("From", self.from.clone()),
            ("Url", self.url.clone()),
            ("Method", "POST".into()),
            ("StatusCallback", self.status_callback.clone()),
        ];
        form.extend(STATUS_CALLBACK_EVENTS.iter().map(|event| ("StatusCallbackEvent", event.to_string())));
        form.extend([
            ("StatusCallbackMethod", "POST".into()),
            ("Timeout", self.timeout_seconds.to_string()),
            ("TimeLimit", self.time_limit_seconds.to_string()),
        ]);
        if let (Some(mode), Some(callback)) = (self.machine_detection, &self.amd_status_callback) {
            form.extend([
                ("MachineDetection", mode.as_str().into()),
                ("AsyncAmd", "true".into()),
                ("AsyncAmdStatusCallback", callback.clone()),
                ("AsyncAmdStatusCallbackMethod", "POST".into()),
            ]);
        }
        form.into_iter().map(|(name, value)| (name.to_string(), value)).collect()
    }
}

/// The call Twilio created: its sid and status at creation (usually `queued`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedCall {
    pub sid: CallSid,
    pub status: CallStatus,
}

/// How often and how long to wait before repeating a request Twilio answered with HTTP 429.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Requests in all, the first included.
    pub attempts: u32,
    /// The wait before the first retry; each later wait doubles.
    pub first_wait: Duration,
    /// The longest single wait, also for a `Retry-After` Twilio sends.
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { attempts: 5, first_wait: Duration::from_millis(500), max_wait: Duration::from_secs(8) }
    }
}

impl RetryPolicy {
    /// Returns the wait after the `failed`-th failed request (1 for the first), or `None` once
    /// the attempts are used. `retry_after` is Twilio's own hint, used when it is given.
    pub fn wait_after(&self, failed: u32, retry_after: Option<Duration>) -> Option<Duration> {
        if failed >= self.attempts {
            return None;
        }
        let doubled = self.first_wait.saturating_mul(1 << failed.saturating_sub(1).min(16));
        Some(retry_after.unwrap_or(doubled).min(self.max_wait))
    }
}

/// The production client of Twilio's calls API. It never logs the auth token, and logs numbers
/// masked.
#[derive(Clone)]
pub struct TwilioRest {
    http: reqwest::Client,
    /// `{base}/2010-04-01/Accounts/{AccountSid}/`, ready to join `Calls.json` to.
    account_url: Url,
    account_sid: String,
    auth_token: String,
    retry: RetryPolicy,
}

impl std::fmt::Debug for TwilioRest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwilioRest")
            .field("account_url", &self.account_url.as_str())
            .field("auth_token", &"(hidden)")
            .field("retry", &self.retry)
            .finish()
    }
}

impl TwilioRest {
    /// Builds a client of the API at `api_base_url` ([`DEFAULT_API_BASE_URL`] in production).
    pub fn new(api_base_url: &str, account_sid: &str, auth_token: &str) -> Result<TwilioRest, TwilioError> {
        let invalid = |reason: String| TwilioError::InvalidBaseUrl { url: api_base_url.to_string(), reason };
        let mut account_url = Url::parse(api_base_url).map_err(|error| invalid(error.to_string()))?;
        if !matches!(account_url.scheme(), "http" | "https") {
            return Err(invalid(format!("scheme '{}' is not http or https", account_url.scheme())));
        }
        account_url
            .path_segments_mut()
            .map_err(|()| invalid("it cannot have a path".to_string()))?
            .pop_if_empty()
            .extend([API_VERSION, "Accounts", account_sid, ""]);
        let http =
            reqwest::Client::builder().connect_timeout(CONNECT_TIMEOUT).timeout(REQUEST_TIMEOUT).build().map_err(
                |error| TwilioError::Transport { operation: "build the HTTP client", reason: error.to_string() },
            )?;
        Ok(TwilioRest {
            http,
            account_url,
            account_sid: account_sid.to_string(),
            auth_token: auth_token.to_string(),
            retry: RetryPolicy::default(),
        })
    }

    /// Replaces the retry policy for HTTP 429.
    pub fn with_retry(mut self, retry: RetryPolicy) -> TwilioRest {
        self.retry = retry;
        self
    }

    /// Places a call: `POST .../Calls.json`. Twilio answers 201 with the call resource.
    pub async fn create_call(&self, request: &CallRequest) -> Result<CreatedCall, TwilioError> {
        const OPERATION: &str = "create a call";
        let url = self.calls_url(&["Calls.json"])?;
        let body = self.post_form(OPERATION, url, &request.form()).await?;
        let resource: CallResource = serde_json::from_str(&body)
            .map_err(|error| TwilioError::InvalidResponse { operation: OPERATION, reason: error.to_string() })?;
        let status = resource.status.parse().map_err(|()| TwilioError::InvalidResponse {
            operation: OPERATION,
            reason: format!("unknown call status '{}'", resource.status),
        })?;
        debug!(call_sid = %resource.sid, to = %mask_phone(&request.to), %status, "Twilio created the call");
        Ok(CreatedCall { sid: CallSid(resource.sid), status })
    }

    /// Ends a call with `Status=completed`. Twilio's 404 with code 20404 means the call already
    /// ended, which is what was asked, so it returns `Ok`.
    pub async fn hang_up(&self, sid: &CallSid) -> Result<(), TwilioError> {
        let form = vec![("Status".to_string(), "completed".to_string())];
        match self.update_call("hang up a call", sid, &form).await {
            Err(error) if error.is_not_found() => {
                debug!(call_sid = %sid, "the call had already ended");
                Ok(())
            }
            other => other,
        }
    }

    /// Replaces the TwiML the call is running, which ends a running `<Connect><Stream>`.
    pub async fn update_twiml(&self, sid: &CallSid, twiml: &str) -> Result<(), TwilioError> {
        let length = twiml.chars().count();
        if length > MAX_INLINE_TWIML {
            return Err(TwilioError::TwimlTooLong { length, max: MAX_INLINE_TWIML });
        }
        let form = vec![("Twiml".to_string(), twiml.to_string())];
        self.update_call("replace a call's TwiML", sid, &form).await
    }

    async fn update_call(
        &self,
        operation: &'static str,
        sid: &CallSid,
        form: &[(String, String)],
    ) -> Result<(), TwilioError> {
        let url = self.calls_url(&["Calls", &format!("{sid}.json")])?;
        self.post_form(operation, url, form).await.map(|_| ())
    }

    /// Builds `.../Accounts/{AccountSid}/` followed by `segments`, each percent-encoded.
    fn calls_url(&self, segments: &[&str]) -> Result<Url, TwilioError> {
        let mut url = self.account_url.clone();
        url.path_segments_mut()
            .map_err(|()| TwilioError::InvalidBaseUrl {
                url: self.account_url.to_string(),
                reason: "it cannot have a path".to_string(),
            })?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    /// POSTs `form` and returns the body of a 2xx answer. Retries HTTP 429 by the retry policy.
    async fn post_form(
        &self,
        operation: &'static str,
        url: Url,
        form: &[(String, String)],
    ) -> Result<String, TwilioError> {
        let mut failed = 0;
        loop {
            let response = self
                .http
                .post(url.clone())
                .basic_auth(&self.account_sid, Some(&self.auth_token))
                .form(form)
                .send()
                .await
                .map_err(|error| transport_error(operation, &error))?;
            let status = response.status();
            let retry_after = crate::http::retry_after(response.headers());
            let body = response.text().await.map_err(|error| transport_error(operation, &error))?;
            if status.is_success() {
                return Ok(body);
            }

            let error = TwilioError::from_response(status.as_u16(), &body);
            failed += 1;
            let wait = match status.as_u16() {
                429 => self.retry.wait_after(failed, retry_after),
                _ => None,
            };
            let Some(wait) = wait else { return Err(error) };
            let wait_ms = wait.as_millis() as u64;
            info!(operation, attempt = failed, wait_ms, "Twilio rate-limited the request (HTTP 429); retrying");
            tokio::time::sleep(wait).await;
        }
    }
}

/// The fields of Twilio's call resource the client reads.
#[derive(Debug, Deserialize)]
struct CallResource {
    sid: String,
    status: String,
}

fn transport_error(operation: &'static str, error: &reqwest::Error) -> TwilioError {
    if error.is_timeout() {
        TwilioError::Timeout { operation, after: REQUEST_TIMEOUT }
    } else {
        // reqwest's errors name the URL, which holds the account sid but never the token.
        TwilioError::Transport { operation, reason: crate::http::error_chain(error) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_ceiling() {
        let policy =
            RetryPolicy { attempts: 6, first_wait: Duration::from_millis(500), max_wait: Duration::from_secs(3) };
        let waits: Vec<Option<Duration>> = (1..=6).map(|failed| policy.wait_after(failed, None)).collect();
        assert_eq!(
            waits,
            vec![
                Some(Duration::from_millis(500)),
                Some(Duration::from_secs(1)),
                Some(Duration::from_secs(2)),
                Some(Duration::from_secs(3)),
                Some(Duration::from_secs(3)),
                None,
            ]
        );
    }

    #[test]
    fn backoff_takes_retry_after_within_ceiling() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.wait_after(1, Some(Duration::from_secs(2))), Some(Duration::from_secs(2)));
        assert_eq!(policy.wait_after(1, Some(Duration::from_secs(60))), Some(Duration::from_secs(8)));
    }

    #[test]
    fn base_url_must_be_http() {
        let error = TwilioRest::new("ftp://127.0.0.1", "AC1", "token").expect_err("ftp is not http");
        assert_eq!(
            error,
            TwilioError::InvalidBaseUrl {
                url: "ftp://127.0.0.1".into(),
                reason: "scheme 'ftp' is not http or https".into()
            }
        );
    }

    #[test]
    fn calls_url_follows_the_base_path() {
        let client = TwilioRest::new("http://127.0.0.1:9/twilio/", "AC1", "token").expect("valid base");
        let url = client.calls_url(&["Calls", "CA1.json"]).expect("url");
        assert_eq!(url.as_str(), "http://127.0.0.1:9/twilio/2010-04-01/Accounts/AC1/Calls/CA1.json");
    }

    #[test]
    fn debug_hides_the_token() {
        let client = TwilioRest::new(DEFAULT_API_BASE_URL, "AC1", "secret-token").expect("valid base");
        let text = format!("{client:?}");
        assert!(!text.contains("secret-token"), "{text}");
    }

    #[test]
    fn form_lists_every_parameter_in_order() {
        let request = CallRequest {
            to: "+525512345678".into(),
            from: "+15005550006".into(),
            url: "https://calls.example.com/twilio/voice?attempt=7".into(),
            status_callback: "https://calls.example.com/twilio/status".into(),
            timeout_seconds: 25,
            time_limit_seconds: 900,
            machine_detection: Some(MachineDetection::DetectMessageEnd),
            amd_status_callback: Some("https://calls.example.com/twilio/amd".into()),
        };
        let names: Vec<String> = request.form().into_iter().map(|(name, value)| format!("{name}={value}")).collect();
        assert_eq!(
            names,
            vec![
                "To=+525512345678",
                "From=+15005550006",
                "Url=https://calls.example.com/twilio/voice?attempt=7",
                "Method=POST",
                "StatusCallback=https://calls.example.com/twilio/status",
                "StatusCallbackEvent=initiated",
                "StatusCallbackEvent=ringing",
                "StatusCallbackEvent=answered",
                "StatusCallbackEvent=completed",
                "StatusCallbackMethod=POST",
                "Timeout=25",
                "TimeLimit=900",
                "MachineDetection=DetectMessageEnd",
                "AsyncAmd=true",
                "AsyncAmdStatusCallback=https://calls.example.com/twilio/amd",
                "AsyncAmdStatusCallbackMethod=POST",
            ]
        );
    }
}
