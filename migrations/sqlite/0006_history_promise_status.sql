-- The dialer lists broken promises settled in a date range to schedule follow-ups.
CREATE INDEX promises_status_settled_on ON promises (status, settled_on);
