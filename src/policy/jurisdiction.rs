//! Contact rules per jurisdiction, read from `config/jurisdictions/<CC>.toml`: the calling window
//! of each weekday in the debtor's local time, holidays, frequency caps per debt, and regional
//! rules (US states, Brazilian states, Buenos Aires City) that narrow the country's.
//!
//! The seven files are compiled in. [`ContactPolicy::load`] reads a directory whose files, named
//! the same way, replace the compiled-in ones. A jurisdiction file also contains the dialog's
//! disclosures and voicemail message, which `crate::dialog::jurisdiction` reads.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Tz;
use serde::Deserialize;

use super::calling_hours::{CallingHours, HoursFile};

/// The countries with a compiled-in file, by ISO 3166-1 alpha-2 code.
pub const COUNTRIES: [&str; 7] = ["MX", "CO", "PE", "CL", "AR", "US", "BR"];

/// Maximum cap period a file may set, in days.
const MAX_CAP_DAYS: u32 = 366;

/// Returns the compiled-in text of a country's file.
pub fn embedded_file(country: &str) -> Option<&'static str> {
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

/// At most `attempts` outbound calls about one debt in any `days` consecutive days, where a day
/// is 24 hours, so the period is the same length across daylight-saving changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ContactCap {
    pub attempts: u32,
    pub days: u32,
}

impl ContactCap {
    /// Returns the rolling period the cap counts over.
    pub fn period(&self) -> Duration {
        Duration::hours(self.period_hours())
    }

    /// Returns the rolling period in hours.
    pub fn period_hours(&self) -> i64 {
        i64::from(self.days) * 24
    }
}

/// The rules for one debtor: the calling window and the caps, after any regional rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactRules {
    pub calling_hours: CallingHours,
    /// Caps on outbound calls per debt. Every cap must hold.
    pub caps_per_debt: Vec<ContactCap>,
    /// Caps on outbound contacts with one debtor over all their debts, for laws that count
    /// contacts per consumer. The dialer enforces them; the compliance counters count only
    /// `caps_per_debt`.
    pub caps_per_debtor: Vec<ContactCap>,
    /// Channels that may be used in the week after a direct contact (a conversation).
    pub channels_per_week_after_contact: Option<u32>,
    /// Days without calls about a debt after a conversation about it.
    pub quiet_days_after_conversation: Option<u32>,
}

impl ContactRules {
    /// Returns the rules that satisfy both `self` and `narrower`: the windows intersected, the
    /// holidays and caps of both, and the smaller of each limit.
    fn narrowed_by(&self, narrower: RegionOverrides) -> ContactRules {
        let calling_hours = match &narrower.calling_hours {
            Some(hours) => self.calling_hours.intersect(hours),
            None => self.calling_hours.clone(),
        };
        ContactRules {
            calling_hours,
            caps_per_debt: combined_caps(&self.caps_per_debt, narrower.caps_per_debt),
            caps_per_debtor: combined_caps(&self.caps_per_debtor, narrower.caps_per_debtor),
            channels_per_week_after_contact: smaller(
                self.channels_per_week_after_contact,
                narrower.channels_per_week_after_contact,
            ),
            quiet_days_after_conversation: larger(
                self.quiet_days_after_conversation,
                narrower.quiet_days_after_conversation,
            ),
        }
    }
}

fn combined_caps(country: &[ContactCap], region: Vec<ContactCap>) -> Vec<ContactCap> {
    let mut caps = country.to_vec();
    caps.extend(region);
    caps.sort();
    caps.dedup();
    caps
}

fn smaller(a: Option<u32>, b: Option<u32>) -> Option<u32> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (one, None) | (None, one) => one,
    }
}

fn larger(a: Option<u32>, b: Option<u32>) -> Option<u32> {
    a.max(b)
}

/// Tells whether `rules` allow a call at the debtor's local time `local`.
pub fn window_allows(rules: &ContactRules, local: NaiveDateTime) -> bool {
    rules.calling_hours.allows(local)
}

/// Returns the first instant at or after `from` when `rules` allow a call to a debtor in `zone`,
/// or `None` when no day of the next year allows one. See [`CallingHours::next_open`].
pub fn next_open(rules: &ContactRules, from: DateTime<Utc>, zone: Tz) -> Option<DateTime<Utc>> {
    rules.calling_hours.next_open(from, zone)
}

/// A state, department or city with rules of its own, already combined with its country's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    /// The key under `regions` in the file, e.g. `MA` or `SP`.
    pub code: String,
    /// Other spellings of the region in a portfolio's `region` column, e.g. `São Paulo`.
    pub names: Vec<String>,
    pub rules: ContactRules,
}

impl Region {
    fn matches(&self, folded_region: &str) -> bool {
        fold_name(&self.code) == folded_region || self.names.iter().any(|name| fold_name(name) == folded_region)
    }
}

/// One country's contact rules and its regions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JurisdictionRules {
    pub country: String,
    /// The rules for debtors in no listed region.
    pub rules: ContactRules,
    pub regions: Vec<Region>,
}

impl JurisdictionRules {
    /// Returns the region a portfolio's `region` value names, ignoring case, accents and
    /// repeated spaces.
    pub fn region(&self, region: &str) -> Option<&Region> {
        let folded = fold_name(region);
        self.regions.iter().find(|candidate| candidate.matches(&folded))
    }

    /// Returns the rules for a debtor in `region`: the region's when it is listed, else the
    /// country's.
    pub fn rules_for(&self, region: &str) -> &ContactRules {
        self.region(region).map_or(&self.rules, |region| &region.rules)
    }

    /// Parses and validates the contact rules of a jurisdiction file. `file` names it in errors.
    /// The file's other sections are left to the dialog.
    pub fn parse(file: &str, text: &str) -> Result<JurisdictionRules, JurisdictionError> {
        let raw: PolicyFile = toml::from_str(text)
            .map_err(|error| JurisdictionError::Toml { file: file.to_string(), message: error.to_string() })?;
        let invalid = |message: String| JurisdictionError::Invalid { file: file.to_string(), message };

        let windows = raw.calling_hours.windows().map_err(|message| invalid(format!("calling_hours.{message}")))?;
        let calling_hours = CallingHours::new(windows, raw.holidays);
        if !calling_hours.has_any_window() {
            return Err(invalid("calling_hours allows no day at all".to_string()));
        }
        let country_caps = raw.contact_caps.validate("contact_caps").map_err(invalid)?;
        let rules = ContactRules {
            calling_hours,
            caps_per_debt: country_caps.caps_per_debt,
            caps_per_debtor: country_caps.caps_per_debtor,
            channels_per_week_after_contact: country_caps.channels_per_week_after_contact,
            quiet_days_after_conversation: country_caps.quiet_days_after_conversation,
        };

        let mut regions: Vec<Region> = Vec::with_capacity(raw.regions.len());
        for (code, region) in raw.regions {
            let key = format!("regions.{code}");
            if code.trim().is_empty() {
                return Err(invalid(
                    "regions: a region code is empty; use the state's code, e.g. [regions.SP]".to_string(),
                ));
            }
            let overrides = region.validate(&key).map_err(invalid)?;
            let combined = rules.narrowed_by(overrides);
            if !combined.calling_hours.has_any_window() {
                return Err(invalid(format!(
                    "{key}.calling_hours shares no hour with calling_hours; a region may only narrow its country's hours"
                )));
            }
            let candidate = Region { code, names: region.names, rules: combined };
            for spelling in std::iter::once(&candidate.code).chain(&candidate.names) {
                if let Some(other) = regions.iter().find(|other| other.matches(&fold_name(spelling))) {
                    return Err(invalid(format!(
                        "{key}: the name '{spelling}' also names regions.{}; give each name to one region",
                        other.code
                    )));
                }
            }
            regions.push(candidate);
        }

        Ok(JurisdictionRules { country: raw.country.trim().to_ascii_uppercase(), rules, regions })
    }
}

/// One set of rules that some debtors get, as [`ContactPolicy::rule_sets`] lists them.
#[derive(Debug, Clone, Copy)]
pub struct RuleSet<'a> {
    pub country: &'a str,
    /// The region code, or `None` for the country's own rules.
    pub region: Option<&'a str>,
    pub rules: &'a ContactRules,
}

/// The contact rules of every country cobranza collects in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactPolicy {
    /// In the order of [`COUNTRIES`].
    countries: Vec<JurisdictionRules>,
}

impl ContactPolicy {
    /// Returns the compiled-in rules.
    pub fn embedded() -> Result<ContactPolicy, JurisdictionError> {
        ContactPolicy::load(None)
    }

    /// Reads the rules, taking `<dir>/<CC>.toml` where that file exists and the compiled-in file
    /// elsewhere. Any other `.toml` file in `dir` is an error, so a misspelt name is not ignored.
    pub fn load(dir: Option<&Path>) -> Result<ContactPolicy, JurisdictionError> {
        if let Some(dir) = dir {
            reject_unknown_files(dir)?;
        }
        let mut countries = Vec::with_capacity(COUNTRIES.len());
        for code in COUNTRIES {
            let override_path = dir.map(|dir| dir.join(format!("{code}.toml"))).filter(|path| path.is_file());
            let (location, text) = match override_path {
                Some(path) => {
                    let location = path.display().to_string();
                    let text = std::fs::read_to_string(&path)
                        .map_err(|source| JurisdictionError::Read { path: location.clone(), source })?;
                    (location, text)
                }
                None => {
                    let text = embedded_file(code).expect("every listed country has a compiled-in file");
                    (embedded_name(code), text.to_string())
                }
            };
            let rules = JurisdictionRules::parse(&location, &text)?;
            if rules.country != code {
                return Err(JurisdictionError::Invalid {
                    file: location,
                    message: format!("country is '{}' but the file is named for {code}", rules.country),
                });
            }
            countries.push(rules);
        }
        Ok(ContactPolicy { countries })
    }

    /// Returns a country's rules by ISO code, in any case.
    pub fn country(&self, country: &str) -> Option<&JurisdictionRules> {
        let code = country.trim().to_ascii_uppercase();
        self.countries.iter().find(|rules| rules.country == code)
    }

    /// Returns the rules for a debtor in `country` and `region`, or `None` for a country
    /// without rules.
    pub fn rules_for(&self, country: &str, region: &str) -> Option<&ContactRules> {
        self.country(country).map(|rules| rules.rules_for(region))
    }

    /// Lists every distinct set of rules: each country's own, then each of its regions'. The
    /// position in the list is the index [`ContactPolicy::rule_set_index`] returns.
    pub fn rule_sets(&self) -> Vec<RuleSet<'_>> {
        let mut sets = Vec::new();
        for country in &self.countries {
            sets.push(RuleSet { country: &country.country, region: None, rules: &country.rules });
            for region in &country.regions {
                sets.push(RuleSet { country: &country.country, region: Some(&region.code), rules: &region.rules });
            }
        }
        sets
    }

    /// Returns the position in [`ContactPolicy::rule_sets`] of the rules for a debtor in
    /// `country` and `region`, or `None` for a country without rules.
    pub fn rule_set_index(&self, country: &str, region: &str) -> Option<usize> {
        let code = country.trim().to_ascii_uppercase();
        let mut index = 0;
        for rules in &self.countries {
            if rules.country == code {
                let folded = fold_name(region);
                let offset = rules.regions.iter().position(|candidate| candidate.matches(&folded)).map_or(0, |i| i + 1);
                return Some(index + offset);
            }
            index += 1 + rules.regions.len();
        }
        None
    }

    /// Returns the longest period any cap per debt counts over, or zero without caps. Counting a
    /// cap at some instant needs the attempts this far back.
    pub fn longest_cap_period(&self) -> Duration {
        self.rule_sets()
            .iter()
            .flat_map(|set| set.rules.caps_per_debt.iter())
            .map(ContactCap::period)
            .max()
            .unwrap_or_else(Duration::zero)
    }

    /// Returns how far back a contact decision needs the debtor's contacts: the longest cap
    /// period, quiet period or week of any rule set.
    pub fn history_needed(&self) -> Duration {
        let mut needed = Duration::days(7);
        for set in self.rule_sets() {
            let rules = set.rules;
            for cap in rules.caps_per_debt.iter().chain(&rules.caps_per_debtor) {
                needed = needed.max(cap.period());
            }
            if let Some(days) = rules.quiet_days_after_conversation {
                needed = needed.max(Duration::days(i64::from(days)));
            }
        }
        needed
    }
}

fn embedded_name(code: &str) -> String {
    format!("config/jurisdictions/{code}.toml (embedded)")
}

fn reject_unknown_files(dir: &Path) -> Result<(), JurisdictionError> {
    let location = dir.display().to_string();
    let read_failed = |source| JurisdictionError::Read { path: location.clone(), source };
    for entry in std::fs::read_dir(dir).map_err(read_failed)? {
        let entry = entry.map_err(read_failed)?;
        let path = entry.path();
        let is_toml = path.extension().is_some_and(|extension| extension == "toml");
        let stem = path.file_stem().and_then(|stem| stem.to_str()).unwrap_or_default();
        if is_toml && !COUNTRIES.contains(&stem) {
            return Err(JurisdictionError::Invalid {
                file: path.display().to_string(),
                message: format!(
                    "no country is named '{stem}'; name the file after one of {} in capitals, e.g. CO.toml",
                    COUNTRIES.join(", ")
                ),
            });
        }
    }
    Ok(())
}

/// Folds a region name for comparison: lower case, common Latin accents removed, runs of spaces
/// made one space. "São  Paulo" and "sao paulo" fold the same.
fn fold_name(name: &str) -> String {
    let folded: String = name
        .chars()
        .flat_map(char::to_lowercase)
        .map(|letter| match letter {
            'á' | 'à' | 'â' | 'ã' | 'ä' | 'å' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'í' | 'ì' | 'î' | 'ï' => 'i',
            'ó' | 'ò' | 'ô' | 'õ' | 'ö' => 'o',
            'ú' | 'ù' | 'û' | 'ü' => 'u',
            'ç' => 'c',
            'ñ' => 'n',
            other => other,
        })
        .collect();
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// An invalid or unreadable jurisdiction file.
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

/// The sections of a jurisdiction file that this module reads. `disclosures` and `voicemail`
/// belong to the dialog and are accepted unread.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    country: String,
    calling_hours: HoursFile,
    #[serde(default)]
    holidays: Vec<NaiveDate>,
    #[serde(default)]
    contact_caps: CapsFile,
    #[serde(default)]
    regions: BTreeMap<String, RegionFile>,
    #[serde(default, rename = "disclosures")]
    _disclosures: Option<toml::Value>,
    #[serde(default, rename = "voicemail")]
    _voicemail: Option<toml::Value>,
}

/// The `contact_caps` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CapsFile {
    #[serde(default)]
    per_debt: Vec<CapFile>,
    #[serde(default)]
    per_debtor: Vec<CapFile>,
    channels_per_week_after_contact: Option<u32>,
    quiet_days_after_conversation: Option<u32>,
}

/// One entry of `per_debt`: `{ attempts = 7, days = 7 }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CapFile {
    attempts: u32,
    days: u32,
}

/// A `regions.<CODE>` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegionFile {
    #[serde(default)]
    names: Vec<String>,
    calling_hours: Option<HoursFile>,
    #[serde(default)]
    contact_caps: CapsFile,
}

/// A region's additions to its country's rules, validated.
struct RegionOverrides {
    calling_hours: Option<CallingHours>,
    caps_per_debt: Vec<ContactCap>,
    caps_per_debtor: Vec<ContactCap>,
    channels_per_week_after_contact: Option<u32>,
    quiet_days_after_conversation: Option<u32>,
}

impl CapsFile {
    /// Validates the caps. `key` is the table's path in the file, for errors.
    fn validate(&self, key: &str) -> Result<RegionOverrides, String> {
        if self.channels_per_week_after_contact == Some(0) {
            return Err(format!(
                "{key}.channels_per_week_after_contact: 0 would forbid every contact after a conversation; use 1 or more"
            ));
        }
        Ok(RegionOverrides {
            calling_hours: None,
            caps_per_debt: validate_caps(&self.per_debt, &format!("{key}.per_debt"))?,
            caps_per_debtor: validate_caps(&self.per_debtor, &format!("{key}.per_debtor"))?,
            channels_per_week_after_contact: self.channels_per_week_after_contact,
            quiet_days_after_conversation: self.quiet_days_after_conversation,
        })
    }
}

/// Validates one list of caps. `key` is the list's path in the file, for errors.
fn validate_caps(caps: &[CapFile], key: &str) -> Result<Vec<ContactCap>, String> {
    let mut valid = Vec::with_capacity(caps.len());
    for (index, cap) in caps.iter().enumerate() {
        if cap.attempts == 0 {
            return Err(format!(
                "{key}[{index}].attempts: 0 would forbid every call; leave the day out of calling_hours instead"
            ));
        }
        if !(1..=MAX_CAP_DAYS).contains(&cap.days) {
            return Err(format!("{key}[{index}].days: {} is not a number of days from 1 to {MAX_CAP_DAYS}", cap.days));
        }
        valid.push(ContactCap { attempts: cap.attempts, days: cap.days });
    }
    Ok(valid)
}

impl RegionFile {
    /// Validates the region's tables. `key` is `regions.<CODE>`, for errors.
    fn validate(&self, key: &str) -> Result<RegionOverrides, String> {
        if self.names.iter().any(|name| name.trim().is_empty()) {
            return Err(format!("{key}.names: a name is empty; remove it or write the region's name"));
        }
        let mut overrides = self.contact_caps.validate(&format!("{key}.contact_caps"))?;
        if let Some(hours) = &self.calling_hours {
            let windows = hours.windows().map_err(|message| format!("{key}.calling_hours.{message}"))?;
            overrides.calling_hours = Some(CallingHours::new(windows, []));
        }
        Ok(overrides)
    }
}

#[cfg(test)]
mod tests;
