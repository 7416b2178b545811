import Foundation

/// The delivery results of messages sent together: filled in by the delivery-report
/// callback on the producer's poll thread, awaited by the sender.
///
/// Each message carries a pointer to its ticket (batch and index) through librdkafka as
/// its opaque. The tickets live in one buffer owned by the batch, so a message costs no
/// allocation of its own.
final class DeliveryBatch: @unchecked Sendable {
    typealias Results = [Result<KafkaDeliveryReport, KafkaError>]

    struct Ticket {
        /// Unretained: the sender holds the batch until every message has its result,
        /// and a result can only arrive through a ticket before that.
        let batch: Unmanaged<DeliveryBatch>
        let index: Int
    }

    let topics: [String]
    private let tickets: UnsafeMutablePointer<Ticket>
    private let lock = NSLock()
    private var results: [Result<KafkaDeliveryReport, KafkaError>?]
    private var remaining: Int
    private var waiter: CheckedContinuation<Results, Never>?

    init(topics: [String]) {
        self.topics = topics
        results = Array(repeating: nil, count: topics.count)
        remaining = topics.count
        tickets = .allocate(capacity: topics.count)
        let unmanaged = Unmanaged.passUnretained(self)
        for index in topics.indices {
            (tickets + index).initialize(to: Ticket(batch: unmanaged, index: index))
        }
    }

    deinit {
        tickets.deinitialize(count: topics.count)
        tickets.deallocate()
    }

    /// The opaque pointer to pass to librdkafka for message `index`.
    func ticket(_ index: Int) -> UnsafeMutableRawPointer { UnsafeMutableRawPointer(tickets + index) }

    /// Records the result of the message whose ticket is `opaque`.
    static func complete(
        _ opaque: UnsafeMutableRawPointer, _ result: (String) -> Result<KafkaDeliveryReport, KafkaError>
    ) {
        let ticket = opaque.assumingMemoryBound(to: Ticket.self).pointee
        let batch = ticket.batch.takeUnretainedValue()
        batch.complete(ticket.index, result(batch.topics[ticket.index]))
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
