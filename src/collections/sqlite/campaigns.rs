//! Campaigns, targets, dial leases and call progress in SQLite. One node only: the write lock
//! of `BEGIN IMMEDIATE` serialises claims, so no row locks are needed.

use async_trait::async_trait;
use chrono::{DateTime, Duration, DurationRound, Utc};
use sqlx::Row;

use super::decode::{self, time_text};
use super::{SqliteStore, ACCOUNT_QUERY};
use crate::campaign::settings::CampaignSettings;
use crate::campaign::store::{
    CallProgressEvent, Campaign, CampaignProgress, CampaignStatus, CampaignStore, CarrierReport, Claim, Claimed,
    DialFacts, EndedLease, NewTarget, StoredTarget, Target,
};
use crate::collections::model::{AttemptId, CallSid, DebtId, DebtorId, Disposition};
use crate::collections::StoreError;
use crate::policy::{Decision, PastContact};

const CAMPAIGN_COLUMNS: &str = "name, status, settings, created_at, updated_at";

fn campaign(row: &sqlx::sqlite::SqliteRow) -> Result<Campaign, StoreError> {
    let status: String = row.try_get("status")?;
    let settings: String = row.try_get("settings")?;
    Ok(Campaign {
        name: row.try_get("name")?,
        status: status.parse().map_err(StoreError::Corrupt)?,
        settings: serde_json::from_str::<CampaignSettings>(&settings)
            .map_err(|error| StoreError::Corrupt(format!("campaign settings: {error}")))?,
        created_at: decode::time("created_at", row.try_get("created_at")?)?,
        updated_at: decode::time("updated_at", row.try_get("updated_at")?)?,
    })
}

fn settings_json(settings: &CampaignSettings) -> Result<String, StoreError> {
    serde_json::to_string(settings).map_err(|error| StoreError::Corrupt(format!("campaign settings: {error}")))
}

impl SqliteStore {
    /// Reads what the contact policy needs about a leased target's debtor.
    async fn dial_facts(
        &self,
        target: Target,
        now: DateTime<Utc>,
        history_for: Duration,
    ) -> Result<DialFacts, StoreError> {
        let sql = format!("{ACCOUNT_QUERY} WHERE debt.id = $1");
        let row = sqlx::query(&sql).bind(target.debt_id.0).fetch_optional(&self.pool).await?;
        let account = row
            .as_ref()
            .map(decode::account)
            .transpose()?
            .ok_or_else(|| StoreError::NotFound { what: "debt", id: target.debt_id.0.to_string() })?;
        let debtor = &target.debtor_id.0;

        let opted_out_channels: Vec<String> =
            sqlx::query_scalar("SELECT channel FROM opt_outs WHERE debtor_id = $1 ORDER BY channel")
                .bind(debtor)
                .fetch_all(&self.pool)
                .await?;
        let on_do_not_call_list = sqlx::query("SELECT 1 FROM do_not_call WHERE phone = $1")
            .bind(&account.debtor.phone)
            .fetch_optional(&self.pool)
            .await?
            .is_some();
        let disputed: Vec<i64> = sqlx::query_scalar(
            "SELECT DISTINCT dispute.debt_id FROM disputes AS dispute
             JOIN debts AS debt ON debt.id = dispute.debt_id WHERE debt.debtor_id = $1 ORDER BY 1",
        )
        .bind(debtor)
        .fetch_all(&self.pool)
        .await?;

        // A callback is pending while no outbound call followed the request.
        let callback: Option<(Option<String>,)> = sqlx::query_as(
            "SELECT request.requested_for FROM callback_requests AS request
             JOIN attempts AS asked ON asked.id = request.attempt_id
             WHERE asked.debtor_id = $1
               AND NOT EXISTS (SELECT 1 FROM attempts AS later WHERE later.debtor_id = asked.debtor_id
                               AND later.direction = 'outbound' AND later.started_at > request.created_at)
             ORDER BY request.created_at DESC LIMIT 1",
        )
        .bind(debtor)
        .fetch_optional(&self.pool)
        .await?;
        let callback_at = match callback.and_then(|(at,)| at) {
            Some(text) => Some(decode::time("requested_for", &text)?),
            None => None,
        };

        let rows = sqlx::query(
            "SELECT started_at, debt_id, direction, right_party_contact FROM attempts
             WHERE debtor_id = $1 AND started_at >= $2 ORDER BY started_at",
        )
        .bind(debtor)
        .bind(time_text(now - history_for))
        .fetch_all(&self.pool)
        .await?;
        let mut history = Vec::with_capacity(rows.len());
        for row in &rows {
            let direction: String = row.try_get("direction")?;
            history.push(PastContact {
                at: decode::time("started_at", row.try_get("started_at")?)?,
                debt_id: DebtId(row.try_get("debt_id")?),
                channel: crate::policy::decision::VOICE.to_string(),
                inbound: direction == "inbound",
                conversation: row.try_get("right_party_contact")?,
            });
        }

        Ok(DialFacts {
            target,
            account,
            opted_out_channels,
            on_do_not_call_list,
            disputed_debts: disputed.into_iter().map(DebtId).collect(),
            callback_at,
            history,
        })
    }

    /// Leases up to `claim.limit` due targets and marks them dialing. Returns each target, or
    /// `None` for one whose debtor another lease holds.
    async fn lease_due_targets(&self, claim: &Claim<'_>) -> Result<Vec<(Target, bool)>, StoreError> {
        let mut tx = self.begin_write().await?;
        let rows = sqlx::query(
            "SELECT debt_id, debtor_id, priority, segment, tries FROM campaign_targets
             WHERE campaign = $1 AND state = 'waiting' AND due_at <= $2
             ORDER BY priority DESC, debt_id LIMIT $3",
        )
        .bind(claim.campaign)
        .bind(time_text(claim.now))
        .bind(claim.limit as i64)
        .fetch_all(&mut *tx)
        .await?;
        let mut leased = Vec::with_capacity(rows.len());
        for row in &rows {
            let target = Target {
                campaign: claim.campaign.to_string(),
                debt_id: DebtId(row.try_get("debt_id")?),
                debtor_id: DebtorId(row.try_get("debtor_id")?),
                priority: row.try_get("priority")?,
                segment: row.try_get("segment")?,
                tries: u32::try_from(row.try_get::<i64, _>("tries")?).unwrap_or(0),
            };
            let taken = sqlx::query(
                "INSERT INTO dial_leases (debtor_id, campaign, debt_id, node, leased_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (debtor_id) DO NOTHING",
            )
            .bind(&target.debtor_id.0)
            .bind(claim.campaign)
            .bind(target.debt_id.0)
            .bind(claim.node)
            .bind(time_text(claim.now))
            .bind(time_text(claim.now + claim.lease_for))
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if taken {
                sqlx::query("UPDATE campaign_targets SET state = 'dialing' WHERE campaign = $1 AND debt_id = $2")
                    .bind(claim.campaign)
                    .bind(target.debt_id.0)
                    .execute(&mut *tx)
                    .await?;
            }
            leased.push((target, taken));
        }
        tx.commit().await?;
        Ok(leased)
    }

    /// Writes the attempt of an allowed call and ties it to the lease.
    async fn start_attempt(&self, facts: &DialFacts, now: DateTime<Utc>) -> Result<AttemptId, StoreError> {
        let target = &facts.target;
        let mut tx = self.begin_write().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO attempts (debt_id, debtor_id, phone, direction, started_at, campaign, segment)
             VALUES ($1, $2, $3, 'outbound', $4, $5, $6) RETURNING id",
        )
        .bind(target.debt_id.0)
        .bind(&target.debtor_id.0)
        .bind(&facts.account.debtor.phone)
        .bind(time_text(now))
        .bind(&target.campaign)
        .bind(&target.segment)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("UPDATE dial_leases SET attempt_id = $1 WHERE debtor_id = $2")
            .bind(id)
            .bind(&target.debtor_id.0)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE campaign_targets SET tries = tries + 1, last_refusal = NULL WHERE campaign = $1 AND debt_id = $2",
        )
        .bind(&target.campaign)
        .bind(target.debt_id.0)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(AttemptId(id))
    }

    /// Drops the lease of a refused target, moves the target on and counts the skip.
    async fn skip_target(
        &self,
        target: &Target,
        reason: &str,
        next_allowed: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM dial_leases WHERE debtor_id = $1 AND attempt_id IS NULL")
            .bind(&target.debtor_id.0)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE campaign_targets
             SET state = CASE WHEN $3 IS NULL THEN 'done' ELSE 'waiting' END,
                 due_at = COALESCE($3, due_at), last_refusal = $4
             WHERE campaign = $1 AND debt_id = $2",
        )
        .bind(&target.campaign)
        .bind(target.debt_id.0)
        .bind(next_allowed.map(time_text))
        .bind(reason)
        .execute(&mut *tx)
        .await?;
        let hour = now.duration_trunc(Duration::hours(1)).unwrap_or(now);
        sqlx::query(
            "INSERT INTO dial_skips (campaign, reason, hour, skips) VALUES ($1, $2, $3, 1)
             ON CONFLICT (campaign, reason, hour) DO UPDATE SET skips = dial_skips.skips + 1",
        )
        .bind(&target.campaign)
        .bind(reason)
        .bind(time_text(hour))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

#[async_trait]
impl CampaignStore for SqliteStore {
    async fn create_campaign(
        &self,
        name: &str,
        settings: &CampaignSettings,
        at: DateTime<Utc>,
    ) -> Result<Campaign, StoreError> {
        let sql = format!(
            "INSERT INTO campaigns (name, status, settings, created_at, updated_at)
             VALUES ($1, 'draft', $2, $3, $3) ON CONFLICT (name) DO NOTHING RETURNING {CAMPAIGN_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(name)
            .bind(settings_json(settings)?)
            .bind(time_text(at))
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => campaign(&row),
            None => Err(StoreError::Conflict(format!("a campaign named '{name}' exists; choose another name"))),
        }
    }

    async fn campaign(&self, name: &str) -> Result<Option<Campaign>, StoreError> {
        let sql = format!("SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE name = $1");
        let row = sqlx::query(&sql).bind(name).fetch_optional(&self.pool).await?;
        row.as_ref().map(campaign).transpose()
    }

    async fn campaigns(&self) -> Result<Vec<Campaign>, StoreError> {
        let sql = format!("SELECT {CAMPAIGN_COLUMNS} FROM campaigns ORDER BY name");
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        rows.iter().map(campaign).collect()
    }

    async fn set_campaign_status(
        &self,
        name: &str,
        status: CampaignStatus,
        at: DateTime<Utc>,
    ) -> Result<Campaign, StoreError> {
        let sql =
            format!("UPDATE campaigns SET status = $2, updated_at = $3 WHERE name = $1 RETURNING {CAMPAIGN_COLUMNS}");
        let row =
            sqlx::query(&sql).bind(name).bind(status.as_str()).bind(time_text(at)).fetch_optional(&self.pool).await?;
        match row {
            Some(row) => campaign(&row),
            None => Err(StoreError::NotFound { what: "campaign", id: name.to_string() }),
        }
    }

    async fn enrol_targets(&self, campaign: &str, targets: &[NewTarget]) -> Result<usize, StoreError> {
        let mut tx = self.begin_write().await?;
        let mut added = 0;
        for target in targets {
            let inserted = sqlx::query(
                "INSERT INTO campaign_targets (campaign, debt_id, debtor_id, priority, segment, due_at, state)
                 VALUES ($1, $2, $3, $4, $5, $6, 'waiting') ON CONFLICT (campaign, debt_id) DO NOTHING",
            )
            .bind(campaign)
            .bind(target.debt_id.0)
            .bind(&target.debtor_id.0)
            .bind(target.priority)
            .bind(&target.segment)
            .bind(time_text(target.due_at))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted == 0 {
                sqlx::query(
                    "UPDATE campaign_targets SET priority = $3, segment = $4
                     WHERE campaign = $1 AND debt_id = $2 AND state = 'waiting'",
                )
                .bind(campaign)
                .bind(target.debt_id.0)
                .bind(target.priority)
                .bind(&target.segment)
                .execute(&mut *tx)
                .await?;
            }
            added += inserted as usize;
        }
        tx.commit().await?;
        Ok(added)
    }

    async fn follow_up_broken_promises(
        &self,
        campaign: &str,
        delay: Duration,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let mut tx = self.begin_write().await?;
        let rows = sqlx::query(
            "SELECT target.debt_id, MAX(promise.id) AS promise_id, MAX(promise.settled_on) AS settled_on
             FROM campaign_targets AS target
             JOIN promises AS promise ON promise.debt_id = target.debt_id
             WHERE target.campaign = $1 AND target.state <> 'dialing' AND promise.status = 'broken'
               AND promise.id > COALESCE(target.followed_promise_id, 0)
             GROUP BY target.debt_id",
        )
        .bind(campaign)
        .fetch_all(&mut *tx)
        .await?;
        for row in &rows {
            let settled_on: Option<String> = row.try_get("settled_on")?;
            let settled = match settled_on {
                Some(text) => decode::date("settled_on", &text)?.and_hms_opt(0, 0, 0).expect("midnight").and_utc(),
                None => now,
            };
            sqlx::query(
                "UPDATE campaign_targets SET state = 'waiting', due_at = $3, followed_promise_id = $4,
                        last_outcome = 'broken_promise'
                 WHERE campaign = $1 AND debt_id = $2",
            )
            .bind(campaign)
            .bind(row.try_get::<i64, _>("debt_id")?)
            .bind(time_text((settled + delay).max(now)))
            .bind(row.try_get::<i64, _>("promise_id")?)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(rows.len())
    }

    async fn claim_targets(&self, claim: &Claim<'_>) -> Result<Vec<Claimed>, StoreError> {
        let mut claimed = Vec::new();
        for (target, taken) in self.lease_due_targets(claim).await? {
            if !taken {
                claimed.push(Claimed::Busy { debt_id: target.debt_id });
                continue;
            }
            let facts = self.dial_facts(target, claim.now, claim.history_for).await?;
            match (claim.decide)(&facts) {
                Decision::Allowed => {
                    let attempt_id = self.start_attempt(&facts, claim.now).await?;
                    claimed.push(Claimed::Dial { attempt_id, facts: Box::new(facts) });
                }
                Decision::Refused { reason, next_allowed } => {
                    let next = if reason.is_temporary() { next_allowed } else { None };
                    self.skip_target(&facts.target, reason.code(), next, claim.now).await?;
                    claimed.push(Claimed::Skipped {
                        debt_id: facts.target.debt_id,
                        debtor_id: facts.target.debtor_id,
                        reason,
                        next_allowed: next,
                    });
                }
            }
        }
        Ok(claimed)
    }

    async fn active_leases(&self, campaign: &str) -> Result<u32, StoreError> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM dial_leases WHERE campaign = $1")
            .bind(campaign)
            .fetch_one(&self.pool)
            .await?;
        Ok(u32::try_from(count).unwrap_or(u32::MAX))
    }

    async fn renew_leases(&self, node: &str, until: DateTime<Utc>) -> Result<u64, StoreError> {
        let result = sqlx::query(
            "UPDATE dial_leases SET expires_at = $2
             WHERE node = $1 AND (attempt_id IS NULL OR attempt_id IN (
                 SELECT id FROM attempts WHERE ended_at IS NULL
                   AND COALESCE(call_status, '') NOT IN ('completed', 'busy', 'no-answer', 'failed', 'canceled')))",
        )
        .bind(node)
        .bind(time_text(until))
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected())
    }

    async fn ended_leases(&self, now: DateTime<Utc>) -> Result<Vec<EndedLease>, StoreError> {
        let rows = sqlx::query(
            "SELECT lease.campaign, lease.debtor_id, lease.debt_id, lease.attempt_id, lease.node, target.tries,
                    attempt.call_sid, attempt.disposition, attempt.ended_at, lease.expires_at < $1 AS expired
             FROM dial_leases AS lease
             JOIN campaign_targets AS target ON target.campaign = lease.campaign AND target.debt_id = lease.debt_id
             LEFT JOIN attempts AS attempt ON attempt.id = lease.attempt_id
             WHERE attempt.ended_at IS NOT NULL OR lease.expires_at < $1
             ORDER BY lease.leased_at",
        )
        .bind(time_text(now))
        .fetch_all(&self.pool)
        .await?;
        let mut leases = Vec::with_capacity(rows.len());
        for row in &rows {
            let disposition: Option<String> = row.try_get("disposition")?;
            let ended_at: Option<String> = row.try_get("ended_at")?;
            leases.push(EndedLease {
                campaign: row.try_get("campaign")?,
                debtor_id: DebtorId(row.try_get("debtor_id")?),
                debt_id: DebtId(row.try_get("debt_id")?),
                attempt_id: row.try_get::<Option<i64>, _>("attempt_id")?.map(AttemptId),
                call_sid: row.try_get::<Option<String>, _>("call_sid")?.map(CallSid),
                node: row.try_get("node")?,
                tries: u32::try_from(row.try_get::<i64, _>("tries")?).unwrap_or(0),
                disposition: disposition
                    .map(|text| text.parse::<Disposition>().map_err(StoreError::Corrupt))
                    .transpose()?,
                ended_at: ended_at.map(|text| decode::time("ended_at", &text)).transpose()?,
                expired: row.try_get("expired")?,
            });
        }
        Ok(leases)
    }

    async fn release_lease(
        &self,
        lease: &EndedLease,
        next: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let released =
            sqlx::query("DELETE FROM dial_leases WHERE debtor_id = $1 AND campaign = $2 AND attempt_id IS $3")
                .bind(&lease.debtor_id.0)
                .bind(&lease.campaign)
                .bind(lease.attempt_id.map(|id| id.0))
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
        if !released {
            return Ok(false);
        }
        let mut outcome = lease.disposition.map(Disposition::as_str);
        if let (Some(attempt_id), None) = (lease.attempt_id, lease.disposition) {
            sqlx::query(
                "UPDATE attempts SET ended_at = $2, disposition = 'technical_failure' WHERE id = $1 AND ended_at IS NULL",
            )
            .bind(attempt_id.0)
            .bind(time_text(now))
            .execute(&mut *tx)
            .await?;
            outcome = Some(Disposition::TechnicalFailure.as_str());
        }
        sqlx::query(
            "UPDATE campaign_targets
             SET state = CASE WHEN $3 IS NULL THEN 'done' ELSE 'waiting' END, due_at = COALESCE($3, due_at),
                 last_outcome = COALESCE($4, last_outcome)
             WHERE campaign = $1 AND debt_id = $2",
        )
        .bind(&lease.campaign)
        .bind(lease.debt_id.0)
        .bind(next.map(time_text))
        .bind(outcome)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn record_call_progress(&self, event: &CallProgressEvent) -> Result<Option<(AttemptId, String)>, StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO call_progress (call_sid, sequence, status, duration_secs, received_at)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (call_sid, sequence) DO NOTHING",
        )
        .bind(&event.call_sid)
        .bind(i64::from(event.sequence))
        .bind(&event.status)
        .bind(event.duration_secs.map(i64::from))
        .bind(time_text(event.received_at))
        .execute(&mut *tx)
        .await?;
        let latest: String =
            sqlx::query_scalar("SELECT status FROM call_progress WHERE call_sid = $1 ORDER BY sequence DESC LIMIT 1")
                .bind(&event.call_sid)
                .fetch_one(&mut *tx)
                .await?;
        let attempt: Option<i64> =
            sqlx::query_scalar("UPDATE attempts SET call_status = $2 WHERE call_sid = $1 RETURNING id")
                .bind(&event.call_sid)
                .bind(&latest)
                .fetch_optional(&mut *tx)
                .await?;
        tx.commit().await?;
        Ok(attempt.map(|id| (AttemptId(id), latest)))
    }

    async fn record_answered_by(&self, call_sid: &str, answered_by: &str) -> Result<Option<AttemptId>, StoreError> {
        let attempt: Option<i64> =
            sqlx::query_scalar("UPDATE attempts SET answered_by = $2 WHERE call_sid = $1 RETURNING id")
                .bind(call_sid)
                .bind(answered_by)
                .fetch_optional(&self.pool)
                .await?;
        Ok(attempt.map(AttemptId))
    }

    async fn carrier_report(&self, attempt_id: AttemptId) -> Result<Option<CarrierReport>, StoreError> {
        let row: Option<(Option<String>, Option<String>)> =
            sqlx::query_as("SELECT call_status, answered_by FROM attempts WHERE id = $1")
                .bind(attempt_id.0)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(call_status, answered_by)| CarrierReport { call_status, answered_by }))
    }

    async fn campaign_target(&self, campaign: &str, debt_id: DebtId) -> Result<Option<StoredTarget>, StoreError> {
        let row = sqlx::query(
            "SELECT campaign, debt_id, debtor_id, state, due_at, tries, last_outcome, last_refusal
             FROM campaign_targets WHERE campaign = $1 AND debt_id = $2",
        )
        .bind(campaign)
        .bind(debt_id.0)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let state: String = row.try_get("state")?;
        Ok(Some(StoredTarget {
            campaign: row.try_get("campaign")?,
            debt_id: DebtId(row.try_get("debt_id")?),
            debtor_id: DebtorId(row.try_get("debtor_id")?),
            state: state.parse().map_err(StoreError::Corrupt)?,
            due_at: decode::time("due_at", row.try_get("due_at")?)?,
            tries: u32::try_from(row.try_get::<i64, _>("tries")?).unwrap_or(0),
            last_outcome: row.try_get("last_outcome")?,
            last_refusal: row.try_get("last_refusal")?,
        }))
    }

    async fn campaign_progress(&self, campaign: &str, now: DateTime<Utc>) -> Result<CampaignProgress, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS targets,
                    COALESCE(SUM(CASE WHEN state = 'waiting' THEN 1 ELSE 0 END), 0) AS waiting,
                    COALESCE(SUM(CASE WHEN state = 'waiting' AND due_at <= $2 THEN 1 ELSE 0 END), 0) AS due,
                    COALESCE(SUM(CASE WHEN state = 'dialing' THEN 1 ELSE 0 END), 0) AS dialing,
                    COALESCE(SUM(CASE WHEN state = 'done' THEN 1 ELSE 0 END), 0) AS done
             FROM campaign_targets WHERE campaign = $1",
        )
        .bind(campaign)
        .bind(time_text(now))
        .fetch_one(&self.pool)
        .await?;
        let count = |name: &str| -> Result<u64, StoreError> { Ok(row.try_get::<i64, _>(name)?.max(0) as u64) };
        let outcomes: Vec<(String, i64)> = sqlx::query_as(
            "SELECT COALESCE(disposition, 'in_progress'), COUNT(*) FROM attempts WHERE campaign = $1
             GROUP BY 1 ORDER BY 2 DESC, 1",
        )
        .bind(campaign)
        .fetch_all(&self.pool)
        .await?;
        let skips: Vec<(String, i64)> = sqlx::query_as(
            "SELECT reason, SUM(skips) FROM dial_skips WHERE campaign = $1 GROUP BY reason ORDER BY 2 DESC, 1",
        )
        .bind(campaign)
        .fetch_all(&self.pool)
        .await?;
        let attempts = outcomes.iter().map(|(_, count)| *count).sum::<i64>().max(0) as u64;
        Ok(CampaignProgress {
            targets: count("targets")?,
            waiting: count("waiting")?,
            due: count("due")?,
            dialing: count("dialing")?,
            done: count("done")?,
            attempts,
            outcomes: outcomes.into_iter().map(|(name, count)| (name, count.max(0) as u64)).collect(),
            skips: skips.into_iter().map(|(name, count)| (name, count.max(0) as u64)).collect(),
        })
    }

    async fn policy_skips(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        campaign: Option<&str>,
    ) -> Result<Vec<(String, u64)>, StoreError> {
        let skips: Vec<(String, i64)> = sqlx::query_as(
            "SELECT reason, SUM(skips) FROM dial_skips
             WHERE hour >= $1 AND hour < $2 AND ($3 IS NULL OR campaign = $3)
             GROUP BY reason ORDER BY 2 DESC, 1",
        )
        .bind(time_text(from))
        .bind(time_text(to))
        .bind(campaign)
        .fetch_all(&self.pool)
        .await?;
        Ok(skips.into_iter().map(|(reason, count)| (reason, count.max(0) as u64)).collect())
    }
}
