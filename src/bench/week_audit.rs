//! The audit of a simulated week: checks the carrier's own call log against the jurisdiction
//! rules as data (windows, holidays, caps, quiet periods) and against what debtors said during
//! their calls (opt-outs, disputes, callbacks). It shares no code with the decision engine in
//! `crate::policy::decision`, so a bug there cannot hide here.

use std::fmt;

use chrono::{DateTime, Datelike, Duration, NaiveDateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::policy::{ContactCap, ContactPolicy, ContactRules};

/// A debtor as the simulation invented them.
#[derive(Debug, Clone)]
pub struct AuditDebtor {
    pub country: String,
    pub region: String,
    /// Every zone the debtor may be in.
    pub zones: Vec<Tz>,
    pub consent: bool,
    pub on_do_not_call_list: bool,
}

/// One call the carrier received.
#[derive(Debug, Clone)]
pub struct DialledCall {
    /// Index into the debtors.
    pub debtor: usize,
    pub debt_ref: String,
    pub at: DateTime<Utc>,
}

/// Something a debtor said during a call that limits later calls.
#[derive(Debug, Clone)]
pub enum AuditEvent {
    /// The debtor's identity was verified and the debt discussed.
    Conversation {
        debtor: usize,
        debt_ref: String,
        at: DateTime<Utc>,
    },
    /// The debtor asked to be called back at `until`, not before.
    Callback {
        debtor: usize,
        at: DateTime<Utc>,
        until: DateTime<Utc>,
    },
    Dispute {
        debtor: usize,
        debt_ref: String,
        at: DateTime<Utc>,
    },
    OptOut {
        debtor: usize,
        at: DateTime<Utc>,
    },
}

/// A call the rules did not allow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    pub debtor: usize,
    pub at: DateTime<Utc>,
    pub rule: &'static str,
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "debtor #{} at {}: {} ({})",
            self.debtor,
            self.at.format("%Y-%m-%d %H:%M UTC"),
            self.rule,
            self.detail
        )
    }
}

/// Returns every violation in the log, in log order.
pub fn audit(
    policy: &ContactPolicy,
    debtors: &[AuditDebtor],
    calls: &[DialledCall],
    events: &[AuditEvent],
) -> Vec<Violation> {
    let mut violations = Vec::new();
    for call in calls {
        let debtor = &debtors[call.debtor];
        let mut flag = |rule: &'static str, detail: String| {
            violations.push(Violation { debtor: call.debtor, at: call.at, rule, detail });
        };
        let Some(rules) = policy.rules_for(&debtor.country, &debtor.region) else {
            flag("no_rules", format!("no rules for {}", debtor.country));
            continue;
        };
        if !debtor.consent {
            flag("no_call_consent", "the portfolio gives no consent to calls".into());
        }
        if debtor.on_do_not_call_list {
            flag("do_not_call", "the number is on the do-not-call list".into());
        }
        for zone in &debtor.zones {
            let local = call.at.with_timezone(zone).naive_local();
            if !inside_window(rules, local) {
                flag("outside_hours", format!("{} in {}", local.format("%a %Y-%m-%d %H:%M"), zone.name()));
            }
        }

        let same_debtor = |other: &&DialledCall| other.debtor == call.debtor && other.at <= call.at;
        for cap in &rules.caps_per_debt {
            let count = calls
                .iter()
                .filter(same_debtor)
                .filter(|other| other.debt_ref == call.debt_ref && within(cap, other.at, call.at))
                .count();
            if count > cap.attempts as usize {
                flag("cap_per_debt", format!("{count} calls about {} in {} days", call.debt_ref, cap.days));
            }
        }
        for cap in &rules.caps_per_debtor {
            let count = calls.iter().filter(same_debtor).filter(|other| within(cap, other.at, call.at)).count();
            if count > cap.attempts as usize {
                flag("cap_per_debtor", format!("{count} calls in {} days", cap.days));
            }
        }

        for event in events {
            match event {
                AuditEvent::Conversation { debtor, debt_ref, at }
                    if *debtor == call.debtor && *debt_ref == call.debt_ref =>
                {
                    if let Some(days) = rules.quiet_days_after_conversation {
                        if *at < call.at && call.at < *at + Duration::days(i64::from(days)) {
                            flag("quiet_after_conversation", format!("conversation at {at}"));
                        }
                    }
                }
                AuditEvent::Callback { debtor, at, until } if *debtor == call.debtor => {
                    if *at < call.at && call.at < *until {
                        flag("before_callback", format!("callback asked for {until}"));
                    }
                }
                AuditEvent::Dispute { debtor, debt_ref, at }
                    if *debtor == call.debtor && *debt_ref == call.debt_ref =>
                {
                    if *at < call.at {
                        flag("dispute_open", format!("disputed at {at}"));
                    }
                }
                AuditEvent::OptOut { debtor, at } if *debtor == call.debtor => {
                    if *at < call.at {
                        flag("opted_out", format!("opted out at {at}"));
                    }
                }
                _ => {}
            }
        }
    }
    violations
}

/// Tells whether `earlier` counts towards a cap on a call at `at`: within the cap's period,
/// which excludes its start.
fn within(cap: &ContactCap, earlier: DateTime<Utc>, at: DateTime<Utc>) -> bool {
    earlier > at - Duration::days(i64::from(cap.days)) && earlier <= at
}

/// Reads the weekday windows and holidays as listed, and checks the local time against them.
fn inside_window(rules: &ContactRules, local: NaiveDateTime) -> bool {
    let hours = &rules.calling_hours;
    if hours.holidays().any(|holiday| holiday == local.date()) {
        return false;
    }
    hours
        .weekly_windows()
        .any(|(weekday, opens, closes)| weekday == local.weekday() && local.time() >= opens && local.time() < closes)
}
