import ReminderCore

/// Assembles replies from lines (RFC 5321 §4.2): `250-` continues a reply, `250 ` (or a
/// bare `250`) ends it. Bounded, so that a hostile or broken server cannot make the
/// client hold an endless reply; anything malformed is the transient `smtp_protocol`.
struct SMTPReplyParser {
    /// Far above RFC 5321's 512 octets, still a bound.
    static let maximumLineLength = 4_096
    static let maximumLineCount = 200

    private var code: Int?
    private var lines: [String] = []

    /// Takes one line without its line break; returns the reply it completes, if any.
    mutating func consume(_ line: some Collection<UInt8>) throws(DeliveryFailure) -> SMTPReply? {
        let bytes = Array(line)
        guard bytes.count <= Self.maximumLineLength else {
            throw .transient("smtp_protocol", "reply line longer than \(Self.maximumLineLength) bytes")
        }
        guard bytes.count >= 3, bytes[0...2].allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
            let lineCode = Int(String(decoding: bytes[0...2], as: UTF8.self)), (100...599).contains(lineCode)
        else {
            throw .transient("smtp_protocol", "reply line without a reply code")
        }
        if let code, code != lineCode {
            throw .transient("smtp_protocol", "multi-line reply changed its code from \(code) to \(lineCode)")
        }
        let separator = bytes.count > 3 ? bytes[3] : UInt8(ascii: " ")
        guard separator == UInt8(ascii: " ") || separator == UInt8(ascii: "-") else {
            throw .transient("smtp_protocol", "reply code \(lineCode) followed by neither space nor hyphen")
        }
        guard lines.count < Self.maximumLineCount else {
            throw .transient("smtp_protocol", "reply of more than \(Self.maximumLineCount) lines")
        }
        lines.append(bytes.count > 4 ? String(decoding: bytes[4...], as: UTF8.self) : "")
        if separator == UInt8(ascii: "-") {
            code = lineCode
            return nil
        }
        defer {
            code = nil
            lines = []
        }
        return SMTPReply(code: lineCode, lines: lines)
    }
}
