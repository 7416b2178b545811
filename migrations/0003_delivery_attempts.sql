-- Delivery: where each reminder stands on each of its channels, and a record of every
-- channel tried.

-- Per channel, in the event's order: transient failures so far, and one status
-- character ('o' open, 'p' failed permanently, 'x' attempts exhausted). A retry
-- resumes from them, also after a restart.
ALTER TABLE reminders
    ADD COLUMN channel_failures integer[] NOT NULL DEFAULT '{}',
    ADD COLUMN channel_status text NOT NULL DEFAULT '';

-- One row per channel tried in a delivery attempt. No personal data: the channel's
-- type, never its address; the provider's status line, never its free text.
CREATE TABLE delivery_attempts (
    id bigserial PRIMARY KEY,
    reminder_id bigint NOT NULL,
    attempt integer NOT NULL,
    channel_index integer NOT NULL,
    channel text NOT NULL,
    provider text NOT NULL,
    outcome text NOT NULL CHECK (outcome IN ('delivered', 'transient', 'permanent', 'circuit_open')),
    error_class text,
    answer text NOT NULL,
    latency_ms double precision NOT NULL,
    -- On the attempt that ended in a retry: the wait chosen.
    retry_delay_ms bigint,
    at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX delivery_attempts_reminder ON delivery_attempts (reminder_id, id);
