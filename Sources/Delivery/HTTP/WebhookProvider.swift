import AsyncHTTPClient
import Crypto
import Foundation
import Instrumentation
import Logging
import NIOCore
import ReminderCore
import ServiceContextModule

/// Delivers to the user's webhook: an HTTPS POST of a JSON body, signed with
/// HMAC-SHA256 over `<timestamp>.<body>` (headers `X-Reminder-Timestamp` and
/// `X-Reminder-Signature: sha256=<hex>`), with the reminder id as `Idempotency-Key`.
/// 2xx is success; 408, 429 and 5xx are transient (`Retry-After` honoured); any other
/// 4xx is permanent.
public struct WebhookProvider: NotificationProvider {
    public struct Configuration: Sendable {
        /// The HMAC key receivers check signatures with.
        public var signingSecret: [UInt8]
        public var destinations: DestinationPolicy

        public init(signingSecret: [UInt8], destinations: DestinationPolicy = DestinationPolicy()) {
            self.signingSecret = signingSecret
            self.destinations = destinations
        }
    }

    public let name = "webhook"
    private let transport: HTTPTransport
    private let configuration: Configuration
    private let logger: Logger
    private let clock: @Sendable () -> Date

    public init(
        transport: HTTPTransport, configuration: Configuration, logger: Logger,
        clock: @escaping @Sendable () -> Date = Date.init
    ) {
        self.transport = transport
        self.configuration = configuration
        self.logger = logger
        self.clock = clock
    }

    public func send(_ request: DeliveryRequest) async throws(DeliveryFailure) -> DeliveryReceipt {
        guard case .webhook(let address) = request.channel else {
            throw .permanent("wrong_channel", "the webhook provider got a \(request.channel.type) channel")
        }
        guard let url = URL(string: address) else { throw .permanent("invalid_url", "the webhook URL cannot be read") }
        if let refusal = configuration.destinations.refusal(for: url) {
            throw .permanent("destination_refused", refusal)
        }
        let body = Self.body(for: request)
        let timestamp = String(Int64(clock().timeIntervalSince1970))
        var httpRequest = HTTPClientRequest(url: address)
        httpRequest.method = .POST
        httpRequest.headers.add(name: "Content-Type", value: "application/json")
        httpRequest.headers.add(name: "User-Agent", value: "notification-service")
        httpRequest.headers.add(name: "Idempotency-Key", value: request.idempotencyKey)
        httpRequest.headers.add(name: "X-Reminder-Timestamp", value: timestamp)
        httpRequest.headers.add(
            name: "X-Reminder-Signature",
            value: "sha256=" + Self.signature(secret: configuration.signingSecret, timestamp: timestamp, body: body))
        // The receiver can join the delivery's trace (W3C Trace Context; nothing with the
        // no-op tracer).
        if let context = ServiceContext.current {
            InstrumentationSystem.instrument.inject(context, into: &httpRequest.headers, using: TraceHeaderInjector())
        }
        httpRequest.body = .bytes(ByteBuffer(bytes: body))
        let answer = try await transport.perform(httpRequest, logger: logger)
        if let failure = HTTPTransport.failure(for: answer) { throw failure }
        return DeliveryReceipt(answer: "HTTP \(answer.status)")
    }

    /// The signature receivers recompute: hex HMAC-SHA256 of `<timestamp>.<body>`.
    public static func signature(secret: [UInt8], timestamp: String, body: [UInt8]) -> String {
        var message = Array(timestamp.utf8)
        message.append(UInt8(ascii: "."))
        message.append(contentsOf: body)
        let code = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: secret))
        return HexEncoding.string(code)
    }

    /// `{"reminder_id", "user_id", "correlation_id", "due_at", "attempt", "title", "body", "data"}`,
    /// and `"html"`, `"unsubscribe_url"` and `"occurrence"` (a recurring reminder's) when
    /// the reminder has them: a receiver that
    /// sends email itself can use them, and the body of a reminder without them is what it
    /// always was.
    static func body(for request: DeliveryRequest) -> [UInt8] {
        let members: [(key: String, value: JSONValue)] = [
            ("reminder_id", .string(request.reminderID)),
            ("user_id", .string(request.userID)),
            ("correlation_id", request.correlationID.map(JSONValue.string) ?? .null),
            ("due_at", .string(request.dueAt.description)),
            ("attempt", .number(String(request.attempt))),
            ("title", .string(request.content.title)),
            ("body", .string(request.content.body)),
        ]
        var text = JSONValue.object(members).serialized
        // `data` is compact JSON already (checked at ingest): spliced in, not re-parsed.
        text.removeLast()
        text += #","data":"# + (request.content.data ?? "null")
        if let html = request.content.html { text += #","html":"# + JSONValue.string(html).serialized }
        if let url = request.content.unsubscribeURL {
            text += #","unsubscribe_url":"# + JSONValue.string(url).serialized
        }
        if let occurrence = request.occurrence { text += #","occurrence":"# + String(occurrence) }
        text += "}"
        return Array(text.utf8)
    }
}
