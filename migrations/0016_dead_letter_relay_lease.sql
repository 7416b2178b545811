-- One dead-letter relay publishes the outbox at a time, as one status relay does
-- (0015). Two relays reading the same records each published them: the relays of two
-- instances that read the outbox while the other's batch was on its way put the same
-- dead letters on the topic twice. The relays ask for this row's lease before they read
-- (`OutboxLease`).
INSERT INTO outbox_leases (outbox, holder, expires_at) VALUES ('dead_letters', '', '-infinity');
