import Glibc
import NIOCore
import ServiceLifecycle

/// The HTTP server as a service of the group. When it cannot listen (the port is taken,
/// the address is not this machine's) start-up stops with an error that names the
/// settings to change, not only the system call that failed. `waitUntilListening` lets
/// the rest of the process start only once the server has its port.
public struct HTTPServer: Service {
    public struct CannotListen: Error, CustomStringConvertible {
        let host: String
        let port: Int
        let underlying: any Error

        public var description: String {
            "HTTP_HOST/HTTP_PORT: cannot listen on \(host):\(port) (\(underlying)); choose another port, "
                + "or HTTP_ENABLED=false"
        }
    }

    let application: any Service
    let host: String
    let port: Int
    /// Gets one value when the server listens (the application's `onServerRunning`).
    let listening: AsyncStream<Void>

    /// True once the server listens; false when the task is cancelled (the server could
    /// not listen and the group is ending) or graceful shutdown comes first.
    public func waitUntilListening() async -> Bool {
        let listened = await cancelWhenGracefulShutdown {
            for await _ in listening { return true }
            return false
        }
        return listened && !Task.isCancelled
    }

    public func run() async throws {
        do {
            try await application.run()
        } catch let error as IOError where [EADDRINUSE, EADDRNOTAVAIL, EACCES].contains(error.errnoCode) {
            throw CannotListen(host: host, port: port, underlying: error)
        }
    }
}
