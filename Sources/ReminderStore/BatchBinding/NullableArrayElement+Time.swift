import NIOCore
import PostgresNIO
import ReminderCore

/// PostgreSQL's binary forms of times count microseconds from 2000-01-01T00:00:00; ours
/// count them (`Instant`) or seconds (`LocalDateTime`) from 1970-01-01T00:00:00.
private let secondsFrom1970To2000: Int64 = 946_684_800

/// `timestamptz`: microseconds since 2000-01-01T00:00:00Z. `Instant` keeps microseconds,
/// as the column does, so nothing is rounded on the way.
extension Instant: NullableArrayElement {
    static var elementType: PostgresDataType { .timestamptz }
    static var arrayType: PostgresDataType { .timestamptzArray }
    static var sqlTypeName: String { "timestamptz" }
    var encodedByteCount: Int { 8 }

    func encodeElement<JSONEncoder: PostgresJSONEncoder>(
        into buffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>
    ) {
        buffer.writeInteger(microsecondsSinceEpoch - secondsFrom1970To2000 * 1_000_000)
    }
}

/// `timestamp` (without zone): the wall-clock time's microseconds since 2000-01-01T00:00:00.
extension LocalDateTime: NullableArrayElement {
    static var elementType: PostgresDataType { .timestamp }
    static var arrayType: PostgresDataType { .timestampArray }
    static var sqlTypeName: String { "timestamp" }
    var encodedByteCount: Int { 8 }

    func encodeElement<JSONEncoder: PostgresJSONEncoder>(
        into buffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>
    ) {
        buffer.writeInteger((wallSeconds - secondsFrom1970To2000) * 1_000_000)
    }
}

/// `time` (without zone): microseconds since midnight.
extension LocalTime: NullableArrayElement {
    static var elementType: PostgresDataType { .time }
    static var arrayType: PostgresDataType { .timeArray }
    static var sqlTypeName: String { "time" }
    var encodedByteCount: Int { 8 }

    func encodeElement<JSONEncoder: PostgresJSONEncoder>(
        into buffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>
    ) {
        buffer.writeInteger(Int64(minuteOfDay) * 60_000_000)
    }
}
