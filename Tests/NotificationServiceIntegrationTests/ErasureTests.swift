import Foundation
import Kafka
import PostgresNIO
import ReminderStore
import TestSupport
import Testing

/// Erasure through the API and the CLI, against a `serve` process, the broker, the
/// database and a loopback HTTPS receiver: a reminder of the erased user that falls due
/// afterwards is never sent, their data is gone, another user's reminder is delivered,
/// and nothing of theirs reaches the log.
@Suite(.timeLimit(.minutes(6)))
struct ErasureTests {
    private static func schedule(_ id: String, user: String, url: String, dueAt: Date, topic: String)
        -> KafkaProducerMessage
    {
        let value = """
            {"schema_version":1,"type":"schedule","idempotency_key":"key-\(id)","reminder_id":"\(id)",\
            "user_id":"\(user)","deliver_at":"\(RFC3339Text.format(dueAt))","channels":[{"type":"webhook","url":"\(url)"}],\
            "content":{"title":"\(ServiceEvents.title(id))","body":"\(ServiceEvents.body(id))"}}
            """
        return KafkaProducerMessage(topic: topic, key: Array(user.utf8), value: Array(value.utf8))
    }

    /// How many of the reminder's columns still hold its text or its address.
    private func personalData(_ client: PostgresClient, _ id: String, url: String) async throws -> Int {
        try await TestDatabase.count(
            client,
            """
            SELECT count(*)::int8 FROM reminders
            WHERE reminder_id = '\(id)' AND (content::text LIKE '%\(ServiceEvents.title(id))%'
                OR channels::text LIKE '%\(url)%' OR octet_length(source_value) > 0)
            """)
    }

    @Test func anErasedUsersReminderDueLaterIsNeverSentAndTheirDataIsGoneThroughTheAPIAndTheCLI() async throws {
        let sink = try await ProviderSink(lifetime: 240)
        let (topic, _) = try await Topics.make("erasure", partitions: 2)
        do {
            try await TestDatabase.withDatabase { client, configuration in
                let databaseURL = DeadLetteredReminder.databaseURL(configuration)
                let instance = try await ServedInstance(
                    topic: topic, group: "erasure-\(UUID().uuidString.prefix(8))", databaseURL: databaseURL,
                    settings: ServiceEvents.settings(sink))
                let erasedURL = sink.baseURL + "/hook-erased"
                let keptURL = sink.baseURL + "/hook-kept"
                let lines = try await instance.serving {
                    let dueAt = Date().addingTimeInterval(8)
                    let producer = try Topics.producer()
                    let sent = await producer.send([
                        Self.schedule("erased-1", user: "user-erased", url: erasedURL, dueAt: dueAt, topic: topic),
                        Self.schedule("kept-1", user: "user-kept", url: keptURL, dueAt: dueAt, topic: topic),
                    ])
                    await producer.close()
                    #expect(sent.allSatisfy { (try? $0.get()) != nil })
                    try await eventually(.seconds(30), "both reminders to be stored") {
                        try await TestDatabase.count(client, "SELECT count(*)::int8 FROM reminders") == 2
                    }

                    let erased = try await instance.call(
                        "DELETE", "/v1/users/user-erased", template: "/v1/users/{user_id}")
                    #expect(erased.status == 200, "\(erased.body)")
                    #expect(erased.json?["reminders_cancelled"] as? Int == 1)
                    #expect(erased.json?["reminders_erased"] as? Int == 1)
                    #expect((erased.json?["erasure_id"] as? String).flatMap(UUID.init(uuidString:)) != nil)

                    // Both were due at the same moment: once the other user's is delivered,
                    // the erased one would have been sent too, had it not been cancelled.
                    try await eventually(.seconds(60), "the other user's reminder to be delivered") {
                        try await sink.requests(path: "/hook-kept").count == 1
                    }
                    try await Task.sleep(for: .seconds(2))
                    #expect(try await sink.requests(path: "/hook-erased").isEmpty)
                    let reminder = try await instance.call(
                        "GET", "/v1/reminders/erased-1", template: "/v1/reminders/{id}")
                    #expect(reminder.json?["state"] as? String == "CANCELLED")
                    #expect(try await personalData(client, "erased-1", url: erasedURL) == 0)
                    #expect(try await personalData(client, "kept-1", url: keptURL) == 1)

                    // Asked again: nothing more to remove, the same answer's shape.
                    let again = try await instance.call(
                        "DELETE", "/v1/users/user-erased", template: "/v1/users/{user_id}")
                    #expect(again.status == 200)
                    #expect(again.json?["reminders_erased"] as? Int == 0)
                    let tooLong = try await instance.call(
                        "DELETE", "/v1/users/\(String(repeating: "u", count: 129))", template: "/v1/users/{user_id}")
                    #expect(tooLong.status == 400)
                    let unauthorized = try await instance.call(
                        "DELETE", "/v1/users/user-kept", template: "/v1/users/{user_id}", token: nil)
                    #expect(unauthorized.status == 401)

                    // The CLI erases the other user, whose reminder was delivered.
                    let run = try await CommandRun.run(
                        "/usr/bin/env",
                        [
                            "DATABASE_URL=\(databaseURL)",
                            "NOTIFICATION_MIGRATIONS_DIR=\(TestDatabase.migrations.path)",
                            ServeProcess.executable.path, "erase", "--user", "user-kept",
                        ])
                    #expect(run.status == 0, "\(run.output)")
                    #expect(run.output.contains("0 reminders cancelled, 1 reminders"), "\(run.output)")
                    #expect(try await personalData(client, "kept-1", url: keptURL) == 0)
                    #expect(
                        try await TestDatabase.count(
                            client, "SELECT count(*)::int8 FROM delivery_attempts WHERE answer <> ''") == 0)
                    #expect(try await TestDatabase.count(client, "SELECT count(*)::int8 FROM erasures") == 3)
                    #expect(try await TestDatabase.count(client, "SELECT count(*)::int8 FROM inbox") == 2)
                }
                #expect(lines.contains { $0.contains("\"message\":\"user data erased\"") })
                for secret in [
                    ServiceEvents.title("erased-1"), ServiceEvents.body("erased-1"), erasedURL, "user-erased",
                    ServiceEvents.title("kept-1"), keptURL,
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
}
