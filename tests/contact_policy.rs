//! Property tests of the contact decision: a greedy dialer that calls whenever `decide` allows
//! it, over random debtors, zones, dates (daylight-saving changes included), histories and
//! call patterns, never places a call that an independent check of the rules rejects, and the
//! "next allowed" instant it is given is allowed and is the first one.

use chrono::{DateTime, Datelike, Duration, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use cobranza::collections::model::DebtId;
use cobranza::policy::{decide, ContactPolicy, ContactRequest, ContactRules, ContactSubject, Decision, PastContact};
use proptest::prelude::*;

const ZONES: &[(&str, &[Tz])] = &[
    ("MX", &[Tz::America__Mexico_City, Tz::America__Tijuana, Tz::America__Cancun, Tz::America__Hermosillo]),
    ("CO", &[Tz::America__Bogota]),
    ("PE", &[Tz::America__Lima]),
    ("CL", &[Tz::America__Santiago, Tz::America__Punta_Arenas]),
    ("AR", &[Tz::America__Argentina__Buenos_Aires, Tz::America__Argentina__Cordoba]),
    (
        "US",
        &[
            Tz::America__New_York,
            Tz::America__Chicago,
            Tz::America__Denver,
            Tz::America__Phoenix,
            Tz::America__Los_Angeles,
            Tz::America__Anchorage,
            Tz::Pacific__Honolulu,
        ],
    ),
    ("BR", &[Tz::America__Sao_Paulo, Tz::America__Manaus, Tz::America__Rio_Branco]),
];

/// Instants near daylight-saving changes of the zones above, in 2026 and 2027.
const DST_CHANGES: &[&str] = &[
    "2026-03-08T10:00:00Z",
    "2026-11-01T09:00:00Z",
    "2027-03-14T10:00:00Z",
    "2027-11-07T09:00:00Z",
    "2026-04-05T03:00:00Z",
    "2026-09-06T04:00:00Z",
    "2027-04-04T03:00:00Z",
    "2027-09-05T04:00:00Z",
];

#[derive(Debug, Clone)]
struct Case {
    rule_set: usize,
    zone: usize,
    second_zone: Option<usize>,
    start: DateTime<Utc>,
    consent: bool,
    opted_out: bool,
    do_not_call: bool,
    disputed: Option<i64>,
    callback_hours: Option<i64>,
    /// (minutes before the start, debt, inbound, conversation)
    history: Vec<(i64, i64, bool, bool)>,
    /// (debt, minutes to wait after a call, the call is a conversation)
    steps: Vec<(i64, i64, bool)>,
}

fn start_instant() -> impl Strategy<Value = DateTime<Utc>> {
    let anywhere = (0_i64..2 * 365 * 24 * 60)
        .prop_map(|minutes| Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + Duration::minutes(minutes));
    let near_change = (0..DST_CHANGES.len(), -36_i64 * 60..36 * 60)
        .prop_map(|(index, minutes)| DST_CHANGES[index].parse::<DateTime<Utc>>().unwrap() + Duration::minutes(minutes));
    prop_oneof![2 => anywhere, 1 => near_change]
}

fn case() -> impl Strategy<Value = Case> {
    (
        (0_usize..64, 0_usize..16, proptest::option::weighted(0.3, 0_usize..16), start_instant()),
        (proptest::bool::weighted(0.92), proptest::bool::weighted(0.08), proptest::bool::weighted(0.08)),
        (proptest::option::weighted(0.1, 1_i64..=2), proptest::option::weighted(0.15, 0_i64..96)),
        proptest::collection::vec((0_i64..14 * 24 * 60, 1_i64..=2, any::<bool>(), proptest::bool::weighted(0.3)), 0..8),
        proptest::collection::vec((1_i64..=2, 0_i64..900, proptest::bool::weighted(0.25)), 1..40),
    )
        .prop_map(
            |(
                (rule_set, zone, second_zone, start),
                (consent, opted_out, do_not_call),
                (disputed, callback_hours),
                history,
                steps,
            )| Case {
                rule_set,
                zone,
                second_zone,
                start,
                consent,
                opted_out,
                do_not_call,
                disputed,
                callback_hours,
                history,
                steps,
            },
        )
}

struct Debtor {
    rules: ContactRules,
    zones: Vec<Tz>,
    channels: Vec<String>,
    opted_out: Vec<String>,
    disputed: Vec<DebtId>,
    callback_at: Option<DateTime<Utc>>,
    consent: bool,
    do_not_call: bool,
}

fn debtor(policy: &ContactPolicy, case: &Case) -> Debtor {
    let sets = policy.rule_sets();
    let set = sets[case.rule_set % sets.len()];
    let zones_of_country = ZONES.iter().find(|(country, _)| *country == set.country).unwrap().1;
    let mut zones = vec![zones_of_country[case.zone % zones_of_country.len()]];
    if let Some(second) = case.second_zone {
        // An uncertain location: the phone points to another zone of the country.
        let other = zones_of_country[second % zones_of_country.len()];
        if !zones.contains(&other) {
            zones.push(other);
        }
    }
    Debtor {
        rules: set.rules.clone(),
        zones,
        channels: vec!["voice".to_string()],
        opted_out: if case.opted_out { vec!["voice".to_string()] } else { Vec::new() },
        disputed: case.disputed.map(DebtId).into_iter().collect(),
        callback_at: case.callback_hours.map(|hours| case.start + Duration::hours(hours)),
        consent: case.consent,
        do_not_call: case.do_not_call,
    }
}

fn ask(debtor: &Debtor, history: &[PastContact], debt: i64, at: DateTime<Utc>) -> Decision {
    let subject = ContactSubject {
        rules: &debtor.rules,
        zones: &debtor.zones,
        call_consent: debtor.consent,
        authorised_channels: &debtor.channels,
        opted_out_channels: &debtor.opted_out,
        on_do_not_call_list: debtor.do_not_call,
        disputed_debts: &debtor.disputed,
        callback_at: debtor.callback_at,
        history,
    };
    decide(&subject, &ContactRequest { debt_id: DebtId(debt), channel: "voice", at })
}

/// The rules checked from their data alone: what the decision engine must never contradict.
fn violations(debtor: &Debtor, history: &[PastContact], placed: &[PastContact]) -> Vec<String> {
    let mut found = Vec::new();
    for call in placed {
        if !debtor.consent || !debtor.opted_out.is_empty() || debtor.do_not_call {
            found.push(format!("{} placed despite a standing refusal", call.at));
        }
        if debtor.disputed.contains(&call.debt_id) {
            found.push(format!("{} placed on a disputed debt", call.at));
        }
        if debtor.callback_at.is_some_and(|callback| call.at < callback) {
            found.push(format!("{} placed before the requested callback", call.at));
        }
        for zone in &debtor.zones {
            let local = call.at.with_timezone(zone).naive_local();
            if !inside_window(&debtor.rules, local) {
                found.push(format!("{} is {local} in {zone}, outside the window", call.at));
            }
        }
        let outbound = history.iter().chain(placed).filter(|other| !other.inbound && other.at <= call.at);
        for cap in &debtor.rules.caps_per_debt {
            let since = call.at - Duration::days(i64::from(cap.days));
            let count = outbound.clone().filter(|other| other.debt_id == call.debt_id && other.at > since).count();
            if count > cap.attempts as usize {
                found.push(format!("{} is call {count} about debt {} in {} days", call.at, call.debt_id.0, cap.days));
            }
        }
        for cap in &debtor.rules.caps_per_debtor {
            let since = call.at - Duration::days(i64::from(cap.days));
            let count = outbound.clone().filter(|other| other.at > since).count();
            if count > cap.attempts as usize {
                found.push(format!("{} is call {count} to the debtor in {} days", call.at, cap.days));
            }
        }
        if let Some(days) = debtor.rules.quiet_days_after_conversation {
            let talked = history.iter().chain(placed).any(|other| {
                other.conversation
                    && other.debt_id == call.debt_id
                    && other.at < call.at
                    && call.at < other.at + Duration::days(i64::from(days))
            });
            if talked {
                found.push(format!("{} is inside the quiet days after a conversation", call.at));
            }
        }
    }
    found
}

fn inside_window(rules: &ContactRules, local: NaiveDateTime) -> bool {
    let hours = &rules.calling_hours;
    !hours.holidays().any(|holiday| holiday == local.date())
        && hours.weekly_windows().any(|(weekday, opens, closes)| {
            weekday == local.weekday() && local.time() >= opens && local.time() < closes
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

    #[test]
    fn greedy_dialer_never_breaks_a_rule(case in case()) {
        let policy = ContactPolicy::embedded().unwrap();
        let debtor = debtor(&policy, &case);
        let history: Vec<PastContact> = case
            .history
            .iter()
            .map(|(minutes, debt, inbound, conversation)| PastContact {
                at: case.start - Duration::minutes(*minutes),
                debt_id: DebtId(*debt),
                channel: "voice".to_string(),
                inbound: *inbound,
                conversation: *conversation,
            })
            .collect();
        let mut ledger = history.clone();
        let mut placed = Vec::new();
        let mut at = case.start;
        for (debt, wait, conversation) in &case.steps {
            match ask(&debtor, &ledger, *debt, at) {
                Decision::Allowed => {
                    let call = PastContact {
                        at,
                        debt_id: DebtId(*debt),
                        channel: "voice".to_string(),
                        inbound: false,
                        conversation: *conversation,
                    };
                    ledger.push(call.clone());
                    placed.push(call);
                    at += Duration::minutes((*wait).max(1));
                }
                Decision::Refused { reason, next_allowed: Some(next) } => {
                    prop_assert!(next > at, "{reason} gave {next}, not after {at}");
                    prop_assert_eq!(ask(&debtor, &ledger, *debt, next), Decision::Allowed, "{} at {}", reason, next);
                    let just_before = next - Duration::minutes(1);
                    if just_before >= at {
                        prop_assert!(!ask(&debtor, &ledger, *debt, just_before).is_allowed(), "{} before {}", just_before, next);
                    }
                    at = next;
                }
                Decision::Refused { next_allowed: None, .. } => at += Duration::minutes((*wait).max(1)),
            }
        }
        let found = violations(&debtor, &history, &placed);
        prop_assert!(found.is_empty(), "{:#?}", found);
    }
}

#[test]
fn refusals_never_come_with_a_next_instant_for_standing_reasons() {
    let policy = ContactPolicy::embedded().unwrap();
    let case = Case {
        rule_set: 0,
        zone: 0,
        second_zone: None,
        start: Utc.with_ymd_and_hms(2026, 12, 7, 16, 0, 0).unwrap(),
        consent: true,
        opted_out: true,
        do_not_call: false,
        disputed: None,
        callback_hours: None,
        history: Vec::new(),
        steps: Vec::new(),
    };
    let debtor = debtor(&policy, &case);
    let decision = ask(&debtor, &[], 1, case.start);
    assert_eq!(decision, Decision::Refused { reason: cobranza::policy::Refusal::OptedOut, next_allowed: None });
}
