//! The voice webhook of a call nobody dialled. A caller whose number is on file for exactly one
//! debtor gets an inbound attempt on that debtor's first debt. Any other caller (unknown number,
//! withheld number, or a number several debtors share) gets an inbound call row and a stream on
//! which the bot asks for an account number.

use std::collections::HashMap;

use tracing::{info, warn};

use super::twiml;
use crate::call::CallRecord;
use crate::collections::model::{mask_phone, Account, AttemptId, CallSid};
use crate::collections::{Direction, InboundCallId, NewAttempt, NewInboundCall};
use crate::server::AppState;

/// Where the voice webhook sends a call nobody dialled.
pub(super) enum Answer {
    /// The caller's number is on file for one debtor: an inbound attempt was created.
    Known(AttemptId),
    /// Nobody could be matched: the caller will be asked for an account number.
    Unidentified(InboundCallId),
    /// The store failed or the webhook lacked a call sid: the call is hung up.
    Failed,
}

/// Matches the caller by number and creates the row the call's stream will write to.
pub(super) async fn answer(state: &AppState, fields: &HashMap<&str, &str>) -> Answer {
    let call_sid = fields.get("CallSid").copied().unwrap_or_default();
    if call_sid.is_empty() {
        warn!("inbound voice webhook has no CallSid; hanging up");
        return Answer::Failed;
    }
    let from = fields.get("From").copied().unwrap_or_default();
    let caller = caller_number(from);
    match &caller {
        Some(phone) => match state.services.store.account_by_phone(phone).await {
            Ok(Some(account)) => return known_caller(state, &account, phone).await,
            Ok(None) => {
                info!(%call_sid, from = %mask_phone(phone), "inbound call from a number that matches no single debtor")
            }
            Err(error) => {
                warn!(%call_sid, %error, "the caller's account could not be read; treating the caller as unidentified")
            }
        },
        None => info!(%call_sid, "inbound call from a withheld or unreadable number"),
    }

    let call = NewInboundCall {
        call_sid: CallSid(call_sid.to_string()),
        phone: caller,
        started_at: state.services.clock.now(),
    };
    match state.services.store.create_inbound_call(&call).await {
        Ok(id) => Answer::Unidentified(id),
        Err(error) => {
            warn!(%call_sid, %error, "inbound call could not be stored; hanging up");
            Answer::Failed
        }
    }
}

/// Creates the inbound attempt of a caller whose number is on file for one debtor.
async fn known_caller(state: &AppState, account: &Account, phone: &str) -> Answer {
    let attempt = NewAttempt {
        debt_id: account.debt.id,
        phone: phone.to_string(),
        direction: Direction::Inbound,
        started_at: state.services.clock.now(),
    };
    match state.services.store.create_attempt(&attempt).await {
        Ok(id) => Answer::Known(id),
        Err(error) => {
            warn!(%error, from = %mask_phone(phone), "inbound attempt could not be created; hanging up");
            Answer::Failed
        }
    }
}

/// Returns the TwiML that bridges an unidentified call to the media stream, with a single-use
/// token for its inbound call row.
pub(super) fn bridge_unidentified(state: &AppState, id: InboundCallId) -> String {
    let token = state.mint_stream_token(CallRecord::InboundCall(id));
    let stream_url = format!("{}/twilio/media", state.twilio.stream_base_url());
    info!(inbound_call_id = %id, "bridging unidentified call to the media stream");
    twiml::connect_stream(&stream_url, &[("inbound_call", &id.to_string()), ("token", &token)])
}

/// Reads Twilio's `From` as an E.164 number: `+52 55 5010-0001` and `0052 55 5010 0001` give
/// `+525550100001`. Returns `None` for a withheld caller (`anonymous`, `Restricted` or any other
/// text), for digits without a country code, which cannot be read without knowing the caller's
/// country, and for anything else that is not 8 to 15 digits after the country prefix.
///
/// Twilio has also sent withheld numbers spelled on the keypad (`+266696687` for ANONYMOUS).
/// Those read as numbers that match no debtor, so the caller is asked for an account number all
/// the same.
pub fn caller_number(from: &str) -> Option<String> {
    let compact: String = from.chars().filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')')).collect();
    let digits = compact.strip_prefix('+').or_else(|| compact.strip_prefix("00"))?;
    let plausible = (MIN_E164_DIGITS..=MAX_E164_DIGITS).contains(&digits.len()) && !digits.starts_with('0');
    (plausible && digits.chars().all(|c| c.is_ascii_digit())).then(|| format!("+{digits}"))
}

/// Minimum digits, country code included, of a number read as E.164: the portfolio import
/// accepts no shorter phone, so a shorter one could match no debtor.
const MIN_E164_DIGITS: usize = 8;

/// E.164 allows at most 15 digits, country code included.
const MAX_E164_DIGITS: usize = 15;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caller_number_reads_e164() {
        let cases = [
            ("+525550100001", Some("+525550100001")),
            (" +52 55 5010-0001 ", Some("+525550100001")),
            ("+1 (415) 555.0100", Some("+14155550100")),
            ("0052 55 5010 0001", Some("+525550100001")),
        ];
        for (from, expected) in cases {
            assert_eq!(caller_number(from).as_deref(), expected, "{from}");
        }
    }

    #[test]
    fn withheld_caller_has_no_number() {
        for from in ["", "anonymous", "Anonymous", "Restricted", "UNAVAILABLE", "sip:caller"] {
            assert_eq!(caller_number(from), None, "{from}");
        }
    }

    #[test]
    fn number_without_country_code_is_not_read() {
        assert_eq!(caller_number("5550100001"), None);
        assert_eq!(caller_number("+"), None);
        assert_eq!(caller_number("+1234567"), None);
        assert_eq!(caller_number("+0525550100001"), None);
        assert_eq!(caller_number("+1234567890123456"), None);
        assert_eq!(caller_number("+52555O100001"), None);
    }
}
