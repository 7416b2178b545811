import Delivery
import Foundation
import Kafka
import PostgresNIO
import ReminderCore
import ReminderStore
import TestSupport
import Testing

/// The status topic end to end: events published to the reminders topic, ingested, sent
/// by a dispatcher to a loopback HTTPS receiver, their outcomes relayed to the status
/// topic. Every record there is checked against `schemas/reminder-status.v1.json` and,
/// one for one, against the outbox and each reminder's history and channel attempts.
@Suite(.timeLimit(.minutes(6)))
struct StatusTopicTests {
    private static let user = "user-status"

    private static func tomorrowAtNine() -> String {
        LocalDateTime(date: .tomorrow(in: "Europe/Berlin"), time: LocalTime(hour: 9, minute: 0)!).description
    }

    /// Publishes the events to `topic`, keyed by the suite's user, and waits for the broker.
    private static func publish(_ events: [[String: Any]], to topic: String) async throws {
        let producer = try Topics.producer()
        for result in await producer.send(
            events.map { KafkaProducerMessage(topic: topic, key: Array(user.utf8), value: EventFixtures.json($0)) })
        {
            _ = try result.get()
        }
        await producer.close()
    }

    private static func schedule(_ id: String, url: String, _ extra: [String: Any] = [:]) -> [String: Any] {
        var event: [String: Any] = [
            "schema_version": 1, "type": "schedule", "idempotency_key": "key-\(id)", "reminder_id": id,
            "user_id": user, "timezone": "Europe/Berlin", "deliver_at_local": tomorrowAtNine(),
            "channels": [["type": "webhook", "url": url]], "content": ["title": "Status", "body": "of \(id)"],
            "correlation_id": "corr-\(id)",
        ]
        event.merge(extra) { _, new in new }
        return event
    }

    /// The clock moves on: whatever waits is due now (what `expiring` names is past its
    /// expiry as well), and the dispatchers are told.
    private func moveTimeOn(_ client: PostgresClient) async throws {
        try await client.query(
            """
            WITH moved AS (
                UPDATE reminders SET due_at = now(),
                    expires_at = CASE WHEN reminder_id = 'expiring' THEN now() - interval '1 second' ELSE expires_at END
                WHERE state = 'SCHEDULED' AND due_at > now() RETURNING id)
            SELECT pg_notify(\(DispatchStore.wakeChannel), '') FROM moved LIMIT 1
            """, logger: DispatchHarness.logger)
    }

    private func states(_ client: PostgresClient) async throws -> [String: String] {
        var states: [String: String] = [:]
        let rows = try await client.query(
            "SELECT reminder_id, state || coalesce(':' || occurrence, '') FROM reminders",
            logger: DispatchHarness.logger)
        for try await (id, state) in rows.decode((String, String).self) { states[id] = state }
        return states
    }

    /// A stored status event as its record must carry it.
    private struct Stored {
        let sequence: Int64
        let fields: [String: String]
    }

    /// The published records kept (`published_status_events`) by id, each as the strings
    /// its record's fields must equal.
    private func outbox(_ client: PostgresClient) async throws -> [String: Stored] {
        let rows = try await client.query(
            """
            SELECT id::text, seq, json_strip_nulls(json_build_object(
                'type', type, 'reminder_id', reminder_id, 'user_id', user_id, 'correlation_id', correlation_id,
                'occurrence', occurrence::text, 'attempt', attempt::text, 'channel', channel, 'provider', provider,
                'will_retry', will_retry::text, 'reason', reason, 'error', error, 'detail', detail))::text
            FROM published_status_events
            """, logger: DispatchHarness.logger)
        var stored: [String: Stored] = [:]
        for try await (id, sequence, json) in rows.decode((String, Int64, String).self) {
            let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as! [String: String]
            stored[id] = Stored(sequence: sequence, fields: object)
        }
        return stored
    }

    /// What the history says the publisher must have been told, per reminder, in order:
    /// `type:occurrence`, from its transitions.
    private func told(_ client: PostgresClient) async throws -> [String: [String]] {
        let rows = try await client.query(
            """
            SELECT r.reminder_id, t.event, t.to_state, coalesce(t.occurrence::text, '-'), t.detail
            FROM reminder_history t JOIN reminders r ON r.id = t.reminder_id ORDER BY t.id
            """, logger: DispatchHarness.logger)
        var told: [String: [String]] = [:]
        for try await (id, event, to, occurrence, detail) in rows.decode(
            (String, String, String, String, String?).self)
        {
            let line: String? =
                switch (event, to) {
                case ("schedule", "SCHEDULED"), ("recur", "SCHEDULED"): "scheduled:\(occurrence)"
                case ("deliver", _): "delivered:\(occurrence)"
                case ("scheduleRetry", _): "attempt_failed:\(occurrence)"
                case ("deadLetter", _) where detail == "expired": "expired:\(occurrence)"
                case ("deadLetter", _): "dead_lettered:\(occurrence)"
                case ("cancel", "CANCELLED"): "cancelled:\(occurrence)"
                default: nil
                }
            if let line { told[id, default: []].append(line) }
        }
        // An attempt that failed for good is told before its dead letter (an expiry sent nothing).
        for (id, lines) in told {
            told[id] = lines.flatMap {
                $0.hasPrefix("dead_lettered:") ? ["attempt_failed:" + $0.dropFirst(14), $0] : [$0]
            }
        }
        return told
    }

    @Test func everyOutcomeReachesTheStatusTopicOnceInOrderAsTheContractSays() async throws {
        let (topic, dlq) = try await Topics.make("status", partitions: 2)
        let statusTopic = topic + ".status"
        let sink = try await ProviderSink(lifetime: 150)
        defer { Task { await sink.stop() } }
        // The series' second occurrence is refused once (503), then accepted.
        try await sink.script("/daily", [.ok, .status(503)], then: .ok)
        try await sink.script("/refused", [], then: .status(400))
        try await TestDatabase.withDatabase { client, configuration in
            let events = [
                Self.schedule("daily", url: sink.baseURL + "/daily", ["recurrence": ["freq": "daily", "count": 3]]),
                Self.schedule("once", url: sink.baseURL + "/once"),
                Self.schedule("refused", url: sink.baseURL + "/refused"),
                Self.schedule("cancelled", url: sink.baseURL + "/never"),
                Self.schedule("expiring", url: sink.baseURL + "/never", ["expires_at": "2999-01-01T00:00:00Z"]),
                [
                    "schema_version": 1, "type": "cancel", "idempotency_key": "key-cancel", "reminder_id": "cancelled",
                    "user_id": Self.user,
                ],
            ]
            try await Self.publish(events, to: topic)
            // Published records are kept (not deleted, the default), to compare the topic with them.
            let instance = try ServiceInstance(
                database: client, topic: topic, dlqTopic: dlq, groupID: "status",
                settings: ["RETENTION_STATUS_EVENTS_DAYS": "1"])
            let dispatch = try DispatchHarness(
                database: client, configuration: configuration, caFile: sink.caFile, httpTimeout: .seconds(30)
            ) {
                ProviderDirectory(
                    webhook: DispatchHarness.guarded(DispatchHarness.webhook($0)),
                    defaultRetryPolicy: RecurringDispatchTests.quickRetry)
            }
            let expected = [
                "daily": "DELIVERED:3", "once": "DELIVERED", "refused": "DEAD_LETTER", "cancelled": "CANCELLED",
                "expiring": "DEAD_LETTER",
            ]
            do {
                try await eventually(.seconds(90), "every reminder to reach its end", every: .milliseconds(200)) {
                    try await moveTimeOn(client)
                    return try await states(client) == expected
                }
                try await eventually(.seconds(30), "the outbox to be published, its records kept apart") {
                    try await TestDatabase.count(client, "SELECT count(*)::int8 FROM status_events") == 0
                }
            } catch {
                await dispatch.stop()
                try await instance.stop()
                throw error
            }
            await dispatch.stop()
            try await instance.stop()

            let stored = try await outbox(client)
            // Each record's id (drawn by the service) is its own, a version 4 UUID.
            let rows = try await TestDatabase.count(client, "SELECT count(*)::int8 FROM published_status_events")
            #expect(stored.count == rows, "no two status records share an id")
            for id in stored.keys {
                let characters = Array(id)
                #expect(characters.count == 36 && characters[14] == "4" && "89ab".contains(characters[19]), "\(id)")
            }
            let reader = try Topics.reader(of: statusTopic)
            var records: [KafkaMessage] = []
            for try await message in reader.messages {
                records.append(message)
                if Set(
                    records.compactMap { $0.header("x-status-id")?.value }.map { String(decoding: $0, as: UTF8.self) }
                )
                .count == stored.count {
                    break
                }
            }
            await reader.close()

            // Every record valid under the schema.
            let lines = records.map { String(decoding: $0.value ?? [], as: UTF8.self) }
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("status-\(UUID()).jsonl")
            try lines.joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(at: file) }
            let check = try await PythonScript.run("check_status_schema.py", [file.path])
            #expect(check.status == 0, "\(check.output)")

            // One for one with the outbox: the same ids, each record's fields its row's, keyed
            // by the user, its id in the header; a record seen twice (at least once) is the same.
            var seen: [String: [String: Any]] = [:]
            var order: [String: [Int64]] = [:]
            for (record, line) in zip(records, lines) {
                let json = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                let id = try #require(json["id"] as? String)
                #expect(record.header("x-status-id")?.value.map { String(decoding: $0, as: UTF8.self) } == id)
                #expect(record.key == Array(Self.user.utf8))
                if let earlier = seen[id] {
                    #expect(NSDictionary(dictionary: earlier).isEqual(to: json), "a record again is the same record")
                    continue
                }
                seen[id] = json
                let row = try #require(stored[id], "record \(id) is in the outbox")
                #expect((json["sequence"] as? Int).map(Int64.init) == row.sequence)
                for (field, value) in row.fields {
                    let published =
                        field == "will_retry" ? (json[field] as? Bool).map(String.init) : json[field].map { "\($0)" }
                    #expect(published == value, "\(id) \(field)")
                }
                order[json["reminder_id"] as! String, default: []].append(row.sequence)
            }
            #expect(Set(seen.keys) == Set(stored.keys))
            // In order per reminder.
            for (id, sequences) in order { #expect(sequences == sequences.sorted(), "\(id) in order") }

            // One for one with each reminder's history.
            var published: [String: [String]] = [:]
            for json in seen.values.sorted(by: { ($0["sequence"] as! Int) < ($1["sequence"] as! Int) }) {
                let occurrence = (json["occurrence"] as? Int).map(String.init) ?? "-"
                published[json["reminder_id"] as! String, default: []].append("\(json["type"]!):\(occurrence)")
            }
            #expect(published == (try await told(client)))
            #expect(
                published == [
                    "daily": [
                        "scheduled:1", "delivered:1", "scheduled:2", "attempt_failed:2", "delivered:2", "scheduled:3",
                        "delivered:3",
                    ],
                    "once": ["scheduled:-", "delivered:-"],
                    "refused": ["scheduled:-", "attempt_failed:-", "dead_lettered:-"],
                    "cancelled": ["scheduled:-", "cancelled:-"],
                    "expiring": ["scheduled:-", "expired:-"],
                ])
            // A delivered record names the channel and provider the attempt that delivered used.
            let delivered = try await client.query(
                """
                SELECT count(*)::int8 FROM published_status_events s JOIN delivery_attempts a
                    ON a.reminder_id = s.reminder AND a.outcome = 'delivered'
                    AND a.occurrence IS NOT DISTINCT FROM s.occurrence AND a.channel = s.channel
                    AND a.provider = s.provider AND a.attempt = s.attempt
                WHERE s.type = 'delivered'
                """, logger: DispatchHarness.logger
            ).collect().first!.decode(Int64.self)
            #expect(delivered == 4)
        }
    }

    @Test func byDefaultARecordLeavesTheOutboxOnceTheBrokerHasIt() async throws {
        let (topic, dlq) = try await Topics.make("status-deleted", partitions: 2)
        try await TestDatabase.withDatabase { client, _ in
            let events =
                (1...3).map { Self.schedule("later-\($0)", url: "https://127.0.0.1:9/never") } + [
                    [
                        "schema_version": 1, "type": "cancel", "idempotency_key": "key-cancel-2",
                        "reminder_id": "later-2",
                        "user_id": Self.user,
                    ]
                ]
            try await Self.publish(events, to: topic)
            let instance = try ServiceInstance(database: client, topic: topic, dlqTopic: dlq, groupID: "status-deleted")
            do {
                try await eventually(.seconds(30), "the events stored") {
                    try await TestDatabase.count(client, "SELECT count(*)::int8 FROM inbox") == 4
                }
                try await eventually(.seconds(30), "the outbox to be published and emptied") {
                    try await TestDatabase.count(client, "SELECT count(*)::int8 FROM status_events") == 0
                }
            } catch {
                try await instance.stop()
                throw error
            }
            try await instance.stop()
            let reader = try Topics.reader(of: topic + ".status")
            var published: [String: String] = [:]
            for try await message in reader.messages {
                let json = try #require(
                    try JSONSerialization.jsonObject(with: Data(message.value ?? [])) as? [String: Any])
                published[try #require(json["id"] as? String)] = "\(json["reminder_id"]!):\(json["type"]!)"
                if published.count == 4 { break }
            }
            await reader.close()
            #expect(
                published.values.sorted() == [
                    "later-1:scheduled", "later-2:cancelled", "later-2:scheduled", "later-3:scheduled",
                ])
        }
    }
}
