import Foundation

/// Which hosts a URL taken from an event (a webhook) may point at. An event must not be
/// able to make the service call into its own network: loopback, private, link-local
/// (cloud metadata) and unspecified addresses are refused unless the configuration
/// allows them (the tests allow loopback). Host names are checked by name (`localhost`
/// and `*.localhost`), not resolved: a name that resolves into a private network is
/// stopped by the network's egress rules, not here.
public struct DestinationPolicy: Sendable, Equatable {
    public var allowLoopback: Bool
    public var allowPrivate: Bool

    public init(allowLoopback: Bool = false, allowPrivate: Bool = false) {
        self.allowLoopback = allowLoopback
        self.allowPrivate = allowPrivate
    }

    /// Why `url` may not be called, or nil when it may.
    public func refusal(for url: URL) -> String? {
        guard url.scheme?.lowercased() == "https" else { return "the URL is not https" }
        guard let host = url.host?.lowercased(), !host.isEmpty else { return "the URL has no host" }
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if bare == "localhost" || bare.hasSuffix(".localhost") {
            return allowLoopback ? nil : "the URL points at a loopback host"
        }
        if let octets = Self.ipv4(bare) { return refusal(ipv4: octets) }
        if bare.contains(":") { return refusal(ipv6: bare) }
        return nil
    }

    private func refusal(ipv4 o: [UInt8]) -> String? {
        if o[0] == 127 { return allowLoopback ? nil : "the URL points at a loopback address" }
        if o[0] == 0 { return "the URL points at an unspecified address" }
        if o[0] == 169 && o[1] == 254 { return "the URL points at a link-local address" }
        let isPrivate =
            o[0] == 10 || (o[0] == 172 && (16...31).contains(o[1])) || (o[0] == 192 && o[1] == 168)
            || (o[0] == 100 && (64...127).contains(o[1]))
        if isPrivate { return allowPrivate ? nil : "the URL points at a private address" }
        if o[0] >= 224 { return "the URL points at a multicast or reserved address" }
        return nil
    }

    private func refusal(ipv6 text: String) -> String? {
        var address = in6_addr()
        guard inet_pton(AF_INET6, text, &address) == 1 else { return "the URL's address cannot be read" }
        let bytes = withUnsafeBytes(of: &address) { Array($0) }
        if bytes[0..<15].allSatisfy({ $0 == 0 }) {
            if bytes[15] == 1 { return allowLoopback ? nil : "the URL points at a loopback address" }
            if bytes[15] == 0 { return "the URL points at an unspecified address" }
        }
        // An IPv4-mapped address is judged as the IPv4 address it carries.
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xff && bytes[11] == 0xff {
            return refusal(ipv4: Array(bytes[12..<16]))
        }
        if bytes[0] == 0xfe && (bytes[1] & 0xc0) == 0x80 { return "the URL points at a link-local address" }
        if (bytes[0] & 0xfe) == 0xfc { return allowPrivate ? nil : "the URL points at a private address" }
        if bytes[0] == 0xff { return "the URL points at a multicast address" }
        return nil
    }

    private static func ipv4(_ text: String) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var octets: [UInt8] = []
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy(\.isASCII), let value = UInt8(part) else {
                return nil
            }
            octets.append(value)
        }
        return octets
    }
}
