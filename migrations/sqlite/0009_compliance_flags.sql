-- The compliance check's verdict on each outbound attempt, so the compliance counters read two
-- flags instead of applying the contact rules to the whole ledger on every query.
--
-- `outside_window`: the attempt started, in its debtor's time zone, outside the calling window
-- of the debtor's country and region, or on one of its holidays.
-- `over_cap`: the debt's outbound attempts started in the period of one of the attempt's caps
-- up to and including its start (of any debtor, campaign or segment) number more than the cap.
--
-- NULL in either column means the attempt has not been checked yet. The check writes both
-- flags of every outbound attempt of a debt together, because a new attempt can change the
-- cap flags of the debt's later attempts. Inbound attempts are never checked and stay NULL.
ALTER TABLE attempts ADD COLUMN outside_window BOOLEAN;
ALTER TABLE attempts ADD COLUMN over_cap BOOLEAN;

-- The check finds the debts of unchecked attempts here. The index is empty once the ledger is
-- checked, so counting after a few new calls stays cheap.
CREATE INDEX attempts_unchecked ON attempts (debt_id)
    WHERE direction = 'outbound' AND (outside_window IS NULL OR over_cap IS NULL);
-- The check reads every outbound attempt of a batch of debts here, and the counts can read the
-- flags from it without the table.
CREATE INDEX attempts_outbound_debt ON attempts (debt_id, started_at, outside_window, over_cap)
    WHERE direction = 'outbound';

-- A debtor's country, region and time zone decide the rules of their attempts, so changing
-- one (a portfolio import can) marks those attempts unchecked.
CREATE TRIGGER debtors_place_changed
    AFTER UPDATE OF country, region, time_zone ON debtors
    FOR EACH ROW
    WHEN OLD.country IS NOT NEW.country OR OLD.region IS NOT NEW.region OR OLD.time_zone IS NOT NEW.time_zone
BEGIN
    UPDATE attempts SET outside_window = NULL, over_cap = NULL
    WHERE debtor_id = NEW.id AND direction = 'outbound';
END;
