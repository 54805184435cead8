//! The KPI report: every figure of one filter, read from the store by five concurrent queries.

use std::fmt;

use chrono::NaiveDate;
use serde::Serialize;

use super::compliance::{compliance_counters, ComplianceCounters, ComplianceFilter};
use super::figures::{sum_per_currency, CallKpis, Kpis, PromiseKept};
use super::portfolio::{aging, recovery, roll_rates, AgingBucket};
use super::series::{series, Series, SeriesBy};
use super::store::{Grouping, KpiFilter, KpiStore};
use super::usd::{CostToCollect, UsdRates};
use super::Rate;
use crate::collections::store::StoreError;
use crate::collections::Store;
use crate::policy::ContactPolicy;

/// The KPIs of one filter, the aging distribution at its last day and, when asked, a series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KpiReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub country: Option<String>,
    pub campaign: Option<String>,
    pub segment: Option<String>,
    pub kpis: Kpis,
    /// Each debt's days past due and balance in its latest snapshot on or before the last day,
    /// or from the debts table when it has none.
    pub aging: Vec<AgingBucket>,
    pub series: Option<Series>,
    /// Attempts outside the legal window, cap breaches and opt-out latency; `None` from
    /// [`report`], filled by [`report_with_compliance`].
    pub compliance: Option<ComplianceCounters>,
    /// How often the dialer passed a debtor over, by contact-policy reason code, most first;
    /// filled by [`report_with_compliance`].
    pub policy_skips: Vec<(String, u64)>,
}

/// Reads the counts of `filter` from the store and computes the report. The queries run at
/// once, each on its own connection where the store has several.
// NOTE: the queries do not share one transaction, so a write landing between them can show in
// one figure and not in another.
pub async fn report<S: KpiStore + ?Sized>(
    store: &S,
    filter: &KpiFilter,
    series_by: Option<SeriesBy>,
    rates: &UsdRates,
) -> Result<KpiReport, StoreError> {
    let (attempts, promises, outcomes, payments, portfolio) = tokio::try_join!(
        store.attempt_counts(filter, Grouping::Total),
        store.promises_made(filter, Grouping::Total),
        store.promise_outcomes(filter),
        store.payments_collected(filter),
        store.portfolio_totals(filter),
    )?;
    let series = match series_by {
        Some(by) => Some(series(store, filter, by).await?),
        None => None,
    };

    let attempts = attempts.into_iter().next().unwrap_or_default();
    let calls = CallKpis::from_counts(&attempts, &promises.iter().collect::<Vec<_>>());
    let amount_collected = sum_per_currency(payments.iter().map(|totals| (totals.currency, totals.amount_minor)));
    let kpis = Kpis {
        cost_to_collect: CostToCollect::new(calls.total_cost_micros, &amount_collected, rates),
        calls,
        promise_kept: PromiseKept::from_outcomes(&outcomes),
        amount_collected,
        recovery: recovery(&portfolio.cohorts, filter.to),
        cure_rate: Rate::new(portfolio.cure.cured, portfolio.cure.delinquent, "debts past due at the start"),
        roll_rates: roll_rates(&portfolio.rolls, filter.from, filter.to),
    };
    Ok(KpiReport {
        from: filter.from,
        to: filter.to,
        country: filter.country.clone(),
        campaign: filter.campaign.clone(),
        segment: filter.segment.clone(),
        kpis,
        aging: aging(&portfolio.aging),
        series,
        compliance: None,
        policy_skips: Vec::new(),
    })
}

/// Computes [`report`] and the compliance counters of the same filter against `policy`.
pub async fn report_with_compliance(
    store: &dyn Store,
    filter: &KpiFilter,
    series_by: Option<SeriesBy>,
    rates: &UsdRates,
    policy: &ContactPolicy,
) -> Result<KpiReport, StoreError> {
    let compliance_filter = ComplianceFilter {
        from: filter.start(),
        to: filter.end(),
        country: filter.country.clone(),
        campaign: filter.campaign.clone(),
        segment: filter.segment.clone(),
    };
    let (mut report, compliance, policy_skips) = tokio::try_join!(
        report(store, filter, series_by, rates),
        compliance_counters(store, policy, &compliance_filter),
        store.policy_skips(filter.start(), filter.end(), filter.campaign.as_deref()),
    )?;
    report.compliance = Some(compliance);
    report.policy_skips = policy_skips;
    Ok(report)
}

impl fmt::Display for KpiReport {
    /// Writes the report as `cobranza kpi` prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KPIs from {} to {}", self.from, self.to)?;
        let scope: Vec<String> = [("country", &self.country), ("campaign", &self.campaign), ("segment", &self.segment)]
            .iter()
            .filter_map(|(name, value)| value.as_ref().map(|value| format!("{name} {value}")))
            .collect();
        if !scope.is_empty() {
            write!(f, " for {}", scope.join(", "))?;
        }
        write!(f, "\n{}\naging:", self.kpis)?;
        for bucket in &self.aging {
            write!(f, "\n  {bucket}")?;
        }
        if let Some(compliance) = &self.compliance {
            write!(f, "\ncompliance:")?;
            for line in compliance.to_string().lines() {
                write!(f, "\n  {line}")?;
            }
            write!(f, "\ndebtors the dialer passed over, by contact-policy reason:")?;
            if self.policy_skips.is_empty() {
                write!(f, " none")?;
            }
            for (reason, count) in &self.policy_skips {
                write!(f, "\n  {reason:<28} {count}")?;
            }
        }
        if let Some(series) = &self.series {
            let by = match series.by {
                SeriesBy::Day => "UTC day",
                SeriesBy::Hour => "UTC hour",
            };
            write!(f, "\nby {by}:")?;
            for point in &series.points {
                let calls = &point.calls;
                write!(
                    f,
                    "\n  {}: dials {}, inbound calls {}, connects {}, contacts {}, right-party contacts {}, promises {}",
                    point.bucket,
                    calls.dials,
                    calls.inbound_calls,
                    calls.connects,
                    calls.contacts,
                    calls.right_party_contacts,
                    calls.promises
                )?;
            }
        }
        Ok(())
    }
}
