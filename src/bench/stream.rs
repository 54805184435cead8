//! One simulated carrier stream of the bench, a Twilio-like client. It opens the signed media
//! WebSocket and sends `connected` and `start`, then caller noise every 20 ms on an absolute
//! schedule. It plays the bot's audio on a simulated playout buffer, echoes marks, honours
//! `clear`, and sends `stop` when the measurement window ends.

use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::time::{sleep_until, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

use super::carrier::{CarrierPlan, PlannedStream};
use super::playout::{Playout, PlayoutTotals};
use super::receive_time::{ReceiveClock, TimestampedTcp};
use crate::audio::frames::FRAME_MS;
use crate::telephony::twilio::messages::OutboundMessage;
use crate::telephony::twilio::signature;

/// How long a stream waits for the server to close the socket after `stop`.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// The way a stream ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEnd {
    /// It ran to the end of the window and sent `stop`.
    Completed,
    /// The server closed the socket first.
    ClosedByServer,
    /// It never started: the handshake or `start` failed.
    Failed(String),
}

/// The record of one stream.
#[derive(Debug)]
pub struct StreamOutcome {
    pub attempt_id: i64,
    pub end: StreamEnd,
    pub playout: PlayoutTotals,
    pub media_sent: u64,
    /// From `start` until the hang-up or the server's close.
    pub seconds_up: f64,
    /// Lateness of each caller frame against its 20 ms schedule, in microseconds.
    pub send_lateness_micros: Vec<u32>,
    /// Messages from the server that were not valid Media Streams messages for this stream.
    pub invalid_messages: u64,
}

/// State shared by every stream of one carrier process.
pub struct StreamContext {
    pub plan: CarrierPlan,
    /// Base64 payloads of caller noise frames, sent in turn.
    pub noise_payloads: Vec<String>,
    /// Limits how many WebSocket handshakes run at once while the calls ramp up.
    pub handshakes: Semaphore,
}

/// The media message of one stream, prebuilt around the parts that change per frame.
struct MediaTemplate {
    /// Text between the sequence number and the chunk number.
    after_sequence: String,
    /// Text after the timestamp for each noise payload.
    tails: Vec<String>,
}

impl MediaTemplate {
    fn new(stream_sid: &str, payloads: &[String]) -> MediaTemplate {
        MediaTemplate {
            after_sequence: format!(r#"","streamSid":"{stream_sid}","media":{{"track":"inbound","chunk":""#),
            tails: payloads.iter().map(|payload| format!(r#"","payload":"{payload}"}}}}"#)).collect(),
        }
    }

    /// Renders media message `index` (from 0), carrying sequence number `sequence`.
    fn render(&self, sequence: u64, index: u64) -> String {
        use std::fmt::Write as _;
        let tail = &self.tails[index as usize % self.tails.len()];
        let mut text = String::with_capacity(96 + self.after_sequence.len() + tail.len());
        text.push_str(r#"{"event":"media","sequenceNumber":""#);
        let _ = write!(text, "{sequence}");
        text.push_str(&self.after_sequence);
        let _ = write!(text, "{}\",\"timestamp\":\"{}", index + 1, index * FRAME_MS);
        text.push_str(tail);
        text
    }
}

/// Runs one stream to its end. Reports on `started` whether it started, then runs until the
/// window's end arrives on `window_end` or the server closes the socket.
pub async fn run(
    planned: PlannedStream,
    context: Arc<StreamContext>,
    started: mpsc::UnboundedSender<bool>,
    window_end: watch::Receiver<Option<Instant>>,
) -> StreamOutcome {
    let mut outcome = StreamOutcome {
        attempt_id: planned.attempt_id,
        end: StreamEnd::Completed,
        playout: PlayoutTotals::default(),
        media_sent: 0,
        seconds_up: 0.0,
        send_lateness_micros: Vec::new(),
        invalid_messages: 0,
    };
    let (socket, receive_clock) = match open(&planned, &context).await {
        Ok(opened) => opened,
        Err(reason) => {
            let _ = started.send(false);
            outcome.end = StreamEnd::Failed(reason);
            return outcome;
        }
    };
    let _ = started.send(true);
    converse(socket, &receive_clock, &planned, &context, window_end, &mut outcome).await;
    outcome
}

type Socket = tokio_tungstenite::WebSocketStream<TimestampedTcp>;

/// Opens the signed WebSocket and sends `connected` and `start` with the stream token.
async fn open(planned: &PlannedStream, context: &StreamContext) -> Result<(Socket, ReceiveClock), String> {
    let plan = &context.plan;
    let _permit = context.handshakes.acquire().await.map_err(|error| error.to_string())?;
    let mut request = plan.stream_url.as_str().into_client_request().map_err(|error| error.to_string())?;
    let signed = signature::compute(&plan.auth_token, &plan.stream_url, &[]);
    let header = HeaderValue::from_str(&signed).map_err(|error| error.to_string())?;
    request.headers_mut().insert("x-twilio-signature", header);
    let address = request.uri().authority().map(|authority| authority.as_str().to_string()).unwrap_or_default();
    let tcp = tokio::net::TcpStream::connect(&address)
        .await
        .map_err(|error| format!("connecting to {address} failed: {error}"))?;
    tcp.set_nodelay(true).map_err(|error| error.to_string())?;
    let (tcp, receive_clock) =
        TimestampedTcp::new(tcp).map_err(|error| format!("enabling receive timestamps failed: {error}"))?;
    let (mut socket, _) = tokio_tungstenite::client_async_with_config(request, tcp, Some(socket_config()))
        .await
        .map_err(|error| format!("handshake with {} failed: {error}", plan.stream_url))?;

    let connected = json!({"event": "connected", "protocol": "Call", "version": "1.0.0"});
    let start = json!({
        "event": "start", "sequenceNumber": "1", "streamSid": planned.stream_sid,
        "start": {
            "streamSid": planned.stream_sid, "accountSid": plan.account_sid, "callSid": planned.call_sid,
            "tracks": ["inbound"],
            "customParameters": {"attempt": planned.attempt_id.to_string(), "token": planned.token},
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}
        }
    });
    for message in [connected, start] {
        socket.send(Message::Text(message.to_string().into())).await.map_err(|error| error.to_string())?;
    }
    Ok((socket, receive_clock))
}

/// The stream's main loop: caller frames out on schedule, bot messages in, marks echoed when due.
async fn converse(
    socket: Socket,
    receive_clock: &ReceiveClock,
    planned: &PlannedStream,
    context: &StreamContext,
    mut window_end: watch::Receiver<Option<Instant>>,
    outcome: &mut StreamOutcome,
) {
    let (mut sink, mut source) = socket.split();
    let template = MediaTemplate::new(&planned.stream_sid, &context.noise_payloads);
    let mut playout = Playout::new(Duration::from_millis(context.plan.min_gap_ms));
    let mut sequence: u64 = 1;
    let mut payload = Vec::with_capacity(256);

    let frame = Duration::from_millis(FRAME_MS);
    let origin = Instant::now();
    let far = origin + Duration::from_secs(86_400 * 365);
    let send_timer = sleep_until(origin);
    let mark_timer = sleep_until(far);
    let known_end = *window_end.borrow();
    let mut end_known = known_end.is_some();
    let end_timer = sleep_until(known_end.unwrap_or(far));
    tokio::pin!(send_timer, mark_timer, end_timer);

    loop {
        let mark_due = playout.next_due().map(Instant::from_std);
        if let Some(due) = mark_due {
            if mark_timer.deadline() != due {
                mark_timer.as_mut().reset(due);
            }
        }
        tokio::select! {
            biased;
            received = source.next() => {
                let now = Instant::now();
                // The kernel's time for the read that completed this message; without one, the
                // time the carrier saw it.
                let arrived = receive_clock.last_read().unwrap_or(now.into_std());
                let text = match received {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Close(_)) | Err(_)) | None => {
                        outcome.end = StreamEnd::ClosedByServer;
                        break;
                    }
                    Some(Ok(_)) => continue,
                };
                // Media messages, nearly all of them, are read in one borrowing pass.
                if let Some(media) = ServerMedia::parse(text.as_str()).filter(|m| m.stream_sid == planned.stream_sid) {
                    payload.clear();
                    match BASE64.decode_vec(media.media.payload.as_bytes(), &mut payload) {
                        Ok(()) => playout.frame(payload.len(), arrived, now.into_std()),
                        Err(_) => outcome.invalid_messages += 1,
                    }
                    continue;
                }
                let released = match serde_json::from_str::<OutboundMessage>(text.as_str()) {
                    Ok(OutboundMessage::Media { stream_sid, media }) if stream_sid == planned.stream_sid => {
                        payload.clear();
                        match BASE64.decode_vec(media.payload.as_bytes(), &mut payload) {
                            Ok(()) => playout.frame(payload.len(), arrived, now.into_std()),
                            Err(_) => outcome.invalid_messages += 1,
                        }
                        Vec::new()
                    }
                    Ok(OutboundMessage::Mark { stream_sid, mark }) if stream_sid == planned.stream_sid => {
                        playout.mark(mark.name, now.into_std());
                        Vec::new()
                    }
                    Ok(OutboundMessage::Clear { stream_sid }) if stream_sid == planned.stream_sid => playout.clear(),
                    Ok(_) | Err(_) => {
                        outcome.invalid_messages += 1;
                        Vec::new()
                    }
                };
                for name in released {
                    if echo(&mut sink, &mut sequence, planned, &name).await.is_err() {
                        outcome.end = StreamEnd::ClosedByServer;
                        break;
                    }
                }
            }
            () = &mut mark_timer, if mark_due.is_some() => {
                let now = Instant::now();
                for mark in playout.played_marks(now.into_std()) {
                    if echo(&mut sink, &mut sequence, planned, &mark.name).await.is_err() {
                        outcome.end = StreamEnd::ClosedByServer;
                        break;
                    }
                }
            }
            changed = window_end.changed(), if !end_known => {
                let end = match changed {
                    Ok(()) => *window_end.borrow(),
                    // The carrier process is ending: hang up now.
                    Err(_) => Some(Instant::now()),
                };
                if let Some(end) = end {
                    end_timer.as_mut().reset(end);
                    end_known = true;
                }
            }
            () = &mut end_timer => {
                hang_up(sink, &mut source, &mut sequence, planned, &context.plan).await;
                break;
            }
            () = &mut send_timer => {
                let scheduled = send_timer.deadline();
                let now = Instant::now();
                let late = now.saturating_duration_since(scheduled);
                outcome.send_lateness_micros.push(late.as_micros().min(u32::MAX as u128) as u32);
                sequence += 1;
                let message = template.render(sequence, outcome.media_sent);
                outcome.media_sent += 1;
                if sink.send(Message::Text(message.into())).await.is_err() {
                    outcome.end = StreamEnd::ClosedByServer;
                    break;
                }
                // Each frame's time comes from the stream's start, so a late send never delays the next.
                send_timer.as_mut().reset(origin + frame * outcome.media_sent as u32);
            }
        }
        if outcome.end == StreamEnd::ClosedByServer {
            break;
        }
    }
    let now = Instant::now();
    outcome.seconds_up = now.duration_since(origin).as_secs_f64();
    outcome.playout = playout.finish(now.into_std());
}

type Sink = futures_util::stream::SplitSink<Socket, Message>;
type Source = futures_util::stream::SplitStream<Socket>;

/// Echoes a mark back to the server.
async fn echo(
    sink: &mut Sink,
    sequence: &mut u64,
    planned: &PlannedStream,
    name: &str,
) -> Result<(), tokio_tungstenite::tungstenite::Error> {
    *sequence += 1;
    let message = json!({
        "event": "mark", "sequenceNumber": sequence.to_string(), "streamSid": planned.stream_sid,
        "mark": {"name": name}
    });
    sink.send(Message::Text(message.to_string().into())).await
}

/// Sends `stop` as Twilio does when the caller hangs up, closes the socket, and waits briefly for
/// the server to close its side.
async fn hang_up(mut sink: Sink, source: &mut Source, sequence: &mut u64, planned: &PlannedStream, plan: &CarrierPlan) {
    *sequence += 1;
    let stop = json!({
        "event": "stop", "sequenceNumber": sequence.to_string(), "streamSid": planned.stream_sid,
        "stop": {"accountSid": plan.account_sid, "callSid": planned.call_sid}
    });
    let _ = sink.send(Message::Text(stop.to_string().into())).await;
    let _ = sink.close().await;
    let _ = tokio::time::timeout(CLOSE_WAIT, async { while source.next().await.is_some() {} }).await;
}

/// A small read buffer: tungstenite zeroes its default 128 KiB buffer on every read, which would
/// make the carriers, not the server, the limit of the bench.
fn socket_config() -> tokio_tungstenite::tungstenite::protocol::WebSocketConfig {
    tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default().read_buffer_size(2 * 1024)
}

/// A media message from the server, read without buffering its fields.
#[derive(serde::Deserialize)]
struct ServerMedia<'a> {
    event: &'a str,
    #[serde(rename = "streamSid")]
    stream_sid: &'a str,
    media: ServerPayload<'a>,
}

#[derive(serde::Deserialize)]
struct ServerPayload<'a> {
    payload: &'a str,
}

impl<'a> ServerMedia<'a> {
    /// Reads `text` as a media message; `None` for anything else.
    fn parse(text: &'a str) -> Option<ServerMedia<'a>> {
        serde_json::from_str::<ServerMedia<'a>>(text).ok().filter(|message| message.event == "media")
    }
}
