import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import ReminderCore
import Synchronization

/// The HTTP side shared by the webhook, push and SMS providers: one AsyncHTTPClient
/// (connection pools per host, HTTP/2 where the server offers it, as APNs needs), a
/// timeout per request, and the common classification of answers and errors. Webhooks go
/// through a client of their own (`webhooks`, `WebhookClient`) with the same settings.
public final class HTTPTransport: Sendable {
    public struct Configuration: Sendable {
        /// Each request, from connecting to the last byte of the answer.
        public var timeout: Duration
        /// Extra certificate authorities (PEM file) trusted beside the system's: for
        /// private gateways, and for the tests' loopback servers.
        public var caFile: String?
        /// Connections kept per host (HTTP/1.1).
        public var connectionsPerHost: Int

        public init(timeout: Duration = .seconds(10), caFile: String? = nil, connectionsPerHost: Int = 64) {
            self.timeout = timeout
            self.caFile = caFile
            self.connectionsPerHost = connectionsPerHost
        }
    }

    /// A provider's answer: status, headers and at most `maximumBodyBytes` of body.
    public struct Answer: Sendable {
        public let status: Int
        public let headers: HTTPHeaders
        public let body: [UInt8]
    }

    static let maximumBodyBytes = 64 * 1024

    let client: HTTPClient
    /// The webhook provider's client.
    let webhooks: WebhookClient
    let configuration: Configuration
    private let shutDown: Atomic<Bool>

    public init(configuration: Configuration) throws {
        // Made first, and `shutDown` set last: a throw after an `Atomic` property is set
        // crashes the compiler (Swift 6.3.1, release builds).
        webhooks = try WebhookClient(
            configuration: .init(
                timeout: configuration.timeout, caFile: configuration.caFile,
                connectionsPerHost: configuration.connectionsPerHost))
        var tls = TLSConfiguration.makeClientConfiguration()
        if let caFile = configuration.caFile {
            tls.additionalTrustRoots = [.file(caFile)]
        }
        var clientConfiguration = HTTPClient.Configuration(
            tlsConfiguration: tls, redirectConfiguration: .disallow,
            // The send's whole limit (HTTP_PROVIDER_TIMEOUT_MS, "connect to last byte")
            // bounds the connection and its TLS handshake too.
            timeout: .init(connect: .milliseconds(configuration.timeout.wholeMilliseconds)))
        // No spans of its own: they would carry each request's URL (a webhook's may hold
        // a token); the providers' send spans stand for the requests.
        clientConfiguration.tracing.tracer = nil
        clientConfiguration.connectionPool = .init(
            idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: configuration.connectionsPerHost)
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfiguration)
        self.configuration = configuration
        shutDown = Atomic(false)
    }

    /// Closes the connections, after the last send. Later calls do nothing.
    public func shutdown() async throws {
        guard !shutDown.exchange(true, ordering: .acquiringAndReleasing) else { return }
        webhooks.shutdown()
        try await client.shutdown()
    }

    /// A transport released without `shutdown()` (its owner failed before it) still
    /// closes its connections, in the background. A debug build of AsyncHTTPClient
    /// stops the process when a client is released running, which took every other
    /// test in the process down with one that failed.
    deinit {
        if !shutDown.exchange(true, ordering: .acquiringAndReleasing) {
            webhooks.shutdown()
            client.shutdown { _ in }
        }
    }

    /// Sends `request` and returns the answer, whatever its status, or a transient
    /// failure when there is none (connection, TLS, timeout).
    func perform(_ request: HTTPClientRequest, logger: Logger) async throws(DeliveryFailure) -> Answer {
        let timeout = TimeAmount.milliseconds(configuration.timeout.wholeMilliseconds)
        do {
            let response = try await client.execute(request, timeout: timeout, logger: logger)
            // The status is the answer: a body that is too long or cut off does not turn
            // an accepted send into a failure (and a second send). Only its start is kept.
            var body: [UInt8] = []
            do {
                for try await chunk in response.body where body.count < Self.maximumBodyBytes {
                    body.append(contentsOf: chunk.readableBytesView.prefix(Self.maximumBodyBytes - body.count))
                }
            } catch {
                logger.debug("the answer's body was cut off", metadata: ["status": "\(response.status.code)"])
            }
            return Answer(status: Int(response.status.code), headers: response.headers, body: body)
        } catch let error as HTTPClientError {
            throw Self.classify(error)
        } catch  where Self.isTLSFailure(error) {
            throw .transient("tls", "TLS handshake failed")
        } catch is CancellationError {
            throw .cancelled
        } catch {
            throw .transient("connection", "no answer: \(type(of: error))")
        }
    }

    /// Whether `error` is TLS's: the handshake, the certificate's chain, or its name (which
    /// NIOSSL checks after the handshake and reports with its other error type).
    static func isTLSFailure(_ error: any Error) -> Bool {
        error is NIOSSLError || error is NIOSSLExtraError || error is BoringSSLError
    }

    static func classify(_ error: HTTPClientError) -> DeliveryFailure {
        let timeouts: [HTTPClientError] = [
            .deadlineExceeded, .readTimeout, .writeTimeout, .connectTimeout, .tlsHandshakeTimeout,
            .getConnectionFromPoolTimeout,
        ]
        if timeouts.contains(error) { return .transient("timeout", "no answer in time") }
        if [.invalidURL, .emptyHost, .emptyScheme].contains(error) {
            return .permanent("invalid_url", "the URL cannot be used")
        }
        if error == .cancelled { return .cancelled }
        return .transient("connection", "\(error)")
    }

    /// The usual meaning of an HTTP status for a send: 2xx accepted; 408, 429 and 5xx
    /// transient (with `Retry-After` honoured); any other status permanent.
    static func failure(for answer: Answer, errorClass: String? = nil) -> DeliveryFailure? {
        switch answer.status {
        case 200..<300:
            return nil
        case 408, 429, 500..<600:
            return .transient(
                errorClass ?? "http_\(answer.status)", "HTTP \(answer.status)",
                retryAfter: retryAfter(answer.headers.first(name: "Retry-After")))
        default:
            return .permanent(errorClass ?? "http_\(answer.status)", "HTTP \(answer.status)")
        }
    }

    /// `base` (with or without a trailing slash) followed by `path`.
    static func join(_ base: String, _ path: String) -> String {
        (base.hasSuffix("/") ? String(base.dropLast()) : base) + path
    }

    /// Percent-encodes a value for one path segment.
    static func pathSegment(_ value: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "/?#")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
    }

    /// `Retry-After` as seconds or as an HTTP date; nil when absent or unreadable.
    static func retryAfter(_ value: String?, now: Date = Date()) -> Duration? {
        guard let value = value?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        if let seconds = Int(value), seconds >= 0 { return .seconds(seconds) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: value) else { return nil }
        return .milliseconds(max(0, Int64(date.timeIntervalSince(now) * 1_000)))
    }
}
