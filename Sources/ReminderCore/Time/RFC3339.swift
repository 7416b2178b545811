/// RFC 3339 timestamps with a mandatory offset (`Z` or `±HH:MM`), e.g.
/// `2026-03-29T09:30:00+02:00` or `2026-03-29T07:30:00.250Z`.
public enum RFC3339 {
    /// The instant, or nil when `text` is not an RFC 3339 date-time with an offset.
    public static func parse(_ text: String) -> Instant? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 20, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
            bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: "t"),
            bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"),
            let year = digits(bytes, 0, 4), let month = digits(bytes, 5, 2), let day = digits(bytes, 8, 2),
            let hour = digits(bytes, 11, 2), let minute = digits(bytes, 14, 2), let second = digits(bytes, 17, 2),
            let date = CivilDate(year: year, month: month, day: day), hour < 24, minute < 60, second < 60
        else { return nil }
        var index = 19
        var micros: Int64 = 0
        if bytes[index] == UInt8(ascii: ".") {
            index += 1
            let start = index
            while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
                if index - start < 6 { micros = micros * 10 + Int64(bytes[index] - UInt8(ascii: "0")) }
                index += 1
            }
            let count = index - start
            guard count > 0, count <= 9 else { return nil }
            for _ in min(count, 6)..<6 { micros *= 10 }
        }
        guard index < bytes.count else { return nil }
        var offsetSeconds: Int64 = 0
        switch bytes[index] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            index += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard bytes.count == index + 6, bytes[index + 3] == UInt8(ascii: ":"),
                let offsetHours = digits(bytes, index + 1, 2), let offsetMinutes = digits(bytes, index + 4, 2),
                offsetHours < 24, offsetMinutes < 60
            else { return nil }
            let magnitude = Int64(offsetHours * 3600 + offsetMinutes * 60)
            offsetSeconds = bytes[index] == UInt8(ascii: "+") ? magnitude : -magnitude
            index += 6
        default:
            return nil
        }
        guard index == bytes.count else { return nil }
        let wall = date.daysSinceEpoch * 86_400 + Int64(hour * 3600 + minute * 60 + second)
        return Instant(microsecondsSinceEpoch: (wall - offsetSeconds) * 1_000_000 + micros)
    }
}
