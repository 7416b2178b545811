-- A new reminder's first transition, its creation (PENDING to SCHEDULED on its schedule
-- event, ReminderStateMachine.creation), is recorded by the reminder's row instead of a
-- row of its own in reminder_transitions: ingest wrote a history row, and two index
-- entries, for every reminder it created, all of it known from the reminder row.
--
-- `creation_in_row`: the row records its creation, at `created_at`, for occurrence
-- `creation_occurrence` (the occurrence the reminder was created with; NULL for a
-- one-off). Rows written before this migration keep their creation in
-- reminder_transitions and have false. A constant default: adding the columns rewrites
-- nothing.
ALTER TABLE reminders
    ADD COLUMN creation_in_row boolean NOT NULL DEFAULT false,
    ADD COLUMN creation_occurrence integer;

-- A reminder's whole history, in order (`id`): the creation its row records (id 0,
-- before every transition row), then its transition rows. What `GET
-- /v1/reminders/{id}` shows.
CREATE VIEW reminder_history AS
    SELECT 0::bigint AS id, r.id AS reminder_id, 'PENDING'::text AS from_state, 'SCHEDULED'::text AS to_state,
        'schedule'::text AS event, 0 AS attempt, NULL::text AS error_class, NULL::text AS detail, r.created_at AS at,
        r.creation_occurrence AS occurrence
    FROM reminders r
    WHERE r.creation_in_row
    UNION ALL
    SELECT t.id, t.reminder_id, t.from_state, t.to_state, t.event, t.attempt, t.error_class, t.detail, t.at,
        t.occurrence
    FROM reminder_transitions t;
