import Foundation
import Kafka
import PostgresNIO
import TestSupport
import Testing

/// SIGTERM to `serve` in the middle of a stream: it stops taking work, finishes the sends
/// and batches in hand, commits and exits 0; the next instance picks up the rest. Every
/// reminder reaches the receiver exactly once.
@Suite(.timeLimit(.minutes(6)))
struct ServeShutdownTests {
    @Test func sigtermInTheMiddleOfAStreamLosesNothingAndSendsNothingTwice() async throws {
        let total = 3_000
        let sink = try await ProviderSink(lifetime: 240)
        defer { Task { await sink.stop() } }
        // Each send takes a little while, so that some are in flight when SIGTERM comes.
        try await sink.script("/hook", [], then: ProviderSink.Response(status: 200, delayMilliseconds: 20))
        let (topic, _) = try await Topics.make("sigterm", partitions: 4)
        try await TestDatabase.withDatabase { client, configuration in
            let group = "sigterm-\(UUID().uuidString.prefix(8))"
            let databaseURL = DeadLetteredReminder.databaseURL(configuration)
            let settings = ServiceEvents.settings(sink)
            let first = try await ServedInstance(
                topic: topic, group: group, databaseURL: databaseURL, settings: settings)
            let url = sink.baseURL + "/hook"
            let publishing = Task {
                let producer = try Topics.producer()
                for batch in 0..<10 {
                    let messages = (0..<(total / 10)).map { index in
                        ServiceEvents.webhook("stream-\(batch * (total / 10) + index)", url: url, topic: topic)
                    }
                    for result in await producer.send(messages) { _ = try result.get() }
                    try await Task.sleep(for: .milliseconds(500))
                }
                await producer.close()
            }
            try await eventually(.seconds(60), "deliveries to be under way") { try await sink.count() >= 200 }
            let status = try await first.stop(SIGTERM, within: .seconds(40))
            #expect(status == 0, "exit status after SIGTERM; log:\n\(first.logTail)")
            try await publishing.value
            #expect(try await sink.count() < total, "SIGTERM came in the middle of the stream")

            let second = try await ServedInstance(
                topic: topic, group: group, databaseURL: databaseURL, settings: settings)
            try await eventually(.seconds(120), "every reminder to be delivered", every: .milliseconds(500)) {
                try await DispatchHarness.states(client) == ["DELIVERED": total]
            }
            try await Task.sleep(for: .seconds(1))
            let requests = try await sink.requests(path: "/hook")
            let keys = requests.compactMap { $0.headers["idempotency-key"] }
            #expect(
                try await TestDatabase.count(
                    client, "SELECT count(*)::int8 FROM delivery_attempts WHERE outcome <> 'delivered'") == 0,
                "every send was answered at its first try")
            #expect(requests.count == total, "no reminder sent twice")
            #expect(Set(keys).count == total)
            #expect(try await TestDatabase.count(client, "SELECT count(*) FROM inbox") == total)
            #expect(try await TestDatabase.count(client, "SELECT count(*) FROM dead_letters") == 0)
            #expect(try await second.stop() == 0)
        }
    }
}
