import Crypto
import Foundation
import ReminderCore

/// One reminder as an Internet message (RFC 5322 with MIME), checked before any
/// connection is made: a header value that could end its line is refused as the
/// permanent `invalid_header`, since no retry can make it acceptable.
struct SMTPMessage: Sendable, Equatable {
    /// The envelope sender, `MAIL FROM`.
    var sender: String
    /// The envelope recipient, `RCPT TO`.
    var recipient: String
    /// The Message-ID header, angle brackets included: also the receipt's message id.
    var messageID: String
    /// Whether an address is not ASCII, so that the server must offer SMTPUTF8.
    var requiresSMTPUTF8: Bool
    /// Headers, blank line and body with CRLF line ends, before dot-stuffing.
    var bytes: [UInt8]

    /// Base64 lines of 76 characters, the most MIME allows.
    private static let bodyLineLength = 76

    init(
        from: SMTPMailbox, to recipient: String, subject: String, body: String, html: String? = nil,
        unsubscribeURL: String? = nil, date: Instant, messageID: String
    ) throws(DeliveryFailure) {
        guard SMTPHeaderText.isClean(subject) else {
            throw .permanent("invalid_header", "the subject contains a control character")
        }
        if let name = from.displayName, !SMTPHeaderText.isClean(name) {
            throw .permanent("invalid_header", "the sender's display name contains a control character")
        }
        if let problem = SMTPMailbox.problem(withAddress: recipient, role: "recipient")
            ?? SMTPMailbox.problem(withAddress: from.address, role: "sender")
        {
            throw problem
        }
        if let unsubscribeURL, !SMTPHeaderText.fitsAngleBrackets(unsubscribeURL) {
            throw .permanent("invalid_header", "the unsubscribe URL holds a character a header cannot")
        }
        self.sender = from.address
        self.recipient = recipient
        self.messageID = messageID
        self.requiresSMTPUTF8 = !from.address.utf8.allSatisfy { $0 < 0x80 } || !recipient.utf8.allSatisfy { $0 < 0x80 }

        let fromValue =
            from.displayName.map { SMTPHeaderText.phrase($0, headerNameLength: 5) + " <\(from.address)>" }
            ?? from.address
        var headers = [
            "From: " + fromValue,
            "To: " + recipient,
            SMTPHeaderText.unstructuredField("Subject", subject),
            "Date: " + SMTPDateHeader.format(date),
            "Message-ID: " + messageID,
        ]
        if let unsubscribeURL {
            headers.append(Self.listUnsubscribe(unsubscribeURL))
            // RFC 8058: a POST to the https URL unsubscribes without a page to click
            // through; a mailto URL has no such form.
            if unsubscribeURL.hasPrefix("https://") {
                headers.append("List-Unsubscribe-Post: List-Unsubscribe=One-Click")
            }
        }
        headers.append("MIME-Version: 1.0")
        var lines: [String]
        if let html {
            // Text first: RFC 2046 orders the alternatives from plainest to richest, and
            // a program shows the last one it can display.
            let boundary = Self.boundary(messageID: messageID)
            lines = headers + [#"Content-Type: multipart/alternative; boundary=""# + boundary + #"""#, ""]
            for (type, text) in [("text/plain", body), ("text/html", html)] {
                lines += ["--" + boundary] + Self.part(type: type, text)
            }
            lines.append("--" + boundary + "--")
        } else {
            lines = headers + Self.part(type: "text/plain", body)
        }
        self.bytes = Array((lines.joined(separator: "\r\n") + "\r\n").utf8)
    }

    /// One text part: its two headers, the blank line and the text in base64. Base64
    /// keeps any UTF-8 text and any line length intact, with no line of the body starting
    /// with a dot, and never holds a boundary (see `boundary(messageID:)`).
    private static func part(type: String, _ text: String) -> [String] {
        var lines = ["Content-Type: \(type); charset=utf-8", "Content-Transfer-Encoding: base64", ""]
        let encoded = Data(text.utf8).base64EncodedString()
        var start = encoded.startIndex
        while start < encoded.endIndex {
            let end =
                encoded.index(start, offsetBy: Self.bodyLineLength, limitedBy: encoded.endIndex) ?? encoded.endIndex
            lines.append(String(encoded[start..<end]))
            start = end
        }
        return lines
    }

    /// `=_alt_` and 24 hex digits derived from the Message-ID (so that a repeated send is
    /// the same message). `_` is not in base64's alphabet, so no line of a base64 part
    /// can start with `--` and the boundary; `=` makes it need quotes, which it has.
    static func boundary(messageID: String) -> String {
        "=_alt_" + HexEncoding.string(SHA256.hash(data: Array(messageID.utf8)).prefix(12))
    }

    /// `List-Unsubscribe: <url>` (RFC 2369). A URL too long for one line (the contract
    /// allows 2,000 characters, a line 998) is folded inside the brackets, where RFC 2369
    /// has readers ignore the white space; shorter ones, nearly all, stay on one line.
    private static func listUnsubscribe(_ url: String) -> String {
        let line = "List-Unsubscribe: <" + url + ">"
        guard line.utf8.count > SMTPHeaderText.maximumLineLength else { return line }
        var pieces: [String] = []
        var rest = Substring(url)
        while !rest.isEmpty {
            pieces.append(String(rest.prefix(SMTPHeaderText.preferredLineLength)))
            rest = rest.dropFirst(SMTPHeaderText.preferredLineLength)
        }
        return "List-Unsubscribe: <" + pieces.joined(separator: "\r\n ") + ">"
    }
}
