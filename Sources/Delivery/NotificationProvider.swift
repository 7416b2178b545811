import ReminderCore

/// Sends one reminder over one channel. Every provider classifies its failures as
/// transient (worth a retry later) or permanent (move to the next channel), bounds each
/// send by a timeout, and passes the reminder id as idempotency key where its protocol
/// has one.
public protocol NotificationProvider: Sendable {
    /// Names the provider in records, logs and metrics ("smtp", "webhook", "fcm", …).
    var name: String { get }

    /// Delivers `request`, or throws why not.
    func send(_ request: DeliveryRequest) async throws(DeliveryFailure) -> DeliveryReceipt

    /// The connections the provider bounds itself (SMTP's to its relay), as metrics show
    /// them; nil for a provider that does not (the HTTP providers share the transport's
    /// pool).
    var connectionUse: ConnectionSlots.Use? { get }
}

extension NotificationProvider {
    public var connectionUse: ConnectionSlots.Use? { nil }
}
