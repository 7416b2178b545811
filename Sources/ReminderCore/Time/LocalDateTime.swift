/// A wall-clock date and time with no zone or offset, as in `deliver_at_local`.
public struct LocalDateTime: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var date: CivilDate
    public var time: LocalTime
    public var second: Int

    public init(date: CivilDate, time: LocalTime, second: Int = 0) {
        self.date = date
        self.time = time
        self.second = second
    }

    /// Seconds since 1970-01-01T00:00:00 on this wall clock (as if it were UTC).
    public var wallSeconds: Int64 {
        date.daysSinceEpoch * 86_400 + Int64(time.hour * 3600 + time.minute * 60 + second)
    }

    public init(wallSeconds: Int64) {
        let days = wallSeconds.floorDivided(by: 86_400)
        let secondOfDay = Int(wallSeconds - days * 86_400)
        date = CivilDate(daysSinceEpoch: days)
        time = LocalTime(hour: secondOfDay / 3600, minute: secondOfDay % 3600 / 60)!
        second = secondOfDay % 60
    }

    public static func < (lhs: LocalDateTime, rhs: LocalDateTime) -> Bool { lhs.wallSeconds < rhs.wallSeconds }

    public var description: String { "\(date)T\(time):\(pad2(second))" }

    /// Parses `YYYY-MM-DDTHH:MM` or `YYYY-MM-DDTHH:MM:SS`, nothing else.
    public init?(parsing text: String) {
        let bytes = Array(text.utf8)
        guard bytes.count == 16 || bytes.count == 19, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
            bytes[10] == UInt8(ascii: "T"), bytes[13] == UInt8(ascii: ":"),
            let year = digits(bytes, 0, 4), let month = digits(bytes, 5, 2), let day = digits(bytes, 8, 2),
            let hour = digits(bytes, 11, 2), let minute = digits(bytes, 14, 2),
            let date = CivilDate(year: year, month: month, day: day), let time = LocalTime(hour: hour, minute: minute)
        else { return nil }
        var second = 0
        if bytes.count == 19 {
            guard bytes[16] == UInt8(ascii: ":"), let parsed = digits(bytes, 17, 2), parsed < 60 else { return nil }
            second = parsed
        }
        self.init(date: date, time: time, second: second)
    }
}

/// A time of day to the minute, as in quiet hours.
public struct LocalTime: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var hour: Int
    public var minute: Int

    public init?(hour: Int, minute: Int) {
        guard (0..<24).contains(hour), (0..<60).contains(minute) else { return nil }
        self.hour = hour
        self.minute = minute
    }

    /// Parses `HH:MM`.
    public init?(parsing text: String) {
        let bytes = Array(text.utf8)
        guard bytes.count == 5, bytes[2] == UInt8(ascii: ":"), let hour = digits(bytes, 0, 2),
            let minute = digits(bytes, 3, 2)
        else { return nil }
        self.init(hour: hour, minute: minute)
    }

    public var minuteOfDay: Int { hour * 60 + minute }

    public static func < (lhs: LocalTime, rhs: LocalTime) -> Bool { lhs.minuteOfDay < rhs.minuteOfDay }

    public var description: String { pad2(hour) + ":" + pad2(minute) }
}

/// The decimal number in `bytes[start..<start+count]`, or nil unless all are digits.
func digits(_ bytes: [UInt8], _ start: Int, _ count: Int) -> Int? {
    guard start + count <= bytes.count else { return nil }
    var value = 0
    for index in start..<(start + count) {
        let byte = bytes[index]
        guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
        value = value * 10 + Int(byte - UInt8(ascii: "0"))
    }
    return value
}
