/// Lower-case hexadecimal text of bytes (ids, signatures, escapes), without Foundation's
/// formatting, which costs microseconds per byte on Linux.
public enum HexEncoding {
    /// The digits, `0`–`9` then `a`–`f`, as UTF-8 bytes.
    public static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Inlinable, so that a caller's byte sequence (a digest, a buffer) is read directly
    /// rather than through its protocol's witnesses for every byte.
    @inlinable
    public static func string(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Self.digits
        var text: [UInt8] = []
        text.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
