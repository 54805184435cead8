-- Indexes for the KPI queries of src/kpi/sql.rs.
--
-- Every KPI over attempts reads the attempts started in a range of days and, of each, only the
-- columns that decide what it counts as (direction, answered, disposition, verified), its
-- length, its cost, its debt, campaign and segment. This index holds all of them, so PostgreSQL
-- answers those queries with a parallel index-only scan of the range and never reads the wider
-- table rows (phone, call SID, recording path). It replaces the plain index on started_at, whose
-- range scans it serves as well.
--
-- Its cost: finishing an attempt changes indexed columns, so that update can no longer be a
-- heap-only tuple update and writes one entry in each of the table's indexes.
CREATE INDEX attempts_started_at_kpi ON attempts (started_at)
    INCLUDE (direction, answered, disposition, right_party_contact, ended_at, cost_micros, debt_id, campaign, segment);
DROP INDEX attempts_started_at;
