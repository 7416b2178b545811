import Foundation
import ReminderCore

/// A token and its schedule: used as it is until `renewAt`, renewed after that, and
/// never sent from `expiresAt` on (then the provider would refuse it anyway).
public struct IssuedToken: Sendable, Equatable, CustomStringConvertible {
    public let value: String
    public let renewAt: Date
    public let expiresAt: Date

    public init(value: String, renewAt: Date, expiresAt: Date) {
        self.value = value
        self.renewAt = min(renewAt, expiresAt)
        self.expiresAt = expiresAt
    }

    /// An access token that its issuer says lives `lifetime` from `requestedAt` (when
    /// the request for it left, so that this side's clock runs out before the issuer's).
    /// It is renewed when a tenth of its lifetime is left, five minutes at most: 55
    /// minutes into Google's one-hour tokens, and still in time for the two-second ones
    /// of the tests.
    public static func accessToken(_ value: String, requestedAt: Date, lifetime: Duration) -> IssuedToken {
        let seconds = Double(lifetime.components.seconds) + Double(lifetime.components.attoseconds) / 1e18
        let margin = min(300, seconds / 10)
        let expiresAt = requestedAt.addingTimeInterval(seconds)
        return IssuedToken(value: value, renewAt: expiresAt.addingTimeInterval(-margin), expiresAt: expiresAt)
    }

    public var description: String { "token (redacted), renewed at \(renewAt), expires at \(expiresAt)" }
}

/// Makes a new token: exchanges a signed assertion at a token endpoint, or signs one
/// locally. Failures are transient with class `auth`.
public protocol TokenIssuer: Sendable, CustomStringConvertible {
    func issue(now: Date) async throws(DeliveryFailure) -> IssuedToken
}
