//! The dialer's call placer in production: Twilio's REST API.

use async_trait::async_trait;

use super::placer::{CallPlacer, OutboundCall};
use crate::collections::model::CallSid;
use crate::config::DialerConfig;
use crate::telephony::twilio::rest::{CallRequest, MachineDetection, TwilioRest};

/// Places the dialer's calls through `Calls.json`, with asynchronous answering-machine detection
/// that waits for a machine's greeting to end, so the voicemail message follows the beep.
pub struct TwilioPlacer {
    rest: TwilioRest,
    ring_timeout_seconds: u32,
    time_limit_seconds: u32,
}

impl TwilioPlacer {
    pub fn new(rest: TwilioRest, config: &DialerConfig) -> TwilioPlacer {
        TwilioPlacer {
            rest,
            ring_timeout_seconds: config.ring_timeout_seconds,
            time_limit_seconds: config.time_limit_seconds,
        }
    }
}

#[async_trait]
impl CallPlacer for TwilioPlacer {
    async fn place(&self, call: &OutboundCall) -> Result<String, String> {
        let request = CallRequest {
            to: call.to.clone(),
            from: call.from.clone(),
            url: call.twiml_url.clone(),
            status_callback: call.status_callback.clone(),
            timeout_seconds: self.ring_timeout_seconds,
            time_limit_seconds: self.time_limit_seconds,
            machine_detection: call.amd_callback.as_ref().map(|_| MachineDetection::DetectMessageEnd),
            amd_status_callback: call.amd_callback.clone(),
        };
        self.rest.create_call(&request).await.map(|created| created.sid.0).map_err(|error| error.to_string())
    }

    async fn hang_up(&self, call_sid: &str) -> Result<(), String> {
        self.rest.hang_up(&CallSid(call_sid.to_string())).await.map_err(|error| error.to_string())
    }
}
