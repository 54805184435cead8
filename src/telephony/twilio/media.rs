//! `/twilio/media`: the Media Streams WebSocket. The upgrade must be signed; the stream must
//! present the single-use token its TwiML carried before any audio is bridged to a call.

use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use super::messages::{MediaFrame, OutboundMessage, StreamMessage};
use super::signature;
use super::webhooks::SIGNATURE_HEADER;
use crate::call::{run_call_on, run_unidentified_call_on, CallRecord};
use crate::server::{AppState, ListenSide};
use crate::telephony::{Inbound, Outbound, StreamStart};

/// Twilio sends `start` right after `connected`; a stream that has not started by then is closed.
const START_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Read buffer of one media stream socket: room for a few media messages per read.
const READ_BUFFER_BYTES: usize = 2 * 1024;

/// `GET /twilio/media`: validates the signature of the upgrade, then runs the stream.
pub async fn upgrade(State(state): State<Arc<AppState>>, headers: HeaderMap, ws: WebSocketUpgrade) -> Response {
    // Twilio signs the stream URL exactly as the TwiML wrote it, with no parameters.
    let url = format!("{}/twilio/media", state.twilio.stream_base_url());
    let provided = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !signature::is_valid(&state.twilio.auth_token, &url, &[], provided) {
        warn!(%url, "rejected a media stream upgrade with a missing or invalid signature");
        return (StatusCode::FORBIDDEN, "invalid X-Twilio-Signature\n").into_response();
    }
    // A media message is a few hundred bytes. tungstenite's default 128 KiB read buffer is zeroed
    // on every read, which cost more CPU than the rest of the media path.
    ws.read_buffer_size(READ_BUFFER_BYTES).on_upgrade(move |socket| serve_stream(state, socket))
}

async fn serve_stream(state: Arc<AppState>, socket: WebSocket) {
    let (mut sink, mut source) = socket.split();

    let Ok(Some(start)) = tokio::time::timeout(START_TIMEOUT, wait_for_start(&mut source)).await else {
        warn!("media stream closed, stopped or timed out before its start message");
        let _ = sink.send(Message::Close(Some(CloseFrame { code: 1008, reason: "no start message".into() }))).await;
        return;
    };
    let Some(record) = start.custom_parameters.get("token").and_then(|t| state.redeem_stream_token(t)) else {
        warn!(call_sid = %start.call_sid, "media stream presented no valid token; closing");
        let _ = sink.send(Message::Close(Some(CloseFrame { code: 1008, reason: "invalid stream token".into() }))).await;
        return;
    };
    let call = match read_call(&state, record).await {
        Some(call) => call,
        None => {
            warn!(call = %record, "media stream for a call the store does not have; closing");
            let _ = sink.send(Message::Close(None)).await;
            return;
        }
    };

    let (outbound, mut outbound_queue) = mpsc::channel::<Outbound>(256);
    let stream_sid = start.stream_sid.clone();
    let call_sid = start.call_sid.clone();
    // Supervisors listening in get both sides' audio as it crosses the stream.
    let tap = state.open_listen_tap(&call_sid);
    let bot_tap = tap.clone();
    let writer = tokio::spawn(async move {
        // Messages already queued together (a frame and its phrase's mark, the frames that fill
        // the carrier's buffer when a phrase starts) go out in one write.
        while let Some(first) = outbound_queue.recv().await {
            let mut next = Some(first);
            while let Some(command) = next.take() {
                let text = match command {
                    Outbound::Audio(mulaw) => {
                        bot_tap.send(ListenSide::Bot, &mulaw);
                        OutboundMessage::media_json(&stream_sid, &mulaw)
                    }
                    Outbound::Mark(name) => OutboundMessage::mark(&stream_sid, &name).to_json(),
                    Outbound::Clear => OutboundMessage::clear(&stream_sid).to_json(),
                    Outbound::Hangup => {
                        // Closing the socket ends <Connect><Stream>; with no verb after it, the
                        // call hangs up.
                        let close = CloseFrame { code: 1000, reason: "call ended".into() };
                        let _ = sink.send(Message::Close(Some(close))).await;
                        return;
                    }
                };
                if sink.feed(Message::Text(text.into())).await.is_err() {
                    return;
                }
                next = outbound_queue.try_recv().ok();
            }
            if sink.flush().await.is_err() {
                return;
            }
        }
    });

    // The call runs on this task and reads the socket itself: the stream ends at `stop`, a close
    // or a read error, and the session takes that as the caller hanging up.
    // Carrier events that arrive over HTTP (the answering-machine verdict) join the stream's.
    let (side_events, side) = mpsc::channel::<Inbound>(4);
    state.register_live_call(&call_sid, side_events);
    let events = futures_util::stream::unfold(Some((source, side, tap)), |halves| async move {
        let (mut source, mut side, tap) = halves?;
        let event = tokio::select! {
            event = next_inbound(&mut source) => event?,
            Some(event) = side.recv() => event,
        };
        if let Inbound::Audio { mulaw, .. } = &event {
            tap.send(ListenSide::Caller, mulaw);
        }
        let more = (event != Inbound::Stop).then_some((source, side, tap));
        Some((event, more))
    });
    let services = state.services.clone();
    let result = match call {
        StoredCall::Attempt(attempt) => run_call_on(services, start, attempt, Box::pin(events), outbound).await,
        StoredCall::Inbound(call) => run_unidentified_call_on(services, start, call, Box::pin(events), outbound).await,
    };
    match result {
        Ok(report) => debug!(call = %record, disposition = %report.disposition, "stream finished"),
        Err(error) => warn!(call = %record, %error, "call could not run"),
    }
    state.unregister_live_call(&call_sid);
    state.close_listen_tap(&call_sid);
    let _ = writer.await;
}

/// The stored row a stream's token points to.
enum StoredCall {
    Attempt(crate::collections::Attempt),
    Inbound(crate::collections::InboundCall),
}

/// Reads the row a stream's token points to; `None` when the store does not have it or fails.
async fn read_call(state: &AppState, record: CallRecord) -> Option<StoredCall> {
    let store = &state.services.store;
    let read = match record {
        CallRecord::Attempt(id) => store.attempt(id).await.map(|attempt| attempt.map(StoredCall::Attempt)),
        CallRecord::InboundCall(id) => store.inbound_call(id).await.map(|call| call.map(StoredCall::Inbound)),
    };
    read.unwrap_or_else(|error| {
        warn!(call = %record, %error, "call could not be read for its media stream");
        None
    })
}

/// Reads until `start`; `connected` and anything else before it is ignored.
async fn wait_for_start(source: &mut futures_util::stream::SplitStream<WebSocket>) -> Option<StreamStart> {
    while let Some(Ok(message)) = source.next().await {
        let Message::Text(text) = message else {
            if matches!(message, Message::Close(_)) {
                return None;
            }
            continue;
        };
        match StreamMessage::parse(&text) {
            Ok(StreamMessage::Stop { .. }) => return None,
            Ok(StreamMessage::Start { stream_sid, start, .. }) => {
                info!(call_sid = %start.call_sid, %stream_sid, "media stream started");
                return Some(StreamStart {
                    stream_sid,
                    call_sid: start.call_sid,
                    account_sid: start.account_sid,
                    custom_parameters: start.custom_parameters,
                });
            }
            Ok(_) => {}
            Err(error) => warn!(%error, "ignored a media stream message before start"),
        }
    }
    None
}

/// Reads the next carrier event; `None` once the socket closed or failed. A message that cannot
/// be read is logged and skipped: one bad frame must not end the call.
async fn next_inbound(source: &mut futures_util::stream::SplitStream<WebSocket>) -> Option<Inbound> {
    while let Some(received) = source.next().await {
        let text = match received {
            Ok(Message::Text(text)) => text,
            Ok(Message::Close(_)) => return None,
            Ok(Message::Binary(_)) => {
                warn!("ignored a binary frame: media stream messages are JSON text");
                continue;
            }
            Ok(_) => continue,
            Err(error) => {
                debug!(%error, "media stream read failed");
                return None;
            }
        };
        if let Some(frame) = MediaFrame::parse(&text) {
            match frame.audio() {
                Ok(mulaw) => return Some(Inbound::Audio { timestamp_ms: frame.timestamp, mulaw }),
                Err(error) => warn!(%error, "ignored a media message whose payload is not base64"),
            }
            continue;
        }
        match StreamMessage::parse(&text) {
            Ok(message) => {
                if let Some(event) = to_inbound(message) {
                    return Some(event);
                }
            }
            Err(error) => warn!(%error, "ignored a media stream message"),
        }
    }
    None
}

/// Maps a parsed message to what the call session needs; `None` for messages it ignores.
pub fn to_inbound(message: StreamMessage) -> Option<Inbound> {
    match message {
        StreamMessage::Media { media, .. } => match media.audio() {
            Ok(mulaw) => Some(Inbound::Audio { timestamp_ms: media.timestamp, mulaw }),
            Err(error) => {
                warn!(%error, "ignored a media message whose payload is not base64");
                None
            }
        },
        StreamMessage::Dtmf { dtmf, .. } => dtmf.digit.chars().next().map(Inbound::Dtmf),
        StreamMessage::Mark { mark, .. } => Some(Inbound::MarkPlayed(mark.name)),
        StreamMessage::Stop { .. } => Some(Inbound::Stop),
        StreamMessage::Connected { .. } | StreamMessage::Start { .. } => None,
        StreamMessage::Unknown => {
            debug!("ignored an unknown media stream event");
            None
        }
    }
}
