import Synchronization

/// At most `limit` sends at once. The dispatcher claims ahead of its sends (up to twice
/// its concurrency), and a claimed reminder waits here for a free permit before it is
/// sent, first come first served: larger claims, fewer statements per delivery, without
/// more requests on their way to the providers.
final class SendPermits: Sendable {
    private struct State {
        var available: Int
        var waiting: [CheckedContinuation<Void, Never>] = []
    }

    private let state: Mutex<State>

    init(_ limit: Int) {
        state = Mutex(State(available: max(1, limit)))
    }

    /// Takes a permit, waiting for one while all are taken. Every permit taken must be
    /// given back (`release()`), whatever the send's end.
    func acquire() async {
        if state.withLock({ Self.take(&$0) }) { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let taken = state.withLock { state in
                if Self.take(&state) { return true }
                state.waiting.append(continuation)
                return false
            }
            if taken { continuation.resume() }
        }
    }

    /// Gives a permit back: to the longest waiting send, if any.
    func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard !state.waiting.isEmpty else {
                state.available += 1
                return nil
            }
            return state.waiting.removeFirst()
        }
        next?.resume()
    }

    /// Permits free now.
    var available: Int { state.withLock { $0.available } }

    /// Sends waiting for a permit.
    var waiting: Int { state.withLock { $0.waiting.count } }

    private static func take(_ state: inout State) -> Bool {
        guard state.available > 0 else { return false }
        state.available -= 1
        return true
    }
}
