import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import ReminderCore
import Synchronization

/// The webhook provider's HTTP/1.1 client: keep-alive connections per origin (at most
/// `connectionsPerHost` each, sends beyond them waiting in order for a free one), each
/// request's head, body and end written in one flush, and one limit per request from
/// its start to the last byte of the answer (`timeout`: the wait for a connection, the
/// connection and its TLS handshake included).
///
/// Why not AsyncHTTPClient, which the other HTTP providers use: it flushes a request's
/// head apart from its body (two TLS records and two `write`s per request, for the
/// sender and for the receiver; swift-server/async-http-client issue 203), arms and
/// cancels a timer per request from the sender's thread, and hands the answer over in
/// parts. For the webhook herd those were about a quarter of the service's CPU per
/// delivery (perf and the dispatch benchmark, issue 19). Webhooks need none of what
/// it adds beyond this: no redirects (never followed), no HTTP/2 (receivers speak
/// HTTP/1.1), no proxies, no decompression.
final class WebhookClient: Sendable {
    struct Configuration: Sendable {
        var timeout: Duration
        /// Extra certificate authorities (PEM file) trusted beside the system's.
        var caFile: String?
        var connectionsPerHost: Int
        /// An idle connection is closed after this long.
        var idleTimeout: Duration = .seconds(60)
        /// Origins whose pools are kept whether they are used or not.
        var maximumOrigins = 1_024
    }

    /// Addresses whose reading (`WebhookTarget`) is kept.
    static let maximumTargets = 4_096

    let configuration: Configuration
    private let tls: NIOSSLContext
    private let group: any EventLoopGroup
    private let deadlines: RequestDeadlines
    private let pools = Mutex<(closed: Bool, byOrigin: [DestinationOrigin: ConnectionPool])>((false, [:]))
    /// Each address read once (nil: not a URL the client can send to), not per send.
    private let targets = Mutex(AddressMemo<WebhookTarget?>(capacity: WebhookClient.maximumTargets))

    init(configuration: Configuration, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) throws {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let caFile = configuration.caFile {
            tls.additionalTrustRoots = [.file(caFile)]
        }
        // A connection is closed when its send is given up or its answer says so: waiting
        // five seconds (the default) for the receiver's close_notify would hold its place
        // in the pool that long.
        tls.shutdownTimeout = .milliseconds(500)
        self.tls = try NIOSSLContext(configuration: tls)
        self.configuration = configuration
        self.group = group
        self.deadlines = RequestDeadlines(eventLoop: group.next())
    }

    /// POSTs `body` to `url` with `headers` (the client adds `Host` and `Content-Length`)
    /// and returns the answer, whatever its status, or a transient failure when there is
    /// none (connection, TLS, timeout). Once an answer's head has come, the answer is its
    /// status: a body cut off, too long (only its first `HTTPTransport.maximumBodyBytes`
    /// are kept) or too slow does not make a failure of an accepted send.
    func post(to url: String, headers: HTTPHeaders, body: [UInt8]) async throws(DeliveryFailure) -> HTTPTransport.Answer
    {
        guard let target = target(for: url) else { throw .permanent("invalid_url", "the URL cannot be used") }
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: target.requestTarget, headers: headers)
        head.headers.replaceOrAdd(name: "Host", value: target.hostHeader)
        head.headers.replaceOrAdd(name: "Content-Length", value: String(body.count))
        let exchange = Exchange(head: head, body: body)
        let deadline = NIODeadline.now() + .milliseconds(configuration.timeout.wholeMilliseconds)
        let entry = deadlines.enter(deadline: deadline) { exchange.abandon(.timedOut) }
        defer { deadlines.leave(entry) }
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                exchange.await(continuation)
                // Cancelled before it began: decided already.
                if exchange.isDecided { return }
                guard let pool = pool(for: target) else { return exchange.abandon(.shutDown) }
                pool.enqueue(exchange)
            }
        } onCancel: {
            exchange.abandon(.cancelled)
        }
        switch result {
        case .success(let answer): return answer
        case .failure(let failure): throw failure
        }
    }

    /// Closes every connection; sends after it fail.
    func shutdown() {
        let pools = self.pools.withLock { state in
            state.closed = true
            defer { state.byOrigin = [:] }
            return Array(state.byOrigin.values)
        }
        for pool in pools { pool.shutdown() }
    }

    /// The connections to `url`'s origin: open or being opened, idle, and the sends
    /// waiting for one; nil before the first send there.
    func connections(to url: String) -> (open: Int, idle: Int, waiting: Int)? {
        guard let target = target(for: url) else { return nil }
        return pools.withLock { $0.byOrigin[target.origin] }?.counts
    }

    /// The origins it holds a pool for.
    var originCount: Int { pools.withLock { $0.byOrigin.count } }

    private func target(for url: String) -> WebhookTarget? {
        // Read outside the lock: sends to other addresses need not wait for it.
        if let known = targets.withLock({ $0.value(for: url) }) { return known }
        let target = WebhookTarget(url: url)
        targets.withLock { $0.keep(target, for: url) }
        return target
    }

    private func pool(for target: WebhookTarget) -> ConnectionPool? {
        pools.withLock { state in
            if state.closed { return nil }
            if let pool = state.byOrigin[target.origin] { return pool }
            // Receivers come and go: past `maximumOrigins`, the pools with no connection
            // and no send waiting are forgotten.
            if state.byOrigin.count >= configuration.maximumOrigins {
                state.byOrigin = state.byOrigin.filter { !$0.value.isUnused }
            }
            let pool = ConnectionPool(
                target: target, limit: configuration.connectionsPerHost, tls: tls, group: group,
                connectTimeout: .milliseconds(configuration.timeout.wholeMilliseconds),
                idleTimeout: .milliseconds(configuration.idleTimeout.wholeMilliseconds))
            state.byOrigin[target.origin] = pool
            return pool
        }
    }
}

/// Where a webhook URL sends to: its origin (the pool's key), the `Host` header and the
/// request target (path and query, as written).
struct WebhookTarget: Sendable {
    let origin: DestinationOrigin
    let hostHeader: String
    let requestTarget: String
    /// The name TLS checks the certificate against (nil for an IP address, which it
    /// checks instead).
    let serverHostname: String?

    init?(url: String) {
        guard let origin = DestinationOrigin(url: url), let components = URLComponents(string: url) else {
            return nil
        }
        self.origin = origin
        let isIPv6 = origin.host.contains(":")
        let host = isIPv6 ? "[\(origin.host)]" : origin.host
        let defaultPort = origin.scheme == "https" ? 443 : 80
        hostHeader = origin.port == defaultPort ? host : "\(host):\(origin.port)"
        let path = components.percentEncodedPath
        var target = path.isEmpty ? "/" : path
        if let query = components.percentEncodedQuery { target += "?" + query }
        requestTarget = target
        serverHostname = (try? SocketAddress(ipAddress: origin.host, port: 0)) == nil ? origin.host : nil
    }
}
