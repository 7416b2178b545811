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

    /// The messages themselves (shared with the sender's array, not copied), for the
    /// topic of each report.
    private let messages: [KafkaProducerMessage]
    private let tickets: UnsafeMutablePointer<Ticket>
    private let lock = NSLock()
    /// Every slot starts as a placeholder failure; `reported` says which are real.
    private var results: Results
    private var reported: [Bool]
    private var remaining: Int
    private var waiter: CheckedContinuation<Results, Never>?

    init(_ messages: [KafkaProducerMessage]) {
        self.messages = messages
        results = Array(repeating: .failure(.closed(operation: "produce")), count: messages.count)
        reported = Array(repeating: false, count: messages.count)
        remaining = messages.count
        tickets = .allocate(capacity: messages.count)
        let unmanaged = Unmanaged.passUnretained(self)
        for index in messages.indices {
            (tickets + index).initialize(to: Ticket(batch: unmanaged, index: index))
        }
    }

    deinit {
        tickets.deinitialize(count: messages.count)
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
        batch.complete(ticket.index, result(batch.messages[ticket.index].topic))
    }

    func complete(_ index: Int, _ result: Result<KafkaDeliveryReport, KafkaError>) {
        lock.lock()
        precondition(!reported[index], "delivery report for message \(index) arrived twice")
        reported[index] = true
        results[index] = result
        remaining -= 1
        let waiter = remaining == 0 ? self.waiter : nil
        if waiter != nil { self.waiter = nil }
        lock.unlock()
        waiter?.resume(returning: results)
    }

    /// Waits until every message has its result.
    func wait() async -> Results {
        await withCheckedContinuation { waiter in
            lock.lock()
            if remaining == 0 {
                let done = results
                lock.unlock()
                waiter.resume(returning: done)
                return
            }
            self.waiter = waiter
            lock.unlock()
        }
    }
}
