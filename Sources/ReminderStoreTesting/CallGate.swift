import Synchronization

/// Holds a memory store's calls of one kind while closed, as a database that is slow to
/// answer does: each call waits at the gate and goes on, unharmed, once it opens.
final class CallGate: Sendable {
    private let state = Mutex<(closed: Bool, waiting: [CheckedContinuation<Void, Never>])>((false, []))

    func close() {
        state.withLock { $0.closed = true }
    }

    /// Opens the gate and lets every call waiting at it go on.
    func open() {
        let waiting = state.withLock { state in
            defer { state = (false, []) }
            return state.waiting
        }
        waiting.forEach { $0.resume() }
    }

    /// Calls waiting at the gate.
    var waitingCount: Int { state.withLock { $0.waiting.count } }

    /// Returns at once while open; otherwise once the gate opens.
    func pass() async {
        await withCheckedContinuation { continuation in
            let goOn = state.withLock { state in
                guard state.closed else { return true }
                state.waiting.append(continuation)
                return false
            }
            if goOn { continuation.resume() }
        }
    }
}
