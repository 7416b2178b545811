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
        from: SMTPMailbox, to recipient: String, subject: String, body: String, date: Instant, messageID: String
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
        self.sender = from.address
        self.recipient = recipient
        self.messageID = messageID
        self.requiresSMTPUTF8 = !from.address.utf8.allSatisfy { $0 < 0x80 } || !recipient.utf8.allSatisfy { $0 < 0x80 }

        let fromValue =
            from.displayName.map { SMTPHeaderText.phrase($0, headerNameLength: 5) + " <\(from.address)>" }
            ?? from.address
        let headers = [
            "From: " + fromValue,
            "To: " + recipient,
            SMTPHeaderText.unstructuredField("Subject", subject),
            "Date: " + SMTPDateHeader.format(date),
            "Message-ID: " + messageID,
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: base64",
        ]
        // Base64 keeps any UTF-8 text and any line length intact, with no line of the
        // body starting with a dot.
        let encoded = Data(body.utf8).base64EncodedString()
        var lines = headers + [""]
        var start = encoded.startIndex
        while start < encoded.endIndex {
            let end =
                encoded.index(start, offsetBy: Self.bodyLineLength, limitedBy: encoded.endIndex) ?? encoded.endIndex
            lines.append(String(encoded[start..<end]))
            start = end
        }
        self.bytes = Array((lines.joined(separator: "\r\n") + "\r\n").utf8)
    }
}
