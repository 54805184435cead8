//! `cobranza kpi`: the KPIs over a date range of the store, as text or JSON.

use chrono::{Duration, NaiveDate};

use super::report::KpiReport;
use super::series::SeriesBy;
use super::store::KpiFilter;

/// The options of `cobranza kpi`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct KpiArgs {
    /// First day of the range (YYYY-MM-DD, UTC); by default 30 days before `--to`.
    #[arg(long, value_parser = parse_day)]
    pub from: Option<NaiveDate>,
    /// Last day of the range, included (YYYY-MM-DD, UTC); by default today.
    #[arg(long, value_parser = parse_day)]
    pub to: Option<NaiveDate>,
    /// Only debts of this country (ISO 3166-1 alpha-2, e.g. MX).
    #[arg(long)]
    pub country: Option<String>,
    /// Only attempts of this campaign, the promises they obtained and the debts they reached.
    #[arg(long)]
    pub campaign: Option<String>,
    /// Only attempts of this segment, the promises they obtained and the debts they reached.
    #[arg(long)]
    pub segment: Option<String>,
    /// Also print the call KPIs per UTC day or per UTC hour of the day.
    #[arg(long, value_enum)]
    pub by: Option<SeriesBy>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

fn parse_day(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| format!("'{text}' is not a date: write it as YYYY-MM-DD, for example 2026-12-02"))
}

impl KpiArgs {
    /// Checks the options into a filter. `today` is the default last day.
    pub fn filter(&self, today: NaiveDate) -> anyhow::Result<KpiFilter> {
        let filter = filter_from_parts(
            self.from,
            self.to,
            self.country.as_deref(),
            self.campaign.as_deref(),
            self.segment.as_deref(),
            today,
        );
        if filter.from > filter.to {
            anyhow::bail!("--from {} is after --to {}: give the earlier day first", filter.from, filter.to);
        }
        Ok(filter)
    }
}

/// Builds a filter from a request's optional parts: the last day defaults to `today` and the
/// first to 30 days before the last. Blank texts count as absent and the country is upper-cased.
/// The caller checks that the first day is not after the last.
pub fn filter_from_parts(
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    country: Option<&str>,
    campaign: Option<&str>,
    segment: Option<&str>,
    today: NaiveDate,
) -> KpiFilter {
    let to = to.unwrap_or(today);
    let present = |text: Option<&str>| text.map(str::trim).filter(|text| !text.is_empty()).map(str::to_string);
    KpiFilter {
        from: from.unwrap_or(to - Duration::days(30)),
        to,
        campaign: present(campaign),
        segment: present(segment),
        country: present(country).map(|code| code.to_ascii_uppercase()),
    }
}

/// Formats the report as `cobranza kpi` prints it.
pub fn render(report: &KpiReport, json: bool) -> anyhow::Result<String> {
    if json {
        Ok(serde_json::to_string(report)?)
    } else {
        Ok(report.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn range_defaults_to_last_thirty_days() {
        let filter = filter_from_parts(None, None, None, None, None, day("2026-12-31"));
        assert_eq!(filter, KpiFilter::days(day("2026-12-01"), day("2026-12-31")));
    }

    #[test]
    fn blank_parts_are_absent() {
        let filter =
            filter_from_parts(None, Some(day("2026-12-31")), Some(" mx "), Some(""), Some(" "), day("2027-01-05"));
        assert_eq!(filter.country.as_deref(), Some("MX"));
        assert_eq!(filter.campaign, None);
        assert_eq!(filter.segment, None);
    }

    #[test]
    fn reversed_options_are_rejected() {
        let args = KpiArgs { from: Some(day("2026-12-05")), to: Some(day("2026-12-01")), ..KpiArgs::default() };
        let error = args.filter(day("2026-12-31")).unwrap_err();
        assert_eq!(error.to_string(), "--from 2026-12-05 is after --to 2026-12-01: give the earlier day first");
    }
}
