-- The W3C trace context (`traceparent`, `tracestate`) of the event that set each
-- reminder and of each dead letter: the delivery, hours after the event was consumed,
-- and the dead-letter record join the trace the publisher started. Null when the
-- event carried none and tracing is off. Nullable columns without a default: adding
-- them rewrites nothing.
ALTER TABLE reminders ADD COLUMN trace_parent text, ADD COLUMN trace_state text;
ALTER TABLE dead_letters ADD COLUMN trace_parent text, ADD COLUMN trace_state text;
