//! The simulated carrier's playout buffer for one stream. It decides when each mark is due, and
//! measures which frames arrived after the buffer ran dry, how late frames were against the
//! 20 ms cadence, and how many frames each played phrase had.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::lateness::spurt_lateness;

/// Playout time of one μ-law byte at 8 kHz.
const MICROS_PER_BYTE: u64 = 125;

/// A mark waiting for the audio queued before it to play.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingMark {
    pub name: String,
    /// When the audio queued before the mark finishes playing.
    pub due: Instant,
    /// Frames received between the previous mark (or `clear`) and this one: the phrase it ends.
    pub frames: u32,
}

/// Position of the outbound audio after the last message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Position {
    /// Nothing is playing and the next frame starts a talk spurt: the stream just started, or a
    /// `clear` dropped the buffer.
    Idle,
    /// Inside a phrase: the last message was a frame.
    InPhrase,
    /// Between phrases: the last message was a mark.
    AfterMark,
}

/// Measurements of one stream's playout.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlayoutTotals {
    pub frames_received: u64,
    /// Frames that arrived after the buffer ran dry inside a talk spurt: an audible gap.
    pub late_frames: u64,
    pub marks_received: u64,
    /// Echoes sent, for played marks and for marks a `clear` released.
    pub marks_echoed: u64,
    pub clears_received: u64,
    /// Lateness of every frame of every finished spurt, by when it reached the socket, in
    /// microseconds.
    pub lateness_micros: Vec<u32>,
    /// The same by when the carrier process read it: adds the carrier's own scheduling delay.
    pub seen_lateness_micros: Vec<u32>,
    /// Frames of each phrase whose mark was echoed as played, in playout order.
    pub played_phrase_frames: Vec<u32>,
    /// Frames received after the last mark or `clear`: a phrase still being sent when the stream
    /// ended.
    pub unconfirmed_frames: u32,
    /// Audio received but not yet played when the stream ended.
    pub unplayed_at_end: Duration,
}

/// The playout side of a simulated carrier: audio plays in real time in arrival order, each mark
/// is due when the audio before it has played, and `clear` drops the buffer and releases every
/// pending mark at once.
///
/// A silence after a mark counts as a gap between talk spurts when it lasts at least `min_gap`.
/// A shorter one, or any silence inside a phrase, is an underrun, so the frame that ends it is
/// late. The bench sets `min_gap` to the bot's reply timeout, because the bot speaks again after
/// a question only once that timeout has passed.
#[derive(Debug)]
pub struct Playout {
    min_gap: Duration,
    /// When the audio received so far finishes playing.
    drains_at: Option<Instant>,
    position: Position,
    marks: VecDeque<PendingMark>,
    phrase_frames: u32,
    /// Arrival times of the frames of the talk spurt in progress.
    spurt: Vec<Instant>,
    /// When the carrier read each frame of the spurt in progress.
    spurt_seen: Vec<Instant>,
    totals: PlayoutTotals,
}

impl Playout {
    pub fn new(min_gap: Duration) -> Playout {
        Playout {
            min_gap,
            drains_at: None,
            position: Position::Idle,
            marks: VecDeque::new(),
            phrase_frames: 0,
            spurt: Vec::with_capacity(1024),
            spurt_seen: Vec::with_capacity(1024),
            totals: PlayoutTotals::default(),
        }
    }

    /// Queues a frame of `bytes` μ-law bytes that reached the socket at `arrived` and that
    /// the carrier read at `seen`.
    pub fn frame(&mut self, bytes: usize, arrived: Instant, seen: Instant) {
        let length = Duration::from_micros(bytes as u64 * MICROS_PER_BYTE);
        match self.drains_at {
            Some(end) if arrived <= end => {
                self.drains_at = Some(end + length);
            }
            Some(end) => {
                let gap = self.position == Position::AfterMark && arrived - end >= self.min_gap;
                if gap {
                    self.finish_spurt();
                } else {
                    self.totals.late_frames += 1;
                }
                self.drains_at = Some(arrived + length);
            }
            None => {
                self.finish_spurt();
                self.drains_at = Some(arrived + length);
            }
        }
        self.spurt.push(arrived);
        self.spurt_seen.push(seen);
        self.position = Position::InPhrase;
        self.phrase_frames += 1;
        self.totals.frames_received += 1;
    }

    /// Queues a mark that arrived at `now`: it is due once the audio before it has played.
    pub fn mark(&mut self, name: String, now: Instant) {
        let due = self.drains_at.map_or(now, |end| end.max(now));
        self.marks.push_back(PendingMark { name, due, frames: self.phrase_frames });
        self.phrase_frames = 0;
        self.position = Position::AfterMark;
        self.totals.marks_received += 1;
    }

    /// Drops the queued audio and returns the names of every pending mark, to echo at once. Their
    /// phrases do not count as played.
    pub fn clear(&mut self) -> Vec<String> {
        self.finish_spurt();
        self.drains_at = None;
        self.position = Position::Idle;
        self.phrase_frames = 0;
        self.totals.clears_received += 1;
        let released: Vec<String> = self.marks.drain(..).map(|mark| mark.name).collect();
        self.totals.marks_echoed += released.len() as u64;
        released
    }

    /// Returns when the next pending mark is due.
    pub fn next_due(&self) -> Option<Instant> {
        self.marks.front().map(|mark| mark.due)
    }

    /// Removes and returns the marks whose audio has played by `now`, to echo in order.
    pub fn played_marks(&mut self, now: Instant) -> Vec<PendingMark> {
        let mut played = Vec::new();
        while self.marks.front().is_some_and(|mark| mark.due <= now) {
            let mark = self.marks.pop_front().expect("front was checked");
            self.totals.played_phrase_frames.push(mark.frames);
            played.push(mark);
        }
        self.totals.marks_echoed += played.len() as u64;
        played
    }

    /// Ends the stream at `now` and returns what it measured.
    pub fn finish(mut self, now: Instant) -> PlayoutTotals {
        self.finish_spurt();
        self.totals.unconfirmed_frames = self.phrase_frames;
        self.totals.unplayed_at_end = self.drains_at.map_or(Duration::ZERO, |end| end.saturating_duration_since(now));
        self.totals
    }

    fn finish_spurt(&mut self) {
        extend_lateness(&mut self.totals.lateness_micros, &self.spurt);
        extend_lateness(&mut self.totals.seen_lateness_micros, &self.spurt_seen);
        self.spurt.clear();
        self.spurt_seen.clear();
    }
}

/// Appends the lateness of each frame of one spurt, given its arrival times, in microseconds.
fn extend_lateness(lateness_micros: &mut Vec<u32>, spurt: &[Instant]) {
    let Some(&first) = spurt.first() else {
        return;
    };
    let arrivals: Vec<Duration> = spurt.iter().map(|&arrival| arrival - first).collect();
    let lateness = spurt_lateness(&arrivals);
    lateness_micros.extend(lateness.iter().map(|late| late.as_micros().min(u32::MAX as u128) as u32));
}
