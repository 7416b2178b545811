import Foundation
import PostgresNIO
import ReminderCore
import ReminderStore

/// Stores reminders through the ingest path, as the service would, for the dispatch
/// tests: `count` schedule events with the given channels, due at `dueAt`.
public enum DueReminders {
    public static func event(
        _ index: Int, prefix: String, channels: [[String: Any]], dueAt: Date, expiresAt: Date? = nil,
        title: String = "Dentist", body: String = "Tomorrow at 9:30"
    ) -> [UInt8] {
        var event: [String: Any] = [
            "schema_version": 1, "type": "schedule", "idempotency_key": "\(prefix)-key-\(index)",
            "reminder_id": "\(prefix)-\(index)", "user_id": "user-\(index % 97)",
            "deliver_at": RFC3339Text.format(dueAt), "channels": channels,
            "content": ["title": title, "body": body, "data": ["n": index]],
            "correlation_id": "corr-\(prefix)-\(index)",
        ]
        if let expiresAt { event["expires_at"] = RFC3339Text.format(expiresAt) }
        return EventFixtures.json(event)
    }

    /// Stores the events in batches of 1,000, as partition 0 of `topic`.
    public static func store(
        _ client: PostgresClient, count: Int, prefix: String, channels: [[String: Any]], dueAt: Date = Date(),
        expiresAt: Date? = nil, topic: String = "reminders", sealer: DataSealer? = nil
    ) async throws {
        var offset = 0
        while offset < count {
            let batch = (offset..<min(count, offset + 1_000)).map { index in
                let bytes = event(index, prefix: prefix, channels: channels, dueAt: dueAt, expiresAt: expiresAt)
                return IngestRecord(
                    topic: topic, partition: 0, offset: Int64(index), key: Array("user-\(index % 97)".utf8),
                    value: bytes, headers: [], decoded: .valid(try! ReminderEventDecoder.decode(bytes)))
            }
            _ = try await IngestStore(client: client, logger: TestDatabase.logger, sealer: sealer).ingest(batch)
            offset += batch.count
        }
    }
}

/// RFC 3339 text of a `Date`, UTC, with milliseconds.
public enum RFC3339Text {
    public static func format(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }
}
