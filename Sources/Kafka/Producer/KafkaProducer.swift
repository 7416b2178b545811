import Logging

/// Produces messages and reports where each was written. Idempotent with `acks=all`
/// by default. Delivery reports are served on a thread of its own.
public final class KafkaProducer: Sendable {
    private let core: ProducerCore

    public init(
        configuration: KafkaProducerConfiguration, logger: Logger = Logger(label: "kafka.producer")
    ) throws(KafkaError) {
        core = try ProducerCore(configuration: configuration, logger: logger)
        core.startPollThread()
    }

    deinit {
        core.requestStop(flushTimeout: .seconds(5))
    }

    /// Sends one message and suspends until the broker acknowledged it.
    @discardableResult
    public func send(
        topic: String, partition: Int32? = nil, key: [UInt8]?, value: [UInt8]?, headers: [KafkaHeader] = []
    ) async throws(KafkaError) -> KafkaDeliveryReport {
        try await send(
            KafkaProducerMessage(topic: topic, partition: partition, key: key, value: value, headers: headers))
    }

    /// Sends one message and suspends until the broker acknowledged it.
    @discardableResult
    public func send(_ message: KafkaProducerMessage) async throws(KafkaError) -> KafkaDeliveryReport {
        try await send([message])[0].get()
    }

    /// Sends messages together and suspends until each has its own result, in order.
    /// Much cheaper per message than one `send` each: one suspension for the batch.
    public func send(_ messages: [KafkaProducerMessage]) async -> [Result<KafkaDeliveryReport, KafkaError>] {
        let batch = DeliveryBatch(messages)
        var next = 0
        while true {
            next = core.enqueue(messages, from: next, batch: batch)
            if next == messages.count { break }
            // A full local queue means the broker is slower than the sender: wait for
            // delivery reports to make room instead of failing.
            try? await Task.sleep(for: .milliseconds(1))
        }
        return await batch.wait()
    }

    /// Delivers what is queued within `flushTimeout`, fails what is left, and frees
    /// the handle. Sends after this fail with a `closed` error.
    public func close(flushTimeout: Duration = .seconds(10)) async {
        await core.close(flushTimeout: flushTimeout)
    }
}
