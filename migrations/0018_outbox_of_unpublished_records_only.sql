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

-- The same columns in the same order (types and NOT NULL; no defaults: a record moves
-- with its values).
CREATE TABLE published_status_events (LIKE status_events);
ALTER TABLE published_status_events ALTER COLUMN published_at SET NOT NULL, ADD PRIMARY KEY (seq);

DROP INDEX status_events_published;
CREATE INDEX published_status_events_at ON published_status_events (at);

INSERT INTO published_status_events SELECT * FROM status_events WHERE published_at IS NOT NULL;
DELETE FROM status_events WHERE published_at IS NOT NULL;

DROP INDEX status_events_unpublished;
