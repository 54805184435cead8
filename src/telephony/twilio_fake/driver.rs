//! One call's life in the fake, as Twilio runs it: the calls-per-second queue, `initiated`,
//! ringing, then the callee's answer or the reason there was none, the media stream of an
//! answered call, answering machine detection, and the final callback.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;
use tracing::{info, warn};

use super::callbacks::{self, ProgressEvent, ProgressOutbox};
use super::callee::{machine_greeting, machine_persona, Callee, BEEP_MS};
use super::log::{CallbackKind, StreamRecord};
use super::params::CallParams;
use super::state::{EndRequest, FakeState};
use crate::collections::model::mask_phone;
use crate::telephony::simulator::{self, CallLeg, CalledParty};
use crate::telephony::twilio::rest::{MachineDetection, API_VERSION};
use crate::telephony::twilio::status::{AnsweredBy, CallStatus};

/// A call the fake accepted, handed to its driver.
pub(super) struct PlacedCall {
    pub sid: String,
    /// The call's place in creation order, which seeds its callback reordering.
    pub number: u64,
    pub params: CallParams,
    pub end: watch::Receiver<Option<EndRequest>>,
}

/// Runs the call from the queue to its final callback.
pub(super) async fn drive(state: Arc<FakeState>, call: PlacedCall) {
    let PlacedCall { sid, number, params, mut end } = call;
    let fields = callbacks::call_fields(&sid, &state.settings.account_sid, &params.from, &params.to);
    let mut outbox = ProgressOutbox::new(
        params.status_callback.clone(),
        params.status_callback_events.clone(),
        fields,
        state.settings.reorder,
        number,
    );

    let start_at = state.cps.lock().expect("cps lock").reserve(Instant::now());
    if until_end(tokio::time::sleep_until(start_at), &mut end).await.is_some() {
        finish(&state, &sid, &mut outbox, CallStatus::Canceled).await;
        return;
    }
    let callee = (state.book)(&params.to);
    info!(call_sid = %sid, to = %mask_phone(&params.to), callee = ?callee.kind(), "fake carrier dialling");
    state.update(&sid, |entry| {
        entry.started_at = Some(state.clock.now());
        entry.status = CallStatus::Initiated;
        entry.callee = Some(callee.kind());
    });
    outbox.report(&state, ProgressEvent::Initiated, CallStatus::Initiated, None).await;
    if matches!(callee, Callee::Failed) {
        finish(&state, &sid, &mut outbox, CallStatus::Failed).await;
        return;
    }

    state.update(&sid, |entry| entry.status = CallStatus::Ringing);
    outbox.report(&state, ProgressEvent::Ringing, CallStatus::Ringing, None).await;
    let ring_time = match callee {
        Callee::NoAnswer => params.timeout,
        _ => state.settings.ring_time,
    };
    if until_end(tokio::time::sleep(ring_time), &mut end).await.is_some() {
        finish(&state, &sid, &mut outbox, CallStatus::Canceled).await;
        return;
    }

    let party = match callee {
        Callee::Busy => return finish(&state, &sid, &mut outbox, CallStatus::Busy).await,
        Callee::NoAnswer => return finish(&state, &sid, &mut outbox, CallStatus::NoAnswer).await,
        Callee::Failed => unreachable!("a failed call ends before ringing"),
        Callee::Machine { greeting_ms } => Answerer::Machine { greeting_ms },
        Callee::Person(persona) => Answerer::Person(persona),
    };
    state.update(&sid, |entry| {
        entry.answered_at = Some(state.clock.now());
        entry.status = CallStatus::InProgress;
    });
    outbox.report(&state, ProgressEvent::Answered, CallStatus::InProgress, None).await;

    // The fake counts the time limit from the answer.
    let time_limit_ends = params.time_limit.map(|limit| Instant::now() + limit);
    run_answered(&state, &sid, &params, party, time_limit_ends, end).await;
    finish(&state, &sid, &mut outbox, CallStatus::Completed).await;
}

/// Who answered, once the call is in progress.
enum Answerer {
    Machine { greeting_ms: u64 },
    Person(crate::telephony::simulator::persona::Persona),
}

impl Answerer {
    /// Returns the detection verdict for this answerer and how long detection takes.
    fn verdict(&self, mode: MachineDetection, detection_time: Duration) -> (AnsweredBy, Duration) {
        match (self, mode) {
            (Answerer::Person(_), _) => (AnsweredBy::Human, detection_time),
            (Answerer::Machine { .. }, MachineDetection::Enable) => (AnsweredBy::MachineStart, detection_time),
            (Answerer::Machine { greeting_ms }, MachineDetection::DetectMessageEnd) => {
                (AnsweredBy::MachineEndBeep, Duration::from_millis(greeting_ms + BEEP_MS))
            }
        }
    }
}

/// Runs an answered call until its media stream ends: TwiML received in an update before the
/// answer runs instead of the voice webhook; otherwise the fake fetches the TwiML and runs the
/// stream with the carrier simulator.
async fn run_answered(
    state: &Arc<FakeState>,
    sid: &str,
    params: &CallParams,
    answerer: Answerer,
    time_limit_ends: Option<Instant>,
    mut end: watch::Receiver<Option<EndRequest>>,
) {
    let replaced_before_answer = state.update(sid, |entry| !entry.twiml_updates.is_empty()).unwrap_or(false);
    if replaced_before_answer {
        // NOTE: the fake records TwiML updates but does not execute them; the call ends once
        // it has "played".
        return;
    }

    let mut webhook_params = vec![
        ("AccountSid".to_string(), state.settings.account_sid.clone()),
        ("ApiVersion".to_string(), API_VERSION.to_string()),
        ("CallSid".to_string(), sid.to_string()),
        ("CallStatus".to_string(), "in-progress".to_string()),
        ("Direction".to_string(), "outbound-api".to_string()),
        ("From".to_string(), params.from.clone()),
        ("To".to_string(), params.to.clone()),
    ];
    if let Some(mode) = params.machine_detection {
        let (answered_by, detection) = answerer.verdict(mode, state.settings.amd_time);
        if params.async_amd {
            tokio::spawn(send_amd_verdict(state.clone(), sid.to_string(), params.clone(), answered_by, detection));
        } else {
            // Synchronous detection delays the TwiML request until the verdict, and adds it.
            // NOTE: no test runs this branch, because the REST client always asks for AsyncAmd.
            if until_end(tokio::time::sleep(detection), &mut end).await.is_some() {
                return;
            }
            webhook_params.push(("AnsweredBy".to_string(), answered_by.as_str().to_string()));
        }
    }

    let leg = CallLeg {
        call_sid: sid.to_string(),
        account_sid: state.settings.account_sid.clone(),
        auth_token: state.settings.auth_token.clone(),
        voice_url: params.url.clone(),
        webhook_params,
    };
    let voices = &state.settings.voices;
    let party = match answerer {
        Answerer::Machine { greeting_ms } => CalledParty {
            persona: machine_persona(),
            voice: voices.tts.clone(),
            persona_voice: voices.spanish.clone(),
            opening: machine_greeting(greeting_ms),
        },
        Answerer::Person(persona) => CalledParty {
            persona_voice: voices.for_language(persona.language),
            persona,
            voice: voices.tts.clone(),
            opening: Vec::new(),
        },
    };
    let mut carrier_end = end.clone();
    let carrier_ends = async move {
        match time_limit_ends {
            Some(deadline) => {
                let _ = until_end(tokio::time::sleep_until(deadline), &mut carrier_end).await;
            }
            None => {
                let _ = carrier_end.wait_for(Option::is_some).await;
            }
        }
    };

    let record = match simulator::run_leg(leg, party, carrier_ends).await {
        Ok(report) => StreamRecord {
            heard_prompts: report.heard_prompts,
            persona_turns: report.persona_turns,
            ended_by: Some(report.ended_by),
            error: None,
        },
        Err(error) => {
            warn!(call_sid = %sid, %error, "fake carrier could not run the answered call");
            StreamRecord { error: Some(error.to_string()), ..StreamRecord::default() }
        }
    };
    state.update(sid, |entry| entry.stream = Some(record));
}

/// Posts the asynchronous detection verdict after `detection`, unless the call ended first.
async fn send_amd_verdict(
    state: Arc<FakeState>,
    sid: String,
    params: CallParams,
    answered_by: AnsweredBy,
    detection: Duration,
) {
    tokio::time::sleep(detection).await;
    let Some(url) = params.amd_status_callback else { return };
    let ended = state.update(&sid, |entry| entry.status.is_final()).unwrap_or(true);
    if ended {
        return;
    }
    let form = vec![
        ("CallSid".to_string(), sid.clone()),
        ("AccountSid".to_string(), state.settings.account_sid.clone()),
        ("AnsweredBy".to_string(), answered_by.as_str().to_string()),
        ("MachineDetectionDuration".to_string(), detection.as_millis().to_string()),
    ];
    callbacks::send(&state, CallbackKind::Amd, &url, form).await;
}

/// Ends the call with `status`, sends the final callback and any held back, and wakes waiters.
/// `CallDuration` is the time from answer to end, rounded to whole seconds; 0 for a call never
/// answered.
async fn finish(state: &FakeState, sid: &str, outbox: &mut ProgressOutbox, status: CallStatus) {
    let call_duration = state.update(sid, |entry| {
        let ended_at = state.clock.now();
        entry.status = status;
        entry.ended_at = Some(ended_at);
        entry.answered_at.map_or(0, |answered_at| {
            let milliseconds = (ended_at - answered_at).num_milliseconds().max(0) as u64;
            (milliseconds + 500) / 1_000
        })
    });
    state.calls.lock().expect("calls lock").end(sid);
    info!(call_sid = %sid, %status, "fake carrier ended the call");

    outbox.report(state, ProgressEvent::Completed, status, Some(call_duration.unwrap_or(0))).await;
    outbox.flush(state).await;
    state.calls.lock().expect("calls lock").finish(sid);
    state.finished.notify_waiters();
}

/// Waits for `phase` to complete, or returns the end request that came first.
async fn until_end(
    phase: impl std::future::Future<Output = ()>,
    end: &mut watch::Receiver<Option<EndRequest>>,
) -> Option<EndRequest> {
    // A closed channel disables the second branch, so the phase then runs to its end.
    tokio::select! {
        () = phase => None,
        Ok(request) = end.wait_for(Option::is_some) => request.clone(),
    }
}
