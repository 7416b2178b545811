import Glibc
import NIOCore
import ServiceLifecycle

/// The HTTP server as a service of the group. When it cannot listen (the port is taken,
/// the address is not this machine's) start-up stops with an error that names the
/// settings to change, not only the system call that failed.
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

    public func run() async throws {
        do {
            try await application.run()
        } catch let error as IOError where [EADDRINUSE, EADDRNOTAVAIL, EACCES].contains(error.errnoCode) {
            throw CannotListen(host: host, port: port, underlying: error)
        }
    }
}
