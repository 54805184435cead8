//! `cobranza kpi`: the KPIs over a date range of the store, as text or JSON.

use chrono::{NaiveDate, Utc};
use serde::Serialize;

use super::{aging, compute, AgingBucket, Kpis};
use crate::collections::store::utc_day_bounds;
use crate::collections::{Attempt, Store, StoredPromise};

/// The options of `cobranza kpi`.
#[derive(Debug, Clone, clap::Args)]
pub struct KpiArgs {
    /// First day of the range (YYYY-MM-DD, UTC); by default 30 days before `--to`.
    #[arg(long, value_parser = parse_day)]
    pub from: Option<NaiveDate>,
    /// Last day of the range, included (YYYY-MM-DD, UTC); by default today.
    #[arg(long, value_parser = parse_day)]
    pub to: Option<NaiveDate>,
    /// Only debts of this country (ISO 3166-1 alpha-2, e.g. MX).
    #[arg(long)]
    pub country: Option<String>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

fn parse_day(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| format!("'{text}' is not a date: write it as YYYY-MM-DD, for example 2026-12-02"))
}

/// The KPIs of one range, with the portfolio's aging distribution.
#[derive(Debug, Clone, Serialize)]
pub struct KpiReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub country: Option<String>,
    pub kpis: Kpis,
    pub aging: Vec<AgingBucket>,
}

/// Reads the range's attempts and promises and computes the report. Dates are UTC days, both
/// ends included.
pub async fn report(store: &dyn Store, args: &KpiArgs) -> anyhow::Result<KpiReport> {
    let to = args.to.unwrap_or_else(|| Utc::now().date_naive());
    let from = args.from.unwrap_or(to - chrono::Duration::days(30));
    if from > to {
        anyhow::bail!("--from {from} is after --to {to}: give the earlier day first");
    }
    let (start, _) = utc_day_bounds(from);
    let (_, end) = utc_day_bounds(to);
    let country = args.country.as_ref().map(|code| code.trim().to_ascii_uppercase());

    let mut accounts = store.accounts().await?;
    if let Some(country) = &country {
        accounts.retain(|account| account.debtor.country == *country);
    }
    let debts: std::collections::HashSet<_> = accounts.iter().map(|account| account.debt.id).collect();
    let attempts: Vec<Attempt> = store
        .attempts_between(start, end)
        .await?
        .into_iter()
        .filter(|attempt| debts.contains(&attempt.debt_id))
        .collect();
    let promises: Vec<StoredPromise> = store
        .promises_between(start, end)
        .await?
        .into_iter()
        .filter(|stored| debts.contains(&stored.promise.debt_id))
        .collect();

    Ok(KpiReport { from, to, country, kpis: compute(&attempts, &promises), aging: aging(&accounts) })
}

/// Formats the report as `cobranza kpi` prints it.
pub fn render(report: &KpiReport, json: bool) -> anyhow::Result<String> {
    if json {
        return Ok(serde_json::to_string(report)?);
    }
    let mut text = format!(
        "KPIs from {} to {}{}\n{}\naging:",
        report.from,
        report.to,
        report.country.as_ref().map(|country| format!(" for {country}")).unwrap_or_default(),
        report.kpis
    );
    for bucket in &report.aging {
        let balances: Vec<String> = bucket.balance.iter().map(ToString::to_string).collect();
        text.push_str(&format!("\n  {:>7} days: {} debts, {}", bucket.label, bucket.debts, balances.join(", ")));
    }
    Ok(text)
}
