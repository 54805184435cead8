-- Each reply's timings of a call, in the order of its turns, for the console's call view and
-- history: milliseconds from the end of the caller's speech to each stage, NULL for a stage the
-- turn did not reach.
CREATE TABLE call_turns (
    attempt_id          INTEGER NOT NULL REFERENCES attempts (id) ON DELETE CASCADE,
    turn                INTEGER NOT NULL,
    at                  TEXT NOT NULL,
    final_transcript_ms INTEGER,
    decision_ms         INTEGER,
    first_audio_ms      INTEGER,
    first_frame_ms      INTEGER,
    first_mark_ms       INTEGER,
    PRIMARY KEY (attempt_id, turn)
);
