//! How the dialer places a call: through the carrier's REST API, or anything that stands in for
//! it in a test.

use async_trait::async_trait;

/// One outbound call to place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundCall {
    pub to: String,
    pub from: String,
    /// Where the carrier fetches the call's TwiML once it is answered.
    pub twiml_url: String,
    /// Where the carrier posts call progress.
    pub status_callback: String,
    /// Where the carrier posts its answering-machine verdict; `None` turns detection off.
    pub amd_callback: Option<String>,
}

/// Places calls. The production implementation is the Twilio REST client.
#[async_trait]
pub trait CallPlacer: Send + Sync {
    /// Places the call and returns the carrier's call id, or what went wrong.
    async fn place(&self, call: &OutboundCall) -> Result<String, String>;

    /// Ends a call the carrier may still be ringing or holding, by its carrier call id. A call
    /// that already ended is not an error.
    async fn hang_up(&self, call_sid: &str) -> Result<(), String>;
}
