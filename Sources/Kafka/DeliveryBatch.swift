import Foundation

/// The delivery results of messages sent together: filled in by the delivery-report
/// callback on the producer's poll thread, awaited by the sender.
final class DeliveryBatch: @unchecked Sendable {
    typealias Results = [Result<KafkaDeliveryReport, KafkaError>]

    private let lock = NSLock()
    private var results: [Result<KafkaDeliveryReport, KafkaError>?]
    private var remaining: Int
    private var waiter: CheckedContinuation<Results, Never>?

    init(count: Int) {
        results = Array(repeating: nil, count: count)
        remaining = count
    }

    func complete(_ index: Int, _ result: Result<KafkaDeliveryReport, KafkaError>) {
        lock.lock()
        precondition(results[index] == nil, "delivery report for message \(index) arrived twice")
        results[index] = result
        remaining -= 1
        let waiter = remaining == 0 ? self.waiter : nil
        if waiter != nil { self.waiter = nil }
        lock.unlock()
        waiter?.resume(returning: results.map { $0! })
    }

    /// Waits until every message has its result.
    func wait() async -> Results {
        await withCheckedContinuation { waiter in
            lock.lock()
            if remaining == 0 {
                let done = results.map { $0! }
                lock.unlock()
                waiter.resume(returning: done)
                return
            }
            self.waiter = waiter
            lock.unlock()
        }
    }
}

/// One message's place in its batch, passed through librdkafka as the message opaque.
final class DeliveryTicket {
    let batch: DeliveryBatch
    let index: Int

    init(batch: DeliveryBatch, index: Int) {
        self.batch = batch
        self.index = index
    }
}
