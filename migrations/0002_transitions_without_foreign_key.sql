-- reminder_transitions is the append-only history of reminders: ingest and dispatch
-- write a reminder's transitions in the same transaction that inserts or locks the
-- reminder, and reminders are never deleted while they have history. The foreign key
-- re-checked that fact once per row, inside every ingest transaction: a tenth of the
-- database's work at full ingest rate (perf profile of scripts/bench-ingest.sh). The
-- index on (reminder_id, id) stays for the history lookups.
ALTER TABLE reminder_transitions DROP CONSTRAINT reminder_transitions_reminder_id_fkey;
