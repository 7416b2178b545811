import Foundation

/// A commit waiting for its result on librdkafka's background thread, or for its
/// timeout, whichever comes first.
final class CommitRequest: @unchecked Sendable {
    /// Opens when librdkafka is done with this commit, or when it was never given to
    /// librdkafka: the next commit is sent only then, so that a commit the caller gave
    /// up on can never land after a newer one.
    let settled = Latch()
    private let lock = NSLock()
    private var waiter: CheckedContinuation<Result<Void, KafkaError>, Never>?
    private var timer: Task<Void, Never>?

    init(_ waiter: CheckedContinuation<Result<Void, KafkaError>, Never>, timeout: Duration, operation: String) {
        self.waiter = waiter
        timer = Task { [weak self] in
            guard (try? await Task.sleep(for: timeout)) != nil else { return }
            self?.resolve(
                .failure(
                    .timedOut(
                        operation: operation, message: "no answer from the group coordinator within \(timeout)")))
        }
    }

    /// True while the caller still waits for the result.
    var isAwaited: Bool {
        lock.lock()
        defer { lock.unlock() }
        return waiter != nil
    }

    /// Delivers the first result; later ones are dropped.
    func resolve(_ result: Result<Void, KafkaError>) {
        lock.lock()
        let waiter = self.waiter
        self.waiter = nil
        let timer = self.timer
        self.timer = nil
        lock.unlock()
        timer?.cancel()
        waiter?.resume(returning: result)
    }

    /// librdkafka is done with this commit: delivers `result` (unless the caller gave up)
    /// and lets the next commit go.
    func finish(_ result: Result<Void, KafkaError>) {
        resolve(result)
        settled.open()
    }
}
