/// Why a reminder or an event went to the dead-letter topic (the `x-dlq-reason` values).
public enum DeadLetterReason: String, Sendable, Equatable, CaseIterable {
    case invalidEvent = "invalid_event"
    case idempotencyConflict = "idempotency_conflict"
    case deliveryExhausted = "delivery_exhausted"
    case permanentFailure = "permanent_failure"
    case expired = "expired"
}
