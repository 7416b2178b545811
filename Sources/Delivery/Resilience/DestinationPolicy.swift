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
        guard var host = url.host?.lowercased(), !host.isEmpty else { return "the URL has no host" }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        // `localhost.` is `localhost`.
        while host.hasSuffix(".") { host.removeLast() }
        if host == "localhost" || host.hasSuffix(".localhost") {
            return allowLoopback ? nil : "the URL points at a loopback host"
        }
        if host.contains(":") { return refusal(ipv6: host) }
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        // A host of numbers only is an address, whatever its spelling: resolvers read
        // `2130706433`, `127.1` and `0x7f.0.0.1` as 127.0.0.1. Only four decimal octets
        // are judged; any other numeric spelling is refused.
        if labels.allSatisfy({ $0.first?.isNumber == true && $0.allSatisfy(\.isHexDigitOrX) }) {
            guard let octets = Self.ipv4(labels) else { return "the URL's address is not in dotted-decimal form" }
            return refusal(ipv4: octets)
        }
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
        // Addresses that carry an IPv4 address are judged by it: IPv4-mapped
        // (::ffff:0:0/96), IPv4-compatible (::/96), NAT64 (64:ff9b::/96) and 6to4 (2002::/16).
        let mapped = bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xff && bytes[11] == 0xff
        let compatible = bytes[0..<12].allSatisfy({ $0 == 0 })
        let nat64 = bytes[0..<4] == [0x00, 0x64, 0xff, 0x9b] && bytes[4..<12].allSatisfy({ $0 == 0 })
        if mapped || compatible || nat64 { return refusal(ipv4: Array(bytes[12..<16])) }
        if bytes[0] == 0x20 && bytes[1] == 0x02 { return refusal(ipv4: Array(bytes[2..<6])) }
        if bytes[0] == 0xfe && (bytes[1] & 0xc0) == 0x80 { return "the URL points at a link-local address" }
        if (bytes[0] & 0xfe) == 0xfc { return allowPrivate ? nil : "the URL points at a private address" }
        if bytes[0] == 0xff { return "the URL points at a multicast address" }
        return nil
    }

    /// Four decimal octets without leading zeros, or nil.
    private static func ipv4(_ labels: [Substring]) -> [UInt8]? {
        guard labels.count == 4 else { return nil }
        var octets: [UInt8] = []
        for label in labels {
            guard label.count <= 3, label.allSatisfy(\.isASCIIDigit), label == "0" || label.first != "0",
                let value = UInt8(label)
            else { return nil }
            octets.append(value)
        }
        return octets
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
    fileprivate var isHexDigitOrX: Bool { isHexDigit || self == "x" }
}
