import Foundation
import Kafka
import PostgresNIO
import ReminderStore
import TestSupport
import Testing

/// The starting point of the replay and API tests: a `serve` process whose webhook
/// receiver refuses the first request for good (HTTP 400, a permanent failure), so the
/// one reminder published is dead-lettered; the receiver takes every later request.
struct DeadLetteredReminder {
    let instance: ServedInstance
    let sink: ProviderSink
    let topic: String
    let reminderID: String
    let deadLetterID: String
    /// The test database, as `DATABASE_URL` names it.
    let databaseURL: String

    static func databaseURL(_ configuration: DatabaseConfiguration) -> String {
        var url = URLComponents(string: LocalStack.databaseURL)!
        url.path = "/" + configuration.database
        return url.string!
    }

    /// Runs `body` with the scenario set up, then stops the service and the receiver.
    static func with(
        _ name: String, settings: [String: String] = [:], _ body: (DeadLetteredReminder) async throws -> Void
    ) async throws {
        let sink = try await ProviderSink(lifetime: 240)
        let (topic, _) = try await Topics.make(name, partitions: 2)
        do {
            try await TestDatabase.withDatabase { _, configuration in
                try await sink.script("/hook", [.status(400, body: "{\"error\":\"bad\"}")], then: .ok)
                let databaseURL = databaseURL(configuration)
                let instance = try await ServedInstance(
                    topic: topic, group: "\(name)-\(UUID().uuidString.prefix(8))", databaseURL: databaseURL,
                    settings: ServiceEvents.settings(sink).merging(settings) { $1 })
                let reminderID = "\(name)-1"
                let producer = try Topics.producer()
                _ = try await producer.send(
                    ServiceEvents.webhook(reminderID, url: sink.baseURL + "/hook", topic: topic))
                await producer.close()
                var deadLetterID = ""
                try await eventually(.seconds(60), "the reminder to be dead-lettered and published") {
                    let page = try await instance.call(
                        "GET", "/v1/dead-letters?reason=permanent_failure", template: "/v1/dead-letters")
                    guard let item = (page.json?["items"] as? [[String: Any]])?.first, item["published_at"] != nil
                    else { return false }
                    deadLetterID = item["id"] as? String ?? ""
                    return true
                }
                let scenario = DeadLetteredReminder(
                    instance: instance, sink: sink, topic: topic, reminderID: reminderID, deadLetterID: deadLetterID,
                    databaseURL: databaseURL)
                // The whole run's log (ingest, dispatch, dead-letter relay, replay, API): JSON
                // lines with the reminder's ids, and none of its personal data or a secret.
                let lines = try await instance.serving { try await body(scenario) }
                #expect(lines.count > 5)
                #expect(lines.contains { $0.contains("\"reminder_id\":\"\(reminderID)\"") })
                for secret in [
                    ServiceEvents.title(reminderID), ServiceEvents.body(reminderID), sink.baseURL + "/hook",
                    "/hook", ServedInstance.token, ServiceEvents.settings(sink)["WEBHOOK_SIGNING_SECRET"]!,
                ] {
                    #expect(!lines.contains { $0.contains(secret) }, "no log line holds \(secret)")
                }
            }
        } catch {
            await sink.stop()
            throw error
        }
        await sink.stop()
    }

    /// The reminder as the API shows it.
    func reminder() async throws -> [String: Any] {
        let answer = try await instance.call("GET", "/v1/reminders/\(reminderID)", template: "/v1/reminders/{id}")
        return answer.json ?? [:]
    }

    func state() async throws -> String? { try await reminder()["state"] as? String }

    /// The requests the receiver took (it refused the first).
    func deliveries() async throws -> Int {
        try await sink.requests(path: "/hook").count - 1
    }
}
