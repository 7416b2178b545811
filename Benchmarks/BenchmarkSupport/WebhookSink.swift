import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import ReminderCore
import Synchronization

/// The benchmarks' and the chaos suite's receiver: an HTTPS server on loopback that
/// answers each POST as `behaviour` says (200 by default) and notes every request: the
/// reminder (from a webhook's JSON body, else the idempotency header), its idempotency
/// key and occurrence, when it arrived and was due, and what it was answered.
public final class WebhookSink: Sendable {
    /// How to answer one request.
    public enum Answer: Sendable, Equatable {
        case ok
        case status(Int, retryAfterSeconds: Int?)
        /// Read the request and never answer (the sender times out).
        case hang
        /// Answer as the inner answer says, after a while: a send that stays in flight.
        indirect case after(milliseconds: Int, Answer)

        /// Whether the receiver took the request (answered 200).
        public var accepted: Bool {
            switch self {
            case .ok: true
            case .status, .hang: false
            case .after(_, let answer): answer.accepted
            }
        }
    }

    public struct Arrival: Sendable {
        public let path: String
        /// The reminder: the webhook body's `reminder_id`, else the request's idempotency
        /// header (`Idempotency-Key`, `I-Twilio-Idempotency-Token`).
        public let reminderID: String
        /// Seconds since 1970.
        public let arrivedAt: Double
        /// The webhook body's `due_at` in seconds since 1970; 0 when the body has none.
        public let dueAt: Double
        /// The request's idempotency header as sent (`<reminder_id>#<occurrence>` for a
        /// recurring reminder); empty when it has none.
        public let idempotencyKey: String
        /// The webhook body's `occurrence` (a recurring reminder's); nil when it has none.
        public let occurrence: Int?
        public let answer: Answer
    }

    /// Decides the answer from the path and the reminder.
    public typealias Behaviour = @Sendable (_ path: String, _ reminderID: String) -> Answer

    private let log = ArrivalLog()
    private let channel: any NIOCore.Channel
    public let port: Int

    public init(certificateFile: String, keyFile: String, behaviour: @escaping Behaviour = { _, _ in .ok })
        async throws
    {
        let context = try NIOSSLContext(
            configuration: .makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile(certificateFile).map { .certificate($0) },
                privateKey: .file(keyFile)))
        let log = self.log
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(SinkHandler(log: log, behaviour: behaviour))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        port = channel.localAddress?.port ?? 0
    }

    /// Requests so far.
    public var count: Int { log.arrivals.withLock { $0.count } }

    /// Every arrival so far, in order.
    public var arrivals: [Arrival] { log.arrivals.withLock { $0 } }

    /// Takes every arrival so far, leaving none.
    public func drain() -> [Arrival] {
        log.arrivals.withLock { arrivals in
            defer { arrivals.removeAll(keepingCapacity: true) }
            return arrivals
        }
    }

    public func close() async {
        try? await channel.close()
    }
}

/// What the connections' handlers append to.
private final class ArrivalLog: Sendable {
    let arrivals = Mutex<[WebhookSink.Arrival]>([])
}

private final class SinkHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let log: ArrivalLog
    private let behaviour: WebhookSink.Behaviour
    private var head: HTTPRequestHead?
    private var body = ByteBuffer()

    init(log: ArrivalLog, behaviour: @escaping WebhookSink.Behaviour) {
        self.log = log
        self.behaviour = behaviour
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            body.clear()
            self.head = head
        case .body(var chunk):
            body.writeBuffer(&chunk)
        case .end:
            guard let head else { return }
            let arrivedAt = Date().timeIntervalSince1970
            let idempotencyKey =
                head.headers.first(name: "Idempotency-Key") ?? head.headers.first(name: "I-Twilio-Idempotency-Token")
                ?? ""
            var reminderID = idempotencyKey
            var dueAt = 0.0
            var occurrence: Int?
            if let value = try? JSONParser.parse(Array(body.readableBytesView)) {
                if case .string(let id)? = value["reminder_id"] { reminderID = id }
                if case .string(let due)? = value["due_at"], let instant = RFC3339.parse(due) {
                    dueAt = Double(instant.microsecondsSinceEpoch) / 1_000_000
                }
                if case .number(let number)? = value["occurrence"] { occurrence = Int(number) }
            }
            let path = String(head.uri.prefix { $0 != "?" })
            let answer = behaviour(path, reminderID)
            log.arrivals.withLock {
                $0.append(
                    WebhookSink.Arrival(
                        path: path, reminderID: reminderID, arrivedAt: arrivedAt, dueAt: dueAt,
                        idempotencyKey: idempotencyKey, occurrence: occurrence, answer: answer))
            }
            respond(answer, keepAlive: head.isKeepAlive, context: context)
        }
    }

    private func respond(_ answer: WebhookSink.Answer, keepAlive: Bool, context: ChannelHandlerContext) {
        let status: HTTPResponseStatus
        var headers = HTTPHeaders()
        switch answer {
        case .hang:
            return
        case .after(let milliseconds, let inner):
            context.eventLoop.scheduleTask(in: .milliseconds(Int64(milliseconds))) {
                self.respond(inner, keepAlive: keepAlive, context: context)
            }
            return
        case .ok:
            status = .ok
        case .status(let code, let retryAfter):
            status = HTTPResponseStatus(statusCode: code)
            if let retryAfter { headers.add(name: "Retry-After", value: String(retryAfter)) }
        }
        headers.add(name: "Content-Length", value: "2")
        headers.add(name: "Content-Type", value: "application/json")
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: "{}")))), promise: nil)
        if keepAlive {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        } else {
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in context.close(promise: nil) }
        }
    }
}
