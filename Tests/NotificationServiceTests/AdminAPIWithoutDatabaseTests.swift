import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import NotificationService
import ReminderCore
import ReminderStore
import ReminderStoreTesting
import Testing

/// AdminAPI's routes over the in-memory stores, served in the test's own process by
/// HummingbirdTesting's router framework: no database, broker or socket. What the routes
/// promise (statuses, error codes, paging, the token) is what OpenAPIDocumentTests checks
/// against the running service and the document; here each case is one store call away.
@Suite(.timeLimit(.minutes(6))) struct AdminAPIWithoutDatabaseTests {
    static let token = "memory-token-0123456789"
    static let authorized: HTTPFields = [.authorization: "Bearer \(token)"]
    /// Where the dead letters' failure times start, one minute apart.
    static let firstFailure = Date(timeIntervalSince1970: 1_900_000_000)

    /// The stores an instance's API reads, in memory.
    struct Stores: Sendable {
        let reminders: MemoryDispatchStore
        let lookup: MemoryReminderLookup
        let deadLetters = MemoryDeadLetterBrowser()

        init(now: Date = AdminAPIWithoutDatabaseTests.firstFailure) {
            reminders = MemoryDispatchStore(now: { now })
            lookup = MemoryReminderLookup(reminders: reminders)
        }

        /// The API as `ServiceAssembly.adminAPI` builds it, without the broker: a replay
        /// that would be published cannot be.
        func api(token: String?) -> AdminAPI {
            AdminAPI(
                lookup: lookup, deadLetters: deadLetters,
                replayer: DeadLetterReplayer(producer: nil, topic: "reminders"),
                readiness: Readiness(lookup: lookup, pipeline: nil, grace: .seconds(30)),
                scrape: MetricsScrape(metrics: ServiceMetrics(), lookup: lookup, pipeline: nil, providers: []),
                token: token)
        }

        /// Adds a dead letter failed `minute` minutes after `firstFailure`; returns its id.
        @discardableResult
        func deadLetter(
            _ reason: DeadLetterReason, minute: Int = 0, reminderID: String? = nil,
            message: DeadLetterEntry.Message = DeadLetterEntry.Message(key: nil, value: nil, headers: [])
        ) -> UUID {
            let letter = MemoryDeadLetterBrowser.Letter(
                reason: reason, error: "\(reason.rawValue) \(minute)", message: message, reminderID: reminderID,
                failedAt: firstFailure.addingTimeInterval(Double(minute) * 60))
            deadLetters.add(letter)
            return letter.id
        }
    }

    /// Serves the API over `stores` to `body`.
    static func serve(
        _ stores: Stores, token: String? = AdminAPIWithoutDatabaseTests.token,
        _ body: @Sendable (any TestClientProtocol) async throws -> Void
    ) async throws {
        let application = Application(router: stores.api(token: token).router())
        try await application.test(.router, body)
    }

    static func get(_ client: any TestClientProtocol, _ uri: String, headers: HTTPFields = authorized)
        async throws -> TestResponse
    {
        try await client.execute(uri: uri, method: .get, headers: headers)
    }

    static func json(_ response: TestResponse) throws -> [String: Any] {
        try #require(
            try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any],
            "a JSON object: \(String(buffer: response.body))")
    }

    /// The ids of a page of dead letters, in order, and its cursor.
    static func page(_ response: TestResponse) throws -> (ids: [String], cursor: String?) {
        let body = try json(response)
        let items = try #require(body["items"] as? [[String: Any]])
        return (items.compactMap { $0["id"] as? String }, body["next_cursor"] as? String)
    }

    static func text(_ id: UUID) -> String { id.uuidString.lowercased() }

    // MARK: Reminders

    @Test func aReminderIngestedAndDeliveredIsShownWithItsHistoryAndNoAddress() async throws {
        let stores = Stores()
        let ingest = MemoryIngestStore(reminders: stores.reminders)
        let event = """
            {"schema_version":1,"type":"schedule","idempotency_key":"k-1","reminder_id":"r-1","user_id":"user-1",\
            "deliver_at":"2020-01-01T09:00:00Z","channels":[{"type":"email","to":"ada@example.com"}],\
            "content":{"title":"Dentist","body":"Tomorrow"}}
            """
        let summary = try await ingest.ingest([
            IngestRecord(
                topic: "reminders", partition: 0, offset: 0, key: nil, value: Array(event.utf8), headers: [],
                decoded: .valid(try ReminderEventDecoder.decode(Array(event.utf8))))
        ])
        #expect(summary.created == 1)
        let claimed = try #require(try await stores.reminders.claim(limit: 1, lease: .seconds(60)).first)
        try await stores.reminders.complete([
            DispatchStore.Completion(
                id: claimed.id, attempt: claimed.attempt, result: .delivered,
                progress: ChannelProgress(channelCount: 1),
                errorClass: nil,
                channelAttempts: [
                    ChannelAttempt(
                        channelIndex: 0, channel: "email", provider: "smtp", outcome: .delivered, errorClass: nil,
                        answer: "250 accepted", latency: .milliseconds(12))
                ])
        ])

        try await Self.serve(stores) { client in
            let response = try await Self.get(client, "/v1/reminders/r-1")
            #expect(response.status == .ok)
            let body = try Self.json(response)
            #expect(body["reminder_id"] as? String == "r-1")
            #expect(body["state"] as? String == "DELIVERED")
            #expect(body["attempts"] as? Int == 1)
            #expect(body["channels"] as? [String] == ["email"])
            #expect(body["due_at"] as? String == "2020-01-01T09:00:00.000000Z")
            let transitions = try #require(body["transitions"] as? [[String: Any]])
            #expect(transitions.first?["to"] as? String == "SCHEDULED")
            #expect(transitions.last?["to"] as? String == "DELIVERED")
            let attempts = try #require(body["channel_attempts"] as? [[String: Any]])
            #expect(attempts.map { $0["provider"] as? String } == ["smtp"])
            #expect(attempts.first?["latency_ms"] as? Double == 12)
            #expect(!String(buffer: response.body).contains("ada@example.com"), "channel types only")
        }
    }

    @Test func aReminderIDIsLookedUpAsItReadsOnceThePathIsDecoded() async throws {
        let stores = Stores()
        stores.reminders.schedule(
            reminderID: "team/7 dentist", channels: #"[{"type":"sms","to":"+15550100"}]"#, content: "{}",
            dueAt: Self.firstFailure)
        try await Self.serve(stores) { client in
            let response = try await Self.get(client, "/v1/reminders/team%2F7%20dentist")
            #expect(response.status == .ok)
            #expect(try Self.json(response)["reminder_id"] as? String == "team/7 dentist")
        }
    }

    @Test func anUnknownReminderIsNotFound() async throws {
        let stores = Stores()
        stores.reminders.schedule(reminderID: "r-1", channels: "[]", content: "{}", dueAt: Self.firstFailure)
        try await Self.serve(stores) { client in
            let response = try await Self.get(client, "/v1/reminders/r-2")
            #expect(response.status == .notFound)
            #expect(try Self.json(response)["error"] as? String == "not_found")
        }
    }

    @Test func aStoreThatDoesNotAnswerIsServiceUnavailableAndTheNextCallAnswers() async throws {
        let stores = Stores()
        stores.reminders.schedule(reminderID: "r-1", channels: "[]", content: "{}", dueAt: Self.firstFailure)
        let id = stores.deadLetter(.expired)
        try await Self.serve(stores) { client in
            stores.lookup.failNext(1)
            stores.deadLetters.failNext(2)
            for uri in ["/v1/reminders/r-1", "/v1/dead-letters", "/v1/dead-letters/\(Self.text(id))"] {
                let response = try await Self.get(client, uri)
                #expect(response.status == .serviceUnavailable, "\(uri)")
                #expect(try Self.json(response)["error"] as? String == "database_unavailable", "\(uri)")
            }
            for uri in ["/v1/reminders/r-1", "/v1/dead-letters", "/v1/dead-letters/\(Self.text(id))"] {
                #expect(try await Self.get(client, uri).status == .ok, "\(uri) once the store answers")
            }
        }
    }

    // MARK: Dead letters

    @Test func deadLettersAreListedNewestFirstAndFilteredByReason() async throws {
        let stores = Stores()
        let oldest = stores.deadLetter(.invalidEvent, minute: 0)
        let expired = stores.deadLetter(.expired, minute: 1, reminderID: "r-1")
        let newest = stores.deadLetter(.invalidEvent, minute: 2)
        try await Self.serve(stores) { client in
            let all = try Self.page(try await Self.get(client, "/v1/dead-letters"))
            #expect(all.ids == [newest, expired, oldest].map(Self.text))
            #expect(all.cursor == nil, "one page holds them all")
            let invalid = try Self.page(try await Self.get(client, "/v1/dead-letters?reason=invalid_event"))
            #expect(invalid.ids == [newest, oldest].map(Self.text))
            let listed = try #require(
                try Self.json(try await Self.get(client, "/v1/dead-letters?reason=expired"))["items"]
                    as? [[String: Any]])
            #expect(listed.count == 1)
            #expect(listed.first?["reminder_id"] as? String == "r-1")
            #expect(listed.first?["replayable"] as? Bool == true)
            #expect(listed.first?["message"] == nil, "no message in a list")
        }
    }

    @Test func theCursorWalksEveryPageOnceAndTheLastPageHasNone() async throws {
        let stores = Stores()
        let ids = (0..<5).map { stores.deadLetter(.deliveryExhausted, minute: $0, reminderID: "r-\($0)") }
        try await Self.serve(stores) { client in
            var seen: [String] = []
            var cursor: String?
            var pages = 0
            repeat {
                let uri = "/v1/dead-letters?limit=2" + (cursor.map { "&cursor=\($0)" } ?? "")
                let page = try Self.page(try await Self.get(client, uri))
                #expect(page.ids.count == (pages < 2 ? 2 : 1))
                seen += page.ids
                cursor = page.cursor
                pages += 1
            } while cursor != nil && pages < 10
            #expect(pages == 3)
            #expect(seen == ids.reversed().map(Self.text))
        }
    }

    @Test func sinceIsInclusiveAndUntilExclusive() async throws {
        let stores = Stores()
        let ids = (0..<4).map { stores.deadLetter(.expired, minute: $0, reminderID: "r-\($0)") }
        let since = Instant(Self.firstFailure.addingTimeInterval(60)).description
        let until = Instant(Self.firstFailure.addingTimeInterval(180)).description
        try await Self.serve(stores) { client in
            let page = try Self.page(try await Self.get(client, "/v1/dead-letters?since=\(since)&until=\(until)"))
            #expect(page.ids == [ids[2], ids[1]].map(Self.text))
        }
    }

    @Test func oneDeadLetterIsShownWithItsOriginalMessage() async throws {
        let stores = Stores()
        let id = stores.deadLetter(
            .permanentFailure, reminderID: "r-1",
            message: DeadLetterEntry.Message(
                key: Array("user-1".utf8), value: Array(#"{"a":1}"#.utf8),
                headers: [IngestRecord.Header(key: "h", value: Array("v".utf8))]))
        stores.deadLetters.markPublished(id, at: Self.firstFailure.addingTimeInterval(1))
        try await Self.serve(stores) { client in
            let response = try await Self.get(client, "/v1/dead-letters/\(Self.text(id))")
            #expect(response.status == .ok)
            let body = try Self.json(response)
            #expect(body["id"] as? String == Self.text(id))
            #expect(body["reason"] as? String == "permanent_failure")
            #expect(body["published_at"] as? String == "2030-03-17T17:46:41.000000Z")
            let message = try #require(body["message"] as? [String: Any])
            #expect(message["encoding"] as? String == "utf-8")
            #expect(message["key"] as? String == "user-1")
            #expect(message["value"] as? String == #"{"a":1}"#)
        }
    }

    @Test func anUnknownDeadLetterIsNotFoundAndAMalformedIDIsABadRequest() async throws {
        let stores = Stores()
        stores.deadLetter(.expired)
        try await Self.serve(stores) { client in
            let unknown = try await Self.get(client, "/v1/dead-letters/\(Self.text(UUID()))")
            #expect(unknown.status == .notFound)
            let malformed = try await Self.get(client, "/v1/dead-letters/not-a-uuid")
            #expect(malformed.status == .badRequest)
            #expect(try Self.json(malformed)["error"] as? String == "invalid_id")
        }
    }

    @Test(arguments: [
        ("reason=lost", "reason"), ("limit=0", "limit"), ("limit=501", "limit"), ("limit=ten", "limit"),
        ("cursor=next", "cursor"), ("cursor=", "cursor"), ("cursor=-1", "cursor"), ("cursor=%2B1", "cursor"),
        ("cursor=1234567890123456789", "cursor"), ("since=yesterday", "since"),
        ("until=2026-13-01T00:00:00Z", "until"),
    ])
    func aBadQueryParameterIsABadRequestNamingIt(query: String, parameter: String) async throws {
        let stores = Stores()
        stores.deadLetter(.expired)
        try await Self.serve(stores) { client in
            let response = try await Self.get(client, "/v1/dead-letters?\(query)")
            #expect(response.status == .badRequest)
            let body = try Self.json(response)
            #expect(body["error"] as? String == "invalid_parameter")
            #expect((body["message"] as? String)?.hasPrefix("\(parameter): ") == true, "\(body)")
        }
    }

    // MARK: Replays

    @Test func aDeadLetterAReplayCannotMendOrThatWasReplayedIsAConflict() async throws {
        let stores = Stores()
        let invalid = stores.deadLetter(.invalidEvent)
        let replayed = stores.deadLetter(.expired, reminderID: "r-1")
        stores.deadLetters.markReplayed(replayed, at: Self.firstFailure)
        try await Self.serve(stores) { client in
            for (id, error) in [(invalid, "not_replayable"), (replayed, "already_replayed")] {
                let response = try await client.execute(
                    uri: "/v1/dead-letters/\(Self.text(id))/replay", method: .post, headers: Self.authorized)
                #expect(response.status == .conflict)
                #expect(try Self.json(response)["error"] as? String == error)
            }
        }
    }

    @Test func aReplayThatCannotBePublishedIsABadGateway() async throws {
        let stores = Stores()
        let id = stores.deadLetter(
            .deliveryExhausted, reminderID: "r-1",
            message: DeadLetterEntry.Message(key: nil, value: Array("{}".utf8), headers: []))
        try await Self.serve(stores) { client in
            let response = try await client.execute(
                uri: "/v1/dead-letters/\(Self.text(id))/replay", method: .post, headers: Self.authorized)
            #expect(response.status == .badGateway)
            #expect(try Self.json(response)["error"] as? String == "publish_failed")
        }
    }

    // MARK: The token

    @Test func everyV1RouteWantsTheExactBearerToken() async throws {
        let stores = Stores()
        let id = stores.deadLetter(.expired, reminderID: "r-1")
        stores.reminders.schedule(reminderID: "r-1", channels: "[]", content: "{}", dueAt: Self.firstFailure)
        let refused: [HTTPFields] = [
            [:], [.authorization: "Bearer wrong-token-0123456789"], [.authorization: "Bearer \(Self.token)x"],
            [.authorization: "Bearer \(Self.token.dropLast())"], [.authorization: "Bearer"],
            [.authorization: "Basic \(Data(Self.token.utf8).base64EncodedString())"],
            [.authorization: Self.token],
        ]
        try await Self.serve(stores) { client in
            for (method, uri) in [
                (HTTPRequest.Method.get, "/v1/reminders/r-1"), (.get, "/v1/dead-letters"),
                (.get, "/v1/dead-letters/\(Self.text(id))"), (.post, "/v1/dead-letters/\(Self.text(id))/replay"),
            ] {
                for headers in refused {
                    let response = try await client.execute(uri: uri, method: method, headers: headers)
                    #expect(response.status == .unauthorized, "\(method) \(uri) with \(headers)")
                    #expect(response.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
                }
            }
            // The scheme's name is case-insensitive.
            let lowercase = try await Self.get(
                client, "/v1/reminders/r-1", headers: [.authorization: "bearer \(Self.token)"])
            #expect(lowercase.status == .ok)
        }
    }

    @Test func withoutAConfiguredTokenTheV1APIIsOffAndHealthIsNot() async throws {
        let stores = Stores()
        stores.reminders.schedule(reminderID: "r-1", channels: "[]", content: "{}", dueAt: Self.firstFailure)
        try await Self.serve(stores, token: nil) { client in
            let response = try await Self.get(client, "/v1/reminders/r-1")
            #expect(response.status == .unauthorized)
            #expect((try Self.json(response)["message"] as? String)?.contains("API_TOKEN is not set") == true)
            #expect(try await Self.get(client, "/health/live", headers: [:]).status == .ok)
        }
    }

    // MARK: Methods

    @Test func theRouterRecordsExactlyTheDocumentedRoutes() {
        let recorded = Stores().api(token: Self.token).router().routes.map { "\($0.method) \($0.path)" }
        #expect(Set(recorded) == Set(AdminAPI.routes.map { "\($0.method) \($0.path)" }))
        #expect(recorded.count == AdminAPI.routes.count)
    }

    @Test func aMethodAKnownPathDoesNotServeIsNotAllowedWithTheMethodsItDoes() async throws {
        let stores = Stores()
        let id = stores.deadLetter(.expired)
        try await Self.serve(stores) { client in
            for (method, uri, allow) in [
                (HTTPRequest.Method.trace, "/health/ready", "GET"), (.post, "/metrics", "GET"),
                (.delete, "/v1/reminders/r-1", "GET"), (.put, "/v1/dead-letters?limit=1", "GET"),
                (.get, "/v1/dead-letters/\(Self.text(id))/replay", "POST"),
                (HTTPRequest.Method("QUERY")!, "/v1/dead-letters/\(Self.text(id))", "GET"),
            ] {
                // With the token and without: the method is wrong whoever asks.
                for headers in [Self.authorized, [:]] {
                    let response = try await client.execute(uri: uri, method: method, headers: headers)
                    #expect(response.status == .methodNotAllowed, "\(method) \(uri)")
                    #expect(response.headers[.allow] == allow, "\(method) \(uri)")
                    #expect(try Self.json(response)["error"] as? String == "method_not_allowed")
                }
            }
            // The served methods go on working, and unknown paths are still not found.
            #expect(try await Self.get(client, "/v1/dead-letters/\(Self.text(id))").status == .ok)
            for (method, uri) in [(HTTPRequest.Method.get, "/v1/nothing"), (.trace, "/health"), (.get, "/")] {
                let response = try await client.execute(uri: uri, method: method, headers: Self.authorized)
                #expect(response.status == .notFound, "\(method) \(uri)")
                #expect(response.headers[.allow] == nil)
            }
        }
    }

    // MARK: Health and metrics

    @Test func readinessFollowsWhetherTheStoreAnswers() async throws {
        let stores = Stores()
        try await Self.serve(stores) { client in
            let ready = try await Self.get(client, "/health/ready", headers: [:])
            #expect(ready.status == .ok)
            #expect(try Self.json(ready)["status"] as? String == "ready")
            stores.lookup.failNext(1)
            let notReady = try await Self.get(client, "/health/ready", headers: [:])
            #expect(notReady.status == .serviceUnavailable)
            let checks = try #require(try Self.json(notReady)["checks"] as? [String: [String: Any]])
            #expect(checks["database"]?["ok"] as? Bool == false)
            #expect(checks["database"]?["detail"] as? String == "unreachable (connection error)")
        }
    }

    @Test func metricsCountTheRemindersWaitingInEachState() async throws {
        let stores = Stores()
        for number in 0..<3 {
            stores.reminders.schedule(
                reminderID: "r-\(number)", channels: "[]", content: "{}",
                dueAt: Self.firstFailure.addingTimeInterval(Double(number - 3)))
        }
        _ = try await stores.reminders.claim(limit: 1, lease: .seconds(60))
        try await Self.serve(stores) { client in
            let metrics = String(buffer: try await Self.get(client, "/metrics", headers: [:]).body)
            func value(_ series: String) -> Double? {
                metrics.split(separator: "\n").first { $0.hasPrefix(series + " ") }
                    .flatMap { $0.split(separator: " ").last.flatMap { Double($0) } }
            }
            #expect(value(#"notification_reminders{state="SCHEDULED"}"#) == 2)
            #expect(value(#"notification_reminders{state="SENDING"}"#) == 1)
            #expect(value(#"notification_reminders{state="RETRY"}"#) == 0)
            #expect(value("notification_database_up") == 1)
        }
    }
}
