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
        let (date, secondOfDay, micros) = utcParts
        return date.description + "T" + Self.clock(secondOfDay) + (micros > 0 ? Self.fraction(micros) : "") + "Z"
    }

    /// The day in UTC, the second of that day and the microseconds of that second.
    private var utcParts: (date: CivilDate, secondOfDay: Int64, micros: Int64) {
        let seconds = microsecondsSinceEpoch.floorDivided(by: 1_000_000)
        let days = seconds.floorDivided(by: 86_400)
        return (CivilDate(daysSinceEpoch: days), seconds - days * 86_400, microsecondsSinceEpoch - seconds * 1_000_000)
    }

    /// `HH:MM:SS`.
    private static func clock(_ secondOfDay: Int64) -> String {
        pad2(secondOfDay / 3600) + ":" + pad2(secondOfDay % 3600 / 60) + ":" + pad2(secondOfDay % 60)
    }

    /// `.` and six digits.
    private static func fraction(_ micros: Int64) -> String {
        let digits = String(micros)
        return "." + String(repeating: "0", count: 6 - digits.count) + digits
    }

    /// RFC 3339 in UTC with all six fractional digits: the text the status records'
    /// times have, as PostgreSQL writes them (`to_char(… AT TIME ZONE 'UTC',
    /// 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`, `StatusEventStore.utc`).
    public var sixDigitText: String {
        let (date, secondOfDay, micros) = utcParts
        // PostgreSQL writes a year before 1 as its number BC (0 is 1 BC) with no marker,
        // in four digits or as many as it takes.
        let year = Int64(date.year < 1 ? 1 - date.year : date.year)
        let yearDigits = max(4, String(year).count)
        // Written in place: this is a status record's due time, one for each new reminder.
        return String(unsafeUninitializedCapacity: yearDigits + 23) { text in
            var end = 0
            func put(_ value: Int64, digits: Int) {
                var rest = value
                for position in stride(from: end + digits - 1, through: end, by: -1) {
                    text[position] = UInt8(ascii: "0") + UInt8(rest % 10)
                    rest /= 10
                }
                end += digits
            }
            func put(_ character: Unicode.Scalar) {
                text[end] = UInt8(ascii: character)
                end += 1
            }
            put(year, digits: yearDigits)
            put("-")
            put(Int64(date.month), digits: 2)
            put("-")
            put(Int64(date.day), digits: 2)
            put("T")
            put(secondOfDay / 3600, digits: 2)
            put(":")
            put(secondOfDay % 3600 / 60, digits: 2)
            put(":")
            put(secondOfDay % 60, digits: 2)
            put(".")
            put(micros, digits: 6)
            put("Z")
            return end
        }
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
