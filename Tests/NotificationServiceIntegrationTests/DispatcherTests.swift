import Delivery
import Foundation
import Kafka
import Logging
import PostgresNIO
import ReminderCore
import ReminderStore
import Synchronization
import TestSupport
import Testing

/// The dispatcher end to end: real PostgreSQL, providers against loopback sinks.
@Suite(.timeLimit(.minutes(10)))
struct DispatcherTests {
    static let quickRetry = RetryPolicy(
        initialDelay: .milliseconds(300), multiplier: 2, maximumDelay: .seconds(5), maximumAttempts: 5, jitter: 0)

    /// The herd's ten thousand "reminder delivered" lines would be most of the suite's
    /// output, and the end of a CI run's output is all CI shows.
    static let noticesOnly: Logger = {
        var logger = DispatchHarness.logger
        logger.logLevel = .notice
        return logger
    }()

    func webhookChannel(_ sink: ProviderSink, _ path: String) -> [String: Any] {
        ["type": "webhook", "url": sink.baseURL + path]
    }

    @Test func twoServerErrorsThenSuccessDeliversOnTheThirdAttemptWithThePolicysDelays() async throws {
        let sink = try await ProviderSink(lifetime: 180)
        defer { Task { await sink.stop() } }
        try await sink.script("/retry", [.status(500), .status(500)], then: .ok)
        try await TestDatabase.withDatabase { client, configuration in
            try await DueReminders.store(client, count: 1, prefix: "retry", channels: [webhookChannel(sink, "/retry")])
            let harness = try DispatchHarness(database: client, configuration: configuration, caFile: sink.caFile) {
                ProviderDirectory(
                    webhook: DispatchHarness.guarded(DispatchHarness.webhook($0)), defaultRetryPolicy: Self.quickRetry)
            }
            try await eventually(.seconds(60), "the reminder to be delivered") {
                try await DispatchHarness.states(client) == ["DELIVERED": 1]
            }
            await harness.stop()
            let attempts = try await TestDatabase.count(client, "SELECT attempts::int8 FROM reminders")
            #expect(attempts == 3)
            var delays: [Int] = []
            let rows = try await client.query(
                "SELECT retry_delay_ms FROM delivery_attempts WHERE retry_delay_ms IS NOT NULL ORDER BY id",
                logger: DispatchHarness.logger)
            for try await delay in rows.decode(Int.self) { delays.append(delay) }
            #expect(delays == [300, 600])
            let outcomes = try await TestDatabase.count(
                client,
                "SELECT count(*)::int8 FROM delivery_attempts WHERE outcome = 'transient' AND answer = 'HTTP 500'")
            #expect(outcomes == 2)
            let requests = try await sink.requests(path: "/retry")
            #expect(requests.count == 3)
            #expect(Set(requests.compactMap { $0.headers["idempotency-key"] }) == ["retry-0"])
            // The sends were at least the recorded delays apart.
            #expect(requests[1].at - requests[0].at >= 0.3 && requests[2].at - requests[1].at >= 0.6)
        }
    }

    @Test func aPermanentPushFailureFallsBackToEmailOverSMTP() async throws {
        let sink = try await ProviderSink(lifetime: 180)
        defer { Task { await sink.stop() } }
        let mail = try await SMTPSink()
        try #require(mail.port > 0)
        try await sink.script(
            "/v1/projects/p/messages:send", [],
            then: .status(400, body: #"{"error":{"code":400,"status":"INVALID_ARGUMENT"}}"#))
        try await TestDatabase.withDatabase { client, configuration in
            try await DueReminders.store(
                client, count: 1, prefix: "fallback",
                channels: [
                    ["type": "push", "platform": "fcm", "token": "device-token"],
                    ["type": "email", "to": "ada@example.com"],
                ])
            let harness = try DispatchHarness(database: client, configuration: configuration, caFile: sink.caFile) {
                transport in
                ProviderDirectory(
                    email: [
                        DispatchHarness.guarded(
                            try SMTPProvider(
                                configuration: SMTPConfiguration(
                                    host: "127.0.0.1", port: mail.port,
                                    from: SMTPMailbox(address: "reminders@example.org"), startTLS: .off),
                                logger: DispatchHarness.logger))
                    ],
                    fcm: DispatchHarness.guarded(DispatchHarness.fcm(transport, baseURL: sink.baseURL)))
            }
            try await eventually(.seconds(60), "the reminder to be delivered by email") {
                try await DispatchHarness.states(client) == ["DELIVERED": 1]
            }
            await harness.stop()
            let messages = try mail.received()
            #expect(messages.count == 1)
            #expect(messages.first?.recipients == ["ada@example.com"])
            #expect(messages.first?.headers["Subject"] == "Dentist")
            #expect(try await sink.requests(path: "/v1/projects/p/messages:send").count == 1)
            var outcomes: [String] = []
            let rows = try await client.query(
                "SELECT channel || ':' || outcome FROM delivery_attempts ORDER BY id", logger: DispatchHarness.logger)
            for try await outcome in rows.decode(String.self) { outcomes.append(outcome) }
            #expect(outcomes == ["push:permanent", "email:delivered"])
            let status = try await client.query("SELECT channel_status FROM reminders", logger: DispatchHarness.logger)
                .collect().first!.decode(String.self)
            #expect(status == "po")
        }
    }

    @Test func everyChannelFailingDeadLettersWithTheRightReasonOnTheTopic() async throws {
        let sink = try await ProviderSink(lifetime: 180)
        defer { Task { await sink.stop() } }
        try await sink.script("/gone", [], then: .status(410))
        try await sink.script(
            "/2010-04-01/Accounts/AC1/Messages.json", [], then: .status(400, body: #"{"code":21211}"#))
        try await sink.script("/busy", [], then: .status(503))
        let (topic, dlq) = try await Topics.make("dispatch-dlq", partitions: 1)
        try await TestDatabase.withDatabase { client, configuration in
            try await DueReminders.store(
                client, count: 1, prefix: "perm",
                channels: [webhookChannel(sink, "/gone"), ["type": "sms", "to": "+4915112345678"]])
            try await DueReminders.store(
                client, count: 1, prefix: "exhausted", channels: [webhookChannel(sink, "/busy")])
            var twoAttempts = Self.quickRetry
            twoAttempts.maximumAttempts = 2
            let harness = try DispatchHarness(database: client, configuration: configuration, caFile: sink.caFile) {
                ProviderDirectory(
                    sms: [DispatchHarness.guarded(DispatchHarness.sms($0, baseURL: sink.baseURL))],
                    webhook: DispatchHarness.guarded(DispatchHarness.webhook($0)), defaultRetryPolicy: twoAttempts)
            }
            let instance = try ServiceInstance(database: client, topic: topic, dlqTopic: dlq, groupID: "dispatch-dlq")
            try await eventually(.seconds(60), "both reminders to be dead-lettered") {
                try await DispatchHarness.states(client) == ["DEAD_LETTER": 2]
            }
            let reader = try Topics.reader(of: dlq)
            var reasons: [String: String] = [:]
            for try await message in reader.messages {
                let header = { (name: String) in message.header(name)?.value.map { String(decoding: $0, as: UTF8.self) }
                }
                reasons[header("x-idempotency-key") ?? "?"] = header("x-dlq-reason")
                if reasons.count == 2 { break }
            }
            await reader.close()
            try await instance.stop()
            await harness.stop()
            #expect(reasons == ["perm-key-0": "permanent_failure", "exhausted-key-0": "delivery_exhausted"])
            #expect(try await sink.requests(path: "/busy").count == 2)
        }
    }

    @Test func aReminderPastItsExpiryIsDeadLetteredAsExpiredWithoutASend() async throws {
        let sink = try await ProviderSink(lifetime: 120)
        defer { Task { await sink.stop() } }
        try await TestDatabase.withDatabase { client, configuration in
            try await DueReminders.store(
                client, count: 1, prefix: "late", channels: [webhookChannel(sink, "/late")],
                dueAt: Date().addingTimeInterval(-120), expiresAt: Date().addingTimeInterval(-60))
            let harness = try DispatchHarness(database: client, configuration: configuration, caFile: sink.caFile) {
                ProviderDirectory(webhook: DispatchHarness.guarded(DispatchHarness.webhook($0)))
            }
            try await eventually(.seconds(60), "the reminder to be dead-lettered") {
                try await DispatchHarness.states(client) == ["DEAD_LETTER": 1]
            }
            await harness.stop()
            #expect(
                try await TestDatabase.count(client, "SELECT count(*)::int8 FROM dead_letters WHERE reason = 'expired'")
                    == 1)
            #expect(try await sink.count() == 0)
        }
    }

    @Test func twoDispatchersSendTenThousandDueRemindersExactlyOnceEach() async throws {
        let total = 10_000
        let sink = try await ProviderSink(lifetime: 600)
        defer { Task { await sink.stop() } }
        try await TestDatabase.withDatabase { client, configuration in
            try await DueReminders.store(
                client, count: total, prefix: "herd", channels: [webhookChannel(sink, "/herd")])
            let harness = try DispatchHarness(
                database: client, configuration: configuration, instances: 2, caFile: sink.caFile,
                dispatcher: .init(concurrency: 16, claimBatch: 50), logger: Self.noticesOnly
            ) {
                ProviderDirectory(webhook: DispatchHarness.guarded(DispatchHarness.webhook($0)))
            }
            try await eventually(.seconds(420), "every reminder to be delivered", every: .milliseconds(500)) {
                try await DispatchHarness.states(client) == ["DELIVERED": total]
            }
            await harness.stop()
            let requests = try await sink.requests(path: "/herd")
            let keys = requests.compactMap { $0.headers["idempotency-key"] }
            #expect(requests.count == total)
            #expect(Set(keys).count == total)
            #expect(try await TestDatabase.count(client, "SELECT count(*)::int8 FROM delivery_attempts") == total)
        }
    }

    @Test func aRateLimitSpacesABurstOutAndDropsNothing() async throws {
        let sink = try await ProviderSink(lifetime: 120)
        defer { Task { await sink.stop() } }
        try await TestDatabase.withDatabase { client, configuration in
            try await DueReminders.store(
                client, count: 50, prefix: "burst", channels: [["type": "sms", "to": "+4915112345678"]])
            // Before the bucket exists: by `start + t` at most 5 + 20·t sends can have begun.
            let start = Date().timeIntervalSince1970
            let harness = try DispatchHarness(database: client, configuration: configuration, caFile: sink.caFile) {
                ProviderDirectory(
                    sms: [
                        DispatchHarness.guarded(
                            DispatchHarness.sms($0, baseURL: sink.baseURL), rateLimit: .init(rate: 20, burst: 5))
                    ])
            }
            try await eventually(.seconds(60), "the burst to be delivered") {
                try await DispatchHarness.states(client) == ["DELIVERED": 50]
            }
            await harness.stop()
            let arrivals = try await sink.requests().map(\.at).sorted()
            #expect(arrivals.count == 50)
            // Five from the burst, then 20 a second: send k (from 0) needs k + 1 tokens, so it
            // arrives no earlier than (k - 4) / 20 s after the start, 2.25 s for the last.
            // A slow machine only makes arrivals later; a missing limit fails this.
            let early = arrivals.enumerated().filter { k, at in k >= 5 && at - start < Double(k - 4) / 20 - 0.01 }
            #expect(early.isEmpty, "sends ahead of the rate: \(early.map(\.offset))")
            #expect(try await TestDatabase.count(client, "SELECT count(*)::int8 FROM delivery_attempts") == 50)
        }
    }

    @Test func aProviderThatNeverAnswersOpensItsCircuitTheFallbackIsUsedAndItClosesOnRecovery() async throws {
        let sink = try await ProviderSink(lifetime: 180)
        defer { Task { await sink.stop() } }
        try await sink.script("/silent", [.hang, .hang], then: .ok)
        try await TestDatabase.withDatabase { client, configuration in
            let channels: [[String: Any]] = [webhookChannel(sink, "/silent"), ["type": "sms", "to": "+4915112345678"]]
            // The circuit stays open until the test moves its clock on: however slow the
            // machine, the retries of the first two reminders find it open (with a real
            // 8 s, a loaded run's retry came after it and probed).
            let breaker = CircuitBreaker.Configuration(
                failureThreshold: 2, openDuration: .seconds(600), halfOpenProbes: 1)
            let clock = MovableClock()
            let harness = try DispatchHarness(
                database: client, configuration: configuration, caFile: sink.caFile, httpTimeout: .seconds(4)
            ) {
                ProviderDirectory(
                    sms: [DispatchHarness.guarded(DispatchHarness.sms($0, baseURL: sink.baseURL))],
                    webhook: DispatchHarness.guarded(DispatchHarness.webhook($0), breaker: breaker, now: clock.now),
                    defaultRetryPolicy: Self.quickRetry)
            }
            let webhook = try #require(harness.directory.webhook)
            // Two reminders time out on the webhook: the circuit opens. (A 4 s timeout: with
            // 500 ms, a loaded machine let an answered request, to SMS, time out too.)
            try await DueReminders.store(client, count: 2, prefix: "silent", channels: channels)
            try await eventually(.seconds(60), "the circuit to open") {
                if case .open = webhook.circuitSummary.state { return true }
                return false
            }
            // Their retries find the circuit open and go to SMS instead, without waiting.
            try await eventually(.seconds(60), "both to be delivered by the fallback") {
                try await DispatchHarness.states(client) == ["DELIVERED": 2]
            }
            #expect(
                try await TestDatabase.count(
                    client, "SELECT count(*)::int8 FROM delivery_attempts WHERE outcome = 'circuit_open'") == 2)
            #expect(
                try await TestDatabase.count(
                    client, "SELECT count(*)::int8 FROM delivery_attempts WHERE error_class = 'timeout'") == 2)
            #expect(try await sink.requests(path: "/2010-04-01/Accounts/AC1/Messages.json").count == 2)
            #expect(webhook.circuitSummary.state?.name == "open")
            // The webhook recovers; after the open time a probe goes through and closes it.
            clock.advance(by: .seconds(601))
            #expect(webhook.circuitSummary.state == .halfOpen(probesInFlight: 0))
            try await DueReminders.store(client, count: 1, prefix: "recovered", channels: channels)
            try await eventually(.seconds(60), "the third reminder to be delivered") {
                try await DispatchHarness.states(client) == ["DELIVERED": 3]
            }
            await harness.stop()
            #expect(webhook.circuitSummary.state == .closed(consecutiveFailures: 0))
            let delivered = try await sink.requests(path: "/silent")
            #expect(delivered.count == 3)
            #expect(delivered.last?.headers["idempotency-key"] == "recovered-0")
        }
    }
}

/// The continuous clock, moved on by the test: an open circuit's time runs out at once.
final class MovableClock: Sendable {
    private let offset = Mutex(Duration.zero)

    var now: @Sendable () -> ContinuousClock.Instant {
        { ContinuousClock.now + self.offset.withLock { $0 } }
    }

    func advance(by duration: Duration) {
        offset.withLock { $0 += duration }
    }
}
