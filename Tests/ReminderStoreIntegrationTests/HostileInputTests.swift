import Foundation
import PostgresNIO
import ReminderCore
import ReminderStore
import TestSupport
import Testing

/// Events built to break things: every one is either stored or dead-lettered with a
/// reason, nothing crashes, nothing stops a batch; strings come back byte for byte.
///
/// The 100,000-event test takes about two minutes here; the limit leaves room for a CI
/// machine three times slower (a run with the machine four times oversubscribed took
/// more than five minutes).
@Suite(.timeLimit(.minutes(10)))
struct HostileInputTests {
    static let nasty: [String] = [
        "'; DROP TABLE reminders; --", "\" OR 1=1 --", "\\", "\\\\'", "$1", "%s%n", "\u{0}", "a\u{0}b", "\r\n\r\n",
        "Bcc: victim@example.com", "\u{FEFF}", "\u{202E}evil", "\u{1F600}", "e\u{301}", "\u{FFFF}", "\u{10FFFF}",
        String(repeating: "x", count: 70_000), "", " ", "null", "0x7f.0.0.1", "ﬁ", "İ", "\u{2028}",
    ]

    static func valid(_ index: Int) -> [String: Any] {
        [
            "schema_version": 1, "type": "schedule", "idempotency_key": "fuzz-\(index)", "reminder_id": "r-\(index)",
            "user_id": "user-1", "timezone": "Europe/Berlin", "deliver_at": "2030-03-29T09:30:00+02:00",
            "channels": [
                ["type": "email", "to": "ada@example.com"], ["type": "webhook", "url": "https://h.example/x"],
            ],
            "content": ["title": "T", "body": "B", "data": ["k": "v"]], "correlation_id": "c-\(index)",
        ]
    }

    /// One mutation of a valid event, as the bytes a publisher might send.
    static func mutate(_ index: Int, _ random: inout SeededRandom) -> [UInt8] {
        var event = valid(index)
        let fields = Array(event.keys)
        let field = fields[Int.random(in: 0..<fields.count, using: &random)]
        let text = nasty[Int.random(in: 0..<nasty.count, using: &random)]
        switch Int.random(in: 0..<10, using: &random) {
        case 0: event[field] = nil
        case 1: event[field] = text
        case 2: event[field] = Int.random(in: Int.min...Int.max, using: &random)
        case 3: event[field] = [text]
        case 4: event[field] = ["nested": [text: text]]
        case 5: event["content"] = ["title": text, "body": text, "data": [text: text]]
        case 6: event["channels"] = [["type": "email", "to": text], ["type": "webhook", "url": text]]
        case 7: event["reminder_id"] = text
        case 8:
            // Raw bytes: truncated, flipped, or not UTF-8.
            var bytes = EventFixtures.json(event)
            let position = Int.random(in: 0..<bytes.count, using: &random)
            switch Int.random(in: 0..<3, using: &random) {
            case 0: bytes.removeSubrange(position...)
            case 1: bytes[position] ^= UInt8.random(in: 1...255, using: &random)
            default: bytes.insert(contentsOf: [0xC3, 0x28, 0xFF], at: position)
            }
            return bytes
        default: event["correlation_id"] = text
        }
        return EventFixtures.json(event)
    }

    @Test func oneHundredThousandMutatedEventsAreEachStoredOrDeadLetteredWithAReason() async throws {
        let total = 100_000
        var random = SeededRandom(seed: 20_261_122)
        try await TestDatabase.withDatabase { client, _ in
            let store = IngestStore(client: client, logger: TestDatabase.logger)
            var accounted = 0
            var invalid = 0
            var stored = 0
            for start in stride(from: 0, to: total, by: 5_000) {
                // Mutating and decoding 5,000 events is seconds of CPU in a debug build: on a
                // thread of its own, not one of the two that every test's async work shares.
                let (records, next) = try await OffPool.run { [random] in
                    var random = random
                    let records = (start..<(start + 5_000)).map { index in
                        let bytes = Self.mutate(index, &random)
                        return IngestRecord(
                            topic: "fuzz", partition: 0, offset: Int64(index), key: Array("user-1".utf8), value: bytes,
                            headers: [], decoded: .init(decoding: bytes))
                    }
                    return (records, random)
                }
                random = next
                // A batch that cannot be stored would stop its partition for good.
                let summary = try await store.ingest(records)
                accounted += summary.accepted + summary.duplicates + summary.conflicts + summary.invalid
                invalid += summary.invalid + summary.conflicts
                stored += summary.accepted
            }
            #expect(accounted == total)
            #expect(try await TestDatabase.count(client, "SELECT count(*) FROM inbox") == stored)
            #expect(try await TestDatabase.count(client, "SELECT count(*) FROM dead_letters") == invalid)
            #expect(try await TestDatabase.count(client, "SELECT count(*) FROM dead_letters WHERE error = ''") == 0)
            #expect(invalid > total / 2, "most mutations are invalid")
            #expect(stored > 1_000, "some mutations are still valid")
        }
    }

    @Test func everyStringFieldComesBackByteForByte() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let store = IngestStore(client: client, logger: TestDatabase.logger)
            var expected: [String: (correlation: String, text: String)] = [:]
            var records: [IngestRecord] = []
            for (index, text) in Self.nasty.enumerated()
            where !text.contains("\u{0}") && !text.trimmingCharacters(in: .whitespaces).isEmpty && text.count <= 128 {
                var event = Self.valid(index)
                let id = "r-\(index)"
                event["reminder_id"] = id
                // Correlation ids are at most 128 characters.
                let correlation = text.count <= 128 ? text : "c-\(index)"
                event["correlation_id"] = correlation
                event["content"] = ["title": text, "body": text, "data": [text: text]]
                let bytes = EventFixtures.json(event)
                let decoded = try ReminderEventDecoder.decode(bytes)
                records.append(
                    IngestRecord(
                        topic: "t", partition: 0, offset: Int64(index), key: Array("user-1".utf8), value: bytes,
                        headers: [], decoded: .valid(decoded)))
                expected[id] = (correlation, text)
            }
            let summary = try await store.ingest(records)
            #expect(summary.accepted == records.count)
            let rows = try await client.query(
                "SELECT reminder_id, correlation_id, content->>'title', content->>'body' FROM reminders",
                logger: TestDatabase.logger)
            var seen = 0
            for try await (id, correlation, title, body) in rows.decode((String, String, String, String).self) {
                let sent = try #require(expected[id], "reminder id \(id) came back as stored")
                #expect(Array(correlation.utf8) == Array(sent.correlation.utf8))
                #expect(Array(title.utf8) == Array(sent.text.utf8))
                #expect(Array(body.utf8) == Array(sent.text.utf8))
                seen += 1
            }
            #expect(seen == records.count)
        }
    }

    @Test func aNULCharacterIsRefusedAtValidationNotByTheDatabase() async throws {
        var event = Self.valid(1)
        event["content"] = ["title": "a\u{0}b", "body": "B"]
        let bytes = EventFixtures.json(event)
        #expect(throws: EventValidationError.self) { try ReminderEventDecoder.decode(bytes) }
    }
}
