import NIOCore
import PostgresNIO
import ReminderCore
import TestSupport
import Testing

@testable import ReminderStore

/// Arrays with NULL elements, bound in the binary format and read back by PostgreSQL.
@Suite(.timeLimit(.minutes(6)))
struct NullableArrayRoundTripTests {
    /// Binds `values` as one array and reads each element back as PostgreSQL prints it
    /// (`expression` of the element `x`), in order; nil for NULL.
    private func roundTrip<Element: NullableArrayElement>(
        _ values: [Element?], _ client: PostgresClient, reading expression: String = "x::text"
    ) async throws -> [String?] {
        var binds = PostgresBindings()
        binds.append(NullableArray(values))
        let rows = try await client.query(
            PostgresQuery(
                unsafeSQL: """
                    SELECT \(expression) FROM unnest($1::\(Element.sqlTypeName)[]) WITH ORDINALITY AS t(x, ord)
                    ORDER BY ord
                    """, binds: binds), logger: TestDatabase.logger)
        var texts: [String?] = []
        for try await text in rows.decode(String?.self) { texts.append(text) }
        return texts
    }

    @Test func textKeepsNullApartFromTheEmptyString() async throws {
        let texts = try await TestDatabase.withDatabase(migrated: false) { client, _ in
            try await roundTrip(["ab", nil, "", "ü"], client)
        }
        #expect(texts == ["ab", nil, "", "ü"])
    }

    @Test func integersRoundTripWithNulls() async throws {
        let (int8s, int4s) = try await TestDatabase.withDatabase(migrated: false) { client, _ in
            (
                try await roundTrip([Int64.max, nil, Int64.min], client),
                try await roundTrip([nil, Int32.min, 7], client)
            )
        }
        #expect(int8s == ["9223372036854775807", nil, "-9223372036854775808"])
        #expect(int4s == [nil, "-2147483648", "7"])
    }

    @Test func boolsAndDoublesRoundTripWithNulls() async throws {
        let (bools, doubles) = try await TestDatabase.withDatabase(migrated: false) { client, _ in
            (try await roundTrip([true, nil, false], client), try await roundTrip([1.5, nil, -0.25], client))
        }
        #expect(bools == ["true", nil, "false"])
        #expect(doubles == ["1.5", nil, "-0.25"])
    }

    @Test func byteaKeepsNullApartFromNoBytes() async throws {
        let texts = try await TestDatabase.withDatabase(migrated: false) { client, _ in
            try await roundTrip(
                [ByteBuffer(bytes: [0, 0xFF]), nil, ByteBuffer()], client, reading: "encode(x, 'hex')")
        }
        #expect(texts == ["00ff", nil, ""])
    }

    @Test func instantsArriveAsTimestamptzToTheMicrosecond() async throws {
        let texts = try await TestDatabase.withDatabase(migrated: false) { client, _ in
            try await roundTrip(
                [Instant(microsecondsSinceEpoch: 1_774_769_400_123_456), nil, Instant(secondsSinceEpoch: 0)], client,
                reading: #"to_char(x AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')"#)
        }
        #expect(texts == ["2026-03-29T07:30:00.123456", nil, "1970-01-01T00:00:00.000000"])
    }

    @Test func wallClockTimesArriveAsTimestampAndTimesOfDayAsTime() async throws {
        let local = LocalDateTime(
            date: CivilDate(year: 2026, month: 3, day: 29)!, time: LocalTime(hour: 2, minute: 30)!)
        let early = LocalDateTime(
            date: CivilDate(year: 1969, month: 12, day: 31)!, time: LocalTime(hour: 23, minute: 59)!, second: 59)
        let times = [LocalTime(hour: 22, minute: 0)!, nil, LocalTime(hour: 0, minute: 1)!]
        let (timestamps, timesOfDay) = try await TestDatabase.withDatabase(migrated: false) { client, _ in
            (try await roundTrip([local, nil, early], client), try await roundTrip(times, client))
        }
        #expect(timestamps == ["2026-03-29 02:30:00", nil, "1969-12-31 23:59:59"])
        #expect(timesOfDay == ["22:00:00", nil, "00:01:00"])
    }

    @Test func jsonTextArrivesAsJSONB() async throws {
        let values = [JSONText(#"{"b":[null,1.50],"a":"é"}"#), nil, JSONText("[]")]
        let (texts, types) = try await TestDatabase.withDatabase(migrated: false) { client, _ in
            (try await roundTrip(values, client), try await roundTrip(values, client, reading: "jsonb_typeof(x)"))
        }
        #expect(texts == [#"{"a": "é", "b": [null, 1.50]}"#, nil, "[]"])
        #expect(types == ["object", nil, "array"])
    }

    /// The statements bound these values as text and cast them; the binary forms must
    /// store the same values.
    @Test func eachTimeAndJSONValueEqualsItsTextFormCast() async throws {
        try await TestDatabase.withDatabase(migrated: false) { client, _ in
            let instants: [Instant?] = [
                Instant(microsecondsSinceEpoch: 1_774_769_400_000_001), Instant(secondsSinceEpoch: -86_400 * 365),
            ]
            let locals: [LocalDateTime?] = [
                LocalDateTime(date: CivilDate(year: 2026, month: 10, day: 25)!, time: LocalTime(hour: 2, minute: 30)!),
                LocalDateTime(date: CivilDate(year: 9999, month: 12, day: 31)!, time: LocalTime(hour: 23, minute: 59)!),
            ]
            let times: [LocalTime?] = [LocalTime(hour: 7, minute: 5)!, LocalTime(hour: 23, minute: 59)!]
            let documents: [JSONText?] = [
                JSONText(#"{"title":"T","body":"B","data":{"k":[1,2]}}"#), JSONText(#"[{"type":"sms"}]"#),
            ]
            var binds = PostgresBindings()
            binds.append(NullableArray(instants))
            binds.append(NullableArray(instants.map { $0?.description }))
            binds.append(NullableArray(locals))
            binds.append(NullableArray(locals.map { $0?.description }))
            binds.append(NullableArray(times))
            binds.append(NullableArray(times.map { $0?.description }))
            binds.append(NullableArray(documents))
            binds.append(NullableArray(documents.map { $0.map { String(decoding: $0.bytes, as: UTF8.self) } }))
            let rows = try await client.query(
                PostgresQuery(
                    unsafeSQL: """
                        SELECT i = it::timestamptz, l = lt::timestamp, t = tt::time, j = jt::jsonb
                        FROM unnest($1::timestamptz[], $2::text[], $3::timestamp[], $4::text[], $5::time[], $6::text[],
                            $7::jsonb[], $8::text[]) AS u(i, it, l, lt, t, tt, j, jt)
                        """, binds: binds), logger: TestDatabase.logger)
            var compared = 0
            for try await (instant, local, time, json) in rows.decode((Bool, Bool, Bool, Bool).self) {
                #expect(instant && local && time && json)
                compared += 1
            }
            #expect(compared == 2)
        }
    }

    @Test func emptyAndAllNullArraysKeepTheirLength() async throws {
        try await TestDatabase.withDatabase(migrated: false) { client, _ in
            var binds = PostgresBindings()
            binds.append(NullableArray([String?]()))
            binds.append(NullableArray([nil, nil] as [Int64?]))
            let row = try await client.query(
                PostgresQuery(
                    unsafeSQL: "SELECT cardinality($1::text[]), cardinality($2::int8[]), array_position($2, NULL)",
                    binds: binds), logger: TestDatabase.logger
            ).collect().first!.decode((Int32, Int32, Int32).self)
            #expect(row == (0, 2, 1))
        }
    }
}
