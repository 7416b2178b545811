import Foundation
import ReminderCore

extension CivilDate {
    /// Tomorrow's date on the wall clock of `zone` (an IANA name), as of now: the first day
    /// of a series that starts in the future. Read it once per test and derive every other
    /// day from it, so that a test running across the zone's midnight stays on one day.
    public static func tomorrow(in zone: String) -> CivilDate {
        let timeZone = TimeZone(identifier: zone)!
        let now = Date()
        let seconds = Int64(now.timeIntervalSince1970) + Int64(timeZone.secondsFromGMT(for: now))
        return LocalDateTime(wallSeconds: seconds).date.adding(days: 1)
    }
}
