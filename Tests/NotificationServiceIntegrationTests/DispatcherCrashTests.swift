import Delivery
import Foundation
import NotificationService
import PostgresNIO
import ReminderCore
import ReminderStore
import TestSupport
import Testing

/// A dispatcher process killed with SIGKILL in the middle of a send: once its lease has
/// run out, another dispatcher sends the reminder and records it.
///
/// This is the one case where the provider sees a reminder twice: the first send may
/// have reached it (here it did: the sink recorded it) before the process died, and
/// nothing was recorded in the database. Both sends carry the same idempotency key (the
/// reminder id: `Idempotency-Key` for webhooks, `I-Twilio-Idempotency-Token` for SMS,
/// the same `apns-id` and the same email `Message-ID`), so a provider or receiver that
/// deduplicates on it delivers once.
@Suite(.timeLimit(.minutes(6)))
struct DispatcherCrashTests {
    @Test func aSenderKilledMidSendIsTakenOverAfterItsLeaseWithTheSameIdempotencyKey() async throws {
        try #require(
            FileManager.default.isExecutableFile(atPath: ServeProcess.executable.path),
            "build the executable first")
        let sink = try await ProviderSink(lifetime: 180)
        defer { Task { await sink.stop() } }
        let (topic, _) = try await Topics.make("dispatch-crash", partitions: 1)
        try await TestDatabase.withDatabase { client, configuration in
            var url = URLComponents(string: LocalStack.databaseURL)!
            url.path = "/" + configuration.database
            let process = try ServeProcess.launch(
                topic: topic, group: "dispatch-crash-\(UUID().uuidString.prefix(8))", databaseURL: url.string!,
                settings: [
                    "DISPATCH_LEASE_MS": "12000", "WEBHOOK_SIGNING_SECRET": "0123456789abcdef-secret",
                    "WEBHOOK_ALLOW_LOOPBACK": "true", "HTTP_PROVIDER_CA_FILE": sink.caFile,
                    "HTTP_PROVIDER_TIMEOUT_MS": "4000",
                ])
            // The sink kills the sender as soon as it has the first send, and never
            // answers it: the process dies in the middle of its send however slow the
            // machine (a test that killed it after seeing the send lost the race to the
            // 4 s timeout on a loaded machine).
            try await sink.script(
                "/slow", [Response(action: "hang", killProcess: process.processIdentifier)], then: .ok)
            try await DueReminders.store(
                client, count: 1, prefix: "crash", channels: [["type": "webhook", "url": sink.baseURL + "/slow"]])
            try await eventually(.seconds(60), "the first send to reach the provider", every: .milliseconds(100)) {
                try await sink.count() == 1
            }
            #expect(try await process.exitStatus(within: .seconds(30)) == 128 + SIGKILL)
            #expect(try await DispatchHarness.states(client) == ["SENDING": 1])

            // The same lease as the dead sender's: the survivor takes over once it has
            // reached the database for a whole lease and the dead sender's has run out.
            let survivor = try DispatchHarness(
                database: client, configuration: configuration, caFile: sink.caFile,
                dispatcher: .init(lease: .seconds(12))
            ) {
                ProviderDirectory(webhook: DispatchHarness.guarded(DispatchHarness.webhook($0)))
            }
            do {
                try await eventually(.seconds(60), "the survivor to deliver after the lease") {
                    try await DispatchHarness.states(client) == ["DELIVERED": 1]
                }
            } catch {
                await survivor.stop()
                throw error
            }
            await survivor.stop()
            let requests = try await sink.requests(path: "/slow")
            #expect(requests.count == 2)
            #expect(requests.map { $0.headers["idempotency-key"] } == ["crash-0", "crash-0"])
            // Taken over no earlier than the lease allowed: 12 s after the first claim.
            let takeover = try await client.query(
                """
                SELECT extract(epoch FROM max(at) - min(at))::float8 FROM reminder_history WHERE event = 'claim'
                """, logger: TestDatabase.logger
            ).collect().first!.decode(Double.self)
            #expect(takeover >= 12)
            var transitions: [String] = []
            let rows = try await client.query(
                "SELECT from_state || '>' || to_state FROM reminder_history ORDER BY id",
                logger: TestDatabase.logger)
            for try await line in rows.decode(String.self) { transitions.append(line) }
            #expect(transitions == ["PENDING>SCHEDULED", "SCHEDULED>SENDING", "SENDING>SENDING", "SENDING>DELIVERED"])
        }
    }
}

private typealias Response = ProviderSink.Response
