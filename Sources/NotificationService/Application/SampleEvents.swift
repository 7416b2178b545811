import Foundation

/// Events for trying the service out (`dev`, `publish --sample`).
public enum SampleEvents {
    /// The user every sample is for; messages are keyed by it.
    public static let userID = "user-42"

    /// A valid reminder, due `dueIn` from now, by email to `email`.
    public static func reminder(dueIn: Duration = .seconds(5), email: String = "someone@example.invalid") -> String {
        let seconds = Double(dueIn.components.seconds) + Double(dueIn.components.attoseconds) / 1e18
        let deliverAt = ISO8601DateFormatter().string(from: Date().addingTimeInterval(seconds))
        return """
            {"schema_version":1,"type":"schedule","idempotency_key":"sample-\(UUID().uuidString)",\
            "reminder_id":"sample-\(UUID().uuidString.prefix(8))","user_id":"\(userID)","timezone":"Europe/Berlin",\
            "deliver_at":"\(deliverAt)","channels":[{"type":"email","to":"\(email)"}],\
            "content":{"title":"Sample reminder","body":"Sent by notification-service"},\
            "correlation_id":"sample-\(UUID().uuidString.prefix(8))"}
            """
    }

    /// Misses its channels: it goes to the dead-letter topic with reason invalid_event.
    public static func invalid() -> String {
        """
        {"schema_version":1,"type":"schedule","idempotency_key":"sample-invalid-\(UUID().uuidString)",\
        "reminder_id":"sample-invalid","user_id":"\(userID)","deliver_at":"2030-01-01T09:00:00Z",\
        "content":{"title":"No channels","body":"This one is dead-lettered"}}
        """
    }
}
