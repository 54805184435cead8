-- Each reply's timings of a call, in the order of its turns, for the console's call view and
-- history: milliseconds from the end of the caller's speech to each stage, NULL for a stage the
-- turn did not reach.
CREATE TABLE call_turns (
    attempt_id          BIGINT NOT NULL REFERENCES attempts (id) ON DELETE CASCADE,
    turn                INTEGER NOT NULL,
    at                  TIMESTAMPTZ NOT NULL,
    final_transcript_ms BIGINT,
    decision_ms         BIGINT,
    first_audio_ms      BIGINT,
    first_frame_ms      BIGINT,
    first_mark_ms       BIGINT,
    PRIMARY KEY (attempt_id, turn)
);
