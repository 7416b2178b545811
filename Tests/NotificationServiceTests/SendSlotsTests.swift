import Testing

@testable import NotificationService

/// The dispatcher's room to claim: sends in flight bounded by `concurrency`, claims
/// batched once sends are in flight, outcomes waiting for their group commit bounded by
/// `backlogLimit`, and the waiting claim loop woken exactly when room appears.
@Suite struct SendSlotsTests {
    @Test func anIdleDispatcherMayClaimUpToItsConcurrency() {
        var slots = SendSlots(concurrency: 8, minimumClaim: 2, backlogLimit: 4)
        let room = slots.room()
        #expect(room == 8)
        #expect(!slots.loopWaits)
    }

    @Test func withSendsInFlightTheLoopWaitsForAMinimumClaimAndIsWokenOnceItIsFree() {
        var slots = SendSlots(concurrency: 8, minimumClaim: 3, backlogLimit: 100)
        slots.claimed(8)
        let full = slots.room()
        #expect(full == 0)
        #expect(slots.loopWaits)
        // Woken by the third answer only: before it, too little is free; after it, the
        // loop is no longer waiting.
        let wakes = (1...4).map { _ in slots.answered() }
        #expect(wakes == [false, false, true, false])
        let room = slots.room()
        #expect(room == 4)
    }

    @Test func outcomesTheDatabaseHasNotTakenStopClaimsUntilTheyFallBelowTheLimit() {
        var slots = SendSlots(concurrency: 4, minimumClaim: 1, backlogLimit: 3)
        slots.claimed(4)
        _ = (1...4).map { _ in slots.answered() }
        // Every send answered and its outcome waiting: the slots are free, yet nothing is
        // claimed while three or more outcomes wait, and the loop is woken only below that.
        #expect(slots.sending == 0 && slots.recording == 4)
        let behind = slots.room()
        #expect(behind == 0)
        #expect(slots.loopWaits)
        let wakes = (1...2).map { _ in slots.recorded() }
        #expect(wakes == [false, true])
        let room = slots.room()
        #expect(room == 4)
    }

    /// Every state the slots can reach from idle, for small settings, through any order of
    /// the loop's looks and claims (a claim may return fewer than asked), the providers'
    /// answers and the group commits: sends never exceed the concurrency, sends not yet
    /// recorded never exceed `concurrency + backlogLimit`, and a waiting loop always has
    /// no room (a wake-up is never lost); with everything answered and recorded, there
    /// is room.
    @Test func noReachableStateExceedsTheBoundsOrLeavesTheLoopWaitingWithRoom() {
        var explored = 0
        for concurrency in 1...6 {
            for minimumClaim in 1...concurrency {
                for backlogLimit in 1...5 {
                    explored += Self.explore(
                        SendSlots(concurrency: concurrency, minimumClaim: minimumClaim, backlogLimit: backlogLimit))
                }
            }
        }
        #expect(explored > 1_000)
    }

    /// Checks every state reachable from `start`; returns how many there were.
    static func explore(_ start: SendSlots) -> Int {
        var seen: Set<SendSlots> = [start]
        var queue = [start]
        while let slots = queue.popLast() {
            #expect(slots.sending >= 0 && slots.recording >= 0)
            #expect(slots.sending <= slots.concurrency)
            #expect(slots.sending + slots.recording <= slots.concurrency + slots.backlogLimit)
            var probe = slots
            if slots.loopWaits { #expect(probe.room() == 0, "\(slots)") }
            if slots.sending == 0 && slots.recording == 0 { #expect(probe.room() == slots.concurrency) }
            var next: [SendSlots] = []
            var look = slots
            let room = look.room()
            if room == 0 {
                next.append(look)
            } else {
                for count in 0...room {
                    var claim = look
                    claim.claimed(count)
                    next.append(claim)
                }
            }
            // A provider's answer, a group commit: each wakes the loop exactly when it
            // was waiting and now has room.
            let events: [(possible: Bool, apply: (inout SendSlots) -> Bool)] = [
                (slots.sending > 0, { $0.answered() }), (slots.recording > 0, { $0.recorded() }),
            ]
            for event in events where event.possible {
                var after = slots
                let woke = event.apply(&after)
                var check = after
                #expect(woke == (slots.loopWaits && check.room() > 0))
                next.append(after)
            }
            for state in next where seen.insert(state).inserted { queue.append(state) }
        }
        return seen.count
    }
}
