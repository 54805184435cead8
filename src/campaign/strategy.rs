//! The offers a campaign call may propose: the strategy of the debtor's segment from
//! `config/strategy.toml`, or the one the campaign names for that segment.

use std::sync::OnceLock;

use crate::dialog::negotiation::Rung;
use crate::scoring::segment::{Segment, StrategyBook};

/// A strategy resolved for one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallStrategy {
    pub name: String,
    /// The rungs the bot may propose, in ladder order.
    pub offers: Vec<Rung>,
}

/// Returns the strategy of a call to a debtor in `segment`: the strategy named `named` when the
/// campaign names one for the segment, else the segment's own in `book`.
// NOTE: the strategy's tone is not applied; every call uses the script's one wording.
pub fn for_call(book: &StrategyBook, segment: &str, named: Option<&str>) -> Result<CallStrategy, String> {
    let strategy = match named {
        Some(name) => book.strategy_named(name).ok_or_else(|| {
            format!("the campaign names strategy '{name}' for segment {segment}, and config/strategy.toml has none by that name")
        })?,
        None => book.strategy(&segment.parse::<Segment>()?),
    };
    let offers =
        Rung::LADDER.into_iter().filter(|rung| strategy.offers.iter().any(|offer| offer == rung.as_str())).collect();
    Ok(CallStrategy { name: strategy.name.clone(), offers })
}

/// Returns the compiled-in strategy book, parsed once.
pub fn embedded_book() -> &'static StrategyBook {
    static BOOK: OnceLock<StrategyBook> = OnceLock::new();
    BOOK.get_or_init(StrategyBook::embedded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_gets_its_strategy_offers() {
        let strategy = for_call(embedded_book(), "high_risk.recovery.small", None).unwrap();
        assert_eq!(
            strategy,
            CallStrategy { name: "recovery_small".into(), offers: vec![Rung::Settlement, Rung::Partial] }
        );
    }

    #[test]
    fn campaign_named_strategy_wins() {
        let strategy = for_call(embedded_book(), "low_risk.early.small", Some("late_settlement")).unwrap();
        assert_eq!(strategy.name, "late_settlement");
        assert_eq!(
            strategy.offers,
            [Rung::FullPayment, Rung::ShortPlan, Rung::Settlement, Rung::SettlementPlan, Rung::LongPlan, Rung::Partial]
        );
    }

    #[test]
    fn unknown_names_are_errors() {
        assert_eq!(
            for_call(embedded_book(), "low_risk.early.small", Some("gentle")),
            Err("the campaign names strategy 'gentle' for segment low_risk.early.small, and config/strategy.toml has none by that name".to_string())
        );
        assert_eq!(
            for_call(embedded_book(), "risky.early", None),
            Err("'risky.early' is not a segment; write tier.stage.band, like low_risk.early.small".to_string())
        );
    }
}
