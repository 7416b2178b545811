import Foundation

/// Turns reminder text into header values every mail server and program accepts:
/// printable ASCII as it is, anything else as RFC 2047 encoded-words
/// (`=?UTF-8?B?…?=`), which keep the message 7-bit so that no server has to support
/// SMTPUTF8 or 8BITMIME for a subject in Japanese or with an emoji.
enum SMTPHeaderText {
    /// RFC 2047 allows at most 75 characters per encoded-word.
    static let maximumEncodedWordLength = 75
    /// RFC 5322 recommends lines of at most 78 characters; RFC 2047 asks 76 for lines
    /// with encoded-words.
    static let preferredLineLength = 76
    /// RFC 5322's hard limit for a line, CRLF excluded.
    static let maximumLineLength = 998

    private static let prefix = "=?UTF-8?B?"
    private static let suffix = "?="

    /// False when `text` holds a character that could end the header line or start a
    /// new one (CR, LF, any other control character, or a Unicode line or paragraph
    /// separator): such text is refused rather than cleaned, since it is either a bug
    /// or an injection attempt.
    static func isClean(_ text: String) -> Bool {
        text.unicodeScalars.allSatisfy { scalar in
            switch scalar.properties.generalCategory {
            case .control, .lineSeparator, .paragraphSeparator: false
            default: true
            }
        }
    }

    /// True when `url` can stand between a header's angle brackets (`List-Unsubscribe`):
    /// printable ASCII without space, `<`, `>` or `"`, not empty. The event contract
    /// allows no other, and this is checked again where it matters, before sending.
    static func fitsAngleBrackets(_ url: String) -> Bool {
        !url.isEmpty
            && url.utf8.allSatisfy { byte in
                (0x21...0x7E).contains(byte) && byte != UInt8(ascii: "<") && byte != UInt8(ascii: ">")
                    && byte != UInt8(ascii: "\"")
            }
    }

    /// True unless `text` is printable ASCII that no mail program would mistake for an
    /// encoded-word.
    static func needsEncoding(_ text: String) -> Bool {
        !text.utf8.allSatisfy { (0x20...0x7E).contains($0) } || text.contains("=?")
    }

    /// `text` as encoded-words of at most 75 characters each, the first one at most
    /// `firstWordLimit` long (to leave room for the header's name on its line). Each
    /// word holds whole characters, as RFC 2047 requires: a grapheme cluster stays in one
    /// word when it fits, and only one too long for any word is split between its
    /// Unicode scalars.
    static func encodedWords(_ text: String, firstWordLimit: Int = maximumEncodedWordLength) -> [String] {
        func capacity(_ limit: Int) -> Int {
            // Base64 turns 3 bytes into 4 characters.
            max(1, (min(limit, maximumEncodedWordLength) - prefix.count - suffix.count) / 4) * 3
        }
        var words: [String] = []
        var pending: [UInt8] = []
        var limit = capacity(firstWordLimit)
        func flush() {
            guard !pending.isEmpty else { return }
            words.append(prefix + Data(pending).base64EncodedString() + suffix)
            pending.removeAll(keepingCapacity: true)
            limit = capacity(maximumEncodedWordLength)
        }
        for character in text {
            let units: [[UInt8]] =
                character.utf8.count <= capacity(maximumEncodedWordLength)
                ? [Array(character.utf8)]
                : character.unicodeScalars.map { Array(String($0).utf8) }
            for unit in units {
                if pending.count + unit.count > limit { flush() }
                pending += unit
            }
        }
        flush()
        return words
    }

    /// A complete unstructured header field (`Subject: …`), folded into lines joined by
    /// CRLF and a space, without the final CRLF.
    static func unstructuredField(_ name: String, _ value: String) -> String {
        let head = name + ":"
        guard !value.isEmpty else { return head }
        if !needsEncoding(value) {
            let lines = foldAtSpaces(head + " " + value)
            if lines.allSatisfy({ $0.utf8.count <= maximumLineLength }) {
                return lines.joined(separator: "\r\n")
            }
            // A word too long to fit any line: encoded-words can be split anywhere.
        }
        let words = encodedWords(value, firstWordLimit: preferredLineLength - head.count - 1)
        return head + " " + words.joined(separator: "\r\n ")
    }

    /// A display name as a phrase for an address header: a quoted string when it is
    /// printable ASCII, encoded-words otherwise (an encoded-word may not appear inside
    /// quotes).
    static func phrase(_ displayName: String, headerNameLength: Int) -> String {
        guard needsEncoding(displayName) else {
            let escaped = displayName.replacingOccurrences(of: "\\", with: "\\\\")
                .replacingOccurrences(of: "\"", with: "\\\"")
            return "\"" + escaped + "\""
        }
        return encodedWords(displayName, firstWordLimit: preferredLineLength - headerNameLength - 2)
            .joined(separator: "\r\n ")
    }

    /// Folds a printable ASCII line before spaces so that lines stay within 78
    /// characters where the words allow it; unfolding (removing the CRLFs) gives back
    /// the line exactly.
    private static func foldAtSpaces(_ line: String) -> [String] {
        let preferred = 78
        guard line.count > preferred else { return [line] }
        var lines: [String] = []
        var current = ""
        var rest = Substring(line)
        while !rest.isEmpty {
            // The next piece: a space (for every piece but the first) and one word.
            let wordStart = rest.first == " " ? rest.index(after: rest.startIndex) : rest.startIndex
            let end = rest[wordStart...].firstIndex(of: " ") ?? rest.endIndex
            let piece = rest[..<end]
            rest = rest[end...]
            // A continuation line must hold more than white space.
            let foldable = piece.first == " " && piece.contains { $0 != " " }
            if !current.isEmpty && current.count + piece.count > preferred && foldable {
                lines.append(current)
                current = String(piece)
            } else {
                current += piece
            }
        }
        lines.append(current)
        return lines
    }
}
