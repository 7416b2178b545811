import Delivery
import Foundation
import Logging
import NotificationService
import PostgresNIO
import ReminderCore
import ReminderStore
import TestSupport
import Testing

/// The logs of a whole dispatch run, over every channel, delivered, retried and
/// dead-lettered, carry the reminder and correlation ids and never a recipient's
/// address, number, token, URL or the reminder's text.
@Suite(.timeLimit(.minutes(6)))
struct LogPrivacyTests {
    @Test func aFullDispatchRunLogsNoPersonalData() async throws {
        let sink = try await ProviderSink(lifetime: 240)
        defer { Task { await sink.stop() } }
        let mail = try await SMTPSink()
        try #require(mail.port > 0)
        try await sink.script(
            "/v1/projects/p/messages:send", [], then: .status(404, body: #"{"error":{"status":"NOT_FOUND"}}"#))
        try await sink.script("/hook-secret-path", [.status(503)], then: .ok)
        let captured = CapturedLog()
        let logger = captured.logger("privacy", level: .debug)
        let secrets = [
            "ada.lovelace@example.com", "+4915112345678", "device-token-3f9a", "hook-secret-path", "Dentist",
            "Tomorrow at 9:30",
        ]
        try await TestDatabase.withDatabase { client, configuration in
            try await DueReminders.store(
                client, count: 3, prefix: "private",
                channels: [
                    ["type": "push", "platform": "fcm", "token": "device-token-3f9a"],
                    ["type": "webhook", "url": sink.baseURL + "/hook-secret-path"],
                    ["type": "sms", "to": "+4915112345678"],
                    ["type": "email", "to": "ada.lovelace@example.com"],
                ])
            try await DueReminders.store(
                client, count: 1, prefix: "mail-only", channels: [["type": "email", "to": "ada.lovelace@example.com"]])
            var quick = RetryPolicy.default
            quick.initialDelay = .milliseconds(200)
            quick.jitter = 0
            let harness = try DispatchHarness(
                database: client, configuration: configuration, caFile: sink.caFile, logger: logger
            ) { transport in
                ProviderDirectory(
                    email: [
                        DispatchHarness.guarded(
                            try SMTPProvider(
                                configuration: SMTPConfiguration(
                                    host: "127.0.0.1", port: mail.port,
                                    from: SMTPMailbox(address: "reminders@example.org"), startTLS: .off),
                                logger: logger))
                    ],
                    fcm: DispatchHarness.guarded(DispatchHarness.fcm(transport, baseURL: sink.baseURL, logger: logger)),
                    // One failure opens the webhook origin's circuit: its log line names the
                    // origin, never the URL's path.
                    webhook: DispatchHarness.guarded(
                        DispatchHarness.webhook(transport),
                        breaker: .init(failureThreshold: 1, openDuration: .seconds(30), halfOpenProbes: 1),
                        circuits: .destinationOrigin(maximum: 8), logger: logger),
                    defaultRetryPolicy: quick)
            }
            do {
                try await eventually(.seconds(120), "every reminder to be delivered") {
                    try await DispatchHarness.states(client) == ["DELIVERED": 4]
                }
            } catch {
                await harness.stop()
                throw error
            }
            await harness.stop()
        }
        let lines = captured.lines.withLock { $0 }
        #expect(lines.count >= 5)
        for line in lines {
            for secret in secrets {
                #expect(!line.contains(secret), "a log line holds personal data: \(line)")
            }
        }
        let delivered = captured.records.filter { $0["message"] as? String == "reminder delivered" }
        #expect(delivered.count == 4)
        #expect(delivered.allSatisfy { $0["reminder_id"] != nil && $0["correlation_id"] != nil })
        #expect(captured.records.contains { $0["message"] as? String == "delivery failed; retry scheduled" })
        let opened = captured.records.filter { $0["message"] as? String == "circuit opened" }
        #expect(opened.count == 1)
        #expect(opened.first?["origin"] as? String == "https://127.0.0.1:\(sink.port)")
    }
}
