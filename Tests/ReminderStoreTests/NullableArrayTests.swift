import NIOCore
import PostgresNIO
import ReminderCore
import Testing

@testable import ReminderStore

/// The binary array format, byte by byte (`array_recv` in PostgreSQL's arrayfuncs.c
/// reads it): number of dimensions, has-null flag, element OID, then per dimension its
/// length and lower bound, then each element as a length (-1 for NULL) and its bytes.
@Suite struct NullableArrayTests {
    private func bytes<Element: NullableArrayElement>(_ elements: [Element?]) -> [UInt8] {
        var buffer = ByteBuffer()
        NullableArray(elements).encode(into: &buffer, context: .default)
        return Array(buffer.readableBytesView)
    }

    @Test func aTextArrayWithANullFlagsItAndWritesItsLengthAsMinusOne() {
        #expect(
            bytes(["ab", nil, ""]) == [
                0, 0, 0, 1,  // one dimension
                0, 0, 0, 1,  // has a NULL
                0, 0, 0, 25,  // text
                0, 0, 0, 3,  // three elements
                0, 0, 0, 1,  // from index 1
                0, 0, 0, 2, 0x61, 0x62,  // "ab"
                0xFF, 0xFF, 0xFF, 0xFF,  // NULL
                0, 0, 0, 0,  // "": a value of no bytes, not NULL
            ])
    }

    @Test func anArrayWithoutNullsLeavesTheFlagClear() {
        #expect(
            bytes([Int64(1), -2] as [Int64?]) == [
                0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 20, 0, 0, 0, 2, 0, 0, 0, 1,
                0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 1,
                0, 0, 0, 8, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE,
            ])
    }

    @Test func anEmptyArrayHasNoDimensions() {
        #expect(bytes([String?]()) == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 25])
    }

    @Test func anArrayOfOnlyNullsKeepsItsLength() {
        #expect(
            bytes([nil, nil] as [Int32?]) == [
                0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 23, 0, 0, 0, 2, 0, 0, 0, 1,
                0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
            ])
    }

    @Test func eachElementTypeIsBoundAsItsArrayType() {
        #expect(NullableArray<String, [String?]>.psqlType == .textArray)
        #expect(NullableArray<Int64, [Int64?]>.psqlType == .int8Array)
        #expect(NullableArray<Int32, [Int32?]>.psqlType == .int4Array)
        #expect(NullableArray<Bool, [Bool?]>.psqlType == .boolArray)
        #expect(NullableArray<Double, [Double?]>.psqlType == .float8Array)
        #expect(NullableArray<ByteBuffer, [ByteBuffer?]>.psqlType == .byteaArray)
        #expect(NullableArray<Instant, [Instant?]>.psqlType == .timestamptzArray)
        #expect(NullableArray<LocalDateTime, [LocalDateTime?]>.psqlType == .timestampArray)
        #expect(NullableArray<LocalTime, [LocalTime?]>.psqlType == .timeArray)
        #expect(NullableArray<JSONText, [JSONText?]>.psqlType == .jsonbArray)
        #expect(NullableArray<String, [String?]>.psqlFormat == .binary)
    }

    /// The element after the 20 header bytes: its length word and its bytes.
    private func element<Element: NullableArrayElement>(_ value: Element) -> [UInt8] {
        Array(bytes([value])[20...])
    }

    @Test func scalarsUsePostgresNIOsEncodings() {
        #expect(element(Int32(-1)) == [0, 0, 0, 4, 0xFF, 0xFF, 0xFF, 0xFF])
        #expect(element(true) == [0, 0, 0, 1, 1])
        #expect(element(1.5) == [0, 0, 0, 8, 0x3F, 0xF8, 0, 0, 0, 0, 0, 0])
        #expect(element(ByteBuffer(bytes: [0, 0xFF])) == [0, 0, 0, 2, 0, 0xFF])
        #expect(element("é") == [0, 0, 0, 2, 0xC3, 0xA9])
    }

    @Test func anInstantCountsMicrosecondsFromTheYear2000() {
        // 2000-01-01T00:00:01.000002Z
        #expect(
            element(Instant(microsecondsSinceEpoch: 946_684_801_000_002)) == [
                0, 0, 0, 8, 0, 0, 0, 0, 0, 0x0F, 0x42, 0x42,
            ])
        // 1999-12-31T23:59:59Z, before PostgreSQL's epoch.
        #expect(
            element(Instant(secondsSinceEpoch: 946_684_799))
                == [0, 0, 0, 8, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xF0, 0xBD, 0xC0])
    }

    @Test func aWallClockTimeCountsMicrosecondsFromTheYear2000() {
        let local = LocalDateTime(date: CivilDate(year: 2000, month: 1, day: 2)!, time: LocalTime(hour: 0, minute: 0)!)
        // 86,400 s = 0x14_1DD7_6000 µs
        #expect(element(local) == [0, 0, 0, 8, 0, 0, 0, 0x14, 0x1D, 0xD7, 0x60, 0])
    }

    @Test func aTimeOfDayCountsMicrosecondsFromMidnight() {
        // 01:30 = 5,400 s = 0x1_41DD_7600 µs
        #expect(element(LocalTime(hour: 1, minute: 30)!) == [0, 0, 0, 8, 0, 0, 0, 0x01, 0x41, 0xDD, 0x76, 0])
    }

    @Test func jsonTextIsJSONBVersionOneThenTheText() {
        #expect(element(JSONText(#"{"a":1}"#)) == [0, 0, 0, 8, 1] + Array(#"{"a":1}"#.utf8))
    }
}
