import Crypto
import Foundation
import Instrumentation
import NIOCore
import NIOHTTP1
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
    private let signer: Signer
    private let verdicts: DestinationVerdicts
    private let clock: @Sendable () -> Date

    public init(
        transport: HTTPTransport, configuration: Configuration, clock: @escaping @Sendable () -> Date = Date.init
    ) {
        self.transport = transport
        self.signer = Signer(secret: configuration.signingSecret)
        self.verdicts = DestinationVerdicts(configuration.destinations)
        self.clock = clock
    }

    public func send(_ request: DeliveryRequest) async throws(DeliveryFailure) -> DeliveryReceipt {
        guard case .webhook(let address) = request.channel else {
            throw .permanent("wrong_channel", "the webhook provider got a \(request.channel.type) channel")
        }
        switch verdicts.verdict(for: address) {
        case .unreadable: throw .permanent("invalid_url", "the webhook URL cannot be read")
        case .refused(let refusal): throw .permanent("destination_refused", refusal)
        case .allowed: break
        }
        let body = Self.body(for: request)
        let timestamp = String(Int64(clock().timeIntervalSince1970))
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "User-Agent", value: "notification-service")
        headers.add(name: "Idempotency-Key", value: request.idempotencyKey)
        headers.add(name: "X-Reminder-Timestamp", value: timestamp)
        headers.add(name: "X-Reminder-Signature", value: "sha256=" + signer.signature(timestamp: timestamp, body: body))
        // The receiver can join the delivery's trace (W3C Trace Context; nothing with the
        // no-op tracer).
        if let context = ServiceContext.current {
            InstrumentationSystem.instrument.inject(context, into: &headers, using: TraceHeaderInjector())
        }
        let answer = try await transport.webhooks.post(to: address, headers: headers, body: body)
        if let failure = HTTPTransport.failure(for: answer) { throw failure }
        return DeliveryReceipt(answer: "HTTP \(answer.status)")
    }

    /// The signature receivers recompute: hex HMAC-SHA256 of `<timestamp>.<body>`.
    public static func signature(secret: [UInt8], timestamp: String, body: [UInt8]) -> String {
        Signer(secret: secret).signature(timestamp: timestamp, body: body)
    }

    /// Signs with one key: the HMAC keyed once (its padded key hashed), copied for each
    /// signature.
    struct Signer: Sendable {
        /// Never changed once made, only copied: a copy's first update copies the hash
        /// state it shares with this one (swift-crypto's digests copy on write), so sends
        /// signing at once each work on their own.
        nonisolated(unsafe) private let keyed: HMAC<SHA256>

        init(secret: [UInt8]) {
            keyed = HMAC(key: SymmetricKey(data: secret))
        }

        func signature(timestamp: String, body: [UInt8]) -> String {
            var mac = keyed
            mac.update(data: Array(timestamp.utf8))
            mac.update(data: [UInt8(ascii: ".")])
            mac.update(data: body)
            return HexEncoding.string(mac.finalize())
        }
    }

    /// `{"reminder_id", "user_id", "correlation_id", "due_at", "attempt", "title", "body", "data"}`,
    /// and `"html"`, `"unsubscribe_url"` and `"occurrence"` (a recurring reminder's) when
    /// the reminder has them: a receiver that
    /// sends email itself can use them, and the body of a reminder without them is what it
    /// always was.
    static func body(for request: DeliveryRequest) -> [UInt8] {
        var body: [UInt8] = []
        body.reserveCapacity(256 + request.content.title.utf8.count + request.content.body.utf8.count)
        func member(_ key: String, string value: String) {
            JSONValue.append(member: key, to: &body)
            JSONValue.append(string: value, to: &body)
        }
        func member(_ key: String, json text: String) {
            JSONValue.append(member: key, to: &body)
            body += text.utf8
        }
        member("reminder_id", string: request.reminderID)
        member("user_id", string: request.userID)
        if let correlationID = request.correlationID {
            member("correlation_id", string: correlationID)
        } else {
            member("correlation_id", json: "null")
        }
        member("due_at", string: request.dueAt.description)
        member("attempt", json: String(request.attempt))
        member("title", string: request.content.title)
        member("body", string: request.content.body)
        // `data` is compact JSON already (checked at ingest): spliced in, not re-parsed.
        member("data", json: request.content.data ?? "null")
        if let html = request.content.html { member("html", string: html) }
        if let url = request.content.unsubscribeURL { member("unsubscribe_url", string: url) }
        if let occurrence = request.occurrence { member("occurrence", json: String(occurrence)) }
        body.append(UInt8(ascii: "}"))
        return body
    }
}
