//! Who answered: the right-party check, third parties and wrong numbers, and identity
//! verification by the portfolio's method.

use chrono::NaiveDate;

use super::{Machine, State};
use crate::collections::model::Disposition;
use crate::dialog::inbound::CallerMatch;
use crate::dialog::nlu::{Intent, Interpretation};
use crate::dialog::policy::VerificationMethod;
use crate::dialog::script::Prompt;
use crate::dialog::Action;

impl Machine {
    pub(super) fn hear_identity(&mut self, heard: Interpretation, text: &str) -> Vec<Action> {
        match heard.intent {
            Intent::Affirm | Intent::IdentityConfirm | Intent::PromiseToPay | Intent::CannotPay | Intent::Negotiate => {
                self.ask_verification()
            }
            // Only the debtor speaks of their own debt: verify first, then take it up.
            Intent::AlreadyPaid | Intent::Dispute | Intent::Hardship => {
                self.held = Some((heard, text.to_string()));
                self.ask_verification()
            }
            Intent::AskAmount => self.clarify(Some(Prompt::VerifyFirst)),
            Intent::WrongPerson | Intent::Deny => self.ask_third_party_time(),
            _ => self.clarify(Some(Prompt::NotUnderstood)),
        }
    }

    pub(super) fn ask_verification(&mut self) -> Vec<Action> {
        self.state = State::Verifying;
        self.clarifications = 0;
        vec![self.say(self.verification_prompt(), true)]
    }

    pub(super) fn verification_prompt(&self) -> Prompt {
        match self.ctx.policy.verification {
            VerificationMethod::NationalIdLast4 => Prompt::VerifyIdentity,
            VerificationMethod::BirthDate => Prompt::VerifyBirthDate,
            VerificationMethod::PostalCode => Prompt::VerifyPostalCode,
        }
    }

    /// Whoever answered is not the debtor: ask when the debtor can be reached, saying nothing
    /// about why. A caller who only gave an account number never hears whose it is, so they
    /// get a goodbye instead.
    fn ask_third_party_time(&mut self) -> Vec<Action> {
        if self.caller_match == Some(CallerMatch::AccountReference) {
            return self.finish(&[Prompt::ThirdPartyGoodbye], Disposition::ThirdParty);
        }
        self.third_party = true;
        self.clarifications = 0;
        self.state = State::AskingThirdPartyTime;
        vec![self.say(Prompt::ThirdPartyAskTime, true)]
    }

    pub(super) fn hear_third_party_time(&mut self, heard: &Interpretation) -> Vec<Action> {
        if heard.date.is_some() || heard.time.is_some() {
            return self.request_callback(heard.date, heard.time, super::CallbackKind::ThirdParty);
        }
        match heard.intent {
            Intent::CallbackRequest | Intent::Affirm | Intent::PromiseToPay => {
                self.request_callback(None, None, super::CallbackKind::ThirdParty)
            }
            // "No, aquí no vive nadie con ese nombre": nobody there knows the debtor.
            Intent::WrongPerson | Intent::Deny | Intent::Dispute => {
                self.third_party = false;
                self.finish(&[Prompt::WrongPersonGoodbye], Disposition::WrongNumber)
            }
            _ => self.finish(&[Prompt::ThirdPartyGoodbye], Disposition::ThirdParty),
        }
    }

    pub(super) fn hear_verification(&mut self, heard: &Interpretation, text: &str) -> Vec<Action> {
        if heard.digits.is_some()
            || (self.ctx.policy.verification == VerificationMethod::BirthDate && heard.date.is_some())
        {
            return self.check_verification(heard.digits.as_deref(), heard.date);
        }
        match heard.intent {
            Intent::WrongPerson => self.ask_third_party_time(),
            // Declining to answer counts as a failed try.
            Intent::Deny => self.reject_verification(),
            Intent::AskAmount => self.clarify(Some(Prompt::VerifyFirst)),
            Intent::AlreadyPaid | Intent::Dispute | Intent::Hardship if self.held.is_none() => {
                self.held = Some((heard.clone(), text.to_string()));
                self.clarify(Some(Prompt::VerifyFirst))
            }
            _ => self.clarify(Some(Prompt::NotUnderstood)),
        }
    }

    /// Checks the answer against what the portfolio holds, and on success states the debt.
    pub(super) fn check_verification(&mut self, digits: Option<&str>, date: Option<NaiveDate>) -> Vec<Action> {
        let debtor = &self.ctx.account.debtor;
        let given: String = digits.unwrap_or("").chars().filter(char::is_ascii_digit).collect();
        let matches = match self.ctx.policy.verification {
            VerificationMethod::NationalIdLast4 => {
                // Extra leading digits (a whole id) are ignored.
                let expected = debtor.national_id_last4.trim();
                given.len() >= 4 && expected.len() == 4 && given[given.len() - 4..] == *expected
            }
            VerificationMethod::PostalCode => {
                let expected: String = debtor.postal_code.chars().filter(char::is_ascii_digit).collect();
                !expected.is_empty() && given == expected
            }
            VerificationMethod::BirthDate => {
                let keyed = debtor.birth_date.format("%d%m%Y").to_string();
                date == Some(debtor.birth_date) || (!given.is_empty() && given == keyed)
            }
        };
        if !matches {
            return self.reject_verification();
        }
        self.verified();
        self.state_debt()
    }

    fn verified(&mut self) {
        self.verified = true;
        self.third_party = false;
        self.clarifications = 0;
    }

    fn reject_verification(&mut self) -> Vec<Action> {
        self.verification_failures += 1;
        if self.verification_failures >= self.ctx.settings.max_verification_tries {
            return self.finish(&[Prompt::VerificationFailedGoodbye], Disposition::VerificationFailed);
        }
        vec![self.say(Prompt::VerificationRetry, true)]
    }

    /// The right-party contact: the jurisdiction's notices, the debt, then what the debtor said
    /// before verification or the first rung of the ladder.
    fn state_debt(&mut self) -> Vec<Action> {
        let disclosures = self.ctx.jurisdiction.disclosures;
        let mut actions = vec![Action::RightPartyVerified];
        if disclosures.debt_collector_notice {
            actions.push(self.say(Prompt::DebtCollectorNotice, false));
        }
        // On a call the debtor placed, the bot does not say it is calling them.
        let state_debt = if self.caller_match.is_some() { Prompt::StateDebtInbound } else { Prompt::StateDebt };
        actions.push(self.say(state_debt, false));
        if disclosures.payments_only_to_creditor {
            actions.push(self.say(Prompt::PaymentsOnlyToCreditor, false));
        }
        if let Some((held, text)) = self.held.take() {
            if let Some(follow) = self.hear_debtor_anytime(&held, &text) {
                actions.extend(follow);
                return actions;
            }
        }
        actions.extend(self.open_ladder());
        actions
    }
}
