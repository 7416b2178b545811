-- The status outbox is keyed by its sequence instead of a random uuid. Every record
-- inserted a random entry into the uuid key's B-tree (scattered page writes, a full-page
-- image for many of them after each checkpoint) and a second one into the sequence's;
-- the relay now marks records by sequence, which rises with every insert, and nothing
-- looks a record up by its id. The id stays, and still goes out as `x-status-id`.
ALTER TABLE status_events DROP CONSTRAINT status_events_pkey;
ALTER TABLE status_events DROP CONSTRAINT status_events_seq_key;
ALTER TABLE status_events ADD PRIMARY KEY (seq);
