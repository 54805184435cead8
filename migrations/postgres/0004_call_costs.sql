-- What each call cost: one line per category (speech-to-text, LLM tokens, text-to-speech,
-- telephony) and provider, in the category's unit, priced in millionths of a dollar. The
-- attempt keeps the total so cost KPIs need no join.
ALTER TABLE attempts ADD COLUMN cost_micros BIGINT NOT NULL DEFAULT 0;

CREATE TABLE attempt_costs (
    attempt_id  BIGINT NOT NULL REFERENCES attempts (id),
    category    TEXT COLLATE "C" NOT NULL,
    provider    TEXT COLLATE "C" NOT NULL,
    quantity    BIGINT NOT NULL,
    cost_micros BIGINT NOT NULL,
    PRIMARY KEY (attempt_id, category, provider)
);
