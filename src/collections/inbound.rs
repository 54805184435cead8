//! Calls nobody dialled whose caller the portfolio could not match to one debtor when the call
//! came in: the number is unknown, withheld, or on file for several debtors.
//!
//! An attempt needs a debt, so such a call is an [`InboundCall`] of its own until the caller
//! gives an account number that matches one debt. Then [`InboundStore::identify_inbound_call`]
//! creates the attempt, which holds the rest of the call and its outcome. A call that ends
//! unidentified keeps its outcome on the inbound call, where no KPI counts it.

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::model::{Account, AttemptId, CallSid, Disposition, TranscriptLine};
use super::store::{NewAttempt, StoreError};

/// The store's identifier of an inbound call that came in unidentified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct InboundCallId(pub i64);

impl fmt::Display for InboundCallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The facts of an unidentified inbound call known when it comes in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInboundCall {
    pub call_sid: CallSid,
    /// The caller's number in E.164, or `None` when it was withheld.
    pub phone: Option<String>,
    pub started_at: DateTime<Utc>,
}

/// An inbound call that came in unidentified, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboundCall {
    pub id: InboundCallId,
    pub call_sid: CallSid,
    pub phone: Option<String>,
    pub started_at: DateTime<Utc>,
    /// The attempt created once the caller was identified. From then on the attempt holds the
    /// call's transcript and outcome.
    pub attempt_id: Option<AttemptId>,
    /// When a call that was never identified ended; `None` while it runs or once it is identified.
    pub ended_at: Option<DateTime<Utc>>,
    pub disposition: Option<Disposition>,
    pub recording_path: Option<String>,
    /// The call's cost in millionths of a dollar, 0 until it ended unidentified.
    pub cost_micros: u64,
}

/// The outcome of an inbound call that was never identified, written once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundCallOutcome {
    pub disposition: Disposition,
    pub ended_at: DateTime<Utc>,
    pub recording_path: Option<String>,
    pub cost_micros: u64,
}

/// The store's side of unidentified inbound calls; every [`super::Store`] implements it.
#[async_trait]
pub trait InboundStore: Send + Sync {
    /// Finds the debt whose account reference, read as its digits alone, is `digits`: a caller can
    /// key `100001` for `BA-TC-100001`. Returns `None` when no debt or more than one matches, so
    /// a caller is never matched by a guess.
    // NOTE: only references that end with their digits are found: `BA-100-001` or `100001-A`
    // never match. No index serves the suffix match, so each lookup reads every debt.
    async fn account_by_reference_digits(&self, digits: &str) -> Result<Option<Account>, StoreError>;

    /// Creates the row of a call that came in unidentified. A second webhook for the same call
    /// sid gets the same row rather than an error.
    async fn create_inbound_call(&self, call: &NewInboundCall) -> Result<InboundCallId, StoreError>;

    async fn inbound_call(&self, id: InboundCallId) -> Result<Option<InboundCall>, StoreError>;

    /// Appends a line said before the caller was identified.
    async fn append_inbound_transcript(&self, id: InboundCallId, line: &TranscriptLine) -> Result<(), StoreError>;

    async fn inbound_transcript(&self, id: InboundCallId) -> Result<Vec<TranscriptLine>, StoreError>;

    /// Creates the attempt of an identified caller in one transaction: the attempt gets the
    /// call's sid and a copy of the lines said so far, and the inbound call points to it. Fails
    /// with `NotFound { what: "unidentified inbound call", .. }` when the call does not exist, is
    /// already identified or has ended.
    async fn identify_inbound_call(&self, id: InboundCallId, attempt: &NewAttempt) -> Result<AttemptId, StoreError>;

    /// Writes how a call that was never identified ended. Fails with `NotFound` as
    /// [`InboundStore::identify_inbound_call`] does, so the first outcome is never overwritten.
    async fn finish_inbound_call(&self, id: InboundCallId, outcome: &InboundCallOutcome) -> Result<(), StoreError>;
}

/// Returns the digits of an account reference, in order: `BA-TC-100001` gives `100001`.
pub fn reference_digits(account_ref: &str) -> String {
    account_ref.chars().filter(char::is_ascii_digit).collect()
}

/// Keeps the one candidate whose reference's digits are `digits`, or none when several are.
/// The backends fetch the debts whose reference ends with `digits`.
pub(crate) fn single_match(candidates: Vec<Account>, digits: &str) -> Option<Account> {
    let mut matching = candidates.into_iter().filter(|account| reference_digits(&account.debt.account_ref) == digits);
    let first = matching.next()?;
    match matching.next() {
        Some(_) => None,
        None => Some(first),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_digits_drop_letters_and_dashes() {
        assert_eq!(reference_digits("BA-TC-100001"), "100001");
        assert_eq!(reference_digits("2024/07-15"), "20240715");
        assert_eq!(reference_digits("ABC"), "");
    }
}

/// Implements [`InboundStore`] for a wrapper type by passing every method to its field `.0`, for
/// stores that wrap another to change a few of its other methods (tests inject failures so).
#[macro_export]
macro_rules! delegate_inbound_store {
    ($wrapper:ty) => {
        #[async_trait::async_trait]
        impl $crate::collections::InboundStore for $wrapper {
            async fn account_by_reference_digits(
                &self,
                digits: &str,
            ) -> Result<Option<$crate::collections::Account>, $crate::collections::StoreError> {
                self.0.account_by_reference_digits(digits).await
            }
            async fn create_inbound_call(
                &self,
                call: &$crate::collections::NewInboundCall,
            ) -> Result<$crate::collections::InboundCallId, $crate::collections::StoreError> {
                self.0.create_inbound_call(call).await
            }
            async fn inbound_call(
                &self,
                id: $crate::collections::InboundCallId,
            ) -> Result<Option<$crate::collections::InboundCall>, $crate::collections::StoreError> {
                self.0.inbound_call(id).await
            }
            async fn append_inbound_transcript(
                &self,
                id: $crate::collections::InboundCallId,
                line: &$crate::collections::TranscriptLine,
            ) -> Result<(), $crate::collections::StoreError> {
                self.0.append_inbound_transcript(id, line).await
            }
            async fn inbound_transcript(
                &self,
                id: $crate::collections::InboundCallId,
            ) -> Result<Vec<$crate::collections::TranscriptLine>, $crate::collections::StoreError> {
                self.0.inbound_transcript(id).await
            }
            async fn identify_inbound_call(
                &self,
                id: $crate::collections::InboundCallId,
                attempt: &$crate::collections::NewAttempt,
            ) -> Result<$crate::collections::AttemptId, $crate::collections::StoreError> {
                self.0.identify_inbound_call(id, attempt).await
            }
            async fn finish_inbound_call(
                &self,
                id: $crate::collections::InboundCallId,
                outcome: &$crate::collections::InboundCallOutcome,
            ) -> Result<(), $crate::collections::StoreError> {
                self.0.finish_inbound_call(id, outcome).await
            }
        }
    };
}
