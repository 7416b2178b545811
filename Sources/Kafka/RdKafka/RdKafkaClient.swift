import CRdKafka
import Foundation
import Logging

/// Owns one `rd_kafka_t`. librdkafka documents the handle as thread-safe; this class
/// makes sure no call uses it after `rd_kafka_destroy`: every use goes through
/// `withHandle`, and `destroy` waits for the uses in progress before it frees it.
final class RdKafkaClient: @unchecked Sendable {
    private let handle: OpaquePointer
    let kind: rd_kafka_type_t
    /// Guards `state`; waited on by `destroy` until no call is in progress.
    private let condition = NSCondition()
    private var inUse = 0
    private var closed = false
    private var destroyed = false
    /// The object behind the handle's opaque pointer. librdkafka calls back into it
    /// (logs from its own threads among them) until `rd_kafka_destroy` returns, so the
    /// client keeps it alive until then, and lets go after: for a consumer or producer
    /// the callbacks object owns this client, and the cycle ends here.
    private var callbacks: RdKafkaCallbacks?

    /// Creates the handle. `conf` is taken over (destroyed on failure as well).
    /// `callbacks` is installed as the conf's opaque: see `RdKafkaCallbacks`.
    init(
        kind: rd_kafka_type_t, properties: [(String, String)], callbacks: RdKafkaCallbacks,
        configure: (OpaquePointer) -> Void
    ) throws(KafkaError) {
        try KafkaLibrary.checkVersion()
        let conf = try RdKafkaConfig.make(properties)
        // Unretained in the handle; `self.callbacks` keeps it alive until the handle is destroyed.
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(callbacks).toOpaque())
        rd_kafka_conf_set_log_cb(conf, rdKafkaLogCallback)
        rd_kafka_conf_set_error_cb(conf, rdKafkaErrorCallback)
        configure(conf)
        var errorText = [CChar](repeating: 0, count: 512)
        guard let handle = rd_kafka_new(kind, conf, &errorText, errorText.count) else {
            rd_kafka_conf_destroy(conf)
            let message = String(nulTerminated: errorText)
            throw KafkaError(
                category: .configuration, name: "invalid_configuration", message: message,
                operation: "create client", property: nil)
        }
        self.handle = handle
        self.kind = kind
        self.callbacks = callbacks
    }

    /// Runs `body` with the handle unless the client is closing.
    func withHandle<T>(_ operation: @autoclosure () -> String, _ body: (OpaquePointer) throws(KafkaError) -> T)
        throws(KafkaError) -> T
    {
        condition.lock()
        if closed {
            condition.unlock()
            throw .closed(operation: operation())
        }
        inUse += 1
        condition.unlock()
        defer {
            condition.lock()
            inUse -= 1
            if inUse == 0 { condition.broadcast() }
            condition.unlock()
        }
        return try body(handle)
    }

    /// The handle for the owner's own thread (the poll loop), which is the one that
    /// destroys it and so needs no guard.
    var ownerHandle: OpaquePointer { handle }

    /// Refuses new calls from now on; calls in progress go on.
    func markClosed() {
        condition.lock()
        closed = true
        condition.unlock()
    }

    var isClosed: Bool {
        condition.lock()
        defer { condition.unlock() }
        return closed
    }

    /// Refuses new calls and waits for those in progress to end. Blocking: call it from
    /// the client's own thread or a blocking-safe executor.
    func closeAndDrain() {
        condition.lock()
        closed = true
        while inUse > 0 { condition.wait() }
        condition.unlock()
    }

    /// Waits for the calls in progress, then destroys the handle. Idempotent. Blocking:
    /// call it from the client's own thread or a blocking-safe executor.
    func destroy() {
        closeAndDrain()
        condition.lock()
        let alreadyDestroyed = destroyed
        destroyed = true
        condition.unlock()
        guard !alreadyDestroyed else { return }
        rd_kafka_destroy(handle)
        condition.lock()
        callbacks = nil
        condition.unlock()
    }

    deinit {
        destroy()
    }

    /// librdkafka's fatal error, when one has been raised.
    func fatalError(operation: String) -> KafkaError? {
        Self.fatalError(of: handle, operation: operation)
    }

    /// The fatal error raised on `handle`, if any: for callbacks, which get the handle.
    static func fatalError(of handle: OpaquePointer, operation: String) -> KafkaError? {
        var text = [CChar](repeating: 0, count: 512)
        let code = rd_kafka_fatal_error(handle, &text, text.count)
        guard code != RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
        let error = KafkaError.broker(code, operation: operation, message: String(nulTerminated: text))
        return KafkaError(
            category: .broker, code: error.code, name: error.name, message: error.message,
            operation: operation, isRetriable: false, isFatal: true)
    }
}

private func rdKafkaLogCallback(
    _ handle: OpaquePointer?, _ level: Int32, _ facility: UnsafePointer<CChar>?, _ text: UnsafePointer<CChar>?
) {
    guard let handle, let callbacks = RdKafkaCallbacks.from(rd_kafka_opaque(handle)) else { return }
    let swiftLevel: Logger.Level =
        switch level {
        case ...3: .error
        case 4: .warning
        case 5: .notice
        case 6: .info
        default: .debug
        }
    callbacks.logger.log(
        level: swiftLevel, "\(text.map { String(cString: $0) } ?? "")",
        metadata: ["librdkafka.facility": "\(facility.map { String(cString: $0) } ?? "")"])
}

private func rdKafkaErrorCallback(
    _ handle: OpaquePointer?, _ code: Int32, _ reason: UnsafePointer<CChar>?, _ opaque: UnsafeMutableRawPointer?
) {
    guard let callbacks = RdKafkaCallbacks.from(opaque) else { return }
    let err = rd_kafka_resp_err_t(rawValue: code)
    var error = KafkaError.broker(err, operation: "connect", message: reason.map { String(cString: $0) })
    if err == RD_KAFKA_RESP_ERR__FATAL, let handle,
        let fatal = RdKafkaClient.fatalError(of: handle, operation: "client")
    {
        error = fatal
    }
    callbacks.handleError(error)
}
