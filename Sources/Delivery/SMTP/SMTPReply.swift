/// A server's complete reply: one code and the text of every line (`250-…` continuation
/// lines and the final `250 …`).
struct SMTPReply: Sendable, Equatable {
    var code: Int
    /// The text after the code of each line. The server's free text may echo the
    /// recipient's address: it is read for capabilities and never reported or logged.
    var lines: [String]
    /// Whether more bytes had arrived behind this reply (set by `SMTPReplyDecoder`): a
    /// server may not pipeline anything behind its answer to STARTTLS, and bytes sent in
    /// clear must never be read as if they came over TLS.
    var followedByMoreBytes = false

    /// The RFC 3463 enhanced status code at the start of the first line (`5.1.1`), when
    /// the server gives one whose class matches the reply code's.
    var enhancedStatusCode: String? {
        guard let first = lines.first else { return nil }
        let candidate = first.prefix { $0 != " " }
        let parts = candidate.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "\(code / 100)",
            parts.dropFirst().allSatisfy({
                (1...3).contains($0.count) && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber)
            })
        else { return nil }
        return String(candidate)
    }

    /// The code and the enhanced status code only (`550 5.1.1`): what records and errors
    /// may show.
    var summary: String {
        enhancedStatusCode.map { "\(code) \($0)" } ?? "\(code)"
    }

    /// The reply's class, the code's first digit.
    var isPositiveCompletion: Bool { (200..<300).contains(code) }
    var isPositiveIntermediate: Bool { (300..<400).contains(code) }
}
