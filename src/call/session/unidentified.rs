//! Calls that come in unidentified: the session runs an [`Identification`] on the inbound call's
//! row, and once an account number matches one debt it creates the attempt and hands the call to
//! that debt's dialog without a pause.

use futures_util::Stream;
use tokio::sync::mpsc;
use tracing::{info, warn};

use super::{debtor_machine, run_session, CallError, CallReport, Session, SessionParts};
use crate::call::{CallEvent, CallRecord, CallServices, CallSummary};
use crate::collections::model::{mask_phone, AttemptId};
use crate::collections::{AttemptOutcome, Direction, InboundCall, InboundCallId, InboundCallOutcome, NewAttempt};
use crate::cost::{self, CallMeter};
use crate::dialog::{Action, CallerMatch, Conversation, Event, Identification, Jurisdiction, Script};
use crate::metrics::{metrics, Provider};
use crate::telephony::{Inbound, Outbound, StreamStart};

/// Runs a call that came in unidentified, from the opening notice to its end, whether or not
/// the caller is identified on the way.
pub async fn run_unidentified_call_on(
    services: CallServices,
    start: StreamStart,
    call: InboundCall,
    inbound: impl Stream<Item = Inbound> + Unpin + Send,
    outbound: mpsc::Sender<Outbound>,
) -> Result<CallReport, CallError> {
    let settings = &services.config.inbound;
    let script = Script::embedded(&settings.locale)
        .map_err(|e| CallError::Script { locale: settings.locale.clone(), reason: e.to_string() })?;
    let jurisdiction = Jurisdiction::embedded(&settings.country)
        .map_err(|error| CallError::Inbound(format!("country '{}': {error}", settings.country)))?;
    let language = script.language();
    // The caller's own date is unknown; the date only matters to a turn that names a day, and
    // the identification asks for none.
    let today = services.clock.now().date_naive();
    let identification = Identification::new(
        script,
        &settings.country,
        &services.config.agency.name,
        &services.config.agency.bot_name,
        &jurisdiction.voicemail.callback_number,
        services.config.dialog,
        today,
    );

    let meter = CallMeter::new();
    let stt = cost::metered(meter.clone(), services.stt.open(language)).await?;
    let _active = metrics().call_started();
    let phone = call.phone.as_deref().map_or_else(|| "withheld".to_string(), mask_phone);
    info!(inbound_call_id = %call.id, call_sid = %start.call_sid, %phone, "unidentified call started");

    let parts = SessionParts {
        record: CallRecord::InboundCall(call.id),
        account: None,
        inbound_call: Some(call),
        conversation: Conversation::Identifying(Box::new(identification)),
        stt,
        outbound,
        meter,
    };
    run_session(services, parts, inbound).await
}

impl Session {
    /// Publishes an event of the call's attempt; a call still unidentified publishes nothing.
    pub(super) fn publish(&self, event: impl FnOnce(AttemptId) -> CallEvent) {
        if let CallRecord::Attempt(attempt_id) = self.record {
            let _ = self.services.bus.send(event(attempt_id));
        }
    }

    /// Carries out an action of the identification, which only speaks, looks up and ends.
    pub(super) async fn execute_unidentified(&mut self, action: Action) -> Option<Event> {
        match action {
            Action::Say(utterance) => {
                self.say(utterance);
                None
            }
            Action::FindAccount { digits } => Some(self.find_account(&digits).await),
            Action::Dispose(disposition) => {
                info!(call = %self.record, %disposition, "disposition set");
                None
            }
            Action::Hangup => {
                self.begin_hangup();
                None
            }
            other => {
                warn!(call = %self.record, action = ?other, "an action that needs a debt came before the caller was identified");
                None
            }
        }
    }

    /// Looks up the debt of the account number the caller gave. On a single match it creates the
    /// call's attempt and hands the call to that debt's dialog, then returns the event that
    /// starts the dialog. Otherwise it returns [`Event::AccountNotFound`].
    async fn find_account(&mut self, digits: &str) -> Event {
        let Some(call) = self.inbound_call.clone() else {
            return Event::AccountNotFound;
        };
        let account = match self.services.store.account_by_reference_digits(digits).await {
            Ok(Some(account)) => account,
            Ok(None) => {
                info!(call = %self.record, digits = digits.len(), "no single debt has the account number the caller gave");
                return Event::AccountNotFound;
            }
            Err(error) => {
                metrics().provider_error(Provider::Store);
                warn!(call = %self.record, %error, "account number could not be looked up");
                return Event::AccountNotFound;
            }
        };
        // The dialog is built before the attempt, so a debt whose dialog cannot be built leaves
        // the call unidentified rather than with an attempt nobody speaks for.
        let machine = match debtor_machine(&self.services, &account, Some(CallerMatch::AccountReference)) {
            Ok(machine) => machine,
            Err(error) => {
                warn!(call = %self.record, debt_id = account.debt.id.0, %error, "dialog of the matched debt could not be built");
                return Event::AccountNotFound;
            }
        };
        let attempt = NewAttempt {
            debt_id: account.debt.id,
            // A withheld number is stored as empty: the attempt's phone is the number called from.
            phone: call.phone.clone().unwrap_or_default(),
            direction: Direction::Inbound,
            started_at: call.started_at,
        };
        let attempt_id = match self.services.store.identify_inbound_call(call.id, &attempt).await {
            Ok(attempt_id) => attempt_id,
            Err(error) => {
                metrics().provider_error(Provider::Store);
                warn!(call = %self.record, %error, "attempt of the identified caller could not be created");
                return Event::AccountNotFound;
            }
        };

        info!(call = %self.record, %attempt_id, "caller identified by account number");
        self.record = CallRecord::Attempt(attempt_id);
        let summary = CallSummary::new(&account, None, Direction::Inbound, self.services.clock.now());
        self.account = Some(account);
        self.machine.identified(machine);
        let call_sid = call.call_sid.0.clone();
        self.publish(|attempt_id| CallEvent::Started { attempt_id, call_sid, summary });
        // NOTE: when speech-to-text was already lost, the debt's dialog never learns it. It takes
        // keyed digits at verification, but then waits for speech it cannot get.
        Event::CallStarted
    }

    /// Writes how a call that was never identified ended.
    pub(super) async fn finish_unidentified(
        &self,
        id: InboundCallId,
        outcome: &AttemptOutcome,
    ) -> Result<(), crate::collections::StoreError> {
        let outcome = InboundCallOutcome {
            disposition: outcome.disposition,
            ended_at: outcome.ended_at,
            recording_path: outcome.recording_path.clone(),
            cost_micros: cost::total_micros(&outcome.costs),
        };
        self.services.store.finish_inbound_call(id, &outcome).await
    }
}
