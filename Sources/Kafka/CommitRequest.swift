import CRdKafka
import Foundation

/// A commit waiting for its result on librdkafka's background thread, or for its
/// timeout, whichever comes first.
final class CommitRequest: @unchecked Sendable {
    private let lock = NSLock()
    private var waiter: CheckedContinuation<Result<Void, KafkaError>, Never>?
    private var timer: Task<Void, Never>?

    init(_ waiter: CheckedContinuation<Result<Void, KafkaError>, Never>, timeout: Duration, operation: String) {
        self.waiter = waiter
        timer = Task { [weak self] in
            guard (try? await Task.sleep(for: timeout)) != nil else { return }
            self?.resolve(
                .failure(
                    .broker(
                        RD_KAFKA_RESP_ERR__TIMED_OUT, operation: operation,
                        message: "no answer from the group coordinator within \(timeout)")))
        }
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
}
