import ReminderStore
import Synchronization

/// The calls a memory store was told to leave unanswered: each of its next `remaining`
/// calls waits, even when cancelled, as a PostgresNIO call in flight when its connection
/// was cut was seen to, until the test lets them go (`answer`); they then fail as a
/// dropped connection would.
final class StalledCalls: Sendable {
    private let state = Mutex<(remaining: Int, waiting: [CheckedContinuation<Void, Never>])>((0, []))

    func stall(next count: Int) {
        state.withLock { $0.remaining = count }
    }

    /// Returns at once unless this call is told to stall; a stalled call throws once let go.
    func wait(_ operation: String) async throws(StoreError) {
        let stalls = state.withLock { state in
            guard state.remaining > 0 else { return false }
            state.remaining -= 1
            return true
        }
        guard stalls else { return }
        await withCheckedContinuation { continuation in state.withLock { $0.waiting.append(continuation) } }
        throw StoreError(
            code: .connection, operation: operation, message: "the memory store was told not to answer",
            isRetriable: true)
    }

    /// Lets the stalled calls go.
    func answer() {
        let waiting = state.withLock { state in
            defer { state.waiting = [] }
            return state.waiting
        }
        waiting.forEach { $0.resume() }
    }
}
