/// A cancel or a replacement that arrived while a delivery attempt was in flight. It
/// cannot stop the send, so it waits on the reminder for the attempt's outcome:
/// `CompletionPlanner` applies it unless the provider accepted the attempt. The raw
/// values are what the database stores (`reminders.pending_change`).
public enum PendingChange: String, Sendable, Hashable, CaseIterable {
    case cancel
    case replace

    /// The event it applies once the attempt in flight has ended without delivery.
    public var event: ReminderEventKind {
        switch self {
        case .cancel: .cancel
        case .replace: .replace
        }
    }

    /// The pending change an event deferred in flight becomes; nil for an event that is
    /// never deferred.
    public init?(deferring event: ReminderEventKind) {
        switch event {
        case .cancel: self = .cancel
        case .replace: self = .replace
        default: return nil
        }
    }
}
