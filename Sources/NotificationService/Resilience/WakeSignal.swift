import Synchronization

/// Wakes one waiting task: signals that arrive while nobody waits are kept (as one), so
/// a wake-up is never lost between looking for work and going to sleep.
final class WakeSignal: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    func signal() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter else {
                state.pending = true
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
    }

    /// Returns at the next signal (or at once for one already pending), or after
    /// `timeout` on `clock`, whichever is first, or once the task is cancelled. One
    /// waiter at a time.
    func wait<C: Clock>(timeout: Duration, on clock: C) async where C.Duration == Duration {
        await withTaskCancellationHandler {
            await waitForSignal(timeout: timeout, on: clock)
        } onCancel: {
            signal()
        }
    }

    private func waitForSignal<C: Clock>(timeout: Duration, on clock: C) async where C.Duration == Duration {
        let pending = state.withLock { state in
            defer { state.pending = false }
            return state.pending
        }
        if pending { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                try? await clock.sleep(for: timeout)
                if !Task.isCancelled { self.signal() }
            }
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state in
                    if state.pending {
                        state.pending = false
                        return true
                    }
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
            group.cancelAll()
        }
    }
}
