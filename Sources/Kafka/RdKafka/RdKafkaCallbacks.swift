import Logging

/// The object behind a handle's opaque pointer: logging and error reporting common to
/// all clients. Consumer and producer subclasses add their own callbacks.
class RdKafkaCallbacks: @unchecked Sendable {
    let logger: Logger

    init(logger: Logger) {
        self.logger = logger
    }

    /// A client-level error: a broker unreachable, authentication failed, a fatal error.
    /// Called on a librdkafka thread or the client's poll thread.
    func handleError(_ error: KafkaError) {
        logger.warning("kafka client error", metadata: ["error": "\(error)"])
    }

    /// Recovers the object from a handle's opaque pointer.
    static func from(_ opaque: UnsafeMutableRawPointer?) -> RdKafkaCallbacks? {
        opaque.map { Unmanaged<RdKafkaCallbacks>.fromOpaque($0).takeUnretainedValue() }
    }
}
