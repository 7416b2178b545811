-- One status relay publishes the outbox at a time. Two relays reading the same records
-- each published them, and could put a reminder's record after a later one of the same
-- reminder: one relay read `scheduled`, the other `scheduled` and `cancelled`, published
-- both and deleted them, then the first published its `scheduled` again. The relay of
-- every instance asks for the lease before it reads; the holder renews it, a graceful
-- shutdown gives it up, and once it expires (the holder was killed or cut off) the next
-- relay to ask takes it (`OutboxLease`).
--
-- One row per outbox, so that asking is an UPDATE that writes nothing unless it takes or
-- renews the lease: a refused ask neither locks the row nor takes a transaction id.
CREATE TABLE outbox_leases (
    outbox text PRIMARY KEY,
    holder text NOT NULL,
    expires_at timestamptz NOT NULL
);

INSERT INTO outbox_leases (outbox, holder, expires_at) VALUES ('status_events', '', '-infinity');
