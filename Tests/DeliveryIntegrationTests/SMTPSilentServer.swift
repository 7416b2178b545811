import NIOCore
import NIOPosix
import Synchronization

/// A loopback listener that accepts connections, counts them and never says a word: the
/// server a send must give up on at its timeout, and the witness that a refused message
/// never connected at all.
final class SMTPSilentServer: Sendable {
    private let channel: any Channel
    private let accepted: Counter

    final class Counter: Sendable {
        let value = Mutex(0)
    }

    var port: Int { channel.localAddress?.port ?? 0 }
    var connections: Int { accepted.value.withLock { $0 } }

    init() async throws {
        let accepted = Counter()
        self.accepted = accepted
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                accepted.value.withLock { $0 += 1 }
                return child.eventLoop.makeSucceededVoidFuture()
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    func close() async throws {
        try await channel.close()
    }
}
