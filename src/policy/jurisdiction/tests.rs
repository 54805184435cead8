use chrono::{NaiveTime, TimeZone, Weekday};

use super::*;

fn time(hour: u32, minute: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(hour, minute, 0).unwrap()
}

fn local(year: i32, month: u32, day: u32, hour: u32, minute: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(year, month, day).unwrap().and_time(time(hour, minute))
}

fn utc(year: i32, month: u32, day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(year, month, day, hour, minute, 0).unwrap()
}

fn policy() -> ContactPolicy {
    ContactPolicy::embedded().unwrap_or_else(|error| panic!("{error}"))
}

/// Returns a valid file with the given keys after the required ones.
fn minimal_file(extra: &str) -> String {
    format!(
        "country = \"PE\"\n\
         [calling_hours]\n\
         monday = [\"07:00\", \"20:00\"]\ntuesday = []\nwednesday = []\nthursday = []\n\
         friday = []\nsaturday = []\nsunday = []\n{extra}"
    )
}

fn parse_error(text: &str) -> String {
    JurisdictionRules::parse("PE.toml", text).unwrap_err().to_string()
}

#[test]
fn every_embedded_file_loads() {
    let policy = policy();
    for code in COUNTRIES {
        assert_eq!(policy.country(code).map(|rules| rules.country.as_str()), Some(code));
    }
}

#[test]
fn caps_per_country() {
    let policy = policy();
    let caps = |country: &str, region: &str| policy.rules_for(country, region).unwrap().caps_per_debt.clone();
    assert_eq!(caps("US", "NY"), vec![ContactCap { attempts: 7, days: 7 }]);
    assert_eq!(caps("US", "MA"), vec![ContactCap { attempts: 2, days: 7 }, ContactCap { attempts: 7, days: 7 }]);
    assert_eq!(caps("CL", "Región Metropolitana"), vec![ContactCap { attempts: 1, days: 7 }]);
    assert_eq!(caps("CO", "Antioquia"), vec![ContactCap { attempts: 1, days: 1 }]);
    assert_eq!(caps("MX", "Jalisco"), vec![]);
    assert_eq!(caps("PE", "Lima"), vec![]);
}

#[test]
fn colombia_window_by_weekday() {
    let rules = policy().rules_for("CO", "Antioquia").unwrap().clone();
    // Friday 6 March 2026, Saturday the 7th, Sunday the 8th.
    assert!(window_allows(&rules, local(2026, 3, 6, 7, 0)));
    assert!(window_allows(&rules, local(2026, 3, 6, 18, 59)));
    assert!(!window_allows(&rules, local(2026, 3, 6, 19, 0)));
    assert!(!window_allows(&rules, local(2026, 3, 7, 7, 30)));
    assert!(window_allows(&rules, local(2026, 3, 7, 8, 0)));
    assert!(!window_allows(&rules, local(2026, 3, 7, 15, 0)));
    assert!(!window_allows(&rules, local(2026, 3, 8, 10, 0)));
}

#[test]
fn window_allows_follows_dst_offset() {
    let rules = policy().rules_for("US", "NY").unwrap().clone();
    let new_york = Tz::America__New_York;
    // 12:30 UTC is 07:30 EST on Friday 6 March 2026, before the window, and 08:30 EDT on
    // Monday 9 March, after the clocks went forward on the 8th.
    let before_change = utc(2026, 3, 6, 12, 30).with_timezone(&new_york).naive_local();
    let after_change = utc(2026, 3, 9, 12, 30).with_timezone(&new_york).naive_local();
    assert!(!window_allows(&rules, before_change));
    assert!(window_allows(&rules, after_change));
}

#[test]
fn next_open_across_spring_forward() {
    let rules = policy().rules_for("US", "MA").unwrap().clone();
    // Saturday 7 March 2026 at 21:30 EST (02:30 UTC on the 8th): the window has closed. It opens
    // at 08:00 EDT on Sunday, which is 12:00 UTC, not the 13:00 UTC of the day before.
    let opens = next_open(&rules, utc(2026, 3, 8, 2, 30), Tz::America__New_York);
    assert_eq!(opens, Some(utc(2026, 3, 8, 12, 0)));
}

#[test]
fn next_open_across_fall_back() {
    let rules = policy().rules_for("US", "NY").unwrap().clone();
    // Sunday 1 November 2026 at 06:30 UTC is 01:30 EST, after New York's clocks went back: the
    // window opens at 08:00 EST, 13:00 UTC.
    let opens = next_open(&rules, utc(2026, 11, 1, 6, 30), Tz::America__New_York);
    assert_eq!(opens, Some(utc(2026, 11, 1, 13, 0)));
}

#[test]
fn next_open_in_santiago_dst() {
    let rules = policy().rules_for("CL", "Región Metropolitana").unwrap().clone();
    // Chile's clocks go back on Sunday 5 April 2026 (from UTC-3 to UTC-4). Saturday the 4th is
    // a holiday in CL.toml and Sunday has no window, so from Friday 3 April at 21:00 (UTC-3),
    // also a holiday, the window opens on Monday the 6th at 08:00 UTC-4: 12:00 UTC.
    let opens = next_open(&rules, utc(2026, 4, 4, 0, 0), Tz::America__Santiago);
    assert_eq!(opens, Some(utc(2026, 4, 6, 12, 0)));
}

#[test]
fn region_names_fold_case_and_accents() {
    let brazil = policy();
    let brazil = brazil.country("BR").unwrap();
    assert_eq!(brazil.region("sao  paulo").map(|region| region.code.as_str()), Some("SP"));
    assert_eq!(brazil.region("SP").map(|region| region.code.as_str()), Some("SP"));
    assert_eq!(brazil.region("Espirito Santo").map(|region| region.code.as_str()), Some("ES"));
    assert_eq!(brazil.region("Minas Gerais"), None);
}

#[test]
fn rio_narrows_brazil_hours() {
    let policy = policy();
    let rio = policy.rules_for("BR", "Rio de Janeiro").unwrap();
    let minas = policy.rules_for("BR", "Minas Gerais").unwrap();
    // Wednesday 4 March 2026 at 08:30 and Saturday 7 March at 10:00.
    assert!(!window_allows(rio, local(2026, 3, 4, 8, 30)));
    assert!(window_allows(minas, local(2026, 3, 4, 8, 30)));
    assert!(!window_allows(rio, local(2026, 3, 7, 10, 0)));
    assert!(window_allows(minas, local(2026, 3, 7, 10, 0)));
    let rio_days: Vec<Weekday> = rio.calling_hours.weekly_windows().map(|(day, _, _)| day).collect();
    assert_eq!(rio_days, [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri]);
}

#[test]
fn buenos_aires_city_matches() {
    let policy = policy();
    let argentina = policy.country("AR").unwrap();
    let city = argentina.region("Ciudad Autónoma de Buenos Aires").unwrap();
    assert_eq!(city.code, "CABA");
    assert_eq!(argentina.region("Buenos Aires"), None);
}

#[test]
fn rule_set_index_matches_listing() {
    let policy = policy();
    let sets = policy.rule_sets();
    for (country, region) in [("MX", "Jalisco"), ("US", "MA"), ("US", "NY"), ("BR", "RJ"), ("AR", "CABA")] {
        let index = policy.rule_set_index(country, region).unwrap();
        assert_eq!(sets[index].country, country);
        assert_eq!(sets[index].rules, policy.rules_for(country, region).unwrap());
    }
    assert_eq!(policy.rule_set_index("XX", "anywhere"), None);
}

#[test]
fn longest_cap_period_is_a_week() {
    assert_eq!(policy().longest_cap_period(), Duration::days(7));
}

#[test]
fn zero_days_cap_rejected() {
    let text = minimal_file("[contact_caps]\nper_debt = [{ attempts = 1, days = 0 }]\n");
    assert_eq!(parse_error(&text), "PE.toml: contact_caps.per_debt[0].days: 0 is not a number of days from 1 to 366");
}

#[test]
fn zero_attempts_cap_rejected() {
    let text = minimal_file("[regions.LIM.contact_caps]\nper_debt = [{ attempts = 0, days = 7 }]\n");
    assert_eq!(
        parse_error(&text),
        "PE.toml: regions.LIM.contact_caps.per_debt[0].attempts: 0 would forbid every call; \
         leave the day out of calling_hours instead"
    );
}

#[test]
fn reversed_region_window_rejected() {
    let text = minimal_file(
        "[regions.LIM.calling_hours]\n\
         monday = [\"20:00\", \"07:00\"]\ntuesday = []\nwednesday = []\nthursday = []\n\
         friday = []\nsaturday = []\nsunday = []\n",
    );
    assert_eq!(
        parse_error(&text),
        "PE.toml: regions.LIM.calling_hours.monday: the window starts at 20:00:00 but ends at 07:00:00; \
         write [\"08:00\", \"21:00\"]"
    );
}

#[test]
fn region_outside_country_hours_rejected() {
    let text = minimal_file(
        "[regions.LIM.calling_hours]\n\
         monday = []\ntuesday = [\"08:00\", \"12:00\"]\nwednesday = []\nthursday = []\n\
         friday = []\nsaturday = []\nsunday = []\n",
    );
    assert_eq!(
        parse_error(&text),
        "PE.toml: regions.LIM.calling_hours shares no hour with calling_hours; a region may only narrow \
         its country's hours"
    );
}

#[test]
fn shared_region_name_rejected() {
    let text = minimal_file("[regions.LIM]\nnames = [\"Lima\"]\n[regions.LMA]\nnames = [\"lima\"]\n");
    assert_eq!(
        parse_error(&text),
        "PE.toml: regions.LMA: the name 'lima' also names regions.LIM; give each name to one region"
    );
}

#[test]
fn unknown_cap_key_rejected() {
    let text = minimal_file("[contact_caps]\nattempts_per_week = 1\n");
    let error = parse_error(&text);
    assert!(error.starts_with("PE.toml: invalid TOML: "), "{error}");
    assert!(error.contains("unknown field `attempts_per_week`"), "{error}");
}

#[test]
fn directory_file_replaces_embedded() {
    let dir = tempfile::tempdir().unwrap();
    let text = embedded_file("CL").unwrap().replace("per_debt = [{ attempts = 1, days = 7 }]", "per_debt = []");
    std::fs::write(dir.path().join("CL.toml"), text).unwrap();
    let policy = ContactPolicy::load(Some(dir.path())).unwrap();
    assert_eq!(policy.rules_for("CL", "Valparaíso").unwrap().caps_per_debt, vec![]);
    assert_eq!(policy.rules_for("CO", "Antioquia").unwrap().caps_per_debt, vec![ContactCap { attempts: 1, days: 1 }]);
}

#[test]
fn lowercase_file_name_rejected() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cl.toml"), embedded_file("CL").unwrap()).unwrap();
    let error = ContactPolicy::load(Some(dir.path())).unwrap_err().to_string();
    let expected = format!(
        "{}: no country is named 'cl'; name the file after one of MX, CO, PE, CL, AR, US, BR in capitals, e.g. CO.toml",
        dir.path().join("cl.toml").display()
    );
    assert_eq!(error, expected);
}

#[test]
fn file_for_wrong_country_rejected() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("CL.toml"), embedded_file("PE").unwrap()).unwrap();
    let error = ContactPolicy::load(Some(dir.path())).unwrap_err().to_string();
    let expected = format!("{}: country is 'PE' but the file is named for CL", dir.path().join("CL.toml").display());
    assert_eq!(error, expected);
}
