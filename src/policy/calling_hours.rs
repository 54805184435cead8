//! The calling window: the local hours of each weekday in which a debtor may be called, and the
//! holidays without calls.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::Deserialize;

/// Days searched ahead or back for an open window before giving up.
const SEARCH_DAYS: i64 = 366;

/// The hours each weekday in which calls are allowed, and the days with none. All times are
/// the debtor's local time, and a window includes its opening minute but not its closing one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallingHours {
    /// Monday first. `None` is a day without calls.
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
    /// Builds the hours from one window per weekday (Monday first) and a holiday list.
    pub fn new(windows: [Option<(NaiveTime, NaiveTime)>; 7], holidays: impl IntoIterator<Item = NaiveDate>) -> Self {
        CallingHours { windows, holidays: holidays.into_iter().collect() }
    }

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

    /// Returns the opening and closing time of each weekday that has a window, Monday first,
    /// whatever the holidays.
    pub fn weekly_windows(&self) -> impl Iterator<Item = (Weekday, NaiveTime, NaiveTime)> + '_ {
        WEEKDAYS
            .iter()
            .zip(self.windows.iter())
            .filter_map(|(weekday, window)| window.map(|(start, end)| (*weekday, start, end)))
    }

    /// Returns the holidays in date order.
    pub fn holidays(&self) -> impl Iterator<Item = NaiveDate> + '_ {
        self.holidays.iter().copied()
    }

    /// Returns the hours allowed by both `self` and `other`: each weekday's windows intersected,
    /// and the holidays of both.
    pub fn intersect(&self, other: &CallingHours) -> CallingHours {
        let mut windows = [None; 7];
        for (index, window) in windows.iter_mut().enumerate() {
            if let (Some((start, end)), Some((other_start, other_end))) = (self.windows[index], other.windows[index]) {
                let (start, end) = (start.max(other_start), end.min(other_end));
                *window = (start < end).then_some((start, end));
            }
        }
        CallingHours { windows, holidays: self.holidays.union(&other.holidays).copied().collect() }
    }

    /// Tells whether some weekday has a window.
    pub fn has_any_window(&self) -> bool {
        self.windows.iter().any(Option::is_some)
    }

    fn window(&self, day: NaiveDate) -> Option<(NaiveTime, NaiveTime)> {
        if self.holidays.contains(&day) {
            return None;
        }
        self.windows[day.weekday().num_days_from_monday() as usize]
    }

    /// Returns the first instant at or after `from` at which the debtor's local time in `zone`
    /// is inside the window, or `None` when no day of the next year has one.
    ///
    /// A window that opens inside a daylight-saving gap opens when the gap ends, and one that
    /// opens at a repeated local time opens at the first of the two instants not before `from`.
    // NOTE: an opening reached only because the clock moved back into a window, rather than by
    // reaching its opening time, is missed. No rule here has a window spanning a clock change,
    // because the changes happen between 00:00 and 03:00 local time.
    pub fn next_open(&self, from: DateTime<Utc>, zone: Tz) -> Option<DateTime<Utc>> {
        let local = from.with_timezone(&zone).naive_local();
        if self.allows(local) {
            return Some(from);
        }
        (0..=SEARCH_DAYS).find_map(|offset| {
            let day = local.date() + Duration::days(offset);
            let (start, end) = self.window(day)?;
            instants_at_or_after(zone, day.and_time(start), day.and_time(end))
                .into_iter()
                .find(|instant| *instant >= from)
        })
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
        (0..=SEARCH_DAYS).find_map(|offset| {
            let day = from.date() + Duration::days(offset);
            let (start, end) = self.window(day)?;
            let at = if offset == 0 { from.time().max(start) } else { start };
            (at < end).then(|| day.and_time(at))
        })
    }

    /// Returns the latest time before `until` that leaves an hour before a window closes (or
    /// the window's start, when it is shorter), within the same or earlier days.
    fn previous_allowed(&self, until: NaiveDateTime) -> Option<NaiveDateTime> {
        (0..=SEARCH_DAYS).find_map(|offset| {
            let day = until.date() - Duration::days(offset);
            let (start, end) = self.window(day)?;
            let last = (end - Duration::hours(1)).max(start);
            let at = if offset == 0 { until.time().min(last) } else { last };
            (offset > 0 || at < until.time()).then(|| day.and_time(at))
        })
    }
}

/// Returns the instants at which the local time in `zone` first reaches `opening`, earliest
/// first: one instant, two when the clock goes back over it, or the end of the gap when the
/// clock jumps over it. Empty when the gap lasts until `closing`.
fn instants_at_or_after(zone: Tz, opening: NaiveDateTime, closing: NaiveDateTime) -> Vec<DateTime<Utc>> {
    let mut local = opening;
    while local < closing {
        match zone.from_local_datetime(&local) {
            LocalResult::Single(instant) => return vec![instant.with_timezone(&Utc)],
            LocalResult::Ambiguous(first, second) => {
                return vec![first.with_timezone(&Utc), second.with_timezone(&Utc)];
            }
            // Clock changes happen on whole minutes, so the first minute that exists is the end
            // of the gap.
            LocalResult::None => local += Duration::minutes(1),
        }
    }
    Vec::new()
}

const WEEKDAYS: [Weekday; 7] =
    [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri, Weekday::Sat, Weekday::Sun];

/// The `calling_hours` table of a jurisdiction file. Each weekday is `["08:00", "21:00"]`, or
/// `[]` for no calls.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HoursFile {
    monday: Vec<String>,
    tuesday: Vec<String>,
    wednesday: Vec<String>,
    thursday: Vec<String>,
    friday: Vec<String>,
    saturday: Vec<String>,
    sunday: Vec<String>,
}

impl HoursFile {
    /// Validates each weekday's window. An error names the weekday key and the fix.
    pub(crate) fn windows(&self) -> Result<[Option<(NaiveTime, NaiveTime)>; 7], String> {
        let days =
            [&self.monday, &self.tuesday, &self.wednesday, &self.thursday, &self.friday, &self.saturday, &self.sunday];
        let mut windows = [None; 7];
        for ((window, hours), weekday) in windows.iter_mut().zip(days).zip(WEEKDAYS) {
            *window = parse_window(hours).map_err(|message| format!("{}: {message}", weekday_name(weekday)))?;
        }
        Ok(windows)
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

    fn time(hour: u32, minute: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(hour, minute, 0).unwrap()
    }

    fn utc(year: i32, month: u32, day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(year, month, day, hour, minute, 0).unwrap()
    }

    /// Colombia's hours: weekdays 07:00 to 19:00, Saturday 08:00 to 15:00, with 8 December 2026
    /// (a Tuesday) as a holiday.
    fn colombia() -> CallingHours {
        let weekday = Some((time(7, 0), time(19, 0)));
        CallingHours::new(
            [weekday, weekday, weekday, weekday, weekday, Some((time(8, 0), time(15, 0))), None],
            [NaiveDate::from_ymd_opt(2026, 12, 8).unwrap()],
        )
    }

    fn every_day(start: NaiveTime, end: NaiveTime) -> CallingHours {
        CallingHours::new([Some((start, end)); 7], [])
    }

    #[test]
    fn intersection_narrows_each_day() {
        let wide = every_day(time(8, 0), time(20, 0));
        let weekday = Some((time(9, 0), time(19, 0)));
        let narrow = CallingHours::new(
            [weekday, weekday, weekday, weekday, weekday, None, None],
            [NaiveDate::from_ymd_opt(2026, 4, 21).unwrap()],
        );
        let both = wide.intersect(&narrow);
        assert_eq!(both, narrow);
        let late = every_day(time(20, 0), time(22, 0));
        assert!(!wide.intersect(&late).has_any_window());
    }

    #[test]
    fn next_open_inside_window_is_now() {
        let hours = every_day(time(8, 0), time(21, 0));
        // 14:00 UTC is 10:00 in New York on 2 March 2026 (EST, UTC-5).
        let from = utc(2026, 3, 2, 14, 0);
        assert_eq!(hours.next_open(from, Tz::America__New_York), Some(from));
    }

    #[test]
    fn next_open_after_spring_forward() {
        let hours = every_day(time(8, 0), time(21, 0));
        // Saturday 7 March 2026 at 22:00 in New York (EST) is 03:00 UTC on the 8th. The clocks
        // go forward at 02:00 that night, so Sunday's 08:00 is EDT (UTC-4): 12:00 UTC.
        let from = utc(2026, 3, 8, 3, 0);
        assert_eq!(hours.next_open(from, Tz::America__New_York), Some(utc(2026, 3, 8, 12, 0)));
    }

    #[test]
    fn next_open_after_fall_back() {
        let hours = every_day(time(8, 0), time(21, 0));
        // Saturday 31 October 2026 at 23:00 EDT is 03:00 UTC on 1 November. The clocks go back
        // at 02:00, so Sunday's 08:00 is EST (UTC-5): 13:00 UTC.
        let from = utc(2026, 11, 1, 3, 0);
        assert_eq!(hours.next_open(from, Tz::America__New_York), Some(utc(2026, 11, 1, 13, 0)));
    }

    #[test]
    fn opening_in_gap_opens_at_gap_end() {
        let hours = every_day(time(2, 30), time(5, 0));
        // On 8 March 2026 New York's local time jumps from 02:00 EST to 03:00 EDT (07:00 UTC),
        // so the 02:30 opening does not exist and the window opens at 03:00 EDT.
        let from = utc(2026, 3, 8, 5, 0);
        assert_eq!(hours.next_open(from, Tz::America__New_York), Some(utc(2026, 3, 8, 7, 0)));
    }

    #[test]
    fn repeated_opening_takes_first_instant() {
        let hours = every_day(time(1, 30), time(1, 45));
        // On 1 November 2026 New York's 01:30 happens twice: at 05:30 UTC (EDT) and at 06:30
        // UTC (EST).
        let before = utc(2026, 11, 1, 4, 0);
        assert_eq!(hours.next_open(before, Tz::America__New_York), Some(utc(2026, 11, 1, 5, 30)));
        let between = utc(2026, 11, 1, 5, 50);
        assert_eq!(hours.next_open(between, Tz::America__New_York), Some(utc(2026, 11, 1, 6, 30)));
    }

    #[test]
    fn next_open_skips_sunday_and_holiday() {
        // Saturday 5 December 2026 at 16:00 in Bogotá (UTC-5, no daylight saving): Saturday's
        // window has closed, Sunday has none, Monday opens at 07:00.
        let from = utc(2026, 12, 5, 21, 0);
        assert_eq!(colombia().next_open(from, Tz::America__Bogota), Some(utc(2026, 12, 7, 12, 0)));
        // Monday 7 December at 20:00: Tuesday the 8th is a holiday, so Wednesday at 07:00.
        let evening = utc(2026, 12, 8, 1, 0);
        assert_eq!(colombia().next_open(evening, Tz::America__Bogota), Some(utc(2026, 12, 9, 12, 0)));
    }

    #[test]
    fn next_open_none_without_windows() {
        let closed = CallingHours::new([None; 7], []);
        assert_eq!(closed.next_open(utc(2026, 3, 2, 12, 0), Tz::UTC), None);
    }
}
