import Foundation
import ReminderCore

extension Date {
    /// The time as the PostgreSQL stores' reads render it (`to_char(… AT TIME ZONE 'UTC',
    /// 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`): RFC 3339 in UTC, always with six digits of
    /// microseconds, so that a memory store's answer reads like the database's.
    var databaseText: String {
        let text = Instant(self).description
        return text.contains(".") ? text : String(text.dropLast()) + ".000000Z"
    }
}
