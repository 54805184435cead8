//! The carrier simulator: dials the server's own endpoints exactly as Twilio would and plays a
//! debtor persona. It fetches the signed TwiML, opens the signed media WebSocket, sends caller
//! audio as 20 ms frames in real time, plays the bot's audio on a simulated playout clock,
//! echoes each mark when the audio before it has played, honours `clear`, and sends `stop` when
//! the persona hangs up.
//!
//! The persona reacts to the prompt key carried in each mark name, as a person reacts to the
//! question they heard; the simulator does not transcribe the bot's audio.

pub mod persona;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::time::{interval_at, Instant, MissedTickBehavior};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tracing::{debug, info};

use self::persona::{Persona, Reply};
use crate::audio::frames::FRAME_BYTES;
use crate::audio::mulaw;
use crate::speech::tts::espeak::{EspeakTts, EspeakVoice};
use crate::telephony::twilio::messages::OutboundMessage;
use crate::telephony::twilio::{signature, twiml};

/// How long the persona waits after the bot's phrase ends before it answers.
const RESPONSE_DELAY: Duration = Duration::from_millis(600);
/// Pause between two keypad presses.
const KEY_INTERVAL: Duration = Duration::from_millis(250);
/// A call the server never ends is abandoned after this long.
const MAX_CALL: Duration = Duration::from_secs(300);

/// The error of a simulated call.
#[derive(Debug, thiserror::Error)]
pub enum SimulatorError {
    #[error("voice webhook {url} failed: {reason}")]
    Webhook { url: String, reason: String },
    #[error("TwiML from {url}: {source}")]
    Twiml { url: String, source: twiml::TwimlError },
    #[error("media stream {url}: {reason}")]
    Stream { url: String, reason: String },
    #[error("persona speech could not be rendered: {0}")]
    Speech(String),
}

/// One call for the simulator to place.
pub struct SimulatedCall {
    /// The server's base URL, e.g. `http://127.0.0.1:8080`.
    pub server_url: String,
    pub account_sid: String,
    pub auth_token: String,
    /// The attempt the voice webhook bridges (`?attempt=ID`, as the dialer's Twilio URL has it).
    /// `None` places an inbound call: the webhook carries `Direction=inbound` and no attempt, and
    /// the server finds the caller by `from`.
    pub attempt_id: Option<i64>,
    /// The caller: the agency's number on an outbound call, the debtor's (or a stranger's, or
    /// `anonymous`) on an inbound one.
    pub from: String,
    pub to: String,
    pub persona: Persona,
    pub voice: Arc<EspeakTts>,
    pub persona_voice: EspeakVoice,
}

/// The record of what the simulated debtor heard and did.
#[derive(Debug, Clone, Default)]
pub struct SimulationReport {
    pub call_sid: String,
    /// Prompt keys of the bot phrases that played in full, in order.
    pub heard_prompts: Vec<String>,
    /// What the persona said or keyed, in order.
    pub persona_turns: Vec<String>,
    pub persona_hung_up: bool,
    pub frames_sent: u64,
    pub bot_frames_played: u64,
}

/// The playout side of the simulated carrier: bot audio queued, marks waiting behind it.
#[derive(Default)]
struct Playout {
    audio: VecDeque<u8>,
    /// Marks with the queue length at which they become due: all bytes before them played.
    marks: VecDeque<(String, usize)>,
    played_bytes: usize,
    queued_bytes: usize,
}

impl Playout {
    fn push_audio(&mut self, bytes: &[u8]) {
        self.audio.extend(bytes);
        self.queued_bytes += bytes.len();
    }

    fn push_mark(&mut self, name: String) {
        self.marks.push_back((name, self.queued_bytes));
    }

    /// Plays 20 ms and returns the marks now due.
    fn tick(&mut self) -> (bool, Vec<String>) {
        let take = self.audio.len().min(FRAME_BYTES);
        self.audio.drain(..take);
        self.played_bytes += take;
        let mut due = Vec::new();
        while self.marks.front().is_some_and(|(_, at)| *at <= self.played_bytes) {
            due.push(self.marks.pop_front().expect("checked").0);
        }
        (take > 0, due)
    }

    /// Drops queued audio; every pending mark is due at once.
    fn clear(&mut self) -> Vec<String> {
        self.queued_bytes -= self.audio.len();
        self.audio.clear();
        self.marks.drain(..).map(|(name, _)| name).collect()
    }

    fn is_idle(&self) -> bool {
        self.audio.is_empty() && self.marks.is_empty()
    }
}

/// The persona's current activity.
enum Turn {
    Listening,
    /// Will act at the instant given.
    About(Instant, Reply),
    Speaking(VecDeque<u8>),
    Keying(VecDeque<char>, Instant),
}

/// Places one simulated call and runs it until either side hangs up.
pub async fn run(call: SimulatedCall) -> Result<SimulationReport, SimulatorError> {
    let call_sid = format!("CA{}", uuid::Uuid::new_v4().simple());
    let stream_sid = format!("MZ{}", uuid::Uuid::new_v4().simple());
    let target = fetch_twiml(&call, &call_sid).await?;

    let stream_error = |reason: String| SimulatorError::Stream { url: target.url.clone(), reason };
    let mut request = target.url.as_str().into_client_request().map_err(|e| stream_error(e.to_string()))?;
    let signed = signature::compute(&call.auth_token, &target.url, &[]);
    request
        .headers_mut()
        .insert("x-twilio-signature", signed.parse().map_err(|_| stream_error("bad signature header".into()))?);
    let (socket, _) = tokio_tungstenite::connect_async(request).await.map_err(|e| stream_error(e.to_string()))?;
    let (mut sink, mut source) = socket.split();

    let custom: serde_json::Map<String, serde_json::Value> =
        target.parameters.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
    let connected = json!({"event": "connected", "protocol": "Call", "version": "1.0.0"});
    let start = json!({
        "event": "start", "sequenceNumber": "1", "streamSid": stream_sid,
        "start": {
            "streamSid": stream_sid, "accountSid": call.account_sid, "callSid": call_sid,
            "tracks": ["inbound"], "customParameters": custom,
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}
        }
    });
    for message in [connected, start] {
        sink.send(Message::Text(message.to_string().into())).await.map_err(|e| stream_error(e.to_string()))?;
    }
    info!(persona = call.persona.name, %call_sid, "simulated call connected");

    let mut report = SimulationReport { call_sid: call_sid.clone(), ..Default::default() };
    let mut sequence: u64 = 1;
    let mut playout = Playout::default();
    let mut turn = Turn::Listening;
    let began = Instant::now();
    let mut ticker = interval_at(began, Duration::from_millis(20));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let next_message = |sequence: &mut u64, body: serde_json::Value| {
        *sequence += 1;
        let mut body = body;
        body["sequenceNumber"] = json!(sequence.to_string());
        body["streamSid"] = json!(stream_sid);
        Message::Text(body.to_string().into())
    };

    loop {
        tokio::select! {
            received = source.next() => {
                let text = match received {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                        debug!(%call_sid, "server closed the media stream");
                        break;
                    }
                    Some(Ok(_)) => continue,
                };
                match serde_json::from_str::<OutboundMessage>(&text) {
                    Ok(OutboundMessage::Media { media, .. }) => {
                        use base64::Engine as _;
                        let bytes = base64::engine::general_purpose::STANDARD
                            .decode(media.payload.as_bytes())
                            .map_err(|e| stream_error(format!("bot media is not base64: {e}")))?;
                        playout.push_audio(&bytes);
                    }
                    Ok(OutboundMessage::Mark { mark, .. }) => playout.push_mark(mark.name),
                    Ok(OutboundMessage::Clear { .. }) => {
                        for name in playout.clear() {
                            let echo = next_message(&mut sequence, json!({"event": "mark", "mark": {"name": name}}));
                            sink.send(echo).await.map_err(|e| stream_error(e.to_string()))?;
                        }
                    }
                    Err(error) => return Err(stream_error(format!("server sent an invalid message: {error}: {text}"))),
                }
            }
            _ = ticker.tick() => {
                let now = Instant::now();
                if now.duration_since(began) > MAX_CALL {
                    break;
                }
                let (played, due) = playout.tick();
                report.bot_frames_played += u64::from(played);
                for name in due {
                    let key = name.split_once(':').map_or(name.as_str(), |(_, key)| key).to_string();
                    report.heard_prompts.push(key.clone());
                    let echo = next_message(&mut sequence, json!({"event": "mark", "mark": {"name": name}}));
                    sink.send(echo).await.map_err(|e| stream_error(e.to_string()))?;
                    let times_asked = report.heard_prompts.iter().filter(|heard| **heard == key).count() - 1;
                    if let Some(reply) = call.persona.reply_to(&key, times_asked) {
                        turn = Turn::About(now + RESPONSE_DELAY, reply.clone());
                    }
                }

                turn = advance(turn, now, &playout, &call, &mut report).await?;
                if report.persona_hung_up {
                    let stop = next_message(&mut sequence, json!({"event": "stop", "stop": {"accountSid": call.account_sid, "callSid": call_sid}}));
                    let _ = sink.send(stop).await;
                    let _ = sink.close().await;
                    break;
                }

                let frame: Vec<u8> = match &mut turn {
                    Turn::Speaking(audio) => {
                        let take = audio.len().min(FRAME_BYTES);
                        let mut frame: Vec<u8> = audio.drain(..take).collect();
                        frame.resize(FRAME_BYTES, mulaw::SILENCE);
                        frame
                    }
                    _ => vec![mulaw::SILENCE; FRAME_BYTES],
                };
                if let Turn::Keying(keys, at) = &mut turn {
                    if now >= *at {
                        if let Some(key) = keys.pop_front() {
                            let dtmf = next_message(&mut sequence, json!({"event": "dtmf", "dtmf": {"track": "inbound_track", "digit": key.to_string()}}));
                            sink.send(dtmf).await.map_err(|e| stream_error(e.to_string()))?;
                            *at = now + KEY_INTERVAL;
                        }
                    }
                }
                let timestamp = report.frames_sent * 20;
                report.frames_sent += 1;
                use base64::Engine as _;
                let media = next_message(&mut sequence, json!({
                    "event": "media",
                    "media": {
                        "track": "inbound",
                        "chunk": report.frames_sent.to_string(),
                        "timestamp": timestamp.to_string(),
                        "payload": base64::engine::general_purpose::STANDARD.encode(&frame),
                    }
                }));
                if sink.send(media).await.is_err() {
                    break;
                }
            }
        }
    }
    info!(persona = call.persona.name, %call_sid, frames = report.frames_sent, "simulated call ended");
    Ok(report)
}

/// Moves the persona's turn forward: starts a reply when its moment comes and the bot is quiet.
async fn advance(
    turn: Turn,
    now: Instant,
    playout: &Playout,
    call: &SimulatedCall,
    report: &mut SimulationReport,
) -> Result<Turn, SimulatorError> {
    Ok(match turn {
        Turn::About(at, reply) if now >= at && playout.is_idle() => match reply {
            Reply::Say(text) => {
                let pcm = call
                    .voice
                    .render(&text, &call.persona_voice)
                    .await
                    .map_err(|e| SimulatorError::Speech(e.to_string()))?;
                report.persona_turns.push(text);
                Turn::Speaking(mulaw::encode_slice(&pcm).into())
            }
            Reply::Keys(keys) => {
                report.persona_turns.push(format!("[keys {keys}]"));
                Turn::Keying(keys.chars().collect(), now)
            }
            Reply::HangUp => {
                report.persona_turns.push("[hangs up]".to_string());
                report.persona_hung_up = true;
                Turn::Listening
            }
        },
        Turn::Speaking(audio) if audio.is_empty() => Turn::Listening,
        Turn::Keying(keys, _) if keys.is_empty() => Turn::Listening,
        other => other,
    })
}

/// POSTs the signed voice webhook as Twilio does when an outbound call is answered or an
/// inbound one rings, and reads the stream it asks for.
async fn fetch_twiml(call: &SimulatedCall, call_sid: &str) -> Result<twiml::StreamTarget, SimulatorError> {
    let base = call.server_url.trim_end_matches('/');
    let (url, direction, status) = match call.attempt_id {
        Some(attempt_id) => (format!("{base}/twilio/voice?attempt={attempt_id}"), "outbound-api", "in-progress"),
        None => (format!("{base}/twilio/voice"), "inbound", "ringing"),
    };
    let params: Vec<(String, String)> = [
        ("AccountSid", call.account_sid.as_str()),
        ("ApiVersion", "2010-04-01"),
        ("CallSid", call_sid),
        ("CallStatus", status),
        ("Direction", direction),
        ("From", call.from.as_str()),
        ("To", call.to.as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let signed = signature::compute(&call.auth_token, &url, &params);
    let webhook_error = |reason: String| SimulatorError::Webhook { url: url.clone(), reason };
    let response = reqwest::Client::new()
        .post(&url)
        .header("x-twilio-signature", signed)
        .form(&params)
        .send()
        .await
        .map_err(|e| webhook_error(e.to_string()))?;
    let status = response.status();
    let body = response.text().await.map_err(|e| webhook_error(e.to_string()))?;
    if !status.is_success() {
        return Err(webhook_error(format!("HTTP {status}: {body}")));
    }
    twiml::parse_stream_target(&body).map_err(|source| SimulatorError::Twiml { url, source })
}
