-- A cancel or replace that names another user's reminder changes nothing and is
-- dead-lettered with a reason of its own. The check is added NOT VALID and validated
-- after: the rows already there satisfy it, and validating takes a lighter lock than
-- checking while adding.
ALTER TABLE dead_letters DROP CONSTRAINT dead_letters_reason_check;
ALTER TABLE dead_letters ADD CONSTRAINT dead_letters_reason_check CHECK (reason IN
    ('invalid_event', 'idempotency_conflict', 'ownership_conflict', 'delivery_exhausted', 'permanent_failure',
     'expired')) NOT VALID;
ALTER TABLE dead_letters VALIDATE CONSTRAINT dead_letters_reason_check;
