import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import ReminderCore
import Synchronization

/// One webhook request from its send to its end. Whichever comes first decides it, once:
/// the answer, the connection's end, or its abandonment (time limit, cancellation,
/// shutdown). Abandoned while it waits for a connection, it fails at once; abandoned on a
/// connection, it ends there at once (with the answer so far when the answer's head had
/// come) and the connection is closed.
final class Exchange: Sendable {
    typealias Outcome = Result<HTTPTransport.Answer, DeliveryFailure>

    enum Abandonment: Sendable {
        case timedOut, cancelled, shutDown

        var failure: DeliveryFailure {
            switch self {
            case .timedOut: .transient("timeout", "no answer in time")
            case .cancelled: .cancelled
            case .shutDown: .transient("connection", "no answer: the client was shut down")
            }
        }
    }

    private struct State {
        var continuation: CheckedContinuation<Outcome, Never>?
        /// Decided before the sender waited for it.
        var early: Outcome?
        var decided = false
        var abandonment: Abandonment?
        /// The connection it is being sent on.
        var connection: PooledConnection?
    }

    let head: HTTPRequestHead
    let body: [UInt8]
    private let state = Mutex(State())

    init(head: HTTPRequestHead, body: [UInt8]) {
        self.head = head
        self.body = body
    }

    /// The sender waits for the outcome.
    func await(_ continuation: CheckedContinuation<Outcome, Never>) {
        let early = state.withLock { state in
            if state.early == nil { state.continuation = continuation }
            return state.early
        }
        if let early { continuation.resume(returning: early) }
    }

    var isDecided: Bool { state.withLock { $0.decided || $0.abandonment != nil } }

    /// Decides it, unless it is decided already.
    func finish(_ outcome: Outcome) {
        let continuation = state.withLock { state -> CheckedContinuation<Outcome, Never>? in
            guard !state.decided else { return nil }
            state.decided = true
            state.connection = nil
            guard let continuation = state.continuation else {
                state.early = outcome
                return nil
            }
            state.continuation = nil
            return continuation
        }
        continuation?.resume(returning: outcome)
    }

    /// Gives it up: failed now if it waits for a connection, ended on its connection if it
    /// has one.
    func abandon(_ reason: Abandonment) {
        let (connection, failNow) = state.withLock { state -> (PooledConnection?, Bool) in
            guard !state.decided, state.abandonment == nil else { return (nil, false) }
            state.abandonment = reason
            return (state.connection, state.connection == nil)
        }
        if failNow { finish(.failure(reason.failure)) }
        connection?.abandon(self)
    }

    /// Takes `connection` for the request; false when it was decided or abandoned meanwhile.
    func attach(_ connection: PooledConnection) -> Bool {
        state.withLock { state in
            guard !state.decided, state.abandonment == nil else { return false }
            state.connection = connection
            return true
        }
    }

    /// What its connection's end without an answer means: why it was abandoned, or what
    /// the connection failed with.
    func failure(closedWith error: (any Error)?) -> DeliveryFailure {
        if let abandonment = state.withLock({ $0.abandonment }) { return abandonment.failure }
        return Self.failure(connecting: error)
    }

    static func failure(connecting error: (any Error)?) -> DeliveryFailure {
        guard let error else { return .transient("connection", "no answer: the connection closed") }
        // A receiver that drops the connection without TLS's close_notify: a connection
        // failure like any other, not the handshake's.
        if let error = error as? NIOSSLError, case .uncleanShutdown = error {
            return .transient("connection", "no answer: the connection closed")
        }
        if HTTPTransport.isTLSFailure(error) { return .transient("tls", "TLS handshake failed") }
        if let error = error as? ChannelError, case .connectTimeout = error {
            return .transient("timeout", "no answer in time")
        }
        return .transient("connection", "no answer: \(type(of: error))")
    }
}

/// The connections to one origin: at most `limit`, idle ones reused last-in first-out,
/// exchanges beyond them waiting in order.
final class ConnectionPool: Sendable {
    private struct State {
        var idle: [PooledConnection] = []
        /// Connections open or being opened.
        var open = 0
        var waiting: [Exchange] = []
        var closed = false

        /// The first waiting exchange not given up yet, taken off the queue (those given
        /// up before it are dropped).
        mutating func takeWaiting() -> Exchange? {
            while !waiting.isEmpty {
                let exchange = waiting.removeFirst()
                if !exchange.isDecided { return exchange }
            }
            return nil
        }
    }

    let target: WebhookTarget
    let limit: Int
    private let tls: NIOSSLContext
    private let group: any EventLoopGroup
    private let connectTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    private let state = Mutex(State())

    init(
        target: WebhookTarget, limit: Int, tls: NIOSSLContext, group: any EventLoopGroup, connectTimeout: TimeAmount,
        idleTimeout: TimeAmount
    ) {
        self.target = target
        self.limit = max(1, limit)
        self.tls = tls
        self.group = group
        self.connectTimeout = connectTimeout
        self.idleTimeout = idleTimeout
    }

    /// Connections open or being opened, idle ones, and exchanges waiting for one.
    var counts: (open: Int, idle: Int, waiting: Int) {
        state.withLock { ($0.open, $0.idle.count, $0.waiting.count) }
    }

    /// No connection and no exchange waiting.
    var isUnused: Bool { state.withLock { $0.open == 0 && $0.waiting.isEmpty } }

    func enqueue(_ exchange: Exchange) {
        enum Next { case run(PooledConnection), connect, wait, shutDown }
        let next = state.withLock { state -> Next in
            if state.closed { return .shutDown }
            // One its server closed is counted off when its close is handled.
            while let connection = state.idle.popLast() {
                if connection.channel.isActive { return .run(connection) }
            }
            if state.open < limit {
                state.open += 1
                return .connect
            }
            state.waiting.append(exchange)
            return .wait
        }
        switch next {
        case .run(let connection): connection.run(exchange)
        case .connect: connect(for: exchange)
        case .wait: break
        case .shutDown: exchange.abandon(.shutDown)
        }
    }

    /// Opens a connection (counted in `open` already) and sends `exchange` on it.
    private func connect(for exchange: Exchange) {
        let handler = WebhookConnectionHandler(pool: self)
        let tls = self.tls
        let serverHostname = target.serverHostname
        let secure = target.origin.scheme == "https"
        let idleTimeout = self.idleTimeout
        ClientBootstrap(group: group)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if secure {
                        try pipeline.addHandler(NIOSSLClientHandler(context: tls, serverHostname: serverHostname))
                    }
                    try pipeline.addHTTPClientHandlers()
                    try pipeline.addHandler(IdleStateHandler(allTimeout: idleTimeout))
                    try pipeline.addHandler(handler)
                }
            }
            .connect(host: target.origin.host, port: target.origin.port)
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    PooledConnection(channel: channel, handler: handler).run(exchange)
                case .failure(let error):
                    exchange.finish(.failure(Exchange.failure(connecting: error)))
                    self.lost()
                }
            }
    }

    /// A connection finished its exchange and takes the next waiting one, or waits idle.
    func released(_ connection: PooledConnection) {
        enum Next { case run(Exchange), idle, close }
        let next = state.withLock { state -> Next in
            if let exchange = state.takeWaiting() { return .run(exchange) }
            if state.closed { return .close }
            state.idle.append(connection)
            return .idle
        }
        switch next {
        case .run(let exchange): connection.run(exchange)
        case .idle: break
        case .close: connection.channel.close(promise: nil)
        }
    }

    /// A connection closed (or never opened): a waiting exchange may open another.
    func lost(_ connection: PooledConnection? = nil) {
        let next = state.withLock { state -> Exchange? in
            if let connection { state.idle.removeAll { $0.channel === connection.channel } }
            state.open -= 1
            guard !state.closed, let exchange = state.takeWaiting() else { return nil }
            state.open += 1
            return exchange
        }
        if let next { connect(for: next) }
    }

    /// Closes the idle connections and fails the waiting exchanges; busy connections close
    /// once their exchange ends.
    func shutdown() {
        let (idle, waiting) = state.withLock { state in
            state.closed = true
            defer {
                state.idle = []
                state.waiting = []
            }
            return (state.idle, state.waiting)
        }
        for connection in idle { connection.channel.close(promise: nil) }
        for exchange in waiting { exchange.abandon(.shutDown) }
    }
}

/// A connection of a pool: its channel and the handler that sends on it.
struct PooledConnection: Sendable {
    let channel: any NIOCore.Channel
    let handler: WebhookConnectionHandler

    /// Sends `exchange` on this connection (on its event loop).
    func run(_ exchange: Exchange) {
        if channel.eventLoop.inEventLoop {
            handler.begin(exchange, on: self)
        } else {
            channel.eventLoop.execute { [self] in handler.begin(exchange, on: self) }
        }
    }

    /// Ends `exchange` here now, if it is still this connection's, and closes it.
    func abandon(_ exchange: Exchange) {
        channel.eventLoop.execute { [self] in handler.abandon(exchange) }
    }
}

/// Writes an exchange's request and reads its answer, one exchange at a time.
/// `@unchecked Sendable`: its state is only touched on its channel's event loop.
final class WebhookConnectionHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private let pool: ConnectionPool
    private var context: ChannelHandlerContext?
    private var connection: PooledConnection?
    private var exchange: Exchange?
    private var head: HTTPResponseHead?
    private var body: [UInt8] = []
    private var lastError: (any Error)?

    init(pool: ConnectionPool) {
        self.pool = pool
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func begin(_ exchange: Exchange, on connection: PooledConnection) {
        self.connection = connection
        guard let context, context.channel.isActive else {
            // Its server closed it while it was idle: another connection takes the exchange.
            pool.enqueue(exchange)
            return
        }
        guard exchange.attach(connection) else {
            // Given up while it waited for this connection.
            pool.released(connection)
            return
        }
        self.exchange = exchange
        head = nil
        body = []
        context.write(wrapOutboundOut(.head(exchange.head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: exchange.body)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    private var answerSoFar: HTTPTransport.Answer? {
        head.map { HTTPTransport.Answer(status: Int($0.status.code), headers: $0.headers, body: body) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let exchange else {
            // Nothing was asked.
            context.close(promise: nil)
            return
        }
        switch unwrapInboundIn(data) {
        case .head(let head):
            // An interim answer (100 Continue and the like); the final one follows.
            if (100..<200).contains(head.status.code) { return }
            self.head = head
        case .body(let part):
            let room = HTTPTransport.maximumBodyBytes - body.count
            if room > 0 { body.append(contentsOf: part.readableBytesView.prefix(room)) }
        case .end:
            guard let answer = answerSoFar, let head else { return }
            self.exchange = nil
            self.head = nil
            body = []
            // Back to the pool before the sender hears: its next send finds it idle.
            if head.isKeepAlive && context.channel.isActive, let connection {
                pool.released(connection)
            } else {
                context.close(promise: nil)
            }
            exchange.finish(.success(answer))
        }
    }

    func abandon(_ exchange: Exchange) {
        guard let context, self.exchange === exchange else { return }
        self.exchange = nil
        exchange.finish(answerSoFar.map { .success($0) } ?? .failure(exchange.failure(closedWith: nil)))
        context.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        lastError = error
        context.close(promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // Idle for `idleTimeout`: closed, unless an exchange is on it (its limit decides).
        if event is IdleStateHandler.IdleStateEvent, exchange == nil {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let exchange {
            self.exchange = nil
            exchange.finish(answerSoFar.map { .success($0) } ?? .failure(exchange.failure(closedWith: lastError)))
        }
        if let connection { pool.lost(connection) } else { pool.lost() }
        context.fireChannelInactive()
    }
}
