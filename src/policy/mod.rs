//! The contact policy: when and how often a debtor may be called, as data per jurisdiction.
//!
//! The rules come from `config/jurisdictions/<CC>.toml`. Today they cover the calling window of
//! each weekday, holidays and per-debt frequency caps, with regional rules that narrow a
//! country's. The dialog places callbacks inside the window, and the compliance KPIs check the
//! attempt ledger against both.

pub mod calling_hours;
pub mod jurisdiction;

pub use calling_hours::{CallingHours, Placed};
pub use jurisdiction::{
    next_open, window_allows, ContactCap, ContactPolicy, ContactRules, JurisdictionError, JurisdictionRules,
};
