//! The dialer: every tick, for each running campaign, it settles the calls that ended, takes the
//! highest-priority due debtors the contact policy allows, writes each attempt row and then
//! places the call. Several nodes can run it on one PostgreSQL store; leases keep them apart.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use tracing::{info, warn};

use super::placer::{CallPlacer, OutboundCall};
use super::settings::{NextTry, TryOutcome};
use super::store::{Campaign, CampaignStatus, Claim, Claimed, DialFacts, EndedLease};
use crate::clock::Clock;
use crate::collections::model::{mask_phone, AttemptId, CallSid, DebtorId, Disposition};
use crate::collections::{AttemptOutcome, Store, StoreError};
use crate::policy::zones::candidate_zones;
use crate::policy::{decide, ContactPolicy, ContactRequest, ContactSubject, Decision, Refusal};

/// How one node dials.
#[derive(Debug, Clone)]
pub struct DialerSettings {
    /// This node's name in the leases it holds; unique per process.
    pub node: String,
    /// Time between ticks.
    pub tick: StdDuration,
    /// How long a lease outlives its node's last renewal.
    pub lease_for: Duration,
    /// The policy must allow a call both when it is decided and this much later, so a call that
    /// waits for the calls-per-second limit still starts inside the window.
    pub placement_margin: Duration,
    /// The base URL the carrier reaches this node at, for the TwiML and callback URLs.
    pub public_base_url: String,
    /// Spread a tick's calls over a second, as the campaign's calls per second say. Off in
    /// simulations whose stopped clock stands still within a tick.
    pub pace_calls: bool,
}

impl DialerSettings {
    pub fn new(node: String, public_base_url: String) -> DialerSettings {
        DialerSettings {
            node,
            tick: StdDuration::from_secs(1),
            lease_for: Duration::seconds(90),
            placement_margin: Duration::minutes(2),
            public_base_url,
            pace_calls: true,
        }
    }
}

/// What the dialer decided about one debtor, for logs, the demo and the console.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum DialDecision {
    Dialled {
        campaign: String,
        debtor_id: DebtorId,
        attempt_id: AttemptId,
        priority: f64,
        call_sid: Option<String>,
    },
    Skipped {
        campaign: String,
        debtor_id: DebtorId,
        reason: Refusal,
        next_allowed: Option<DateTime<Utc>>,
    },
    /// The carrier refused the call; the attempt is finished as `call_failed`.
    PlacementFailed {
        campaign: String,
        debtor_id: DebtorId,
        attempt_id: AttemptId,
        error: String,
    },
}

/// What one tick did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TickReport {
    pub decisions: Vec<DialDecision>,
    /// Leases released because their call ended or their node stopped renewing them.
    pub settled: usize,
    pub expired: usize,
}

/// One node's dialer.
pub struct Dialer {
    store: Arc<dyn Store>,
    policy: Arc<ContactPolicy>,
    placer: Arc<dyn CallPlacer>,
    clock: Arc<Clock>,
    settings: DialerSettings,
}

impl Dialer {
    pub fn new(
        store: Arc<dyn Store>,
        policy: Arc<ContactPolicy>,
        placer: Arc<dyn CallPlacer>,
        clock: Arc<Clock>,
        settings: DialerSettings,
    ) -> Dialer {
        Dialer { store, policy, placer, clock, settings }
    }

    /// Ticks until `shutdown` completes. A failed tick is logged and the next one runs.
    pub async fn run(&self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        info!(node = %self.settings.node, "dialer started");
        loop {
            if let Err(error) = self.tick().await {
                warn!(node = %self.settings.node, %error, "dialer tick failed; trying again next tick");
            }
            tokio::select! {
                () = &mut shutdown => break,
                () = tokio::time::sleep(self.settings.tick) => {}
            }
        }
        info!(node = %self.settings.node, "dialer stopped");
    }

    /// Renews this node's leases, settles ended calls, then dials for every running campaign.
    pub async fn tick(&self) -> Result<TickReport, StoreError> {
        let now = self.clock.now();
        let mut report = TickReport::default();
        self.store.renew_leases(&self.settings.node, now + self.settings.lease_for).await?;
        let campaigns = self.store.campaigns().await?;
        self.settle(&campaigns, now, &mut report).await?;

        for campaign in campaigns {
            if campaign.status != CampaignStatus::Running || !campaign.settings.schedule.is_open(now) {
                continue;
            }
            let follow_up = Duration::minutes(i64::from(campaign.settings.retry.broken_promise_follow_up_minutes));
            let reopened = self.store.follow_up_broken_promises(&campaign.name, follow_up, now).await?;
            if reopened > 0 {
                info!(campaign = %campaign.name, reopened, "broken promises scheduled for a follow-up call");
            }
            let active = self.store.active_leases(&campaign.name).await?;
            let slots = campaign.settings.max_concurrent_calls.saturating_sub(active);
            // One tick places at most a second's worth of calls.
            let limit = slots.min(campaign.settings.calls_per_second) as usize;
            if limit == 0 {
                continue;
            }
            let policy = self.policy.clone();
            let margin = self.settings.placement_margin;
            let decide = move |facts: &DialFacts| decide_with_margin(&policy, facts, now, margin);
            let claim = Claim {
                campaign: &campaign.name,
                node: &self.settings.node,
                now,
                limit,
                lease_for: self.settings.lease_for,
                history_for: self.policy.history_needed(),
                decide: &decide,
            };
            let claimed = self.store.claim_targets(&claim).await?;
            let pace = StdDuration::from_secs(1) / campaign.settings.calls_per_second.max(1);
            let mut placed = 0;
            for claimed in claimed {
                match claimed {
                    Claimed::Dial { attempt_id, facts } => {
                        if placed > 0 && self.settings.pace_calls {
                            tokio::time::sleep(pace).await;
                        }
                        placed += 1;
                        report.decisions.push(self.place(&campaign.settings, attempt_id, &facts).await);
                    }
                    Claimed::Skipped { debtor_id, reason, next_allowed, .. } => {
                        info!(campaign = %campaign.name, debtor_id = %debtor_id.0, %reason, ?next_allowed, "debtor skipped by the contact policy");
                        report.decisions.push(DialDecision::Skipped {
                            campaign: campaign.name.clone(),
                            debtor_id,
                            reason,
                            next_allowed,
                        });
                    }
                    Claimed::Busy { .. } => {}
                }
            }
        }
        Ok(report)
    }

    /// Places one call whose attempt row is written, and stores the carrier's call sid.
    async fn place(
        &self,
        settings: &super::settings::CampaignSettings,
        attempt_id: AttemptId,
        facts: &DialFacts,
    ) -> DialDecision {
        let base = self.settings.public_base_url.trim_end_matches('/');
        let call = OutboundCall {
            to: facts.account.debtor.phone.clone(),
            from: settings.caller_id.clone(),
            twiml_url: format!("{base}/twilio/voice?attempt={attempt_id}"),
            status_callback: format!("{base}/twilio/status?attempt={attempt_id}"),
            amd_callback: settings
                .answering_machine_detection
                .then(|| format!("{base}/twilio/amd?attempt={attempt_id}")),
        };
        let campaign = facts.target.campaign.clone();
        let debtor_id = facts.target.debtor_id.clone();
        match self.placer.place(&call).await {
            Ok(call_sid) => {
                if let Err(error) = self.store.set_call_sid(attempt_id, &CallSid(call_sid.clone())).await {
                    warn!(%attempt_id, %error, "call sid could not be stored; the status callback will store it");
                }
                info!(
                    campaign = %campaign, %attempt_id, %call_sid, phone = %mask_phone(&call.to),
                    priority = facts.target.priority, "call placed"
                );
                DialDecision::Dialled {
                    campaign,
                    debtor_id,
                    attempt_id,
                    priority: facts.target.priority,
                    call_sid: Some(call_sid),
                }
            }
            Err(error) => {
                warn!(campaign = %campaign, %attempt_id, %error, "the carrier did not place the call");
                let outcome = AttemptOutcome {
                    disposition: Disposition::CallFailed,
                    answered: false,
                    right_party_contact: false,
                    ended_at: self.clock.now(),
                    recording_path: None,
                    costs: Vec::new(),
                };
                if let Err(store_error) = self.store.finish_attempt(attempt_id, &outcome).await {
                    warn!(%attempt_id, error = %store_error, "failed placement could not be stored; its lease will expire");
                }
                DialDecision::PlacementFailed { campaign, debtor_id, attempt_id, error }
            }
        }
    }

    /// Releases the leases of ended calls and expired leases, scheduling each target's next try.
    async fn settle(
        &self,
        campaigns: &[Campaign],
        now: DateTime<Utc>,
        report: &mut TickReport,
    ) -> Result<(), StoreError> {
        let ended = self.store.ended_leases(now).await?;
        for lease in ended {
            let Some(campaign) = campaigns.iter().find(|campaign| campaign.name == lease.campaign) else {
                continue;
            };
            if !self.end_orphaned_call(&lease).await {
                continue;
            }
            let next = next_try(&campaign.settings.retry, &lease, now);
            let next = if campaign.status == CampaignStatus::Stopped { None } else { next };
            if self.store.release_lease(&lease, next, now).await? {
                report.settled += 1;
                if lease.expired && lease.disposition.is_none() {
                    report.expired += 1;
                    warn!(
                        campaign = %lease.campaign, node = %lease.node, attempt_id = ?lease.attempt_id,
                        "lease expired before its call ended; the attempt is finished as a technical failure"
                    );
                }
            }
        }
        Ok(())
    }

    /// Hangs up the call of a lease that expired before its call ended, because the carrier may
    /// still ring that call after its node died, and the next try must not overlap it. Returns
    /// false when the hang-up failed, so the lease stays and the next tick tries again.
    ///
    /// NOTE: a call whose sid never reached the store (its node died between the carrier's
    /// response and the write, and the callbacks went to that node) cannot be hung up here.
    async fn end_orphaned_call(&self, lease: &EndedLease) -> bool {
        let (true, None, Some(call_sid)) = (lease.expired, lease.disposition, &lease.call_sid) else {
            return true;
        };
        match self.placer.hang_up(&call_sid.0).await {
            Ok(()) => {
                info!(campaign = %lease.campaign, node = %lease.node, %call_sid, "call of an expired lease hung up");
                true
            }
            Err(error) => {
                warn!(
                    campaign = %lease.campaign, node = %lease.node, %call_sid, %error,
                    "call of an expired lease could not be hung up; keeping the lease until the next tick"
                );
                false
            }
        }
    }
}

/// When an ended lease's target is due again, or `None` when it is done.
fn next_try(retry: &super::settings::RetryPolicy, lease: &EndedLease, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    // A lease that expired before its attempt was written never dialled: due again at once.
    if lease.attempt_id.is_none() {
        return Some(now);
    }
    let outcome = lease.disposition.map_or(TryOutcome::Failed, TryOutcome::of);
    match retry.next_try(outcome, lease.tries, lease.ended_at.unwrap_or(now)) {
        NextTry::At(at) => Some(at),
        NextTry::Done => None,
    }
}

/// Asks the contact policy about a leased target at `now` and at `now + margin`; both must allow
/// the call.
pub fn decide_with_margin(policy: &ContactPolicy, facts: &DialFacts, now: DateTime<Utc>, margin: Duration) -> Decision {
    let debtor = &facts.account.debtor;
    let Some(rules) = policy.rules_for(&debtor.country, &debtor.region) else {
        return Decision::Refused { reason: Refusal::NoJurisdiction, next_allowed: None };
    };
    let zones = candidate_zones(debtor.time_zone, &debtor.phone);
    let subject = ContactSubject {
        rules,
        zones: &zones,
        call_consent: debtor.call_consent,
        authorised_channels: &debtor.authorised_channels,
        opted_out_channels: &facts.opted_out_channels,
        on_do_not_call_list: facts.on_do_not_call_list,
        disputed_debts: &facts.disputed_debts,
        callback_at: facts.callback_at,
        history: &facts.history,
    };
    let request = |at| ContactRequest { debt_id: facts.target.debt_id, channel: crate::policy::decision::VOICE, at };
    match decide(&subject, &request(now)) {
        Decision::Allowed => decide(&subject, &request(now + margin)),
        refused => refused,
    }
}
