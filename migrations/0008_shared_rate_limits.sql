-- Rate limits shared by every instance: one token bucket per provider account (its
-- name), refilled by the database's elapsed time whenever tokens are taken, in the one
-- statement that takes them (RateLimitStore). A row is created full on its first use.
CREATE TABLE rate_limits (
    name text PRIMARY KEY,
    tokens double precision NOT NULL,
    updated_at timestamptz NOT NULL
);
