import NIOCore
import NIOSSL
import ReminderCore

/// Performs an `SMTPSession`'s actions on one connection and completes `outcome` exactly
/// once: with the session's result, with the cause of a connection that ended first, or
/// with `timeout` when the send's deadline passes.
final class SMTPClientHandler: ChannelInboundHandler {
    typealias InboundIn = SMTPReply
    typealias OutboundOut = ByteBuffer

    /// TLS for STARTTLS: the context, and the name the certificate must carry (nil for
    /// an IP address, which is checked against the certificate's addresses instead).
    struct TLS: Sendable {
        var context: NIOSSLContext
        var serverHostname: String?
    }

    private var session: SMTPSession
    private let tls: TLS?
    private let deadline: NIODeadline
    private let outcome: EventLoopPromise<DeliveryReceipt>
    private var deadlineTask: Scheduled<Void>?
    private var completed = false
    /// Whether the connection was ever made: a connection attempt that fails removes the
    /// handler too, and the connect error (refused, unreachable) is then the better answer.
    private var connected = false

    init(session: SMTPSession, tls: TLS?, deadline: NIODeadline, outcome: EventLoopPromise<DeliveryReceipt>) {
        self.session = session
        self.tls = tls
        self.deadline = deadline
        self.outcome = outcome
    }

    func handlerAdded(context: ChannelHandlerContext) {
        deadlineTask = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            end(.failure(.transient("timeout", "the SMTP exchange did not finish in time")), context: context)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadlineTask?.cancel()
        // Never connected: the connect future's failure reports it (`SMTPProvider`).
        if !completed && connected {
            complete(.failure(.transient("connection", "the SMTP connection was torn down")))
        }
    }

    func channelActive(context: ChannelHandlerContext) {
        connected = true
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let reply = unwrapInboundIn(data)
        perform(session.receive(reply), after: reply, context: context)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        end(.failure(SMTPTransportFailure.classify(error)), context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        end(.failure(.transient("connection", "the SMTP server closed the connection")), context: context)
        context.fireChannelInactive()
    }

    private func perform(_ action: SMTPSession.Action, after reply: SMTPReply, context: ChannelHandlerContext) {
        switch action {
        case .send(let command):
            write(Array((command + "\r\n").utf8), context: context)
        case .startTLS(let command):
            guard let tls else {
                end(.failure(.transient("tls", "STARTTLS without a TLS configuration")), context: context)
                return
            }
            // Bytes behind the go-ahead came in clear: reading them after the handshake
            // would let a man in the middle answer for the server (CVE-2011-0411).
            guard !reply.followedByMoreBytes else {
                end(.failure(.transient("smtp_protocol", "data pipelined behind the STARTTLS reply")), context: context)
                return
            }
            do {
                let handler = try NIOSSLClientHandler(context: tls.context, serverHostname: tls.serverHostname)
                try context.pipeline.syncOperations.addHandler(handler, position: .first)
            } catch {
                end(.failure(SMTPTransportFailure.classify(error)), context: context)
                return
            }
            // TLS holds the command back until its handshake is done.
            write(Array((command + "\r\n").utf8), context: context)
        case .sendData(let bytes):
            write(bytes, context: context)
        case .finish(let result):
            end(result, context: context)
        }
    }

    private func write(_ bytes: [UInt8], context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes)), promise: nil)
    }

    /// Ends the send with `result`, unless the session decided its outcome already (a
    /// server closing after it accepted the message has still accepted it).
    private func end(_ result: Result<DeliveryReceipt, DeliveryFailure>, context: ChannelHandlerContext) {
        guard !completed else { return }
        complete(session.end(with: result))
        context.close(promise: nil)
    }

    private func complete(_ result: Result<DeliveryReceipt, DeliveryFailure>) {
        completed = true
        deadlineTask?.cancel()
        switch result {
        case .success(let receipt): outcome.succeed(receipt)
        case .failure(let failure): outcome.fail(failure)
        }
    }
}
