use chrono::TimeZone;
use chrono_tz::Tz;

use super::*;
use crate::policy::ContactPolicy;

fn utc(year: i32, month: u32, day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(year, month, day, hour, minute, 0).unwrap()
}

fn rules(country: &str, region: &str) -> ContactRules {
    let policy = ContactPolicy::embedded().unwrap_or_else(|error| panic!("{error}"));
    policy.rules_for(country, region).unwrap().clone()
}

const DEBT: DebtId = DebtId(1);
const OTHER_DEBT: DebtId = DebtId(2);

/// A debtor with consent on voice and nothing on file against calling them.
struct Debtor {
    rules: ContactRules,
    zones: Vec<Tz>,
    consent: bool,
    channels: Vec<String>,
    opted_out: Vec<String>,
    do_not_call: bool,
    disputed: Vec<DebtId>,
    callback_at: Option<DateTime<Utc>>,
    history: Vec<PastContact>,
}

impl Debtor {
    fn new(country: &str, region: &str, zone: Tz) -> Debtor {
        Debtor {
            rules: rules(country, region),
            zones: vec![zone],
            consent: true,
            channels: vec!["voice".into(), "sms".into(), "whatsapp".into()],
            opted_out: Vec::new(),
            do_not_call: false,
            disputed: Vec::new(),
            callback_at: None,
            history: Vec::new(),
        }
    }

    fn called(mut self, debt_id: DebtId, at: DateTime<Utc>) -> Debtor {
        self.history.push(contact(debt_id, "voice", at, false, false));
        self
    }

    fn talked(mut self, debt_id: DebtId, channel: &str, at: DateTime<Utc>) -> Debtor {
        self.history.push(contact(debt_id, channel, at, false, true));
        self
    }

    fn decide(&self, debt_id: DebtId, at: DateTime<Utc>) -> Decision {
        self.decide_on("voice", debt_id, at)
    }

    fn decide_on(&self, channel: &str, debt_id: DebtId, at: DateTime<Utc>) -> Decision {
        let subject = ContactSubject {
            rules: &self.rules,
            zones: &self.zones,
            call_consent: self.consent,
            authorised_channels: &self.channels,
            opted_out_channels: &self.opted_out,
            on_do_not_call_list: self.do_not_call,
            disputed_debts: &self.disputed,
            callback_at: self.callback_at,
            history: &self.history,
        };
        decide(&subject, &ContactRequest { debt_id, channel, at })
    }
}

fn contact(debt_id: DebtId, channel: &str, at: DateTime<Utc>, inbound: bool, conversation: bool) -> PastContact {
    PastContact { at, debt_id, channel: channel.to_string(), inbound, conversation }
}

fn refused(reason: Refusal, next_allowed: Option<DateTime<Utc>>) -> Decision {
    Decision::Refused { reason, next_allowed }
}

fn mexico() -> Debtor {
    Debtor::new("MX", "Ciudad de México", Tz::America__Mexico_City)
}

fn colombia() -> Debtor {
    Debtor::new("CO", "Antioquia", Tz::America__Bogota)
}

fn new_york() -> Debtor {
    Debtor::new("US", "NY", Tz::America__New_York)
}

#[test]
fn call_inside_hours_is_allowed() {
    // Monday 7 December 2026, 10:00 in Mexico City.
    assert_eq!(mexico().decide(DEBT, utc(2026, 12, 7, 16, 0)), Decision::Allowed);
}

#[test]
fn call_after_closing_waits_for_next_opening() {
    // Friday 11 December, 19:30 in Bogotá; Saturday opens at 08:00 (13:00 UTC).
    assert_eq!(
        colombia().decide(DEBT, utc(2026, 12, 12, 0, 30)),
        refused(Refusal::OutsideHours, Some(utc(2026, 12, 12, 13, 0)))
    );
}

#[test]
fn holiday_is_refused_until_next_working_day() {
    // Tuesday 8 December is a Colombian holiday; Wednesday opens at 07:00 (12:00 UTC).
    assert_eq!(
        colombia().decide(DEBT, utc(2026, 12, 8, 15, 0)),
        refused(Refusal::Holiday, Some(utc(2026, 12, 9, 12, 0)))
    );
}

#[test]
fn sunday_is_a_closed_day_in_colombia() {
    assert_eq!(
        colombia().decide(DEBT, utc(2026, 12, 13, 15, 0)),
        refused(Refusal::DayClosed, Some(utc(2026, 12, 14, 12, 0)))
    );
}

#[test]
fn opening_follows_daylight_saving_start() {
    // Sunday 8 March 2026 in New York: clocks go to EDT at 02:00, so 08:00 is 12:00 UTC where
    // it was 13:00 UTC the day before.
    assert_eq!(
        new_york().decide(DEBT, utc(2026, 3, 8, 11, 30)),
        refused(Refusal::OutsideHours, Some(utc(2026, 3, 8, 12, 0)))
    );
    assert_eq!(new_york().decide(DEBT, utc(2026, 3, 8, 12, 0)), Decision::Allowed);
}

#[test]
fn every_candidate_zone_must_allow_the_call() {
    // 09:00 in New York is 06:00 in Los Angeles, where the phone's area code points.
    let mut debtor = new_york();
    debtor.zones.push(Tz::America__Los_Angeles);
    assert_eq!(
        debtor.decide(DEBT, utc(2026, 12, 7, 14, 0)),
        refused(Refusal::OutsideHours, Some(utc(2026, 12, 7, 16, 0)))
    );
    // 20:30 in New York is 17:30 in Los Angeles; at 21:00 New York closes.
    assert_eq!(debtor.decide(DEBT, utc(2026, 12, 8, 1, 30)), Decision::Allowed);
    assert_eq!(
        debtor.decide(DEBT, utc(2026, 12, 8, 2, 0)),
        refused(Refusal::OutsideHours, Some(utc(2026, 12, 8, 16, 0)))
    );
}

#[test]
fn us_cap_of_seven_in_seven_days_per_debt() {
    let mut debtor = new_york();
    for day in 1..=7 {
        debtor = debtor.called(DEBT, utc(2026, 12, day, 15, 0));
    }
    // The eighth call inside the week waits until the first is seven days old.
    assert_eq!(
        debtor.decide(DEBT, utc(2026, 12, 7, 18, 0)),
        refused(Refusal::CapPerDebt, Some(utc(2026, 12, 8, 15, 0)))
    );
    // Another debt of the same debtor has its own count.
    assert_eq!(debtor.decide(OTHER_DEBT, utc(2026, 12, 7, 18, 0)), Decision::Allowed);
}

#[test]
fn massachusetts_cap_is_two_in_seven_days() {
    let debtor = Debtor::new("US", "Massachusetts", Tz::America__New_York)
        .called(DEBT, utc(2026, 12, 1, 15, 0))
        .called(DEBT, utc(2026, 12, 3, 15, 0));
    assert_eq!(
        debtor.decide(DEBT, utc(2026, 12, 4, 15, 0)),
        refused(Refusal::CapPerDebt, Some(utc(2026, 12, 8, 15, 0)))
    );
}

#[test]
fn us_quiet_week_after_a_conversation() {
    let debtor = new_york().talked(DEBT, "voice", utc(2026, 12, 2, 15, 0));
    assert_eq!(
        debtor.decide(DEBT, utc(2026, 12, 4, 15, 0)),
        refused(Refusal::QuietAfterConversation, Some(utc(2026, 12, 9, 15, 0)))
    );
    assert_eq!(debtor.decide(OTHER_DEBT, utc(2026, 12, 4, 15, 0)), Decision::Allowed);
}

#[test]
fn quiet_period_ending_at_night_waits_for_the_morning() {
    // A conversation at 21:30 New York time (the debtor called in) ends its quiet week at the
    // same hour, after the window closes: the next call is the morning after.
    let debtor = new_york().talked(DEBT, "voice", utc(2026, 12, 3, 2, 30));
    assert_eq!(
        debtor.decide(DEBT, utc(2026, 12, 7, 15, 0)),
        refused(Refusal::QuietAfterConversation, Some(utc(2026, 12, 10, 13, 0)))
    );
}

#[test]
fn colombia_allows_one_contact_a_day_per_debtor() {
    let debtor = colombia().called(DEBT, utc(2026, 12, 9, 14, 0));
    assert_eq!(
        debtor.decide(OTHER_DEBT, utc(2026, 12, 9, 20, 0)),
        refused(Refusal::CapPerDebtor, Some(utc(2026, 12, 10, 14, 0)))
    );
}

#[test]
fn colombia_locks_the_channel_for_a_week_after_direct_contact() {
    let debtor = colombia().talked(DEBT, "whatsapp", utc(2026, 12, 9, 14, 0));
    assert_eq!(
        debtor.decide(DEBT, utc(2026, 12, 11, 14, 0)),
        refused(Refusal::ChannelLockedAfterContact, Some(utc(2026, 12, 16, 14, 0)))
    );
    // The channel of the direct contact stays open, once a day.
    assert_eq!(debtor.decide_on("whatsapp", DEBT, utc(2026, 12, 11, 14, 0)), Decision::Allowed);
}

#[test]
fn chile_allows_one_call_a_week_per_debtor() {
    let debtor = Debtor::new("CL", "Región Metropolitana", Tz::America__Santiago).called(DEBT, utc(2026, 12, 7, 14, 0));
    assert_eq!(
        debtor.decide(OTHER_DEBT, utc(2026, 12, 10, 14, 0)),
        refused(Refusal::CapPerDebtor, Some(utc(2026, 12, 14, 14, 0)))
    );
}

#[test]
fn inbound_calls_count_towards_no_cap() {
    let mut debtor = colombia();
    debtor.history.push(contact(DEBT, "voice", utc(2026, 12, 9, 13, 0), true, false));
    assert_eq!(debtor.decide(DEBT, utc(2026, 12, 9, 15, 0)), Decision::Allowed);
}

#[test]
fn standing_refusals_have_no_next_instant() {
    let at = utc(2026, 12, 7, 16, 0);
    let mut debtor = mexico();
    debtor.consent = false;
    assert_eq!(debtor.decide(DEBT, at), refused(Refusal::NoCallConsent, None));

    let mut debtor = mexico();
    debtor.channels = vec!["sms".into()];
    assert_eq!(debtor.decide(DEBT, at), refused(Refusal::ChannelNotAuthorised, None));

    let mut debtor = mexico();
    debtor.opted_out = vec!["voice".into()];
    assert_eq!(debtor.decide(DEBT, at), refused(Refusal::OptedOut, None));
    assert_eq!(debtor.decide_on("sms", DEBT, at), Decision::Allowed);

    let mut debtor = mexico();
    debtor.do_not_call = true;
    assert_eq!(debtor.decide(DEBT, at), refused(Refusal::DoNotCall, None));

    let mut debtor = mexico();
    debtor.disputed = vec![DEBT];
    assert_eq!(debtor.decide(DEBT, at), refused(Refusal::DisputeOpen, None));
    assert_eq!(debtor.decide(OTHER_DEBT, at), Decision::Allowed);
}

#[test]
fn requested_callback_holds_calls_until_its_time() {
    let mut debtor = mexico();
    debtor.callback_at = Some(utc(2026, 12, 8, 22, 0));
    assert_eq!(
        debtor.decide(DEBT, utc(2026, 12, 7, 16, 0)),
        refused(Refusal::CallbackScheduled, Some(utc(2026, 12, 8, 22, 0)))
    );
    assert_eq!(debtor.decide(DEBT, utc(2026, 12, 8, 22, 0)), Decision::Allowed);
}

#[test]
fn refusal_codes_round_trip() {
    for refusal in Refusal::ALL {
        assert_eq!(Refusal::from_code(refusal.code()), Some(refusal));
    }
    assert_eq!(Refusal::from_code("because"), None);
}

#[test]
fn history_needed_covers_the_longest_rule() {
    let policy = ContactPolicy::embedded().unwrap();
    assert_eq!(policy.history_needed(), Duration::days(7));
}
