import Delivery
import Testing

/// A breaker per key, a bounded number of them: closed ones are given up first, open ones
/// never while they refuse.
@Suite struct CircuitBreakerTableTests {
    let start = ContinuousClock.now
    let configuration = CircuitBreaker.Configuration(failureThreshold: 2, openDuration: .seconds(10), halfOpenProbes: 1)

    /// Opens `key`'s circuit at `at` (two failures in a row).
    func open(_ key: String, in table: inout CircuitBreakerTable<String>, at: ContinuousClock.Instant) {
        for _ in 0..<2 {
            #expect(table.admit(key, at: at) == .allowed)
            table.record(.failure, for: key, at: at)
        }
    }

    @Test func oneKeysFailuresOpenOnlyItsCircuit() {
        var table = CircuitBreakerTable<String>(configuration: configuration, capacity: 10)
        open("a", in: &table, at: start)
        #expect(table.admit("a", at: start + .seconds(1)) == .rejected(retryAfter: .seconds(9)))
        #expect(table.admit("b", at: start + .seconds(1)) == .allowed)
        table.record(.success, for: "b", at: start + .seconds(1))
        #expect(table.state(of: "b") == .closed(consecutiveFailures: 0))
        #expect(table.openCount(at: start + .seconds(1)) == 1)
        // Its time up, the open circuit reads half-open and admits one probe.
        #expect(table.openCount(at: start + .seconds(10)) == 0)
        #expect(table.admit("a", at: start + .seconds(10)) == .allowed)
        #expect(table.admit("a", at: start + .seconds(10)) == .rejected(retryAfter: .seconds(10)))
    }

    @Test func aFullTableGivesUpTheLeastRecentlyUsedClosedBreaker() {
        var table = CircuitBreakerTable<String>(configuration: configuration, capacity: 3)
        for key in ["a", "b", "c"] { #expect(table.admit(key, at: start) == .allowed) }
        // "a" is used again: "b" is now the least recently used.
        #expect(table.admit("a", at: start) == .allowed)
        #expect(table.admit("d", at: start) == .allowed)
        #expect(table.count == 3)
        #expect(table.state(of: "b") == nil)
        #expect(table.state(of: "a") != nil && table.state(of: "c") != nil && table.state(of: "d") != nil)
        #expect(table.evictions == 1)
    }

    @Test func anOpenCircuitIsKeptWhileAClosedOneIsGivenUpEvenIfMoreRecent() {
        var table = CircuitBreakerTable<String>(configuration: configuration, capacity: 2)
        open("broken", in: &table, at: start)
        #expect(table.admit("fine", at: start) == .allowed)
        // "broken" is the least recently used, but open: "fine" goes.
        #expect(table.admit("new", at: start + .seconds(1)) == .allowed)
        #expect(table.state(of: "fine") == nil)
        #expect(table.admit("broken", at: start + .seconds(1)) == .rejected(retryAfter: .seconds(9)))
    }

    @Test func aTableFullOfOpenCircuitsLetsANewKeyThroughUntrackedAndKeepsThemAll() {
        var table = CircuitBreakerTable<String>(configuration: configuration, capacity: 2)
        open("x", in: &table, at: start)
        open("y", in: &table, at: start)
        let now = start + .seconds(1)
        #expect(table.admit("new", at: now) == .untracked)
        #expect(table.admit("new", at: now) == .untracked)
        #expect(table.untrackedAdmissions == 2)
        #expect(table.state(of: "new") == nil)
        // The open circuits still refuse: nothing reaches their receivers early.
        #expect(table.admit("x", at: now) == .rejected(retryAfter: .seconds(9)))
        #expect(table.admit("y", at: now) == .rejected(retryAfter: .seconds(9)))
        // An untracked send's outcome is not taken in.
        table.record(.failure, for: "new", at: now)
        #expect(table.count == 2)
        #expect(table.evictions == 0)
    }

    @Test func aProbeInFlightIsKeptAndACircuitWhoseOpenTimeIsUpGoesBeforeNone() {
        var table = CircuitBreakerTable<String>(configuration: configuration, capacity: 2)
        open("probing", in: &table, at: start)
        open("lapsed", in: &table, at: start)
        let later = start + .seconds(10)
        // "probing" lets its probe through; "lapsed" has not been tried since its time ran out.
        #expect(table.admit("probing", at: later) == .allowed)
        #expect(table.admit("new", at: later) == .allowed)
        #expect(table.state(of: "lapsed") == nil)
        #expect(table.state(of: "probing") == .halfOpen(probesInFlight: 1))
        // Now one probe in flight and one closed-new: the closed one goes.
        #expect(table.admit("newer", at: later) == .allowed)
        #expect(table.state(of: "new") == nil)
        #expect(table.state(of: "probing") == .halfOpen(probesInFlight: 1))
    }

    @Test func anOpenCircuitStillRefusingIsNeverGivenUpWhateverTheTraffic() {
        var table = CircuitBreakerTable<String>(configuration: configuration, capacity: 3)
        open("broken", in: &table, at: start)
        // A thousand other origins pass through the two remaining places.
        for index in 0..<1_000 {
            let now = start + .milliseconds(index)
            #expect(table.admit("origin-\(index)", at: now) == .allowed)
            table.record(.success, for: "origin-\(index)", at: now)
        }
        #expect(table.count == 3)
        #expect(table.admit("broken", at: start + .seconds(5)) == .rejected(retryAfter: .seconds(5)))
    }
}
