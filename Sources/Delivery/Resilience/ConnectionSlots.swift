import Synchronization

/// At most `limit` connections open at once to one server: a send takes a slot before it
/// connects and gives it back when its conversation ends. Sends beyond the limit wait,
/// first come first served; a waiting send whose task is cancelled leaves the queue
/// without taking a slot.
public final class ConnectionSlots: Sendable {
    private struct Waiter {
        let ticket: UInt64
        let continuation: CheckedContinuation<Bool, Never>
    }

    private struct State {
        var free: Int
        var nextTicket: UInt64 = 0
        var waiting: [Waiter] = []

        mutating func take() -> Bool {
            guard free > 0 else { return false }
            free -= 1
            return true
        }
    }

    public let limit: Int
    private let state: Mutex<State>

    /// `limit` below one is taken as one.
    public init(limit: Int) {
        self.limit = max(1, limit)
        state = Mutex(State(free: self.limit))
    }

    /// Takes a slot, waiting while all are taken: true once it holds one, false when the
    /// task was cancelled first (it then holds none). Every slot taken goes back through
    /// `release()`, whatever the send's end.
    public func acquire() async -> Bool {
        let ticket: UInt64? = state.withLock { state in
            if state.take() { return nil }
            state.nextTicket &+= 1
            return state.nextTicket
        }
        guard let ticket else { return true }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                // Under the lock, so that a cancellation either came before (and is seen
                // here) or finds this waiter in the queue.
                let answer: Bool? = state.withLock { state in
                    if Task.isCancelled { return false }
                    if state.take() { return true }
                    state.waiting.append(Waiter(ticket: ticket, continuation: continuation))
                    return nil
                }
                if let answer { continuation.resume(returning: answer) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> Waiter? in
                guard let index = state.waiting.firstIndex(where: { $0.ticket == ticket }) else { return nil }
                return state.waiting.remove(at: index)
            }
            waiter?.continuation.resume(returning: false)
        }
    }

    /// Gives a slot back: to the longest waiting send, if any.
    public func release() {
        let next = state.withLock { state -> Waiter? in
            guard !state.waiting.isEmpty else {
                state.free = min(limit, state.free + 1)
                return nil
            }
            return state.waiting.removeFirst()
        }
        next?.continuation.resume(returning: true)
    }

    /// Slots free now.
    public var free: Int { state.withLock { $0.free } }

    /// Sends waiting for a slot now.
    public var waiting: Int { state.withLock { $0.waiting.count } }

    /// The slots taken and the sends waiting, read together.
    public struct Use: Sendable, Equatable {
        public var inUse: Int
        public var waiting: Int
    }

    /// The slots taken and the sends waiting now.
    public var use: Use {
        state.withLock { Use(inUse: limit - $0.free, waiting: $0.waiting.count) }
    }
}
