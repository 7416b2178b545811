import Synchronization

/// A clock that moves only when a test moves it, for tests of timing logic (backoff,
/// deadlines, idle waits) without sleeping for real: code under test sleeps on it, the
/// test waits until that sleep has begun (`waitForSleep(until:)`) and then moves the
/// clock past it (`advance(by:)`), which wakes every sleeper whose deadline has come.
public final class ManualClock: Clock, Sendable {
    /// A point on the manual clock: the time passed since the clock was made.
    public struct Instant: InstantProtocol, Sendable, CustomStringConvertible {
        public let sinceStart: Duration

        public init(sinceStart: Duration) {
            self.sinceStart = sinceStart
        }

        public func advanced(by duration: Duration) -> Instant {
            Instant(sinceStart: sinceStart + duration)
        }

        public func duration(to other: Instant) -> Duration {
            other.sinceStart - sinceStart
        }

        public static func < (lhs: Instant, rhs: Instant) -> Bool {
            lhs.sinceStart < rhs.sinceStart
        }

        public var description: String { "start + \(sinceStart)" }
    }

    private struct Sleeper {
        let deadline: Instant
        let continuation: CheckedContinuation<Void, any Error>
    }

    /// A test waiting for a sleep that matches `condition` to begin.
    private struct Watcher {
        let condition: @Sendable ([Instant]) -> Bool
        let continuation: CheckedContinuation<Void, Never>
    }

    private struct State {
        var now = Instant(sinceStart: .zero)
        var sleepers: [Int: Sleeper] = [:]
        /// Sleeps cancelled before they were registered.
        var cancelled: Set<Int> = []
        var nextID = 0
        var watchers: [Watcher] = []

        var deadlines: [Instant] { sleepers.values.map(\.deadline) }

        /// Removes and returns the watchers whose condition now holds.
        mutating func satisfiedWatchers() -> [Watcher] {
            let deadlines = self.deadlines
            let (satisfied, waiting) = watchers.reduce(into: ([Watcher](), [Watcher]())) { split, watcher in
                if watcher.condition(deadlines) { split.0.append(watcher) } else { split.1.append(watcher) }
            }
            watchers = waiting
            return satisfied
        }
    }

    private let state = Mutex(State())

    public init() {}

    public var now: Instant { state.withLock { $0.now } }

    public var minimumResolution: Duration { .zero }

    /// The deadlines of the tasks sleeping now, earliest first.
    public var sleepDeadlines: [Instant] { state.withLock { $0.deadlines.sorted() } }

    /// Returns at `deadline`, once the test has moved the clock there; throws
    /// `CancellationError` when the task is cancelled first (as `ContinuousClock` does).
    public func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        try Task.checkCancellation()
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                enum Registration {
                    case cancelled, due
                    case sleeping([Watcher])
                }
                let registration = state.withLock { state -> Registration in
                    if state.cancelled.remove(id) != nil { return .cancelled }
                    if deadline <= state.now { return .due }
                    state.sleepers[id] = Sleeper(deadline: deadline, continuation: continuation)
                    return .sleeping(state.satisfiedWatchers())
                }
                switch registration {
                case .cancelled: continuation.resume(throwing: CancellationError())
                case .due: continuation.resume()
                case .sleeping(let watchers): watchers.forEach { $0.continuation.resume() }
                }
            }
        } onCancel: {
            let sleeper = state.withLock { state -> Sleeper? in
                guard let sleeper = state.sleepers.removeValue(forKey: id) else {
                    state.cancelled.insert(id)
                    return nil
                }
                return sleeper
            }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Moves the clock forward by `duration` and wakes, earliest first, every task whose
    /// deadline has come.
    public func advance(by duration: Duration) {
        precondition(duration >= .zero, "a clock does not go back")
        let due = state.withLock { state -> [Sleeper] in
            state.now = state.now.advanced(by: duration)
            let now = state.now
            let due = state.sleepers.filter { $0.value.deadline <= now }
            for id in due.keys { state.sleepers[id] = nil }
            return due.values.sorted { $0.deadline < $1.deadline }
        }
        for sleeper in due { sleeper.continuation.resume() }
    }

    /// Returns once a task sleeps until exactly `deadline` (at once if one does already):
    /// the test knows the code under test has come to that wait.
    public func waitForSleep(until deadline: Instant) async {
        await waitForSleepers { $0.contains(deadline) }
    }

    /// Returns once at least `count` tasks sleep on the clock.
    public func waitForSleepers(_ count: Int) async {
        await waitForSleepers { $0.count >= count }
    }

    private func waitForSleepers(where condition: @escaping @Sendable ([Instant]) -> Bool) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let holds = state.withLock { state in
                if condition(state.deadlines) { return true }
                state.watchers.append(Watcher(condition: condition, continuation: continuation))
                return false
            }
            if holds { continuation.resume() }
        }
    }
}
