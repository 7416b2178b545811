import Foundation
import ReminderCore
import Testing

@testable import Delivery

/// The HTML alternative and the unsubscribe headers: the MIME structure read back part
/// by part, and the plain message left exactly as it was.
struct SMTPMessageMIMETests {
    static let from = SMTPMailbox(address: "reminders@example.test")
    static let messageID = "<r-0123456789abcdef0123456789abcdef@example.test>"

    static func message(
        body: String = "Body", html: String? = nil, unsubscribeURL: String? = nil
    ) throws(DeliveryFailure) -> SMTPMessage {
        try SMTPMessage(
            from: from, to: "user@example.test", subject: "Hello", body: body, html: html,
            unsubscribeURL: unsubscribeURL, date: Instant(secondsSinceEpoch: 1_700_000_000), messageID: messageID)
    }

    /// A message split into its header lines (folding undone) and its body.
    static func split(_ bytes: [UInt8]) throws -> (headers: [String], body: String) {
        let text = String(decoding: bytes, as: UTF8.self)
        let end = try #require(text.range(of: "\r\n\r\n"))
        let headers = text[..<end.lowerBound].replacingOccurrences(of: "\r\n ", with: " ")
            .components(separatedBy: "\r\n")
        return (headers, String(text[end.upperBound...]))
    }

    @Test func aMessageWithoutHTMLOrUnsubscribeURLIsTheSinglePartOneByteForByte() throws {
        let message = try Self.message()
        let expected =
            "From: reminders@example.test\r\nTo: user@example.test\r\nSubject: Hello\r\n"
            + "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\nMessage-ID: \(Self.messageID)\r\nMIME-Version: 1.0\r\n"
            + "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\nQm9keQ==\r\n"
        #expect(String(decoding: message.bytes, as: UTF8.self) == expected)
    }

    @Test func htmlMakesAMultipartAlternativeWithTheTextFirstAndTheHTMLSecond() throws {
        let body = "Grüße 👋\n.a dot line\n" + String(repeating: "long line ", count: 200)
        let html = "<p>Grüße <b>👋</b></p>\r\n" + String(repeating: "<span>x</span>", count: 300)
        let message = try Self.message(body: body, html: html)
        let (headers, rest) = try Self.split(message.bytes)
        let boundary = SMTPMessage.boundary(messageID: Self.messageID)
        #expect(headers.contains("MIME-Version: 1.0"))
        #expect(headers.contains("Content-Type: multipart/alternative; boundary=\"\(boundary)\""))
        #expect(!headers.contains { $0.hasPrefix("Content-Transfer-Encoding") })

        // RFC 2046: parts between "--boundary" lines, then "--boundary--".
        let lines = rest.components(separatedBy: "\r\n")
        #expect(lines.last == "")
        #expect(lines.dropLast().last == "--\(boundary)--")
        let delimiterIndices = lines.indices.filter { lines[$0] == "--\(boundary)" }
        #expect(delimiterIndices.count == 2)
        #expect(delimiterIndices.first == 0)
        var parts: [(type: String, encoding: String, text: String)] = []
        let ends = Array(delimiterIndices.dropFirst()) + [lines.count - 2]
        for (start, end) in zip(delimiterIndices, ends) {
            let partLines = Array(lines[(start + 1)..<end])
            let blank = try #require(partLines.firstIndex(of: ""))
            let partHeaders = partLines[..<blank]
            let type = try #require(partHeaders.first { $0.hasPrefix("Content-Type: ") })
            let encoding = try #require(partHeaders.first { $0.hasPrefix("Content-Transfer-Encoding: ") })
            let encoded = partLines[(blank + 1)...].joined()
            let decoded = try #require(Data(base64Encoded: encoded))
            parts.append((type, encoding, String(decoding: decoded, as: UTF8.self)))
            // No line of a part holds the boundary, and none is longer than MIME allows.
            #expect(partLines.allSatisfy { !$0.contains(boundary) && $0.utf8.count <= 76 })
        }
        #expect(
            parts.map(\.type) == ["Content-Type: text/plain; charset=utf-8", "Content-Type: text/html; charset=utf-8"])
        #expect(parts.allSatisfy { $0.encoding == "Content-Transfer-Encoding: base64" })
        #expect(parts.map(\.text) == [body, html])
        #expect(
            String(decoding: message.bytes, as: UTF8.self).components(separatedBy: "\r\n").allSatisfy {
                $0.utf8.count <= 998
            })
    }

    @Test func theBoundaryCannotOccurInABase64Part() {
        let boundary = SMTPMessage.boundary(messageID: Self.messageID)
        #expect(boundary.hasPrefix("=_"))
        let base64Alphabet = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
        #expect(!boundary.allSatisfy(base64Alphabet.contains))
        #expect(boundary.count <= 70)
        #expect(boundary == SMTPMessage.boundary(messageID: Self.messageID))
        #expect(boundary != SMTPMessage.boundary(messageID: "<r-other@example.test>"))
    }

    @Test func anEmptyTextBodyStillComesFirstBesideTheHTML() throws {
        let message = try Self.message(body: "", html: "<p>only html</p>")
        let text = String(decoding: message.bytes, as: UTF8.self)
        let plain = try #require(text.range(of: "Content-Type: text/plain; charset=utf-8"))
        let html = try #require(text.range(of: "Content-Type: text/html; charset=utf-8"))
        #expect(plain.lowerBound < html.lowerBound)
    }

    @Test func anHTTPSUnsubscribeURLGivesListUnsubscribeAndOneClickPost() throws {
        let url = "https://example.com/unsubscribe?u=42&t=abc"
        let (headers, _) = try Self.split(try Self.message(unsubscribeURL: url).bytes)
        #expect(headers.contains("List-Unsubscribe: <\(url)>"))
        #expect(headers.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"))
        // The rest of the message is the single text part.
        #expect(headers.contains("Content-Type: text/plain; charset=utf-8"))
    }

    @Test func aMailtoUnsubscribeURLHasNoOneClickPost() throws {
        let url = "mailto:unsubscribe@example.com?subject=stop"
        let (headers, _) = try Self.split(try Self.message(html: "<p>x</p>", unsubscribeURL: url).bytes)
        #expect(headers.contains("List-Unsubscribe: <\(url)>"))
        #expect(!headers.contains { $0.hasPrefix("List-Unsubscribe-Post") })
    }

    @Test func anUnsubscribeURLLongerThanALineIsFoldedInsideTheBrackets() throws {
        let url = "https://example.com/" + String(repeating: "abcdefghij", count: 198)
        let message = try Self.message(unsubscribeURL: url)
        let lines = String(decoding: message.bytes, as: UTF8.self).components(separatedBy: "\r\n")
        #expect(lines.allSatisfy { $0.utf8.count <= 998 })
        let start = try #require(lines.firstIndex { $0.hasPrefix("List-Unsubscribe: <") })
        var field = lines[start]
        for line in lines[(start + 1)...] {
            guard line.hasPrefix(" ") else { break }
            field += line.dropFirst()
        }
        #expect(field == "List-Unsubscribe: <\(url)>")
    }

    @Test(arguments: [
        "https://example.com/u\r\nBcc: victim@example.test", "https://example.com/u\n", "https://example.com/u>, <x",
        "https://example.com/ü", "https://example.com/a b", "",
    ])
    func anUnsubscribeURLThatCouldLeaveItsHeaderIsRefused(url: String) {
        do {
            _ = try Self.message(unsubscribeURL: url)
            Issue.record("accepted \(url.debugDescription)")
        } catch {
            #expect(error == .permanent("invalid_header", "the unsubscribe URL holds a character a header cannot"))
        }
    }
}
