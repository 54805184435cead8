//! Outbound campaigns: which debts to dial (a portfolio filter), when and how fast, how to retry,
//! and the dialer that places the calls inside the contact policy. Campaigns are managed with
//! `cobranza campaign ...` and the JSON API; `cobranza serve` runs the dialer.

pub mod api;
pub mod cli;
pub mod dialer;
pub mod enrol;
pub mod placer;
pub mod settings;
pub mod store;
pub mod strategy;
pub mod twilio_placer;

pub use dialer::{DialDecision, Dialer, DialerSettings, TickReport};
pub use placer::{CallPlacer, OutboundCall};
pub use settings::CampaignSettings;
pub use store::{Campaign, CampaignProgress, CampaignStatus, CampaignStore};
