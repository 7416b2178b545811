import Foundation
import NIOCore
import PostgresNIO
import ReminderCore

extension IngestStore {
    /// A consumed message ingest dead-letters: invalid, a conflicting duplicate, or a
    /// replay that cannot be applied. One row of `dead_letters`.
    struct DeadLetter: BatchRow {
        let record: IngestRecord
        let reason: String
        let error: String
        let idempotencyKey: String?
        let correlationID: String?
        /// Whose event it was, when known (erasure finds the user's dead letters by it).
        let userID: String?
        /// The message's key and value as stored: sealed with key `sealedWith`, or
        /// plaintext when it is nil (then the message's own arrays).
        private(set) var storedKey: [UInt8]?
        private(set) var storedValue: [UInt8]?
        private(set) var sealedWith: String?

        init(
            record: IngestRecord, reason: String, error: String, idempotencyKey: String?,
            correlationID: String?, userID: String?
        ) {
            self.record = record
            self.reason = reason
            self.error = error
            self.idempotencyKey = idempotencyKey
            self.correlationID = correlationID
            self.userID = userID
            storedKey = record.key
            storedValue = record.value
        }

        /// The dead letter with its message's key and value sealed by `sealer` (nil: as it is).
        func sealed(by sealer: DataSealer?) -> DeadLetter {
            guard let sealer else { return self }
            var letter = self
            letter.sealedWith = sealer.currentKeyID
            letter.storedKey = storedKey.map { sealer.seal($0, for: .messageKey) }
            letter.storedValue = storedValue.map { sealer.seal($0, for: .message) }
            return letter
        }

        static let columns: [BoundColumn<DeadLetter>] = [
            BoundColumn("reason") { $0.reason },
            BoundColumn("error") { $0.error },
            BoundColumn("original_topic") { $0.record.topic },
            BoundColumn("original_partition") { $0.record.partition },
            BoundColumn("original_offset") { $0.record.offset },
            BoundColumn("message_key") { $0.storedKey },
            BoundColumn("message_value") { $0.storedValue },
            BoundColumn("message_headers") { JSONText(IngestStore.headersJSON($0.record.headers)) },
            BoundColumn("idempotency_key") { $0.idempotencyKey },
            BoundColumn("correlation_id") { $0.correlationID },
            BoundColumn("user_id") { $0.userID },
            BoundColumn("trace_parent") { $0.record.trace?.storedTraceParent },
            BoundColumn("trace_state") { $0.record.trace?.storedTraceState },
            BoundColumn("sealed_with") { $0.sealedWith },
        ]
    }

    func insertDeadLetters(_ letters: [DeadLetter], on connection: PostgresConnection) async throws {
        guard !letters.isEmpty else { return }
        var binds = PostgresBindings(capacity: DeadLetter.columns.count)
        DeadLetter.bind(letters.map { $0.sealed(by: sealer) }, into: &binds)
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
