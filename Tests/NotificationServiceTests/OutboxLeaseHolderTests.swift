import Logging
import ReminderStore
import ReminderStoreTesting
import Synchronization
import Testing

@testable import NotificationService

/// A relay's hold on its outbox's lease over the in-memory lease, with answers that can
/// be lost on their way back: the store granted the lease, the relay never heard so.
@Suite(.timeLimit(.minutes(6))) struct OutboxLeaseHolderTests {
    /// The memory lease, but the next ask's answer (after the lease has decided it) can be
    /// lost: the call fails as a connection cut after the statement committed would.
    final class LosingAnswers: OutboxLeaseStoring {
        let lease = MemoryOutboxLease()
        private let loseNext = Mutex(false)

        func loseTheNextAnswer() { loseNext.withLock { $0 = true } }

        func askLease(_ holder: String, for duration: Duration) async throws(StoreError) -> Bool {
            let granted = try await lease.askLease(holder, for: duration)
            let lost = loseNext.withLock { lose in
                defer { lose = false }
                return lose
            }
            if lost {
                throw StoreError(
                    code: .connection, operation: "ask for the lease", message: "the connection was closed",
                    isRetriable: true)
            }
            return granted
        }

        func releaseLease(_ holder: String) async throws(StoreError) {
            try await lease.releaseLease(holder)
        }
    }

    static func holder(_ store: some OutboxLeaseStoring, clock: ManualClock) -> OutboxLeaseHolder<ManualClock> {
        var logger = Logger(label: "lease-holder-unit")
        logger.logLevel = .critical
        return OutboxLeaseHolder(
            "status", store: store, configuration: OutboxRelayConfiguration(topic: "reminders.status"), clock: clock,
            logger: logger)
    }

    @Test func aRelayWhoseAskFailedAfterTheStoreGrantedItGivesTheLeaseUpAtStop() async throws {
        let store = LosingAnswers()
        let clock = ManualClock()
        let stopping = Self.holder(store, clock: clock)
        let other = Self.holder(store, clock: clock)

        store.loseTheNextAnswer()
        await #expect(throws: StoreError.self) { try await stopping.holds() }
        // The store gave it the lease; the relay does not count on it.
        #expect(store.lease.holder == stopping.holder)
        #expect(try await other.holds() == false)

        await stopping.release()
        #expect(store.lease.holder == nil)
        #expect(try await other.holds())
        #expect(store.lease.holder == other.holder)
    }

    @Test func givingUpALeaseAnotherRelayHoldsLeavesItWithThatRelay() async throws {
        let store = LosingAnswers()
        let clock = ManualClock()
        let holding = Self.holder(store, clock: clock)
        let waiting = Self.holder(store, clock: clock)

        #expect(try await holding.holds())
        #expect(try await waiting.holds() == false)
        await waiting.release()
        #expect(store.lease.holder == holding.holder)
        #expect(try await holding.holds())
    }

    @Test func aRelayThatGaveTheLeaseUpAsksAgainBeforeItPublishes() async throws {
        let store = LosingAnswers()
        let clock = ManualClock()
        let relay = Self.holder(store, clock: clock)

        #expect(try await relay.holds())
        await relay.release()
        #expect(store.lease.holder == nil)
        // It does not count on the lease it gave up: the next check asks, and takes it again.
        #expect(try await relay.holds())
        #expect(store.lease.holder == relay.holder)
    }
}
