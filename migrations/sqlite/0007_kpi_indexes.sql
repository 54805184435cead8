-- Indexes for the KPI queries of src/kpi/sql.rs.
--
-- Every KPI over attempts reads the attempts started in a range of days and, of each, only the
-- columns that decide what it counts as (direction, answered, disposition, verified), its
-- length, its cost, its debt, campaign and segment. SQLite reads a query from an index alone
-- when the index has every column the query uses, so this index makes those queries covering
-- index scans of the range that never read the wider table rows. It replaces the plain index
-- on started_at, whose range scans it serves as well.
CREATE INDEX attempts_started_at_kpi ON attempts (started_at, direction, answered, disposition, right_party_contact,
    ended_at, cost_micros, debt_id, campaign, segment);
DROP INDEX attempts_started_at;
