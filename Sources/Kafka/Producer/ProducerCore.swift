import CRdKafka
import Foundation
import Logging

/// The part of a `KafkaProducer` that its poll thread keeps alive: the handle, the
/// topic handles and the delivery-report callback, which runs on the poll thread.
final class ProducerCore: RdKafkaCallbacks, @unchecked Sendable {
    let configuration: KafkaProducerConfiguration
    private(set) var client: RdKafkaClient!

    /// Guards `topics`, `stopRequested` and `flushTimeout`.
    private let lock = NSLock()
    /// Topic handles by name, made once and destroyed before the client handle.
    private var topics: [String: OpaquePointer] = [:]
    private var stopRequested = false
    private var flushTimeout: Duration = .zero
    private let closed = Latch()

    init(configuration: KafkaProducerConfiguration, logger: Logger) throws(KafkaError) {
        try configuration.validate()
        self.configuration = configuration
        super.init(logger: logger)
        client = try RdKafkaClient(
            kind: RD_KAFKA_PRODUCER, properties: configuration.rdKafkaProperties(), callbacks: self
        ) { conf in
            rd_kafka_conf_set_dr_msg_cb(conf, producerDeliveryReportCallback)
        }
    }

    func startPollThread() {
        // The thread keeps `self` alive until the handle is destroyed, after which no
        // callback reaches `self` through the handle's opaque pointer.
        let thread = Thread { [self] in self.runPollLoop() }
        thread.name = "kafka-producer"
        thread.start()
    }

    private func runPollLoop() {
        let handle = client.ownerHandle
        while !isStopRequested {
            rd_kafka_poll(handle, 100)
        }
        shutDown(handle)
    }

    private var isStopRequested: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopRequested
    }

    /// Delivers what it can within the flush timeout, fails the rest (their senders
    /// get `_PURGE_QUEUE` or `_PURGE_INFLIGHT`), then frees everything.
    private func shutDown(_ handle: OpaquePointer) {
        client.markClosed()
        lock.lock()
        let timeout = flushTimeout
        lock.unlock()
        let err = rd_kafka_flush(handle, Int32(clamping: timeout.milliseconds))
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            logger.warning(
                "kafka producer closed with undelivered messages",
                metadata: ["undelivered": "\(rd_kafka_outq_len(handle))"])
            rd_kafka_purge(handle, Int32(RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT))
            // Serve the purged messages' delivery reports so that every sender is answered.
            while rd_kafka_outq_len(handle) > 0 {
                rd_kafka_poll(handle, 100)
            }
        }
        lock.lock()
        let topicHandles = Array(topics.values)
        topics = [:]
        lock.unlock()
        topicHandles.forEach { rd_kafka_topic_destroy($0) }
        client.destroy()

        closed.open()
        logger.debug("kafka producer closed")
    }

    func requestStop(flushTimeout: Duration) {
        lock.lock()
        if !stopRequested { self.flushTimeout = flushTimeout }
        stopRequested = true
        lock.unlock()
    }

    func close(flushTimeout: Duration) async {
        requestStop(flushTimeout: flushTimeout)
        await closed.wait()
    }

    /// The topic handle for `name`, made on first use.
    func topicHandle(_ name: String, _ handle: OpaquePointer) throws(KafkaError) -> OpaquePointer {
        lock.lock()
        defer { lock.unlock() }
        if let topic = topics[name] { return topic }
        guard let topic = rd_kafka_topic_new(handle, name, nil) else {
            throw .broker(rd_kafka_last_error(), operation: "open topic \"\(name)\"")
        }
        topics[name] = topic
        return topic
    }

    /// Enqueues `messages[from...]` until librdkafka's queue is full. Returns the index
    /// of the first message not enqueued (`messages.count` when all were); the result of
    /// every enqueued or refused message reaches `batch`.
    func enqueue(_ messages: [KafkaProducerMessage], from start: Int, batch: DeliveryBatch) -> Int {
        do {
            return try client.withHandle("produce") { handle throws(KafkaError) -> Int in
                var topicName = ""
                var topic: OpaquePointer?
                for index in start..<messages.count {
                    let message = messages[index]
                    if topic == nil || message.topic != topicName {
                        topic = try topicHandle(message.topic, handle)
                        topicName = message.topic
                    }
                    let headers = Self.makeHeaders(message.headers)
                    let err = withBytes(message.key) { key, keyLength in
                        withBytes(message.value) { value, valueLength in
                            crdkafka_produce(
                                handle, topic, message.partition ?? RD_KAFKA_PARTITION_UA, key, keyLength, value,
                                valueLength, headers, batch.ticket(index))
                        }
                    }
                    guard err != RD_KAFKA_RESP_ERR_NO_ERROR else { continue }
                    headers.map { rd_kafka_headers_destroy($0) }
                    if err == RD_KAFKA_RESP_ERR__QUEUE_FULL { return index }
                    batch.complete(index, .failure(.broker(err, operation: "produce to \"\(message.topic)\"")))
                }
                return messages.count
            }
        } catch {
            // Closed, or a topic handle could not be made: fail what is left.
            for index in start..<messages.count { batch.complete(index, .failure(error)) }
            return messages.count
        }
    }

    private static func makeHeaders(_ headers: [KafkaHeader]) -> OpaquePointer? {
        guard !headers.isEmpty else { return nil }
        let list = rd_kafka_headers_new(headers.count)!
        for header in headers {
            withBytes(header.value) { value, length in
                _ = rd_kafka_header_add(list, header.key, -1, value, length)
            }
        }
        return list
    }

    func handleDeliveryReport(_ message: UnsafePointer<rd_kafka_message_t>) {
        guard let opaque = message.pointee._private else { return }
        let raw = message.pointee
        DeliveryBatch.complete(opaque) { topic in
            if raw.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                return .success(KafkaDeliveryReport(topic: topic, partition: raw.partition, offset: raw.offset))
            }
            let operation = "produce to \"\(topic)\""
            return .failure(client.fatalError(operation: operation) ?? .broker(raw.err, operation: operation))
        }
    }
}

/// Calls `body` with a pointer and length for optional bytes (NULL and 0 for nil).
private func withBytes<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawPointer?, Int) -> R) -> R {
    guard let bytes else { return body(nil, 0) }
    return bytes.withUnsafeBytes { body($0.baseAddress, $0.count) }
}

private func producerDeliveryReportCallback(
    _ handle: OpaquePointer?, _ message: UnsafePointer<rd_kafka_message_t>?, _ opaque: UnsafeMutableRawPointer?
) {
    guard let message, let opaque else { return }
    // The poll thread, which serves this callback, holds the core.
    Unmanaged<ProducerCore>.fromOpaque(opaque).takeUnretainedValue().handleDeliveryReport(message)
}
