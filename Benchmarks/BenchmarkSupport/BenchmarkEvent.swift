import Foundation

/// The reminder events the service benchmarks publish.
public enum BenchmarkEvent {
    /// A schedule event for one webhook reminder due at `dueAt` (seconds since 1970).
    public static func webhook(_ id: String, user: Int, dueAt: Double, url: String) -> [UInt8] {
        Array(
            """
            {"schema_version":1,"type":"schedule","idempotency_key":"\(id)","reminder_id":"\(id)",\
            "user_id":"user-\(user)","timezone":"Europe/Berlin","deliver_at":"\(text(dueAt))",\
            "channels":[{"type":"webhook","url":"\(url)"}],\
            "content":{"title":"Stand-up","body":"The daily stand-up starts now.","data":{"room":"4.12"}}}
            """.utf8)
    }

    /// RFC 3339, UTC, milliseconds.
    public static func text(_ seconds: Double) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: seconds))
    }
}
