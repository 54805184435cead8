//! The contact policy: when, how often and on which channel a debtor may be contacted, as data
//! per jurisdiction and one decision function over it.
//!
//! The rules come from `config/jurisdictions/<CC>.toml`: the calling window of each weekday,
//! holidays, frequency caps per debt and per debtor, the quiet period after a conversation and
//! the channel lock after a direct contact, with regional rules that narrow a country's.
//! [`decide`] answers whether a contact may go ahead now and, if not, why and when next; the
//! dialer asks it before every call. The dialog places callbacks inside the window, and the
//! compliance KPIs check the attempt ledger against the same rules.

pub mod calling_hours;
pub mod decision;
pub mod holidays;
pub mod jurisdiction;
pub mod zones;

pub use calling_hours::{CallingHours, Placed};
pub use decision::{decide, next_allowed, ContactRequest, ContactSubject, Decision, PastContact, Refusal};
pub use jurisdiction::{
    next_open, window_allows, ContactCap, ContactPolicy, ContactRules, JurisdictionError, JurisdictionRules,
};
