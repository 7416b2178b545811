import Foundation
import Logging

/// The part of a `KafkaProducer` that its poll thread keeps alive: librdkafka's producer,
/// the producer's state machine and the delivery-report callback, which runs on the poll
/// thread.
final class ProducerCore: RdKafkaProducerCallbacks, @unchecked Sendable {
    let configuration: KafkaProducerConfiguration
    private(set) var rdKafka: RdKafkaProducer!

    /// Guards `machine`.
    private let lock = NSLock()
    private var machine = ProducerStateMachine()
    private let closed = Latch()

    init(configuration: KafkaProducerConfiguration, logger: Logger) throws(KafkaError) {
        try configuration.validate()
        self.configuration = configuration
        super.init(logger: logger)
        rdKafka = try RdKafkaProducer(properties: configuration.rdKafkaProperties(), callbacks: self)
    }

    func startPollThread() {
        // The thread keeps `self` alive until the handle is destroyed, after which no
        // callback reaches `self` through the handle's opaque pointer.
        let thread = Thread { [self] in self.runPollLoop() }
        thread.name = "kafka-producer"
        thread.start()
    }

    private func runPollLoop() {
        while true {
            lock.lock()
            let action = machine.nextPollAction()
            lock.unlock()
            switch action {
            case .poll:
                rdKafka.poll(wait: .milliseconds(100))
            case .shutDown(let flushTimeout):
                let undelivered = rdKafka.shutDown(flushTimeout: flushTimeout)
                if undelivered > 0 {
                    logger.warning(
                        "kafka producer closed with undelivered messages", metadata: ["undelivered": "\(undelivered)"])
                }
                lock.lock()
                machine.closed()
                lock.unlock()
                closed.open()
                logger.debug("kafka producer closed")
                return
            case .none:
                return
            }
        }
    }

    func requestStop(flushTimeout: Duration) {
        lock.lock()
        machine.requestStop(flushTimeout: flushTimeout)
        lock.unlock()
    }

    func close(flushTimeout: Duration) async {
        requestStop(flushTimeout: flushTimeout)
        await closed.wait()
    }

    /// Enqueues `messages[from...]` until librdkafka's queue is full; see `RdKafkaProducer.enqueue`.
    func enqueue(_ messages: [KafkaProducerMessage], from start: Int, batch: DeliveryBatch) -> Int {
        rdKafka.enqueue(messages, from: start, batch: batch)
    }

    override func handleDeliveryReport(
        ticket: UnsafeMutableRawPointer, result: (String) -> Result<KafkaDeliveryReport, KafkaError>
    ) {
        DeliveryBatch.complete(ticket, result)
    }
}
