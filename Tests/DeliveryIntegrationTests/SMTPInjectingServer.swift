import NIOCore
import NIOPosix

/// A loopback SMTP server that cheats at STARTTLS: it sends a forged reply right behind
/// its go-ahead, in clear, as a man in the middle would (CVE-2011-0411).
final class SMTPInjectingServer: Sendable {
    private let channel: any NIOCore.Channel

    var port: Int { channel.localAddress?.port ?? 0 }

    init() async throws {
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(Dialogue())
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    func close() async throws {
        try await channel.close()
    }

    private final class Dialogue: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        private var received = ""

        func channelActive(context: ChannelHandlerContext) {
            say("220 injector.test ESMTP\r\n", context: context)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            received += String(buffer: unwrapInboundIn(data))
            while let end = received.range(of: "\r\n") {
                let line = received[..<end.lowerBound].uppercased()
                received.removeSubrange(..<end.upperBound)
                if line.hasPrefix("EHLO") {
                    say("250-injector.test\r\n250 STARTTLS\r\n", context: context)
                } else if line == "STARTTLS" {
                    say("220 2.0.0 go ahead\r\n250-injected\r\n250 AUTH PLAIN\r\n", context: context)
                } else {
                    say("500 5.5.1 unexpected\r\n", context: context)
                }
            }
        }

        private func say(_ text: String, context: ChannelHandlerContext) {
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: text)), promise: nil)
        }
    }
}
