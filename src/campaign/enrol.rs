//! Enrolment: the portfolio's debts that match a campaign's filter, queued by scoring priority.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::settings::PortfolioFilter;
use super::store::NewTarget;
use crate::collections::model::{Account, DebtorId};
use crate::collections::{Store, StoreError};
use crate::kpi::UsdRates;
use crate::scoring::store::DebtorScore;

/// Returns the targets of every debt that `filter` takes, due from `now`. Debtors without a
/// score are queued last, with priority 0, and pass a segment filter only when it is empty.
pub fn targets(
    accounts: &[Account],
    scores: &[DebtorScore],
    filter: &PortfolioFilter,
    rates: &UsdRates,
    now: DateTime<Utc>,
) -> Vec<NewTarget> {
    let scores: HashMap<&DebtorId, &DebtorScore> = scores.iter().map(|score| (&score.debtor_id, score)).collect();
    accounts
        .iter()
        .filter_map(|account| {
            let score = scores.get(&account.debtor.id).copied();
            takes(filter, account, score, rates).then(|| NewTarget {
                debt_id: account.debt.id,
                debtor_id: account.debtor.id.clone(),
                priority: score.map_or(0.0, |score| score.expected_value_usd),
                segment: score.map(|score| score.segment.clone()),
                due_at: now,
            })
        })
        .collect()
}

fn takes(filter: &PortfolioFilter, account: &Account, score: Option<&DebtorScore>, rates: &UsdRates) -> bool {
    if !filter.debtor_ids.is_empty() && !filter.debtor_ids.contains(&account.debtor.id.0) {
        return false;
    }
    if !filter.countries.is_empty()
        && !filter.countries.iter().any(|country| country.eq_ignore_ascii_case(&account.debtor.country))
    {
        return false;
    }
    if !filter.segments.is_empty() && !score.is_some_and(|score| filter.segments.contains(&score.segment)) {
        return false;
    }
    let days = account.debt.days_past_due;
    if filter.min_days_past_due.is_some_and(|min| days < min) || filter.max_days_past_due.is_some_and(|max| days > max)
    {
        return false;
    }
    if filter.min_balance_usd.is_some() || filter.max_balance_usd.is_some() {
        let (micros, unpriced) = rates.to_usd_micros(std::slice::from_ref(&account.debt.balance));
        if !unpriced.is_empty() {
            return false;
        }
        let usd = micros as f64 / 1e6;
        if filter.min_balance_usd.is_some_and(|min| usd < min) || filter.max_balance_usd.is_some_and(|max| usd > max) {
            return false;
        }
    }
    true
}

/// Enrols the portfolio's matching debts in the campaign. Returns how many were added.
pub async fn enrol(
    store: &dyn Store,
    campaign: &str,
    filter: &PortfolioFilter,
    rates: &UsdRates,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let accounts = store.accounts().await?;
    let scores = store.dial_queue(u32::MAX).await?;
    let targets = targets(&accounts, &scores, filter, rates, now);
    store.enrol_targets(campaign, &targets).await
}
