import PostgresNIO
import ReminderCore
import ReminderStore
import TestSupport
import Testing

/// What ingest stores in each nullable column: NULL for what an event or message does
/// not carry, the value itself for what it does.
@Suite(.timeLimit(.minutes(6)))
struct IngestStoredValuesTests {
    private func record(_ json: String, key: [UInt8]?, trace: TraceContextHeaders?) -> IngestRecord {
        let bytes = Array(json.utf8)
        return IngestRecord(
            topic: "reminders", partition: 0, offset: 3, key: key, value: bytes, headers: [],
            decoded: .init(decoding: bytes),
            trace: trace)
    }

    @Test func whatAScheduleDoesNotCarryIsStoredAsNull() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let event = """
                {"schema_version":1,"type":"schedule","idempotency_key":"k1","reminder_id":"r-1","user_id":"u",\
                "timezone":"UTC","deliver_at":"2030-01-01T08:00:00Z","channels":[{"type":"sms","to":"+4915112345678"}],\
                "content":{"title":"T","body":"B"}}
                """
            _ = try await IngestStore(client: client, logger: TestDatabase.logger).ingest([
                record(event, key: nil, trace: nil)
            ])
            let row = try await client.query(
                """
                SELECT deliver_at IS NULL, deliver_at_local IS NULL, quiet_start IS NULL, quiet_end IS NULL,
                    expires_at IS NULL, correlation_id IS NULL, source_key IS NULL, trace_parent IS NULL,
                    trace_state IS NULL, content::text
                FROM reminders
                """, logger: TestDatabase.logger
            ).collect().first!.decode((Bool, Bool, Bool, Bool, Bool, Bool, Bool, Bool, Bool, String).self)
            #expect(row.0 == false)
            #expect(row.1 && row.2 && row.3 && row.4 && row.5 && row.6 && row.7 && row.8)
            #expect(row.9 == #"{"body": "B", "title": "T"}"#)
        }
    }

    @Test func whatAScheduleCarriesIsStoredAsGiven() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let event = """
                {"schema_version":1,"type":"schedule","idempotency_key":"k1","reminder_id":"r-1","user_id":"u",\
                "timezone":"Europe/Berlin","deliver_at_local":"2030-01-01T06:30:15",\
                "channels":[{"type":"sms","to":"+4915112345678"}],"content":{"title":"T","body":"B","data":{"n":1}},\
                "quiet_hours":{"start":"22:00","end":"07:00"},"expires_at":"2030-01-02T00:00:00.5+01:00",\
                "correlation_id":"c-1"}
                """
            // An empty tracestate is none: stored as NULL, as it was before.
            let trace = TraceContextHeaders(
                traceParent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", traceState: "")
            _ = try await IngestStore(client: client, logger: TestDatabase.logger).ingest([
                record(event, key: [0, 1], trace: trace)
            ])
            let row = try await client.query(
                """
                SELECT deliver_at IS NULL, deliver_at_local::text, quiet_start::text, quiet_end::text,
                    to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
                    to_char(due_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'), correlation_id,
                    encode(source_key, 'hex'), trace_parent, trace_state IS NULL, content->'data'->>'n'
                FROM reminders
                """, logger: TestDatabase.logger
            ).collect().first!.decode(
                (Bool, String, String, String, String, String, String, String, String, Bool, String).self)
            #expect(row.0)
            #expect(row.1 == "2030-01-01 06:30:15")
            #expect(row.2 == "22:00:00")
            #expect(row.3 == "07:00:00")
            #expect(row.4 == "2030-01-01T23:00:00.500000")
            // 06:30 in Berlin falls in the quiet hours until 07:00 CET.
            #expect(row.5 == "2030-01-01T06:00:00.000000")
            #expect(row.6 == "c-1")
            #expect(row.7 == "0001")
            #expect(row.8 == trace.traceParent)
            #expect(row.9)
            #expect(row.10 == "1")
        }
    }

    @Test func anInvalidMessageWithoutKeyOrValueIsDeadLetteredWithNulls() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let message = IngestRecord(
                topic: "reminders", partition: 0, offset: 9, key: nil, value: nil,
                headers: [.init(key: "h", value: nil)],
                decoded: .invalid(EventValidationError(field: "", message: "the message has no value")))
            let summary = try await IngestStore(client: client, logger: TestDatabase.logger).ingest([message])
            #expect(summary.invalid == 1)
            let row = try await client.query(
                """
                SELECT message_key IS NULL, message_value IS NULL, idempotency_key IS NULL, correlation_id IS NULL,
                    trace_parent IS NULL, trace_state IS NULL, message_headers::text, original_offset
                FROM dead_letters
                """, logger: TestDatabase.logger
            ).collect().first!.decode((Bool, Bool, Bool, Bool, Bool, Bool, String, Int64).self)
            #expect(row.0 && row.1 && row.2 && row.3 && row.4 && row.5)
            #expect(row.6 == #"[{"key": "h", "value": null}]"#)
            #expect(row.7 == 9)
        }
    }
}
