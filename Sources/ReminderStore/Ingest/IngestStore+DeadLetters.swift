import Foundation
import NIOCore
import PostgresNIO
import ReminderCore

extension IngestStore {
    /// A consumed message ingest dead-letters: invalid, a conflicting duplicate, or a
    /// replay that cannot be applied. One row of `dead_letters`.
    struct DeadLetter: BatchRow {
        let record: IngestRecord
        /// The message's value as bound (empty when it had none).
        let payload: ByteBuffer
        let reason: String
        let error: String
        let idempotencyKey: String?
        let correlationID: String?
        /// Whose event it was, when known (erasure finds the user's dead letters by it).
        let userID: String?

        static let columns: [BoundColumn<DeadLetter>] = [
            BoundColumn("reason") { $0.reason },
            BoundColumn("error") { $0.error },
            BoundColumn("original_topic") { $0.record.topic },
            BoundColumn("original_partition") { $0.record.partition },
            BoundColumn("original_offset") { $0.record.offset },
            BoundColumn("message_key") { $0.record.key.map { ByteBuffer(bytes: $0) } },
            BoundColumn("message_value") { $0.record.value == nil ? nil : $0.payload },
            BoundColumn("message_headers") { JSONText(IngestStore.headersJSON($0.record.headers)) },
            BoundColumn("idempotency_key") { $0.idempotencyKey },
            BoundColumn("correlation_id") { $0.correlationID },
            BoundColumn("user_id") { $0.userID },
            BoundColumn("trace_parent") { $0.record.trace?.storedTraceParent },
            BoundColumn("trace_state") { $0.record.trace?.storedTraceState },
        ]
    }

    func insertDeadLetters(_ letters: [DeadLetter], on connection: PostgresConnection) async throws {
        guard !letters.isEmpty else { return }
        var binds = PostgresBindings(capacity: DeadLetter.columns.count)
        DeadLetter.bind(letters, into: &binds)
        try await connection.query(PostgresQuery(unsafeSQL: Self.insertDeadLettersSQL, binds: binds), logger: logger)
    }

    private static let insertDeadLettersSQL = """
        INSERT INTO dead_letters (\(DeadLetter.columnList))
        SELECT \(DeadLetter.columnList) FROM \(DeadLetter.unnest(bindingFrom: 1, as: "t"))
        ON CONFLICT DO NOTHING
        """

    /// `[{"key": "...", "value": "<base64>" | null}]`
    static func headersJSON(_ headers: [IngestRecord.Header]) -> String {
        JSONValue.array(
            headers.map { header in
                .object([
                    ("key", .string(header.key)),
                    ("value", header.value.map { .string(Data($0).base64EncodedString()) } ?? .null),
                ])
            }
        ).serialized
    }
}
