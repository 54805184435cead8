//! Outbound audio in fixed 20 ms μ-law frames, and the pacing that sends them in real time.

use std::time::Duration;

use tokio::time::Instant;

use super::mulaw::SILENCE;

/// Bytes in one frame: 20 ms of μ-law at 8 kHz.
pub const FRAME_BYTES: usize = 160;

/// Playout length of one frame in milliseconds.
pub const FRAME_MS: u64 = 20;

/// Cuts μ-law audio into whole frames. The last frame is padded with [`SILENCE`], so a phrase
/// never ends on a partial frame that the carrier would play short.
pub fn into_frames(mulaw: &[u8]) -> Vec<[u8; FRAME_BYTES]> {
    mulaw
        .chunks(FRAME_BYTES)
        .map(|chunk| {
            let mut frame = [SILENCE; FRAME_BYTES];
            frame[..chunk.len()].copy_from_slice(chunk);
            frame
        })
        .collect()
}

/// Schedules outbound frames on an absolute timeline, so pacing never drifts.
///
/// Every deadline is computed from the stream's start, never from the previous send, so a late
/// wake-up delays one frame without moving any later one. Frames go out `lead` ahead of their
/// playout time to keep the carrier's jitter buffer from running dry.
#[derive(Debug, Clone, Copy)]
pub struct Pacer {
    start: Instant,
    lead: Duration,
}

impl Pacer {
    pub fn new(start: Instant, lead: Duration) -> Self {
        Pacer { start, lead }
    }

    /// Returns the instant to send frame `frame_index` (counted from 0 at `start`): its playout
    /// time minus the lead, and never before `start`.
    pub fn deadline(&self, frame_index: u64) -> Instant {
        let playout = self.playout_offset(frame_index);
        self.start + playout.saturating_sub(self.lead)
    }

    /// Returns the instant frame `frame_index` starts playing, with no lead.
    pub fn playout_time(&self, frame_index: u64) -> Instant {
        self.start + self.playout_offset(frame_index)
    }

    pub fn start(&self) -> Instant {
        self.start
    }

    pub fn lead(&self) -> Duration {
        self.lead
    }

    fn playout_offset(&self, frame_index: u64) -> Duration {
        Duration::from_millis(frame_index.saturating_mul(FRAME_MS))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_multiple_has_no_padding() {
        let audio: Vec<u8> = (0..320).map(|n| n as u8).collect();
        let frames = into_frames(&audio);
        assert_eq!(frames.len(), 2);
        assert_eq!(&frames[0][..], &audio[..160]);
        assert_eq!(&frames[1][..], &audio[160..]);
    }

    #[test]
    fn last_frame_is_padded_with_silence() {
        let audio = vec![0x12u8; 170];
        let frames = into_frames(&audio);
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0], [0x12; FRAME_BYTES]);
        assert_eq!(&frames[1][..10], &[0x12; 10]);
        assert_eq!(&frames[1][10..], &[SILENCE; 150]);
    }

    #[test]
    fn empty_audio_has_no_frames() {
        assert!(into_frames(&[]).is_empty());
    }

    #[test]
    fn deadlines_follow_the_frame_grid() {
        let start = Instant::now();
        let pacer = Pacer::new(start, Duration::from_millis(60));
        assert_eq!(pacer.deadline(0), start);
        assert_eq!(pacer.deadline(3), start);
        assert_eq!(pacer.deadline(4), start + Duration::from_millis(20));
        assert_eq!(pacer.deadline(500), start + Duration::from_millis(9_940));
        assert_eq!(pacer.playout_time(500), start + Duration::from_secs(10));
    }

    /// Sends `frames` frames at their deadlines on tokio's clock, spending `work` on each after
    /// it is sent, then waits until the last one finished playing. Returns when each frame was
    /// sent and when the wait ended, relative to the stream's start.
    async fn send_paced(pacer: &Pacer, frames: u64, work: impl Fn(u64) -> Duration) -> (Vec<Duration>, Duration) {
        let mut sent_at = Vec::new();
        for index in 0..frames {
            tokio::time::sleep_until(pacer.deadline(index)).await;
            sent_at.push(pacer.start().elapsed());
            tokio::time::sleep(work(index)).await;
        }
        tokio::time::sleep_until(pacer.deadline(frames)).await;
        (sent_at, pacer.start().elapsed())
    }

    #[tokio::test(start_paused = true)]
    async fn paced_stream_ends_on_time() {
        let lead = Duration::from_millis(60);
        let pacer = Pacer::new(Instant::now(), lead);

        let (sent_at, end) = send_paced(&pacer, 500, |_| Duration::ZERO).await;

        assert_eq!(end, Duration::from_secs(10) - lead);
        assert_eq!(sent_at[0], Duration::ZERO);
        assert_eq!(sent_at[3], Duration::ZERO);
        assert_eq!(sent_at[4], Duration::from_millis(20));
        assert_eq!(sent_at[499], Duration::from_millis(9_980) - lead);
    }

    #[tokio::test(start_paused = true)]
    async fn slow_sends_do_not_drift() {
        let lead = Duration::from_millis(40);
        let pacer = Pacer::new(Instant::now(), lead);

        // 7 ms of work per frame, and one stall of 150 ms at frame 100.
        let work = |index| Duration::from_millis(if index == 100 { 150 } else { 7 });
        let (sent_at, end) = send_paced(&pacer, 500, work).await;

        assert_eq!(end, Duration::from_secs(10) - lead);
        assert_eq!(sent_at[101], Duration::from_millis(100 * 20 + 150) - lead);
        assert_eq!(sent_at[120], Duration::from_millis(120 * 20) - lead);
        assert_eq!(sent_at[499], Duration::from_millis(9_980) - lead);
    }
}
