/// How one send over one channel ended: the one vocabulary from the provider's answer to
/// the history. A provider returns a `DeliveryReceipt` or throws a `DeliveryFailure`;
/// its guard (circuit breaker, rate limit) turns that into a `SendOutcome`, adding the
/// case where it did not ask the provider at all; `DeliveryAttemptPlanner` decides the
/// next step from it and `ChannelAttempt` records it.
public enum SendOutcome: Sendable, Equatable {
    case delivered(DeliveryReceipt)
    case failed(DeliveryFailure)
    /// Not sent: the provider's circuit is open; it may let a probe through after
    /// `retryAfter`.
    case circuitOpen(retryAfter: Duration)

    /// No provider is configured for the channel's type: nothing can be sent over it.
    public static let notConfigured = Self.failed(
        .permanent("not_configured", "no provider is configured for this channel"))

    /// The failure, when the send failed.
    public var failure: DeliveryFailure? {
        if case .failed(let failure) = self { return failure }
        return nil
    }
}
