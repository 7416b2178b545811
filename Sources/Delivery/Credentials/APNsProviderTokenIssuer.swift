import Foundation
import ReminderCore

/// Signs APNs provider tokens with a .p8 key. APNs refuses a token older than an hour
/// and one renewed more often than every 20 minutes (`TooManyProviderTokenUpdates`),
/// so a token is renewed once it is `renewalAge` old (40 minutes: in the middle of that
/// window) and never sent once it is an hour old.
public struct APNsProviderTokenIssuer: TokenIssuer {
    static let maximumAge: TimeInterval = 3_600
    private let key: APNsSigningKey
    private let renewalAge: TimeInterval

    public init(key: APNsSigningKey) {
        self.init(key: key, renewalAge: 40 * 60)
    }

    /// `renewalAge`: other than 40 minutes only in tests.
    init(key: APNsSigningKey, renewalAge: TimeInterval) {
        self.key = key
        self.renewalAge = min(renewalAge, Self.maximumAge)
    }

    public func issue(now: Date) async throws(DeliveryFailure) -> IssuedToken {
        // `iat` is whole seconds: the age counts from there, as APNs counts it.
        let issuedAt = Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down))
        do {
            return IssuedToken(
                value: try key.providerToken(issuedAt: issuedAt), renewAt: issuedAt.addingTimeInterval(renewalAge),
                expiresAt: issuedAt.addingTimeInterval(Self.maximumAge))
        } catch {
            throw .transient("auth", "the APNs provider token could not be signed")
        }
    }

    public var description: String { "provider tokens of the \(key)" }
}
