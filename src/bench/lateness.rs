//! Outbound frame lateness against a perfect 20 ms cadence, and the percentiles reported over it.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::audio::frames::FRAME_MS;

/// Returns how late each frame of one talk spurt arrived against a perfect 20 ms cadence.
///
/// `arrivals` are the arrival times of the spurt's frames in order, measured from any fixed
/// origin. Frame k is due at `anchor + k × 20 ms`, with the latest anchor that no frame beats, so
/// the frame furthest ahead of the cadence has lateness 0. A frame is never due before the
/// spurt's first frame arrived: the frames a server sends at once to fill the carrier's buffer
/// when a spurt starts count as on time.
pub fn spurt_lateness(arrivals: &[Duration]) -> Vec<Duration> {
    let Some(&first) = arrivals.first() else {
        return Vec::new();
    };
    let micros = |time: Duration| time.as_micros() as i128;
    let frame = micros(Duration::from_millis(FRAME_MS));
    // The anchor can fall before the origin, so the arithmetic is signed.
    let anchor = arrivals
        .iter()
        .enumerate()
        .map(|(index, &arrival)| micros(arrival) - frame * index as i128)
        .min()
        .unwrap_or_else(|| micros(first));

    arrivals
        .iter()
        .enumerate()
        .map(|(index, &arrival)| {
            let due = (anchor + frame * index as i128).max(micros(first));
            Duration::from_micros((micros(arrival) - due).max(0) as u64)
        })
        .collect()
}

/// Returns the nearest-rank percentile of `sorted`, which must be in ascending order: the
/// smallest value that at least `percent` % of the values are at or below. `None` when empty.
///
/// # Panics
/// If `percent` is 0 or above 100.
pub fn percentile<T: Copy>(sorted: &[T], percent: u32) -> Option<T> {
    assert!((1..=100).contains(&percent), "percentile {percent} is outside 1..=100");
    if sorted.is_empty() {
        return None;
    }
    let rank = (percent as usize * sorted.len()).div_ceil(100);
    Some(sorted[rank.max(1) - 1])
}

/// The median, 99th percentile and maximum of a set of durations, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct LatenessSummary {
    /// How many values the figures cover.
    pub frames: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl LatenessSummary {
    /// Summarises durations given in microseconds; all figures are 0 when there are none.
    pub fn from_micros(mut values: Vec<u32>) -> LatenessSummary {
        values.sort_unstable();
        let in_ms = |value: Option<u32>| f64::from(value.unwrap_or(0)) / 1000.0;
        LatenessSummary {
            frames: values.len() as u64,
            p50_ms: in_ms(percentile(&values, 50)),
            p99_ms: in_ms(percentile(&values, 99)),
            max_ms: in_ms(values.last().copied()),
        }
    }
}
