import ReminderCore

/// The Date header in RFC 5322's format, always in UTC (`Thu, 01 Jan 1970 00:00:00 +0000`),
/// computed from an `Instant` so that tests can fix the clock; English names whatever the
/// process's locale.
enum SMTPDateHeader {
    private static let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    static func format(_ instant: Instant) -> String {
        let seconds = floorDivide(instant.microsecondsSinceEpoch, 1_000_000)
        let days = floorDivide(seconds, 86_400)
        let secondOfDay = seconds - days * 86_400
        let date = CivilDate(daysSinceEpoch: days)
        // 1970-01-01 was a Thursday.
        let weekday = weekdays[Int(((days % 7) + 7 + 4) % 7)]
        return "\(weekday), \(twoDigits(date.day)) \(months[date.month - 1]) \(date.year) "
            + "\(twoDigits(secondOfDay / 3600)):\(twoDigits(secondOfDay % 3600 / 60)):\(twoDigits(secondOfDay % 60)) +0000"
    }

    private static func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
        let quotient = value / divisor
        return value % divisor != 0 && value < 0 ? quotient - 1 : quotient
    }

    private static func twoDigits<T: BinaryInteger>(_ value: T) -> String {
        value < 10 ? "0\(value)" : "\(value)"
    }
}
