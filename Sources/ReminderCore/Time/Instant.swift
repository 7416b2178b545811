/// A point in time, in microseconds since 1970-01-01T00:00:00Z: the precision
/// PostgreSQL's `timestamptz` keeps.
public struct Instant: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var microsecondsSinceEpoch: Int64

    public init(microsecondsSinceEpoch: Int64) {
        self.microsecondsSinceEpoch = microsecondsSinceEpoch
    }

    public init(secondsSinceEpoch: Int64) {
        self.microsecondsSinceEpoch = secondsSinceEpoch * 1_000_000
    }

    /// The instant `duration` later (earlier when negative), to the microsecond.
    public func advanced(by duration: Duration) -> Instant {
        let (seconds, attoseconds) = duration.components
        return Instant(
            microsecondsSinceEpoch: microsecondsSinceEpoch + seconds * 1_000_000 + attoseconds / 1_000_000_000_000)
    }

    public static func < (lhs: Instant, rhs: Instant) -> Bool {
        lhs.microsecondsSinceEpoch < rhs.microsecondsSinceEpoch
    }

    /// RFC 3339 in UTC, with microseconds when there are any.
    public var description: String {
        let seconds = microsecondsSinceEpoch.floorDivided(by: 1_000_000)
        let micros = microsecondsSinceEpoch - seconds * 1_000_000
        let days = seconds.floorDivided(by: 86_400)
        let secondOfDay = seconds - days * 86_400
        let date = CivilDate(daysSinceEpoch: days)
        var text =
            date.description + "T" + pad2(secondOfDay / 3600) + ":" + pad2(secondOfDay % 3600 / 60) + ":"
            + pad2(secondOfDay % 60)
        if micros > 0 {
            let digits = String(micros)
            text += "." + String(repeating: "0", count: 6 - digits.count) + digits
        }
        return text + "Z"
    }
}

extension Int64 {
    func floorDivided(by divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}

func pad2<T: BinaryInteger>(_ value: T) -> String {
    value < 10 ? "0\(value)" : "\(value)"
}
