//! `cobranza bench week`: a simulated week of one campaign over an invented portfolio, on a
//! stopped clock that the simulation moves. The carrier stand-in answers each call at once with
//! a seeded outcome and writes it as the call would (disposition, promise, dispute, opt-out,
//! callback), so the dialer meets every rule the contact policy has. An auditor that shares no
//! code with the policy engine then checks the carrier's own call log.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Duration, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use super::week_audit::{self, AuditDebtor, AuditEvent, DialledCall, Violation};
use crate::campaign::dialer::{Dialer, DialerSettings};
use crate::campaign::placer::{CallPlacer, OutboundCall};
use crate::campaign::settings::CampaignSettings;
use crate::campaign::store::CampaignStatus;
use crate::clock::Clock;
use crate::collections::history::{DoNotCallEntry, SettleScope};
use crate::collections::import::parse_portfolio_bytes_as_of;
use crate::collections::model::{AttemptId, Currency, Disposition, Money, Promise};
use crate::collections::{AttemptOutcome, Store};
use crate::kpi::UsdRates;
use crate::policy::ContactPolicy;

/// Options of one simulated week.
#[derive(Debug, Clone)]
pub struct WeekOptions {
    pub debtors: usize,
    pub seed: u64,
    /// The first instant simulated.
    pub start: DateTime<Utc>,
    pub days: u32,
    /// Simulated minutes between two dialer ticks.
    pub tick_minutes: u32,
    /// The campaign's settings. Its calls per second are the calls the dialer may start per
    /// tick.
    pub campaign: CampaignSettings,
}

impl WeekOptions {
    pub fn new(debtors: usize, seed: u64) -> WeekOptions {
        let campaign = serde_json::from_value(serde_json::json!({
            "caller_id": "+15005550006",
            "max_concurrent_calls": 40,
            "calls_per_second": 40,
            "retry": {
                "no_answer": {"first_minutes": 120, "factor": 2, "max_tries": 6},
                "busy": {"first_minutes": 20, "factor": 2, "max_tries": 6},
                "voicemail": {"first_minutes": 1440, "factor": 1, "max_tries": 3},
                "failed": {"first_minutes": 60, "factor": 2, "max_tries": 3},
                "max_tries": 12,
                "broken_promise_follow_up_minutes": 600,
            }
        }))
        .expect("the default week campaign is valid");
        WeekOptions {
            debtors,
            seed,
            // Monday 7 December 2026, midnight UTC: the week holds Colombia's and Argentina's
            // 8 December holiday.
            start: Utc.with_ymd_and_hms(2026, 12, 7, 0, 0, 0).single().expect("valid start"),
            days: 7,
            tick_minutes: 5,
            campaign,
        }
    }
}

/// The week's figures, for the report and the tests.
#[derive(Debug, Clone, Default, Serialize)]
pub struct WeekReport {
    pub debtors: usize,
    pub debts: usize,
    pub calls: usize,
    /// Calls per country and hour of the debtor's local day.
    pub calls_by_country_hour: BTreeMap<String, BTreeMap<u32, u64>>,
    pub outcomes: BTreeMap<String, u64>,
    /// Times the dialer passed a debtor over, by reason code.
    pub skips: BTreeMap<String, u64>,
    pub violations: Vec<Violation>,
    pub follow_ups: usize,
}

/// Runs the week on `store`, which must be empty.
pub async fn run(store: Arc<dyn Store>, options: &WeekOptions) -> anyhow::Result<WeekReport> {
    let policy = Arc::new(ContactPolicy::embedded()?);
    let mut rng = StdRng::seed_from_u64(options.seed);
    let portfolio = invent_portfolio(options.debtors, &mut rng);
    let parsed = parse_portfolio_bytes_as_of("bench-week.csv", portfolio.csv.as_bytes(), options.start.date_naive())?;
    anyhow::ensure!(parsed.rejected.is_empty(), "invented portfolio rejected: {}", parsed.rejected[0]);
    let counts = store.import_portfolio(&parsed.rows).await?;
    let do_not_call: Vec<DoNotCallEntry> = portfolio
        .debtors
        .iter()
        .filter(|debtor| debtor.on_do_not_call_list)
        .map(|debtor| DoNotCallEntry {
            phone: debtor.phone.clone(),
            reason: "asked the creditor".into(),
            source: "bench week".into(),
            added_on: options.start.date_naive(),
        })
        .collect();
    store.add_do_not_call(&do_not_call).await?;

    let clock = Clock::stopped_at(options.start);
    let settings = options.campaign.clone();
    store.create_campaign("week", &settings, clock.now()).await?;
    crate::campaign::enrol::enrol(
        store.as_ref(),
        "week",
        &settings.filter,
        &UsdRates::new(HashMap::new()),
        clock.now(),
    )
    .await?;
    store.set_campaign_status("week", CampaignStatus::Running, clock.now()).await?;

    let carrier = Arc::new(Carrier::new(store.clone(), clock.clone(), &portfolio, options.seed));
    let mut dialer_settings = DialerSettings::new("week-node".into(), "http://127.0.0.1:9".into());
    dialer_settings.placement_margin = Duration::minutes(i64::from(options.tick_minutes));
    // A tick stands for the minutes until the next one; spacing calls in real time would only
    // slow the simulation.
    dialer_settings.pace_calls = false;
    let dialer = Dialer::new(store.clone(), policy.clone(), carrier.clone(), clock.clone(), dialer_settings);

    let end = options.start + Duration::days(i64::from(options.days));
    let mut report = WeekReport { debtors: portfolio.debtors.len(), debts: counts.debts, ..Default::default() };
    let mut last_sweep = options.start.date_naive();
    while clock.now() < end {
        let report_tick = dialer.tick().await?;
        for decision in report_tick.decisions {
            if let crate::campaign::DialDecision::Skipped { reason, .. } = decision {
                *report.skips.entry(reason.code().to_string()).or_default() += 1;
            }
        }
        clock.advance(Duration::minutes(i64::from(options.tick_minutes)));
        // The nightly settlement marks unpaid promises past their grace days broken.
        let today = clock.now().date_naive();
        if today > last_sweep {
            store.settle_promises(SettleScope::AllDebts, 0, today - Duration::days(1)).await?;
            last_sweep = today;
        }
    }

    let log = carrier.log();
    report.calls = log.len();
    for call in &log {
        let debtor = &portfolio.debtors[call.debtor];
        let local_hour = call.at.with_timezone(&debtor.zones[0]).hour();
        *report.calls_by_country_hour.entry(debtor.country.clone()).or_default().entry(local_hour).or_default() += 1;
        *report.outcomes.entry(call.outcome.as_str().to_string()).or_default() += 1;
    }
    report.follow_ups = log.iter().filter(|call| call.follow_up).count();
    let audit_debtors: Vec<AuditDebtor> = portfolio.debtors.iter().map(Invented::audit).collect();
    report.violations = week_audit::audit(&policy, &audit_debtors, &log_for_audit(&log), &carrier.events());
    Ok(report)
}

fn log_for_audit(log: &[LoggedCall]) -> Vec<DialledCall> {
    log.iter().map(|call| DialledCall { debtor: call.debtor, debt_ref: call.debt_ref.clone(), at: call.at }).collect()
}

/// One invented debtor, as the generator meant it.
#[derive(Debug, Clone)]
struct Invented {
    phone: String,
    country: String,
    region: String,
    /// The address's zone, then the phone's when it differs.
    zones: Vec<Tz>,
    consent: bool,
    on_do_not_call_list: bool,
    currency: Currency,
    /// The probability, 0 to 1, that the debtor picks up.
    reachability: f64,
}

impl Invented {
    fn audit(&self) -> AuditDebtor {
        AuditDebtor {
            country: self.country.clone(),
            region: self.region.clone(),
            zones: self.zones.clone(),
            consent: self.consent,
            on_do_not_call_list: self.on_do_not_call_list,
        }
    }
}

struct Portfolio {
    csv: String,
    debtors: Vec<Invented>,
}

/// A region the generator places debtors in: country, region, locale, zone, postal code, phone
/// prefix, currency and a typical balance.
struct Place {
    country: &'static str,
    region: &'static str,
    locale: &'static str,
    zone: Tz,
    postal_code: &'static str,
    phone_prefix: &'static str,
    subscriber_digits: usize,
    currency: &'static str,
    balance: f64,
}

const PLACES: &[Place] = &[
    place("MX", "Ciudad de México", "es-MX", Tz::America__Mexico_City, "06700", "+5255", 8, "MXN", 9_000.0),
    place("MX", "Baja California", "es-MX", Tz::America__Tijuana, "22000", "+52664", 7, "MXN", 7_000.0),
    place("MX", "Quintana Roo", "es-MX", Tz::America__Cancun, "77500", "+52998", 7, "MXN", 6_000.0),
    place("CO", "Antioquia", "es-CO", Tz::America__Bogota, "050021", "+57604", 7, "COP", 2_500_000.0),
    place("CO", "Bogotá D.C.", "es-CO", Tz::America__Bogota, "110111", "+57601", 7, "COP", 1_800_000.0),
    place("PE", "Lima", "es-PE", Tz::America__Lima, "15074", "+511", 7, "PEN", 2_000.0),
    place("CL", "Región Metropolitana", "es-CL", Tz::America__Santiago, "7500000", "+562", 8, "CLP", 600_000.0),
    place("CL", "Magallanes", "es-CL", Tz::America__Punta_Arenas, "6200000", "+5661", 7, "CLP", 500_000.0),
    place(
        "AR",
        "Ciudad Autónoma de Buenos Aires",
        "es-AR",
        Tz::America__Argentina__Buenos_Aires,
        "C1043AAB",
        "+54911",
        8,
        "ARS",
        300_000.0,
    ),
    place("AR", "Córdoba", "es-AR", Tz::America__Argentina__Cordoba, "X5000HKM", "+549351", 7, "ARS", 250_000.0),
    place("US", "NY", "en-US", Tz::America__New_York, "10001", "+1212", 7, "USD", 1_200.0),
    place("US", "CA", "es-US", Tz::America__Los_Angeles, "90033", "+1213", 7, "USD", 1_500.0),
    place("US", "TX", "en-US", Tz::America__Chicago, "77002", "+1713", 7, "USD", 900.0),
    place("US", "MA", "en-US", Tz::America__New_York, "02108", "+1617", 7, "USD", 1_100.0),
    place("US", "AZ", "en-US", Tz::America__Phoenix, "85004", "+1602", 7, "USD", 800.0),
];

#[allow(clippy::too_many_arguments)]
const fn place(
    country: &'static str,
    region: &'static str,
    locale: &'static str,
    zone: Tz,
    postal_code: &'static str,
    phone_prefix: &'static str,
    subscriber_digits: usize,
    currency: &'static str,
    balance: f64,
) -> Place {
    Place { country, region, locale, zone, postal_code, phone_prefix, subscriber_digits, currency, balance }
}

/// Phone prefixes of another zone, with their subscriber digits, for debtors whose number and
/// address disagree.
const AWAY_PHONES: &[(&str, &str, usize, Tz)] =
    &[("US", "+1310", 7, Tz::America__Los_Angeles), ("MX", "+52664", 7, Tz::America__Tijuana)];

fn invent_portfolio(count: usize, rng: &mut StdRng) -> Portfolio {
    let mut csv = String::from(
        "debtor_id,full_name,phone,country,region,locale,time_zone,national_id_last4,birth_date,postal_code,\
         creditor,product,account_ref,balance,currency,days_past_due,call_consent,authorised_channels\n",
    );
    let mut debtors = Vec::with_capacity(count);
    for index in 0..count {
        let place = &PLACES[rng.gen_range(0..PLACES.len())];
        let id = format!("W-{index:06}");
        let mut zones = vec![place.zone];
        let mut phone = format!("{}{:0width$}", place.phone_prefix, index, width = place.subscriber_digits);
        if let Some((_, away_prefix, digits, away_zone)) =
            AWAY_PHONES.iter().find(|(country, _, _, zone)| *country == place.country && *zone != place.zone)
        {
            if rng.gen_bool(0.1) {
                phone = format!("{away_prefix}{index:0digits$}");
                zones.push(*away_zone);
            }
        }
        let consent = rng.gen_bool(0.97);
        let debts = if rng.gen_bool(0.2) { 2 } else { 1 };
        let currency: Currency = place.currency.parse().expect("known currency");
        for debt in 0..debts {
            let account_ref = format!("WK-{index:06}-{debt}");
            let balance = place.balance * rng.gen_range(0.3..2.5);
            let balance = if currency.exponent() == 0 { format!("{balance:.0}") } else { format!("{balance:.2}") };
            csv.push_str(&format!(
                "{id},Deudor {index} Prueba,{phone},{},{},{},{},{:04},1980-05-0{},{},Banco Semana,tarjeta,{account_ref},{balance},{},{},{consent},voice;sms\n",
                place.country,
                csv_field(place.region),
                place.locale,
                place.zone.name(),
                index % 10_000,
                1 + index % 9,
                place.postal_code,
                place.currency,
                rng.gen_range(5..200),
            ));
        }
        debtors.push(Invented {
            phone,
            country: place.country.to_string(),
            region: place.region.to_string(),
            zones,
            consent,
            on_do_not_call_list: rng.gen_bool(0.02),
            currency,
            reachability: rng.gen_range(0.2..0.9),
        });
    }
    Portfolio { csv, debtors }
}

fn csv_field(text: &str) -> String {
    if text.contains(',') {
        format!("\"{text}\"")
    } else {
        text.to_string()
    }
}

/// One call the carrier stand-in received.
#[derive(Debug, Clone)]
struct LoggedCall {
    debtor: usize,
    debt_ref: String,
    at: DateTime<Utc>,
    outcome: Disposition,
    follow_up: bool,
}

/// The carrier and the debtors in one: answers each call at once with a seeded outcome, writes
/// it to the store as the call would, and keeps its own log.
struct Carrier {
    store: Arc<dyn Store>,
    clock: Arc<Clock>,
    by_phone: HashMap<String, usize>,
    debtors: Vec<Invented>,
    seed: u64,
    state: Mutex<CarrierState>,
}

#[derive(Default)]
struct CarrierState {
    log: Vec<LoggedCall>,
    events: Vec<AuditEvent>,
    calls_placed: u64,
}

impl Carrier {
    fn new(store: Arc<dyn Store>, clock: Arc<Clock>, portfolio: &Portfolio, seed: u64) -> Carrier {
        let by_phone =
            portfolio.debtors.iter().enumerate().map(|(index, debtor)| (debtor.phone.clone(), index)).collect();
        Carrier {
            store,
            clock,
            by_phone,
            debtors: portfolio.debtors.clone(),
            seed,
            state: Mutex::new(CarrierState::default()),
        }
    }

    fn log(&self) -> Vec<LoggedCall> {
        self.state.lock().expect("carrier lock").log.clone()
    }

    fn events(&self) -> Vec<AuditEvent> {
        self.state.lock().expect("carrier lock").events.clone()
    }

    /// Decides and writes the outcome of one answered or unanswered call.
    async fn resolve(
        &self,
        debtor_index: usize,
        attempt_id: AttemptId,
        at: DateTime<Utc>,
    ) -> anyhow::Result<Disposition> {
        let debtor = &self.debtors[debtor_index];
        let serial = {
            let mut state = self.state.lock().expect("carrier lock");
            state.calls_placed += 1;
            state.calls_placed
        };
        let mut rng = StdRng::seed_from_u64(self.seed ^ serial.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let attempt =
            self.store.attempt(attempt_id).await?.ok_or_else(|| anyhow::anyhow!("attempt {attempt_id} missing"))?;
        let local_hour = at.with_timezone(&debtor.zones[0]).hour();
        let evening = if (18..21).contains(&local_hour) { 0.15 } else { 0.0 };

        let roll: f64 = rng.gen();
        let (disposition, answered, right_party) = if roll < 0.08 {
            (Disposition::Busy, false, false)
        } else if roll < 0.10 {
            (Disposition::CallFailed, false, false)
        } else if roll < 0.10 + (1.0 - debtor.reachability - evening).max(0.05) * 0.7 {
            (Disposition::NoAnswer, false, false)
        } else if rng.gen_bool(0.2) {
            (Disposition::VoicemailLeft, true, false)
        } else {
            let talk: f64 = rng.gen();
            match talk {
                x if x < 0.08 => (Disposition::WrongNumber, true, false),
                x if x < 0.30 => (Disposition::PromiseToPay, true, true),
                x if x < 0.42 => (Disposition::CallbackRequested, true, true),
                x if x < 0.46 => (Disposition::Disputed, true, true),
                x if x < 0.50 => (Disposition::StopContact, true, true),
                x if x < 0.65 => (Disposition::RefusedToPay, true, true),
                _ => (Disposition::RightPartyNoCommitment, true, true),
            }
        };

        let ended_at = at + Duration::seconds(if answered { 90 } else { 30 });
        let store = &self.store;
        let debt_ref =
            store.account_by_debt(attempt.debt_id).await?.map(|account| account.debt.account_ref).unwrap_or_default();
        // A call after one of the debt's promises was broken is the follow-up it scheduled.
        let follow_up = store
            .settled_promises_of_debt(attempt.debt_id)
            .await?
            .iter()
            .any(|settled| settled.settlement.status == crate::collections::history::PromiseStatus::Broken);
        let mut event = None;
        match disposition {
            Disposition::PromiseToPay => {
                // Promises due in two days; about half will not be paid and become broken.
                let due = (at + Duration::days(2)).date_naive();
                let promise = Promise {
                    debt_id: attempt.debt_id,
                    amount: Money::new(10_000, debtor.currency),
                    due_date: due,
                    installments: Vec::new(),
                };
                store.store_promise(attempt_id, &promise, at).await?;
            }
            Disposition::CallbackRequested => {
                let callback = at + Duration::hours(rng.gen_range(20..50));
                store.record_callback_request(attempt_id, Some(callback), at).await?;
                event = Some(AuditEvent::Callback { debtor: debtor_index, at, until: callback });
            }
            Disposition::Disputed => {
                store.record_dispute(attempt_id, at).await?;
                event = Some(AuditEvent::Dispute { debtor: debtor_index, debt_ref: debt_ref.clone(), at });
            }
            Disposition::StopContact => {
                store.record_opt_out(&attempt.debtor_id, "voice", at).await?;
                event = Some(AuditEvent::OptOut { debtor: debtor_index, at });
            }
            _ => {}
        }
        let outcome = AttemptOutcome {
            disposition,
            answered,
            right_party_contact: right_party,
            ended_at,
            recording_path: None,
            costs: Vec::new(),
        };
        store.finish_attempt(attempt_id, &outcome).await?;

        let mut state = self.state.lock().expect("carrier lock");
        if right_party {
            state.events.push(AuditEvent::Conversation { debtor: debtor_index, debt_ref: debt_ref.clone(), at });
        }
        if let Some(event) = event {
            state.events.push(event);
        }
        state.log.push(LoggedCall { debtor: debtor_index, debt_ref, at, outcome: disposition, follow_up });
        Ok(disposition)
    }
}

#[async_trait]
impl CallPlacer for Carrier {
    async fn place(&self, call: &OutboundCall) -> Result<String, String> {
        let at = self.clock.now();
        let Some(&debtor) = self.by_phone.get(&call.to) else {
            return Err(format!("the carrier has no line {}", call.to));
        };
        let attempt_id = call
            .twiml_url
            .split("attempt=")
            .nth(1)
            .and_then(|id| id.parse::<i64>().ok())
            .map(AttemptId)
            .ok_or_else(|| format!("TwiML URL {} names no attempt", call.twiml_url))?;
        self.resolve(debtor, attempt_id, at).await.map_err(|error| error.to_string())?;
        Ok(format!("CA{:032x}", attempt_id.0))
    }

    /// Every call of this carrier ends as it is placed, so there is nothing to hang up.
    async fn hang_up(&self, _call_sid: &str) -> Result<(), String> {
        Ok(())
    }
}

impl fmt::Display for WeekReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "simulated week: {} debtors, {} debts, {} calls, {} after broken promises",
            self.debtors, self.debts, self.calls, self.follow_ups
        )?;
        writeln!(f, "policy violations found by the audit of the carrier's log: {}", self.violations.len())?;
        for violation in self.violations.iter().take(20) {
            writeln!(f, "  {violation}")?;
        }
        writeln!(f, "\ncalls per country by the debtor's local hour:")?;
        let hours: Vec<u32> = (6..23).collect();
        write!(f, "{:<4}", "")?;
        for hour in &hours {
            write!(f, "{hour:>5}")?;
        }
        writeln!(f, "{:>7}", "all")?;
        for (country, by_hour) in &self.calls_by_country_hour {
            write!(f, "{country:<4}")?;
            for hour in &hours {
                write!(f, "{:>5}", by_hour.get(hour).copied().unwrap_or(0))?;
            }
            writeln!(f, "{:>7}", by_hour.values().sum::<u64>())?;
        }
        writeln!(f, "\noutcomes:")?;
        for (outcome, count) in &self.outcomes {
            writeln!(f, "  {outcome:<28} {count}")?;
        }
        writeln!(f, "\nskipped by the contact policy:")?;
        for (reason, count) in &self.skips {
            writeln!(f, "  {reason:<28} {count}")?;
        }
        Ok(())
    }
}
