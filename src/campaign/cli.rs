//! `cobranza campaign ...`: create, start, pause, stop and inspect campaigns on the store.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use clap::Subcommand;

use super::settings::{validate, CampaignSettings};
use super::store::{Campaign, CampaignStatus};
use crate::collections::Store;
use crate::kpi::UsdRates;

#[derive(Debug, Subcommand)]
pub enum CampaignCommand {
    /// Create a campaign as a draft from a TOML settings file (filter, schedule, limits, retry).
    Create {
        /// A name of letters, digits, '-' and '_'.
        name: String,
        /// The settings file, e.g. config/campaigns/reminders.toml.
        #[arg(long)]
        settings: PathBuf,
    },
    /// List the campaigns with their status.
    List,
    /// Show a campaign's settings, progress and why the dialer skipped debtors.
    Show { name: String },
    /// Enrol the matching debts and let the dialer call them.
    Start { name: String },
    /// Stop dialing new calls until `start` runs again; calls in progress finish.
    Pause { name: String },
    /// End the campaign: no new calls, and no retries of the calls in progress.
    Stop { name: String },
    /// Enrol debts that match the filter now (after an import or a rescoring).
    Enrol { name: String },
}

/// Runs one campaign command and returns what to print.
pub async fn run(
    store: &dyn Store,
    command: &CampaignCommand,
    rates: &UsdRates,
    now: DateTime<Utc>,
) -> anyhow::Result<String> {
    match command {
        CampaignCommand::Create { name, settings } => {
            check_name(name)?;
            let text = std::fs::read_to_string(settings)
                .with_context(|| format!("reading the campaign settings {}", settings.display()))?;
            let parsed: CampaignSettings =
                toml::from_str(&text).with_context(|| format!("{}: invalid campaign settings", settings.display()))?;
            validate(&parsed).map_err(|message| anyhow::anyhow!("{}: {message}", settings.display()))?;
            let campaign = store.create_campaign(name, &parsed, now).await?;
            Ok(format!(
                "created campaign {} (draft); start it with `cobranza campaign start {}`",
                campaign.name, campaign.name
            ))
        }
        CampaignCommand::List => {
            let campaigns = store.campaigns().await?;
            if campaigns.is_empty() {
                return Ok("no campaigns; create one with `cobranza campaign create NAME --settings FILE`".to_string());
            }
            let mut text = String::new();
            for campaign in campaigns {
                let progress = store.campaign_progress(&campaign.name, now).await?;
                writeln!(
                    text,
                    "{:<24} {:<8} {} targets, {} waiting, {} dialing, {} done, {} attempts",
                    campaign.name,
                    campaign.status,
                    progress.targets,
                    progress.waiting,
                    progress.dialing,
                    progress.done,
                    progress.attempts
                )?;
            }
            Ok(text.trim_end().to_string())
        }
        CampaignCommand::Show { name } => {
            let campaign = existing(store, name).await?;
            let progress = store.campaign_progress(name, now).await?;
            let mut text = format!("campaign {} ({})\n", campaign.name, campaign.status);
            writeln!(text, "settings: {}", serde_json::to_string(&campaign.settings)?)?;
            writeln!(
                text,
                "targets: {} ({} waiting, {} due now, {} dialing, {} done)",
                progress.targets, progress.waiting, progress.due, progress.dialing, progress.done
            )?;
            writeln!(text, "attempts: {}", progress.attempts)?;
            for (outcome, count) in &progress.outcomes {
                writeln!(text, "  {outcome:<28} {count}")?;
            }
            writeln!(text, "skipped by the contact policy:")?;
            if progress.skips.is_empty() {
                writeln!(text, "  (none)")?;
            }
            for (reason, count) in &progress.skips {
                writeln!(text, "  {reason:<28} {count}")?;
            }
            Ok(text.trim_end().to_string())
        }
        CampaignCommand::Start { name } => {
            let campaign = existing(store, name).await?;
            let added = super::enrol::enrol(store, name, &campaign.settings.filter, rates, now).await?;
            store.set_campaign_status(name, CampaignStatus::Running, now).await?;
            Ok(format!("campaign {name} running; {added} debts enrolled"))
        }
        CampaignCommand::Pause { name } => {
            existing(store, name).await?;
            store.set_campaign_status(name, CampaignStatus::Paused, now).await?;
            Ok(format!("campaign {name} paused; calls in progress finish"))
        }
        CampaignCommand::Stop { name } => {
            existing(store, name).await?;
            store.set_campaign_status(name, CampaignStatus::Stopped, now).await?;
            Ok(format!("campaign {name} stopped"))
        }
        CampaignCommand::Enrol { name } => {
            let campaign = existing(store, name).await?;
            let added = super::enrol::enrol(store, name, &campaign.settings.filter, rates, now).await?;
            Ok(format!("{added} debts enrolled in campaign {name}"))
        }
    }
}

async fn existing(store: &dyn Store, name: &str) -> anyhow::Result<Campaign> {
    store
        .campaign(name)
        .await?
        .with_context(|| format!("no campaign named '{name}'; `cobranza campaign list` shows them"))
}

/// Checks a campaign name: it appears in URLs and attempt rows.
pub fn check_name(name: &str) -> anyhow::Result<()> {
    let valid =
        !name.is_empty() && name.len() <= 64 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    anyhow::ensure!(valid, "campaign name '{name}' is invalid: use 1 to 64 letters, digits, '-' or '_'");
    Ok(())
}
