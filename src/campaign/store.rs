//! The dialer's part of the collections store: campaigns, their targets, the leases that keep
//! two nodes from calling one debtor, and the carrier's call progress. SQLite implements it
//! for one node; PostgreSQL for several, with `FOR UPDATE SKIP LOCKED`.

use std::fmt;
use std::str::FromStr;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::settings::CampaignSettings;
use crate::collections::model::{Account, AttemptId, CallSid, DebtId, DebtorId, Disposition};
use crate::collections::StoreError;
use crate::policy::{Decision, PastContact, Refusal};

/// The state of a campaign. Only a running campaign dials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignStatus {
    Draft,
    Running,
    Paused,
    Stopped,
}

impl CampaignStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CampaignStatus::Draft => "draft",
            CampaignStatus::Running => "running",
            CampaignStatus::Paused => "paused",
            CampaignStatus::Stopped => "stopped",
        }
    }
}

impl FromStr for CampaignStatus {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "draft" => Ok(CampaignStatus::Draft),
            "running" => Ok(CampaignStatus::Running),
            "paused" => Ok(CampaignStatus::Paused),
            "stopped" => Ok(CampaignStatus::Stopped),
            other => Err(format!("unknown campaign status '{other}'; expected draft, running, paused or stopped")),
        }
    }
}

impl fmt::Display for CampaignStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A campaign as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Campaign {
    pub name: String,
    pub status: CampaignStatus,
    pub settings: CampaignSettings,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A debt to add to a campaign, with its place in the queue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTarget {
    pub debt_id: DebtId,
    pub debtor_id: DebtorId,
    /// Expected value of a call in US dollars, from scoring; higher is dialled first.
    pub priority: f64,
    pub segment: Option<String>,
    pub due_at: DateTime<Utc>,
}

/// A target the dialer took from the queue.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub campaign: String,
    pub debt_id: DebtId,
    pub debtor_id: DebtorId,
    pub priority: f64,
    pub segment: Option<String>,
    /// Tries before this one.
    pub tries: u32,
}

/// The facts about a target's debtor that the contact policy reads.
#[derive(Debug, Clone)]
pub struct DialFacts {
    pub target: Target,
    pub account: Account,
    pub opted_out_channels: Vec<String>,
    pub on_do_not_call_list: bool,
    pub disputed_debts: Vec<DebtId>,
    pub callback_at: Option<DateTime<Utc>>,
    pub history: Vec<PastContact>,
}

/// One claim round: the due targets of one campaign, taken in priority order, each leased and
/// decided while the lease is held.
pub struct Claim<'a> {
    pub campaign: &'a str,
    pub node: &'a str,
    pub now: DateTime<Utc>,
    /// Targets to take at most, dialled or not.
    pub limit: usize,
    pub lease_for: Duration,
    /// How far back the debtor's contacts are read.
    pub history_for: Duration,
    pub decide: &'a (dyn Fn(&DialFacts) -> Decision + Send + Sync),
}

/// The result of a claim round for one target.
#[derive(Debug, Clone)]
pub enum Claimed {
    /// Leased, and its attempt row written: the call may be placed.
    Dial { attempt_id: AttemptId, facts: Box<DialFacts> },
    /// The policy refused; the target waits until `next_allowed`, or is done without one.
    Skipped { debt_id: DebtId, debtor_id: DebtorId, reason: Refusal, next_allowed: Option<DateTime<Utc>> },
    /// Another node holds the debtor; the target stays due.
    Busy { debt_id: DebtId },
}

/// A lease whose call is over, or whose node stopped renewing it.
#[derive(Debug, Clone, PartialEq)]
pub struct EndedLease {
    pub campaign: String,
    pub debtor_id: DebtorId,
    pub debt_id: DebtId,
    pub attempt_id: Option<AttemptId>,
    /// The carrier's id of the attempt's call, once the dialer or a callback stored it.
    pub call_sid: Option<CallSid>,
    pub node: String,
    /// Tries including this one.
    pub tries: u32,
    /// The attempt's disposition; `None` when the lease expired before the call ended.
    pub disposition: Option<Disposition>,
    pub ended_at: Option<DateTime<Utc>>,
    pub expired: bool,
}

/// A campaign's progress for `campaign show` and the API.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CampaignProgress {
    pub targets: u64,
    pub waiting: u64,
    pub due: u64,
    pub dialing: u64,
    pub done: u64,
    pub attempts: u64,
    /// Attempts by disposition name, most first.
    pub outcomes: Vec<(String, u64)>,
    /// Times the dialer passed a debt over, by reason code, most first.
    pub skips: Vec<(String, u64)>,
}

/// The state of a target in its campaign's queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetState {
    /// Due at `due_at`.
    Waiting,
    /// A lease holds the debtor while a call is placed or in progress.
    Dialing,
    /// No further try is planned until a broken promise reopens the target.
    Done,
}

impl FromStr for TargetState {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "waiting" => Ok(TargetState::Waiting),
            "dialing" => Ok(TargetState::Dialing),
            "done" => Ok(TargetState::Done),
            other => Err(format!("unknown target state '{other}'; expected waiting, dialing or done")),
        }
    }
}

/// A campaign target as stored: its place in the queue and how its last try went.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredTarget {
    pub campaign: String,
    pub debt_id: DebtId,
    pub debtor_id: DebtorId,
    pub state: TargetState,
    /// The earliest instant the next try may start.
    pub due_at: DateTime<Utc>,
    /// Tries so far.
    pub tries: u32,
    /// The last try's disposition name, or `broken_promise` after a follow-up was scheduled.
    pub last_outcome: Option<String>,
    /// The contact-policy reason code of the last skip.
    pub last_refusal: Option<String>,
}

/// The carrier's report on an attempt's call, from its status and detection callbacks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CarrierReport {
    /// Twilio's `CallStatus` of the callback with the highest `SequenceNumber` so far.
    pub call_status: Option<String>,
    /// Twilio's `AnsweredBy` from answering-machine detection.
    pub answered_by: Option<String>,
}

/// One status callback from the carrier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallProgressEvent {
    pub call_sid: String,
    pub sequence: u32,
    /// Twilio's `CallStatus`: queued, initiated, ringing, in-progress, completed, busy,
    /// no-answer, failed or canceled.
    pub status: String,
    pub duration_secs: Option<u32>,
    pub received_at: DateTime<Utc>,
}

/// The store's side of campaigns and dialing.
#[async_trait]
pub trait CampaignStore: Send + Sync {
    /// Stores a new campaign as a draft. Fails when the name is taken.
    async fn create_campaign(
        &self,
        name: &str,
        settings: &CampaignSettings,
        at: DateTime<Utc>,
    ) -> Result<Campaign, StoreError>;

    async fn campaign(&self, name: &str) -> Result<Option<Campaign>, StoreError>;

    /// Lists every campaign, by name.
    async fn campaigns(&self) -> Result<Vec<Campaign>, StoreError>;

    async fn set_campaign_status(
        &self,
        name: &str,
        status: CampaignStatus,
        at: DateTime<Utc>,
    ) -> Result<Campaign, StoreError>;

    /// Adds targets not in the campaign yet, and updates the priority and segment of those
    /// still waiting. Returns how many were added.
    async fn enrol_targets(&self, campaign: &str, targets: &[NewTarget]) -> Result<usize, StoreError>;

    /// Makes a target due again for each promise of its debt broken since the last follow-up,
    /// `delay` after the promise was settled. Returns how many targets were reopened.
    async fn follow_up_broken_promises(
        &self,
        campaign: &str,
        delay: Duration,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError>;

    /// Takes due targets in priority order, leases each debtor, decides with the lease held and
    /// writes the attempt row of each allowed call before returning it.
    async fn claim_targets(&self, claim: &Claim<'_>) -> Result<Vec<Claimed>, StoreError>;

    /// Leases held for a campaign, by every node: the calls it has in progress.
    async fn active_leases(&self, campaign: &str) -> Result<u32, StoreError>;

    /// Extends this node's leases to `until`, except those of calls that ended.
    async fn renew_leases(&self, node: &str, until: DateTime<Utc>) -> Result<u64, StoreError>;

    /// Lists leases whose attempt has ended, and leases past their expiry.
    async fn ended_leases(&self, now: DateTime<Utc>) -> Result<Vec<EndedLease>, StoreError>;

    /// Releases a lease and moves its target on: due again at `next`, or done without one. An
    /// expired lease's unfinished attempt is finished first as a technical failure, so no
    /// attempt is left open. Returns false when another node released it first.
    async fn release_lease(
        &self,
        lease: &EndedLease,
        next: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Stores a status callback and returns the call's status with the highest sequence number
    /// so far, with its attempt.
    async fn record_call_progress(&self, event: &CallProgressEvent) -> Result<Option<(AttemptId, String)>, StoreError>;

    /// Stores the answering-machine verdict of the attempt's call.
    async fn record_answered_by(&self, call_sid: &str, answered_by: &str) -> Result<Option<AttemptId>, StoreError>;

    /// Reads the call status and answering-machine verdict stored for an attempt; `None` when
    /// the attempt does not exist.
    async fn carrier_report(&self, attempt_id: AttemptId) -> Result<Option<CarrierReport>, StoreError>;

    /// Reads one target of a campaign; `None` when the campaign has no target for the debt.
    async fn campaign_target(&self, campaign: &str, debt_id: DebtId) -> Result<Option<StoredTarget>, StoreError>;

    async fn campaign_progress(&self, campaign: &str, now: DateTime<Utc>) -> Result<CampaignProgress, StoreError>;

    /// Counts the dialer's skips by reason code over the hours in `[from, to)`, of one campaign
    /// or of all, most first.
    async fn policy_skips(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        campaign: Option<&str>,
    ) -> Result<Vec<(String, u64)>, StoreError>;
}

/// Implements [`CampaignStore`] for a wrapper type by passing every method to its field `.0`, for
/// stores that wrap another to change a few of its other methods (tests inject failures so).
#[macro_export]
macro_rules! delegate_campaign_store {
    ($wrapper:ty) => {
        #[async_trait::async_trait]
        impl $crate::campaign::store::CampaignStore for $wrapper {
            async fn create_campaign(
                &self,
                name: &str,
                settings: &$crate::campaign::settings::CampaignSettings,
                at: chrono::DateTime<chrono::Utc>,
            ) -> Result<$crate::campaign::store::Campaign, $crate::collections::StoreError> {
                self.0.create_campaign(name, settings, at).await
            }
            async fn campaign(
                &self,
                name: &str,
            ) -> Result<Option<$crate::campaign::store::Campaign>, $crate::collections::StoreError> {
                self.0.campaign(name).await
            }
            async fn campaigns(
                &self,
            ) -> Result<Vec<$crate::campaign::store::Campaign>, $crate::collections::StoreError> {
                self.0.campaigns().await
            }
            async fn set_campaign_status(
                &self,
                name: &str,
                status: $crate::campaign::store::CampaignStatus,
                at: chrono::DateTime<chrono::Utc>,
            ) -> Result<$crate::campaign::store::Campaign, $crate::collections::StoreError> {
                self.0.set_campaign_status(name, status, at).await
            }
            async fn enrol_targets(
                &self,
                campaign: &str,
                targets: &[$crate::campaign::store::NewTarget],
            ) -> Result<usize, $crate::collections::StoreError> {
                self.0.enrol_targets(campaign, targets).await
            }
            async fn follow_up_broken_promises(
                &self,
                campaign: &str,
                delay: chrono::Duration,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<usize, $crate::collections::StoreError> {
                self.0.follow_up_broken_promises(campaign, delay, now).await
            }
            async fn claim_targets(
                &self,
                claim: &$crate::campaign::store::Claim<'_>,
            ) -> Result<Vec<$crate::campaign::store::Claimed>, $crate::collections::StoreError> {
                self.0.claim_targets(claim).await
            }
            async fn active_leases(&self, campaign: &str) -> Result<u32, $crate::collections::StoreError> {
                self.0.active_leases(campaign).await
            }
            async fn renew_leases(
                &self,
                node: &str,
                until: chrono::DateTime<chrono::Utc>,
            ) -> Result<u64, $crate::collections::StoreError> {
                self.0.renew_leases(node, until).await
            }
            async fn ended_leases(
                &self,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<Vec<$crate::campaign::store::EndedLease>, $crate::collections::StoreError> {
                self.0.ended_leases(now).await
            }
            async fn release_lease(
                &self,
                lease: &$crate::campaign::store::EndedLease,
                next: Option<chrono::DateTime<chrono::Utc>>,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<bool, $crate::collections::StoreError> {
                self.0.release_lease(lease, next, now).await
            }
            async fn record_call_progress(
                &self,
                event: &$crate::campaign::store::CallProgressEvent,
            ) -> Result<Option<($crate::collections::model::AttemptId, String)>, $crate::collections::StoreError> {
                self.0.record_call_progress(event).await
            }
            async fn record_answered_by(
                &self,
                call_sid: &str,
                answered_by: &str,
            ) -> Result<Option<$crate::collections::model::AttemptId>, $crate::collections::StoreError> {
                self.0.record_answered_by(call_sid, answered_by).await
            }
            async fn carrier_report(
                &self,
                attempt_id: $crate::collections::model::AttemptId,
            ) -> Result<Option<$crate::campaign::store::CarrierReport>, $crate::collections::StoreError> {
                self.0.carrier_report(attempt_id).await
            }
            async fn campaign_target(
                &self,
                campaign: &str,
                debt_id: $crate::collections::model::DebtId,
            ) -> Result<Option<$crate::campaign::store::StoredTarget>, $crate::collections::StoreError> {
                self.0.campaign_target(campaign, debt_id).await
            }
            async fn campaign_progress(
                &self,
                campaign: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<$crate::campaign::store::CampaignProgress, $crate::collections::StoreError> {
                self.0.campaign_progress(campaign, now).await
            }
            async fn policy_skips(
                &self,
                from: chrono::DateTime<chrono::Utc>,
                to: chrono::DateTime<chrono::Utc>,
                campaign: Option<&str>,
            ) -> Result<Vec<(String, u64)>, $crate::collections::StoreError> {
                self.0.policy_skips(from, to, campaign).await
            }
        }
    };
}
