import Foundation

/// A loopback TCP port held by a socket that is bound but does not listen: connecting
/// to it is refused, and no other server can take it while this lives. (A port found
/// free and released again can be taken by a server of a test running beside.)
public final class ReservedPort: @unchecked Sendable {
    public let port: Int
    private let socket: Int32

    public init() throws {
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw POSIXError(.EMFILE) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let socket = self.socket
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0
            }
        }
        guard bound else {
            close(socket)
            throw POSIXError(.EADDRINUSE)
        }
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    /// Listens on the port (connections then wait in the backlog, never accepted): a
    /// port another server can certainly not take.
    public func listen() throws {
        guard Glibc.listen(socket, 1) == 0 else { throw POSIXError(.EADDRINUSE) }
    }

    deinit {
        close(socket)
    }
}
