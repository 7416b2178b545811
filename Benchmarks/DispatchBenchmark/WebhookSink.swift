import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import ReminderCore
import Synchronization

/// The benchmark's webhook receiver: an HTTPS server on loopback that answers 200 to
/// every POST and notes, per reminder, when it arrived and when it was due.
final class WebhookSink: Sendable {
    struct Arrival: Sendable {
        let reminderID: String
        /// Seconds since 1970.
        let arrivedAt: Double
        let dueAt: Double
    }

    private let log = ArrivalLog()
    private let channel: any NIOCore.Channel
    let port: Int

    init(certificateFile: String, keyFile: String) async throws {
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
                    try channel.pipeline.syncOperations.addHandler(SinkHandler(log: log))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        port = channel.localAddress?.port ?? 0
    }

    var count: Int { log.arrivals.withLock { $0.count } }

    /// Takes every arrival so far, leaving none.
    func drain() -> [Arrival] {
        log.arrivals.withLock { arrivals in
            defer { arrivals.removeAll(keepingCapacity: true) }
            return arrivals
        }
    }

    func close() async {
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
    private var body = ByteBuffer()
    private var keepAlive = true

    init(log: ArrivalLog) {
        self.log = log
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            body.clear()
            keepAlive = head.isKeepAlive
        case .body(var chunk):
            body.writeBuffer(&chunk)
        case .end:
            let arrivedAt = Date().timeIntervalSince1970
            if let value = try? JSONParser.parse(Array(body.readableBytesView)),
                case .string(let reminderID)? = value["reminder_id"], case .string(let due)? = value["due_at"],
                let dueAt = RFC3339.parse(due)
            {
                let arrival = WebhookSink.Arrival(
                    reminderID: reminderID, arrivedAt: arrivedAt,
                    dueAt: Double(dueAt.microsecondsSinceEpoch) / 1_000_000)
                log.arrivals.withLock { $0.append(arrival) }
            }
            var headers = HTTPHeaders()
            headers.add(name: "Content-Length", value: "2")
            headers.add(name: "Content-Type", value: "application/json")
            context.write(
                wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil
            )
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: "{}")))), promise: nil)
            if keepAlive {
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            } else {
                context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in context.close(promise: nil) }
            }
        }
    }
}
