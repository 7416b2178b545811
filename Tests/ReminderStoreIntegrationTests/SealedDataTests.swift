import Crypto
import Foundation
import PostgresNIO
import ReminderCore
import TestSupport
import Testing

@testable import ReminderStore

/// Personal data sealed at rest (`DATA_ENCRYPTION_KEYS`), against PostgreSQL: the rows hold
/// no address, content or original message in any form, and every reader opens them.
@Suite(.timeLimit(.minutes(6)))
struct SealedDataTests {
    private let address = "ada.lovelace@example.org"
    private let title = "Appointment at the oncology ward"
    private let k1 = SymmetricKey(size: .bits256)
    private let k2 = SymmetricKey(size: .bits256)

    private func sealer(_ keys: [String: SymmetricKey], _ current: String) throws -> DataSealer {
        try DataSealer(keys: keys, current: current)
    }

    private func event(_ index: Int, title: String? = nil, reminder: String? = nil) -> [UInt8] {
        EventFixtures.json([
            "schema_version": 1, "type": "schedule", "idempotency_key": "s-key-\(index)",
            "reminder_id": reminder ?? "s-\(index)", "user_id": "user-7", "deliver_at": RFC3339Text.format(Date()),
            "channels": [["type": "email", "to": address], ["type": "sms", "to": "+4915112345678"]],
            "content": ["title": title ?? self.title, "body": "Bring the letter"],
        ])
    }

    private func record(_ bytes: [UInt8], offset: Int) -> IngestRecord {
        IngestRecord(
            topic: "reminders", partition: 0, offset: Int64(offset), key: Array("user-7".utf8), value: bytes,
            headers: [], decoded: .init(decoding: bytes))
    }

    private func ingest(_ client: PostgresClient, _ records: [IngestRecord], sealer: DataSealer?) async throws {
        _ = try await IngestStore(client: client, logger: TestDatabase.logger, sealer: sealer).ingest(records)
    }

    /// Every row of `table` as text (bytea as hex), and whether any holds `needle` as
    /// text or as the hex of its bytes.
    private func holds(_ client: PostgresClient, _ table: String, _ needle: String) async throws -> Bool {
        let hex = needle.utf8.map { String(format: "%02x", $0) }.joined()
        var found = false
        let rows = try await client.query(
            PostgresQuery(unsafeSQL: "SELECT row_to_json(t)::text FROM \(table) t"), logger: TestDatabase.logger)
        for try await text in rows.decode(String.self) {
            if text.contains(needle) || text.lowercased().contains(hex) { found = true }
        }
        return found
    }

    private func count(_ client: PostgresClient, _ sql: String) async throws -> Int {
        try await TestDatabase.count(client, sql)
    }

    @Test func sealedRowsHoldNoAddressContentOrMessageYetTheClaimOpensThem() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let sealer = try sealer(["k1": k1], "k1")
            let bytes = event(0)
            try await ingest(client, [record(bytes, offset: 0)], sealer: sealer)
            // The check itself can fail: the same search finds them in a plaintext row.
            try await ingest(client, [record(event(1, reminder: "plain-1"), offset: 1)], sealer: nil)
            #expect(try await holds(client, "(SELECT * FROM reminders WHERE reminder_id = 'plain-1') AS", address))
            try await client.query("DELETE FROM reminders WHERE reminder_id = 'plain-1'", logger: TestDatabase.logger)
            for needle in [address, title, "+4915112345678", "Bring the letter"] {
                #expect(try await !holds(client, "reminders", needle), "\(needle)")
            }
            #expect(
                try await count(
                    client,
                    """
                    SELECT count(*)::int8 FROM reminders WHERE sealed_with = 'k1' AND content = 'null'::jsonb
                        AND channels = '[{"type": "email"}, {"type": "sms"}]'::jsonb
                    """) == 1)
            // The lookups' plaintext: ids, user, due time.
            #expect(
                try await count(
                    client,
                    "SELECT count(*)::int8 FROM reminders WHERE reminder_id = 's-0' AND user_id = 'user-7' AND due_at IS NOT NULL"
                ) == 1)
            let claimed = try #require(
                try await DispatchStore(client: client, logger: TestDatabase.logger, sealer: sealer)
                    .claim(limit: 10, lease: .seconds(60)).first)
            let channels = try StoredDelivery.channels(fromJSON: claimed.channels)
            #expect(channels.map(\.type) == ["email", "sms"])
            #expect(claimed.channels.contains(address))
            #expect(try StoredDelivery.content(fromJSON: claimed.content).title == title)
        }
    }

    @Test func aDeliveryDeadLetterCopiesTheSealedMessageAndTheRelayReadsTheOriginalBytes() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let sealer = try sealer(["k1": k1], "k1")
            let bytes = event(0)
            try await ingest(client, [record(bytes, offset: 0)], sealer: sealer)
            let dispatch = DispatchStore(client: client, logger: TestDatabase.logger, sealer: sealer)
            let claimed = try #require(try await dispatch.claim(limit: 1, lease: .seconds(60)).first)
            try await dispatch.complete([
                .init(
                    id: claimed.id, attempt: claimed.attempt, result: .deadLetter(.permanentFailure, error: "refused"),
                    progress: ChannelProgress(channelCount: 2, failures: [0, 0], statuses: "pp"), errorClass: "x",
                    channelAttempts: [])
            ])
            #expect(try await count(client, "SELECT count(*)::int8 FROM dead_letters WHERE sealed_with = 'k1'") == 1)
            #expect(try await !holds(client, "dead_letters", address))
            // The original message (the user id stays readable in its own column, for erasure).
            #expect(try await !holds(client, "dead_letters", #"{"schema_version":1,"type":"schedule""#))
            let letters = DeadLetterStore(client: client, logger: TestDatabase.logger, sealer: sealer)
            let letter = try #require(try await letters.unpublished(limit: 10).first)
            #expect(letter.value == bytes)
            #expect(letter.key == Array("user-7".utf8))
            let found = try #require(try await letters.find(letter.id))
            #expect(found.message?.value == bytes)
            // Without the key the message cannot be read, and is not given out as it is.
            await #expect(throws: StoreError.self) {
                try await DeadLetterStore(client: client, logger: TestDatabase.logger).unpublished(limit: 10)
            }
        }
    }

    @Test func anInvalidEventIsDeadLetteredSealed() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let sealer = try sealer(["k1": k1], "k1")
            let bytes = Array(#"{"schema_version":1,"to":"\#(address)"}"#.utf8)
            try await ingest(client, [record(bytes, offset: 0)], sealer: sealer)
            #expect(try await count(client, "SELECT count(*)::int8 FROM dead_letters WHERE sealed_with = 'k1'") == 1)
            #expect(try await !holds(client, "dead_letters", address))
            let letter = try #require(
                try await DeadLetterStore(client: client, logger: TestDatabase.logger, sealer: sealer)
                    .unpublished(limit: 10).first)
            #expect(letter.value == bytes && letter.reason == "invalid_event")
        }
    }

    @Test func aReplacementWaitingOnASendIsSealedAndAppliesSealed() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let sealer = try sealer(["k1": k1], "k1")
            try await ingest(client, [record(event(0), offset: 0)], sealer: sealer)
            let dispatch = DispatchStore(client: client, logger: TestDatabase.logger, sealer: sealer)
            let claimed = try #require(try await dispatch.claim(limit: 1, lease: .seconds(60)).first)
            try await ingest(
                client, [record(event(1, title: "Replaced title", reminder: "s-0"), offset: 1)], sealer: sealer)
            #expect(
                try await count(client, "SELECT count(*)::int8 FROM pending_replacements WHERE sealed_with = 'k1'") == 1
            )
            #expect(try await !holds(client, "pending_replacements", "Replaced title"))
            #expect(try await !holds(client, "pending_replacements", address))
            try await dispatch.complete([
                .init(
                    id: claimed.id, attempt: claimed.attempt, result: .retry(after: .zero),
                    progress: ChannelProgress(channelCount: 2), errorClass: nil, channelAttempts: [])
            ])
            let again = try #require(try await dispatch.claim(limit: 1, lease: .seconds(60)).first)
            #expect(try StoredDelivery.content(fromJSON: again.content).title == "Replaced title")
            #expect(try await !holds(client, "reminders", "Replaced title"))
        }
    }

    @Test func resealFromK1ToK2LetsK1GoAndSealsPlaintextRows() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let old = try sealer(["k1": k1], "k1")
            let registry = DataKeyRegistry(client: client, logger: TestDatabase.logger)
            try await registry.verify(old)
            try await ingest(client, [record(event(0), offset: 0), record(event(1), offset: 1)], sealer: old)
            try await ingest(client, [record(event(2), offset: 2)], sealer: nil)
            try await ingest(client, [record(Array("not json \(address)".utf8), offset: 3)], sealer: old)
            #expect(try await holds(client, "reminders", address))  // the plaintext one

            let rotated = try sealer(["k1": k1, "k2": k2], "k2")
            try await registry.verify(rotated)
            let counts = try await DataResealer(
                client: client, sealer: rotated, logger: TestDatabase.logger, batchSize: 2
            )
            .run()
            #expect(counts.reminders == 3 && counts.deadLetters == 1 && counts.unreadable == 0)
            #expect(try await registry.prune(keeping: "k2") == ["k1"])
            #expect(try await registry.registered() == ["k2"])
            #expect(try await !holds(client, "reminders", address))
            #expect(try await !holds(client, "dead_letters", address))
            // Idempotent: nothing left to do.
            #expect(
                try await DataResealer(client: client, sealer: rotated, logger: TestDatabase.logger).run()
                    == DataResealer.Counts())

            // k1 removed: everything still opens, and the database is accepted.
            let only = try sealer(["k2": k2], "k2")
            try await registry.verify(only)
            let claimed = try await DispatchStore(client: client, logger: TestDatabase.logger, sealer: only)
                .claim(limit: 10, lease: .seconds(60))
            #expect(claimed.count == 3)
            for reminder in claimed {
                #expect(try StoredDelivery.channels(fromJSON: reminder.channels).count == 2)
                #expect(reminder.channels.contains(address))
                #expect(try StoredDelivery.content(fromJSON: reminder.content).title == title)
            }
            let letter = try #require(
                try await DeadLetterStore(client: client, logger: TestDatabase.logger, sealer: only)
                    .unpublished(limit: 1).first)
            #expect(letter.value == Array("not json \(address)".utf8))
        }
    }

    @Test func resealLeavesARowThatIngestReplacedBetweenItsReadAndItsWrite() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let old = try sealer(["k1": k1], "k1")
            try await ingest(client, [record(event(0), offset: 0)], sealer: old)
            let rotated = try sealer(["k1": k1, "k2": k2], "k2")
            let resealer = DataResealer(client: client, sealer: rotated, logger: TestDatabase.logger)
            var counts = DataResealer.Counts()
            let batch = try await resealer.readReminders(.reminders, after: 0, counts: &counts)
            #expect(batch.resealed.count == 1)
            // Meanwhile an instance still on k1 replaces the reminder.
            try await ingest(client, [record(event(1, title: "Newer title", reminder: "s-0"), offset: 1)], sealer: old)
            #expect(try await resealer.write(batch.resealed, to: .reminders, counts: &counts) == 0)
            #expect(counts.changedMeanwhile == 1)
            // The replacement stands, and a later pass moves it to k2.
            #expect(try await resealer.run().reminders == 1)
            let claimed = try #require(
                try await DispatchStore(
                    client: client, logger: TestDatabase.logger, sealer: try sealer(["k2": k2], "k2")
                )
                .claim(limit: 1, lease: .seconds(60)).first)
            #expect(try StoredDelivery.content(fromJSON: claimed.content).title == "Newer title")
        }
    }

    @Test func erasingAUserRemovesTheSealedValuesToo() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let sealer = try sealer(["k1": k1], "k1")
            try await ingest(client, [record(event(0), offset: 0)], sealer: sealer)
            let erasure = ErasureStore(client: client, logger: TestDatabase.logger)
            let stopped = try await erasure.stopSending(userID: "user-7")
            #expect(try await erasure.erase(userID: "user-7", cancelled: stopped.cancelled).remindersErased == 1)
            #expect(
                try await count(
                    client,
                    """
                    SELECT count(*)::int8 FROM reminders WHERE sealed_with IS NULL AND sealed_channels IS NULL
                        AND sealed_content IS NULL AND channels = '[{"type": "email"}, {"type": "sms"}]'::jsonb
                    """) == 1)
        }
    }

    @Test func aDatabaseNamingAKeyIDThatIsNotConfiguredIsRefusedNamingIt() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let registry = DataKeyRegistry(client: client, logger: TestDatabase.logger)
            // Encryption off on a fresh database: nothing to refuse.
            try await registry.verify(nil)
            try await registry.verify(try sealer(["k1": k1], "k1"))
            for configured in [try sealer(["k2": k2], "k2"), nil] {
                let error = await #expect(throws: StoreError.self) { try await registry.verify(configured) }
                #expect(error?.code == .configuration)
                #expect(error?.message.contains("\"k1\"") == true, "\(error?.message ?? "")")
            }
        }
    }
}
