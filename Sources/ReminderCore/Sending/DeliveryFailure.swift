/// Why a send failed, classified for the dispatcher.
public struct DeliveryFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
        /// Might work later: retry with backoff.
        case transient
        /// Will not work on this channel: fall back to the next one.
        case permanent
    }

    public var kind: Kind
    /// A short label for records and metrics: `http_503`, `timeout`, `connection`,
    /// `smtp_550`, `unregistered`, `circuit_open`, `invalid_request`.
    public var errorClass: String
    /// The provider's answer or the local error, without personal data.
    public var answer: String
    /// How long the provider asked us to wait (`Retry-After`), if it did.
    public var retryAfter: Duration?
    /// The recipient is refused (an unknown mailbox, an unregistered device, a number
    /// that cannot take texts): another provider of the channel would be refused too, so
    /// such a failure does not fail over (`ProviderFailover`).
    public var concernsRecipient: Bool

    public init(
        _ kind: Kind, errorClass: String, answer: String, retryAfter: Duration? = nil, concernsRecipient: Bool = false
    ) {
        self.kind = kind
        self.errorClass = errorClass
        self.answer = answer
        self.retryAfter = retryAfter
        self.concernsRecipient = concernsRecipient
    }

    public static func transient(_ errorClass: String, _ answer: String, retryAfter: Duration? = nil) -> Self {
        Self(.transient, errorClass: errorClass, answer: answer, retryAfter: retryAfter)
    }

    public static func permanent(_ errorClass: String, _ answer: String) -> Self {
        Self(.permanent, errorClass: errorClass, answer: answer)
    }

    /// A permanent failure that is the recipient's: no provider of the channel can reach
    /// them at this address.
    public static func recipient(_ errorClass: String, _ answer: String) -> Self {
        Self(.permanent, errorClass: errorClass, answer: answer, concernsRecipient: true)
    }

    public var description: String { "\(kind.rawValue) failure \(errorClass): \(answer)" }

    /// The send was cancelled (shutdown): it says nothing about the provider.
    public static let cancelled = Self.transient("cancelled", "the send was cancelled")

    public var isCancellation: Bool { kind == .transient && errorClass == Self.cancelled.errorClass }

    /// The provider answered 429, or named throttling in another status (`throttled`,
    /// as AWS does with 400 `Throttling`): it is up and asks for fewer sends, which its
    /// `Retry-After` and the rate limit handle; counted as a failure, a throttling
    /// provider's circuit would open and stay open.
    public var isRateLimited: Bool {
        kind == .transient && (errorClass == "http_429" || errorClass == "throttled" || answer.hasPrefix("HTTP 429"))
    }
}
