//! Twilio's call-progress and asynchronous answering-machine-detection callbacks, parsed from
//! their form bodies. The dialer stores what these return; the Twilio fake sends the same fields.
//!
//! Callbacks are separate HTTP requests and may arrive out of order, so a reader orders them by
//! `SequenceNumber`, never by arrival.

use std::fmt;
use std::str::FromStr;

use crate::collections::model::CallSid;

/// The state of a call, as Twilio's `CallStatus` field and the call resource's `status` name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CallStatus {
    Queued,
    Initiated,
    Ringing,
    InProgress,
    Completed,
    Busy,
    NoAnswer,
    Failed,
    Canceled,
}

impl CallStatus {
    pub const ALL: [CallStatus; 9] = [
        CallStatus::Queued,
        CallStatus::Initiated,
        CallStatus::Ringing,
        CallStatus::InProgress,
        CallStatus::Completed,
        CallStatus::Busy,
        CallStatus::NoAnswer,
        CallStatus::Failed,
        CallStatus::Canceled,
    ];

    /// Returns the status as Twilio writes it, e.g. `no-answer`.
    pub fn as_str(self) -> &'static str {
        match self {
            CallStatus::Queued => "queued",
            CallStatus::Initiated => "initiated",
            CallStatus::Ringing => "ringing",
            CallStatus::InProgress => "in-progress",
            CallStatus::Completed => "completed",
            CallStatus::Busy => "busy",
            CallStatus::NoAnswer => "no-answer",
            CallStatus::Failed => "failed",
            CallStatus::Canceled => "canceled",
        }
    }

    /// True for the statuses a call ends in: no callback follows one of them.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            CallStatus::Completed | CallStatus::Busy | CallStatus::NoAnswer | CallStatus::Failed | CallStatus::Canceled
        )
    }
}

impl fmt::Display for CallStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CallStatus {
    type Err = ();

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        CallStatus::ALL.into_iter().find(|status| status.as_str() == text).ok_or(())
    }
}

/// Who or what answered, as answering machine detection decided (`AnsweredBy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnsweredBy {
    Human,
    /// A machine, reported as soon as detected (`MachineDetection=Enable`).
    MachineStart,
    /// A machine whose greeting ended with a beep (`MachineDetection=DetectMessageEnd`).
    MachineEndBeep,
    MachineEndSilence,
    MachineEndOther,
    Fax,
    /// Detection gave no verdict in time.
    Unknown,
}

impl AnsweredBy {
    pub const ALL: [AnsweredBy; 7] = [
        AnsweredBy::Human,
        AnsweredBy::MachineStart,
        AnsweredBy::MachineEndBeep,
        AnsweredBy::MachineEndSilence,
        AnsweredBy::MachineEndOther,
        AnsweredBy::Fax,
        AnsweredBy::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AnsweredBy::Human => "human",
            AnsweredBy::MachineStart => "machine_start",
            AnsweredBy::MachineEndBeep => "machine_end_beep",
            AnsweredBy::MachineEndSilence => "machine_end_silence",
            AnsweredBy::MachineEndOther => "machine_end_other",
            AnsweredBy::Fax => "fax",
            AnsweredBy::Unknown => "unknown",
        }
    }

    /// True when no person is on the line. A fax counts as a machine. `unknown` counts as a
    /// person, because detection errs and hanging up on a debtor costs more than talking to a
    /// recorder that announced itself.
    pub fn is_machine(self) -> bool {
        !matches!(self, AnsweredBy::Human | AnsweredBy::Unknown)
    }
}

impl fmt::Display for AnsweredBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AnsweredBy {
    type Err = ();

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        AnsweredBy::ALL.into_iter().find(|answered_by| answered_by.as_str() == text).ok_or(())
    }
}

/// The error for a callback body that lacks a field or carries a value Twilio never sends.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    #[error("Twilio callback has no {field}; check that the request is a {kind} callback")]
    Missing { kind: &'static str, field: &'static str },
    #[error("Twilio callback field {field} has the invalid value '{value}'; expected {expected}")]
    Invalid { field: &'static str, value: String, expected: String },
}

/// One call-progress callback (`StatusCallback`): which call, its status, and the callback's
/// place in the order Twilio sent them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallProgress {
    pub call_sid: CallSid,
    pub status: CallStatus,
    /// Starts at 0 for each call; orders callbacks that arrive out of order.
    pub sequence_number: u32,
    /// Seconds the call lasted, sent with the final status.
    pub call_duration: Option<u32>,
    /// Present when the call used synchronous answering machine detection.
    pub answered_by: Option<AnsweredBy>,
}

impl CallProgress {
    const KIND: &'static str = "call-progress";

    /// Parses a call-progress callback's form parameters. Fields it does not use are ignored,
    /// since Twilio adds parameters without notice.
    pub fn from_form(params: &[(String, String)]) -> Result<CallProgress, CallbackError> {
        let form = Form { params, kind: CallProgress::KIND };
        let status_text = form.required("CallStatus")?;
        let status = status_text.parse().map_err(|()| CallbackError::Invalid {
            field: "CallStatus",
            value: status_text.to_string(),
            expected: one_of(CallStatus::ALL.iter().map(|status| status.as_str())),
        })?;
        Ok(CallProgress {
            call_sid: CallSid(form.required("CallSid")?.to_string()),
            status,
            sequence_number: form.number("SequenceNumber", form.required("SequenceNumber")?)?,
            call_duration: form.optional("CallDuration").map(|value| form.number("CallDuration", value)).transpose()?,
            answered_by: form.optional("AnsweredBy").map(answered_by).transpose()?,
        })
    }
}

/// The verdict of asynchronous answering machine detection (`AsyncAmdStatusCallback`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmdResult {
    pub call_sid: CallSid,
    pub answered_by: AnsweredBy,
    /// Milliseconds detection took, from the answer.
    pub machine_detection_duration_ms: Option<u32>,
}

impl AmdResult {
    const KIND: &'static str = "answering machine detection";

    /// Parses an asynchronous answering machine detection callback's form parameters.
    pub fn from_form(params: &[(String, String)]) -> Result<AmdResult, CallbackError> {
        let form = Form { params, kind: AmdResult::KIND };
        Ok(AmdResult {
            call_sid: CallSid(form.required("CallSid")?.to_string()),
            answered_by: answered_by(form.required("AnsweredBy")?)?,
            machine_detection_duration_ms: form
                .optional("MachineDetectionDuration")
                .map(|value| form.number("MachineDetectionDuration", value))
                .transpose()?,
        })
    }
}

/// A callback's form parameters, read by name.
struct Form<'a> {
    params: &'a [(String, String)],
    kind: &'static str,
}

impl<'a> Form<'a> {
    /// Returns the first value of `field`; an empty value counts as absent.
    fn optional(&self, field: &str) -> Option<&'a str> {
        self.params.iter().find(|(name, _)| name == field).map(|(_, value)| value.as_str()).filter(|v| !v.is_empty())
    }

    fn required(&self, field: &'static str) -> Result<&'a str, CallbackError> {
        self.optional(field).ok_or(CallbackError::Missing { kind: self.kind, field })
    }

    fn number(&self, field: &'static str, value: &str) -> Result<u32, CallbackError> {
        value.parse().map_err(|_| CallbackError::Invalid {
            field,
            value: value.to_string(),
            expected: "a whole number".to_string(),
        })
    }
}

fn answered_by(value: &str) -> Result<AnsweredBy, CallbackError> {
    value.parse().map_err(|()| CallbackError::Invalid {
        field: "AnsweredBy",
        value: value.to_string(),
        expected: one_of(AnsweredBy::ALL.iter().map(|answered_by| answered_by.as_str())),
    })
}

fn one_of<'a>(values: impl Iterator<Item = &'a str>) -> String {
    format!("one of {}", values.collect::<Vec<_>>().join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(name, value)| (name.to_string(), value.to_string())).collect()
    }

    #[test]
    fn progress_reads_completed_callback() {
        let params = form(&[
            ("AccountSid", "AC1"),
            ("CallSid", "CA1"),
            ("CallStatus", "completed"),
            ("SequenceNumber", "3"),
            ("CallDuration", "42"),
            ("CallbackSource", "call-progress-events"),
        ]);

        let progress = CallProgress::from_form(&params).expect("valid callback");

        assert_eq!(
            progress,
            CallProgress {
                call_sid: CallSid("CA1".into()),
                status: CallStatus::Completed,
                sequence_number: 3,
                call_duration: Some(42),
                answered_by: None,
            }
        );
    }

    #[test]
    fn progress_reads_every_status() {
        for status in CallStatus::ALL {
            let params = form(&[("CallSid", "CA1"), ("CallStatus", status.as_str()), ("SequenceNumber", "0")]);
            assert_eq!(CallProgress::from_form(&params).expect("valid callback").status, status);
        }
    }

    #[test]
    fn progress_reads_synchronous_amd_verdict() {
        let params = form(&[
            ("CallSid", "CA1"),
            ("CallStatus", "in-progress"),
            ("SequenceNumber", "2"),
            ("AnsweredBy", "machine_start"),
        ]);
        assert_eq!(CallProgress::from_form(&params).expect("valid").answered_by, Some(AnsweredBy::MachineStart));
    }

    #[test]
    fn progress_names_missing_sequence_number() {
        let params = form(&[("CallSid", "CA1"), ("CallStatus", "ringing")]);
        let error = CallProgress::from_form(&params).expect_err("no sequence number");
        assert_eq!(error, CallbackError::Missing { kind: "call-progress", field: "SequenceNumber" });
        assert_eq!(
            error.to_string(),
            "Twilio callback has no SequenceNumber; check that the request is a call-progress callback"
        );
    }

    #[test]
    fn progress_names_invalid_status() {
        let params = form(&[("CallSid", "CA1"), ("CallStatus", "answered"), ("SequenceNumber", "1")]);
        let error = CallProgress::from_form(&params).expect_err("answered is an event, not a status");
        assert_eq!(
            error.to_string(),
            "Twilio callback field CallStatus has the invalid value 'answered'; expected one of queued, initiated, \
             ringing, in-progress, completed, busy, no-answer, failed, canceled"
        );
    }

    #[test]
    fn progress_names_invalid_duration() {
        let params =
            form(&[("CallSid", "CA1"), ("CallStatus", "completed"), ("SequenceNumber", "1"), ("CallDuration", "-3")]);
        let error = CallProgress::from_form(&params).expect_err("negative duration");
        assert_eq!(
            error,
            CallbackError::Invalid { field: "CallDuration", value: "-3".into(), expected: "a whole number".into() }
        );
    }

    #[test]
    fn amd_reads_machine_verdict() {
        let params = form(&[
            ("AccountSid", "AC1"),
            ("CallSid", "CA7"),
            ("AnsweredBy", "machine_end_beep"),
            ("MachineDetectionDuration", "4210"),
        ]);
        assert_eq!(
            AmdResult::from_form(&params).expect("valid"),
            AmdResult {
                call_sid: CallSid("CA7".into()),
                answered_by: AnsweredBy::MachineEndBeep,
                machine_detection_duration_ms: Some(4210),
            }
        );
    }

    #[test]
    fn amd_names_invalid_verdict() {
        let params = form(&[("CallSid", "CA7"), ("AnsweredBy", "robot")]);
        let error = AmdResult::from_form(&params).expect_err("unknown verdict");
        assert_eq!(
            error.to_string(),
            "Twilio callback field AnsweredBy has the invalid value 'robot'; expected one of human, machine_start, \
             machine_end_beep, machine_end_silence, machine_end_other, fax, unknown"
        );
    }

    #[test]
    fn amd_names_missing_call_sid() {
        let params = form(&[("AnsweredBy", "human")]);
        assert_eq!(
            AmdResult::from_form(&params),
            Err(CallbackError::Missing { kind: "answering machine detection", field: "CallSid" })
        );
    }

    #[test]
    fn machine_verdicts_include_fax_but_not_unknown() {
        let machines: Vec<AnsweredBy> = AnsweredBy::ALL.into_iter().filter(|a| a.is_machine()).collect();
        assert_eq!(
            machines,
            vec![
                AnsweredBy::MachineStart,
                AnsweredBy::MachineEndBeep,
                AnsweredBy::MachineEndSilence,
                AnsweredBy::MachineEndOther,
                AnsweredBy::Fax,
            ]
        );
    }

    #[test]
    fn final_statuses() {
        let finals: Vec<CallStatus> = CallStatus::ALL.into_iter().filter(|s| s.is_final()).collect();
        assert_eq!(
            finals,
            vec![
                CallStatus::Completed,
                CallStatus::Busy,
                CallStatus::NoAnswer,
                CallStatus::Failed,
                CallStatus::Canceled
            ]
        );
    }
}
