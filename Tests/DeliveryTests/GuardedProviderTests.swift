import Delivery
import ReminderCore
import Synchronization
import Testing

/// The circuit around a provider counts what says the provider is failing, not what says
/// it is busy.
@Suite struct GuardedProviderTests {
    /// Answers every send with the same failure.
    struct Failing: NotificationProvider {
        let failure: DeliveryFailure
        var name: String { "failing" }
        func send(_ request: DeliveryRequest) async throws(DeliveryFailure) -> DeliveryReceipt { throw failure }
    }

    let request = DeliveryRequest(
        reminderID: "r-1", userID: "u-1", correlationID: nil, channel: .webhook(url: "https://h.example/x"),
        content: Content(title: "T", body: "B", data: nil), attempt: 1, dueAt: Instant(secondsSinceEpoch: 0))

    func guarded(_ failure: DeliveryFailure) -> GuardedProvider {
        GuardedProvider(
            provider: Failing(failure: failure),
            breaker: CircuitBreaker.Configuration(failureThreshold: 3, openDuration: .seconds(60), halfOpenProbes: 1),
            rateLimit: nil)
    }

    @Test func throttlingAnswersDoNotOpenTheCircuit() async {
        let provider = guarded(.transient("http_429", "HTTP 429", retryAfter: .seconds(1)))
        for _ in 0..<10 { _ = await provider.send(request) }
        #expect(provider.circuitState(for: request) == .closed(consecutiveFailures: 0))
    }

    @Test func serverErrorsOpenTheCircuit() async {
        let provider = guarded(.transient("http_503", "HTTP 503"))
        for _ in 0..<3 { _ = await provider.send(request) }
        #expect(provider.circuitState(for: request)?.name == "open")
        let skipped = await provider.send(request)
        if case .circuitOpen = skipped.result {} else { Issue.record("expected the open circuit to refuse") }
    }

    /// Fails every send to `https://broken.example`, delivers every other.
    struct FailingForOneHost: NotificationProvider {
        var name: String { "webhook" }
        func send(_ request: DeliveryRequest) async throws(DeliveryFailure) -> DeliveryReceipt {
            guard case .webhook(let url) = request.channel, !url.hasPrefix("https://broken.example") else {
                throw .transient("http_503", "HTTP 503")
            }
            return DeliveryReceipt(answer: "HTTP 200")
        }
    }

    func webhook(_ url: String) -> DeliveryRequest {
        var request = request
        request.channel = .webhook(url: url)
        return request
    }

    @Test func aBrokenWebhookOriginOpensOnlyItsOwnCircuit() async {
        let provider = GuardedProvider(
            provider: FailingForOneHost(),
            breaker: CircuitBreaker.Configuration(failureThreshold: 3, openDuration: .seconds(60), halfOpenProbes: 1),
            circuits: .destinationOrigin(maximum: 10), rateLimit: nil)
        for index in 0..<3 { _ = await provider.send(webhook("https://broken.example/hook/\(index)")) }
        // Another path, the same origin spelt otherwise: the same open circuit.
        let refused = await provider.send(webhook("HTTPS://Broken.Example:443/other"))
        if case .circuitOpen = refused.result {} else { Issue.record("expected the broken origin's circuit to refuse") }
        let other = await provider.send(webhook("https://fine.example/hook"))
        if case .delivered = other.result {} else { Issue.record("expected the other origin's send to go through") }
        #expect(provider.circuitState(for: webhook("https://fine.example/x")) == .closed(consecutiveFailures: 0))
        let summary = provider.circuitSummary
        #expect(summary.state == nil)
        #expect(summary.open == 1)
        #expect(summary.tracked == 2)
    }

    /// Never lets a send go until its task is cancelled.
    struct ClosedLimit: RateLimiting {
        func acquire() async {
            try? await Task.sleep(for: .seconds(3_600))
        }
    }

    /// Counts the sends that reach it.
    final class Counting: NotificationProvider, Sendable {
        let sends = Mutex(0)
        var name: String { "counting" }
        func send(_ request: DeliveryRequest) async throws(DeliveryFailure) -> DeliveryReceipt {
            sends.withLock { $0 += 1 }
            return DeliveryReceipt(answer: "ok")
        }
    }

    @Test func aSendCancelledWhileWaitingForItsTurnIsNotSent() async {
        let counting = Counting()
        let provider = GuardedProvider(
            provider: counting,
            breaker: CircuitBreaker.Configuration(failureThreshold: 3, openDuration: .seconds(60), halfOpenProbes: 1),
            limiter: ClosedLimit())
        let request = self.request
        let send = Task { await provider.send(request) }
        try? await Task.sleep(for: .milliseconds(50))
        send.cancel()
        let (result, _) = await send.value
        if case .failed(let failure) = result {
            #expect(failure.isCancellation)
        } else {
            Issue.record("expected a cancelled send")
        }
        #expect(counting.sends.withLock { $0 } == 0)
        #expect(provider.circuitState(for: request) == .closed(consecutiveFailures: 0))
    }
}
