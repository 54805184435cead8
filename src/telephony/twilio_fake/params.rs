//! The create-call request's parameters, checked as Twilio checks them, with Twilio's error codes
//! where Twilio documents one: 21201 no `To`, 21213 no `From`, 21205 an invalid `Url`, and 21200
//! for other problems with the request.

use std::time::Duration;

use url::Url;

use super::callbacks::ProgressEvent;
use crate::telephony::twilio::rest::MachineDetection;

/// Twilio rings for 60 s when the request gives no `Timeout`.
const DEFAULT_TIMEOUT_SECONDS: u64 = 60;

/// The parts of a create-call request that the fake acts on.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct CallParams {
    pub to: String,
    pub from: String,
    pub url: String,
    pub status_callback: Option<String>,
    pub status_callback_events: Vec<String>,
    /// How long the phone rings before the call ends `no-answer`.
    pub timeout: Duration,
    pub time_limit: Option<Duration>,
    pub machine_detection: Option<MachineDetection>,
    pub async_amd: bool,
    pub amd_status_callback: Option<String>,
}

/// A rejected request: Twilio's error code and a message that names the parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ParamError {
    pub code: u32,
    pub message: String,
}

fn invalid(code: u32, message: impl Into<String>) -> ParamError {
    ParamError { code, message: message.into() }
}

impl CallParams {
    pub fn parse(form: &[(String, String)]) -> Result<CallParams, ParamError> {
        let value =
            |name: &str| form.iter().find(|(key, _)| key == name).map(|(_, v)| v.trim()).filter(|v| !v.is_empty());
        let to = value("To").ok_or_else(|| invalid(21201, "No 'To' number is specified"))?;
        let from = value("From").ok_or_else(|| invalid(21213, "No 'From' number is specified"))?;
        let url = value("Url").ok_or_else(|| {
            invalid(21205, "Url is required: this fake fetches TwiML from Url and does not run Twiml or ApplicationSid")
        })?;
        absolute_url("Url", url).map_err(|message| invalid(21205, message))?;

        for method_field in ["Method", "StatusCallbackMethod", "AsyncAmdStatusCallbackMethod"] {
            match value(method_field) {
                None | Some("POST") => {}
                Some("GET") => {
                    return Err(invalid(21200, format!("{method_field}=GET is not supported by this fake; use POST")))
                }
                Some(other) => return Err(invalid(21200, format!("{method_field} '{other}' is not GET or POST"))),
            }
        }

        let status_callback = value("StatusCallback").map(str::to_string);
        if let Some(callback) = &status_callback {
            absolute_url("StatusCallback", callback).map_err(|message| invalid(21200, message))?;
        }
        let status_callback_events: Vec<String> =
            form.iter().filter(|(key, _)| key == "StatusCallbackEvent").map(|(_, v)| v.trim().to_string()).collect();
        if let Some(unknown) =
            status_callback_events.iter().find(|event| !ProgressEvent::NAMES.contains(&event.as_str()))
        {
            return Err(invalid(
                21200,
                format!("StatusCallbackEvent '{unknown}' is not one of {}", ProgressEvent::NAMES.join(", ")),
            ));
        }

        let timeout = seconds("Timeout", value("Timeout"))?.unwrap_or(Duration::from_secs(DEFAULT_TIMEOUT_SECONDS));
        let time_limit = seconds("TimeLimit", value("TimeLimit"))?;
        let machine_detection = match value("MachineDetection") {
            None => None,
            Some("Enable") => Some(MachineDetection::Enable),
            Some("DetectMessageEnd") => Some(MachineDetection::DetectMessageEnd),
            Some(other) => {
                return Err(invalid(21200, format!("MachineDetection '{other}' is not Enable or DetectMessageEnd")))
            }
        };
        let async_amd = match value("AsyncAmd") {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => return Err(invalid(21200, format!("AsyncAmd '{other}' is not true or false"))),
        };
        let amd_status_callback = value("AsyncAmdStatusCallback").map(str::to_string);
        if let Some(callback) = &amd_status_callback {
            absolute_url("AsyncAmdStatusCallback", callback).map_err(|message| invalid(21200, message))?;
        }

        Ok(CallParams {
            to: to.to_string(),
            from: from.to_string(),
            url: url.to_string(),
            status_callback,
            status_callback_events,
            timeout,
            time_limit,
            machine_detection,
            async_amd,
            amd_status_callback,
        })
    }
}

fn absolute_url(field: &str, text: &str) -> Result<(), String> {
    match Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(()),
        Ok(_) => Err(format!("{field} '{text}' is not an http or https URL")),
        Err(error) => Err(format!("{field} '{text}' is not a valid absolute URL: {error}")),
    }
}

fn seconds(field: &str, text: Option<&str>) -> Result<Option<Duration>, ParamError> {
    text.map(|text| {
        text.parse::<u64>()
            .map(Duration::from_secs)
            .map_err(|_| invalid(21200, format!("{field} '{text}' is not a whole number of seconds")))
    })
    .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(name, value)| (name.to_string(), value.to_string())).collect()
    }

    const MINIMAL: [(&str, &str); 3] =
        [("To", "+525512345678"), ("From", "+15005550006"), ("Url", "http://127.0.0.1:9/twilio/voice")];

    #[test]
    fn minimal_request_takes_twilio_defaults() {
        let params = CallParams::parse(&form(&MINIMAL)).expect("valid");
        assert_eq!(params.timeout, Duration::from_secs(60));
        assert_eq!(params.time_limit, None);
        assert_eq!(params.status_callback, None);
        assert_eq!(params.machine_detection, None);
        assert!(!params.async_amd);
    }

    #[test]
    fn missing_to_is_21201() {
        let error = CallParams::parse(&form(&MINIMAL[1..])).expect_err("no To");
        assert_eq!(error, invalid(21201, "No 'To' number is specified"));
    }

    #[test]
    fn missing_from_is_21213() {
        let error = CallParams::parse(&form(&[MINIMAL[0], MINIMAL[2]])).expect_err("no From");
        assert_eq!(error, invalid(21213, "No 'From' number is specified"));
    }

    #[test]
    fn relative_url_is_21205() {
        let error =
            CallParams::parse(&form(&[MINIMAL[0], MINIMAL[1], ("Url", "/twilio/voice")])).expect_err("relative");
        assert_eq!(error.code, 21205);
        assert_eq!(error.message, "Url '/twilio/voice' is not a valid absolute URL: relative URL without a base");
    }

    #[test]
    fn unknown_event_is_rejected() {
        let mut pairs = MINIMAL.to_vec();
        pairs.push(("StatusCallbackEvent", "picked-up"));
        let error = CallParams::parse(&form(&pairs)).expect_err("unknown event");
        assert_eq!(
            error,
            invalid(21200, "StatusCallbackEvent 'picked-up' is not one of initiated, ringing, answered, completed")
        );
    }

    #[test]
    fn get_method_is_rejected() {
        let mut pairs = MINIMAL.to_vec();
        pairs.push(("Method", "GET"));
        let error = CallParams::parse(&form(&pairs)).expect_err("GET");
        assert_eq!(error, invalid(21200, "Method=GET is not supported by this fake; use POST"));
    }

    #[test]
    fn timeout_must_be_seconds() {
        let mut pairs = MINIMAL.to_vec();
        pairs.push(("Timeout", "30s"));
        let error = CallParams::parse(&form(&pairs)).expect_err("not a number");
        assert_eq!(error, invalid(21200, "Timeout '30s' is not a whole number of seconds"));
    }
}
