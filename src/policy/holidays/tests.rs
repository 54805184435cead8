use super::*;
use crate::policy::ContactPolicy;

fn dates(year: i32, month_days: &[(u32, u32)]) -> Vec<NaiveDate> {
    month_days.iter().map(|(month, day)| date(year, *month, *day)).collect()
}

#[test]
fn easter_sunday_of_known_years() {
    assert_eq!(easter_sunday(2024), date(2024, 3, 31));
    assert_eq!(easter_sunday(2025), date(2025, 4, 20));
    assert_eq!(easter_sunday(2026), date(2026, 4, 5));
    assert_eq!(easter_sunday(2027), date(2027, 3, 28));
    assert_eq!(easter_sunday(2038), date(2038, 4, 25));
    assert_eq!(easter_sunday(2285), date(2285, 3, 22));
}

#[test]
fn jurisdiction_files_list_the_computed_holidays() {
    let policy = ContactPolicy::embedded().unwrap_or_else(|error| panic!("{error}"));
    for country in crate::policy::jurisdiction::COUNTRIES {
        let listed: Vec<NaiveDate> = policy.country(country).unwrap().rules.calling_hours.holidays().collect();
        for year in [2026, 2027] {
            let in_file: Vec<NaiveDate> = listed.iter().copied().filter(|day| day.year() == year).collect();
            assert_eq!(in_file, national_holidays(country, year).unwrap(), "{country} {year}");
        }
    }
}

#[test]
fn colombia_2027_moves_holidays_to_monday() {
    assert_eq!(
        national_holidays("CO", 2027).unwrap(),
        dates(
            2027,
            &[
                (1, 1),
                (1, 11),
                (3, 22),
                (3, 25),
                (3, 26),
                (5, 1),
                (5, 10),
                (5, 31),
                (6, 7),
                (7, 5),
                (7, 20),
                (8, 7),
                (8, 16),
                (10, 18),
                (11, 1),
                (11, 15),
                (12, 8),
                (12, 25),
            ]
        )
    );
}

#[test]
fn argentina_2027_has_carnival_and_moved_holidays() {
    assert_eq!(
        national_holidays("AR", 2027).unwrap(),
        dates(
            2027,
            &[
                (1, 1),
                (2, 8),
                (2, 9),
                (3, 24),
                (3, 26),
                (4, 2),
                (5, 1),
                (5, 25),
                (6, 20),
                (6, 21),
                (7, 9),
                (8, 16),
                (10, 11),
                (11, 20),
                (12, 8),
                (12, 25),
            ]
        )
    );
}

#[test]
fn chile_2027_moves_holidays_by_weekday() {
    let days = national_holidays("CL", 2027).unwrap();
    // San Pedro y San Pablo on a Tuesday goes back to Monday 28 June; the Encuentro de Dos
    // Mundos on a Tuesday to Monday 11 October; Holy Saturday is 27 March.
    assert!(days.contains(&date(2027, 6, 28)));
    assert!(days.contains(&date(2027, 10, 11)));
    assert!(days.contains(&date(2027, 3, 27)));
    assert!(!days.contains(&date(2027, 6, 29)));
    assert_eq!(days.len(), 16);
}

#[test]
fn chile_evangelical_day_moves_to_a_friday() {
    // 31 October 2028 is a Tuesday: the holiday is Friday 27 October.
    assert!(national_holidays("CL", 2028).unwrap().contains(&date(2028, 10, 27)));
    // 31 October 2029 is a Wednesday: the holiday is Friday 2 November.
    assert!(national_holidays("CL", 2029).unwrap().contains(&date(2029, 11, 2)));
}

#[test]
fn mexico_adds_inauguration_day_every_six_years() {
    assert!(national_holidays("MX", 2030).unwrap().contains(&date(2030, 10, 1)));
    assert!(!national_holidays("MX", 2027).unwrap().contains(&date(2027, 10, 1)));
}

#[test]
fn unknown_country_has_no_rules() {
    assert_eq!(national_holidays("FR", 2027), None);
    assert_eq!(national_holidays("US", 2027), Some(Vec::new()));
}
