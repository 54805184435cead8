//! The lost-frame check: each phrase a carrier played, paired with the bot's transcript line for
//! it, against the frames the stand-in rendered for that text.

use super::carrier::CarrierReport;
use super::speech::InstantTts;
use crate::collections::model::{AttemptId, Speaker};
use crate::collections::Store;

/// Comparison of the frames of played phrases with the frames the stand-in rendered.
#[derive(Debug, Default)]
pub struct PhraseCheck {
    pub checked: u64,
    pub unmatched: u64,
    pub calls_not_checked: u64,
    pub lost_frames: u64,
    pub extra_frames: u64,
}

/// Compares, call by call, the frames received for each played phrase with the frames rendered
/// for it. The session writes a bot line when a phrase's mark comes back as played, so the
/// played phrases and the bot's lines are in the same order.
// NOTE: a call that received a `clear` is left out, because its transcript also contains the
// cut phrase, which the carrier did not play to its mark.
pub async fn check_phrases(store: &dyn Store, tts: &InstantTts, report: &CarrierReport) -> anyhow::Result<PhraseCheck> {
    let mut check = PhraseCheck::default();
    for stream in &report.streams {
        if stream.clears > 0 {
            check.calls_not_checked += 1;
            continue;
        }
        let transcript = store.transcript(AttemptId(stream.attempt_id)).await?;
        let bot_lines: Vec<&str> =
            transcript.iter().filter(|line| line.speaker == Speaker::Bot).map(|line| line.text.as_str()).collect();
        check.unmatched += bot_lines.len().abs_diff(stream.played_phrase_frames.len()) as u64;

        for (text, &received) in bot_lines.iter().zip(&stream.played_phrase_frames) {
            let Some(rendered) = tts.rendered_frames(text) else {
                check.unmatched += 1;
                continue;
            };
            check.checked += 1;
            check.lost_frames += u64::from(rendered.saturating_sub(received));
            check.extra_frames += u64::from(received.saturating_sub(rendered));
        }
    }
    Ok(check)
}
