-- The status outbox keeps only records still to be published, and its key on `seq` is
-- its one index. It had two B-trees on `seq`: the key, and the partial index of
-- unpublished records that the relay's reads and marks went through. Every status
-- record (one per stored event, one per delivery) wrote an entry into both. The relay's
-- reads start after the records known to be published (OutboxScanFloor), so the key
-- serves them; the partial index was needed only where published records stayed in the
-- table (RETENTION_STATUS_EVENTS_DAYS), for reads not to walk all of them.
--
-- Those kept records now move to `published_status_events` when they are published,
-- where retention deletes them by age. An instance of an older version that marks
-- records published during a rolling upgrade leaves them here, marked; the relay's reads
-- skip them.
CREATE TABLE published_status_events (
    seq bigint PRIMARY KEY,
    id uuid NOT NULL,
    reminder bigint NOT NULL,
    reminder_id text NOT NULL,
    user_id text NOT NULL,
    correlation_id text,
    type text NOT NULL,
    occurrence integer,
    attempt integer NOT NULL,
    channel text,
    provider text,
    will_retry boolean,
    due_at timestamptz,
    reason text,
    error text,
    detail text,
    at timestamptz NOT NULL,
    published_at timestamptz NOT NULL
);

DROP INDEX status_events_published;
CREATE INDEX published_status_events_at ON published_status_events (at);

INSERT INTO published_status_events (seq, id, reminder, reminder_id, user_id, correlation_id, type, occurrence,
    attempt, channel, provider, will_retry, due_at, reason, error, detail, at, published_at)
SELECT seq, id, reminder, reminder_id, user_id, correlation_id, type, occurrence, attempt, channel, provider,
    will_retry, due_at, reason, error, detail, at, published_at
FROM status_events WHERE published_at IS NOT NULL;
DELETE FROM status_events WHERE published_at IS NOT NULL;

DROP INDEX status_events_unpublished;
