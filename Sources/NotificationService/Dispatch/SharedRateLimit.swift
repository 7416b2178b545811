import Delivery
import Logging
import ReminderCore
import ReminderStore
import Synchronization

/// A provider account's rate limit shared by every instance through the database
/// (`RateLimitStoring`), so that N instances together send at most `rate` a second plus
/// `burst`, as the provider sees it.
///
/// Sends wait in line (never dropped). One task at a time asks the store for as many
/// tokens as sends wait, at most `batch` (a tenth of a second of the rate, at most the
/// burst): one statement per batch, not per send. Tokens are handed to waiting sends as
/// soon as they come, never kept for later, so an instance never holds tokens the bucket
/// has stopped counting. When fewer came than asked, the next ask waits for the bucket to
/// refill what is missing (from 1 ms to 1 s).
///
/// When the database does not answer within `storeTimeout`, each waiting send takes a
/// token of a local bucket holding this instance's share of the limit (rate and burst
/// divided by `instances`): N instances cut off from the database together stay within
/// the limit, and none sends more than its share.
public final class SharedRateLimit: RateLimiting {
    public struct Configuration: Sendable, Equatable {
        /// The bucket's name in the store: the provider (one provider is one account).
        public var name: String
        public var limit: TokenBucket.Configuration
        /// Instances sharing the limit (`RATE_LIMIT_INSTANCES`): this one's share when the
        /// database cannot be asked is `limit / instances`.
        public var instances: Int
        public var storeTimeout: Duration

        public init(
            name: String, limit: TokenBucket.Configuration, instances: Int, storeTimeout: Duration = .seconds(1)
        ) {
            self.name = name
            self.limit = limit
            self.instances = max(1, instances)
            self.storeTimeout = storeTimeout
        }

        /// The most tokens one take asks for.
        public var batch: Int { max(1, min(Int(limit.burst), Int(limit.rate / 10))) }

        /// This instance's share, used while the database does not answer.
        public var localShare: TokenBucket.Configuration {
            let share = Double(instances)
            return TokenBucket.Configuration(rate: limit.rate / share, burst: max(1, limit.burst / share))
        }
    }

    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Void, Never>
    }

    private struct State {
        var waiters: [Waiter] = []
        var lastWaiter: UInt64 = 0
        /// Whether a task is asking the store for the waiters.
        var pumping = false
        var fallback: TokenBucket
        /// Whether the last ask failed (said once in the log, and once when it recovers).
        var cutOff = false
    }

    public let configuration: Configuration
    private let store: any RateLimitStoring
    private let logger: Logger
    private let state: Mutex<State>

    public init(configuration: Configuration, store: any RateLimitStoring, logger: Logger) {
        self.configuration = configuration
        self.store = store
        self.logger = logger
        state = Mutex(State(fallback: TokenBucket(configuration: configuration.localShare, now: .now)))
    }

    public func acquire() async {
        let id = state.withLock { state in
            state.lastWaiter += 1
            return state.lastWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                // A task cancelled before it waits does not wait. (Cancelled between this
                // check and the line below, it waits for its token: late, never wrong.)
                guard !Task.isCancelled else {
                    continuation.resume()
                    return
                }
                let start = state.withLock { state -> Bool in
                    state.waiters.append(Waiter(id: id, continuation: continuation))
                    defer { state.pumping = true }
                    return !state.pumping
                }
                if start { Task { await self.pump() } }
            }
        } onCancel: {
            let waiter = state.withLock { state -> Waiter? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index)
            }
            waiter?.continuation.resume()
        }
    }

    /// Asks for tokens while sends wait; ends when none does. Each round hands out tokens
    /// or sleeps first, so it never spins.
    private func pump() async {
        while let want = nextAsk() {
            let configuration = self.configuration
            let store = self.store
            do {
                let grant = try await StoreDeadline.run(
                    configuration.storeTimeout, on: ContinuousClock(), operation: "take rate-limit tokens"
                ) {
                    try await store.take(
                        want, from: configuration.name, rate: configuration.limit.rate,
                        burst: configuration.limit.burst)
                }
                wake(grant.granted, cutOff: false)
                guard grant.granted < want else { continue }
                let missing = Double(want - grant.granted) - grant.remaining
                let seconds = min(1, max(0.001, missing / configuration.limit.rate))
                try? await Task.sleep(for: .microseconds(Int64(seconds * 1_000_000)))
            } catch {
                if state.withLock({ !$0.cutOff }) {
                    logger.warning(
                        "rate limit: the database did not answer; sending at this instance's share",
                        metadata: [
                            "provider": "\(configuration.name)", "error": "\(error)",
                            "share_per_second": "\(configuration.localShare.rate)",
                        ])
                }
                // The sends of this round go at this instance's share; the next round
                // asks the database again.
                for _ in 0..<want {
                    let wait = state.withLock { $0.fallback.take(at: .now) }
                    if wait > .zero { try? await Task.sleep(for: wait) }
                    wake(1, cutOff: true)
                }
            }
        }
    }

    /// How many tokens to ask for, or nil (and the pump stops) when no send waits.
    private func nextAsk() -> Int? {
        state.withLock { state in
            guard !state.waiters.isEmpty else {
                state.pumping = false
                return nil
            }
            return min(state.waiters.count, configuration.batch)
        }
    }

    /// Lets `count` waiting sends go, first come first served.
    private func wake(_ count: Int, cutOff: Bool) {
        let (woken, recovered) = state.withLock { state in
            let woken = Array(state.waiters.prefix(count))
            state.waiters.removeFirst(woken.count)
            let recovered = state.cutOff && !cutOff
            state.cutOff = cutOff
            return (woken, recovered)
        }
        if recovered {
            logger.info("rate limit: the database answers again", metadata: ["provider": "\(configuration.name)"])
        }
        for waiter in woken { waiter.continuation.resume() }
    }
}
