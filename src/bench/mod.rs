//! `cobranza bench`: measures how many calls one process holds, for sizing servers.
//!
//! `bench calls` runs the real server in this process with a SQLite store, the real dialog and
//! instant speech stand-ins. A child process (`bench carrier`) opens the simulated carrier
//! streams, so the carriers' own work stays out of the server's figures. It reports the server's
//! CPU time per call-second, resident memory per call, and how the bot's audio arrived at the
//! carriers: lateness against the 20 ms cadence, frames after an underrun, frames lost.
//!
//! `bench kpi` seeds a store with synthetic history and times the KPI report over it.

pub mod board_watch;
mod calls;
pub mod carrier;
pub mod kpi;
mod kpi_seed;
pub mod lateness;
mod phrases;
pub mod playout;
pub mod process;
pub mod receive_time;
mod report;
pub mod score;
pub mod speech;
mod stream;
mod target;
pub mod week;
pub mod week_audit;

pub use calls::{run, BenchOptions};
pub use report::{AudioFigures, BenchReport, BenchSettings, CarrierFigures, ServerFigures};

/// Default length of stand-in speech per character of a phrase: about 14 characters a second,
/// an estimate of espeak-ng's pace at its default 150 words a minute.
pub const DEFAULT_TTS_MS_PER_CHAR: u64 = 70;
