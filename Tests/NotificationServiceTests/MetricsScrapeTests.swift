import Delivery
import Foundation
import NotificationService
import ReminderCore
import ReminderStoreTesting
import Testing

/// What /metrics shows of the providers: the connections a provider bounds itself, read
/// live at each scrape.
@Suite(.timeLimit(.minutes(6))) struct MetricsScrapeTests {
    /// A provider that bounds its connections as SMTP does.
    struct Bounded: NotificationProvider {
        let name = "smtp"
        let slots = ConnectionSlots(limit: 2)
        var connectionUse: ConnectionSlots.Use? { slots.use }

        func send(_ request: DeliveryRequest) async throws(DeliveryFailure) -> DeliveryReceipt {
            guard await slots.acquire() else { throw .cancelled }
            slots.release()
            return DeliveryReceipt(answer: "sent")
        }
    }

    /// One that does not (the HTTP providers).
    struct Unbounded: NotificationProvider {
        let name = "webhook"

        func send(_ request: DeliveryRequest) async throws(DeliveryFailure) -> DeliveryReceipt {
            DeliveryReceipt(answer: "sent")
        }
    }

    static func guarded(_ provider: any NotificationProvider) -> GuardedProvider {
        GuardedProvider(
            provider: provider, breaker: .init(failureThreshold: 10, openDuration: .seconds(1), halfOpenProbes: 1),
            rateLimit: nil)
    }

    /// The value of the series `series` (name and labels) in `text`, nil when absent.
    static func value(_ series: String, in text: String) -> Double? {
        text.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap {
            Double($0.dropFirst(series.count + 1))
        }
    }

    @Test func theConnectionsAProviderBoundsAreShownInUseAndWaitedFor() async throws {
        let bounded = Bounded()
        let scrape = MetricsScrape(
            metrics: ServiceMetrics(), lookup: MemoryReminderLookup(reminders: MemoryDispatchStore()),
            pipeline: nil, providers: [Self.guarded(bounded), Self.guarded(Unbounded())])
        let inUse = #"notification_provider_connections{provider="smtp"}"#
        let waiting = #"notification_provider_connections_waiting{provider="smtp"}"#

        var text = await scrape.render()
        #expect(Self.value(inUse, in: text) == 0)
        #expect(Self.value(waiting, in: text) == 0)

        #expect(await bounded.slots.acquire())
        #expect(await bounded.slots.acquire())
        let third = Task { await bounded.slots.acquire() }
        while bounded.slots.waiting < 1 { await Task.yield() }
        text = await scrape.render()
        #expect(Self.value(inUse, in: text) == 2)
        #expect(Self.value(waiting, in: text) == 1)
        // A provider that does not bound its connections has no such series.
        #expect(!text.contains(#"provider_connections{provider="webhook"}"#))

        bounded.slots.release()
        #expect(await third.value)
        bounded.slots.release()
        bounded.slots.release()
        text = await scrape.render()
        #expect(Self.value(inUse, in: text) == 0)
        #expect(Self.value(waiting, in: text) == 0)
    }
}
