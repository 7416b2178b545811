import Delivery
import ReminderCore
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
        #expect(provider.circuitState == .closed(consecutiveFailures: 0))
    }

    @Test func serverErrorsOpenTheCircuit() async {
        let provider = guarded(.transient("http_503", "HTTP 503"))
        for _ in 0..<3 { _ = await provider.send(request) }
        #expect(provider.circuitState.name == "open")
        let skipped = await provider.send(request)
        if case .circuitOpen = skipped.result {} else { Issue.record("expected the open circuit to refuse") }
    }
}
