import Foundation

/// Where a webhook goes, as far as its health is concerned: scheme, host and port, the
/// scheme and host in lower case, a trailing dot dropped and the scheme's default port
/// filled in, so that `HTTPS://Hooks.Example.com./a` and `https://hooks.example.com:443/b`
/// share one circuit. Path, query and user information are left out: a path may hold a
/// secret, an origin does not, so an origin may be logged.
public struct DestinationOrigin: Sendable, Hashable, CustomStringConvertible {
    /// `http` or `https`.
    public let scheme: String
    /// In lower case, without brackets for an IPv6 address.
    public let host: String
    public let port: Int

    /// The origin of `url`, or nil when it has no http(s) scheme or no host (such a URL
    /// is refused by the provider anyway, and says nothing about any receiver's health).
    public init?(url text: String) {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased() else { return nil }
        let defaultPort: Int
        switch scheme {
        case "https": defaultPort = 443
        case "http": defaultPort = 80
        default: return nil
        }
        guard var host = url.host?.lowercased() else { return nil }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        while host.hasSuffix(".") { host.removeLast() }
        guard !host.isEmpty else { return nil }
        guard let port = url.port ?? Optional(defaultPort), (1...65_535).contains(port) else { return nil }
        self.scheme = scheme
        self.host = host
        self.port = port
    }

    /// `scheme://host:port`, the port always written.
    public var description: String {
        host.contains(":") ? "\(scheme)://[\(host)]:\(port)" : "\(scheme)://\(host):\(port)"
    }
}
