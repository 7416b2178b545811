/// Why a reminder or an event went to the dead-letter topic (the `x-dlq-reason` values).
public enum DeadLetterReason: String, Sendable, Equatable, CaseIterable {
    case invalidEvent = "invalid_event"
    case idempotencyConflict = "idempotency_conflict"
    case deliveryExhausted = "delivery_exhausted"
    case permanentFailure = "permanent_failure"
    case expired = "expired"
    /// A cancel or replace named a reminder of another user: nothing changed.
    case ownershipConflict = "ownership_conflict"
}

extension DeadLetterReason {
    /// Whether replaying a dead letter of this reason can help: a reminder that failed to
    /// be delivered is reset and delivered again. An invalid or conflicting event would
    /// fail the same way (a replace of another user's reminder too); its publisher must
    /// send a corrected event instead.
    public var isReplayable: Bool {
        switch self {
        case .deliveryExhausted, .permanentFailure, .expired: true
        case .invalidEvent, .idempotencyConflict, .ownershipConflict: false
        }
    }
}
