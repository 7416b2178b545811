-- An invalid or conflicting message read twice (a crash between the database commit and
-- the offset commit) is dead-lettered once: 0001 recognised it by topic, partition,
-- offset and reason alone. A topic deleted and created again under the same name (a
-- reset test environment, a broker that keeps topics in memory) starts its offsets
-- over, and a new bad message at an offset seen before was then dropped without a
-- trace. The message's bytes are part of what identifies it now.
DROP INDEX dead_letters_ingest_once;
CREATE UNIQUE INDEX dead_letters_ingest_once
    ON dead_letters (original_topic, original_partition, original_offset, reason,
                     md5(coalesce(message_value, '\x'::bytea)))
    WHERE reason IN ('invalid_event', 'idempotency_conflict');
