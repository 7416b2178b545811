/// The formats of the contract's contact fields, checked the same way as the
/// patterns of `schemas/reminder-event.v1.json`.
enum ContactFormats {
    /// `local@domain.tld`: one `@`, no whitespace, a dot in the domain.
    static func isEmailAddress(_ text: String) -> Bool {
        var localLength = 0
        var sawAt = false
        var dots = 0
        var labelLength = 0
        for scalar in text.unicodeScalars {
            if isWhitespace(scalar) { return false }
            if scalar == "@" {
                guard !sawAt, localLength > 0 else { return false }
                sawAt = true
            } else if !sawAt {
                localLength += 1
            } else if scalar == "." {
                guard labelLength > 0 else { return false }
                dots += 1
                labelLength = 0
            } else {
                labelLength += 1
            }
        }
        return sawAt && dots > 0 && labelLength > 0
    }

    /// `+` and 2 to 15 digits, the first not 0.
    static func isE164(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count >= 3, bytes.count <= 16, bytes[0] == UInt8(ascii: "+"), bytes[1] != UInt8(ascii: "0")
        else { return false }
        return bytes.dropFirst().allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }

    /// `https://host[:port][/path?query#fragment]` without whitespace.
    static func isHTTPSURL(_ text: String) -> Bool {
        guard text.hasPrefix("https://"), !text.unicodeScalars.contains(where: isWhitespace) else { return false }
        let rest = text.utf8.dropFirst("https://".count)
        let host = rest.prefix { $0 != UInt8(ascii: "/") && $0 != UInt8(ascii: "?") && $0 != UInt8(ascii: "#") }
        return !host.isEmpty && host.first != UInt8(ascii: ":") && !host.contains(UInt8(ascii: "@"))
    }

    /// `https://host[:port][/path?query#fragment]` or `mailto:local@domain[?query]`, of
    /// printable ASCII without `<`, `>` or `"`: what can stand between the angle brackets
    /// of a `List-Unsubscribe` header. The schema's pattern says the same.
    static func isUnsubscribeURL(_ text: String) -> Bool {
        guard text.utf8.allSatisfy(isURLByte) else { return false }
        if text.hasPrefix("https://") {
            let rest = text.utf8.dropFirst("https://".count)
            let host = rest.prefix { $0 != UInt8(ascii: "/") && $0 != UInt8(ascii: "?") && $0 != UInt8(ascii: "#") }
            return !host.isEmpty && host.first != UInt8(ascii: ":") && !host.contains(UInt8(ascii: "@"))
        }
        if text.hasPrefix("mailto:") {
            let rest = text.utf8.dropFirst("mailto:".count)
            let address = rest.prefix { $0 != UInt8(ascii: "?") }
            let parts = address.split(separator: UInt8(ascii: "@"), omittingEmptySubsequences: false)
            return parts.count == 2 && !parts[0].isEmpty && !parts[1].isEmpty
        }
        return false
    }

    /// Printable ASCII except space, `"`, `<` and `>`.
    private static func isURLByte(_ byte: UInt8) -> Bool {
        (0x21...0x7E).contains(byte) && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "<")
            && byte != UInt8(ascii: ">")
    }

    /// White space and control characters; ASCII without a property lookup.
    private static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII { return scalar.value <= 0x20 || scalar.value == 0x7F }
        return scalar.properties.isWhitespace
    }
}
