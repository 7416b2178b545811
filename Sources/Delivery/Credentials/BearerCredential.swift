import ReminderCore

/// Where a push provider gets the bearer token it sends with each request: a fixed one
/// for development, or one that renews itself (an FCM access token exchanged for a
/// service account's signed assertion, an APNs provider token signed with a .p8 key).
///
/// Implementations never show a token or key in their `description`: credentials end
/// up in log lines and error messages by accident, so they carry nothing worth hiding.
public protocol BearerCredential: Sendable, CustomStringConvertible {
    /// A token to send now: the cached one while it is fresh, else a renewed one.
    /// Throws a transient failure of class `auth` when none can be had.
    func token() async throws(DeliveryFailure) -> String

    /// The provider refused `rejected` as expired: a token to retry the send with once,
    /// or nil when renewing cannot help (a fixed token). A token already replaced since
    /// `rejected` was handed out is returned without another renewal, so that many
    /// sends refused at once cause one renewal.
    func renew(after rejected: String) async throws(DeliveryFailure) -> String?
}

/// A token set by the deployment (`FCM_ACCESS_TOKEN`, `APNS_AUTH_TOKEN`), for
/// development: it is never renewed, so push stops once it expires.
public struct StaticBearerCredential: BearerCredential {
    private let value: String

    public init(_ value: String) {
        self.value = value
    }

    public func token() async throws(DeliveryFailure) -> String { value }

    public func renew(after rejected: String) async throws(DeliveryFailure) -> String? { nil }

    public var description: String { "static bearer token (redacted)" }
}
