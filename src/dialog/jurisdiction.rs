//! The rules of the debtor's country, from `config/jurisdictions/<CC>.toml`: which disclosures
//! the bot makes, when it may call (the dialog places callbacks inside those hours; the dialer
//! will read the same data), contact caps, and the limited-content voicemail message.
//!
//! The calling hours, caps and regional rules are parsed by [`crate::policy::jurisdiction`].
//! This module reads the disclosures and the voicemail message. All times are the debtor's
//! local time.

use std::path::Path;

use serde::Deserialize;

pub use crate::policy::calling_hours::{CallingHours, Placed};
use crate::policy::jurisdiction::{embedded_file, JurisdictionRules};
pub use crate::policy::jurisdiction::{JurisdictionError, COUNTRIES};

/// One country's rules, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jurisdiction {
    pub country: String,
    pub disclosures: Disclosures,
    /// Calling hours and caps, for the country and its regions.
    pub contact: JurisdictionRules,
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

/// The sections of a jurisdiction file that the dialog reads. The contact policy's sections
/// are accepted here unread and validated by [`JurisdictionRules::parse`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JurisdictionFile {
    country: String,
    disclosures: Disclosures,
    voicemail: Voicemail,
    #[serde(rename = "calling_hours")]
    _calling_hours: toml::Value,
    #[serde(default, rename = "holidays")]
    _holidays: Option<toml::Value>,
    #[serde(default, rename = "contact_caps")]
    _contact_caps: Option<toml::Value>,
    #[serde(default, rename = "regions")]
    _regions: Option<toml::Value>,
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
        let contact = JurisdictionRules::parse(file, text)?;
        let raw: JurisdictionFile = toml::from_str(text)
            .map_err(|error| JurisdictionError::Toml { file: file.to_string(), message: error.to_string() })?;
        let invalid = |message: String| JurisdictionError::Invalid { file: file.to_string(), message };

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
            contact,
            voicemail: raw.voicemail,
        })
    }

    /// Returns the calling hours for a debtor in `region` (a portfolio's `region` value): the
    /// region's where it has rules of its own, else the country's.
    pub fn calling_hours(&self, region: &str) -> &CallingHours {
        &self.contact.rules_for(region).calling_hours
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, NaiveDateTime};

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
        let hours = Jurisdiction::embedded("CO").unwrap().calling_hours("Antioquia").clone();
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
        let hours = Jurisdiction::embedded("CO").unwrap().calling_hours("Antioquia").clone();
        let placed = hours.place(at(12, 2, 20, 0), at(12, 2, 9, 0)).unwrap();
        assert_eq!(placed, Placed { at: at(12, 2, 18, 0), moved: true });
    }

    #[test]
    fn early_morning_moves_to_opening() {
        let hours = Jurisdiction::embedded("CO").unwrap().calling_hours("Antioquia").clone();
        let placed = hours.place(at(12, 3, 5, 0), at(12, 2, 9, 0)).unwrap();
        assert_eq!(placed, Placed { at: at(12, 3, 7, 0), moved: true });
    }

    #[test]
    fn sunday_moves_to_nearest_open_day() {
        let hours = Jurisdiction::embedded("CO").unwrap().calling_hours("Antioquia").clone();
        // Sunday 10:00 is 20 hours after Saturday's last hour and 21 before Monday's opening.
        let placed = hours.place(at(12, 6, 10, 0), at(12, 2, 9, 0)).unwrap();
        assert_eq!(placed, Placed { at: at(12, 5, 14, 0), moved: true });
    }

    #[test]
    fn moved_time_never_before_now() {
        let hours = Jurisdiction::embedded("CO").unwrap().calling_hours("Antioquia").clone();
        let placed = hours.place(at(12, 2, 20, 0), at(12, 2, 19, 30)).unwrap();
        assert_eq!(placed, Placed { at: at(12, 3, 7, 0), moved: true });
    }

    #[test]
    fn callback_hours_follow_region() {
        let brazil = Jurisdiction::embedded("BR").unwrap();
        // Saturday 5 December 2026 at 10:00: Rio de Janeiro allows no Saturday calls.
        assert!(!brazil.calling_hours("Rio de Janeiro").allows(at(12, 5, 10, 0)));
        assert!(brazil.calling_hours("Minas Gerais").allows(at(12, 5, 10, 0)));
    }

    #[test]
    fn allowed_time_is_kept() {
        let hours = Jurisdiction::embedded("US").unwrap().calling_hours("NY").clone();
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
