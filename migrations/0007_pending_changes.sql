-- A cancel or replace that arrives while a reminder is being sent cannot stop the send:
-- it waits on the reminder until the attempt's outcome is recorded. Accepted by the
-- provider: the reminder is delivered and the change came too late. Any other outcome
-- (a failure, a lease that ran out): a pending cancel cancels it, a pending replacement
-- becomes the reminder. `ReminderCore` decides; the history says which.
ALTER TABLE reminders ADD COLUMN pending_change text CHECK (pending_change IN ('cancel', 'replace'));

-- The pending replacement of a reminder in flight: the columns a schedule sets, as they
-- would be written to `reminders`, with the event they came from.
CREATE TABLE pending_replacements (
    id bigint PRIMARY KEY REFERENCES reminders (id) ON DELETE CASCADE,
    reminder_id text NOT NULL,
    user_id text NOT NULL,
    -- The state the reminder takes when the replacement applies.
    state text NOT NULL,
    time_zone text NOT NULL,
    deliver_at timestamptz,
    deliver_at_local timestamp,
    quiet_start time,
    quiet_end time,
    expires_at timestamptz,
    due_at timestamptz,
    channels jsonb NOT NULL,
    content jsonb NOT NULL,
    correlation_id text,
    idempotency_key text NOT NULL,
    source_topic text NOT NULL,
    source_partition integer NOT NULL,
    source_offset bigint NOT NULL,
    source_key bytea,
    source_value bytea NOT NULL,
    trace_parent text,
    trace_state text,
    requested_at timestamptz NOT NULL DEFAULT now()
);
