import CRdKafka
import Foundation
import Logging

/// What a producer's callbacks object receives besides logs and client errors: each
/// message's result, on the poll thread, inside its polls.
class RdKafkaProducerCallbacks: RdKafkaCallbacks, @unchecked Sendable {
    /// `ticket` is the opaque the message was produced with; `topic` gives its topic.
    func handleDeliveryReport(
        ticket: UnsafeMutableRawPointer, result: (_ topic: String) -> Result<KafkaDeliveryReport, KafkaError>
    ) {}
}

/// librdkafka's producer calls, in Swift values: a producer handle and its topic handles.
/// Calls marked "poll thread" may only be made from the thread that destroys the handle.
final class RdKafkaProducer: @unchecked Sendable {
    let client: RdKafkaClient
    /// Guards `topics`.
    private let lock = NSLock()
    /// Topic handles by name, made once and destroyed before the client handle.
    private var topics: [String: OpaquePointer] = [:]

    init(properties: [(String, String)], callbacks: RdKafkaProducerCallbacks) throws(KafkaError) {
        client = try RdKafkaClient(kind: RD_KAFKA_PRODUCER, properties: properties, callbacks: callbacks) { conf in
            rd_kafka_conf_set_dr_msg_cb(conf, deliveryReportCallback)
        }
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

    /// The topic handle for `name`, made on first use.
    private func topicHandle(_ name: String, _ handle: OpaquePointer) throws(KafkaError) -> OpaquePointer {
        lock.lock()
        defer { lock.unlock() }
        if let topic = topics[name] { return topic }
        guard let topic = rd_kafka_topic_new(handle, name, nil) else {
            throw .broker(rd_kafka_last_error(), operation: "open topic \"\(name)\"")
        }
        topics[name] = topic
        return topic
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

    // MARK: - Poll thread

    /// Serves delivery reports, waiting up to `wait` for one.
    func poll(wait: Duration) {
        rd_kafka_poll(client.ownerHandle, Int32(clamping: wait.milliseconds))
    }

    /// Refuses new sends, delivers what it can within `flushTimeout`, fails the rest
    /// (their senders get `_PURGE_QUEUE` or `_PURGE_INFLIGHT`), then frees everything.
    /// Returns how many messages were left undelivered.
    func shutDown(flushTimeout: Duration) -> Int {
        let handle = client.ownerHandle
        client.markClosed()
        var undelivered = 0
        if rd_kafka_flush(handle, Int32(clamping: flushTimeout.milliseconds)) != RD_KAFKA_RESP_ERR_NO_ERROR {
            undelivered = Int(rd_kafka_outq_len(handle))
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
        return undelivered
    }
}

/// Calls `body` with a pointer and length for optional bytes (NULL and 0 for nil).
private func withBytes<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawPointer?, Int) -> R) -> R {
    guard let bytes else { return body(nil, 0) }
    return bytes.withUnsafeBytes { body($0.baseAddress, $0.count) }
}

private func deliveryReportCallback(
    _ handle: OpaquePointer?, _ message: UnsafePointer<rd_kafka_message_t>?, _ opaque: UnsafeMutableRawPointer?
) {
    // The poll thread, which serves this callback, holds the callbacks object.
    guard let message, let ticket = message.pointee._private,
        let callbacks = RdKafkaCallbacks.from(opaque) as? RdKafkaProducerCallbacks
    else { return }
    let raw = message.pointee
    callbacks.handleDeliveryReport(ticket: ticket) { topic in
        if raw.err == RD_KAFKA_RESP_ERR_NO_ERROR {
            return .success(KafkaDeliveryReport(topic: topic, partition: raw.partition, offset: raw.offset))
        }
        let operation = "produce to \"\(topic)\""
        let fatal = handle.flatMap { RdKafkaClient.fatalError(of: $0, operation: operation) }
        return .failure(fatal ?? .broker(raw.err, operation: operation))
    }
}
