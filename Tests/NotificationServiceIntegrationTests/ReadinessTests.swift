import Foundation
import TestSupport
import Testing

/// `/health/ready` says not ready, and why, while PostgreSQL is out of reach and while the
/// consumer owns no partition after its grace period; `/health/live` stays up.
@Suite(.timeLimit(.minutes(6)))
struct ReadinessTests {
    @Test func readinessFlipsWhenTheDatabaseGoesAndComesBack() async throws {
        let (topic, _) = try await Topics.make("ready", partitions: 1)
        try await TestDatabase.withDatabase { _, configuration in
            let proxy = try await DatabaseOutageTests.Proxy(targetPort: configuration.port)
            try #require(proxy.port > 0)
            var url = URLComponents(string: DeadLetteredReminder.databaseURL(configuration))!
            url.port = proxy.port
            let group = "ready-\(UUID().uuidString.prefix(8))"
            let instance = try await ServedInstance(topic: topic, group: group, databaseURL: url.string!)
            func ready() async throws -> ServedInstance.Answer {
                try await instance.call("GET", "/health/ready", template: "/health/ready")
            }
            try await eventually(.seconds(60), "the instance to be ready") { try await ready().status == 200 }

            proxy.cut()
            var notReady: ServedInstance.Answer?
            try await eventually(.seconds(30), "readiness to notice the database is gone") {
                let answer = try await ready()
                notReady = answer
                return answer.status == 503
            }
            let checks = try #require(notReady?.json?["checks"] as? [String: [String: Any]])
            #expect(checks["database"]?["ok"] as? Bool == false)
            #expect((checks["database"]?["detail"] as? String)?.isEmpty == false)
            #expect(checks["consumer"]?["ok"] as? Bool == true)
            #expect(try await instance.call("GET", "/health/live", template: "/health/live").status == 200)
            // The /v1 API answers 503 instead of waiting for the database.
            let reminder = try await instance.call("GET", "/v1/reminders/any", template: "/v1/reminders/{id}")
            #expect(reminder.status == 503)
            #expect(reminder.json?["error"] as? String == "database_unavailable")
            try await OpenAPIDocumentTests.check([try #require(notReady), reminder])

            proxy.restore()
            try await eventually(.seconds(60), "readiness to come back with the database") {
                try await ready().status == 200
            }
            let status = try await instance.stop()
            #expect(
                status == 0, "serve's exit on SIGTERM (nil: still running after 30 s); its log:\n\(instance.logTail)")
        }
    }

    @Test func aMemberWithoutPartitionsAfterItsGracePeriodIsNotReady() async throws {
        // One partition, two members: one of them owns nothing.
        let (topic, _) = try await Topics.make("ready-idle", partitions: 1)
        try await TestDatabase.withDatabase { _, configuration in
            let group = "ready-idle-\(UUID().uuidString.prefix(8))"
            let settings = ["READY_ASSIGNMENT_GRACE_MS": "1000"]
            let databaseURL = DeadLetteredReminder.databaseURL(configuration)
            let first = try await ServedInstance(
                topic: topic, group: group, databaseURL: databaseURL, settings: settings)
            let second = try await ServedInstance(
                topic: topic, group: group, databaseURL: databaseURL, settings: settings)
            var idle: ServedInstance.Answer?
            try await eventually(.seconds(90), "one member ready, the other not", every: .milliseconds(500)) {
                let answers = [
                    try await first.call("GET", "/health/ready", template: "/health/ready"),
                    try await second.call("GET", "/health/ready", template: "/health/ready"),
                ]
                idle = answers.first { $0.status == 503 }
                // A member that has not subscribed yet is not ready either ("not subscribed
                // yet"): wait for the one whose grace period ran out without partitions.
                // And the database answering: the consumer is the only reason.
                let checks = idle?.json?["checks"] as? [String: [String: Any]]
                return answers.map(\.status).sorted() == [200, 503]
                    && (checks?["consumer"]?["detail"] as? String)?.contains("no partitions assigned") == true
                    && checks?["database"]?["ok"] as? Bool == true
            }
            let checks = try #require(idle?.json?["checks"] as? [String: [String: Any]])
            #expect(checks["consumer"]?["ok"] as? Bool == false)
            #expect(try await first.stop() == 0)
            #expect(try await second.stop() == 0)
        }
    }
}
