//! KPI gauges for `GET /metrics`: today's call KPIs (UTC day) per debtor country, read from the
//! store at scrape time and cached briefly, so a burst of scrapes reads the store once.

use std::fmt::Write as _;
use std::time::Duration;

use chrono::NaiveDate;
use tokio::sync::Mutex;
use tokio::time::Instant;
use tracing::warn;

use super::figures::CallKpis;
use super::store::{Grouping, KpiFilter, KpiStore};
use crate::collections::store::StoreError;
use crate::cost::MICROS_PER_DOLLAR;

/// How long gauges read from the store are served before the next scrape reads them again.
pub const KPI_GAUGE_TTL: Duration = Duration::from_secs(10);

/// One gauge: its name, help text and value for a country's figures (`None` leaves it out).
type Gauge = (&'static str, &'static str, fn(&CallKpis) -> Option<f64>);

const GAUGES: [Gauge; 12] = [
    ("cobranza_kpi_dials", "Outbound attempts started today (UTC).", |kpis| Some(kpis.dials as f64)),
    ("cobranza_kpi_inbound_calls", "Inbound attempts started today (UTC).", |kpis| Some(kpis.inbound_calls as f64)),
    ("cobranza_kpi_connects", "Dials started today (UTC) that were answered.", |kpis| Some(kpis.connects as f64)),
    ("cobranza_kpi_contacts", "Attempts started today (UTC) where a live person spoke.", |kpis| {
        Some(kpis.contacts as f64)
    }),
    ("cobranza_kpi_right_party_contacts", "Attempts started today (UTC) where the debtor was verified.", |kpis| {
        Some(kpis.right_party_contacts as f64)
    }),
    ("cobranza_kpi_promises", "Promises to pay created today (UTC).", |kpis| Some(kpis.promises as f64)),
    ("cobranza_kpi_connect_rate", "Connects divided by dials today (UTC).", |kpis| kpis.connect_rate.value),
    ("cobranza_kpi_contact_rate", "Contacts divided by dials today (UTC).", |kpis| kpis.contact_rate.value),
    ("cobranza_kpi_right_party_contact_rate", "Right-party contacts divided by dials today (UTC).", |kpis| {
        kpis.right_party_contact_rate.value
    }),
    ("cobranza_kpi_promise_to_pay_rate", "Promises divided by right-party contacts today (UTC).", |kpis| {
        kpis.promise_to_pay_rate.value
    }),
    ("cobranza_kpi_cost_dollars", "Stored cost of the attempts started today (UTC), in US dollars.", |kpis| {
        Some(kpis.total_cost_micros as f64 / MICROS_PER_DOLLAR as f64)
    }),
    (
        "cobranza_kpi_average_handle_seconds",
        "Mean length of the answered attempts started today (UTC) that ended.",
        |kpis| kpis.average_handle_seconds,
    ),
];

/// The gauges' text, cached for one UTC day and [`KPI_GAUGE_TTL`].
pub struct KpiGauges {
    ttl: Duration,
    cached: Mutex<Option<Cached>>,
}

struct Cached {
    day: NaiveDate,
    read_at: Instant,
    text: String,
}

impl KpiGauges {
    pub fn new(ttl: Duration) -> KpiGauges {
        KpiGauges { ttl, cached: Mutex::new(None) }
    }

    /// Returns the gauges of `today` in the Prometheus text format. The store is read when the
    /// cached text is older than the TTL or of another day. Scrapes arriving during a read wait
    /// for it rather than reading too. When the read fails, the error is logged and the gauges
    /// are left out until the TTL has passed.
    pub async fn render<S: KpiStore + ?Sized>(&self, store: &S, today: NaiveDate) -> String {
        let mut cached = self.cached.lock().await;
        if let Some(fresh) = cached.as_ref().filter(|c| c.day == today && c.read_at.elapsed() < self.ttl) {
            return fresh.text.clone();
        }
        let text = match country_figures(store, today).await {
            Ok(figures) => gauge_text(&figures),
            Err(error) => {
                warn!(%error, %today, "reading the KPI gauges from the store failed");
                String::new()
            }
        };
        *cached = Some(Cached { day: today, read_at: Instant::now(), text: text.clone() });
        text
    }
}

/// Reads the call KPIs of the UTC day `today` per debtor country, sorted by country code.
pub async fn country_figures<S: KpiStore + ?Sized>(
    store: &S,
    today: NaiveDate,
) -> Result<Vec<(String, CallKpis)>, StoreError> {
    let filter = KpiFilter::days(today, today);
    let (attempts, promises) = tokio::try_join!(
        store.attempt_counts(&filter, Grouping::Country),
        store.promises_made(&filter, Grouping::Country)
    )?;
    let mut countries: Vec<String> = attempts
        .iter()
        .map(|counts| counts.group.clone())
        .chain(promises.iter().map(|totals| totals.group.clone()))
        .flatten()
        .collect();
    countries.sort();
    countries.dedup();
    Ok(countries
        .into_iter()
        .map(|country| {
            let group = Some(country.clone());
            let counts = attempts.iter().find(|counts| counts.group == group).cloned().unwrap_or_default();
            let promises: Vec<_> = promises.iter().filter(|totals| totals.group == group).collect();
            (country, CallKpis::from_counts(&counts, &promises))
        })
        .collect())
}

/// Formats the figures as gauges labelled by country. A rate without a denominator is left out.
pub fn gauge_text(figures: &[(String, CallKpis)]) -> String {
    let mut text = String::new();
    for (name, help, value) in GAUGES {
        let _ = writeln!(text, "# HELP {name} {help}\n# TYPE {name} gauge");
        for (country, kpis) in figures {
            if let Some(value) = value(kpis) {
                let _ = writeln!(text, "{name}{{country=\"{}\"}} {value}", escape_label(country));
            }
        }
    }
    text
}

/// Escapes a label value as the Prometheus text format requires.
fn escape_label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collections::model::Currency;
    use crate::kpi::store::{AttemptCounts, PromiseTotals};

    #[test]
    fn gauges_label_countries() {
        let counts = AttemptCounts {
            group: Some("MX".into()),
            dials: 4,
            connects: 2,
            contacts: 1,
            right_party_contacts: 1,
            cost_micros: 1_500_000,
            ..AttemptCounts::default()
        };
        let promise =
            PromiseTotals { group: Some("MX".into()), currency: Currency::Mxn, promises: 1, amount_minor: 100 };
        let idle = CallKpis::from_counts(&AttemptCounts::default(), &[]);
        let text = gauge_text(&[("MX".into(), CallKpis::from_counts(&counts, &[&promise])), ("P\"E".into(), idle)]);
        assert!(text.contains("# TYPE cobranza_kpi_contact_rate gauge\n"), "{text}");
        assert!(text.contains("\ncobranza_kpi_dials{country=\"MX\"} 4\n"), "{text}");
        assert!(text.contains("\ncobranza_kpi_contact_rate{country=\"MX\"} 0.25\n"), "{text}");
        assert!(text.contains("\ncobranza_kpi_promise_to_pay_rate{country=\"MX\"} 1\n"), "{text}");
        assert!(text.contains("\ncobranza_kpi_cost_dollars{country=\"MX\"} 1.5\n"), "{text}");
        assert!(text.contains("\ncobranza_kpi_dials{country=\"P\\\"E\"} 0\n"), "{text}");
        assert!(!text.contains("cobranza_kpi_contact_rate{country=\"P\\\"E\"}"), "{text}");
    }
}
