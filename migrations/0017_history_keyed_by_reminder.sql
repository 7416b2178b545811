-- A reminder's transitions and delivery attempts are keyed by (reminder_id, id) instead
-- of id alone. Both tables had two B-trees: the key on `id`, which nothing looks a row up
-- by, and (reminder_id, id), which serves every read (a reminder's history and attempts,
-- in order) and retention's deletes. Each delivery writes three such rows (the claim's
-- transition, the outcome's, the attempt), so it wrote three index entries no query used.
-- The pair is unique since `id` is, and stays the key, so the tables keep a primary key
-- (logical replication identifies deleted rows by it).
--
-- Building the keys holds both tables' exclusive locks while it reads them: on a large
-- history, apply it at a quiet time (docs/operations.md, "Upgrading").
ALTER TABLE reminder_transitions DROP CONSTRAINT reminder_transitions_pkey;
DROP INDEX reminder_transitions_reminder;
ALTER TABLE reminder_transitions ADD PRIMARY KEY (reminder_id, id);

ALTER TABLE delivery_attempts DROP CONSTRAINT delivery_attempts_pkey;
DROP INDEX delivery_attempts_reminder;
ALTER TABLE delivery_attempts ADD PRIMARY KEY (reminder_id, id);
