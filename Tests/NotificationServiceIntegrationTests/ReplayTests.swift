import Foundation
import Kafka
import TestSupport
import Testing

/// Replaying a dead letter resets its reminder for delivery once, through the API and
/// through the command line, however often the same record is replayed.
@Suite(.timeLimit(.minutes(6)))
struct ReplayTests {
    @Test func aReplayThroughTheAPIDeliversTheReminderOnceHoweverOftenItIsReplayed() async throws {
        try await DeadLetteredReminder.with("replay-api") { scenario in
            let api = scenario.instance
            let path = "/v1/dead-letters/\(scenario.deadLetterID)/replay"
            let accepted = try await api.call("POST", path, template: "/v1/dead-letters/{id}/replay")
            #expect(accepted.status == 202)
            try await eventually(.seconds(30), "the replayed reminder to be delivered") {
                try await scenario.state() == "DELIVERED"
            }
            #expect(try await api.call("POST", path, template: "/v1/dead-letters/{id}/replay").status == 409)

            // The same record published twice more with its x-replay-of header (a replay
            // command run twice at once, a producer retry): ingest ignores both.
            let producer = try Topics.producer()
            let replayed = try #require(
                (try await api.call(
                    "GET", "/v1/dead-letters/\(scenario.deadLetterID)", template: "/v1/dead-letters/{id}"
                ).json?["message"] as? [String: Any])?["value"] as? String)
            for _ in 0..<2 {
                _ = try await producer.send(
                    KafkaProducerMessage(
                        topic: scenario.topic, key: Array("user-\(scenario.reminderID)".utf8),
                        value: Array(replayed.utf8),
                        headers: [KafkaHeader(key: "x-replay-of", value: scenario.deadLetterID)]))
            }
            await producer.close()
            try await eventually(.seconds(30), "both late replays to be read and ignored") {
                try await api.metric("notification_replays_ignored_total") == 2
            }
            #expect(try await api.metric("notification_replays_applied_total") == 1)
            // A send for the replay could still be under way: give the dispatcher a moment.
            try await Task.sleep(for: .seconds(1))
            #expect(try await scenario.deliveries() == 1)
            let transitions = try await scenario.reminder()["transitions"] as? [[String: Any]] ?? []
            #expect(transitions.filter { $0["event"] as? String == "replay" }.count == 1)
            #expect(transitions.last?["to"] as? String == "DELIVERED")
        }
    }

    @Test func aReplayThroughTheCommandLineDeliversTheReminderOnce() async throws {
        try await DeadLetteredReminder.with("replay-cli") { scenario in
            func dlq(_ arguments: [String]) async throws -> (status: Int32?, output: String) {
                let output = FileManager.default.temporaryDirectory.appendingPathComponent("dlq-\(UUID()).txt")
                FileManager.default.createFile(atPath: output.path, contents: nil)
                defer { try? FileManager.default.removeItem(at: output) }
                let process = try ServeProcess.launch(
                    topic: scenario.topic, group: "unused", databaseURL: scenario.databaseURL,
                    arguments: ["dlq"] + arguments, output: try FileHandle(forWritingTo: output))
                let status = try await process.exitStatus(within: .seconds(60))
                return (status, (try? String(contentsOf: output, encoding: .utf8)) ?? "")
            }
            let dryRun = try await dlq(["replay", "--reason", "permanent_failure", "--dry-run"])
            #expect(dryRun.status == 0)
            #expect(dryRun.output.contains("would replay \(scenario.deadLetterID)"), "\(dryRun.output)")

            let first = try await dlq(["replay", "--id", scenario.deadLetterID])
            #expect(first.status == 0)
            #expect(first.output.contains("replayed \(scenario.deadLetterID)"), "\(first.output)")
            try await eventually(.seconds(30), "the replayed reminder to be delivered") {
                try await scenario.state() == "DELIVERED"
            }
            let second = try await dlq(["replay", "--id", scenario.deadLetterID])
            #expect(second.status == 0)
            #expect(second.output.contains("already replayed"), "\(second.output)")

            // The dry run published nothing: ingest read the event and one replay.
            #expect(try await scenario.instance.metric("notification_events_consumed_total") == 2)
            #expect(try await scenario.instance.metric("notification_replays_applied_total") == 1)
            try await Task.sleep(for: .seconds(1))
            #expect(try await scenario.deliveries() == 1)

            let listed = try await dlq(["list", "--json", "--reason", "permanent_failure"])
            #expect(listed.status == 0)
            let lines = listed.output.split(separator: "\n").filter { $0.hasPrefix("{") }
            #expect(lines.count == 1)
            #expect(lines.first?.contains("\"replayed_at\"") == true, "\(listed.output)")
            let refused = try await dlq(["replay"])
            #expect(refused.status != 0, "a replay without a selection is refused")
        }
    }
}
