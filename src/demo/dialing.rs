//! The demo's campaign: the six personas' debtors and five others, scored, enrolled and dialled
//! by priority through the Twilio fake, with each of the dialer's decisions printed as it is made.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::Utc;

use super::{EmbeddedServer, PlannedPersona};
use crate::campaign::store::{CampaignStatus, CampaignStore};
use crate::campaign::twilio_placer::TwilioPlacer;
use crate::campaign::{CampaignSettings, DialDecision, Dialer, DialerSettings};
use crate::clock::Clock;
use crate::collections::history::{DoNotCallEntry, HistoryStore};
use crate::collections::model::{AttemptId, DebtorId};
use crate::collections::sqlite::SqliteStore;
use crate::collections::Store;
use crate::config::Config;
use crate::cost::format_dollars;
use crate::kpi::UsdRates;
use crate::policy::ContactPolicy;
use crate::scoring::segment::StrategyBook;
use crate::telephony::twilio::rest::TwilioRest;
use crate::telephony::twilio_fake::{Callee, CalleeBook, FakeSettings, PersonaVoices, TwilioFake};

/// The campaign's name in the demo store.
const CAMPAIGN: &str = "demo";

/// Time between two rounds of the demo's dialer.
const TICK: StdDuration = StdDuration::from_millis(500);

/// The maximum time the demo waits for its campaign to finish.
const MAX_RUN: StdDuration = StdDuration::from_secs(600);

/// The callee the fake plays for each debtor the campaign dials besides the personas'.
#[derive(Debug, Clone, Copy)]
enum Other {
    /// An answering machine takes the call: the bot leaves the voicemail message.
    Machine,
    Busy,
    NoAnswer,
    /// The number is on the do-not-call list, so the policy refuses it.
    DoNotCall,
    /// The debtor asked not to be called, so the policy refuses it.
    OptedOut,
}

const OTHER_DEBTORS: [(&str, Other); 5] = [
    ("US-0004", Other::Machine),
    ("PE-0002", Other::Busy),
    ("MX-0006", Other::NoAnswer),
    ("CO-0003", Other::DoNotCall),
    ("MX-0004", Other::OptedOut),
];

/// Starts the Twilio fake with the personas at their debtors' numbers and the other debtors'
/// phones as [`OTHER_DEBTORS`] says.
pub(super) async fn start_fake(
    store: &dyn Store,
    server: &EmbeddedServer,
    personas: &[PlannedPersona],
    config: &Config,
    clock: Arc<Clock>,
) -> anyhow::Result<TwilioFake> {
    let mut callees: HashMap<String, Callee> = personas
        .iter()
        .map(|planned| (planned.account.debtor.phone.clone(), Callee::Person(planned.persona.clone())))
        .collect();
    for (phone, other) in other_phones(store).await? {
        let callee = match other {
            Other::Machine => Callee::Machine { greeting_ms: 2_500 },
            Other::Busy => Callee::Busy,
            Other::NoAnswer | Other::DoNotCall | Other::OptedOut => Callee::NoAnswer,
        };
        callees.insert(phone, callee);
    }
    let book: CalleeBook = Arc::new(move |to: &str| callees.get(to).cloned().unwrap_or(Callee::NoAnswer));
    let mut settings =
        FakeSettings::new(&server.twilio.account_sid, &server.twilio.auth_token, PersonaVoices::from_config(config));
    settings.calls_per_second = 5;
    Ok(TwilioFake::start(settings, book, clock).await?)
}

async fn other_phones(store: &dyn Store) -> anyhow::Result<Vec<(String, Other)>> {
    let mut phones = Vec::new();
    for (debtor_id, other) in OTHER_DEBTORS {
        let account = store
            .account_by_debtor(&DebtorId(debtor_id.to_string()))
            .await?
            .ok_or_else(|| anyhow::anyhow!("debtor {debtor_id} is not in the sample portfolio"))?;
        phones.push((account.debtor.phone, other));
    }
    Ok(phones)
}

/// Scores the portfolio, creates and starts the campaign, and ticks the dialer until no call is
/// in progress and nothing is due. Returns the attempt of each debtor dialled.
pub(super) async fn run_campaign(
    store: Arc<SqliteStore>,
    server: &EmbeddedServer,
    fake: &TwilioFake,
    config: &Config,
    clock: Arc<Clock>,
) -> anyhow::Result<HashMap<DebtorId, AttemptId>> {
    let now = clock.now();
    prepare_refusals(store.as_ref(), now).await?;
    crate::scoring::cli::rescore(
        store.as_ref(),
        now.date_naive(),
        false,
        0,
        &config.scoring,
        &config.currencies,
        &StrategyBook::embedded(),
    )
    .await?;

    let mut settings: CampaignSettings = toml::from_str("caller_id = \"+15005550006\"")?;
    settings.filter.debtor_ids = super::PERSONA_DEBTORS
        .iter()
        .map(|(_, debtor)| *debtor)
        .chain(OTHER_DEBTORS.iter().map(|(debtor, _)| *debtor))
        .map(str::to_string)
        .collect();
    settings.max_concurrent_calls = 8;
    settings.calls_per_second = 4;
    store.create_campaign(CAMPAIGN, &settings, now).await?;
    let rates = UsdRates::from_config(config);
    let enrolled = crate::campaign::enrol::enrol(store.as_ref(), CAMPAIGN, &settings.filter, &rates, now).await?;
    store.set_campaign_status(CAMPAIGN, CampaignStatus::Running, now).await?;
    println!("Enrolled {enrolled} debts; the dialer takes them by expected value, inside each debtor's rules:");

    let rest = TwilioRest::new(fake.base_url(), &server.twilio.account_sid, &server.twilio.auth_token)?;
    let mut dialer_config = config.dialer.clone();
    // Nobody answers the no-answer line, so a short ring keeps the demo short.
    dialer_config.ring_timeout_seconds = 8;
    let placer = Arc::new(TwilioPlacer::new(rest, &dialer_config));
    let mut dialer_settings = DialerSettings::new("demo".to_string(), server.base_url.clone());
    dialer_settings.tick = TICK;
    let store_for_dialer: Arc<dyn Store> = store.clone();
    let dialer =
        Dialer::new(store_for_dialer, Arc::new(ContactPolicy::embedded()?), placer, clock.clone(), dialer_settings);

    let mut attempts = HashMap::new();
    let deadline = tokio::time::Instant::now() + MAX_RUN;
    loop {
        let report = dialer.tick().await?;
        for decision in &report.decisions {
            print_decision(decision);
            if let DialDecision::Dialled { debtor_id, attempt_id, .. } = decision {
                attempts.entry(debtor_id.clone()).or_insert(*attempt_id);
            }
        }
        let progress = store.campaign_progress(CAMPAIGN, clock.now()).await?;
        if progress.dialing == 0 && progress.due == 0 {
            break;
        }
        if tokio::time::Instant::now() > deadline {
            println!("The campaign did not finish in {} s; stopping it.", MAX_RUN.as_secs());
            break;
        }
        tokio::time::sleep(TICK).await;
    }
    let progress = store.campaign_progress(CAMPAIGN, clock.now()).await?;
    // Its retries point at the Twilio fake, which is gone once the demo ends: a `cobranza serve`
    // on this store must not dial them through the real Twilio.
    store.set_campaign_status(CAMPAIGN, CampaignStatus::Stopped, clock.now()).await?;
    println!(
        "\nCampaign `{CAMPAIGN}`: {} attempts; {} debts done, {} left without their next try (the demo stops the campaign).",
        progress.attempts, progress.done, progress.waiting
    );
    Ok(attempts)
}

/// Puts one demo debtor's number on the do-not-call list and records another's opt-out, so the
/// dialer shows both refusals.
async fn prepare_refusals(store: &SqliteStore, now: chrono::DateTime<Utc>) -> anyhow::Result<()> {
    for (phone, other) in other_phones(store).await? {
        match other {
            Other::DoNotCall => {
                let entry = DoNotCallEntry {
                    phone,
                    reason: "asked the creditor not to be called".to_string(),
                    source: "demo".to_string(),
                    added_on: now.date_naive(),
                };
                store.add_do_not_call(&[entry]).await?;
            }
            Other::OptedOut => {
                let account = store.account_by_phone(&phone).await?.expect("demo debtor exists");
                store.record_opt_out(&account.debtor.id, "voice", now).await?;
            }
            _ => {}
        }
    }
    Ok(())
}

fn print_decision(decision: &DialDecision) {
    match decision {
        DialDecision::Dialled { debtor_id, attempt_id, priority, .. } => {
            let value = format_dollars((priority.max(0.0) * 1e6) as u64);
            println!("  dialer: call {:<8} expected value {value:>8}  → attempt {attempt_id}", debtor_id.0);
        }
        DialDecision::Skipped { debtor_id, reason, next_allowed, .. } => {
            let next = next_allowed
                .map_or(String::from("not again"), |at| format!("next allowed {}", at.format("%Y-%m-%d %H:%M UTC")));
            println!("  dialer: skip {:<8} {reason} ({next})", debtor_id.0);
        }
        DialDecision::PlacementFailed { debtor_id, attempt_id, error, .. } => {
            println!("  dialer: the carrier refused the call to {} (attempt {attempt_id}): {error}", debtor_id.0);
        }
    }
}
