import BenchmarkSupport
import Foundation
import Kafka
import NIOCore
import PostgresNIO
import ReminderStore

/// One scenario's world: its own topic, database and receiver, the `serve` processes it
/// starts, and the counts its report row is made of. Everything is on loopback.
final class ScenarioRun: @unchecked Sendable {
    let name: String
    let topic: String
    let sink: WebhookSink
    let databaseURL: String
    let client: KafkaClientConfiguration
    /// The broker of this scenario (the suite's, unless it brings its own).
    let bootstrapServers: String
    private let suite: ChaosSuite
    private let database: DatabaseConfiguration
    private var processes: [Int: Process] = [:]
    private var launches = 0

    /// Settings every instance of the suite runs with: short timeouts and leases so that
    /// faults resolve within the run, loopback webhooks allowed.
    var settings: [String: String]

    init(
        _ name: String, suite: ChaosSuite, partitions: Int32 = 8, bootstrapServers: String? = nil,
        behaviour: @escaping WebhookSink.Behaviour
    ) async throws {
        self.name = name
        self.suite = suite
        let runID = UUID().uuidString.prefix(8).lowercased()
        topic = "chaos-\(name)-\(runID)"
        self.bootstrapServers = bootstrapServers ?? suite.target.bootstrapServers
        client = KafkaClientConfiguration(
            bootstrapServers: self.bootstrapServers.split(separator: ",").map(String.init))
        let admin = try KafkaAdmin(configuration: client)
        try await admin.createTopic(topic, partitions: partitions)
        try await admin.createTopic(topic + ".dlq", partitions: partitions)
        try await admin.createTopic(topic + ".status", partitions: partitions)
        sink = try await WebhookSink(
            certificateFile: suite.receiver.certificate, keyFile: suite.receiver.key, behaviour: behaviour)
        databaseURL = try await suite.target.createDatabase(
            "chaos_\(name.replacingOccurrences(of: "-", with: "_"))_\(runID)")
        database = try DatabaseConfiguration(url: databaseURL)
        settings = [
            "WEBHOOK_SIGNING_SECRET": "chaos-suite-signing-secret", "WEBHOOK_ALLOW_LOOPBACK": "true",
            "HTTP_PROVIDER_CA_FILE": suite.receiver.certificate, "HTTP_PROVIDER_TIMEOUT_MS": "1000",
            "DISPATCH_LEASE_MS": "3000", "RETRY_INITIAL_MS": "200", "RETRY_MAX_MS": "2000",
            "RETRY_MAX_ATTEMPTS": "40", "BREAKER_OPEN_MS": "2000", "HTTP_PORT": "0", "SHUTDOWN_TIMEOUT_MS": "10000",
            "LOG_LEVEL": ProcessInfo.processInfo.environment["CHAOS_LOG_LEVEL"] ?? "warning",
        ]
    }

    var hook: String { "https://127.0.0.1:\(sink.port)" }

    /// Starts instance `slot` (replacing a stopped one).
    func start(_ slot: Int = 0) throws {
        launches += 1
        let log = suite.logDirectory.map { "\($0)/\(name)-\(slot)-\(launches).log" }
        processes[slot] = try suite.target.launch(
            topic: topic, group: "chaos-\(topic)", databaseURL: databaseURL, settings: settings, log: log,
            bootstrapServers: bootstrapServers)
    }

    /// Sends `signal` to instance `slot` and waits (up to 60 s) for it to end.
    func stop(_ slot: Int = 0, _ signal: Int32 = SIGTERM) async throws {
        guard let process = processes[slot] else { return }
        if process.isRunning { kill(process.processIdentifier, signal) }
        let deadline = ContinuousClock.now + .seconds(60)
        while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        processes[slot] = nil
    }

    func stopAll() async throws {
        for slot in processes.keys.sorted() { try await stop(slot) }
    }

    /// A webhook reminder, due at `dueAt` (seconds since 1970), to `path` on the sink.
    func event(
        _ id: String, user: Int, dueAt: Double, path: String = "/ok", type: String = "schedule", key: String? = nil,
        channels: String? = nil
    ) -> KafkaProducerMessage {
        let due = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: dueAt))
        let userID = "user-\(user)"
        let body: String
        if type == "cancel" {
            body = """
                {"schema_version":1,"type":"cancel","idempotency_key":"\(key ?? "cancel-\(id)")",\
                "reminder_id":"\(id)","user_id":"\(userID)"}
                """
        } else {
            body = """
                {"schema_version":1,"type":"schedule","idempotency_key":"\(key ?? "key-\(id)")","reminder_id":"\(id)",\
                "user_id":"\(userID)","deliver_at":"\(due)",\
                "channels":\(channels ?? "[{\"type\":\"webhook\",\"url\":\"\(hook)\(path)\"}]"),\
                "content":{"title":"Chaos \(id)","body":"Body"},"correlation_id":"chaos-\(id)"}
                """
        }
        return KafkaProducerMessage(topic: topic, key: Array(userID.utf8), value: Array(body.utf8))
    }

    /// A webhook reminder to `path` on the sink that recurs daily, `count` times, from
    /// `firstLocal` (a wall-clock time in UTC, `2027-03-22T09:00`).
    func recurringEvent(_ id: String, user: Int, firstLocal: String, count: Int, path: String = "/ok")
        -> KafkaProducerMessage
    {
        let userID = "user-\(user)"
        let body = """
            {"schema_version":1,"type":"schedule","idempotency_key":"key-\(id)","reminder_id":"\(id)",\
            "user_id":"\(userID)","timezone":"UTC","deliver_at_local":"\(firstLocal)",\
            "recurrence":{"freq":"daily","count":\(count)},\
            "channels":[{"type":"webhook","url":"\(hook)\(path)"}],\
            "content":{"title":"Chaos \(id)","body":"Body"},"correlation_id":"chaos-\(id)"}
            """
        return KafkaProducerMessage(topic: topic, key: Array(userID.utf8), value: Array(body.utf8))
    }

    /// `count` webhook reminders due now, named `<prefix>-<n>`, spread over 5,000 users.
    func stream(_ prefix: String, count: Int) -> (ids: [String], messages: [KafkaProducerMessage]) {
        let now = Date().timeIntervalSince1970
        let ids = (0..<count).map { "\(prefix)-\($0)" }
        return (ids, ids.enumerated().map { event($0.element, user: $0.offset % 5_000, dueAt: now) })
    }

    /// Waits for the reminders to settle, then stops everything and makes the report row.
    func finish(_ ids: [String], since start: ContinuousClock.Instant) async throws -> Outcome {
        try await settle(expected: ids.count, within: .seconds(900))
        let outcome = try await outcome(published: Set(ids), seconds: Self.seconds(since: start))
        await close()
        return outcome
    }

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    func publish(_ messages: [KafkaProducerMessage]) async throws {
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: client))
        for start in stride(from: 0, to: messages.count, by: 5_000) {
            for result in await producer.send(Array(messages[start..<min(start + 5_000, messages.count)])) {
                _ = try result.get()
            }
        }
        await producer.close()
    }

    func withClient(_ body: (PostgresClient) async throws -> Void) async throws {
        try await database.withClient(logger: benchLogger) { client in try await body(client) }
    }

    func count(_ sql: String) async throws -> Int {
        try await database.withClient(logger: benchLogger) { client in
            try await client.query(PostgresQuery(unsafeSQL: sql), logger: benchLogger).collect().first!.decode(Int.self)
        }
    }

    /// Waits until `expected` reminders are stored and none waits to be sent (or the
    /// time is up); then a moment more, for a late duplicate to show.
    func settle(expected: Int, within limit: Duration) async throws {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            let stored = (try? await count("SELECT count(*)::int8 FROM reminders")) ?? 0
            let waiting =
                (try? await count(
                    "SELECT count(*)::int8 FROM reminders WHERE state IN ('SCHEDULED', 'RETRY', 'SENDING')")) ?? 1
            if stored >= expected && waiting == 0 { break }
            try await Task.sleep(for: .milliseconds(500))
        }
        try await Task.sleep(for: .seconds(2))
    }

    /// The report row: what was published, stored, delivered (answered 200 at the sink),
    /// dead-lettered and cancelled, duplicates inside the documented windows and outside
    /// them, and what is lost. The windows (docs/delivery.md): a sender killed after the
    /// provider accepted, taken over after its lease, and a send whose answer did not
    /// come within the provider's timeout though the receiver accepted it, sent again
    /// with the same idempotency key. Each claim of a reminder still `SENDING`, and each
    /// of its sends that timed out, explains one extra delivery.
    func outcome(published ids: Set<String>, seconds: Double) async throws -> Outcome {
        var delivered: [String: Int] = [:]
        for arrival in sink.arrivals where arrival.answer.accepted && ids.contains(arrival.reminderID) {
            delivered[arrival.reminderID, default: 0] += 1
        }
        let windows = try await database.withClient(logger: benchLogger) { client in
            var result: [String: Int] = [:]
            let rows = try await client.query(
                """
                SELECT r.reminder_id, count(*)::int8 FROM reminder_history t JOIN reminders r ON r.id = t.reminder_id
                WHERE \(unescaped: Self.windowCondition) GROUP BY r.reminder_id
                """, logger: benchLogger)
            for try await (id, count) in rows.decode((String, Int).self) { result[id] = count }
            return result
        }
        var windowDuplicates = 0
        var duplicates = 0
        var unexplained: [String] = []
        for (id, count) in delivered where count > 1 {
            let extra = count - 1
            let explained = min(extra, windows[id] ?? 0)
            windowDuplicates += explained
            duplicates += extra - explained
            if extra > explained { unexplained.append(id) }
        }
        if !unexplained.isEmpty { try await describe(unexplained.sorted().prefix(5)) }
        let deadLettered = try await count(
            "SELECT count(DISTINCT reminder_id)::int8 FROM dead_letters WHERE reminder_id IS NOT NULL")
        let cancelled = try await count("SELECT count(*)::int8 FROM reminders WHERE state = 'CANCELLED'")
        let stored = try await count("SELECT count(*)::int8 FROM reminders")
        let accounted = delivered.count + deadLettered + cancelled
        return Outcome(
            scenario: name, published: ids.count, stored: stored, delivered: delivered.count,
            deadLettered: deadLettered, cancelled: cancelled, windowDuplicates: windowDuplicates,
            duplicates: duplicates, lost: max(0, ids.count - accounted), seconds: seconds)
    }

    /// The history rows (`reminder_history t`) that open a documented window for a
    /// duplicate: a claim taking over a send in flight, or a send that timed out.
    static let windowCondition = """
        t.from_state = 'SENDING' AND (t.event = 'claim' OR (t.event = 'fail' AND t.error_class = 'timeout'))
        """

    /// Prints what the receiver saw of each reminder delivered twice outside the windows,
    /// and the reminder's history, so that a failed run says how it happened.
    private func describe(_ reminders: ArraySlice<String>) async throws {
        let arrivals = sink.arrivals.filter { reminders.contains($0.reminderID) }
        try await database.withClient(logger: benchLogger) { client in
            for reminder in reminders {
                print("scenario \(name): \(reminder) delivered more than once outside the documented windows")
                for arrival in arrivals where arrival.reminderID == reminder {
                    let at = Date(timeIntervalSince1970: arrival.arrivedAt).formatted(
                        .iso8601.time(includingFractionalSeconds: true))
                    print("  arrived \(at) key \(arrival.idempotencyKey) accepted \(arrival.answer.accepted)")
                }
                let rows = try await client.query(
                    """
                    SELECT t.event, t.from_state, t.to_state, t.attempt, coalesce(t.error_class, ''),
                        to_char(t.at AT TIME ZONE 'UTC', 'HH24:MI:SS.MS')
                    FROM reminder_history t JOIN reminders r ON r.id = t.reminder_id
                    WHERE r.reminder_id = \(reminder) ORDER BY t.id
                    """, logger: benchLogger)
                for try await (event, from, to, attempt, error, at) in rows.decode(
                    (String, String, String, Int32, String, String).self)
                {
                    print("  \(at) \(event) \(from) -> \(to) attempt \(attempt) \(error)")
                }
            }
        }
    }

    func close() async {
        try? await stopAll()
        await sink.close()
    }
}

/// One row of the report.
struct Outcome: Sendable {
    let scenario: String
    let published: Int
    let stored: Int
    let delivered: Int
    let deadLettered: Int
    let cancelled: Int
    /// Sent twice with the same idempotency key after a takeover or a send that timed out
    /// (the documented windows, `windowCondition`).
    let windowDuplicates: Int
    /// Sent twice otherwise: a defect.
    let duplicates: Int
    let lost: Int
    let seconds: Double
    /// Whether even the documented window must stay empty (no sender is killed).
    var strict = false

    var passed: Bool { lost == 0 && duplicates == 0 && (!strict || windowDuplicates == 0) }
}
