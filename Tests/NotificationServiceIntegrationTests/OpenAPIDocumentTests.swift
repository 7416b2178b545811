import Foundation
import NotificationService
import TestSupport
import Testing

/// `openapi/openapi.json` stays true: it lists exactly the routes the service serves,
/// and every answer the running service gives matches the documented status, media
/// type and schema (checked by `scripts/openapi_check.py` with JSON Schema 2020-12).
@Suite(.timeLimit(.minutes(6)))
struct OpenAPIDocumentTests {
    static let document = LocalStack.root.appendingPathComponent("openapi/openapi.json")

    static func documentedOperations() throws -> [String: Set<Int>] {
        let data = try Data(contentsOf: document)
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let paths = try #require(root["paths"] as? [String: [String: Any]])
        var operations: [String: Set<Int>] = [:]
        for (path, methods) in paths {
            for (method, operation) in methods {
                let responses = (operation as? [String: Any])?["responses"] as? [String: Any] ?? [:]
                operations["\(method.uppercased()) \(path)"] = Set(responses.keys.compactMap { Int($0) })
            }
        }
        return operations
    }

    /// Checks the answers against the document; the script's report when they do not match.
    static func check(_ answers: [ServedInstance.Answer]) async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("answers-\(UUID().uuidString).json")
        try JSONSerialization.data(withJSONObject: answers.map(\.document)).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let (status, output) = try await PythonScript.run("openapi_check.py", [document.path, file.path])
        #expect(status == 0, "\(output)")
    }

    @Test func theDocumentListsExactlyTheServedRoutes() throws {
        let documented = Set(try Self.documentedOperations().keys)
        let served = Set(AdminAPI.routes.map { "\($0.method) \($0.path)" })
        #expect(documented == served)
    }

    @Test func everyDocumentedAnswerOfTheRunningServiceMatchesItsSchema() async throws {
        try await DeadLetteredReminder.with("openapi") { scenario in
            let api = scenario.instance
            var answers: [ServedInstance.Answer] = []
            func call(_ method: String, _ path: String, _ template: String, token: String? = ServedInstance.token)
                async throws -> ServedInstance.Answer
            {
                let answer = try await api.call(method, path, template: template, token: token)
                answers.append(answer)
                return answer
            }
            // An invalid event, for a dead letter that cannot be replayed.
            let producer = try Topics.producer()
            _ = try await producer.send(ServiceEvents.invalid(topic: scenario.topic))
            await producer.close()
            var invalidID = ""
            try await eventually(.seconds(30), "the invalid event's dead letter") {
                let page = try await api.call(
                    "GET", "/v1/dead-letters?reason=invalid_event", template: "/v1/dead-letters")
                invalidID = (page.json?["items"] as? [[String: Any]])?.first?["id"] as? String ?? ""
                return !invalidID.isEmpty
            }

            #expect(try await call("GET", "/health/live", "/health/live").status == 200)
            #expect(try await call("GET", "/health/ready", "/health/ready").status == 200)
            let metrics = try await call("GET", "/metrics", "/metrics")
            #expect(metrics.status == 200)
            for name in [
                "notification_events_consumed_total", "notification_events_invalid_total",
                "notification_reminders{state=\"RETRY\"}", "notification_channel_attempts_total",
                "notification_dead_letters_published_total", "notification_consumer_lag",
                "notification_dispatch_lateness_seconds_bucket", "notification_provider_latency_seconds_bucket",
                "notification_circuits_open{provider=\"webhook\"}", "notification_retries_scheduled_total",
            ] {
                #expect(metrics.body.contains(name), "\(name) in /metrics")
            }
            #expect(!metrics.body.contains(ServedInstance.token), "the token is not in /metrics")

            let reminder = try await call("GET", "/v1/reminders/\(scenario.reminderID)", "/v1/reminders/{id}")
            #expect(reminder.status == 200)
            #expect(reminder.json?["state"] as? String == "DEAD_LETTER")
            #expect(reminder.json?["channels"] as? [String] == ["webhook"])
            #expect(!reminder.body.contains(scenario.sink.baseURL), "no webhook URL in the reminder view")
            #expect(try await call("GET", "/v1/reminders/nope", "/v1/reminders/{id}").status == 404)
            let anonymous = try await call("GET", "/v1/reminders/x", "/v1/reminders/{id}", token: nil)
            #expect(anonymous.status == 401)
            #expect(anonymous.wwwAuthenticate?.hasPrefix("Bearer") == true)
            let wrong = try await call("GET", "/v1/reminders/x", "/v1/reminders/{id}", token: "wrong-token-0123456789")
            #expect(wrong.status == 401)

            // Nothing under /v1 without the exact token, whatever the header looks like.
            let token = ServedInstance.token
            var sameLength = Array(token)
            sameLength[sameLength.count - 1] = sameLength.last == "x" ? "y" : "x"
            let refused = [
                nil, "Bearer \(String(sameLength))", "Bearer \(token.dropLast())", "Bearer \(token)x",
                "Basic \(Data(token.utf8).base64EncodedString())", "Bearer", "Bearer  \(token)",
                "\(token)",
            ]
            for (method, path, template) in [
                ("GET", "/v1/reminders/\(scenario.reminderID)", "/v1/reminders/{id}"),
                ("GET", "/v1/dead-letters", "/v1/dead-letters"),
                ("GET", "/v1/dead-letters/\(scenario.deadLetterID)", "/v1/dead-letters/{id}"),
                ("POST", "/v1/dead-letters/\(scenario.deadLetterID)/replay", "/v1/dead-letters/{id}/replay"),
            ] {
                for header in refused {
                    let answer = try await api.call(method, path, template: template, token: nil, authorization: header)
                    #expect(answer.status == 401, "\(method) \(path) with \(header ?? "no header")")
                }
            }

            // The scheme's name is case-insensitive.
            let lowercase = try await api.call(
                "GET", "/v1/dead-letters", template: "/v1/dead-letters", token: nil, authorization: "bearer \(token)")
            #expect(lowercase.status == 200)

            // Paging: one per page, newest first, the cursor moves on.
            let first = try await call("GET", "/v1/dead-letters?limit=1", "/v1/dead-letters")
            let cursor = try #require(first.json?["next_cursor"] as? String)
            let second = try await call("GET", "/v1/dead-letters?limit=1&cursor=\(cursor)", "/v1/dead-letters")
            let ids = [first, second].compactMap { ($0.json?["items"] as? [[String: Any]])?.first?["id"] as? String }
            #expect(Set(ids) == [scenario.deadLetterID, invalidID])
            #expect(second.json?["next_cursor"] == nil, "no cursor on the last page")
            let future = try await call(
                "GET", "/v1/dead-letters?since=2999-01-01T00:00:00Z", "/v1/dead-letters")
            #expect((future.json?["items"] as? [Any])?.isEmpty == true)
            #expect(try await call("GET", "/v1/dead-letters?reason=lost", "/v1/dead-letters").status == 400)
            #expect(try await call("GET", "/v1/dead-letters?limit=0", "/v1/dead-letters").status == 400)
            #expect(try await call("GET", "/v1/dead-letters", "/v1/dead-letters", token: nil).status == 401)

            let shown = try await call("GET", "/v1/dead-letters/\(scenario.deadLetterID)", "/v1/dead-letters/{id}")
            #expect(shown.status == 200)
            #expect(shown.json?["replayable"] as? Bool == true)
            #expect((shown.json?["message"] as? [String: Any])?["key"] as? String == "user-\(scenario.reminderID)")
            #expect(try await call("GET", "/v1/dead-letters/not-a-uuid", "/v1/dead-letters/{id}").status == 400)
            #expect(
                try await call("GET", "/v1/dead-letters/\(UUID().uuidString)", "/v1/dead-letters/{id}").status == 404)
            #expect(
                try await call("GET", "/v1/dead-letters/\(invalidID)", "/v1/dead-letters/{id}", token: nil).status
                    == 401)

            let replay = "/v1/dead-letters/{id}/replay"
            let notReplayable = try await call("POST", "/v1/dead-letters/\(invalidID)/replay", replay)
            #expect(notReplayable.status == 409)
            #expect(notReplayable.json?["error"] as? String == "not_replayable")
            #expect(try await call("POST", "/v1/dead-letters/nope/replay", replay).status == 400)
            #expect(try await call("POST", "/v1/dead-letters/\(UUID().uuidString)/replay", replay).status == 404)
            #expect(
                try await call("POST", "/v1/dead-letters/\(scenario.deadLetterID)/replay", replay, token: nil).status
                    == 401)
            #expect(try await call("POST", "/v1/dead-letters/\(scenario.deadLetterID)/replay", replay).status == 202)
            try await eventually(.seconds(30), "the replayed reminder to be delivered") {
                try await scenario.state() == "DELIVERED"
            }
            let again = try await call("POST", "/v1/dead-letters/\(scenario.deadLetterID)/replay", replay)
            #expect(again.status == 409)
            #expect(again.json?["error"] as? String == "already_replayed")
            // The delivered reminder's history and channel attempts, checked against the schema.
            _ = try await call("GET", "/v1/reminders/\(scenario.reminderID)", "/v1/reminders/{id}")

            // Erasing the reminder's user: its data goes, the types of its channels stay.
            let users = "/v1/users/{user_id}"
            let erased = try await call("DELETE", "/v1/users/user-\(scenario.reminderID)", users)
            #expect(erased.status == 200)
            #expect(erased.json?["reminders_erased"] as? Int == 1)
            let after = try await call("GET", "/v1/reminders/\(scenario.reminderID)", "/v1/reminders/{id}")
            #expect(after.json?["channels"] as? [String] == ["webhook"])
            #expect(try await call("DELETE", "/v1/users/\(String(repeating: "u", count: 129))", users).status == 400)
            #expect(try await call("DELETE", "/v1/users/someone", users, token: nil).status == 401)

            try await Self.check(answers)
            // Every documented answer was seen, but those this scenario cannot cause: the
            // 503s of a database away (ReadinessTests checks readiness's and a /v1 one), a
            // broker refusing a replay, and an erasure outwaited by a send (ErasureStoreTests).
            var unseen = try Self.documentedOperations()
            for answer in answers { unseen["\(answer.method) \(answer.template)"]?.remove(answer.status) }
            unseen = unseen.filter { !$0.value.isEmpty }
            #expect(
                unseen == [
                    "GET /health/ready": [503], "POST /v1/dead-letters/{id}/replay": [502, 503],
                    "GET /v1/reminders/{id}": [503], "GET /v1/dead-letters": [503], "GET /v1/dead-letters/{id}": [503],
                    "DELETE /v1/users/{user_id}": [503],
                ])
        }
    }
}
