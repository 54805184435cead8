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

impl SimulatedCall {
    /// Splits the call into a leg with a fresh call sid and the party that answers it.
    fn into_leg(self) -> (CallLeg, CalledParty) {
        let call_sid = format!("CA{}", uuid::Uuid::new_v4().simple());
        let base = self.server_url.trim_end_matches('/');
        let (voice_url, direction, status) = match self.attempt_id {
            Some(attempt_id) => (format!("{base}/twilio/voice?attempt={attempt_id}"), "outbound-api", "in-progress"),
            None => (format!("{base}/twilio/voice"), "inbound", "ringing"),
        };
        let webhook_params = [
            ("AccountSid", self.account_sid.as_str()),
            ("ApiVersion", "2010-04-01"),
            ("CallSid", call_sid.as_str()),
            ("CallStatus", status),
            ("Direction", direction),
            ("From", self.from.as_str()),
            ("To", self.to.as_str()),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect();
        let leg =
            CallLeg { call_sid, account_sid: self.account_sid, auth_token: self.auth_token, voice_url, webhook_params };
        let party = CalledParty {
            persona: self.persona,
            voice: self.voice,
            persona_voice: self.persona_voice,
            opening: Vec::new(),
        };
        (leg, party)
    }
}

/// The carrier's side of one answered call: its identity, and the voice webhook that tells the
/// carrier which media stream to open.
#[derive(Clone)]
pub struct CallLeg {
    pub call_sid: String,
    pub account_sid: String,
    /// Signs the webhook and the stream upgrade.
    pub auth_token: String,
    /// The voice webhook, requested with a signed POST as Twilio does when a call is answered.
    pub voice_url: String,
    /// The voice webhook's form parameters, e.g. `CallSid`, `From`, `To`, `CallStatus`, `Direction`.
    pub webhook_params: Vec<(String, String)>,
}

/// Whoever answers a simulated call: a persona with its voice, and what it plays on answering.
pub struct CalledParty {
    pub persona: Persona,
    pub voice: Arc<EspeakTts>,
    pub persona_voice: EspeakVoice,
    /// μ-law 8 kHz audio sent as soon as the stream starts, such as an answering machine's
    /// greeting. It is empty for a person, who waits for the bot to speak first.
    pub opening: Vec<u8>,
}

/// The reason a simulated media stream ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StreamEnd {
    /// The server closed the socket.
    #[default]
    Server,
    /// The persona hung up.
    Callee,
    /// The carrier ended the call: a REST hang-up, new TwiML or the call's time limit.
    Carrier,
    /// Nobody ended the call within the simulator's maximum call length.
    MaxDuration,
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
    pub ended_by: StreamEnd,
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
    let (leg, party) = call.into_leg();
    run_leg(leg, party, std::future::pending()).await
}

/// Runs one answered call: fetches the TwiML from the leg's voice webhook, opens the media stream
/// it names and plays `party` until the server closes the stream, the persona hangs up, or
/// `carrier_end` completes. In the last case the carrier sends `stop` and closes the socket, as
/// Twilio does when a call is ended over REST.
pub async fn run_leg(
    leg: CallLeg,
    party: CalledParty,
    carrier_end: impl std::future::Future<Output = ()>,
) -> Result<SimulationReport, SimulatorError> {
    let call_sid = leg.call_sid.clone();
    let stream_sid = format!("MZ{}", uuid::Uuid::new_v4().simple());
    let target = fetch_twiml(&leg).await?;

    let stream_error = |reason: String| SimulatorError::Stream { url: target.url.clone(), reason };
    let mut request = target.url.as_str().into_client_request().map_err(|e| stream_error(e.to_string()))?;
    let signed = signature::compute(&leg.auth_token, &target.url, &[]);
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
            "streamSid": stream_sid, "accountSid": leg.account_sid, "callSid": call_sid,
            "tracks": ["inbound"], "customParameters": custom,
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}
        }
    });
    for message in [connected, start] {
        sink.send(Message::Text(message.to_string().into())).await.map_err(|e| stream_error(e.to_string()))?;
    }
    info!(persona = party.persona.name, %call_sid, "simulated call connected");

    let mut report = SimulationReport { call_sid: call_sid.clone(), ..Default::default() };
    let mut sequence: u64 = 1;
    let mut playout = Playout::default();
    let mut turn = if party.opening.is_empty() {
        Turn::Listening
    } else {
        Turn::Speaking(party.opening.iter().copied().collect())
    };
    let stop_message = json!({"event": "stop", "stop": {"accountSid": leg.account_sid, "callSid": call_sid}});
    tokio::pin!(carrier_end);
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
            () = &mut carrier_end => {
                debug!(%call_sid, "carrier ended the call");
                let _ = sink.send(next_message(&mut sequence, stop_message.clone())).await;
                let _ = sink.close().await;
                report.ended_by = StreamEnd::Carrier;
                break;
            }
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
                    report.ended_by = StreamEnd::MaxDuration;
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
                    if let Some(reply) = party.persona.reply_to(&key, times_asked) {
                        turn = Turn::About(now + RESPONSE_DELAY, reply.clone());
                    }
                }

                turn = advance(turn, now, &playout, &party, &mut report).await?;
                if report.persona_hung_up {
                    let _ = sink.send(next_message(&mut sequence, stop_message.clone())).await;
                    let _ = sink.close().await;
                    report.ended_by = StreamEnd::Callee;
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
    info!(persona = party.persona.name, %call_sid, frames = report.frames_sent, "simulated call ended");
    Ok(report)
}

/// Moves the persona's turn forward: starts a reply when its moment comes and the bot is quiet.
async fn advance(
    turn: Turn,
    now: Instant,
    playout: &Playout,
    party: &CalledParty,
    report: &mut SimulationReport,
) -> Result<Turn, SimulatorError> {
    Ok(match turn {
        Turn::About(at, reply) if now >= at && playout.is_idle() => match reply {
            Reply::Say(text) => {
                let pcm = party
                    .voice
                    .render(&text, &party.persona_voice)
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

/// POSTs the signed voice webhook as Twilio does when the call is answered, and reads the
/// stream it asks for.
async fn fetch_twiml(leg: &CallLeg) -> Result<twiml::StreamTarget, SimulatorError> {
    let url = leg.voice_url.clone();
    let signed = signature::compute(&leg.auth_token, &url, &leg.webhook_params);
    let webhook_error = |reason: String| SimulatorError::Webhook { url: url.clone(), reason };
    let response = reqwest::Client::new()
        .post(&url)
        .header("x-twilio-signature", signed)
        .form(&leg.webhook_params)
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
