-- The first schema: inbox (deduplication), reminders and their transitions, and the
-- dead-letter outbox. Applied in one transaction by `notification-service migrate`.

-- Every idempotency key ever accepted, with a hash of its payload: the same key with
-- the same payload again is a duplicate; with another payload, a publisher bug.
CREATE TABLE inbox (
    idempotency_key text PRIMARY KEY,
    payload_sha256 bytea NOT NULL,
    reminder_id text NOT NULL,
    source_partition integer NOT NULL,
    source_offset bigint NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);

-- One row per reminder (the publisher's reminder_id), in its current state.
CREATE TABLE reminders (
    id bigserial PRIMARY KEY,
    reminder_id text NOT NULL UNIQUE,
    user_id text NOT NULL,
    state text NOT NULL CHECK (state IN
        ('PENDING', 'SCHEDULED', 'SENDING', 'DELIVERED', 'FAILED', 'RETRY', 'DEAD_LETTER', 'CANCELLED')),
    time_zone text NOT NULL,
    deliver_at timestamptz,
    deliver_at_local timestamp,
    quiet_start time,
    quiet_end time,
    expires_at timestamptz,
    -- When the dispatcher may send: the delivery time in UTC, after quiet hours.
    due_at timestamptz,
    channels jsonb NOT NULL,
    content jsonb NOT NULL,
    correlation_id text,
    attempts integer NOT NULL DEFAULT 0,
    lease_until timestamptz,
    -- The event that set this version of the reminder, kept for dead letters and replay.
    idempotency_key text NOT NULL,
    source_topic text NOT NULL,
    source_partition integer NOT NULL,
    source_offset bigint NOT NULL,
    source_key bytea,
    source_value bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- The dispatcher's claim: due work in SCHEDULED or RETRY, oldest first.
CREATE INDEX reminders_due ON reminders (due_at) WHERE state IN ('SCHEDULED', 'RETRY');
-- Reclaiming work whose sender died: SENDING with an expired lease.
CREATE INDEX reminders_lease ON reminders (lease_until) WHERE state = 'SENDING';
CREATE INDEX reminders_user ON reminders (user_id);

-- Every state change, for `GET /v1/reminders/{id}`.
CREATE TABLE reminder_transitions (
    id bigserial PRIMARY KEY,
    reminder_id bigint NOT NULL REFERENCES reminders (id) ON DELETE CASCADE,
    from_state text,
    to_state text NOT NULL,
    event text NOT NULL,
    attempt integer NOT NULL DEFAULT 0,
    error_class text,
    detail text,
    at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reminder_transitions_reminder ON reminder_transitions (reminder_id, id);

-- The dead-letter outbox: written in the transaction that decides a failure, published
-- to reminders.dlq by the relay, which then sets published_at.
CREATE TABLE dead_letters (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    seq bigserial NOT NULL UNIQUE,
    reason text NOT NULL CHECK (reason IN
        ('invalid_event', 'idempotency_conflict', 'delivery_exhausted', 'permanent_failure', 'expired')),
    error text NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    original_topic text NOT NULL,
    original_partition integer NOT NULL,
    original_offset bigint NOT NULL,
    message_key bytea,
    message_value bytea,
    -- The original message's headers: [{"key": "...", "value": "<base64>" or null}].
    message_headers jsonb NOT NULL DEFAULT '[]',
    idempotency_key text,
    correlation_id text,
    reminder_id bigint REFERENCES reminders (id),
    failed_at timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
-- A message read twice (a crash between the database commit and the offset commit)
-- is dead-lettered once.
CREATE UNIQUE INDEX dead_letters_ingest_once ON dead_letters (original_topic, original_partition, original_offset, reason)
    WHERE reason IN ('invalid_event', 'idempotency_conflict');
CREATE INDEX dead_letters_unpublished ON dead_letters (seq) WHERE published_at IS NULL;
CREATE INDEX dead_letters_reason_failed ON dead_letters (reason, failed_at);
CREATE INDEX dead_letters_failed ON dead_letters (failed_at);

-- Replays already applied: replaying the same dead letter twice resets the reminder once.
CREATE TABLE dead_letter_replays (
    dead_letter_id uuid PRIMARY KEY REFERENCES dead_letters (id),
    replayed_at timestamptz NOT NULL DEFAULT now()
);
