import Delivery
import Testing

@Suite struct CircuitBreakerTests {
    let start = ContinuousClock.now
    let configuration = CircuitBreaker.Configuration(failureThreshold: 3, openDuration: .seconds(10), halfOpenProbes: 1)

    @Test func consecutiveFailuresOpenTheCircuitAndASuccessResetsTheCount() {
        var breaker = CircuitBreaker(configuration: configuration)
        for _ in 0..<2 {
            #expect(breaker.admit(at: start) == .allowed)
            breaker.record(.failure, at: start)
        }
        breaker.record(.success, at: start)
        #expect(breaker.state == .closed(consecutiveFailures: 0))
        for _ in 0..<3 {
            #expect(breaker.admit(at: start) == .allowed)
            breaker.record(.failure, at: start)
        }
        #expect(breaker.state == .open(until: start + .seconds(10)))
        #expect(breaker.admit(at: start + .seconds(4)) == .rejected(retryAfter: .seconds(6)))
    }

    @Test func afterTheOpenTimeOneProbeGoesThroughAndItsSuccessCloses() {
        var breaker = CircuitBreaker(configuration: configuration)
        for _ in 0..<3 { breaker.record(.failure, at: start) }
        let later = start + .seconds(10)
        #expect(breaker.admit(at: later) == .allowed)
        #expect(breaker.state == .halfOpen(probesInFlight: 1))
        #expect(breaker.admit(at: later) == .rejected(retryAfter: .seconds(10)))
        breaker.record(.success, at: later)
        #expect(breaker.state == .closed(consecutiveFailures: 0))
        #expect(breaker.state.name == "closed")
    }

    @Test func anOpenCircuitWhoseTimeIsUpReadsHalfOpenBeforeItsNextSend() {
        var breaker = CircuitBreaker(configuration: configuration)
        for _ in 0..<3 { breaker.record(.failure, at: start) }
        #expect(breaker.observedState(at: start + .seconds(9)) == .open(until: start + .seconds(10)))
        #expect(breaker.observedState(at: start + .seconds(10)) == .halfOpen(probesInFlight: 0))
        #expect(breaker.state == .open(until: start + .seconds(10)), "only a send changes the state")
    }

    @Test func aFailedProbeOpensTheCircuitAgain() {
        var breaker = CircuitBreaker(configuration: configuration)
        for _ in 0..<3 { breaker.record(.failure, at: start) }
        let later = start + .seconds(11)
        #expect(breaker.admit(at: later) == .allowed)
        breaker.record(.failure, at: later)
        #expect(breaker.state == .open(until: later + .seconds(10)))
        #expect(breaker.state.name == "open")
    }

    @Test func aLateResultOfASendAdmittedBeforeTheCircuitOpenedChangesNothing() {
        var breaker = CircuitBreaker(configuration: configuration)
        for _ in 0..<3 { breaker.record(.failure, at: start) }
        breaker.record(.success, at: start + .seconds(1))
        #expect(breaker.state == .open(until: start + .seconds(10)))
    }

    @Test func aCancelledProbeGivesItsSlotBackWithoutClosing() {
        var breaker = CircuitBreaker(configuration: configuration)
        for _ in 0..<3 { breaker.record(.failure, at: start) }
        let later = start + .seconds(10)
        #expect(breaker.admit(at: later) == .allowed)
        breaker.record(.inconclusive, at: later)
        #expect(breaker.state == .halfOpen(probesInFlight: 0))
        #expect(breaker.admit(at: later) == .allowed)
    }
}
