//! The call KPIs per UTC day or per UTC hour of the day.

use serde::{Deserialize, Serialize};

use super::figures::CallKpis;
use super::store::{AttemptCounts, Grouping, KpiFilter, KpiStore};
use crate::collections::store::StoreError;

/// The unit of a series: UTC days, or UTC hours of the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum SeriesBy {
    /// One point per UTC day of the range.
    Day,
    /// One point per UTC hour of the day (00 to 23), over all days of the range.
    Hour,
}

/// The call KPIs of each day or hour of a range, every day or hour listed even without calls.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    pub by: SeriesBy,
    pub points: Vec<SeriesPoint>,
}

/// The call KPIs of one day (`2026-03-02`) or hour of the day (`16`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeriesPoint {
    pub bucket: String,
    #[serde(flatten)]
    pub calls: CallKpis,
}

/// Reads the filter's attempt and promise counts per day or hour and computes each point.
pub async fn series<S: KpiStore + ?Sized>(store: &S, filter: &KpiFilter, by: SeriesBy) -> Result<Series, StoreError> {
    let grouping = match by {
        SeriesBy::Day => Grouping::Day,
        SeriesBy::Hour => Grouping::HourOfDay,
    };
    let (attempts, promises) =
        tokio::try_join!(store.attempt_counts(filter, grouping), store.promises_made(filter, grouping))?;

    let points = bucket_labels(filter, by)
        .into_iter()
        .map(|bucket| {
            let label = Some(bucket.clone());
            let counts = attempts.iter().find(|counts| counts.group == label).cloned().unwrap_or_default();
            let promises: Vec<_> = promises.iter().filter(|totals| totals.group == label).collect();
            let calls = CallKpis::from_counts(&AttemptCounts { group: label, ..counts }, &promises);
            SeriesPoint { bucket, calls }
        })
        .collect();
    Ok(Series { by, points })
}

/// Lists the labels of every day of the range, or of every hour of the day.
fn bucket_labels(filter: &KpiFilter, by: SeriesBy) -> Vec<String> {
    match by {
        SeriesBy::Day => filter
            .from
            .iter_days()
            .take_while(|day| *day <= filter.to)
            .map(|day| day.format("%Y-%m-%d").to_string())
            .collect(),
        SeriesBy::Hour => (0..24).map(|hour| format!("{hour:02}")).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn labels_cover_range_and_hours() {
        let filter = KpiFilter::days(
            NaiveDate::from_ymd_opt(2026, 2, 27).unwrap(),
            NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
        );
        assert_eq!(bucket_labels(&filter, SeriesBy::Day), ["2026-02-27", "2026-02-28", "2026-03-01"]);
        let hours = bucket_labels(&filter, SeriesBy::Hour);
        assert_eq!(hours.len(), 24);
        assert_eq!(hours[0], "00");
        assert_eq!(hours[23], "23");
    }
}
