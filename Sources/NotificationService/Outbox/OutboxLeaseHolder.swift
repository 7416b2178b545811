import Foundation
import Logging
import ReminderStore
import Synchronization

/// One relay's hold on its outbox's lease (`OutboxLease`), for the status and the
/// dead-letter relay alike: asks the store before a read when it must (it does not hold
/// the lease, or it is time to renew), says in the log when the answer changes, tells
/// whether a publish may start, and gives the lease up when the relay stops.
final class OutboxLeaseHolder<C: Clock>: Sendable where C.Duration == Duration {
    private struct State {
        var lease: OutboxLease<C.Instant>
        /// Whether it last said it holds the lease (nil: it has not said yet).
        var announced: Bool?
    }

    /// Who the relay is to the lease (host, process, and a random part for the rest).
    let holder: String
    /// What the log calls the relay and its outbox ("status", "dead-letter").
    private let name: String
    private let store: any OutboxLeaseStoring
    private let configuration: OutboxRelayConfiguration
    private let clock: C
    private let logger: Logger
    private let state: Mutex<State>

    init(
        _ name: String, store: any OutboxLeaseStoring, configuration: OutboxRelayConfiguration, clock: C,
        logger: Logger
    ) {
        self.holder = "\(ProcessInfo.processInfo.hostName) \(getpid()) \(UUID().uuidString.prefix(8).lowercased())"
        self.name = name
        self.store = store
        self.configuration = configuration
        self.clock = clock
        self.logger = logger
        self.state = Mutex(
            State(
                lease: OutboxLease(
                    renewEvery: configuration.leaseRenewal,
                    guardTime: configuration.storeTimeout + configuration.publishTimeout)))
    }

    /// Whether the relay holds the lease, asking the store when it does not or when it is
    /// time to renew. A failed ask counts as refused, and throws.
    func holds() async throws -> Bool {
        let now = clock.now
        guard state.withLock({ $0.lease.mustAsk(at: now) }) else { return true }
        let granted: Bool
        do {
            granted = try await configuration.bounded("ask for the \(name) outbox's lease", on: clock) {
                [store, holder, duration = state.withLock { $0.lease.duration }] in
                try await store.askLease(holder, for: duration)
            }
        } catch {
            state.withLock { $0.lease.answered(granted: false, askedAt: now) }
            throw error
        }
        let announce = state.withLock { state -> Bool in
            state.lease.answered(granted: granted, askedAt: now)
            defer { state.announced = granted }
            return state.announced != granted
        }
        if announce {
            logger.info(
                granted
                    ? "this instance's \(name) relay holds the \(name) outbox's lease and publishes"
                    : "another instance's \(name) relay holds the \(name) outbox's lease; this one waits to take over",
                metadata: ["holder": "\(holder)", "lease": "\(state.withLock { $0.lease.duration })"])
        }
        return granted
    }

    /// Whether a publish starting now ends within the lease. A relay stalled since its
    /// read for so long that the lease could run out while the batch is on its way does
    /// not publish: another relay may take over meanwhile. It asks again first; the records
    /// wait in the outbox.
    var mayPublish: Bool {
        let now = clock.now
        return state.withLock { $0.lease.mayPublish(at: now, taking: configuration.publishTimeout) }
    }

    /// Gives the lease up, once the producer has delivered or given up what it was sent,
    /// so that another instance's relay takes over at once instead of when it expires.
    /// Whether or not the relay believes it holds it: an ask cut off by the stop (or that
    /// failed) leaves the lease the database's answer gave it, which the relay no longer
    /// counts on; giving up a lease another holder has changes nothing.
    func release() async {
        state.withLock { $0.lease.released() }
        // Not cancelled with the relay's task: a cancelled call would leave the lease to expire.
        let released = await Task { [store, holder, configuration, clock, name] in
            try await configuration.bounded("give up the \(name) outbox's lease", on: clock) {
                try await store.releaseLease(holder)
            }
        }.result
        if case .failure(let error) = released {
            logger.warning(
                "\(name) relay could not give up the \(name) outbox's lease; another instance's relay takes over when it expires",
                metadata: ["error": "\(error)"])
        }
    }
}
