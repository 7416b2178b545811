import Delivery
import ReminderCore
import Testing

/// Which circuit a send goes through: the provider's one, or its webhook origin's.
@Suite struct ProviderCircuitsTests {
    let start = ContinuousClock.now
    let configuration = CircuitBreaker.Configuration(failureThreshold: 1, openDuration: .seconds(30), halfOpenProbes: 1)

    func webhook(_ url: String) -> DeliveryRequest {
        DeliveryRequest(
            reminderID: "r", userID: "u", correlationID: nil, channel: .webhook(url: url),
            content: Content(title: "t", body: "b", data: nil), attempt: 1, dueAt: Instant(secondsSinceEpoch: 0))
    }

    @Test func oneFailureOfAProviderWithOneCircuitRefusesEveryOtherSend() throws {
        var circuits = ProviderCircuits(scope: .provider, configuration: configuration)
        let ticket = try circuits.admit(webhook("https://a.example/"), at: start).get()
        #expect(ticket == .provider)
        let opened = circuits.record(.failure, ticket, at: start)
        #expect(opened)
        let other = circuits.admit(webhook("https://b.example/"), at: start)
        #expect(other == .failure(CircuitRefusal(retryAfter: .seconds(30))))
        #expect(circuits.summary(at: start).state?.name == "open")
        #expect(circuits.summary(at: start).open == 1)
    }

    @Test func aURLWithoutAnOriginGoesThroughWithoutACircuit() throws {
        var circuits = ProviderCircuits(scope: .destinationOrigin(maximum: 4), configuration: configuration)
        let ticket = try circuits.admit(webhook("not a url"), at: start).get()
        #expect(ticket == .none)
        let opened = circuits.record(.failure, ticket, at: start)
        #expect(!opened)
        #expect(circuits.summary(at: start).tracked == 0)
    }

    @Test func aFullTableOfOpenCircuitsCountsTheSendsItLetsThroughUntracked() throws {
        var circuits = ProviderCircuits(scope: .destinationOrigin(maximum: 1), configuration: configuration)
        let broken = try circuits.admit(webhook("https://broken.example/"), at: start).get()
        let opened = circuits.record(.failure, broken, at: start)
        #expect(opened)
        let new = try circuits.admit(webhook("https://new.example/"), at: start).get()
        #expect(new == .none)
        let summary = circuits.summary(at: start)
        #expect(summary.state == nil)
        #expect(summary.open == 1)
        #expect(summary.tracked == 1)
        #expect(summary.untrackedSends == 1)
        #expect(summary.evictions == 0)
    }
}
