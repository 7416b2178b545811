-- /metrics reports how many reminders are in each state that is still moving (PENDING,
-- SCHEDULED, SENDING, FAILED, RETRY) at every scrape of every instance. Counting over
-- the whole table grows with the history, which is never pruned; over this index it
-- grows with the reminders in flight only. DELIVERED, DEAD_LETTER and CANCELLED are
-- counted by the service's counters instead.
CREATE INDEX reminders_active_state ON reminders (state)
    WHERE state NOT IN ('DELIVERED', 'DEAD_LETTER', 'CANCELLED');
