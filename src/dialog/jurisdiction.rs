//! The rules of the debtor's country, from `config/jurisdictions/<CC>.toml`: which disclosures
//! the bot makes, when it may call (the dialog places callbacks inside those hours; the dialer
//! will read the same data), contact caps, and the limited-content voicemail message.
//!
//! All times are the debtor's local time.

use std::collections::BTreeSet;
use std::path::Path;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Weekday};
use serde::Deserialize;

/// The countries with a compiled-in file, by ISO 3166-1 alpha-2 code.
pub const COUNTRIES: [&str; 7] = ["MX", "CO", "PE", "CL", "AR", "US", "BR"];

fn embedded_file(country: &str) -> Option<&'static str> {
    let text = match country {
        "MX" => include_str!("../../config/jurisdictions/MX.toml"),
        "CO" => include_str!("../../config/jurisdictions/CO.toml"),
        "PE" => include_str!("../../config/jurisdictions/PE.toml"),
        "CL" => include_str!("../../config/jurisdictions/CL.toml"),
        "AR" => include_str!("../../config/jurisdictions/AR.toml"),
        "US" => include_str!("../../config/jurisdictions/US.toml"),
        "BR" => include_str!("../../config/jurisdictions/BR.toml"),
        _ => return None,
    };
    Some(text)
}

/// One country's rules, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jurisdiction {
    pub country: String,
    pub disclosures: Disclosures,
    pub calling_hours: CallingHours,
    pub contact_caps: ContactCaps,
    pub voicemail: Voicemail,
}

/// What the bot must say, or must not ask, in this country.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Disclosures {
    /// Say that the caller is a debt collector and that information obtained will be used to
    /// collect the debt, right after verification (the US "mini-Miranda").
    pub debt_collector_notice: bool,
    /// Tell the debtor that payments go only to the creditor, never to the agency (Mexico).
    pub payments_only_to_creditor: bool,
    /// Whether the bot may ask why the debtor has not paid. Colombia forbids it; the machine
    /// has no such question anywhere, and tests keep it so.
    pub may_ask_reason_for_default: bool,
}

/// Contact limits for the dialer, per debtor unless the name says otherwise. Absent means the
/// law sets no number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactCaps {
    pub attempts_per_day: Option<u32>,
    /// Over any 7 consecutive days.
    pub attempts_per_week: Option<u32>,
    /// Over any 7 consecutive days, counted per debt.
    pub attempts_per_week_per_debt: Option<u32>,
    /// Channels that may be used in one week once a conversation took place.
    pub channels_per_week_after_contact: Option<u32>,
    /// Days without calls about a debt after a conversation about it.
    pub quiet_days_after_conversation: Option<u32>,
}

/// The voicemail message, which names no debt: a business name that does not reveal
/// collection, a person to ask for and a number to call back.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Voicemail {
    pub leave_message: bool,
    pub business_name: String,
    pub person_name: String,
    pub callback_number: String,
}

/// The hours each weekday in which calls are allowed, and the days with none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallingHours {
    /// Monday first; `None` is a day without calls.
    windows: [Option<(NaiveTime, NaiveTime)>; 7],
    holidays: BTreeSet<NaiveDate>,
}

/// A callback time placed inside the calling hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placed {
    pub at: NaiveDateTime,
    /// The requested time was outside the allowed hours and was moved.
    pub moved: bool,
}

impl CallingHours {
    /// Tells whether a call may be placed at this local time.
    pub fn allows(&self, at: NaiveDateTime) -> bool {
        match self.window(at.date()) {
            Some((start, end)) => at.time() >= start && at.time() < end,
            None => false,
        }
    }

    /// Tells whether calls may be placed at some time of this local day: not a holiday nor a
    /// weekday without hours.
    pub fn allows_day(&self, day: NaiveDate) -> bool {
        self.window(day).is_some()
    }

    fn window(&self, day: NaiveDate) -> Option<(NaiveTime, NaiveTime)> {
        if self.holidays.contains(&day) {
            return None;
        }
        self.windows[day.weekday().num_days_from_monday() as usize]
    }

    /// Returns the allowed time nearest to `requested` that is not before `not_before`: the
    /// request itself when allowed, else the closest window opening, or the last hour of a window
    /// before it. Ties go to the later time. `None` when no day of the next year allows calls.
    pub fn place(&self, requested: NaiveDateTime, not_before: NaiveDateTime) -> Option<Placed> {
        if requested >= not_before && self.allows(requested) {
            return Some(Placed { at: requested, moved: false });
        }
        let earliest = requested.max(not_before);
        let later = self.next_allowed(earliest);
        let earlier = self.previous_allowed(requested).filter(|at| *at >= not_before);
        let best = match (earlier, later) {
            (Some(earlier), Some(later)) => {
                if requested - earlier < later - requested {
                    earlier
                } else {
                    later
                }
            }
            (Some(one), None) | (None, Some(one)) => one,
            (None, None) => return None,
        };
        Some(Placed { at: best, moved: true })
    }

    /// Returns the first allowed minute at or after `from`.
    fn next_allowed(&self, from: NaiveDateTime) -> Option<NaiveDateTime> {
        (0..=366).find_map(|offset| {
            let day = from.date() + Duration::days(offset);
            let (start, end) = self.window(day)?;
            let at = if offset == 0 { from.time().max(start) } else { start };
            (at < end).then(|| day.and_time(at))
        })
    }

    /// Returns the latest time before `until` that leaves an hour before a window closes (or
    /// the window's start, when it is shorter), within the same or earlier days.
    fn previous_allowed(&self, until: NaiveDateTime) -> Option<NaiveDateTime> {
        (0..=366).find_map(|offset| {
            let day = until.date() - Duration::days(offset);
            let (start, end) = self.window(day)?;
            let last = (end - Duration::hours(1)).max(start);
            let at = if offset == 0 { until.time().min(last) } else { last };
            (offset > 0 || at < until.time()).then(|| day.and_time(at))
        })
    }
}

/// An invalid jurisdiction file.
#[derive(Debug, thiserror::Error)]
pub enum JurisdictionError {
    #[error("no jurisdiction file for country '{country}'; the known countries are {known}")]
    UnknownCountry { country: String, known: String },
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{file}: invalid TOML: {message}")]
    Toml { file: String, message: String },
    #[error("{file}: {message}")]
    Invalid { file: String, message: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JurisdictionFile {
    country: String,
    disclosures: Disclosures,
    calling_hours: HoursFile,
    #[serde(default)]
    holidays: Vec<NaiveDate>,
    #[serde(default)]
    contact_caps: ContactCaps,
    voicemail: Voicemail,
}

/// Each weekday: `["08:00", "21:00"]`, or `[]` for no calls.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HoursFile {
    monday: Vec<String>,
    tuesday: Vec<String>,
    wednesday: Vec<String>,
    thursday: Vec<String>,
    friday: Vec<String>,
    saturday: Vec<String>,
    sunday: Vec<String>,
}

impl Jurisdiction {
    /// Returns the compiled-in rules of a country (`MX`, `co`).
    pub fn embedded(country: &str) -> Result<Jurisdiction, JurisdictionError> {
        let code = country.trim().to_ascii_uppercase();
        let text = embedded_file(&code).ok_or_else(|| JurisdictionError::UnknownCountry {
            country: country.to_string(),
            known: COUNTRIES.join(", "),
        })?;
        Jurisdiction::parse(&format!("config/jurisdictions/{code}.toml (embedded)"), text)
    }

    /// Reads `<dir>/<CC>.toml`.
    pub fn load(dir: &Path, country: &str) -> Result<Jurisdiction, JurisdictionError> {
        let path = dir.join(format!("{}.toml", country.trim().to_ascii_uppercase()));
        let shown = path.display().to_string();
        let text =
            std::fs::read_to_string(&path).map_err(|source| JurisdictionError::Read { path: shown.clone(), source })?;
        Jurisdiction::parse(&shown, &text)
    }

    /// Parses and validates the text of a jurisdiction file; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Jurisdiction, JurisdictionError> {
        let raw: JurisdictionFile = toml::from_str(text)
            .map_err(|error| JurisdictionError::Toml { file: file.to_string(), message: error.to_string() })?;
        let invalid = |message: String| JurisdictionError::Invalid { file: file.to_string(), message };

        let days = [
            (Weekday::Mon, &raw.calling_hours.monday),
            (Weekday::Tue, &raw.calling_hours.tuesday),
            (Weekday::Wed, &raw.calling_hours.wednesday),
            (Weekday::Thu, &raw.calling_hours.thursday),
            (Weekday::Fri, &raw.calling_hours.friday),
            (Weekday::Sat, &raw.calling_hours.saturday),
            (Weekday::Sun, &raw.calling_hours.sunday),
        ];
        let mut windows = [None; 7];
        for (weekday, hours) in days {
            windows[weekday.num_days_from_monday() as usize] = parse_window(hours)
                .map_err(|message| invalid(format!("calling_hours.{}: {message}", weekday_name(weekday))))?;
        }
        if windows.iter().all(Option::is_none) {
            return Err(invalid("calling_hours allows no day at all".to_string()));
        }
        let voicemail = &raw.voicemail;
        if [&voicemail.business_name, &voicemail.person_name, &voicemail.callback_number]
            .iter()
            .any(|v| v.trim().is_empty())
        {
            return Err(invalid("voicemail needs business_name, person_name and callback_number".to_string()));
        }
        Ok(Jurisdiction {
            country: raw.country.to_ascii_uppercase(),
            disclosures: raw.disclosures,
            calling_hours: CallingHours { windows, holidays: raw.holidays.into_iter().collect() },
            contact_caps: raw.contact_caps,
            voicemail: raw.voicemail,
        })
    }
}

fn parse_window(hours: &[String]) -> Result<Option<(NaiveTime, NaiveTime)>, String> {
    match hours {
        [] => Ok(None),
        [start, end] => {
            let parse = |text: &str| {
                NaiveTime::parse_from_str(text, "%H:%M")
                    .map_err(|_| format!("'{text}' is not a time such as \"08:00\""))
            };
            let (start, end) = (parse(start)?, parse(end)?);
            if start >= end {
                return Err(format!("the window starts at {start} but ends at {end}; write [\"08:00\", \"21:00\"]"));
            }
            Ok(Some((start, end)))
        }
        _ => Err("write a start and an end, e.g. [\"08:00\", \"21:00\"], or [] for no calls".to_string()),
    }
}

fn weekday_name(weekday: Weekday) -> &'static str {
    match weekday {
        Weekday::Mon => "monday",
        Weekday::Tue => "tuesday",
        Weekday::Wed => "wednesday",
        Weekday::Thu => "thursday",
        Weekday::Fri => "friday",
        Weekday::Sat => "saturday",
        Weekday::Sun => "sunday",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(month: u32, day: u32, hour: u32, minute: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, month, day).unwrap().and_hms_opt(hour, minute, 0).unwrap()
    }

    #[test]
    fn every_country_file_loads() {
        for country in COUNTRIES {
            let jurisdiction = Jurisdiction::embedded(country).unwrap_or_else(|e| panic!("{country}: {e}"));
            assert_eq!(jurisdiction.country, country);
        }
    }

    #[test]
    fn only_us_has_debt_collector_notice() {
        for country in COUNTRIES {
            let notice = Jurisdiction::embedded(country).unwrap().disclosures.debt_collector_notice;
            assert_eq!(notice, country == "US", "{country}");
        }
    }

    #[test]
    fn colombia_forbids_asking_why() {
        assert!(!Jurisdiction::embedded("CO").unwrap().disclosures.may_ask_reason_for_default);
    }

    #[test]
    fn mexico_says_payments_go_to_creditor() {
        assert!(Jurisdiction::embedded("MX").unwrap().disclosures.payments_only_to_creditor);
    }

    #[test]
    fn colombia_hours() {
        let hours = Jurisdiction::embedded("CO").unwrap().calling_hours;
        // Wednesday 2 December 2026.
        assert!(hours.allows(at(12, 2, 7, 0)));
        assert!(!hours.allows(at(12, 2, 19, 0)));
        assert!(hours.allows(at(12, 5, 14, 59)));
        assert!(!hours.allows(at(12, 5, 15, 0)));
        assert!(!hours.allows(at(12, 6, 10, 0)), "Sunday");
        assert!(!hours.allows(at(12, 8, 10, 0)), "Immaculate Conception holiday");
    }

    #[test]
    fn late_evening_moves_to_closing_time() {
        let hours = Jurisdiction::embedded("CO").unwrap().calling_hours;
        let placed = hours.place(at(12, 2, 20, 0), at(12, 2, 9, 0)).unwrap();
        assert_eq!(placed, Placed { at: at(12, 2, 18, 0), moved: true });
    }

    #[test]
    fn early_morning_moves_to_opening() {
        let hours = Jurisdiction::embedded("CO").unwrap().calling_hours;
        let placed = hours.place(at(12, 3, 5, 0), at(12, 2, 9, 0)).unwrap();
        assert_eq!(placed, Placed { at: at(12, 3, 7, 0), moved: true });
    }

    #[test]
    fn sunday_moves_to_nearest_open_day() {
        let hours = Jurisdiction::embedded("CO").unwrap().calling_hours;
        // Sunday 10:00 is 20 hours after Saturday's last hour and 21 before Monday's opening.
        let placed = hours.place(at(12, 6, 10, 0), at(12, 2, 9, 0)).unwrap();
        assert_eq!(placed, Placed { at: at(12, 5, 14, 0), moved: true });
    }

    #[test]
    fn moved_time_never_before_now() {
        let hours = Jurisdiction::embedded("CO").unwrap().calling_hours;
        let placed = hours.place(at(12, 2, 20, 0), at(12, 2, 19, 30)).unwrap();
        assert_eq!(placed, Placed { at: at(12, 3, 7, 0), moved: true });
    }

    #[test]
    fn allowed_time_is_kept() {
        let hours = Jurisdiction::embedded("US").unwrap().calling_hours;
        let placed = hours.place(at(12, 6, 10, 0), at(12, 2, 9, 0)).unwrap();
        assert_eq!(placed, Placed { at: at(12, 6, 10, 0), moved: false });
    }

    #[test]
    fn reversed_window_rejected() {
        let text = include_str!("../../config/jurisdictions/PE.toml")
            .replace("monday = [\"07:00\", \"20:00\"]", "monday = [\"20:00\", \"07:00\"]");
        let error = Jurisdiction::parse("PE.toml", &text).unwrap_err();
        assert_eq!(
            error.to_string(),
            "PE.toml: calling_hours.monday: the window starts at 20:00:00 but ends at 07:00:00; write [\"08:00\", \"21:00\"]"
        );
    }

    #[test]
    fn unknown_country_lists_known() {
        let error = Jurisdiction::embedded("XX").unwrap_err();
        assert_eq!(
            error.to_string(),
            "no jurisdiction file for country 'XX'; the known countries are MX, CO, PE, CL, AR, US, BR"
        );
    }
}
