import Delivery
import Foundation
import ReminderCore
import TestSupport
import Testing

/// Webhook receivers are isolated from each other: one customer's broken endpoint opens
/// its own circuit, and the other receivers' reminders keep being delivered.
@Suite(.timeLimit(.minutes(6)))
struct WebhookIsolationTests {
    @Test func aFailingReceiverOpensOnlyItsOwnCircuitAndTheOtherReceiverStillGetsEveryReminder() async throws {
        // Two receivers on two loopback ports: two origins.
        let broken = try await ProviderSink(lifetime: 180)
        let fine = try await ProviderSink(lifetime: 180)
        defer {
            Task {
                await broken.stop()
                await fine.stop()
            }
        }
        try await broken.script("/hook", [], then: .status(503))
        try await TestDatabase.withDatabase { client, configuration in
            // The circuit stays open for the whole test; retries of a refused send come
            // back after at most the policy's 2 s.
            let breaker = CircuitBreaker.Configuration(
                failureThreshold: 3, openDuration: .seconds(600), halfOpenProbes: 1)
            let retry = RetryPolicy(
                initialDelay: .milliseconds(300), multiplier: 2, maximumDelay: .seconds(2), maximumAttempts: 20,
                jitter: 0)
            let harness = try DispatchHarness(database: client, configuration: configuration, caFile: fine.caFile) {
                ProviderDirectory(
                    webhook: DispatchHarness.guarded(
                        DispatchHarness.webhook($0), breaker: breaker, circuits: .destinationOrigin(maximum: 16)),
                    defaultRetryPolicy: retry)
            }
            let webhook = try #require(harness.directory.webhook)
            let brokenChannel: [[String: Any]] = [["type": "webhook", "url": broken.baseURL + "/hook"]]
            let fineChannel: [[String: Any]] = [["type": "webhook", "url": fine.baseURL + "/hook"]]

            // The broken receiver answers 503 until its circuit opens.
            try await DueReminders.store(client, count: 3, prefix: "broken", channels: brokenChannel)
            try await eventually(.seconds(60), "the broken receiver's circuit to open") {
                webhook.circuitSummary.open == 1
            }
            let reachedBeforeOpening = try await broken.requests().count
            #expect(reachedBeforeOpening >= 3)
            #expect(webhook.circuitState(for: request(broken.baseURL + "/other")).map(\.name) == "open")

            // While it is open: more reminders for both receivers.
            try await DueReminders.store(client, count: 2, prefix: "late", channels: brokenChannel)
            try await DueReminders.store(client, count: 20, prefix: "fine", channels: fineChannel)
            try await eventually(.seconds(60), "every reminder of the working receiver to be delivered") {
                try await TestDatabase.count(
                    client,
                    "SELECT count(*)::int8 FROM reminders WHERE reminder_id LIKE 'fine-%' AND state = 'DELIVERED'")
                    == 20
            }
            // The late ones are refused by the open circuit without reaching their receiver.
            try await eventually(.seconds(60), "the broken receiver's late reminders to meet its open circuit") {
                try await TestDatabase.count(
                    client,
                    """
                    SELECT count(DISTINCT r.id)::int8 FROM delivery_attempts a JOIN reminders r ON r.id = a.reminder_id
                    WHERE r.reminder_id LIKE 'late-%' AND a.outcome = 'circuit_open'
                    """) == 2
            }
            await harness.stop()

            let delivered = try await fine.requests(path: "/hook")
            #expect(delivered.count == 20)
            #expect(Set(delivered.compactMap { $0.headers["idempotency-key"] }).count == 20)
            #expect(try await broken.requests().count == reachedBeforeOpening)
            #expect(
                try await TestDatabase.count(
                    client,
                    "SELECT count(*)::int8 FROM reminders WHERE reminder_id NOT LIKE 'fine-%' AND state = 'DELIVERED'")
                    == 0)
            #expect(
                try await TestDatabase.count(
                    client,
                    """
                    SELECT count(*)::int8 FROM delivery_attempts a JOIN reminders r ON r.id = a.reminder_id
                    WHERE r.reminder_id LIKE 'fine-%' AND a.outcome <> 'delivered'
                    """) == 0)
            let summary = webhook.circuitSummary
            #expect(summary.open == 1)
            #expect(summary.tracked == 2)
            #expect(summary.state == nil)
        }
    }

    /// A request to `url`, to ask the provider which circuit it would go through.
    private func request(_ url: String) -> DeliveryRequest {
        DeliveryRequest(
            reminderID: "probe", userID: "u", correlationID: nil, channel: .webhook(url: url),
            content: Content(title: "t", body: "b", data: nil), attempt: 1, dueAt: Instant(secondsSinceEpoch: 0))
    }
}
