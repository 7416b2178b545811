import Foundation
import Kafka
import NotificationService
import PostgresNIO
import ReminderCore
import ReminderStore
import TestSupport
import Testing

/// Personal data sealed at rest in a running `serve` and through the `reseal` command:
/// the database holds no address, text or original message, yet the receiver gets the
/// right ones, the dead-letter topic the original bytes, and a replay delivers.
@Suite(.timeLimit(.minutes(6)))
struct SealedDataServeTests {
    /// A fresh random AES-256 key, base64: never a committed one.
    static func freshKey() -> String {
        var generator = SystemRandomNumberGenerator()
        return Data((0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }).base64EncodedString()
    }

    static func encryption(_ keys: [String: String], current: String) -> [String: String] {
        [
            "DATA_ENCRYPTION_KEYS": keys.map { "\($0.key):\($0.value)" }.joined(separator: ","),
            "DATA_ENCRYPTION_CURRENT_KEY": current,
        ]
    }

    /// Whether any row of `table` holds `needle`, as text or as the hex of its bytes.
    static func holds(_ client: PostgresClient, _ table: String, _ needle: String) async throws -> Bool {
        let hex = needle.utf8.map { String(format: "%02x", $0) }.joined()
        var found = false
        let rows = try await client.query(
            PostgresQuery(unsafeSQL: "SELECT row_to_json(t)::text FROM \(table) t"), logger: TestDatabase.logger)
        for try await text in rows.decode(String.self) where text.contains(needle) || text.lowercased().contains(hex) {
            found = true
        }
        return found
    }

    @Test func aSealedReminderIsDeliveredDeadLetteredWithItsOriginalBytesAndReplayed() async throws {
        let settings = Self.encryption(["k1": Self.freshKey()], current: "k1")
        try await DeadLetteredReminder.with("sealed", settings: settings) { scenario in
            let original = ServiceEvents.webhook(
                scenario.reminderID, url: scenario.sink.baseURL + "/hook", topic: scenario.topic)
            let secrets = [
                ServiceEvents.title(scenario.reminderID), ServiceEvents.body(scenario.reminderID),
                scenario.sink.baseURL + "/hook",
                // The original message (the correlation id alone stays readable, in its own column).
                #"{"schema_version":1,"type":"schedule""#,
            ]
            let configuration = try DatabaseConfiguration(url: scenario.databaseURL)
            try await TestDatabase.withClient(configuration) { (client: PostgresClient) async throws -> Void in
                #expect(
                    try await TestDatabase.count(
                        client, "SELECT count(*)::int8 FROM reminders WHERE sealed_with = 'k1'") == 1)
                #expect(
                    try await TestDatabase.count(
                        client, "SELECT count(*)::int8 FROM dead_letters WHERE sealed_with = 'k1'") == 1)
                for table in ["reminders", "dead_letters"] {
                    for secret in secrets {
                        #expect(try await !Self.holds(client, table, secret), "\(table) holds \(secret)")
                    }
                }
                // What the API's reminder view needs is still there.
                #expect(try await scenario.reminder()["channels"] as? [String] == ["webhook"])
            }
            // The relay published the original bytes, opened.
            let reader = try Topics.reader(of: scenario.topic + ".dlq")
            for try await message in reader.messages {
                #expect(message.value == original.value)
                #expect(message.key == original.key)
                break
            }
            await reader.close()
            let entry = try await scenario.instance.call(
                "GET", "/v1/dead-letters/\(scenario.deadLetterID)", template: "/v1/dead-letters/{id}")
            let message = entry.json?["message"] as? [String: Any]
            #expect(message?["value"] as? String == String(decoding: original.value ?? [], as: UTF8.self))
            // Replayed, it is delivered: the receiver gets the opened text at the right address.
            let replay = try await scenario.instance.call(
                "POST", "/v1/dead-letters/\(scenario.deadLetterID)/replay", template: "/v1/dead-letters/{id}/replay")
            #expect(replay.status == 202)
            try await eventually(.seconds(30), "the replayed reminder to be delivered") {
                try await scenario.state() == "DELIVERED"
            }
            let requests = try await scenario.sink.requests(path: "/hook")
            #expect(requests.last?.bodyText.contains(ServiceEvents.title(scenario.reminderID)) == true)
        }
    }

    @Test func resealMovesRowsToTheNewKeySoTheOldOneCanGoAndServeRefusesAnUnknownKeyID() async throws {
        let (k1, k2) = (Self.freshKey(), Self.freshKey())
        let (topic, _) = try await Topics.make("reseal", partitions: 1)
        try await TestDatabase.withDatabase { client, configuration in
            let databaseURL = DeadLetteredReminder.databaseURL(configuration)
            func run(_ arguments: [String], _ settings: [String: String]) async throws -> (Int32?, String) {
                let log = FileManager.default.temporaryDirectory.appendingPathComponent("reseal-\(UUID()).log")
                _ = FileManager.default.createFile(atPath: log.path, contents: nil)
                defer { try? FileManager.default.removeItem(at: log) }
                let process = try ServeProcess.launch(
                    topic: topic, group: "reseal-\(UUID().uuidString.prefix(8))", databaseURL: databaseURL,
                    settings: settings.merging(["LOG_FORMAT": "json"]) { $1 }, arguments: arguments,
                    output: try FileHandle(forWritingTo: log))
                let status = try await process.exitStatus(within: .seconds(60))
                if status == nil { kill(process.processIdentifier, SIGKILL) }
                return (status, (try? String(contentsOf: log, encoding: .utf8)) ?? "")
            }
            // Rows sealed with k1 (k1 registered as serve would), and one from before encryption.
            let old = try #require(
                try ServiceSettings.fromEnvironment(
                    Self.encryption(["k1": k1], current: "k1").merging([
                        "NOTIFICATION_MIGRATIONS_DIR": TestDatabase.migrations.path
                    ]) { $1 }
                ).sealer)
            try await DataKeyRegistry(client: client, logger: TestDatabase.logger).verify(old)
            try await DueReminders.store(
                client, count: 3, prefix: "sealed", channels: [["type": "email", "to": "ada@example.org"]],
                sealer: old)
            try await DueReminders.store(
                client, count: 1, prefix: "plain", channels: [["type": "email", "to": "ada@example.org"]])
            #expect(try await Self.holds(client, "reminders", "ada@example.org"))

            let rotated = try await run(["reseal"], Self.encryption(["k1": k1, "k2": k2], current: "k2"))
            #expect(rotated.0 == 0, "\(rotated.1)")
            #expect(rotated.1.contains("reminders=4 pending_replacements=0 dead_letters=0"), "\(rotated.1)")
            #expect(rotated.1.contains("key ids no longer used: k1"), "\(rotated.1)")
            #expect(try await !Self.holds(client, "reminders", "ada@example.org"))
            // Idempotent, and k1 is no longer needed.
            let again = try await run(["reseal"], Self.encryption(["k2": k2], current: "k2"))
            #expect(again.0 == 0 && again.1.contains("reminders=0"), "\(again.1)")
            let only = try #require(
                try ServiceSettings.fromEnvironment(
                    Self.encryption(["k2": k2], current: "k2").merging([
                        "NOTIFICATION_MIGRATIONS_DIR": TestDatabase.migrations.path
                    ]) { $1 }
                ).sealer)
            let claimed = try await DispatchStore(client: client, logger: TestDatabase.logger, sealer: only)
                .claim(limit: 10, lease: .seconds(60))
            #expect(claimed.count == 4)
            #expect(claimed.allSatisfy { $0.channels.contains("ada@example.org") })

            // serve, with the wrong key or none, refuses the database naming the key id, never a key.
            for settings in [Self.encryption(["k1": k1], current: "k1"), [:]] {
                let refused = try await run(["serve"], settings.merging(["HTTP_PORT": "0"]) { $1 })
                #expect(refused.0 == 78, "\(refused.1)")
                #expect(refused.1.contains("DATA_ENCRYPTION_KEYS") && refused.1.contains("k2"), "\(refused.1)")
                #expect(!refused.1.contains(k1) && !refused.1.contains(k2))
                #expect(!refused.1.contains("ingest started"), "\(refused.1)")
            }
        }
    }
}
